"""Travel times: minutes from each small area's origin to each asset, computed elsewhere
(a routing engine, a public transport timetable), for access measured in time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import Problem
from ._checks import (
    _area_ids,
    _duplicate_problems,
    _has_fatal,
    _isin,
    _near_miss_message,
    _near_misses,
    _no_rows,
    _require,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._numbers import _number_column
from ._text import _texts
from .readers import read_any

COLUMNS = ("area_id", "asset_id", "minutes")


def load_travel_times(
    path: str | Path, *, areas: gpd.GeoDataFrame | None = None, assets: gpd.GeoDataFrame | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load travel times in minutes from small areas to assets.

    Parameters
    ----------
    path
        A table with ``area_id``, ``asset_id`` and ``minutes`` (one row per pair; pairs
        not listed are not reachable, or not computed).
    areas, assets
        When given, a row naming an area or an asset that is not in them is rejected.

    Returns
    -------
    travel_times, problems
        ``area_id``, ``asset_id`` and ``minutes`` (float >= 0; see
        :mod:`coverage_map.model`). A blank id, a blank, negative or non-numeric number
        of minutes, and an unknown area or asset reject the row; the same pair on two
        rows is fatal.
    """
    area_ids = _area_ids(areas) if areas is not None else None
    asset_ids = [str(asset_id) for asset_id in assets["asset_id"]] if assets is not None else None
    return _load_travel_times(path, area_ids, asset_ids)


def _load_travel_times(
    path: str | Path, area_ids: Sequence[str] | None, asset_ids: Sequence[str] | None
) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _travel_frame({}), problems
    columns, found = _require(raw, file, COLUMNS)
    problems += found
    if _has_fatal(found):
        return _travel_frame({}), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _travel_frame({}), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    area, asset = _texts(raw, columns["area_id"]), _texts(raw, columns["asset_id"])
    checker.reject(area == "", "area_id is blank", columns["area_id"])
    checker.reject(asset == "", "asset_id is blank", columns["asset_id"])
    minutes = _number_column(raw, columns["minutes"])
    checker.reject(minutes.blank, "minutes is blank", columns["minutes"])
    checker.reject(minutes.bad, "minutes is not a number", columns["minutes"], values=minutes.text)
    negative = ~minutes.blank & ~minutes.bad & (minutes.values < 0)
    checker.reject(negative, "minutes must not be negative", columns["minutes"], values=minutes.text)
    if area_ids is not None:
        unknown = (area != "") & ~_isin(area, area_ids)
        near = _near_misses(area, unknown, set(area_ids))
        close = ~pd.isna(near)
        for i in np.flatnonzero(close):
            checker.reject_rows([int(i)], _near_miss_message(str(near[i])), columns["area_id"], values=[area[i]],
                                positions=True)  # fmt: skip
        checker.reject(unknown & ~close, "this area is not in the areas file", columns["area_id"], values=area)
    if asset_ids is not None:
        unknown = (asset != "") & ~_isin(asset, asset_ids)
        checker.reject(unknown, "this asset is not in the assets file", columns["asset_id"], values=asset)
    keep = ~checker.rejected
    joined = (pd.Series(area, dtype=object) + ", " + pd.Series(asset, dtype=object)).to_numpy(dtype=object)
    pairs = np.where(keep, joined, "")
    problems += _duplicate_problems(pairs, rows, file, column=columns["asset_id"], what="area_id, asset_id pair")
    problems += checker.problems
    values = {"area_id": area[keep], "asset_id": asset[keep], "minutes": minutes.values[keep]}
    return _travel_frame(values), _sorted(problems)


def _travel_frame(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_id": pd.Series(values.get("area_id", []), dtype="str"),
            "asset_id": pd.Series(values.get("asset_id", []), dtype="str"),
            "minutes": pd.Series(values.get("minutes", []), dtype="float64"),
        }
    )
