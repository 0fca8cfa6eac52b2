"""Files as they are: a user's own column names, values for a whole file, and the file's own words.

A :class:`ColumnMapping` says, for one input file, which of its columns is which field
(``name = "Name"``), which values hold for every row (``categories = "food_nutrition"``) and
which of its labels mean which category or community (``"Foodbank hub" = "food_nutrition"``).
:class:`Mappings` holds one per role; it travels in the
:class:`~coverage_map.spec.InputSpec`, so the command line, the dashboard, the workspace and
the dask engine read a file the same way. A mapping is written as a small TOML file::

    [assets.columns]          # field = the file's column
    name = "Name"

    [assets.values]           # field = one value for every row
    categories = "food_nutrition"

    [assets.labels]           # the file's label = a category or community
    "Foodbank hub" = "food_nutrition"

(a file for one role may leave out the ``assets.`` prefix: ``--map assets=map.toml``).
:func:`guess_columns` proposes the best candidate column for each field, which the
dashboard's mapping step shows pre-filled; :func:`apply_mapping` is what the loaders run on
the file they read, before their own checks.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import CoverageMapError, Problem
from ..taxonomy import Taxonomy, normalise_label, split_labels
from ._asset_values import _ACCEPTING_MESSAGE, _accepting_of, _reach_of
from ._checks import _LAD_CODE, _closest, _data_columns, _find_columns, _key, _name_column_for, _named_column
from ._checks import _ONS_CODE as _ONS_CODE_COLUMN
from ._text import _texts


@dataclass(frozen=True)
class Field:
    """One field a role's loader reads: its canonical column name, a label for people, and whether it is required."""

    name: str
    label: str
    required: bool = False


