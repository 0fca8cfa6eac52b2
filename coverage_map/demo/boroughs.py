"""Boroughs and neighbourhoods: contiguous groups of small areas, grown over the adjacency graph.

Boroughs are shortest-path regions from the town centres; each borough is split into
neighbourhoods of about equal numbers of areas by capacity-balanced k-means, made
contiguous and rebalanced one boundary area at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import CoverageMapError
from .noise import random_waves
from .scales import Scale


def grow_boroughs(
    rng: np.random.Generator,
    xy: np.ndarray,
    adjacency: sparse.csr_matrix,
    centres: np.ndarray,
    density: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Boroughs as shortest-path regions from the town centres: contiguous, with wobbly edges.

    Steps cost distance times a power of the density (growth is counted partly in areas,
    so the dense core does not swallow everything) times a smooth noise. A head start
    per borough, tuned over a few rounds, steers the sizes towards random targets (the
    main centre's borough 1.7 times a typical town's, towns 0.75-1.3 times).
    """
    waves = random_waves(rng, 10, 3000.0, 9000.0)
    coo = adjacency.tocoo()
    mid_x = (xy[coo.row, 0] + xy[coo.col, 0]) / 2
    mid_y = (xy[coo.row, 1] + xy[coo.col, 1]) / 2
    length = np.hypot(*(xy[coo.row] - xy[coo.col]).T)
    cost = length * density(mid_x, mid_y) ** 0.45 * np.exp(0.35 * waves(mid_x, mid_y))
    _, sources = cKDTree(xy).query(centres)
    if len(np.unique(sources)) != len(sources):
        raise CoverageMapError("demo generator: two town centres fell in one area; try another seed")

    # One virtual start node per borough, joined to its centre by an edge of length
    # "head start"; shortest paths from the start nodes then split the areas.
    n, m = len(xy), len(sources)
    start = n + np.arange(m)
    share = np.concatenate([[1.7], rng.uniform(0.75, 1.3, m - 1)])
    target = share / share.sum() * n
    head_start = np.zeros(m)
    scale = float(np.median(cost)) * 3.0
    best, best_error = None, np.inf
    for _ in range(25):
        rows = np.concatenate([coo.row, coo.col, start])
        cols = np.concatenate([coo.col, coo.row, sources])
        weights = np.concatenate([cost, cost, head_start - head_start.min() + 1.0])
        graph = sparse.csr_matrix((weights, (rows, cols)), shape=(n + m, n + m))
        _, _, nearest = csgraph.dijkstra(graph, directed=True, indices=start, min_only=True, return_predecessors=True)
        labels = nearest[:n] - n
        sizes = np.bincount(labels, minlength=m)
        if (labels[sources] != np.arange(m)).any():
            break
        error = float(np.max(np.abs(sizes - target) / target))
        if error < best_error:
            best, best_error = labels, error
        head_start += scale * (sizes - target) / target
    if best is None:
        raise CoverageMapError("demo generator: could not grow the boroughs; try another seed")
    return best


