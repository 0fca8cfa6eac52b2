"""Disclosure control across linked tables: complementary suppression and its audit.

Every referral count published from one data set is a *cell*: a small area's dementia
referrals, a neighbourhood's, a borough's, the same for one community, one month of a
unit's trend, one organisation's total. Cells are linked by *relations*, published sums
an attacker can subtract: a neighbourhood is the sum of its small areas, a unit's "all"
count is at least the sum of its communities, a unit's months add up to its total...

What the attacker knows of each cell (the *published interval*):

* a published 0 is exactly 0 (a true zero reveals nobody);
* a published rounded count ``v`` is one of ``v-2 .. v+2`` (and at least 8);
* a suppressed cell is at least 1 (zeros are never suppressed) with no upper limit: every
  suppressed cell reads the same, whether it was small (1-7) or hidden to protect one;
* a *known* cell (one the attacker may have from elsewhere, the region's total) is its
  rounded interval, and can never be hidden; an *unknown* cell (a total nobody publishes,
  used to tie relations together) is ``0 .. infinity``.

:func:`audit` narrows those intervals by interval propagation over the relations until
nothing changes (each relation bounds its total by the sum of its parts, and each part by
the total less the others), which finds every narrowing by parents, siblings and chains
of levels. :func:`audit_lp` finds the tightest bounds exactly, by linear programming, for
small systems (the tests check the two agree). :func:`protect` starts from the primary
suppression (1-7) and adds complementary cells until :func:`audit` finds no suppressed
cell narrowed below :data:`MIN_RANGE` possible values.

Complementary cells are chosen from the published intervals alone (the smallest published
count of a relation that narrows a suppressed cell, ties by position), never from the true
counts, so two data sets that publish the same figures suppress the same cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import ROUND_TO, SUPPRESS_MAX

#: A suppressed count must keep at least this many possible values (as many as a rounded one has).
MIN_RANGE = 5
#: The largest count accepted for suppression (NHS codonPython refuses 5,000,000,001 and more).
MAX_COUNT = 5_000_000_000

#: Cell kinds: a published count, a total known from elsewhere (never hidden), a total nobody knows.
PUBLISHED, KNOWN, UNKNOWN = 0, 1, 2

_MAX_PASSES = 200
_MAX_ROUNDS = 200


@dataclass(frozen=True)
class Relations:
    """Linear relations between cells: each a total and its parts.

    ``pair_relation[i]`` is a relation, ``pair_cell[i]`` a cell in it and ``pair_total[i]``
    whether that cell is the relation's total (exactly one per relation). ``equal[r]``
    says whether the parts add up to the total exactly (a parent and its children) or at
    most (a unit's communities within its "all" count, which also holds referrals with no
    listed community).
    """

    pair_relation: np.ndarray
    pair_cell: np.ndarray
    pair_total: np.ndarray
    equal: np.ndarray

    @property
    def count(self) -> int:
        return len(self.equal)

    def totals(self) -> np.ndarray:
        """The total cell of each relation."""
        total = np.full(self.count, -1, dtype=np.int64)
        total[self.pair_relation[self.pair_total]] = self.pair_cell[self.pair_total]
        return total


@dataclass(frozen=True)
class CellSystem:
    """True counts of the cells, their kinds, and the relations between them."""

    value: np.ndarray
    kind: np.ndarray
    relations: Relations

    def __len__(self) -> int:
        return len(self.value)


@dataclass(frozen=True)
class AuditResult:
    """What an attacker can work out: the interval of every cell, and a summary of the suppressed ones."""

    low: np.ndarray
    high: np.ndarray
    hidden: np.ndarray

    @property
    def widths(self) -> np.ndarray:
        """Possible values of each suppressed cell (``inf`` when unbounded above)."""
        return (self.high - self.low + 1)[self.hidden]

    @property
    def cells_hidden(self) -> int:
        return int(self.hidden.sum())

    @property
    def narrowed(self) -> int:
        """Suppressed cells an attacker can narrow below :data:`MIN_RANGE` possible values."""
        return int((self.widths < MIN_RANGE).sum())

    @property
    def exact(self) -> int:
        """Suppressed cells an attacker can work out exactly."""
        return int((self.widths <= 1).sum())

    @property
    def narrowest(self) -> float:
        """The fewest possible values of any suppressed cell (``inf`` when none is bounded, or none hidden)."""
        widths = self.widths
        return float(widths.min()) if len(widths) else float("inf")

    def summary(self) -> str:
        narrowest = "unbounded" if np.isinf(self.narrowest) else f"{int(self.narrowest):,} values"
        return (
            f"cells hidden: {self.cells_hidden:,}; narrowest interval: {narrowest}; "
            f"narrowed below {MIN_RANGE} values: {self.narrowed:,}; worked out exactly: {self.exact:,}"
        )


# --------------------------------------------------------------------------- the rule


def check_counts(values: np.ndarray, *, what: str = "counts") -> np.ndarray:
    """Whole, non-negative counts up to :data:`MAX_COUNT` as int64; anything else raises.

    Parameters
    ----------
    values
        Counts (NaN is allowed and left out of the checks).
    what
        Named in the error.

    Raises
    ------
    ValueError
        Naming the first bad values: negative, not whole (4.2) or too large (5,000,000,001).
    """
    numbers = np.asarray(values, dtype=float)
    known = numbers[~np.isnan(numbers)]
    problems = []
    for label, bad in (
        ("negative", known < 0),
        ("not whole numbers", known != np.floor(known)),
        (f"above {MAX_COUNT:,}", known > MAX_COUNT),
    ):
        if bad.any():
            shown = ", ".join(f"{int(v):,}" if v == np.floor(v) else f"{v:g}" for v in known[bad][:3])
            problems.append(f"{int(bad.sum()):,} {label} ({shown})")
    if problems:
        raise ValueError(f"{what} to suppress must be whole numbers from 0 to {MAX_COUNT:,}: " + "; ".join(problems))
    return numbers


def rounded(values: np.ndarray) -> np.ndarray:
    """Counts rounded half up to the nearest :data:`~coverage_map.config.ROUND_TO`."""
    return np.floor(np.asarray(values, dtype=float) / ROUND_TO + 0.5) * ROUND_TO


def primary(system: CellSystem) -> np.ndarray:
    """Published cells the rule itself hides: true counts 1 to 7."""
    return (system.kind == PUBLISHED) & (system.value >= 1) & (system.value <= SUPPRESS_MAX)


def published_bounds(system: CellSystem, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval each cell has before any relation is used (see the module docstring)."""
    value = system.value.astype(float)
    half = ROUND_TO // 2
    low = np.maximum(rounded(value) - half, SUPPRESS_MAX + 1)
    high = rounded(value) + half
    small = (value >= 1) & (value <= SUPPRESS_MAX)
    low = np.where(small, 1.0, low)
    high = np.where(small, float(SUPPRESS_MAX), high)
    low = np.where(value == 0, 0.0, low)
    high = np.where(value == 0, 0.0, high)
    low = np.where(hidden, 1.0, low)
    high = np.where(hidden, np.inf, high)
    unknown = system.kind == UNKNOWN
    return np.where(unknown, 0.0, low), np.where(unknown, np.inf, high)


