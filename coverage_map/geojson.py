"""Map boundaries as GeoJSON: simplified, rounded, and shared read-only by every map drawn from them.

Pure geometry (shapely and geopandas), so the core can build and memoise boundaries
(:meth:`coverage_map.dataset.Dataset.boundaries`) without loading a plotting library;
:mod:`coverage_map.outputs.figures` and the exports draw them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import geopandas as gpd
import numpy as np
import shapely

from .config import MAP_COORD_PRECISION


def units_geojson(
    units_wgs84: gpd.GeoDataFrame, *, tolerance_m: float = 25.0, precision: int = MAP_COORD_PRECISION
) -> dict:
    """Boundaries as a small GeoJSON FeatureCollection for the map.

    Polygons are simplified in metres (British National Grid, so the tolerance means the
    same everywhere), then coordinates are rounded to ``precision`` decimal places (5
    places of a degree is about 1 m). When the units tile the ground without overlaps (a
    valid polygonal coverage, as ONS boundaries do) they are simplified together with
    ``shapely.coverage_simplify``, so a border two units share stays one line: simplifying
    each polygon on its own opens slivers and overlaps between neighbours. Otherwise each
    polygon is simplified topology-preservingly. Every polygon drawn is valid, and no unit
    is lost: one that simplification or rounding would empty keeps its original outline.
    Each feature's ``id`` is its ``area_id``, which must be unique (the map matches features on it).

    Parameters
    ----------
    units_wgs84
        ``area_id``, ``area_name`` and polygons, in any CRS (reprojected here).
    tolerance_m
        Simplification tolerance in metres (0 keeps every vertex); see
        :data:`coverage_map.config.SIMPLIFY_TOLERANCE_M` for the dashboard's per level.
    precision
        Decimal places kept in longitude and latitude.
    """
    if units_wgs84.crs is None:
        raise ValueError("the units have no CRS; set one with set_crs() before drawing them")
    ids = units_wgs84["area_id"].astype(str)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"area_id must be unique to draw a map; repeated: {', '.join(duplicated[:5])}")
    metric = units_wgs84.to_crs("EPSG:27700") if units_wgs84.crs.is_geographic else units_wgs84
    original = np.asarray(metric.geometry.values, dtype=object)
    simplified = _simplify(original, tolerance_m) if tolerance_m > 0 else original
    grid = 10.0**-precision
    geometry = _to_display(simplified, metric.crs, grid)
    lost = _unusable(geometry) & ~shapely.is_missing(original) & ~shapely.is_empty(original)
    if lost.any():  # simplification emptied or broke these: draw them unsimplified
        geometry[lost] = _to_display(original[lost], metric.crs, grid)
    features = []
    for area_id, shape in zip(ids, geometry, strict=True):
        if shape is None or shape.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "id": area_id,
                "properties": {},
                "geometry": _rounded_mapping(shape, precision),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _simplify(shapes: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify as a coverage when the shapes form one (shared borders stay shared), else one by one."""
    polygonal = np.isin(shapely.get_type_id(shapes), (3, 6)) & ~shapely.is_empty(shapes)
    if len(shapes) and polygonal.all() and shapely.is_valid(shapes).all() and shapely.coverage_is_valid(shapes):
        return np.asarray(shapely.coverage_simplify(shapes, tolerance_m), dtype=object)
    return np.asarray(shapely.simplify(shapes, tolerance_m, preserve_topology=True), dtype=object)


def _to_display(shapes: np.ndarray, crs: object, grid: float) -> np.ndarray:
    """Reproject to WGS84 and snap to ``grid`` degrees, repairing any polygon rounding makes invalid."""
    lonlat = np.asarray(gpd.GeoSeries(shapes, crs=crs).to_crs("EPSG:4326").values, dtype=object)
    rounded = np.asarray(shapely.set_precision(lonlat, grid, mode="pointwise"), dtype=object)
    broken = ~shapely.is_valid(rounded) & ~shapely.is_missing(rounded)
    if broken.any():  # e.g. a spike thinner than the grid: snap those with GEOS's valid-output mode
        rounded[broken] = shapely.set_precision(lonlat[broken], grid, mode="valid_output")
    return rounded


