"""Referrals: records or aggregated counts, each placed by coordinates, origin area or GP practice.

:func:`load_referrals` checks categories, communities, counts and dates row by row.
Referral rows are health data: a problem about a referral never carries its id, its
coordinates, its date or its origin area in ``value``; the message says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas.api.extensions import ExtensionArray

from ..config import METRIC_CRS
from ..errors import Problem
from ..taxonomy import Taxonomy, Vocabulary
from ._checks import (
    _all_rejected,
    _area_ids,
    _find_columns,
    _has_fatal,
    _header_misplaced,
    _isin_strings,
    _near_misses,
    _no_rows,
    _require,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._locations import _LOCATION_COLUMNS, _coordinates_given, _locate, _location_columns
from ._numbers import _number_column
from ._text import _coded_texts, _given, _optional_strings, _optional_text, _texts
from .mapping import ColumnMapping, apply_mapping, as_in_file
from .practices import _load_practices, _practice_origins
from .readers import read_any

REFERRAL_COLUMNS = (
    "category", "community", "count", "date", "asset_id", "origin_area_id", "geometry", "_coords", "_source_row",
)  # fmt: skip
#: Referral dates before this are typing errors (and outside what the analysis can hold).
EARLIEST_REFERRAL_DATE = dt.date(1900, 1, 1)
#: More referrals than this on one aggregated row is a typing error, not a count.
MAX_REFERRAL_COUNT = 1_000_000_000
_DATE = re.compile(
    r"(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)?"
)
#: 14/03/2025, 03/14/2025, 3.14.25...: day and month order is ambiguous.
_DAY_MONTH = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-](\d{2}|\d{4})(?:[T ].*)?")


def load_referrals(
    path: str | Path,
    taxonomy: Taxonomy,
    *,
    areas: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
    practices: str | Path | pd.DataFrame | None = None,
    practices_file: str | None = None,
    mapping: ColumnMapping | None = None,
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
    practices_file
        The file a practices table came from, named in problems (default: "the
        practices table").
    mapping
        The file's own column names and whole-file values
        (:class:`~coverage_map.ingest.mapping.ColumnMapping`).

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
    if isinstance(practices, pd.DataFrame):
        table, practices_file = practices, practices_file or "the practices table"
    elif practices is not None:
        table, problems = _load_practices(practices, area_ids, crs=crs)
        practices_file = str(practices)
        if _has_fatal(problems):
            table = None
    frame, found = _load_referrals(
        path, taxonomy, area_ids=area_ids, crs=crs, practices=table, practices_file=practices_file, mapping=mapping
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
    mapping: ColumnMapping | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path, crs=crs)
    if _has_fatal(problems):
        return _referrals_frame(None), problems
    frame, found = _mapped_referrals(raw, taxonomy, file, mapping, area_ids=area_ids, practices=practices,
                                     practices_file=practices_file)  # fmt: skip
    return frame, _sorted(problems + as_in_file(found, raw, mapping))


def _mapped_referrals(
    raw: pd.DataFrame,
    taxonomy: Taxonomy,
    file: str,
    mapping: ColumnMapping | None,
    *,
    area_ids: Sequence[str] | None,
    practices: pd.DataFrame | None,
    practices_file: str | None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The referrals of a read file, after the mapping."""
    raw, problems = apply_mapping(raw, mapping, file=file, role="referrals", taxonomy=taxonomy)
    if _has_fatal(problems):
        return _referrals_frame(None), problems
    columns = _referral_columns(raw, file, problems)
    if columns is None:
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
        problems.append(_practices_needed(file, int(by_practice.sum()), columns["origin_practice_code"]))
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
        _reject_unknown_origins(checker, origin, by_area, area_ids, columns["origin_area_id"])
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


def _referral_columns(raw: pd.DataFrame, file: str, problems: list[Problem]) -> dict[str, str] | None:
    """Canonical name -> the file's column, or None (the problems say why) when the file cannot be read as referrals."""
    columns, column_problems = _require(raw, file, ("category",))
    optional = ("origin_area_id", "origin_practice_code", "referral_id", "date", "community", "asset_id", "count")
    columns.update(_find_columns(raw, (*optional, *_LOCATION_COLUMNS)))
    location_problems = (
        []
        if _header_misplaced(column_problems)
        else _location_columns(raw, file, columns, what="a referral's origin", area_column=True)
    )
    problems += column_problems + location_problems
    return None if column_problems or location_problems else columns


def _practices_needed(file: str, needing: int, column: str) -> Problem:
    """Fatal: rows located only by a practice code, and no practice file to look the codes up in."""
    return Problem(
        file,
        f"{needing:,} row{'s give' if needing != 1 else ' gives'} only an origin practice code; give the GP "
        "practice file (--practices FILE, or practices= in Python) so their origins can be found",
        column=column,
    )


def _reject_unknown_origins(
    checker: _RowChecker, origin: ExtensionArray, by_area: np.ndarray, area_ids: Sequence[str], column: str
) -> None:
    """Reject origin area ids not in the areas file, saying when only case or spaces differ."""
    unknown = by_area & ~_isin_strings(origin, area_ids)
    near = _given(_near_misses(origin, unknown, set(area_ids)))
    checker.reject(
        near,
        "origin_area_id matches an area id of the areas file only when upper/lower case and spaces are "
        "ignored; write the codes exactly as the areas file does",
        column,
    )
    checker.reject(
        unknown & ~near,
        "origin_area_id is not one of the area ids in the areas file",
        column,
        values=origin,
    )


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