#: Fields a mapping may name, by role, in the order a mapping step shows them.
ROLE_FIELDS: Mapping[str, tuple[Field, ...]] = {
    "areas": (Field("area_id", "Area code", True), Field("area_name", "Area name")),
    "lookup": (
        Field("area_id", "Area code", True),
        Field("neighbourhood_id", "Neighbourhood code", True),
        Field("neighbourhood_name", "Neighbourhood name"),
        Field("borough_id", "Borough code", True),
        Field("borough_name", "Borough name"),
    ),
    "population": (Field("area_id", "Area code", True), Field("population", "Total population", True)),
    "assets": (
        Field("asset_id", "Id (made from the row number when there is none)", True),
        Field("name", "Name", True),
        Field("categories", "Need categories", True),
        Field("latitude", "Latitude"),
        Field("longitude", "Longitude"),
        Field("easting", "Easting"),
        Field("northing", "Northing"),
        Field("communities", "Communities"),
        Field("capacity", "Capacity (referrals a month)"),
        Field("accepting_referrals", "Accepting referrals"),
        Field("reach", "Reach"),
    ),
    "referrals": (
        Field("category", "Need category", True),
        Field("origin_area_id", "Home area code"),
        Field("latitude", "Latitude"),
        Field("longitude", "Longitude"),
        Field("origin_practice_code", "GP practice code"),
        Field("date", "Date"),
        Field("community", "Community"),
        Field("count", "Count"),
        Field("asset_id", "Asset id"),
        Field("referral_id", "Referral id"),
    ),
}
#: Fields that may be given one value for every row of a file, by role.
WHOLE_FILE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "assets": ("categories", "communities", "reach", "capacity", "accepting_referrals"),
    "referrals": ("category", "community"),
}
#: ``--set-<flag>`` on the command line -> the assets field it sets for every row.
SET_FLAGS: Mapping[str, str] = {
    "category": "categories",
    "community": "communities",
    "reach": "reach",
    "capacity": "capacity",
    "accepting": "accepting_referrals",
}
#: Label fields whose labels :attr:`ColumnMapping.labels` may translate, and their vocabulary.
_LABEL_FIELDS: Mapping[str, str] = {
    "categories": "categories",
    "category": "categories",
    "communities": "communities",
    "community": "communities",
}
#: Words a field's column is often called, for :func:`guess_columns` (besides the field's own name).
_FIELD_WORDS: Mapping[str, tuple[str, ...]] = {
    "area_id": ("area_code", "code", "lsoa", "lsoa_code", "lsoa21cd", "lsoa11cd", "lsoa21_code", "geography_code",
                "area", "mnemonic", "msoa", "ward_code"),
    "area_name": ("name", "area", "lsoa_name", "lsoa21nm", "geography", "ward_name"),
    "population": ("total", "total_population", "all_persons", "persons", "usual_residents", "all_usual_residents",
                   "total_usual_residents", "population_total", "people", "residents", "count"),
    "asset_id": ("id", "ref", "reference", "code", "service_id", "organisation_code", "ods_code", "uid", "fid",
                 "objectid", "record_id"),
    "name": ("title", "organisation", "organisation_name", "organization", "service", "service_name",
             "provider", "site_name", "venue", "group_name"),
    "categories": ("category", "type", "service_type", "services", "activity", "activities", "need", "needs",
                   "tags", "support_type", "what"),
    "communities": ("community", "audience", "client_group", "who_for", "for", "target_group"),
    "capacity": ("places", "spaces", "capacity_per_month", "referrals_per_month"),
    "accepting_referrals": ("accepting", "open_to_referrals", "taking_referrals", "status"),
    "reach": ("catchment", "coverage", "area_served", "radius"),
    "latitude": ("lat", "y_coordinate"),
    "longitude": ("lon", "lng", "long", "x_coordinate"),
    "easting": ("x", "east", "eastings"),
    "northing": ("y", "north", "northings"),
    "category": ("need", "referral_reason", "reason", "primary_need", "categories"),
    "origin_area_id": ("lsoa", "area", "home_area", "lsoa_code", "area_code", "home_lsoa"),
    "origin_practice_code": ("practice", "gp_practice", "practice_code"),
    "date": ("referral_date", "date_of_referral", "created", "month"),
    "community": ("communities", "group", "ethnicity"),
    "count": ("n", "number", "referrals", "total"),
    "referral_id": ("id", "ref", "reference"),
    "neighbourhood_id": ("neighbourhood", "neighbourhood_code", "pcn", "pcn_code", "locality", "locality_code",
                         "msoa21cd", "msoa11cd", "msoa_code", "wd22cd", "wd23cd", "ward_code"),
    "neighbourhood_name": ("neighbourhood", "pcn_name", "locality_name", "msoa21nm", "msoa11nm", "msoa_name",
                           "wd22nm", "wd23nm", "ward_name"),
    "borough_id": ("borough", "borough_code", "council", "council_code", "lad22cd", "lad21cd", "lad23cd", "lad24cd", "ladcd", "lad_code",
                   "la_code", "local_authority_code", "district_code", "ltla22cd"),
    "borough_name": ("borough", "council_name", "lad22nm", "lad21nm", "lad23nm", "lad24nm", "ladnm", "lad_name", "la_name",
                     "local_authority", "local_authority_name", "district", "ltla22nm"),
}  # fmt: skip
#: How alike a column's name must be to a field's word for :func:`guess_columns` to propose it.
_GUESS_CUTOFF = 0.75
_ONS_CODE = re.compile(r"[EWSNK]\d{8}")
#: Prefix of an id made from a row number (``row-2``: spreadsheet row 2, or feature 2).
GENERATED_ID = "row-"
#: The mapping role of the second, third... population file (``population_2``), as in the workspace.
_MORE_POPULATION = re.compile(r"population_([2-9]|[1-9]\d+)")


def role_fields(role: str) -> tuple[Field, ...]:
    """The fields of ``role`` (a further population file, ``population_2``..., has the population's)."""
    return ROLE_FIELDS["population" if _MORE_POPULATION.fullmatch(role) else role] if is_mapped_role(role) else ()