def _unusable(shapes: np.ndarray) -> np.ndarray:
    """Shapes that cannot be drawn as a unit: missing, empty, invalid or no longer polygonal."""
    missing = shapely.is_missing(shapes)
    result = missing.copy()
    present = ~missing
    result[present] = (
        shapely.is_empty(shapes[present])
        | ~shapely.is_valid(shapes[present])
        | ~np.isin(shapely.get_type_id(shapes[present]), (3, 6))
    )
    return result


def _rounded_mapping(shape: shapely.Geometry, precision: int) -> dict:
    mapping = shapely.geometry.mapping(shape)

    def rounded(coords: object) -> object:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            return [round(float(c), precision) for c in coords[:2]]
        return [rounded(c) for c in coords]  # type: ignore[union-attr,attr-defined]

    return {"type": mapping["type"], "coordinates": rounded(mapping["coordinates"])}


class _ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes, so that copying it may safely return the same object."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> _ReadOnlyDict:
        return self

    def __copy__(self) -> _ReadOnlyDict:
        return self

    def __reduce__(self) -> tuple[type, tuple[dict[Any, Any]]]:
        return (dict, (dict(self),))  # pickles (and unpickles) as a plain dict

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("shared boundaries are read-only: copy them into a new dict to change them")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore[assignment]


class SharedGeoJSON(_ReadOnlyDict):
    """Boundaries built once and shared, read-only, by every map drawn from them.

    The figure library deep-copies a figure's properties when it builds one and again
    when it serialises it, and the boundaries are most of a map's bytes. Here every feature is a
    read-only dict and every coordinate list a tuple, so the whole collection is
    immutable and a copy is the collection itself: a map then costs its colours and
    hovers, not its geometry. It serialises exactly as the GeoJSON it was made from.
    Make one with :func:`share_geojson`.
    """

    __slots__ = ("_bounds",)
    _bounds: Mapping[str, tuple[float, float, float, float]]


def share_geojson(geojson: Mapping[str, Any]) -> SharedGeoJSON:
    """An immutable copy of ``geojson`` (from :func:`units_geojson`) for memoising and sharing.

    Each feature's bounding box is worked out once here, so :func:`geojson_bounds` of a
    shared collection (or of any :func:`subset_geojson` of it) no longer walks coordinates.
    """
    if isinstance(geojson, SharedGeoJSON):
        return geojson
    features: tuple[Mapping[str, Any], ...] = tuple(_freeze(f) for f in geojson.get("features", []))  # type: ignore[misc]
    bounds = {}
    for feature in features:
        box = _coordinate_bounds([feature])
        if box is not None:
            bounds[feature["id"]] = box
    return _shared({**geojson, "features": features}, bounds)


def _shared(collection: dict[str, Any], bounds: Mapping[str, tuple[float, float, float, float]]) -> SharedGeoJSON:
    shared = SharedGeoJSON(collection)
    shared._bounds = bounds  # set once, before anyone else sees it
    return shared


def _freeze(value: object) -> object:
    if isinstance(value, Mapping):
        return _ReadOnlyDict({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def subset_geojson(geojson: Mapping[str, Any], ids: Iterable[str]) -> dict:
    """The features of ``geojson`` whose id is in ``ids`` (e.g. one borough's units).

    A subset of a :class:`SharedGeoJSON` is shared too (it holds the same read-only features).
    """
    wanted = set(ids)
    features = [f for f in geojson["features"] if f["id"] in wanted]
    if isinstance(geojson, SharedGeoJSON):
        boxes = geojson._bounds
        return _shared({"type": "FeatureCollection", "features": tuple(features)},
                       {f["id"]: boxes[f["id"]] for f in features if f["id"] in boxes})  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def geojson_bounds(geojson: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` of every coordinate, or None for no features."""
    if isinstance(geojson, SharedGeoJSON):
        boxes = list(geojson._bounds.values())  # worked out by share_geojson
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip
    return _coordinate_bounds(geojson.get("features", []))


def _coordinate_bounds(features: Iterable[Mapping[str, Any]]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: object) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for c in coords:
                walk(c)

    for feature in features:
        walk(feature["geometry"]["coordinates"])
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)