# --------------------------------------------------------------------------- the audit


def propagate(
    relations: Relations, low: np.ndarray, high: np.ndarray, *, max_passes: int = _MAX_PASSES
) -> tuple[np.ndarray, np.ndarray]:
    """Narrow the intervals by every relation, repeatedly, until nothing changes.

    Each pass bounds every total by the sum of its parts (from below; from above too when
    the relation is exact) and every part by its total less the other parts. Bounds are
    whole numbers (counts), so each pass narrows by at least one or stops.

    Notes
    -----
    Every pass reads the bounds the previous pass left (all relations at once), but only
    the relations with a cell whose bounds changed in the previous pass are read again:
    the others would give the bounds they already gave. The passes are therefore the
    same as reading every relation every time, at the cost of the changes alone.
    """
    low, high = low.astype(float).copy(), high.astype(float).copy()
    if relations.count == 0:
        return low, high
    return _propagate(_layout(relations), low, high, np.arange(relations.count), max_passes=max_passes, whole=False)


@dataclass(frozen=True)
class _Layout:
    """The relations as propagation reads them: each relation's parts, and each cell's relations (CSR)."""

    total: np.ndarray
    equal: np.ndarray
    #: relation r's parts are part_cell[part_start[r]:part_start[r + 1]]
    part_start: np.ndarray
    part_cell: np.ndarray
    part_relation: np.ndarray
    #: cell c is in relations cell_relation[cell_start[c]:cell_start[c + 1]] (as a part or the total)
    cell_start: np.ndarray
    cell_relation: np.ndarray


