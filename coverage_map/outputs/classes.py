"""The metrics a map can show, and their classes: classification, palette and legend labels.

Classes are formed by quantiles or Fisher-Jenks natural breaks (the optimum, found exactly and
deterministically, so every worker and every export draw the same classes), each with its
goodness-of-variance fit, coloured from a colour-blind-safe
sequential palette (viridis), darker = worse, so a metric where a *low* value is bad
(provision, share within reach) runs the other way. The dashboard, the print maps and the
HTML map all classify here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd
from plotly.colors import sample_colorscale

from ..gaps import TIER_LABELS
from ..tiers import DEFAULT_THRESHOLDS, TierThresholds

# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricInfo:
    """How one metric is labelled, formatted and coloured."""

    key: str
    column: str
    label: str
    unit: str
    description: str
    higher_is_worse: bool
    from_referrals: bool
    #: coloured by named categories (the tiers), not by classes of a number
    categorical: bool = False


METRICS: dict[str, MetricInfo] = {
    info.key: info
    for info in (
        MetricInfo(
            "tier", "tier", "Gap severity", "",
            "severe or moderate gap, watch, no gap, or no such service in the directory at all",
            higher_is_worse=True, from_referrals=False, categorical=True,
        ),
        MetricInfo(
            "access_ratio", "access_ratio", "Access against the region's average", "× average",
            "provision within reach per person in need, as a multiple of the region's average: "
            "1 = average, 0.5 = half of it",
            higher_is_worse=False, from_referrals=False,
        ),
        MetricInfo(
            "access_per_10k", "access_per_10k", "Access per 10,000 people in need", "per 10k",
            "service capacity within reach (monthly places, nearer ones counting more) per 10,000 people in need",
            higher_is_worse=False, from_referrals=False,
        ),
        MetricInfo(
            "gap_score", "gap_score", "Shortfall against the region's average", "",
            "0 = at or above the region's average access, 1 = no access at all",
            higher_is_worse=True, from_referrals=False,
        ),
        MetricInfo(
            "provision_per_10k", "provision_per_10k", "Provision per 10,000 people", "per 10k",
            "services reaching the area per 10,000 people in the group",
            higher_is_worse=False, from_referrals=False,
        ),
        MetricInfo(
            "nearest_km", "nearest_km", "Distance to nearest provision", "km",
            "straight-line distance from the area's centre to the nearest matching service",
            higher_is_worse=True, from_referrals=False,
        ),
        MetricInfo(
            "share_within_km", "share_within_km", "Share of people near provision", "%",
            "share of the group living within the distance threshold of a matching service",
            higher_is_worse=False, from_referrals=False,
        ),
        MetricInfo(
            "referrals_per_10k", "referrals_per_10k", "Referrals per 10,000 people", "per 10k",
            "social-prescribing referrals from the area per 10,000 people (suppressed when fewer than 8)",
            higher_is_worse=True, from_referrals=True,
        ),
        MetricInfo(
            "pressure", "pressure", "Pressure (referrals ÷ capacity)", "× capacity",
            "monthly referrals divided by the monthly capacity of local services; above 1 = over capacity",
            higher_is_worse=True, from_referrals=True,
        ),
    )
}  # fmt: skip

SCHEMES = {"quantiles": "Quantiles (equal counts)", "natural_breaks": "Natural breaks (Fisher–Jenks)"}

#: Tier colours, best to worst: a sequential purple-red (ColorBrewer PuRd, safe for colour-blind
#: readers), darker = worse. ``no_data`` is grey and always labelled "not in the directory".
TIER_COLOURS = {"none": "#f1eef6", "watch": "#d7b5d8", "moderate": "#df65b0", "severe": "#980043"}


def tier_rules(thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> dict[str, str]:
    """When each tier applies, in plain words with the thresholds actually used (for legends and methods)."""
    severe, moderate = f"{thresholds.severe_below:.0%}", f"{thresholds.moderate_below:.0%}"
    cluster = f"a significant cluster of low access (false-discovery rate {thresholds.q:.0%})"
    return {
        "severe": f"access under {severe} of the region's average, inside {cluster}",
        "moderate": f"access under {severe} of the region's average, or under {moderate} inside a significant "
        "cluster of low access",
        "watch": f"access {severe}–{moderate} of the region's average, or another warning sign (over capacity, "
        "referrals that no service reaches, out-of-date listings)",
        "none": "no sign of a gap (also wherever nobody has the need)",
        "no_data": "no service for this need is listed anywhere in the directory, so gaps cannot be judged",
    }


def tier_summary(thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> str:
    """The tiers' rules in two short sentences, for a map's subtitle."""
    severe, moderate = f"{thresholds.severe_below:.0%}", f"{thresholds.moderate_below:.0%}"
    return (
        f"Severe gap: access under {severe} of the region's average, inside a significant cluster of low "
        f"access. Moderate: under {severe}, or under {moderate} inside such a cluster. Watch: "
        f"{severe}–{moderate}, or another warning sign."
    )


def access_words(ratio: object) -> str:
    """An access ratio as words: ``0.43`` -> ``43% of the region's average`` (``no data`` when unknown)."""
    if ratio is None or pd.isna(ratio):  # type: ignore[call-overload]
        return "no data"
    return f"{float(ratio):.0%} of the region's average"  # type: ignore[arg-type]


