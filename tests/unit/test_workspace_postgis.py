"""The dataset workspace on PostgreSQL + PostGIS, and the two backends against each other.

``scripts/test.sh`` installs and starts a local server (``scripts/postgres.sh``) and exports
``COVERAGE_MAP_TEST_DATABASE_URL``. Run on its own, this module asks ``scripts/postgres.sh
--url`` for an already running one. Where no server can be had, every test here is skipped
with the reason. Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import handbuilt
import pandas as pd
import pytest
import sqlalchemy as sa
from feedserver import serve_feed
from test_feeds import check_sync
from test_workspace import (
    check_concurrent_adds,
    check_every_role_and_option,
    check_invalid_rejected,
    check_privacy,
    check_problems_kept,
    check_restart,
    check_round_trip,
    check_two_workers,
    check_unscoped_workspace_migrates,
    check_versions,
)

from coverage_map.analysis import analyse, published_table
from coverage_map.config import DEMO_FILES, GEODATA_DIR
from coverage_map.store import ROLES, open_workspace

ROOT = Path(__file__).resolve().parents[2]
URL_VARIABLE = "COVERAGE_MAP_TEST_DATABASE_URL"


def _server_url() -> str:
    """The test server's URL, or skip saying why there is none."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        return url  # given explicitly: a connection failure is a failure, not a skip
    try:
        found = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), "--url"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"no PostgreSQL + PostGIS test server: {exc}")
    if found.returncode != 0 or not found.stdout.strip():
        reason = found.stderr.strip().splitlines()[-1] if found.stderr.strip() else "scripts/postgres.sh --url failed"
        pytest.skip(
            f"no PostgreSQL + PostGIS test server ({reason}); run `bash scripts/postgres.sh` (needs root or sudo), "
            f"use scripts/test.sh, or set {URL_VARIABLE}"
        )
    return found.stdout.strip()


@pytest.fixture(scope="module")
def server() -> Iterator[sa.Engine]:
    engine = sa.create_engine(sa.engine.make_url(_server_url()).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT postgis_version()")
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg(server: sa.Engine) -> Iterator[str]:
    """A workspace URL whose tables live in a fresh schema (PostGIS itself stays in public)."""
    schema = f"cm_test_{uuid.uuid4().hex[:12]}"
    with server.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = server.url.set(drivername="postgresql").update_query_dict({"options": f"-csearch_path={schema},public"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with server.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "upload"
    folder.mkdir()
    return handbuilt.write_files(folder)  # type: ignore[return-value]


def neighbourhood_table(inputs) -> pd.DataFrame:  # Inputs
    return published_table(analyse(inputs, level="neighbourhood"))


# =========================================================================== the same scenarios as the GeoPackage


def test_round_trip_gives_the_same_analysis(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_round_trip(pg, files, tmp_path)


def test_every_role_and_option_round_trips(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_every_role_and_option(pg, files, tmp_path)


def test_versions(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_versions(pg, files, tmp_path)


def test_sync_from_a_live_feed(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    with serve_feed() as feed:
        check_sync(pg, files, tmp_path, feed)


def test_validation_report_is_kept(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_problems_kept(pg, files, tmp_path)


def test_invalid_files_are_not_stored(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_invalid_rejected(pg, files, tmp_path)


def test_private_datasets_are_invisible_to_other_owners(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_privacy(pg, files, tmp_path)


def test_an_unscoped_workspace_is_migrated_on_open(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_unscoped_workspace_migrates(pg, files, tmp_path)


def test_survives_a_restart(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    # The fresh process finds the server through COVERAGE_MAP_DATABASE_URL, as a deployed app does.
    env = {"COVERAGE_MAP_DATABASE_URL": pg, "COVERAGE_MAP_DATA_DIR": str(tmp_path)}
    check_restart(pg, files, tmp_path, env)


def test_two_workers_see_the_same_published_data(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_two_workers(pg, files, tmp_path)


def test_concurrent_writers_queue(pg: str, files: dict[str, Path]) -> None:
    check_concurrent_adds(pg, files)


# =========================================================================== PostGIS specifics


def test_geometries_are_postgis_columns_in_british_national_grid(
    pg: str, server: sa.Engine, files: dict[str, Path], tmp_path: Path
) -> None:
    with open_workspace(pg, data_dir=tmp_path) as workspace:
        workspace.add("hand-built", files)
    schema = sa.engine.make_url(pg).query["options"].split("=")[1].split(",")[0]
    with server.connect() as conn:
        column = conn.execute(
            sa.text(
                "SELECT type, srid FROM geometry_columns WHERE f_table_schema = :schema "
                "AND f_table_name = 'cm_geometries'"
            ),
            {"schema": schema},
        ).one()
        stored = conn.execute(
            sa.text(f"SELECT ST_SRID(geom), ST_Area(geom) FROM {schema}.cm_geometries ORDER BY row_no")
        ).all()
    assert tuple(column) == ("GEOMETRY", 27700)
    # The three 1 km boxes of the hand-built areas.
    assert [tuple(row) for row in stored] == [(27700, 1_000_000.0)] * 3


def test_password_is_never_shown(pg: str, tmp_path: Path) -> None:
    with open_workspace(pg, data_dir=tmp_path) as workspace:
        password = sa.engine.make_url(pg).password
        assert password and password not in workspace.description and password not in repr(workspace)
        assert "***" in workspace.description


# =========================================================================== both backends, same answers


def test_backends_give_identical_analyses(pg: str, files: dict[str, Path], tmp_path: Path) -> None:
    loaded = {}
    for url in (pg, str(tmp_path / "workspace.gpkg")):
        with open_workspace(url, data_dir=tmp_path) as workspace:
            workspace.add("hand-built", files, publish=True)
            loaded[workspace.backend] = workspace.load("hand-built")
    for level in ("area", "neighbourhood", "borough"):
        pd.testing.assert_frame_equal(
            published_table(analyse(loaded["postgis"], level=level)),
            published_table(analyse(loaded["geopackage"], level=level)),
        )
    assert loaded["postgis"].problems == loaded["geopackage"].problems
    assert loaded["postgis"].sources == loaded["geopackage"].sources


def test_backends_give_identical_analyses_of_the_demo_data(pg: str, tmp_path: Path) -> None:
    # A workspace holds the roles it knows (not the demo's imd.csv).
    paths = {role: GEODATA_DIR / name for role, name in DEMO_FILES.items() if role in ROLES}
    if not all(path.exists() for path in paths.values()):
        pytest.skip(f"the demo data is not in {GEODATA_DIR}")
    tables = {}
    for url in (pg, str(tmp_path / "workspace.gpkg")):
        with open_workspace(url, data_dir=tmp_path) as workspace:
            workspace.add("demo", paths, publish=True)
            tables[workspace.backend] = neighbourhood_table(workspace.load("demo"))
    pd.testing.assert_frame_equal(tables["postgis"], tables["geopackage"])
