"""Candidate sites for the demo region: community venues where a new service could open.

A shipped candidate layer for site suggestion (``coverage-map suggest --candidates``, the
dashboard's "What if" tab): in every neighbourhood, a few venues (a library, a community
centre, a place of worship...) at points inside some of its small areas. Like the rest of
the demo it is fictional and deterministic: the same areas, lookup and seed give the same
file. It is made from the files the demo already ships, so regenerating it leaves them
alone::

    python -m coverage_map.demo.venues geodata      # writes geodata/candidates.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import DISPLAY_CRS, METRIC_CRS
from .scales import DEFAULT_SEED

#: The file name of the layer, next to the demo files.
CANDIDATES_FILE = "candidates.csv"
#: Kinds of venue, in the order each neighbourhood takes them.
VENUE_KINDS = ("Library", "Community Centre", "Methodist Chapel", "Leisure Centre", "Village Hall", "Mosque")
#: Venues per neighbourhood.
PER_NEIGHBOURHOOD = 4


def candidate_venues(areas: gpd.GeoDataFrame, lookup: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """``site_id``, ``site_name``, ``kind``, ``latitude``, ``longitude`` of the demo's community venues.

    Parameters
    ----------
    areas
        The demo's small areas (``area_id`` and polygons, any CRS).
    lookup
        ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``.
    seed
        Which small areas hold a venue, and where in them.
    """
    rng = np.random.default_rng([seed, 14])
    metric = areas.to_crs(METRIC_CRS).set_index(areas["area_id"].astype(str))
    members = lookup.assign(area_id=lookup["area_id"].astype(str)).sort_values(["neighbourhood_id", "area_id"])
    rows = []
    groups = members.groupby(["neighbourhood_id", "neighbourhood_name"], sort=True)
    for start, ((_, name), group) in enumerate(groups):
        ids = group["area_id"].to_numpy()
        chosen = sorted(rng.choice(ids, size=min(PER_NEIGHBOURHOOD, len(ids)), replace=False))
        for number, area_id in enumerate(chosen):
            kind = VENUE_KINDS[(start + number) % len(VENUE_KINDS)]
            rows.append((str(name), kind, _point_inside(metric.geometry.loc[area_id], rng)))
    points = gpd.GeoSeries([point for _, _, point in rows], crs=METRIC_CRS).to_crs(DISPLAY_CRS)
    return pd.DataFrame(
        {
            "site_id": [f"XV{n:04d}" for n in range(1, len(rows) + 1)],
            "site_name": [f"{name} {kind}" for name, kind, _ in rows],
            "kind": [kind for _, kind, _ in rows],
            "latitude": points.y.round(6).to_numpy(),
            "longitude": points.x.round(6).to_numpy(),
        }
    )


def write_venues(folder: str | Path, *, seed: int = DEFAULT_SEED) -> Path:
    """Write :data:`CANDIDATES_FILE` from the demo files in ``folder``; returns its path."""
    from ..config import DEMO_FILES

    folder = Path(folder)
    areas = gpd.read_file(folder / DEMO_FILES["areas"])
    lookup = pd.read_csv(folder / DEMO_FILES["lookup"], dtype=str)
    path = folder / CANDIDATES_FILE
    candidate_venues(areas, lookup, seed=seed).to_csv(
        path, index=False, lineterminator="\n", float_format="%.6f", encoding="utf-8"
    )
    return path


def _point_inside(polygon: object, rng: np.random.Generator) -> object:
    """A point inside ``polygon``: a random one within its bounds (a few tries), else its representative point."""
    from shapely.geometry import Point

    minx, miny, maxx, maxy = polygon.bounds  # type: ignore[attr-defined]
    for _ in range(20):
        point = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(point):  # type: ignore[attr-defined]
            return point
    return polygon.representative_point()  # type: ignore[attr-defined]


if __name__ == "__main__":  # pragma: no cover - the regeneration command in the module docstring
    print(write_venues(sys.argv[1] if len(sys.argv) > 1 else "geodata"))