def is_mapped_role(role: str) -> bool:
    """Whether a mapping may be given for ``role`` (the roles of :data:`ROLE_FIELDS`, and ``population_2``...)."""
    return role in ROLE_FIELDS or bool(_MORE_POPULATION.fullmatch(role))


def population_roles(count: int) -> list[str]:
    """The mapping roles of ``count`` population files: ``population``, ``population_2``, ``population_3``..."""
    return ["population", *(f"population_{n}" for n in range(2, count + 1))][: max(count, 0)]


# --------------------------------------------------------------------------- the mapping


@dataclass(frozen=True)
class ColumnMapping:
    """How to read one file: its columns by field, whole-file values, and its own labels.

    Each part is a tuple of pairs, so a mapping is hashable and compares by value; build one
    with :meth:`of` and read it with :attr:`column_map`, :attr:`value_map` and :attr:`label_map`.
    """

    columns: tuple[tuple[str, str], ...] = ()
    values: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        columns: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> ColumnMapping:
        """A mapping from plain dicts; empty entries are left out."""
        return cls(
            columns=tuple((str(k), str(v)) for k, v in (columns or {}).items() if str(v).strip()),
            values=tuple((str(k), str(v)) for k, v in (values or {}).items() if str(v).strip()),
            labels=tuple((str(k), str(v)) for k, v in (labels or {}).items() if str(v).strip()),
        )

    @property
    def column_map(self) -> dict[str, str]:
        """Field -> the file's column."""
        return dict(self.columns)

    @property
    def value_map(self) -> dict[str, str]:
        """Field -> the value every row takes."""
        return dict(self.values)

    @property
    def label_map(self) -> dict[str, str]:
        """The file's label -> a category or community."""
        return dict(self.labels)

    def __bool__(self) -> bool:
        return bool(self.columns or self.values or self.labels)

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with ``other``'s entries added (``other`` wins on the same field or label)."""
        return ColumnMapping.of(
            {**self.column_map, **other.column_map},
            {**self.value_map, **other.value_map},
            {**self.label_map, **other.label_map},
        )

    def as_dict(self) -> dict[str, dict[str, str]]:
        """``{"columns": {...}, "values": {...}, "labels": {...}}`` with the empty parts left out."""
        parts = {"columns": self.column_map, "values": self.value_map, "labels": self.label_map}
        return {part: entries for part, entries in parts.items() if entries}


@dataclass(frozen=True)
class Mappings:
    """One :class:`ColumnMapping` per role (roles without one are read as they are)."""

    roles: tuple[tuple[str, ColumnMapping], ...] = ()

    @classmethod
    def of(cls, mappings: Mapping[str, ColumnMapping]) -> Mappings:
        return cls(tuple((role, mapping) for role, mapping in mappings.items() if mapping))

    def get(self, role: str) -> ColumnMapping | None:
        """The mapping of ``role``, or None."""
        return dict(self.roles).get(role)

    def __bool__(self) -> bool:
        return bool(self.roles)

    def merged(self, other: Mappings) -> Mappings:
        """Both, role by role (``other`` wins on the same entry)."""
        combined = dict(self.roles)
        for role, mapping in other.roles:
            combined[role] = combined[role].merged(mapping) if role in combined else mapping
        return Mappings.of(combined)

    def as_dict(self) -> dict[str, dict[str, dict[str, str]]]:
        """Role -> :meth:`ColumnMapping.as_dict`; :func:`mappings_from_dict` reads it back."""
        return {role: mapping.as_dict() for role, mapping in self.roles}


