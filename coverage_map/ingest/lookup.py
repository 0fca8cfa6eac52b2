"""The lookup: areas grouped into neighbourhoods and boroughs (:func:`load_lookup`).

Either a plain lookup file (``area_id``, ``neighbourhood_id``... columns) or an ONS lookup
(OA -> LSOA -> MSOA -> ward -> local authority), whose levels are chosen by column
(``lookup_levels``) or detected; neighbourhoods may come from a ``--groups`` file
(:mod:`coverage_map.ingest.groups`). Areas left out are assigned to "Unassigned".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import UNASSIGNED_ID, UNASSIGNED_NAME
from ..errors import Problem
from ._checks import (
    _LAD_CODE,
    _MAX_LISTED,
    _ONS_CODE,
    _all_rejected,
    _area_ids,
    _best_matching_column,
    _data_columns,
    _first_value,
    _given_columns,
    _has_fatal,
    _isin,
    _name_column_for,
    _named_column,
    _near_miss_message,
    _near_misses,
    _no_rows,
    _require,
    _RowChecker,
    _sorted,
    _without_summary_rows,
)
from ._text import _given, _texts
from .groups import _first_names, _Groups, _load_groups, _per_value_problems
from .mapping import ColumnMapping, apply_mapping, as_in_file
from .readers import read_any

LOOKUP_COLUMNS = ("area_id", "neighbourhood_id", "neighbourhood_name", "borough_id", "borough_name")


def load_lookup(
    path: str | Path,
    areas: gpd.GeoDataFrame,
    *,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
    mapping: ColumnMapping | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Load the table that groups small areas into neighbourhoods and boroughs.

    Parameters
    ----------
    path
        Either the plain table with ``area_id``, ``neighbourhood_id``,
        ``neighbourhood_name``, ``borough_id``, ``borough_name``, or an ONS-style lookup
        such as ``oa21cd,lsoa21cd,lsoa21nm,msoa21cd,msoa21nm,lad22cd,lad22nm`` (one row
        per output area: the rows of each small area are collapsed, and conflicts
        reported) or ``lsoa21cd,lsoa21nm,wd22cd,wd22nm,lad22cd,lad22nm``.
    areas
        The loaded areas (:func:`load_areas`); the result has exactly one row per area.
    lookup_levels
        For ONS-style lookups: ``{"neighbourhood": ..., "borough": ..., "area": ...}``,
        each a code column, ``"CODECOL:NAMECOL"`` or ``(code, name)``. By default the
        area column is the one whose values best match the areas' ids, the borough is
        ``borough_id`` or the local-authority code column (``lad22cd``...), and the
        neighbourhood is ``neighbourhood_id`` or the next coarser geography present
        (``msoa21cd``, ``wd22cd``...). Giving any level also turns on ONS-style loading.
        With ``groups`` the neighbourhood entry names the groups file's columns.
    groups
        A second table mapping a code of the lookup (a ward or LSOA code, in a column
        matched automatically against the lookup's columns) to ``neighbourhood_id`` and
        ``neighbourhood_name``: area -> ward -> neighbourhood, and borough from the lookup.
    mapping
        The file's own column names for ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``,
        ``borough_id`` and ``borough_name`` (:class:`~coverage_map.ingest.mapping.ColumnMapping`):
        the lookup is then read by levels from those columns, each level not mapped (nor given in
        ``lookup_levels``, which wins) found as for an ONS lookup. Problems name the file's columns.

    Returns
    -------
    lookup, problems
        The five columns, one row per area in ``areas`` order. Areas missing from the
        file are assigned :data:`~coverage_map.config.UNASSIGNED_ID` and reported; rows
        for areas not in ``areas`` are reported and ignored. An area in two
        neighbourhoods (or boroughs), and a neighbourhood in two boroughs, are fatal.
    """
    frame, problems, _ = _load_lookup(
        path, _area_ids(areas), lookup_levels=lookup_levels, groups=groups, mapping=mapping
    )
    return frame, problems


