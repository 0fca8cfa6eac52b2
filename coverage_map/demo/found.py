"""What gap method 2 should find for each deliberate gap, and what it does find in a written demo folder.

:data:`EXPECTED` lists, per deliberate gap, the rows an analysis must flag: the gap's
category and community at each documented level, for every unit of that level inside
the gap's borough or neighbourhoods. It is written into ``gaps.json`` (as
``method_2``) so that anyone can check the files without reading this code.
:func:`what_is_found` runs the real analysis (:class:`coverage_map.dataset.Dataset`) on a
written folder and reports the tiers it gives those rows, for the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ..dataset import Dataset

#: A row the analysis must flag as a gap (``tier`` severe or moderate), by tier; or one it must flag by
#: ``no_specific_provision`` (nothing made for the community reaches it), whatever open-to-all services do.
FOUND_BY_TIER = "tier"
FOUND_BY_NO_SPECIFIC = "no_specific_provision"
GAP_TIERS = ("severe", "moderate")


@dataclass(frozen=True)
class Expected:
    """One documented finding: the gap (a ``gaps.json`` key), the rows it concerns and how it is found."""

    gap: str
    category: str | None
    community: str
    levels: tuple[str, ...]
    found_by: str = FOUND_BY_TIER

    def as_json(self) -> dict[str, Any]:
        return {
            "gap": self.gap,
            "category": self.category,
            "community": self.community,
            "levels": list(self.levels),
            "found_by": self.found_by,
        }


EXPECTED = (
    Expected("no_dementia_borough", "dementia", "all", ("borough", "neighbourhood", "area")),
    Expected("no_carers_neighbourhoods", "carers_support", "all", ("neighbourhood", "area")),
    Expected("no_carers_neighbourhoods", "carers_support", "carers", ("neighbourhood", "area")),
    Expected("mental_health_hotspot_neighbourhoods", "mental_health", "all", ("neighbourhood", "area")),
    Expected("bame_majority_no_provision_neighbourhood", None, "bame", ("neighbourhood", "area"), FOUND_BY_NO_SPECIFIC),
)


def units_of(gaps: Mapping[str, Any], gap: str, level: str, lookup: pd.DataFrame) -> list[str]:
    """The ids at ``level`` that lie inside the borough or neighbourhoods of ``gaps[gap]``."""
    value = gaps[gap]
    places = [value] if isinstance(value, str) else list(value)
    column = "borough_id" if gap == "no_dementia_borough" else "neighbourhood_id"
    inside = lookup[lookup[column].isin(places)]
    key = "area_id" if level == "area" else f"{level}_id"
    return sorted(inside[key].astype(str).unique())


@dataclass(frozen=True)
class Finding:
    """What the analysis gives one expected finding at one level."""

    expected: Expected
    level: str
    units: int
    tiers: dict[str, int]
    max_ratio: float
    #: rows with specific provision (community-specific access above 0); 0 for a no-specific-provision gap
    specific_rows: int
    found: bool


def what_is_found(dataset: Dataset, gaps: Mapping[str, Any], expected: Sequence[Expected] = EXPECTED) -> list[Finding]:
    """Run the analysis at each documented level and report the tiers of every expected row."""
    lookup = dataset.prepared.membership.astype(str)
    findings = []
    for item in expected:
        for level in item.levels:
            table = dataset.analysis(level).table
            units = units_of(gaps, item.gap, level, lookup)
            rows = table[table["area_id"].astype(str).isin(units) & (table["community"] == item.community)]
            if item.category is not None:
                rows = rows[rows["category"] == item.category]
            tiers = rows["tier"].value_counts()
            specific = int((rows["specific_access_per_10k"].fillna(0) > 0).sum())
            if item.found_by == FOUND_BY_TIER:
                found = bool(rows["tier"].isin(GAP_TIERS).all())
            else:
                reached = rows["access_per_10k"].fillna(0) > 0
                flagged = rows["gap_reasons"].fillna("").str.contains(FOUND_BY_NO_SPECIFIC)
                found = specific == 0 and bool(flagged[reached].all())
            findings.append(
                Finding(
                    expected=item,
                    level=level,
                    units=len(units),
                    tiers={tier: int(tiers[tier]) for tier in tiers.index},
                    max_ratio=float(rows["access_ratio"].max()),
                    specific_rows=specific,
                    found=found and len(rows) > 0,
                )
            )
    return findings


def tier_shares(dataset: Dataset) -> pd.DataFrame:
    """Share of rows in each tier and the gap share, per level, for ``all`` rows and community rows."""
    records = []
    for level in dataset.levels:
        table = dataset.analysis(level).table
        for rows_name, rows in (("all", table[table["community"] == "all"]),
                                ("community", table[table["community"] != "all"])):  # fmt: skip
            shares = rows["tier"].value_counts(normalize=True)
            records.append(
                {"level": level, "rows": rows_name, **{t: float(shares.get(t, 0.0)) for t in
                 ("severe", "moderate", "watch", "none", "no_data")}, "gap": float(rows["gap"].mean())}
            )  # fmt: skip
    return pd.DataFrame.from_records(records)


def load_written(folder: str | Path) -> Dataset:
    """The demo data set in ``folder`` as the dashboard and the command line load it."""
    from ..dataset import Dataset

    return Dataset.demo(folder)


@dataclass(frozen=True)
class EquityLine:
    """The inverse care figures of one category (``all`` rows, small areas) against the demo's IMD."""

    category: str
    concentration_index: float
    sentence: str
    decile_means: tuple[float, ...]


