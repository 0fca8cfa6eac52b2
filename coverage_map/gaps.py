"""Which units are gaps, why, and how bad: reasons in words and a 0-1 score.

Gap reasons (a unit can have several, ``;``-separated in ``gap_reasons``):

``no_provision``
    no matching asset reaches the unit (``assets_reaching == 0``);
``far``
    ``nearest_km`` is over the threshold (or there is no matching asset anywhere);
``low_provision``
    ``provision_per_10k`` is in the bottom fifth of that category × community across
    units with people in the group: fewer than 20% of those units have a strictly lower
    rate, and the rate is below the best (if every unit is equal, none is "low");
``over_capacity``
    ``pressure > 1``: more referrals per month than the local capacity;
``unmet_demand``
    referrals come from the unit and no provision reaches it.

A unit where nobody in the group lives (``group_population == 0``) is only a gap for
that group through ``unmet_demand``: there is no one to be under-served.

``gap_score`` (0 = no gap, 1 = worst) is a weighted sum of four components in 0..1::

    0.3 * coverage   (1 - share_within_km)
  + 0.2 * distance   (nearest_km / (2 * threshold), capped at 1)
  + 0.3 * provision  (share of comparable units with strictly higher provision_per_10k;
                      1 when nothing reaches the unit)
  + 0.2 * demand     (1 with unmet demand, else pressure - 1 capped to 0..1)

A missing distance (no matching asset anywhere) counts as the worst value, 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

REASONS = ("no_provision", "far", "low_provision", "over_capacity", "unmet_demand")
WEIGHTS = {"coverage": 0.3, "distance": 0.2, "provision": 0.3, "demand": 0.2}

REASON_TEXT = {
    "no_provision": "No {category} provision{for_group} reaches this area.",
    "far": "The nearest {category} provision{for_group} is more than {threshold:g} km away.",
    "low_provision": "{category_cap} provision{for_group} per person is among the lowest fifth of areas.",
    "over_capacity": "{category_cap} referrals exceed the local capacity to take them.",
    "unmet_demand": "People are referred for {category} support{for_group} but nothing reaches this area.",
}

#: A few plain words per reason, for map hovers, tables, the HTML map and the report (the one place they live).
REASON_LABELS = {
    "no_provision": "no provision reaches it",
    "far": "provision is far",
    "low_provision": "low provision per person",
    "over_capacity": "over capacity",
    "unmet_demand": "referrals but no provision",
}


def find_gaps(table: pd.DataFrame, *, threshold_km: float) -> pd.DataFrame:
    """Add ``gap``, ``gap_reasons`` and ``gap_score`` to a table from :func:`~coverage_map.metrics.measure`.

    Uses true (unsuppressed) counts; the input is not modified.
    """
    result = table.copy(deep=False)  # new columns only: the input's columns are shared, never changed
    within = _Within(result)
    flags = _reason_flags(result, threshold_km, within)
    result["gap_reasons"] = _join_reasons(flags)
    result["gap"] = flags.any(axis=1)
    result["gap_score"] = _gap_score(result, threshold_km, within)
    return result


def reason_flags(table: pd.DataFrame, *, threshold_km: float) -> pd.DataFrame:
    """One boolean column per gap reason."""
    return _reason_flags(table, threshold_km, _Within(table))


def _reason_flags(table: pd.DataFrame, threshold_km: float, within: _Within) -> pd.DataFrame:
    has_people = ~(table["group_population"] == 0)
    no_provision = table["assets_reaching"] == 0
    far = table["nearest_km"].isna() | (table["nearest_km"] > threshold_km)
    unmet = (table["referrals"] > 0) & no_provision
    flags = pd.DataFrame(
        {
            "no_provision": no_provision & has_people,
            "far": far & has_people,
            "low_provision": _bottom_fifth(table, within) & has_people,
            "over_capacity": (table["pressure"] > 1).fillna(False) & has_people,
            "unmet_demand": unmet,
        },
        index=table.index,
    )
    return flags.astype(bool)


class _Within:
    """Ranks of values within their (level, category, community) group, for one table.

    The groups are numbered once and a set of values is sorted once (the low-provision flag
    and the provision score usually rank the same values): grouping and ranking millions of
    rows by three text columns with pandas was most of the gap step at national scale.
    """

    def __init__(self, table: pd.DataFrame) -> None:
        self._table = table
        self._groups: np.ndarray | None = None
        self._ranked: tuple[np.ndarray, _Ranked] | None = None

    def groups(self) -> np.ndarray:
        """A number per row naming its group, -1 where a part of the key is missing."""
        if self._groups is None:
            group = np.zeros(len(self._table), dtype=np.int64)
            missing = np.zeros(len(self._table), dtype=bool)
            for column in ("level", "category", "community"):
                codes, uniques = pd.factorize(self._table[column], use_na_sentinel=True)
                missing |= codes < 0
                group, _ = pd.factorize(group * (len(uniques) + 1) + (codes + 1))
            self._groups = np.where(missing, -1, group)
        return self._groups

    def ranks(self, values: np.ndarray) -> _Ranked:
        """Each compared value's ``min`` and ``max`` rank within its group, and the group's size and maximum.

        Rows whose value is NaN or whose group is unknown take no part, as with
        ``groupby(...).rank()`` on the compared values alone. Equal values tie, as in pandas.
        """
        if self._ranked is not None and np.array_equal(self._ranked[0], values, equal_nan=True):
            return self._ranked[1]
        groups = self.groups()
        rows = np.flatnonzero((groups >= 0) & ~np.isnan(values))
        value, group = values[rows], groups[rows]
        # By group, then value; the order among equal values does not change a min or max rank.
        order = np.argsort(value)
        narrow = np.int16 if len(group) == 0 or group.max() < np.iinfo(np.int16).max else np.int64
        order = order[np.argsort(group[order].astype(narrow), kind="stable")]
        value, group, rows = value[order], group[order], rows[order]
        count = len(order)
        # Runs of one group, and of one value within a group, in sorted order.
        new_group = group[1:] != group[:-1]
        group_first = np.flatnonzero(np.r_[count > 0, new_group])
        value_first = np.flatnonzero(np.r_[count > 0, new_group | (value[1:] != value[:-1])])
        group_size = np.diff(np.r_[group_first, count])
        run_size = np.diff(np.r_[value_first, count])
        group_start = np.repeat(group_first, group_size)
        run_start = np.repeat(value_first, run_size)
        ranked = _Ranked(
            rows=rows,
            value=value,
            lowest=run_start - group_start + 1,  # 1 + the number of strictly lower values
            highest=run_start + np.repeat(run_size, run_size) - group_start,  # the number not higher
            size=np.repeat(group_size, group_size),
            largest=np.repeat(value[group_first + group_size - 1], group_size),
        )
        self._ranked = (values.copy(), ranked)
        return ranked


class _Ranked(NamedTuple):
    """Ranks from :meth:`_Within.ranks`, in sorted order: the ``i``-th entry is for table row ``rows[i]``."""

    rows: np.ndarray
    value: np.ndarray
    lowest: np.ndarray
    highest: np.ndarray
    size: np.ndarray
    largest: np.ndarray


def _bottom_fifth(table: pd.DataFrame, within: _Within) -> pd.Series:
    rate = table["provision_per_10k"]
    comparable = (rate.notna() & (table["group_population"] > 0)).to_numpy(dtype=bool)
    ranked = within.ranks(np.where(comparable, rate.to_numpy(dtype=float, na_value=np.nan), np.nan))
    # The number of strictly lower values in the group is the "min" rank minus one.
    low = np.zeros(len(table), dtype=bool)
    low[ranked.rows] = (ranked.lowest - 1 < 0.2 * ranked.size) & (ranked.value < ranked.largest)
    return pd.Series(low, index=table.index)


def _join_reasons(flags: pd.DataFrame) -> pd.Series:
    # Each row's flags as a bit pattern picking one of the 2**5 possible texts: string
    # work per row was the slowest part of the gap step at national scale.
    pattern = np.zeros(len(flags), dtype=np.int64)
    for bit, reason in enumerate(REASONS):
        pattern |= flags[reason].to_numpy(dtype=bool).astype(np.int64) << bit
    texts = np.array(
        [";".join(r for bit, r in enumerate(REASONS) if code >> bit & 1) for code in range(2 ** len(REASONS))],
        dtype=object,
    )
    # Taken from the 32 texts in Arrow: building millions of Python strings into a column was slow.
    return pd.Series(pd.array(list(texts), dtype="string").take(pattern), index=flags.index)


def gap_score(table: pd.DataFrame, *, threshold_km: float) -> pd.Series:
    """The documented 0-1 gap score (see the module docstring)."""
    return _gap_score(table, threshold_km, _Within(table))


def _gap_score(table: pd.DataFrame, threshold_km: float, within: _Within) -> pd.Series:
    coverage = (1 - table["share_within_km"]).where(table["share_within_km"].notna())
    coverage = coverage.fillna(
        ((table["nearest_km"].isna()) | (table["nearest_km"] > threshold_km)).astype(float)
    )
    distance = (table["nearest_km"] / (2 * threshold_km)).clip(upper=1.0).fillna(1.0)
    provision = _share_strictly_higher(table, within)
    provision = provision.mask(table["assets_reaching"] == 0, 1.0)
    no_provision = table["assets_reaching"] == 0
    demand = (table["pressure"] - 1).clip(lower=0.0, upper=1.0).fillna(0.0)
    demand = demand.mask((table["referrals"] > 0) & no_provision, 1.0)
    score = (
        WEIGHTS["coverage"] * coverage
        + WEIGHTS["distance"] * distance
        + WEIGHTS["provision"] * provision
        + WEIGHTS["demand"] * demand
    )
    nobody = (table["group_population"] == 0) & ~((table["referrals"] > 0) & no_provision)
    return score.mask(nobody, 0.0).round(3).astype(float)


def _share_strictly_higher(table: pd.DataFrame, within: _Within) -> pd.Series:
    """Per unit, the share of comparable units (same level, category, community) that do better.

    Compared on ``provision_per_10k`` where there is population, else on ``assets_reaching``.
    """
    value = table["provision_per_10k"].where(table["group_population"] > 0)
    value = value.fillna(table["assets_reaching"].where(table["group_population"].isna()))
    ranked = within.ranks(value.to_numpy(dtype=float, na_value=np.nan))
    higher = ranked.size - ranked.highest  # how many values in the group are strictly higher
    share = np.zeros(len(table))
    with np.errstate(invalid="ignore", divide="ignore"):  # a group of one: 0 / 0, and 0.0 is taken
        share[ranked.rows] = np.where(ranked.size > 1, higher / (ranked.size - 1), 0.0)
    return pd.Series(share, index=table.index)


def explain(row: pd.Series, *, threshold_km: float, category_label: str, group_label: str | None) -> list[str]:
    """Plain-English sentences for one row's gap reasons."""
    for_group = f" for {group_label}" if group_label else ""
    words = category_label.lower()
    reasons = [r for r in str(row.get("gap_reasons") or "").split(";") if r]
    return [
        REASON_TEXT[reason].format(
            category=words, category_cap=category_label, for_group=for_group, threshold=threshold_km
        )
        for reason in reasons
    ]
