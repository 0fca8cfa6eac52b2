"""Census-style population tables -> ``area_id, population, pop_<community>`` columns.

Published census tables count people by age band, ethnic group and so on. A TOML file
(:data:`DEFAULT_CENSUS_MAPPING`, documented in ``docs/census.md``) says how those counts
add up to the population columns coverage-map needs: ``pop_older_people`` as the people aged
65 and over, ``pop_bame`` as everyone outside the White British, White Irish and Other White
groups, ``population`` from a total column, and so on. Each file holds one or more named
table layouts::

    [tables.census2021_age]
    layout = "wide"                  # one column per band or group
    area_column = "lsoa21_code"
    population = "total_usual_residents"

    [tables.census2021_age.communities]
    older_people = "aged_65_plus"    # a column, a list of columns (summed) or
                                     # { sum = [...], minus = [...] }

    [tables.ethnic_group_long]
    layout = "long"                  # one row per area and group
    area_column = "area_code"
    group_column = "ethnic_group"
    value_column = "value"
    population = { sum = "*" }       # "*" = every group in the table
    where = { MEASURES_NAME = "Value" }  # optional: keep only these rows

    [tables.ethnic_group_long.indicators]
    ethnic_asian = "Asian ..."       # optional: more counts, written as columns
                                     # of that name (e.g. for need recipes)

Errors (a configured column or group missing, a value that is not a number) are gathered
and raised once as a :class:`~coverage_map.errors.ValidationError` naming file, row and
column.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import PACKAGE_DIR
from ..errors import CoverageMapError, Problem, ValidationError
from ..taxonomy import Taxonomy, normalise_label
from .readers import read_any

#: The shipped, documented census layouts (Census 2021 age bands, 2011 and 2021 ethnicity...).
DEFAULT_CENSUS_MAPPING = PACKAGE_DIR / "census_mapping.toml"
LAYOUTS = ("wide", "long")
ALL_GROUPS = "*"
#: Indicator names: lower-case words joined by ``_``, never a column the population file reserves.
_INDICATOR_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RESERVED_PREFIXES = ("pop_", "need_")
_RESERVED_NAMES = ("area_id", "population")

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
#: Problems listed per column before the rest are summarised, to keep messages readable.
_MAX_PER_COLUMN = 20


@dataclass(frozen=True)
class Expression:
    """Columns (wide) or groups (long) to add, minus those to subtract."""

    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    all_groups: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every column or group named."""
        return (*self.plus, *self.minus)

    def __str__(self) -> str:
        text = " + ".join(self.plus) if not self.all_groups else "every group"
        return text + "".join(f" - {name}" for name in self.minus)


@dataclass(frozen=True)
class CensusTable:
    """How one census table layout maps onto population columns."""

    name: str
    layout: str
    population: Expression
    communities: Mapping[str, Expression] = field(default_factory=dict)
    area_column: str | None = None
    group_column: str | None = None
    value_column: str | None = None
    description: str = ""
    #: Further counts written as columns of these names (``health_bad_or_very_bad``...).
    indicators: Mapping[str, Expression] = field(default_factory=dict)
    #: Only rows whose column holds the value are read (e.g. Nomis ``MEASURES_NAME = "Value"``).
    where: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- config


def census_tables(path: str | Path | None = None, *, taxonomy: Taxonomy | None = None) -> dict[str, CensusTable]:
    """Every table layout in a census mapping file (the shipped one when ``path`` is None).

    Raises
    ------
    CoverageMapError
        The file cannot be read or is not TOML.
    ValidationError
        Listing every bad entry (unknown layout or community, missing keys...).
    """
    path = Path(path) if path is not None else DEFAULT_CENSUS_MAPPING
    file = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CoverageMapError(f"{file}: cannot read the census mapping file: {exc}") from exc
    taxonomy = taxonomy or Taxonomy.builtin()
    tables = document.get("tables")
    if not isinstance(tables, Mapping) or not tables:
        raise CoverageMapError(f"{file}: no [tables.<name>] section; see docs/census.md")
    problems: list[Problem] = []
    result: dict[str, CensusTable] = {}
    for name, entry in tables.items():
        if not isinstance(entry, Mapping):
            problems.append(Problem(file, "must be a table", column=f"[tables.{name}]"))
            continue
        table = _table_from_toml(str(name), entry, taxonomy, file, problems)
        if table is not None:
            result[str(name)] = table
    if problems:
        raise ValidationError(problems)
    return result


