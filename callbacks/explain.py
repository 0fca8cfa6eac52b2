"""Gap method 2 in plain words for the dashboard: the tier key, "how sure are we", access
against the average and the equity view. Pure functions, tested without Dash.

The words come from the core (:data:`coverage_map.gaps.TIER_LABELS`,
:data:`coverage_map.tiers.TIER_TEXT`); the colours from the figures
(:data:`coverage_map.outputs.classes.TIER_COLOURS`), so the key always matches the map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from coverage_map.gaps import TIER_LABELS
from coverage_map.outputs import figures
from coverage_map.outputs.classes import TIER_COLOURS
from coverage_map.taxonomy import display_name
from coverage_map.tiers import DEFAULT_THRESHOLDS, TierThresholds, tier_text

from .state import ALL

#: Tiers in the key, worst first (the order of the gap table).
KEY_ORDER = ("severe", "moderate", "watch", "none", "no_data")
#: What ``no_data`` means, in the words the key uses: it is never a gap.
NO_DATA_TEXT = "No services of this kind in the directory, so it is never counted as a gap."
NO_IMD_NOTE = "Give an IMD file to see access by deprivation."
#: The access ratio in one sentence (docs/method.md, "Access score").
ACCESS_TEXT = (
    "Access is the provision within reach of each person in need, after sharing it with everyone else who can "
    "reach the same services, as a share of the region's average: 100% is average."
)
#: Significance ("how sure are we") in one sentence (docs/method.md, "Cold spots").
SIGNIFICANCE_TEXT = (
    "How sure we are: low access counts as a real cluster only when it is unlikely to be chance, with fewer than "
    "1 false alarm in 20 across all the areas tested."
)


@dataclass(frozen=True)
class KeyEntry:
    """One line of the tier key: swatch colour, label, one-sentence meaning and how many units."""

    tier: str
    colour: str
    label: str
    meaning: str
    count: int | None = None


def tier_colour(tier: str) -> str:
    """The map's colour of ``tier`` (grey for ``no_data``)."""
    return TIER_COLOURS.get(tier, figures.NO_DATA_COLOUR)


def tier_meaning(tier: str, thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> str:
    """One sentence saying what ``tier`` means with the thresholds in use (``no_data`` is never a gap)."""
    return NO_DATA_TEXT if tier == "no_data" else tier_text(thresholds).get(tier, "")


def tier_key(
    counts: Mapping[str, int] | None = None, thresholds: TierThresholds = DEFAULT_THRESHOLDS
) -> list[KeyEntry]:
    """The key under the map, worst first; ``counts`` (units per tier in the view) when known."""
    return [
        KeyEntry(tier=tier, colour=tier_colour(tier), label=TIER_LABELS[tier], meaning=tier_meaning(tier, thresholds),
                 count=None if counts is None else int(counts.get(tier, 0)))
        for tier in KEY_ORDER
    ]  # fmt: skip


def tier_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Units per tier in ``rows`` (a view of the published table)."""
    if "tier" not in rows:
        return {}
    counts = rows["tier"].astype("string").fillna("no_data").value_counts()
    return {str(tier): int(count) for tier, count in counts.items()}


def share_of_average(ratio: object) -> str:
    """``0.43`` -> ``"43% of the region's average"`` (``"unknown"`` when there is no ratio)."""
    if ratio is None or pd.isna(ratio):  # type: ignore[arg-type]
        return "unknown"
    percent = float(ratio) * 100  # type: ignore[arg-type]
    shown = f"{percent:.0f}" if percent >= 1 or percent == 0 else "under 1"
    return f"{shown}% of the region's average"


def _q_text(q: float) -> str:
    return f"q = {q:.3f}" if q >= 0.001 else "q < 0.001"


def certainty_text(cold_spot: object, q_value: object, *, fdr: float = 0.05) -> str:
    """How sure we are that low access here is a pattern, not chance, in one sentence.

    From Gi*'s ``cold_spot`` flag and its Benjamini-Hochberg ``q_value`` (see docs/method.md):
    a cold spot is "very unlikely to be chance" when ``q`` is under a fifth of the
    false-discovery rate, "unlikely" otherwise; a significant unit that is not a cold spot
    sits in a cluster of *higher* access; an untested one (too few neighbours, or the same
    access everywhere) says so.
    """
    q = None if q_value is None or pd.isna(q_value) else float(q_value)  # type: ignore[arg-type]
    cold = False if cold_spot is None or pd.isna(cold_spot) else bool(cold_spot)  # type: ignore[arg-type]
    if cold:
        how = "very unlikely" if q is not None and q < fdr / 5 else "unlikely"
        detail = f" ({_q_text(q)})" if q is not None else ""
        return f"In a cluster of low access that is {how} to be chance{detail}."
    if q is None:
        return "Not tested for clusters of low access (too few neighbouring areas, or access is the same everywhere)."
    if q < fdr:
        return f"In a cluster of higher access than the region, not a cluster of low access ({_q_text(q)})."
    return f"Not part of a significant cluster ({_q_text(q)})."


@dataclass(frozen=True)
class EquityView:
    """What the equity panel shows for one need and community."""

    #: False when the data set has no IMD (the panel then shows :data:`NO_IMD_NOTE` only).
    available: bool
    sentence: str
    figure: go.Figure | None = field(default=None, compare=False)


def equity_view(dataset: object, category: str, community: str) -> EquityView:
    """Access by deprivation tenth for ``category`` and ``community`` (small areas, need-weighted).

    Uses :meth:`coverage_map.dataset.Dataset.equity` (computed once per need and community);
    without IMD the view is unavailable, and with no provision of the need at all it says so.
    """
    if not getattr(dataset, "has_imd", False):
        return EquityView(available=False, sentence=NO_IMD_NOTE)
    if category not in dataset.categories or community not in dataset.communities:  # type: ignore[attr-defined]
        return EquityView(available=True, sentence="")
    who = "everyone" if community == ALL else display_name(community)
    found = dataset.equity(category, community)  # type: ignore[attr-defined]
    if found is None or found.deciles.empty:
        return EquityView(available=True, sentence=f"No {display_name(category).lower()} provision for {who} is "
                                                   "listed, so access cannot be compared by deprivation.")  # fmt: skip
    figure = figures.equity_figure(found.deciles, title=f"{display_name(category)} for {who}")
    return EquityView(available=True, sentence=found.sentence, figure=_narrow(figure, found.deciles))


def _narrow(figure: go.Figure, deciles: pd.DataFrame) -> go.Figure:
    """The chart fitted to the details column: tenths numbered flat under the bars, the ends named in
    the axis title (the full labels, "1 (most deprived)", stay in the hover)."""
    figure.update_xaxes(
        tickmode="array", tickvals=list(figure.data[0].x), ticktext=[str(int(d)) for d in deciles["imd_decile"]],
        tickangle=0, title={"text": "Deprivation tenth (1 = most deprived)", "font": {"size": 10}},
    )  # fmt: skip
    figure.update_layout(margin={"l": 44, "r": 8, "t": 32, "b": 36})
    return figure
