"""Each gap reason and the gap score on the hand-built boxes; expected values by hand."""

from __future__ import annotations

import pandas as pd
import pytest

import handbuilt as hb
from coverage_map.analysis import analyse
from coverage_map.gaps import explain, find_gaps
from coverage_map.joins import prepare


@pytest.fixture(scope="module")
def table():
    return analyse(prepare(hb.inputs()), level="area").table


def reasons(table: pd.DataFrame, area: str, category: str, community: str = "all") -> set[str]:
    match = table[(table.area_id == area) & (table.category == category) & (table.community == community)]
    return {r for r in match.iloc[0].gap_reasons.split(";") if r}


def score(table, area, category, community="all") -> float:
    match = table[(table.area_id == area) & (table.category == category) & (table.community == community)]
    return float(match.iloc[0].gap_score)


def test_no_provision_low_provision_and_unmet_demand(table):
    # C: nothing reaches it for dementia, it has the lowest rate (0 of 20, 3.3, 0), and 3 referrals.
    assert reasons(table, "C", "dementia") == {"no_provision", "low_provision", "unmet_demand"}
    assert reasons(table, "A", "dementia") == set()
    assert reasons(table, "B", "dementia") == set()  # 3.33 per 10k is not in the bottom fifth of three


def test_far(table):
    assert "far" in reasons(table, "A", "mental_health")  # 2.04 km > 2 km
    assert "far" not in reasons(table, "B", "mental_health")


def test_over_capacity():
    inputs = hb.inputs()
    # Triple the referrals to a2's area: B gets 8 + 16 = 24 dementia referrals over 2 months,
    # 12 a month against a capacity of 5.
    extra = inputs.referrals.iloc[[5]].assign(count=16, _source_row=99)
    boosted = type(inputs)(**{**inputs.__dict__, "referrals": pd.concat([inputs.referrals, extra])})
    table = analyse(boosted, level="area").table
    assert "over_capacity" in reasons(table, "B", "dementia")
    assert "over_capacity" not in reasons(table, "A", "dementia")  # pressure 0.6


def test_nobody_in_group_is_not_a_gap(table):
    # B has no bame residents and no bame mental-health provision: not a gap for that group.
    assert reasons(table, "B", "mental_health", "bame") == set()
    assert score(table, "B", "mental_health", "bame") == 0.0


def test_gap_flag_matches_reasons(table):
    assert (table["gap"] == (table["gap_reasons"] != "")).all()


def test_gap_score_worked_by_hand(table):
    # C dementia: coverage 0 (1.0 km is within 2), distance 1/4, provision 1, demand 1 (unmet).
    assert score(table, "C", "dementia") == pytest.approx(0.3 * 0 + 0.2 * 0.25 + 0.3 * 1 + 0.2 * 1)
    # B dementia: 1 of the 2 other areas has a higher rate -> provision 0.5; nothing else.
    assert score(table, "B", "dementia") == pytest.approx(0.3 * 0.5)
    # A mental health: share 0, distance 2.0396/4, nothing reaches, 40 referrals unmet.
    assert score(table, "A", "mental_health") == pytest.approx(0.3 + 0.2 * (2.0396 / 4) + 0.3 + 0.2, abs=1e-3)
    assert score(table, "A", "dementia") == 0.0


def test_scores_are_between_zero_and_one(table):
    assert table["gap_score"].between(0, 1).all()


def test_all_equal_provision_is_not_low():
    frame = pd.DataFrame(
        {
            "level": "area", "category": "x", "community": "all",
            "group_population": [100.0] * 5, "assets_reaching": [1] * 5,
            "provision_per_10k": [100.0] * 5, "nearest_km": [0.5] * 5, "share_within_km": [1.0] * 5,
            "referrals": [0] * 5, "pressure": [float("nan")] * 5,
        }
    )  # fmt: skip
    assert not find_gaps(frame, threshold_km=2)["gap"].any()


def test_bottom_fifth_of_ten():
    frame = pd.DataFrame(
        {
            "level": "area", "category": "x", "community": "all",
            "group_population": [100.0] * 10, "assets_reaching": list(range(1, 11)),
            "provision_per_10k": [float(v) for v in range(1, 11)], "nearest_km": [0.5] * 10,
            "share_within_km": [1.0] * 10, "referrals": [0] * 10, "pressure": [float("nan")] * 10,
        }
    )  # fmt: skip
    flagged = find_gaps(frame, threshold_km=2)["gap_reasons"] == "low_provision"
    assert flagged.tolist() == [True, True] + [False] * 8


def test_explain_reads_as_english(table):
    row = table[(table.area_id == "C") & (table.category == "dementia") & (table.community == "all")].iloc[0]
    sentences = explain(row, threshold_km=2, category_label="Dementia", group_label=None)
    assert sentences[0] == "No dementia provision reaches this area."
    assert len(sentences) == 3