def census_table(
    name: str | None = None, path: str | Path | None = None, *, taxonomy: Taxonomy | None = None
) -> CensusTable:
    """One table layout from a census mapping file; ``name`` may be omitted when it holds one."""
    tables = census_tables(path, taxonomy=taxonomy)
    where = str(path) if path is not None else str(DEFAULT_CENSUS_MAPPING)
    if name is None:
        if len(tables) == 1:
            return next(iter(tables.values()))
        raise CoverageMapError(f"{where} describes {len(tables)} tables; choose one of {', '.join(tables)}")
    if name not in tables:
        raise CoverageMapError(f"{where} has no table '{name}'; choose one of {', '.join(tables)}")
    return tables[name]


def _table_from_toml(
    name: str, entry: Mapping[str, object], taxonomy: Taxonomy, file: str, problems: list[Problem]
) -> CensusTable | None:
    where = f"[tables.{name}]"
    count = len(problems)
    known = {
        "layout",
        "description",
        "area_column",
        "group_column",
        "value_column",
        "population",
        "communities",
        "indicators",
        "where",
    }
    problems += [Problem(file, "unknown key", column=f"{where} {key}") for key in sorted(set(entry) - known)]
    layout = entry.get("layout", "wide")
    if layout not in LAYOUTS:
        problems.append(
            Problem(file, f"layout must be one of {', '.join(LAYOUTS)}", column=f"{where} layout", value=str(layout))
        )
    columns: dict[str, str | None] = {}
    for key in ("area_column", "group_column", "value_column", "description"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(file, "must be text", column=f"{where} {key}", value=repr(value)))
            value = None
        columns[key] = value
    if layout == "long":
        for key in ("group_column", "value_column"):
            if not columns[key]:
                problems.append(Problem(file, "a long table needs it", column=f"{where} {key}"))
    population = _expression(entry.get("population"), f"{where} population", str(layout), file, problems)
    communities: dict[str, Expression] = {}
    raw = entry.get("communities", {})
    if not isinstance(raw, Mapping):
        problems.append(Problem(file, "must be a table of community = expression", column=f"{where}.communities"))
        raw = {}
    for label, value in raw.items():
        canonical = taxonomy.communities.resolve(str(label))
        if canonical is None:
            problems.append(
                Problem(
                    file,
                    taxonomy.communities.unknown_message(str(label)),
                    column=f"{where}.communities",
                    value=str(label),
                )
            )
            continue
        expression = _expression(value, f"{where}.communities {label}", str(layout), file, problems)
        if expression is not None:
            communities[canonical] = expression
    indicators = _indicators(entry.get("indicators", {}), where, str(layout), file, problems)
    rows = _where(entry.get("where", {}), where, file, problems)
    if len(problems) > count or population is None:
        return None
    return CensusTable(
        name=name,
        layout=str(layout),
        population=population,
        communities=communities,
        area_column=columns["area_column"],
        group_column=columns["group_column"],
        value_column=columns["value_column"],
        description=columns["description"] or "",
        indicators=indicators,
        where=rows,
    )


def _indicators(raw: object, where: str, layout: str, file: str, problems: list[Problem]) -> dict[str, Expression]:
    if not isinstance(raw, Mapping):
        problems.append(Problem(file, "must be a table of name = expression", column=f"{where}.indicators"))
        return {}
    indicators: dict[str, Expression] = {}
    for name, value in raw.items():
        label = str(name)
        if not _INDICATOR_NAME.fullmatch(label) or label in _RESERVED_NAMES or label.startswith(_RESERVED_PREFIXES):
            problems.append(
                Problem(
                    file,
                    "an indicator name must be lower-case letters, digits and _, and not area_id, "
                    "population or a pop_/need_ column (those are communities and needs)",
                    column=f"{where}.indicators",
                    value=label,
                )
            )
            continue
        expression = _expression(value, f"{where}.indicators {label}", layout, file, problems)
        if expression is not None:
            indicators[label] = expression
    return indicators


def _where(raw: object, where: str, file: str, problems: list[Problem]) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        problems.append(Problem(file, 'must be { column = "value", ... }', column=f"{where} where", value=repr(raw)))
        return {}
    return {str(column): str(value) for column, value in raw.items()}


