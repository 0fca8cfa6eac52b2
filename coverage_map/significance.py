"""Is a low access score part of a cluster? Getis-Ord Gi* hot and cold spots with false-discovery control.

* :func:`queen_weights`: queen contiguity of a level's polygons (libpysal's rule), islands listed;
* :func:`gi_star`: Getis-Ord Gi* z-scores and permutation pseudo p-values for many columns
  at once, reproducing ``esda.G_Local(y, w, transform="B", star=True,
  permutations=GI_PERMUTATIONS, seed=GI_SEED)`` column by column (``Zs`` and ``p_sim``; exact
  ties resolved the same way on every machine, see :func:`gi_star`);
* :func:`fdr_q_values`: Benjamini-Hochberg q-values, one map at a time;
* :func:`cold_spots`: the table-level step: one Gi* map per category x community;
* :func:`smoothed_rates` and :func:`morans_i`: empirical-Bayes rates and Moran's I (esda).

Why a batched Gi*: esda's conditional randomisation draws the neighbour sets from a seeded
generator that depends only on the number of units, the largest number of neighbours,
the number of permutations and the seed, never on the values. So one draw serves every
column of a level, and each column's simulated statistics are gathered from it with
numpy instead of ~85 separate esda runs.

Why our own contiguity: importing libpysal takes seconds (it loads its graph, examples and
io packages), longer than the whole Gi* step, and its pure-Python vertex matching takes over
a second on 1,700 LSOAs. :func:`queen_weights` applies the same rule with numpy, and builds a
libpysal ``W`` only when asked for one (:attr:`Contiguity.weights`), so ``analyse`` never
imports libpysal or esda.
"""

from __future__ import annotations

import concurrent.futures
import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

if TYPE_CHECKING:
    from libpysal.weights import W

#: Permutations of the conditional randomisation (esda's default).
GI_PERMUTATIONS = 999
#: Seed of the permutations, fixed so that every run (and an analyst with esda) gets the same p-values.
GI_SEED = 12345
#: False-discovery rate at which a cluster counts as significant.
FDR_ALPHA = 0.05
#: Fewest units with a neighbour a map needs before Gi* is run at all: with fewer, every
#: permutation draws from a handful of values, ties dominate esda's folded pseudo p-value and
#: a "cluster" says nothing (three boxes in a row would give p = 0.001).
MIN_TESTED_UNITS = 10
#: Units whose simulated statistics are compared with the observed ones in one step.
_PERMUTATION_BLOCK = 32
#: Most threads the permutations are shared between (at most one per core this process may use).
_MAX_THREADS = 4


@dataclass(frozen=True)
class Contiguity:
    """Queen contiguity of one level's units.

    Attributes
    ----------
    ids
        The units' ``area_id`` (as text), in the order given: the rows and columns of ``neighbours``.
    neighbours
        Binary ``n x n`` adjacency (CSR, sorted indices, no diagonal): 1 where two units share
        at least one vertex.
    islands
        Ids of units that touch no other unit (they get no cluster test).
    """

    ids: tuple[str, ...]
    neighbours: sparse.csr_matrix
    islands: tuple[str, ...]

    @cached_property
    def weights(self) -> W:
        """The same contiguity as a libpysal ``W`` (ids and ``id_order`` = :attr:`ids`), built on first use."""
        from libpysal.weights import W

        indptr, indices = self.neighbours.indptr, self.neighbours.indices
        neighbours = {
            unit: [self.ids[j] for j in indices[indptr[i] : indptr[i + 1]]] for i, unit in enumerate(self.ids)
        }
        # silence_warnings: islands and separate parts are expected (they are listed in ``islands``).
        return W(neighbours, id_order=list(self.ids), silence_warnings=True)


def queen_weights(units: gpd.GeoDataFrame) -> Contiguity:
    """Queen contiguity (a shared edge or corner) of the units' polygons, ids = ``area_id``.

    The rule is libpysal's ``Queen.from_dataframe(units, ids="area_id")``: two units are
    neighbours when their boundaries (every ring of every part) share at least one vertex with
    exactly equal coordinates. Islands and disconnected parts are allowed; the island ids are
    returned for the caller to report.
    """
    ids = tuple(str(i) for i in units["area_id"])
    neighbours = _shared_vertices(np.asarray(units.geometry.array, dtype=object))
    isolated = np.diff(neighbours.indptr) == 0
    return Contiguity(ids=ids, neighbours=neighbours, islands=tuple(np.asarray(ids, dtype=object)[isolated]))


