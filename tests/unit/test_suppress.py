"""NHS small-number suppression at its boundaries, and at the outputs."""

from __future__ import annotations

import handbuilt as hb
import pandas as pd
import pytest

from coverage_map.analysis import analyse, published_assets, published_table
from coverage_map.suppress import describe_count, published_counts, suppress_count


@pytest.mark.parametrize(
    ("true", "published"),
    [(0, 0), (1, None), (7, None), (8, 10), (12, 10), (13, 15), (17, 15), (18, 20), (100, 100)],
)
def test_boundaries(true, published):
    assert suppress_count(true) == published
    series, flag = published_counts(pd.Series([true], name="referrals"))
    assert (None if pd.isna(series[0]) else int(series[0])) == published
    assert bool(flag[0]) == (1 <= true <= 7)


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        suppress_count(-1)


def test_describe():
    assert describe_count(None, suppressed=True) == "fewer than 8"
    assert describe_count(1234, suppressed=False) == "1,234"


@pytest.fixture(scope="module")
def analysis():
    return analyse(hb.inputs(), level="area")


def pick(table, area, category, community="all"):
    return table[(table.area_id == area) & (table.category == category) & (table.community == community)].iloc[0]


def test_published_table_suppresses_counts_and_rates(analysis):
    table = published_table(analysis)
    c = pick(table, "C", "dementia")  # 3 true referrals
    assert pd.isna(c.referrals) and c.referrals_suppressed
    assert pd.isna(c.referrals_per_10k)
    a = pick(table, "A", "dementia")  # 12 -> 10
    assert a.referrals == 10 and not a.referrals_suppressed
    assert a.referrals_per_10k == pytest.approx(10 / 1000 * 10_000)  # from the published count
    assert a.pressure == pytest.approx((10 / 2) / 10)
    # Every published count is 0 or a multiple of 5 of at least 10.
    published = table["referrals"].dropna().astype(int)
    assert ((published == 0) | ((published % 5 == 0) & (published >= 10))).all()


def test_no_suppress_keeps_true_counts(analysis):
    table = published_table(analysis, suppress=False)
    assert pick(table, "C", "dementia").referrals == 3
    assert not table["referrals_suppressed"].any()


def test_published_assets_suppressed(analysis):
    assets = published_assets(analysis).set_index("asset_id")
    assert assets.loc["a2", "referrals"] == 10  # 8 -> 10
    assert assets.loc["a3", "referrals"] == 40
    assert assets.loc["a1", "referrals"] == 0


def test_published_columns_match_the_contract(analysis):
    table = published_table(analysis)
    assert list(table.columns) == [
        "area_id", "area_name", "level", "category", "community", "population", "group_population", "need",
        "assets_in_area", "assets_reaching", "capacity_local", "referrals", "referrals_suppressed",
        "referrals_per_10k", "provision_per_10k", "access_per_10k", "access_ratio", "specific_access_per_10k",
        "nearest_km", "share_within_km", "pressure", "cold_spot", "q_value", "tier", "gap", "gap_reasons",
        "gap_score", "unmet_need",
    ]  # fmt: skip


def test_secondary_suppression_hides_the_smallest_sibling():
    from coverage_map.suppress import secondary_suppress

    counts = pd.Series([3, 15, 20, 0, 2, 0, 0, 4, 5, 10])
    groups = pd.Series(list("aaaabbbccc"))
    _, primary = published_counts(counts)
    flags = secondary_suppress(counts, primary, groups)
    # a: the lone 3 would be total - 15 - 20 - 0, so 15 (the smallest non-zero) is hidden too.
    # b: the total (2) is itself suppressed; c: two cells are already hidden.
    assert flags.tolist() == [True, True, False, False, True, False, False, True, True, False]


def test_published_table_applies_secondary_suppression_up_the_hierarchy():
    # Neighbourhood N1 = A + B. Give A 3 mental-health referrals and B 20: A alone would be
    # recoverable from N1's published total, so B is hidden too.
    inputs = hb.inputs()
    refs = inputs.referrals.copy()
    refs.loc[4, ["count", "origin_area_id"]] = [3, "A"]
    extra = refs.iloc[[4]].assign(count=20, origin_area_id="B", _source_row=50)
    changed = type(inputs)(**{**inputs.__dict__, "referrals": pd.concat([refs, extra], ignore_index=True)})
    table = published_table(analyse(changed, level="area"))
    a, b = pick(table, "A", "mental_health"), pick(table, "B", "mental_health")
    assert a.referrals_suppressed and b.referrals_suppressed
    assert pd.isna(b.referrals) and pd.isna(b.referrals_per_10k)
    # C is alone in N2: its own neighbourhood total is suppressed too, so nothing more is hidden.
    neighbourhoods = published_table(analyse(changed, level="neighbourhood"))
    assert pick(neighbourhoods, "N1", "mental_health").referrals == 25