def _expression(value: object, where: str, layout: str, file: str, problems: list[Problem]) -> Expression | None:
    if value is None:
        problems.append(Problem(file, "is required", column=where))
        return None
    minus: object = []
    if isinstance(value, Mapping):
        unknown = set(value) - {"sum", "minus"}
        if unknown or "sum" not in value:
            problems.append(Problem(file, "must be { sum = [...], minus = [...] }", column=where, value=repr(value)))
            return None
        plus, minus = value["sum"], value.get("minus", [])
    else:
        plus = value
    names: list[tuple[str, ...]] = []
    for part in (plus, minus):
        items = [part] if isinstance(part, str) else part
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            problems.append(
                Problem(
                    file,
                    "must be a column name, a list of them, or { sum = [...], minus = [...] }",
                    column=where,
                    value=repr(value),
                )
            )
            return None
        names.append(tuple(item.strip() for item in items))
    all_groups = names[0] == (ALL_GROUPS,)
    if all_groups and layout != "long":
        problems.append(
            Problem(
                file,
                f'sum = "{ALL_GROUPS}" (every group) only works for a long table; list the columns of a wide one',
                column=where,
            )
        )
        return None
    if not all_groups and (ALL_GROUPS in names[0] or ALL_GROUPS in names[1] or not names[0]):
        problems.append(Problem(file, f'"{ALL_GROUPS}" must be the only item of sum', column=where))
        return None
    return Expression(plus=() if all_groups else names[0], minus=names[1], all_groups=all_groups)


# --------------------------------------------------------------------------- detection


def matching_table(table: pd.DataFrame, tables: Mapping[str, CensusTable] | None = None) -> CensusTable | None:
    """The first census table layout ``table`` has every column (and, when long, every group) of.

    ``tables`` defaults to every layout of the shipped mapping (:data:`DEFAULT_CENSUS_MAPPING`),
    so a layout added there is recognised with no other change. A wide layout needs its area
    column and every column its counts name; a long one its area, group and value columns and
    every group its counts name (matched ignoring case, spaces, ``-`` and ``_``).
    """
    layouts = census_tables() if tables is None else tables
    columns = set(map(str, table.columns))
    for config in layouts.values():
        if not config.area_column or config.area_column not in columns:
            continue
        names = {name for e in (config.population, *config.communities.values()) for name in e.names}
        if config.layout == "wide" and names <= columns:
            return config
        if config.layout == "long" and {str(config.group_column), str(config.value_column)} <= columns:
            groups = set(table[str(config.group_column)].astype("str").str.strip().map(normalise_label))
            if {normalise_label(name) for name in names} <= groups:
                return config
    return None


def table_summary(config: CensusTable) -> str:
    """What a table layout counts, in a line: ``population = total_usual_residents; pop_older_people = aged_65_plus``."""
    parts = [f"population = {config.population}"]
    parts += [f"pop_{label} = {expression}" for label, expression in config.communities.items()]
    return "; ".join(parts)


# --------------------------------------------------------------------------- mapping


def read_population(path: str | Path, config: CensusTable, *, area_col: str | None = None) -> pd.DataFrame:
    """Read a census table file (CSV or any format :func:`~coverage_map.ingest.readers.read_any` reads) and map it."""
    frame, problems = read_any(path)
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ValidationError(fatal)
    return map_population(frame, config, area_col=area_col, file=str(path))


def map_population(
    table: pd.DataFrame, config: CensusTable, *, area_col: str | None = None, file: str = "census table"
) -> pd.DataFrame:
    """Map a census table onto ``area_id, population, pop_<community>...``.

    Parameters
    ----------
    table
        The census table, wide (one column per band or group) or long (area, group,
        value rows), as ``config.layout`` says. Values may be numbers or text (thousands
        separators such as ``"1,296"`` are accepted).
    config
        The table layout (:func:`census_table`).
    area_col
        The column holding the area code; ``config.area_column`` when None.
    file
        Name used in problem messages.

    Returns
    -------
    pandas.DataFrame
        One row per area, in first-seen order: ``area_id`` (str), ``population`` and one
        float ``pop_<community>`` column per configured community.

    Raises
    ------
    ValidationError
        Listing every problem: missing columns or groups, values that are not
        non-negative numbers, duplicate areas, negative results.
    """
    area_column = area_col or config.area_column
    if not area_column:
        raise CoverageMapError(
            f"{file}: say which column holds the area code (area_col=..., or area_column in [tables.{config.name}])"
        )
    rows = _spreadsheet_rows(table)
    table, rows = _filtered(table, rows, config, file)
    if config.layout == "long":
        counts, areas, problems = _long_counts(table, config, area_column, rows, file)
    else:
        counts, areas, problems = _wide_counts(table, config, area_column, rows, file)
    if problems:
        raise ValidationError(problems)
    result = pd.DataFrame({"area_id": pd.array(areas, dtype="str")})
    outputs = {
        "population": config.population,
        **{f"pop_{label}": e for label, e in config.communities.items()},
        **config.indicators,
    }
    for column, expression in outputs.items():
        values = _evaluate(expression, counts)
        negative = np.flatnonzero(values < 0)
        problems += [
            Problem(
                file,
                f"{column} = {expression} is negative ({values[i]:g}) for area '{areas[i]}'",
                column=column,
                value=str(areas[i]),
            )
            for i in negative[:_MAX_PER_COLUMN]
        ]
        result[column] = values
    if problems:
        raise ValidationError(problems)
    return result


