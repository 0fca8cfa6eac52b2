"""Every input at once: :func:`load_inputs` runs each loader and raises the problems once.

It collects the problems of every file and raises one
:class:`~coverage_map.errors.ValidationError` when any is fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import CoverageMapError, Problem, ValidationError
from ..model import Inputs, SourceInfo
from ..taxonomy import Taxonomy
from ._checks import _has_fatal
from .areas import load_areas
from .assets import _assets_frame, load_assets
from .lookup import _load_lookup
from .mapping import ColumnMapping, Mappings, population_roles
from .population import _load_population
from .practices import _load_practices
from .referrals import _load_referrals


def load_inputs(
    *,
    areas: str | Path,
    assets: str | Path,
    lookup: str | Path | None = None,
    population: str | Path | Sequence[str | Path] | None = None,
    referrals: str | Path | None = None,
    taxonomy: str | Path | Taxonomy | None = None,
    area_id_col: str | None = None,
    area_name_col: str | None = None,
    crs: str | None = None,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None = None,
    groups: str | Path | None = None,
    practices: str | Path | None = None,
    origins: str | Path | None = None,
    travel_times: str | Path | None = None,
    imd: str | Path | None = None,
    mappings: Mappings | None = None,
    on_file: Callable[[str], None] | None = None,
) -> Inputs:
    """Load and validate every input, reporting the problems of all files at once.

    Parameters
    ----------
    areas, assets
        Required inputs (see :func:`load_areas`, :func:`load_assets`).
    lookup, population, referrals
        Optional inputs (see :func:`load_lookup`, :func:`load_population`,
        :func:`load_referrals`). ``population`` may be several files, joined on the area code.
    taxonomy
        A TOML file extending or replacing the vocabulary, a :class:`Taxonomy`, or None
        for the built-in vocabulary.
    area_id_col, area_name_col
        Override the detected area id and name columns.
    crs
        CRS of files that do not say theirs (CSV with WKT geometry, shapefile without .prj).
    lookup_levels, groups
        How to read an ONS-style lookup, and a second table grouping its wards (or
        areas) into neighbourhoods (see :func:`load_lookup`).
    practices
        GP practice file, for referrals keyed by ``origin_practice_code`` (see
        :func:`load_practices`).
    origins, travel_times, imd
        Optional inputs (see :func:`coverage_map.ingest.origins.load_origins`,
        :func:`coverage_map.ingest.travel_times.load_travel_times`,
        :func:`coverage_map.ingest.imd.load_imd`).
    mappings
        The files' own column names, whole-file values and labels, by role
        (:class:`~coverage_map.ingest.mapping.Mappings`); an areas mapping names the id and
        name columns, as ``area_id_col`` and ``area_name_col`` do (which win); a lookup mapping
        its level columns, as ``lookup_levels`` does (which wins); the second, third...
        population file's are ``population_2``, ``population_3``...
    on_file
        Hears each file's role as its reading starts, in :func:`reading_steps` order (the
        dashboard's progress bar while a large saved dataset opens).

    Returns
    -------
    Inputs
        Harmonised frames, the non-fatal problems and a :class:`SourceInfo` per file.

    Raises
    ------
    ValidationError
        When any problem in any file is fatal. It lists every problem found in every
        file, fatal ones first. Files that depend on the areas (lookup, population,
        referral origins) are still checked on their own when the areas are unusable.
    """
    read = _Read()
    heard = on_file or _nobody
    mappings = mappings or Mappings()
    area_map = (mappings.get("areas") or ColumnMapping()).column_map
    area_id_col = area_id_col or area_map.get("area_id")
    area_name_col = area_name_col or area_map.get("area_name")
    vocabulary = _taxonomy(taxonomy, read.problems)
    heard("areas")
    area_frame, area_problems = load_areas(areas, id_col=area_id_col, name_col=area_name_col, crs=crs)
    read.add("areas", areas, len(area_frame), area_problems)
    # With unusable areas, checking the other files against them would only add noise.
    area_ids = None if _has_fatal(area_problems) else list(area_frame["area_id"])
    if lookup is not None:
        heard("lookup")
    lookup_frame = _read_lookup(lookup, area_ids, read, lookup_levels=lookup_levels, groups=groups,
                                mapping=mappings.get("lookup"))  # fmt: skip
    if practices is not None:
        heard("practices")
    practice_frame = _read_practices(practices, area_ids, read, crs=crs)

    asset_frame, assets_usable = _assets_frame(None, {}), False
    population_frame = referral_frame = None
    if vocabulary is not None:
        heard("assets")
        asset_frame, found = load_assets(assets, vocabulary, crs=crs, mapping=mappings.get("assets"))
        read.add("assets", assets, len(asset_frame), found)
        assets_usable = not _has_fatal(found)
        if population is not None:
            heard("population")
            count = 1 if isinstance(population, str | Path) else len(population)
            population_frame, found = _load_population(
                population, area_ids, vocabulary, mapping=[mappings.get(role) for role in population_roles(count)]
            )
            read.add("population", _joined_names(population), len(population_frame), found)
        if referrals is not None:
            heard("referrals")
            referral_frame, found = _load_referrals(
                referrals, vocabulary, area_ids=area_ids, crs=crs, practices=practice_frame,
                practices_file=str(practices) if practices is not None else None, mapping=mappings.get("referrals"),
            )  # fmt: skip
            read.add("referrals", referrals, len(referral_frame), found)

    if any(path is not None for path in (origins, travel_times, imd)):
        heard(AREA_TABLES)
    extra, found = _area_tables(
        area_frame if area_ids is not None else None, asset_frame if assets_usable else None,
        origins=origins, travel_times=travel_times, imd=imd, crs=crs,
    )  # fmt: skip
    read.problems += found
    for role, path in (("origins", origins), ("travel_times", travel_times), ("imd", imd)):
        if path is not None:
            read.add(role, path, len(extra[role]))

    if _has_fatal(read.problems):
        raise ValidationError(sorted(read.problems, key=lambda problem: not problem.fatal))
    assert vocabulary is not None  # a taxonomy that failed to load is a fatal problem
    return Inputs(
        areas=area_frame,
        assets=asset_frame,
        taxonomy=vocabulary,
        lookup=lookup_frame,
        population=population_frame,
        referrals=referral_frame,
        problems=tuple(read.problems),
        sources=tuple(read.sources),
        origins=extra.get("origins"),
        travel_times=extra.get("travel_times"),
        imd=extra.get("imd"),
    )


#: The step :func:`load_inputs` reports for the per-area tables (origins, travel times, IMD), read together.
AREA_TABLES = "area tables"
#: The steps :func:`load_inputs` reports, in its reading order (groups are read with the lookup).
READING_ORDER = ("areas", "lookup", "practices", "assets", "population", "referrals", AREA_TABLES)


def reading_steps(files: Mapping[str, object]) -> list[str]:
    """The steps :func:`load_inputs` will report for ``files`` (its keyword arguments by name), in order."""
    given = {role for role, value in files.items() if value is not None and value != []}
    if given & {"origins", "travel_times", "imd"}:
        given.add(AREA_TABLES)
    return [role for role in READING_ORDER if role in given]


def _nobody(role: str) -> None:
    """Nobody listening to the reading."""


def _joined_names(paths: str | Path | Sequence[str | Path]) -> str:
    """One file's path, or several files' paths joined with ``" + "`` (the population's source)."""
    return str(paths) if isinstance(paths, str | Path) else " + ".join(str(path) for path in paths)


@dataclass
class _Read:
    """What the files read so far gave: every problem and a :class:`SourceInfo` per file, in reading order."""

    problems: list[Problem] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)

    def add(self, role: str, path: str | Path, rows: int, found: Sequence[Problem] = ()) -> None:
        """One file read: its problems and its source."""
        self.problems += found
        self.sources.append(SourceInfo(role, str(path), rows))


