"""Paths and constants, read once at start-up. Secrets come from the environment only."""

from __future__ import annotations

import os
from pathlib import Path

#: Metric work (areas, distances, buffers) happens in British National Grid.
METRIC_CRS = "EPSG:27700"
#: Display and GeoJSON output use WGS84 longitude/latitude.
DISPLAY_CRS = "EPSG:4326"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
#: The shipped synthetic demo data set; ``COVERAGE_MAP_GEODATA`` points elsewhere.
GEODATA_DIR = Path(os.environ.get("COVERAGE_MAP_GEODATA", PROJECT_DIR / "geodata"))

DEFAULT_THRESHOLD_KM = 2.0
#: Referral counts 1..SUPPRESS_MAX are suppressed; the rest are rounded to ROUND_TO.
SUPPRESS_MAX = 7
ROUND_TO = 5

LEVELS = ("area", "neighbourhood", "borough")
UNASSIGNED_ID = "UNASSIGNED"
UNASSIGNED_NAME = "Not in lookup"

#: Demo file names inside a data folder (``coverage-map demo-data`` writes these).
DEMO_FILES = {
    "areas": "areas.geojson",
    "lookup": "lookup.csv",
    "population": "population.csv",
    "assets": "assets.csv",
    "referrals": "referrals.csv",
    "imd": "imd.csv",
}

# Dashboard at scale (England: ~34,000 small areas, 100,000 services). Only what is *drawn* or
# *listed on screen* is limited; tables, downloads and reports always cover every unit.

#: The most units one map draws. A level with more (England's small areas) is drawn one borough at
#: a time; until a borough is chosen the map shows the finest coarser level that fits.
MAP_UNIT_LIMIT = 5_000
#: The most service points one map draws. When a need has more across every borough, the points
#: are shown once a borough is chosen.
MAP_ASSET_LIMIT = 2_000
#: Rows the gap table and the organisations table send to the browser (worst first); the CSV
#: download holds every row.
TABLE_ROW_LIMIT = 2_000
#: Boundary simplification per level, in metres (British National Grid, shared borders kept
#: shared): coarser levels are seen from further away, so they can lose more detail.
SIMPLIFY_TOLERANCE_M = {"area": 25.0, "neighbourhood": 50.0, "borough": 100.0}
#: Decimal places kept in map longitudes and latitudes (5 places of a degree is about 1 m).
MAP_COORD_PRECISION = 5