def _layout(relations: Relations) -> _Layout:
    """The relations' :class:`_Layout`, made once per :class:`Relations` and kept with it."""
    cached = relations.__dict__.get("_layout")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rel = np.asarray(relations.pair_relation, dtype=np.int64)
    cell = np.asarray(relations.pair_cell, dtype=np.int64)
    part = ~np.asarray(relations.pair_total, dtype=bool)
    order = np.argsort(rel[part], kind="stable")
    part_start = np.zeros(relations.count + 1, dtype=np.int64)
    np.cumsum(np.bincount(rel[part], minlength=relations.count), out=part_start[1:])
    by_cell = np.argsort(cell, kind="stable")
    cells = int(cell.max()) + 1 if len(cell) else 0
    cell_start = np.zeros(cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=cells), out=cell_start[1:])
    layout = _Layout(
        total=relations.totals(),
        equal=np.asarray(relations.equal, dtype=bool),
        part_start=part_start,
        part_cell=cell[part][order],
        part_relation=rel[part][order],
        cell_start=cell_start,
        cell_relation=rel[by_cell],
    )
    object.__setattr__(relations, "_layout", layout)
    return layout


#: Pairs read at once in a pass (bounds the temporary arrays: about 100 bytes a pair).
_CHUNK_PAIRS = 1 << 21


def _ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The indices ``start[i]:stop[i]`` of every ``i``, concatenated."""
    counts = stop - start
    offsets = np.repeat(start - (np.cumsum(counts) - counts), counts)
    return offsets + np.arange(int(counts.sum()))


def _propagate(
    layout: _Layout, low: np.ndarray, high: np.ndarray, active: np.ndarray, *, max_passes: int, whole: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Passes of :func:`propagate` over the ``active`` relations and then those their changes reach.

    ``low`` and ``high`` are narrowed in place and returned. Relations outside ``active``
    must already be at a fixed point of the current bounds (they are not read until one of
    their cells changes). ``whole`` says the bounds are whole numbers already; otherwise
    the first pass rounds every cell, as a full pass does.
    """
    next_low, next_high = low.copy(), high.copy()
    mark = np.zeros(len(low), dtype=bool)
    reached = np.zeros(len(layout.total), dtype=bool)
    for number in range(max_passes):
        if not len(active):
            break
        _pass(layout, low, high, next_low, next_high, active, mark)
        if (number == 0 and not whole) or len(active) * 8 > len(layout.total):
            # Most cells written: whole-array operations are cheaper than picking them out
            # (and rounding a whole bound changes nothing).
            mark[:] = False
            np.ceil(np.subtract(next_low, 1e-9, out=next_low), out=next_low)
            np.floor(np.add(next_high, 1e-9, out=next_high), out=next_high)
            changed = np.flatnonzero((next_low != low) | (next_high != high))
        else:
            touched = np.flatnonzero(mark)
            mark[touched] = False
            next_low[touched] = np.ceil(next_low[touched] - 1e-9)
            next_high[touched] = np.floor(next_high[touched] + 1e-9)
            changed = touched[(next_low[touched] != low[touched]) | (next_high[touched] != high[touched])]
        low[changed], high[changed] = next_low[changed], next_high[changed]
        changed = changed[changed < len(layout.cell_start) - 1]
        relations = layout.cell_relation[_ranges(layout.cell_start[changed], layout.cell_start[changed + 1])]
        reached[relations] = True
        active = np.flatnonzero(reached)
        reached[active] = False
    return low, high