#: The sequential palette classes are coloured from (plotly's name).
_PALETTE = "Viridis"


# --------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class Classes:
    """Discrete classes of one metric.

    ``breaks`` are the upper bounds of each class (mapclassify ``bins``), ``labels`` the
    legend text with units, ``index`` the class of each row (-1 = no data) and
    ``colours`` one colour per class, lightest (best) to darkest (worst) when a higher value
    is worse. ``fit`` is the classes' goodness-of-variance fit (0 to 1, see
    :func:`goodness_of_variance_fit`; None with fewer than two distinct values).
    """

    breaks: list[float]
    labels: list[str]
    index: pd.Series
    colours: list[str]
    fit: float | None = None


def classify(values: pd.Series, *, scheme: str = "quantiles", k: int = 5, metric: str = "gap_score") -> Classes:
    """Put values into ``k`` classes for a choropleth legend.

    Parameters
    ----------
    values
        One value per unit; NA is "no data" (class -1).
    scheme
        ``quantiles`` (equal numbers of units per class, mapclassify ``Quantiles``) or
        ``natural_breaks`` (Fisher-Jenks natural breaks: the classes with the least squared
        deviation from their means, as mapclassify's ``FisherJenks`` finds them, computed by
        :func:`fisher_jenks_bins` and classified by mapclassify ``UserDefined``:
        deterministic, so every worker and every export draw the same classes).
    k
        Number of classes wanted; fewer are formed when there are fewer distinct values.
    metric
        Key of :data:`METRICS`, for the units in the labels and the colour direction.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown classification scheme '{scheme}'; choose one of {', '.join(SCHEMES)}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    if METRICS[metric].categorical:
        raise ValueError(f"'{metric}' is coloured by category (see TIER_COLOURS), not put in classes")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64").astype(float)
    known = numbers.notna() & np.isfinite(numbers)
    index = pd.Series(-1, index=values.index, dtype="int64")
    present = numbers[known].to_numpy(dtype=float)
    if present.size == 0:
        return Classes(breaks=[], labels=[], index=index, colours=[])
    classes = _feasible_k(present, k)
    if classes == 1:
        bins = np.array([present.max()])
        assigned = np.zeros(present.size, dtype="int64")
    else:
        classifier = (
            mapclassify.Quantiles(present, k=classes)
            if scheme == "quantiles"
            else mapclassify.UserDefined(present, bins=fisher_jenks_bins(present, classes))
        )
        bins = np.asarray(classifier.bins, dtype=float)
        assigned = np.asarray(classifier.yb, dtype="int64")
    index[known] = assigned
    breaks = [float(b) for b in bins]
    info = METRICS[metric]
    return Classes(
        breaks=breaks,
        labels=_class_labels(float(present.min()), breaks, info),
        index=index,
        colours=palette(len(breaks), higher_is_worse=info.higher_is_worse),
        fit=goodness_of_variance_fit(present, assigned) if len(breaks) > 1 else None,
    )


#: Most distinct values the exact Fisher-Jenks search takes (England has about 34,000 small areas):
#: beyond this it runs on this many evenly spaced order statistics (deterministic, unlike
#: mapclassify's ``FisherJenksSampled``, which draws a random sample).
FISHER_JENKS_MAX_VALUES = 50_000


def fisher_jenks_bins(values: np.ndarray, k: int) -> list[float]:
    """Upper bounds of the ``k`` Fisher-Jenks natural-break classes of ``values``: the optimum.

    The classes minimise the sum of squared deviations from their class means (Fisher 1958,
    Jenks 1977), as mapclassify's ``FisherJenks`` finds them, by dynamic programming over
    the sorted distinct values weighted by how often each occurs. Where mapclassify loops in
    Python (about 10 s on 1,700 values without numba), every class count here is one
    vectorised step over a distinct-values-squared matrix (a few milliseconds). With more
    than :data:`FISHER_JENKS_MAX_VALUES` distinct values the search runs on that many evenly
    spaced order statistics; the bounds are then values of the data near the optimum.

    Parameters
    ----------
    values
        Finite numbers, at least ``k`` of them distinct.
    k
        Number of classes, at least 2.
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    if ordered.size > FISHER_JENKS_MAX_VALUES:
        unique_all = np.unique(ordered)
        if unique_all.size > FISHER_JENKS_MAX_VALUES:
            ordered = ordered[np.linspace(0, ordered.size - 1, FISHER_JENKS_MAX_VALUES).round().astype(int)]
    distinct, counts = np.unique(ordered, return_counts=True)
    n = distinct.size
    if n < k:
        raise ValueError(f"{n} distinct values cannot form {k} classes")
    centred = distinct - distinct.mean()  # fewer cancellation errors in the sums of squares
    sums = (
        np.concatenate([[0.0], np.cumsum(counts, dtype=float)]),
        np.concatenate([[0.0], np.cumsum(counts * centred)]),
        np.concatenate([[0.0], np.cumsum(counts * centred**2)]),
    )
    best = _class_cost(sums, np.zeros(n, dtype=np.int64), np.arange(n))  # values 0..j in one class
    choices = []
    for _ in range(1, k):
        best, start = _next_layer(best, sums)
        choices.append(start)
    bounds, end = [], n - 1
    for start in reversed(choices):
        bounds.append(float(distinct[end]))
        end = int(start[end]) - 1
    bounds.append(float(distinct[end]))
    return sorted(bounds)