def split_neighbourhoods(
    rng: np.random.Generator, spec: Scale, xy: np.ndarray, adjacency: sparse.csr_matrix, borough: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split every borough into contiguous neighbourhoods of about equal numbers of areas."""
    sizes = np.bincount(borough, minlength=spec.boroughs)
    counts = apportion(sizes, spec.neighbourhoods, minimum=3)
    neighbourhood = np.full(len(xy), -1)
    neighbourhood_borough: list[int] = []
    for b in range(spec.boroughs):
        members = np.flatnonzero(borough == b)
        labels = _balanced_clusters(rng, xy[members], adjacency[members][:, members], int(counts[b]))
        neighbourhood[members] = labels + len(neighbourhood_borough)
        neighbourhood_borough += [b] * int(counts[b])
    return neighbourhood, np.array(neighbourhood_borough)


def apportion(sizes: np.ndarray, total: int, *, minimum: int) -> np.ndarray:
    """Largest-remainder shares of ``total`` in proportion to ``sizes``, at least ``minimum`` each."""
    quota = sizes / sizes.sum() * total
    counts = np.maximum(np.floor(quota).astype(int), minimum)
    while counts.sum() < total:
        counts[np.argmax(quota - counts)] += 1
    while counts.sum() > total:
        spare = np.where(counts > minimum, counts - quota, -np.inf)
        counts[np.argmax(spare)] -= 1
    return counts


def _balanced_clusters(rng: np.random.Generator, xy: np.ndarray, adjacency: sparse.csr_matrix, k: int) -> np.ndarray:
    """``k`` contiguous clusters with 80-120% of the mean number of areas each.

    Capacity-balanced k-means (a power diagram whose weights grow for small clusters),
    then stray pieces are merged into neighbours and single boundary areas are moved
    from big clusters to small adjacent ones.
    """
    n = len(xy)
    if k == 1:
        return np.zeros(n, dtype=int)
    target = n / k
    centres = [xy[rng.integers(n)]]
    for _ in range(k - 1):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(xy[rng.choice(n, p=d2 / d2.sum())])
    centre = np.array(centres)
    spread = float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])) / k
    weight = np.zeros(k)
    for _ in range(150):
        cost = ((xy[:, None, :] - centre[None]) ** 2).sum(-1) - weight
        labels = np.argmin(cost, axis=1)
        sizes = np.bincount(labels, minlength=k)
        for j in np.flatnonzero(sizes):
            centre[j] = xy[labels == j].mean(axis=0)
        weight += 0.05 * spread * (target - sizes) / target
    labels = _contiguous(labels, adjacency)
    if labels.max() + 1 != k:
        raise CoverageMapError("demo generator: a neighbourhood came out empty; try another seed")
    return _rebalance(labels, adjacency, low=int(np.floor(0.8 * target)), high=int(np.ceil(1.2 * target)))


def _contiguous(labels: np.ndarray, adjacency: sparse.csr_matrix) -> np.ndarray:
    """Merge every disconnected piece of a cluster into the neighbouring cluster it touches most."""
    labels = _compact(labels.copy())
    for _ in range(100):
        changed = False
        for j in range(labels.max() + 1):
            members = np.flatnonzero(labels == j)
            pieces, piece = csgraph.connected_components(adjacency[members][:, members], directed=False)
            if pieces <= 1:
                continue
            main = np.argmax(np.bincount(piece))
            for p in range(pieces):
                if p == main:
                    continue
                stray = members[piece == p]
                touching = labels[adjacency[stray].indices]
                touching = touching[touching != j]
                labels[stray] = np.bincount(touching).argmax()
                changed = True
        labels = _compact(labels)
        if not changed:
            return labels
    raise CoverageMapError("demo generator: could not make neighbourhoods contiguous; try another seed")


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..k-1 in order of first appearance of each old label's value."""
    _, compact = np.unique(labels, return_inverse=True)
    return compact


def _rebalance(labels: np.ndarray, adjacency: sparse.csr_matrix, *, low: int, high: int) -> np.ndarray:
    """Move boundary areas between adjacent clusters until every size is in ``low..high``."""
    labels = labels.copy()
    k = labels.max() + 1
    for _ in range(20 * len(labels)):
        sizes = np.bincount(labels, minlength=k)
        if sizes.min() >= low and sizes.max() <= high:
            return labels
        deviation = np.maximum(sizes - high, 0) + np.maximum(low - sizes, 0)
        worst = int(np.argmax(deviation))
        moved = _move_one(labels, adjacency, sizes, worst, give=sizes[worst] > high)
        if not moved:
            break
    raise CoverageMapError("demo generator: could not balance neighbourhood sizes; try another seed")


def _move_one(labels: np.ndarray, adjacency: sparse.csr_matrix, sizes: np.ndarray, cluster: int, *, give: bool) -> bool:
    """Move one area across the border of ``cluster`` (out if ``give``, else in), keeping contiguity."""
    members = np.flatnonzero(labels == cluster)
    rows = adjacency[members]
    neighbours = np.unique(labels[rows.indices])
    neighbours = neighbours[neighbours != cluster]
    # Trade with the smallest neighbour when giving, the largest when taking.
    order = neighbours[np.argsort(sizes[neighbours] if give else -sizes[neighbours], kind="stable")]
    for other in order:
        donor, receiver = (cluster, other) if give else (other, cluster)
        donor_members = np.flatnonzero(labels == donor)
        for area in donor_members:
            touches = labels[adjacency[area].indices]
            if not (touches == receiver).any():
                continue
            rest = donor_members[donor_members != area]
            pieces, _ = csgraph.connected_components(adjacency[rest][:, rest], directed=False)
            if pieces == 1:
                labels[area] = receiver
                return True
    return False


def renumber(
    xy: np.ndarray,
    borough: np.ndarray,
    neighbourhood: np.ndarray,
    neighbourhood_borough: np.ndarray,
    centres: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order boroughs (main centre first, then clockwise from north) and neighbourhoods (north to south)."""
    bearing = np.mod(np.arctan2(centres[1:, 0] - centres[0, 0], centres[1:, 1] - centres[0, 1]), 2 * np.pi)
    borough_order = np.concatenate([[0], 1 + np.argsort(bearing, kind="stable")])
    borough_rank = np.empty_like(borough_order)
    borough_rank[borough_order] = np.arange(len(borough_order))
    new_borough = borough_rank[borough]
    k = len(neighbourhood_borough)
    mean_x = np.bincount(neighbourhood, weights=xy[:, 0], minlength=k) / np.bincount(neighbourhood, minlength=k)
    mean_y = np.bincount(neighbourhood, weights=xy[:, 1], minlength=k) / np.bincount(neighbourhood, minlength=k)
    nb_borough = borough_rank[neighbourhood_borough]
    order = np.lexsort((mean_x, -mean_y, nb_borough))
    rank = np.empty_like(order)
    rank[order] = np.arange(k)
    return new_borough, rank[neighbourhood], nb_borough[order], centres[borough_order]
