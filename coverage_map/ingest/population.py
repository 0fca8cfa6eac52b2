"""Population: residents per area, and per community in ``pop_<community>`` columns (:func:`load_population`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError
from ..taxonomy import Taxonomy, Vocabulary, normalise_label
from ._checks import (
    _all_rejected,
    _area_ids,
    _data_columns,
    _duplicate_problems,
    _find_columns,
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
from ._numbers import _number_text, _numbers
from ._text import _given, _texts
from .census import map_population, matching_table, table_summary
from .mapping import ColumnMapping, apply_mapping, as_in_file
from .readers import read_any


def load_population(
    path: str | Path | Sequence[str | Path],
    areas: gpd.GeoDataFrame,
    taxonomy: Taxonomy,
    *,
    mapping: ColumnMapping | Sequence[ColumnMapping | None] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the population of each area, in total and for each community.

    Parameters
    ----------
    path
        Table with ``area_id``, ``population`` and any number of ``pop_<community>``
        columns; ``<community>`` is resolved through ``taxonomy.communities`` (so
        ``pop_BME`` becomes ``pop_bame``). Optional ``need_<category>`` columns give the
        estimated number of people with that need; ``<category>`` is resolved through
        ``taxonomy.categories``. A file without ``area_id`` and ``population`` that has
        the columns of a census table layout (:func:`coverage_map.ingest.census.matching_table`)
        is converted first, and a problem (not fatal) names the layout. Several files are
        joined on the area code: the total comes from the first, each community from the
        first file that has it; files whose area codes differ are a fatal problem.
    areas
        The loaded areas; the result has one row per area, in the same order.
    taxonomy
        Vocabulary of communities.
    mapping
        The file's own column names (:class:`~coverage_map.ingest.mapping.ColumnMapping`): one
        for the first file, or one (or None) per file, in the order of ``path``.

    Returns
    -------
    population, problems
        ``area_id``, ``population``, ``pop_<community>`` and ``need_<category>`` as
        floats. Areas missing
        from the file get NaN (reported); rows for unknown areas are reported and
        ignored. A blank ``pop_<community>`` cell is unknown (NaN); a blank, negative or
        non-numeric ``population`` rejects its row; a group larger than the total is fatal.
        A blank need cell is unknown (NaN); a negative or non-numeric one rejects its row;
        a ``need_`` column naming an unknown category is fatal.
    """
    return _load_population(path, _area_ids(areas), taxonomy, mapping=mapping)


