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

import dataclasses
import datetime as dt
import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .config import METRIC_CRS, UNASSIGNED_ID, UNASSIGNED_NAME
from .errors import CoverageMapError, Problem, ValidationError
from .io import read_any
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
}
_LOCATION_COLUMNS = ("latitude", "longitude", "easting", "northing")
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
_ONS_CODE = re.compile(r"([a-z]+\d*)cd")
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


def load_lookup(path: str | Path, areas: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the CSV that groups small areas into neighbourhoods and boroughs.

    Parameters
    ----------
    path
        Table with ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``,
        ``borough_id``, ``borough_name``.
    areas
        The loaded areas (:func:`load_areas`); the result has exactly one row per area.

    Returns
    -------
    lookup, problems
        The five columns, one row per area in ``areas`` order. Areas missing from the
        file are assigned :data:`~coverage_map.config.UNASSIGNED_ID` and reported; rows
        for areas not in ``areas`` are reported and ignored. An area listed twice with
        different groups, and a neighbourhood in two boroughs, are fatal.
    """
    return _load_lookup(path, _area_ids(areas))


def _load_lookup(path: str | Path, area_ids: Sequence[str] | None) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _lookup_frame({}), problems
    columns, column_problems = _require(raw, file, LOOKUP_COLUMNS)
    problems += column_problems
    if column_problems:
        return _lookup_frame({}), problems
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
        checker.reject(
            unknown, "this area is not in the areas file; ignored", columns["area_id"], values=text["area_id"]
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
    kept, naming = _harmonise_names(kept, file, columns)
    problems += checker.problems + naming

    groups = {name: kept[name].to_numpy() for name in LOOKUP_COLUMNS}
    if area_ids is not None:
        groups, missing = _assign_unassigned(kept, area_ids, file)
        problems += missing
    if kept.empty:
        problems.append(_all_rejected(file))
    return _lookup_frame(groups), _sorted(problems)


def _lookup_frame(columns: Mapping[str, Sequence[str]]) -> pd.DataFrame:
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
    for neighbourhood, group in kept.groupby("neighbourhood_id", sort=False):
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
        checker.reject(unknown, "this area is not in the areas file; ignored", columns["area_id"], values=ids)
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
    location_problems = _location_columns(raw, file, columns, what="an asset's location")
    problems += column_problems + location_problems
    if column_problems or location_problems:
        return _assets_frame(None, {}), problems
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
    text = _texts(raw, columns["capacity"])
    numbers, bad = _numbers(text)
    checker.reject(bad, "capacity is not a number (referrals per month)", columns["capacity"], values=text)
    negative = ~bad & (numbers < 0)
    checker.reject(negative, "capacity must not be negative", columns["capacity"], values=text)
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
    text = _texts(raw, columns["reach"])
    for i, cell in enumerate(text):
        if cell == "":
            continue
        word = _REACH_WORDS.get(normalise_label(cell))
        if word is not None:
            reach[i] = word
            continue
        match = _REACH_KM.fullmatch(cell)
        km = float(match.group(1)) if match else np.nan
        if match and km > 0:
            reach[i], reach_km[i] = "radius", km
        else:
            message = (
                "a reach in km must be more than 0"
                if match
                else "reach must be local, borough, citywide or a distance in km such as '3km'"
            )
            checker.reject_rows([i], message, columns["reach"], values=[cell], positions=True)
    return reach, reach_km


# =========================================================================== referrals


def load_referrals(
    path: str | Path, taxonomy: Taxonomy, *, areas: gpd.GeoDataFrame | None = None, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Load referral records (or aggregated counts) from social prescribing.

    Parameters
    ----------
    path
        Table with ``category`` and one origin per row: ``origin_area_id``, or
        ``latitude``/``longitude``, or ``easting``/``northing``, or point geometry (a
        row with an area id uses it; other rows use their coordinates). Optional
        ``referral_id``, ``date`` (``YYYY-MM-DD`` or ``YYYY-MM``), ``community``,
        ``asset_id`` and ``count`` (whole number >= 1, default 1).
    taxonomy
        Vocabulary of need categories and communities.
    areas
        When given, an ``origin_area_id`` that is not one of its ids rejects the row.
    crs
        CRS of the geometry when the file does not say.

    Returns
    -------
    referrals, problems
        See :mod:`coverage_map.model`; ``referral_id`` and any other column are dropped.
        Problems never carry a referral's id, coordinates, date or origin area.
    """
    return _load_referrals(path, taxonomy, area_ids=_area_ids(areas) if areas is not None else None, crs=crs)


def _load_referrals(
    path: str | Path, taxonomy: Taxonomy, *, area_ids: Sequence[str] | None, crs: str | None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _referrals_frame(None), problems
    columns, column_problems = _require(raw, file, ("category",))
    columns.update(
        _find_columns(
            raw, ("origin_area_id", "referral_id", "date", "community", "asset_id", "count", *_LOCATION_COLUMNS)
        )
    )
    location_problems = _location_columns(raw, file, columns, what="a referral's origin", area_column=True)
    problems += column_problems + location_problems
    if column_problems or location_problems:
        return _referrals_frame(None), problems
    if raw.empty:
        return _referrals_frame(None), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows, private=True)
    category = _single_labels(
        checker, _texts(raw, columns["category"]), taxonomy.categories, columns["category"], required=True
    )
    community = (
        _single_labels(
            checker, _texts(raw, columns["community"]), taxonomy.communities, columns["community"], required=False
        )
        if "community" in columns
        else np.full(len(raw), None, dtype=object)
    )
    count = _referral_counts(checker, raw, columns)
    dates = _referral_dates(checker, raw, columns)
    asset_id = _optional_text(raw, columns, "asset_id")
    origin = _optional_text(raw, columns, "origin_area_id")
    by_area = np.array([value is not None for value in origin], dtype=bool)
    if area_ids is not None:
        unknown = by_area & ~_isin(origin, area_ids)
        checker.reject(
            unknown,
            "origin_area_id is not one of the area ids in the areas file",
            columns["origin_area_id"],
            values=origin,
        )
    x, y, how = _locate(checker, raw, columns, private=True, what="referral", skip=by_area)
    how = np.where(by_area, "area", how)
    _reject_repeated_ids(checker, raw, columns)

    keep = ~checker.rejected
    problems += checker.problems
    if not keep.any():
        problems.append(_all_rejected(file))
    located = ~by_area & keep
    geometry = np.full(len(raw), None, dtype=object)
    geometry[located] = shapely.points(x[located], y[located])
    values = {
        "category": category[keep], "community": community[keep], "count": count[keep], "date": dates[keep],
        "asset_id": asset_id[keep], "origin_area_id": origin[keep], "geometry": geometry[keep],
        "_coords": how[keep], "_source_row": rows[keep],
    }  # fmt: skip
    return _referrals_frame(values), _sorted(problems)


def _referrals_frame(values: Mapping[str, np.ndarray] | None) -> gpd.GeoDataFrame:
    get: Callable[[str], list[object]] = (lambda name: list(values[name])) if values is not None else (lambda name: [])
    frame = pd.DataFrame(
        {
            "category": pd.Series(get("category"), dtype="str"),
            "community": pd.Series(pd.array(get("community"), dtype="string")),
            "count": pd.Series(get("count"), dtype="int64"),
            "date": pd.Series(pd.to_datetime(pd.Series(get("date"), dtype=object)), dtype="datetime64[ns]"),
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
    text = _texts(raw, columns["count"])
    numbers, bad = _numbers(text)
    numbers = np.where(text == "", 1.0, numbers)
    fractional = ~bad & (numbers != np.round(numbers))
    small = ~bad & ~fractional & (numbers < 1)
    checker.reject(bad | fractional, "count must be a whole number", columns["count"], values=text, public=True)
    checker.reject(small, "count must be at least 1", columns["count"], values=text, public=True)
    return np.where(bad | fractional | small, 1, numbers).astype("int64")


def _referral_dates(checker: _RowChecker, raw: pd.DataFrame, columns: Mapping[str, str]) -> np.ndarray:
    dates = np.full(len(raw), None, dtype=object)
    if "date" not in columns:
        return dates
    today = dt.date.today()
    column = columns["date"]
    parsed_dates: dict[str, dt.date | None] = {}
    for i, cell in enumerate(_texts(raw, column)):
        if cell == "":
            continue
        if cell not in parsed_dates:
            parsed_dates[cell] = _parse_date(cell)
        parsed = parsed_dates[cell]
        if parsed is None:
            checker.reject_rows([i], "date is not a date written YYYY-MM-DD (or YYYY-MM)", column, positions=True)
        elif parsed > today:
            checker.reject_rows([i], "date is in the future", column, positions=True)
        else:
            dates[i] = pd.Timestamp(parsed)
    return dates


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
    ids = _texts(raw, columns["referral_id"])
    first_row: dict[str, int] = {}
    for i, referral_id in enumerate(ids):
        if referral_id == "":
            continue
        if referral_id in first_row:
            checker.reject_rows(
                [i],
                f"referral_id repeats the one on row {first_row[referral_id]}; the later row is ignored",
                columns["referral_id"],
                positions=True,
            )
        else:
            first_row[referral_id] = int(checker.rows[i])


def _single_labels(
    checker: _RowChecker, text: np.ndarray, vocabulary: Vocabulary, column: str, *, required: bool
) -> np.ndarray:
    resolved = np.full(len(text), None, dtype=object)
    cache: dict[str, str | None] = {}
    for i, cell in enumerate(text):
        if cell == "":
            if required:
                checker.reject_rows([i], f"{column} is blank", column, positions=True)
            continue
        if cell not in cache:
            cache[cell] = vocabulary.resolve(cell)
        if cache[cell] is None:
            checker.reject_rows(
                [i], vocabulary.unknown_message(cell), column, values=[cell], positions=True, public=True
            )
        else:
            resolved[i] = cache[cell]
    return resolved


# =========================================================================== load_inputs


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
        lookup_frame, found = _load_lookup(lookup, area_ids)
        problems += found
        sources.append(SourceInfo("lookup", str(lookup), len(lookup_frame)))
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
            referral_frame, found = _load_referrals(referrals, vocabulary, area_ids=area_ids, crs=crs)
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
        values: np.ndarray | None = None,
        prefix_column: bool = False,
        public: bool = False,
    ) -> None:
        """Reject every row where ``mask`` is true, each with its own problem."""
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


def _isin(values: np.ndarray, ids: Iterable[str]) -> np.ndarray:
    return pd.Series(values, dtype=object).isin(set(ids)).to_numpy(dtype=bool)


def _has_fatal(problems: Iterable[Problem]) -> bool:
    return any(problem.fatal for problem in problems)


def _sorted(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then row problems in row order."""
    return sorted(problems, key=lambda problem: (problem.row is not None, problem.row or 0))


def _no_rows(file: str) -> Problem:
    return Problem(file, "the file has no data rows (only a header, or no features)")


def _all_rejected(file: str) -> Problem:
    return Problem(file, "every row was rejected (see the problems above), so nothing is left to use")


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
    return found, [_missing_column(file, name, columns, taken=found.values()) for name in names if name not in found]


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
    """A column as stripped text (an object array of str), ``""`` where missing."""
    series = frame[column]
    if isinstance(series.dtype, pd.StringDtype):
        return series.fillna("").str.strip().to_numpy(dtype=object)
    return np.array([_cell_text(value) for value in series], dtype=object)


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


def _numbers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers (``1,296`` accepted); returns values and a mask of unparseable cells."""
    cleaned = [cell.replace(",", "") if _THOUSANDS.fullmatch(cell) else cell for cell in text]
    values = pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(dtype="float64")
    bad = (np.asarray(text) != "") & ~np.isfinite(values)
    return values, bad


def _number_text(value: float) -> str:
    return f"{value:g}"


def _optional_text(raw: pd.DataFrame, columns: Mapping[str, str], name: str) -> np.ndarray:
    if name not in columns:
        return np.full(len(raw), None, dtype=object)
    return np.array([cell if cell != "" else None for cell in _texts(raw, columns[name])], dtype=object)


def _blank_to_missing(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):
        return series.where(series.str.strip() != "")
    return series


def _duplicate_problems(ids: np.ndarray, rows: np.ndarray, file: str, *, column: str, what: str) -> list[Problem]:
    """A fatal problem for every row whose id is also on another row (blank ids ignored)."""
    positions: dict[str, list[int]] = {}
    for i, value in enumerate(ids):
        if value != "":
            positions.setdefault(value, []).append(int(rows[i]))
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
    resolved: list[tuple[str, ...]] = []
    for i, cell in enumerate(text):
        labels = split_labels(cell)
        if required and not labels:
            checker.reject_rows([i], f"{column} is blank; give at least one, separated by ';'", column, positions=True)
        known: list[str] = []
        for label in labels:
            if label not in cache:
                cache[label] = vocabulary.resolve(label)
            canonical = cache[label]
            if canonical is None:
                checker.reject_rows(
                    [i], vocabulary.unknown_message(label), column, values=[label], positions=True, public=True
                )
            elif canonical not in known:
                known.append(canonical)
        resolved.append(tuple(known))
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
        or (area_column and "origin_area_id" in columns)
    )
    if not any_way and not problems:
        ways = "'origin_area_id', " if area_column else ""
        problems.append(
            Problem(
                file,
                f"no location columns for {what}: give {ways}'latitude' and 'longitude' (WGS84), 'easting' and "
                "'northing' (British National Grid), or use a spatial file with point geometry"
                + _closest_location_hint(_data_columns(raw), area_column),
            )
        )
    return problems


def _closest_location_hint(columns: Sequence[str], area_column: bool) -> str:
    wanted = [*(["origin_area_id"] if area_column else []), *_LOCATION_COLUMNS]
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

    if "latitude" in columns:
        lat_text, lon_text = _texts(raw, columns["latitude"]), _texts(raw, columns["longitude"])
        given = pending & ((lat_text != "") | (lon_text != ""))
        lon, lat, ok = _checked_lonlat(checker, lat_text, lon_text, given, columns)
        if ok.any():
            x[ok], y[ok] = _lonlat_to_metric().transform(lon[ok], lat[ok])
        how[given] = "lonlat"
        pending &= ~given
    if "easting" in columns:
        e_text, n_text = _texts(raw, columns["easting"]), _texts(raw, columns["northing"])
        given = pending & ((e_text != "") | (n_text != ""))
        easting, northing, ok = _checked_en(checker, e_text, n_text, given, columns)
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
    lost = (how != "") & ~checker.rejected & ~(np.isfinite(x) & np.isfinite(y))
    checker.reject(lost, f"the coordinates cannot be converted to {METRIC_CRS}", None)
    return x, y, how


def _checked_lonlat(
    checker: _RowChecker, lat_text: np.ndarray, lon_text: np.ndarray, given: np.ndarray, columns: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lat, lat_bad = _numbers(lat_text)
    lon, lon_bad = _numbers(lon_text)
    lat_col, lon_col = columns["latitude"], columns["longitude"]
    checker.reject(given & (lat_text == ""), "latitude is blank (longitude is given)", lat_col)
    checker.reject(given & (lon_text == ""), "longitude is blank (latitude is given)", lon_col)
    checker.reject(given & lat_bad, "latitude is not a number", lat_col, values=lat_text)
    checker.reject(given & lon_bad, "longitude is not a number", lon_col, values=lon_text)
    numeric = given & (lat_text != "") & (lon_text != "") & ~lat_bad & ~lon_bad
    swapped = numeric & (lat >= -9) & (lat <= 3) & (lon >= 49) & (lon <= 61)
    pair = np.array([f"{a}, {o}" for a, o in zip(lat_text, lon_text, strict=True)], dtype=object)
    checker.reject(
        swapped,
        "latitude and longitude appear to be swapped (Great Britain is at latitude 49 to 61, longitude -9 to 3)",
        lat_col,
        values=pair,
    )
    lat_out = numeric & ~swapped & ((lat < -90) | (lat > 90))
    lon_out = numeric & ~swapped & ((lon < -180) | (lon > 180))
    checker.reject(lat_out, "latitude must be between -90 and 90", lat_col, values=lat_text)
    checker.reject(lon_out, "longitude must be between -180 and 180", lon_col, values=lon_text)
    return lon, lat, numeric & ~swapped & ~lat_out & ~lon_out


def _checked_en(
    checker: _RowChecker, e_text: np.ndarray, n_text: np.ndarray, given: np.ndarray, columns: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    easting, e_bad = _numbers(e_text)
    northing, n_bad = _numbers(n_text)
    e_col, n_col = columns["easting"], columns["northing"]
    checker.reject(given & (e_text == ""), "easting is blank (northing is given)", e_col)
    checker.reject(given & (n_text == ""), "northing is blank (easting is given)", n_col)
    checker.reject(given & e_bad, "easting is not a number", e_col, values=e_text)
    checker.reject(given & n_bad, "northing is not a number", n_col, values=n_text)
    numeric = given & (e_text != "") & (n_text != "") & ~e_bad & ~n_bad
    outside = numeric & ((easting < 0) | (easting > _MAX_EASTING) | (northing < 0) | (northing > _MAX_NORTHING))
    degrees = outside & (np.abs(easting) <= 180) & (np.abs(northing) <= 90)
    pair = np.array([f"{e}, {n}" for e, n in zip(e_text, n_text, strict=True)], dtype=object)
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
