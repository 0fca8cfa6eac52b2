"""A loaded data set with its analyses memoised: what the dashboard, exports and reports share.

A :class:`Dataset` is read-only once built. It joins the inputs to geography once and
computes each level's analysis on first use, so the dashboard can switch level, category
or community without recomputing, and several users can share one instance safely.
What it memoises (analyses, published tables, map boundaries, row indexes) depends only on
the data and the arguments, never on who asks, and belongs to the instance: two data sets
never share an entry, and dropping a data set drops its memos.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .analysis import Analysis, analyse, published_assets, published_table
from .config import DEFAULT_THRESHOLD_KM, DISPLAY_CRS, GEODATA_DIR, SIMPLIFY_TOLERANCE_M
from .equity import Equity, equity, subject_for
from .errors import CoverageMapError
from .joins import Prepared, prepare
from .method import DEFAULT_METHOD, GapMethod
from .model import Inputs
from .spec import InputSpec

if TYPE_CHECKING:
    from .geojson import SharedGeoJSON
    from .protection import Protection


@dataclass
class Dataset:
    """Inputs joined once, with per-level analyses and published tables computed on demand."""

    prepared: Prepared
    label: str = "data"
    synthetic: bool = False
    threshold_km: float = DEFAULT_THRESHOLD_KM
    method: GapMethod = DEFAULT_METHOD
    _analyses: dict[str, Analysis] = field(default_factory=dict, repr=False)
    _published: dict[tuple[str, bool], pd.DataFrame] = field(default_factory=dict, repr=False)
    _derived: dict[tuple[str, ...], object] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_inputs(
        cls,
        inputs: Inputs,
        *,
        label: str = "data",
        synthetic: bool = False,
        threshold_km: float = DEFAULT_THRESHOLD_KM,
        method: GapMethod = DEFAULT_METHOD,
        on_step: Callable[[str], None] | None = None,
    ) -> Dataset:
        """Join validated inputs to geography (the expensive step, done once); ``on_step`` hears
        each of :data:`coverage_map.joins.JOIN_STEPS` as it starts."""
        return cls(prepare(inputs, on_step), label=label, synthetic=synthetic, threshold_km=threshold_km,
                   method=method)  # fmt: skip

    @classmethod
    def from_spec(
        cls,
        spec: InputSpec,
        *,
        label: str = "data",
        synthetic: bool = False,
        threshold_km: float = DEFAULT_THRESHOLD_KM,
        method: GapMethod = DEFAULT_METHOD,
    ) -> Dataset:
        """Load, validate and join the files a spec names (see :class:`coverage_map.spec.InputSpec`)."""
        return cls.from_inputs(spec.load(), label=label, synthetic=synthetic, threshold_km=threshold_km, method=method)

    @classmethod
    def demo(cls, folder: str | Path = GEODATA_DIR) -> Dataset:
        """The shipped synthetic demo data."""
        return cls.from_spec(InputSpec.demo(folder), label="Synthetic demo region", synthetic=True)

    def with_proposed(self, proposed: gpd.GeoDataFrame, *, source: str | None = None) -> Dataset:
        """This data set with proposed services added to the real ones (a what-if scenario).

        The joined inputs come from :func:`coverage_map.scenario.with_proposed`; label, method
        and threshold stay the same. The map boundaries already built are shared, since the
        geography does not change.

        Raises
        ------
        ValidationError
            As :func:`~coverage_map.scenario.with_proposed`: a service outside every area, or
            an ``asset_id`` already taken.
        """
        from .scenario import TYPED_IN, with_proposed

        prepared = with_proposed(self.prepared, proposed, source=source or TYPED_IN)
        derived = Dataset(prepared, label=self.label, synthetic=self.synthetic, threshold_km=self.threshold_km,
                          method=self.method)  # fmt: skip
        with self._lock:
            derived._derived.update({key: value for key, value in self._derived.items() if key[0] == "boundaries"})
        return derived

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

    def check_level(self, level: str) -> str:
        """``level`` if this data set has it, else a :class:`~coverage_map.errors.CoverageMapError` saying why not."""
        if level not in self.levels:
            why = (
                "needs a lookup (--lookup) saying which neighbourhood and borough each area is in"
                if level in ("neighbourhood", "borough")
                else "is not a level of this data"
            )
            raise CoverageMapError(f"the '{level}' level {why}; the levels available are {', '.join(self.levels)}")
        return level

    def analysis(self, level: str) -> Analysis:
        """The true (unsuppressed) analysis at ``level``, computed once."""
        self.check_level(level)
        with self._lock:
            if level not in self._analyses:
                self._analyses[level] = analyse(
                    self.prepared, level=level, threshold_km=self.threshold_km, method=self.method
                )
            return self._analyses[level]

    @property
    def has_imd(self) -> bool:
        """Whether deprivation (IMD) was given, so the equity view can be shown."""
        return self.inputs.imd is not None and len(self.inputs.imd) > 0

    def equity(self, category: str, community: str = "all") -> Equity | None:
        """Access by deprivation for one need (small areas, need-weighted), or None without IMD.

        See :func:`coverage_map.equity.equity`: the concentration index of ``access_per_10k``
        against IMD rank, the slope index of inequality across IMD deciles, the decile means
        and one plain-English sentence. Computed once per category and community.
        """
        if not self.has_imd:
            return None

        def build() -> Equity | None:
            table = self.analysis("area").table
            rows = table[(table["category"] == category) & (table["community"] == community)]
            if rows.empty or not rows["provision_exists"].any():
                return None
            imd = self.inputs.imd
            assert imd is not None
            by_area = imd.drop_duplicates("area_id").set_index("area_id")
            ids = rows["area_id"].astype(str)
            rank = ids.map(by_area["imd_rank"]).to_numpy(dtype=float, na_value=np.nan)
            decile = (
                ids.map(by_area["imd_decile"]).to_numpy(dtype=float, na_value=np.nan)
                if "imd_decile" in by_area
                else None
            )
            need = rows["need"].to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(need).all():
                need = np.ones(len(rows))
            return equity(
                rows["access_per_10k"].to_numpy(dtype=float, na_value=np.nan),
                need,
                imd_rank=rank,
                imd_decile=decile,
                subject=subject_for(category),
            )

        return self._memo(("equity", category, community), build)  # type: ignore[return-value]

    def protection(self) -> Protection:
        """The suppression of everything this data set publishes, chosen once for all of it.

        Every level's gap table, every unit's monthly trend and the organisations table are
        protected together (:func:`coverage_map.protection.protect_dataset`), so no
        combination of them narrows a suppressed count below five possible values.
        """

        def build() -> Protection:
            from .protection import protect_dataset

            return protect_dataset(self.prepared, {level: self.analysis(level) for level in self.levels})

        return self._memo(("protection",), build)  # type: ignore[return-value]

    def table(self, level: str, *, suppress: bool = True) -> pd.DataFrame:
        """The published gap table at ``level`` (suppressed unless told otherwise)."""
        analysis = self.analysis(level)
        hidden = self.protection().table_hidden(level) if suppress else None
        with self._lock:
            key = (level, suppress)
            if key not in self._published:
                self._published[key] = published_table(analysis, suppress=suppress, hidden=hidden)
            return self._published[key]

    def assets_table(self, *, suppress: bool = True) -> pd.DataFrame:
        """The published organisations table, sorted by pressure (built once; do not change it)."""

        def build() -> pd.DataFrame:
            hidden = self.protection().asset_hidden() if suppress else None
            return published_assets(self.analysis("area"), suppress=suppress, hidden=hidden)

        return self._memo(("assets_table", str(suppress)), build)  # type: ignore[return-value]

    def hidden_months(self, level: str, area_id: str, category: str, community: str) -> frozenset[pd.Period]:
        """The months suppressed in one unit's monthly trend (see :meth:`protection`)."""
        return self.protection().hidden_months(level, area_id, category, community)

    def units(self, level: str) -> gpd.GeoDataFrame:
        """Polygons of ``level`` in EPSG:27700 (``area_id``, ``area_name``, ``geometry``)."""
        return self.prepared.units[self.check_level(level)]

    def units_wgs84(self, level: str) -> gpd.GeoDataFrame:
        return self.units(level).to_crs(DISPLAY_CRS)

    def borough_of(self, level: str) -> pd.Series:
        """Unit id at ``level`` -> borough id (small areas and neighbourhoods sit in one borough)."""
        membership = self.prepared.membership
        column = "area_id" if level == "area" else f"{level}_id"
        pairs = membership.drop_duplicates(column)
        return pd.Series(pairs["borough_id"].to_numpy(), index=pairs[column].to_numpy(), name="borough_id")

    def rows(self, level: str, category: str, community: str, *, borough: str | None = None) -> pd.DataFrame:
        """Rows of the published table at ``level`` for one category and community.

        With ``borough`` (a ``borough_id``), only the units inside it (at ``level="borough"``,
        that borough's own row). The row positions are indexed once per level; each call
        returns a new frame (numbered from 0), which the caller may change freely.
        """
        table = self.table(level)
        positions = self._row_positions(level).get((category, community), _NO_ROWS)
        if borough is not None:
            positions = positions[self._in_borough(level)[positions] == str(borough)]
        return table.take(positions).reset_index(drop=True)

    def boundaries(self, level: str) -> SharedGeoJSON:
        """Simplified, rounded boundaries of ``level`` for maps (read-only, built once).

        Simplified by :data:`~coverage_map.config.SIMPLIFY_TOLERANCE_M` of the level (coarser
        levels are seen from further away). See :func:`coverage_map.geojson.units_geojson`
        and :func:`~coverage_map.geojson.share_geojson`.
        """
        from .geojson import share_geojson, units_geojson

        tolerance = SIMPLIFY_TOLERANCE_M.get(level, SIMPLIFY_TOLERANCE_M["area"])
        return self._memo(  # type: ignore[return-value]
            ("boundaries", level), lambda: share_geojson(units_geojson(self.units(level), tolerance_m=tolerance))
        )

    def freshness(self, today: date) -> pd.DataFrame | None:
        """When each asset was last verified, judged at ``today``: ``last_checked``, ``stale``,
        ``unknown`` indexed by asset id (text); None when the assets carry no dates.

        See :func:`coverage_map.freshness.asset_freshness`. Kept for the latest day asked
        (a long-running server moves on to the next day; it never keeps old days).
        """
        from .freshness import asset_freshness

        with self._lock:
            cached = self._derived.get(("freshness",))
        if isinstance(cached, tuple) and cached[0] == today:
            return cached[1]  # type: ignore[no-any-return]
        flags = asset_freshness(self.inputs.assets, today=today)
        if flags is not None:
            flags = flags.assign(asset_id=flags["asset_id"].astype(str)).drop_duplicates("asset_id")
            flags = flags.set_index("asset_id")
        with self._lock:
            self._derived[("freshness",)] = (today, flags)
        return flags

    def unit_count(self, level: str) -> int:
        """How many units ``level`` has."""
        return len(self.units(level))

    def unit_rows(self, level: str, area_id: str) -> pd.DataFrame:
        """Every row of the published table at ``level`` for one unit (a new frame, numbered from 0)."""

        def build() -> dict[str, np.ndarray]:
            ids = self.table(level)["area_id"].astype(str)
            groups = ids.groupby(ids.to_numpy(), sort=False).indices
            return {str(key): np.asarray(p, dtype=np.intp) for key, p in groups.items()}

        positions = self._memo(("unit_rows", level), build).get(str(area_id), _NO_ROWS)  # type: ignore[attr-defined]
        return self.table(level).take(positions).reset_index(drop=True)

    def provision_averages(self, level: str, community: str) -> pd.Series:
        """Mean provision per 10,000 people of every unit at ``level``, by category, for ``community``."""

        if level not in self.levels or community not in self.communities:
            return pd.Series(dtype=float)  # nothing to average (and no memo for a made-up name)

        def build() -> pd.Series:
            table = self.table(level)
            same_group = table[table["community"] == community]
            return same_group.groupby("category", sort=False, observed=True)["provision_per_10k"].mean()

        return self._memo(("provision_averages", level, community), build)  # type: ignore[return-value]

    def borough_names(self, level: str) -> dict[str, str]:
        """Unit id at ``level`` -> the name of its borough (empty at borough level or with no lookup)."""

        def build() -> dict[str, str]:
            if "neighbourhood" not in self.levels or level == "borough":
                return {}
            column = "area_id" if level == "area" else f"{level}_id"
            unique = self.prepared.membership.drop_duplicates(column)
            return dict(zip(unique[column].astype(str), unique["borough_name"].astype(str), strict=True))

        return self._memo(("borough_names", level), build)  # type: ignore[return-value]

    def assets_reaching(self, area_ids: Iterable[str]) -> gpd.GeoDataFrame:
        """The located assets reaching any of the small areas ``area_ids`` (citywide ones included);
        see :meth:`coverage_map.joins.Prepared.assets_reaching`."""
        return self.prepared.assets_reaching(area_ids)

    def _row_positions(self, level: str) -> dict[tuple[str, str], np.ndarray]:
        def build() -> dict[tuple[str, str], np.ndarray]:
            table = self.table(level)
            groups = table.groupby(["category", "community"], sort=False, observed=True).indices
            return {(str(c), str(g)): np.asarray(p, dtype=np.intp) for (c, g), p in groups.items()}

        return self._memo(("rows", level), build)  # type: ignore[return-value]

    def _in_borough(self, level: str) -> np.ndarray:
        """The borough id (text) of each row of the published table at ``level``."""

        def build() -> np.ndarray:
            ids = self.table(level)["area_id"]
            if level == "borough":  # a borough is its own borough
                return ids.astype(str).to_numpy()
            return ids.map(self.borough_of(level)).astype(str).to_numpy()

        return self._memo(("in_borough", level), build)  # type: ignore[return-value]

    def _memo(self, key: tuple[str, ...], build: Callable[[], object]) -> object:
        """``build()`` once per key (racing threads may both build; the first result is kept)."""
        with self._lock:
            if key in self._derived:
                return self._derived[key]
        value = build()  # outside the lock: it may call table(), which takes the lock
        with self._lock:
            return self._derived.setdefault(key, value)


_NO_ROWS = np.array([], dtype=np.intp)
