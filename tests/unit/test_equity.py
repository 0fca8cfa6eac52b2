"""Inverse care law figures, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage_map.equity import (
    concentration_index,
    decile_means,
    deciles_from_rank,
    equity,
    equity_sentence,
    fractional_rank,
    slope_index,
    subject_for,
)


def test_concentration_index_equal_need():
    """Ranks 1..4 (1 = most deprived), equal need, access 1, 2, 3, 4.

    r = [1/8, 3/8, 5/8, 7/8], mean r = 1/2, mean h = 2.5;
    cov = ((-1.5)(-3/8) + (-0.5)(-1/8) + (0.5)(1/8) + (1.5)(3/8)) / 4 = 1.25 / 4 = 0.3125;
    CI = 2 x 0.3125 / 2.5 = 0.25: positive, access concentrated among the less deprived.
    """
    assert concentration_index(np.array([1, 2, 3, 4]), np.ones(4), np.array([1, 2, 3, 4])) == pytest.approx(0.25)
    assert concentration_index(np.array([4, 3, 2, 1]), np.ones(4), np.array([1, 2, 3, 4])) == pytest.approx(-0.25)
    assert concentration_index(np.full(4, 7.0), np.ones(4), np.array([1, 2, 3, 4])) == pytest.approx(0.0)


def test_concentration_index_weights_by_need():
    """need [2, 1, 1], access [3, 0, 6], ranks [1, 2, 3] (total need 4).

    r = [(0 + 1)/4, (2 + 0.5)/4, (3 + 0.5)/4] = [0.25, 0.625, 0.875];
    mean_w h = (6 + 0 + 6)/4 = 3; mean_w r = (0.5 + 0.625 + 0.875)/4 = 0.5;
    cov_w = (2 (0)(-0.25) + 1 (-3)(0.125) + 1 (3)(0.375)) / 4 = 0.1875; CI = 2 x 0.1875 / 3 = 0.125.
    Rows in any order give the same answer; areas without need or rank are left out.
    """
    np.testing.assert_allclose(fractional_rank(np.array([1, 2, 3]), np.array([2, 1, 1])), [0.25, 0.625, 0.875])
    assert concentration_index(np.array([6, 3, 0, 9]), np.array([1, 2, 1, 0]), np.array([3, 1, 2, 4])) == (
        pytest.approx(0.125)
    )
    assert concentration_index(np.array([6, 3, 0, 9]), np.array([1, 2, 1, 5]), np.array([3, 1, 2, np.nan])) == (
        pytest.approx(0.125)
    )


def test_tied_ranks_share_their_midpoint():
    """Deciles [1, 1, 2] with need [1, 1, 2]: decile 1 holds the first half, midpoint 0.25; decile 2 at 0.75."""
    np.testing.assert_allclose(fractional_rank(np.array([1, 1, 2]), np.array([1, 1, 2])), [0.25, 0.25, 0.75])


def test_decile_means_and_slope_index():
    """Decile 1: (100 x 10 + 300 x 2) / 400 = 4; decile 10: (200 x 5 + 200 x 15) / 400 = 10.
    Shares 0.5 and 0.5 sit at ridits 0.25 and 0.75: SII = (10 - 4) / 0.5 = 12."""
    table = decile_means(np.array([10, 2, 5, 15.0]), np.array([100, 300, 200, 200.0]), np.array([1, 1, 10, 10]))
    assert table["imd_decile"].tolist() == [1, 10]
    np.testing.assert_allclose(table["mean_access"], [4, 10])
    np.testing.assert_allclose(table["need_share"], [0.5, 0.5])
    assert slope_index(table) == pytest.approx(12)


def test_slope_index_three_deciles_by_hand():
    """Shares [0.2, 0.5, 0.3], means [10, 14, 20]: ridits x = [0.1, 0.45, 0.85];
    mean x = 0.5, mean y = 15; cov = 0.2(-0.4)(-5) + 0.5(-0.05)(-1) + 0.3(0.35)(5) = 0.95;
    var = 0.2(0.16) + 0.5(0.0025) + 0.3(0.1225) = 0.07; SII = 0.95 / 0.07."""
    table = pd.DataFrame({"imd_decile": [1, 5, 10], "need_share": [0.2, 0.5, 0.3], "mean_access": [10, 14, 20.0]})
    assert slope_index(table) == pytest.approx(0.95 / 0.07)
    assert np.isnan(slope_index(table.iloc[:1]))


@pytest.mark.parametrize(
    ("most", "least", "sentence"),
    [
        (
            6.0,
            10.0,
            (
                "People in the most deprived tenth have 40% less dementia support per person in need than the "
                "least deprived tenth."
            ),
        ),
        (
            15.0,
            10.0,
            (
                "People in the most deprived tenth have 50% more dementia support per person in need than the "
                "least deprived tenth."
            ),
        ),
        (
            10.4,
            10.0,
            (
                "People in the most deprived tenth have about the same dementia support per person in need as "
                "the least deprived tenth."
            ),
        ),
        (
            0.0,
            0.0,
            "Neither the most deprived tenth nor the least deprived tenth has any dementia support within reach.",
        ),
    ],
)
def test_sentence(most, least, sentence):
    table = pd.DataFrame({"imd_decile": [1, 10], "need_share": [0.5, 0.5], "mean_access": [most, least]})
    assert equity_sentence(table, subject="dementia support") == sentence


def test_sentence_names_the_deciles_present():
    table = pd.DataFrame({"imd_decile": [2, 9], "need_share": [0.5, 0.5], "mean_access": [5.0, 10.0]})
    assert equity_sentence(table, subject=subject_for("debt_benefits_advice")) == (
        "People in the tenth ranked 2 of 10 by deprivation have 50% less debt & benefits advice per person in need "
        "than the tenth ranked 9 of 10 by deprivation."
    )


def test_equity_from_ranks_uses_local_tenths():
    """Ten areas ranked 1..10 with equal need fall one in each local tenth."""
    np.testing.assert_array_equal(deciles_from_rank(np.arange(1, 11), np.ones(10)), np.arange(1, 11))
    result = equity(np.arange(1.0, 11.0), np.ones(10), imd_rank=np.arange(1, 11), subject="dementia support")
    assert result.deciles["imd_decile"].tolist() == list(range(1, 11))
    assert result.concentration_index > 0 and result.slope_index == pytest.approx(10.0)
    assert result.sentence.startswith("People in the most deprived tenth have 90% less")
    with pytest.raises(ValueError, match="imd_rank or imd_decile"):
        equity(np.ones(2), np.ones(2), subject="x")