def _filtered(table: pd.DataFrame, rows: np.ndarray, config: CensusTable, file: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows ``config.where`` keeps (values compared as trimmed text); a missing column is an error."""
    if not config.where:
        return table, rows
    missing = [column for column in config.where if column not in table.columns]
    if missing:
        raise ValidationError(
            [
                Problem(
                    file,
                    f"the column named in where is missing (columns: {_columns(table)}); "
                    "remove it from where if your download has no such column",
                    row=1,
                    column=column,
                )
                for column in missing
            ]
        )
    keep = np.ones(len(table), dtype=bool)
    for column, value in config.where.items():
        keep &= (table[column].astype("str").str.strip() == value.strip()).to_numpy()
    if not keep.any():
        raise ValidationError(
            [Problem(file, f"no row has {' and '.join(f'{c} = {v!r}' for c, v in config.where.items())}")]
        )
    return table.loc[keep], rows[keep]


def _evaluate(expression: Expression, counts: pd.DataFrame) -> np.ndarray:
    plus = counts.sum(axis=1) if expression.all_groups else counts.loc[:, list(expression.plus)].sum(axis=1)
    minus = counts.loc[:, list(expression.minus)].sum(axis=1)
    return (plus - minus).to_numpy(dtype="float64")


def _spreadsheet_rows(table: pd.DataFrame) -> np.ndarray:
    if "_source_row" in table.columns:
        return table["_source_row"].to_numpy(dtype="int64")
    return np.arange(2, len(table) + 2, dtype="int64")  # header is row 1


def _area_ids(table: pd.DataFrame, area_column: str, rows: np.ndarray, file: str, problems: list[Problem]) -> pd.Series:
    if area_column not in table.columns:
        problems.append(
            Problem(file, f"the area column is missing (columns: {_columns(table)})", row=1, column=area_column)
        )
        return pd.Series([], dtype="str")
    ids = table[area_column].astype("str").str.strip()
    blank = (table[area_column].isna() | ids.eq("")).to_numpy()
    problems += [
        Problem(file, "the area code is blank", row=int(row), column=area_column)
        for row in rows[blank][:_MAX_PER_COLUMN]
    ]
    return ids


def _wide_counts(
    table: pd.DataFrame, config: CensusTable, area_column: str, rows: np.ndarray, file: str
) -> tuple[pd.DataFrame, list[str], list[Problem]]:
    problems: list[Problem] = []
    ids = _area_ids(table, area_column, rows, file, problems)
    needed = list(
        dict.fromkeys(
            name
            for expression in (config.population, *config.communities.values(), *config.indicators.values())
            for name in expression.names
        )
    )
    missing = [name for name in needed if name not in table.columns]
    problems += [
        Problem(file, f"configured column is missing (columns: {_columns(table)})", row=1, column=name)
        for name in missing
    ]
    if problems:
        return pd.DataFrame(), [], problems
    duplicated = ids.duplicated(keep="first").to_numpy()
    problems += [
        Problem(file, "the area appears more than once", row=int(row), column=area_column, value=str(value))
        for row, value in zip(rows[duplicated][:_MAX_PER_COLUMN], ids[duplicated][:_MAX_PER_COLUMN], strict=True)
    ]
    counts = pd.DataFrame(
        {name: _numbers(table[name], name, rows, file, problems) for name in needed}, index=table.index
    )
    return counts.reset_index(drop=True), ids.tolist(), problems


def _long_counts(
    table: pd.DataFrame, config: CensusTable, area_column: str, rows: np.ndarray, file: str
) -> tuple[pd.DataFrame, list[str], list[Problem]]:
    problems: list[Problem] = []
    group_column, value_column = str(config.group_column), str(config.value_column)
    ids = _area_ids(table, area_column, rows, file, problems)
    for column in (group_column, value_column):
        if column not in table.columns:
            problems.append(
                Problem(file, f"configured column is missing (columns: {_columns(table)})", row=1, column=column)
            )
    if problems:
        return pd.DataFrame(), [], problems
    groups = table[group_column].astype("str").str.strip()
    keys = groups.map(normalise_label)
    expressions = (config.population, *config.communities.values(), *config.indicators.values())
    every = any(expression.all_groups for expression in expressions)
    wanted = {normalise_label(name): name for e in expressions for name in e.names}
    present = set(keys)
    problems += [
        Problem(
            file,
            f"configured group is not in the table (groups: {_sample(groups.unique())})",
            column=group_column,
            value=name,
        )
        for key, name in wanted.items()
        if key not in present
    ]
    used = np.ones(len(table), dtype=bool) if every else keys.isin(list(wanted)).to_numpy()
    values = _numbers(table[value_column][used], value_column, rows[used], file, problems)
    long = pd.DataFrame(
        {"area": ids[used].to_numpy(), "group": keys[used].to_numpy(), "value": values.to_numpy(), "row": rows[used]}
    )
    duplicated = long.duplicated(["area", "group"], keep="first").to_numpy()
    problems += [
        Problem(
            file,
            f"area '{area}' has more than one row for group '{group}'",
            row=int(row),
            column=group_column,
            value=str(group),
        )
        for area, group, row in long.loc[duplicated, ["area", "group", "row"]]
        .head(_MAX_PER_COLUMN)
        .itertuples(index=False)
    ]
    if problems:
        return pd.DataFrame(), [], problems
    areas = list(dict.fromkeys(long["area"]))
    wide = long.pivot(index="area", columns="group", values="value").reindex(areas)
    absent = wide.loc[:, [key for key in wanted if key in wide.columns]].isna()
    for i, j in np.argwhere(absent.to_numpy())[:_MAX_PER_COLUMN]:
        area, key = absent.index[i], absent.columns[j]
        problems.append(
            Problem(file, f"area '{area}' has no row for group '{wanted[key]}'", column=group_column, value=wanted[key])
        )
    counts = wide.fillna(0.0) if every else wide
    counts = counts.rename(columns={key: name for key, name in wanted.items()})
    return counts.reset_index(drop=True), areas, problems


def _numbers(values: pd.Series, column: str, rows: np.ndarray, file: str, problems: list[Problem]) -> pd.Series:
    """Non-negative numbers; every other value is reported with its row."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.astype("float64")
        text = values.astype("str")
    else:
        text = values.astype("str").str.strip()
        grouped = text.str.fullmatch(_THOUSANDS.pattern).astype("boolean").fillna(False).astype(bool)
        cleaned = text.where(~grouped, text.str.replace(",", ""))
        numbers = pd.to_numeric(cleaned.astype("object"), errors="coerce").astype("float64")
    bad = (numbers.isna() | ~np.isfinite(numbers) | (numbers < 0)).to_numpy()
    blank = (values.isna() | text.eq("")).to_numpy()
    for index in np.flatnonzero(bad)[:_MAX_PER_COLUMN]:
        message = "the value is missing" if blank[index] else "not a non-negative number"
        problems.append(
            Problem(
                file,
                message,
                row=int(rows[index]),
                column=column,
                value=None if blank[index] else str(text.iloc[index]),
            )
        )
    if bad.sum() > _MAX_PER_COLUMN:
        problems.append(Problem(file, f"... and {int(bad.sum()) - _MAX_PER_COLUMN} more bad values", column=column))
    return numbers


def _columns(table: pd.DataFrame) -> str:
    return _sample([str(name) for name in table.columns if name != "_source_row"])


def _sample(names: object, limit: int = 12) -> str:
    items = [str(name) for name in names]  # type: ignore[attr-defined]
    return ", ".join(items[:limit]) + (f", ... ({len(items)} in all)" if len(items) > limit else "")
