"""The dataset workspace on its embedded backend, a GeoPackage file (no server needed).

Expected analyses come from an independent route: the same files through
``load_inputs`` directly, never through the workspace. The ``check_*`` scenarios take a
workspace URL, so ``test_workspace_postgis.py`` runs the same ones against PostGIS.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import handbuilt
import pandas as pd
import pyogrio
import pytest
import shapely

from coverage_map.analysis import analyse, published_table
from coverage_map.cli import main
from coverage_map.dataset import Dataset
from coverage_map.errors import ValidationError
from coverage_map.ingest import load_inputs
from coverage_map.spec import FILE_ROLES, InputSpec
from coverage_map.store import DatasetNotFoundError, WorkspaceError, open_workspace

ROOT = Path(__file__).resolve().parents[2]
LEVELS = ("area", "neighbourhood", "borough")
#: Simultaneous writer processes (CI machines often have two cores).
WRITERS = 2


# =========================================================================== helpers


def published_tables(inputs) -> dict[str, pd.DataFrame]:  # Inputs
    return {level: published_table(analyse(inputs, level=level)) for level in LEVELS}


def assert_same_analyses(got, expected) -> None:  # Inputs
    got_tables, expected_tables = published_tables(got), published_tables(expected)
    for level in LEVELS:
        pd.testing.assert_frame_equal(got_tables[level], expected_tables[level])


def with_bad_asset_row(files: Mapping[str, Path]) -> dict[str, Path]:
    """The hand-built files plus one asset row that the loader rejects (an unknown category)."""
    assets = Path(files["assets"])
    with assets.open("a", encoding="utf-8") as stream:
        stream.write("a5,Unknown Club,53.47,-2.26,basket_weaving,,,,local\n")
    return dict(files)


def every_role_spec(files: Mapping[str, Path], folder: Path) -> InputSpec:
    """The hand-built files plus every other role (origins as a point layer) and every load option."""
    groups = folder / "groups.csv"
    groups.write_text("code,neighbourhood_id,neighbourhood_name\nA,G1,Group One\nB,G1,Group One\nC,G2,Group Two\n",
                      encoding="utf-8")  # fmt: skip
    practices = folder / "practices.csv"
    practices.write_text("practice_code,area_id\nP1,A\nP2,C\n", encoding="utf-8")
    taxonomy = folder / "taxonomy.toml"
    taxonomy.write_text('mode = "extend"\n[categories]\ngambling_harm = ["gambling"]\n', encoding="utf-8")
    origins = folder / "origins.geojson"
    gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C"]},
        geometry=gpd.points_from_xy(
            [handbuilt.X0 + 400, handbuilt.X0 + 1500, handbuilt.X0 + 2600], [handbuilt.Y0 + 500] * 3
        ),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326").to_file(origins, engine="pyogrio")
    travel_times = folder / "travel_times.csv"
    travel_times.write_text("area_id,asset_id,minutes\nA,a1,5\nB,a2,7.5\nC,a3,4\nC,a9,3\n", encoding="utf-8")
    imd = folder / "imd.csv"
    imd.write_text("area_id,imd_rank,imd_decile\nA,10,1\nB,20000,7\nC,32844,10\n", encoding="utf-8")
    return InputSpec(
        **files,  # type: ignore[arg-type]
        groups=groups,
        practices=practices,
        taxonomy=taxonomy,
        origins=origins,
        travel_times=travel_times,
        imd=imd,
        area_id_col="area_id",
        area_name_col="area_name",
        crs="EPSG:27700",
        lookup_area_col="area_id",
        neighbourhood_col="neighbourhood_id:neighbourhood_name",
        borough_col="borough_id:borough_name",
    )


def python(code: str, *args: str, env: Mapping[str, str] | None = None, wait: bool = True):
    """Run ``code`` in a fresh interpreter (another app process); ``wait=False`` returns the Popen."""
    command = [sys.executable, "-c", textwrap.dedent(code), *args]
    environment = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=environment,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


#: A fresh app process: opens the workspace the environment names and saves one published table.
LOAD_IN_FRESH_PROCESS = """
    import sys
    from coverage_map.analysis import analyse, published_table
    from coverage_map.store import open_workspace

    with open_workspace() as workspace:
        inputs = workspace.load(sys.argv[1])
        published_table(analyse(inputs, level="neighbourhood")).to_parquet(sys.argv[2])
        print(workspace.backend)
