"""Community assets: services and groups as points (:func:`load_assets`).

Each asset carries the need categories and communities it serves, and optionally its
capacity, whether it accepts referrals and how far it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import METRIC_CRS
from ..errors import Problem
from ..taxonomy import Taxonomy, Vocabulary, split_labels
from ._asset_values import _ACCEPTING_MESSAGE, _FALSE, _TRUE, _reach_of
from ._checks import (
    _all_rejected,
    _data_columns,
    _duplicate_problems,
    _find_columns,
    _has_fatal,
    _header_misplaced,
    _no_rows,
    _require,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._locations import _LOCATION_COLUMNS, _locate, _location_columns
from ._numbers import _number_column
from ._text import _blank_to_missing, _coded_texts, _texts
from .mapping import ColumnMapping, apply_mapping, as_in_file, generated_ids
from .readers import read_any

ASSET_COLUMNS = (
    "asset_id", "name", "categories", "communities", "capacity", "accepting_referrals", "reach", "reach_km",
)  # fmt: skip


def load_assets(
    path: str | Path, taxonomy: Taxonomy, *, crs: str | None = None, mapping: ColumnMapping | None = None
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
    mapping
        The file's own column names, values for every row (``categories =
        "food_nutrition"``) and labels (:class:`~coverage_map.ingest.mapping.ColumnMapping`).

    Returns
    -------
    assets, problems
        See :mod:`coverage_map.model`. Rows with a bad value are rejected and reported;
        duplicate ``asset_id`` values are fatal. A file with no ``asset_id`` column (nor
        one close to it) gets ids made from its row numbers (``row-2``...), said once.
    """
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _assets_frame(None, {}), problems
    assets, problems = _load_assets(raw, file, taxonomy, mapping, problems)
    return assets, as_in_file(problems, raw, mapping)


def _load_assets(
    raw: pd.DataFrame, file: str, taxonomy: Taxonomy, mapping: ColumnMapping | None, problems: list[Problem]
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The assets of a read file (``problems``: the reading's), after the mapping."""
    raw, found = apply_mapping(raw, mapping, file=file, role="assets", taxonomy=taxonomy)
    problems += found
    if _has_fatal(found):
        return _assets_frame(None, {}), problems
    raw, found = generated_ids(raw, file=file)
    problems += found
    return assets_from_table(raw, taxonomy, file=file, problems=problems)


def assets_from_table(
    raw: pd.DataFrame, taxonomy: Taxonomy, *, file: str, problems: list[Problem] | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The checks of :func:`load_assets` on a table already read (a file's rows, or services typed in).

    Parameters
    ----------
    raw
        One row per asset, with the columns :func:`load_assets` reads (cells as text or
        numbers, or point geometry) and ``_source_row``, the row number problems name.
    taxonomy
        Vocabulary of need categories and communities.
    file
        What problems name as the file (a path, or e.g. ``"proposed services"``).
    problems
        Problems found while reading (and mapping), kept in front of the ones found here.
    """
    problems = list(problems or [])
    columns = _asset_columns(raw, file, problems)
    if columns is None:
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
    values = {
        "asset_id": ids[keep], "name": names[keep],
        "categories": [categories[i] for i in np.flatnonzero(keep)],
        "communities": [communities[i] for i in np.flatnonzero(keep)],
        "capacity": capacity[keep], "accepting_referrals": accepting[keep],
        "reach": reach[keep], "reach_km": reach_km[keep],
        "geometry": shapely.points(x[keep], y[keep]), "_source_row": rows[keep],
    }  # fmt: skip
    return _assets_frame(values, _passthrough(raw, columns, keep)), _sorted(problems)


def _asset_columns(raw: pd.DataFrame, file: str, problems: list[Problem]) -> dict[str, str] | None:
    """Canonical name -> the file's column, or None (the problems say why) when the file cannot be read as assets."""
    columns, column_problems = _require(raw, file, ("asset_id", "name", "categories"))
    optional = _find_columns(raw, ("communities", "capacity", "accepting_referrals", "reach", *_LOCATION_COLUMNS))
    columns.update(optional)
    location_problems = (
        [] if _header_misplaced(column_problems) else _location_columns(raw, file, columns, what="an asset's location")
    )
    problems += column_problems + location_problems
    return None if column_problems or location_problems else columns


def _passthrough(raw: pd.DataFrame, columns: Mapping[str, str], keep: np.ndarray) -> dict[str, pd.Series]:
    """The kept rows of every column the loader does not read itself (blank cells missing)."""
    used = {*columns.values(), "_source_row"}
    return {
        str(column): _blank_to_missing(raw[column])[keep].reset_index(drop=True)
        for column in _data_columns(raw)
        if column not in used and not str(column).startswith("_") and str(column) not in ASSET_COLUMNS
    }


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
        _ACCEPTING_MESSAGE,
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
