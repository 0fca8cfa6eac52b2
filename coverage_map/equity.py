"""The inverse care law view: does access follow deprivation?

Given each area's access (``access_per_10k``), its need (the weights) and its Index of
Multiple Deprivation rank (1 = most deprived) or decile (1 = most deprived tenth):

* :func:`concentration_index`: ``CI = 2 cov_w(h, r) / mean_w(h)`` with ``r`` the
  need-weighted fractional rank from most to least deprived. **Sign:** negative means
  access is concentrated among the more deprived (pro-deprived), positive among the less
  deprived (the inverse care law); 0 is equal per person in need. It lies in [-1, 1].
* :func:`decile_means`: need-weighted mean access per IMD decile, for a chart;
* :func:`slope_index`: the slope index of inequality, a weighted least-squares line of
  decile mean access on the ridit (midpoint of the cumulative need share, most deprived
  first); the slope is the modelled gap from the most deprived end (0) to the least
  deprived end (1). Positive = the less deprived have more;
* :func:`equity_sentence`: one plain-English sentence comparing the most and least
  deprived tenths present.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .taxonomy import display_name

#: Relative difference under which the two ends count as "about the same".
SAME_WITHIN = 0.05


def _clean(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    values = [np.asarray(a, dtype=float) for a in arrays]
    keep = np.logical_and.reduce([np.isfinite(v) for v in values])
    return tuple(v[keep] for v in values)


def fractional_rank(order_by: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Need-weighted fractional rank in (0, 1): the share of need in areas ranked before an
    area plus half its own share, most deprived (smallest ``order_by``) first.

    Areas sharing a rank (e.g. the same decile) share the midpoint of their group.
    """
    key = np.asarray(order_by, dtype=float)
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    groups, inverse = np.unique(key, return_inverse=True)
    group_weight = np.bincount(inverse, weights=w, minlength=len(groups))
    before = np.concatenate([[0.0], np.cumsum(group_weight)[:-1]])
    return (before[inverse] + group_weight[inverse] / 2.0) / total


def concentration_index(access: np.ndarray, need: np.ndarray, imd_rank: np.ndarray) -> float:
    """The need-weighted concentration index of access over deprivation (NaN when undefined).

    ``CI = 2 cov_w(h, r) / mean_w(h)``, ``cov_w(h, r) = sum w (h - mean_w h)(r - mean_w r) / sum w``,
    with ``h`` the access, ``w`` the need and ``r`` :func:`fractional_rank` by IMD rank or
    decile (1 = most deprived). Negative: concentrated among the more deprived.
    """
    h, w, rank = _clean(access, need, imd_rank)
    positive = w > 0
    h, w, rank = h[positive], w[positive], rank[positive]
    if not len(h) or w.sum() <= 0:
        return float("nan")
    r = fractional_rank(rank, w)
    mean_h = np.average(h, weights=w)
    if mean_h == 0:
        return float("nan")
    cov = np.average((h - mean_h) * (r - np.average(r, weights=w)), weights=w)
    return float(2.0 * cov / mean_h)


