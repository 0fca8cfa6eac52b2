"""Estimated need per area: ``need_<category>`` columns from a documented, editable TOML recipe.

The access method (:mod:`coverage_map.access`) measures provision against the people who need
it. A *recipe* says how to estimate them for one need category from tables a commissioner has:
census counts (``coverage-map census-population``), a prevalence, GP registers. The shipped
recipe (:data:`DEFAULT_NEED_RECIPE`, documented in ``docs/need.md``)::

    [need.dementia]
    source = "Alzheimer's Society, Dementia UK: update (2014)"
    year = "2014"
    method = "rate"                     # base column x rate
    base = "pop_older_people"
    rate = 0.071

Methods:

* ``column``: an existing column (``carers_support`` = ``pop_carers``, from Census TS039);
* ``rate``: ``base`` x ``rate`` (a number), or a sum of ``terms = [{ base, rate }, ...]`` (age
  bands), or ``base`` x a rate read from a table per area or per larger area (``rates``, with a
  ``lookup`` from area to, say, borough: borough-level QOF prevalence); optionally times a factor
  per deprivation decile (``by_decile``);
* ``registers``: practice-level registers (QOF) apportioned to areas by where each practice's
  patients live (NHS Digital's "patients registered at a GP practice by LSOA" file).

Every recipe names its ``source`` and ``year``; :func:`write_need` writes them, with the formula and
the total, beside the population file (``<name>.need.json``, read by :func:`read_need_metadata`),
and the report's methods section cites them.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .config import PACKAGE_DIR
from .errors import CoverageMapError, Problem, ValidationError
from .taxonomy import Taxonomy

#: The shipped recipe: dementia, mental health and carers from census columns and national rates.
DEFAULT_NEED_RECIPE = PACKAGE_DIR / "need_recipes.toml"
METHODS = ("column", "rate", "registers")
#: Suffix of the metadata file written beside a population file (``population.need.json``).
METADATA_SUFFIX = ".need.json"

_RECIPE_KEYS = {
    "column": {"column"},
    "rate": {"base", "rate", "terms", "rates", "by_decile"},
    "registers": {"registers", "patients"},
}
_COMMON_KEYS = {"method", "source", "year", "description"}
_TABLE_KEYS = {"file", "area_column", "value_column", "practice_column", "decile_column", "where", "percent"}
_TABLE_DEFAULTS = {
    "registers": {"practice_column": "PRACTICE_CODE", "value_column": "REGISTER"},
    "patients": {
        "practice_column": "PRACTICE_CODE",
        "area_column": "LSOA_CODE",
        "value_column": "NUMBER_OF_PATIENTS",
    },
}


@dataclass(frozen=True)
class TableSource:
    """A table a recipe reads: a file, the columns it uses and the rows it keeps."""

    file: Path
    columns: Mapping[str, str] = field(default_factory=dict)
    where: Mapping[str, str] = field(default_factory=dict)
    percent: bool = False


@dataclass(frozen=True)
class Recipe:
    """How one ``need_<category>`` column is estimated, and where the figures come from."""

    category: str
    method: str
    source: str
    year: str
    description: str = ""
    column: str | None = None
    terms: tuple[tuple[str, float], ...] = ()
    base: str | None = None
    rates: TableSource | None = None
    lookup: TableSource | None = None
    by_decile: TableSource | None = None
    factors: tuple[float, ...] = ()
    registers: TableSource | None = None
    patients: TableSource | None = None

    @property
    def formula(self) -> str:
        """The recipe in a few words, for the metadata, the command line and the report."""
        if self.method == "column":
            return f"{self.column}"
        if self.method == "registers":
            assert self.registers is not None
            return (
                f"practice registers ({self.registers.file.name}) shared out by where each practice's "
                "patients live" + (f" ({self.patients.file.name})" if self.patients else "")
            )
        if self.rates is not None:
            via = f" via {self.lookup.file.name}" if self.lookup else ""
            text = f"{self.base} × the rate in {self.rates.file.name}{via}"
        else:
            text = " + ".join(f"{base} × {rate:.4g}" for base, rate in self.terms)
        if self.by_decile is not None:
            text += f" × a factor per decile of {self.by_decile.columns.get('decile_column', 'decile')}"
        return text


@dataclass(frozen=True)
class NeedRecord:
    """What was written for one category: the metadata kept beside the population file."""

    category: str
    column: str
    method: str
    formula: str
    source: str
    year: str
    description: str
    total: float
    areas: int
    areas_unknown: int


# --------------------------------------------------------------------------- recipes


def need_recipes(path: str | Path | None = None, *, taxonomy: Taxonomy | None = None) -> dict[str, Recipe]:
    """Every recipe in a recipe file (the shipped one when ``path`` is None), by canonical category.

    Raises
    ------
    CoverageMapError
        The file cannot be read or has no ``[need.<category>]`` section.
    ValidationError
        Listing every bad entry: an unknown category or method, a missing source or year...
    """
    path = Path(path) if path is not None else DEFAULT_NEED_RECIPE
    file = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CoverageMapError(f"{file}: cannot read the need recipe file: {exc}") from exc
    sections = document.get("need")
    if not isinstance(sections, Mapping) or not sections:
        raise CoverageMapError(f"{file}: no [need.<category>] section; see docs/need.md")
    taxonomy = taxonomy or Taxonomy.builtin()
    problems: list[Problem] = []
    recipes: dict[str, Recipe] = {}
    for label, entry in sections.items():
        where = f"[need.{label}]"
        category = taxonomy.categories.resolve(str(label))
        if category is None:
            problems.append(Problem(file, taxonomy.categories.unknown_message(str(label)), column=where))
            continue
        if not isinstance(entry, Mapping):
            problems.append(Problem(file, "must be a table", column=where))
            continue
        recipe = _recipe(category, entry, where, path.parent, file, problems)
        if recipe is not None:
            recipes[category] = recipe
    if problems:
        raise ValidationError(problems)
    return recipes


def _recipe(
    category: str, entry: Mapping[str, object], where: str, folder: Path, file: str, problems: list[Problem]
) -> Recipe | None:
    count = len(problems)
    method = entry.get("method")
    if method not in METHODS:
        problems.append(
            Problem(file, f"method must be one of {', '.join(METHODS)}", column=f"{where} method", value=repr(method))
        )
        return None
    unknown = set(entry) - _COMMON_KEYS - _RECIPE_KEYS[str(method)]
    problems += [
        Problem(file, f"unknown key for method '{method}'", column=f"{where} {key}") for key in sorted(unknown)
    ]
    texts = {}
    for key in ("source", "year", "description"):
        value = entry.get(key, "")
        if isinstance(value, int) and key == "year":
            value = str(value)
        if not isinstance(value, str) or (key != "description" and not value.strip()):
            problems.append(
                Problem(file, "is required: say where the figures come from and their year", column=f"{where} {key}")
                if key != "description"
                else Problem(file, "must be text", column=f"{where} {key}")
            )
            value = ""
        texts[key] = value.strip()
    options: dict[str, object] = {}
    if method == "column":
        options["column"] = _text(entry.get("column"), f"{where} column", file, problems)
    elif method == "rate":
        options.update(_rate_options(entry, where, folder, file, problems))
    else:
        for key in ("registers", "patients"):
            options[key] = _table(entry.get(key), f"{where} {key}", folder, file, problems, _TABLE_DEFAULTS[key])
    if len(problems) > count:
        return None
    return Recipe(
        category=category,
        method=str(method),
        source=texts["source"],
        year=texts["year"],
        description=texts["description"],
        **options,  # type: ignore[arg-type]
    )


def _rate_options(
    entry: Mapping[str, object], where: str, folder: Path, file: str, problems: list[Problem]
) -> dict[str, object]:
    options: dict[str, object] = {}
    if "terms" in entry:
        raw = entry["terms"]
        terms = []
        if not isinstance(raw, list) or not raw:
            problems.append(Problem(file, "must be a list of { base = ..., rate = ... }", column=f"{where} terms"))
            raw = []
        for item in raw:
            if isinstance(item, Mapping) and set(item) == {"base", "rate"}:
                rate = _rate(item["rate"], f"{where} terms", file, problems)
                base = _text(item["base"], f"{where} terms base", file, problems)
                if rate is not None and base:
                    terms.append((base, rate))
            else:
                problems.append(
                    Problem(file, "each term is { base = ..., rate = ... }", column=f"{where} terms", value=repr(item))
                )
        options["terms"] = tuple(terms)
        if "base" in entry or "rate" in entry or "rates" in entry:
            problems.append(Problem(file, "give terms, or base with rate or rates, not both", column=where))
        return options
    options["base"] = _text(entry.get("base"), f"{where} base", file, problems)
    if "rates" in entry:
        if "rate" in entry:
            problems.append(Problem(file, "give rate (a number) or rates (a table), not both", column=where))
        rates = entry["rates"]
        lookup = rates.get("lookup") if isinstance(rates, Mapping) else None
        if isinstance(rates, Mapping):
            rates = {key: value for key, value in rates.items() if key != "lookup"}
        options["rates"] = _table(
            rates, f"{where} rates", folder, file, problems, {}, need=("area_column", "value_column")
        )
        if lookup is not None:
            options["lookup"] = _table(
                lookup, f"{where} rates.lookup", folder, file, problems, {}, need=("area_column", "value_column")
            )
    else:
        rate = _rate(entry.get("rate"), f"{where} rate", file, problems)
        if rate is not None and options["base"]:
            options["terms"] = ((str(options["base"]), rate),)
    if "by_decile" in entry:
        raw = entry["by_decile"]
        factors = raw.get("factors") if isinstance(raw, Mapping) else None
        if (
            not isinstance(factors, list)
            or len(factors) != 10
            or not all(isinstance(f, (int, float)) and f >= 0 for f in factors)
        ):
            problems.append(
                Problem(
                    file,
                    "factors must be 10 non-negative numbers, decile 1 (most deprived) first",
                    column=f"{where} by_decile factors",
                )
            )
            factors = []
        table = {key: value for key, value in raw.items() if key != "factors"} if isinstance(raw, Mapping) else raw
        options["by_decile"] = _table(
            table, f"{where} by_decile", folder, file, problems, {}, need=("area_column", "decile_column")
        )
        options["factors"] = tuple(float(f) for f in factors)
    return options


def _table(
    raw: object,
    where: str,
    folder: Path,
    file: str,
    problems: list[Problem],
    defaults: Mapping[str, str],
    *,
    need: Sequence[str] = (),
) -> TableSource | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("file"), str):
        problems.append(Problem(file, 'must be a table with file = "..." and its columns', column=where))
        return None
    unknown = set(raw) - _TABLE_KEYS
    problems += [Problem(file, "unknown key", column=f"{where} {key}") for key in sorted(unknown)]
    columns = dict(defaults)
    for key in _TABLE_KEYS - {"file", "where", "percent"}:
        if key in raw:
            columns[key] = str(raw[key])
    problems += [Problem(file, "is required", column=f"{where} {key}") for key in need if key not in columns]
    rows = raw.get("where", {})
    if not isinstance(rows, Mapping):
        problems.append(Problem(file, 'must be { column = "value" }', column=f"{where} where"))
        rows = {}
    path = Path(str(raw["file"])).expanduser()
    return TableSource(
        file=path if path.is_absolute() else folder / path,
        columns=columns,
        where={str(k): str(v) for k, v in rows.items()},
        percent=bool(raw.get("percent", False)),
    )


def _text(value: object, where: str, file: str, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(file, "is required (a column name)", column=where))
        return ""
    return value.strip()


def _rate(value: object, where: str, file: str, problems: list[Problem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        problems.append(
            Problem(file, "must be a proportion from 0 to 1 (7.1% is 0.071)", column=where, value=repr(value))
        )
        return None
    return float(value)


# --------------------------------------------------------------------------- estimating


def estimate_need(
    population: pd.DataFrame, recipes: Mapping[str, Recipe], *, file: str = "population"
) -> tuple[pd.DataFrame, list[NeedRecord], list[Problem]]:
    """Add one ``need_<category>`` column per recipe to a population table.

    Parameters
    ----------
    population
        One row per area: ``area_id`` and the columns the recipes name (``population``,
        ``pop_<community>``, census indicator columns...).
    recipes
        By canonical category (:func:`need_recipes`).
    file
        Name used in problem messages.

    Returns
    -------
    table, records, problems
        A copy of ``population`` with the need columns (replacing any of the same name), what was
        written per category, and the non-fatal problems (areas whose need is unknown, practices
        without patients...).

    Raises
    ------
    ValidationError
        Listing every fatal problem: a column or file a recipe needs is missing or unreadable.
    """
    if "area_id" not in population.columns:
        raise ValidationError([Problem(file, "the table has no area_id column", row=1, column="area_id")])
    areas = population["area_id"].astype("str").str.strip()
    fatal: list[Problem] = []
    warnings: list[Problem] = []
    table = population.copy()
    records: list[NeedRecord] = []
    for category, recipe in recipes.items():
        count = len(fatal)
        values = _estimate(population, areas, recipe, file, fatal, warnings)
        if len(fatal) > count or values is None:
            continue
        column = f"need_{category}"
        unknown = int(np.isnan(values).sum())
        if unknown:
            warnings.append(
                Problem(
                    file,
                    f"{column}: the need of {unknown:,} area(s) is unknown (left empty)",
                    column=column,
                    fatal=False,
                )
            )
        table[column] = values
        records.append(
            NeedRecord(
                category=category,
                column=column,
                method=recipe.method,
                formula=recipe.formula,
                source=recipe.source,
                year=recipe.year,
                description=recipe.description,
                total=float(np.nansum(values)),
                areas=len(values),
                areas_unknown=unknown,
            )
        )
    if fatal:
        raise ValidationError(fatal)
    return table, records, warnings


def _estimate(
    population: pd.DataFrame,
    areas: pd.Series,
    recipe: Recipe,
    file: str,
    fatal: list[Problem],
    warnings: list[Problem],
) -> np.ndarray | None:
    where = f"need_{recipe.category}"
    if recipe.method == "column":
        return _column(population, str(recipe.column), file, where, fatal)
    if recipe.method == "registers":
        return _registers(areas, recipe, where, fatal, warnings)
    if recipe.rates is not None:
        base = _column(population, str(recipe.base), file, where, fatal)
        rates = _area_values(areas, recipe.rates, recipe.lookup, where, fatal, warnings)
        values = None if base is None or rates is None else base * rates
    else:
        total = np.zeros(len(population), dtype="float64")
        complete = True
        for base_column, rate in recipe.terms:  # every missing column is reported, not only the first
            part = _column(population, base_column, file, where, fatal)
            complete = complete and part is not None
            total = total + (part * rate if part is not None else 0.0)
        values = total if complete else None
    if values is not None and recipe.by_decile is not None:
        deciles = _area_values(areas, recipe.by_decile, None, where, fatal, warnings, column="decile_column")
        if deciles is None:
            return None
        factors = np.array([np.nan, *recipe.factors])
        known = np.isin(deciles, np.arange(1, 11))
        values = values * np.where(known, factors[np.where(known, deciles, 0).astype(int)], np.nan)
    return values


def _column(frame: pd.DataFrame, name: str, file: str, where: str, fatal: list[Problem]) -> np.ndarray | None:
    if name not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns)
        fatal.append(
            Problem(
                file,
                f"{where} needs the column '{name}', which no input table has (columns: {columns})",
                row=1,
                column=name,
            )
        )
        return None
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(values) & frame[name].notna().to_numpy() & (frame[name].astype("str").str.strip() != "").to_numpy()
    if bad.any():
        fatal.append(Problem(file, f"{where}: {int(bad.sum())} value(s) of '{name}' are not numbers", column=name))
        return None
    return values


def _read_table(source: TableSource, where: str, fatal: list[Problem]) -> pd.DataFrame | None:
    from .ingest.readers import read_any

    if not source.file.exists():
        fatal.append(Problem(str(source.file), f"{where}: the file does not exist"))
        return None
    frame, problems = read_any(source.file)
    if any(problem.fatal for problem in problems):
        fatal += [problem for problem in problems if problem.fatal]
        return None
    needed = [*source.columns.values(), *source.where]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        columns = ", ".join(str(c) for c in frame.columns if c != "_source_row")
        fatal += [
            Problem(str(source.file), f"{where}: the column is missing (columns: {columns})", row=1, column=c)
            for c in missing
        ]
        return None
    for column, value in source.where.items():
        frame = frame[frame[column].astype("str").str.strip() == value]
    return frame


def _numbers(frame: pd.DataFrame, column: str, source: TableSource, where: str, fatal: list[Problem]) -> pd.Series:
    text = frame[column].astype("str").str.strip().str.replace(",", "", regex=False).str.rstrip("%")
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        rows = frame.loc[bad, "_source_row"].head(5).tolist() if "_source_row" in frame.columns else []
        fatal.append(
            Problem(
                str(source.file),
                f"{where}: {int(bad.sum())} value(s) are not non-negative numbers"
                + (f" (rows {', '.join(map(str, rows))}...)" if rows else ""),
                column=column,
            )
        )
    return values


def _area_values(
    areas: pd.Series,
    source: TableSource,
    lookup: TableSource | None,
    where: str,
    fatal: list[Problem],
    warnings: list[Problem],
    *,
    column: str = "value_column",
) -> np.ndarray | None:
    """A value per area from a table keyed by area, or by a larger area through a lookup."""
    table = _read_table(source, where, fatal)
    keys = areas
    if lookup is not None:
        links = _read_table(lookup, where, fatal)
        if links is None or table is None:
            return None
        mapping = dict(
            zip(
                links[lookup.columns["area_column"]].astype("str").str.strip(),
                links[lookup.columns["value_column"]].astype("str").str.strip(),
                strict=True,
            )
        )
        keys = areas.map(mapping)
        unmatched = int(keys.isna().sum())
        if unmatched:
            warnings.append(
                Problem(
                    str(lookup.file),
                    f"{where}: {unmatched:,} area(s) are not in the lookup; their need is unknown",
                    fatal=False,
                )
            )
    if table is None:
        return None
    count = len(fatal)
    values = _numbers(table, source.columns[column], source, where, fatal)
    if len(fatal) > count:
        return None
    if source.percent:
        values = values / 100
    by_key = pd.Series(values.to_numpy(), index=table[source.columns["area_column"]].astype("str").str.strip())
    by_key = by_key[~by_key.index.duplicated(keep="first")]
    result = keys.map(by_key).to_numpy(dtype="float64")
    missing = int(np.isnan(result).sum() - (keys.isna().sum() if lookup is not None else 0))
    if missing:
        warnings.append(
            Problem(
                str(source.file),
                f"{where}: {missing:,} area(s) have no row in this table; their need is unknown",
                fatal=False,
            )
        )
    return result


def _registers(
    areas: pd.Series, recipe: Recipe, where: str, fatal: list[Problem], warnings: list[Problem]
) -> np.ndarray | None:
    """need_i = sum over practices p of register_p x patients_p,i / patients_p (all of p's patients)."""
    assert recipe.registers is not None and recipe.patients is not None
    registers = _read_table(recipe.registers, where, fatal)
    patients = _read_table(recipe.patients, where, fatal)
    if registers is None or patients is None:
        return None
    count = len(fatal)
    register = _numbers(registers, recipe.registers.columns["value_column"], recipe.registers, where, fatal)
    counts = _numbers(patients, recipe.patients.columns["value_column"], recipe.patients, where, fatal)
    if len(fatal) > count:
        return None
    by_practice = pd.Series(
        register.to_numpy(), index=registers[recipe.registers.columns["practice_column"]].astype("str").str.strip()
    )
    by_practice = by_practice.groupby(level=0).sum()
    lives = pd.DataFrame(
        {
            "practice": patients[recipe.patients.columns["practice_column"]].astype("str").str.strip().to_numpy(),
            "area": patients[recipe.patients.columns["area_column"]].astype("str").str.strip().to_numpy(),
            "patients": counts.to_numpy(),
        }
    )
    list_size = lives.groupby("practice")["patients"].sum()
    without = sorted(set(by_practice.index) - set(list_size.index))
    if without:
        warnings.append(
            Problem(
                str(recipe.registers.file),
                f"{where}: {len(without):,} practice(s) have a register but no patients in "
                f"{recipe.patients.file.name}, so their register is not counted (e.g. "
                f"{', '.join(without[:5])})",
                fatal=False,
            )
        )
    lives["share"] = lives["patients"] / lives["practice"].map(list_size)
    lives["need"] = lives["share"] * lives["practice"].map(by_practice)
    lives = lives.dropna(subset=["need"])
    need = lives.groupby("area")["need"].sum()
    result = areas.map(need).to_numpy(dtype="float64")
    # An area where no patient of a practice with a register lives has none of those patients: 0, not unknown.
    return np.where(np.isnan(result), 0.0, result)


# --------------------------------------------------------------------------- files


def join_tables(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, list[Problem]]:
    """Join population-style tables on ``area_id``: the first gives the areas and ``population``.

    Later tables add their other columns (a column already present is kept from the earlier table
    and reported); their ``population`` is dropped, because census tables count different bases
    (TS039's is the residents aged 5 and over).
    """
    from .ingest.readers import read_any

    if not paths:
        raise CoverageMapError("give at least one population table")
    joined: pd.DataFrame | None = None
    problems: list[Problem] = []
    fatal: list[Problem] = []
    for path in paths:
        frame, read_problems = read_any(path)
        fatal += [problem for problem in read_problems if problem.fatal]
        if any(problem.fatal for problem in read_problems):
            continue
        frame = frame.drop(columns=["_source_row", "geometry"], errors="ignore")
        if "area_id" not in frame.columns:
            fatal.append(
                Problem(
                    str(path),
                    "the table has no area_id column (write it with coverage-map census-population)",
                    row=1,
                    column="area_id",
                )
            )
            continue
        frame = _numeric_columns(frame.assign(area_id=frame["area_id"].astype("str").str.strip()))
        if joined is None:
            joined = frame
            continue
        drop = [c for c in frame.columns if c != "area_id" and c in joined.columns]
        problems += [
            Problem(
                str(path),
                f"column '{c}' is already in an earlier table; the earlier one is kept"
                + (
                    " (a census table's total counts its own base, e.g. TS039's residents aged 5+)"
                    if c == "population"
                    else ""
                ),
                row=1,
                column=c,
                fatal=False,
            )
            for c in drop
        ]
        extra = frame.drop(columns=drop).drop_duplicates("area_id")
        absent = int((~joined["area_id"].isin(extra["area_id"])).sum())
        if absent:
            problems.append(
                Problem(
                    str(path),
                    f"{absent:,} area(s) of the first table have no row here; their values are left empty",
                    fatal=False,
                )
            )
        joined = joined.merge(extra, on="area_id", how="left")
    if fatal:
        raise ValidationError(fatal)
    assert joined is not None
    return joined, problems


def _numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose every non-blank cell is a number (``"1,296"`` too) become floats; others stay text."""
    result = frame.copy()
    for column in result.columns:
        if column == "area_id":
            continue
        text = result[column].astype("str").str.strip().str.replace(",", "", regex=False)
        blank = result[column].isna() | text.eq("")
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        if not (numbers.isna() & ~blank).any():
            result[column] = numbers.astype("float64")
    return result


def metadata_path(population: str | Path) -> Path:
    """Where the need metadata of a population file lives: ``population.csv`` -> ``population.need.json``."""
    path = Path(population)
    return path.with_name(path.stem + METADATA_SUFFIX)


def write_need(
    table: pd.DataFrame,
    records: Sequence[NeedRecord],
    out: str | Path,
    *,
    inputs: Sequence[str | Path] = (),
    recipe_file: str | Path | None = None,
) -> Path:
    """Write the population table and its metadata file (:func:`metadata_path`); return the latter."""
    from .outputs.tables import write_any

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_any(table, out)
    meta = metadata_path(out)
    document = {
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "population_file": out.name,
        "inputs": [str(Path(p)) for p in inputs],
        "recipe_file": str(recipe_file or DEFAULT_NEED_RECIPE),
        "needs": [asdict(record) for record in records],
    }
    meta.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def read_need_metadata(population: str | Path) -> tuple[NeedRecord, ...]:
    """The need records written beside a population file; empty when there are none or they cannot be read."""
    path = metadata_path(population)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return tuple(NeedRecord(**entry) for entry in document.get("needs", []))
    except (OSError, ValueError, TypeError):
        return ()
