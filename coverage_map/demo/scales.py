"""What is generated: the two region sizes (the shipped demo and England), the period and the names.

:data:`SCALES` holds the counts and sizes of each region; everything else follows from
them and the seed. The ``england`` scale is the national benchmark set: the same
pipeline with 300 boroughs whose town centres are scattered over a 530 km outline
(``layout="national"``) and its big tables written as (Geo)Parquet (:data:`SCALE_FILES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..config import DEMO_FILES
from ..errors import CoverageMapError

DEFAULT_SEED = 2024
#: Referral dates run over 24 whole months, ending before the files were first shipped.
PERIOD_START = date(2024, 10, 1)
PERIOD_END = date(2026, 9, 30)
PERIOD_MONTHS = 24
#: Population columns: the communities the demo counts people for.
POPULATION_COMMUNITIES = ("older_people", "carers", "bame")
REGION_NAME = "Cottonport City Region"


@dataclass(frozen=True)
class Scale:
    """Counts and sizes of one generated region; everything else follows from them."""

    boroughs: int
    neighbourhoods: int
    areas: int
    assets: int
    referrals: int
    radius_m: float
    centre: tuple[float, float]
    no_carers_neighbourhoods: int
    hotspots: int
    diverse_neighbourhoods: int
    relax_iterations: int
    grid_step_m: float
    over_capacity: int
    #: ``city``: one main centre with the town centres in a ring around it; ``national``:
    #: town centres scattered over the whole outline (hundreds of boroughs).
    layout: str = "city"
    #: Share of the assets that reach everywhere (city-wide, or national services).
    citywide_share: float = 0.03


SCALES = {
    "demo": Scale(
        boroughs=10,
        neighbourhoods=68,
        areas=1700,
        assets=1500,
        referrals=50_000,
        radius_m=21_000.0,
        centre=(385_000.0, 400_000.0),
        no_carers_neighbourhoods=6,
        hotspots=3,
        diverse_neighbourhoods=5,
        relax_iterations=8,
        grid_step_m=70.0,
        over_capacity=20,
    ),
    # England at small-area level for benchmarks: 33,755 LSOA-like areas in 300 boroughs,
    # 100,000 assets and 2 million referrals over an outline about 530 km across.
    "england": Scale(
        boroughs=300,
        neighbourhoods=1350,
        areas=33_755,
        assets=100_000,
        referrals=2_000_000,
        radius_m=230_000.0,
        centre=(400_000.0, 300_000.0),
        no_carers_neighbourhoods=30,
        hotspots=30,
        diverse_neighbourhoods=60,
        relax_iterations=5,
        grid_step_m=500.0,
        over_capacity=20,
        layout="national",
        citywide_share=0.001,
    ),
}
#: File names per scale: the England-sized set keeps its big tables in (Geo)Parquet,
#: which loads many times faster than GeoJSON and CSV.
SCALE_FILES = {
    "demo": DEMO_FILES,
    "england": {
        "areas": "areas.parquet",
        "lookup": "lookup.csv",
        "population": "population.csv",
        "assets": "assets.csv",
        "referrals": "referrals.parquet",
        "imd": "imd.csv",
    },
}


def scale_spec(scale: str) -> Scale:
    """The :class:`Scale` named ``scale``; an unknown name raises :class:`CoverageMapError`."""
    if scale not in SCALES:
        raise CoverageMapError(f"unknown demo scale '{scale}'; choose one of {', '.join(SCALES)}")
    return SCALES[scale]
