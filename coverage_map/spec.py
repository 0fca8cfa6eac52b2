"""One description of the inputs: which file plays which role, and how to read them.

Every entry point builds an :class:`InputSpec` and loads it the same way: the command
line (:meth:`InputSpec.from_args`), the dashboard's TOML config and stored workspace
specs (:meth:`InputSpec.from_mapping`), the dask engine
(:func:`coverage_map.engine_dask.prepare_distributed`) and
:meth:`coverage_map.dataset.Dataset.from_spec`. An option added here reaches them all.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import DEMO_FILES, GEODATA_DIR
from .errors import CoverageMapError
from .ingest.mapping import SET_FLAGS, Mappings, mappings_from_dict, mappings_from_flags
from .model import Inputs

#: Input files by role, in the order they are listed to users.
FILE_ROLES = (
    "areas", "lookup", "population", "assets", "referrals", "practices", "groups", "taxonomy",
    "origins", "travel_times", "imd",
)  # fmt: skip
#: The roles every spec names (the others are optional).
REQUIRED_ROLES = ("areas", "assets")
#: Roles read against the areas: naming one without areas and assets is an error, not the demo. The
#: demo's other files (its IMD) may be replaced on their own, as any optional input may.
_DEMO_ROLES = ("areas", "lookup", "population", "assets", "referrals")
#: Load options (text), as on the command line without the leading ``--``.
OPTION_KEYS = ("area_id_col", "area_name_col", "crs", "lookup_area_col", "neighbourhood_col", "borough_col")
#: Lookup level -> the option naming its lookup column.
LEVEL_OPTIONS = {"area": "lookup_area_col", "neighbourhood": "neighbourhood_col", "borough": "borough_col"}
#: Every key :meth:`InputSpec.from_mapping` accepts (``lookup_levels`` is the mapping form of the level options;
#: ``map`` holds the files' own column names, see :mod:`coverage_map.ingest.mapping`).
MAPPING_KEYS = (*FILE_ROLES, *OPTION_KEYS, "lookup_levels", "map")
#: Roles of :meth:`InputSpec.files` for the second, third... population file (``population_2``...).
MORE_POPULATION = "population_"


@dataclass(frozen=True)
class InputSpec:
    """The input files by role and their load options; see :mod:`coverage_map.model` for each role.

    ``areas`` and ``assets`` are required. With the dask engine, ``assets`` and
    ``referrals`` may also be a folder of Parquet files or a glob.
    ``lookup_area_col``, ``neighbourhood_col`` and ``borough_col`` are the lookup levels
    (``CODECOL`` or ``CODECOL:NAMECOL``, see :func:`coverage_map.ingest.load_lookup`).
    ``more_population`` are further population files (census tables by age, ethnicity...),
    joined with ``population`` on the area code. ``mappings`` are the files' own column
    names, whole-file values and labels (:class:`~coverage_map.ingest.mapping.Mappings`).
    """

    areas: Path
    assets: Path
    lookup: Path | None = None
    population: Path | None = None
    referrals: Path | None = None
    practices: Path | None = None
    groups: Path | None = None
    taxonomy: Path | None = None
    origins: Path | None = None
    travel_times: Path | None = None
    imd: Path | None = None
    area_id_col: str | None = None
    area_name_col: str | None = None
    crs: str | None = None
    lookup_area_col: str | None = None
    neighbourhood_col: str | None = None
    borough_col: str | None = None
    more_population: tuple[Path, ...] = ()
    mappings: Mappings = Mappings()

    @classmethod
    def demo(cls, folder: str | Path = GEODATA_DIR) -> InputSpec:
        """The synthetic demo files in ``folder`` (as ``coverage-map demo-data`` writes them).

        The demo's optional files (its ``imd.csv``) are left out when missing, so a demo
        folder written before they existed still loads.
        """
        folder = Path(folder)
        files = {role: folder / name for role, name in DEMO_FILES.items()}
        given = {role: path for role, path in files.items() if role in _DEMO_ROLES or path.exists()}
        return cls(**given)  # type: ignore[arg-type]

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, demo_folder: str | Path = GEODATA_DIR) -> InputSpec:
        """The inputs named on the command line (``--areas``, ``--groups``, ``--crs``...).

        With neither ``--areas`` nor ``--assets`` (nor ``--lookup``, ``--population`` or
        ``--referrals``), the demo files in ``demo_folder`` are used, with any other
        input or option given (``--groups``, ``--taxonomy``...) applied to them.
        """
        values = {name: getattr(args, name, None) for name in (*FILE_ROLES, *OPTION_KEYS)}
        populations = values["population"]
        more: tuple[Path, ...] = ()
        if isinstance(populations, list):  # --population given several times
            values["population"] = populations[0] if populations else None
            more = tuple(Path(path) for path in populations[1:])
        extra_fields: dict[str, Any] = {"more_population": more} if more else {}
        mappings = mappings_from_args(args)
        if mappings:
            extra_fields["mappings"] = mappings
        given = {role: values[role] for role in _DEMO_ROLES}
        if given["areas"] is None and given["assets"] is None:
            if any(path is not None for path in given.values()):
                raise CoverageMapError("give both --areas and --assets, or neither to use the demo data")
            base = cls.demo(demo_folder)
            extra = {name: value for name, value in values.items() if value is not None}
            return dataclasses.replace(base, **_typed(extra), **extra_fields)
        missing = [f"--{role}" for role in REQUIRED_ROLES if given[role] is None]
        if missing:
            raise CoverageMapError(f"missing required input: {' and '.join(missing)}")
        return cls(**_typed({name: value for name, value in values.items() if value is not None}), **extra_fields)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object], *, base_dir: str | Path | None = None) -> InputSpec:
        """A spec from a mapping such as a TOML ``[data]`` table or a stored workspace spec.

        Parameters
        ----------
        mapping
            Keys from :data:`MAPPING_KEYS`: file roles (paths, relative to ``base_dir``;
            ``population`` may be a list of files), load options (text), optionally
            ``lookup_levels``, a mapping of ``area``/``neighbourhood``/``borough`` to
            ``CODECOL``, ``CODECOL:NAMECOL`` or ``[CODECOL, NAMECOL]``, and ``map``, a table of
            role -> ``{columns, values, labels}`` or role -> a mapping TOML file
            (:func:`~coverage_map.ingest.mapping.mappings_from_dict`). Empty values count as
            not given.
        base_dir
            Folder relative paths are read from (default: as given, so the working folder).

        Raises
        ------
        CoverageMapError
            Listing every unknown key (with the allowed keys), every value of the wrong
            type, and a missing ``areas`` or ``assets``, at once.
        """
        errors: list[str] = []
        unknown = [str(key) for key in mapping if key not in MAPPING_KEYS]
        if unknown:
            errors.append(
                f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(repr(key) for key in unknown)}; "
                f"the allowed keys are {', '.join(MAPPING_KEYS)}"
            )
        values: dict[str, Any] = {}
        base = Path(base_dir) if base_dir is not None else None
        for role in FILE_ROLES:
            value = mapping.get(role)
            if value is None or value == "":
                continue
            if role == "population" and isinstance(value, list) and value:
                if not all(isinstance(item, (str, os.PathLike)) for item in value):
                    errors.append(f"'population' must be file paths, not {value!r}")
                    continue
                paths = [Path(item) for item in value]
                paths = [base / path if base is not None and not path.is_absolute() else path for path in paths]
                values["population"], values["more_population"] = paths[0], tuple(paths[1:])
                continue
            if not isinstance(value, (str, os.PathLike)):
                errors.append(f"'{role}' must be a file path, not {value!r}")
                continue
            path = Path(value)
            values[role] = base / path if base is not None and not path.is_absolute() else path
        for key in OPTION_KEYS:
            value = mapping.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                errors.append(f"'{key}' must be text, not {value!r}")
                continue
            values[key] = value
        levels = mapping.get("lookup_levels")
        if levels:
            values.update(_level_options(levels, errors))
        if mapping.get("map"):
            try:
                values["mappings"] = mappings_from_dict(mapping["map"], where="'map'", base_dir=base)
            except CoverageMapError as error:
                errors.append(str(error))
        missing = [role for role in REQUIRED_ROLES if role not in values]
        if missing:
            errors.append(f"{' and '.join(repr(role) for role in missing)} {'is' if len(missing) == 1 else 'are'} "
                          "required")  # fmt: skip
        if errors:
            raise CoverageMapError("the input spec is not valid: " + "; ".join(errors))
        return cls(**values)

    def to_mapping(self) -> dict[str, Any]:
        """The given roles and options as text (paths as given); :meth:`from_mapping` reads it back.

        Several population files are a list under ``population``; the mappings a table under ``map``.
        """
        result: dict[str, Any] = {}
        for spec_field in dataclasses.fields(self):
            value = getattr(self, spec_field.name)
            if value is not None and spec_field.name not in ("more_population", "mappings"):
                result[spec_field.name] = str(value)
        if self.more_population:
            result["population"] = [str(path) for path in self.populations]
        if self.mappings:
            result["map"] = self.mappings.as_dict()
        return result

    @property
    def populations(self) -> tuple[Path, ...]:
        """Every population file, the first one first."""
        return (*([self.population] if self.population is not None else []), *self.more_population)

    @property
    def lookup_levels(self) -> dict[str, str] | None:
        """The lookup level options as :func:`~coverage_map.ingest.load_inputs` takes them (None when none)."""
        levels = {level: getattr(self, option) for level, option in LEVEL_OPTIONS.items()}
        given = {level: value for level, value in levels.items() if value}
        return given or None

    @property
    def is_demo(self) -> bool:
        """Whether the areas and assets are the shipped synthetic demo files."""
        demo = InputSpec.demo()
        return self.areas == demo.areas and self.assets == demo.assets

    def files(self) -> dict[str, Path]:
        """The given input files by role; further population files as ``population_2``, ``population_3``..."""
        files = {role: getattr(self, role) for role in FILE_ROLES if getattr(self, role) is not None}
        files.update({f"{MORE_POPULATION}{n}": path for n, path in enumerate(self.more_population, start=2)})
        return files

    def load_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`coverage_map.ingest.load_inputs` for this spec."""
        return {
            **{role: getattr(self, role) for role in FILE_ROLES},
            **({"population": list(self.populations)} if self.more_population else {}),
            "mappings": self.mappings or None,
            "area_id_col": self.area_id_col,
            "area_name_col": self.area_name_col,
            "crs": self.crs,
            "lookup_levels": self.lookup_levels,
        }

    def load(self, on_file: Callable[[str], None] | None = None) -> Inputs:
        """Load and validate every input (see :func:`coverage_map.ingest.load_inputs`).

        ``on_file`` hears each file's role as its reading starts (the steps of :meth:`reading_steps`).

        Raises
        ------
        ValidationError
            Listing every problem of every file, when any is fatal.
        """
        from .ingest import load_inputs

        return load_inputs(**self.load_arguments(), on_file=on_file)

    def reading_steps(self) -> list[str]:
        """The roles :meth:`load` reads, in its order (see :func:`coverage_map.ingest.inputs.reading_steps`)."""
        from .ingest.inputs import reading_steps

        return reading_steps(self.load_arguments())


