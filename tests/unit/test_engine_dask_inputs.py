"""The dask engine's other inputs: GeoParquet partitions of referrals and assets, an existing cluster.

The issue asks for "partitioned referral and asset files (Parquet or GeoParquet, a glob of many
files)" and "``--scheduler ADDRESS`` for an existing cluster". Here the demo's referrals become
GeoParquet files whose coordinate rows carry a point geometry (the others keep their
``origin_area_id``), its assets become three GeoParquet files, and a cluster started outside the
command is reached by its TCP address. Every result is compared with the default engine on the
shipped CSV files.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask_geopandas")

from coverage_map.cli import main
from coverage_map.config import DEMO_FILES, GEODATA_DIR
from coverage_map.engine_dask import cluster_client, prepare_distributed
from coverage_map.errors import ValidationError
from coverage_map.spec import InputSpec

PATHS = {role: str(GEODATA_DIR / name) for role, name in DEMO_FILES.items()}
COMMON = ["--areas", PATHS["areas"], "--lookup", PATHS["lookup"], "--population", PATHS["population"],
          "--level", "neighbourhood"]  # fmt: skip


def _as_points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Latitude/longitude columns replaced by a WGS84 point geometry (none where they are blank)."""
    given = frame["latitude"].ne("") & frame["longitude"].ne("")
    lon = pd.to_numeric(frame["longitude"].where(given), errors="coerce")
    lat = pd.to_numeric(frame["latitude"].where(given), errors="coerce")
    points = gpd.points_from_xy(lon, lat)
    points[~given.to_numpy()] = None
    return gpd.GeoDataFrame(frame.drop(columns=["latitude", "longitude"]), geometry=points, crs="EPSG:4326")


@pytest.fixture(scope="module")
def geoparquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("geoparquet_parts")
    referrals = pd.read_csv(PATHS["referrals"], dtype=str, keep_default_na=False)
    (folder / "referrals").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(referrals)), 3)):
        _as_points(referrals.iloc[rows]).to_parquet(folder / "referrals" / f"part-{i}.geoparquet", index=False)
    assets = pd.read_csv(PATHS["assets"], dtype=str, keep_default_na=False)
    for i, rows in enumerate(np.array_split(np.arange(len(assets)), 3)):
        _as_points(assets.iloc[rows]).to_parquet(folder / f"assets-{i}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def default_output(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("default") / "gaps.csv"
    assert main(["analyse", *COMMON, "--assets", PATHS["assets"], "--referrals", PATHS["referrals"],
                 "--out", str(out)]) == 0  # fmt: skip
    return out.read_bytes()


@pytest.fixture
def in_process_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's own LocalCluster, in this process (quick to start in a test)."""
    import coverage_map.engine_dask as engine

    real = engine.cluster_client
    monkeypatch.setattr(engine, "cluster_client",
                        lambda scheduler=None: real(scheduler, processes=False, n_workers=1))  # fmt: skip


def test_geoparquet_referral_and_asset_partitions_give_the_default_engines_table(
    geoparquet: Path, default_output: bytes, tmp_path: Path, in_process_cluster: None
) -> None:
    out = tmp_path / "dask.csv"
    code = main([
        "analyse", *COMMON, "--engine", "dask", "--assets", str(geoparquet / "assets-*.parquet"),
        "--referrals", str(geoparquet / "referrals"), "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    assert out.read_bytes() == default_output
    published_assets = pd.read_csv(tmp_path / "dask_assets.csv", dtype=str)
    assert len(published_assets) == len(pd.read_csv(PATHS["assets"], dtype=str))


def test_an_existing_cluster_is_reached_by_its_address(geoparquet: Path, default_output: bytes, tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        assert cluster.scheduler.transition_counter == 0
        out = tmp_path / "remote.csv"
        code = main([
            "analyse", *COMMON, "--engine", "dask", "--scheduler", address, "--assets", PATHS["assets"],
            "--referrals", str(geoparquet / "referrals" / "*.geoparquet"), "--out", str(out),
        ])  # fmt: skip
        assert code == 0
        # The work ran on that cluster: its scheduler saw the partitions' tasks.
        assert cluster.scheduler.transition_counter > 0
    assert out.read_bytes() == default_output


def test_an_asset_id_in_two_asset_files_stops_the_run_naming_both_files(tmp_path: Path) -> None:
    assets = pd.read_csv(PATHS["assets"], dtype=str, keep_default_na=False)
    first, second = tmp_path / "assets-a.parquet", tmp_path / "assets-b.parquet"
    _as_points(assets.iloc[:10]).to_parquet(first, index=False)
    _as_points(assets.iloc[9:20]).to_parquet(second, index=False)  # row 9 in both
    with cluster_client(processes=False, n_workers=1) as client, pytest.raises(ValidationError) as raised:
        spec = InputSpec(
            areas=Path(PATHS["areas"]),
            assets=tmp_path / "assets-*.parquet",
            lookup=Path(PATHS["lookup"]),
            population=Path(PATHS["population"]),
        )
        prepare_distributed(spec, client=client)
    message = str(raised.value)
    repeated = assets["asset_id"].iloc[9]
    assert repeated in message and first.name in message and second.name in message
    assert "more than one asset file" in message


def test_many_files_are_summed_into_several_partitions_with_the_same_result(
    default_output: bytes, tmp_path: Path, in_process_cluster: None
) -> None:
    """Sixteen files: the totals are spread over two output partitions, and nothing changes."""
    from coverage_map.engine_dask import reduction_partitions

    referrals = pd.read_csv(PATHS["referrals"], dtype=str, keep_default_na=False)
    folder = tmp_path / "sixteen"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(referrals)), 16)):
        referrals.iloc[rows].to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    assert reduction_partitions(16) == 2 and reduction_partitions(4) == 1
    out = tmp_path / "dask.csv"
    code = main(["analyse", *COMMON, "--engine", "dask", "--assets", PATHS["assets"], "--referrals", str(folder),
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert out.read_bytes() == default_output


def test_a_local_cluster_of_worker_processes_gives_the_gap_method_columns_byte_for_byte(
    geoparquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gap method 2 (E2SFCA access, Gi* cold spots, tiers) at area level, with the partitions validated and
    located in two worker processes (pickled inputs, not threads); the dashboard binds a free port, so
    parallel test runs on one machine never fight over dask's default 8787."""
    import coverage_map.engine_dask as engine

    real = engine.cluster_client
    monkeypatch.setattr(engine, "cluster_client", lambda scheduler=None: real(
        scheduler, processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"))  # fmt: skip
    common = ["analyse", "--areas", PATHS["areas"], "--lookup", PATHS["lookup"], "--population",
              PATHS["population"], "--assets", PATHS["assets"], "--level", "area"]  # fmt: skip
    assert main([*common, "--referrals", PATHS["referrals"], "--out", str(tmp_path / "pandas.csv")]) == 0
    assert main([*common, "--engine", "dask", "--referrals", str(geoparquet / "referrals"),
                 "--out", str(tmp_path / "dask.csv")]) == 0  # fmt: skip
    header = (tmp_path / "pandas.csv").read_text().splitlines()[0].split(",")
    assert {"access_per_10k", "access_ratio", "cold_spot", "q_value", "tier", "gap_score"} <= set(header)
    for suffix in (".csv", "_assets.csv", "_rejected.csv"):
        assert (tmp_path / f"dask{suffix}").read_bytes() == (tmp_path / f"pandas{suffix}").read_bytes(), suffix