def _shared_vertices(geometries: np.ndarray) -> sparse.csr_matrix:
    """Binary adjacency of geometries that share a vertex (libpysal's queen rule, without its Python loops)."""
    n = len(geometries)
    coordinates, owner = shapely.get_coordinates(geometries, return_index=True)
    # Adding 0.0 turns -0.0 into 0.0: Python tuples, which libpysal matches, hold them equal.
    x, y = coordinates[:, 0] + 0.0, coordinates[:, 1] + 0.0
    order = np.lexsort((owner, y, x))
    x, y, owner = x[order], y[order], owner[order]
    new_vertex = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    vertex = np.cumsum(new_vertex)
    distinct = np.r_[True, new_vertex[1:] | (owner[1:] != owner[:-1])]  # one row per vertex and unit
    vertex, owner = vertex[distinct], owner[distinct]
    first, second = [], []
    gap = 1
    # Rows of one vertex are consecutive: pair each with the rows 1, 2, ... further on in its group.
    while gap < len(vertex) and (same := vertex[gap:] == vertex[:-gap]).any():
        first.append(owner[:-gap][same])
        second.append(owner[gap:][same])
        gap += 1
    rows = np.concatenate([*first, *second]) if first else np.array([], dtype=np.int64)
    columns = np.concatenate([*second, *first]) if first else np.array([], dtype=np.int64)
    adjacency = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, n))
    adjacency.sum_duplicates()
    adjacency.data[:] = 1.0
    adjacency.sort_indices()
    return adjacency


@dataclass(frozen=True)
class GiStar:
    """Gi* results, one row per unit (in the weights' ``id_order``) and one column per variable.

    Attributes
    ----------
    z
        Gi* z-scores under normality (esda's ``Zs``); below 0 means lower than around it.
    p_sim
        Pseudo p-values from the conditional permutations (esda's ``p_sim``, one-sided in the
        direction the observed value lies: ``(min(larger, P - larger) + 1) / (P + 1)``).
    """

    z: np.ndarray
    p_sim: np.ndarray