def _load_lookup(
    path: str | Path,
    area_ids: Sequence[str] | None,
    *,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
    mapping: ColumnMapping | None = None,
) -> tuple[pd.DataFrame, list[Problem], int]:
    """The lookup, its problems, and the number of rows of the groups file (0 without one)."""
    file = str(path)
    raw, problems = read_any(path)
    if _has_fatal(problems):
        return _lookup_frame({}), problems, 0
    original = raw
    if mapping:
        raw, found = apply_mapping(raw, mapping, file=file, role="lookup")
        problems += found
        if _has_fatal(found):
            return _lookup_frame({}), problems, 0
        # A mapped lookup is read by levels: the mapped columns now carry the fields' names.
        mapped = {"area": "area_id"} if "area_id" in mapping.column_map else {}
        lookup_levels = {**mapped, **(lookup_levels or {})}
    levels, level_problems = _lookup_levels(lookup_levels, file)
    problems += level_problems
    if _has_fatal(level_problems):
        return _lookup_frame({}), problems, 0
    if lookup_levels is None and groups is None and not _is_ons_lookup(raw):
        frame, problems = _load_plain_lookup(raw, file, area_ids, problems)
        return frame, problems, 0
    frame, problems, group_rows = _load_level_lookup(raw, file, area_ids, levels, groups, problems)
    return frame, as_in_file(problems, original, mapping), group_rows


def _load_plain_lookup(
    raw: pd.DataFrame, file: str, area_ids: Sequence[str] | None, problems: list[Problem]
) -> tuple[pd.DataFrame, list[Problem]]:
    columns, column_problems = _require(raw, file, LOOKUP_COLUMNS)
    problems += column_problems
    if column_problems:
        return _lookup_frame({}), problems
    raw, summary_rows = _without_summary_rows(raw, file)
    problems += summary_rows
    if raw.empty:
        return _lookup_frame({}), [*problems, _no_rows(file)]

    rows = raw["_source_row"].to_numpy()
    text = {name: _texts(raw, columns[name]) for name in LOOKUP_COLUMNS}
    checker = _RowChecker(file, rows)
    for name in ("area_id", "neighbourhood_id", "borough_id"):
        checker.reject(text[name] == "", f"{name} is blank", columns[name])
    for id_name, name_name in (("neighbourhood_id", "neighbourhood_name"), ("borough_id", "borough_name")):
        text[name_name] = np.where(text[name_name] == "", text[id_name], text[name_name])
    if area_ids is not None:
        known = set(area_ids)
        unknown = ~_isin(text["area_id"], known) & ~checker.rejected
        near = _near_misses(text["area_id"], unknown, known)
        for i in np.flatnonzero(_given(near)):
            checker.reject_rows(
                [int(i)], _near_miss_message(near[i]), columns["area_id"], values=[text["area_id"][i]], positions=True
            )
        checker.reject(
            unknown & ~_given(near),
            "this area is not in the areas file; ignored",
            columns["area_id"],
            values=text["area_id"],
        )
    keep = ~checker.rejected
    kept = pd.DataFrame({name: text[name][keep] for name in LOOKUP_COLUMNS}).assign(_row=rows[keep])

    fatal, repeated = _lookup_duplicates(kept, file, columns)
    problems += fatal
    conflicting = {problem.value for problem in fatal}
    for index, first_row in repeated.items():
        if kept.at[index, "area_id"] in conflicting:
            continue
        checker.reject_rows(
            [int(kept.at[index, "_row"])],
            f"this area is listed again with the same groups as row {first_row}; duplicate ignored",
            columns["area_id"],
            values=[kept.at[index, "area_id"]],
        )
    kept = kept.drop(index=list(repeated))
    problems += _two_borough_problems(kept, file, columns["neighbourhood_id"])
    problems += _circular_problems(kept, file, columns["neighbourhood_id"])
    kept, naming = _harmonise_names(kept, file, columns)
    problems += checker.problems + naming

    groups = {name: kept[name].to_numpy() for name in LOOKUP_COLUMNS}
    if area_ids is not None:
        groups, missing = _assign_unassigned(kept, area_ids, file)
        problems += missing
    if kept.empty:
        problems.append(_all_rejected(file))
    return _lookup_frame(groups), _sorted(problems)


