"""A deterministic synthetic city region, written in the project's input formats.

The region is fictional but placed in British National Grid (around E 385000, N 400000)
so that CRS handling, distances and basemaps behave as for a real English city region:

* an irregular outline about 45 km across;
* small areas (LSOA-like, 1,300-2,000 people) from a Voronoi tessellation of points
  whose density falls off from a main centre and from one town centre per borough, so
  central areas are small and outer ones large;
* boroughs grown over the area adjacency graph from the town centres (contiguous), and
  neighbourhoods of 30,000-50,000 people as balanced contiguous clusters inside each
  borough;
* community assets, and two years of referrals whose destinations are nearby matching
  assets, with deliberate gaps that an analysis must find (see :func:`generate_demo`),
  kept clear of any provision whose catchment would reach them;
* estimates of the people in need per area (``need_<category>`` columns) and a synthetic
  Index of Multiple Deprivation (``imd.csv``) with a planted inverse care pattern.

Only ``numpy.random.default_rng(seed)`` drives the randomness, every step works on
arrays in a fixed order and every output is sorted, so a seed gives byte-identical CSV
files. ``coverage-map demo-data --out geodata`` calls :func:`write_demo`.

Modules, in the order the generator runs:

* :mod:`.scales`: the region sizes (``demo`` and the national ``england`` benchmark set),
  the referral period, the seed and the file names per scale;
* :mod:`.noise`: smooth random fields (sums of plane waves);
* :mod:`.geography`: outline, town centres and small areas (:func:`~.geography.build_region`);
* :mod:`.boroughs`: boroughs and neighbourhoods grown from the small areas;
* :mod:`.population`: deprivation, population, the community counts, needs and IMD per area;
* :mod:`.gaps`: where the deliberate gaps go and the catchment-aware rules that keep them clean;
* :mod:`.catalogue`: category and community weights, group names, borough and city-wide services;
* :mod:`.assets`: the service directory (place, offer, reach, capacity);
* :mod:`.referrals`: referral origins, dates, communities and destinations;
* :mod:`.naming`: fictional names of boroughs, neighbourhoods, areas and groups;
* :mod:`.tables`: the frames as written (:class:`DemoData`) with ids and WGS84 coordinates;
* :mod:`.generate`: :func:`generate_demo`, the whole pipeline;
* :mod:`.found`: what gap method 2 must find for each gap, and what it finds in written files;
* :mod:`.write`: :func:`write_demo`, the files, ``gaps.json`` and the README.
"""

from __future__ import annotations

from .generate import generate_demo
from .scales import (
    DEFAULT_SEED,
    PERIOD_END,
    PERIOD_MONTHS,
    PERIOD_START,
    POPULATION_COMMUNITIES,
    REGION_NAME,
    SCALE_FILES,
)
from .tables import DemoData
from .write import GAPS_FILE, README_FILE, write_demo

__all__ = [
    "DEFAULT_SEED",
    "GAPS_FILE",
    "PERIOD_END",
    "PERIOD_MONTHS",
    "PERIOD_START",
    "POPULATION_COMMUNITIES",
    "README_FILE",
    "REGION_NAME",
    "SCALE_FILES",
    "DemoData",
    "generate_demo",
    "write_demo",
]
