"""The dask engine gives the same published tables as the default engine on the demo data.

The demo referrals (~50,000) are written as several Parquet partitions, streamed through a
one-worker, in-process ``LocalCluster`` and compared with the default engine reading the
single shipped CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask_geopandas")

from coverage_map.analysis import analyse, published_assets, published_table
from coverage_map.cli import main
from coverage_map.config import DEMO_FILES, GEODATA_DIR
from coverage_map.dataset import Dataset
from coverage_map.engine_dask import cluster_client, expand_paths, prepare_distributed
from coverage_map.spec import InputSpec

PARTS = 4


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped referrals as PARTS Parquet files (text columns, as the CSV is read)."""
    folder = tmp_path_factory.mktemp("referral_parts")
    referrals = pd.read_csv(GEODATA_DIR / DEMO_FILES["referrals"], dtype=str, keep_default_na=False)
    for i, rows in enumerate(np.array_split(np.arange(len(referrals)), PARTS)):
        referrals.iloc[rows].to_parquet(folder / f"referrals_{i:02d}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def distributed_prepared(partitioned: Path):
    paths = {role: GEODATA_DIR / name for role, name in DEMO_FILES.items()}
    with cluster_client(processes=False, n_workers=1, threads_per_worker=2) as client:
        spec = InputSpec(
            areas=paths["areas"],
            assets=paths["assets"],
            lookup=paths["lookup"],
            population=paths["population"],
            referrals=Path(partitioned / "referrals_*.parquet"),
        )
        return prepare_distributed(spec, client=client)


@pytest.fixture(scope="module")
def default_dataset() -> Dataset:
    return Dataset.demo()


def test_the_partitions_are_several_files(partitioned: Path) -> None:
    assert len(expand_paths(partitioned / "referrals_*.parquet")) == PARTS == len(expand_paths(partitioned))


@pytest.mark.parametrize("level", ["area", "neighbourhood", "borough"])
def test_both_engines_publish_identical_gap_tables(distributed_prepared, default_dataset: Dataset, level: str) -> None:
    expected = published_table(default_dataset.analysis(level))
    got = published_table(analyse(distributed_prepared, level=level))
    pd.testing.assert_frame_equal(got, expected)


def test_both_engines_publish_identical_organisation_tables(distributed_prepared, default_dataset: Dataset) -> None:
    expected = published_assets(default_dataset.analysis("area"))
    pd.testing.assert_frame_equal(published_assets(analyse(distributed_prepared)), expected)


def test_the_dask_path_holds_aggregated_counts_not_records(distributed_prepared, default_dataset: Dataset) -> None:
    counts = distributed_prepared.referrals
    assert counts["count"].sum() == default_dataset.prepared.referrals["count"].sum()
    assert len(counts) < len(default_dataset.prepared.referrals)
    assert distributed_prepared.period_months == default_dataset.prepared.period_months == 24


def test_cli_engine_dask_writes_the_same_file(partitioned: Path, tmp_path: Path, monkeypatch) -> None:
    import coverage_map.engine_dask as engine

    real = engine.cluster_client
    monkeypatch.setattr(engine, "cluster_client", lambda scheduler=None: real(scheduler, processes=False, n_workers=1))
    paths = {role: str(GEODATA_DIR / name) for role, name in DEMO_FILES.items()}
    common = ["--areas", paths["areas"], "--assets", paths["assets"], "--lookup", paths["lookup"],
              "--population", paths["population"], "--level", "neighbourhood"]  # fmt: skip
    assert main(["analyse", *common, "--referrals", paths["referrals"], "--out", str(tmp_path / "a.csv")]) == 0
    parts = str(partitioned / "*.parquet")
    assert main(["analyse", *common, "--referrals", parts, "--engine", "dask", "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
