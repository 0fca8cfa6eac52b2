"""The region's geography in EPSG:27700: outline, town centres, small areas, boroughs and neighbourhoods.

Small areas are the Voronoi cells of seed points whose density falls off from the main
centre and the town centres; :func:`build_region` then groups them into boroughs and
neighbourhoods (:mod:`.boroughs`) and measures how central each one is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from ..errors import CoverageMapError
from .boroughs import grow_boroughs, renumber, split_neighbourhoods
from .noise import random_waves
from .scales import Scale

#: Points are placed at least this far inside their area, so reprojection never moves
#: one across a boundary.
_INSIDE_MARGIN_M = 15.0


@dataclass(frozen=True)
class Region:
    """The tessellated region in EPSG:27700; index ``i`` is small area ``i`` everywhere."""

    cells: np.ndarray
    xy: np.ndarray
    adjacency: sparse.csr_matrix
    borough: np.ndarray
    neighbourhood: np.ndarray
    neighbourhood_borough: np.ndarray
    centres: np.ndarray
    centre_distance_m: np.ndarray
    town_distance_m: np.ndarray
    outer: np.ndarray


def build_region(rng: np.random.Generator, spec: Scale) -> Region:
    """Outline, town centres, small areas, then boroughs and neighbourhoods, numbered in reading order."""
    outline = _outline(rng, spec)
    centres = _town_centres(rng, spec, outline)
    density = _density_function(rng, spec, centres)
    seeds = _seed_points(rng, spec, outline, density)
    cells, seeds = _tessellate(seeds, outline)
    xy = shapely.get_coordinates(shapely.centroid(cells))
    adjacency = _adjacency(cells)
    borough = grow_boroughs(rng, xy, adjacency, centres, density)
    neighbourhood, neighbourhood_borough = split_neighbourhoods(rng, spec, xy, adjacency, borough)
    borough, neighbourhood, neighbourhood_borough, centres = renumber(
        xy, borough, neighbourhood, neighbourhood_borough, centres
    )
    centre_distance = np.hypot(*(xy - centres[0]).T)
    town_distance = np.min(np.hypot(xy[:, None, 0] - centres[None, :, 0], xy[:, None, 1] - centres[None, :, 1]), axis=1)
    radius = float(np.sqrt(outline.area / np.pi))
    return Region(
        cells=cells,
        xy=xy,
        adjacency=adjacency,
        borough=borough,
        neighbourhood=neighbourhood,
        neighbourhood_borough=neighbourhood_borough,
        centres=centres,
        centre_distance_m=centre_distance,
        town_distance_m=town_distance,
        outer=np.clip(centre_distance / radius, 0.0, 1.0),
    )


def _outline(rng: np.random.Generator, spec: Scale) -> shapely.Polygon:
    """A wobbly, star-shaped region outline, wider east-west than north-south."""
    theta = np.linspace(0.0, 2 * np.pi, 720, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 7):
        radius += rng.uniform(0.02, 0.07) * np.cos(k * theta + rng.uniform(0.0, 2 * np.pi))
    for k in range(7, 40):
        radius += rng.uniform(0.0, 0.011) * np.cos(k * theta + rng.uniform(0.0, 2 * np.pi))
    cx, cy = spec.centre
    x = cx + spec.radius_m * 1.15 * radius * np.cos(theta)
    y = cy + spec.radius_m * 0.87 * radius * np.sin(theta)
    return shapely.set_precision(shapely.Polygon(np.column_stack([x, y])), 1.0)


def _town_centres(rng: np.random.Generator, spec: Scale, outline: shapely.Polygon) -> np.ndarray:
    """The main centre (row 0) and one town centre per other borough, in a rough ring."""
    if spec.layout == "national":
        return _scattered_centres(rng, spec, outline)
    cx, cy = spec.centre
    towns = spec.boroughs - 1
    angles = rng.uniform(0.0, 2 * np.pi) + 2 * np.pi * np.arange(towns) / towns
    angles += rng.uniform(-0.12, 0.12, towns)
    far = 4 * spec.radius_m
    rays = shapely.linestrings(
        np.stack(
            [
                np.column_stack([np.full(towns, cx), np.full(towns, cy)]),
                np.column_stack([cx + far * np.cos(angles), cy + far * np.sin(angles)]),
            ],
            axis=1,
        )
    )
    edge = shapely.length(shapely.intersection(rays, outline))
    reach = edge * rng.uniform(0.55, 0.70, towns)
    main = np.array([[cx + rng.uniform(-500, 500), cy + rng.uniform(-500, 500)]])
    ring = np.column_stack([cx + reach * np.cos(angles), cy + reach * np.sin(angles)])
    return np.vstack([main, ring])


def _scattered_centres(rng: np.random.Generator, spec: Scale, outline: shapely.Polygon) -> np.ndarray:
    """The main centre (row 0) and the town centres on a jittered grid over the outline.

    A ring, as for a city region, would put hundreds of towns a few km apart; a grid
    keeps them roughly evenly spread, never two in one small area.
    """
    cx, cy = spec.centre
    towns = spec.boroughs - 1
    step = float(np.sqrt(shapely.area(outline) / towns))
    minx, miny, maxx, maxy = outline.bounds
    while True:
        gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step))
        gx = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * step
        gy = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * step
        inside = shapely.contains_xy(outline, gx, gy) & (np.hypot(gx - cx, gy - cy) > step)
        if inside.sum() >= towns:
            break
        step *= 0.97
    pick = np.sort(rng.choice(int(inside.sum()), size=towns, replace=False))
    scattered = np.column_stack([gx[inside][pick], gy[inside][pick]])
    main = np.array([[cx + rng.uniform(-500, 500), cy + rng.uniform(-500, 500)]])
    return np.vstack([main, scattered])


def _density_function(
    rng: np.random.Generator, spec: Scale, centres: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Relative density of small areas (and so of people): high in the centres, low on the moors."""
    town_peak = rng.uniform(0.55, 1.0, len(centres) - 1)
    town_scale = rng.uniform(1400.0, 2200.0, len(centres) - 1)
    waves = random_waves(rng, 14, 4000.0, 14000.0)

    def density(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d0 = np.hypot(x - centres[0, 0], y - centres[0, 1])
        value = 0.03 + 1.6 * np.exp(-d0 / 2600.0) + 0.35 * np.exp(-d0 / 8000.0)
        for (tx, ty), peak, scale in zip(centres[1:], town_peak, town_scale, strict=True):
            value += peak * np.exp(-np.hypot(x - tx, y - ty) / scale)
        return value * np.exp(0.3 * waves(x, y))

    return density


def _seed_points(
    rng: np.random.Generator,
    spec: Scale,
    outline: shapely.Polygon,
    density: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Seed points whose density follows ``density``, relaxed so the cells are well shaped.

    A few density-weighted Lloyd iterations on a fine grid: with weights ``density**2``
    the relaxed points settle with a density proportional to ``density``.
    """
    minx, miny, maxx, maxy = outline.bounds
    step = spec.grid_step_m
    gx, gy = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step))
    gx = gx.ravel() + rng.uniform(-step / 2, step / 2, gx.size)
    gy = gy.ravel() + rng.uniform(-step / 2, step / 2, gy.size)
    inside = shapely.contains_xy(outline, gx, gy)
    grid = np.column_stack([gx[inside], gy[inside]])
    weight = density(grid[:, 0], grid[:, 1])
    chosen = rng.choice(len(grid), size=spec.areas, replace=False, p=weight / weight.sum())
    seeds = grid[chosen]
    weight = weight**2
    for _ in range(spec.relax_iterations):
        _, owner = cKDTree(seeds).query(grid)
        total = np.bincount(owner, weights=weight, minlength=len(seeds))
        sx = np.bincount(owner, weights=weight * grid[:, 0], minlength=len(seeds))
        sy = np.bincount(owner, weights=weight * grid[:, 1], minlength=len(seeds))
        moved = total > 0
        seeds[moved] = np.column_stack([sx[moved] / total[moved], sy[moved] / total[moved]])
    return seeds


def _tessellate(seeds: np.ndarray, outline: shapely.Polygon) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of ``seeds`` clipped to ``outline`` on a 1 m grid, each a single polygon."""
    envelope = shapely.box(*shapely.buffer(outline, 5000.0).bounds)
    voronoi = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=envelope, ordered=True)
    cells = shapely.intersection(shapely.get_parts(voronoi), outline, grid_size=1.0)
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) > 0)
    cells, seeds = cells[keep], seeds[keep]
    return _single_parts(cells), seeds