def _pass(
    layout: _Layout,
    low: np.ndarray,
    high: np.ndarray,
    next_low: np.ndarray,
    next_high: np.ndarray,
    active: np.ndarray,
    mark: np.ndarray,
) -> None:
    """One pass over the ``active`` relations: bounds read from ``low``/``high``, written to ``next_*``.

    Every cell written (totals and parts) is flagged in ``mark``.
    """
    every = len(active) == len(layout.total)
    sizes = layout.part_start[active + 1] - layout.part_start[active]
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(_CHUNK_PAIRS, int(sizes.sum()), _CHUNK_PAIRS))
    for chunk in np.split(active, np.unique(bounds + 1)):
        if not len(chunk):
            continue
        if every:  # all relations: their parts are a slice, already in order
            pairs = slice(layout.part_start[chunk[0]], layout.part_start[chunk[-1] + 1])
            local, cell = layout.part_relation[pairs] - chunk[0], layout.part_cell[pairs]
        else:
            size = layout.part_start[chunk + 1] - layout.part_start[chunk]
            local = np.repeat(np.arange(len(chunk)), size)
            cell = layout.part_cell[_ranges(layout.part_start[chunk], layout.part_start[chunk + 1])]
        part_low, part_high = low[cell], high[cell]
        infinite = np.isinf(part_high)
        finite_high = np.where(infinite, 0.0, part_high)
        sum_low = np.bincount(local, weights=part_low, minlength=len(chunk))
        sum_high = np.bincount(local, weights=finite_high, minlength=len(chunk))
        open_parts = np.bincount(local, weights=infinite, minlength=len(chunk))
        total, equal = layout.total[chunk], layout.equal[chunk]
        # Totals: at least the sum of the parts' lows; at most the sum of their highs when exact.
        np.maximum.at(next_low, total, sum_low)
        bounded = equal & (open_parts == 0)
        np.minimum.at(next_high, total[bounded], sum_high[bounded])
        # Parts: at most the total's high less the other parts' lows.
        np.minimum.at(next_high, cell, high[total][local] - (sum_low[local] - part_low))
        # ... and, when exact, at least the total's low less the other parts' highs.
        can = equal[local] & (open_parts[local] - infinite == 0)
        np.maximum.at(next_low, cell[can], (low[total][local] - (sum_high[local] - finite_high))[can])
        mark[total] = True
        mark[cell] = True


def audit(system: CellSystem, hidden: np.ndarray) -> AuditResult:
    """The intervals an attacker gets from every published figure and relation (interval propagation).

    Parameters
    ----------
    system
        The cells and relations of everything published from one data set.
    hidden
        Which cells are suppressed (primary and complementary).
    """
    hidden = np.asarray(hidden, dtype=bool) & (system.kind == PUBLISHED)
    low, high = published_bounds(system, hidden)
    low, high = propagate(system.relations, low, high)
    return AuditResult(low=low, high=high, hidden=hidden)