def _read_lookup(
    lookup: str | Path | None,
    area_ids: Sequence[str] | None,
    read: _Read,
    *,
    lookup_levels: Mapping[str, str | Sequence[str | None]] | None,
    groups: str | Path | None,
    mapping: ColumnMapping | None = None,
) -> pd.DataFrame | None:
    """The lookup, with its groups; groups or lookup levels without a lookup are a problem."""
    if lookup is None:
        if groups is not None or lookup_levels is not None:
            option = "groups (--groups)" if groups is not None else "lookup_levels (--neighbourhood-col, --borough-col)"
            read.problems.append(
                Problem(
                    str(groups or "lookup"), f"{option} needs a lookup (--lookup) saying which borough each area is in"
                )
            )
        return None
    frame, found, group_rows = _load_lookup(lookup, area_ids, lookup_levels=lookup_levels, groups=groups,
                                            mapping=mapping)  # fmt: skip
    read.add("lookup", lookup, len(frame), found)
    if groups is not None:
        read.add("groups", groups, group_rows)
    return frame


def _read_practices(
    practices: str | Path | None, area_ids: Sequence[str] | None, read: _Read, *, crs: str | None
) -> pd.DataFrame | None:
    """The GP practices, or None when there are none or they are unusable.

    Unusable practices (a fatal problem) leave the referrals checked without them, not against them.
    """
    if practices is None:
        return None
    frame, found = _load_practices(practices, area_ids, crs=crs)
    read.add("practices", practices, len(frame), found)
    return None if _has_fatal(found) else frame


def _area_tables(
    areas: gpd.GeoDataFrame | None,
    assets: gpd.GeoDataFrame | None,
    *,
    origins: str | Path | None,
    travel_times: str | Path | None,
    imd: str | Path | None,
    crs: str | None,
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The optional per-area tables by role, checked against the areas (and assets) when usable."""
    from .imd import load_imd
    from .origins import load_origins
    from .travel_times import load_travel_times

    tables: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    if origins is not None:
        tables["origins"], found = load_origins(origins, areas=areas, crs=crs)
        problems += found
    if travel_times is not None:
        tables["travel_times"], found = load_travel_times(travel_times, areas=areas, assets=assets)
        problems += found
    if imd is not None:
        tables["imd"], found = load_imd(imd, areas=areas)
        problems += found
    return tables, problems


def _taxonomy(taxonomy: str | Path | Taxonomy | None, problems: list[Problem]) -> Taxonomy | None:
    if taxonomy is None:
        return Taxonomy.builtin()
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    try:
        return Taxonomy.from_toml(taxonomy)
    except CoverageMapError as error:
        text = str(error)
        prefix = f"{Path(taxonomy)}: "
        problems.append(
            Problem(
                str(taxonomy),
                text.removeprefix(prefix) + " (assets, population and referrals are checked once it loads)",
            )
        )
        return None
