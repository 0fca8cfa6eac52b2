"""`analyse` on real Greater Manchester open data (../shared/realdata); skipped when absent.

LSOA 2021 boundaries (Trafford Data Lab, ONS BGC), Census 2021 population (65+ as
older people), a best-fit LSOA -> ward -> borough lookup (wards stand in for
neighbourhoods), and real service points mapped to need categories. Expected figures are
computed independently with plain geopandas/pandas.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from coverage_map.cli import main

pytestmark = pytest.mark.realdata

SERVICES = {
    # file, name column, categories
    "gm_food_banks_2018.geojson": ("Name", "food_nutrition"),
    "gm_libraries.geojson": ("Name", "learning_volunteering;loneliness_isolation"),
    "trafford_mental_health_services_2018.geojson": ("name", "mental_health"),
    "gm_jobcentreplus_2018.geojson": ("Name", "employment_skills"),
}


@pytest.fixture(scope="module")
def gm(realdata, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gm")
    lookup = pd.read_csv(realdata / "lookups" / "gm_2021_lsoa_to_ward_best-fit_lookup.csv", dtype=str)
    pd.DataFrame(
        {
            "area_id": lookup["lsoa21cd"],
            "neighbourhood_id": lookup["wd22cd"],
            "neighbourhood_name": lookup["wd22nm"],
            "borough_id": lookup["lad22cd"],
            "borough_name": lookup["lad22nm"],
        }
    ).to_csv(folder / "lookup.csv", index=False)
    census = pd.read_csv(realdata / "population" / "gm_lsoa21_census2021_age.csv", dtype={"lsoa21_code": str})
    pd.DataFrame(
        {
            "area_id": census["lsoa21_code"],
            "population": census["total_usual_residents"],
            "pop_older_people": census["aged_65_plus"],
        }
    ).to_csv(folder / "population.csv", index=False)
    frames = []
    for file, (name_col, categories) in SERVICES.items():
        points = gpd.read_file(realdata / "services" / file)
        frames.append(
            pd.DataFrame(
                {
                    "asset_id": [f"{file.split('.')[0]}-{i}" for i in range(len(points))],
                    "name": points[name_col].astype(str),
                    "latitude": points.geometry.y.round(7),
                    "longitude": points.geometry.x.round(7),
                    "categories": categories,
                }
            )
        )
    assets = pd.concat(frames, ignore_index=True)
    assets.to_csv(folder / "assets.csv", index=False)
    areas = realdata / "boundaries" / "tdl_2021" / "lsoa21_gm_lsoa_generalised.geojson"
    argv = ["--areas", str(areas), "--lookup", str(folder / "lookup.csv"),
            "--population", str(folder / "population.csv"), "--assets", str(folder / "assets.csv")]  # fmt: skip
    return {"folder": folder, "argv": argv, "areas": areas, "assets": assets, "lookup": lookup, "census": census}


def test_borough_counts_match_an_independent_spatial_join(gm):
    out = gm["folder"] / "boroughs.csv"
    assert main(["analyse", *gm["argv"], "--level", "borough", "--out", str(out)]) == 0
    result = pd.read_csv(out, dtype={"area_id": str})

    # Independent route: geopandas.sjoin of the points into LSOAs, then the lookup to boroughs.
    lsoas = gpd.read_file(gm["areas"]).to_crs(27700)
    points = gpd.GeoDataFrame(
        gm["assets"], geometry=gpd.points_from_xy(gm["assets"].longitude, gm["assets"].latitude), crs=4326
    ).to_crs(27700)
    joined = gpd.sjoin(points, lsoas[["area_code", "geometry"]], predicate="within", how="inner")
    joined = joined.merge(gm["lookup"], left_on="area_code", right_on="lsoa21cd")
    food = joined[joined.categories == "food_nutrition"].groupby("lad22cd").size()

    ours = result[(result.category == "food_nutrition") & (result.community == "all")].set_index("area_id")
    for borough, expected in food.items():
        assert ours.loc[borough, "assets_in_area"] == expected, borough
    assert ours["assets_in_area"].sum() == len(joined[joined.categories == "food_nutrition"])

    # Population sums up the levels: GM total from SOURCES.md.
    totals = result[(result.category == "food_nutrition") & (result.community == "all")]
    assert totals["population"].sum() == pytest.approx(2_867_771)
    older = result[(result.category == "food_nutrition") & (result.community == "older_people")]
    assert older["group_population"].sum() == pytest.approx(454_440)
    assert len(ours) == 10


def test_lsoa_level_repairs_invalid_geometries_and_reports_them(gm):
    out = gm["folder"] / "lsoas.csv"
    assert main(["analyse", *gm["argv"], "--level", "area", "--out", str(out)]) == 0
    result = pd.read_csv(out, dtype={"area_id": str})
    assert result["area_id"].nunique() == 1702
    rejected = pd.read_csv(gm["folder"] / "lsoas_rejected.csv", dtype=str)
    repaired = rejected[rejected["message"].str.contains("repaired", case=False, na=False)]
    # SOURCES.md: four invalid LSOA 2021 geometries in this file.
    assert set(repaired["row"].dropna()) and len(repaired) == 4
    # Every asset point is inside GM (SOURCES.md), so none is rejected as outside every area.
    assert not rejected["message"].str.contains("outside every area", na=False).any()
