"""Population: residents per area, and per community in ``pop_<community>`` columns (:func:`load_population`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import Problem
from ..taxonomy import Taxonomy, Vocabulary, normalise_label
from ._checks import (
    _all_rejected,
    _area_ids,
    _data_columns,
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
from ._numbers import _number_text, _numbers
from ._text import _given, _texts
from .readers import read_any


def load_population(
    path: str | Path, areas: gpd.GeoDataFrame, taxonomy: Taxonomy
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the population of each area, in total and for each community.

    Parameters
    ----------
    path
        Table with ``area_id``, ``population`` and any number of ``pop_<community>``
        columns; ``<community>`` is resolved through ``taxonomy.communities`` (so
        ``pop_BME`` becomes ``pop_bame``). Optional ``need_<category>`` columns give the
        estimated number of people with that need; ``<category>`` is resolved through
        ``taxonomy.categories``.
    areas
        The loaded areas; the result has one row per area, in the same order.
    taxonomy
        Vocabulary of communities.

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
    return _load_population(path, _area_ids(areas), taxonomy)


def _load_population(
    path: str | Path, area_ids: Sequence[str] | None, taxonomy: Taxonomy
) -> tuple[pd.DataFrame, list[Problem]]:
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _population_frame({}, []), problems
    columns, column_problems = _require(raw, file, ("area_id", "population"))
    groups, group_problems = _community_columns(raw, file, taxonomy.communities)
    needs, need_problems = _community_columns(raw, file, taxonomy.categories, prefix="need_")
    group_problems += need_problems
    problems += column_problems + group_problems
    if _has_fatal(column_problems + group_problems):
        return _population_frame({}, list(groups), list(needs)), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _population_frame({}, list(groups), list(needs)), [*problems, _no_rows(file)]

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
    if area_ids is None:
        return _population_frame(table, list(groups), list(needs)), _sorted(problems)
    ordered = table.set_index("area_id").reindex(list(area_ids))
    problems += _areas_without_rows(ordered.index[~ordered.index.isin(table["area_id"])], rejected_ids, file)
    return _population_frame(ordered.reset_index(), list(groups), list(needs)), _sorted(problems)


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