def deciles_from_rank(imd_rank: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Local tenths (1 = most deprived) from ranks: areas in rank order cut where the cumulative
    need share crosses each tenth (an area goes to the tenth holding its midpoint).

    Used only when no national IMD decile is given.
    """
    rank = np.asarray(imd_rank, dtype=float)
    w = np.nan_to_num(np.asarray(need, dtype=float), nan=0.0)
    tenth = np.full(len(rank), np.nan)
    known = np.isfinite(rank)
    if not known.any() or w[known].sum() <= 0:
        return tenth
    r = fractional_rank(rank[known], w[known])
    tenth[known] = np.minimum(np.floor(r * 10) + 1, 10)
    return tenth


def decile_means(access: np.ndarray, need: np.ndarray, imd_decile: np.ndarray) -> pd.DataFrame:
    """Need-weighted mean access per IMD decile (for a chart), most deprived first.

    Columns ``imd_decile``, ``need`` (summed), ``need_share`` (of all need) and
    ``mean_access`` (``sum need x access / sum need``); deciles without need are left out.
    """
    h, w, decile = _clean(access, need, imd_decile)
    frame = pd.DataFrame({"imd_decile": decile.astype(int), "need": w, "weighted": w * h})
    grouped = frame.groupby("imd_decile", sort=True)[["need", "weighted"]].sum()
    grouped = grouped[grouped["need"] > 0]
    total = grouped["need"].sum()
    return pd.DataFrame(
        {
            "imd_decile": grouped.index.to_numpy(dtype=int),
            "need": grouped["need"].to_numpy(),
            "need_share": grouped["need"].to_numpy() / total if total > 0 else np.nan,
            "mean_access": (grouped["weighted"] / grouped["need"]).to_numpy(),
        }
    )


def slope_index(deciles: pd.DataFrame) -> float:
    """Slope index of inequality from :func:`decile_means` (NaN with fewer than two deciles).

    Each decile sits at its ridit ``x = (need share of more deprived deciles) + share / 2``;
    the line ``mean_access = a + SII x`` is fitted by least squares weighted by need share.
    ``SII`` is the modelled difference, least deprived end minus most deprived end.
    """
    if len(deciles) < 2:
        return float("nan")
    share = deciles["need_share"].to_numpy(dtype=float)
    x = np.cumsum(share) - share / 2.0
    y = deciles["mean_access"].to_numpy(dtype=float)
    mean_x, mean_y = np.average(x, weights=share), np.average(y, weights=share)
    spread = np.average((x - mean_x) ** 2, weights=share)
    if spread == 0:
        return float("nan")
    return float(np.average((x - mean_x) * (y - mean_y), weights=share) / spread)


@dataclass(frozen=True)
class Equity:
    """The inverse care law figures for one category x community at one level."""

    concentration_index: float
    slope_index: float
    deciles: pd.DataFrame
    sentence: str


def equity(
    access: np.ndarray,
    need: np.ndarray,
    *,
    imd_rank: np.ndarray | None = None,
    imd_decile: np.ndarray | None = None,
    subject: str,
) -> Equity:
    """Every equity figure for one map: CI, SII, decile means and the sentence.

    Give ``imd_decile`` (national deciles, 1 = most deprived) and/or ``imd_rank``; the
    concentration index uses the rank when given (else the decile), the deciles use the
    decile when given (else local need-weighted tenths of the rank, see :func:`deciles_from_rank`).
    ``subject`` names the provision in the sentence, e.g. ``"dementia support"``.
    """
    if imd_rank is None and imd_decile is None:
        raise ValueError("give imd_rank or imd_decile")
    order = imd_rank if imd_rank is not None else imd_decile
    assert order is not None
    decile = imd_decile if imd_decile is not None else deciles_from_rank(order, need)
    table = decile_means(access, need, decile)
    return Equity(
        concentration_index=concentration_index(access, need, order),
        slope_index=slope_index(table),
        deciles=table,
        sentence=equity_sentence(table, subject=subject),
    )


def subject_for(category: str) -> str:
    """``"dementia support"``, ``"debt & benefits advice"``: how a sentence names a category's provision."""
    words = display_name(category).lower()
    return words if words.endswith(("support", "advice")) else f"{words} support"


_ORDINAL = {1: "most deprived tenth", 10: "least deprived tenth"}


def _tenth(decile: int) -> str:
    return _ORDINAL.get(decile, f"tenth ranked {decile} of 10 by deprivation")


def equity_sentence(deciles: pd.DataFrame, *, subject: str) -> str:
    """One sentence comparing the most and least deprived deciles present (within 5% = "about the same").

    e.g. "People in the most deprived tenth have 40% less dementia support per person in
    need than the least deprived tenth."
    """
    if len(deciles) < 2:
        return f"There are too few deprivation tenths with people in need to compare {subject}."
    most = deciles.iloc[0]
    least = deciles.iloc[-1]
    who = f"People in the {_tenth(int(most['imd_decile']))}"
    than = f"the {_tenth(int(least['imd_decile']))}"
    low, high = float(most["mean_access"]), float(least["mean_access"])
    if high == 0 and low == 0:
        return f"Neither the {_tenth(int(most['imd_decile']))} nor {than} has any {subject} within reach."
    if high == 0:
        return f"{who} have {subject} within reach; {than} has none."
    change = low / high - 1.0
    if abs(change) <= SAME_WITHIN:
        return f"{who} have about the same {subject} per person in need as {than}."
    direction = "less" if change < 0 else "more"
    return f"{who} have {abs(change):.0%} {direction} {subject} per person in need than {than}."
