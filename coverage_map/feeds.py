"""Live directory feeds: re-pull an Open Referral UK feed into a new version of a workspace dataset.

:func:`sync_feed` is ``coverage-map workspace sync NAME --url ...``. It fetches the whole feed
(every page, and the details of services listed without locations: :func:`~coverage_map.ingest.oruk.fetch_oruk`),
imports it as an asset file (:func:`~coverage_map.ingest.oruk.import_services`), compares it
service by service with the dataset's latest version (:func:`~coverage_map.ingest.oruk.diff.diff_assets`)
and stores it as the next version, the other inputs unchanged
(:meth:`Workspace.revise <coverage_map.store.Workspace.revise>`), with the diff and the time and
URL of the sync.

A sync never half-replaces a directory: a network error, an HTTP error on any page or service,
invalid JSON, a feed with no usable service, or inputs that no longer validate all stop it
before anything is stored. The latest version stays as it was, and the failure is recorded with
its reason (:meth:`Workspace.record_sync <coverage_map.store.Workspace.record_sync>`), so the
dashboard can say that the data shown is the last good one. A feed that has not changed stores no
new version either (a copy of every input would only fill the workspace): the check is recorded
against the latest version, so its freshness still shows.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CoverageMapError, Problem
from .ingest.oruk import JsonClient, OrukImport, OrukMapping, fetch_oruk, import_services
from .ingest.oruk.client import DEFAULT_RATE
from .ingest.oruk.diff import ServiceDiff, diff_assets
from .ingest.oruk.fetch import Details
from .ingest.readers import read_any
from .store import Added, SyncRecord, Workspace, public_url, without_secrets

#: Asset file formats a sync writes as they were stored; any other is written as a GeoPackage.
_WRITTEN_AS_STORED = (".csv", ".gpkg", ".geojson", ".json", ".parquet")
#: Longest reason kept in a failed sync's record (the command line prints it all).
_REASON_CHARACTERS = 600


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync did: the record (made version and diff, or kept version and reason), and its details."""

    record: SyncRecord
    #: The new version (None when the sync failed or found no change).
    added: Added | None = None
    #: The import of the feed (None when the fetch failed).
    imported: OrukImport | None = None
    #: Non-fatal problems of the fetch (those of the import are in ``imported.problems``).
    problems: tuple[Problem, ...] = ()
    #: The full reason a sync failed ("" when it succeeded).
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.record.ok

    @property
    def diff(self) -> ServiceDiff:
        return self.record.diff


def sync_feed(
    workspace: Workspace,
    name: str,
    url: str,
    *,
    owner: str | None = None,
    include_private: bool = False,
    publish: bool | None = None,
    mapping: OrukMapping | str | Path | None = None,
    postcodes: str | Path | None = None,
    timeout: float = 30.0,
    max_pages: int = 50,
    rate: float = DEFAULT_RATE,
    cache: str | Path | None = None,
    details: Details = "auto",
    progress: bool | None = None,
    client: JsonClient | None = None,
) -> SyncOutcome:
    """Re-pull the ORUK feed at ``url`` into the next version of the dataset ``name``.

    Parameters
    ----------
    workspace, name
        The dataset to sync; its latest version visible to ``owner`` (every version with
        ``include_private``) gives the other inputs and is what the diff compares with.
    url
        The feed: an ORUK API base or its ``/services`` endpoint. The URL is stored with the
        version without any user name, password or API key (:func:`~coverage_map.store.public_url`).
    publish
        Publish the new version; None: if the version it comes from is published.
    mapping, postcodes
        As for ``import-oruk``: the term mapping, and a postcode file to place locations.
    timeout, max_pages, rate, cache, details, progress, client
        As for :func:`~coverage_map.ingest.oruk.fetch_oruk`; the fetch is strict (a service
        whose details cannot be fetched fails the sync).

    Returns
    -------
    SyncOutcome
        ``outcome.ok``: the new version (``added``) and the diff, or no new version when no
        service changed (``added`` None, the check recorded against the latest version); else
        ``error`` says why, and the failure is recorded against the version kept.

    Raises
    ------
    DatasetNotFoundError
        No dataset ``name`` is visible: there is nothing to sync into (nothing is recorded).
    """
    base = workspace.ref(name, owner=owner, include_private=include_private)
    problems: list[Problem] = []
    imported: OrukImport | None = None
    try:
        services, fetch_problems = fetch_oruk(
            url, timeout=timeout, max_pages=max_pages, rate=rate, cache=cache, details=details,
            strict=True, progress=progress, client=client,
        )  # fmt: skip
        problems += [_hidden(problem, url) for problem in fetch_problems]  # page URLs may carry an API key
        imported = import_services(services, mapping=mapping, source=public_url(url), postcodes=postcodes)
        if not len(imported.assets):
            raise CoverageMapError(
                f"the feed listed {imported.services:,} services but no service location could be imported "
                "(see the problems), so the directory was not replaced"
            )
        added, diff = _store(workspace, base.version, name, url, imported, owner, include_private, publish)
    except (CoverageMapError, OSError) as exc:
        reason = without_secrets(str(exc), url)
        short = reason if len(reason) <= _REASON_CHARACTERS else reason[: _REASON_CHARACTERS - 1] + "…"
        record = workspace.record_sync(name, url, message=short, owner=owner, include_private=include_private)
        return SyncOutcome(record, imported=imported, problems=tuple(problems), error=reason)
    if added is None:  # nothing changed: no new version, but the check is recorded
        record = workspace.record_sync(
            name, url, version=base.version, ok=True, owner=owner, include_private=include_private
        )
        return SyncOutcome(record, imported=imported, problems=tuple(problems))
    record = SyncRecord(
        name=added.ref.name,
        version=added.ref.version,
        synced_at=added.ref.created_at,
        url=public_url(url),
        ok=True,
        message="",
        diff=diff,
        base_version=base.version,
    )
    return SyncOutcome(record, added=added, imported=imported, problems=tuple(problems))


def _hidden(problem: Problem, url: str) -> Problem:
    return dataclasses.replace(
        problem, file=without_secrets(problem.file, url), message=without_secrets(problem.message, url)
    )


def _store(
    workspace: Workspace,
    version: int,
    name: str,
    url: str,
    imported: OrukImport,
    owner: str | None,
    include_private: bool,
    publish: bool | None,
) -> tuple[Added | None, ServiceDiff]:
    """Write the imported assets as the stored asset file was written, diff them, and store the next version.

    Nothing is stored when no service changed (the new version is None).
    """
    # Imported here, as the command line does: the core loads nothing of outputs/ (tests/unit/test_layers.py).
    from .outputs.tables import write_any

    stored = workspace.spec(name, version, owner=owner, include_private=include_private).assets
    file_name = "assets.gpkg" if stored is None else stored.name
    if Path(file_name).suffix.lower() not in _WRITTEN_AS_STORED:
        file_name = f"{Path(file_name).stem}.gpkg"
    with workspace.checkout(name, version, owner=owner, include_private=include_private) as copy:
        before = read_any(copy.assets)[0] if copy.assets is not None else None
    workspace.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workspace.scratch, prefix="sync-") as scratch:
        path = Path(scratch) / file_name
        write_any(imported.assets, path)
        after = read_any(path)[0]
        diff = diff_assets(before, after) if before is not None else diff_assets(after.iloc[:0], after)
        if diff.empty:
            return None, diff
        added = workspace.revise(
            name, {"assets": path}, version=version, owner=owner, include_private=include_private,
            publish=publish, sync=(url, diff),
        )  # fmt: skip
    return added, diff
