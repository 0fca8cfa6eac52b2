"""The dashboard's line about live feeds: when the dataset shown was last synced and what changed.

The records are built by hand for :func:`describe`; :func:`sync_lines` reads a real workspace
synced from the local feed server (tests/feedserver.py), as ``coverage-map workspace sync`` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import handbuilt
from dashapp import serving
from feedserver import serve_feed
from test_layout import walk

from callbacks import ids
from callbacks.feeds import describe, show_sync, sync_lines
from callbacks.layout import build_layout
from callbacks.settings import Settings
from callbacks.uploads import Choice, new_token
from coverage_map.dataset import Dataset
from coverage_map.feeds import sync_feed
from coverage_map.ingest.oruk.diff import ServiceDiff
from coverage_map.store import SyncRecord, open_workspace

URL = "https://directory.example.org/api"


def record(version: int, minute: int, *, ok: bool = True, diff: ServiceDiff | None = None) -> SyncRecord:
    return SyncRecord(
        name="gm",
        version=version,
        synced_at=dt.datetime(2026, 12, 7, 9, minute, tzinfo=dt.UTC),
        url=URL,
        ok=ok,
        message="" if ok else "the server answered HTTP 500",
        diff=diff or ServiceDiff(),
        base_version=version - 1 if ok else version,
    )


def test_the_sync_that_made_the_version_and_what_changed() -> None:
    made = record(3, 0, diff=ServiceDiff(added=("F5",), removed=("F4",), changed=("F1", "F2"), unchanged=7))
    [(text, title)] = describe([made, record(2, 0)], 3)
    assert text == f"Synced 07 Dec 2026 09:00 UTC from {URL}: 1 added, 1 removed, 2 changed since v2."
    assert title == "added: F5; removed: F4; changed: F1, F2"


def test_a_failed_sync_says_the_data_is_the_last_good_version() -> None:
    lines = describe([record(3, 30, ok=False), record(3, 0)], 3)
    assert [text for text, _ in lines][1] == (
        "The last sync (07 Dec 2026 09:30 UTC) failed, so v3 is the latest good data: the server answered HTTP 500"
    )
    # An older version shown: the failure, and that a newer sync exists.
    older = [text for text, _ in describe([record(3, 30, ok=False), record(3, 0), record(2, 0)], 2)]
    assert older[0].startswith("Synced ") and "failed, so v3" in older[1] and older[2].startswith("A newer sync")
    assert describe([], 1) == []


def test_a_check_that_found_no_change() -> None:
    checked = dataclasses.replace(record(3, 45), base_version=3)
    lines = [text for text, _ in describe([checked, record(3, 0)], 3)]
    assert lines[0].startswith("Synced 07 Dec 2026 09:00 UTC") and lines[1] == (
        "Checked again 07 Dec 2026 09:45 UTC: no change."
    )


def test_sync_lines_from_a_real_workspace(tmp_path) -> None:
    files = handbuilt.write_files(tmp_path)
    owner = new_token()
    with serve_feed() as feed, open_workspace(tmp_path / "ws.gpkg") as workspace:
        workspace.add("gm", files, owner=owner)
        outcome = sync_feed(workspace, "gm", f"{feed.url}/feed", owner=owner, rate=0)
        assert outcome.ok
        shown = Choice("gm", 2, owner).as_data()
        [(text, title)] = sync_lines(workspace, shown, owner)
        assert f"from {feed.url}/feed: 4 added, 4 removed, 0 changed since v1." in text
        assert title.startswith("added: F1@FL1, F2@FL2")
        # Another session, or the default data, sees nothing of a private dataset's syncs.
        assert sync_lines(workspace, Choice("gm", 2, None).as_data(), new_token()) == []
        assert sync_lines(workspace, None, owner) == []


def test_the_layout_has_the_sync_line() -> None:
    dataset = Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)
    found = [c for c in walk(build_layout(dataset, Settings())) if getattr(c, "id", None) == ids.DATASET_SYNC]
    assert len(found) == 1


def test_the_callback_reads_the_apps_workspace(dash_app, tmp_path) -> None:
    files = handbuilt.write_files(tmp_path)
    settings = Settings(data_dir=tmp_path, workspace=str(tmp_path / "ws.gpkg"))
    dataset = Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)
    with serving(dash_app, dataset, settings) as app, serve_feed() as feed, dash_app.server.test_request_context():
        app.registry.workspace.add("gm", files, publish=True)
        assert sync_feed(app.registry.workspace, "gm", f"{feed.url}/feed", rate=0).ok
        [line] = show_sync(Choice("gm", 2).as_data(), "1", None)
        assert "4 added, 4 removed, 0 changed since v1." in line.children
        assert show_sync(None, "1", None) == []
