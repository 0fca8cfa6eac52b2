"""Live feeds: ``workspace sync`` re-pulls an ORUK feed into a new version, with a diff and freshness.

A real local HTTP server (tests/feedserver.py) plays the feed from tests/data/oruk/feed/; the
expected diffs are read off those files (see its README): ``feed`` has F1-F4, ``next`` (the same
feed a week later) renames F1, drops F4 and adds F5. The scenarios run on the GeoPackage here
and on PostGIS in test_workspace_postgis.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import handbuilt
import pandas as pd
import pytest
import shapely
from feedserver import Feed, serve_feed

from coverage_map.cli import main
from coverage_map.feeds import sync_feed
from coverage_map.ingest.oruk.diff import ServiceDiff, diff_assets
from coverage_map.store import DatasetNotFoundError, open_workspace, public_url, without_secrets

FEED_ASSETS = ["F1@FL1", "F2@FL2", "F3@FL3", "F4@FL4"]
NEXT_ASSETS = ["F1@FL1", "F2@FL2", "F3@FL3", "F5@FL5"]


def check_sync(url: str, files: Mapping[str, Path], data_dir: Path, feed: Feed) -> None:
    """Two syncs make two versions with their diffs; a failing one keeps the last good version and says why."""
    with open_workspace(url, data_dir=data_dir) as workspace:
        workspace.add("gm", files, publish=True)
        feed.aliases["live"] = "feed"
        first = sync_feed(workspace, "gm", f"{feed.url}/live", rate=0)
        assert first.ok, first.error
        assert first.added is not None and first.added.ref.version == 2 and first.added.ref.published
        # The hand-built assets have no service_id, so they are matched by asset_id: all replaced.
        assert first.diff == ServiceDiff(added=tuple(FEED_ASSETS), removed=("a1", "a2", "a3", "a4"))
        # The other inputs are kept as stored, under the names they were given.
        ref = workspace.ref("gm")
        assert {source.role: source.path for source in ref.sources} == {
            role: Path(path).name for role, path in files.items()
        }
        assert ref.rows["areas"] == 3 and ref.rows["assets"] == 4

        feed.aliases["live"] = "next"  # a week later, the same URL
        second = sync_feed(workspace, "gm", f"{feed.url}/live", rate=0)
        assert second.ok, second.error
        # next_page1.json renames F1; next_page2.json drops F4 and adds F5; F2 and F3 are as before.
        assert second.diff == ServiceDiff(added=("F5",), removed=("F4",), changed=("F1",), unchanged=2)
        assert second.record.base_version == 2 and second.record.version == 3
        loaded = workspace.load("gm")
        assert sorted(loaded.assets.asset_id) == NEXT_ASSETS
        assert loaded.assets.set_index("asset_id").loc["F1@FL1", "name"] == "Memory Cafe (Thursdays)"

        # The same feed again: no service changed, so no new version; the check is recorded.
        unchanged = sync_feed(workspace, "gm", f"{feed.url}/live", rate=0)
        assert unchanged.ok and unchanged.added is None and unchanged.diff.empty
        assert unchanged.record.kind == "checked" and workspace.ref("gm").version == 3

        feed.fail["/live/services?page=2&per_page=100"] = 1  # the server falls over half-way
        failed = sync_feed(workspace, "gm", f"{feed.url}/live", rate=0)
        assert not failed.ok and "HTTP 500" in failed.error
        assert workspace.ref("gm").version == 3  # the last good version is kept
        assert sorted(workspace.load("gm").assets.asset_id) == NEXT_ASSETS

        feed.aliases["live"] = "bad"  # not JSON
        invalid = sync_feed(workspace, "gm", f"{feed.url}/live", rate=0)
        assert not invalid.ok and "JSON" in invalid.error and workspace.ref("gm").version == 3

        records = workspace.syncs("gm")
        assert [(r.kind, r.version, r.base_version) for r in records] == [
            ("failed", 3, 3),
            ("failed", 3, 3),
            ("checked", 3, 3),
            ("made", 3, 2),
            ("made", 2, 1),
        ]
        assert records[3].diff == second.diff and records[3].url == f"{feed.url}/live"
        assert "HTTP 500" in records[1].message and "failed, v3 kept" in records[1].summary
        assert records[2].summary.endswith(f"against {feed.url}/live: no change")
        assert records[3].summary.startswith("v3 synced ") and "1 added, 1 removed, 1 changed since v2" in (
            records[3].summary
        )
        assert workspace.syncs("gm", limit=1) == records[:1]

        # Private versions and their syncs are the owner's alone; removing a version removes its syncs.
        private = sync_feed(workspace, "gm", f"{feed.url}/feed", include_private=True, publish=False, rate=0)
        assert private.ok and not private.added.ref.published  # type: ignore[union-attr]
        assert len(workspace.syncs("gm")) == 5 and len(workspace.syncs("gm", include_private=True)) == 6
        workspace.remove("gm", 3)
        assert [r.version for r in workspace.syncs("gm", include_private=True)] == [4, 2]
        with pytest.raises(DatasetNotFoundError):
            sync_feed(workspace, "nothing-here", f"{feed.url}/feed", rate=0)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "upload"
    folder.mkdir()
    return handbuilt.write_files(folder)  # type: ignore[return-value]


@pytest.fixture
def feed():
    with serve_feed() as running:
        yield running


def test_sync_on_geopackage(files: dict[str, Path], tmp_path: Path, feed: Feed) -> None:
    check_sync(str(tmp_path / "data" / "workspace.gpkg"), files, tmp_path / "data", feed)


def test_sync_keeps_a_geopackage_asset_file_a_geopackage(files, tmp_path, feed) -> None:
    assets = tmp_path / "assets.gpkg"
    frame = handbuilt.assets().drop(columns="_source_row")
    frame["categories"] = frame["categories"].map(";".join)
    frame["communities"] = frame["communities"].map(";".join)
    frame[["asset_id", "name", "categories", "communities", "geometry"]].to_file(assets)
    with open_workspace(tmp_path / "ws.gpkg") as workspace:
        workspace.add("gm", {**files, "assets": assets})
        outcome = sync_feed(workspace, "gm", f"{feed.url}/feed", include_private=True, rate=0)
        assert outcome.ok and not outcome.added.ref.published  # type: ignore[union-attr]
        assert workspace.spec("gm", include_private=True).assets == Path("assets.gpkg")
        assert sorted(workspace.load("gm", include_private=True).assets.asset_id) == FEED_ASSETS


def test_cli_sync_prints_the_diff_and_fails_keeping_the_last_version(files, tmp_path, feed, capsys) -> None:
    store = str(tmp_path / "ws.gpkg")
    args = ["workspace", "sync", "gm", "--url", f"{feed.url}/live", "--workspace", store, "--rate", "0"]
    assert main(["workspace", "add", "--name", "gm", "--workspace", store, *_input_args(files)]) == 0
    feed.aliases["live"] = "feed"
    assert main(args) == 0
    feed.aliases["live"] = "next"
    capsys.readouterr()
    assert main([*args, "--publish"]) == 0
    out = capsys.readouterr().out
    assert f"Synced gm v3 (published) from {feed.url}/live" in out
    assert "Since v2: 1 added, 1 removed, 1 changed, 2 unchanged." in out
    assert "  added: F5" in out and "  removed: F4" in out and "  changed: F1" in out
    feed.fail["/live/services?page=1&per_page=100"] = 1
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "the sync of gm" in err and "failed, so gm v3 is kept unchanged" in err and "HTTP 500" in err
    assert main(["workspace", "sync", "nope", "--url", f"{feed.url}/feed", "--workspace", store]) == 2
    capsys.readouterr()
    assert main(["workspace", "list", "--workspace", store]) == 0
    listed = capsys.readouterr().out
    assert "v3 synced " in listed and "1 added, 1 removed, 1 changed since v2" in listed
    assert "failed, v3 kept: " in listed and "HTTP 500" in listed


def test_secrets_in_the_feed_url_are_never_stored_or_printed(files, tmp_path, feed, capsys) -> None:
    with open_workspace(tmp_path / "ws.gpkg") as workspace:
        workspace.add("gm", files)
        url = f"{feed.url}/feed?api_key=SECRET-KEY"
        assert sync_feed(workspace, "gm", url, include_private=True, rate=0).ok
        # The key goes on every request, the details' too.
        assert "/feed/services/F2?api_key=SECRET-KEY" in feed.requests
        feed.fail["/feed/services/F3?api_key=SECRET-KEY"] = 1
        failed = sync_feed(workspace, "gm", url, include_private=True, rate=0)
        assert not failed.ok and "HTTP 500" in failed.error and "SECRET" not in failed.error
        records = workspace.syncs("gm", include_private=True)
        assert all("SECRET" not in f"{r.url} {r.message} {r.summary}" for r in records)
        assert records[0].url.endswith("/feed?api_key=***")
        assets = workspace.load("gm", include_private=True).assets
        assert "SECRET" not in " ".join(map(str, assets.get("source", [])))


def _input_args(files: Mapping[str, Path]) -> list[str]:
    return [item for role, path in files.items() for item in (f"--{role}", str(path))]


# --------------------------------------------------------------------------- the diff


def _assets(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_diff_matches_services_by_id_and_compares_every_published_field() -> None:
    before = _assets(
        [
            {"asset_id": "S1@L1", "service_id": "S1", "name": "Cafe", "latitude": "53.4", "source": "a"},
            {"asset_id": "S1@L2", "service_id": "S1", "name": "Cafe", "latitude": "53.5", "source": "a"},
            {"asset_id": "S2@L3", "service_id": "S2", "name": "Hub", "latitude": "53.6", "source": "a"},
            {"asset_id": "S3@L4", "service_id": "S3", "name": "Line", "latitude": "53.7", "source": "a"},
        ]
    )
    after = _assets(
        [
            # S1: one of its two locations is gone, so S1 changed.
            {"asset_id": "S1@L1", "service_id": "S1", "name": "Cafe", "latitude": 53.4, "source": "b"},
            # S2: the same, typed as a number, from another source: unchanged.
            {"asset_id": "S2@L3", "service_id": "S2", "name": "Hub", "latitude": 53.6, "source": "b"},
            {"asset_id": "S4@L5", "service_id": "S4", "name": "New", "latitude": 53.8, "source": "b"},
        ]
    )
    diff = diff_assets(before, after)
    assert diff == ServiceDiff(added=("S4",), removed=("S3",), changed=("S1",), unchanged=1)
    assert diff.counts() == "1 added, 1 removed, 1 changed"
    assert ServiceDiff.from_mapping(diff.as_mapping()) == diff
    assert diff_assets(after, after).empty and diff_assets(after, after).counts() == "no change"


def test_diff_compares_points_when_there_are_no_coordinate_columns() -> None:
    def frame(x: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"asset_id": ["a1", "a2"]},
            geometry=[shapely.Point(380_500, 390_500), shapely.Point(x, 390_500)],
            crs="EPSG:27700",
        )

    # 0.01 m is below the 6 decimals of a degree compared; 50 m is not.
    assert diff_assets(frame(381_500), frame(381_500.01)).empty
    assert diff_assets(frame(381_500), frame(381_550)).changed == ("a2",)


def test_stored_urls_hide_secrets() -> None:
    assert public_url("https://user:pw@example.org:8443/api?api_key=abc&page=1") == (
        "https://example.org:8443/api?api_key=***&page=1"
    )
    assert public_url("https://example.org/api") == "https://example.org/api"
    assert (
        without_secrets("x?token=t0p&y https://u:pa55@h/", "https://u:pa55@h/?token=t0p")
        == "x?token=***&y https://u:***@h/"
    )
