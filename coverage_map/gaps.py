"""Which units are gaps, how severe, and why: tiers, reasons in words and a 0-1 score.

Gap method 2 (see ``docs/method.md``). A unit's **tier** comes from its need-adjusted access
(:mod:`coverage_map.access`) and whether it sits in a significant cluster of low access
(:mod:`coverage_map.significance`), by :func:`coverage_map.tiers.tiers`:

``severe``
    ``access_ratio < 0.5`` inside a significant low cluster (``cold_spot``);
``moderate``
    ``access_ratio < 0.5`` without one, or ``0.5 <= access_ratio < 0.8`` inside one;
``watch``
    ``0.5 <= access_ratio < 0.8`` otherwise, or over capacity, unmet demand or stale listings;
``none``
    everything else (and every unit where nobody has the need, unless referrals go unmet);
``no_data``
    no service of the category (for a community: no specific or open-to-all one) is in the
    directory at all: never a gap.

``gap`` is ``tier in {severe, moderate}``. The thresholds are configurable
(:class:`~coverage_map.tiers.TierThresholds`).

Gap reasons explain a row (several are ``;``-separated in ``gap_reasons``); they are listed
on any row they apply to, gap or not, except that a ``no_data`` row only ever shows
``unmet_demand``:

``no_provision``
    no catchment of a matching service that takes referrals reaches the unit
    (``access_ratio == 0``; where no ratio exists, ``assets_reaching == 0``);
``far``
    ``nearest_km`` is over the threshold (or there is no matching asset anywhere);
``low_access``
    ``access_ratio`` is under the moderate threshold (80% of the regional average);
``cold_spot``
    the unit is in a significant cluster of low access (Gi*, Benjamini-Hochberg q < 0.05);
``no_specific_provision``
    a community row where open-to-all services reach the group but none made for it does;
``over_capacity``
    ``pressure > 1``: more referrals per month than the local capacity;
``unmet_demand``
    referrals come from the unit and no provision reaches it;
``stale_listings``
    at least half of the matching services reaching the unit were last verified over 12 months
    before the data's date (:func:`coverage_map.analysis.stale_listings`).

``gap_score`` is the shortfall against the regional average, ``1 - min(access_ratio, 1)``:
0 at or above the average, 1 with no access at all; 0 where nobody has the need, empty for
``no_data``. ``unmet_need`` is ``need x gap_score``, the people in need the shortfall leaves
unserved; gap tables are ranked by tier, then by it (:func:`ranked`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tiers import DEFAULT_THRESHOLDS, TIERS, TierThresholds, tiers, unmet_need

ALL = "all"
REASONS = (
    "no_provision",
    "far",
    "low_access",
    "cold_spot",
    "no_specific_provision",
    "over_capacity",
    "unmet_demand",
    "stale_listings",
)
#: The columns :func:`find_gaps` adds.
GAP_COLUMNS = ["tier", "gap", "gap_reasons", "gap_score", "unmet_need"]
#: Tiers from worst to best, for ranking.
TIER_ORDER = {tier: rank for rank, tier in enumerate(TIERS)}

#: One sentence per reason, for the details panel and the report.
REASON_TEXT = {
    "no_provision": "No {category} provision{for_group} reaches this area.",
    "far": "The nearest {category} provision{for_group} is more than {threshold:g} km away.",
    "low_access": "{category_cap} provision{for_group} per person in need is under {moderate:.0%} of the "
    "region's average.",
    "cold_spot": "The area sits in a cluster of places with low {category} access{for_group} that is "
    "unlikely to be chance (Getis-Ord Gi*, false-discovery rate {q:.0%}).",
    "no_specific_provision": "Services open to everyone reach this area, but none made for {group}.",
    "over_capacity": "{category_cap} referrals exceed the local capacity to take them.",
    "unmet_demand": "People are referred for {category} support{for_group} but nothing reaches this area.",
    "stale_listings": "At least half of the {category} services reaching this area were last verified over "
    "12 months before the data's date, so what is listed may no longer be there.",
}

#: A few plain words per reason, for map hovers, tables, the HTML map and the report (the one place they live).
REASON_LABELS = {
    "no_provision": "no provision reaches it",
    "far": "provision is far",
    "low_access": "low access for the need",
    "cold_spot": "in a cluster of low access",
    "no_specific_provision": "nothing made for this group",
    "over_capacity": "over capacity",
    "unmet_demand": "referrals but no provision",
    "stale_listings": "out-of-date listings",
}

#: Plain words per tier, for legends, tables and exports.
TIER_LABELS = {
    "severe": "Severe gap",
    "moderate": "Moderate gap",
    "watch": "Watch",
    "none": "No gap",
    "no_data": "Not in the directory",
}


def find_gaps(
    table: pd.DataFrame, *, threshold_km: float, thresholds: TierThresholds = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """Add :data:`GAP_COLUMNS` to a measured table (metrics, access and cold-spot columns).

    Uses true (unsuppressed) counts; the input is not modified. The table needs the columns
    of :func:`coverage_map.metrics.measure` plus ``need``, ``access_ratio``,
    ``access_per_10k``, ``specific_access_per_10k``, ``provision_exists``,
    ``specific_exists`` and ``cold_spot``.
    """
    result = table.copy(deep=False)  # new columns only: the input's columns are shared, never changed
    flags = reason_flags(result, threshold_km=threshold_km, thresholds=thresholds)
    exists = result["provision_exists"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    ratio = result["access_ratio"].to_numpy(dtype=float, na_value=np.nan)
    need = _need(result)
    tier = tiers(
        ratio,
        result["cold_spot"],
        exists,
        other_signals=(flags["over_capacity"] | flags["unmet_demand"] | flags["stale_listings"]).to_numpy(),
        thresholds=thresholds,
        need=need,
        unmet_demand=flags["unmet_demand"].to_numpy(),
    )
    result["tier"] = pd.array(tier, dtype="string")
    result["gap"] = np.isin(tier, ("severe", "moderate"))
    result["gap_reasons"] = _join_reasons(flags)
    shortfall = 1.0 - np.minimum(ratio, 1.0)
    score = np.where(need == 0, 0.0, shortfall)
    result["gap_score"] = np.where(exists, score, np.nan).round(3)
    result["unmet_need"] = np.where(exists, np.where(need == 0, 0.0, unmet_need(need, ratio)), np.nan)
    return result


def _need(table: pd.DataFrame) -> np.ndarray:
    """People in need per row: ``need`` where known, else the group population (NaN when neither is)."""
    need = table["need"].to_numpy(dtype=float, na_value=np.nan)
    group = table["group_population"].to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(need), group, need)


def reason_flags(
    table: pd.DataFrame, *, threshold_km: float, thresholds: TierThresholds = DEFAULT_THRESHOLDS
) -> pd.DataFrame:
    """One boolean column per gap reason (see the module docstring)."""
    need = _need(table)
    has_people = ~(need == 0)
    exists = table["provision_exists"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    reaching = table["assets_reaching"].to_numpy(dtype=float, na_value=np.nan)
    nearest = table["nearest_km"].to_numpy(dtype=float, na_value=np.nan)
    ratio = table["access_ratio"].to_numpy(dtype=float, na_value=np.nan)
    # No catchment of a service that takes referrals reaches the area's origin point; where no
    # ratio could be worked out (nothing in the region takes referrals), no service reaches it.
    no_provision = np.where(np.isnan(ratio), reaching == 0, ratio == 0)
    access = table["access_per_10k"].to_numpy(dtype=float, na_value=np.nan)
    specific = table["specific_access_per_10k"].to_numpy(dtype=float, na_value=np.nan)
    referrals = table["referrals"].to_numpy(dtype=float, na_value=np.nan)
    pressure = table["pressure"].to_numpy(dtype=float, na_value=np.nan)
    community = table["community"].astype("string").fillna(ALL).to_numpy(dtype=object)
    cold = table["cold_spot"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    stale = (
        table["stale_reaching"].to_numpy(dtype=float, na_value=0.0)
        if "stale_reaching" in table
        else np.zeros(len(table))
    )
    judged = has_people & exists
    with np.errstate(invalid="ignore"):
        flags = pd.DataFrame(
            {
                "no_provision": no_provision & judged,
                "far": (np.isnan(nearest) | (nearest > threshold_km)) & judged,
                "low_access": (ratio < thresholds.moderate_below) & judged,
                "cold_spot": cold & judged,
                "no_specific_provision": (community != ALL) & (access > 0) & ~(specific > 0) & judged,
                "over_capacity": (pressure > 1) & judged,
                "unmet_demand": (referrals > 0) & no_provision,
                "stale_listings": (stale > 0) & (2 * stale >= reaching) & judged,
            },
            index=table.index,
        )
    return flags.astype(bool)


def _join_reasons(flags: pd.DataFrame) -> pd.Series:
    # Each row's flags as a bit pattern picking one of the 2**8 possible texts: string
    # work per row was the slowest part of the gap step at national scale.
    pattern = np.zeros(len(flags), dtype=np.int64)
    for bit, reason in enumerate(REASONS):
        pattern |= flags[reason].to_numpy(dtype=bool).astype(np.int64) << bit
    texts = [";".join(r for bit, r in enumerate(REASONS) if code >> bit & 1) for code in range(2 ** len(REASONS))]
    # Taken from the texts in Arrow: building millions of Python strings into a column was slow.
    return pd.Series(pd.array(texts, dtype="string").take(pattern), index=flags.index)


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Rows worst first: by tier (severe first), then by ``unmet_need`` (largest first), then by id."""
    order = table["tier"].astype("string").map(TIER_ORDER).fillna(len(TIERS)).astype(int)
    unmet = pd.to_numeric(table["unmet_need"], errors="coerce").astype(float).fillna(-1.0)
    keys = pd.DataFrame(
        {"tier": order.to_numpy(), "unmet": -unmet.to_numpy(), "id": table["area_id"].astype(str).to_numpy()}
    )
    positions = keys.sort_values(["tier", "unmet", "id"], kind="stable").index
    return table.iloc[np.asarray(positions)]


def explain(
    row: pd.Series,
    *,
    threshold_km: float,
    category_label: str,
    group_label: str | None,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
) -> list[str]:
    """Plain-English sentences for one row's gap reasons."""
    for_group = f" for {group_label}" if group_label else ""
    words = category_label.lower()
    reasons = [r for r in str(row.get("gap_reasons") or "").split(";") if r]
    return [
        REASON_TEXT[reason].format(
            category=words,
            category_cap=category_label,
            for_group=for_group,
            group=group_label or "this group",
            threshold=threshold_km,
            moderate=thresholds.moderate_below,
            q=thresholds.q,
        )
        for reason in reasons
        if reason in REASON_TEXT
    ]
