"""A loaded data set with its analyses memoised: what the dashboard, exports and reports share.

A :class:`Dataset` is read-only once built. It joins the inputs to geography once and
computes each level's analysis on first use, so the dashboard can switch level, category
or community without recomputing, and several users can share one instance safely.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .analysis import Analysis, analyse, published_assets, published_table
from .config import DEFAULT_THRESHOLD_KM, DEMO_FILES, DISPLAY_CRS, GEODATA_DIR
from .joins import Prepared, prepare
from .model import Inputs


@dataclass
class Dataset:
    """Inputs joined once, with per-level analyses and published tables computed on demand."""

    prepared: Prepared
    label: str = "data"
    synthetic: bool = False
    threshold_km: float = DEFAULT_THRESHOLD_KM
    _analyses: dict[str, Analysis] = field(default_factory=dict, repr=False)
    _published: dict[tuple[str, bool], pd.DataFrame] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_inputs(cls, inputs: Inputs, *, label: str = "data", synthetic: bool = False,
                    threshold_km: float = DEFAULT_THRESHOLD_KM) -> Dataset:
        """Join validated inputs to geography (the expensive step, done once)."""
        return cls(prepare(inputs), label=label, synthetic=synthetic, threshold_km=threshold_km)

    @classmethod
    def from_paths(cls, paths: Mapping[str, str | Path | None], *, label: str = "data",
                   synthetic: bool = False, threshold_km: float = DEFAULT_THRESHOLD_KM,
                   **options: object) -> Dataset:
        """Load, validate and join files named by role (``areas``, ``assets``, ``lookup``...)."""
        from .loaders import load_inputs

        inputs = load_inputs(**{role: paths.get(role) for role in DEMO_FILES}, **options)  # type: ignore[arg-type]
        return cls.from_inputs(inputs, label=label, synthetic=synthetic, threshold_km=threshold_km)

    @classmethod
    def demo(cls, folder: str | Path = GEODATA_DIR) -> Dataset:
        """The shipped synthetic demo data."""
        folder = Path(folder)
        paths = {role: folder / name for role, name in DEMO_FILES.items()}
        return cls.from_paths(paths, label="Synthetic demo region", synthetic=True)

    @property
    def inputs(self) -> Inputs:
        return self.prepared.inputs

    @property
    def levels(self) -> tuple[str, ...]:
        return self.prepared.levels

    @property
    def categories(self) -> tuple[str, ...]:
        return self.inputs.taxonomy.categories.labels

    @property
    def communities(self) -> tuple[str, ...]:
        """``all`` plus every community with a population column."""
        return ("all", *self.inputs.community_labels)

    @property
    def boroughs(self) -> pd.DataFrame:
        """``borough_id``, ``borough_name`` of every borough, by name."""
        frame = self.prepared.membership[["borough_id", "borough_name"]].drop_duplicates()
        return frame.sort_values("borough_name").reset_index(drop=True)

    def analysis(self, level: str) -> Analysis:
        """The true (unsuppressed) analysis at ``level``, computed once."""
        with self._lock:
            if level not in self._analyses:
                self._analyses[level] = analyse(self.prepared, level=level, threshold_km=self.threshold_km)
            return self._analyses[level]

    def table(self, level: str, *, suppress: bool = True) -> pd.DataFrame:
        """The published gap table at ``level`` (suppressed unless told otherwise)."""
        analysis = self.analysis(level)
        with self._lock:
            key = (level, suppress)
            if key not in self._published:
                self._published[key] = published_table(analysis, suppress=suppress)
            return self._published[key]

    def assets_table(self, *, suppress: bool = True) -> pd.DataFrame:
        """The published organisations table, sorted by pressure."""
        return published_assets(self.analysis("area"), suppress=suppress)

    def units(self, level: str) -> gpd.GeoDataFrame:
        """Polygons of ``level`` in EPSG:27700 (``area_id``, ``area_name``, ``geometry``)."""
        return self.prepared.units[level]

    def units_wgs84(self, level: str) -> gpd.GeoDataFrame:
        return self.units(level).to_crs(DISPLAY_CRS)

    def borough_of(self, level: str) -> pd.Series:
        """Unit id at ``level`` -> borough id (small areas and neighbourhoods sit in one borough)."""
        membership = self.prepared.membership
        column = "area_id" if level == "area" else f"{level}_id"
        pairs = membership.drop_duplicates(column)
        return pd.Series(pairs["borough_id"].to_numpy(), index=pairs[column].to_numpy(), name="borough_id")
