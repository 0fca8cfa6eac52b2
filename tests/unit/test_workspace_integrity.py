"""``Workspace.check_integrity()``: what the fault suite (``tests/faults``) checks after every fault."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import handbuilt

from coverage_map.store import open_workspace


def saved(tmp_path: Path) -> Path:
    """A GeoPackage workspace holding one version of the hand-built data."""
    path = tmp_path / "workspace.gpkg"
    with open_workspace(path) as workspace:
        workspace.add("hand", handbuilt.write_files(tmp_path))
    return path


def problems(path: Path) -> list[str]:
    with open_workspace(path) as workspace:
        return workspace.check_integrity()


def test_a_whole_workspace_has_no_problems(tmp_path: Path) -> None:
    assert problems(tmp_path / "empty.gpkg") == []
    assert problems(saved(tmp_path)) == []


def test_a_version_without_a_required_input_is_found(tmp_path: Path) -> None:
    path = saved(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM cm_inputs WHERE role = 'assets'")
    assert problems(path) == ["hand v1 has no assets input"]


def test_an_input_missing_some_of_its_geometries_is_found(tmp_path: Path) -> None:
    path = saved(tmp_path)
    with sqlite3.connect(path) as conn:
        input_id, features = conn.execute("SELECT id, features FROM cm_inputs WHERE role = 'areas'").fetchone()
        conn.execute("DELETE FROM cm_geometries WHERE input_id = ? AND row_no = 1", (input_id,))
    assert problems(path) == [f"input {input_id} (areas) has {features - 1} geometries for {features} features"]
