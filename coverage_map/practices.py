"""GP practices as referral origins: pure logic on already-read tables.

Case-management exports often key a referral by the person's GP practice (an ODS code such
as ``P84001``) instead of where they live. With a practice file (NHS ``epraccur``, a CQC
list, a hand-made CSV...) such a referral takes its origin from the practice: the
practice's small area when the file gives one, else the practice's point, which is then
placed in an area like any other coordinate origin.

Reading and validating the practice file is :func:`coverage_map.loaders.load_practices`;
this module only detects columns, normalises codes and resolves codes to origins.
Practice codes and locations are public (NHS ODS), so problems may show them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .taxonomy import normalise_label

#: Columns of a loaded practice table (see :func:`coverage_map.loaders.load_practices`).
PRACTICE_COLUMNS = ("practice_code", "area_id", "x", "y", "_source_row")
#: Names of the practice-code column, in order of preference (matched loosely).
PRACTICE_CODE_COLUMNS = ("practice_code", "organisation_code", "ods_code", "code")
#: Names of an area column, before ONS code columns (``lsoa21cd``...) are considered.
PRACTICE_AREA_COLUMNS = ("area_id", "area_code")
#: ONS code columns that can hold a practice's small area, finest geographies first.
_ONS_AREA = re.compile(r"(oa|lsoa|msoa|wd|ward)\d*cd")
_SPACES = re.compile(r"\s+")

#: How a referral's practice code resolved (see :func:`practice_origins`).
AREA, POINT, UNKNOWN, NO_LOCATION = "area", "point", "unknown", "no_location"


@dataclass(frozen=True)
class PracticeOrigins:
    """Where each referral keyed by a practice code comes from.

    Attributes
    ----------
    status
        Per code: ``area`` (the practice's area id), ``point`` (its coordinates),
        ``unknown`` (not in the practice table) or ``no_location`` (in the table, but
        with neither an area nor coordinates).
    area_id
        The practice's area id where ``status == "area"``, else None.
    x, y
        EPSG:27700 coordinates where ``status == "point"``, else NaN.
    codes
        The normalised codes looked up.
    """

    status: np.ndarray
    area_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    codes: np.ndarray


def normalise_code(code: str) -> str:
    """An ODS code as written in NHS files: upper case, without spaces (``p84 001`` -> ``P84001``)."""
    return _SPACES.sub("", str(code)).upper()


def code_column(columns: Sequence[str]) -> str | None:
    """The practice-code column: ``practice_code``, ``organisation_code``, ``ods_code`` or ``code``."""
    by_key = _by_key(columns)
    for name in PRACTICE_CODE_COLUMNS:
        if name in by_key:
            return by_key[name]
    return None


def area_column_candidates(columns: Sequence[str], *, exclude: Sequence[str] = ()) -> list[str]:
    """Columns that may hold a practice's small area: ``area_id``, ``area_code``, ONS codes.

    ONS code columns (``lsoa21cd``, ``msoa21cd``, ``wd22cd``...) come after the plain
    names; local-authority codes (``lad22cd``) are not small areas and are left out.
    """
    skipped = set(exclude)
    by_key = _by_key([column for column in columns if column not in skipped])
    plain = [by_key[name] for name in PRACTICE_AREA_COLUMNS if name in by_key]
    ons = [
        column
        for column in columns
        if column not in skipped and column not in plain and _ONS_AREA.fullmatch(str(column).strip().lower())
    ]
    return [*plain, *ons]


def practice_origins(codes: Sequence[str], practices: pd.DataFrame) -> PracticeOrigins:
    """Resolve practice codes to origins through a loaded practice table.

    Parameters
    ----------
    codes
        Practice codes as given (normalised here with :func:`normalise_code`).
    practices
        A table with :data:`PRACTICE_COLUMNS` and unique codes, as returned by
        :func:`coverage_map.loaders.load_practices`.

    Returns
    -------
    PracticeOrigins
        The practice's area id when it has one (an area is more reliable than a
        geocoded postcode), else its point; unknown codes and practices with neither
        are flagged for the caller to report.
    """
    normalised = np.array([normalise_code(code) for code in codes], dtype=object)
    table = practices.set_index("practice_code")
    found = pd.Index(table.index).get_indexer(normalised)
    known = found >= 0
    picked = np.where(known, found, 0)
    empty = len(table) == 0
    area = (
        np.full(len(normalised), None, dtype=object)
        if empty
        else np.array(
            [_text_or_none(value) for value in table["area_id"].to_numpy(dtype=object)[picked]],
            dtype=object,
        )
    )
    x = np.full(len(normalised), np.nan) if empty else table["x"].to_numpy(dtype="float64")[picked].copy()
    y = np.full(len(normalised), np.nan) if empty else table["y"].to_numpy(dtype="float64")[picked].copy()
    has_area = known & np.array([value is not None for value in area], dtype=bool)
    has_point = known & ~has_area & np.isfinite(x) & np.isfinite(y)
    status = np.full(len(normalised), NO_LOCATION, dtype=object)
    status[~known] = UNKNOWN
    status[has_area] = AREA
    status[has_point] = POINT
    area[~has_area] = None
    x[~has_point], y[~has_point] = np.nan, np.nan
    return PracticeOrigins(status=status, area_id=area, x=x, y=y, codes=normalised)


def _by_key(columns: Sequence[str]) -> dict[str, str]:
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(normalise_label(str(column)), column)
    return by_key


def _text_or_none(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None
