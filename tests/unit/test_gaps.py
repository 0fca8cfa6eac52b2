"""Tiers, gap reasons and scores on the hand-built boxes; expected values worked out by hand.

E2SFCA for dementia (catchment 3 km, Gaussian decay; origins are the box centres, 1 km apart):
W(0) = 1, W(1 km) = (e^(-1/18) - e^(-1/2)) / (1 - e^(-1/2)) = 0.862654,
W(2 km) = (e^(-2/9) - e^(-1/2)) / (1 - e^(-1/2)) = 0.493574.
a1 (local, capacity 10, in A, open to all), a2 (borough B1 = A and B, capacity 5, lists bame).

``all`` (D = population 1000, 3000, 2000):
R1 = 10 / (1000 + 3000 x 0.862654 + 2000 x 0.493574) = 10 / 4575.110 = 0.00218574,
R2 = 5 / (1000 + 3000) = 0.00125;
A_C = R1 x 0.493574 = 0.00107883; the region's ratio is 15 / 6000 = 0.0025, so C's
access_ratio is 0.43153: under 0.5 with too few units for a cluster test -> ``moderate``.

``bame`` (D = 100, 0, 500): R1 = 10 / (100 + 500 x 0.493574) = 0.0288361, R2 = 5 / 100 = 0.05;
A_C = 0.0288361 x 0.493574 = 0.0142327 over 15 / 600 = 0.025 -> 0.56931: ``watch``; the
bame-specific a2 does not reach C (borough B1), so its specific access is 0.
"""

from __future__ import annotations

import handbuilt as hb
import numpy as np
import pandas as pd
import pytest

from coverage_map.analysis import analyse
from coverage_map.gaps import TIER_ORDER, explain, find_gaps, ranked
from coverage_map.joins import prepare


@pytest.fixture(scope="module")
def table():
    return analyse(prepare(hb.inputs()), level="area").table


def row(table: pd.DataFrame, area: str, category: str, community: str = "all") -> pd.Series:
    match = table[(table.area_id == area) & (table.category == category) & (table.community == community)]
    assert len(match) == 1
    return match.iloc[0]


def reasons(table: pd.DataFrame, area: str, category: str, community: str = "all") -> set[str]:
    return {r for r in str(row(table, area, category, community).gap_reasons).split(";") if r}


def test_moderate_gap_worked_by_hand(table):
    c = row(table, "C", "dementia")
    assert c.access_ratio == pytest.approx(0.0010788 / 0.0025, rel=1e-4)
    assert c.access_per_10k == pytest.approx(10.788, rel=1e-4)
    assert c.need == 2000
    assert c.tier == "moderate" and c.gap
    assert reasons(table, "C", "dementia") == {"low_access"}  # a1's catchment reaches C: not "no provision"
    assert c.gap_score == pytest.approx(1 - 0.43153, abs=1e-3)
    assert c.unmet_need == pytest.approx(2000 * (1 - 0.43153), rel=1e-3)
    for area in ("A", "B"):  # ratios 1.374 and 1.254: above the region's average
        assert row(table, area, "dementia").tier == "none"
        assert row(table, area, "dementia").gap_score == 0.0


def test_open_to_all_service_without_one_made_for_the_group(table):
    c = row(table, "C", "dementia", "bame")
    assert c.access_ratio == pytest.approx(0.0142327 / 0.025, rel=1e-4)
    assert c.specific_access_per_10k == 0
    assert c.tier == "watch" and not c.gap
    assert reasons(table, "C", "dementia", "bame") == {"low_access", "no_specific_provision"}


def test_nobody_in_group_is_not_a_gap(table):
    # B has no bame residents: nobody to under-serve.
    b = row(table, "B", "mental_health", "bame")
    assert b.tier == "none" and reasons(table, "B", "mental_health", "bame") == set()
    assert b.gap_score == 0.0


def test_far(table):
    assert "far" in reasons(table, "A", "mental_health")  # 2.04 km > 2 km
    assert "far" not in reasons(table, "B", "mental_health")


def test_unmet_demand_where_nothing_takes_referrals(table):
    # The only mental-health service (a3) does not accept referrals: no supply anywhere, so no
    # ratio; A sends 40 referrals and nothing reaches it: watch, not a judged gap.
    a = row(table, "A", "mental_health")
    assert np.isnan(a.access_ratio)
    assert "unmet_demand" in reasons(table, "A", "mental_health")
    assert a.tier == "watch" and not a.gap


