"""What changed between two asset tables, service by service (:func:`diff_assets`).

A workspace sync (``coverage-map workspace sync``) compares the asset file it stored last time
with the one a feed gives now. Services are matched by ``service_id`` (one asset row per
service *at* a location, as ``import-oruk`` writes them), or by ``asset_id`` when either table
has no ``service_id``. A service is *changed* when any field the asset file publishes differs:
its name, categories, communities, reach, status, dates, url, or any of its locations (added,
removed or moved). The ``source`` column (where the file came from) and the row numbers are
not compared.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely

#: Columns never compared: bookkeeping, not a service's data.
IGNORED_COLUMNS = frozenset({"source", "_source_row"})


@dataclass(frozen=True)
class ServiceDiff:
    """Service ids added, removed and changed (each sorted), and how many are unchanged."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Nothing added, removed or changed."""
        return not (self.added or self.removed or self.changed)

    def counts(self) -> str:
        """``2 added, 1 removed, 3 changed`` (or ``no change``)."""
        if self.empty:
            return "no change"
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"

    def as_mapping(self) -> dict[str, object]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "unchanged": self.unchanged,
        }

    @classmethod
    def from_mapping(cls, data: object) -> ServiceDiff:
        if not isinstance(data, dict):
            return cls()
        ids = {key: tuple(str(item) for item in data.get(key) or ()) for key in ("added", "removed", "changed")}
        unchanged = data.get("unchanged")
        return cls(**ids, unchanged=unchanged if isinstance(unchanged, int) else 0)


def diff_assets(before: pd.DataFrame, after: pd.DataFrame) -> ServiceDiff:
    """Services added, removed and changed from ``before`` to ``after`` (two asset tables).

    Parameters
    ----------
    before, after
        Asset tables as read from their files (any columns; a geometry is compared as its
        longitude and latitude to 6 decimals when there are no ``latitude``/``longitude`` columns).
    """
    key = "service_id" if {"service_id"} <= set(before.columns) & set(after.columns) else "asset_id"
    columns = sorted((_fields(before) | _fields(after)) - {key})
    old, new = _services(before, key, columns), _services(after, key, columns)
    both = old.keys() & new.keys()
    changed = sorted(service for service in both if old[service] != new[service])
    return ServiceDiff(
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        changed=tuple(changed),
        unchanged=len(both) - len(changed),
    )


def _fields(frame: pd.DataFrame) -> set[str]:
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return {str(column) for column in frame.columns if column not in IGNORED_COLUMNS and column != geometry}


def _services(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[str, list[tuple[str, ...]]]:
    """Each service's rows as sorted tuples of canonical text, one per location."""
    if key not in frame.columns:
        return {}
    points = _points(frame) if not {"latitude", "longitude"} <= set(frame.columns) else None
    rows: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    values = [frame[column] if column in frame.columns else pd.Series("", index=frame.index) for column in columns]
    for position, identifier in enumerate(frame[key]):
        service = _identifier(identifier)
        if not service:
            continue
        row = tuple(_canonical(series.iloc[position]) for series in values)
        rows[service].append(row if points is None else (*row, points[position]))
    return {service: sorted(items) for service, items in rows.items()}


def _points(frame: pd.DataFrame) -> list[str]:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        return [""] * len(frame)
    geometry = frame.geometry.to_crs("EPSG:4326") if not frame.crs.equals("EPSG:4326") else frame.geometry
    rounded = shapely.set_precision(geometry.to_numpy(), 1e-6)
    return ["" if shape is None or shape.is_empty else shape.wkt for shape in rounded]


def _identifier(value: object) -> str:
    """An id as text: 7 read as a number and "7" read as text are the same id, "007" is another."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
        else str(value).strip()
    )


def _canonical(value: object) -> str:
    """One text for a value however the file format typed it: 53.41 and "53.41" are the same."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.10g}"
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:.10g}" if math.isfinite(number) and text.lower() not in ("inf", "nan") else text
