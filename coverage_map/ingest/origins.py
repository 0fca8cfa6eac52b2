"""Origins: the point each small area's people are taken to start from (e.g. ONS
population-weighted centroids), for travel distances and times."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import METRIC_CRS
from ..errors import Problem
from ._checks import (
    _area_ids,
    _duplicate_problems,
    _find_columns,
    _has_fatal,
    _isin,
    _no_rows,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._locations import _LOCATION_COLUMNS, _locate, _location_columns
from ._text import _texts
from .area_keys import area_column, missing_areas, none_match, unknown_areas
from .readers import read_any

#: Names of the area id column, besides ONS code columns such as ``lsoa21cd``.
AREA_COLUMNS = ("area_id", "area_code", "lsoa_code", "code")


def load_origins(
    path: str | Path, *, areas: gpd.GeoDataFrame | None = None, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load one origin point per small area, in EPSG:27700.

    Parameters
    ----------
    path
        A table with an area id column (``area_id``, or an ONS code column such as
        ``lsoa21cd``) and a point: ``latitude``/``longitude`` (WGS84), ``easting``/
        ``northing`` or ``x``/``y`` (British National Grid), or a point layer.
    areas
        When given, rows for other areas are reported and ignored, and areas without a
        row are reported (they have no origin).
    crs
        CRS of the geometry when the file does not say.

    Returns
    -------
    origins, problems
        ``area_id`` and a Point ``geometry`` (see :mod:`coverage_map.model`). A blank
        area id or an unusable point rejects the row; a repeated area id, a file without
        area or location columns, and a file none of whose areas is known are fatal.
    """
    return _load_origins(path, _area_ids(areas) if areas is not None else None, crs=crs)


def _load_origins(
    path: str | Path, area_ids: Sequence[str] | None, *, crs: str | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _origins_frame([], np.array([]), np.array([])), problems
    id_column, found = area_column(raw, file, area_ids, AREA_COLUMNS)
    problems += found
    location = _find_columns(raw, _LOCATION_COLUMNS)
    if "easting" not in location and "northing" not in location:
        # ONS centroid files give British National Grid metres as x and y.
        xy = _find_columns(raw, ("x", "y"))
        if len(xy) == 2:
            location.update(easting=xy["x"], northing=xy["y"])
    problems += _location_columns(raw, file, location, what="an area's origin")
    if _has_fatal(problems):
        return _origins_frame([], np.array([]), np.array([])), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _origins_frame([], np.array([]), np.array([])), [*problems, _no_rows(file)]
    assert id_column is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, id_column)
    checker.reject(ids == "", "the area id is blank", id_column)
    ignored = np.zeros(len(raw), dtype=bool)
    if area_ids is not None:
        unknown = (ids != "") & ~_isin(ids, area_ids)
        if (ids != "").any() and unknown[ids != ""].all():
            return _origins_frame([], np.array([]), np.array([])), [
                *problems,
                none_match(file, id_column, ids, area_ids),
            ]
        problems += unknown_areas(ids, rows, unknown, file, id_column)
        ignored = unknown
    x, y, _ = _locate(checker, raw, location, private=False, what="origin", skip=ignored)
    problems += _duplicate_problems(
        np.where(checker.rejected | ignored, "", ids), rows, file, column=id_column, what="area id"
    )
    keep = ~checker.rejected & ~ignored
    problems += checker.problems
    if area_ids is not None:
        problems += missing_areas(file, area_ids, set(ids[keep]), "origin")
    return _origins_frame(list(ids[keep]), x[keep], y[keep]), _sorted(problems)


def _origins_frame(ids: list[str], x: np.ndarray, y: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"area_id": pd.Series(ids, dtype="str")}, geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS)
