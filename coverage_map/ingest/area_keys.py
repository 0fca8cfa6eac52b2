"""Shared checks of tables keyed by small area (origins, IMD): which column holds the area
ids, and which areas the table leaves out."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem
from ._checks import _best_matching_column, _data_columns, _missing_column
from ._text import _texts
from .groups import _per_value_problems
from .practices import area_column_candidates

#: Examples of ids listed in a summary problem, at most.
_EXAMPLES = 5


def loose_key(name: object) -> str:
    """A column name folded to letters and digits: ``"LSOA code (2011)"`` -> ``lsoacode2011``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def named_column(raw: pd.DataFrame, names: Sequence[str]) -> str | None:
    """The first of the file's columns whose :func:`loose_key` is one of ``names``' (in ``names`` order)."""
    by_key: dict[str, str] = {}
    for column in _data_columns(raw):
        by_key.setdefault(loose_key(column), str(column))
    return next((by_key[loose_key(name)] for name in names if loose_key(name) in by_key), None)


def area_column(
    raw: pd.DataFrame, file: str, area_ids: Sequence[str] | None, names: Sequence[str] = ("area_id",)
) -> tuple[str | None, list[Problem]]:
    """The column holding small-area ids: one of ``names``, else the ONS code column
    (``lsoa21cd``...) holding the most of ``area_ids``. None, with a fatal problem, when there is none."""
    named = named_column(raw, names)
    if named is not None:
        return named, []
    candidates = area_column_candidates(_data_columns(raw))
    if candidates and area_ids is not None:
        texts = {str(column): _texts(raw, column) for column in candidates}
        best, hits = _best_matching_column(texts, candidates, set(area_ids))
        if best is not None and hits:
            return best, []
    if candidates:
        return str(candidates[0]), []
    return None, [_missing_column(file, names[0], _data_columns(raw))]


def unknown_areas(ids: np.ndarray, rows: np.ndarray, mask: np.ndarray, file: str, column: str) -> list[Problem]:
    """Non-fatal problems for rows whose area is not in the areas file: each row when few, else one summary.

    A national file (every LSOA of England) read with a region's areas names thousands of
    other areas; listing each would bury the problems that matter.
    """
    return _per_value_problems(
        ids, rows, mask, file, column,
        each="this area is not in the areas file; ignored",
        summary="{count:,} areas in column '{column}' are not in the areas file (e.g. {examples}); "
        "their {rows:,} rows are ignored",
    )  # fmt: skip


def none_match(file: str, column: str, ids: np.ndarray, area_ids: Sequence[str]) -> Problem:
    """The fatal problem of a file none of whose areas is in the areas file (often another census year)."""
    shown = ", ".join(f"'{value}'" for value in pd.unique(ids[ids != ""])[:_EXAMPLES])
    known = ", ".join(f"'{value}'" for value in list(area_ids)[:_EXAMPLES])
    return Problem(
        file,
        f"none of the areas in column '{column}' (e.g. {shown}) is in the areas file (e.g. {known}); are they "
        "another region's, or another census year's codes (2011 LSOAs against 2021 ones)?",
        column=column,
    )


def missing_areas(file: str, area_ids: Sequence[str], found: set[str], what: str) -> list[Problem]:
    """One non-fatal problem naming the areas (a few, and how many) that have no row."""
    missing = [area_id for area_id in area_ids if area_id not in found]
    if not missing:
        return []
    shown = ", ".join(f"'{area_id}'" for area_id in missing[:_EXAMPLES])
    more = f" and {len(missing) - _EXAMPLES:,} more" if len(missing) > _EXAMPLES else ""
    return [
        Problem(
            file,
            f"{len(missing):,} area{'s' if len(missing) != 1 else ''} of the areas file "
            f"{'have' if len(missing) != 1 else 'has'} no row here, so no {what}: {shown}{more}",
            fatal=False,
        )
    ]
