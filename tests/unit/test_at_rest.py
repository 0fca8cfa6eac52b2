"""Data at rest: a private data folder, no raw referral records kept, scratch folders swept away."""

from __future__ import annotations

import base64
import csv
import io
import os
import sqlite3
import time
from pathlib import Path

import handbuilt
import pytest

from coverage_map.ingest.upload_safety import UploadLimits
from coverage_map.spec import InputSpec
from coverage_map.store import open_workspace
from coverage_map.store.at_rest import lock_down, minimal_referrals, mode_of, private_umask, sweep_scratch


def _every_path(root: Path) -> list[Path]:
    return [root, *root.rglob("*")]


def test_lock_down_makes_the_folder_0700_and_every_file_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "old" / "deeper").mkdir(parents=True)
    (data / "old" / "deeper" / "file.csv").write_text("x")
    (data / "workspace.gpkg").write_text("x")
    os.chmod(data / "workspace.gpkg", 0o644)
    lock_down(data)
    for path in _every_path(data):
        assert mode_of(path) == (0o700 if path.is_dir() else 0o600), path


def test_a_new_workspace_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    workspace = open_workspace(folder / "workspace.gpkg")
    assert workspace.backend == "geopackage"
    assert mode_of(folder) == 0o700
    assert mode_of(folder / "workspace.gpkg") == 0o600


def test_scratch_folders_older_than_their_time_to_live_are_swept(tmp_path: Path) -> None:
    old, young, other = tmp_path / "incoming-old", tmp_path / "incoming-young", tmp_path / "keep-me"
    for folder in (old, young, other):
        folder.mkdir()
        (folder / "referrals.csv").write_text("SECRET")
    long_ago = time.time() - 2 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    assert sweep_scratch(tmp_path, ttl_seconds=3600) == 1
    assert not old.exists() and young.exists() and other.exists()


def test_minimal_referrals_keep_only_what_the_analysis_reads(tmp_path: Path) -> None:
    paths = handbuilt.write_files(tmp_path)
    original = Path(paths["referrals"]).read_bytes()
    kept = minimal_referrals(original)
    assert kept is not None
    text = kept.decode()
    assert "SECRET-REF" not in text and "referral_id" not in text
    assert (
        text.splitlines()[0]
        == '"date","category","community","origin_area_id","latitude","longitude","asset_id","count"'
    )
    assert minimal_referrals(b"\xff\xfe\x00garbage") is None


def _stored_referrals(path: Path) -> bytes:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("select content from cm_inputs where role = 'referrals'").fetchall()
    return b"".join(bytes(row[0]) for row in rows)


@pytest.mark.parametrize("keep_raw", [False, True])
def test_the_workspace_keeps_referral_ids_only_when_told_to(tmp_path: Path, keep_raw: bool) -> None:
    (tmp_path / "in").mkdir()
    paths = handbuilt.write_files(tmp_path / "in")
    workspace = open_workspace(tmp_path / "ws" / "workspace.gpkg", keep_raw_uploads=keep_raw)
    added = workspace.add("hand", paths, publish=True)
    stored = _stored_referrals(tmp_path / "ws" / "workspace.gpkg")
    assert (b"SECRET-REF" in stored) is keep_raw
    # The minimal copy loads exactly as the original does.
    original = InputSpec.from_mapping({role: str(path) for role, path in paths.items()}).load().referrals
    with workspace.checkout("hand", added.ref.version) as spec:
        referrals = spec.load().referrals
    assert referrals is not None and original is not None
    assert referrals.drop(columns="geometry").equals(original.drop(columns="geometry"))


def test_an_upload_leaves_nothing_raw_and_every_file_private(tmp_path: Path) -> None:
    from callbacks import uploads

    (tmp_path / "in").mkdir()
    paths = handbuilt.write_files(tmp_path / "in")
    data_dir = tmp_path / "data"
    with private_umask():
        workspace = open_workspace(data_dir / "workspace.gpkg")
        contents = {
            role: "data:application/octet-stream;base64," + base64.b64encode(Path(path).read_bytes()).decode()
            for role, path in paths.items()
        }
        names = {role: Path(path).name for role, path in paths.items()}
        limits = UploadLimits.from_sizes(50 * 2**20, 100 * 2**20)
        received = uploads.receive_all(contents, names, limits=limits)
        uploads.save_to_workspace(workspace, data_dir, uploads.new_token(), "Mine", received, limits=limits)
    leftovers = [path.name for path in data_dir.iterdir() if path.name.startswith("incoming-")]
    assert not leftovers
    for path in _every_path(data_dir):
        assert mode_of(path) == (0o700 if path.is_dir() else 0o600), path
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"SECRET-REF" not in path.read_bytes(), path


def test_minimal_referrals_keep_every_row_where_it_was_with_awkward_cells() -> None:
    """Quoted commas, quotes and line breaks, blank lines, short rows and a BOM: row N stays row N, cell for cell."""
    original = (
        "\ufeffreferral_id,date,category,notes,origin_area_id,count\r\n"
        "R1,2026-01-03,dementia,plain,A,1\r\n"
        'R2,2026-01-04,"carers, young",said "hi",B,2\r\n'
        "\r\n"
        'R3,2026-01-05,"dementia\r\nsupport",x,C,3\r\n'
        "R4,2026-01-06,dementia\r\n"
        'R5,,"",,"A",\r\n'
        "R6,2026-02-01,mental health,ok,A,7\r\n"
    ) * 50
    kept = minimal_referrals(original.encode("utf-8"))
    assert kept is not None
    rows = list(csv.reader(io.StringIO(original.removeprefix("\ufeff"), newline="")))
    header = rows[0]
    keep = [header.index(name) for name in ("date", "category", "origin_area_id", "count")]
    expected = [[row[i] if i < len(row) else "" for i in keep] if row else [] for row in rows]
    assert list(csv.reader(io.StringIO(kept.decode("utf-8"), newline=""))) == expected
    assert "R1" not in kept.decode() and "notes" not in kept.decode()