def equity_lines(dataset: Dataset, categories: Sequence[str] = ("dementia", "mental_health")) -> list[EquityLine]:
    """Concentration index and sentence of each category's access per person in need, by IMD."""
    from ..equity import equity, subject_for

    imd = dataset.inputs.imd
    if imd is None:
        return []
    table = dataset.analysis("area").table
    by_area = imd.set_index("area_id")
    lines = []
    for category in categories:
        rows = table[(table["category"] == category) & (table["community"] == "all")]
        ids = rows["area_id"].astype(str)
        result = equity(
            rows["access_per_10k"].to_numpy(dtype=float, na_value=float("nan")),
            rows["need"].to_numpy(dtype=float, na_value=float("nan")),
            imd_rank=ids.map(by_area["imd_rank"]).to_numpy(dtype=float),
            imd_decile=ids.map(by_area["imd_decile"]).to_numpy(dtype=float),
            subject=subject_for(category),
        )
        means = tuple(float(v) for v in result.deciles["mean_access"])
        lines.append(EquityLine(category, result.concentration_index, result.sentence, means))
    return lines


def other_gaps(dataset: Dataset, gaps: Mapping[str, Any], level: str = "neighbourhood") -> dict[str, list[str]]:
    """Per documented category (``all`` rows), the units at ``level`` flagged as gaps that no gap documents.

    Sparse categories leave some places beyond every catchment by chance, and the band kept
    clear around a documented gap has less provision than usual too.
    """
    lookup = dataset.prepared.membership.astype(str)
    table = dataset.analysis(level).table
    result = {}
    for item in EXPECTED:
        if item.category is None or item.community != "all":
            continue
        documented = set(units_of(gaps, item.gap, level, lookup))
        rows = table[(table["category"] == item.category) & (table["community"] == "all") & table["gap"]]
        result[item.category] = sorted(set(rows["area_id"].astype(str)) - documented)
    return result


def majority_gap_rows(dataset: Dataset, community: str, level: str = "neighbourhood") -> dict[str, int]:
    """Units at ``level`` where most people belong to ``community``: how many of its rows are gaps."""
    table = dataset.analysis(level).table
    rows = table[table["community"] == community]
    majority = rows["group_population"] > 0.5 * rows["population"]
    counts = rows[majority].groupby(rows["area_id"].astype(str))["gap"].sum()
    return {unit: int(count) for unit, count in counts.items()}
