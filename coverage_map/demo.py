"""A deterministic synthetic city region, written in the project's input formats.

The region is fictional but placed in British National Grid (around E 385000, N 400000)
so that CRS handling, distances and basemaps behave as for a real English city region:

* an irregular outline about 45 km across;
* small areas (LSOA-like, 1,300-2,000 people) from a Voronoi tessellation of points
  whose density falls off from a main centre and from one town centre per borough, so
  central areas are small and outer ones large;
* boroughs grown over the area adjacency graph from the town centres (contiguous), and
  neighbourhoods of 30,000-50,000 people as balanced contiguous clusters inside each
  borough;
* community assets, and two years of referrals whose destinations are nearby matching
  assets, with deliberate gaps that an analysis must find (see :func:`generate_demo`).

Only ``numpy.random.default_rng(seed)`` drives the randomness, every step works on
arrays in a fixed order and every output is sorted, so a seed gives byte-identical CSV
files. ``coverage-map demo-data --out geodata`` calls :func:`write_demo`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .config import DEMO_FILES, DISPLAY_CRS
from .errors import CoverageMapError
from .taxonomy import BUILTIN_CATEGORIES, BUILTIN_COMMUNITIES

DEFAULT_SEED = 2024
#: Referral dates run over 24 whole months, ending before the files were first shipped.
PERIOD_START = date(2024, 10, 1)
PERIOD_END = date(2026, 9, 30)
PERIOD_MONTHS = 24
#: Population columns: the communities the demo counts people for.
POPULATION_COMMUNITIES = ("older_people", "carers", "bame")
REGION_NAME = "Cottonport City Region"

GAPS_FILE = "gaps.json"
README_FILE = "README.md"

# A fixed OSGB36 -> WGS84 Helmert pipeline (EPSG "OSGB36 to WGS 84 (6)", ~2 m): PROJ's
# default would switch to the OSTN15 grid where it is installed, and the shipped files
# must not depend on which PROJ grids a machine happens to have.
_BNG_TO_LONLAT = Transformer.from_pipeline(
    "+proj=pipeline +step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 "
    "+y_0=-100000 +ellps=airy +step +proj=push +v_3 +step +proj=cart +ellps=airy "
    "+step +proj=helmert +x=446.448 +y=-125.157 +z=542.06 +rx=0.15 +ry=0.247 +rz=0.842 "
    "+s=-20.489 +convention=position_vector +step +inv +proj=cart +ellps=WGS84 "
    "+step +proj=pop +v_3 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
)
#: Points are placed at least this far inside their area, so reprojection never moves
#: one across a boundary.
_INSIDE_MARGIN_M = 15.0


@dataclass(frozen=True)
class _Scale:
    """Counts and sizes of one generated region; everything else follows from them."""

    boroughs: int
    neighbourhoods: int
    areas: int
    assets: int
    referrals: int
    radius_m: float
    centre: tuple[float, float]
    no_carers_neighbourhoods: int
    hotspots: int
    diverse_neighbourhoods: int
    relax_iterations: int
    grid_step_m: float
    over_capacity: int
    #: ``city``: one main centre with the town centres in a ring around it; ``national``:
    #: town centres scattered over the whole outline (hundreds of boroughs).
    layout: str = "city"
    #: Share of the assets that reach everywhere (city-wide, or national services).
    citywide_share: float = 0.03


_SCALES = {
    "demo": _Scale(
        boroughs=10,
        neighbourhoods=68,
        areas=1700,
        assets=1500,
        referrals=50_000,
        radius_m=21_000.0,
        centre=(385_000.0, 400_000.0),
        no_carers_neighbourhoods=6,
        hotspots=3,
        diverse_neighbourhoods=5,
        relax_iterations=8,
        grid_step_m=70.0,
        over_capacity=20,
    ),
    # England at small-area level for benchmarks: 33,755 LSOA-like areas in 300 boroughs,
    # 100,000 assets and 2 million referrals over an outline about 530 km across.
    "england": _Scale(
        boroughs=300,
        neighbourhoods=1350,
        areas=33_755,
        assets=100_000,
        referrals=2_000_000,
        radius_m=230_000.0,
        centre=(400_000.0, 300_000.0),
        no_carers_neighbourhoods=30,
        hotspots=30,
        diverse_neighbourhoods=60,
        relax_iterations=5,
        grid_step_m=500.0,
        over_capacity=20,
        layout="national",
        citywide_share=0.001,
    ),
}
#: File names per scale: the England-sized set keeps its big tables in (Geo)Parquet,
#: which loads many times faster than GeoJSON and CSV.
SCALE_FILES = {
    "demo": DEMO_FILES,
    "england": {
        "areas": "areas.parquet",
        "lookup": "lookup.csv",
        "population": "population.csv",
        "assets": "assets.csv",
        "referrals": "referrals.parquet",
    },
}


@dataclass(frozen=True)
class DemoData:
    """The synthetic region exactly as :func:`write_demo` writes it.

    Attributes
    ----------
    areas
        ``area_id``, ``area_name``, geometry (EPSG:4326, coordinates rounded to 6 decimals).
    lookup
        ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``, ``borough_id``, ``borough_name``.
    population
        ``area_id``, ``population``, ``pop_older_people``, ``pop_carers``, ``pop_bame`` (integers).
    assets
        ``asset_id``, ``name``, ``latitude``, ``longitude``, ``categories``, ``communities``,
        ``capacity``, ``accepting_referrals``, ``reach``, ``last_checked``, as written.
    referrals
        ``referral_id``, ``date``, ``category``, ``community``, ``origin_area_id``,
        ``latitude``, ``longitude``, ``asset_id``, as written.
    gaps
        The deliberate gaps, machine-readable (the content of ``gaps.json``).
    """

    areas: gpd.GeoDataFrame
    lookup: pd.DataFrame
    population: pd.DataFrame
    assets: pd.DataFrame
    referrals: pd.DataFrame
    gaps: dict


def generate_demo(*, seed: int = DEFAULT_SEED, scale: str = "demo") -> DemoData:
    """Generate the synthetic city region for ``seed``.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical frames.
    scale
        Size of the region: ``"demo"`` (10 boroughs, 68 neighbourhoods, about 1,700
        small areas, 1,500 assets, 50,000 referrals) or ``"england"`` (300 boroughs,
        1,350 neighbourhoods, 33,755 small areas, 100,000 assets, 2 million referrals;
        town centres scattered over the whole outline, for benchmarks).

    Returns
    -------
    DemoData
        The frames as written to disk, and the deliberate gaps:

        * ``no_dementia_borough``: no dementia asset sits in or reaches the borough;
        * ``no_carers_neighbourhoods``: no carers' support, and nothing listing carers,
          sits in or reaches these neighbourhoods;
        * ``bame_majority_no_provision_neighbourhood``: more than half its people are
          BAME, yet no asset listing BAME communities sits in or reaches it;
        * ``over_capacity_asset``: receives three times its monthly capacity;
        * ``mental_health_hotspot_neighbourhoods``: deprived inner neighbourhoods with
          high mental-health referral rates and no local mental-health provision.

    Raises
    ------
    CoverageMapError
        For an unknown ``scale``.
    """
    spec = _scale(scale)
    rng = np.random.default_rng(seed)
    region = _build_region(rng, spec)
    people = _populate(rng, spec, region)
    story = _choose_gaps(rng, spec, region, people)
    assets = _make_assets(rng, spec, region, people, story)
    referrals = _make_referrals(rng, spec, region, people, story, assets)
    assets = _fit_capacities(assets, referrals)
    return _assemble(seed, region, people, story, assets, referrals)


def write_demo(out_dir: str | Path, *, seed: int = DEFAULT_SEED, scale: str = "demo") -> dict[str, Path]:
    """Generate the demo region and write it, with ``gaps.json`` and a ``README.md``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing); existing files are replaced.
    seed
        Seed of the generator.
    scale
        ``demo`` (the shipped files) or ``england`` (33,755 areas, 100,000 assets and
        2 million referrals, for benchmarks; areas and referrals are written as
        (Geo)Parquet, see :data:`SCALE_FILES`).

    Returns
    -------
    dict
        Role (``areas``, ``lookup``, ``population``, ``assets``, ``referrals``, ``gaps``,
        ``readme``) -> path written.
    """
    data = generate_demo(seed=seed, scale=scale)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {role: out / name for role, name in SCALE_FILES[scale].items()}
    paths["gaps"] = out / GAPS_FILE
    paths["readme"] = out / README_FILE
    if scale != "demo":
        _write_large(data, paths, scale)
        return paths

    if paths["areas"].exists():
        paths["areas"].unlink()  # the GeoJSON driver refuses to overwrite
    data.areas.to_file(paths["areas"], driver="GeoJSON", COORDINATE_PRECISION=6)
    for role in ("lookup", "population", "assets", "referrals"):
        frame: pd.DataFrame = getattr(data, role)
        frame.to_csv(paths[role], index=False, lineterminator="\n", float_format="%.6f", encoding="utf-8")
    paths["gaps"].write_text(json.dumps(data.gaps, indent=2) + "\n", encoding="utf-8")
    paths["readme"].write_text(_readme(data), encoding="utf-8")
    return paths


def _write_large(data: DemoData, paths: dict[str, Path], scale: str) -> None:
    """Write a benchmark-sized set: (Geo)Parquet where the CSV or GeoJSON would be slow."""
    for role, frame in (("areas", data.areas), ("lookup", data.lookup), ("population", data.population),
                        ("assets", data.assets), ("referrals", data.referrals)):  # fmt: skip
        path = paths[role]
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6f", encoding="utf-8")
    paths["gaps"].write_text(json.dumps(data.gaps, indent=2) + "\n", encoding="utf-8")
    spec = _scale(scale)
    paths["readme"].write_text(
        f"# Synthetic {scale}-scale data (benchmarks only)\n\n**Everything in this folder is synthetic.** "
        f"{len(data.areas):,} small areas in {spec.boroughs} boroughs and {spec.neighbourhoods} neighbourhoods, "
        f"{len(data.assets):,} assets and {len(data.referrals):,} referrals (half by `origin_area_id`, half by "
        f"coordinates), generated by\n\n```bash\ncoverage-map demo-data --scale {scale} --seed {data.gaps['seed']} "
        f"--out DIR\n```\n\nThe columns are those of the demo data (see `geodata/README.md`).\n",
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class _Waves:
    """A smooth random field: a sum of plane waves, scaled to unit variance."""

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        angles = np.multiply.outer(x, self.kx) + np.multiply.outer(y, self.ky) + self.phase
        return np.sin(angles).sum(axis=-1) / np.sqrt(len(self.kx) / 2.0)


def _waves(rng: np.random.Generator, count: int, shortest_m: float, longest_m: float) -> _Waves:
    wavelength = rng.uniform(shortest_m, longest_m, count)
    direction = rng.uniform(0.0, 2 * np.pi, count)
    k = 2 * np.pi / wavelength
    return _Waves(k * np.cos(direction), k * np.sin(direction), rng.uniform(0.0, 2 * np.pi, count))


@dataclass(frozen=True)
class _Region:
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


def _scale(scale: str) -> _Scale:
    if scale not in _SCALES:
        raise CoverageMapError(f"unknown demo scale '{scale}'; choose one of {', '.join(_SCALES)}")
    return _SCALES[scale]


def _build_region(rng: np.random.Generator, spec: _Scale) -> _Region:
    outline = _outline(rng, spec)
    centres = _town_centres(rng, spec, outline)
    density = _density_function(rng, spec, centres)
    seeds = _seed_points(rng, spec, outline, density)
    cells, seeds = _tessellate(seeds, outline)
    xy = shapely.get_coordinates(shapely.centroid(cells))
    adjacency = _adjacency(cells)
    borough = _grow_boroughs(rng, xy, adjacency, centres, density)
    neighbourhood, neighbourhood_borough = _split_neighbourhoods(rng, spec, xy, adjacency, borough)
    borough, neighbourhood, neighbourhood_borough, centres = _renumber(
        xy, borough, neighbourhood, neighbourhood_borough, centres
    )
    centre_distance = np.hypot(*(xy - centres[0]).T)
    town_distance = np.min(np.hypot(xy[:, None, 0] - centres[None, :, 0], xy[:, None, 1] - centres[None, :, 1]), axis=1)
    radius = float(np.sqrt(outline.area / np.pi))
    return _Region(
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


def _outline(rng: np.random.Generator, spec: _Scale) -> shapely.Polygon:
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


def _town_centres(rng: np.random.Generator, spec: _Scale, outline: shapely.Polygon) -> np.ndarray:
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


def _scattered_centres(rng: np.random.Generator, spec: _Scale, outline: shapely.Polygon) -> np.ndarray:
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
    rng: np.random.Generator, spec: _Scale, centres: np.ndarray
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Relative density of small areas (and so of people): high in the centres, low on the moors."""
    town_peak = rng.uniform(0.55, 1.0, len(centres) - 1)
    town_scale = rng.uniform(1400.0, 2200.0, len(centres) - 1)
    waves = _waves(rng, 14, 4000.0, 14000.0)

    def density(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d0 = np.hypot(x - centres[0, 0], y - centres[0, 1])
        value = 0.03 + 1.6 * np.exp(-d0 / 2600.0) + 0.35 * np.exp(-d0 / 8000.0)
        for (tx, ty), peak, scale in zip(centres[1:], town_peak, town_scale, strict=True):
            value += peak * np.exp(-np.hypot(x - tx, y - ty) / scale)
        return value * np.exp(0.3 * waves(x, y))

    return density


def _seed_points(
    rng: np.random.Generator,
    spec: _Scale,
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


def _grow_boroughs(
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
    waves = _waves(rng, 10, 3000.0, 9000.0)
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


def _split_neighbourhoods(
    rng: np.random.Generator, spec: _Scale, xy: np.ndarray, adjacency: sparse.csr_matrix, borough: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split every borough into contiguous neighbourhoods of about equal numbers of areas."""
    sizes = np.bincount(borough, minlength=spec.boroughs)
    counts = _apportion(sizes, spec.neighbourhoods, minimum=3)
    neighbourhood = np.full(len(xy), -1)
    neighbourhood_borough: list[int] = []
    for b in range(spec.boroughs):
        members = np.flatnonzero(borough == b)
        labels = _balanced_clusters(rng, xy[members], adjacency[members][:, members], int(counts[b]))
        neighbourhood[members] = labels + len(neighbourhood_borough)
        neighbourhood_borough += [b] * int(counts[b])
    return neighbourhood, np.array(neighbourhood_borough)


def _apportion(sizes: np.ndarray, total: int, *, minimum: int) -> np.ndarray:
    """Largest-remainder shares of ``total`` in proportion to ``sizes``, at least ``minimum`` each."""
    quota = sizes / sizes.sum() * total
    counts = np.maximum(np.floor(quota).astype(int), minimum)
    while counts.sum() < total:
        counts[np.argmax(quota - counts)] += 1
    while counts.sum() > total:
        spare = np.where(counts > minimum, counts - quota, -np.inf)
        counts[np.argmax(spare)] -= 1
    return counts


def _balanced_clusters(
    rng: np.random.Generator, xy: np.ndarray, adjacency: sparse.csr_matrix, k: int
) -> np.ndarray:
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


def _move_one(
    labels: np.ndarray, adjacency: sparse.csr_matrix, sizes: np.ndarray, cluster: int, *, give: bool
) -> bool:
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


def _renumber(
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


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class _People:
    """Per small area: population, group counts and a 0-1 deprivation score (not shipped)."""

    population: np.ndarray
    older: np.ndarray
    carers: np.ndarray
    bame: np.ndarray
    deprivation: np.ndarray
    diverse: np.ndarray


def _populate(rng: np.random.Generator, spec: _Scale, region: _Region) -> _People:
    """People per area: deprivation first, then populations and the three group counts."""
    n = len(region.xy)
    k = len(region.neighbourhood_borough)
    nb = region.neighbourhood
    waves = _waves(rng, 10, 3000.0, 10000.0)
    x, y = region.xy.T
    town = np.min(np.hypot(x[:, None] - region.centres[None, 1:, 0], y[:, None] - region.centres[None, 1:, 1]), axis=1)
    deprivation = (
        0.62 * np.exp(-((region.centre_distance_m / 7000.0) ** 2))
        + 0.32 * np.exp(-((town / 2800.0) ** 2))
        + 0.12 * waves(x, y)
        + rng.normal(0.0, 0.10, k)[nb]
        + rng.normal(0.0, 0.04, n)
    )
    deprivation = np.clip(deprivation, 0.0, 1.0)

    # Neighbourhood totals first (30-50k), then areas around the neighbourhood mean.
    sizes = np.bincount(nb, minlength=k)
    total = rng.uniform(34_000, 46_000, k)
    mean = np.clip(total / sizes, 1_350, 1_950)[nb]
    population = np.clip(np.round(mean * np.exp(rng.normal(0.0, 0.06, n))), 1_300, 2_000).astype(np.int64)
    by_neighbourhood = np.bincount(nb, weights=population, minlength=k)
    if by_neighbourhood.min() < 30_000 or by_neighbourhood.max() > 50_000:
        raise CoverageMapError("demo generator: a neighbourhood fell outside 30-50k people; try another seed")

    older_share = 0.09 + 0.13 * (1 - deprivation) + 0.07 * region.outer + rng.normal(0.0, 0.02, n)
    carer_share = 0.085 + 0.15 * (older_share - 0.15) + rng.normal(0.0, 0.008, n)

    # BAME communities concentrate in a few deprived inner neighbourhoods and spill into their neighbours.
    mean_deprivation = np.bincount(nb, weights=deprivation, minlength=k) / sizes
    candidates = np.argsort(-mean_deprivation, kind="stable")[: 3 * spec.diverse_neighbourhoods]
    diverse = np.sort(rng.choice(candidates, size=spec.diverse_neighbourhoods, replace=False))
    is_diverse = np.isin(nb, diverse)
    touching = np.zeros(k, dtype=bool)
    rows = region.adjacency[np.flatnonzero(is_diverse)]
    touching[nb[rows.indices]] = True
    touching[diverse] = False
    level = np.full(k, 0.0)
    level[diverse] = rng.uniform(0.52, 0.72, len(diverse))
    level[touching] = rng.uniform(0.18, 0.32, int(touching.sum()))
    base = 0.03 + 0.22 * deprivation * (1 - region.outer)
    bame_share = np.where(level[nb] > 0, level[nb], base) + rng.normal(0.0, 0.03, n)

    def count(share: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.round(population * np.clip(share, low, high)).astype(np.int64)

    return _People(
        population=population,
        older=count(older_share, 0.05, 0.35),
        carers=count(carer_share, 0.08, 0.12),
        bame=count(bame_share, 0.01, 0.85),
        deprivation=deprivation,
        diverse=diverse,
    )


# --------------------------------------------------------------------------- gaps


@dataclass(frozen=True)
class _Story:
    """The deliberate gaps, as indices into boroughs and neighbourhoods."""

    no_dementia_borough: int
    no_carers: np.ndarray
    bame_gap: int
    hotspots: np.ndarray


def _choose_gaps(rng: np.random.Generator, spec: _Scale, region: _Region, people: _People) -> _Story:
    """Pick where the deliberate gaps go, keeping the stories apart from each other."""
    nb = region.neighbourhood
    k = len(region.neighbourhood_borough)
    sizes = np.bincount(nb, minlength=k)
    deprivation = np.bincount(nb, weights=people.deprivation, minlength=k) / sizes
    hotspots = np.sort(np.argsort(-deprivation, kind="stable")[: spec.hotspots])

    bame_share = np.bincount(nb, weights=people.bame, minlength=k) / np.bincount(
        nb, weights=people.population, minlength=k
    )
    majority = [j for j in people.diverse if bame_share[j] > 0.55 and j not in hotspots]
    if not majority:
        raise CoverageMapError("demo generator: no BAME-majority neighbourhood to leave without provision")
    bame_gap = int(rng.choice(majority))

    outer_boroughs = np.arange(1, spec.boroughs)
    no_dementia = int(rng.choice(outer_boroughs))

    taken = set(hotspots.tolist()) | {bame_gap}
    boroughs = rng.permutation(spec.boroughs)[: spec.no_carers_neighbourhoods]
    no_carers = []
    for b in boroughs:
        options = [j for j in np.flatnonzero(region.neighbourhood_borough == b) if j not in taken]
        no_carers.append(int(rng.choice(options)))
    return _Story(
        no_dementia_borough=no_dementia,
        no_carers=np.sort(np.array(no_carers)),
        bame_gap=bame_gap,
        hotspots=hotspots,
    )


# --------------------------------------------------------------------------- assets

CATEGORIES = tuple(BUILTIN_CATEGORIES)
COMMUNITIES = tuple(BUILTIN_COMMUNITIES)

#: How often a local group has each category first.
_CATEGORY_WEIGHT = {
    "mental_health": 12, "physical_activity": 13, "loneliness_isolation": 11, "arts_creativity": 8,
    "nature_green_space": 6, "debt_benefits_advice": 5, "housing": 3, "employment_skills": 4,
    "learning_volunteering": 5, "peer_support": 6, "befriending": 5, "food_nutrition": 6,
    "long_term_conditions": 4, "dementia": 4, "carers_support": 4, "domestic_abuse": 1.2,
    "substance_misuse": 1.2,
}  # fmt: skip
#: Categories that often come together with the first one.
_COMPANIONS = {
    "mental_health": ("peer_support", "loneliness_isolation", "arts_creativity", "physical_activity"),
    "dementia": ("loneliness_isolation", "carers_support", "arts_creativity", "befriending"),
    "carers_support": ("mental_health", "peer_support", "loneliness_isolation"),
    "loneliness_isolation": ("befriending", "food_nutrition", "mental_health", "arts_creativity"),
    "physical_activity": ("mental_health", "loneliness_isolation", "long_term_conditions", "nature_green_space"),
    "arts_creativity": ("mental_health", "loneliness_isolation", "learning_volunteering"),
    "nature_green_space": ("physical_activity", "mental_health", "learning_volunteering", "food_nutrition"),
    "debt_benefits_advice": ("housing", "employment_skills", "food_nutrition"),
    "housing": ("debt_benefits_advice", "substance_misuse", "mental_health"),
    "employment_skills": ("learning_volunteering", "debt_benefits_advice", "mental_health"),
    "learning_volunteering": ("employment_skills", "loneliness_isolation", "arts_creativity"),
    "peer_support": ("mental_health", "long_term_conditions", "substance_misuse"),
    "befriending": ("loneliness_isolation", "mental_health"),
    "food_nutrition": ("debt_benefits_advice", "loneliness_isolation", "long_term_conditions"),
    "long_term_conditions": ("physical_activity", "peer_support", "mental_health"),
    "domestic_abuse": ("mental_health", "housing", "peer_support"),
    "substance_misuse": ("mental_health", "peer_support", "housing"),
}
_COMMUNITY_WEIGHT = {
    "older_people": 26, "carers": 6, "bame": 10, "young_people": 14, "lgbtq": 5,
    "disabled_people": 10, "women": 10, "men": 7, "refugees": 4,
}  # fmt: skip
_LOCAL_NAMES = {
    "mental_health": ("Wellbeing Café", "Mind & Mood Group", "Talking Space", "Anxiety Support Group",
                      "Mindfulness Circle", "Hearing Voices Group", "Wellbeing Hub"),
    "dementia": ("Dementia Café", "Memory Café", "Singing for Memory", "Forget-Me-Not Club",
                 "Dementia Carers' Lunch"),
    "carers_support": ("Carers' Café", "Carers Support Group", "Young Carers Club", "Carers' Drop-in"),
    "loneliness_isolation": ("Lunch Club", "Friendship Group", "Knit & Natter", "Coffee Morning",
                             "Community Café", "Tea & Chat"),
    "physical_activity": ("Walking Group", "Chair Yoga", "Walking Football", "Cycling Club",
                          "Tai Chi Class", "Dance Fitness", "Parkrun Buddies"),
    "arts_creativity": ("Community Choir", "Art Club", "Pottery Studio", "Ukulele Group",
                        "Creative Writing Circle", "Crochet Café"),
    "nature_green_space": ("Community Garden", "Allotment Society", "Friends of the Park", "Green Gym",
                           "Orchard Project"),
    "debt_benefits_advice": ("Money Advice Drop-in", "Benefits Clinic", "Welfare Rights Surgery"),
    "housing": ("Housing Advice Surgery", "Tenants' Association", "Homeless Drop-in"),
    "employment_skills": ("Job Club", "CV & Résumé Clinic", "Digital Skills Hub", "Work Club"),
    "learning_volunteering": ("Adult Learning Centre", "Volunteer Hub", "Library Learning",
                              "Conversation Café"),
    "peer_support": ("Peer Support Group", "Recovery Café", "Bereavement Café", "Self-Help Circle"),
    "befriending": ("Befriending Scheme", "Good Neighbours", "Phone Friends"),
    "food_nutrition": ("Food Bank", "Community Pantry", "Cook & Eat Club", "Community Fridge"),
    "long_term_conditions": ("Breathe Easy Group", "Diabetes Support Group", "Stroke Club",
                             "Pain Management Café", "Parkinson's Support Group"),
    "domestic_abuse": ("Safe Space Drop-in", "Domestic Abuse Support Group", "Survivors' Circle"),
    "substance_misuse": ("Alcohol Support Group", "Drug & Alcohol Drop-in", "Recovery Walk"),
}
_COMMUNITY_NAMES = {
    "older_people": ("Over-60s Club", "Silver Sociable", "Seniors' Lunch Club"),
    "carers": ("Carers' Café", "Carers' Coffee Club"),
    "bame": ("South Asian Women's Group", "African Caribbean Elders", "Bangladeshi Welfare Association",
             "Chinese Community Centre", "Somali Community Hub", "Punjabi Wellbeing Circle",
             "Yemeni Community Association", "Kurdish Community Centre"),
    "young_people": ("Youth Club", "Young People's Wellbeing Project"),
    "lgbtq": ("Rainbow Café", "LGBTQ+ Social", "Pride Walkers"),
    "disabled_people": ("Inclusive Sports Club", "Disability Forum", "Accessible Arts"),
    "women": ("Women's Wellbeing Circle", "Women's Walking Group", "Women's Café"),
    "men": ("Men's Shed", "Men's Talking Group", "Men's Walking Football"),
    "refugees": ("Refugee Welcome Drop-in", "English Conversation Café", "New Neighbours Project"),
}
_VENUES = ("Mill Lane", "Church Street", "Canalside", "Victoria Road", "St Bede's", "Station Road",
           "Market Place", "Brook Street", "Chapel Row", "Park View", "Weaver's Yard", "Hope Street")
#: Borough-wide services: (name after the borough, categories, communities). None of them
#: offers carers' support or lists carers or BAME communities (those stay local).
_BOROUGH_SERVICES = (
    ("Talking Therapies", ("mental_health",), ()),
    ("Healthy Minds", ("mental_health", "peer_support"), ()),
    ("Dementia Advisers", ("dementia",), ("older_people",)),
    ("Memory Support Service", ("dementia", "befriending"), ()),
    ("Welfare Rights Service", ("debt_benefits_advice",), ()),
    ("Community Connectors", ("loneliness_isolation",), ()),
    ("Adult Learning Service", ("learning_volunteering", "employment_skills"), ()),
    ("Active Lifestyles", ("physical_activity",), ()),
    ("Housing Solutions", ("housing",), ()),
    ("Food Network", ("food_nutrition",), ()),
    ("Befriending Scheme", ("befriending", "loneliness_isolation"), ("older_people",)),
    ("Recovery Service", ("substance_misuse",), ()),
    ("Domestic Abuse Outreach", ("domestic_abuse",), ("women",)),
    ("Employment Hub", ("employment_skills",), ()),
    ("Heart & Lung Support", ("long_term_conditions",), ()),
    ("Volunteer Hub", ("learning_volunteering",), ()),
    ("Arts Network", ("arts_creativity",), ()),
    ("Green Spaces Volunteers", ("nature_green_space",), ()),
    ("Youth Service", ("mental_health", "physical_activity"), ("young_people",)),
)
#: City-wide organisations: (service, categories, communities, weight). No dementia, no
#: carers' support and no carers or BAME communities: those gaps must stay visible.
_CITYWIDE_SERVICES = (
    ("Mental Health Helpline", ("mental_health",), (), 5),
    ("Crisis Text Line", ("mental_health",), ("young_people",), 2),
    ("Recovery College", ("mental_health", "learning_volunteering"), (), 2),
    ("Bereavement Support Line", ("mental_health", "peer_support"), (), 2),
    ("Men's Mental Health Network", ("mental_health", "peer_support"), ("men",), 1),
    ("Debt Advice Line", ("debt_benefits_advice",), (), 4),
    ("Welfare Benefits Helpline", ("debt_benefits_advice", "housing"), (), 2),
    ("Domestic Abuse Service", ("domestic_abuse",), ("women",), 3),
    ("Domestic Abuse Helpline", ("domestic_abuse",), (), 2),
    ("Drug & Alcohol Service", ("substance_misuse",), (), 3),
    ("Housing Advice Line", ("housing",), (), 2),
    ("Telephone Befriending", ("befriending", "loneliness_isolation"), ("older_people",), 2),
    ("LGBTQ+ Switchboard", ("mental_health", "peer_support"), ("lgbtq",), 1),
    ("Refugee Support Network", ("housing", "debt_benefits_advice"), ("refugees",), 1),
    ("Employment Support Line", ("employment_skills",), (), 1),
    ("Food Poverty Network", ("food_nutrition",), (), 1),
    ("Sight Loss Support", ("long_term_conditions",), ("disabled_people",), 1),
    ("Long-Term Conditions Network", ("long_term_conditions", "peer_support"), (), 1),
    ("Green Prescribing Network", ("nature_green_space", "physical_activity"), (), 1),
    ("Arts on Prescription", ("arts_creativity", "mental_health"), (), 1),
)
_BRANDS = ("Beacon", "Open Door", "Lantern", "Harbour", "Compass", "Northern Light", "Kindred",
           "Threshold", "Keystone", "Evergreen", "Anchor", "Bridgeway", "Hearth", "Waypoint", "Clearwater")
_RADIUS_KM = (2, 3, 3, 4, 5, 8)


@dataclass(frozen=True)
class _Assets:
    """Generated assets in generation order; ``area`` indexes the small areas.

    ``name`` is the fixed name of a borough or city-wide service (``{borough}`` is filled
    in once boroughs have names) or ``None`` for a local group, named later from its
    first category or community and its neighbourhood.
    """

    area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    name: list[str | None]
    categories: list[tuple[str, ...]]
    communities: list[tuple[str, ...]]
    capacity: list[int | None]
    accepting: np.ndarray
    reach: list[str]
    last_checked: list[str]
    over_capacity: int


def _make_assets(
    rng: np.random.Generator, spec: _Scale, region: _Region, people: _People, story: _Story
) -> _Assets:
    """Place and describe the assets: 80% local, 10% within a radius, 7% borough-wide, 3% city-wide."""
    n = spec.assets
    nb = region.neighbourhood
    kinds = np.array(["citywide"] * round(spec.citywide_share * n) + ["borough"] * round(0.07 * n) + ["radius"] * round(0.10 * n))
    kinds = np.concatenate([kinds, np.full(n - len(kinds), "local")])
    kinds = kinds[rng.permutation(n)]

    # Where: local groups follow people and town centres (thinner in the hotspots);
    # borough services sit near their town centre; city-wide ones in the main centre.
    # Offices of borough and city-wide services stay out of the hotspots, which have no
    # mental-health provision of their own.
    hotspot = np.isin(nb, story.hotspots)
    spread = people.population * (1 + 2 * np.exp(-region.town_distance_m / 1500.0))
    spread = spread * np.where(hotspot, 0.5, 1.0)
    area = rng.choice(len(nb), size=n, p=spread / spread.sum())
    central = np.exp(-region.centre_distance_m / 1200.0) * ~hotspot
    city = kinds == "citywide"
    area[city] = rng.choice(len(nb), size=int(city.sum()), p=central / central.sum())

    borough_services = _borough_service_plan(rng, spec, story, int((kinds == "borough").sum()))
    borough_slots = np.flatnonzero(kinds == "borough")
    for slot, (b, _) in zip(borough_slots, borough_services, strict=True):
        members = np.flatnonzero((region.borough == b) & ~hotspot)
        near = np.exp(-np.hypot(*(region.xy[members] - region.centres[b]).T) / 1500.0)
        area[slot] = members[rng.choice(len(members), p=near / near.sum())]

    forbidden_categories, forbidden_communities = _forbidden(region, story, area, kinds)
    categories: list[tuple[str, ...]] = []
    communities: list[tuple[str, ...]] = []
    names: list[str | None] = []
    reach: list[str] = []
    citywide = _citywide_plan(rng, int(city.sum()))
    borough_iter = iter(borough_services)
    city_iter = iter(citywide)
    for i in range(n):
        if kinds[i] == "citywide":
            name, cats, comms = next(city_iter)
            categories.append(cats)
            communities.append(comms)
            names.append(name)
            reach.append("citywide")
        elif kinds[i] == "borough":
            _, (service, cats, comms) = next(borough_iter)
            categories.append(cats)
            communities.append(comms)
            names.append(f"{{borough}} {service}")
            reach.append("borough")
        else:
            categories.append(_draw_categories(rng, forbidden_categories[i]))
            communities.append(())
            names.append(None)
            reach.append("local" if kinds[i] == "local" else str(_RADIUS_KM[rng.integers(len(_RADIUS_KM))]))

    _guarantee_categories(rng, region, story, area, kinds, categories)
    for i in range(n):
        if names[i] is None:
            communities[i] = _draw_communities(rng, people, area[i], categories[i], forbidden_communities[i])
    _guarantee_bame(rng, region, people, story, area, kinds, communities)
    _check_gap_rules(region, story, area, categories, communities, reach)

    x, y = _points_in_areas(rng, region.cells, area)
    capacity = _capacities(rng, kinds)
    accepting = rng.random(n) >= 0.10
    last_checked = _last_checked(rng, n)

    over = _pick_over_capacity(region, story, area, kinds, categories)
    capacity[over] = spec.over_capacity
    accepting[over] = True
    return _Assets(
        area=area,
        x=x,
        y=y,
        name=names,
        categories=categories,
        communities=communities,
        capacity=capacity,
        accepting=accepting,
        reach=reach,
        last_checked=last_checked,
        over_capacity=over,
    )


def _borough_service_plan(
    rng: np.random.Generator, spec: _Scale, story: _Story, count: int
) -> list[tuple[int, tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """Borough-wide services spread evenly over boroughs, none offering dementia in the gap borough."""
    plan: list[tuple[int, tuple[str, tuple[str, ...], tuple[str, ...]]]] = []
    boroughs = np.resize(np.arange(spec.boroughs), count)
    used: set[tuple[int, str]] = set()
    for b in boroughs:
        options = [
            s for s in _BOROUGH_SERVICES
            if (int(b), s[0]) not in used and not (b == story.no_dementia_borough and "dementia" in s[1])
        ]  # fmt: skip
        if not options:  # more services than kinds (national scale): a borough gets a second office
            options = [s for s in _BOROUGH_SERVICES if not (b == story.no_dementia_borough and "dementia" in s[1])]
        service = options[rng.integers(len(options))]
        used.add((int(b), service[0]))
        plan.append((int(b), service))
    return plan


def _citywide_plan(rng: np.random.Generator, count: int) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """City-wide organisations in proportion to the service weights, in random order.

    The first of each service is named after the region, the others after charity brands.
    """
    weights = np.array([s[3] for s in _CITYWIDE_SERVICES], dtype=float)
    counts = _apportion(weights, count, minimum=0)
    services = np.repeat(np.arange(len(weights)), counts)[rng.permutation(count)]
    plan: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    used: set[str] = set()
    region_word = REGION_NAME.split()[0]
    for index in services:
        service, cats, comms, _ = _CITYWIDE_SERVICES[index]
        name = f"{region_word} {service}"
        attempts = 0
        while name in used:
            attempts += 1
            if attempts > 100:  # every brand taken (national scale): number the service instead
                name = f"{region_word} {service} {attempts - 99}"
            else:
                name = f"{_BRANDS[rng.integers(len(_BRANDS))]} {service}"
        used.add(name)
        plan.append((name, cats, comms))
    return plan


def _forbidden(
    region: _Region, story: _Story, area: np.ndarray, kinds: np.ndarray
) -> tuple[list[set[str]], list[set[str]]]:
    """Per asset, the categories and communities it must not offer (to keep the gaps clean)."""
    categories: list[set[str]] = []
    communities: list[set[str]] = []
    for a, kind in zip(area, kinds, strict=True):
        cats: set[str] = set()
        comms: set[str] = set()
        if region.borough[a] == story.no_dementia_borough:
            cats.add("dementia")
        if region.neighbourhood[a] in story.no_carers:
            cats.add("carers_support")
            comms.add("carers")
        if region.neighbourhood[a] == story.bame_gap:
            comms.add("bame")
        if region.neighbourhood[a] in story.hotspots:
            cats.add("mental_health")
        if kind != "local":
            cats.add("carers_support")
            comms.update({"carers", "bame"})
        if kind == "radius":
            cats.add("dementia")
        categories.append(cats)
        communities.append(comms)
    return categories, communities


def _draw_categories(rng: np.random.Generator, forbidden: set[str]) -> tuple[str, ...]:
    allowed = [c for c in CATEGORIES if c not in forbidden]
    weight = np.array([_CATEGORY_WEIGHT[c] for c in allowed], dtype=float)
    first = allowed[rng.choice(len(allowed), p=weight / weight.sum())]
    extra = int(rng.choice(3, p=[0.5, 0.35, 0.15]))
    companions = [c for c in _COMPANIONS[first] if c not in forbidden]
    chosen = [first]
    if extra and companions:
        picks = rng.permutation(len(companions))[:extra]
        chosen += [companions[p] for p in np.sort(picks)]
    return tuple(chosen)


def _draw_communities(
    rng: np.random.Generator, people: _People, area: int, categories: tuple[str, ...], forbidden: set[str]
) -> tuple[str, ...]:
    """About 30% of groups name one or two communities; the rest are open to all."""
    first = categories[0]
    chance = {"carers_support": 0.5, "dementia": 0.45}.get(first, 0.27)
    if rng.random() >= chance:
        return ()
    weight = dict(_COMMUNITY_WEIGHT)
    share_bame = people.bame[area] / people.population[area]
    weight["bame"] *= 0.3 + 8 * share_bame
    weight["refugees"] *= 0.3 + 5 * share_bame
    if first == "carers_support":
        weight["carers"] *= 25
    if first == "dementia":
        weight["older_people"] *= 4
        weight["carers"] *= 4
    if first == "domestic_abuse":
        weight["women"] *= 8
    labels = [c for c in COMMUNITIES if c not in forbidden]
    w = np.array([weight[c] for c in labels], dtype=float)
    size = 1 if rng.random() < 0.8 else 2
    picks = rng.choice(len(labels), size=size, replace=False, p=w / w.sum())
    return tuple(labels[p] for p in np.sort(picks))


def _guarantee_categories(
    rng: np.random.Generator,
    region: _Region,
    story: _Story,
    area: np.ndarray,
    kinds: np.ndarray,
    categories: list[tuple[str, ...]],
) -> None:
    """Every borough but the gap has dementia support, every neighbourhood but the gaps carers' support.

    Random placement would leave extra, undocumented gaps; a local group is given the
    missing category first instead. Mutates ``categories`` (a private working list).
    """
    local = kinds == "local"
    for b in range(len(region.centres)):
        if b == story.no_dementia_borough:
            continue
        here = np.flatnonzero(region.borough[area] == b)
        if any("dementia" in categories[i] for i in here):
            continue
        _give(rng, here[local[here]], "dementia", categories)
    for j in range(len(region.neighbourhood_borough)):
        if j in story.no_carers:
            continue
        here = np.flatnonzero(region.neighbourhood[area] == j)
        if any("carers_support" in categories[i] for i in here):
            continue
        _give(rng, here[local[here]], "carers_support", categories)
    missing = set(CATEGORIES) - {c for cats in categories for c in cats}
    if missing:
        raise CoverageMapError(f"demo generator: no asset offers {sorted(missing)}; try another seed")


def _give(rng: np.random.Generator, candidates: np.ndarray, category: str, categories: list[tuple[str, ...]]) -> None:
    if len(candidates) == 0:
        raise CoverageMapError(f"demo generator: nowhere to place {category} provision; try another seed")
    i = int(candidates[rng.integers(len(candidates))])
    categories[i] = (category, *[c for c in categories[i] if c != category][:2])


def _guarantee_bame(
    rng: np.random.Generator,
    region: _Region,
    people: _People,
    story: _Story,
    area: np.ndarray,
    kinds: np.ndarray,
    communities: list[tuple[str, ...]],
) -> None:
    """Every diverse neighbourhood but the gap has at least two groups for BAME communities."""
    local = kinds == "local"
    for j in people.diverse:
        if j == story.bame_gap:
            continue
        here = np.flatnonzero((region.neighbourhood[area] == j) & local)
        have = [i for i in here if "bame" in communities[i]]
        others = np.array([i for i in here if "bame" not in communities[i]], dtype=int)
        for i in rng.permutation(others)[: max(0, 2 - len(have))]:
            communities[i] = ("bame",)


def _check_gap_rules(
    region: _Region,
    story: _Story,
    area: np.ndarray,
    categories: list[tuple[str, ...]],
    communities: list[tuple[str, ...]],
    reach: list[str],
) -> None:
    """Fail loudly if generation broke one of the documented gaps."""
    for i, a in enumerate(area):
        cats, comms, how = set(categories[i]), set(communities[i]), reach[i]
        broken = (
            ("dementia" in cats and (how not in ("local", "borough") or region.borough[a] == story.no_dementia_borough))
            or (("carers_support" in cats or "carers" in comms)
                and (how != "local" or region.neighbourhood[a] in story.no_carers))
            or ("bame" in comms and (how != "local" or region.neighbourhood[a] == story.bame_gap))
            or ("mental_health" in cats and region.neighbourhood[a] in story.hotspots)
        )  # fmt: skip
        if broken:
            raise CoverageMapError(f"demo generator: asset {i} breaks a deliberate gap")


def _points_in_areas(rng: np.random.Generator, cells: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _capacities(rng: np.random.Generator, kinds: np.ndarray) -> list[int | None]:
    """Referrals per month each asset can take: 5-60, unknown for about 8%."""
    local = np.round(np.exp(rng.normal(np.log(14), 0.5, len(kinds))))
    wide = rng.integers(20, 61, len(kinds))
    value = np.where(np.isin(kinds, ["local", "radius"]), local, wide)
    value = np.clip(value, 5, 60).astype(int)
    unknown = rng.random(len(kinds)) < 0.08
    return [None if u else int(v) for u, v in zip(unknown, value, strict=True)]


def _last_checked(rng: np.random.Generator, n: int) -> list[str]:
    """Review dates: most in the last year of the period, about a quarter older."""
    end = np.datetime64(PERIOD_END.isoformat())
    recent = rng.random(n) < 0.74
    days_back = np.where(recent, rng.integers(0, 365, n), rng.integers(366, 900, n))
    return [str(end - np.timedelta64(int(d), "D")) for d in days_back]


def _pick_over_capacity(
    region: _Region, story: _Story, area: np.ndarray, kinds: np.ndarray, categories: list[tuple[str, ...]]
) -> int:
    """The local mental-health group nearest the hotspots: everyone there is sent to it."""
    target = np.array([region.xy[region.neighbourhood == h].mean(axis=0) for h in story.hotspots]).mean(axis=0)
    candidates = [
        i for i in range(len(area))
        if kinds[i] == "local" and categories[i][0] == "mental_health"
        and region.neighbourhood[area[i]] not in story.hotspots
    ]  # fmt: skip
    distance = [float(np.hypot(*(region.xy[area[i]] - target))) for i in candidates]
    return candidates[int(np.argmin(distance))]


# --------------------------------------------------------------------------- referrals

#: Share of referrals by category: mental health dominates.
_REFERRAL_SHARE = {
    "mental_health": 0.30, "loneliness_isolation": 0.12, "physical_activity": 0.07,
    "debt_benefits_advice": 0.09, "housing": 0.05, "food_nutrition": 0.05, "long_term_conditions": 0.06,
    "befriending": 0.04, "peer_support": 0.04, "dementia": 0.03, "carers_support": 0.03,
    "employment_skills": 0.03, "arts_creativity": 0.03, "nature_green_space": 0.02,
    "learning_volunteering": 0.02, "domestic_abuse": 0.01, "substance_misuse": 0.01,
}  # fmt: skip
#: Chance that a referral goes to a city-wide organisation when one offers the category.
_CITYWIDE_CHANCE = {"mental_health": 0.10, "debt_benefits_advice": 0.15, "domestic_abuse": 0.35,
                    "substance_misuse": 0.30, "housing": 0.12}  # fmt: skip


@dataclass(frozen=True)
class _Referrals:
    day: np.ndarray
    category: np.ndarray
    community: np.ndarray
    area: np.ndarray
    by_area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    asset: np.ndarray


def _make_referrals(
    rng: np.random.Generator, spec: _Scale, region: _Region, people: _People, story: _Story, assets: _Assets
) -> _Referrals:
    """Referrals by category share and need, plus three times capacity for the over-stretched asset."""
    days = (PERIOD_END - PERIOD_START).days + 1
    over = assets.over_capacity
    over_count = 3 * spec.over_capacity * PERIOD_MONTHS
    general = spec.referrals - over_count
    need = _need_weights(region, people, story)
    share = np.array([_REFERRAL_SHARE[c] for c in CATEGORIES])
    per_category = rng.multinomial(general, share / share.sum())

    category = np.repeat(np.arange(len(CATEGORIES)), per_category)
    area = np.empty(general, dtype=int)
    for c, label in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == c)
        area[rows] = rng.choice(len(need[label]), size=len(rows), p=need[label] / need[label].sum())
    day = np.floor(days * rng.power(1.15, general)).astype(int)

    # Everyone near the over-stretched group is sent to it: three times its capacity.
    near = np.hypot(*(region.xy - region.xy[assets.area[over]]).T)
    pull = people.population * (0.4 + people.deprivation) * np.exp(-near / 1500.0)
    over_area = rng.choice(len(pull), size=over_count, p=pull / pull.sum())
    over_category = np.full(over_count, CATEGORIES.index(assets.categories[over][0]))
    over_day = rng.integers(0, days, over_count)

    category = np.concatenate([category, over_category])
    area = np.concatenate([area, over_area])
    day = np.concatenate([day, over_day])
    total = len(category)
    community = _referral_communities(rng, people, category, area)
    destination = _destinations(rng, region, assets, category, area)
    destination[general:] = over
    by_area = rng.random(total) < 0.5
    x = np.full(total, np.nan)
    y = np.full(total, np.nan)
    x[~by_area], y[~by_area] = _points_in_areas(rng, region.cells, area[~by_area])
    return _Referrals(
        day=day, category=category, community=community, area=area, by_area=by_area, x=x, y=y, asset=destination
    )


def _fit_capacities(assets: _Assets, referrals: _Referrals) -> _Assets:
    """Raise any capacity that chance filled beyond 90%, so only the deliberate asset is over."""
    per_month = np.bincount(referrals.asset[referrals.asset >= 0], minlength=len(assets.area)) / PERIOD_MONTHS
    capacity = list(assets.capacity)
    for i, value in enumerate(capacity):
        if value is not None and i != assets.over_capacity and per_month[i] > 0.9 * value:
            capacity[i] = int(min(60, np.ceil(per_month[i] / 0.9)))
    return replace(assets, capacity=capacity)


def _need_weights(region: _Region, people: _People, story: _Story) -> dict[str, np.ndarray]:
    """Per category, how likely each small area is to be a referral's origin."""
    pop = people.population.astype(float)
    dep = people.deprivation
    hotspot = np.isin(region.neighbourhood, story.hotspots)
    poverty = pop * (0.3 + 2.0 * dep)
    general = pop * (0.7 + 0.6 * dep)
    weights = {c: general for c in CATEGORIES}
    weights.update(
        {
            "mental_health": pop * (0.4 + 2.2 * dep) * np.where(hotspot, 1.8, 1.0),
            "dementia": people.older.astype(float),
            "carers_support": people.carers.astype(float),
            "loneliness_isolation": 1.5 * people.older + 0.3 * pop,
            "befriending": 1.5 * people.older + 0.3 * pop,
        }
    )
    for label in ("debt_benefits_advice", "housing", "food_nutrition", "employment_skills",
                  "domestic_abuse", "substance_misuse"):  # fmt: skip
        weights[label] = poverty
    return weights


def _referral_communities(
    rng: np.random.Generator, people: _People, category: np.ndarray, area: np.ndarray
) -> np.ndarray:
    """Community of each referral: blank for most, else one of the population communities."""
    labels = np.array(CATEGORIES)[category]
    chance = np.where(np.isin(labels, ["dementia", "carers_support"]), 0.6, 0.2)
    has = rng.random(len(area)) < chance
    share = np.column_stack([people.older, people.carers, people.bame])[area] / people.population[area, None]
    affinity = np.ones_like(share)
    affinity[labels == "dementia"] = [5.0, 1.5, 0.5]
    affinity[labels == "carers_support"] = [1.0, 10.0, 0.5]
    weight = share * affinity
    cumulative = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random(len(area))[:, None] > cumulative).sum(axis=1)
    pick = np.minimum(pick, len(POPULATION_COMMUNITIES) - 1)
    return np.where(has, pick, -1)


def _destinations(
    rng: np.random.Generator, region: _Region, assets: _Assets, category: np.ndarray, area: np.ndarray
) -> np.ndarray:
    """A matching asset per referral: usually one of the nearest, sometimes a city-wide one, some blank."""
    destination = np.full(len(area), -1)
    ranks = np.array([0.45, 0.25, 0.15, 0.10, 0.05])
    origin = region.xy[area]
    eligible_all = assets.accepting.copy()
    eligible_all[assets.over_capacity] = False
    citywide = np.array([r == "citywide" for r in assets.reach])
    for c, label in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == c)
        offers = np.array([label in cats for cats in assets.categories]) & eligible_all
        near = np.flatnonzero(offers & ~citywide)
        wide = np.flatnonzero(offers & citywide)
        if len(near) == 0 or len(rows) == 0:
            continue
        k = min(len(ranks), len(near))
        _, nearest = cKDTree(np.column_stack([assets.x[near], assets.y[near]])).query(origin[rows], k=k)
        nearest = np.asarray(nearest).reshape(len(rows), k)
        rank = rng.choice(k, size=len(rows), p=ranks[:k] / ranks[:k].sum())
        destination[rows] = near[nearest[np.arange(len(rows)), rank]]
        if len(wide):
            to_wide = rng.random(len(rows)) < _CITYWIDE_CHANCE.get(label, 0.04)
            destination[rows[to_wide]] = wide[rng.integers(len(wide), size=int(to_wide.sum()))]
    blank = rng.random(len(area)) < 0.12
    destination[blank] = -1
    return destination


# --------------------------------------------------------------------------- names and assembly

_BOROUGH_NAMES = ("Cottonport", "Ashford Vale", "Brackenmoor", "Calderbrook", "Dunmere", "Fellbridge",
                  "Greyholme", "Harrowdale", "Kestlewood", "Wyndle Heath")
_PLACE_STARTS = ("Alder", "Ash", "Birch", "Bram", "Clough", "Elder", "Fern", "Hazel", "Holly", "Lark", "Marl",
                 "Moss", "Oaken", "Rook", "Rush", "Sedge", "Thorn", "Wren", "Willow", "Cinder", "Heron",
                 "Linnet", "Quarry", "Tanner", "Weaver", "Kiln", "Bobbin", "Loom", "Sparrow", "Gorse")
_PLACE_ENDS = ("field", "ley", "bank", "side", "hurst", "wood", "gate", "bridge", "croft", "moor", "dale",
               "fold", "green", "lea", "shaw", "brook", " Park", " Hill", " Vale", " Row")


def _neighbourhood_names(rng: np.random.Generator, count: int) -> list[str]:
    pool = [f"{start}{end}" for start in _PLACE_STARTS for end in _PLACE_ENDS]
    pool = [name for name in pool if name not in _BOROUGH_NAMES]
    picks = rng.permutation(len(pool))[:count]
    names = [pool[p] for p in picks]
    # More neighbourhoods than place names (national scale): number the repeats.
    names += [f"{names[i % len(pool)]} {2 + i // len(pool)}" for i in range(count - len(names))]
    return names


def _borough_names(rng: np.random.Generator, count: int) -> list[str]:
    if count <= len(_BOROUGH_NAMES):
        towns = list(_BOROUGH_NAMES[1:])
        order = rng.permutation(len(towns))[: count - 1]
        return [_BOROUGH_NAMES[0], *[towns[o] for o in order]]
    return [f"Borough {i + 1:02d}" for i in range(count)]


def _area_names(region: _Region, borough_names: Sequence[str]) -> list[str]:
    """'<Borough> 001A': numbered groups of up to five areas, neighbourhood by neighbourhood."""
    names = [""] * len(region.xy)
    for b, borough in enumerate(borough_names):
        number = 0
        for j in np.flatnonzero(region.neighbourhood_borough == b):
            members = np.flatnonzero(region.neighbourhood == j)
            offset = region.xy[members] - region.xy[members].mean(axis=0)
            members = members[np.argsort(np.arctan2(offset[:, 1], offset[:, 0]), kind="stable")]
            for position, member in enumerate(members):
                if position % 5 == 0:
                    number += 1
                names[member] = f"{borough} {number:03d}{chr(ord('A') + position % 5)}"
    return names


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _BNG_TO_LONLAT.transform(x, y)
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def _to_lonlat(coords: np.ndarray) -> np.ndarray:
    lon, lat = _lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _assemble(
    seed: int, region: _Region, people: _People, story: _Story, assets: _Assets, referrals: _Referrals
) -> DemoData:
    rng = np.random.default_rng([seed, 1])  # naming draws must not shift the geography
    borough_names = _borough_names(rng, len(region.centres))
    neighbourhood_names = _neighbourhood_names(rng, len(region.neighbourhood_borough))
    borough_ids = [f"XB{b + 1:02d}" for b in range(len(borough_names))]
    neighbourhood_ids = [f"XN{j + 1:04d}" for j in range(len(neighbourhood_names))]

    area_names = _area_names(region, borough_names)
    order = np.lexsort((np.array(area_names), region.borough))
    area_ids = np.empty(len(order), dtype=object)
    area_ids[order] = [f"X01{i + 1:06d}" for i in range(len(order))]

    lonlat_cells = shapely.transform(region.cells, _to_lonlat)
    if not shapely.is_valid(lonlat_cells).all():
        raise CoverageMapError("demo generator: rounding made an area invalid; try another seed")
    areas = gpd.GeoDataFrame(
        {"area_id": area_ids[order].astype(str), "area_name": np.array(area_names)[order]},
        geometry=lonlat_cells[order],
        crs=DISPLAY_CRS,
    ).reset_index(drop=True)
    nb, bo = region.neighbourhood[order], region.borough[order]
    lookup = pd.DataFrame(
        {
            "area_id": areas["area_id"].to_numpy(),
            "neighbourhood_id": np.array(neighbourhood_ids)[nb],
            "neighbourhood_name": np.array(neighbourhood_names)[nb],
            "borough_id": np.array(borough_ids)[bo],
            "borough_name": np.array(borough_names)[bo],
        }
    )
    population = pd.DataFrame(
        {
            "area_id": areas["area_id"].to_numpy(),
            "population": people.population[order],
            "pop_older_people": people.older[order],
            "pop_carers": people.carers[order],
            "pop_bame": people.bame[order],
        }
    )
    asset_frame, asset_ids = _asset_frame(rng, region, assets, area_ids, borough_names, neighbourhood_names)
    referral_frame = _referral_frame(rng, referrals, area_ids, asset_ids)
    over = assets.over_capacity
    gaps = {
        "seed": seed,
        "no_dementia_borough": borough_ids[story.no_dementia_borough],
        "no_carers_neighbourhoods": [neighbourhood_ids[j] for j in story.no_carers],
        "bame_majority_no_provision_neighbourhood": neighbourhood_ids[story.bame_gap],
        "over_capacity_asset": {
            "asset_id": asset_ids[over],
            "capacity": int(assets.capacity[over] or 0),
            "referrals_per_month": round(int((referrals.asset == over).sum()) / PERIOD_MONTHS),
        },
        "mental_health_hotspot_neighbourhoods": [neighbourhood_ids[j] for j in story.hotspots],
    }
    return DemoData(
        areas=areas, lookup=lookup, population=population, assets=asset_frame, referrals=referral_frame, gaps=gaps
    )


def _asset_frame(
    rng: np.random.Generator,
    region: _Region,
    assets: _Assets,
    area_ids: np.ndarray,
    borough_names: Sequence[str],
    neighbourhood_names: Sequence[str],
) -> tuple[pd.DataFrame, list[str]]:
    """The assets table, sorted by area then name, with ids in that order."""
    names = _asset_names(rng, region, assets, borough_names, neighbourhood_names)
    lon, lat = _lonlat(assets.x, assets.y)
    order = np.lexsort((np.array(names), area_ids[assets.area].astype(str)))
    ids_by_asset = np.empty(len(order), dtype=object)
    ids_by_asset[order] = [f"XA{i + 1:04d}" for i in range(len(order))]
    frame = pd.DataFrame(
        {
            "asset_id": ids_by_asset[order].astype(str),
            "name": np.array(names)[order],
            "latitude": lat[order],
            "longitude": lon[order],
            "categories": [";".join(assets.categories[i]) for i in order],
            "communities": [";".join(assets.communities[i]) or None for i in order],
            "capacity": pd.array([assets.capacity[i] for i in order], dtype="Int64"),
            "accepting_referrals": np.where(assets.accepting[order], "true", "false"),
            "reach": [assets.reach[i] for i in order],
            "last_checked": [assets.last_checked[i] for i in order],
        }
    )
    return frame, [str(v) for v in ids_by_asset]


def _asset_names(
    rng: np.random.Generator,
    region: _Region,
    assets: _Assets,
    borough_names: Sequence[str],
    neighbourhood_names: Sequence[str],
) -> list[str]:
    """Fictional, unique names from the first category or a listed community and a place."""
    used: set[str] = set()
    names: list[str] = []
    for i, given in enumerate(assets.name):
        borough = borough_names[region.borough[assets.area[i]]]
        if given is not None:
            name = given.format(borough=borough)
        else:
            place = neighbourhood_names[region.neighbourhood[assets.area[i]]]
            name = ""
            for attempt in range(12):
                comms = assets.communities[i]
                if comms and rng.random() < 0.7:
                    options = _COMMUNITY_NAMES[comms[0]]
                else:
                    options = _LOCAL_NAMES[assets.categories[i][0]]
                where = rng.random()
                if attempt >= 4 or where < 0.12:
                    place_here = _VENUES[rng.integers(len(_VENUES))] + (f", {place}" if attempt >= 8 else "")
                elif where < 0.22:
                    place_here = borough
                else:
                    place_here = place
                name = f"{place_here} {options[rng.integers(len(options))]}"
                if name not in used:
                    break
            suffix = 2
            base = name
            while name in used:
                name = f"{base} {suffix}"
                suffix += 1
        used.add(name)
        names.append(name)
    return names


def _referral_frame(
    rng: np.random.Generator, referrals: _Referrals, area_ids: np.ndarray, asset_ids: Sequence[str]
) -> pd.DataFrame:
    """The referrals table, in date order, half located by area id and half by coordinates."""
    order = np.lexsort((rng.permutation(len(referrals.day)), referrals.day))
    start = np.datetime64(PERIOD_START.isoformat())
    # Format each calendar day once, not once per referral (millions at national scale).
    day_text = (start + np.arange(int(referrals.day.max()) + 1).astype("timedelta64[D]")).astype(str)
    dates = day_text[referrals.day[order]]
    lon, lat = _lonlat(referrals.x[order], referrals.y[order])
    by_area = referrals.by_area[order]
    community = referrals.community[order]
    asset = referrals.asset[order]
    labels = np.array([*POPULATION_COMMUNITIES, ""])
    ids = np.array([*asset_ids, ""])
    frame = pd.DataFrame(
        {
            "referral_id": np.char.add("XR", np.char.zfill(np.arange(1, len(order) + 1).astype(str), 6)),
            "date": dates,
            "category": np.array(CATEGORIES)[referrals.category[order]],
            "community": labels[community],
            "origin_area_id": np.where(by_area, area_ids[referrals.area[order]].astype(str), ""),
            "latitude": lat,
            "longitude": lon,
            "asset_id": ids[asset],
        }
    )
    for column in ("community", "origin_area_id", "asset_id"):
        frame[column] = frame[column].mask(frame[column] == "")
    return frame


def _readme(data: DemoData) -> str:
    gaps = data.gaps
    lookup = data.lookup
    boroughs = lookup.drop_duplicates("borough_id").set_index("borough_id")["borough_name"]
    neighbourhoods = lookup.drop_duplicates("neighbourhood_id").set_index("neighbourhood_id")["neighbourhood_name"]
    pop = data.population.merge(lookup, on="area_id")
    per_nb = pop.groupby("neighbourhood_id")[["population", "pop_bame"]].sum()
    bame = gaps["bame_majority_no_provision_neighbourhood"]
    over = gaps["over_capacity_asset"]
    over_name = data.assets.set_index("asset_id").loc[over["asset_id"], "name"]
    carers = "\n".join(f"   - {j} {neighbourhoods[j]}" for j in gaps["no_carers_neighbourhoods"])
    hotspots = "\n".join(f"   - {j} {neighbourhoods[j]}" for j in gaps["mental_health_hotspot_neighbourhoods"])
    borough_list = "\n".join(f"- {b} {name}" for b, name in boroughs.sort_index().items())
    bame_share = per_nb.loc[bame, "pop_bame"] / per_nb.loc[bame, "population"]
    no_dementia = gaps["no_dementia_borough"]
    return f"""# Synthetic demo data: {REGION_NAME}

**Everything in this folder is synthetic.** The region, its boroughs, neighbourhoods,
small areas, organisations, populations and referrals are invented. Names are
fictional and any resemblance to a real place or organisation is coincidence. The
codes (`X01…` areas, `XN…` neighbourhoods, `XB…` boroughs, `XA…` assets, `XR…`
referrals) are deliberately not ONS codes.

The files are generated, deterministically, by

```bash
coverage-map demo-data --out geodata --seed {gaps["seed"]}
```

(`coverage_map.demo.write_demo`). Do not edit them by hand: change the generator and
regenerate. With the same library versions, the same seed gives byte-identical files.

## The region

A city region about 45 km across, placed in British National Grid around
E 385000, N 400000 so that coordinate handling, distances and basemaps behave as for a
real English city region. A basemap will show real streets underneath; the boundaries
do not follow them. There are {len(data.areas):,} small areas (LSOA-like, 1,300-2,000
people each), small and dense in the main centre and the town centres, large on the
rural fringe, and tiling the region without gaps or overlaps. They make up
{len(neighbourhoods)} neighbourhoods of 30,000-50,000 people in {len(boroughs)} boroughs:

{borough_list}

## Files

| file | content |
|---|---|
| `areas.geojson` | small areas: `area_id`, `area_name`, polygon (EPSG:4326, 6 decimals) |
| `lookup.csv` | `area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name` |
| `population.csv` | `area_id,population,pop_older_people,pop_carers,pop_bame` (people) |
| `assets.csv` | {len(data.assets):,} community assets |
| `referrals.csv` | {len(data.referrals):,} referrals, {PERIOD_START.isoformat()} to {PERIOD_END.isoformat()} |
| `gaps.json` | the deliberate gaps below, machine-readable |

Assets have the columns
`asset_id,name,latitude,longitude,categories,communities,capacity,accepting_referrals,reach,last_checked`:
`categories` and `communities` are `;`-separated canonical labels (an empty
`communities` means open to all); `capacity` is referrals per month (blank = unknown);
`reach` is `local` (the area the asset is in), `borough`, `citywide` or a radius in km;
`last_checked` is when the entry was last reviewed (some are over a year old).
Referrals have the columns
`referral_id,date,category,community,origin_area_id,latitude,longitude,asset_id`:
about half give the origin as `origin_area_id`, the other half as a point
(`latitude`,`longitude`) inside the origin area; `community` is blank unless the
referral was for a specific community; `asset_id` is where the person was referred to
(blank when not recorded). Older people are more common in the suburbs, BAME
communities are concentrated in a few inner neighbourhoods, and carers are 8-12% of
each area's people.

## Deliberate gaps

An analysis of these files should find all of these. `tests/test_demo.py` checks each
one directly from the files.

1. **No dementia support in {no_dementia} {boroughs[no_dementia]}.** No dementia asset is
   located in the borough, and dementia assets only ever reach `local` or `borough`, so
   none reaches it from outside. Every other borough has some.
2. **Nothing for carers in {len(gaps["no_carers_neighbourhoods"])} neighbourhoods.** No `carers_support` asset
   and no asset listing the `carers` community is in them, and all such assets are
   `local`, so none reaches them from outside. Every other neighbourhood has carers' support.
{carers}
3. **No culturally specific provision in a BAME-majority neighbourhood.** In {bame}
   {neighbourhoods[bame]}, {bame_share:.0%} of people are BAME, yet no asset there lists the `bame`
   community, and all such assets are `local`. The other inner neighbourhoods with
   large BAME communities do have some.
4. **One organisation at three times capacity.** {over["asset_id"]} {over_name} can take
   {over["capacity"]} referrals a month and receives about {over["referrals_per_month"]} a month over the
   {PERIOD_MONTHS} months.
5. **Unmet mental-health need.** Mental health is the largest referral category. These
   deprived inner neighbourhoods have high mental-health referral rates but no
   mental-health group of their own; only wider-reaching services (borough, city-wide
   or within a radius) reach them:
{hotspots}
"""