def gi_star(
    values: np.ndarray,
    weights: W | Contiguity | sparse.spmatrix | sparse.sparray,
    *,
    permutations: int = GI_PERMUTATIONS,
    seed: int = GI_SEED,
) -> GiStar:
    """Getis-Ord Gi* of every column of ``values`` (units x variables, rows in the weights' unit order).

    ``weights`` is a libpysal ``W`` (rows in its ``id_order``), a :class:`Contiguity` (rows in
    its ``ids``) or an ``n x n`` adjacency matrix; only which pairs are non-zero counts.

    Reproduces, for each column ``y``, ``esda.G_Local(y, weights, transform="B", star=True,
    permutations=permutations, seed=seed)``: binary weights with the unit itself included
    (self-weight 1); ``Zs`` from Ord & Getis's moments; ``p_sim`` from esda's conditional
    randomisation (numpy's legacy ``RandomState(seed)`` draws, per permutation,
    ``choice(n - 1, max_neighbours, replace=False)``; unit ``i`` takes the first
    ``k_i`` of them, skipping itself), in esda's order of operations, with one difference:
    each unit's ``k_i`` drawn values are added left to right, where esda hands them to a BLAS
    product whose order of additions depends on the processor. The two agree except where a
    simulated statistic ties with the observed one to the last bit; there esda's answer
    changes from machine to machine and this one does not.

    A column that is constant, or sums to 0, has no z-score (NaN) and its p-values mean
    nothing; an island's "cluster" is itself alone. :func:`cold_spots` leaves both out.
    When no unit has a neighbour at all (where esda itself fails) every p-value is ``1 / (P + 1)``.
    """
    y = np.asarray(values, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    distinct, copies = _distinct_columns(y)
    if len(distinct) < y.shape[1]:  # e.g. two categories served by exactly the same services
        result = gi_star(y[:, distinct], weights, permutations=permutations, seed=seed)
        return GiStar(z=result.z[:, copies], p_sim=result.p_sim[:, copies])
    n, m = y.shape
    adjacency = weights.neighbours if isinstance(weights, Contiguity) else getattr(weights, "sparse", weights)
    if n != adjacency.shape[0]:
        raise ValueError(f"values have {n} rows but the weights have {adjacency.shape[0]} units")
    neighbours = sparse.csr_matrix((adjacency != 0).astype(float))
    neighbours.setdiag(0)
    neighbours.eliminate_zeros()
    star = (neighbours + sparse.identity(n, format="csr")).tocsr()
    star.sort_indices()

    # Per-column sums are taken one contiguous column at a time, as esda sums a 1-D y.
    columns = [np.ascontiguousarray(y[:, k]) for k in range(m)]
    total = np.array([c.sum() for c in columns])
    squares = np.array([(c**2).sum() for c in columns])
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (star @ y) / total
        mean = total / n
        variance = squares / n - mean**2
        cardinality = np.asarray(star.sum(axis=1)).reshape(-1, 1)
        expected = cardinality / n
        expected_variance = cardinality * (n - cardinality)
        expected_variance = expected_variance / (n - 1)
        expected_variance = expected_variance * (1 / n**2)
        expected_variance = expected_variance * (variance / mean**2)
        z = (observed - expected) / np.sqrt(expected_variance)
    p_sim = (
        _permutation_p(y, observed, total, neighbours, permutations, seed) if permutations else np.full((n, m), np.nan)
    )
    return GiStar(z=z, p_sim=p_sim)


def _distinct_columns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first of each bit-for-bit distinct column, and each column's place among them.

    Each column's Gi* depends on that column alone, so equal columns give equal results.
    """
    if not y.size:
        return np.arange(y.shape[1]), np.arange(y.shape[1])
    as_bytes = np.ascontiguousarray(y.T).view(np.dtype((np.void, y.shape[0] * y.itemsize))).ravel()
    _, first, inverse = np.unique(as_bytes, return_index=True, return_inverse=True)
    order = np.argsort(first)  # keep the columns in their own order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _permutation_p(
    y: np.ndarray, observed: np.ndarray, total: np.ndarray, neighbours: sparse.csr_matrix, permutations: int, seed: int
) -> np.ndarray:
    """esda's conditional randomisation of Gi* (``crand`` with ``_g_local_star_crand``), all columns at once.

    Each simulated statistic is ``(sum of the k drawn neighbours' values + y_i) / sum(y)`` with
    the k values summed left to right (see :func:`gi_star`), so every p-value is the same on
    every machine and with any number of threads (the columns are shared between threads).
    """
    n, m = y.shape
    cardinality = np.diff(neighbours.indptr)
    most = int(cardinality.max()) if n else 0
    if most == 0:  # no unit has a neighbour: esda's simulated set is empty, so p = 1 / (P + 1)
        return np.full((n, m), 1.0 / (permutations + 1.0))
    generator = np.random.RandomState(seed)
    draws = np.empty((permutations, most), dtype=np.int64)
    for k in range(permutations):
        draws[k] = generator.choice(n - 1, size=most, replace=False)
    flat_order = np.argsort(draws, axis=None, kind="stable")
    starts = np.searchsorted(draws.ravel()[flat_order], np.arange(n + 1))
    shared = _Draws(draws=draws, flat_order=flat_order, starts=starts, cardinality=cardinality)
    groups = [group for group in np.array_split(np.arange(m), min(_threads(), m)) if len(group)]
    if len(groups) == 1:
        return _permutation_columns(y, observed, total, shared)
    p_sim = np.empty((n, m))
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(groups)) as pool:
        parts = pool.map(
            lambda group: _permutation_columns(y[:, group], observed[:, group], total[group], shared), groups
        )
        for group, part in zip(groups, parts, strict=True):
            p_sim[:, group] = part
    return p_sim


@dataclass(frozen=True)
class _Draws:
    """The permutations' draws (P x most) and, for each unit, which entries hold it (read-only, shared)."""

    draws: np.ndarray
    flat_order: np.ndarray
    starts: np.ndarray
    cardinality: np.ndarray


def _threads() -> int:
    return max(1, min(_MAX_THREADS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def _permutation_columns(y: np.ndarray, observed: np.ndarray, total: np.ndarray, shared: _Draws) -> np.ndarray:
    """Pseudo p-values of some columns (see :func:`_permutation_p`).

    Columns of values that are never negative, with a positive sum, are counted against one
    threshold per unit (:func:`_bounded_permutation_columns`); any other column compares every
    simulated statistic (:func:`_exact_permutation_columns`). Both sum left to right and give
    the same p-values.
    """
    n, m = y.shape
    with np.errstate(invalid="ignore"):
        bounded = (
            np.isfinite(y).all(axis=0) & (y >= 0).all(axis=0) & np.isfinite(total) & (total > 0)
            if n
            else np.zeros(m, dtype=bool)
        )
    if bounded.all():
        return _bounded_permutation_columns(y, observed, total, shared)
    p_sim = np.empty((n, m))
    for chosen, count in ((bounded, _bounded_permutation_columns), (~bounded, _exact_permutation_columns)):
        if chosen.any():
            p_sim[:, chosen] = count(y[:, chosen], observed[:, chosen], total[chosen], shared)
    return p_sim


def _bounded_permutation_columns(y: np.ndarray, observed: np.ndarray, total: np.ndarray, shared: _Draws) -> np.ndarray:
    """Pseudo p-values of columns of non-negative values with a positive sum.

    A simulated statistic reaches the observed one when ``(s + y_i) / sum(y) >= observed``,
    ``s`` being the left-to-right sum of the unit's ``k`` drawn neighbours. That test only ever
    turns from false to true as ``s`` grows, so it is "``s >= s*``" for one threshold ``s*``
    per unit and column (:func:`_smallest_passing`, found exactly by bisection over the
    floats), and the count is how many running sums reach it. The running sums (kept per
    permutation, so moving from unit ``i - 1`` to ``i`` updates only the few rows whose draw
    was ``i - 1``) are those left-to-right sums exactly; islands are counted as esda counts
    them (:func:`_island_counts`).
    """
    n, m = y.shape
    permutations, most = shared.draws.shape
    flat_order, starts, cardinality = shared.flat_order, shared.starts, shared.cardinality
    by_column = np.ascontiguousarray(y.T)  # variables x units
    gathered = np.ascontiguousarray(by_column[:, shared.draws + 1])  # unit 0 reads draw c as row c + 1
    # running[t, v, p]: the first t + 1 gathered values of permutation p summed left to right.
    running = np.ascontiguousarray(np.cumsum(gathered, axis=2).transpose(2, 0, 1))
    threshold = _smallest_passing(y, observed, total)
    larger = np.empty((n, m), dtype=np.int64)
    for i in range(n):
        if i > 0:
            where = flat_order[starts[i - 1] : starts[i]]
            if len(where):
                draw, column = np.divmod(where, most)
                gathered[:, draw, column] = by_column[:, i - 1 : i]
                rows = np.unique(draw)
                running[:, :, rows] = np.cumsum(gathered[:, rows, :], axis=2).transpose(2, 0, 1)
        k = int(cardinality[i])
        if k == 0:  # an island: esda's own arithmetic (one neighbour of weight 0, self-weight 0)
            larger[i] = _island_counts(gathered, y[i], observed[i], total)
            continue
        # Summed as int8 along each row (count_nonzero with an axis converts every flag first).
        larger[i] = (running[k - 1] >= threshold[i, :, None]).view(np.int8).sum(axis=1, dtype=np.int32)
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return (larger + 1.0) / (permutations + 1.0)


def _island_counts(gathered: np.ndarray, y_i: np.ndarray, observed_i: np.ndarray, total: np.ndarray) -> np.ndarray:
    """How many simulated statistics of an island reach the observed one, per column, as esda counts them.

    esda gives a unit without neighbours one "neighbour" of weight 0 and a self-weight of 0, so each
    simulated statistic is ``(0 x a drawn value + 0 x y_i) / sum(y)``.
    """
    simulated = gathered[:, :, 0] * 0.0
    simulated += (0.0 * y_i)[:, None]
    simulated /= total[:, None]
    return np.count_nonzero(simulated >= observed_i[:, None], axis=1)


def _left_to_right(values: np.ndarray, k: int, out: np.ndarray) -> None:
    """``out = values[..., 0] + values[..., 1] + ... + values[..., k - 1]``, added in that order.

    esda sums a unit's drawn neighbours with a BLAS product, whose order of additions depends
    on the processor; when a simulated statistic ties with the observed one, the last bit of
    that sum decides, so esda's p-values can differ from one machine to another. Adding in a
    fixed order gives the same floats everywhere (the running sums of the bounded path are
    these same sums).
    """
    out[...] = values[..., 0]
    for j in range(1, k):
        out += values[..., j]


def _smallest_passing(y: np.ndarray, observed: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Per unit and column, the smallest float ``s >= 0`` with ``(s + y) / total >= observed``.

    That test is esda's for a simulated sum ``s`` (``total > 0``); it only ever turns from
    false to true as ``s`` grows, so a sum passes exactly when it is at least this
    threshold. Found by bisection over the bit patterns of non-negative floats (whose order
    is their value's), starting from a few units of the last place around
    ``observed x total - y``. 0 means every sum passes.
    """

    def passes(bits: np.ndarray, rows: np.ndarray) -> np.ndarray:
        s = bits.view(np.float64)
        return ((s + y_flat[rows]) / total_flat[rows]) >= observed_flat[rows]

    shape = y.shape
    y_flat = np.ascontiguousarray(y, dtype=float).ravel()
    observed_flat = np.ascontiguousarray(observed, dtype=float).ravel()
    total_flat = np.broadcast_to(total, shape).ravel()
    every = np.arange(y_flat.size)
    with np.errstate(invalid="ignore", over="ignore"):
        guess = observed_flat * total_flat - y_flat
        span = 16 * np.finfo(float).eps * (np.abs(observed_flat * total_flat) + np.abs(y_flat))
        low = np.maximum(np.nan_to_num(guess - span, nan=0.0, neginf=0.0), 0.0) + 0.0
        high = np.minimum(np.nan_to_num(guess + span, nan=np.inf, posinf=np.inf), np.inf) + 0.0
        high = np.maximum(high, low)
    low_bits, high_bits = low.view(np.int64).copy(), high.view(np.int64).copy()
    # Keep "low fails, high passes" (high = infinity always passes a finite observation).
    low_bits[passes(low_bits, every)] = 0
    high_bits[~passes(high_bits, every)] = np.float64(np.inf).view(np.int64)
    result = high_bits.copy()
    zero_passes = passes(np.zeros(y_flat.size, dtype=np.int64), every)
    result[zero_passes] = 0
    active = np.flatnonzero(~zero_passes & (high_bits - low_bits > 1))
    while len(active):
        middle = low_bits[active] + (high_bits[active] - low_bits[active]) // 2
        ok = passes(middle, active)
        high_bits[active[ok]] = middle[ok]
        low_bits[active[~ok]] = middle[~ok]
        active = active[high_bits[active] - low_bits[active] > 1]
    result[~zero_passes] = high_bits[~zero_passes]
    return result.view(np.float64).reshape(shape)


def _exact_permutation_columns(y: np.ndarray, observed: np.ndarray, total: np.ndarray, shared: _Draws) -> np.ndarray:
    """Pseudo p-values of some columns, comparing every simulated statistic (any values)."""
    n, m = y.shape
    permutations, most = shared.draws.shape
    flat_order, starts, cardinality = shared.flat_order, shared.starts, shared.cardinality
    by_column = np.ascontiguousarray(y.T)  # variables x units
    # Unit i reads draw c as row c + (c >= i) (esda skips the unit itself). The gathered values
    # are kept as one (variables, P, most) array, and moving from unit i - 1 to i changes only
    # the few entries whose draw is i - 1: they now read row i - 1, not i. Unit i's first k
    # values of each permutation are summed left to right (:func:`_left_to_right`).
    gathered = np.ascontiguousarray(by_column[:, shared.draws + 1])
    island = cardinality == 0  # esda gives an island one "neighbour" of weight 0 and self-weight 0
    width = np.maximum(cardinality, 1)
    self_weight = np.where(island, 0.0, 1.0)
    p_sim = np.empty((n, m))
    simulated = np.empty((_PERMUTATION_BLOCK, m, permutations))
    for first in range(0, n, _PERMUTATION_BLOCK):
        last = min(first + _PERMUTATION_BLOCK, n)
        for i in range(first, last):
            if i > 0:
                where = flat_order[starts[i - 1] : starts[i]]
                draw, column = np.divmod(where, most)
                gathered[:, draw, column] = by_column[:, i - 1 : i]
            if island[i]:
                np.multiply(gathered[:, :, 0], 0.0, out=simulated[i - first])
            else:
                _left_to_right(gathered, int(width[i]), out=simulated[i - first])
        # The rest element by element for the block, in esda's order: + self-weight x y_i, / sum(y).
        block = simulated[: last - first]
        block += (self_weight[first:last, None] * y[first:last])[:, :, None]
        block /= total[None, :, None]
        larger = np.count_nonzero(block >= observed[first:last, :, None], axis=2)
        low = (permutations - larger) < larger
        larger = np.where(low, permutations - larger, larger)
        p_sim[first:last] = (larger + 1.0) / (permutations + 1.0)
    return p_sim


def fdr_q_values(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of one family of tests (NaN p-values are not tests and stay NaN).

    With the ``m`` p-values sorted ascending, ``q_(r) = min over s >= r of p_(s) m / s``,
    capped at 1: a unit is significant at false-discovery rate ``alpha`` when ``q < alpha``.
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if not len(tested):
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    count = len(order)
    scaled = p[order] * count / np.arange(1, count + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


@dataclass(frozen=True)
class ClusterResult:
    """Gi* cold spots of one level.

    Attributes
    ----------
    table
        ``area_id``, ``category``, ``community``, ``gi_z``, ``p_value`` (the permutation
        pseudo p-value), ``q_value`` (Benjamini-Hochberg within the map) and ``cold_spot``
        (``q_value < alpha`` and ``gi_z < 0``), in the input table's row order.
    islands
        Units without neighbours: never tested, never a cold spot.
    """

    table: pd.DataFrame
    islands: tuple[str, ...]


def cold_spots(
    table: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    value: str = "access_ratio",
    permutations: int = GI_PERMUTATIONS,
    seed: int = GI_SEED,
    alpha: float = FDR_ALPHA,
    min_units: int = MIN_TESTED_UNITS,
) -> ClusterResult:
    """Gi* of ``value`` for every category x community map of one level, with BH q-values per map.

    Parameters
    ----------
    table
        One row per unit x category x community (``area_id``, ``category``,
        ``community``, ``value``), e.g. :func:`coverage_map.access.rollup_access`.
    units
        The level's polygons (``area_id``, geometry), e.g. ``Prepared.units[level]``.
    value
        The column tested.
    permutations, seed
        Of the conditional randomisation (999 and 12345 unless set).
    alpha
        False-discovery rate for ``cold_spot``.
    min_units
        A level with fewer units that have a neighbour is not tested (no z, p, q or cold spot).

    Notes
    -----
    A map (category x community) is tested only when the value is known for every unit
    and not constant; otherwise its rows have no z, p or q and no cold spot. Islands get
    no test (their z, p and q are empty) and the Benjamini-Hochberg family of a map is
    its tested units.
    """
    contiguity = queen_weights(units)
    ids = pd.Index(contiguity.ids)
    category, categories = _text_codes(table["category"])
    community, communities = _text_codes(table["community"])
    # One code per (category, community) pair, numbered in order of first appearance.
    pair_codes, pair_labels = pd.factorize(category * (len(communities) + 1) + community)
    area, area_ids = _text_codes(table["area_id"])
    unit_codes = np.r_[ids.get_indexer(area_ids), -1][area]  # a missing id (code -1) reads the -1 appended
    wide = np.full((len(ids), len(pair_labels)), np.nan)
    placed = unit_codes >= 0
    wide[unit_codes[placed], pair_codes[placed]] = table[value].to_numpy(dtype=float, na_value=np.nan)[placed]
    complete = ~np.isnan(wide).any(axis=0) & (
        np.nanmax(wide, axis=0, initial=-np.inf) > np.nanmin(wide, axis=0, initial=np.inf)
    )
    z = np.full(wide.shape, np.nan)
    p = np.full(wide.shape, np.nan)
    enough = len(ids) - len(contiguity.islands) >= min_units
    if complete.any() and len(ids) > 1 and enough:
        result = gi_star(wide[:, complete], contiguity, permutations=permutations, seed=seed)
        z[:, complete], p[:, complete] = result.z, result.p_sim
    island = ids.isin(list(contiguity.islands))
    z[island], p[island] = np.nan, np.nan
    p[~np.isfinite(z)] = np.nan
    q = np.column_stack([fdr_q_values(p[:, k]) for k in range(p.shape[1])]) if p.shape[1] else p
    rows = np.where(placed, unit_codes, 0), pair_codes
    gi_z = np.where(placed, z[rows], np.nan)
    q_value = np.where(placed, q[rows], np.nan)
    frame = pd.DataFrame(
        {
            "area_id": table["area_id"].to_numpy(),
            "category": table["category"].to_numpy(),
            "community": table["community"].to_numpy(),
            "gi_z": gi_z,
            "p_value": np.where(placed, p[rows], np.nan),
            "q_value": q_value,
            "cold_spot": (q_value < alpha) & (gi_z < 0),
        },
        index=table.index,
    )
    return ClusterResult(table=frame, islands=contiguity.islands)


def _text_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``column.astype(str)`` and its distinct texts, converting each distinct value once.

    Equal to factorising ``column.astype(str)``, without building millions of Python strings.
    """
    codes, uniques = pd.factorize(column.array, use_na_sentinel=False)
    texts = pd.Series(uniques, dtype=column.dtype).astype(str).to_numpy(dtype=object)
    merged, distinct = pd.factorize(texts)  # two values may read as the same text (1 and "1")
    return merged[codes], np.asarray(distinct, dtype=object)


def smoothed_rates(events: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Empirical-Bayes smoothed rates ``events / base`` (``esda.smoothing.Empirical_Bayes``).

    Small areas' rates are pulled towards the overall rate in proportion to how few people
    they have (Marshall 1991), so one referral among 20 people does not top the map. Areas
    with no base (0 or unknown) get NaN and take no part in the overall rate.
    """
    from esda.smoothing import Empirical_Bayes

    e = np.asarray(events, dtype=float)
    b = np.asarray(base, dtype=float)
    usable = np.isfinite(e) & np.isfinite(b) & (b > 0)
    rates = np.full(e.shape, np.nan)
    if usable.any():
        rates[usable] = np.asarray(Empirical_Bayes(e[usable], b[usable]).r, dtype=float).ravel()
    return rates


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I of one variable (row-standardised weights)."""

    i: float
    expected: float
    z_norm: float
    p_sim: float


def morans_i(
    values: np.ndarray, weights: W | Contiguity, *, permutations: int = GI_PERMUTATIONS, seed: int = GI_SEED
) -> MoranResult:
    """Moran's I (``esda.Moran``, row-standardised) with a seeded permutation p-value.

    ``values`` are in the order of the weights' units (``id_order``, or a :class:`Contiguity`'s
    ``ids``). esda's Moran draws from numpy's global generator; it is seeded here and restored
    afterwards, so results repeat and no other code's random stream changes. The weights
    are copied, because esda changes the transformation of the ``W`` it is given.
    """
    from esda.moran import Moran
    from libpysal.weights import W

    if isinstance(weights, Contiguity):
        weights = weights.weights
    copy = W(weights.neighbors, weights.weights, id_order=weights.id_order, silence_warnings=True)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        moran = Moran(np.asarray(values, dtype=float), copy, permutations=permutations)
    finally:
        np.random.set_state(state)
    return MoranResult(
        i=float(moran.I),
        expected=float(moran.EI),
        z_norm=float(moran.z_norm),
        p_sim=float(moran.p_sim) if permutations else float("nan"),
    )