def audit_lp(system: CellSystem, hidden: np.ndarray) -> AuditResult:
    """The tightest intervals, by linear programming over the same relations (small systems only).

    Every suppressed cell is minimised and maximised subject to every published interval
    and relation (``scipy.optimize.linprog``, HiGHS); the bounds are then rounded inwards
    to whole numbers. Two linear programmes per suppressed cell: use it on a few thousand
    cells at most.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    hidden = np.asarray(hidden, dtype=bool) & (system.kind == PUBLISHED)
    low, high = published_bounds(system, hidden)
    relations = system.relations
    sign = np.where(relations.pair_total, -1.0, 1.0)
    matrix = coo_matrix((sign, (relations.pair_relation, relations.pair_cell)), shape=(relations.count, len(system)))
    matrix = matrix.tocsr()
    equal = relations.equal
    bounds = [(float(lo), None if np.isinf(hi) else float(hi)) for lo, hi in zip(low, high, strict=True)]
    a_eq, a_ub = matrix[equal], matrix[~equal]
    arguments = {
        "A_eq": a_eq if a_eq.shape[0] else None,
        "b_eq": np.zeros(a_eq.shape[0]) if a_eq.shape[0] else None,
        "A_ub": a_ub if a_ub.shape[0] else None,
        "b_ub": np.zeros(a_ub.shape[0]) if a_ub.shape[0] else None,
        "bounds": bounds,
        "method": "highs",
    }
    out_low, out_high = low.copy(), high.copy()
    for index in np.flatnonzero(hidden):
        objective = np.zeros(len(system))
        objective[index] = 1.0
        below = linprog(objective, **arguments)
        if below.status == 0:
            out_low[index] = np.ceil(below.fun - 1e-7)
        above = linprog(-objective, **arguments)
        if above.status == 0:
            out_high[index] = np.floor(-above.fun + 1e-7)
    return AuditResult(low=out_low, high=out_high, hidden=hidden)


# --------------------------------------------------------------------------- complementary suppression


def protect(system: CellSystem, *, extra: np.ndarray | None = None) -> np.ndarray:
    """Primary suppression plus complementary cells, so no suppressed cell is narrowed below :data:`MIN_RANGE`.

    Parameters
    ----------
    system
        The cells and relations of everything published from one data set.
    extra
        Cells to hide as well from the start (optional).

    Returns
    -------
    numpy.ndarray
        Boolean flags, true for every suppressed cell.

    Notes
    -----
    First, wherever one part alone of an exact relation is hidden and its total is shown,
    the smallest other published part is hidden too (the classic rule). Then each round
    audits the current suppression (:func:`audit`). For every suppressed cell
    left with fewer than :data:`MIN_RANGE` possible values, each relation that gives it
    its narrowest bound is opened by hiding that relation's smallest published non-zero
    count (by published value, then position). A relation with nothing left to hide is
    opened through its other suppressed cells' relations instead. Rounds repeat until the
    audit passes or nothing more can be hidden (the audit then says so).
    """
    hideable = (system.kind == PUBLISHED) & (system.value > 0)
    hidden = primary(system)
    if extra is not None:
        hidden |= np.asarray(extra, dtype=bool) & hideable
    relations = system.relations
    if relations.count == 0:
        return hidden
    shown_value = rounded(system.value)
    hidden = _no_lone_part(relations, hidden, hideable, shown_value)
    audited = _Audit(system, hidden)
    for _ in range(_MAX_ROUNDS):
        result = audited.result(hidden)
        unsafe = hidden & (result.high - result.low + 1 < MIN_RANGE)
        if not unsafe.any():
            break
        opened = _binding_relations(system, result, unsafe, audited.bounds)
        chosen = _smallest_candidates(relations, opened, hidden, hideable, shown_value)
        if not len(chosen):
            # Nothing left to hide in those relations: open them through their other suppressed cells.
            in_opened = np.isin(relations.pair_relation, opened)
            neighbours = np.zeros(len(system), dtype=bool)
            neighbours[relations.pair_cell[in_opened]] = True
            neighbours &= hidden & ~unsafe
            around = np.unique(relations.pair_relation[neighbours[relations.pair_cell]])
            chosen = _smallest_candidates(relations, around, hidden, hideable, shown_value)
        if not len(chosen):
            break
        hidden[chosen] = True
    return hidden


class _Audit:
    """:func:`audit` as :func:`protect` needs it: again after each round, redoing only what changed.

    The cells fall into independent groups (connected components of the relations). A
    group without a suppressed cell is never read (nothing in it can be narrowed below the
    rule), and after a round only the groups where cells were newly hidden are audited
    again; every other group keeps its bounds, which are what a full audit would give.
    The bounds of the hidden cells, and of every cell in a relation with one, are those of
    :func:`audit`.
    """

    def __init__(self, system: CellSystem, hidden: np.ndarray) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        self.system = system
        self.layout = _layout(system.relations)
        relations = system.relations
        part = ~np.asarray(relations.pair_total, dtype=bool)
        parts = np.asarray(relations.pair_cell)[part]
        totals = self.layout.total[np.asarray(relations.pair_relation)[part]]
        size = len(system)
        graph = coo_matrix((np.ones(len(parts), dtype=np.int8), (parts, totals)), shape=(size, size))
        _, self.component = connected_components(graph, directed=False)
        self.relation_component = self.component[self.layout.total]
        self.hidden = np.zeros(size, dtype=bool)
        self.base_low, self.base_high = published_bounds(system, self.hidden)
        self.low, self.high = self.base_low.copy(), self.base_high.copy()

    def bounds(self, cells: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`published_bounds` of some cells (a suppressed cell is at least 1, with no upper limit)."""
        shown = ~hidden[cells]
        return np.where(shown, self.base_low[cells], 1.0), np.where(shown, self.base_high[cells], np.inf)

    def result(self, hidden: np.ndarray) -> AuditResult:
        """The audit of ``hidden``, which holds every cell hidden at the previous call.

        The arrays of the result are this object's own, changed by the next call.
        """
        hidden = np.asarray(hidden, dtype=bool) & (self.system.kind == PUBLISHED)
        dirty = np.zeros(int(self.component.max()) + 1 if len(self.component) else 0, dtype=bool)
        dirty[self.component[hidden & ~self.hidden]] = True
        self.hidden = hidden.copy()
        if dirty.any():
            cells = np.flatnonzero(dirty[self.component])
            self.low[cells], self.high[cells] = self.bounds(cells, hidden)
            active = np.flatnonzero(dirty[self.relation_component])
            self.low, self.high = _propagate(
                self.layout, self.low, self.high, active, max_passes=_MAX_PASSES, whole=True
            )
        return AuditResult(low=self.low, high=self.high, hidden=self.hidden)


