"""Severity tiers and unmet need, one hand-picked unit per rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage_map.tiers import TIER_TEXT, TIERS, TierThresholds, cold_spot_flags, tiers, unmet_need

CASES = [
    # ratio, cold, exists, other, need, unmet, expected, why
    (0.30, True, True, False, 100, False, "severe", "under half, in a cold spot"),
    (0.30, False, True, False, 100, False, "moderate", "under half, no cluster"),
    (0.60, True, True, False, 100, False, "moderate", "50-80%, in a cold spot"),
    (0.60, False, True, False, 100, False, "watch", "50-80%, no cluster"),
    (0.50, False, True, False, 100, False, "watch", "exactly 0.5 is not under half"),
    (0.80, True, True, False, 100, False, "none", "exactly 0.8 is not under 80%"),
    (1.20, True, True, False, 100, False, "none", "above average, even in a cluster"),
    (1.20, False, True, True, 100, False, "watch", "another signal"),
    (0.30, False, True, True, 100, False, "moderate", "a signal does not lower a moderate"),
    (0.30, True, False, True, 100, True, "no_data", "no provision anywhere wins"),
    (0.30, True, True, True, 0, False, "none", "nobody to under-serve; over capacity does not count"),
    (0.30, True, True, False, 0, True, "watch", "nobody lives there but referrals go unmet"),
    (np.nan, False, True, False, 100, False, "none", "no ratio and no signal"),
    (np.nan, False, True, True, 100, False, "watch", "no ratio but a signal"),
]


def test_each_rule():
    ratio, cold, exists, other, need, unmet, _, _ = (list(c) for c in zip(*CASES, strict=True))
    got = tiers(ratio, cold, exists, other, need=need, unmet_demand=unmet)
    for case, tier in zip(CASES, got, strict=True):
        assert tier == case[6], case[7]
    assert set(got) <= set(TIERS) and set(TIER_TEXT) == set(TIERS)


def test_missing_values_count_as_no():
    got = tiers(
        [0.3, 0.3],
        pd.array([pd.NA, True], dtype="boolean"),
        [True, True],
        [np.nan, None],
    )
    assert list(got) == ["moderate", "severe"]


def test_thresholds_are_configurable_and_checked():
    loose = TierThresholds(severe_below=0.2, moderate_below=0.4)
    assert list(tiers([0.3, 0.3], [True, False], [True, True], None, loose)) == ["moderate", "watch"]
    with pytest.raises(ValueError, match="severe_below"):
        TierThresholds(severe_below=0.9, moderate_below=0.8)
    with pytest.raises(ValueError, match="one value per unit"):
        tiers([0.3, 0.3], [True], [True, True])


def test_cold_spot_flags_need_a_low_significant_cluster():
    flags = cold_spot_flags([-2.5, 2.5, -2.5, np.nan, -1.0], [0.01, 0.01, 0.2, 0.01, np.nan])
    assert list(flags) == [True, False, False, False, False]
    assert list(cold_spot_flags([-2.5], [0.08], TierThresholds(q=0.1))) == [True]


def test_unmet_need():
    """need x (1 - min(ratio, 1)): 100 x 0.75 = 75; above average leaves none; NaN stays unknown."""
    np.testing.assert_allclose(unmet_need([100, 100, 50, 10], [0.25, 1.7, 0.0, np.nan]), [75, 0, 50, np.nan])


def test_tier_sentences_name_the_thresholds_in_use():
    from coverage_map.tiers import tier_text

    text = tier_text(TierThresholds(severe_below=0.4, moderate_below=0.7))
    assert text["severe"].startswith("Access is under 40% of the regional average")
    assert "under 70% of it inside a significant cluster" in text["moderate"]
    assert text["watch"].startswith("Access is 40%-70% of the regional average")
    assert tier_text()["severe"].startswith("Access is under half the regional average")