def _load_population(
    path: str | Path | Sequence[str | Path],
    area_ids: Sequence[str] | None,
    taxonomy: Taxonomy,
    *,
    mapping: ColumnMapping | Sequence[ColumnMapping | None] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """One population file, or several joined on the area code (see :func:`_joined`)."""
    paths = [path] if isinstance(path, str | Path) else list(path)
    given = [mapping] if mapping is None or isinstance(mapping, ColumnMapping) else list(mapping)
    mappings = [given[n] if n < len(given) else None for n in range(len(paths))]
    reads = [_read_population(one, area_ids, taxonomy, mappings[n]) for n, one in enumerate(paths)]
    problems = [problem for read in reads for problem in read.problems]
    if len(reads) == 1:
        read = reads[0]
    else:
        read, found = _joined(reads, area_ids)
        problems += found
    if read.table is None:
        return _population_frame({}, read.groups, read.needs), _sorted(problems)
    if area_ids is None:
        return _population_frame(read.table, read.groups, read.needs), _sorted(problems)
    table = read.table
    ordered = table.set_index("area_id").reindex(list(area_ids))
    problems += _areas_without_rows(ordered.index[~ordered.index.isin(table["area_id"])], read.rejected_ids, read.file)
    return _population_frame(ordered.reset_index(), read.groups, read.needs), _sorted(problems)


@dataclass
class _Read:
    """One population file read: its rows kept (None when unusable), its columns and its problems."""

    file: str
    table: pd.DataFrame | None
    groups: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    rejected_ids: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


def _read_population(
    path: str | Path, area_ids: Sequence[str] | None, taxonomy: Taxonomy, mapping: ColumnMapping | None
) -> _Read:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _Read(file, None, problems=problems)
    original = raw
    raw, found = apply_mapping(raw, mapping, file=file, role="population", taxonomy=taxonomy)
    problems += found
    if _has_fatal(found):
        return _Read(file, None, problems=problems)
    raw, found, census_area = _from_census(raw, file)
    problems += found
    if _has_fatal(found):
        return _Read(file, None, problems=problems)
    columns, column_problems = _require(raw, file, ("area_id", "population"))
    groups, group_problems = _community_columns(raw, file, taxonomy.communities)
    needs, need_problems = _community_columns(raw, file, taxonomy.categories, prefix="need_")
    group_problems += need_problems
    problems += column_problems + group_problems
    if _has_fatal(column_problems + group_problems):
        return _Read(file, None, list(groups), list(needs), problems=problems)
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _Read(file, None, list(groups), list(needs), problems=[*problems, _no_rows(file)])

    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    ids = _texts(raw, columns["area_id"])
    checker.reject(ids == "", "area_id is blank", columns["area_id"])
    total_text = _texts(raw, columns["population"])
    checker.reject(total_text == "", "population is blank", columns["population"])
    values = {"population": _checked_counts(checker, total_text, columns["population"])}
    for label, column in groups.items():
        values[f"pop_{label}"] = _checked_counts(checker, _texts(raw, column), column)
    for label, column in needs.items():
        values[f"need_{label}"] = _checked_counts(checker, _texts(raw, column), column)
    problems += _larger_than_total(values, groups, rows, file)
    problems += _duplicate_problems(
        np.where(checker.rejected, "", ids), rows, file, column=columns["area_id"], what="area id"
    )
    rejected_ids = set(ids[checker.rejected & (ids != "")])
    if area_ids is not None:
        _reject_unknown_areas(checker, ids, area_ids, columns["area_id"])
    keep = ~checker.rejected
    table = pd.DataFrame({"area_id": ids[keep], **{name: array[keep] for name, array in values.items()}})
    table = table.drop_duplicates("area_id")
    problems += checker.problems
    if table.empty:
        problems.append(_all_rejected(file))
    if census_area is not None:  # the census table's own area column, where the user will look
        problems = [dataclasses.replace(p, column=census_area) if p.column == "area_id" else p for p in problems]
    return _Read(file, table, list(groups), list(needs), rejected_ids, as_in_file(problems, original, mapping))


def _from_census(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem], str | None]:
    """A census table (a layout of :mod:`coverage_map.ingest.census`) converted to population columns.

    Only a file without ``area_id`` or ``population`` columns is looked at. The problem (not
    fatal) names the table layout used; the rows keep their spreadsheet row numbers (a long
    table's area: its first row). The third item is the table's area column (None: not a census table).
    """
    if len(_find_columns(raw, ("area_id", "population"))) == 2:
        return raw, [], None
    table = matching_table(raw)
    if table is None:
        return raw, [], None
    try:
        mapped = map_population(raw, table, file=file)
    except ValidationError as error:
        return raw, error.problems, table.area_column
    area_column = str(table.area_column)
    codes = raw[area_column].astype("str").str.strip().to_numpy()
    first_rows = pd.Series(raw["_source_row"].to_numpy(), index=codes)
    first_rows = first_rows[~first_rows.index.duplicated()]
    frame = mapped.astype({column: "str" for column in mapped.columns if column != "area_id"})
    frame["_source_row"] = first_rows.reindex(mapped["area_id"]).to_numpy(dtype="int64")
    note = Problem(file, f"read as the census table '{table.name}'"
                         f" ({table.description or table.layout}): {table_summary(table)}", fatal=False)  # fmt: skip
    return frame, [note], area_column


def _joined(reads: Sequence[_Read], area_ids: Sequence[str] | None) -> tuple[_Read, list[Problem]]:
    """Several population files joined on the area code: the total from the first, each community once.

    Their area codes must be the same (within the areas file, when it is usable); otherwise
    each file that differs from the first gets a fatal problem with the codes only one has.
    """
    usable = [read for read in reads if read.table is not None]
    first = reads[0]
    if len(usable) < len(reads):
        return _Read(first.file, None), []
    known = set(area_ids) if area_ids is not None else None
    problems: list[Problem] = []
    assert first.table is not None
    base_codes = _codes(first.table, known)
    table = first.table
    groups, needs = list(first.groups), list(first.needs)
    for read in reads[1:]:
        assert read.table is not None
        codes = _codes(read.table, known)
        if codes != base_codes:
            problems.append(_mismatch(first.file, base_codes, read.file, codes))
            continue
        new = [f"pop_{g}" for g in read.groups if g not in groups] + [f"need_{n}" for n in read.needs if n not in needs]
        repeated = [g for g in read.groups if g in groups] + [n for n in read.needs if n in needs]
        problems += [Problem(read.file, f"'{label}' is also in {first.file}; the first file's counts are used",
                             column=label, fatal=False) for label in repeated]  # fmt: skip
        table = table.merge(read.table[["area_id", *new]], on="area_id", how="left")
        groups += [g for g in read.groups if g not in groups]
        needs += [n for n in read.needs if n not in needs]
    rejected = set().union(*(read.rejected_ids for read in reads))
    return _Read(first.file, table, groups, needs, rejected), problems