def _lookup_frame(columns: Mapping[str, Sequence[str] | np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(list(columns.get(name, [])), dtype="str") for name in LOOKUP_COLUMNS})


def _lookup_duplicates(
    kept: pd.DataFrame, file: str, columns: Mapping[str, str]
) -> tuple[list[Problem], dict[int, int]]:
    """Fatal problems for areas with conflicting groups; exact repeats -> first row."""
    fatal: list[Problem] = []
    repeated: dict[int, int] = {}
    for area_id, group in kept[kept["area_id"].duplicated(keep=False)].groupby("area_id", sort=False):
        pairs = list(zip(group["neighbourhood_id"], group["borough_id"], strict=True))
        first = int(group["_row"].iloc[0])
        # Later rows go either way: as harmless repeats, or after a fatal problem below.
        repeated.update({int(index): first for index in group.index[1:]})
        if len(set(pairs)) == 1:
            continue
        listing = "; ".join(
            f"row {row}: neighbourhood '{n}', borough '{b}'" for row, (n, b) in zip(group["_row"], pairs, strict=True)
        )
        fatal.append(
            Problem(
                file,
                f"area '{area_id}' is listed more than once with different groups ({listing})",
                row=int(group["_row"].iloc[1]),
                column=columns["area_id"],
                value=str(area_id),
            )
        )
    return fatal, repeated


