"""Scale guarantees that are properties, not timings (timings live in benchmarks/).

Referrals that carry an ``origin_area_id`` must never go through a geometric join: at
national scale that is half of millions of rows, and the area id is already the answer.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import handbuilt
import pandas as pd
import pytest

from coverage_map import joins
from coverage_map.demo import SCALE_FILES
from coverage_map.demo.scales import SCALES


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[gpd.GeoSeries]:
    """Record every call of the point-in-polygon function (and still run it)."""
    calls: list[gpd.GeoSeries] = []
    real = joins.points_in_areas

    def recording(points: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> pd.Series:
        calls.append(points.copy())
        return real(points, areas)

    monkeypatch.setattr(joins, "points_in_areas", recording)
    return calls


def _referral_calls(calls: list[gpd.GeoSeries], n_assets: int) -> list[gpd.GeoSeries]:
    # The first call locates the assets; any later one locates referrals.
    assert len(calls[0]) == n_assets
    return calls[1:]


def test_referrals_given_by_area_id_are_never_joined_geometrically(spy: list[gpd.GeoSeries]) -> None:
    inputs = handbuilt.inputs()
    by_area = inputs.referrals[inputs.referrals["origin_area_id"].notna()].reset_index(drop=True)
    prepared = joins.prepare(dataclasses.replace(inputs, referrals=by_area))
    assert _referral_calls(spy, len(inputs.assets)) == []
    # ...and they are still counted in the area they name (12 + 40 in A, 8 in B, 3 in C).
    counted = prepared.referrals.groupby("area_id")["count"].sum().to_dict()
    assert counted == {"A": 52, "B": 8, "C": 3}


def test_only_rows_given_by_coordinates_reach_the_point_in_polygon_join(spy: list[gpd.GeoSeries]) -> None:
    inputs = handbuilt.inputs()
    prepared = joins.prepare(inputs)
    referral_calls = _referral_calls(spy, len(inputs.assets))
    assert len(referral_calls) == 1
    by_point = inputs.referrals.index[inputs.referrals["origin_area_id"].isna()]
    assert list(referral_calls[0].index) == list(by_point) == [6]
    # The one point referral (x = 2600 m) lies in C.
    assert prepared.referrals.loc[prepared.referrals["category"] == "mental_health", "area_id"].tolist() == ["A", "C"]


def test_the_england_scale_is_the_size_the_issue_asks_for() -> None:
    spec = SCALES["england"]
    assert (spec.areas, spec.assets, spec.referrals, spec.boroughs) == (33_755, 100_000, 2_000_000, 300)
    assert SCALE_FILES["england"]["referrals"].endswith(".parquet")
