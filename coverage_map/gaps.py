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


def find_gaps(table: pd.DataFrame, *, threshold_km: float) -> pd.DataFrame:
    """Add ``gap``, ``gap_reasons`` and ``gap_score`` to a table from :func:`~coverage_map.metrics.measure`.

    Uses true (unsuppressed) counts; the input is not modified.
    """
    result = table.copy()
    flags = reason_flags(result, threshold_km=threshold_km)
    result["gap_reasons"] = _join_reasons(flags)
    result["gap"] = flags.any(axis=1)
    result["gap_score"] = gap_score(result, threshold_km=threshold_km)
    return result


def reason_flags(table: pd.DataFrame, *, threshold_km: float) -> pd.DataFrame:
    """One boolean column per gap reason."""
    has_people = ~(table["group_population"] == 0)
    no_provision = table["assets_reaching"] == 0
    far = table["nearest_km"].isna() | (table["nearest_km"] > threshold_km)
    unmet = (table["referrals"] > 0) & no_provision
    flags = pd.DataFrame(
        {
            "no_provision": no_provision & has_people,
            "far": far & has_people,
            "low_provision": _bottom_fifth(table) & has_people,
            "over_capacity": (table["pressure"] > 1).fillna(False) & has_people,
            "unmet_demand": unmet,
        },
        index=table.index,
    )
    return flags.astype(bool)


def _bottom_fifth(table: pd.DataFrame) -> pd.Series:
    rate = table["provision_per_10k"]
    comparable = rate.notna() & (table["group_population"] > 0)
    flags = pd.Series(False, index=table.index)
    values = rate[comparable].astype(float)
    # Ranks within each group, vectorised: the number of strictly lower values is the
    # "min" rank minus one (a loop over groups copied the whole table once per group).
    grouped = values.groupby([table.loc[comparable, key] for key in ("level", "category", "community")], sort=False)
    strictly_lower = grouped.rank(method="min") - 1
    low = (strictly_lower < 0.2 * grouped.transform("size")) & (values < grouped.transform("max"))
    flags.loc[low.index] = low.to_numpy(dtype=bool)
    return flags


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
    return pd.Series(texts[pattern], index=flags.index, dtype="string")


def gap_score(table: pd.DataFrame, *, threshold_km: float) -> pd.Series:
    """The documented 0-1 gap score (see the module docstring)."""
    coverage = (1 - table["share_within_km"]).where(table["share_within_km"].notna())
    coverage = coverage.fillna(
        ((table["nearest_km"].isna()) | (table["nearest_km"] > threshold_km)).astype(float)
    )
    distance = (table["nearest_km"] / (2 * threshold_km)).clip(upper=1.0).fillna(1.0)
    provision = _share_strictly_higher(table)
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


def _share_strictly_higher(table: pd.DataFrame) -> pd.Series:
    """Per unit, the share of comparable units (same level, category, community) that do better.

    Compared on ``provision_per_10k`` where there is population, else on ``assets_reaching``.
    """
    value = table["provision_per_10k"].where(table["group_population"] > 0)
    value = value.fillna(table["assets_reaching"].where(table["group_population"].isna()))
    share = pd.Series(0.0, index=table.index)
    known = value.notna()
    values = value[known].astype(float)
    grouped = values.groupby(
        [table.loc[known, "level"], table.loc[known, "category"], table.loc[known, "community"]], sort=False
    )
    size = grouped.transform("size")
    higher = size - grouped.rank(method="max")  # how many values in the group are strictly higher
    share.loc[values.index] = (higher / (size - 1)).where(size > 1, 0.0).fillna(0.0).to_numpy(dtype=float)
    return share


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
