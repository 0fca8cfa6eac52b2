"""Each metric on three hand-built boxes (see tests/handbuilt.py); expected values by hand."""

from __future__ import annotations

import math

import handbuilt as hb
import pandas as pd
import pytest

from coverage_map.analysis import analyse
from coverage_map.errors import CoverageMapError
from coverage_map.joins import prepare


@pytest.fixture(scope="module")
def prepared():
    return prepare(hb.inputs())


def row(table: pd.DataFrame, area: str, category: str, community: str = "all") -> pd.Series:
    match = table[(table.area_id == area) & (table.category == category) & (table.community == community)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.fixture(scope="module")
def area_table(prepared):
    return analyse(prepared, level="area").table


@pytest.fixture(scope="module")
def neighbourhood_table(prepared):
    return analyse(prepared, level="neighbourhood").table


def test_one_row_per_area_category_community_sorted(area_table):
    # 3 areas x 17 built-in categories x (all + bame)
    assert len(area_table) == 3 * 17 * 2
    keys = list(zip(area_table.area_id, area_table.category, area_table.community, strict=True))
    assert keys == sorted(keys)
    assert set(area_table.community) == {"all", "bame"}


def test_period_is_months_spanned(prepared):
    assert prepared.period_months == 2.0  # January and February 2026


def test_population_and_group_population(area_table):
    a = row(area_table, "A", "dementia", "bame")
    assert (a.population, a.group_population) == (1000, 100)
    assert row(area_table, "A", "dementia").group_population == 1000


def test_assets_in_area_and_reaching_follow_reach_rules(area_table):
    # A: a1 (local) sits here; a2 (borough reach, in B) reaches all of borough B1.
    a = row(area_table, "A", "dementia")
    assert (a.assets_in_area, a.assets_reaching) == (1, 2)
    # B: a2 sits here; a1 is local to A and does not reach B.
    b = row(area_table, "B", "dementia")
    assert (b.assets_in_area, b.assets_reaching) == (1, 1)
    # C is in another borough: nothing reaches it.
    c = row(area_table, "C", "dementia")
    assert (c.assets_in_area, c.assets_reaching) == (0, 0)


def test_radius_reach_uses_area_centroid(area_table):
    # a3 at (2500, 900) with 1.2 km reach: B's centroid (1500, 500) is 1.077 km away, A's 2.04 km.
    assert row(area_table, "B", "mental_health").assets_reaching == 1
    assert row(area_table, "A", "mental_health").assets_reaching == 0
    assert row(area_table, "C", "mental_health").assets_reaching == 1


def test_citywide_reaches_everywhere(area_table):
    for area in "ABC":
        assert row(area_table, area, "debt_benefits_advice").assets_reaching == 1
    assert row(area_table, "A", "debt_benefits_advice").assets_in_area == 1
    assert row(area_table, "B", "debt_benefits_advice").assets_in_area == 0


def test_community_rows_count_only_assets_listing_the_community(area_table):
    # a1 is open to all, so it does not count for bame; a2 lists bame and reaches A.
    a = row(area_table, "A", "dementia", "bame")
    assert (a.assets_in_area, a.assets_reaching) == (0, 1)
    assert a.provision_per_10k == pytest.approx(1 / 100 * 10_000)


def test_capacity_and_pressure(area_table):
    a = row(area_table, "A", "dementia")
    assert a.capacity_local == 10
    assert a.pressure == pytest.approx((12 / 2) / 10)  # 12 referrals over 2 months, capacity 10/month
    assert row(area_table, "B", "dementia").pressure == pytest.approx((8 / 2) / 5)
    # a3 states no capacity: pressure is empty rather than infinite.
    assert math.isnan(row(area_table, "C", "mental_health").pressure)


def test_referrals_and_rates(area_table):
    a = row(area_table, "A", "dementia")
    assert a.referrals == 12
    assert a.referrals_per_10k == pytest.approx(120.0)
    assert a.provision_per_10k == pytest.approx(20.0)
    c = row(area_table, "C", "dementia", "bame")
    assert c.referrals == 3
    assert c.referrals_per_10k == pytest.approx(3 / 500 * 10_000)
    # The coordinate-located referral lands in C.
    assert row(area_table, "C", "mental_health").referrals == 1
    assert row(area_table, "A", "mental_health").referrals == 40


def test_nearest_km_is_centroid_distance(area_table):
    assert row(area_table, "A", "dementia").nearest_km == pytest.approx(0.0)
    assert row(area_table, "C", "dementia").nearest_km == pytest.approx(1.0)
    assert row(area_table, "A", "mental_health").nearest_km == pytest.approx(math.hypot(2000, 400) / 1000)
    # Nothing lists bame for mental health anywhere: no distance at all.
    assert math.isnan(row(area_table, "A", "mental_health", "bame").nearest_km)


def test_share_within_threshold(area_table):
    assert row(area_table, "A", "mental_health").share_within_km == 0.0  # 2.04 km > 2 km
    assert row(area_table, "B", "mental_health").share_within_km == 1.0


def test_neighbourhood_level_aggregates(neighbourhood_table):
    n1 = row(neighbourhood_table, "N1", "dementia")
    assert n1.level == "neighbourhood"
    assert n1.area_name == "North"
    assert (n1.population, n1.assets_in_area, n1.assets_reaching) == (4000, 2, 2)
    assert n1.capacity_local == 15
    assert n1.referrals == 20
    assert n1.pressure == pytest.approx((20 / 2) / 15)
    assert n1.provision_per_10k == pytest.approx(2 / 4000 * 10_000)
    mh = row(neighbourhood_table, "N1", "mental_health")
    # Population-weighted mean of A (2.0396 km, 1000 people) and B (1.0770 km, 3000 people).
    expected = (1000 * math.hypot(2000, 400) + 3000 * math.hypot(1000, 400)) / 4000 / 1000
    assert mh.nearest_km == pytest.approx(expected)
    assert mh.share_within_km == pytest.approx(3000 / 4000)
    # Weighted by the group: only A has bame residents (100), 1.0 km from a2.
    assert row(neighbourhood_table, "N1", "dementia", "bame").nearest_km == pytest.approx(1.0)


def test_borough_level_counts_distinct_assets(prepared):
    table = analyse(prepared, level="borough").table
    b1 = row(table, "B1", "debt_benefits_advice")
    # The citywide asset reaches both A and B but is one asset.
    assert b1.assets_reaching == 1
    assert row(table, "B2", "dementia").assets_reaching == 0


def test_higher_levels_need_a_lookup():
    with pytest.raises(CoverageMapError, match="needs a lookup"):
        analyse(hb.inputs(with_lookup=False), level="neighbourhood")


def test_without_population_rates_are_empty_but_distances_remain():
    table = analyse(hb.inputs(with_population=False), level="area").table
    a = row(table, "A", "dementia")
    assert math.isnan(a.referrals_per_10k) and math.isnan(a.provision_per_10k)
    assert a.nearest_km == pytest.approx(0.0)
    assert set(table.community) == {"all"}


def test_inputs_are_not_mutated():
    inputs = hb.inputs()
    before = inputs.assets.copy()
    analyse(inputs, level="neighbourhood")
    pd.testing.assert_frame_equal(inputs.assets, before)


def test_bad_threshold_is_a_clear_error(prepared):
    with pytest.raises(CoverageMapError, match="positive"):
        analyse(prepared, level="area", threshold_km=0)


def test_assets_reaching_lists_every_reach_kind(prepared):
    assert set(prepared.assets_reaching(["B"])["asset_id"]) == {"a2", "a3", "a4"}
    pairs = prepared.reach
    assert set(pairs[pairs.area_id == "A"].asset_id) == {"a1", "a2", "a4"}
    assert set(pairs[pairs.asset_id == "a4"].area_id) == {"A", "B", "C"}
    # Citywide assets are never materialised as per-area pairs internally.
    assert "a4" not in set(prepared.local_reach.asset_id)


def test_dataset_borough_of_every_level():
    from coverage_map.dataset import Dataset

    dataset = Dataset.from_inputs(hb.inputs())
    assert dataset.borough_of("area").to_dict() == {"A": "B1", "B": "B1", "C": "B2"}
    assert dataset.borough_of("neighbourhood").to_dict() == {"N1": "B1", "N2": "B2"}
    assert dataset.borough_of("borough").to_dict() == {"B1": "B1", "B2": "B2"}


def test_results_shared_between_levels_equal_fresh_ones_and_are_read_only():
    """One joined input analysed at two levels (either order) gives what separate joins give; the memo stays intact."""
    import numpy as np

    from coverage_map.analysis import asset_table, stale_listings
    from coverage_map.metrics import _area_nearest, _Cells, _nearest_km, asset_offers

    for levels in (("area", "neighbourhood"), ("borough", "area")):
        shared = prepare(hb.inputs())
        for level in levels:
            memoised = analyse(shared, level=level)
            fresh = analyse(prepare(hb.inputs()), level=level)
            pd.testing.assert_frame_equal(memoised.table, fresh.table)
            pd.testing.assert_frame_equal(memoised.assets, fresh.assets)
            assert memoised.islands == fresh.islands

        reference = prepare(hb.inputs())
        communities = reference.inputs.community_labels
        categories = reference.inputs.taxonomy.categories.labels
        offers = asset_offers(reference.assets, communities).drop_duplicates()
        cells = _Cells(reference.units["area"]["area_id"], categories, communities)
        pd.testing.assert_frame_equal(shared.memo["asset_table"], asset_table(reference))
        pd.testing.assert_frame_equal(shared.memo[("asset_offers", tuple(communities))], offers)
        assert shared.memo[("stale_listings", None)] == stale_listings(reference)
        nearest = _area_nearest(shared, offers, cells)
        np.testing.assert_array_equal(nearest, _nearest_km(reference, offers, cells))
        assert _area_nearest(shared, offers, cells) is nearest  # made once
        assert not nearest.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            nearest[0, 0] = 0.0
