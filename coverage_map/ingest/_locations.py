"""Locations in cells: latitude/longitude or easting/northing, checked and made EPSG:27700 points.

Latitude and longitude may be decimal or degrees, minutes and seconds (``53°28'50"N``);
eastings and northings are British National Grid metres.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..config import METRIC_CRS
from ..errors import Problem
from ._checks import _closest, _data_columns, _key, _missing_column, _RowChecker
from ._numbers import _number_column, _Numbers
from ._text import _filled, _mask, _TextAt

_LOCATION_COLUMNS = ("latitude", "longitude", "easting", "northing")
#: Column names (as :func:`_key` gives them) that hold postcodes, which are not geocoded.
_POSTCODE_COLUMNS = frozenset({"postcode", "post_code", "postal_code", "pcd", "pcds", "pcd2", "zip", "zip_code"})
#: Degrees, minutes and (optional) seconds such as ``53°28'50"N`` or ``2 14 33 W``.
_DMS = re.compile(
    r"([-+])?(\d{1,3})(?:\s*(?:°|º|deg)\s*|\s+)(\d{1,2}(?:\.\d+)?)(?:\s*(?:'|′|’|min)\s*|\s+)"
    r"(?:(\d{1,2}(?:\.\d+)?)\s*(?:\"|″|''|”|sec)?)?\s*([NSEWnsew])?"
)
#: Longer cells are not degrees, minutes and seconds (and are not worth a regex).
_DMS_MAX = 32
#: British National Grid extent, for plausibility checks of eastings and northings.
_MAX_EASTING, _MAX_NORTHING = 700_000.0, 1_300_000.0


def _coordinates_given(raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    """Rows with any coordinate cell filled in, or a geometry."""
    given = np.zeros(len(raw), dtype=bool)
    for name in _LOCATION_COLUMNS:
        if name in columns:
            given |= _filled(raw, columns[name])
    if isinstance(raw, gpd.GeoDataFrame):
        shapes = raw.geometry.to_numpy()
        given |= ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)
    return given


def _location_columns(
    raw: pd.DataFrame, file: str, columns: dict[str, str], *, what: str, area_column: bool = False
) -> list[Problem]:
    """File-level checks of the location columns: pairs complete, at least one way given."""
    problems = []
    for first, second in (("latitude", "longitude"), ("easting", "northing")):
        if (first in columns) != (second in columns):
            have, lack = (first, second) if first in columns else (second, first)
            problems.append(
                _missing_column(
                    file, lack, _data_columns(raw), note=f" ('{columns[have]}' needs it)", taken=columns.values()
                )
            )
    has_geometry = isinstance(raw, gpd.GeoDataFrame)
    any_way = (
        ("latitude" in columns and "longitude" in columns)
        or ("easting" in columns and "northing" in columns)
        or has_geometry
        or (area_column and ("origin_area_id" in columns or "origin_practice_code" in columns))
    )
    if not any_way and not problems:
        ways = "'origin_area_id', 'origin_practice_code' (with a practice file), " if area_column else ""
        postcode = next((column for column in _data_columns(raw) if _key(column) in _POSTCODE_COLUMNS), None)
        hint = (
            f"; the file has postcodes (column '{postcode}'), but coverage-map does not geocode postcodes: look "
            "them up (the ONS Postcode Directory gives each postcode's latitude, longitude and LSOA) and add "
            f"'latitude' and 'longitude' columns{' or an origin_area_id column' if area_column else ''}"
            if postcode is not None
            else _closest_location_hint(_data_columns(raw), area_column)
        )
        problems.append(
            Problem(
                file,
                f"no location columns for {what}: give {ways}'latitude' and 'longitude' (WGS84), 'easting' and "
                "'northing' (British National Grid), or use a spatial file with point geometry" + hint,
                column=postcode,
            )
        )
    return problems


def _closest_location_hint(columns: Sequence[str], area_column: bool) -> str:
    wanted = [*(["origin_area_id", "origin_practice_code"] if area_column else []), *_LOCATION_COLUMNS]
    guess = _closest(wanted, columns)
    return (
        f"; found '{guess}' — is that one of them?" if guess else f"; the columns are: {', '.join(map(str, columns))}"
    )


@functools.lru_cache(maxsize=1)
def _lonlat_to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def _locate(
    checker: _RowChecker,
    raw: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    private: bool,
    what: str,
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EPSG:27700 x, y of each row, and how it was given (``lonlat``/``en``/``geometry``).

    Rows with coordinates use latitude/longitude first, then easting/northing, then the
    file's point geometry; rows without any are rejected. ``skip`` rows are located
    another way (an area id) and not checked here.
    """
    n = len(raw)
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    how = np.full(n, "", dtype=object)
    pending = np.ones(n, dtype=bool) if skip is None else ~skip
    checked = pending.copy()

    if "latitude" in columns:
        lat_cells, lon_cells = _number_column(raw, columns["latitude"]), _number_column(raw, columns["longitude"])
        given = pending & (~lat_cells.blank | ~lon_cells.blank)
        lon, lat, ok = _checked_lonlat(checker, lat_cells, lon_cells, given, columns)
        if ok.any():
            x[ok], y[ok] = _lonlat_to_metric().transform(lon[ok], lat[ok])
        how[given] = "lonlat"
        pending &= ~given
    if "easting" in columns:
        e_cells, n_cells = _number_column(raw, columns["easting"]), _number_column(raw, columns["northing"])
        given = pending & (~e_cells.blank | ~n_cells.blank)
        easting, northing, ok = _checked_en(checker, e_cells, n_cells, given, columns)
        x[ok], y[ok] = easting[ok], northing[ok]
        how[given] = "en"
        pending &= ~given
    if isinstance(raw, gpd.GeoDataFrame):
        shapes = raw.geometry.to_numpy()
        given = pending & ~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)
        points = given & (shapely.get_type_id(shapes) == 0)
        not_point = given & ~points
        for i in np.flatnonzero(not_point):
            checker.reject_rows(
                [int(i)],
                f"geometry is a {shapes[i].geom_type}, not a point",
                "geometry",
                values=None if private else [shapes[i].geom_type],
                positions=True,
            )
        if points.any():
            metric = _to_metric(raw[points]).geometry
            x[points], y[points] = shapely.get_x(metric.to_numpy()), shapely.get_y(metric.to_numpy())
        how[given] = "geometry"
        pending &= ~given
    checker.reject(
        pending,
        f"the {what} has no location: give latitude and longitude, easting and northing"
        + (", an origin_area_id" if what == "referral" else "")
        + " or a point geometry",
        None,
    )
    lost = checked & ~pending & ~checker.rejected & ~(np.isfinite(x) & np.isfinite(y))  # located (how != "")
    checker.reject(lost, f"the coordinates cannot be converted to {METRIC_CRS}", None)
    return x, y, how


