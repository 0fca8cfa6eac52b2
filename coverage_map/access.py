"""Access scores: the enhanced two-step floating catchment (E2SFCA), per need category and community.

For small areas ``i`` and assets ``j`` of one need category (Luo & Qi 2009, with the
truncated Gaussian distance decay of Dai 2010):

* step 1, each asset's supply per person who can reach it:
  ``R_j = S_j / sum_k D_k W(d_kj)`` (0 when no demand is within reach);
* step 2, each area's access: ``A_i = sum_j R_j W(d_ij)``.

``S_j`` is the asset's monthly capacity when stated, otherwise 1, and 0 when it is not
accepting referrals. ``D_i`` is the need of the group in area ``i`` (see
:func:`group_demand`). ``W`` depends on the asset's reach:

* ``local`` (and ``borough`` without a lookup, as in :func:`coverage_map.joins.reach_pairs`):
  ``W(d) = (exp(-0.5 (d/d0)^2) - exp(-0.5)) / (1 - exp(-0.5))`` for ``d <= d0``, else 0,
  with ``d`` the straight-line metres from the area's origin point to the asset and
  ``d0`` the category's catchment (the taxonomy's ``[catchment_km]`` for that category,
  else the ``catchment_km`` option, 3 km by default). With travel times, ``d`` is the
  travel time in minutes and ``d0`` is ``catchment_minutes`` (15 by default); a pair
  missing from the travel-time table is unreachable (``W = 0``);
* ``radius``: the same curve with ``d0 = reach_km`` in straight-line metres, with or
  without travel times (the provider stated a distance);
* ``borough``: ``W = 1`` for every area of the borough the asset sits in, 0 elsewhere;
* ``citywide``: ``W = 1`` everywhere.

Only assets listing the category count. A community row counts assets that list that
community and assets that list no community (open to all); ``specific_access_per_10k``
is the same computation with the community-specific assets alone. All communities of a
category are computed together with sparse matrix products from one spatial-index query
per category, so no area x asset loop is ever run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from .config import LEVELS, METRIC_CRS
from .errors import CoverageMapError, CRSError, Problem
from .joins import Prepared

ALL = "all"
KEY = ["area_id", "category", "community"]
DEFAULT_CATCHMENT_KM = 3.0
DEFAULT_CATCHMENT_MINUTES = 15.0
#: The per-area figures :func:`measure_access` returns, after the key columns.
ACCESS_COLUMNS = [
    "need",
    "access_per_10k",
    "access_ratio",
    "specific_access_per_10k",
    "provision_exists",
    "specific_exists",
]
_EDGE = math.exp(-0.5)


@dataclass(frozen=True)
class AccessResult:
    """Access scores for every small area x need category x community.

    Attributes
    ----------
    table
        ``area_id``, ``category``, ``community`` and :data:`ACCESS_COLUMNS`, sorted by
        ``area_id, category, community`` (the order of :func:`coverage_map.metrics.measure`).
    region
        One row per ``category, community``: ``total_supply`` (sum of ``S_j`` over the
        eligible assets), ``total_need`` (sum of ``D_i`` over every area),
        ``region_per_10k`` (10,000 x their ratio, the yardstick of ``access_ratio``),
        ``provision_exists`` and ``specific_exists``.
    problems
        Non-fatal problems: origins or travel-time rows that were ignored, and assets
        whose catchment reaches no area's origin point (they count towards nobody).
    """

    table: pd.DataFrame
    region: pd.DataFrame
    problems: tuple[Problem, ...] = ()


def gaussian_weight(distance: np.ndarray | float, catchment: np.ndarray | float) -> np.ndarray:
    """Dai's (2010) truncated Gaussian: 1 at distance 0, falling to 0 at the catchment ``d0``.

    ``W(d) = (exp(-0.5 (d/d0)^2) - exp(-0.5)) / (1 - exp(-0.5))`` for ``d <= d0`` and 0
    beyond (or where ``d`` is NaN, meaning unreachable). Distances and catchments share a
    unit (metres, or minutes with travel times).
    """
    d = np.asarray(distance, dtype=float)
    d0 = np.asarray(catchment, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = (np.exp(-0.5 * (d / d0) ** 2) - _EDGE) / (1.0 - _EDGE)
        inside = d <= d0
    return np.where(inside, np.maximum(weight, 0.0), 0.0)


def origin_points(areas: gpd.GeoDataFrame, origins: gpd.GeoDataFrame | None = None) -> tuple[np.ndarray, list[Problem]]:
    """The point each small area's distances are measured from, as an ``(n, 2)`` array of metres.

    The polygon's centroid when it lies inside the polygon, else its
    ``representative_point()`` (a point guaranteed inside: a crescent's centroid is not).
    ``origins`` (``area_id`` and a point geometry, e.g. ONS population-weighted centroids,
    in EPSG:27700) overrides this for the areas it names. Its rows naming an unknown
    area, repeating an area, or holding no point are reported (by row) and ignored.
    """
    polygons = areas.geometry.to_numpy()
    centroids = shapely.centroid(polygons)
    inside = shapely.contains(polygons, centroids)
    points = np.where(inside, centroids, shapely.point_on_surface(polygons))
    xy = shapely.get_coordinates(points)
    if origins is None:
        return xy, []
    if origins.crs is None or not origins.crs.equals(METRIC_CRS):
        raise CRSError(f"origins must be in {METRIC_CRS}, but are in {origins.crs}; call .to_crs('{METRIC_CRS}') first")
    if "area_id" not in origins.columns:
        raise CoverageMapError("origins need an 'area_id' column naming the small area of each point")
    rows = _source_rows(origins, first=1)
    ids = origins["area_id"].astype("string").to_numpy(dtype=object, na_value=None)
    geometry = origins.geometry.to_numpy()
    is_point = (shapely.get_type_id(geometry) == 0) & ~shapely.is_empty(geometry)
    position = pd.Index(areas["area_id"].astype(str).to_numpy(dtype=object)).get_indexer(ids)
    repeated = pd.Series(position).duplicated().to_numpy() & (position >= 0)
    problems = [
        Problem(
            "origins",
            message,
            row=int(rows[k]),
            column=column,
            value=None if ids[k] is None else str(ids[k]),
            fatal=False,
        )
        for k, message, column in _origin_faults(position, is_point, repeated)
    ]
    use = (position >= 0) & is_point & ~repeated
    xy = xy.copy()
    xy[position[use]] = shapely.get_coordinates(geometry[use])
    uncovered = len(areas) - int(use.sum())
    if uncovered:
        problems.append(
            Problem(
                "origins",
                f"{uncovered:,} of {len(areas):,} small areas have no origin point in this file; "
                "their distances are measured from the polygon's centroid (or a point inside it)",
                fatal=False,
            )
        )
    return xy, problems


def _origin_faults(position: np.ndarray, is_point: np.ndarray, repeated: np.ndarray) -> list[tuple[int, str, str]]:
    faults: list[tuple[int, str, str]] = []
    for k in np.flatnonzero(position < 0):
        faults.append((int(k), "this area is not in the areas file; the origin point is ignored", "area_id"))
    for k in np.flatnonzero((position >= 0) & ~is_point):
        faults.append((int(k), "the origin must be a single point; this row is ignored", "geometry"))
    for k in np.flatnonzero(repeated & is_point):
        faults.append((int(k), "this area already has an origin point above; this row is ignored", "area_id"))
    return sorted(faults)


def _source_rows(frame: pd.DataFrame, *, first: int) -> np.ndarray:
    """The ``_source_row`` of each record, else its position counted from ``first``."""
    if "_source_row" in frame.columns:
        return frame["_source_row"].to_numpy(dtype=np.int64)
    return np.arange(first, first + len(frame), dtype=np.int64)


@dataclass(frozen=True)
class _TravelTimes:
    """Valid travel-time pairs by position: area row, asset row, minutes."""

    area: np.ndarray
    asset: np.ndarray
    minutes: np.ndarray


def _travel_times(
    travel_times: pd.DataFrame, area_ids: pd.Index, asset_ids: pd.Index
) -> tuple[_TravelTimes, list[Problem]]:
    """Check a travel-time table (``area_id``, ``asset_id``, ``minutes``); bad rows are reported and ignored.

    A pair given twice keeps its shortest time (reported).
    """
    missing = [c for c in ("area_id", "asset_id", "minutes") if c not in travel_times.columns]
    if missing:
        raise CoverageMapError(
            f"travel times need the columns area_id, asset_id and minutes; missing: {', '.join(missing)}"
        )
    rows = _source_rows(travel_times, first=2)
    area = area_ids.get_indexer(travel_times["area_id"].astype("string").to_numpy(dtype=object, na_value=None))
    asset = asset_ids.get_indexer(travel_times["asset_id"].astype("string").to_numpy(dtype=object, na_value=None))
    minutes = pd.to_numeric(travel_times["minutes"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad_minutes = ~np.isfinite(minutes) | (minutes < 0)
    checks = (
        (area < 0, "area_id", "this area is not in the areas file; the row is ignored"),
        (asset < 0, "asset_id", "this asset is not among the located assets; the row is ignored"),
        (bad_minutes, "minutes", "minutes must be a number of at least 0; the row is ignored"),
    )
    problems: list[Problem] = []
    rejected = np.zeros(len(rows), dtype=bool)
    for flags, column, message in checks:
        for k in np.flatnonzero(flags & ~rejected):
            problems.append(
                Problem(
                    "travel_times",
                    message,
                    row=int(rows[k]),
                    column=column,
                    value=str(travel_times[column].iloc[k]),
                    fatal=False,
                )
            )
        rejected |= flags
    keep = np.flatnonzero(~rejected)
    order = keep[np.lexsort((minutes[keep], asset[keep], area[keep]))]
    first = np.r_[True, (area[order][1:] != area[order][:-1]) | (asset[order][1:] != asset[order][:-1])]
    for k in order[~first]:
        problems.append(
            Problem(
                "travel_times",
                "this area and asset pair is given more than once; the shortest time is used",
                row=int(rows[k]),
                column="asset_id",
                value=str(travel_times["asset_id"].iloc[k]),
                fatal=False,
            )
        )
    chosen = order[first]
    return _TravelTimes(area[chosen], asset[chosen], minutes[chosen]), sorted(problems, key=lambda p: p.row or 0)


@dataclass(frozen=True)
class _Assets:
    """The located assets as arrays, in the order of :attr:`Prepared.assets`."""

    ids: pd.Index
    xy: np.ndarray
    kind: np.ndarray  # "decay", "borough" or "citywide"
    radius_m: np.ndarray  # NaN unless reach == "radius"
    borough: np.ndarray  # position of the asset's borough
    supply: np.ndarray
    members: Mapping[str, np.ndarray]  # category -> positions of the assets listing it
    communities: list[tuple[str, ...]]
    source_row: np.ndarray


def _asset_arrays(prepared: Prepared, borough_codes: pd.Index) -> _Assets:
    assets = prepared.assets
    membership = prepared.membership.set_index("area_id")["borough_id"]
    reach = assets["reach"].astype(str).to_numpy()
    # Without a lookup, borough reach means what it means in joins.reach_pairs: local.
    has_lookup = prepared.inputs.lookup is not None
    kind = np.where(reach == "citywide", "citywide", np.where((reach == "borough") & has_lookup, "borough", "decay"))
    radius_m = np.where(reach == "radius", pd.to_numeric(assets["reach_km"]).to_numpy(dtype=float) * 1000.0, np.nan)
    capacity = pd.to_numeric(assets["capacity"]).to_numpy(dtype=float, na_value=np.nan)
    supply = np.where(np.isfinite(capacity), np.maximum(capacity, 0.0), 1.0)
    # Unknown (NA) counts as accepting: only an explicit "no" stops an asset supplying.
    accepting = pd.array(assets["accepting_referrals"], dtype="boolean").fillna(True).to_numpy(dtype=bool)
    supply = np.where(accepting, supply, 0.0)
    asset_borough = borough_codes.get_indexer(assets["area_id"].astype(str).map(membership).to_numpy(dtype=object))
    return _Assets(
        ids=pd.Index(assets["asset_id"].astype(str).to_numpy(dtype=object)),
        xy=np.column_stack([assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()])
        if len(assets)
        else np.empty((0, 2)),
        kind=kind,
        radius_m=radius_m,
        borough=asset_borough,
        supply=supply,
        members=_members(assets["categories"]),
        communities=[tuple(c) for c in assets["communities"]],
        source_row=_source_rows(assets, first=1),
    )


def _members(categories: pd.Series) -> dict[str, np.ndarray]:
    found: dict[str, list[int]] = {}
    for j, listed in enumerate(categories):
        for category in dict.fromkeys(listed):
            found.setdefault(category, []).append(j)
    return {category: np.asarray(positions, dtype=np.intp) for category, positions in found.items()}


def group_demand(
    population: pd.DataFrame | None, area_ids: np.ndarray, category: str, groups: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Demand ``D`` (areas x groups) used in the computation, and the ``need`` shown (NaN where unknown).

    With a ``need_<category>`` column: ``D = need_<category>`` for ``all`` and
    ``D = pop_<community> x need_<category> / population`` for a community (0 where the
    population is 0). Otherwise ``D`` is the group's population (``population`` for
    ``all``, ``pop_<community>``). Unknown values count as 0 demand. Without a population
    table every area counts as one unit of demand and ``need`` is NaN.
    """
    if population is None:
        return np.ones((len(area_ids), len(groups))), np.full((len(area_ids), len(groups)), np.nan)
    frame = population.drop_duplicates("area_id")
    frame = frame.set_axis(frame["area_id"].astype(str).to_numpy(dtype=object)).reindex(area_ids)
    total = frame["population"].to_numpy(dtype=float, na_value=np.nan)
    need_column = f"need_{category}"
    need = frame[need_column].to_numpy(dtype=float, na_value=np.nan) if need_column in frame.columns else None
    columns = []
    for group in groups:
        size = total if group == ALL else frame[f"pop_{group}"].to_numpy(dtype=float, na_value=np.nan)
        if need is not None and group == ALL:
            size = need
        elif need is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                size = np.where(total == 0, 0.0, size * need / total)
        columns.append(size)
    shown = np.column_stack(columns)
    return np.nan_to_num(shown, nan=0.0), shown


def measure_access(
    prepared: Prepared,
    *,
    catchment_km: float = DEFAULT_CATCHMENT_KM,
    catchment_minutes: float = DEFAULT_CATCHMENT_MINUTES,
    origins: gpd.GeoDataFrame | None = None,
    travel_times: pd.DataFrame | None = None,
) -> AccessResult:
    """E2SFCA access for every small area x need category x community (see the module docstring).

    Parameters
    ----------
    prepared
        Inputs joined to geography by :func:`coverage_map.joins.prepare`.
    catchment_km
        Catchment ``d0`` of ``local`` assets, in km, for categories without their own
        (a taxonomy's ``[catchment_km]`` wins for the categories it names).
    catchment_minutes
        Catchment of ``local`` assets in minutes, used instead when ``travel_times`` is given.
    origins
        Optional ``area_id`` + point per area (e.g. population-weighted centroids),
        overriding the polygon's own point where given.
    travel_times
        Optional ``area_id``, ``asset_id``, ``minutes`` (e.g. from r5py or
        OpenTripPlanner); replaces straight-line distance for ``local`` assets.

    Returns
    -------
    AccessResult
        The area table, the region yardsticks and the non-fatal problems.
    """
    for name, value in (("catchment_km", catchment_km), ("catchment_minutes", catchment_minutes)):
        if not (math.isfinite(value) and value > 0):
            raise CoverageMapError(f"{name} must be a positive number, not {value}")
    inputs = prepared.inputs
    areas = prepared.units["area"]
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    categories = sorted(inputs.taxonomy.categories.labels)
    groups = sorted({ALL, *inputs.community_labels})
    problems: list[Problem] = []

    context, context_problems = _context(prepared, catchment_minutes, origins, travel_times)
    problems += context_problems
    assets = context.assets
    catchments = {c: inputs.taxonomy.catchment_km.get(c, catchment_km) * 1000.0 for c in categories}

    n, c_count, g_count = len(area_ids), len(categories), len(groups)
    shape = (n, c_count, g_count)
    need, access, specific = np.full(shape, np.nan), np.zeros(shape), np.full(shape, np.nan)
    ratio = np.full(shape, np.nan)
    region_rows: list[dict[str, object]] = []
    unreached: dict[int, list[str]] = {}
    for c, category in enumerate(categories):
        demand, shown = group_demand(inputs.population, area_ids, category, groups)
        outcome = _category_access(context, category, catchments[category], groups, demand)
        for j in outcome.unreached:
            unreached.setdefault(int(j), []).append(category)
        need[:, c, :] = shown
        access[:, c, :] = outcome.access
        specific[:, c, :] = outcome.specific
        total_need = demand.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            region = np.where(total_need > 0, outcome.total_supply / np.where(total_need > 0, total_need, 1), np.nan)
            ratio[:, c, :] = np.where(region > 0, outcome.access / np.where(region > 0, region, 1), np.nan)
        for g, group in enumerate(groups):
            region_rows.append(
                {
                    "category": category,
                    "community": group,
                    "total_supply": outcome.total_supply[g],
                    "total_need": total_need[g] if inputs.population is not None else np.nan,
                    "region_per_10k": 10_000 * region[g] if inputs.population is not None else np.nan,
                    "provision_exists": bool(outcome.exists[g]),
                    "specific_exists": bool(outcome.specific_exists[g]),
                }
            )
    problems += _unreached_problems(unreached, assets)
    region_frame = pd.DataFrame(region_rows).astype({"category": "string", "community": "string"})
    has_population = inputs.population is not None
    table = _assemble(area_ids, categories, groups, need, access, ratio, specific, region_frame, has_population)
    return AccessResult(table=table, region=region_frame, problems=tuple(problems))


def _context(
    prepared: Prepared,
    catchment_minutes: float,
    origins: gpd.GeoDataFrame | None,
    travel_times: pd.DataFrame | None,
) -> tuple[_Context, list[Problem]]:
    """The origins, their index, the boroughs and the assets every category's computation shares."""
    areas = prepared.units["area"]
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    xy, problems = origin_points(areas, origins)
    borough_of = prepared.membership.set_index("area_id")["borough_id"].astype(str)
    area_borough, borough_codes = pd.factorize(pd.Series(area_ids).map(borough_of).to_numpy(dtype=object))
    assets = _asset_arrays(prepared, pd.Index(borough_codes))
    times = None
    if travel_times is not None:
        times, time_problems = _travel_times(travel_times, pd.Index(area_ids), assets.ids)
        problems += time_problems
    context = _Context(
        tree=cKDTree(xy) if len(xy) else None,
        xy=xy,
        boroughs=sparse.csr_matrix(
            (np.ones(len(area_ids)), (np.arange(len(area_ids)), area_borough)),
            shape=(len(area_ids), len(borough_codes)),
        ),
        assets=assets,
        times=times,
        catchment_minutes=catchment_minutes,
    )
    return context, problems


def covered_areas(
    prepared: Prepared,
    category: str,
    community: str = ALL,
    *,
    catchment_km: float = DEFAULT_CATCHMENT_KM,
    catchment_minutes: float = DEFAULT_CATCHMENT_MINUTES,
    origins: gpd.GeoDataFrame | None = None,
    travel_times: pd.DataFrame | None = None,
) -> np.ndarray:
    """Which small areas (in the order of ``prepared.units["area"]``) an existing service already covers.

    An area is covered when ``W(d_ij) > 0`` for an eligible asset that supplies anything, with
    exactly the reach rules, catchments, eligibility and supply of :func:`measure_access`:
    within the catchment of a ``local`` or ``radius`` asset (travel times replace distance for
    ``local`` ones when given), in the borough of a ``borough`` one, anywhere for a
    ``citywide`` one. Eligible: listing the category, and for a community listing it or no
    community (open to all). Assets not accepting referrals (or with capacity 0) supply
    nothing and cover nothing.

    Parameters
    ----------
    prepared
        Inputs joined to geography by :func:`coverage_map.joins.prepare`.
    category, community
        The need category and the group (``all`` or a community label).
    catchment_km, catchment_minutes, origins, travel_times
        As for :func:`measure_access`; a taxonomy's ``[catchment_km]`` for the category wins.
    """
    context, _ = _context(prepared, catchment_minutes, origins, travel_times)
    assets = context.assets
    catchment_m = prepared.inputs.taxonomy.catchment_km.get(category, catchment_km) * 1000.0
    members = assets.members.get(category, np.array([], dtype=np.intp))
    eligible, _ = _eligibility(assets, members, [community])
    supplying = (eligible[:, 0] > 0) & (assets.supply[members] > 0)
    kind = assets.kind[members]
    decay = _decay_weights(context, members, catchment_m)
    covered = np.asarray((decay[:, supplying & (kind == "decay")] != 0).sum(axis=1)).ravel() > 0
    boroughs = np.zeros(context.boroughs.shape[1], dtype=bool)
    boroughs[assets.borough[members[supplying & (kind == "borough")]]] = True
    covered |= np.asarray(context.boroughs @ boroughs.astype(float)).ravel() > 0
    if (supplying & (kind == "citywide")).any():
        covered[:] = True
    return covered


@dataclass(frozen=True)
class _Context:
    """What every category's computation shares: origins, their index, boroughs and assets."""

    tree: cKDTree | None
    xy: np.ndarray
    boroughs: sparse.csr_matrix  # areas x boroughs indicator
    assets: _Assets
    times: _TravelTimes | None
    catchment_minutes: float


@dataclass(frozen=True)
class _CategoryAccess:
    access: np.ndarray  # areas x groups, A_i
    specific: np.ndarray  # areas x groups, A_i from community-specific assets (NaN for all)
    total_supply: np.ndarray  # groups
    exists: np.ndarray  # groups
    specific_exists: np.ndarray  # groups
    unreached: np.ndarray  # asset positions whose catchment holds no area origin


def _category_access(
    context: _Context, category: str, catchment_m: float, groups: list[str], demand: np.ndarray
) -> _CategoryAccess:
    """Both E2SFCA steps for one category, every group at once (areas x groups matrices)."""
    assets = context.assets
    members = assets.members.get(category, np.array([], dtype=np.intp))
    eligible, specific_mask = _eligibility(assets, members, groups)
    n, m = len(context.xy), len(members)
    supply = assets.supply[members]
    kind = assets.kind[members]
    decay = _decay_weights(context, members, catchment_m)  # areas x members (CSR)

    # Step 1: the demand each asset faces, D weighted by W, per group (members x groups).
    faced = np.asarray(decay.T @ demand)
    by_borough = np.asarray(context.boroughs.T @ demand)  # boroughs x groups
    borough_rows = kind == "borough"
    faced[borough_rows] = by_borough[assets.borough[members[borough_rows]]]
    city_rows = kind == "citywide"
    faced[city_rows] = demand.sum(axis=0)
    offered = supply[:, None] * eligible
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(faced > 0, offered / np.where(faced > 0, faced, 1.0), 0.0)

    # Step 2: each area's sum of the ratios of the assets reaching it.
    def spread(per_asset: np.ndarray) -> np.ndarray:
        reached = np.asarray(decay @ per_asset) if m else np.zeros((n, len(groups)))
        pooled = np.zeros((context.boroughs.shape[1], len(groups)))
        np.add.at(pooled, assets.borough[members[borough_rows]], per_asset[borough_rows])
        return reached + np.asarray(context.boroughs @ pooled) + per_asset[city_rows].sum(axis=0)

    access = spread(ratio)
    specific = spread(ratio * specific_mask)
    specific[:, [g for g, group in enumerate(groups) if group == ALL]] = np.nan
    decayed = kind == "decay"
    reached_anyone = np.asarray((decay != 0).sum(axis=0)).ravel() > 0
    unreached = members[decayed & ~reached_anyone & (supply > 0)]
    return _CategoryAccess(
        access=access,
        specific=specific,
        total_supply=offered.sum(axis=0),
        exists=np.asarray(eligible.any(axis=0), dtype=bool),
        specific_exists=np.asarray(specific_mask.any(axis=0), dtype=bool),
        unreached=unreached,
    )


def _eligibility(assets: _Assets, members: np.ndarray, groups: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which member assets count for each group (members x groups): all of them for ``all``;
    open-to-all or listing the community for a community. And which list it specifically."""
    eligible = np.zeros((len(members), len(groups)))
    specific = np.zeros((len(members), len(groups)))
    for row, j in enumerate(members):
        listed = assets.communities[j]
        for g, group in enumerate(groups):
            if group == ALL:
                eligible[row, g] = 1.0
            elif group in listed:
                eligible[row, g] = specific[row, g] = 1.0
            elif not listed:
                eligible[row, g] = 1.0
    return eligible, specific


def _decay_weights(context: _Context, members: np.ndarray, catchment_m: float) -> sparse.csr_matrix:
    """``W(d_ij)`` for the distance-decayed member assets (areas x members; other columns empty).

    Straight-line pairs come from one ball query of the origin index at each asset's own
    catchment; ``local`` assets take travel times instead when they are given.
    """
    assets = context.assets
    n, m = len(context.xy), len(members)
    kind = assets.kind[members]
    radius = assets.radius_m[members]
    is_radius = (kind == "decay") & np.isfinite(radius)
    by_time = (kind == "decay") & ~is_radius & (context.times is not None)
    by_distance = np.flatnonzero((kind == "decay") & ~by_time)
    d0 = np.where(is_radius, radius, catchment_m)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    values: list[np.ndarray] = []
    if len(by_distance) and context.tree is not None:
        hits = context.tree.query_ball_point(assets.xy[members[by_distance]], r=d0[by_distance], return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
        area = np.fromiter((i for h in hits for i in h), dtype=np.intp, count=int(counts.sum()))
        column = np.repeat(by_distance, counts)
        gap = context.xy[area] - assets.xy[members[column]]
        rows.append(area)
        cols.append(column)
        values.append(gaussian_weight(np.hypot(gap[:, 0], gap[:, 1]), d0[column]))
    if by_time.any() and context.times is not None:
        column_of = np.full(len(assets.ids), -1, dtype=np.intp)
        column_of[members[by_time]] = np.flatnonzero(by_time)
        column = column_of[context.times.asset]
        pick = column >= 0
        rows.append(context.times.area[pick])
        cols.append(column[pick])
        values.append(gaussian_weight(context.times.minutes[pick], context.catchment_minutes))
    if not rows:
        return sparse.csr_matrix((n, m))
    weight = np.concatenate(values)
    keep = weight > 0
    return sparse.csr_matrix((weight[keep], (np.concatenate(rows)[keep], np.concatenate(cols)[keep])), shape=(n, m))


def _unreached_problems(unreached: Mapping[int, list[str]], assets: _Assets) -> list[Problem]:
    return [
        Problem(
            "assets",
            "no small area's origin point lies within this asset's catchment for "
            f"{', '.join(categories)}, so it adds to nobody's access score "
            "(give it reach = radius with a larger reach_km, or check its location)",
            row=int(assets.source_row[j]),
            column="reach",
            value=str(assets.ids[j]),
            fatal=False,
        )
        for j, categories in sorted(unreached.items())
    ]


def _assemble(
    area_ids: np.ndarray,
    categories: list[str],
    groups: list[str],
    need: np.ndarray,
    access: np.ndarray,
    ratio: np.ndarray,
    specific: np.ndarray,
    region: pd.DataFrame,
    has_population: bool,
) -> pd.DataFrame:
    n, c_count, g_count = need.shape
    pairs = c_count * g_count
    exists = region["provision_exists"].to_numpy(dtype=bool)  # category-major, group-minor, as the grid
    specific_exists = region["specific_exists"].to_numpy(dtype=bool)
    per_10k = 10_000 * access.reshape(-1) if has_population else np.full(n * pairs, np.nan)
    return pd.DataFrame(
        {
            "area_id": pd.array(area_ids, dtype="string").take(np.repeat(np.arange(n), pairs)),
            "category": pd.array(categories, dtype="string").take(np.tile(np.repeat(np.arange(c_count), g_count), n)),
            "community": pd.array(groups, dtype="string").take(np.tile(np.arange(g_count), n * c_count)),
            "need": need.reshape(-1),
            "access_per_10k": per_10k,
            "access_ratio": ratio.reshape(-1),
            "specific_access_per_10k": 10_000 * specific.reshape(-1) if has_population else np.full(n * pairs, np.nan),
            "provision_exists": np.tile(exists, n),
            "specific_exists": np.tile(specific_exists, n),
        }
    )


def rollup_access(table: pd.DataFrame, membership: pd.DataFrame, level: str) -> pd.DataFrame:
    """Access figures of neighbourhoods or boroughs from a small-area table of :func:`measure_access`.

    ``need`` is summed (NaN when unknown for every small area); ``access_per_10k``,
    ``specific_access_per_10k`` and ``access_ratio`` are need-weighted means over the unit's
    small areas (``sum D_i x_i / sum D_i``), so the ratio is the rolled-up access over the
    same region yardstick. Where the unit has no need at all the plain mean is used, so
    the figures still say how much provision reaches it (and without population this is
    the equal weighting the areas had in the computation). ``area_id`` holds the unit id.
    """
    if level not in LEVELS:
        raise CoverageMapError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    if level == "area":
        return table.copy()
    to_unit = pd.Series(membership[f"{level}_id"].astype(str).to_numpy(), index=membership["area_id"].astype(str))
    # Factorised once per distinct text: mapping or grouping millions of rows by text is slow.
    area_codes, area_ids = pd.factorize(table["area_id"].astype(str))
    unit_of_area, units = pd.factorize(pd.Series(area_ids).map(to_unit), sort=True)
    unit_codes = np.where(area_codes >= 0, unit_of_area[area_codes], -1)
    category_codes, categories = pd.factorize(table["category"].astype(str), sort=True)
    community_codes, communities = pd.factorize(table["community"].astype(str), sort=True)
    pairs = len(categories) * len(communities)
    keep = (unit_codes >= 0) & (category_codes >= 0) & (community_codes >= 0)
    table = table[keep]
    cell = (unit_codes * pairs + category_codes * len(communities) + community_codes)[keep]
    size = len(units) * pairs
    need = table["need"].to_numpy(dtype=float, na_value=np.nan)
    weight = np.nan_to_num(need, nan=0.0)
    known_need = np.bincount(cell, weights=(~np.isnan(need)).astype(float), minlength=size)
    result = pd.DataFrame(
        {
            "area_id": pd.array(np.asarray(units, dtype=object), dtype="string").take(
                np.repeat(np.arange(len(units)), pairs)
            ),
            "category": pd.array(np.asarray(categories, dtype=object), dtype="string").take(
                np.tile(np.repeat(np.arange(len(categories)), len(communities)), len(units))
            ),
            "community": pd.array(np.asarray(communities, dtype=object), dtype="string").take(
                np.tile(np.arange(len(communities)), len(units) * len(categories))
            ),
            "need": np.where(known_need > 0, np.bincount(cell, weights=weight, minlength=size), np.nan),
        }
    )
    for column in ("access_per_10k", "access_ratio", "specific_access_per_10k"):
        result[column] = _weighted_mean(cell, size, table[column].to_numpy(dtype=float, na_value=np.nan), weight)
    for column in ("provision_exists", "specific_exists"):
        result[column] = np.bincount(cell, weights=table[column].to_numpy(dtype=float), minlength=size) > 0
    present = np.bincount(cell, minlength=size) > 0
    return result[present].reset_index(drop=True)


def _weighted_mean(cell: np.ndarray, size: int, values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    known = ~np.isnan(values)
    value = np.where(known, values, 0.0)
    weights = np.where(known, weight, 0.0)
    total_weight = np.bincount(cell, weights=weights, minlength=size)
    weighted = np.bincount(cell, weights=weights * value, minlength=size)
    count = np.bincount(cell, weights=known.astype(float), minlength=size)
    plain = np.bincount(cell, weights=value, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total_weight > 0, weighted / total_weight, np.where(count > 0, plain / count, np.nan))
