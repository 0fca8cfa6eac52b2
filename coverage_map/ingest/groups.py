"""Neighbourhood groups: a ``--groups`` file mapping ward (or area) codes to neighbourhoods.

Used with an ONS lookup (:mod:`coverage_map.ingest.lookup`), which shares the per-value
problem lists defined here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem
from ._checks import (
    _MAX_LISTED,
    _all_rejected,
    _data_columns,
    _first_value,
    _given_columns,
    _has_fatal,
    _isin,
    _key,
    _missing_column,
    _named_column,
    _no_rows,
    _RowChecker,
    _sorted,
)
from ._text import _texts
from .readers import read_any


@dataclasses.dataclass(frozen=True)
class _Groups:
    """A loaded groups file: one row per key (ward or area code), indexed by the key."""

    file: str
    table: pd.DataFrame  # index: key; columns neighbourhood_id, neighbourhood_name, _row
    key_column: str  # the groups file's key column
    lookup_column: str  # the lookup column it matches
    id_column: str  # the groups file's neighbourhood id column


def _load_groups(
    path: str | Path, given: tuple[str, str | None] | None, lookup_texts: Mapping[str, np.ndarray]
) -> tuple[_Groups | None, list[Problem], int]:
    """The groups file: a ward (or area) code of the lookup -> neighbourhood id and name."""
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return None, problems, 0
    columns, found = _neighbourhood_columns(raw, file, given)
    problems += found
    if columns is None or _has_fatal(found):
        return None, problems, len(raw)
    if raw.empty:
        return None, [*problems, _no_rows(file)], 0
    texts = {str(column): _texts(raw, column) for column in _data_columns(raw) if column not in columns}
    key_column, lookup_column = _matching_key(texts, lookup_texts)
    if key_column is None or lookup_column is None:
        problems.append(_no_matching_key(file, texts, lookup_texts))
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
    problems += _repeated_codes(kept, unique, checker, file, key_column)
    problems += checker.problems
    unique, found = _first_names(unique, "neighbourhood", file, columns[1] or columns[0])
    problems += found
    if unique.empty:
        problems.append(_all_rejected(file))
    table = unique.drop_duplicates("key").set_index("key")[["neighbourhood_id", "neighbourhood_name", "_row"]]
    return _Groups(file, table, key_column, lookup_column, columns[0]), _sorted(problems), len(raw)


def _neighbourhood_columns(
    raw: pd.DataFrame, file: str, given: tuple[str, str | None] | None
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    """The groups file's neighbourhood id and name columns: as given, or ``neighbourhood_id``/``_name``."""
    if given is not None:
        return _given_columns(raw, file, given, "the neighbourhood column (--neighbourhood-col)")
    id_column = _named_column(raw, "neighbourhood_id")
    if not id_column:
        return None, [_missing_column(file, "neighbourhood_id", _data_columns(raw))]
    return (id_column, _named_column(raw, "neighbourhood_name")), []


def _no_matching_key(file: str, texts: Mapping[str, np.ndarray], lookup_texts: Mapping[str, np.ndarray]) -> Problem:
    """Fatal: no column of the groups file holds codes the lookup has."""
    listed = ", ".join(f"'{column}'" for column in texts) or "none"
    codes = ", ".join(f"{name} '{_first_value(values)}'" for name, values in list(lookup_texts.items())[:6])
    return Problem(
        file,
        f"none of the groups file's key columns ({listed}) matches a column of the lookup; the key "
        f"should hold codes the lookup also has, such as {codes}",
    )


def _repeated_codes(
    kept: pd.DataFrame, unique: pd.DataFrame, checker: _RowChecker, file: str, key_column: str
) -> list[Problem]:
    """Reject a code listed again with the same neighbourhood; fatal: a code in two neighbourhoods."""
    for _, row in kept[kept.duplicated(["key", "neighbourhood_id"])].iterrows():
        first = unique.loc[(unique["key"] == row["key"]) & (unique["neighbourhood_id"] == row["neighbourhood_id"])]
        checker.reject_rows(
            [int(row["_row"])],
            f"this code is listed again with the same neighbourhood as row {int(first['_row'].iloc[0])}; "
            "duplicate ignored",
            key_column,
            values=[row["key"]],
        )
    problems = []
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
    return problems


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
