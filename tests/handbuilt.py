"""Hand-built inputs whose expected results are worked out by hand in the tests.

Three 1 km boxes in a row (A, B, C) at a British National Grid offset::

    y=1000 +---------+---------+---------+
           |    A    |    B    |    C  a3|
           |  a1     |   a2    |    *    |
           | a4      |         |         |
    y=0    +---------+---------+---------+
           x=0      1000      2000      3000   (plus X0, Y0)

A and B form neighbourhood N1 in borough B1; C is neighbourhood N2 in borough B2.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage_map.config import METRIC_CRS
from coverage_map.model import Inputs
from coverage_map.taxonomy import Taxonomy

X0, Y0 = 380_000.0, 390_000.0


def box(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)


def areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C"], "area_name": ["Area A", "Area B", "Area C"], "_source_row": [1, 2, 3]},
        geometry=[box(0), box(1), box(2)],
        crs=METRIC_CRS,
    )


def lookup() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_id": ["A", "B", "C"],
            "neighbourhood_id": ["N1", "N1", "N2"],
            "neighbourhood_name": ["North", "North", "South"],
            "borough_id": ["B1", "B1", "B2"],
            "borough_name": ["Borough One", "Borough One", "Borough Two"],
        }
    )


def population() -> pd.DataFrame:
    return pd.DataFrame(
        {"area_id": ["A", "B", "C"], "population": [1000.0, 3000.0, 2000.0], "pop_bame": [100.0, 0.0, 500.0]}
    )


def assets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "asset_id": ["a1", "a2", "a3", "a4"],
            "name": ["Memory Café", "Carers & Dementia Hub", "Mind Matters", "Citywide Debt Line"],
            "categories": [
                ("dementia",),
                ("dementia", "carers_support"),
                ("mental_health",),
                ("debt_benefits_advice",),
            ],
            "communities": [(), ("bame",), (), ()],
            "capacity": [10.0, 5.0, np.nan, 20.0],
            "accepting_referrals": pd.array([True, True, False, pd.NA], dtype="boolean"),
            "reach": ["local", "borough", "radius", "citywide"],
            "reach_km": [np.nan, np.nan, 1.2, np.nan],
            "_source_row": [2, 3, 4, 5],
        },
        geometry=shapely.points([X0 + 500, X0 + 1500, X0 + 2500, X0 + 200], [Y0 + 500, Y0 + 500, Y0 + 900, Y0 + 200]),
        crs=METRIC_CRS,
    )


def referrals() -> gpd.GeoDataFrame:
    """Two months of referrals (Jan and Feb 2026), so the period is 2 months."""
    rows = [
        # category, community, count, date, asset_id, origin_area_id, point
        ("dementia", None, 12, "2026-01-10", None, "A", None),
        ("dementia", "bame", 1, "2026-01-11", None, "C", None),
        ("dementia", "bame", 1, "2026-02-11", None, "C", None),
        ("dementia", "bame", 1, "2026-02-12", None, "C", None),
        ("mental_health", None, 40, "2026-02-01", "a3", "A", None),
        ("dementia", None, 8, "2026-02-20", "a2", "B", None),
        ("mental_health", None, 1, "2026-02-21", None, None, (X0 + 2600, Y0 + 100)),
    ]
    return gpd.GeoDataFrame(
        {
            "category": [r[0] for r in rows],
            "community": pd.array([r[1] for r in rows], dtype="string"),
            "count": [r[2] for r in rows],
            "date": pd.to_datetime([r[3] for r in rows]),
            "asset_id": pd.array([r[4] for r in rows], dtype="string"),
            "origin_area_id": pd.array([r[5] for r in rows], dtype="string"),
            "_coords": ["area" if r[5] else "en" for r in rows],
            "_source_row": list(range(2, 2 + len(rows))),
        },
        geometry=[shapely.Point(*r[6]) if r[6] else None for r in rows],
        crs=METRIC_CRS,
    )


def inputs(*, with_lookup: bool = True, with_population: bool = True, with_referrals: bool = True) -> Inputs:
    return Inputs(
        areas=areas(),
        assets=assets(),
        taxonomy=Taxonomy.builtin(),
        lookup=lookup() if with_lookup else None,
        population=population() if with_population else None,
        referrals=referrals() if with_referrals else None,
    )


def write_files(folder) -> dict[str, object]:
    """The same inputs as files in the formats users give (GeoPackage + CSVs), for CLI tests.

    Referral ids ``SECRET-REF-<n>`` and the coordinate-located referral let tests check that
    no output ever carries a referral id or coordinate.
    """
    from pathlib import Path

    from pyproj import Transformer

    folder = Path(folder)
    paths = {
        "areas": folder / "areas.gpkg",
        "lookup": folder / "lookup.csv",
        "population": folder / "population.csv",
        "assets": folder / "assets.csv",
        "referrals": folder / "referrals.csv",
    }
    areas().drop(columns="_source_row").to_file(paths["areas"], driver="GPKG")
    lookup().to_csv(paths["lookup"], index=False)
    population().astype({"population": int, "pop_bame": int}).to_csv(paths["population"], index=False)
    to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    frame = assets()
    lon, lat = to_lonlat.transform(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    pd.DataFrame(
        {
            "asset_id": frame["asset_id"],
            "name": frame["name"],
            "latitude": [f"{v:.7f}" for v in lat],
            "longitude": [f"{v:.7f}" for v in lon],
            "categories": frame["categories"].map(";".join),
            "communities": frame["communities"].map(";".join),
            "capacity": ["10", "5", "", "20"],
            "accepting_referrals": ["true", "true", "false", ""],
            "reach": ["local", "borough", "1.2", "citywide"],
        }
    ).to_csv(paths["assets"], index=False)
    refs = referrals()
    rows = []
    for n, (_, r) in enumerate(refs.iterrows()):
        point = r.geometry
        if point is not None:
            plon, plat = to_lonlat.transform(point.x, point.y)
        rows.append(
            {
                "referral_id": f"SECRET-REF-{n}",
                "date": r["date"].strftime("%Y-%m-%d"),
                "category": r["category"],
                "community": "" if pd.isna(r["community"]) else r["community"],
                "origin_area_id": "" if pd.isna(r["origin_area_id"]) else r["origin_area_id"],
                "latitude": "" if point is None else f"{plat:.7f}",
                "longitude": "" if point is None else f"{plon:.7f}",
                "asset_id": "" if pd.isna(r["asset_id"]) else r["asset_id"],
                "count": int(r["count"]),
            }
        )
    pd.DataFrame(rows).to_csv(paths["referrals"], index=False)
    return paths
