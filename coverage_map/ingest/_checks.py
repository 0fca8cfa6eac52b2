"""Checks every loader shares: the row checker, problem helpers, area-id matching and column finding.

:class:`_RowChecker` collects one problem per rejected row; the ``_find_columns`` family
matches a file's columns to the names a loader wants, ignoring case, spaces and ``-``/``_``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from ..errors import Problem
from ..taxonomy import normalise_label
from ._text import _mask, _series_texts, _TextAt

#: Other spellings accepted for a column (matching also ignores case, spaces and -/_).
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "latitude": ("lat",),
    "longitude": ("lon", "lng", "long"),
    "origin_practice_code": ("practice_code", "gp_practice_code"),
}
#: First cells of a spreadsheet's summary rows ("Total", "Grand total"...), which are not records.
_SUMMARY = re.compile(r"(grand\s+|sub[-\s]?)?totals?:?|sum|all\s+areas", re.IGNORECASE)
#: The first letters a :data:`_SUMMARY` cell can start with (``ſ`` matches ``s`` ignoring case).
_SUMMARY_STARTS = frozenset("gGsSſtTaA")
_ONS_CODE = re.compile(r"([a-z]+\d*)cd")
#: Local-authority code columns (``lad22cd``, ``ltla21cd``), the default borough of an ONS lookup.
_LAD_CODE = re.compile(r"(lad|ltla)\d*cd")
#: Problems about many values (a national lookup has thousands of areas outside the
#: areas file) are listed one by one up to this many, then summarised in one problem.
_MAX_LISTED = 20


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


def _first_value(values: np.ndarray) -> str:
    return next((str(value) for value in values if value != ""), "")


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
