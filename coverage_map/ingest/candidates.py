"""Candidate sites for new services (:func:`load_candidates`): any point file with an id, a name and a location.

Libraries, places of worship, GP practices, community centres: whatever places a new
service could open in. ``coverage-map suggest --candidates`` reads them; the location is
read exactly as an asset's (latitude/longitude, easting/northing or x/y, or point geometry).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import METRIC_CRS
from ..errors import Problem
from ._checks import (
    _all_rejected,
    _closest,
    _data_columns,
    _duplicate_problems,
    _find_columns,
    _has_fatal,
    _no_rows,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._locations import _LOCATION_COLUMNS, _locate, _location_columns
from ._text import _texts
from .readers import read_any

#: Columns of a loaded candidate table.
CANDIDATE_COLUMNS = ("site_id", "site_name", "geometry", "_source_row")
#: Names of the id column, in order of preference (matched ignoring case, spaces and -/_).
SITE_ID_COLUMNS = ("site_id", "id", "asset_id", "code", "practice_code", "organisation_code", "ods_code")
#: Names of the name column, in order of preference; without one the id is the name.
SITE_NAME_COLUMNS = ("site_name", "name", "practice_name", "organisation_name")


def load_candidates(path: str | Path, *, crs: str | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load candidate sites as points in EPSG:27700.

    Parameters
    ----------
    path
        A table with an id column (one of :data:`SITE_ID_COLUMNS`), optionally a name
        (:data:`SITE_NAME_COLUMNS`), and a location: ``latitude``/``longitude`` (WGS84),
        ``easting``/``northing`` or ``x``/``y`` (British National Grid), or point geometry.
    crs
        CRS of the geometry when the file does not say.

    Returns
    -------
    candidates, problems
        ``site_id``, ``site_name``, ``geometry`` (Point, EPSG:27700), ``_source_row``. A
        blank id or an unusable location rejects the row; a missing id or location
        column and repeated ids are fatal.
    """
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _candidates_frame([], [], np.array([]), np.array([]), np.array([])), problems
    found = _find_columns(raw, SITE_ID_COLUMNS)
    id_column = next((found[name] for name in SITE_ID_COLUMNS if name in found), None)
    names = _find_columns(raw, SITE_NAME_COLUMNS)
    name_column = next((names[name] for name in SITE_NAME_COLUMNS if name in names), None)
    if id_column is None:
        guess = _closest(list(SITE_ID_COLUMNS), _data_columns(raw))
        hint = f"; found '{guess}' — is that it?" if guess else f"; the columns are: {', '.join(_data_columns(raw))}"
        problems.append(
            Problem(file, "cannot find the site id column: expected one of " + ", ".join(SITE_ID_COLUMNS) + hint)
        )
    location = _find_columns(raw, _LOCATION_COLUMNS)
    if "easting" not in location and "northing" not in location:
        xy = _find_columns(raw, ("x", "y"))
        if len(xy) == 2:
            location.update(easting=xy["x"], northing=xy["y"])
    problems += _location_columns(raw, file, location, what="a candidate site's location")
    if _has_fatal(problems):
        return _candidates_frame([], [], np.array([]), np.array([]), np.array([])), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _candidates_frame([], [], np.array([]), np.array([]), np.array([])), [*problems, _no_rows(file)]
    assert id_column is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, id_column)
    checker.reject(ids == "", "the site id is blank", id_column)
    labels = _texts(raw, name_column) if name_column is not None else ids
    labels = np.where(labels == "", ids, labels)
    x, y, _ = _locate(checker, raw, location, private=False, what="candidate site")
    problems += _duplicate_problems(ids, rows, file, column=id_column, what="site id")
    keep = ~checker.rejected
    problems += checker.problems
    if not keep.any():
        problems.append(_all_rejected(file))
    return _candidates_frame(list(ids[keep]), list(labels[keep]), x[keep], y[keep], rows[keep]), _sorted(problems)


def _candidates_frame(
    ids: list[str], names: list[str], x: np.ndarray, y: np.ndarray, rows: np.ndarray
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": pd.Series(ids, dtype="str"),
            "site_name": pd.Series(names, dtype="str"),
            "_source_row": pd.Series(rows, dtype="int64"),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=METRIC_CRS,
    )[list(CANDIDATE_COLUMNS)]
