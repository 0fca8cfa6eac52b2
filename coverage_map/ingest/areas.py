"""Small areas: the polygon layer every other input is placed in (:func:`load_areas`).

Area ids and names are found by name (or ONS code columns such as ``LSOA21CD``), geometry is
made polygonal and valid (each repair reported) and reprojected to EPSG:27700.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import METRIC_CRS
from ..errors import Problem
from ._checks import (
    _ONS_CODE,
    _closest,
    _data_columns,
    _duplicate_problems,
    _has_fatal,
    _missing_column,
    _no_rows,
    _sorted,
)
from ._locations import _to_metric
from ._text import _texts
from .readers import read_any


def load_areas(
    path: str | Path, *, id_col: str | None = None, name_col: str | None = None, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load the small-area polygons (LSOAs, wards...) in EPSG:27700.

    Parameters
    ----------
    path
        Polygon layer in any supported format (a CSV needs a WKT ``geometry`` column).
    id_col, name_col
        Columns holding the area id and name. By default they are detected, in this
        order: ``area_id``/``area_name``; an ONS ``*CD``/``*NM`` pair such as
        ``LSOA21CD``/``LSOA21NM`` (a code column with a matching name column is
        preferred, then the one with the most distinct values); ``area_code``/``area_name``.
        Without a name column the name is the id.
    crs
        CRS of the file when it does not say (a shapefile without ``.prj``...).

    Returns
    -------
    areas, problems
        ``area_id``, ``area_name``, ``geometry`` (Polygon/MultiPolygon), ``_source_row``.
        Invalid geometries are repaired with :func:`shapely.make_valid` and reported;
        every other problem with an area (no geometry, not a polygon, blank or duplicate
        id) is fatal, because an area cannot be left out of the map.
    """
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    # read_any rejects rows with unreadable WKT; an area cannot be rejected, so they are fatal here.
    problems = [dataclasses.replace(p, fatal=True) if p.row is not None else p for p in problems]
    if _has_fatal(problems):
        return _areas_frame([], [], [], []), problems
    if not isinstance(raw, gpd.GeoDataFrame):
        problems.append(
            Problem(
                file,
                "areas need polygon geometry: use a spatial format (GeoJSON, GeoPackage, "
                "Shapefile...) or a CSV with a WKT 'geometry' column",
                column="geometry",
            )
        )
        return _areas_frame([], [], [], []), problems
    if raw.empty:
        problems.append(_no_rows(file))
        return _areas_frame([], [], [], []), problems
    id_column, name_column, column_problems = _area_columns(raw, file, id_col=id_col, name_col=name_col)
    problems += column_problems
    if id_column is None:
        return _areas_frame([], [], [], []), problems

    rows = raw["_source_row"].to_numpy()
    ids = _texts(raw, id_column)
    names = _texts(raw, name_column) if name_column is not None else ids.copy()
    names = np.where(names == "", ids, names)
    geometry, geometry_problems, broken = _area_geometry(_to_metric(raw).geometry.to_numpy(), rows, ids, file)
    problems += geometry_problems
    blank = ids == ""
    problems += [Problem(file, "the area id is blank", row=int(row), column=id_column) for row in rows[blank]]
    problems += _duplicate_problems(ids, rows, file, column=id_column, what="area id")

    keep = ~(broken | blank)
    return _areas_frame(ids[keep], names[keep], geometry[keep], rows[keep]), _sorted(problems)


def _areas_frame(
    ids: Sequence[str], names: Sequence[str], geometry: Sequence[object], rows: Sequence[int]
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "area_id": pd.Series(list(ids), dtype="str"),
            "area_name": pd.Series(list(names), dtype="str"),
            "_source_row": pd.Series(list(rows), dtype="int64"),
        },
        geometry=gpd.GeoSeries(list(geometry), crs=METRIC_CRS),
        crs=METRIC_CRS,
    )[["area_id", "area_name", "geometry", "_source_row"]]


