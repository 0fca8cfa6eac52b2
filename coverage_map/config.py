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
}
