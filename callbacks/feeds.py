"""Live feeds in the dashboard: when the dataset shown was last synced, and what changed.

A line under the dataset picker (``dataset-sync``) says when the version shown was synced from
its feed (``coverage-map workspace sync``), from where, and how many services were added,
removed and changed; and, when a later sync failed, that the data shown is the last good
version and why. It is refilled when the dataset shown changes and when the workspace changes
(a sync, even a failed one, changes its version token). :func:`sync_lines` decides the words.
"""

from __future__ import annotations

from collections.abc import Sequence

from dash import Input, Output, State, callback, html

from coverage_map.errors import CoverageMapError
from coverage_map.store import SyncRecord, Workspace

from . import ids
from .context import services
from .uploads import Choice, is_token

#: Ids of changed services named in the line's tooltip, at most.
_NAMED = 12


@callback(
    Output(ids.DATASET_SYNC, "children"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.DATASET_VERSION, "data"),
    State(ids.UPLOAD_TOKEN, "data"),
)
def show_sync(data: object, generation: object, token: object) -> list[html.Div]:
    """The sync line of the dataset shown (nothing for the default data or a dataset never synced)."""
    lines = sync_lines(services().registry.workspace, data, token)
    return [html.Div(text, title=title) for text, title in lines]


def sync_lines(workspace: Workspace, data: object, token: object) -> list[tuple[str, str]]:
    """``(text, tooltip)`` lines about the syncs of the dataset version in ``data`` that the session may see."""
    choice = Choice.parse(data)
    if choice is None or choice.private:
        return []  # syncs make the workspace's own datasets, never a session's private ones
    owner = token if isinstance(token, str) and is_token(token) else None
    try:
        records = workspace.syncs(choice.name, owner=owner)
    except (CoverageMapError, OSError):
        return []  # the picker already says when the store cannot be reached
    return describe(records, choice.version)


def describe(records: Sequence[SyncRecord], version: int) -> list[tuple[str, str]]:
    """Lines for version ``version`` given the syncs of its name (newest first)."""
    lines: list[tuple[str, str]] = []
    made = next((record for record in records if record.kind == "made" and record.version == version), None)
    if made is not None:
        since = f" since v{made.base_version}" if made.base_version is not None else ""
        lines.append(
            (
                f"Synced {made.synced_at:%d %b %Y %H:%M} UTC from {made.url}: {made.diff.counts()}{since}.",
                _changed_ids(made),
            )
        )
    latest = records[0] if records else None
    if latest is not None and latest.kind == "checked" and latest.version == version:
        lines.append((f"Checked again {latest.synced_at:%d %b %Y %H:%M} UTC: no change.", latest.url))
    if latest is not None and latest.kind == "failed" and (made is None or latest.synced_at >= made.synced_at):
        lines.append(
            (
                f"The last sync ({latest.synced_at:%d %b %Y %H:%M} UTC) failed, so v{latest.version} is the latest "
                f"good data: {latest.message}",
                latest.url,
            )
        )
    newer = next((record for record in records if record.kind == "made" and record.version > version), None)
    if newer is not None:
        lines.append((f"A newer sync is available: v{newer.version}, in the list above.", ""))
    return lines


def _changed_ids(record: SyncRecord) -> str:
    parts = []
    for kind in ("added", "removed", "changed"):
        found = getattr(record.diff, kind)
        if found:
            more = f" and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
            parts.append(f"{kind}: {', '.join(found[:_NAMED])}{more}")
    return "; ".join(parts)
