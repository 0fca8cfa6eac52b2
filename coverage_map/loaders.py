"""Validate each input file and harmonise it into the contracts of :mod:`coverage_map.model`.

Every loader follows validate -> compute -> assemble and returns ``(frame, problems)``:

* a *fatal* problem (missing column, no CRS, duplicate ids, unreadable file...) makes
  the file unusable; the frame returned alongside it is incomplete and must not be
  analysed;
* a *non-fatal* problem rejects (or repairs) one row; the rejected row is removed from
  the frame, so nothing is ever dropped without a problem naming it.

:func:`load_inputs` runs every loader, collects the problems of every file and raises
one :class:`~coverage_map.errors.ValidationError` when any is fatal.

Referral rows are health data: a problem about a referral never carries its id, its
coordinates, its date or its origin area in ``value``; the message says what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import functools
import gc
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pandas.api.extensions import ExtensionArray
from pyproj import Transformer

from . import practices as practices_logic
from .config import METRIC_CRS, UNASSIGNED_ID, UNASSIGNED_NAME
from .errors import CoverageMapError, Problem, ValidationError
from .ingest.readers import read_any
from .model import Inputs, SourceInfo
from .taxonomy import Taxonomy, Vocabulary, normalise_label, split_labels

LOOKUP_COLUMNS = ("area_id", "neighbourhood_id", "neighbourhood_name", "borough_id", "borough_name")
ASSET_COLUMNS = (
    "asset_id", "name", "categories", "communities", "capacity", "accepting_referrals", "reach", "reach_km",
)  # fmt: skip
REFERRAL_COLUMNS = (
    "category", "community", "count", "date", "asset_id", "origin_area_id", "geometry", "_coords", "_source_row",
)  # fmt: skip

#: Other spellings accepted for a column (matching also ignores case, spaces and -/_).
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "latitude": ("lat",),
    "longitude": ("lon", "lng", "long"),
    "origin_practice_code": ("practice_code", "gp_practice_code"),
}
#: Referral dates before this are typing errors (and outside what the analysis can hold).
EARLIEST_REFERRAL_DATE = dt.date(1900, 1, 1)
#: More referrals than this on one aggregated row is a typing error, not a count.
MAX_REFERRAL_COUNT = 1_000_000_000
_LOCATION_COLUMNS = ("latitude", "longitude", "easting", "northing")
#: Column names (as :func:`_key` gives them) that hold postcodes, which are not geocoded.
_POSTCODE_COLUMNS = frozenset({"postcode", "post_code", "postal_code", "pcd", "pcds", "pcd2", "zip", "zip_code"})
#: First cells of a spreadsheet's summary rows ("Total", "Grand total"...), which are not records.
_SUMMARY = re.compile(r"(grand\s+|sub[-\s]?)?totals?:?|sum|all\s+areas", re.IGNORECASE)
#: The first letters a :data:`_SUMMARY` cell can start with (``ſ`` matches ``s`` ignoring case).
_SUMMARY_STARTS = frozenset("gGsSſtTaA")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
_REACH_WORDS: Mapping[str, str] = {
    "local": "local",
    "borough": "borough",
    "borough_wide": "borough",
    "boroughwide": "borough",
    "citywide": "citywide",
    "city_wide": "citywide",
    "city": "citywide",
}
_REACH_KM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(?:km|kms|kilometres|kilometers)?", re.IGNORECASE)
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DATE = re.compile(
    r"(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)?"
)
#: 14/03/2025, 03/14/2025, 3.14.25...: day and month order is ambiguous.
_DAY_MONTH = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-](\d{2}|\d{4})(?:[T ].*)?")
_ONS_CODE = re.compile(r"([a-z]+\d*)cd")
#: Degrees, minutes and (optional) seconds such as ``53°28'50"N`` or ``2 14 33 W``.
_DMS = re.compile(
    r"([-+])?(\d{1,3})(?:\s*(?:°|º|deg)\s*|\s+)(\d{1,2}(?:\.\d+)?)(?:\s*(?:'|′|’|min)\s*|\s+)"
    r"(?:(\d{1,2}(?:\.\d+)?)\s*(?:\"|″|''|”|sec)?)?\s*([NSEWnsew])?"
)
#: Longer cells are not degrees, minutes and seconds (and are not worth a regex).
_DMS_MAX = 32
#: British National Grid extent, for plausibility checks of eastings and northings.
_MAX_EASTING, _MAX_NORTHING = 700_000.0, 1_300_000.0


# =========================================================================== areas


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


# =========================================================================== lookup


def load_lookup(
    path: str | Path,
    areas: gpd.GeoDataFrame,
    *,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the table that groups small areas into neighbourhoods and boroughs.

    Parameters
    ----------
    path
        Either the plain table with ``area_id``, ``neighbourhood_id``,
        ``neighbourhood_name``, ``borough_id``, ``borough_name``, or an ONS-style lookup
        such as ``oa21cd,lsoa21cd,lsoa21nm,msoa21cd,msoa21nm,lad22cd,lad22nm`` (one row
        per output area: the rows of each small area are collapsed, and conflicts
        reported) or ``lsoa21cd,lsoa21nm,wd22cd,wd22nm,lad22cd,lad22nm``.
    areas
        The loaded areas (:func:`load_areas`); the result has exactly one row per area.
    lookup_levels
        For ONS-style lookups: ``{"neighbourhood": ..., "borough": ..., "area": ...}``,
        each a code column, ``"CODECOL:NAMECOL"`` or ``(code, name)``. By default the
        area column is the one whose values best match the areas' ids, the borough is
        ``borough_id`` or the local-authority code column (``lad22cd``...), and the
        neighbourhood is ``neighbourhood_id`` or the next coarser geography present
        (``msoa21cd``, ``wd22cd``...). Giving any level also turns on ONS-style loading.
        With ``groups`` the neighbourhood entry names the groups file's columns.
    groups
        A second table mapping a code of the lookup (a ward or LSOA code, in a column
        matched automatically against the lookup's columns) to ``neighbourhood_id`` and
        ``neighbourhood_name``: area -> ward -> neighbourhood, and borough from the lookup.

    Returns
    -------
    lookup, problems
        The five columns, one row per area in ``areas`` order. Areas missing from the
        file are assigned :data:`~coverage_map.config.UNASSIGNED_ID` and reported; rows
        for areas not in ``areas`` are reported and ignored. An area in two
        neighbourhoods (or boroughs), and a neighbourhood in two boroughs, are fatal.
    """
    frame, problems, _ = _load_lookup(path, _area_ids(areas), lookup_levels=lookup_levels, groups=groups)
    return frame, problems


def _load_lookup(
    path: str | Path,
    area_ids: Sequence[str] | None,
    *,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
) -> tuple[pd.DataFrame, list[Problem], int]:
    """The lookup, its problems, and the number of rows of the groups file (0 without one)."""
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _lookup_frame({}), problems, 0
    levels, level_problems = _lookup_levels(lookup_levels, file)
    problems += level_problems
    if _has_fatal(level_problems):
        return _lookup_frame({}), problems, 0
    if lookup_levels is None and groups is None and not _is_ons_lookup(raw):
        frame, problems = _load_plain_lookup(raw, file, area_ids, problems)
        return frame, problems, 0
    return _load_level_lookup(raw, file, area_ids, levels, groups, problems)


def _load_plain_lookup(
    raw: pd.DataFrame, file: str, area_ids: Sequence[str] | None, problems: list[Problem]
) -> tuple[pd.DataFrame, list[Problem]]:
    columns, column_problems = _require(raw, file, LOOKUP_COLUMNS)
    problems += column_problems
    if column_problems:
        return _lookup_frame({}), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _lookup_frame({}), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    text = {name: _texts(raw, columns[name]) for name in LOOKUP_COLUMNS}
    checker = _RowChecker(file, rows)
    for name in ("area_id", "neighbourhood_id", "borough_id"):
        checker.reject(text[name] == "", f"{name} is blank", columns[name])
    for id_name, name_name in (("neighbourhood_id", "neighbourhood_name"), ("borough_id", "borough_name")):
        text[name_name] = np.where(text[name_name] == "", text[id_name], text[name_name])
    if area_ids is not None:
        known = set(area_ids)
        unknown = ~_isin(text["area_id"], known) & ~checker.rejected
        near = _near_misses(text["area_id"], unknown, known)
        for i in np.flatnonzero(_given(near)):
            checker.reject_rows(
                [int(i)], _near_miss_message(near[i]), columns["area_id"], values=[text["area_id"][i]], positions=True
            )
        checker.reject(
            unknown & ~_given(near),
            "this area is not in the areas file; ignored",
            columns["area_id"],
            values=text["area_id"],
        )
    keep = ~checker.rejected
    kept = pd.DataFrame({name: text[name][keep] for name in LOOKUP_COLUMNS}).assign(_row=rows[keep])

    fatal, repeated = _lookup_duplicates(kept, file, columns)
    problems += fatal
    conflicting = {problem.value for problem in fatal}
    for index, first_row in repeated.items():
        if kept.at[index, "area_id"] in conflicting:
            continue
        checker.reject_rows(
            [int(kept.at[index, "_row"])],
            f"this area is listed again with the same groups as row {first_row}; duplicate ignored",
            columns["area_id"],
            values=[kept.at[index, "area_id"]],
        )
    kept = kept.drop(index=list(repeated))
    problems += _two_borough_problems(kept, file, columns["neighbourhood_id"])
    problems += _circular_problems(kept, file, columns["neighbourhood_id"])
    kept, naming = _harmonise_names(kept, file, columns)
    problems += checker.problems + naming

    groups = {name: kept[name].to_numpy() for name in LOOKUP_COLUMNS}
    if area_ids is not None:
        groups, missing = _assign_unassigned(kept, area_ids, file)
        problems += missing
    if kept.empty:
        problems.append(_all_rejected(file))
    return _lookup_frame(groups), _sorted(problems)


def _lookup_frame(columns: Mapping[str, Sequence[str] | np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(list(columns.get(name, [])), dtype="str") for name in LOOKUP_COLUMNS})


def _lookup_duplicates(
    kept: pd.DataFrame, file: str, columns: Mapping[str, str]
) -> tuple[list[Problem], dict[int, int]]:
    """Fatal problems for areas with conflicting groups; exact repeats -> first row."""
    fatal: list[Problem] = []
    repeated: dict[int, int] = {}
    for area_id, group in kept[kept["area_id"].duplicated(keep=False)].groupby("area_id", sort=False):
        pairs = list(zip(group["neighbourhood_id"], group["borough_id"], strict=True))
        first = int(group["_row"].iloc[0])
        # Later rows go either way: as harmless repeats, or after a fatal problem below.
        repeated.update({int(index): first for index in group.index[1:]})
        if len(set(pairs)) == 1:
            continue
        listing = "; ".join(
            f"row {row}: neighbourhood '{n}', borough '{b}'" for row, (n, b) in zip(group["_row"], pairs, strict=True)
        )
        fatal.append(
            Problem(
                file,
                f"area '{area_id}' is listed more than once with different groups ({listing})",
                row=int(group["_row"].iloc[1]),
                column=columns["area_id"],
                value=str(area_id),
            )
        )
    return fatal, repeated