def mappings_from_dict(data: object, *, where: str = "mapping", base_dir: Path | None = None) -> Mappings:
    """Mappings from a TOML-like table: role -> ``{columns, values, labels}``, or role -> a mapping TOML file.

    Raises
    ------
    CoverageMapError
        Listing every unknown role, part, field or value of the wrong type at once.
    """
    if not isinstance(data, Mapping):
        raise CoverageMapError(f"{where}: must be a table of role = {{ columns, values, labels }}, not {data!r}")
    errors: list[str] = []
    found: dict[str, ColumnMapping] = {}
    for role, entry in data.items():
        if isinstance(entry, str):
            path = Path(entry)
            path = base_dir / path if base_dir is not None and not path.is_absolute() else path
            try:
                mapping = read_mapping(path, role=str(role)).get(str(role))
            except CoverageMapError as error:
                errors.append(str(error))
                continue
            if mapping is not None:
                found[str(role)] = mapping
            continue
        mapping = _role_mapping(str(role), entry, f"{where} {role}", errors)
        if mapping is not None:
            found[str(role)] = mapping
    if errors:
        raise CoverageMapError("; ".join(errors))
    return Mappings.of(found)


def _role_mapping(role: str, entry: object, where: str, errors: list[str]) -> ColumnMapping | None:
    if not is_mapped_role(role):
        errors.append(f"{where}: no mapping for the role '{role}'; mappings are for {', '.join(ROLE_FIELDS)} "
                      "(and population_2, population_3... for further population files)")  # fmt: skip
        return None
    if not isinstance(entry, Mapping):
        errors.append(f"{where}: must be a table with columns, values and labels, not {entry!r}")
        return None
    unknown = sorted(set(map(str, entry)) - {"columns", "values", "labels"})
    if unknown:
        errors.append(f"{where}: unknown part(s) {', '.join(unknown)}; the parts are columns, values and labels")
    parts: dict[str, dict[str, str]] = {}
    for part in ("columns", "values", "labels"):
        table = entry.get(part, {})
        if not isinstance(table, Mapping):
            errors.append(f"{where}.{part}: must be a table")
            continue
        parts[part] = {}
        for key, value in table.items():
            text = ";".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
            if isinstance(text, bool) or not isinstance(text, str | int | float):
                errors.append(f"{where}.{part}: {key} must be text, not {value!r}")
                continue
            parts[part][str(key)] = str(text)
    fields = {field.name for field in role_fields(role)}
    for key in parts.get("columns", {}):
        if key not in fields:
            errors.append(f"{where}.columns: unknown field '{key}' for {role}; the fields are {', '.join(fields)}")
    allowed = WHOLE_FILE_FIELDS.get(role, ())
    for key in parts.get("values", {}):
        if key not in allowed:
            errors.append(
                f"{where}.values: '{key}' cannot be set for a whole {role} file"
                + (f"; these can: {', '.join(allowed)}" if allowed else "")
            )
    return ColumnMapping.of(parts.get("columns"), parts.get("values"), parts.get("labels"))


# --------------------------------------------------------------------------- TOML files


def read_mapping(path: str | Path, *, role: str | None = None) -> Mappings:
    """A mapping TOML file: role tables (``[assets.columns]``), or the parts of ``role`` at the top level.

    Raises
    ------
    CoverageMapError
        The file cannot be read, is not TOML, or holds an unknown role, part or field.
    """
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CoverageMapError(f"{path}: cannot read the mapping file: {exc}") from exc
    top = {"columns", "values", "labels"} & set(document)
    if top:
        if role is None:
            raise CoverageMapError(f"{path}: say which file it maps (--map assets={path.name}), or put its tables "
                                   "under the role ([assets.columns])")  # fmt: skip
        document = {role: document}
    mappings = mappings_from_dict(document, where=str(path))
    if role is not None:
        only = mappings.get(role)
        if only is None:
            raise CoverageMapError(
                f"{path}: has no mapping for {role} (it maps {', '.join(r for r, _ in mappings.roles)})"
            )
        return Mappings.of({role: only})
    return mappings


def mapping_toml(mappings: Mappings) -> str:
    """The mappings as a TOML file :func:`read_mapping` reads back (``coverage-map ... --map FILE``)."""
    lines = ["# coverage-map column mapping: coverage-map analyse ... --map this-file.toml", ""]
    for role, mapping in mappings.roles:
        for part, entries in mapping.as_dict().items():
            lines.append(f"[{role}.{part}]")
            lines += [f"{_toml_key(key)} = {_toml_text(value)}" for key, value in entries.items()]
            lines.append("")
    return "\n".join(lines)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_text(key)


