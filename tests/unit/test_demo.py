"""The synthetic demo region: shape, formats, determinism, the shipped files and every gap.

Everything about the files is checked with plain geopandas and pandas, without the
project's loaders or analysis, so each deliberate gap is confirmed by an independent route
(including that nothing of its kind lies within the catchment of its small areas). The
last section then runs the real analysis (gap method 2) on the written files and checks
that it finds every documented gap as ``severe`` or ``moderate``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from coverage_map.config import DEMO_FILES, METRIC_CRS
from coverage_map.dataset import Dataset
from coverage_map.demo import DEFAULT_SEED, generate_demo, write_demo
from coverage_map.errors import CoverageMapError
from coverage_map.taxonomy import BUILTIN_CATEGORIES, BUILTIN_COMMUNITIES

SHIPPED = Path(__file__).resolve().parents[2] / "geodata"
# The period, written out here rather than imported from the module under test.
FIRST_DAY, LAST_DAY = "2024-10-01", "2026-09-30"
POPULATION_COMMUNITIES = {"older_people", "carers", "bame"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SIX_DECIMALS = re.compile(r"^-?\d+\.\d{6}$")
#: Gap method 2's default catchment of a local service (docs/method.md), in km.
CATCHMENT_KM = 3.0
#: Distances here run from origins computed by this file's own route (PROJ's default transform of the
#: written WGS84 polygons); they may differ from the generator's by metres.
TOLERANCE_KM = 0.05
GAP_TIERS = {"severe", "moderate"}


@dataclass(frozen=True)
class Files:
    """The demo files as read from disk, plus a few joins every test needs."""

    paths: dict[str, Path]
    areas: gpd.GeoDataFrame  # EPSG:4326 as written, with lookup and population columns
    lookup: pd.DataFrame
    population: pd.DataFrame
    assets: gpd.GeoDataFrame  # raw strings, point geometry, plus area_id located by sjoin
    referrals: pd.DataFrame  # raw strings, plus area_id (given or located by sjoin)
    gaps: dict
    imd: pd.DataFrame

    def units(self, level: str) -> gpd.GeoDataFrame:
        """Neighbourhood or borough polygons (EPSG:4326) with population totals."""
        key = f"{level}_id"
        return self.areas.dissolve(key, aggfunc={"population": "sum", "pop_bame": "sum"})

    def origins(self) -> gpd.GeoSeries:
        """Each small area's origin point in EPSG:27700, as docs/method.md defines it (indexed by area id)."""
        polygons = self.areas.set_index("area_id").geometry.to_crs(METRIC_CRS)
        centroids = polygons.centroid
        return centroids.where(centroids.within(polygons), polygons.representative_point())

    def km_from(self, points: gpd.GeoDataFrame, area_ids) -> pd.Series:
        """Straight-line km from each point to the nearest origin point of the given small areas."""
        origins = self.origins().loc[list(area_ids)]
        metric = points.to_crs(METRIC_CRS).geometry
        return metric.map(lambda point: origins.distance(point).min() / 1000)

    def areas_in(self, level: str, ids) -> list[str]:
        """The small areas of some boroughs or neighbourhoods."""
        ids = [ids] if isinstance(ids, str) else list(ids)
        return self.lookup.loc[self.lookup[f"{level}_id"].isin(ids), "area_id"].tolist()

    def assets_offering(self, *, category: str | None = None, community: str | None = None) -> gpd.GeoDataFrame:
        mask = pd.Series(False, index=self.assets.index)
        if category is not None:
            mask |= self.assets["category_list"].map(lambda labels: category in labels)
        if community is not None:
            mask |= self.assets["community_list"].map(lambda labels: community in labels)
        return self.assets[mask]


def _labels(cell: str) -> list[str]:
    return [part for part in cell.split(";") if part]