"""

#: A worker that waits (polling the cheap version token) until a dataset is published, then loads it.
WAIT_FOR_PUBLISHED = """
    import sys, time
    from coverage_map.analysis import analyse, published_table
    from coverage_map.store import open_workspace

    with open_workspace(sys.argv[1]) as workspace:
        token = workspace.version_token()
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while True:
            if workspace.version_token() != token:
                token = workspace.version_token()
                if workspace.list():
                    break
            if time.monotonic() > deadline:
                sys.exit("nothing was published within 60 s")
            time.sleep(0.05)
        print(" ".join(ref.label for ref in workspace.list()))
        published_table(analyse(workspace.load(sys.argv[2]), level="neighbourhood")).to_parquet(sys.argv[3])
"""

#: A worker (another dashboard session) that adds and publishes a dataset.
ADD_AND_PUBLISH = """
    import json, sys
    from coverage_map.store import open_workspace

    with open_workspace(sys.argv[1]) as workspace:
        workspace.add(sys.argv[2], json.loads(sys.argv[3]), owner="session-of-worker-a")
        print(workspace.publish(sys.argv[2], owner="session-of-worker-a").label)
"""

#: A worker that adds the same name as others at the same moment.
ADD = """
    import json, sys
    from coverage_map.store import open_workspace

    with open_workspace(sys.argv[1]) as workspace:
        print(workspace.add(sys.argv[2], json.loads(sys.argv[3])).ref.version)