def _toml_text(text: str) -> str:
    # A JSON string is a TOML basic string (the same escapes); control characters are escaped by json.
    return json.dumps(text, ensure_ascii=False)


def mappings_from_flags(
    maps: Sequence[str] = (), columns: Sequence[str] = (), values: Mapping[str, Sequence[str]] | None = None
) -> Mappings:
    """Mappings from the command line: ``--map [ROLE=]FILE``, ``--map-column ROLE.FIELD=COLUMN`` and ``--set-*``.

    ``values`` is field -> the values given for the assets file (``--set-category`` gives
    ``categories``); several values of one field are joined with ``;``. Flags win over files.

    Raises
    ------
    CoverageMapError
        Listing every flag that cannot be read.
    """
    errors: list[str] = []
    result = Mappings()
    for item in maps:
        role, sep, file = item.partition("=")
        try:
            result = result.merged(read_mapping(file, role=role) if sep else read_mapping(item))
        except CoverageMapError as error:
            errors.append(str(error))
    given: dict[str, dict[str, dict[str, str]]] = {}
    for item in columns:
        target, sep, column = item.partition("=")
        role, dot, field = target.partition(".")
        if not sep or not dot or not column.strip():
            errors.append(f"--map-column {item!r}: write ROLE.FIELD=COLUMN, e.g. assets.name=Name")
            continue
        given.setdefault(role.strip(), {}).setdefault("columns", {})[field.strip()] = column.strip()
    for field, texts in (values or {}).items():
        if texts:
            given.setdefault("assets", {}).setdefault("values", {})[field] = ";".join(texts)
    if given:
        try:
            result = result.merged(mappings_from_dict(given, where="command line"))
        except CoverageMapError as error:
            errors.append(str(error))
    if errors:
        raise CoverageMapError("; ".join(errors))
    return result


# --------------------------------------------------------------------------- applying a mapping