def _checked_lonlat(
    checker: _RowChecker, lat_cells: _Numbers, lon_cells: _Numbers, given: np.ndarray, columns: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lat, lon = lat_cells.values, lon_cells.values
    lat_col, lon_col = columns["latitude"], columns["longitude"]
    checker.reject(given & lat_cells.blank, "latitude is blank (longitude is given)", lat_col)
    checker.reject(given & lon_cells.blank, "longitude is blank (latitude is given)", lon_col)
    for cells, column, name in ((lat_cells, lat_col, "latitude"), (lon_cells, lon_col, "longitude")):
        # Only the cells that are not numbers are looked at as text.
        suspects = np.flatnonzero(given & cells.bad)
        texts = cells.text[suspects]
        dms = _is_dms(texts)
        for i, text in zip(suspects[dms], texts[dms], strict=True):
            # The decimal value is shown only where the value itself may be (not for referrals).
            example = "" if checker.private else f" ({text} is {_dms_degrees(text):.6f})"
            checker.reject_rows(
                [int(i)],
                f"{name} is in degrees, minutes and seconds; give decimal degrees{example}, "
                "negative west of Greenwich and south of the equator",
                column,
                values=[text],
                positions=True,
            )
        checker.reject(_mask(len(given), suspects[~dms]), f"{name} is not a number", column, values=cells.text)
    numeric = given & ~lat_cells.blank & ~lon_cells.blank & ~lat_cells.bad & ~lon_cells.bad
    swapped = numeric & (lat >= -9) & (lat <= 3) & (lon >= 49) & (lon <= 61)
    pair = _pair_text(lat_cells.text, lon_cells.text)
    checker.reject(
        swapped,
        "latitude and longitude appear to be swapped (Great Britain is at latitude 49 to 61, longitude -9 to 3)",
        lat_col,
        values=pair,
    )
    # Eastings and northings pasted into latitude/longitude (a file mixing CRSs row by row).
    metres = (
        numeric & (np.minimum(lat, lon) > 1000) & (np.maximum(lat, lon) <= _MAX_NORTHING)
        & (np.minimum(lat, lon) <= _MAX_EASTING)
    )  # fmt: skip
    checker.reject(
        metres,
        "latitude and longitude look like British National Grid metres, not degrees; put eastings and northings "
        "in 'easting' and 'northing' columns (EPSG:27700)",
        lat_col,
        values=pair,
    )
    lat_out = numeric & ~swapped & ~metres & ((lat < -90) | (lat > 90))
    lon_out = numeric & ~swapped & ~metres & ((lon < -180) | (lon > 180))
    checker.reject(lat_out, "latitude must be between -90 and 90", lat_col, values=lat_cells.text)
    checker.reject(lon_out, "longitude must be between -180 and 180", lon_col, values=lon_cells.text)
    # 0, 0 is what a spreadsheet or geocoder writes for "no location" (it is in the Gulf of Guinea).
    null_island = numeric & (lat == 0) & (lon == 0)
    checker.reject(
        null_island,
        "latitude and longitude are both 0, a placeholder for a missing location; leave them blank or give the "
        "real location",
        lat_col,
        values=pair,
    )
    return lon, lat, numeric & ~swapped & ~metres & ~lat_out & ~lon_out & ~null_island


def _is_dms(text: np.ndarray) -> np.ndarray:
    return np.array([len(str(cell)) <= _DMS_MAX and _DMS.fullmatch(str(cell)) is not None for cell in text], dtype=bool)


def _pair_text(first: np.ndarray | _TextAt, second: np.ndarray | _TextAt) -> _TextAt:
    """``"first, second"`` for the positions asked for (two coordinates shown together)."""
    return _TextAt(
        lambda positions: np.array(
            [f"{a}, {b}" for a, b in zip(first[positions], second[positions], strict=True)], dtype=object
        )
    )


def _dms_degrees(cell: str) -> float:
    match = _DMS.fullmatch(cell)
    assert match is not None
    degrees, minutes, seconds = (float(match.group(n) or 0) for n in (2, 3, 4))
    value = degrees + minutes / 60 + seconds / 3600
    negative = match.group(1) == "-" or (match.group(5) or "").upper() in ("S", "W")
    return -value if negative else value


def _checked_en(
    checker: _RowChecker, e_cells: _Numbers, n_cells: _Numbers, given: np.ndarray, columns: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    easting, northing = e_cells.values, n_cells.values
    e_col, n_col = columns["easting"], columns["northing"]
    checker.reject(given & e_cells.blank, "easting is blank (northing is given)", e_col)
    checker.reject(given & n_cells.blank, "northing is blank (easting is given)", n_col)
    checker.reject(given & e_cells.bad, "easting is not a number", e_col, values=e_cells.text)
    checker.reject(given & n_cells.bad, "northing is not a number", n_col, values=n_cells.text)
    numeric = given & ~e_cells.blank & ~n_cells.blank & ~e_cells.bad & ~n_cells.bad
    outside = numeric & ((easting < 0) | (easting > _MAX_EASTING) | (northing < 0) | (northing > _MAX_NORTHING))
    degrees = outside & (np.abs(easting) <= 180) & (np.abs(northing) <= 90)
    pair = _pair_text(e_cells.text, n_cells.text)
    checker.reject(
        degrees,
        "easting and northing look like longitude and latitude; put them in 'longitude' and 'latitude' columns",
        e_col,
        values=pair,
    )
    checker.reject(
        outside & ~degrees,
        "easting/northing is outside the British National Grid (easting 0 to 700,000, northing 0 to 1,300,000 metres)",
        e_col,
        values=pair,
    )
    return easting, northing, numeric & ~outside


def _to_metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:27700; read_any guarantees a CRS when there is any geometry."""
    if frame.crs is None:
        return frame.set_crs(METRIC_CRS)
    if frame.crs.equals(METRIC_CRS):
        return frame
    return frame.to_crs(METRIC_CRS)
