"""The record of each sync of a dataset from a live feed (table ``cm_syncs``): :class:`SyncRecord`.

A successful sync made a new version: its record points at that version and keeps the diff
against the version it was compared with (``base_version``). A sync that found no change made
nothing: its record points at the version it checked (``base_version`` is that version too). A
failed sync made nothing: its record points at the version it kept (the last good one) and says
why it failed. Records go
with their version: removing a version removes them. They are read with
:meth:`Workspace.syncs <coverage_map.store.Workspace.syncs>`, visible to whoever may see the
version they point at.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..ingest.oruk.diff import ServiceDiff
from .backend import DATASETS, SYNCS, stored_time


@dataclass(frozen=True)
class SyncRecord:
    """One sync of ``name`` from ``url``: ``ok`` and the version it made, or why not and the version it kept."""

    name: str
    version: int
    synced_at: dt.datetime
    url: str
    ok: bool
    message: str
    diff: ServiceDiff
    base_version: int | None = None

    @property
    def kind(self) -> str:
        """``made`` (the sync stored this version), ``checked`` (no change, nothing stored) or ``failed``."""
        if not self.ok:
            return "failed"
        return "checked" if self.base_version == self.version else "made"

    @property
    def summary(self) -> str:
        """One line for people: when, from where, and what changed or why it failed."""
        when = f"{self.synced_at:%Y-%m-%d %H:%M} UTC"
        if self.kind == "made":
            since = f" since v{self.base_version}" if self.base_version is not None else ""
            return f"v{self.version} synced {when} from {self.url}: {self.diff.counts()}{since}"
        if self.kind == "checked":
            return f"v{self.version} checked {when} against {self.url}: no change"
        return f"sync {when} from {self.url} failed, v{self.version} kept: {self.message}"


#: Query parameters whose values are hidden in a stored URL (API keys and tokens).
SECRET_PARAMETERS = frozenset({"key", "api_key", "apikey", "api-key", "token", "access_token", "secret", "password"})


def public_url(url: str) -> str:
    """``url`` without a user name or password, and with API keys in its query hidden (``***``).

    This is what the workspace stores and shows: a feed URL may carry a secret.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower() in SECRET_PARAMETERS for key, _ in query):
        hidden = [(key, "***" if key.lower() in SECRET_PARAMETERS else value) for key, value in query]
        parts = parts._replace(query=urllib.parse.urlencode(hidden, safe="*"))
    return urllib.parse.urlunsplit(parts)


def without_secrets(text: str, url: str) -> str:
    """``text`` (an error message, say) with the password and API keys of ``url`` hidden (``***``)."""
    parts = urllib.parse.urlsplit(url)
    secrets = [value for key, value in urllib.parse.parse_qsl(parts.query) if key.lower() in SECRET_PARAMETERS]
    secrets += [parts.password] if parts.password else []
    for secret in sorted({item for item in secrets if item}, key=len, reverse=True):
        text = text.replace(secret, "***").replace(urllib.parse.quote(secret, safe=""), "***")
    return text


def sync_values(
    *,
    dataset_id: int,
    url: str,
    ok: bool,
    message: str,
    diff: ServiceDiff,
    base_version: int | None,
    synced_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The ``cm_syncs`` row of one sync."""
    return {
        "dataset_id": dataset_id,
        "base_version": base_version,
        "synced_at": (synced_at or dt.datetime.now(dt.UTC)).replace(microsecond=0),
        "url": public_url(url),
        "ok": ok,
        "message": without_secrets(message, url),
        "diff": json.dumps(diff.as_mapping()),
    }


def select_syncs(
    conn: sa.Connection, condition: sa.ColumnElement[bool], name: str | None, limit: int | None
) -> list[SyncRecord]:
    """Sync records of versions matching ``condition`` (and ``name``), newest first."""
    query = sa.select(SYNCS, DATASETS.c.name, DATASETS.c.version).join(DATASETS, SYNCS.c.dataset_id == DATASETS.c.id)
    query = query.where(condition)
    if name is not None:
        query = query.where(DATASETS.c.name == name)
    query = query.order_by(SYNCS.c.synced_at.desc(), SYNCS.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_record(row) for row in conn.execute(query).mappings()]


def _record(row: Any) -> SyncRecord:
    return SyncRecord(
        name=row["name"],
        version=int(row["version"]),
        synced_at=stored_time(row["synced_at"]),
        url=row["url"],
        ok=bool(row["ok"]),
        message=row["message"],
        diff=ServiceDiff.from_mapping(json.loads(row["diff"])),
        base_version=row["base_version"],
    )