def _class_cost(sums: tuple[np.ndarray, np.ndarray, np.ndarray], first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Squared deviations from its mean of one class holding distinct values ``first..last`` (arrays)."""
    weight, total, squares = sums
    end = last + 1
    spread = squares[end] - squares[first] - (total[end] - total[first]) ** 2 / (weight[end] - weight[first])
    return np.maximum(spread, 0.0)


def _next_layer(best: np.ndarray, sums: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One more class: for each last value j, the best split of values 0..j and where its last class starts.

    The last class of values 0..j starts at i (1 <= i <= j) and the values before it keep
    their best split: ``best[i - 1] + cost(i, j)``. The best start never moves left as j
    grows (the squared-deviation cost satisfies the quadrangle inequality; Wang & Song's
    Ckmeans.1d.dp uses the same), so divide and conquer needs about n log n candidates,
    each level of the recursion searched at once with numpy.
    """
    n = best.size
    result, start = np.full(n, np.inf), np.zeros(n, dtype=np.int64)
    # pending searches: last values j in [low, high], starts i in [first, last]
    low, high = np.array([0]), np.array([n - 1])
    first, last = np.array([1]), np.array([max(n - 1, 1)])
    while low.size:
        middle = (low + high) // 2
        top = np.minimum(last, middle)
        sizes = np.maximum(top - first + 1, 1)  # a search with no valid start keeps one, at infinite cost
        owner = np.repeat(np.arange(middle.size), sizes)
        offsets = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        candidate = first[owner] + offsets
        valid = candidate <= middle[owner]
        safe = np.where(valid, candidate, middle[owner])
        value = np.where(valid, best[np.maximum(safe - 1, 0)] + _class_cost(sums, safe, middle[owner]), np.inf)
        bounds = np.cumsum(sizes) - sizes
        lowest = np.minimum.reduceat(value, bounds)
        at_lowest = np.where(value == lowest[owner], candidate, np.iinfo(np.int64).max)
        chosen = np.minimum.reduceat(at_lowest, bounds)
        chosen = np.where(np.isfinite(lowest), chosen, first)
        result[middle], start[middle] = lowest, chosen
        left, right = low <= middle - 1, middle + 1 <= high
        low = np.concatenate([low[left], (middle + 1)[right]])
        high = np.concatenate([(middle - 1)[left], high[right]])
        first, last = np.concatenate([first[left], chosen[right]]), np.concatenate([chosen[left], last[right]])
    return result, start


def goodness_of_variance_fit(values: np.ndarray, classes: np.ndarray) -> float | None:
    """How much of the values' variation the classes capture, from 0 to 1 (1 = every class is uniform).

    GVF = 1 - (squared deviations from each class's mean) / (squared deviations from the overall
    mean), the measure natural breaks maximise; None when every value is the same.
    """
    numbers = np.asarray(values, dtype=float)
    total = float(((numbers - numbers.mean()) ** 2).sum())
    if total <= 0:
        return None
    labels = np.asarray(classes)
    within = sum(float(((numbers[labels == c] - numbers[labels == c].mean()) ** 2).sum()) for c in np.unique(labels))
    return 1.0 - within / total


def _feasible_k(values: np.ndarray, k: int) -> int:
    """The largest number of classes <= k whose quantile bins are distinct.

    mapclassify warns and shrinks k itself when ties make quantiles repeat; choosing k
    here keeps the classes identical without the warning.
    """
    unique = np.unique(values)
    classes = min(k, unique.size)
    while classes > 1:
        step = 100.0 / classes
        bins = np.percentile(values, np.minimum(np.arange(step, 100 + step, step), 100.0)[:classes])
        if np.unique(bins).size == classes:
            return classes
        classes -= 1
    return 1


def palette(k: int, *, higher_is_worse: bool = True) -> list[str]:
    """``k`` viridis colours for classes in ascending value order, darkest = worst."""
    if k <= 0:
        return []
    if k == 1:
        positions = [0.45]
    else:
        positions = list(np.linspace(0.0, 0.97, k))
    # Viridis runs dark purple (0) -> yellow (1); darker means worse.
    colours = sample_colorscale(_PALETTE, [1 - p for p in positions] if higher_is_worse else positions)
    return [_hex(colour) for colour in colours]


def _hex(colour: str) -> str:
    if colour.startswith("#"):
        return colour
    parts = [float(p) for p in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
    return "#" + "".join(f"{round(p):02x}" for p in parts)


def format_value(value: float | None, metric: str) -> str:
    """A metric value as text with its unit (``"1.2 km"``, ``"45%"``, ``"fewer than 8"``)."""
    info = METRICS[metric]
    if value is None or pd.isna(value):
        return "no data"
    if info.categorical:
        return TIER_LABELS.get(str(value), str(value))
    return f"{_number(float(value), info)}{_unit_suffix(info)}"


def format_values(values: pd.Series, metric: str) -> list[str]:
    """:func:`format_value` of every value, in order (one pass over the column: a map's hover text has one per
    unit, and iterating an Arrow-backed column value by value is slow)."""
    info = METRICS[metric]
    missing = values.isna().to_numpy(dtype=bool)
    if info.categorical:
        texts = values.astype(object).to_numpy()
        return ["no data" if gone else TIER_LABELS.get(str(v), str(v)) for v, gone in zip(texts, missing, strict=True)]
    numbers = pd.to_numeric(values.astype(object).where(~missing, np.nan)).to_numpy(dtype=float)
    suffix = _unit_suffix(info)
    return [
        "no data" if gone else f"{_number(float(v), info)}{suffix}" for v, gone in zip(numbers, missing, strict=True)
    ]


def _number(value: float, info: MetricInfo, decimals: int | None = None) -> str:
    if info.key == "share_within_km":
        value *= 100
        decimals = 0 if decimals is None else decimals
    if decimals is None:
        magnitude = abs(value)
        decimals = 2 if magnitude < 10 else 1 if magnitude < 100 else 0
        if info.key == "gap_score":
            decimals = 2
    return f"{value:,.{decimals}f}"


def _unit_suffix(info: MetricInfo) -> str:
    if not info.unit:
        return ""
    return info.unit if info.unit == "%" else f" {info.unit}"


def _class_labels(minimum: float, breaks: Sequence[float], info: MetricInfo) -> list[str]:
    lows = [minimum, *breaks[:-1]]
    decimals = _label_decimals([minimum, *breaks], info)
    labels = []
    for low, high in zip(lows, breaks, strict=True):
        low_text, high_text = _number(low, info, decimals), _number(high, info, decimals)
        if info.unit == "%":  # "0% – 50%" reads better than "0 – 50%"
            low_text, high_text = f"{low_text}%", f"{high_text}%"
            span = low_text if low_text == high_text else f"{low_text} – {high_text}"
            labels.append(span)
            continue
        span = low_text if low_text == high_text else f"{low_text} – {high_text}"
        labels.append(f"{span}{_unit_suffix(info)}")
    return labels


def _label_decimals(edges: Sequence[float], info: MetricInfo) -> int:
    """Enough decimals that neighbouring class edges read differently (at most 3)."""
    scale = 100.0 if info.key == "share_within_km" else 1.0
    base = 0 if info.key == "share_within_km" else (2 if info.key == "gap_score" else 1)
    for decimals in range(base, 4):
        texts = [f"{e * scale:.{decimals}f}" for e in edges]
        if len(set(texts)) == len(set(edges)):
            return decimals
    return 3
