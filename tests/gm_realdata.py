"""Real Greater Manchester inputs for the analysis, built from ../shared/realdata (see its SOURCES.md).

Shared by ``tests/unit/test_realdata_gap_method.py`` and ``benchmarks/gap_method.py``. The
real files are read where they are; only the derived population and asset tables are written,
to a folder the caller gives (a temporary one: nothing real enters the repository).

* areas: 2021 LSOAs (Trafford Data Lab copy of the ONS BGC boundaries), 1,702;
* lookup: the ONS statistical lookup as published (neighbourhood = MSOA 2021, borough = LAD);
* population: Census 2021 usual residents by age band through the project's census
  conversion (``pop_older_people`` = aged 65 and over), plus ``pop_young_people`` = aged 0 to 24
  (the taxonomy's "children and young people");
* assets: real service points, each mapped to the need categories it serves (:data:`SERVICES`),
  every one ``local`` with the default catchment and no stated capacity.

For the equity figures the 2011 LSOAs (1,673, which IMD 2019 is published on) are used with the
IoD 2019 population denominators (mid-2015) and the same assets (:func:`write_lsoa11_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

#: The need category of GP practices: only GP practices list it, so it measures access to a GP.
GP_CATEGORY = "long_term_conditions"

#: Real service points: file -> (name column, categories). GP practices come from ``epraccur``.
SERVICES = {
    # Community pharmacies run supervised consumption, needle exchange and stop-smoking services.
    "gm_pharmacies_2025.geojson": ("pharmacy_name", "substance_misuse"),
    "gm_libraries.geojson": ("Name", "learning_volunteering;loneliness_isolation"),
    "gm_food_banks_2018.geojson": ("Name", "food_nutrition"),
    # Jobcentres run job search and the benefits (Universal Credit) claims.
    "gm_jobcentreplus_2018.geojson": ("Name", "employment_skills;debt_benefits_advice"),
    # Trafford's directory only: the rest of GM has no listed mental-health service.
    "trafford_mental_health_services_2018.geojson": ("name", "mental_health"),
}
GP_FILE = "gm_gp_practices_epraccur_2019-12.csv"
LSOA21 = Path("boundaries/tdl_2021/lsoa21_gm_lsoa_generalised.geojson")
LSOA11 = Path("boundaries/gm_lsoa11_merged.geojson")
LOOKUP21 = Path("lookups/gm_2021_statistical_lookup.csv")
IMD2019 = Path("imd/gm_lsoa11_imd2019_ranks_deciles.csv")


@dataclass(frozen=True)
class GMFiles:
    """Paths of one set of inputs, and the matching ``coverage-map analyse`` arguments."""

    areas: Path
    lookup: Path | None
    population: Path
    assets: Path
    imd: Path | None = None

    def argv(self) -> list[str]:
        """``--areas ... --assets ...`` for the CLI (without ``--level`` and ``--out``)."""
        argv = ["--areas", str(self.areas), "--population", str(self.population), "--assets", str(self.assets)]
        if self.lookup is not None:
            argv += ["--lookup", str(self.lookup)]
        return argv


def gp_practices(realdata: Path) -> pd.DataFrame:
    """The active GM GP practices of ``epraccur`` (Dec 2019) that have coordinates (440 of 456)."""
    practices = pd.read_csv(realdata / "services" / GP_FILE, dtype=str)
    return practices.dropna(subset=["lon", "lat"]).reset_index(drop=True)


def asset_table(realdata: Path) -> pd.DataFrame:
    """Every real service point as an asset row (``asset_id, name, categories, latitude, longitude, source``)."""
    located = gp_practices(realdata)
    frames = [
        pd.DataFrame(
            {
                "asset_id": "gp-" + located["organisation_code"],
                "name": located["name"],
                "categories": GP_CATEGORY,
                "latitude": located["lat"].astype(float),
                "longitude": located["lon"].astype(float),
                "source": "gp",
            }
        )
    ]
    for file, (name_column, categories) in SERVICES.items():
        points = gpd.read_file(realdata / "services" / file)
        stem = file.split(".")[0]
        frames.append(
            pd.DataFrame(
                {
                    "asset_id": [f"{stem}-{i}" for i in range(len(points))],
                    "name": points[name_column].astype(str),
                    "categories": categories,
                    "latitude": points.geometry.y.round(7),
                    "longitude": points.geometry.x.round(7),
                    "source": stem,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def population_table(realdata: Path) -> pd.DataFrame:
    """Census 2021 population per LSOA 2021 (``area_id, population, pop_older_people, pop_young_people``)."""
    from coverage_map.ingest.census import census_table, read_population

    source = realdata / "population" / "gm_lsoa21_census2021_age.csv"
    population = read_population(source, census_table("census2021_age_6_bands"))
    bands = pd.read_csv(source, dtype={"lsoa21_code": str}).set_index("lsoa21_code")
    young = bands["aged_0_15"] + bands["aged_16_24"]
    population["pop_young_people"] = population["area_id"].map(young).to_numpy()
    return population


def write_inputs(realdata: Path, folder: Path) -> GMFiles:
    """Write the derived GM tables (LSOA 2021) into ``folder``; the real files are referenced in place."""
    folder.mkdir(parents=True, exist_ok=True)
    population_table(realdata).to_csv(folder / "population.csv", index=False)
    asset_table(realdata).to_csv(folder / "assets.csv", index=False)
    return GMFiles(
        areas=realdata / LSOA21,
        lookup=realdata / LOOKUP21,
        population=folder / "population.csv",
        assets=folder / "assets.csv",
    )


def write_lsoa11_inputs(realdata: Path, folder: Path) -> GMFiles:
    """GM on the 2011 LSOAs that IMD 2019 is published on: IoD 2019 population (mid-2015), the same
    assets, no lookup (there is no 2011 statistical lookup in the real data)."""
    folder.mkdir(parents=True, exist_ok=True)
    denominators = pd.read_csv(
        realdata / "population" / "gm_lsoa11_iod2019_population_denominators_mid2015.csv", dtype=str
    )
    code = next(c for c in denominators.columns if "code" in c.lower() and "LSOA" in c)
    total = next(c for c in denominators.columns if c.lower().startswith("total population"))
    pd.DataFrame(
        {"area_id": denominators[code], "population": pd.to_numeric(denominators[total]).astype(np.int64)}
    ).to_csv(folder / "population11.csv", index=False)
    assets = folder / "assets.csv"
    if not assets.exists():
        asset_table(realdata).to_csv(assets, index=False)
    return GMFiles(
        areas=realdata / LSOA11,
        lookup=None,
        population=folder / "population11.csv",
        assets=assets,
        imd=realdata / IMD2019,
    )


def nearest_gp_km(realdata: Path) -> pd.Series:
    """Straight-line km from each LSOA 2021's centroid to the nearest GP practice (plain geopandas).

    Indexed by LSOA code. An independent route: no coverage-map code is used.
    """
    lsoas = gpd.read_file(realdata / LSOA21).to_crs(27700)
    centroids = gpd.GeoDataFrame({"area_id": lsoas["area_code"]}, geometry=lsoas.geometry.centroid, crs=27700)
    located = gp_practices(realdata)
    surgeries = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(located["lon"].astype(float), located["lat"].astype(float)), crs=4326
    ).to_crs(27700)
    joined = gpd.sjoin_nearest(centroids, surgeries, distance_col="metres")
    return joined.groupby("area_id")["metres"].min() / 1000.0