def _locate(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The area id each point falls in; fails unless every point is in exactly one area."""
    joined = gpd.sjoin(points, areas[["area_id", "geometry"]], predicate="within", how="left")
    assert not joined.index.duplicated().any(), "a point falls in more than one area"
    assert joined["area_id"].notna().all(), "a point falls outside every area"
    return joined["area_id"]


def _read(paths: dict[str, Path]) -> Files:
    lookup = pd.read_csv(paths["lookup"], dtype=str)
    population = pd.read_csv(paths["population"], dtype={"area_id": str})
    areas = gpd.read_file(paths["areas"]).merge(lookup, on="area_id").merge(population, on="area_id")

    raw_assets = pd.read_csv(paths["assets"], dtype=str, keep_default_na=False)
    assets = gpd.GeoDataFrame(
        raw_assets,
        geometry=gpd.points_from_xy(raw_assets["longitude"].astype(float), raw_assets["latitude"].astype(float)),
        crs="EPSG:4326",
    )
    assets["category_list"] = assets["categories"].map(_labels)
    assets["community_list"] = assets["communities"].map(_labels)
    assets["area_id"] = _locate(assets, areas)

    referrals = pd.read_csv(paths["referrals"], dtype=str, keep_default_na=False)
    by_point = referrals["origin_area_id"] == ""
    points = referrals[by_point]
    located = gpd.GeoDataFrame(
        points,
        geometry=gpd.points_from_xy(points["longitude"].astype(float), points["latitude"].astype(float)),
        crs="EPSG:4326",
    )
    referrals["area_id"] = referrals["origin_area_id"]
    referrals.loc[by_point, "area_id"] = _locate(located, areas)
    gaps = json.loads(paths["gaps"].read_text(encoding="utf-8"))
    imd = pd.read_csv(paths["imd"], dtype={"area_id": str})
    return Files(paths, areas, lookup, population, assets, referrals, gaps, imd)


@pytest.fixture(scope="module")
def demo():
    return generate_demo()


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def files(written) -> Files:
    return _read(written)


# --------------------------------------------------------------------------- API


def test_write_demo_writes_every_role(written):
    assert set(written) == {*DEMO_FILES, "gaps", "readme"}
    for role, name in DEMO_FILES.items():
        assert written[role].name == name
        assert written[role].stat().st_size > 0
    assert written["gaps"].name == "gaps.json" and written["readme"].name == "README.md"
    assert written["areas"].stat().st_size < 3_000_000
    assert written["referrals"].stat().st_size < 5_000_000


def test_unknown_scale_raises():
    with pytest.raises(CoverageMapError, match="mars"):
        generate_demo(scale="mars")


def test_same_seed_gives_equal_frames(demo):
    again = generate_demo(seed=DEFAULT_SEED)
    assert_geodataframe_equal(demo.areas, again.areas)
    for role in ("lookup", "population", "assets", "referrals", "imd"):
        pd.testing.assert_frame_equal(getattr(demo, role), getattr(again, role))
    assert demo.gaps == again.gaps


def test_another_seed_gives_another_region_that_still_meets_the_brief(demo):
    other = generate_demo(seed=DEFAULT_SEED + 1)
    assert not other.areas.geometry.geom_equals(demo.areas.geometry).all()
    assert not other.referrals.equals(demo.referrals)
    populations = other.population.merge(other.lookup, on="area_id").groupby("neighbourhood_id")["population"].sum()
    assert len(populations) == 68 and populations.between(30_000, 50_000).all()
    assert other.gaps["over_capacity_asset"]["referrals_per_month"] == 3 * other.gaps["over_capacity_asset"]["capacity"]


def test_frames_are_what_is_written(demo, files):
    pd.testing.assert_frame_equal(demo.lookup, files.lookup)
    assert demo.gaps == files.gaps
    assert demo.assets["asset_id"].tolist() == files.assets["asset_id"].tolist()


@pytest.mark.parametrize(
    "name", ["lookup.csv", "population.csv", "assets.csv", "referrals.csv", "imd.csv", "gaps.json", "README.md"]
)
def test_shipped_file_is_byte_identical_to_a_fresh_generation(written, name):
    fresh = Path(written["areas"]).parent / name
    assert (SHIPPED / name).read_bytes() == fresh.read_bytes(), (
        f"geodata/{name} is stale: regenerate with `coverage-map demo-data --out geodata`"
    )


def test_shipped_areas_have_the_same_content_as_a_fresh_generation(written):
    shipped = gpd.read_file(SHIPPED / "areas.geojson")
    assert_geodataframe_equal(shipped, gpd.read_file(written["areas"]))


def test_readme_says_synthetic_how_it_is_made_and_names_every_gap(files):
    text = files.paths["readme"].read_text(encoding="utf-8")
    assert "synthetic" in text.lower()
    assert "coverage-map demo-data --out geodata" in text
    assert "tests/unit/test_demo.py" in text and "tests/test_demo.py" not in text
    gaps = files.gaps
    named = [
        gaps["no_dementia_borough"],
        *gaps["no_carers_neighbourhoods"],
        gaps["bame_majority_no_provision_neighbourhood"],
        gaps["over_capacity_asset"]["asset_id"],
        *gaps["mental_health_hotspot_neighbourhoods"],
    ]
    assert all(code in text for code in named)


# --------------------------------------------------------------------------- geography


def test_counts_are_in_the_stated_ranges(files):
    lookup = files.lookup
    assert 9 <= lookup["borough_id"].nunique() <= 11
    assert lookup["neighbourhood_id"].nunique() == 68
    assert 1_500 <= len(files.areas) <= 1_900
    neighbourhoods = files.areas.groupby("neighbourhood_id")["population"].sum()
    assert neighbourhoods.between(30_000, 50_000).all()
    assert files.population["population"].between(1_300, 2_000).all()
    assert 1_300 <= len(files.assets) <= 1_700
    assert 45_000 <= len(files.referrals) <= 55_000


def test_ids_and_names_are_fictional_and_consistent(files):
    lookup = files.lookup
    assert lookup["area_id"].str.fullmatch(r"X01\d{6}").all() and lookup["area_id"].is_unique
    assert lookup["neighbourhood_id"].str.fullmatch(r"XN\d{4}").all()
    assert lookup["borough_id"].str.fullmatch(r"XB\d{2}").all()
    assert set(lookup["area_id"]) == set(files.areas["area_id"]) == set(files.population["area_id"])
    # Each neighbourhood lies in one borough; each id has one name.
    assert (lookup.groupby("neighbourhood_id")["borough_id"].nunique() == 1).all()
    assert (lookup.groupby("neighbourhood_id")["neighbourhood_name"].nunique() == 1).all()
    assert lookup.groupby("borough_id")["borough_name"].nunique().eq(1).all()
    areas = files.areas
    pattern = areas["borough_name"].map(lambda b: re.escape(b) + r" \d{3}[A-E]")
    assert all(re.fullmatch(p, name) for p, name in zip(pattern, areas["area_name"], strict=True))
    assert areas["area_name"].is_unique


def test_areas_are_valid_and_tile_the_region(files):
    metric = files.areas.to_crs(METRIC_CRS)
    assert metric.is_valid.all()
    assert (metric.geom_type == "Polygon").all()
    union = metric.union_all()
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # one piece, no holes
    assert metric.area.sum() == pytest.approx(union.area, rel=1e-3)  # no overlaps
    # About 45 km across, around E 385000, N 400000.
    minx, miny, maxx, maxy = union.bounds
    assert 38_000 < maxx - minx < 60_000 and 25_000 < maxy - miny < 50_000
    assert minx < 385_000 < maxx and miny < 400_000 < maxy


@pytest.mark.parametrize("level", ["neighbourhood", "borough"])
def test_neighbourhoods_and_boroughs_are_contiguous(files, level):
    units = files.areas.to_crs(METRIC_CRS).dissolve(f"{level}_id")
    assert (units.geom_type == "Polygon").all()


def test_looks_like_a_city_not_a_grid(files):
    metric = files.areas.to_crs(METRIC_CRS)
    size = metric.area
    assert size.std() / size.mean() > 0.5
    centre = metric.union_all().centroid
    distance = metric.centroid.distance(centre)
    inner = size[distance <= distance.quantile(0.1)].median()
    outer = size[distance >= distance.quantile(0.9)].median()
    assert outer > 4 * inner
    vertices = metric.geometry.count_coordinates() - 1
    assert vertices.nunique() > 5  # a grid would have four corners everywhere


def test_population_groups_are_plausible(files):
    areas = files.areas.to_crs(METRIC_CRS)
    people = areas["population"]
    carers = areas["pop_carers"] / people
    assert carers.between(0.079, 0.121).all()
    older = areas["pop_older_people"] / people
    distance = areas.centroid.distance(areas.union_all().centroid)
    assert np.corrcoef(distance, older)[0, 1] > 0.2  # older people live further out
    neighbourhoods = files.areas.groupby("neighbourhood_id")[["population", "pop_bame"]].sum()
    bame = neighbourhoods["pop_bame"] / neighbourhoods["population"]
    assert bame.max() > 0.5 and bame.median() < 0.2
    for column in ("population", "pop_older_people", "pop_carers", "pop_bame"):
        assert pd.api.types.is_integer_dtype(files.population[column])
        assert (files.population[column] <= files.population["population"]).all()


def test_need_columns_follow_the_documented_recipes(files):
    population = files.population
    header = files.paths["population"].read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "area_id,population,pop_older_people,pop_carers,pop_bame,need_dementia,need_mental_health,need_carers_support"
    )
    for column in ("need_dementia", "need_mental_health", "need_carers_support"):
        assert pd.api.types.is_integer_dtype(population[column]) and (population[column] > 0).all()
    # Dementia: 7% of older people, 0.8 to 1.2 times that with deprivation (rounded to whole people).
    dementia = population["need_dementia"] / population["pop_older_people"]
    assert dementia.between(0.056 - 0.01, 0.084 + 0.01).all()
    assert 0.06 < population["need_dementia"].sum() / population["pop_older_people"].sum() < 0.08
    # Mental health: 10% to 22% of everyone, higher where deprivation is (IMD decile 1).
    mental = population["need_mental_health"] / population["population"]
    assert mental.between(0.0995, 0.2205).all()
    by_decile = mental.groupby(population["area_id"].map(files.imd.set_index("area_id")["imd_decile"])).mean()
    assert by_decile.is_monotonic_decreasing
    assert (population["need_carers_support"] == population["pop_carers"]).all()
    readme = files.paths["readme"].read_text(encoding="utf-8")
    assert all(f"`{column}`" in readme for column in ("need_dementia", "need_mental_health", "need_carers_support"))


def test_imd_ranks_and_deciles(files):
    imd = files.imd
    assert files.paths["imd"].read_text(encoding="utf-8").splitlines()[0] == "area_id,imd_rank,imd_decile"
    assert set(imd["area_id"]) == set(files.areas["area_id"]) and imd["area_id"].is_unique
    n = len(imd)
    assert sorted(imd["imd_rank"]) == list(range(1, n + 1))
    assert (imd["imd_decile"] == (imd["imd_rank"] - 1) * 10 // n + 1).all()
    assert imd["imd_decile"].value_counts().between(n // 10, n // 10 + 1).all()
    # Deprivation is highest in the main centre, and mental-health referrals follow it.
    areas = files.areas.to_crs(METRIC_CRS).merge(imd, on="area_id")
    distance = areas.centroid.distance(areas.union_all().centroid)
    mean_km = distance.groupby(areas["imd_decile"]).mean()
    assert mean_km[1] < mean_km[10]
    mental = files.referrals[files.referrals["category"] == "mental_health"]["area_id"].value_counts()
    rate = mental.reindex(areas["area_id"], fill_value=0).to_numpy() / areas["population"].to_numpy()
    per_decile = pd.Series(rate).groupby(areas["imd_decile"].to_numpy()).mean()
    assert per_decile[1] > 1.5 * per_decile[10]


# --------------------------------------------------------------------------- assets


def test_asset_columns_and_labels(files):
    assets = files.assets
    assert files.paths["assets"].read_text(encoding="utf-8").splitlines()[0] == (
        "asset_id,name,latitude,longitude,categories,communities,capacity,accepting_referrals,reach,last_checked"
    )
    assert assets["asset_id"].is_unique and assets["name"].is_unique
    assert any(not name.isascii() for name in assets["name"])
    categories = assets["category_list"].explode()
    assert set(categories) == set(BUILTIN_CATEGORIES)  # all 17, nothing else
    assert assets["category_list"].map(len).between(1, 3).all()
    counts = categories.value_counts()
    assert {"mental_health", "physical_activity", "loneliness_isolation"} <= set(counts.index[:4])
    assert counts["domestic_abuse"] < counts.median() and counts["substance_misuse"] < counts.median()
    listed = assets["community_list"].map(len)
    assert listed.between(0, 2).all() and 0.2 < (listed > 0).mean() < 0.4
    assert set(assets["community_list"].explode().dropna()) <= set(BUILTIN_COMMUNITIES)


def test_asset_capacity_acceptance_reach_and_dates(files):
    assets = files.assets
    capacity = pd.to_numeric(assets["capacity"].replace("", np.nan))
    assert capacity.dropna().between(5, 60).all() and 0.02 < capacity.isna().mean() < 0.15
    assert set(assets["accepting_referrals"]) == {"true", "false"}
    assert 0.05 < (assets["accepting_referrals"] == "false").mean() < 0.15
    reach = assets["reach"]
    radius = reach.str.fullmatch(r"\d+(\.\d+)?")
    assert set(reach[~radius]) == {"local", "borough", "citywide"}
    share = reach.where(~radius, "radius").value_counts(normalize=True)
    assert share["local"] > 0.7
    assert 0.05 <= share["borough"] <= 0.09 and 0.02 <= share["citywide"] <= 0.04
    assert 0.07 <= share["radius"] <= 0.13
    assert assets["latitude"].str.match(SIX_DECIMALS).all() and assets["longitude"].str.match(SIX_DECIMALS).all()
    checked = assets["last_checked"]
    assert checked.str.match(ISO_DATE).all()
    assert checked.max() <= LAST_DAY <= date.today().isoformat()
    assert (checked < "2025-09-30").mean() > 0.1  # some entries are over a year old


def test_assets_lie_inside_the_region(files):
    # _read already located every asset in exactly one area.
    assert files.assets["area_id"].isin(files.areas["area_id"]).all()


# --------------------------------------------------------------------------- referrals


def test_referral_columns_origins_and_dates(files):
    referrals = files.referrals
    header = files.paths["referrals"].read_text(encoding="utf-8").splitlines()[0]
    assert header == "referral_id,date,category,community,origin_area_id,latitude,longitude,asset_id"
    assert referrals["referral_id"].is_unique
    by_area = referrals["origin_area_id"] != ""
    by_point = (referrals["latitude"] != "") & (referrals["longitude"] != "")
    assert (by_area ^ by_point).all()  # exactly one way of giving the origin
    assert ((referrals["latitude"] == "") == (referrals["longitude"] == "")).all()
    assert 0.45 < by_area.mean() < 0.55
    assert referrals.loc[by_area, "origin_area_id"].isin(files.areas["area_id"]).all()
    assert referrals.loc[by_point, "latitude"].str.match(SIX_DECIMALS).all()
    dates = referrals["date"]
    assert dates.str.match(ISO_DATE).all()
    assert dates.min() == FIRST_DAY and dates.max() == LAST_DAY
    assert date.today().isoformat() >= LAST_DAY  # never in the future
    assert pd.to_datetime(dates, format="%Y-%m-%d").notna().all()


def test_referral_labels_and_destinations(files):
    referrals = files.referrals
    assert set(referrals["category"]) <= set(BUILTIN_CATEGORIES)
    assert referrals["category"].value_counts().index[0] == "mental_health"
    community = referrals["community"]
    assert set(community[community != ""]) == POPULATION_COMMUNITIES
    assert (community == "").mean() > 0.6
    routed = referrals[referrals["asset_id"] != ""]
    assert 0.03 < 1 - len(routed) / len(referrals) < 0.25
    offered = files.assets.set_index("asset_id")["category_list"]
    assert routed["asset_id"].isin(offered.index).all()
    pairs = zip(routed["category"], routed["asset_id"], strict=True)
    assert all(category in offered[asset] for category, asset in pairs)
    # Usually somewhere near: most local-reach destinations are within 5 km of the origin area.
    assets = files.assets.to_crs(METRIC_CRS).set_index("asset_id")
    centroids = files.areas.to_crs(METRIC_CRS).set_index("area_id").centroid
    local = routed[routed["asset_id"].map(assets["reach"]) == "local"]
    km = assets.loc[local["asset_id"]].geometry.distance(centroids.loc[local["area_id"]], align=False) / 1000
    assert (km < 5).mean() > 0.8


# --------------------------------------------------------------------------- deliberate gaps


def _withheld_km(files: Files, key: str) -> float:
    """The documented distance within which nothing of a gap's kind lies: at least the catchment."""
    km = files.gaps["withheld_within_km"][key]
    assert km >= CATCHMENT_KM + files.gaps["margin_km"] and files.gaps["margin_km"] > 0
    return km - TOLERANCE_KM


def _radius_km(assets: gpd.GeoDataFrame) -> pd.Series:
    return pd.to_numeric(assets["reach"], errors="coerce")


def _without_any(files: Files, level: str, offering: gpd.GeoDataFrame, band: set[str]) -> set[str]:
    """Units (of ``level``) none of whose assets offers it, that have a local asset outside ``band``.

    Such a unit could have been given the provision without breaking a gap, so it is an
    undocumented gap of the generator.
    """
    unit_of = files.lookup.set_index("area_id")[f"{level}_id"]
    covered = set(offering["area_id"].map(unit_of))
    local = files.assets[files.assets["reach"] == "local"]
    outside = local[~local["asset_id"].isin(band)]
    return set(outside["area_id"].map(unit_of)) - covered


def test_gap_borough_without_dementia_support(files):
    borough = files.gaps["no_dementia_borough"]
    assert borough in set(files.lookup["borough_id"])
    dementia = files.assets_offering(category="dementia")
    borough_of = files.lookup.set_index("area_id")["borough_id"]
    located_in = dementia["area_id"].map(borough_of)
    assert (located_in != borough).all()
    assert set(dementia["reach"]) <= {"local", "borough"}  # so only local ones could reach in from outside
    # ...and none lies within the catchment (plus margin) of any of the borough's small areas.
    local = dementia[dementia["reach"] == "local"]
    assert (files.km_from(local, files.areas_in("borough", borough)) > _withheld_km(files, "dementia")).all()
    assert set(located_in) == set(files.lookup["borough_id"]) - {borough}  # every other borough has some
    # People there are still referred for dementia support: demand with nothing to meet it.
    referred = files.referrals[files.referrals["category"] == "dementia"]["area_id"].map(borough_of)
    assert (referred == borough).sum() > 20


def test_gap_neighbourhoods_with_nothing_for_carers(files):
    listed = files.gaps["no_carers_neighbourhoods"]
    assert len(listed) >= 5 and set(listed) <= set(files.lookup["neighbourhood_id"])
    for_carers = files.assets_offering(category="carers_support", community="carers")
    assert (for_carers["reach"] == "local").all()
    # Checked geometrically too, against the dissolved neighbourhood polygons.
    units = files.units("neighbourhood")
    inside = gpd.sjoin(for_carers[["geometry"]], units.loc[listed, ["geometry"]], predicate="intersects")
    assert inside.empty
    gap_areas = files.areas_in("neighbourhood", listed)
    assert (files.km_from(for_carers, gap_areas) > _withheld_km(files, "carers_support")).all()
    # Every other neighbourhood has carers' support, unless all its groups lie within that band.
    local = files.assets[files.assets["reach"] == "local"]
    band = set(local.loc[files.km_from(local, gap_areas) <= files.gaps["withheld_within_km"]["carers_support"],
                         "asset_id"])  # fmt: skip
    assert _without_any(files, "neighbourhood", files.assets_offering(category="carers_support"), band) <= set(listed)


def test_gap_bame_majority_neighbourhood_without_culturally_specific_provision(files):
    gap = files.gaps["bame_majority_no_provision_neighbourhood"]
    units = files.units("neighbourhood")
    share = units["pop_bame"] / units["population"]
    assert share[gap] > 0.5
    bame = files.assets_offering(community="bame")
    assert (bame["reach"] == "local").all()
    assert gpd.sjoin(bame[["geometry"]], units.loc[[gap], ["geometry"]], predicate="intersects").empty
    gap_areas = files.areas_in("neighbourhood", gap)
    assert (files.km_from(bame, gap_areas) > _withheld_km(files, "bame")).all()
    # The other BAME-majority neighbourhoods have some, unless all their groups lie within that band.
    local = files.assets[files.assets["reach"] == "local"]
    band = set(local.loc[files.km_from(local, gap_areas) <= files.gaps["withheld_within_km"]["bame"], "asset_id"])
    neighbourhood_of = files.lookup.set_index("area_id")["neighbourhood_id"]
    served = set(bame["area_id"].map(neighbourhood_of))
    others = set(share[share > 0.5].index) - {gap}
    assert others & served  # some do
    assert not (others - served) & _without_any(files, "neighbourhood", bame, band)


def test_gap_organisation_at_three_times_capacity(files):
    over = files.gaps["over_capacity_asset"]
    assets = files.assets.set_index("asset_id")
    capacity = float(assets.loc[over["asset_id"], "capacity"])
    assert capacity == over["capacity"]
    dates = pd.to_datetime(files.referrals["date"])
    months = (dates.max().year - dates.min().year) * 12 + dates.max().month - dates.min().month + 1
    assert months == 24
    received = files.referrals["asset_id"].value_counts()
    per_month = received[over["asset_id"]] / months
    assert per_month == pytest.approx(3 * capacity, rel=0.10)
    assert over["referrals_per_month"] == pytest.approx(per_month, abs=1)
    # It is the one organisation over capacity.
    known = assets["capacity"] != ""
    capacities = assets.loc[known, "capacity"].astype(float)
    pressure = received.reindex(capacities.index, fill_value=0) / months / capacities
    assert pressure.idxmax() == over["asset_id"] and pressure.drop(over["asset_id"]).max() < 1


def test_gap_unmet_mental_health_need_in_deprived_inner_neighbourhoods(files):
    hotspots = files.gaps["mental_health_hotspot_neighbourhoods"]
    assert hotspots
    neighbourhood_of = files.lookup.set_index("area_id")["neighbourhood_id"]
    mental = files.referrals[files.referrals["category"] == "mental_health"]
    counts = mental["area_id"].map(neighbourhood_of).value_counts()
    population = files.areas.groupby("neighbourhood_id")["population"].sum()
    per_10k = counts.reindex(population.index, fill_value=0) / population * 10_000
    assert (per_10k[hotspots] > per_10k.quantile(0.75)).all()
    provision = files.assets_offering(category="mental_health")
    assert not provision["area_id"].map(neighbourhood_of).isin(hotspots).any()
    # No local or radius service reaches them: only borough-wide and city-wide ones.
    km = files.km_from(provision, files.areas_in("neighbourhood", hotspots))
    local = provision["reach"] == "local"
    assert (km[local] > _withheld_km(files, "mental_health")).all()
    radius = _radius_km(provision)
    assert (km[radius.notna()] > radius[radius.notna()] + files.gaps["margin_km"] - TOLERANCE_KM).all()
    assert {"borough", "citywide"} <= set(provision["reach"])
    # Inner: closer to the region's centre than the median neighbourhood.
    units = files.units("neighbourhood").to_crs(METRIC_CRS)
    distance = units.centroid.distance(units.union_all().centroid)
    assert (distance[hotspots] < distance.median()).all()


# --------------------------------------------------------------------------- gap method 2 on the files


@pytest.fixture(scope="module")
def analysed(written) -> Dataset:
    return Dataset.demo(Path(written["areas"]).parent)


def _units(files: Files, gap: str, level: str) -> list[str]:
    """Ids at ``level`` inside a gap's borough or neighbourhoods, from the lookup file."""
    places = files.gaps[gap]
    places = [places] if isinstance(places, str) else places
    column = "borough_id" if gap == "no_dementia_borough" else "neighbourhood_id"
    inside = files.lookup[files.lookup[column].isin(places)]
    return sorted(inside["area_id" if level == "area" else f"{level}_id"].unique())


def test_method_2_finds_every_documented_gap(files, analysed):
    documented = files.gaps["method_2"]
    named = {entry["gap"] for entry in documented}
    assert named == {"no_dementia_borough", "no_carers_neighbourhoods", "bame_majority_no_provision_neighbourhood",
                     "mental_health_hotspot_neighbourhoods"}  # fmt: skip
    for entry in documented:
        for level in entry["levels"]:
            table = analysed.analysis(level).table
            units = _units(files, entry["gap"], level)
            rows = table[table["area_id"].isin(units) & (table["community"] == entry["community"])]
            if entry["category"] is not None:
                rows = rows[rows["category"] == entry["category"]]
            assert len(rows) == len(units) * (1 if entry["category"] else 17)
            print(entry["gap"], entry["category"], entry["community"], level, rows["tier"].value_counts().to_dict())
            if entry["found_by"] == "tier":
                assert rows["tier"].isin(GAP_TIERS).all(), rows[["area_id", "access_ratio", "tier"]]
                assert (rows["access_ratio"] < 0.5).all()  # under half the regional average everywhere
            else:
                assert entry["found_by"] == "no_specific_provision"
                assert (rows["specific_access_per_10k"] == 0).all()
                reached = rows["access_per_10k"] > 0
                assert rows.loc[reached, "gap_reasons"].str.contains("no_specific_provision").all()


def test_gaps_stay_a_minority_of_rows(analysed):
    shares = {}
    for level in ("area", "neighbourhood", "borough"):
        table = analysed.analysis(level).table
        for rows_name, rows in (("all", table[table["community"] == "all"]),
                                ("community", table[table["community"] != "all"])):  # fmt: skip
            shares[level, rows_name] = rows["gap"].mean()
            tiers = rows["tier"].value_counts(normalize=True).round(3).to_dict()
            print(f"{level} {rows_name}: gap share {rows['gap'].mean():.1%}, tiers {tiers}")
            assert rows["tier"].isin(["severe", "moderate", "watch", "none", "no_data"]).all()
    assert all(0 < share < 0.5 for share in shares.values()), shares  # a minority
    assert shares["borough", "all"] < shares["neighbourhood", "all"] < shares["area", "all"]


def test_inverse_care_dementia_access_is_lowest_in_the_most_deprived_tenth(files, analysed):
    table = analysed.analysis("area").table
    rows = table[(table["category"] == "dementia") & (table["community"] == "all")]
    rows = rows.merge(files.imd, on="area_id")
    rows = rows[rows["need"] > 0]
    weighted = (rows["access_per_10k"] * rows["need"]).groupby(rows["imd_decile"]).sum()
    mean = weighted / rows["need"].groupby(rows["imd_decile"]).sum()
    print("dementia access per 10,000 in need by IMD decile:", mean.round(1).to_dict())
    assert mean[1] < 0.7 * mean[10] and mean[1] == mean.min()
    assert mean.loc[1:3].mean() < mean.loc[8:10].mean()