def apply_mapping(
    raw: pd.DataFrame,
    mapping: ColumnMapping | None,
    *,
    file: str,
    role: str,
    taxonomy: Taxonomy | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """``raw`` with its mapped columns renamed to their fields, whole-file values set and labels translated.

    Parameters
    ----------
    raw
        A file as :func:`~coverage_map.ingest.readers.read_any` read it (it is not changed).
    mapping
        How to read it; None or empty leaves the columns as they are.
    file, role
        For the problems, and for which fields the role has.
    taxonomy
        Checks whole-file categories and communities and the labels' targets once, rather
        than once per row.

    Returns
    -------
    frame, problems
        The mapped frame (a column that already had a field's name is kept as
        ``<column> (not used)``). A mapped column the file lacks, or an unknown whole-file
        category, is fatal; every other check is the loader's, row by row.
    """
    if not mapping:
        return raw, []
    problems: list[Problem] = []
    frame = raw.copy()
    geometry = frame.active_geometry_name if isinstance(frame, gpd.GeoDataFrame) else None
    renames: dict[str, str] = {}
    copies: dict[str, str] = {}
    for field, column in mapping.columns:
        found = _named_column(raw, column)
        if found is None or found == geometry:
            guess = _closest([column], _data_columns(raw))
            hint = (
                f"; found '{guess}' — is that it?" if guess else f"; the columns are: {', '.join(_data_columns(raw))}"
            )
            problems.append(Problem(file, f"the mapping names column '{column}' for {field}, but the file has no such "
                                          f"column{hint}", column=column))  # fmt: skip
        elif found in renames:
            copies[field] = found
        else:
            renames[found] = field
    targets = {*renames.values(), *copies, *mapping.value_map}
    aside = {
        column: f"{column} (not used)"
        for column in _data_columns(frame)
        if _key(column) in {_key(target) for target in targets} and column not in renames
    }
    frame = frame.rename(columns={**aside, **renames})
    for field, source in copies.items():
        frame[field] = frame[renames[source]]
    for field, value in mapping.values:
        problems += _value_problems(field, value, file, taxonomy)
        frame[field] = pd.Series([value] * len(frame), index=frame.index, dtype="string")
    if mapping.labels:
        problems += _label_problems(mapping.label_map, file, taxonomy)
        frame = _translated(frame, mapping.label_map, role)
    return frame, problems


def as_in_file(problems: list[Problem], raw: pd.DataFrame, mapping: ColumnMapping | None) -> list[Problem]:
    """``problems`` naming the file's own column where they name a field the mapping renamed.

    The loaders check the mapped frame, whose columns are the fields; a user fixes the file,
    whose columns are their own (``Places``, not ``capacity``).
    """
    if not mapping:
        return problems
    renamed = {field: _named_column(raw, column) for field, column in mapping.columns}
    return [
        dataclasses.replace(problem, column=renamed[problem.column])
        if problem.column in renamed and renamed[problem.column] is not None
        else problem
        for problem in problems
    ]


def _value_problems(field: str, value: str, file: str, taxonomy: Taxonomy | None) -> list[Problem]:
    """Whole-file values checked once: an unknown label, a reach or yes/no that cannot be read, or a capacity that
    is not a number, is fatal."""
    problems = []
    vocabulary = None
    if taxonomy is not None and field in _LABEL_FIELDS:
        vocabulary = getattr(taxonomy, _LABEL_FIELDS[field])
    if vocabulary is not None:
        for label in split_labels(value):
            if vocabulary.resolve(label) is None:
                problems.append(Problem(file, f"{field} for every row: {vocabulary.unknown_message(label)}",
                                        column=field, value=label))  # fmt: skip
    if field == "reach" and _reach_of(value.strip())[2] is not None:
        problems.append(Problem(file, f"reach for every row: {_reach_of(value.strip())[2]}", column=field,
                                value=value))  # fmt: skip
    if field == "accepting_referrals" and _accepting_of(value) is None:
        problems.append(Problem(file, f"{_ACCEPTING_MESSAGE} for every row", column=field, value=value))
    if field == "capacity":
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            number = -1.0
        if not np.isfinite(number) or number < 0:
            problems.append(Problem(file, "capacity for every row must be a number >= 0", column=field, value=value))
    return problems


def _label_problems(labels: Mapping[str, str], file: str, taxonomy: Taxonomy | None) -> list[Problem]:
    if taxonomy is None:
        return []
    problems = []
    for label, target in labels.items():
        if taxonomy.categories.resolve(target) is None and taxonomy.communities.resolve(target) is None:
            problems.append(Problem(file, f"the mapping reads '{label}' as '{target}', which is neither a category "
                                          "nor a community", value=target))  # fmt: skip
    return problems


def _translated(frame: pd.DataFrame, labels: Mapping[str, str], role: str) -> pd.DataFrame:
    """Label cells with the file's own words replaced by the labels they stand for."""
    by_key = {normalise_label(label): target for label, target in labels.items()}
    fields = [field.name for field in role_fields(role) if field.name in _LABEL_FIELDS]
    for column in _find_columns(frame, fields).values():
        texts = _texts(frame, column)
        cells = {cell: ";".join(by_key.get(normalise_label(label), label) for label in split_labels(cell))
                 for cell in pd.unique(texts)}  # fmt: skip
        frame[column] = pd.Series([cells[cell] for cell in texts], index=frame.index, dtype="string")
    return frame


def generated_ids(raw: pd.DataFrame, *, file: str, field: str = "asset_id") -> tuple[pd.DataFrame, list[Problem]]:
    """Ids from the row numbers (``row-2``...) when the file has no ``field`` column, nor one close to it.

    The problem (not fatal) says so once. A file with a column close to the name (``assetid``)
    is left alone: the loader then asks "is that it?".
    """
    columns = _data_columns(raw)
    if _find_columns(raw, [field]) or _closest([field], columns) is not None or raw.empty:
        return raw, []
    rows = raw["_source_row"].to_numpy()
    frame = raw.copy()
    frame[field] = pd.Series([f"{GENERATED_ID}{row}" for row in rows], index=frame.index, dtype="string")
    what = "row" if not isinstance(raw, gpd.GeoDataFrame) or str(file).lower().endswith(".csv") else "feature"
    note = Problem(
        file,
        f"no {field} column: each {field} was made from its {what} number ('{GENERATED_ID}{rows[0]}' to "
        f"'{GENERATED_ID}{rows[-1]}')",
        column=field,
        fatal=False,
    )
    return frame, [note]


# --------------------------------------------------------------------------- guessing


def missing_fields(raw: pd.DataFrame, role: str, mapping: ColumnMapping | None = None) -> list[str]:
    """The required fields the loader would not find in ``raw`` (after ``mapping``).

    Assets without an id column are not missing one (ids are made from the row numbers), and
    a location is missing only when there is no geometry and no coordinate pair.
    """
    given = set(mapping.column_map) | set(mapping.value_map) if mapping else set()
    found = set(_find_columns(raw, [field.name for field in role_fields(role)])) | given
    if role == "lookup":
        return _lookup_missing(raw, found)
    missing = [field.name for field in role_fields(role) if field.required and field.name not in found]
    if role == "areas":
        # The areas loader finds 'area_id', an ONS code column or 'area_code' by itself, by name (any case).
        names = {str(column).lower() for column in _data_columns(raw)}
        found_id = bool(names & {"area_id", "area_code"}) or any(_ONS_CODE_COLUMN.fullmatch(name) for name in names)
        return [] if found_id or "area_id" in given else ["area_id"]
    if role == "assets":
        if "asset_id" in missing and _closest(["asset_id"], _data_columns(raw)) is None:
            missing.remove("asset_id")
        if not isinstance(raw, gpd.GeoDataFrame) and not (
            {"latitude", "longitude"} <= found or {"easting", "northing"} <= found
        ):
            missing.append("location")
    return missing


def guess_columns(raw: pd.DataFrame, role: str) -> dict[str, str | None]:
    """The best candidate column for each field of ``role`` (None when nothing is plausible).

    A column the loader would find itself wins; then one whose name is like one of the
    words the field's column is often called (``Organisation`` for a name, ``Total`` for a
    population), checked against its values: ids must be unique, area codes look like ONS
    codes, counts are numbers. Each column is proposed for one field at most.
    """
    fields = [field.name for field in role_fields(role)]
    found: dict[str, str | None] = dict.fromkeys(fields)
    found.update(_find_columns(raw, fields))
    taken = {column for column in found.values() if column is not None}
    columns = [column for column in _data_columns(raw) if column not in taken]
    scored: list[tuple[float, str, str]] = []
    for field in fields:
        if found[field] is not None:
            continue
        for column in columns:
            score = _name_score(field, column)
            if score >= _GUESS_CUTOFF and _values_fit(raw, field, column):
                scored.append((score, field, column))
    for _score, field, column in sorted(scored, key=lambda item: -item[0]):
        if found[field] is None and column not in taken:
            found[field] = column
            taken.add(column)
    for field in ("area_id", "origin_area_id"):
        if field in found and found[field] is None:
            found[field] = _code_column(raw, [column for column in columns if column not in taken])
    if "population" in found and found["population"] is None:
        found["population"] = _largest_count(raw, [column for column in columns if column not in taken])
    if role == "lookup":
        for level in ("neighbourhood", "borough"):
            code = found[f"{level}_id"]
            beside = _name_column_for(raw, code) if code is not None else None
            if found[f"{level}_name"] is None and beside is not None and beside not in found.values():
                found[f"{level}_name"] = beside
    return found


def _lookup_missing(raw: pd.DataFrame, found: set[str]) -> list[str]:
    """The lookup's fields its loader would not find: as a plain table, or as an ONS lookup picked by its codes.

    An ONS lookup (code columns ending in ``cd``) needs no area column (it is matched by the
    areas' ids), a borough (``borough_id`` or a local-authority code column) and a neighbourhood
    (``neighbourhood_id`` or another, coarser code column).
    """
    columns = [field.name for field in ROLE_FIELDS["lookup"]]
    if set(columns) <= found:
        return []
    codes = [str(column) for column in _data_columns(raw) if _ONS_CODE_COLUMN.fullmatch(str(column).strip().lower())]
    if "area_id" in found or not codes:  # a plain table: every column is needed
        return [name for name in columns if name not in found]
    lad = [code for code in codes if _LAD_CODE.fullmatch(code.strip().lower())]
    missing = []
    if "neighbourhood_id" not in found and len(codes) - len(lad) < 2:
        missing.append("neighbourhood_id")
    if "borough_id" not in found and not lad:
        missing.append("borough_id")
    return missing


def _name_score(field: str, column: str) -> float:
    key = _key(column)
    best = 0.0
    for word in (field, *_FIELD_WORDS.get(field, ())):
        if key == word:
            return 1.0
        ratio = difflib.SequenceMatcher(None, key, word).ratio()
        if len(word) > 3 and (key.startswith(word + "_") or key.endswith("_" + word)):
            ratio = max(ratio, 0.85)
        best = max(best, ratio)
    return best


def _values_fit(raw: pd.DataFrame, field: str, column: str) -> bool:
    texts = _texts(raw, column)
    given = texts[texts != ""]
    if field in ("asset_id", "referral_id"):
        return len(given) == len(texts) and len(set(given)) == len(given)
    if field in ("population", "capacity", "count", "latitude", "longitude", "easting", "northing"):
        numbers = pd.to_numeric(pd.Series(given).str.replace(",", ""), errors="coerce")
        return len(given) > 0 and bool(numbers.notna().mean() >= 0.9)
    if field in ("area_id", "origin_area_id"):
        return len(given) > 0 and _code_share(given) >= 0.5
    return len(given) > 0


def _code_share(values: np.ndarray) -> float:
    return float(np.mean([bool(_ONS_CODE.fullmatch(str(value))) for value in values[:500]])) if len(values) else 0.0


def _code_column(raw: pd.DataFrame, columns: Iterable[str]) -> str | None:
    """The column whose values look most like ONS area codes (at least half of them)."""
    best, best_share = None, 0.5
    for column in columns:
        texts = _texts(raw, column)
        share = _code_share(texts[texts != ""])
        if share > best_share or (share == best_share == 1.0 and best is None):
            best, best_share = column, share
    return best


def _largest_count(raw: pd.DataFrame, columns: Iterable[str]) -> str | None:
    """The numeric column with the largest total: a table's total population is its largest count."""
    best, best_total = None, 0.0
    for column in columns:
        numbers = pd.to_numeric(pd.Series(_texts(raw, column)).str.replace(",", ""), errors="coerce")
        if len(numbers) and numbers.notna().mean() >= 0.9 and numbers.min() >= 0 and numbers.sum() > best_total:
            best, best_total = column, float(numbers.sum())
    return best


def preview(raw: pd.DataFrame, mapping: ColumnMapping | None, role: str, *, rows: int = 5) -> pd.DataFrame:
    """The first ``rows`` rows as the loader will read them: one column per field the mapping or file gives."""
    head = raw.head(rows)
    frame, _ = apply_mapping(head, mapping, file="preview", role=role)
    if role == "assets":
        frame, _ = generated_ids(frame, file="preview")
    fields = [field.name for field in role_fields(role)]
    found = _find_columns(frame, fields)
    return pd.DataFrame({field: _texts(frame, column) for field, column in found.items()})
