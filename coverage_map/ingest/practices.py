"""GP practices: the practice file (:func:`load_practices`), and referrals placed at their practice.

Case-management exports often key a referral by the person's GP practice (an ODS code such
as ``P84001``) instead of where they live. With a practice file (NHS ``epraccur``, a CQC
list, a hand-made CSV...) such a referral takes its origin from the practice: the
practice's small area when the file gives one, else the practice's point, which is then
placed in an area like any other coordinate origin.

:func:`load_practices` reads and validates the practice file; the pure helpers after it
detect columns, normalise codes and resolve codes to origins, and
:func:`~coverage_map.ingest.referrals.load_referrals` places referrals through them.
Practice codes and locations are public (NHS ODS), so problems may show them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from ..errors import Problem
from ..taxonomy import normalise_label
from ._checks import (
    _MAX_LISTED,
    _area_ids,
    _best_matching_column,
    _closest,
    _data_columns,
    _duplicate_problems,
    _find_columns,
    _has_fatal,
    _isin,
    _no_rows,
    _RowChecker,
    _sorted,
)
from ._locations import _LOCATION_COLUMNS, _coordinates_given, _locate, _location_columns
from ._text import _texts
from .readers import read_any

#: Columns of a loaded practice table (see :func:`load_practices`).
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
    columns = _practice_columns(raw, file, area_ids, problems)
    if _has_fatal(problems):
        return _practices_frame({}), problems
    if raw.empty:
        return _practices_frame({}), [*problems, _no_rows(file)]
    assert columns.code is not None

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    codes = np.array([normalise_code(code) for code in _texts(raw, columns.code)], dtype=object)
    checker.reject(codes == "", "the practice code is blank", columns.code)
    problems += _duplicate_problems(codes, rows, file, column=columns.code, what="practice code")
    area = _practice_areas(columns, area_ids, rows, checker, problems)
    x, y, usable = _practice_points(raw, file, rows, columns.location, problems)

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


@dataclass(frozen=True)
class _PracticeColumns:
    """Where a practice file keeps each thing (None: not found)."""

    file: str
    rows: int
    code: str | None
    area: str | None
    area_texts: Mapping[str, np.ndarray]  # the area column candidates' cells, as text
    location: dict[str, str]  # canonical location name -> the file's column


def _practice_columns(
    raw: pd.DataFrame, file: str, area_ids: Sequence[str] | None, problems: list[Problem]
) -> _PracticeColumns:
    """The practice code, area and location columns; reports what is missing."""
    data_columns = _data_columns(raw)
    practice_code_column = code_column(data_columns)
    if practice_code_column is None:
        guess = _closest(list(PRACTICE_CODE_COLUMNS), data_columns)
        hint = f"; found '{guess}' — is that it?" if guess else f"; the columns are: {', '.join(data_columns)}"
        problems.append(
            Problem(
                file,
                "cannot find the practice code column: expected one of "
                + ", ".join(f"'{name}'" for name in PRACTICE_CODE_COLUMNS)
                + hint,
                column="practice_code",
            )
        )
    location = _find_columns(raw, _LOCATION_COLUMNS)
    candidates = area_column_candidates(data_columns, exclude=[practice_code_column or ""])
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
    return _PracticeColumns(file, len(raw), practice_code_column, area_column, texts, location)


def _practice_areas(
    columns: _PracticeColumns,
    area_ids: Sequence[str] | None,
    rows: np.ndarray,
    checker: _RowChecker,
    problems: list[Problem],
) -> np.ndarray:
    """Each practice's area id ("" when none); an area not in the areas file falls back to the coordinates."""
    if columns.area is None:
        return np.full(columns.rows, "", dtype=object)
    area = columns.area_texts[columns.area]
    if area_ids is None:
        return area
    unknown = (area != "") & ~_isin(area, area_ids) & ~checker.rejected
    for i in np.flatnonzero(unknown):
        problems.append(
            Problem(
                columns.file,
                "this practice's area is not in the areas file; its coordinates are used if it has any",
                row=int(rows[i]),
                column=columns.area,
                value=str(area[i]),
                fatal=False,
            )
        )
    return np.where(unknown, "", area)


def _practice_points(
    raw: pd.DataFrame, file: str, rows: np.ndarray, location: Mapping[str, str], problems: list[Problem]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each practice's x, y (EPSG:27700) and whether they are usable.

    Coordinates that cannot be used leave the practice without a point, but keep it: the
    referrals that use it are rejected and name the practice.
    """
    spots = _RowChecker(file, rows)
    given = _coordinates_given(raw, location)
    x, y, how = _locate(spots, raw, location, private=False, what="practice", skip=~given)
    usable = (how != "") & ~spots.rejected
    problems += [
        dataclasses.replace(problem, message=problem.message + "; the practice has no usable point")
        for problem in spots.problems
    ]
    return x, y, usable


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
    )[list(PRACTICE_COLUMNS)]


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
        :func:`load_practices`.

    Returns
    -------
    PracticeOrigins
        The practice's area id when it has one (an area is more reliable than a
        geocoded postcode), else its point; unknown codes and practices with neither
        are flagged for the caller to report.
    """
    # Each distinct code is normalised and looked up once: a referral file repeats a few
    # thousand practice codes over millions of rows.
    given, distinct_codes = pd.factorize(np.asarray(codes, dtype=object), use_na_sentinel=False)
    normalised = np.array([normalise_code(code) for code in distinct_codes], dtype=object)
    table = practices.set_index("practice_code")
    found = pd.Index(table.index).get_indexer(normalised)
    known = found >= 0
    picked = np.where(known, found, 0)
    empty = len(table) == 0
    area = (
        np.full(len(normalised), None, dtype=object)
        if empty
        else np.array([_text_or_none(value) for value in table["area_id"].to_numpy(dtype=object)], dtype=object)[picked]
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
    return PracticeOrigins(status=status[given], area_id=area[given], x=x[given], y=y[given], codes=normalised[given])


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
    found = practice_origins(list(practice[positions]), practices)
    origin, x, y, how = origin.copy(), x.copy(), y.copy(), how.copy()
    for status, message, what in (
        (
            UNKNOWN,
            f"origin_practice_code is not in the practices file ({practices_file})",
            ("practice code", "practice codes", f"not in the practices file ({practices_file})"),
        ),
        (
            NO_LOCATION,
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
    by_area = found.status == AREA
    by_point = found.status == POINT
    origin[positions[by_area]] = found.area_id[by_area]
    x[positions[by_point]], y[positions[by_point]] = found.x[by_point], found.y[by_point]
    how[positions[by_area | by_point]] = "practice"
    return origin, x, y, how