def _area_columns(
    frame: pd.DataFrame, file: str, *, id_col: str | None, name_col: str | None
) -> tuple[str | None, str | None, list[Problem]]:
    columns = _data_columns(frame)
    by_lower = {str(column).lower(): column for column in reversed(columns)}
    problems: list[Problem] = []

    def given(name: str, option: str) -> str | None:
        found = name if name in columns else by_lower.get(name.lower())
        if found is None:
            problems.append(_missing_column(file, name, columns, note=f" (given as {option})"))
        return found

    id_column: str | None
    name_column: str | None = None
    if id_col is not None:
        id_column = given(id_col, "the area id column")
    elif "area_id" in by_lower:
        id_column, name_column = by_lower["area_id"], by_lower.get("area_name")
    elif ons := _ons_columns(frame, columns):
        id_column, name_column = ons
    elif "area_code" in by_lower:
        id_column, name_column = by_lower["area_code"], by_lower.get("area_name")
    else:
        id_column = None
        guess = _closest(["area_id", "area_code"], columns)
        hint = f"; found '{guess}' — is that it?" if guess else f"; the columns are: {', '.join(map(str, columns))}"
        problems.append(
            Problem(
                file,
                "cannot find the area id column: expected 'area_id', an ONS code column such as "
                f"'LSOA21CD' or 'WD22CD', or 'area_code'{hint}. Name it with id_col= (--area-id-col)",
            )
        )
    if name_col is not None:
        name_column = given(name_col, "the area name column")
    return id_column, name_column, problems


def _ons_columns(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[str, str | None] | None:
    """The ONS ``*CD`` code column (and its ``*NM`` name column) of the finest geography."""
    by_lower = {str(column).lower(): column for column in reversed(columns)}
    codes = [column for column in columns if _ONS_CODE.fullmatch(str(column).lower())]
    if not codes:
        return None
    paired = [column for column in codes if str(column).lower()[:-2] + "nm" in by_lower]
    pool = paired or codes
    # The finest geography has the most distinct codes (an LSOA file may also carry LAD codes).
    chosen = max(pool, key=lambda column: frame[column].nunique(dropna=True))
    return chosen, by_lower.get(str(chosen).lower()[:-2] + "nm")


def _area_geometry(
    geometry: np.ndarray, rows: np.ndarray, ids: np.ndarray, file: str
) -> tuple[np.ndarray, list[Problem], np.ndarray]:
    """Polygons only: repair what make_valid can, report the rest as fatal."""
    geometry = geometry.copy()
    problems: list[Problem] = []
    broken = np.zeros(len(geometry), dtype=bool)
    # Vectorised screening; only the rows that need attention go through Python.
    absent = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(shapely.bounds(geometry)).all(axis=1)
    polygonal = np.isin(shapely.get_type_id(geometry), (3, 6))  # Polygon, MultiPolygon
    attention = absent | ~finite | ~polygonal | ~shapely.is_valid(geometry)
    for i in np.flatnonzero(attention):
        shape, row, label = geometry[i], int(rows[i]), _area_label(ids[i])
        if absent[i]:
            problems.append(Problem(file, f"{label} has no geometry (it is empty or null)", row=row, column="geometry"))
            broken[i] = True
            continue
        if not finite[i]:
            problems.append(
                Problem(
                    file,
                    f"{label} has coordinates that cannot be converted to {METRIC_CRS}",
                    row=row,
                    column="geometry",
                )
            )
            broken[i] = True
            continue
        if not polygonal[i]:
            kept = _polygonal(shape) if shape.geom_type == "GeometryCollection" else None
            if kept is None:
                problems.append(
                    Problem(
                        file,
                        f"{label} is a {shape.geom_type}, not a polygon",
                        row=row,
                        column="geometry",
                        value=shape.geom_type,
                    )
                )
                broken[i] = True
                continue
            problems.append(
                Problem(
                    file,
                    f"{label} is a GeometryCollection; only its polygons were kept",
                    row=row,
                    column="geometry",
                    fatal=False,
                )
            )
            shape = kept
        if not shape.is_valid:
            reason = shapely.is_valid_reason(shape)
            repaired = _polygonal(shapely.make_valid(shape))
            if repaired is None:
                problems.append(
                    Problem(
                        file,
                        f"{label} has an invalid geometry ({reason}) that cannot be repaired into a polygon",
                        row=row,
                        column="geometry",
                    )
                )
                broken[i] = True
                continue
            problems.append(
                Problem(
                    file,
                    f"{label} had an invalid geometry ({reason}); it was repaired with shapely.make_valid",
                    row=row,
                    column="geometry",
                    fatal=False,
                )
            )
            shape = repaired
        geometry[i] = shape
    return geometry, problems, broken


def _area_label(area_id: str) -> str:
    return f"area '{area_id}'" if area_id else "the area"


def _polygonal(shape: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of a geometry, or None when it has none."""
    polygons = [
        part for part in shapely.get_parts(_flatten(shape)) if part.geom_type == "Polygon" and not part.is_empty
    ]
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _flatten(shape: shapely.Geometry) -> list[shapely.Geometry]:
    if shape.geom_type in ("GeometryCollection", "MultiPolygon"):
        return [leaf for part in shape.geoms for leaf in _flatten(part)]
    return [shape]
