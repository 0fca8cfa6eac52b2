"""NHS small-number suppression, applied at the edge when numbers leave the tool.

The rule (NHS Digital's disclosure control for published counts):

* 0 stays 0 — a true zero reveals nobody;
* 1 to 7 is suppressed (published as empty, with a ``<name>_suppressed`` flag);
* everything else is rounded to the nearest 5 (half up: 12 -> 10, 13 -> 15).

Rates derived from a count are recomputed from the *published* (rounded) count, and are
empty wherever the count is suppressed, so a rate can never be multiplied back into a
small true count. Analysis always runs on true counts; only outputs are suppressed.

**Complementary suppression across everything published from one data set** (levels,
communities, monthly trends, organisations) is :mod:`coverage_map.protection`, with its
audit in :mod:`coverage_map.disclosure`. :func:`secondary_suppress` below is the simple
one-table version, for a lone table whose parts add up to one published total.

**Secondary suppression.** A suppressed cell could be recovered by subtraction when it is
the only hidden part of a published total: a small area that is the only suppressed child
of its neighbourhood, or the one suppressed month of a published yearly total. For every
group of cells that add up to a published total, :func:`secondary_suppress` therefore also
hides the smallest non-zero published cell whenever exactly one cell of the group is hidden
(and repeats until no group has a lone hidden cell). A group whose total is itself
suppressed or zero needs nothing more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ROUND_TO, SUPPRESS_MAX
from .disclosure import check_counts


def published_counts(counts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Suppress and round a series of true counts.

    Parameters
    ----------
    counts
        Non-negative whole numbers; NA stays NA (unknown, not suppressed).

    Returns
    -------
    tuple
        ``(published, suppressed)``: published counts as nullable ``Int64`` (NA where
        suppressed) and a boolean flag that is true exactly where a 1..7 count was hidden.
    """
    values = pd.to_numeric(counts, errors="raise").astype("Float64")
    check_counts(values.to_numpy(dtype=float, na_value=np.nan))
    suppressed = ((values >= 1) & (values <= SUPPRESS_MAX)).fillna(False).astype(bool)
    rounded = np.floor(values / ROUND_TO + 0.5) * ROUND_TO
    published = rounded.where(~suppressed & (values > 0), values.where(values == 0))
    published = published.mask(values.isna())
    return published.round().astype("Int64"), suppressed.rename(f"{counts.name}_suppressed")


def suppress_count(count: int) -> int | None:
    """One true count as published: 0 -> 0, 1..7 -> None, else the nearest multiple of 5.

    Raises ``ValueError`` for a count that is negative, not whole (4.2) or above
    :data:`~coverage_map.disclosure.MAX_COUNT` (5,000,000,001).
    """
    if isinstance(count, bool) or not isinstance(count, (int, float, np.integer, np.floating)):
        raise ValueError(f"counts to suppress must be whole numbers, not {count!r}")
    check_counts(np.array([count], dtype=float))
    count = int(count)
    if count == 0:
        return 0
    if count <= SUPPRESS_MAX:
        return None
    return int(np.floor(count / ROUND_TO + 0.5) * ROUND_TO)


def describe_count(count: int | None, *, suppressed: bool) -> str:
    """How a published count reads on screen: ``fewer than 8`` when suppressed."""
    if suppressed:
        return f"fewer than {SUPPRESS_MAX + 1}"
    if count is None or pd.isna(count):
        return "not available"
    return f"{int(count):,}"


def secondary_suppress(counts: pd.Series, suppressed: pd.Series, groups: pd.Series | list[pd.Series]) -> pd.Series:
    """Extend primary suppression so no hidden cell can be recovered from its group's total.

    Parameters
    ----------
    counts
        True counts of the cells.
    suppressed
        Primary suppression flags (true for counts 1..7).
    groups
        Group keys (one Series or several, aligned with ``counts``): cells in one group
        add up to a total that is published elsewhere (a parent area, a year...).

    Returns
    -------
    pandas.Series
        Boolean flags: the primary ones plus the cells hidden to protect them.
    """
    values = pd.to_numeric(counts).astype(float).fillna(0.0)
    hidden = suppressed.astype(bool).copy()
    keys = groups if isinstance(groups, list) else [groups]
    aligned = hidden.index.equals(counts.index) and all(len(key) == len(counts) for key in keys)
    if not (keys and aligned and counts.index.is_unique):
        return _secondary_suppress_by_label(values, hidden, keys)
    group = _group_numbers(keys)
    value = values.to_numpy(dtype=float)
    flags = hidden.to_numpy(dtype=bool, copy=True)
    while True:
        per_group = np.bincount(group, weights=flags, minlength=group.max(initial=-1) + 1)
        lone = per_group[group] == 1
        if not lone.any():
            break
        candidates = np.flatnonzero(lone & ~flags & (value > 0))
        if not len(candidates):
            break  # every other cell is zero: the total equals the hidden cell and is itself hidden
        # Smallest non-zero published cell of each group with a lone hidden cell (ties by position).
        order = candidates[np.lexsort((candidates, value[candidates], group[candidates]))]
        first = np.r_[True, group[order][1:] != group[order][:-1]]
        flags[order[first]] = True
    return pd.Series(flags, index=hidden.index, name=hidden.name)


def _group_numbers(keys: list[pd.Series]) -> np.ndarray:
    """One number per cell for its group: the groups ``groupby(keys, dropna=False)`` makes."""
    group = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        # Text keys are factorised in Arrow (millions of Python strings are slow to hash);
        # anything else exactly as grouping by ``key.to_numpy()`` does.
        values = key.array if isinstance(key.dtype, pd.StringDtype) else key.to_numpy()
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        group, _ = pd.factorize(group * (len(uniques) + 1) + codes)
    return group


def _secondary_suppress_by_label(values: pd.Series, hidden: pd.Series, keys: list[pd.Series]) -> pd.Series:
    """:func:`secondary_suppress` for flags not aligned cell for cell with the counts (matched by label)."""
    frame = pd.DataFrame({f"key{i}": key.to_numpy() for i, key in enumerate(keys)}, index=values.index)
    key_columns = list(frame.columns)
    frame["value"] = values
    while True:
        frame["hidden"] = hidden
        per_group = frame.groupby(key_columns, sort=False, dropna=False)["hidden"].transform("sum")
        lone = frame[(per_group == 1)]
        if lone.empty:
            return hidden
        candidates = lone[~lone["hidden"] & (lone["value"] > 0)]
        if candidates.empty:
            return hidden
        order = candidates.sort_values("value", kind="stable")
        extra = order.drop_duplicates(subset=key_columns, keep="first").index
        hidden.loc[extra] = True
