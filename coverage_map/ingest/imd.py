"""The Index of Multiple Deprivation of each small area (English IMD 2019: ranks and deciles
per 2011 LSOA), to weigh gaps by deprivation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import Problem
from ._checks import (
    _area_ids,
    _data_columns,
    _duplicate_problems,
    _has_fatal,
    _isin,
    _missing_column,
    _no_rows,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._numbers import _number_column
from ._text import _texts
from .area_keys import area_column, missing_areas, named_column, none_match, unknown_areas
from .readers import read_any

#: Area id columns: ours, then the MHCLG "File 2" header (2019: 2011 LSOAs; 2025: 2021 LSOAs).
AREA_COLUMNS = ("area_id", "LSOA code (2011)", "LSOA code (2021)", "lsoa11cd", "lsoa21cd")
#: IMD rank columns: ours, then the MHCLG header.
RANK_COLUMNS = ("imd_rank", "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
                "Index of Multiple Deprivation (IMD) Rank")  # fmt: skip
#: IMD decile columns: ours, then the MHCLG header.
DECILE_COLUMNS = (
    "imd_decile", "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    "Index of Multiple Deprivation (IMD) Decile",
)  # fmt: skip


def load_imd(path: str | Path, *, areas: gpd.GeoDataFrame | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Load IMD ranks and deciles per small area.

    Parameters
    ----------
    path
        A table with ``area_id``, ``imd_rank`` and ``imd_decile``, or the MHCLG English
        indices of deprivation "File 2" as published ("LSOA code (2011)", "Index of
        Multiple Deprivation (IMD) Rank (where 1 is most deprived)", "Index of Multiple
        Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"; its other
        columns are ignored).
    areas
        When given, rows for other areas are ignored (one problem summarises them when
        there are many: the published file covers all of England), and areas without a
        row are reported.

    Returns
    -------
    imd, problems
        ``area_id``, ``imd_rank`` (int, 1 = most deprived), ``imd_decile`` (int 1..10);
        see :mod:`coverage_map.model`. A blank id, and a rank or decile that is not a
        whole number in range, reject the row; a repeated area, missing columns and a
        file none of whose areas is known are fatal.
    """
    return _load_imd(path, _area_ids(areas) if areas is not None else None)


def _load_imd(path: str | Path, area_ids: Sequence[str] | None) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _imd_frame({}), problems
    id_column, found = area_column(raw, file, area_ids, AREA_COLUMNS)
    problems += found
    rank_column, decile_column = named_column(raw, RANK_COLUMNS), named_column(raw, DECILE_COLUMNS)
    taken = [column for column in (id_column, rank_column, decile_column) if column is not None]
    for column, name in ((rank_column, "imd_rank"), (decile_column, "imd_decile")):
        if column is None:
            problems.append(_missing_column(file, name, _data_columns(raw), taken=taken))
    if _has_fatal(problems):
        return _imd_frame({}), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _imd_frame({}), [*problems, _no_rows(file)]
    assert id_column is not None and rank_column is not None and decile_column is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, id_column)
    checker.reject(ids == "", "the area id is blank", id_column)
    rank = _whole_numbers(checker, raw, rank_column, "the IMD rank", low=1, high=None)
    decile = _whole_numbers(checker, raw, decile_column, "the IMD decile", low=1, high=10)
    ignored = np.zeros(len(raw), dtype=bool)
    if area_ids is not None:
        unknown = (ids != "") & ~_isin(ids, area_ids)
        if (ids != "").any() and unknown[ids != ""].all():
            return _imd_frame({}), [*problems, none_match(file, id_column, ids, area_ids)]
        problems += unknown_areas(ids, rows, unknown & ~checker.rejected, file, id_column)
        ignored = unknown
    keep = ~checker.rejected & ~ignored
    problems += _duplicate_problems(np.where(keep, ids, ""), rows, file, column=id_column, what="area id")
    problems += checker.problems
    if area_ids is not None:
        problems += missing_areas(file, area_ids, set(ids[keep]), "IMD rank or decile")
    values = {"area_id": ids[keep], "imd_rank": rank[keep], "imd_decile": decile[keep]}
    return _imd_frame(values), _sorted(problems)


def _whole_numbers(
    checker: _RowChecker, raw: pd.DataFrame, column: str, what: str, *, low: int, high: int | None
) -> np.ndarray:
    """A column of whole numbers from ``low`` to ``high``; other cells reject their row (0 in the result)."""
    cells = _number_column(raw, column)
    checker.reject(cells.blank, f"{what} is blank", column)
    checker.reject(cells.bad, f"{what} is not a number", column, values=cells.text)
    numeric = ~cells.blank & ~cells.bad
    fraction = numeric & (cells.values != np.trunc(cells.values))
    checker.reject(fraction, f"{what} must be a whole number", column, values=cells.text)
    allowed = f"from {low} to {high}" if high is not None else f"{low} or more"
    outside = numeric & ~fraction & ((cells.values < low) | ((cells.values > high) if high is not None else False))
    checker.reject(outside, f"{what} must be {allowed}", column, values=cells.text)
    good = numeric & ~fraction & ~outside
    return np.where(good, cells.values, 0).astype("int64")


def _imd_frame(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_id": pd.Series(values.get("area_id", []), dtype="str"),
            "imd_rank": pd.Series(values.get("imd_rank", []), dtype="int64"),
            "imd_decile": pd.Series(values.get("imd_decile", []), dtype="int64"),
        }
    )