def _no_lone_part(
    relations: Relations, hidden: np.ndarray, hideable: np.ndarray, shown_value: np.ndarray
) -> np.ndarray:
    """Hide a second part wherever one part alone of an exact relation with a shown total is hidden.

    Rounding often leaves such a part five or more possible values, but a part that is
    alone in its relation is never left to rounding: this is the classic rule, kept
    before the audit-driven rounds.
    """
    hidden = hidden.copy()
    exact = relations.equal[relations.pair_relation]
    part = ~relations.pair_total & exact
    total = relations.totals()
    for _ in range(_MAX_ROUNDS):
        per_relation = np.bincount(
            relations.pair_relation[part], weights=hidden[relations.pair_cell[part]], minlength=relations.count
        )
        lone = np.flatnonzero((per_relation == 1) & relations.equal & ~hidden[np.maximum(total, 0)] & (total >= 0))
        chosen = _smallest_candidates(relations, lone, hidden, hideable, shown_value, parts_only=True)
        if not len(chosen):
            return hidden
        hidden[chosen] = True
    return hidden


def _binding_relations(
    system: CellSystem,
    result: AuditResult,
    unsafe: np.ndarray,
    bounds: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Relations that give an unsafe cell its narrowest bound (the ones to open).

    ``bounds(cells, hidden)`` gives the published bounds of those cells.
    """
    relations = system.relations
    low, high = result.low, result.high
    # Only relations holding an unsafe cell can bind one: read their pairs alone.
    holding = np.zeros(relations.count, dtype=bool)
    holding[relations.pair_relation[unsafe[relations.pair_cell]]] = True
    chosen = holding[relations.pair_relation]
    rel, cell = relations.pair_relation[chosen], relations.pair_cell[chosen]
    is_total = relations.pair_total[chosen]
    n = relations.count
    total = _layout(relations).total
    part = ~is_total
    infinite = np.isinf(high[cell]) & part
    sum_low = np.bincount(rel[part], weights=low[cell][part], minlength=n)
    sum_high = np.bincount(rel[part], weights=np.where(infinite, 0.0, high[cell])[part], minlength=n)
    open_parts = np.bincount(rel[part], weights=infinite[part], minlength=n)
    implied_low = np.full(len(rel), -np.inf)
    implied_high = np.full(len(rel), np.inf)
    implied_low[is_total] = sum_low[rel[is_total]]
    exact_total = is_total & relations.equal[rel] & (open_parts[rel] == 0)
    implied_high[exact_total] = sum_high[rel[exact_total]]
    implied_high[part] = high[total[rel[part]]] - (sum_low[rel[part]] - low[cell[part]])
    own_open = infinite
    others_open = open_parts[rel] - own_open
    others_high = sum_high[rel] - np.where(own_open, 0.0, high[cell])
    exact_part = part & relations.equal[rel] & (others_open == 0)
    implied_low[exact_part] = (low[total[rel]] - others_high)[exact_part]
    base_low, base_high = bounds(cell, result.hidden)
    binds = unsafe[cell] & (
        ((np.ceil(implied_low - 1e-9) >= low[cell]) & (low[cell] > base_low))
        | ((np.floor(implied_high + 1e-9) <= high[cell]) & (high[cell] < base_high))
    )
    return np.unique(rel[binds])


def _smallest_candidates(
    relations: Relations,
    opened: np.ndarray,
    hidden: np.ndarray,
    hideable: np.ndarray,
    shown_value: np.ndarray,
    *,
    parts_only: bool = False,
) -> np.ndarray:
    """In each of the ``opened`` relations, the published non-zero cell with the smallest published value."""
    if not len(opened):
        return np.array([], dtype=np.int64)
    in_opened = np.isin(relations.pair_relation, opened)
    cell = relations.pair_cell
    candidate = in_opened & hideable[cell] & ~hidden[cell]
    if parts_only:
        candidate &= ~relations.pair_total
    rel, cells = relations.pair_relation[candidate], cell[candidate]
    if not len(cells):
        return np.array([], dtype=np.int64)
    order = np.lexsort((cells, shown_value[cells], rel))
    first = np.r_[True, rel[order][1:] != rel[order][:-1]]
    return np.unique(cells[order][first])