"""


def as_json(files: Mapping[str, Path]) -> str:
    import json

    return json.dumps({role: str(path) for role, path in files.items()})


def expected_neighbourhood_table(files: Mapping[str, Path], folder: Path) -> pd.DataFrame:
    """The table a fresh process should find, through the same Parquet round trip."""
    path = folder / "expected.parquet"
    published_table(analyse(load_inputs(**files), level="neighbourhood")).to_parquet(path)
    return pd.read_parquet(path)


# =========================================================================== scenarios (both backends)


def check_round_trip(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    with open_workspace(url, data_dir=data_dir) as workspace:
        added = workspace.add("hand-built", files)
        assert (added.ref.name, added.ref.version, added.ref.published) == (
            "hand-built",
            1,
            False,
        )
        assert added.ref.rows == {
            "areas": 3,
            "lookup": 3,
            "assets": 4,
            "population": 3,
            "referrals": 7,
        }
        assert {source.path for source in added.ref.sources} == {Path(path).name for path in files.values()}
        loaded = workspace.load("hand-built", include_private=True)
    assert_same_analyses(loaded, load_inputs(**files))
    # Dataset.from_inputs is how the dashboard consumes it.
    assert Dataset.from_inputs(loaded).table("neighbourhood").shape[0] > 0
    # What was stored is the files as given, so the frames are the loaders' own.
    direct = load_inputs(**files)
    pd.testing.assert_frame_equal(loaded.assets, direct.assets)
    pd.testing.assert_frame_equal(loaded.areas, direct.areas)


def check_every_role_and_option(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    """A spec naming every role and every load option comes back as the same spec and the same inputs."""
    spec = every_role_spec(files, data_dir)
    # Every field but more_population and mappings (they round-trip in tests/unit/test_mapping.py) is given.
    assert set(spec.files()) == set(FILE_ROLES) and len(spec.to_mapping()) == len(dataclasses.fields(spec)) - 2
    direct = spec.load()
    with open_workspace(url, data_dir=data_dir) as workspace:
        added = workspace.add("every-role", spec)
        assert added.ref.rows == {"areas": 3, "lookup": 3, "groups": 3, "practices": 2, "assets": 4, "population": 3,
                                  "referrals": 7, "origins": 3, "travel_times": 3, "imd": 3}  # fmt: skip
        # The travel time to an unknown asset is reported, by file name as given, and kept in the report.
        assert [(p.file, p.row, p.column) for p in added.problems] == [("travel_times.csv", 5, "asset_id")]
        stored = workspace.spec("every-role", include_private=True)
        loaded = workspace.load("every-role", include_private=True)
        with workspace.checkout("every-role", include_private=True) as copy:
            assert copy.to_mapping().keys() == spec.to_mapping().keys()
            from_copy = copy.load()
    # Every role (by file name as given) and every option round-trips.
    as_given = {role: Path(path.name) for role, path in spec.files().items()}
    assert stored == dataclasses.replace(spec, **as_given)  # type: ignore[arg-type]
    assert InputSpec.from_mapping(stored.to_mapping()) == stored
    assert loaded.problems == added.problems and loaded.sources == added.inputs.sources
    assert [(p.row, p.column) for p in from_copy.problems] == [(5, "asset_id")]
    for inputs in (loaded, from_copy):
        assert inputs.taxonomy.categories.labels == direct.taxonomy.categories.labels
        for role in ("areas", "assets", "lookup", "population", "referrals", "origins", "travel_times", "imd"):
            pd.testing.assert_frame_equal(getattr(inputs, role), getattr(direct, role), check_exact=True)
        assert_same_analyses(inputs, direct)
    assert sorted(direct.lookup["neighbourhood_id"].unique()) == ["G1", "G2"]  # the groups were used


def check_versions(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    changed = dict(files)
    population = pd.read_csv(files["population"], dtype=str)
    population.loc[0, "population"] = "4000"
    changed["population"] = data_dir / "population-2.csv"
    population.to_csv(changed["population"], index=False)
    with open_workspace(url, data_dir=data_dir) as workspace:
        assert workspace.add("gm", files, publish=True).ref.version == 1
        assert workspace.add("gm", changed, publish=True).ref.version == 2
        assert [ref.label for ref in workspace.list()] == ["gm v1", "gm v2"]
        latest, first = workspace.load("gm"), workspace.load("gm", 1)
        assert latest.population["population"].tolist() == [4000.0, 3000.0, 2000.0]
        assert first.population["population"].tolist() == [1000.0, 3000.0, 2000.0]
        assert workspace.remove("gm", 2) == 1
        assert workspace.load("gm").population["population"].tolist() == [
            1000.0,
            3000.0,
            2000.0,
        ]
        # A removed number is never given again: a cached "gm v2" always means the same data.
        assert workspace.add("gm", changed).ref.version == 3
        assert workspace.remove("gm") == 2
        assert workspace.list(include_private=True) == []
        with pytest.raises(DatasetNotFoundError):
            workspace.load("gm")


def check_problems_kept(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    files = with_bad_asset_row(files)
    with open_workspace(url, data_dir=data_dir) as workspace:
        added = workspace.add("with-problems", files, publish=True)
        assert [(p.file, p.row, p.column, p.fatal) for p in added.problems] == [("assets.csv", 6, "categories", False)]
        assert added.ref.problems == 1 and added.ref.rows["assets"] == 4
        loaded = workspace.load("with-problems")
    assert loaded.problems == added.problems
    assert loaded.sources == added.inputs.sources
    pd.testing.assert_frame_equal(loaded.assets, load_inputs(**files).assets)


def check_invalid_rejected(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    broken = dict(files)
    broken["assets"] = data_dir / "assets-broken.csv"
    pd.read_csv(files["assets"], dtype=str).drop(columns="categories").to_csv(broken["assets"], index=False)
    with open_workspace(url, data_dir=data_dir) as workspace:
        token = workspace.version_token()
        with pytest.raises(ValidationError, match="categories"):
            workspace.add("broken", broken)
        assert workspace.list(include_private=True) == []
        assert workspace.version_token() == token


def check_privacy(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    with open_workspace(url, data_dir=data_dir) as workspace:
        mine = workspace.add("upload", files, owner="alice-token").ref
        # Only a digest of the session token is kept, so listings never reveal it.
        assert mine.owner == hashlib.sha256(b"alice-token").hexdigest()
        assert [ref.label for ref in workspace.list(owner="alice-token")] == ["upload v1"]
        assert workspace.list(owner="bob-token") == []
        assert workspace.list() == []
        for action in (
            lambda: workspace.load("upload", owner="bob-token"),
            lambda: workspace.load("upload"),
            lambda: workspace.load("upload", 1, owner="bob-token"),
            lambda: workspace.ref("upload", owner="bob-token"),
            lambda: workspace.publish("upload", owner="bob-token"),
            lambda: workspace.remove("upload", owner="bob-token"),
        ):
            with pytest.raises(DatasetNotFoundError) as caught:
                action()
            assert "alice" not in str(caught.value)
        # Bob's own upload of the same name is numbered in his own sequence: "v1", saying nothing of Alice's.
        assert workspace.add("upload", files, owner="bob-token").ref.version == 1
        assert workspace.ref("upload", owner="alice-token").version == 1
        assert workspace.ref("upload", owner="bob-token").version == 1
        assert workspace.add("upload", files, owner="bob-token").ref.version == 2
        assert workspace.remove("upload", 2, owner="bob-token") == 1
        # The command line (an administrator) sees everything.
        assert len(workspace.list(include_private=True)) == 2

        token = workspace.version_token()
        published = workspace.publish("upload", owner="alice-token", private=True)
        assert published.label == "upload v1" and not published.scoped  # the name's first published number
        assert workspace.version_token() != token
        listed = workspace.list(owner="bob-token")
        assert sorted((ref.label, ref.scoped) for ref in listed) == [("upload v1", False), ("upload v1", True)]
        assert [ref.label for ref in workspace.list()] == ["upload v1"]
        alice = workspace.load("upload", 1, owner="bob-token", private=False)
        bob = workspace.ref("upload", 1, owner="bob-token", private=True)
        assert bob.owner == hashlib.sha256(b"bob-token").hexdigest() and bob.scoped
        pd.testing.assert_frame_equal(alice.areas, load_inputs(**files).areas)
        # Numbers are never reused in a scope: Bob's next is v3 (v2 was removed); a second publish is v2.
        assert workspace.add("upload", files, owner="bob-token").ref.version == 3
        assert workspace.publish("upload", 3, owner="bob-token", private=True).label == "upload v2"


#: Numbers as the old, global sequence gave them: the private version was the name's second.
_OLD_NUMBERS = (
    "UPDATE cm_datasets SET version = 2 WHERE owner IS NOT NULL",
    "DELETE FROM cm_names WHERE name <> 'shared'",
    "UPDATE cm_names SET last_version = 2",
)
#: The bookkeeping table as it was before names were scoped to their owner, per backend.
_UNSCOPED = {
    "geopackage": (
        *_OLD_NUMBERS,
        "PRAGMA foreign_keys = OFF",
        "CREATE TABLE cm_datasets_old (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
        "version INTEGER NOT NULL, created_at DATETIME NOT NULL, owner TEXT, published BOOLEAN NOT NULL, "
        "options TEXT NOT NULL, sources TEXT NOT NULL, problems TEXT NOT NULL, "
        "CONSTRAINT cm_datasets_name_version UNIQUE (name, version))",
        "INSERT INTO cm_datasets_old SELECT id, name, version, created_at, owner, published, options, sources, "
        "problems FROM cm_datasets",
        "DROP TABLE cm_datasets",
        "ALTER TABLE cm_datasets_old RENAME TO cm_datasets",
        "PRAGMA foreign_keys = ON",
    ),
    "postgis": (
        *_OLD_NUMBERS,
        "ALTER TABLE cm_datasets DROP CONSTRAINT cm_datasets_name_scope_version",
        "ALTER TABLE cm_datasets DROP COLUMN scope",
        "ALTER TABLE cm_datasets ADD CONSTRAINT cm_datasets_name_version UNIQUE (name, version)",
    ),
}


def check_unscoped_workspace_migrates(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    """A workspace made before names were scoped opens as it was, and numbers per owner from then on."""
    with open_workspace(url, data_dir=data_dir) as workspace:
        workspace.add("shared", files, publish=True)  # v1, for everyone
        workspace.add("shared", files, owner="alice-token")  # v2 under the old, global numbering
        backend = workspace.backend
        engine = workspace._backend.engine
    with engine.connect() as conn:
        if backend == "geopackage":
            conn.connection.driver_connection.executescript(";".join(_UNSCOPED[backend]))
        else:
            for statement in _UNSCOPED[backend]:
                conn.exec_driver_sql(statement)
            conn.commit()
    with open_workspace(url, data_dir=data_dir) as workspace:
        refs = workspace.list(include_private=True)
        assert [(ref.label, ref.published, ref.scoped) for ref in refs] == [
            ("shared v1", True, False),
            ("shared v2", False, True),
        ]
        assert workspace.load("shared", 2, owner="alice-token").areas.shape[0] == 3
        # Alice's scope goes on from her old number; Bob's starts at 1; the workspace's goes on from its last (2).
        assert workspace.add("shared", files, owner="alice-token").ref.version == 3
        assert workspace.add("shared", files, owner="bob-token").ref.version == 1
        assert workspace.add("shared", files).ref.version == 3
    if backend == "geopackage":
        with sqlite3.connect(Path(url)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            inputs = conn.execute("SELECT COUNT(*) FROM cm_inputs").fetchone()[0]
            assert inputs == 5 * 5  # every version's five inputs survived the rebuild


def check_restart(url: str, files: Mapping[str, Path], data_dir: Path, env: Mapping[str, str]) -> None:
    """Write, close, then read in a fresh interpreter that finds the workspace from the environment."""
    with open_workspace(url, data_dir=data_dir) as workspace:
        workspace.add("survivor", files, publish=True)
    out = data_dir / "from-fresh-process.parquet"
    backend = python(LOAD_IN_FRESH_PROCESS, "survivor", str(out), env=env).strip()
    assert backend == ("postgis" if url.startswith("postgresql") else "geopackage")
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected_neighbourhood_table(files, data_dir))


def check_two_workers(url: str, files: Mapping[str, Path], data_dir: Path) -> None:
    """Worker B is running when worker A adds and publishes; B notices through the version token."""
    out = data_dir / "seen-by-worker-b.parquet"
    env = {"COVERAGE_MAP_DATA_DIR": str(data_dir)}  # scratch files stay in the test's folder
    reader = python(WAIT_FOR_PUBLISHED, url, "shared", str(out), env=env, wait=False)
    try:
        assert reader.stdout.readline().strip() == "ready"
        assert python(ADD_AND_PUBLISH, url, "shared", as_json(files), env=env).strip() == "shared v1"
        stdout, stderr = reader.communicate(timeout=90)
    finally:
        reader.kill()
        reader.wait()
    assert reader.returncode == 0, stderr
    assert stdout.strip() == "shared v1"
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected_neighbourhood_table(files, data_dir))


def check_concurrent_adds(url: str, files: Mapping[str, Path]) -> None:
    """Processes add the same name at once (creating the workspace too): distinct versions, no errors."""
    writers = [python(ADD, url, "busy", as_json(files), wait=False) for _ in range(WRITERS)]
    versions = []
    for writer in writers:
        stdout, stderr = writer.communicate(timeout=90)
        assert writer.returncode == 0, stderr
        versions.append(int(stdout))
    assert sorted(versions) == list(range(1, WRITERS + 1))
    with open_workspace(url) as workspace:
        assert [ref.version for ref in workspace.list(include_private=True)] == list(range(1, WRITERS + 1))


# =========================================================================== GeoPackage


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "upload"
    folder.mkdir()
    return handbuilt.write_files(folder)  # type: ignore[return-value]


@pytest.fixture
def gpkg(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "workspace.gpkg")


def test_round_trip_gives_the_same_analysis(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_round_trip(gpkg, files, tmp_path)


def test_every_role_and_option_round_trips(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_every_role_and_option(gpkg, files, tmp_path)


def test_versions(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_versions(gpkg, files, tmp_path)


def test_validation_report_is_kept(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_problems_kept(gpkg, files, tmp_path)


def test_invalid_files_are_not_stored(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_invalid_rejected(gpkg, files, tmp_path)


def test_private_datasets_are_invisible_to_other_owners(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_privacy(gpkg, files, tmp_path)


def test_an_unscoped_workspace_is_migrated_on_open(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_unscoped_workspace_migrates(gpkg, files, tmp_path)


def test_survives_a_restart(files: dict[str, Path], tmp_path: Path) -> None:
    # The fresh process opens the default workspace: workspace.gpkg in COVERAGE_MAP_DATA_DIR.
    data_dir = tmp_path / "instance"
    env = {"COVERAGE_MAP_DATA_DIR": str(data_dir), "COVERAGE_MAP_DATABASE_URL": ""}
    check_restart(str(data_dir / "workspace.gpkg"), files, data_dir, env)
    assert (data_dir / "workspace.gpkg").is_file()
    assert list((data_dir / "tmp").iterdir()) == []  # scratch files are cleaned up


def test_two_workers_see_the_same_published_data(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    check_two_workers(gpkg, files, tmp_path)


def test_concurrent_writers_queue(gpkg: str, files: dict[str, Path]) -> None:
    check_concurrent_adds(gpkg, files)


def test_threads_share_one_workspace(gpkg: str, files: dict[str, Path]) -> None:
    with open_workspace(gpkg) as workspace:
        workspace.add("threaded", files, publish=True)
        with ThreadPoolExecutor(max_workers=4) as pool:
            loaded = list(pool.map(lambda _: workspace.load("threaded").areas, range(4)))
    for areas in loaded:
        pd.testing.assert_frame_equal(areas, loaded[0])


def test_geopackage_is_readable_by_gdal(gpkg: str, files: dict[str, Path]) -> None:
    with open_workspace(gpkg) as workspace:
        workspace.add("hand-built", files)
    assert {"cm_geometries", "cm_datasets"} <= {name for name, _ in pyogrio.list_layers(gpkg)}
    geometries = gpd.read_file(gpkg, layer="cm_geometries", engine="pyogrio")
    assert geometries.crs.to_epsg() == 27700
    expected = [handbuilt.box(i) for i in range(3)]
    assert shapely.equals(geometries.geometry.to_numpy(), expected).all()


def test_spatial_inputs_are_stored_in_british_national_grid(files: dict[str, Path], tmp_path: Path) -> None:
    # Areas in WGS84 GeoJSON, assets as a GeoPackage of points: both become EPSG:27700 geometries.
    spatial = dict(files)
    spatial["areas"] = tmp_path / "areas.geojson"
    handbuilt.areas().drop(columns="_source_row").to_crs("EPSG:4326").to_file(spatial["areas"], engine="pyogrio")
    spatial["assets"] = tmp_path / "assets.gpkg"
    load_inputs(**files).assets.drop(columns="_source_row").assign(
        categories=lambda frame: frame["categories"].map(";".join),
        communities=lambda frame: frame["communities"].map(";".join),
    ).to_file(spatial["assets"], engine="pyogrio")
    path = tmp_path / "ws.gpkg"
    with open_workspace(path) as workspace:
        workspace.add("spatial", spatial)
        loaded = workspace.load("spatial", include_private=True)
    assert_same_analyses(loaded, load_inputs(**spatial))
    stored = gpd.read_file(path, layer="cm_geometries", engine="pyogrio")
    assert stored.crs.to_epsg() == 27700 and len(stored) == 3 + 4
    assert (stored.geometry.bounds["minx"] >= 380_000 - 1).all()


def test_bad_requests(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    with open_workspace(gpkg) as workspace:
        with pytest.raises(WorkspaceError, match="needs assets"):
            workspace.add("x", {"areas": files["areas"]})
        with pytest.raises(WorkspaceError, match="unknown role"):
            workspace.add("x", {**files, "boundaries": files["areas"]})
        with pytest.raises(WorkspaceError, match="dataset name"):
            workspace.add("  ", files)
        with pytest.raises(WorkspaceError, match="owner"):
            workspace.add("x", files, owner="")
    with pytest.raises(WorkspaceError, match="unsupported workspace URL"):
        open_workspace("mysql://somewhere/db")
    with pytest.raises(WorkspaceError, match=".gpkg"):
        open_workspace(tmp_path / "workspace.sqlite")
    # A database that cannot be reached (or a URL that cannot be parsed) is reported without its password.
    for url in ("postgresql://someone:s3cret@127.0.0.1:1/db", "postgresql://someone:s3cret@host:port/db"):
        with pytest.raises(WorkspaceError) as caught:
            open_workspace(url)
        assert "s3cret" not in str(caught.value)


def test_add_takes_a_spec_or_files_with_their_options(gpkg: str, files: dict[str, Path]) -> None:
    spec = InputSpec(**files, crs="EPSG:27700", borough_col="borough_id:borough_name")  # type: ignore[arg-type]
    with open_workspace(gpkg) as workspace:
        workspace.add("as-files", files, crs="EPSG:27700", lookup_levels={"borough": ["borough_id", "borough_name"]})
        assert workspace.spec("as-files", include_private=True) == workspace.spec(
            workspace.add("as-spec", spec).ref.name, include_private=True
        )
        with pytest.raises(WorkspaceError, match="in the InputSpec"):
            workspace.add("x", spec, crs="EPSG:4326")
        with pytest.raises(WorkspaceError, match="unknown load option"):
            workspace.add("x", files, area_col="code")
        with pytest.raises(WorkspaceError, match="'crs' must be text"):
            workspace.add("x", files, crs=27700)
        with pytest.raises(DatasetNotFoundError):
            workspace.spec("as-files")  # private: not visible to everyone


def test_cli(gpkg: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    inputs = [f"--{role}={path}" for role, path in with_bad_asset_row(files).items()]
    assert main(["workspace", "add", "--workspace", gpkg, "--name", "gm-2026", *inputs]) == 0
    out, err = capsys.readouterr()
    assert "Added gm-2026 v1 (private until" in out and "assets.csv, row 6" in err
    assert (
        main(
            [
                "workspace",
                "add",
                "--workspace",
                gpkg,
                "--name",
                "gm-2026",
                "--publish",
                *inputs,
            ]
        )
        == 0
    )
    assert main(["workspace", "list", "--workspace", gpkg]) == 0
    out, _ = capsys.readouterr()
    assert "gm-2026  v1  private" in out and "gm-2026  v2  published" in out
    assert "areas 3 (areas.gpkg)" in out and "1 rows rejected or repaired" in out
    assert main(["workspace", "publish", "--workspace", gpkg, "gm-2026", "--version", "1"]) == 0
    assert main(["workspace", "remove", "--workspace", gpkg, "gm-2026", "--version", "2"]) == 0
    assert main(["workspace", "list", "--workspace", gpkg, "--published"]) == 0
    out, _ = capsys.readouterr()
    assert "gm-2026  v1  published" in out and "v2" not in out.split("Removed")[-1].split("Datasets")[-1]
    assert main(["workspace", "remove", "--workspace", gpkg, "gm-2026", "--version", "9"]) == 2
    assert "no version 9 of 'gm-2026'" in capsys.readouterr().err
    assert main(["workspace", "remove", "--workspace", gpkg, "gm-2026"]) == 0
    assert main(["workspace", "list", "--workspace", gpkg]) == 0
    assert "No datasets" in capsys.readouterr().out


def test_cli_stores_every_role_and_option(gpkg: str, files: dict[str, Path], tmp_path: Path) -> None:
    # Before the spec, `workspace add` refused --origins, --travel-times and --imd.
    spec = every_role_spec(files, tmp_path)
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in spec.to_mapping().items()]
    assert main(["workspace", "add", "--workspace", gpkg, "--name", "every-role", *flags]) == 0
    with open_workspace(gpkg) as workspace:
        stored = workspace.spec("every-role", include_private=True)
    assert stored == dataclasses.replace(spec, **{role: Path(path.name) for role, path in spec.files().items()})  # type: ignore[arg-type]


def _switch_to_wal_and_write(path: str) -> str:
    import sqlite3

    from coverage_map.store.gpkg import _use_wal

    try:
        connection = sqlite3.connect(path, isolation_level=None)
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        _use_wal(cursor)
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("CREATE TABLE IF NOT EXISTS t (x)")
        cursor.execute("INSERT INTO t VALUES (1)")
        cursor.execute("COMMIT")
        connection.close()
        return "ok"
    except Exception as error:  # noqa: BLE001 - reported to the test
        return repr(error)


def test_processes_opening_a_new_workspace_at_once_wait_for_the_wal_switch(tmp_path: Path) -> None:
    """SQLite refuses the WAL switch at once ("database is locked", no busy wait) while another
    process holds a new file; before the retry this failed about one connection in sixty."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(6) as pool:
        for trial in range(15):
            path = str(tmp_path / f"new-{trial}.gpkg")
            assert pool.map(_switch_to_wal_and_write, [path] * 6) == ["ok"] * 6
            with sqlite3.connect(path) as check:
                assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 6