def _two_borough_problems(kept: pd.DataFrame, file: str, column: str) -> list[Problem]:
    problems = []
    # Only neighbourhoods in more than one borough are looked at group by group.
    split = kept.groupby("neighbourhood_id", sort=False)["borough_id"].nunique()
    split_kept = kept[kept["neighbourhood_id"].isin(split.index[split > 1])]
    for neighbourhood, group in split_kept.groupby("neighbourhood_id", sort=False):
        boroughs = group.groupby("borough_id", sort=False)["_row"].apply(list)
        if len(boroughs) < 2:
            continue
        listing = ", ".join(
            f"'{borough}' (row{'s' if len(r) > 1 else ''} {', '.join(map(str, r))})" for borough, r in boroughs.items()
        )
        problems.append(
            Problem(
                file,
                f"neighbourhood '{neighbourhood}' is in {len(boroughs)} boroughs: {listing}; "
                "a neighbourhood must sit inside one borough",
                row=int(boroughs.iloc[1][0]),
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _circular_problems(kept: pd.DataFrame, file: str, column: str) -> list[Problem]:
    """Fatal: a neighbourhood id that is the id of another area, which sits in a different neighbourhood.

    The lookup would then loop (area -> area -> neighbourhood): usually a shifted column,
    or an area id typed where a neighbourhood id belongs. An area may be its own
    neighbourhood (MSOAs as neighbourhoods), so ``X -> X`` is fine.
    """
    area_ids = kept["area_id"].to_numpy(dtype=object)
    neighbourhoods = kept["neighbourhood_id"].to_numpy(dtype=object)
    # Screen every row at once (the neighbourhood's own neighbourhood, when it is an area); only loops go on.
    last = kept.drop_duplicates("area_id", keep="last")
    owner = pd.Series(last["neighbourhood_id"].to_numpy(dtype=object), index=last["area_id"].to_numpy(dtype=object))
    theirs = owner.reindex(neighbourhoods).to_numpy(dtype=object)
    looping = (neighbourhoods != area_ids) & ~pd.isna(theirs) & (theirs != neighbourhoods)
    if not looping.any():
        return []
    own = dict(zip(kept["area_id"], kept["neighbourhood_id"], strict=True))
    row_of = dict(zip(kept["area_id"], kept["_row"], strict=True))
    problems = []
    for i in np.flatnonzero(looping):
        area_id, neighbourhood, row = area_ids[i], neighbourhoods[i], kept["_row"].iloc[i]
        problems.append(
            Problem(
                file,
                f"area '{area_id}' is put in neighbourhood '{neighbourhood}', which is itself an area of the lookup "
                f"(row {row_of[neighbourhood]}, in neighbourhood '{own[neighbourhood]}'), so the lookup goes round "
                "in a loop; is a column shifted, or an area id typed as a neighbourhood id?",
                row=int(row),
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _harmonise_names(kept: pd.DataFrame, file: str, columns: Mapping[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    """One name per neighbourhood and borough id (the first given), reporting others."""
    kept = kept.copy()
    problems = []
    for level in ("neighbourhood", "borough"):
        id_name, name_name = f"{level}_id", f"{level}_name"
        first = kept.drop_duplicates(id_name).set_index(id_name)[name_name]
        wanted = kept[id_name].map(first)
        differs = kept[name_name].to_numpy() != wanted.to_numpy()
        for (_, row), name in zip(kept[differs].iterrows(), wanted[differs], strict=True):
            problems.append(
                Problem(
                    file,
                    f"{level} '{row[id_name]}' is named '{name}' on an earlier row; that name is used here too",
                    row=int(row["_row"]),
                    column=columns[name_name],
                    value=str(row[name_name]),
                    fatal=False,
                )
            )
        kept[name_name] = wanted.to_numpy()
    return kept, problems


def _assign_unassigned(
    kept: pd.DataFrame, area_ids: Sequence[str], file: str
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    by_area = kept.set_index("area_id")
    ordered = by_area.reindex(list(area_ids))
    missing = ordered["neighbourhood_id"].isna().to_numpy()
    problems = [
        Problem(
            file,
            f"area '{area_id}' has no usable row in the lookup; it is assigned to neighbourhood and "
            f"borough '{UNASSIGNED_ID}' ({UNASSIGNED_NAME})",
            column="area_id",
            value=str(area_id),
            fatal=False,
        )
        for area_id in np.asarray(area_ids, dtype=object)[missing]
    ]
    groups = {"area_id": np.asarray(area_ids, dtype=object)}
    for level in ("neighbourhood", "borough"):
        groups[f"{level}_id"] = np.where(missing, UNASSIGNED_ID, ordered[f"{level}_id"].to_numpy(dtype=object))
        groups[f"{level}_name"] = np.where(missing, UNASSIGNED_NAME, ordered[f"{level}_name"].to_numpy(dtype=object))
    return groups, problems


# --------------------------------------------------------------------------- ONS-style lookups

#: Keys of ``lookup_levels``.
LOOKUP_LEVELS = ("area", "neighbourhood", "borough")
#: Local-authority code columns, the default borough of an ONS lookup.
_LAD_CODE = re.compile(r"(lad|ltla)\d*cd")
#: Problems about many values (a national lookup has thousands of areas outside the
#: areas file) are listed one by one up to this many, then summarised in one problem.
_MAX_LISTED = 20


@dataclasses.dataclass(frozen=True)
class _Groups:
    """A loaded groups file: one row per key (ward or area code), indexed by the key."""

    file: str
    table: pd.DataFrame  # index: key; columns neighbourhood_id, neighbourhood_name, _row
    key_column: str  # the groups file's key column
    lookup_column: str  # the lookup column it matches
    id_column: str  # the groups file's neighbourhood id column


def _lookup_levels(
    levels: Mapping[str, str | Sequence[str | None]] | None, file: str
) -> tuple[dict[str, tuple[str, str | None]], list[Problem]]:
    """``{"borough": "lad22cd:lad22nm"}`` -> ``{"borough": ("lad22cd", "lad22nm")}``."""
    parsed: dict[str, tuple[str, str | None]] = {}
    problems: list[Problem] = []
    for level, spec in (levels or {}).items():
        if level not in LOOKUP_LEVELS:
            problems.append(
                Problem(file, f"unknown lookup level '{level}'; use {', '.join(LOOKUP_LEVELS)}", value=str(level))
            )
            continue
        if spec is None:
            continue
        if isinstance(spec, str):
            code, _, name = spec.partition(":")
        else:
            items = list(spec)
            code, name = (items[0] if items else "") or "", (items[1] if len(items) > 1 else "") or ""
        code, name = str(code).strip(), str(name).strip()
        if not code:
            problems.append(
                Problem(file, f"the {level} column is blank; give CODECOL or CODECOL:NAMECOL", value=str(spec))
            )
            continue
        parsed[level] = (code, name or None)
    return parsed, problems


def _is_ons_lookup(raw: pd.DataFrame) -> bool:
    """No ``area_id`` column, but ONS ``*cd`` code columns: load it by levels."""
    if _named_column(raw, "area_id") is not None:
        return False
    return any(_ONS_CODE.fullmatch(str(column).strip().lower()) for column in _data_columns(raw))


def _named_column(raw: pd.DataFrame, name: str) -> str | None:
    """The file's column called ``name``, matching case, spaces and -/_ loosely."""
    if name in raw.columns and name != "_source_row":
        return name
    wanted = _key(name)
    return next((column for column in _data_columns(raw) if _key(column) == wanted), None)


def _name_column_for(raw: pd.DataFrame, code_column: str) -> str | None:
    """The name column beside a code column: ``lad22cd`` -> ``lad22nm``, ``x_id`` -> ``x_name``."""
    lower = str(code_column).strip().lower()
    for code_end, name_end in (("cd", "nm"), ("_id", "_name"), ("_code", "_name")):
        if lower.endswith(code_end):
            found = _named_column(raw, lower[: -len(code_end)] + name_end)
            if found is not None and found != code_column:
                return found
    return None


def _given_columns(
    raw: pd.DataFrame, file: str, given: tuple[str, str | None], option: str
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    """The code (and name) columns a user named; a missing one is fatal with a suggestion."""
    problems = []
    code = _named_column(raw, given[0])
    if code is None:
        problems.append(_missing_column(file, given[0], _data_columns(raw), note=f" (given as {option})"))
    name = None
    if given[1] is not None:
        name = _named_column(raw, given[1])
        if name is None:
            problems.append(_missing_column(file, given[1], _data_columns(raw), note=f" (given as {option})"))
    elif code is not None:
        name = _name_column_for(raw, code)
    return (code, name) if code is not None else None, problems


def _best_matching_column(
    texts: Mapping[str, np.ndarray], candidates: Iterable[str], wanted: set[str]
) -> tuple[str | None, int]:
    """The candidate holding the most of ``wanted`` (then the fewest other values)."""
    best, best_key = None, (0, 0)
    for column in candidates:
        values = set(pd.unique(texts[column])) - {""}
        hits = len(values & wanted)
        key = (hits, -(len(values) - hits))
        if hits and (best is None or key > best_key):
            best, best_key = column, key
    return best, best_key[0]


def _lookup_area_column(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    area_ids: Sequence[str] | None,
    given: tuple[str, str | None] | None,
) -> tuple[str | None, list[Problem]]:
    if given is not None:
        found, problems = _given_columns(raw, file, (given[0], None), "the lookup's area column (--lookup-area-col)")
        return (found[0] if found else None), problems
    codes = [column for column in texts if _ONS_CODE.fullmatch(str(column).strip().lower())]
    if area_ids is None:
        # The areas are unusable, so nothing to match: check the file by its finest code column.
        named = _named_column(raw, "area_id")
        if named is not None or codes:
            return named or max(codes, key=lambda column: len(set(texts[column]))), []
        return None, [Problem(file, "cannot find the lookup's area column; name it with --lookup-area-col")]
    column, _ = _best_matching_column(texts, texts, set(area_ids))
    if column is not None:
        return column, []
    examples = ", ".join(f"{name} '{_first_value(texts[name])}'" for name in (codes or list(texts))[:6])
    sample = f" such as '{area_ids[0]}'" if len(area_ids) else ""
    return None, [
        Problem(
            file,
            f"none of the lookup's columns holds the areas' ids{sample}; its columns hold e.g. {examples}. "
            "Are the lookup and the areas for the same geography and year (LSOA 2011 and 2021 codes differ)? "
            "Name the column with --lookup-area-col (lookup_levels={'area': ...} in Python)",
        )
    ]


def _first_value(values: np.ndarray) -> str:
    return next((str(value) for value in values if value != ""), "")


def _lookup_borough_columns(
    raw: pd.DataFrame, file: str, texts: Mapping[str, np.ndarray], given: tuple[str, str | None] | None
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    if given is not None:
        return _given_columns(raw, file, given, "the borough column (--borough-col)")
    named = _named_column(raw, "borough_id")
    if named is not None:
        return (named, _named_column(raw, "borough_name")), []
    lad = [column for column in texts if _LAD_CODE.fullmatch(str(column).strip().lower())]
    if lad:
        return (lad[0], _name_column_for(raw, lad[0])), []
    return None, [
        Problem(
            file,
            "cannot find the borough column of the lookup: expected 'borough_id' or a local-authority code "
            "column such as 'lad22cd'; name it with --borough-col CODECOL[:NAMECOL] "
            "(lookup_levels={'borough': 'CODECOL:NAMECOL'} in Python)",
            column="borough_id",
        )
    ]


def _lookup_neighbourhood_columns(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    given: tuple[str, str | None] | None,
    *,
    area_column: str,
    borough_column: str | None,
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    """The named columns, ``neighbourhood_id``, or the next coarser geography than the areas."""
    if given is not None:
        return _given_columns(raw, file, given, "the neighbourhood column (--neighbourhood-col)")
    named = _named_column(raw, "neighbourhood_id")
    if named is not None:
        return (named, _named_column(raw, "neighbourhood_name")), []
    area = texts[area_column]
    coarser: list[tuple[bool, int, str]] = []
    for column in texts:
        if column in (area_column, borough_column) or not _ONS_CODE.fullmatch(str(column).strip().lower()):
            continue
        pairs = pd.DataFrame({"area": area, "group": texts[column]})
        pairs = pairs[(pairs["area"] != "") & (pairs["group"] != "")].drop_duplicates()
        # A coarser geography has fewer codes than there are areas (output areas have
        # more). One that gives each area a single code is preferred; if the best one
        # does not, its conflicting areas are reported.
        groups = pairs["group"].nunique()
        if groups and groups < pairs["area"].nunique():
            coarser.append((not pairs["area"].duplicated().any(), groups, column))
    if coarser:
        column = max(coarser)[2]
        return (column, _name_column_for(raw, column)), []
    return None, [
        Problem(
            file,
            f"cannot find a neighbourhood column: no code column of the lookup groups the areas ('{area_column}') "
            "into fewer, larger units (such as 'msoa21cd' or 'wd22cd'). Name it with --neighbourhood-col "
            f"CODECOL[:NAMECOL] (--neighbourhood-col {area_column} makes each area its own neighbourhood), "
            "or give --groups FILE",
            column="neighbourhood_id",
        )
    ]


def _load_level_lookup(
    raw: pd.DataFrame,
    file: str,
    area_ids: Sequence[str] | None,
    levels: Mapping[str, tuple[str, str | None]],
    groups: str | Path | None,
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[Problem], int]:
    """An ONS-style lookup (levels picked from its columns), optionally with a groups file."""
    if raw.empty:
        return _lookup_frame({}), [*problems, _no_rows(file)], 0
    texts = {str(column): _texts(raw, column) for column in _data_columns(raw)}
    area_column, found = _lookup_area_column(raw, file, texts, area_ids, levels.get("area"))
    problems += found
    borough, found = _lookup_borough_columns(raw, file, texts, levels.get("borough"))
    problems += found
    neighbourhood: tuple[str, str | None] | None = None
    group_set: _Groups | None = None
    group_rows = 0
    if area_column is not None and groups is None:
        neighbourhood, found = _lookup_neighbourhood_columns(
            raw, file, texts, levels.get("neighbourhood"), area_column=area_column,
            borough_column=borough[0] if borough else None,
        )  # fmt: skip
        problems += found
    unusable = _has_fatal(problems) or area_column is None or borough is None
    if groups is not None:
        # The groups file is checked even when the lookup is unusable, so both are fixed in one go.
        group_set, found, group_rows = _load_groups(groups, levels.get("neighbourhood"), texts)
        problems += found
        unusable = unusable or group_set is None
    if unusable:
        return _lookup_frame({}), problems, group_rows
    assert area_column is not None and borough is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    area = texts[area_column]
    borough_id = texts[borough[0]]
    borough_name = texts[borough[1]] if borough[1] is not None else borough_id
    checker.reject(area == "", "the area code is blank", area_column)
    checker.reject(borough_id == "", "the borough code is blank", borough[0])
    ignored = np.zeros(len(raw), dtype=bool)
    if area_ids is not None:
        unknown = ~_isin(area, area_ids) & ~checker.rejected
        problems += _per_value_problems(
            area, rows, unknown, file, area_column,
            each="this area is not in the areas file; ignored",
            summary="{count:,} areas in column '{column}' are not in the areas file (e.g. {examples}); "
            "their {rows:,} rows are ignored",
        )  # fmt: skip
        ignored |= unknown
    if group_set is None:
        assert neighbourhood is not None
        neighbourhood_id = texts[neighbourhood[0]]
        neighbourhood_name = texts[neighbourhood[1]] if neighbourhood[1] is not None else neighbourhood_id
        checker.reject(neighbourhood_id == "", "the neighbourhood code is blank", neighbourhood[0])
        group_row = np.zeros(len(raw), dtype="int64")
    else:
        key = texts[group_set.lookup_column]
        checker.reject(key == "", f"the {group_set.lookup_column} code is blank", group_set.lookup_column)
        matched = group_set.table.reindex(pd.Index(key, dtype=object))
        neighbourhood_id = matched["neighbourhood_id"].fillna("").to_numpy(dtype=object)
        neighbourhood_name = matched["neighbourhood_name"].fillna("").to_numpy(dtype=object)
        group_row = matched["_row"].fillna(0).to_numpy(dtype="int64")
        ungrouped = (neighbourhood_id == "") & ~checker.rejected & ~ignored
        problems += _per_value_problems(
            key, rows, ungrouped, group_set.file, group_set.key_column,
            each=f"this {group_set.lookup_column} code of the lookup ({file}) has no neighbourhood in the "
            f"groups file; its lookup rows are ignored, and areas left without a neighbourhood are assigned "
            f"to '{UNASSIGNED_ID}'",
            summary=f"{{count:,}} {group_set.lookup_column} codes of the lookup ({file}) have no neighbourhood "
            f"in the groups file (e.g. {{examples}}); their {{rows:,}} lookup rows are ignored, and areas left "
            f"without a neighbourhood are assigned to '{UNASSIGNED_ID}'",
            row_numbers=False,
        )  # fmt: skip
        ignored |= ungrouped
    neighbourhood_name = np.where(neighbourhood_name == "", neighbourhood_id, neighbourhood_name)
    borough_name = np.where(borough_name == "", borough_id, borough_name)
    keep = ~checker.rejected & ~ignored
    kept = pd.DataFrame(
        {
            "area_id": area[keep], "neighbourhood_id": neighbourhood_id[keep],
            "neighbourhood_name": neighbourhood_name[keep], "borough_id": borough_id[keep],
            "borough_name": borough_name[keep], "_row": rows[keep], "_group_row": group_row[keep],
        }
    )  # fmt: skip
    problems += checker.problems
    if neighbourhood is not None:
        kept, found = _first_names(kept, "neighbourhood", file, neighbourhood[1] or neighbourhood[0])
        problems += found
    kept, found = _first_names(kept, "borough", file, borough[1] or borough[0])
    problems += found

    unique = kept.drop_duplicates(["area_id", "neighbourhood_id", "borough_id"])
    problems += _area_conflicts(kept, unique, file, area_column)
    per_area = unique.drop_duplicates("area_id")
    if neighbourhood is not None:
        problems += _split_neighbourhoods(per_area, file, neighbourhood[0], group_rows=False)
    elif group_set is not None:
        problems += _split_neighbourhoods(per_area, group_set.file, group_set.id_column, group_rows=True)
    if kept.empty:
        problems.append(_all_rejected(file))
    if area_ids is None:
        return _lookup_frame({name: list(per_area[name]) for name in LOOKUP_COLUMNS}), _sorted(problems), group_rows
    assigned, missing = _assign_unassigned(per_area, area_ids, file)
    problems += [dataclasses.replace(problem, column=area_column) for problem in missing]
    return _lookup_frame(assigned), _sorted(problems), group_rows


def _load_groups(
    path: str | Path, given: tuple[str, str | None] | None, lookup_texts: Mapping[str, np.ndarray]
) -> tuple[_Groups | None, list[Problem], int]:
    """The groups file: a ward (or area) code of the lookup -> neighbourhood id and name."""
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return None, problems, 0
    if given is not None:
        columns, found = _given_columns(raw, file, given, "the neighbourhood column (--neighbourhood-col)")
    else:
        id_column = _named_column(raw, "neighbourhood_id")
        columns = (id_column, _named_column(raw, "neighbourhood_name")) if id_column else None
        found = [] if id_column else [_missing_column(file, "neighbourhood_id", _data_columns(raw))]
    problems += found
    if columns is None or _has_fatal(found):
        return None, problems, len(raw)
    if raw.empty:
        return None, [*problems, _no_rows(file)], 0
    texts = {str(column): _texts(raw, column) for column in _data_columns(raw) if column not in columns}
    key_column, lookup_column = _matching_key(texts, lookup_texts)
    if key_column is None or lookup_column is None:
        listed = ", ".join(f"'{column}'" for column in texts) or "none"
        codes = ", ".join(f"{name} '{_first_value(values)}'" for name, values in list(lookup_texts.items())[:6])
        problems.append(
            Problem(
                file,
                f"none of the groups file's key columns ({listed}) matches a column of the lookup; the key "
                f"should hold codes the lookup also has, such as {codes}",
            )
        )
        return None, problems, len(raw)

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    key = texts[key_column]
    neighbourhood_id = _texts(raw, columns[0])
    neighbourhood_name = _texts(raw, columns[1]) if columns[1] is not None else neighbourhood_id
    neighbourhood_name = np.where(neighbourhood_name == "", neighbourhood_id, neighbourhood_name)
    checker.reject(key == "", f"{key_column} is blank", key_column)
    checker.reject(neighbourhood_id == "", "the neighbourhood id is blank", columns[0])
    orphan = ~_isin(key, set(lookup_texts[lookup_column])) & ~checker.rejected
    problems += _per_value_problems(
        key, rows, orphan, file, key_column,
        each=f"this code is not in the lookup's column '{lookup_column}'; ignored",
        summary=f"{{count:,}} codes in column '{{column}}' are not in the lookup's column '{lookup_column}' "
        "(e.g. {examples}); their {rows:,} rows are ignored",
    )  # fmt: skip
    keep = ~checker.rejected & ~orphan
    kept = pd.DataFrame(
        {"key": key[keep], "neighbourhood_id": neighbourhood_id[keep],
         "neighbourhood_name": neighbourhood_name[keep], "_row": rows[keep]}
    )  # fmt: skip
    unique = kept.drop_duplicates(["key", "neighbourhood_id"])
    for index, row in kept[kept.duplicated(["key", "neighbourhood_id"])].iterrows():
        first = unique.loc[(unique["key"] == row["key"]) & (unique["neighbourhood_id"] == row["neighbourhood_id"])]
        checker.reject_rows(
            [int(row["_row"])],
            f"this code is listed again with the same neighbourhood as row {int(first['_row'].iloc[0])}; "
            "duplicate ignored",
            key_column,
            values=[row["key"]],
        )
    for code, group in unique[unique["key"].duplicated(keep=False)].groupby("key", sort=False):
        listing = ", ".join(f"'{n}' (row {r})" for n, r in zip(group["neighbourhood_id"], group["_row"], strict=True))
        problems.append(
            Problem(
                file,
                f"{key_column} '{code}' is in more than one neighbourhood: {listing}; "
                "each code must be in exactly one neighbourhood",
                row=int(group["_row"].iloc[1]),
                column=key_column,
                value=str(code),
            )
        )
    problems += checker.problems
    unique, found = _first_names(unique, "neighbourhood", file, columns[1] or columns[0])
    problems += found
    if unique.empty:
        problems.append(_all_rejected(file))
    table = unique.drop_duplicates("key").set_index("key")[["neighbourhood_id", "neighbourhood_name", "_row"]]
    return _Groups(file, table, key_column, lookup_column, columns[0]), _sorted(problems), len(raw)


def _matching_key(
    texts: Mapping[str, np.ndarray], lookup_texts: Mapping[str, np.ndarray]
) -> tuple[str | None, str | None]:
    """The (groups column, lookup column) pair sharing the most codes (same name wins a tie)."""
    best: tuple[str | None, str | None] = (None, None)
    best_key = (0, False, 0)
    lookup_values = {column: set(values) - {""} for column, values in lookup_texts.items()}
    for column, values in texts.items():
        mine = set(values) - {""}
        for lookup_column, theirs in lookup_values.items():
            hits = len(mine & theirs)
            key = (hits, _key(column) == _key(lookup_column), -len(theirs))
            if hits and key > best_key:
                best, best_key = (column, lookup_column), key
    return best


def _per_value_problems(
    values: np.ndarray,
    rows: np.ndarray,
    mask: np.ndarray,
    file: str,
    column: str,
    *,
    each: str,
    summary: str,
    row_numbers: bool = True,
) -> list[Problem]:
    """Non-fatal problems, one per distinct value (at its first row), or one summary when many."""
    if not mask.any():
        return []
    frame = pd.DataFrame({"value": values[mask], "row": rows[mask]})
    counts = frame.groupby("value", sort=False)["row"].agg(["first", "size"])
    if len(counts) > _MAX_LISTED:
        examples = ", ".join(f"'{value}'" for value in counts.index[:5])
        text = summary.format(count=len(counts), column=column, examples=examples, rows=int(mask.sum()))
        return [Problem(file, text, column=column, fatal=False)]
    return [
        Problem(
            file,
            each + (f" ({size} rows)" if size > 1 else ""),
            row=int(first) if row_numbers else None,
            column=column,
            value=str(value),
            fatal=False,
        )
        for value, (first, size) in counts.iterrows()
    ]


def _first_names(kept: pd.DataFrame, level: str, file: str, column: str) -> tuple[pd.DataFrame, list[Problem]]:
    """One name per id (the first given); each other name is reported once, at its first row."""
    id_name, name_name = f"{level}_id", f"{level}_name"
    first = kept.drop_duplicates(id_name).set_index(id_name)[name_name]
    wanted = kept[id_name].map(first)
    differs = kept[name_name].to_numpy() != wanted.to_numpy()
    others = kept[differs].drop_duplicates([id_name, name_name])
    problems = [
        Problem(
            file,
            f"{level} '{row[id_name]}' is named '{first[row[id_name]]}' on an earlier row; that name is used here too",
            row=int(row["_row"]),
            column=column,
            value=str(row[name_name]),
            fatal=False,
        )
        for _, row in others.iterrows()
    ]
    return kept.assign(**{name_name: wanted.to_numpy()}), problems


def _area_conflicts(kept: pd.DataFrame, unique: pd.DataFrame, file: str, column: str) -> list[Problem]:
    """Fatal: an area whose rows put it in two neighbourhoods (or boroughs)."""
    conflicting = unique.loc[unique["area_id"].duplicated(keep=False), "area_id"].unique()
    if not len(conflicting):
        return []
    rows_of = (
        kept[kept["area_id"].isin(set(conflicting))]
        .groupby(["area_id", "neighbourhood_id", "borough_id"], sort=False)["_row"]
        .apply(list)
    )
    problems = []
    for area_id in conflicting[:_MAX_LISTED]:
        groups = rows_of.loc[area_id]
        listing = "; ".join(f"neighbourhood '{n}', borough '{b}' ({_rows_text(r)})" for (n, b), r in groups.items())
        problems.append(
            Problem(
                file,
                f"area '{area_id}' is in more than one group ({listing}); an area must be in exactly one "
                "neighbourhood and borough",
                row=int(groups.iloc[1][0]),
                column=column,
                value=str(area_id),
            )
        )
    if len(conflicting) > _MAX_LISTED:
        problems.append(
            Problem(
                file,
                f"... and {len(conflicting) - _MAX_LISTED:,} more areas in more than one group "
                f"({len(conflicting):,} in all): is the neighbourhood column finer than the areas?",
                column=column,
            )
        )
    return problems


def _split_neighbourhoods(per_area: pd.DataFrame, file: str, column: str, *, group_rows: bool) -> list[Problem]:
    """Fatal: a neighbourhood whose areas lie in more than one borough."""
    boroughs = per_area.groupby("neighbourhood_id", sort=False)["borough_id"].nunique()
    problems = []
    for neighbourhood in boroughs.index[boroughs > 1]:
        members = per_area[per_area["neighbourhood_id"] == neighbourhood]
        by_borough = members.groupby("borough_id", sort=False)
        listing = ", ".join(
            f"'{borough}' (area{'s' if len(group) > 1 else ''} {_examples_text(list(group['area_id']))})"
            for borough, group in by_borough
        )
        second = members[members["borough_id"] != members["borough_id"].iloc[0]]
        row = int(members["_group_row"].iloc[0]) if group_rows else int(second["_row"].iloc[0])
        problems.append(
            Problem(
                file,
                f"neighbourhood '{neighbourhood}' is in {boroughs[neighbourhood]} boroughs: {listing}; "
                "a neighbourhood must sit inside one borough",
                row=row or None,
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _examples_text(values: Sequence[str]) -> str:
    shown = ", ".join(str(value) for value in values[:3])
    return shown + (f" and {len(values) - 3} more" if len(values) > 3 else "")


# =========================================================================== population


def load_population(
    path: str | Path, areas: gpd.GeoDataFrame, taxonomy: Taxonomy
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the population of each area, in total and for each community.

    Parameters
    ----------
    path
        Table with ``area_id``, ``population`` and any number of ``pop_<community>``
        columns; ``<community>`` is resolved through ``taxonomy.communities`` (so
        ``pop_BME`` becomes ``pop_bame``).
    areas
        The loaded areas; the result has one row per area, in the same order.
    taxonomy
        Vocabulary of communities.

    Returns
    -------
    population, problems
        ``area_id``, ``population`` and ``pop_<community>`` as floats. Areas missing
        from the file get NaN (reported); rows for unknown areas are reported and
        ignored. A blank ``pop_<community>`` cell is unknown (NaN); a blank, negative or
        non-numeric ``population`` rejects its row; a group larger than the total is fatal.
    """
    return _load_population(path, _area_ids(areas), taxonomy)


def _load_population(
    path: str | Path, area_ids: Sequence[str] | None, taxonomy: Taxonomy
) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _population_frame({}, []), problems
    columns, column_problems = _require(raw, file, ("area_id", "population"))
    groups, group_problems = _community_columns(raw, file, taxonomy.communities)
    problems += column_problems + group_problems
    if _has_fatal(column_problems + group_problems):
        return _population_frame({}, list(groups)), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _population_frame({}, list(groups)), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, columns["area_id"])
    checker.reject(ids == "", "area_id is blank", columns["area_id"])
    total_text = _texts(raw, columns["population"])
    checker.reject(total_text == "", "population is blank", columns["population"])
    values = {"population": _checked_counts(checker, total_text, columns["population"])}
    for label, column in groups.items():
        values[f"pop_{label}"] = _checked_counts(checker, _texts(raw, column), column)
    for label, column in groups.items():
        larger = values[f"pop_{label}"] > values["population"]
        for i in np.flatnonzero(larger):
            problems.append(
                Problem(
                    file,
                    f"the '{label}' population ({values[f'pop_{label}'][i]:g}) is larger than "
                    f"the total population ({values['population'][i]:g})",
                    row=int(rows[i]),
                    column=column,
                    value=_number_text(values[f"pop_{label}"][i]),
                )
            )
    problems += _duplicate_problems(
        np.where(checker.rejected, "", ids), rows, file, column=columns["area_id"], what="area id"
    )
    rejected_ids = set(ids[checker.rejected & (ids != "")])
    if area_ids is not None:
        unknown = ~_isin(ids, area_ids) & ~checker.rejected
        near = _near_misses(ids, unknown, set(area_ids))
        for i in np.flatnonzero(_given(near)):
            checker.reject_rows(
                [int(i)], _near_miss_message(near[i]), columns["area_id"], values=[ids[i]], positions=True
            )
        checker.reject(
            unknown & ~_given(near),
            "this area is not in the areas file; ignored",
            columns["area_id"],
            values=ids,
        )
    keep = ~checker.rejected
    table = pd.DataFrame({"area_id": ids[keep], **{name: array[keep] for name, array in values.items()}})
    table = table.drop_duplicates("area_id")
    problems += checker.problems
    if table.empty:
        problems.append(_all_rejected(file))
    if area_ids is None:
        return _population_frame(table, list(groups)), _sorted(problems)
    ordered = table.set_index("area_id").reindex(list(area_ids))
    for area_id in ordered.index[~ordered.index.isin(table["area_id"])]:
        if area_id in rejected_ids:
            continue
        problems.append(
            Problem(
                file,
                f"area '{area_id}' has no row in the population file; its population is unknown (NaN)",
                column="area_id",
                value=str(area_id),
                fatal=False,
            )
        )
    return _population_frame(ordered.reset_index(), list(groups)), _sorted(problems)


def _population_frame(table: Mapping[str, object] | pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    names = ["population", *(f"pop_{label}" for label in labels)]
    source = table if isinstance(table, pd.DataFrame) else pd.DataFrame(columns=["area_id", *names])
    frame = pd.DataFrame({"area_id": pd.Series(source["area_id"].to_numpy(dtype=object), dtype="str")})
    for name in names:
        frame[name] = pd.to_numeric(pd.Series(source[name].to_numpy(), dtype="float64"))
    return frame


def _community_columns(frame: pd.DataFrame, file: str, communities: Vocabulary) -> tuple[dict[str, str], list[Problem]]:
    """Canonical community -> its ``pop_<community>`` column."""
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for column in _data_columns(frame):
        key = normalise_label(str(column))
        if not key.startswith("pop_"):
            continue
        label = str(column).strip()[4:].strip()
        canonical = communities.resolve(label)
        if canonical is None:
            problems.append(
                Problem(
                    file,
                    f"column '{column}': {communities.unknown_message(label)}",
                    row=1,
                    column=str(column),
                    value=label,
                )
            )
        elif canonical in found:
            problems.append(
                Problem(
                    file,
                    f"columns '{found[canonical]}' and '{column}' are both the '{canonical}' population",
                    row=1,
                    column=str(column),
                    value=label,
                )
            )
        else:
            found[canonical] = column
    return found, problems


def _checked_counts(checker: _RowChecker, text: np.ndarray, column: str) -> np.ndarray:
    numbers, bad = _numbers(text)
    checker.reject(bad, "is not a number", column, values=text, prefix_column=True)
    checker.reject(~bad & (numbers < 0), "must not be negative", column, values=text, prefix_column=True)
    return np.where(bad | (numbers < 0), np.nan, numbers)


# =========================================================================== assets


def load_assets(
    path: str | Path, taxonomy: Taxonomy, *, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load community assets (organisations, groups, services) as points in EPSG:27700.

    Parameters
    ----------
    path
        Table with ``asset_id``, ``name``, ``categories`` and a location: ``latitude``/
        ``longitude`` (WGS84), ``easting``/``northing`` (EPSG:27700) or point geometry.
        Optional ``communities``, ``capacity``, ``accepting_referrals`` and ``reach``;
        any other column is passed through.
    taxonomy
        Vocabulary of need categories and communities.
    crs
        CRS of the geometry when the file does not say (a CSV with a WKT ``geometry`` column).

    Returns
    -------
    assets, problems
        See :mod:`coverage_map.model`. Rows with a bad value are rejected and reported;
        duplicate ``asset_id`` values are fatal.
    """
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _assets_frame(None, {}), problems
    columns, column_problems = _require(raw, file, ("asset_id", "name", "categories"))
    optional = _find_columns(raw, ("communities", "capacity", "accepting_referrals", "reach", *_LOCATION_COLUMNS))
    columns.update(optional)
    location_problems = (
        [] if _header_misplaced(column_problems) else _location_columns(raw, file, columns, what="an asset's location")
    )
    problems += column_problems + location_problems
    if column_problems or location_problems:
        return _assets_frame(None, {}), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _assets_frame(None, {}), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, columns["asset_id"])
    names = _texts(raw, columns["name"])
    checker.reject(ids == "", "asset_id is blank", columns["asset_id"])
    checker.reject(names == "", "name is blank", columns["name"])
    categories = _label_lists(
        checker, _texts(raw, columns["categories"]), taxonomy.categories, columns["categories"], required=True
    )
    communities = (
        _label_lists(
            checker, _texts(raw, columns["communities"]), taxonomy.communities, columns["communities"], required=False
        )
        if "communities" in columns
        else [()] * len(raw)
    )
    capacity = _optional_capacity(checker, raw, columns)
    accepting = _optional_booleans(checker, raw, columns)
    reach, reach_km = _optional_reach(checker, raw, columns)
    x, y, _ = _locate(checker, raw, columns, private=False, what="asset")
    problems += _duplicate_problems(ids, rows, file, column=columns["asset_id"], what="asset_id")

    keep = ~checker.rejected
    problems += checker.problems
    if not keep.any():
        problems.append(_all_rejected(file))
    used = {*columns.values(), "_source_row"}
    passthrough = {
        str(column): _blank_to_missing(raw[column])[keep].reset_index(drop=True)
        for column in _data_columns(raw)
        if column not in used and not str(column).startswith("_") and str(column) not in ASSET_COLUMNS
    }
    values = {
        "asset_id": ids[keep], "name": names[keep],
        "categories": [categories[i] for i in np.flatnonzero(keep)],
        "communities": [communities[i] for i in np.flatnonzero(keep)],
        "capacity": capacity[keep], "accepting_referrals": accepting[keep],
        "reach": reach[keep], "reach_km": reach_km[keep],
        "geometry": shapely.points(x[keep], y[keep]), "_source_row": rows[keep],
    }  # fmt: skip
    return _assets_frame(values, passthrough), _sorted(problems)


def _assets_frame(values: Mapping[str, Any] | None, passthrough: Mapping[str, pd.Series]) -> gpd.GeoDataFrame:
    get: Callable[[str], list[object]] = (lambda name: list(values[name])) if values is not None else (lambda name: [])
    frame = pd.DataFrame(
        {
            "asset_id": pd.Series(get("asset_id"), dtype="str"),
            "name": pd.Series(get("name"), dtype="str"),
            "categories": pd.Series(get("categories"), dtype=object),
            "communities": pd.Series(get("communities"), dtype=object),
            "capacity": pd.Series(get("capacity"), dtype="float64"),
            "accepting_referrals": pd.Series(pd.array(get("accepting_referrals"), dtype="boolean")),
            "reach": pd.Series(get("reach"), dtype="str"),
            "reach_km": pd.Series(get("reach_km"), dtype="float64"),
            "_source_row": pd.Series(get("_source_row"), dtype="int64"),
        }
    )
    for name, column in passthrough.items():
        frame[name] = column.reset_index(drop=True)
    geometry = gpd.GeoSeries(get("geometry"), crs=METRIC_CRS)
    spatial = gpd.GeoDataFrame(frame, geometry=geometry, crs=METRIC_CRS)
    order = [*ASSET_COLUMNS, "geometry", "_source_row", *passthrough]
    return spatial[order]


def _optional_capacity(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    if "capacity" not in columns:
        return np.full(len(raw), np.nan)
    cells = _number_column(raw, columns["capacity"])
    numbers, bad = cells.values, cells.bad
    checker.reject(bad, "capacity is not a number (referrals per month)", columns["capacity"], values=cells.text)
    negative = ~bad & (numbers < 0)
    checker.reject(negative, "capacity must not be negative", columns["capacity"], values=cells.text)
    return np.where(bad | negative, np.nan, numbers)


def _optional_booleans(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    if "accepting_referrals" not in columns:
        return np.full(len(raw), None, dtype=object)
    text = _texts(raw, columns["accepting_referrals"])
    lower = np.char.lower(text.astype(str))
    truth = np.full(len(text), None, dtype=object)
    truth[np.isin(lower, list(_TRUE))] = True
    truth[np.isin(lower, list(_FALSE))] = False
    bad = (text != "") & np.array([value is None for value in truth], dtype=bool)
    checker.reject(
        bad,
        "accepting_referrals must be true or false (yes/no, y/n, 1/0) or blank",
        columns["accepting_referrals"],
        values=text,
    )
    return truth


def _optional_reach(
    checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    reach = np.full(len(raw), "local", dtype=object)
    reach_km = np.full(len(raw), np.nan)
    if "reach" not in columns:
        return reach, reach_km
    codes, distinct = _coded_texts(raw, columns["reach"])
    # Each distinct cell is read once: (reach, km, problem message or None).
    readings = [_reach_of(cell) for cell in distinct]
    for i, code in enumerate(codes):
        if distinct[code] == "":
            continue
        word, km, message = readings[code]
        if message is not None:
            checker.reject_rows([i], message, columns["reach"], values=[distinct[code]], positions=True)
        else:
            reach[i], reach_km[i] = word, km
    return reach, reach_km


def _reach_of(cell: str) -> tuple[str, float, str | None]:
    """A reach cell read as (reach, km, problem): a word, a distance in km, or a problem message."""
    word = _REACH_WORDS.get(normalise_label(cell))
    if word is not None:
        return word, np.nan, None
    match = _REACH_KM.fullmatch(cell)
    km = float(match.group(1)) if match else np.nan
    if match and km > 0:
        return "radius", km, None
    message = (
        "a reach in km must be more than 0"
        if match
        else "reach must be local, borough, citywide or a distance in km such as '3km'"
    )
    return "local", np.nan, message


# =========================================================================== referrals


def load_referrals(
    path: str | Path,
    taxonomy: Taxonomy,
    *,
    areas: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
    practices: str | Path | pd.DataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load referral records (or aggregated counts) from social prescribing.

    Parameters
    ----------
    path
        Table with ``category`` and one origin per row: ``origin_area_id``, or
        ``latitude``/``longitude``, or ``easting``/``northing``, or point geometry, or
        ``origin_practice_code`` (the person's GP practice, an ODS code such as
        ``P84001``; also ``practice_code``). Each row uses the most precise origin it
        gives: its area id, else its coordinates, else its practice. Optional
        ``referral_id``, ``date`` (``YYYY-MM-DD`` or ``YYYY-MM``), ``community``,
        ``asset_id`` and ``count`` (whole number >= 1, default 1).
    taxonomy
        Vocabulary of need categories and communities.
    areas
        When given, an ``origin_area_id`` that is not one of its ids rejects the row.
    crs
        CRS of the geometry when the file does not say.
    practices
        The GP practice file (see :func:`load_practices`) or a table it returned;
        needed when rows give only a practice code. Such a row takes the practice's
        area, else its point (placed in an area later, like other coordinates). An
        unknown code, or a practice with neither area nor point, rejects the row.

    Returns
    -------
    referrals, problems
        See :mod:`coverage_map.model` (``_coords`` is ``practice`` for rows placed
        through their practice); ``referral_id`` and any other column are dropped.
        Problems never carry a referral's id, coordinates, date or origin area (a
        practice code is public and may be shown). Problems of a practice file given as
        a path are included.
    """
    area_ids = _area_ids(areas) if areas is not None else None
    problems: list[Problem] = []
    table: pd.DataFrame | None = None
    practices_file: str | None = None
    if isinstance(practices, pd.DataFrame):
        table, practices_file = practices, "the practices table"
    elif practices is not None:
        table, problems = _load_practices(practices, area_ids, crs=crs)
        practices_file = str(practices)
        if _has_fatal(problems):
            table = None
    frame, found = _load_referrals(
        path, taxonomy, area_ids=area_ids, crs=crs, practices=table, practices_file=practices_file
    )
    return frame, problems + found


def _load_referrals(
    path: str | Path,
    taxonomy: Taxonomy,
    *,
    area_ids: Sequence[str] | None,
    crs: str | None,
    practices: pd.DataFrame | None = None,
    practices_file: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _referrals_frame(None), problems
    columns, column_problems = _require(raw, file, ("category",))
    optional = ("origin_area_id", "origin_practice_code", "referral_id", "date", "community", "asset_id", "count")
    columns.update(_find_columns(raw, (*optional, *_LOCATION_COLUMNS)))
    location_problems = (
        []
        if _header_misplaced(column_problems)
        else _location_columns(raw, file, columns, what="a referral's origin", area_column=True)
    )
    problems += column_problems + location_problems
    if column_problems or location_problems:
        return _referrals_frame(None), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _referrals_frame(None), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    # The origin area ids as a string array (<NA> where blank), made without a Python string per row.
    origin = _optional_strings(raw, columns, "origin_area_id")
    by_area = ~pd.isna(origin)
    practice = _optional_text(raw, columns, "origin_practice_code")
    by_practice = ~by_area & ~_coordinates_given(raw, columns) & _given(practice)
    if by_practice.any() and practices is None and practices_file is None:
        needing = int(by_practice.sum())
        problems.append(
            Problem(
                file,
                f"{needing:,} row{'s give' if needing != 1 else ' gives'} only an origin practice code; give the GP "
                "practice file (--practices FILE, or practices= in Python) so their origins can be found",
                column=columns["origin_practice_code"],
            )
        )
        return _referrals_frame(None), problems

    checker = _RowChecker(file, rows, private=True)
    category = _single_labels(checker, raw, columns["category"], taxonomy.categories, required=True)
    community = (
        _single_labels(checker, raw, columns["community"], taxonomy.communities, required=False)
        if "community" in columns
        else pd.array(np.full(len(raw), None, dtype=object), dtype="str")
    )
    count = _referral_counts(checker, raw, columns)
    dates = _referral_dates(checker, raw, columns)
    asset_id = _optional_strings(raw, columns, "asset_id")
    if area_ids is not None and "origin_area_id" in columns:
        unknown = by_area & ~_isin_strings(origin, area_ids)
        near = _given(_near_misses(origin, unknown, set(area_ids)))
        checker.reject(
            near,
            "origin_area_id matches an area id of the areas file only when upper/lower case and spaces are "
            "ignored; write the codes exactly as the areas file does",
            columns["origin_area_id"],
        )
        checker.reject(
            unknown & ~near,
            "origin_area_id is not one of the area ids in the areas file",
            columns["origin_area_id"],
            values=origin,
        )
    x, y, how = _locate(checker, raw, columns, private=True, what="referral", skip=by_area | by_practice)
    how = np.where(by_area, "area", how)
    # practices is None here only when its file was unusable: that is already fatal.
    if by_practice.any() and practices is not None:
        origin, x, y, how = _practice_origins(
            checker, by_practice, practice, practices, practices_file or "the practices file",
            columns["origin_practice_code"], origin=origin, x=x, y=y, how=how,
        )  # fmt: skip
    _reject_repeated_ids(checker, raw, columns)

    keep = ~checker.rejected
    problems += checker.problems
    if not keep.any():
        problems.append(_all_rejected(file))
    located = pd.isna(origin) & keep
    geometry = np.full(len(raw), None, dtype=object)
    geometry[located] = shapely.points(x[located], y[located])
    kept: np.ndarray | slice = keep if not keep.all() else slice(None)  # no copies when every row is kept
    values = {
        "category": category[kept], "community": community[kept], "count": count[kept], "date": dates[kept],
        "asset_id": asset_id[kept], "origin_area_id": origin[kept], "geometry": geometry[kept],
        "_coords": how[kept], "_source_row": rows[kept],
    }  # fmt: skip
    return _referrals_frame(values), _sorted(problems)


def _practice_origins(
    checker: _RowChecker,
    by_practice: np.ndarray,
    practice: np.ndarray,
    practices: pd.DataFrame,
    practices_file: str,
    column: str,
    *,
    origin: ExtensionArray,
    x: np.ndarray,
    y: np.ndarray,
    how: np.ndarray,
) -> tuple[ExtensionArray, np.ndarray, np.ndarray, np.ndarray]:
    """Origins of the rows keyed by a practice code: the practice's area, else its point."""
    positions = np.flatnonzero(by_practice)
    found = practices_logic.practice_origins(list(practice[positions]), practices)
    origin, x, y, how = origin.copy(), x.copy(), y.copy(), how.copy()
    for status, message, what in (
        (
            practices_logic.UNKNOWN,
            f"origin_practice_code is not in the practices file ({practices_file})",
            ("practice code", "practice codes", f"not in the practices file ({practices_file})"),
        ),
        (
            practices_logic.NO_LOCATION,
            (
                f"this practice has neither coordinates nor an area in the practices file ({practices_file}), "
                "so the referral cannot be placed"
            ),
            ("practice", "practices", f"with neither coordinates nor an area in the practices file ({practices_file})"),
        ),
    ):
        failed = found.status == status
        if not failed.any():
            continue
        checker.reject_rows(positions[failed], message, column, values=found.codes[failed], positions=True, public=True)
        # One line naming the practices, so a long list of rejected rows reads as a handful of practices.
        codes = list(dict.fromkeys(found.codes[failed]))
        shown = ", ".join(codes[:_MAX_LISTED])
        if len(codes) > _MAX_LISTED:
            shown += f" and {len(codes) - _MAX_LISTED} more"
        rows = int(failed.sum())
        checker.problems.append(
            Problem(
                checker.file,
                f"{len(codes):,} {what[0] if len(codes) == 1 else what[1]} {what[2]} "
                f"{'is' if len(codes) == 1 else 'are'} used by {rows:,} referral row{'s' if rows != 1 else ''}, "
                f"which {'were' if rows != 1 else 'was'} rejected: {shown}",
                column=column,
                fatal=False,
            )
        )
    by_area = found.status == practices_logic.AREA
    by_point = found.status == practices_logic.POINT
    origin[positions[by_area]] = found.area_id[by_area]
    x[positions[by_point]], y[positions[by_point]] = found.x[by_point], found.y[by_point]
    how[positions[by_area | by_point]] = "practice"
    return origin, x, y, how


def _referrals_frame(values: Mapping[str, np.ndarray | ExtensionArray] | None) -> gpd.GeoDataFrame:
    def get(name: str) -> np.ndarray | ExtensionArray:
        return values[name] if values is not None else np.array([], dtype=object)

    frame = pd.DataFrame(
        {
            "category": pd.Series(get("category"), dtype="str"),
            "community": pd.Series(pd.array(get("community"), dtype="string")),
            "count": pd.Series(get("count"), dtype="int64"),
            "date": pd.Series(get("date"), dtype="datetime64[ns]"),
            "asset_id": pd.Series(pd.array(get("asset_id"), dtype="string")),
            "origin_area_id": pd.Series(pd.array(get("origin_area_id"), dtype="string")),
            "_coords": pd.Series(get("_coords"), dtype="str"),
            "_source_row": pd.Series(get("_source_row"), dtype="int64"),
        }
    )
    spatial = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(get("geometry"), crs=METRIC_CRS), crs=METRIC_CRS)
    return spatial[list(REFERRAL_COLUMNS)]


def _referral_counts(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    if "count" not in columns:
        return np.ones(len(raw), dtype="int64")
    cells = _number_column(raw, columns["count"])
    bad = cells.bad
    numbers = np.where(cells.blank, 1.0, cells.values)
    fractional = ~bad & (numbers != np.round(numbers))
    small = ~bad & ~fractional & (numbers < 1)
    huge = ~bad & ~fractional & (numbers > MAX_REFERRAL_COUNT)
    checker.reject(bad | fractional, "count must be a whole number", columns["count"], values=cells.text, public=True)
    checker.reject(small, "count must be at least 1", columns["count"], values=cells.text, public=True)
    checker.reject(huge, f"count is more than {MAX_REFERRAL_COUNT:,}, which cannot be right for one row",
                   columns["count"], values=cells.text, public=True)  # fmt: skip
    return np.where(bad | fractional | small | huge, 1, numbers).astype("int64")


def _referral_dates(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    """Each row's date (``datetime64[D]``, NaT when blank or rejected); each distinct text is parsed once."""
    if "date" not in columns:
        return np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[D]")
    today = dt.date.today()
    column = columns["date"]
    codes, distinct = _coded_texts(raw, column)
    parsed = [_parse_date(cell) if cell != "" else None for cell in distinct]
    failed = np.array([cell != "" and date is None for cell, date in zip(distinct, parsed, strict=True)], dtype=bool)
    slashes = failed & np.array([_DAY_MONTH.fullmatch(cell) is not None for cell in distinct], dtype=bool)
    unreadable = failed & ~slashes
    future = np.array([date is not None and date > today for date in parsed], dtype=bool)
    early = np.array([date is not None and date < EARLIEST_REFERRAL_DATE for date in parsed], dtype=bool)
    good = np.array([date is not None and EARLIEST_REFERRAL_DATE <= date <= today for date in parsed], dtype=bool)
    checker.reject(
        slashes[codes],
        "date is written with slashes (day/month/year or month/day/year, which cannot be told apart); "
        "write dates as YYYY-MM-DD (or YYYY-MM)",
        column,
    )
    checker.reject(unreadable[codes], "date is not a date written YYYY-MM-DD (or YYYY-MM)", column)
    checker.reject(future[codes], "date is in the future", column)
    checker.reject(early[codes], f"date is before {EARLIEST_REFERRAL_DATE:%Y}, which cannot be a referral date", column)
    # Days, not nanoseconds: a date outside pandas' nanosecond range is only an error if its row is kept.
    dates = np.array([date if ok else None for date, ok in zip(parsed, good, strict=True)], dtype="datetime64[D]")
    return dates[codes]


def _parse_date(text: str) -> dt.date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _reject_repeated_ids(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> None:
    if "referral_id" not in columns:
        return
    series = raw[columns["referral_id"]]
    text = (
        series.fillna("").str.strip()
        if isinstance(series.dtype, pd.StringDtype)
        else pd.Series(_texts(raw, columns["referral_id"]), dtype=object)
    )
    blank = (text == "").to_numpy(dtype=bool)
    # Ids are usually all different: counting the distinct ones is cheaper than numbering them.
    if len(text.unique()) == len(text) - max(int(blank.sum()) - 1, 0):
        return
    # Codes are numbered in order of first appearance: a row repeats an id when its code is
    # no larger than every code before it, and the k-th new code is the first row of code k.
    codes = np.asarray(pd.factorize(text)[0], dtype="int64")
    before = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    repeat = codes <= before
    first = np.flatnonzero(~repeat)
    for i in np.flatnonzero(repeat & ~blank):
        checker.reject_rows(
            [int(i)],
            f"referral_id repeats the one on row {int(checker.rows[first[codes[i]]])}; the later row is ignored",
            columns["referral_id"],
            positions=True,
        )


def _single_labels(
    checker: _RowChecker, raw: pd.DataFrame, column: str, vocabulary: Vocabulary, *, required: bool
) -> ExtensionArray:
    """Each row's canonical label (missing when blank or unknown); each distinct text is resolved once."""
    codes, distinct = _coded_texts(raw, column)
    labels = np.array([vocabulary.resolve(cell) if cell != "" else None for cell in distinct], dtype=object)
    blank = (distinct == "")[codes]
    unknown = np.flatnonzero(~blank & pd.isna(labels)[codes])
    if required:
        checker.reject(blank, f"{column} is blank", column)
    messages: dict[int, str] = {}
    for i in unknown:
        code = int(codes[i])
        if code not in messages:
            messages[code] = vocabulary.unknown_message(distinct[code])
        checker.reject_rows([int(i)], messages[code], column, values=[distinct[code]], positions=True, public=True)
    return pd.array(labels, dtype="str").take(codes)


# =========================================================================== practices


def load_practices(
    path: str | Path, *, areas: gpd.GeoDataFrame | None = None, crs: str | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load GP practices, so referrals keyed by a practice code can be placed.

    Parameters
    ----------
    path
        Table with a practice code column (``practice_code``, ``organisation_code``,
        ``ods_code`` or ``code``) and, for each practice, an area column (``area_id``,
        ``area_code`` or an ONS code column such as ``lsoa21cd``) or coordinates
        (``latitude``/``longitude``, ``lat``/``lon``, ``easting``/``northing`` or point
        geometry). NHS ``epraccur`` extracts with added ``lat``/``lon`` work as they are.
    areas
        When given, the area column is the one whose values best match the areas' ids,
        and a practice whose area is not one of them falls back to its coordinates.
    crs
        CRS of the geometry when the file does not say.

    Returns
    -------
    practices, problems
        ``practice_code`` (upper case, no spaces), ``area_id`` (NA when none), ``x``,
        ``y`` (EPSG:27700, NaN when none), ``_source_row``. A practice without a usable
        location is kept (a referral that uses it is reported); a blank code rejects the
        row; duplicate codes and a file without code or location columns are fatal.
    """
    return _load_practices(path, _area_ids(areas) if areas is not None else None, crs=crs)


def _load_practices(
    path: str | Path, area_ids: Sequence[str] | None, *, crs: str | None
) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _practices_frame({}), problems
    data_columns = _data_columns(raw)
    code_column = practices_logic.code_column(data_columns)
    if code_column is None:
        guess = _closest(list(practices_logic.PRACTICE_CODE_COLUMNS), data_columns)
        hint = f"; found '{guess}' — is that it?" if guess else f"; the columns are: {', '.join(data_columns)}"
        problems.append(
            Problem(
                file,
                "cannot find the practice code column: expected one of "
                + ", ".join(f"'{name}'" for name in practices_logic.PRACTICE_CODE_COLUMNS)
                + hint,
                column="practice_code",
            )
        )
    location = _find_columns(raw, _LOCATION_COLUMNS)
    candidates = practices_logic.area_column_candidates(data_columns, exclude=[code_column or ""])
    texts = {str(column): _texts(raw, column) for column in candidates}
    area_column = None
    if candidates:
        area_column = (
            _best_matching_column(texts, candidates, set(area_ids))[0] if area_ids is not None else candidates[0]
        )
    has_points = (
        ("latitude" in location and "longitude" in location)
        or ("easting" in location and "northing" in location)
        or isinstance(raw, gpd.GeoDataFrame)
    )
    if area_column is None and candidates and not has_points:
        problems.append(
            Problem(
                file,
                f"no area column matches the areas' ids (tried {', '.join(map(str, candidates))}), and there are "
                "no coordinates: practices cannot be placed",
            )
        )
    elif area_column is None and candidates:
        problems.append(
            Problem(
                file,
                f"no area column matches the areas' ids (tried {', '.join(map(str, candidates))}); practices are "
                "placed by their coordinates",
                fatal=False,
            )
        )
    elif area_column is None:
        problems += _location_columns(raw, file, location, what="a practice's location")
    else:
        problems += [p for p in _location_columns(raw, file, location, what="") if p.column is not None]
    if _has_fatal(problems):
        return _practices_frame({}), problems
    if raw.empty:
        return _practices_frame({}), [*problems, _no_rows(file)]
    assert code_column is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    codes = np.array([practices_logic.normalise_code(code) for code in _texts(raw, code_column)], dtype=object)
    checker.reject(codes == "", "the practice code is blank", code_column)
    problems += _duplicate_problems(codes, rows, file, column=code_column, what="practice code")
    area = texts[area_column] if area_column is not None else np.full(len(raw), "", dtype=object)
    if area_column is not None and area_ids is not None:
        unknown = (area != "") & ~_isin(area, area_ids) & ~checker.rejected
        for i in np.flatnonzero(unknown):
            problems.append(
                Problem(
                    file,
                    "this practice's area is not in the areas file; its coordinates are used if it has any",
                    row=int(rows[i]),
                    column=area_column,
                    value=str(area[i]),
                    fatal=False,
                )
            )
        area = np.where(unknown, "", area)
    # Coordinates that cannot be used leave the practice without a point, but keep it:
    # the referrals that use it are rejected and name the practice.
    spots = _RowChecker(file, rows)
    given = _coordinates_given(raw, location)
    x, y, how = _locate(spots, raw, location, private=False, what="practice", skip=~given)
    usable = (how != "") & ~spots.rejected
    problems += [
        dataclasses.replace(problem, message=problem.message + "; the practice has no usable point")
        for problem in spots.problems
    ]

    keep = ~checker.rejected
    problems += checker.problems
    values = {
        "practice_code": codes[keep],
        "area_id": np.array([value or None for value in area], dtype=object)[keep],
        "x": np.where(usable, x, np.nan)[keep],
        "y": np.where(usable, y, np.nan)[keep],
        "_source_row": rows[keep],
    }
    return _practices_frame(values), _sorted(problems)


def _practices_frame(values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    def get(name: str) -> list[object]:
        return list(values.get(name, []))

    return pd.DataFrame(
        {
            "practice_code": pd.Series(get("practice_code"), dtype="str"),
            "area_id": pd.Series(pd.array(get("area_id"), dtype="string")),
            "x": pd.Series(get("x"), dtype="float64"),
            "y": pd.Series(get("y"), dtype="float64"),
            "_source_row": pd.Series(get("_source_row"), dtype="int64"),
        }
    )[list(practices_logic.PRACTICE_COLUMNS)]


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


# =========================================================================== load_inputs

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block; it is switched back on (if it was on) however it ends.

    Loading England-scale files builds millions of objects the collector tracks (a shapely
    point per referral, a list per CSV record), and every few hundred of them set off a
    collection that walks all the tracked objects made so far: about a second of a
    four-second load. Cycles made meanwhile are collected once it is back on.

    Safe across threads (the dashboard validates uploads in request threads): the pauses are
    counted, and the collector is switched back on when the last one ends, if it was on when
    the first one began.
    """
    global _GC_PAUSES, _GC_WAS_ENABLED  # the collector is process state; the count guards it
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ENABLED = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ENABLED:
                gc.enable()


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0
_GC_WAS_ENABLED = True


def _pausing_gc(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run with the garbage collector paused (see :func:`_gc_paused`)."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _gc_paused():
            return function(*args, **kwargs)

    return paused


@_pausing_gc
def load_inputs(
    *,
    areas: str | Path,
    assets: str | Path,
    lookup: str | Path | None = None,
    population: str | Path | None = None,
    referrals: str | Path | None = None,
    taxonomy: str | Path | Taxonomy | None = None,
    area_id_col: str | None = None,
    area_name_col: str | None = None,
    crs: str | None = None,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
    practices: str | Path | None = None,
) -> Inputs:
    """Load and validate every input, reporting the problems of all files at once.

    Parameters
    ----------
    areas, assets
        Required inputs (see :func:`load_areas`, :func:`load_assets`).
    lookup, population, referrals
        Optional inputs (see :func:`load_lookup`, :func:`load_population`,
        :func:`load_referrals`).
    taxonomy
        A TOML file extending or replacing the vocabulary, a :class:`Taxonomy`, or None
        for the built-in vocabulary.
    area_id_col, area_name_col
        Override the detected area id and name columns.
    crs
        CRS of files that do not say theirs (CSV with WKT geometry, shapefile without .prj).
    lookup_levels, groups
        How to read an ONS-style lookup, and a second table grouping its wards (or
        areas) into neighbourhoods (see :func:`load_lookup`).
    practices
        GP practice file, for referrals keyed by ``origin_practice_code`` (see
        :func:`load_practices`).

    Returns
    -------
    Inputs
        Harmonised frames, the non-fatal problems and a :class:`SourceInfo` per file.

    Raises
    ------
    ValidationError
        When any problem in any file is fatal. It lists every problem found in every
        file, fatal ones first. Files that depend on the areas (lookup, population,
        referral origins) are still checked on their own when the areas are unusable.
    """
    problems: list[Problem] = []
    vocabulary = _taxonomy(taxonomy, problems)

    area_frame, area_problems = load_areas(areas, id_col=area_id_col, name_col=area_name_col, crs=crs)
    problems += area_problems
    # With unusable areas, checking the other files against them would only add noise.
    area_ids = None if _has_fatal(area_problems) else list(area_frame["area_id"])
    sources = [SourceInfo("areas", str(areas), len(area_frame))]

    lookup_frame = population_frame = referral_frame = None
    if lookup is not None:
        lookup_frame, found, group_rows = _load_lookup(lookup, area_ids, lookup_levels=lookup_levels, groups=groups)
        problems += found
        sources.append(SourceInfo("lookup", str(lookup), len(lookup_frame)))
        if groups is not None:
            sources.append(SourceInfo("groups", str(groups), group_rows))
    elif groups is not None or lookup_levels is not None:
        option = "groups (--groups)" if groups is not None else "lookup_levels (--neighbourhood-col, --borough-col)"
        problems.append(
            Problem(str(groups or "lookup"), f"{option} needs a lookup (--lookup) saying which borough each area is in")
        )
    practice_frame = None
    if practices is not None:
        practice_frame, found = _load_practices(practices, area_ids, crs=crs)
        problems += found
        sources.append(SourceInfo("practices", str(practices), len(practice_frame)))
        if _has_fatal(found):
            practice_frame = None  # unusable: referrals are checked without it, not against it
    asset_frame = _assets_frame(None, {})
    if vocabulary is not None:
        asset_frame, found = load_assets(assets, vocabulary, crs=crs)
        problems += found
        sources.append(SourceInfo("assets", str(assets), len(asset_frame)))
        if population is not None:
            population_frame, found = _load_population(population, area_ids, vocabulary)
            problems += found
            sources.append(SourceInfo("population", str(population), len(population_frame)))
        if referrals is not None:
            referral_frame, found = _load_referrals(
                referrals, vocabulary, area_ids=area_ids, crs=crs, practices=practice_frame,
                practices_file=str(practices) if practices is not None else None,
            )  # fmt: skip
            problems += found
            sources.append(SourceInfo("referrals", str(referrals), len(referral_frame)))

    if _has_fatal(problems):
        raise ValidationError(sorted(problems, key=lambda problem: not problem.fatal))
    assert vocabulary is not None  # a taxonomy that failed to load is a fatal problem
    return Inputs(
        areas=area_frame,
        assets=asset_frame,
        taxonomy=vocabulary,
        lookup=lookup_frame,
        population=population_frame,
        referrals=referral_frame,
        problems=tuple(problems),
        sources=tuple(sources),
    )


def _taxonomy(taxonomy: str | Path | Taxonomy | None, problems: list[Problem]) -> Taxonomy | None:
    if taxonomy is None:
        return Taxonomy.builtin()
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    try:
        return Taxonomy.from_toml(taxonomy)
    except CoverageMapError as error:
        text = str(error)
        prefix = f"{Path(taxonomy)}: "
        problems.append(
            Problem(
                str(taxonomy),
                text.removeprefix(prefix) + " (assets, population and referrals are checked once it loads)",
            )
        )
        return None


# =========================================================================== shared helpers


class _RowChecker:
    """Collects row rejections for one file; ``private`` keeps values out of problems."""

    def __init__(self, file: str, rows: np.ndarray, *, private: bool = False):
        self.file = file
        self.rows = rows
        self.private = private
        self.rejected = np.zeros(len(rows), dtype=bool)
        self.problems: list[Problem] = []

    def reject(
        self,
        mask: np.ndarray,
        message: str,
        column: str | None,
        *,
        values: np.ndarray | ExtensionArray | _TextAt | None = None,
        prefix_column: bool = False,
        public: bool = False,
    ) -> None:
        """Reject every row where ``mask`` is true, each with its own problem.

        ``values`` holds every row's value; only the rejected rows' are read.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        text = f"{column} {message}" if prefix_column else message
        positions = np.flatnonzero(mask)
        self.reject_rows(
            positions, text, column, values=None if values is None else values[positions], positions=True, public=public
        )

    def reject_rows(
        self,
        rows: Iterable[int],
        message: str,
        column: str | None,
        *,
        values: Sequence[object] | np.ndarray | None = None,
        positions: bool = False,
        public: bool = False,
    ) -> None:
        """Reject rows given by position (``positions=True``) or by source row number.

        ``public`` marks a value that may be shown even for private files (a label).
        """
        rows = list(rows)
        lookup = {int(row): i for i, row in enumerate(self.rows)} if not positions else None
        for n, row in enumerate(rows):
            position = int(row) if lookup is None else lookup[int(row)]
            value = None if values is None or (self.private and not public) else values[n]
            self.problems.append(
                Problem(
                    self.file,
                    message,
                    row=int(self.rows[position]),
                    column=column,
                    value=None if value is None or value == "" else str(value),
                    fatal=False,
                )
            )
            self.rejected[position] = True


def _near_misses(values: np.ndarray | ExtensionArray, mask: np.ndarray, known: set[str]) -> np.ndarray:
    """For each masked value, the known id it equals ignoring case and spaces (else None)."""
    found = np.full(len(values), None, dtype=object)
    if not mask.any():
        return found
    loose: dict[str, str] = {}
    for area_id in sorted(known):
        loose.setdefault(_loose_code(area_id), area_id)
    for i in np.flatnonzero(mask):
        found[i] = loose.get(_loose_code(str(values[i])))
    return found


def _given(values: np.ndarray) -> np.ndarray:
    """Cells that are not None (an object array of text or None, so ``notna`` is ``is not None``)."""
    return ~pd.isna(values)


def _loose_code(code: str) -> str:
    return "".join(code.split()).upper()


def _near_miss_message(area_id: str) -> str:
    return (
        f"this area is not in the areas file, which has '{area_id}': codes must match exactly, including "
        "upper and lower case and spaces; ignored"
    )


def _isin(values: np.ndarray, ids: Iterable[str]) -> np.ndarray:
    return pd.Series(values, dtype=object).isin(set(ids)).to_numpy(dtype=bool)


def _isin_strings(values: ExtensionArray, ids: Iterable[str]) -> np.ndarray:
    """``values.isin(ids)`` for a pandas string array, hashed by Arrow (missing values are not in)."""
    array = pa.array(values)
    found = pc.is_in(array, value_set=pa.array(list(ids), type=array.type))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _has_fatal(problems: Iterable[Problem]) -> bool:
    return any(problem.fatal for problem in problems)


def _sorted(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then row problems in row order."""
    return sorted(problems, key=lambda problem: (problem.row is not None, problem.row or 0))


def _no_rows(file: str) -> Problem:
    return Problem(file, "the file has no data rows (only a header, or no features)")


def _all_rejected(file: str) -> Problem:
    return Problem(file, "every row was rejected (each is listed with its reason), so nothing is left to use")


def _area_ids(areas: gpd.GeoDataFrame) -> list[str]:
    return [str(area_id) for area_id in areas["area_id"]]


def _key(name: object) -> str:
    return normalise_label(str(name))


def _data_columns(frame: pd.DataFrame) -> list[str]:
    """The file's own columns: without ``_source_row`` and the active geometry."""
    geometry = frame.active_geometry_name if isinstance(frame, gpd.GeoDataFrame) else None
    return [column for column in frame.columns if column not in ("_source_row", geometry)]


def _find_columns(frame: pd.DataFrame, names: Iterable[str]) -> dict[str, str]:
    """Canonical name -> the file's column, matching case, spaces and ``-``/``_`` loosely."""
    by_key: dict[str, str] = {}
    for column in _data_columns(frame):
        by_key.setdefault(_key(column), column)
    found = {}
    for name in names:
        exact = name if name in frame.columns and name != "_source_row" else None
        for alias in (name, *_ALIASES.get(name, ())):
            if exact is None and alias in by_key:
                exact = by_key[alias]
        if exact is not None:
            found[name] = exact
    return found


def _require(frame: pd.DataFrame, file: str, names: Sequence[str]) -> tuple[dict[str, str], list[Problem]]:
    found = _find_columns(frame, names)
    columns = _data_columns(frame)
    missing = [name for name in names if name not in found]
    header_row = _header_further_down(frame, names) if missing else None
    if header_row is not None:
        return found, [
            Problem(
                file,
                f"the column names are on row {header_row}, not row 1: delete the row{'s' if header_row > 2 else ''} "
                "above them (a title, or a merged header row) so that the column names are the first row",
                row=1,
            )
        ]
    return found, [_missing_column(file, name, columns, taken=found.values()) for name in missing]


#: How many rows below the first are searched for the real column names.
_HEADER_SEARCH = 5


def _header_further_down(frame: pd.DataFrame, names: Sequence[str]) -> int | None:
    """The spreadsheet row of a CSV's real header, when title rows sit above it."""
    if isinstance(frame, gpd.GeoDataFrame) or frame.empty:
        return None
    wanted = {_key(name) for name in names}
    columns = _data_columns(frame)
    for position in range(min(_HEADER_SEARCH, len(frame))):
        cells = {_key(value) for value in frame[columns].iloc[position] if isinstance(value, str) and value.strip()}
        if wanted <= cells:
            return int(frame["_source_row"].iloc[position])
    return None


def _header_misplaced(problems: Iterable[Problem]) -> bool:
    return any(problem.row == 1 and problem.message.startswith("the column names are on row") for problem in problems)


def _without_summary_rows(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Drop the "Total" rows spreadsheets add at the bottom, reporting each one.

    A summary row is not a record: checking it cell by cell would only give a list of
    confusing problems (blank name, no location...) for a row that was never data.
    """
    columns = _data_columns(raw)
    if raw.empty or not columns:
        return raw, []
    series = raw[columns[0]]
    if isinstance(series.dtype, pd.StringDtype):
        # Only short cells starting as a summary word can be one; the rest are never read as text.
        stripped = series.fillna("").str.strip()
        maybe = ((stripped.str.len() <= 20) & stripped.str[:1].isin(list(_SUMMARY_STARTS))).to_numpy(dtype=bool)
    else:
        maybe = np.ones(len(raw), dtype=bool)
    candidates = np.flatnonzero(maybe)
    first = _series_texts(series.iloc[candidates])
    hits = np.array(
        [cell[:1] in _SUMMARY_STARTS and len(cell) <= 20 and _SUMMARY.fullmatch(cell) is not None for cell in first],
        dtype=bool,
    )
    if not hits.any():
        return raw, []
    summary = _mask(len(raw), candidates[hits])
    problems = [
        Problem(
            file,
            "this looks like a summary row, not a record; it is ignored (delete total rows before saving)",
            row=int(row),
            column=str(columns[0]),
            value=str(cell),
            fatal=False,
        )
        for row, cell in zip(raw["_source_row"].to_numpy()[summary], first[hits], strict=True)
    ]
    return raw[~summary].reset_index(drop=True), problems


def _missing_column(
    file: str, name: str, columns: Sequence[str], *, note: str = "", taken: Iterable[str] = ()
) -> Problem:
    """A fatal problem naming the closest column not already used for something else."""
    used = set(taken)
    guess = _closest([name], [column for column in columns if column not in used])
    if guess is not None:
        hint = f"; found '{guess}' — is that it?"
    elif columns:
        hint = f"; the columns are: {', '.join(map(str, columns))}"
    else:
        hint = "; the file has no columns"
    return Problem(file, f"missing required column '{name}'{note}{hint}", column=name)


def _closest(names: Sequence[str], columns: Sequence[str]) -> str | None:
    keys = {_key(column): column for column in reversed(columns)}
    for name in names:
        match = difflib.get_close_matches(_key(name), list(keys), n=1, cutoff=0.6)
        if match:
            return str(keys[match[0]])
    return None


def _texts(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as stripped text (a new object array of str), ``""`` where missing."""
    return _series_texts(frame[column])


def _series_texts(series: pd.Series) -> np.ndarray:
    """Each cell as :func:`_cell_text` writes it, one whole column at a time.

    Typed columns (Parquet numbers, booleans, dates...) are converted without a Python
    call per cell; a column of mixed Python objects goes cell by cell.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return series.fillna("").str.strip().to_numpy(dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return np.where(series.to_numpy(dtype=bool), "true", "false").astype(object)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return np.array([str(value) for value in series.to_numpy().tolist()], dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_texts(series.to_numpy(dtype="float64"))
    if dtype == object:
        if pd.api.types.infer_dtype(series, skipna=False) == "string":
            return np.array([value.strip() for value in series.to_numpy()], dtype=object)
        return np.array([_cell_text(value) for value in series], dtype=object)
    # Dates, nullable numbers, categories...: each distinct value once (missing ones have code -1).
    codes, uniques = pd.factorize(series)
    distinct = np.array([*(_cell_text(value) for value in uniques), ""], dtype=object)
    return distinct[codes]


def _float_texts(values: np.ndarray) -> np.ndarray:
    """Float cells as :func:`_cell_text` writes them: whole numbers without ``.0``, NaN blank."""
    text = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.trunc(values)) & (np.abs(values) < 1e15)
    text[whole] = np.array([str(value) for value in values[whole].astype("int64").tolist()], dtype=object)
    fraction = finite & ~whole
    text[fraction] = np.array([repr(value) for value in values[fraction].tolist()], dtype=object)
    infinite = np.isinf(values)
    text[infinite] = np.where(values[infinite] > 0, "inf", "-inf").astype(object)
    return text


def _cell_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "" if np.isnan(value) else str(value)
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Cells that are not blank (``_texts(frame, column) != ""``), without making the text."""
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return ~np.isnan(series.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return np.ones(len(series), dtype=bool)
    if isinstance(dtype, pd.StringDtype):
        return (series.fillna("").str.strip() != "").to_numpy(dtype=bool)
    return _texts(frame, column) != ""


def _coded_texts(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A column's stripped text as ``(codes, distinct)``: ``distinct[codes]`` is :func:`_texts`.

    Codes number the distinct texts in order of first appearance, so a check that
    depends only on the text is made once per distinct value.
    """
    series = frame[column]
    if isinstance(series.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(series.fillna("").str.strip())
    else:
        codes, uniques = pd.factorize(_texts(frame, column))
    return np.asarray(codes, dtype="int64"), np.asarray(uniques, dtype=object)


@dataclasses.dataclass(frozen=True)
class _TextAt:
    """Text of some cells, made only for the positions asked for (``text[positions]``).

    Stands in for a whole column of text where only the rejected rows' values are
    ever read (a problem's ``value``), so millions of good cells are never converted.
    """

    make: Callable[[np.ndarray], np.ndarray]

    def __getitem__(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        return self.make(np.asarray(positions, dtype="int64"))


@dataclasses.dataclass(frozen=True)
class _Numbers:
    """A column read as numbers: values (NaN where blank or bad), blank cells, unparseable cells, and text."""

    values: np.ndarray
    blank: np.ndarray
    bad: np.ndarray
    text: np.ndarray | _TextAt


def _number_column(frame: pd.DataFrame, column: str) -> _Numbers:
    """Parse a column as :func:`_numbers` parses its text; numeric columns are never turned into text."""
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
        # The text of a number parses back to the same number, so it is only made for messages
        # (-0.0 is written "0", which parses as 0.0: adding 0.0 does the same).
        values = series.to_numpy(dtype="float64") + 0.0
        return _Numbers(
            values=values,
            blank=np.isnan(values),
            bad=np.isinf(values),
            text=_TextAt(lambda positions: _series_texts(series.iloc[positions])),
        )
    text = _texts(frame, column)
    values, bad = _numbers(text)
    return _Numbers(values=values, blank=text == "", bad=bad, text=text)


def _numbers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers (``1,296`` accepted); returns values and a mask of unparseable cells."""
    text = np.asarray(text, dtype=object)
    values = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype="float64", copy=True)
    # A cell with a thousands separator never parses as it is: only those are cleaned and parsed again.
    unparsed = np.flatnonzero(np.isnan(values))
    commas = [int(i) for i in unparsed if "," in text[i] and _THOUSANDS.fullmatch(text[i])]
    if commas:
        cleaned = pd.Series([text[i].replace(",", "") for i in commas], dtype=object)
        values[commas] = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype="float64")
    bad = (text != "") & ~np.isfinite(values)
    return values, bad


def _number_text(value: float) -> str:
    return f"{value:g}"


def _optional_text(raw: pd.DataFrame, columns: Mapping[str, str], name: str) -> np.ndarray:
    if name not in columns:
        return np.full(len(raw), None, dtype=object)
    text = _texts(raw, columns[name])
    text[text == ""] = None
    return text


def _optional_strings(raw: pd.DataFrame, columns: Mapping[str, str], name: str) -> ExtensionArray:
    """:func:`_optional_text` as a pandas ``string`` array (``<NA>`` where blank).

    A text column is stripped as a whole, never one Python string per cell.
    """
    series = raw[columns[name]] if name in columns else None
    if series is not None and isinstance(series.dtype, pd.StringDtype):
        stripped = series.fillna("").str.strip()
        return stripped.where(stripped != "").astype("string").array
    return pd.array(_optional_text(raw, columns, name), dtype="string")


def _blank_to_missing(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):
        return series.where(series.str.strip() != "")
    return series


def _duplicate_problems(ids: np.ndarray, rows: np.ndarray, file: str, *, column: str, what: str) -> list[Problem]:
    """A fatal problem for every row whose id is also on another row (blank ids ignored)."""
    positions: dict[str, list[int]] = {}
    repeated = pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy() & (ids != "")
    for i in np.flatnonzero(repeated):
        positions.setdefault(ids[i], []).append(int(rows[i]))
    problems = []
    for value, found in positions.items():
        if len(found) < 2:
            continue
        for row in found:
            others = ", ".join(str(other) for other in found if other != row)
            problems.append(
                Problem(
                    file,
                    f"duplicate {what} '{value}': it is also on row{'s' if len(found) > 2 else ''} "
                    f"{others}; ids must be unique",
                    row=row,
                    column=column,
                    value=value,
                )
            )
    return problems


def _label_lists(
    checker: _RowChecker, text: np.ndarray, vocabulary: Vocabulary, column: str, *, required: bool
) -> list[tuple[str, ...]]:
    cache: dict[str, str | None] = {}
    messages: dict[str, str] = {}
    # Each distinct cell is split and resolved once: (canonical labels, blank, unknown labels).
    cells: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...]]] = {}
    resolved: list[tuple[str, ...]] = []
    for i, cell in enumerate(text):
        if cell not in cells:
            labels = split_labels(cell)
            known: list[str] = []
            unknown: list[str] = []
            for label in labels:
                if label not in cache:
                    cache[label] = vocabulary.resolve(label)
                canonical = cache[label]
                if canonical is None:
                    unknown.append(label)
                    if label not in messages:
                        messages[label] = vocabulary.unknown_message(label)
                elif canonical not in known:
                    known.append(canonical)
            cells[cell] = (tuple(known), not labels, tuple(unknown))
        known_labels, blank, unknown_labels = cells[cell]
        if required and blank:
            checker.reject_rows([i], f"{column} is blank; give at least one, separated by ';'", column, positions=True)
        for label in unknown_labels:
            checker.reject_rows([i], messages[label], column, values=[label], positions=True, public=True)
        resolved.append(known_labels)
    return resolved


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


def _mask(n: int, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


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