def _two_borough_problems(kept: pd.DataFrame, file: str, column: str) -> list[Problem]:
    problems = []
    # Only neighbourhoods in more than one borough are looked at group by group.
    split = kept.groupby("neighbourhood_id", sort=False)["borough_id"].nunique()
    split_kept = kept[kept["neighbourhood_id"].isin(split.index[split > 1])]
    for neighbourhood, group in split_kept.groupby("neighbourhood_id", sort=False):
        boroughs = group.groupby("borough_id", sort=False)["_row"].apply(list)
        if len(boroughs) < 2:
            continue
        listing = ", ".join(
            f"'{borough}' (row{'s' if len(r) > 1 else ''} {', '.join(map(str, r))})" for borough, r in boroughs.items()
        )
        problems.append(
            Problem(
                file,
                f"neighbourhood '{neighbourhood}' is in {len(boroughs)} boroughs: {listing}; "
                "a neighbourhood must sit inside one borough",
                row=int(boroughs.iloc[1][0]),
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _circular_problems(kept: pd.DataFrame, file: str, column: str) -> list[Problem]:
    """Fatal: a neighbourhood id that is the id of another area, which sits in a different neighbourhood.

    The lookup would then loop (area -> area -> neighbourhood): usually a shifted column,
    or an area id typed where a neighbourhood id belongs. An area may be its own
    neighbourhood (MSOAs as neighbourhoods), so ``X -> X`` is fine.
    """
    area_ids = kept["area_id"].to_numpy(dtype=object)
    neighbourhoods = kept["neighbourhood_id"].to_numpy(dtype=object)
    # Screen every row at once (the neighbourhood's own neighbourhood, when it is an area); only loops go on.
    last = kept.drop_duplicates("area_id", keep="last")
    owner = pd.Series(last["neighbourhood_id"].to_numpy(dtype=object), index=last["area_id"].to_numpy(dtype=object))
    theirs = owner.reindex(neighbourhoods).to_numpy(dtype=object)
    looping = (neighbourhoods != area_ids) & ~pd.isna(theirs) & (theirs != neighbourhoods)
    if not looping.any():
        return []
    own = dict(zip(kept["area_id"], kept["neighbourhood_id"], strict=True))
    row_of = dict(zip(kept["area_id"], kept["_row"], strict=True))
    problems = []
    for i in np.flatnonzero(looping):
        area_id, neighbourhood, row = area_ids[i], neighbourhoods[i], kept["_row"].iloc[i]
        problems.append(
            Problem(
                file,
                f"area '{area_id}' is put in neighbourhood '{neighbourhood}', which is itself an area of the lookup "
                f"(row {row_of[neighbourhood]}, in neighbourhood '{own[neighbourhood]}'), so the lookup goes round "
                "in a loop; is a column shifted, or an area id typed as a neighbourhood id?",
                row=int(row),
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _harmonise_names(kept: pd.DataFrame, file: str, columns: Mapping[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    """One name per neighbourhood and borough id (the first given), reporting others."""
    kept = kept.copy()
    problems = []
    for level in ("neighbourhood", "borough"):
        id_name, name_name = f"{level}_id", f"{level}_name"
        first = kept.drop_duplicates(id_name).set_index(id_name)[name_name]
        wanted = kept[id_name].map(first)
        differs = kept[name_name].to_numpy() != wanted.to_numpy()
        for (_, row), name in zip(kept[differs].iterrows(), wanted[differs], strict=True):
            problems.append(
                Problem(
                    file,
                    f"{level} '{row[id_name]}' is named '{name}' on an earlier row; that name is used here too",
                    row=int(row["_row"]),
                    column=columns[name_name],
                    value=str(row[name_name]),
                    fatal=False,
                )
            )
        kept[name_name] = wanted.to_numpy()
    return kept, problems


def _assign_unassigned(
    kept: pd.DataFrame, area_ids: Sequence[str], file: str
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    by_area = kept.set_index("area_id")
    ordered = by_area.reindex(list(area_ids))
    missing = ordered["neighbourhood_id"].isna().to_numpy()
    problems = [
        Problem(
            file,
            f"area '{area_id}' has no usable row in the lookup; it is assigned to neighbourhood and "
            f"borough '{UNASSIGNED_ID}' ({UNASSIGNED_NAME})",
            column="area_id",
            value=str(area_id),
            fatal=False,
        )
        for area_id in np.asarray(area_ids, dtype=object)[missing]
    ]
    groups = {"area_id": np.asarray(area_ids, dtype=object)}
    for level in ("neighbourhood", "borough"):
        groups[f"{level}_id"] = np.where(missing, UNASSIGNED_ID, ordered[f"{level}_id"].to_numpy(dtype=object))
        groups[f"{level}_name"] = np.where(missing, UNASSIGNED_NAME, ordered[f"{level}_name"].to_numpy(dtype=object))
    return groups, problems


#: Keys of ``lookup_levels``.
LOOKUP_LEVELS = ("area", "neighbourhood", "borough")


def _lookup_levels(
    levels: Mapping[str, str | Sequence[str | None]] | None, file: str
) -> tuple[dict[str, tuple[str, str | None]], list[Problem]]:
    """``{"borough": "lad22cd:lad22nm"}`` -> ``{"borough": ("lad22cd", "lad22nm")}``."""
    parsed: dict[str, tuple[str, str | None]] = {}
    problems: list[Problem] = []
    for level, spec in (levels or {}).items():
        if level not in LOOKUP_LEVELS:
            problems.append(
                Problem(file, f"unknown lookup level '{level}'; use {', '.join(LOOKUP_LEVELS)}", value=str(level))
            )
            continue
        if spec is None:
            continue
        if isinstance(spec, str):
            code, _, name = spec.partition(":")
        else:
            items = list(spec)
            code, name = (items[0] if items else "") or "", (items[1] if len(items) > 1 else "") or ""
        code, name = str(code).strip(), str(name).strip()
        if not code:
            problems.append(
                Problem(file, f"the {level} column is blank; give CODECOL or CODECOL:NAMECOL", value=str(spec))
            )
            continue
        parsed[level] = (code, name or None)
    return parsed, problems


def _is_ons_lookup(raw: pd.DataFrame) -> bool:
    """No ``area_id`` column, but ONS ``*cd`` code columns: load it by levels."""
    if _named_column(raw, "area_id") is not None:
        return False
    return any(_ONS_CODE.fullmatch(str(column).strip().lower()) for column in _data_columns(raw))


def _lookup_area_column(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    area_ids: Sequence[str] | None,
    given: tuple[str, str | None] | None,
) -> tuple[str | None, list[Problem]]:
    if given is not None:
        found, problems = _given_columns(raw, file, (given[0], None), "the lookup's area column (--lookup-area-col)")
        return (found[0] if found else None), problems
    codes = [column for column in texts if _ONS_CODE.fullmatch(str(column).strip().lower())]
    if area_ids is None:
        # The areas are unusable, so nothing to match: check the file by its finest code column.
        named = _named_column(raw, "area_id")
        if named is not None or codes:
            return named or max(codes, key=lambda column: len(set(texts[column]))), []
        return None, [Problem(file, "cannot find the lookup's area column; name it with --lookup-area-col")]
    column, _ = _best_matching_column(texts, texts, set(area_ids))
    if column is not None:
        return column, []
    examples = ", ".join(f"{name} '{_first_value(texts[name])}'" for name in (codes or list(texts))[:6])
    sample = f" such as '{area_ids[0]}'" if len(area_ids) else ""
    return None, [
        Problem(
            file,
            f"none of the lookup's columns holds the areas' ids{sample}; its columns hold e.g. {examples}. "
            "Are the lookup and the areas for the same geography and year (LSOA 2011 and 2021 codes differ)? "
            "Name the column with --lookup-area-col (lookup_levels={'area': ...} in Python)",
        )
    ]


def _lookup_borough_columns(
    raw: pd.DataFrame, file: str, texts: Mapping[str, np.ndarray], given: tuple[str, str | None] | None
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    if given is not None:
        return _given_columns(raw, file, given, "the borough column (--borough-col)")
    named = _named_column(raw, "borough_id")
    if named is not None:
        return (named, _named_column(raw, "borough_name")), []
    lad = [column for column in texts if _LAD_CODE.fullmatch(str(column).strip().lower())]
    if lad:
        return (lad[0], _name_column_for(raw, lad[0])), []
    return None, [
        Problem(
            file,
            "cannot find the borough column of the lookup: expected 'borough_id' or a local-authority code "
            "column such as 'lad22cd'; name it with --borough-col CODECOL[:NAMECOL] "
            "(lookup_levels={'borough': 'CODECOL:NAMECOL'} in Python)",
            column="borough_id",
        )
    ]


def _lookup_neighbourhood_columns(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    given: tuple[str, str | None] | None,
    *,
    area_column: str,
    borough_column: str | None,
) -> tuple[tuple[str, str | None] | None, list[Problem]]:
    """The named columns, ``neighbourhood_id``, or the next coarser geography than the areas."""
    if given is not None:
        return _given_columns(raw, file, given, "the neighbourhood column (--neighbourhood-col)")
    named = _named_column(raw, "neighbourhood_id")
    if named is not None:
        return (named, _named_column(raw, "neighbourhood_name")), []
    area = texts[area_column]
    coarser: list[tuple[bool, int, str]] = []
    for column in texts:
        if column in (area_column, borough_column) or not _ONS_CODE.fullmatch(str(column).strip().lower()):
            continue
        pairs = pd.DataFrame({"area": area, "group": texts[column]})
        pairs = pairs[(pairs["area"] != "") & (pairs["group"] != "")].drop_duplicates()
        # A coarser geography has fewer codes than there are areas (output areas have
        # more). One that gives each area a single code is preferred; if the best one
        # does not, its conflicting areas are reported.
        groups = pairs["group"].nunique()
        if groups and groups < pairs["area"].nunique():
            coarser.append((not pairs["area"].duplicated().any(), groups, column))
    if coarser:
        column = max(coarser)[2]
        return (column, _name_column_for(raw, column)), []
    return None, [
        Problem(
            file,
            f"cannot find a neighbourhood column: no code column of the lookup groups the areas ('{area_column}') "
            "into fewer, larger units (such as 'msoa21cd' or 'wd22cd'). Name it with --neighbourhood-col "
            f"CODECOL[:NAMECOL] (--neighbourhood-col {area_column} makes each area its own neighbourhood), "
            "or give --groups FILE",
            column="neighbourhood_id",
        )
    ]


def _load_level_lookup(
    raw: pd.DataFrame,
    file: str,
    area_ids: Sequence[str] | None,
    levels: Mapping[str, tuple[str, str | None]],
    groups: str | Path | None,
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[Problem], int]:
    """An ONS-style lookup (levels picked from its columns), optionally with a groups file."""
    if raw.empty:
        return _lookup_frame({}), [*problems, _no_rows(file)], 0
    texts = {str(column): _texts(raw, column) for column in _data_columns(raw)}
    columns, group_rows = _level_columns(raw, file, texts, area_ids, levels, groups, problems)
    if columns is None:
        return _lookup_frame({}), problems, group_rows
    kept = _kept_level_rows(raw, file, texts, area_ids, columns, problems)
    neighbourhood = columns.neighbourhood
    if neighbourhood is not None:
        kept, found = _first_names(kept, "neighbourhood", file, neighbourhood[1] or neighbourhood[0])
        problems += found
    kept, found = _first_names(kept, "borough", file, columns.borough[1] or columns.borough[0])
    problems += found

    unique = kept.drop_duplicates(["area_id", "neighbourhood_id", "borough_id"])
    problems += _area_conflicts(kept, unique, file, columns.area)
    per_area = unique.drop_duplicates("area_id")
    if neighbourhood is not None:
        problems += _split_neighbourhoods(per_area, file, neighbourhood[0], group_rows=False)
    elif columns.groups is not None:
        problems += _split_neighbourhoods(per_area, columns.groups.file, columns.groups.id_column, group_rows=True)
    if kept.empty:
        problems.append(_all_rejected(file))
    if area_ids is None:
        return _lookup_frame({name: list(per_area[name]) for name in LOOKUP_COLUMNS}), _sorted(problems), group_rows
    assigned, missing = _assign_unassigned(per_area, area_ids, file)
    problems += [dataclasses.replace(problem, column=columns.area) for problem in missing]
    return _lookup_frame(assigned), _sorted(problems), group_rows


@dataclasses.dataclass(frozen=True)
class _LevelColumns:
    """The columns of an ONS-style lookup each level is read from."""

    area: str
    borough: tuple[str, str | None]  # code column, name column
    neighbourhood: tuple[str, str | None] | None  # None: the groups file gives the neighbourhoods
    groups: _Groups | None


def _level_columns(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    area_ids: Sequence[str] | None,
    levels: Mapping[str, tuple[str, str | None]],
    groups: str | Path | None,
    problems: list[Problem],
) -> tuple[_LevelColumns | None, int]:
    """The lookup's level columns and the groups file (None when either is unusable), and the groups' rows."""
    area_column, found = _lookup_area_column(raw, file, texts, area_ids, levels.get("area"))
    problems += found
    borough, found = _lookup_borough_columns(raw, file, texts, levels.get("borough"))
    problems += found
    neighbourhood: tuple[str, str | None] | None = None
    if area_column is not None and groups is None:
        neighbourhood, found = _lookup_neighbourhood_columns(
            raw, file, texts, levels.get("neighbourhood"), area_column=area_column,
            borough_column=borough[0] if borough else None,
        )  # fmt: skip
        problems += found
    unusable = _has_fatal(problems) or area_column is None or borough is None
    group_set: _Groups | None = None
    group_rows = 0
    if groups is not None:
        # The groups file is checked even when the lookup is unusable, so both are fixed in one go.
        group_set, found, group_rows = _load_groups(groups, levels.get("neighbourhood"), texts)
        problems += found
        unusable = unusable or group_set is None
    if unusable:
        return None, group_rows
    assert area_column is not None and borough is not None
    return _LevelColumns(area_column, borough, neighbourhood, group_set), group_rows


def _kept_level_rows(
    raw: pd.DataFrame,
    file: str,
    texts: Mapping[str, np.ndarray],
    area_ids: Sequence[str] | None,
    columns: _LevelColumns,
    problems: list[Problem],
) -> pd.DataFrame:
    """The lookup's rows as area, neighbourhood and borough, less the rejected and ignored ones."""
    rows = raw["_source_row"].to_numpy()
    checker = _RowChecker(file, rows)
    area = texts[columns.area]
    borough_id = texts[columns.borough[0]]
    borough_name = texts[columns.borough[1]] if columns.borough[1] is not None else borough_id
    checker.reject(area == "", "the area code is blank", columns.area)
    checker.reject(borough_id == "", "the borough code is blank", columns.borough[0])
    ignored = np.zeros(len(raw), dtype=bool)
    if area_ids is not None:
        unknown = ~_isin(area, area_ids) & ~checker.rejected
        problems += _per_value_problems(
            area, rows, unknown, file, columns.area,
            each="this area is not in the areas file; ignored",
            summary="{count:,} areas in column '{column}' are not in the areas file (e.g. {examples}); "
            "their {rows:,} rows are ignored",
        )  # fmt: skip
        ignored |= unknown
    if columns.groups is None:
        assert columns.neighbourhood is not None
        neighbourhood_id = texts[columns.neighbourhood[0]]
        neighbourhood_name = (
            texts[columns.neighbourhood[1]] if columns.neighbourhood[1] is not None else neighbourhood_id
        )
        checker.reject(neighbourhood_id == "", "the neighbourhood code is blank", columns.neighbourhood[0])
        group_row = np.zeros(len(raw), dtype="int64")
    else:
        neighbourhood_id, neighbourhood_name, group_row, ungrouped = _grouped_neighbourhoods(
            texts, rows, file, columns.groups, checker, ignored, problems
        )
        ignored |= ungrouped
    neighbourhood_name = np.where(neighbourhood_name == "", neighbourhood_id, neighbourhood_name)
    borough_name = np.where(borough_name == "", borough_id, borough_name)
    keep = ~checker.rejected & ~ignored
    kept = pd.DataFrame(
        {
            "area_id": area[keep], "neighbourhood_id": neighbourhood_id[keep],
            "neighbourhood_name": neighbourhood_name[keep], "borough_id": borough_id[keep],
            "borough_name": borough_name[keep], "_row": rows[keep], "_group_row": group_row[keep],
        }
    )  # fmt: skip
    problems += checker.problems
    return kept


def _grouped_neighbourhoods(
    texts: Mapping[str, np.ndarray],
    rows: np.ndarray,
    file: str,
    group_set: _Groups,
    checker: _RowChecker,
    ignored: np.ndarray,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each lookup row's neighbourhood id, name and groups-file row, and which rows no group takes."""
    key = texts[group_set.lookup_column]
    checker.reject(key == "", f"the {group_set.lookup_column} code is blank", group_set.lookup_column)
    matched = group_set.table.reindex(pd.Index(key, dtype=object))
    neighbourhood_id = matched["neighbourhood_id"].fillna("").to_numpy(dtype=object)
    neighbourhood_name = matched["neighbourhood_name"].fillna("").to_numpy(dtype=object)
    group_row = matched["_row"].fillna(0).to_numpy(dtype="int64")
    ungrouped = (neighbourhood_id == "") & ~checker.rejected & ~ignored
    problems += _per_value_problems(
        key, rows, ungrouped, group_set.file, group_set.key_column,
        each=f"this {group_set.lookup_column} code of the lookup ({file}) has no neighbourhood in the "
        f"groups file; its lookup rows are ignored, and areas left without a neighbourhood are assigned "
        f"to '{UNASSIGNED_ID}'",
        summary=f"{{count:,}} {group_set.lookup_column} codes of the lookup ({file}) have no neighbourhood "
        f"in the groups file (e.g. {{examples}}); their {{rows:,}} lookup rows are ignored, and areas left "
        f"without a neighbourhood are assigned to '{UNASSIGNED_ID}'",
        row_numbers=False,
    )  # fmt: skip
    return neighbourhood_id, neighbourhood_name, group_row, ungrouped


def _area_conflicts(kept: pd.DataFrame, unique: pd.DataFrame, file: str, column: str) -> list[Problem]:
    """Fatal: an area whose rows put it in two neighbourhoods (or boroughs)."""
    conflicting = unique.loc[unique["area_id"].duplicated(keep=False), "area_id"].unique()
    if not len(conflicting):
        return []
    rows_of = (
        kept[kept["area_id"].isin(set(conflicting))]
        .groupby(["area_id", "neighbourhood_id", "borough_id"], sort=False)["_row"]
        .apply(list)
    )
    problems = []
    for area_id in conflicting[:_MAX_LISTED]:
        groups = rows_of.loc[area_id]
        listing = "; ".join(f"neighbourhood '{n}', borough '{b}' ({_rows_text(r)})" for (n, b), r in groups.items())
        problems.append(
            Problem(
                file,
                f"area '{area_id}' is in more than one group ({listing}); an area must be in exactly one "
                "neighbourhood and borough",
                row=int(groups.iloc[1][0]),
                column=column,
                value=str(area_id),
            )
        )
    if len(conflicting) > _MAX_LISTED:
        problems.append(
            Problem(
                file,
                f"... and {len(conflicting) - _MAX_LISTED:,} more areas in more than one group "
                f"({len(conflicting):,} in all): is the neighbourhood column finer than the areas?",
                column=column,
            )
        )
    return problems


def _split_neighbourhoods(per_area: pd.DataFrame, file: str, column: str, *, group_rows: bool) -> list[Problem]:
    """Fatal: a neighbourhood whose areas lie in more than one borough."""
    boroughs = per_area.groupby("neighbourhood_id", sort=False)["borough_id"].nunique()
    problems = []
    for neighbourhood in boroughs.index[boroughs > 1]:
        members = per_area[per_area["neighbourhood_id"] == neighbourhood]
        by_borough = members.groupby("borough_id", sort=False)
        listing = ", ".join(
            f"'{borough}' (area{'s' if len(group) > 1 else ''} {_examples_text(list(group['area_id']))})"
            for borough, group in by_borough
        )
        second = members[members["borough_id"] != members["borough_id"].iloc[0]]
        row = int(members["_group_row"].iloc[0]) if group_rows else int(second["_row"].iloc[0])
        problems.append(
            Problem(
                file,
                f"neighbourhood '{neighbourhood}' is in {boroughs[neighbourhood]} boroughs: {listing}; "
                "a neighbourhood must sit inside one borough",
                row=row or None,
                column=column,
                value=str(neighbourhood),
            )
        )
    return problems


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _examples_text(values: Sequence[str]) -> str:
    shown = ", ".join(str(value) for value in values[:3])
    return shown + (f" and {len(values) - 3} more" if len(values) > 3 else "")