def _single_parts(cells: np.ndarray) -> np.ndarray:
    """Give every stray piece of a multi-part cell to the neighbour it shares most border with."""
    cells = cells.copy()
    for index in np.flatnonzero(shapely.get_type_id(cells) != 3):
        parts = shapely.get_parts(shapely.get_parts(cells[index]))
        parts = parts[shapely.get_type_id(parts) == 3]  # drop slivers that collapsed to lines
        parts = parts[np.argsort(-shapely.area(parts), kind="stable")]
        cells[index] = parts[0]
        for piece in parts[1:]:
            shared = shapely.length(shapely.intersection(shapely.boundary(cells), shapely.boundary(piece)))
            shared[index] = -1.0
            target = int(np.argmax(shared))
            cells[target] = shapely.union(cells[target], piece, grid_size=1.0)
    polygons = shapely.get_type_id(cells) == 3
    if not polygons.all():
        raise CoverageMapError("demo generator: the tessellation left a multi-part area; try another seed")
    return cells


def _adjacency(cells: np.ndarray) -> sparse.csr_matrix:
    """Symmetric matrix of shared border lengths (metres) between small areas."""
    left, right = shapely.STRtree(cells).query(cells, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    shared = shapely.length(shapely.intersection(cells[left], cells[right], grid_size=1.0))
    edge = shared > 1.0
    left, right, shared = left[edge], right[edge], shared[edge]
    n = len(cells)
    matrix = sparse.coo_matrix((shared, (left, right)), shape=(n, n))
    return (matrix + matrix.T).tocsr()


def points_in_areas(rng: np.random.Generator, cells: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uniform random point inside each given area, at least a small margin from its edge."""
    inner = shapely.buffer(cells, -_INSIDE_MARGIN_M)
    empty = shapely.is_empty(inner)
    inner[empty] = shapely.point_on_surface(cells[empty])
    shapely.prepare(inner)
    bounds = shapely.bounds(inner)
    x = np.full(len(area), np.nan)
    y = np.full(len(area), np.nan)
    pending = np.arange(len(area))
    for _ in range(200):
        if len(pending) == 0:
            return x, y
        box = bounds[area[pending]]
        px = box[:, 0] + rng.random(len(pending)) * (box[:, 2] - box[:, 0])
        py = box[:, 1] + rng.random(len(pending)) * (box[:, 3] - box[:, 1])
        hit = shapely.contains_xy(inner[area[pending]], px, py) | (box[:, 0] == box[:, 2])
        x[pending[hit]] = px[hit]
        y[pending[hit]] = py[hit]
        pending = pending[~hit]
    raise CoverageMapError("demo generator: could not place points inside their areas")
