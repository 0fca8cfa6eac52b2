"""A full Greater Manchester analysis from real open data (../shared/realdata); skipped when absent.

* areas: 2021 LSOAs (Trafford Data Lab, ONS BGC), loaded as they are (``area_code``);
* lookup: the ONS statistical lookup (one row per output area) loaded **without renaming**:
  neighbourhood = MSOA, borough = ``lad22cd``/``lad22nm`` by default;
* population: Census 2021 by age band through :mod:`coverage_map.ingest.census` (65+ = older people);
* assets: real GP practices, pharmacies, libraries, food banks and Trafford mental-health
  services, mapped to need categories, written to tmp_path (nothing real enters the repo);
* referrals: synthetic, three per real GP practice (fixed seed), keyed only by the
  practice's ODS code, placed through the real ``epraccur`` practice file (``--practices``).

Every expected figure is computed independently with plain geopandas ``sjoin`` and pandas
``groupby``, never with coverage-map.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.ingest.census import census_table, read_population

pytestmark = pytest.mark.realdata

REFERRALS_PER_PRACTICE = 3
CATEGORIES = [
    "mental_health",
    "loneliness_isolation",
    "long_term_conditions",
    "food_nutrition",
]
SERVICES = {
    # file: (name column, categories)
    "gm_pharmacies_2025.geojson": ("pharmacy_name", "long_term_conditions"),
    "gm_libraries.geojson": ("Name", "learning_volunteering;loneliness_isolation"),
    "gm_food_banks_2018.geojson": ("Name", "food_nutrition"),
    "trafford_mental_health_services_2018.geojson": ("name", "mental_health"),
}


@pytest.fixture(scope="module")
def gm(realdata, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gm_full")
    services = realdata / "services"

    population = read_population(
        realdata / "population" / "gm_lsoa21_census2021_age.csv",
        census_table("census2021_age_6_bands"),
    )
    population.to_csv(folder / "population.csv", index=False)

    practices = pd.read_csv(services / "gm_gp_practices_epraccur_2019-12.csv", dtype=str)
    located = practices.dropna(subset=["lon", "lat"])
    frames = [
        pd.DataFrame(
            {
                "asset_id": "gp-" + located["organisation_code"],
                "name": located["name"],
                "categories": "long_term_conditions",
                "latitude": located["lat"],
                "longitude": located["lon"],
                "source": "gp",
            }
        )
    ]
    for file, (name_col, categories) in SERVICES.items():
        points = gpd.read_file(services / file)
        frames.append(
            pd.DataFrame(
                {
                    "asset_id": [f"{file.split('.')[0]}-{i}" for i in range(len(points))],
                    "name": points[name_col].astype(str),
                    "categories": categories,
                    "latitude": points.geometry.y.round(7),
                    "longitude": points.geometry.x.round(7),
                    "source": file.split("_")[1],
                }
            )
        )
    assets = pd.concat(frames, ignore_index=True)
    assets.to_csv(folder / "assets.csv", index=False)

    rng = np.random.default_rng(20240611)
    codes = np.repeat(practices["organisation_code"].to_numpy(), REFERRALS_PER_PRACTICE)
    referrals = pd.DataFrame(
        {
            "referral_id": [f"R{i:05d}" for i in range(len(codes))],
            "date": rng.choice(
                pd.date_range("2024-01-01", "2024-12-31").strftime("%Y-%m-%d"),
                len(codes),
            ),
            "category": rng.choice(CATEGORIES, len(codes)),
            "origin_practice_code": codes,
        }
    )
    referrals.to_csv(folder / "referrals.csv", index=False)

    areas = realdata / "boundaries" / "tdl_2021" / "lsoa21_gm_lsoa_generalised.geojson"
    lookup = realdata / "lookups" / "gm_2021_statistical_lookup.csv"
    argv = [
        "--areas", str(areas), "--lookup", str(lookup), "--population", str(folder / "population.csv"),
        "--assets", str(folder / "assets.csv"), "--referrals", str(folder / "referrals.csv"),
        "--practices", str(services / "gm_gp_practices_epraccur_2019-12.csv"),
    ]  # fmt: skip
    out = folder / "boroughs.csv"
    started = time.perf_counter()
    assert main(["analyse", *argv, "--level", "borough", "--no-suppress", "--out", str(out)]) == 0
    seconds = time.perf_counter() - started

    # The independent route: plain geopandas sjoin of points into LSOAs, the lookup to boroughs.
    lsoas = gpd.read_file(areas).to_crs(27700)[["area_code", "geometry"]]
    borough_of = pd.read_csv(lookup, dtype=str).drop_duplicates("lsoa21cd").set_index("lsoa21cd")["lad22cd"]
    points = gpd.GeoDataFrame(
        assets, geometry=gpd.points_from_xy(assets["longitude"].astype(float), assets["latitude"].astype(float)),
        crs=4326,
    ).to_crs(27700)  # fmt: skip
    assets_in = gpd.sjoin(points, lsoas, predicate="within", how="inner")
    assets_in["borough"] = assets_in["area_code"].map(borough_of)
    surgeries = gpd.GeoDataFrame(
        located,
        geometry=gpd.points_from_xy(located["lon"].astype(float), located["lat"].astype(float)),
        crs=4326,
    ).to_crs(27700)
    surgeries = gpd.sjoin(surgeries, lsoas, predicate="within", how="inner")
    surgeries["borough"] = surgeries["area_code"].map(borough_of)
    expected_referrals = referrals.merge(
        surgeries[["organisation_code", "borough"]],
        left_on="origin_practice_code",
        right_on="organisation_code",
    )
    return {
        "folder": folder,
        "argv": argv,
        "seconds": seconds,
        "table": pd.read_csv(out, dtype={"area_id": str}),
        "rejected": pd.read_csv(folder / "boroughs_rejected.csv", dtype=str),
        "assets_in": assets_in,
        "expected_referrals": expected_referrals,
        "practices": practices,
        "n_assets": len(assets),
    }


def _all(table: pd.DataFrame, category: str) -> pd.DataFrame:
    return table[(table["category"] == category) & (table["community"] == "all")].set_index("area_id")


def test_ten_boroughs_from_the_ons_lookup_without_renaming(gm):
    table = gm["table"]
    assert sorted(table["area_id"].unique()) == [f"E080000{n:02d}" for n in range(1, 11)]
    assert set(_all(table, "food_nutrition")["area_name"]) == {
        "Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford", "Stockport", "Tameside", "Trafford", "Wigan",
    }  # fmt: skip
    assert gm["seconds"] < 60


def test_asset_counts_per_borough_match_an_independent_sjoin(gm):
    table, assets_in = gm["table"], gm["assets_in"]
    for category in (
        "long_term_conditions",
        "food_nutrition",
        "mental_health",
        "learning_volunteering",
    ):
        ours = _all(table, category)["assets_in_area"]
        expected = assets_in[assets_in["categories"].str.contains(category)].groupby("borough").size()
        assert ours.to_dict() == expected.reindex(ours.index, fill_value=0).to_dict(), category
    # Pharmacies and GP practices are both long-term-conditions assets: check the pharmacies alone too.
    pharmacies = assets_in[assets_in["source"] == "pharmacies"].groupby("borough").size()
    gps = assets_in[assets_in["source"] == "gp"].groupby("borough").size()
    ours = _all(table, "long_term_conditions")["assets_in_area"]
    assert (ours - gps.reindex(ours.index, fill_value=0)).to_dict() == pharmacies.reindex(ours.index).to_dict()
    assert pharmacies.sum() == 631  # SOURCES.md: every pharmacy lies inside GM


def test_practice_referrals_per_borough_match_the_practices_lsoas(gm):
    table, expected = gm["table"], gm["expected_referrals"]
    for category in ("mental_health", "food_nutrition"):
        ours = _all(table, category)["referrals"]
        wanted = expected[expected["category"] == category].groupby("borough").size()
        assert ours.to_dict() == wanted.reindex(ours.index, fill_value=0).to_dict(), category
    total = table[table["community"] == "all"]["referrals"].sum()
    assert total == len(expected) == (456 - 16) * 3


def test_population_totals(gm):
    table = gm["table"]
    assert _all(table, "food_nutrition")["population"].sum() == pytest.approx(2_867_771)
    older = table[(table["category"] == "food_nutrition") & (table["community"] == "older_people")]
    assert older["group_population"].sum() == pytest.approx(454_440)
    assert _all(table, "food_nutrition").loc["E08000003", "population"] == pytest.approx(551_888)


def test_the_16_practices_without_coordinates_are_reported(gm):
    rejected, practices = gm["rejected"], gm["practices"]
    unplaced = rejected[rejected["message"].str.contains("neither coordinates nor an area", na=False)]
    expected = set(practices.loc[practices["lon"].isna(), "organisation_code"])
    assert len(expected) == 16
    by_row = unplaced[unplaced["row"].notna()]
    assert set(by_row["value"]) == expected and len(by_row) == 16 * 3
    assert set(unplaced["column"]) == {"origin_practice_code"}
    [summary] = unplaced.loc[unplaced["row"].isna(), "message"]
    assert (
        summary.startswith("16 practices with neither coordinates nor an area")
        and "used by 48 referral rows" in summary
    )
    assert all(code in summary for code in expected)
    # Nothing personal leaves in the rejected file: no referral ids or dates.
    text = rejected.to_csv()
    assert "R0" not in text and "2024-" not in text


def test_msoa_neighbourhoods_and_validate(gm, capsys):
    out = gm["folder"] / "msoas.csv"
    assert main(["analyse", *gm["argv"], "--level", "neighbourhood", "--out", str(out)]) == 0
    assert pd.read_csv(out, dtype={"area_id": str})["area_id"].nunique() == 353
    capsys.readouterr()
    assert main(["validate", *gm["argv"]]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    located = len(gm["assets_in"])
    assert summary == (
        f"1,702 areas, {located:,} assets located, {(456 - 16) * 3:,} referrals located; "
        "levels available: area, neighbourhood, borough."
    )
