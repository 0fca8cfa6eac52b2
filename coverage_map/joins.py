"""Spatial joins: points to small areas, small areas to levels, and which areas assets reach.

Everything here works in EPSG:27700 and on the harmonised frames from
:mod:`coverage_map.ingest` (see :mod:`coverage_map.model`). Referrals that already carry
an ``origin_area_id`` never go through a geometric join.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .config import DISPLAY_CRS, LEVELS, METRIC_CRS, UNASSIGNED_ID, UNASSIGNED_NAME
from .errors import CoverageMapError, CRSError, Problem
from .model import Inputs

_TO_LONLAT = Transformer.from_crs(METRIC_CRS, DISPLAY_CRS, always_xy=True)
_FROM_LONLAT = Transformer.from_crs(DISPLAY_CRS, METRIC_CRS, always_xy=True)


_NO_POSITIONS = np.array([], dtype=np.intp)


@dataclass(frozen=True)
class Prepared:
    """Inputs joined to geography once, ready to be measured at any level.

    Attributes
    ----------
    inputs
        The validated inputs.
    membership
        One row per small area: ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``,
        ``borough_id``, ``borough_name`` (the area itself when there is no lookup).
    units
        Level name -> polygons with ``area_id``, ``area_name``, ``geometry``,
        ``centroid_x``, ``centroid_y`` (EPSG:27700).
    assets
        Located assets: the inputs' assets plus ``area_id`` of the small area they sit in.
    referrals
        Located referrals without any coordinates or ids: ``area_id``, ``category``,
        ``community``, ``count``, ``date``, ``asset_id``.
    local_reach
        ``asset_id``, ``area_id``: every small area each asset reaches, except citywide
        assets, which reach every area and are listed in ``citywide`` instead (so that
        national-scale data never materialises assets × areas pairs).
    citywide
        Ids of the assets whose reach is citywide.
    problems
        The loaders' non-fatal problems plus the rows rejected here.
    """

    inputs: Inputs
    membership: pd.DataFrame
    units: Mapping[str, gpd.GeoDataFrame]
    assets: gpd.GeoDataFrame
    referrals: pd.DataFrame
    local_reach: pd.DataFrame
    citywide: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())
    #: Results derived from these joined inputs alone (e.g. the small-area access scores), computed
    #: once and shared by every level analysed; never passed on by ``dataclasses.replace``.
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def reach(self) -> pd.DataFrame:
        """Every (asset_id, area_id) pair, citywide assets included (materialised on demand)."""
        areas = self.units["area"]["area_id"].to_numpy()
        citywide = np.asarray(self.citywide, dtype=object)
        everywhere = pd.DataFrame(
            {"asset_id": np.repeat(citywide, len(areas)), "area_id": np.tile(areas, len(citywide))}
        ).astype("string")
        pairs = pd.concat([self.local_reach, everywhere], ignore_index=True).drop_duplicates()
        return pairs.sort_values(["asset_id", "area_id"], kind="stable").reset_index(drop=True)

    def assets_reaching(self, area_ids: Iterable[str]) -> gpd.GeoDataFrame:
        """The assets that reach any of the given small areas (citywide ones included), in
        their order in :attr:`assets`.

        Looked up in an index of the reach pairs by small area, built on first use (a national
        data set has millions of pairs, and the dashboard asks for every area clicked).
        """
        by_area, citywide = self._reach_index
        parts = [by_area.get(str(area), _NO_POSITIONS) for area in area_ids]
        chosen = np.unique(np.concatenate([citywide, *parts]))
        return self.assets.take(chosen).reset_index(drop=True)

    @cached_property
    def _reach_index(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Small area id -> positions (in :attr:`assets`) of the assets reaching it, and the
        positions of the citywide assets, which reach every area."""
        asset_ids = self.assets["asset_id"].astype(str)
        position = pd.Index(asset_ids).get_indexer(self.local_reach["asset_id"].astype(str))
        groups = pd.Series(position).groupby(self.local_reach["area_id"].astype(str).to_numpy(), sort=False).indices
        by_area = {str(area): position[rows][position[rows] >= 0] for area, rows in groups.items()}
        citywide = np.flatnonzero(asset_ids.isin([str(a) for a in self.citywide]).to_numpy())
        return by_area, citywide.astype(np.intp)

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels this data supports: neighbourhood and borough need a lookup."""
        return LEVELS if self.inputs.lookup is not None else ("area",)

    @property
    def period_months(self) -> float:
        """Months the referrals cover, from the earliest to the latest dated month.

        Capacities are per month, so pressure divides referrals by this. Without dated
        referrals the period is taken as one month.
        """
        dates = self.referrals["date"].dropna() if len(self.referrals) else pd.Series([])
        if dates.empty:
            return 1.0
        first, last = dates.min(), dates.max()
        return float((last.year - first.year) * 12 + last.month - first.month + 1)


#: The steps :func:`prepare` reports, in order.
JOIN_STEPS = ("grouping areas into levels", "placing services in areas", "placing referrals in areas",
              "working out each service's reach")  # fmt: skip


def prepare(inputs: Inputs, on_step: Callable[[str], None] | None = None) -> Prepared:
    """Join assets and referrals to small areas and work out every asset's reach.

    Points outside every area are rejected and reported (with a hint when swapping
    latitude and longitude would put them inside one), never silently dropped.
    ``on_step`` hears each of :data:`JOIN_STEPS` as it starts.
    """
    heard = on_step or (lambda step: None)
    _check_crs(inputs)
    heard(JOIN_STEPS[0])
    membership = area_membership(inputs.areas, inputs.lookup)
    units = LevelUnits(inputs.areas, membership, _levels(inputs))

    problems: list[Problem] = list(inputs.problems)
    heard(JOIN_STEPS[1])
    assets, asset_problems = _locate_assets(inputs)
    problems += asset_problems
    heard(JOIN_STEPS[2])
    referrals, referral_problems = _locate_referrals(inputs)
    problems += referral_problems
    heard(JOIN_STEPS[3])
    local_reach, reach_problems = reach_pairs(assets, units["area"], membership)
    problems += reach_problems
    return Prepared(
        inputs=inputs,
        membership=membership,
        units=units,
        assets=assets,
        referrals=referrals,
        local_reach=local_reach,
        citywide=tuple(assets.loc[assets["reach"] == "citywide", "asset_id"]),
        problems=tuple(problems),
    )


class LevelUnits(Mapping[str, gpd.GeoDataFrame]):
    """Level name -> its polygons (:func:`level_units`), each dissolved on first use and kept.

    Dissolving the neighbourhoods and boroughs takes longer than the rest of an analysis of
    the small areas, which never needs them. Safe to share between threads: a level is
    built once, under a lock.
    """

    def __init__(self, areas: gpd.GeoDataFrame, membership: pd.DataFrame, levels: tuple[str, ...]) -> None:
        self._areas, self._membership, self._levels = areas, membership, levels
        self._built: dict[str, gpd.GeoDataFrame] = {}
        self._lock = threading.Lock()

    def __getitem__(self, level: str) -> gpd.GeoDataFrame:
        if level not in self._levels:
            raise KeyError(level)
        with self._lock:
            if level not in self._built:
                self._built[level] = level_units(self._areas, self._membership, level)
            return self._built[level]

    def __iter__(self) -> Iterator[str]:
        return iter(self._levels)

    def __len__(self) -> int:
        return len(self._levels)

    def __getstate__(self) -> dict[str, object]:  # a lock cannot be pickled (e.g. to a dask worker)
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _levels(inputs: Inputs) -> tuple[str, ...]:
    return LEVELS if inputs.lookup is not None else ("area",)


def _check_crs(inputs: Inputs) -> None:
    for name, frame in (("areas", inputs.areas), ("assets", inputs.assets)):
        if frame.crs is None or not frame.crs.equals(METRIC_CRS):
            raise CRSError(
                f"{name} must be in {METRIC_CRS} for metric work, but is in {frame.crs}; "
                f"load it through coverage_map.ingest or call .to_crs('{METRIC_CRS}') first"
            )


def area_membership(areas: gpd.GeoDataFrame, lookup: pd.DataFrame | None) -> pd.DataFrame:
    """Which neighbourhood and borough each small area belongs to.

    Without a lookup every area stands alone. Areas the lookup misses belong to
    :data:`~coverage_map.config.UNASSIGNED_ID` (the loader reports them).
    """
    base = areas[["area_id"]].copy()
    if lookup is None:
        base["neighbourhood_id"] = base["area_id"]
        base["neighbourhood_name"] = areas["area_name"].to_numpy()
        base["borough_id"] = base["area_id"]
        base["borough_name"] = areas["area_name"].to_numpy()
        return base
    columns = ["area_id", "neighbourhood_id", "neighbourhood_name", "borough_id", "borough_name"]
    merged = base.merge(lookup[columns], on="area_id", how="left", validate="one_to_one")
    for id_col, name_col in (("neighbourhood_id", "neighbourhood_name"), ("borough_id", "borough_name")):
        missing = merged[id_col].isna()
        merged.loc[missing, id_col] = UNASSIGNED_ID
        merged.loc[missing, name_col] = UNASSIGNED_NAME
    return merged


def unit_of(membership: pd.DataFrame, level: str) -> pd.Series:
    """Small area id -> id of the unit containing it at ``level``."""
    if level not in LEVELS:
        raise CoverageMapError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    column = "area_id" if level == "area" else f"{level}_id"
    return pd.Series(membership[column].to_numpy(), index=membership["area_id"].to_numpy())


def level_units(areas: gpd.GeoDataFrame, membership: pd.DataFrame, level: str) -> gpd.GeoDataFrame:
    """Polygons of one level: the small areas themselves, or their dissolved groups."""
    if level == "area":
        units = areas[["area_id", "area_name", "geometry"]].copy()
    else:
        keyed = areas[["area_id", "geometry"]].merge(
            membership[["area_id", f"{level}_id", f"{level}_name"]], on="area_id"
        )
        keyed = keyed.drop(columns="area_id").rename(columns={f"{level}_id": "area_id", f"{level}_name": "area_name"})
        units = keyed.dissolve(by=["area_id", "area_name"], as_index=False)
        units = units[["area_id", "area_name", "geometry"]]
    units = units.sort_values("area_id", kind="stable").reset_index(drop=True)
    centroids = units.geometry.centroid
    units["centroid_x"] = centroids.x.to_numpy()
    units["centroid_y"] = centroids.y.to_numpy()
    return gpd.GeoDataFrame(units, geometry="geometry", crs=areas.crs)


def points_in_areas(points: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> pd.Series:
    """The ``area_id`` containing each point (NA outside every area).

    A point on a shared boundary goes to the area with the smallest id, so the answer
    never depends on row order.
    """
    if points.empty:
        return pd.Series([], index=points.index, dtype="string")
    valid = np.flatnonzero((points.notna() & ~points.is_empty).to_numpy())
    point_index, area_index = areas.sindex.query(points.to_numpy()[valid], predicate="intersects")
    ids = areas["area_id"].to_numpy(dtype=object)
    # Smallest id first among a point's hits, in integer ranks: sorting millions of
    # (point, id text) pairs was the slowest part of locating referrals.
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    order = np.lexsort((rank[area_index], point_index))
    point_index, area_index = point_index[order], area_index[order]
    first = np.r_[True, point_index[1:] != point_index[:-1]] if len(point_index) else np.array([], dtype=bool)
    located = np.full(len(points), -1, dtype=np.int64)
    located[valid[point_index[first]]] = area_index[first]
    # Each id converted to text once and taken by position, not once per point.
    return pd.Series(pd.array(ids, dtype="string").take(located, allow_fill=True), index=points.index)


def _swapped_inside(points: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> pd.Series:
    """Whether swapping latitude and longitude would put each point inside an area."""
    if points.empty:
        return pd.Series([], index=points.index, dtype=bool)
    lon, lat = _TO_LONLAT.transform(points.x.to_numpy(), points.y.to_numpy())
    x, y = _FROM_LONLAT.transform(lat, lon)
    swapped = gpd.GeoSeries(shapely.points(x, y), index=points.index, crs=points.crs)
    finite = np.isfinite(x) & np.isfinite(y)
    return points_in_areas(swapped.where(finite), areas).notna()


def _outside_problems(
    frame: gpd.GeoDataFrame, outside: pd.Series, areas: gpd.GeoDataFrame, *, file: str, what: str, private: bool
) -> list[Problem]:
    rows = frame[outside]
    if rows.empty:
        return []
    swapped = _swapped_inside(rows.geometry, areas)
    problems = []
    for index, row in rows.iterrows():
        if swapped.loc[index]:
            message = f"{what} lies outside every area; latitude and longitude appear to be swapped"
        else:
            message = f"{what} lies outside every area"
        value = None if private else f"{row.geometry.x:.0f}, {row.geometry.y:.0f} (EPSG:27700)"
        problems.append(
            Problem(file, message, row=int(row["_source_row"]), column="geometry", value=value, fatal=False)
        )
    total = len(rows)
    problems.append(
        Problem(file, f"{total} {what}{'s' if total != 1 else ''} outside every area were rejected", fatal=False)
    )
    return problems


def _source_path(inputs: Inputs, role: str) -> str:
    for source in inputs.sources:
        if source.role == role:
            return source.path
    return role


def _locate_assets(inputs: Inputs) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    assets = inputs.assets.copy()
    assets["area_id"] = points_in_areas(assets.geometry, inputs.areas)
    outside = assets["area_id"].isna()
    problems = _outside_problems(
        assets, outside, inputs.areas, file=_source_path(inputs, "assets"), what="asset", private=False
    )
    return assets[~outside].reset_index(drop=True), problems


_REFERRAL_COLUMNS = ["area_id", "category", "community", "count", "date", "asset_id"]


def _locate_referrals(inputs: Inputs) -> tuple[pd.DataFrame, list[Problem]]:
    if inputs.referrals is None or inputs.referrals.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _REFERRAL_COLUMNS}), []
    referrals = inputs.referrals
    by_area = referrals["origin_area_id"].notna().to_numpy()
    area_id = referrals["origin_area_id"].astype("string")
    if not by_area.all():  # rows given by area id never go through the point-in-polygon join
        found = points_in_areas(referrals.geometry[~by_area], inputs.areas).array
        row = np.full(len(referrals), -1, dtype=np.int64)
        row[~by_area] = np.arange(len(found))
        area_id = area_id.where(by_area, pd.Series(found.take(row, allow_fill=True), index=area_id.index))
    outside = ~by_area & area_id.isna().to_numpy()
    problems = _outside_problems(
        referrals,
        outside,
        inputs.areas,
        file=_source_path(inputs, "referrals"),
        what="referral origin",
        private=True,
    )
    located = pd.DataFrame(
        {
            "area_id": area_id,
            "category": referrals["category"],
            "community": referrals["community"],
            "count": referrals["count"].astype("int64"),
            "date": referrals["date"],
            "asset_id": referrals["asset_id"],
        }
    )
    return located[~outside].reset_index(drop=True), problems


def reach_pairs(
    assets: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, membership: pd.DataFrame
) -> tuple[pd.DataFrame, list[Problem]]:
    """Every (asset, small area) pair where the asset's reach covers the area, citywide aside.

    * ``local``: the area the asset sits in;
    * ``borough``: every area in the same borough (needs a lookup);
    * ``citywide``: every area (left out here; see :attr:`Prepared.citywide`);
    * ``radius``: every area whose centroid is within ``reach_km`` of the asset, plus its
      own area.
    """
    problems: list[Problem] = []
    own = assets.loc[assets["reach"] != "citywide", ["asset_id", "area_id"]]
    pieces = [own]

    borough_of = membership.set_index("area_id")["borough_id"]
    borough_assets = assets[assets["reach"] == "borough"]
    if not borough_assets.empty:
        has_lookup = not (membership["borough_id"] == membership["area_id"]).all()
        if not has_lookup:
            problems.append(
                Problem(
                    "assets",
                    f"{len(borough_assets)} assets have reach 'borough' but there is no lookup "
                    "(--lookup) saying which areas form a borough; they are treated as local",
                    column="reach",
                    fatal=False,
                )
            )
        else:
            keyed = borough_assets[["asset_id", "area_id"]].assign(borough_id=lambda f: f["area_id"].map(borough_of))
            pieces.append(
                keyed[["asset_id", "borough_id"]].merge(membership[["area_id", "borough_id"]], on="borough_id")[
                    ["asset_id", "area_id"]
                ]
            )

    radius = assets[assets["reach"] == "radius"]
    if not radius.empty:
        centroids = shapely.points(areas["centroid_x"].to_numpy(), areas["centroid_y"].to_numpy())
        tree = shapely.STRtree(centroids)
        asset_index, area_index = tree.query(
            radius.geometry.to_numpy(), predicate="dwithin", distance=radius["reach_km"].to_numpy() * 1000.0
        )
        pieces.append(
            pd.DataFrame(
                {
                    "asset_id": radius["asset_id"].to_numpy()[asset_index],
                    "area_id": areas["area_id"].to_numpy()[area_index],
                }
            )
        )
    pairs = pd.concat(pieces, ignore_index=True).astype({"asset_id": "string", "area_id": "string"})
    pairs = pairs.drop_duplicates().sort_values(["asset_id", "area_id"], kind="stable")
    return pairs.reset_index(drop=True), problems