def mappings_from_args(args: argparse.Namespace) -> Mappings:
    """The ``--map``, ``--map-column`` and ``--set-*`` flags (see :mod:`coverage_map.commands.input_flags`)."""
    values = {field: getattr(args, f"set_{flag}", None) or [] for flag, field in SET_FLAGS.items()}
    return mappings_from_flags(getattr(args, "map", None) or [], getattr(args, "map_column", None) or [], values)


def _typed(values: Mapping[str, object]) -> dict[str, Any]:
    """Files as paths and options as text."""
    return {name: Path(value) if name in FILE_ROLES else str(value) for name, value in values.items()}  # type: ignore[arg-type]


def _level_options(levels: object, errors: list[str]) -> dict[str, str]:
    """``lookup_levels`` (``{"borough": "lad22cd:lad22nm"}``) as the level options."""
    if not isinstance(levels, Mapping):
        errors.append(f"'lookup_levels' must be a table of {', '.join(LEVEL_OPTIONS)}, not {levels!r}")
        return {}
    options: dict[str, str] = {}
    for level, value in levels.items():
        if level not in LEVEL_OPTIONS:
            errors.append(f"unknown lookup level {level!r} in 'lookup_levels'; the levels are "
                          f"{', '.join(LEVEL_OPTIONS)}")  # fmt: skip
        elif isinstance(value, str) and value.strip():
            options[LEVEL_OPTIONS[level]] = value.strip()
        elif (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and 1 <= len(value) <= 2
            and all(isinstance(item, str) or item is None for item in value)
            and value[0]
        ):
            options[LEVEL_OPTIONS[level]] = ":".join(str(item) for item in value if item)
        elif value:
            errors.append(f"lookup level {level!r} must be CODECOL, CODECOL:NAMECOL or [CODECOL, NAMECOL], "
                          f"not {value!r}")  # fmt: skip
    return options