def test_over_capacity_moves_a_well_served_area_to_watch():
    inputs = hb.inputs()
    # B gets 8 + 16 = 24 dementia referrals over 2 months, 12 a month against a capacity of 5.
    extra = inputs.referrals.iloc[[5]].assign(count=16, _source_row=99)
    boosted = type(inputs)(**{**inputs.__dict__, "referrals": pd.concat([inputs.referrals, extra])})
    table = analyse(boosted, level="area").table
    assert "over_capacity" in reasons(table, "B", "dementia")
    assert row(table, "B", "dementia").tier == "watch"
    assert "over_capacity" not in reasons(table, "A", "dementia")  # pressure 0.6


def test_category_missing_from_the_directory_is_no_data_not_a_gap(table):
    # No asset offers housing: every row is no_data, never a gap, with no score and no reasons.
    housing = table[table.category == "housing"]
    assert len(housing) and (housing.tier == "no_data").all()
    assert not housing.gap.any()
    assert housing.gap_score.isna().all() and (housing.gap_reasons == "").all()


def test_gap_is_severe_or_moderate(table):
    assert (table["gap"] == table["tier"].isin(["severe", "moderate"])).all()
    known = table["gap_score"].dropna()
    assert known.between(0, 1).all()


def _frame(**columns: object) -> pd.DataFrame:
    n = len(next(iter(columns.values())))  # type: ignore[arg-type]
    base = {
        "area_id": [f"u{i}" for i in range(n)], "category": "x", "community": "all",
        "group_population": 100.0, "need": 100.0, "assets_reaching": 1, "nearest_km": 0.5,
        "referrals": 0, "pressure": np.nan, "access_per_10k": 1.0, "specific_access_per_10k": np.nan,
        "provision_exists": True, "specific_exists": False, "cold_spot": False,
    }  # fmt: skip
    return pd.DataFrame({**base, **columns})


def test_severe_needs_a_cold_spot_and_a_low_ratio():
    frame = _frame(access_ratio=[0.2, 0.2, 0.6, 0.6, 0.9], cold_spot=[True, False, True, False, True])
    result = find_gaps(frame, threshold_km=2)
    assert result["tier"].tolist() == ["severe", "moderate", "moderate", "watch", "none"]
    assert result["gap_reasons"].tolist() == [
        "low_access;cold_spot", "low_access", "low_access;cold_spot", "low_access", "cold_spot",
    ]  # fmt: skip


def test_ranked_by_tier_then_unmet_need():
    frame = _frame(access_ratio=[0.9, 0.4, 0.2, 0.6, 0.1], need=[100.0, 500.0, 100.0, 1000.0, 100.0])
    result = ranked(find_gaps(frame, threshold_km=2))
    # moderate: u1 (500 x 0.6 = 300 unmet) before u2 (80) and u4 (90); then watch u3, then none u0.
    assert result["area_id"].tolist() == ["u1", "u4", "u2", "u3", "u0"]
    assert [TIER_ORDER[t] for t in result["tier"]] == sorted(TIER_ORDER[t] for t in result["tier"])


def test_explain_reads_as_english(table):
    c = row(table, "C", "dementia", "bame")
    sentences = explain(c, threshold_km=2, category_label="Dementia", group_label="BAME communities")
    assert sentences == [
        "Dementia provision for BAME communities per person in need is under 80% of the region's average.",
        "Services open to everyone reach this area, but none made for BAME communities.",
    ]


def test_stale_listings_judged_against_the_data_date_move_a_unit_to_watch():
    inputs = hb.inputs()
    # The referrals run to 2026-02-21, so a listing last verified on 2024-12-31 is over 12 months old.
    assets = inputs.assets.assign(last_checked=["2024-12-31", "2026-01-15", "2026-01-15", "2026-01-15"])
    table = analyse(type(inputs)(**{**inputs.__dict__, "assets": assets}), level="area").table
    # A is reached by a1 (stale) and a2 (borough-wide, fresh): half of its dementia services are stale.
    a = row(table, "A", "dementia")
    assert a.stale_reaching == 1 and a.assets_reaching == 2
    assert "stale_listings" in reasons(table, "A", "dementia") and a.tier == "watch"
    # C is reached by neither, so nothing it relies on is stale.
    assert "stale_listings" not in reasons(table, "C", "dementia")


def test_method_defaults_match_the_modules_that_use_them():
    from coverage_map import access, significance
    from coverage_map.method import DEFAULT_METHOD

    assert DEFAULT_METHOD.catchment_km == access.DEFAULT_CATCHMENT_KM
    assert DEFAULT_METHOD.catchment_minutes == access.DEFAULT_CATCHMENT_MINUTES
    assert (DEFAULT_METHOD.permutations, DEFAULT_METHOD.seed) == (significance.GI_PERMUTATIONS, significance.GI_SEED)
