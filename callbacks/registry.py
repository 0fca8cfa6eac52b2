"""Read-only data shared by every request: the default data set and uploaded ones by token.

Only immutable, derived data is memoised here (data sets, simplified boundaries, asset
points). Nothing about a visitor's view is stored on the server: that lives in the
browser (URL and ``dcc.Store``). An uploaded data set is found by its session token and
rebuilt from disk by whichever worker first needs it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd

from coverage_map.config import DISPLAY_CRS
from coverage_map.dataset import Dataset
from coverage_map.figures import units_geojson

from . import uploads
from .settings import Settings

DEFAULT_KEY = "default"


@dataclass(frozen=True)
class Loaded:
    """A data set and the key its derived data is cached under."""

    key: str
    dataset: Dataset
    uploaded: bool


class Registry:
    """Data sets by session token, plus memoised boundaries and asset points (all read-only)."""

    def __init__(self, default: Dataset, settings: Settings, *, max_uploaded: int = 4) -> None:
        self.default = default
        self.settings = settings
        self._max_uploaded = max_uploaded
        self._uploaded: OrderedDict[str, Dataset] = OrderedDict()
        self._derived: dict[tuple[str, ...], object] = {}
        self._lock = threading.RLock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, token: object) -> Loaded:
        """The data set of a session token; the default one for no token or an unknown one."""
        if not uploads.is_token(token):
            return Loaded(DEFAULT_KEY, self.default, uploaded=False)
        assert isinstance(token, str)
        with self._lock:
            if token in self._uploaded:
                self._uploaded.move_to_end(token)
                return Loaded(token, self._uploaded[token], uploaded=True)
            gate = self._loading.setdefault(token, threading.Lock())
        with gate:  # one worker thread loads a token; others wait for it
            with self._lock:
                if token in self._uploaded:
                    return Loaded(token, self._uploaded[token], uploaded=True)
            try:
                dataset = uploads.load_session(self.settings.data_dir, token)
            except Exception:  # noqa: BLE001 - a broken or expired upload falls back to the default data
                return Loaded(DEFAULT_KEY, self.default, uploaded=False)
            self.remember(token, dataset)
            return Loaded(token, dataset, uploaded=True)

    def remember(self, token: str, dataset: Dataset) -> None:
        """Keep a freshly loaded upload (the least recently used one is dropped when full)."""
        with self._lock:
            self._uploaded[token] = dataset
            self._uploaded.move_to_end(token)
            while len(self._uploaded) > self._max_uploaded:
                old, _ = self._uploaded.popitem(last=False)
                self._derived = {k: v for k, v in self._derived.items() if k[0] != old}

    def _memo(self, key: tuple[str, ...], build):  # noqa: ANN001, ANN202
        with self._lock:
            if key in self._derived:
                return self._derived[key]
        value = build()
        with self._lock:
            return self._derived.setdefault(key, value)

    def geojson(self, loaded: Loaded, level: str) -> dict:
        """Simplified, rounded boundaries of ``level`` (built once per data set and level)."""
        return self._memo((loaded.key, "geojson", level), lambda: units_geojson(loaded.dataset.units_wgs84(level)))

    def asset_points(self, loaded: Loaded) -> pd.DataFrame:
        """Every located asset with lon/lat and its borough, for the map."""

        def build() -> pd.DataFrame:
            dataset = loaded.dataset
            assets = dataset.prepared.assets
            points = assets.to_crs(DISPLAY_CRS)
            borough = assets["area_id"].map(dataset.borough_of("area")) if "neighbourhood" in dataset.levels else None
            frame = pd.DataFrame(
                {
                    "asset_id": assets["asset_id"].astype(str).to_numpy(),
                    "name": assets["name"].to_numpy(),
                    "categories": assets["categories"].to_numpy(),
                    "communities": assets["communities"].to_numpy(),
                    "capacity": assets["capacity"].to_numpy(),
                    "accepting_referrals": assets["accepting_referrals"].to_numpy(),
                    "lon": points.geometry.x.to_numpy(),
                    "lat": points.geometry.y.to_numpy(),
                    "borough_id": borough.astype(str).to_numpy() if borough is not None else "",
                }
            )
            return frame

        return self._memo((loaded.key, "assets"), build)

    def members(self, loaded: Loaded, level: str) -> pd.Series:
        """Small area id -> unit id at ``level``."""

        def build() -> pd.Series:
            membership = loaded.dataset.prepared.membership
            column = "area_id" if level == "area" else f"{level}_id"
            units = membership["area_id"] if level == "area" else membership[column]
            return pd.Series(units.astype(str).to_numpy(), index=membership["area_id"].astype(str).to_numpy())

        return self._memo((loaded.key, "members", level), build)