def _codes(table: pd.DataFrame, known: set[str] | None) -> set[str]:
    codes = set(table["area_id"])
    return codes & known if known is not None else codes


def _mismatch(first: str, first_codes: set[str], other: str, codes: set[str]) -> Problem:
    only_first, only_other = sorted(first_codes - codes), sorted(codes - first_codes)

    def some(values: list[str]) -> str:
        return ", ".join(values[:3]) + (", ..." if len(values) > 3 else "")

    parts = []
    if only_first:
        parts.append(f"{len(only_first):,} area codes of {Path(first).name} are not in it ({some(only_first)})")
    if only_other:
        parts.append(f"{len(only_other):,} of its area codes are not in {Path(first).name} ({some(only_other)})")
    return Problem(
        other,
        "the area codes of the population files do not match: " + "; ".join(parts) + ". Population files are "
        "joined on the area code, so they must describe the same areas: LSOA 2011 and LSOA 2021 codes differ for "
        "the areas split or merged in 2021 (use tables of the same census geography as the areas file)",
        column="area_id",
    )


def _larger_than_total(
    values: Mapping[str, np.ndarray], groups: Mapping[str, str], rows: np.ndarray, file: str
) -> list[Problem]:
    """Not fatal: a community's population larger than the total."""
    problems = []
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
    return problems


def _reject_unknown_areas(checker: _RowChecker, ids: np.ndarray, area_ids: Sequence[str], column: str) -> None:
    """Reject area ids not in the areas file, saying when only case or spaces differ."""
    unknown = ~_isin(ids, area_ids) & ~checker.rejected
    near = _near_misses(ids, unknown, set(area_ids))
    for i in np.flatnonzero(_given(near)):
        checker.reject_rows([int(i)], _near_miss_message(near[i]), column, values=[ids[i]], positions=True)
    checker.reject(unknown & ~_given(near), "this area is not in the areas file; ignored", column, values=ids)


def _areas_without_rows(missing: Iterable[object], rejected_ids: set[str], file: str) -> list[Problem]:
    """Not fatal: an area of the areas file with no population row (unless its row was rejected)."""
    return [
        Problem(
            file,
            f"area '{area_id}' has no row in the population file; its population is unknown (NaN)",
            column="area_id",
            value=str(area_id),
            fatal=False,
        )
        for area_id in missing
        if area_id not in rejected_ids
    ]


def _population_frame(
    table: Mapping[str, object] | pd.DataFrame, labels: Sequence[str], needs: Sequence[str] = ()
) -> pd.DataFrame:
    names = ["population", *(f"pop_{label}" for label in labels), *(f"need_{label}" for label in needs)]
    source = table if isinstance(table, pd.DataFrame) else pd.DataFrame(columns=["area_id", *names])
    frame = pd.DataFrame({"area_id": pd.Series(source["area_id"].to_numpy(dtype=object), dtype="str")})
    for name in names:
        frame[name] = pd.to_numeric(pd.Series(source[name].to_numpy(), dtype="float64"))
    return frame


def _community_columns(
    frame: pd.DataFrame, file: str, communities: Vocabulary, *, prefix: str = "pop_"
) -> tuple[dict[str, str], list[Problem]]:
    """Canonical label -> its ``<prefix><label>`` column (communities' ``pop_``, categories' ``need_``)."""
    found: dict[str, str] = {}
    problems: list[Problem] = []
    what = "population" if prefix == "pop_" else "need"
    for column in _data_columns(frame):
        key = normalise_label(str(column))
        if not key.startswith(prefix):
            continue
        label = str(column).strip()[len(prefix) :].strip()
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
                    f"columns '{found[canonical]}' and '{column}' are both the '{canonical}' {what}",
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
