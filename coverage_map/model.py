"""The validated inputs every analysis step works on, and their column contracts.

Loaders (:mod:`coverage_map.ingest`) build an :class:`Inputs`; nothing downstream reads
files. All geometries are in :data:`coverage_map.config.METRIC_CRS` (EPSG:27700).

Column contracts (``_source_row`` is the spreadsheet/feature row the record came from,
kept so later steps can report problems by row; it never leaves the tool for referrals):

``areas`` (GeoDataFrame, Polygon/MultiPolygon)
    ``area_id`` (str, unique), ``area_name`` (str), ``geometry``, ``_source_row`` (int).
``lookup`` (DataFrame or None)
    ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``, ``borough_id``,
    ``borough_name`` (all str); exactly one row per area in ``areas``, areas missing from
    the file are filled with :data:`~coverage_map.config.UNASSIGNED_ID` (and reported).
``population`` (DataFrame or None)
    ``area_id`` (str, unique), ``population`` (float), ``pop_<community>`` (float) for
    each community column, with ``<community>`` a canonical community label, and
    ``need_<category>`` (float >= 0, NaN when unknown) for each need column: the estimated
    number of people in the area with that need, ``<category>`` a canonical category label.
``assets`` (GeoDataFrame, Point)
    ``asset_id`` (str, unique), ``name`` (str), ``categories`` (tuple of canonical
    labels, at least one), ``communities`` (tuple of canonical labels; empty = open to
    all), ``capacity`` (float, NaN when unknown), ``accepting_referrals`` (pandas
    ``boolean``, NA when unknown), ``reach`` (str: ``local``/``borough``/``citywide``/
    ``radius``), ``reach_km`` (float, NaN unless ``reach == "radius"``), ``geometry``,
    ``_source_row``, plus any optional pass-through columns (``last_checked``...). A
    scenario's frames (:mod:`coverage_map.scenario`) add ``proposed`` (bool): true for its
    hypothetical services (see :func:`proposed_rows`).
``referrals`` (GeoDataFrame, Point or empty geometry)
    ``category`` (canonical label), ``community`` (canonical label or NA), ``count``
    (int >= 1), ``date`` (datetime64 or NaT), ``asset_id`` (str or NA),
    ``origin_area_id`` (str or NA), ``geometry`` (the origin point when given by
    coordinates, else None), ``_coords`` (str: ``area``, ``lonlat``, ``en`` or
    ``geometry``: how the origin was given), ``_source_row``.
    ``referral_id`` is used for duplicate checks in the loader and then dropped.
``origins`` (GeoDataFrame, Point, or None)
    ``area_id`` (str, unique, one of ``areas``), ``geometry``: one point per small area
    where its people are taken to start from (e.g. ONS population-weighted centroids).
    Areas without a row are reported and have no origin.
``travel_times`` (DataFrame or None)
    ``area_id`` (str, one of ``areas``), ``asset_id`` (str, one of ``assets``),
    ``minutes`` (float >= 0); each (area, asset) pair at most once. Rows naming an
    unknown area or asset are reported with their row and left out.
``imd`` (DataFrame or None)
    ``area_id`` (str, unique, one of ``areas``), ``imd_rank`` (int, 1 = most deprived),
    ``imd_decile`` (int, 1..10, 1 = the most deprived 10%): the Index of Multiple
    Deprivation of each small area that has a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import Problem
from .taxonomy import Taxonomy


@dataclass(frozen=True)
class SourceInfo:
    """Where one input came from, for reports, attribution and rejected-row files."""

    role: str
    path: str
    rows: int
    attribution: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Inputs:
    """Validated, harmonised inputs in EPSG:27700, plus every non-fatal problem found."""

    areas: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    taxonomy: Taxonomy = field(default_factory=Taxonomy.builtin)
    lookup: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    referrals: gpd.GeoDataFrame | None = None
    problems: tuple[Problem, ...] = ()
    sources: tuple[SourceInfo, ...] = ()
    origins: gpd.GeoDataFrame | None = None
    travel_times: pd.DataFrame | None = None
    imd: pd.DataFrame | None = None

    @property
    def community_labels(self) -> tuple[str, ...]:
        """Communities that have a population column, in column order."""
        if self.population is None:
            return ()
        return tuple(c.removeprefix("pop_") for c in self.population.columns if c.startswith("pop_"))

    @property
    def need_labels(self) -> tuple[str, ...]:
        """Categories that have an estimated-need column (``need_<category>``), in column order."""
        if self.population is None:
            return ()
        return tuple(c.removeprefix("need_") for c in self.population.columns if c.startswith("need_"))


#: Words read as "true" in a ``proposed`` column (as in ``accepting_referrals``).
_TRUE = frozenset({"true", "yes", "y", "1", "t"})


def proposed_rows(assets: pd.DataFrame) -> np.ndarray:
    """Which rows of an assets frame are proposed services (a ``proposed`` column saying true, yes or 1)."""
    if "proposed" not in assets.columns:
        return np.zeros(len(assets), dtype=bool)
    column = assets["proposed"]
    if pd.api.types.is_bool_dtype(column):
        return pd.array(column, dtype="boolean").fillna(False).to_numpy(dtype=bool)
    text = column.astype("string").str.strip().str.lower().fillna("")
    return text.isin(_TRUE).to_numpy(dtype=bool)
