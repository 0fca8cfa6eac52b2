"""E2SFCA access scores on hand-built geometry, with every expected value worked out by hand.

Four 1 km boxes; A, B, C in a row and D far away (an island)::

    y=1000 +------+------+------+            +------+
           |  A   |  B   |  C   |    ...     |  D   |
    y=0    +------+------+------+            +------+
           0     1000   2000   3000        10000  11000   (plus X0, Y0)

Origins are the centroids: A (500, 500), B (1500, 500), C (2500, 500), D (10500, 500).
A and B form borough B1; C and D form borough B2. Dementia's catchment is 2 km (set in
the taxonomy), so a local asset at a centroid weighs 1 in its own area, ``w_half`` one
box away (d/d0 = 1/2) and 0 two boxes away (d = d0).
"""

from __future__ import annotations

import math
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage_map.access import gaussian_weight, measure_access, origin_points, rollup_access
from coverage_map.config import METRIC_CRS
from coverage_map.errors import CoverageMapError
from coverage_map.joins import prepare
from coverage_map.model import Inputs
from coverage_map.taxonomy import Taxonomy

X0, Y0 = 380_000.0, 390_000.0
EDGE = math.exp(-0.5)


def dai(ratio: float) -> float:
    """Dai's Gaussian at d/d0 = ratio, written out independently of the code under test."""
    return (math.exp(-0.5 * ratio**2) - EDGE) / (1 - EDGE)


W_HALF = dai(0.5)  # (exp(-0.125) - exp(-0.5)) / (1 - exp(-0.5)) = 0.70137...


def areas() -> gpd.GeoDataFrame:
    boxes = [shapely.box(X0 + x, Y0, X0 + x + 1000, Y0 + 1000) for x in (0, 1000, 2000, 10_000)]
    return gpd.GeoDataFrame(
        {"area_id": list("ABCD"), "area_name": [f"Area {a}" for a in "ABCD"], "_source_row": [1, 2, 3, 4]},
        geometry=boxes,
        crs=METRIC_CRS,
    )


def lookup() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_id": list("ABCD"),
            "neighbourhood_id": ["N1", "N1", "N2", "N3"],
            "neighbourhood_name": ["N one", "N one", "N two", "N three"],
            "borough_id": ["B1", "B1", "B2", "B2"],
            "borough_name": ["One", "One", "Two", "Two"],
        }
    )


def population(**extra: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"area_id": list("ABCD"), "population": [1000.0, 2000.0, 1000.0, 500.0], "pop_bame": [100.0, 0, 300, 50]}
        | extra
    )


def asset_frame() -> gpd.GeoDataFrame:
    rows = [
        # id, categories, communities, capacity, accepting, reach, reach_km, x, y
        ("a1", ("dementia",), (), 10.0, True, "local", np.nan, 500, 500),
        ("a2", ("dementia",), ("bame",), np.nan, pd.NA, "local", np.nan, 2500, 500),
        ("a3", ("dementia",), (), 4.0, True, "borough", np.nan, 1500, 500),
        ("a4", ("dementia",), ("older_people",), 6.0, True, "citywide", np.nan, 10_500, 500),
        ("a5", ("dementia",), (), 100.0, False, "local", np.nan, 500, 500),
        ("a6", ("mental_health",), (), 3.0, True, "radius", 1.5, 1500, 500),
    ]
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": [r[0].upper() for r in rows],
            "categories": [r[1] for r in rows],
            "communities": [r[2] for r in rows],
            "capacity": [r[3] for r in rows],
            "accepting_referrals": pd.array([r[4] for r in rows], dtype="boolean"),
            "reach": [r[5] for r in rows],
            "reach_km": [r[6] for r in rows],
            "_source_row": list(range(2, 2 + len(rows))),
        },
        geometry=shapely.points([X0 + r[7] for r in rows], [Y0 + r[8] for r in rows]),
        crs=METRIC_CRS,
    )


def taxonomy() -> Taxonomy:
    builtin = Taxonomy.builtin()
    return Taxonomy(builtin.categories, builtin.communities, MappingProxyType({"dementia": 2.0}))


def prepared(*, pop: pd.DataFrame | None = None, with_population: bool = True, with_lookup: bool = True):
    return prepare(
        Inputs(
            areas=areas(),
            assets=asset_frame(),
            taxonomy=taxonomy(),
            lookup=lookup() if with_lookup else None,
            population=(pop if pop is not None else population()) if with_population else None,
        )
    )


def cell(table: pd.DataFrame, area: str, category: str, community: str) -> pd.Series:
    row = table[(table["area_id"] == area) & (table["category"] == category) & (table["community"] == community)]
    assert len(row) == 1
    return row.iloc[0]


def column(table: pd.DataFrame, name: str, category: str, community: str) -> np.ndarray:
    rows = table[(table["category"] == category) & (table["community"] == community)].sort_values("area_id")
    return rows[name].to_numpy(dtype=float)


def test_gaussian_weight_is_daIs_truncated_curve():
    distance = np.array([0.0, 1000.0, 1500.0, 2000.0, 2500.0, np.nan])
    expected = [1.0, W_HALF, dai(0.75), 0.0, 0.0, 0.0]
    np.testing.assert_allclose(gaussian_weight(distance, 2000.0), expected, atol=1e-15)


def test_dementia_for_everyone_by_hand():
    """Demand D = population = [1000, 2000, 1000, 500] (total 4500); catchment 2 km.

    Step 1, supply per person reaching each asset:
      a1 (local, capacity 10, in A): faces 1000*1 + 2000*w_half + 1000*0 -> R1 = 10 / (1000 + 2000 w_half)
      a2 (local, no capacity -> 1, in C; bame-only, but `all` counts it): R2 = 1 / (1000 + 2000 w_half)
      a3 (borough B1 = A, B; capacity 4): R3 = 4 / (1000 + 2000) = 4 / 3000
      a4 (citywide, capacity 6; lists older_people only, counts for `all`): R4 = 6 / 4500
      a5 (not accepting referrals): supplies 0
    Step 2:
      A_A = R1 + R3 + R4;  A_B = w_half (R1 + R2) + R3 + R4;  A_C = R2 + R4;  A_D = R4 (the island)
    Region ratio = (10 + 1 + 4 + 6 + 0) / 4500 = 21 / 4500.
    """
    table = measure_access(prepared()).table
    faced = 1000 + 2000 * W_HALF
    r1, r2, r3, r4 = 10 / faced, 1 / faced, 4 / 3000, 6 / 4500
    expected = np.array([r1 + r3 + r4, W_HALF * (r1 + r2) + r3 + r4, r2 + r4, r4])
    np.testing.assert_allclose(column(table, "access_per_10k", "dementia", "all"), 10_000 * expected)
    np.testing.assert_allclose(column(table, "access_ratio", "dementia", "all"), expected / (21 / 4500))
    np.testing.assert_allclose(column(table, "need", "dementia", "all"), [1000, 2000, 1000, 500])
    assert np.isnan(column(table, "specific_access_per_10k", "dementia", "all")).all()
    # All supply reaches someone, so the need-weighted mean ratio is exactly 1.
    assert np.average(expected / (21 / 4500), weights=[1000, 2000, 1000, 500]) == pytest.approx(1.0)


def test_dementia_for_a_community_counts_open_and_specific_assets_only():
    """bame demand D = [100, 0, 300, 50] (total 450). a4 lists older_people only: not counted.

      a1 (open): faces 100*1 + 0*w_half = 100 -> R1 = 10 / 100 = 0.1
      a2 (bame): faces 300*1 + 0*w_half = 300 -> R2 = 1 / 300
      a3 (open, borough B1): faces 100 + 0 = 100 -> R3 = 4 / 100 = 0.04
      a5 (open, not accepting): 0
    A = [0.1 + 0.04, w_half (0.1 + 1/300) + 0.04, 1/300, 0]; region = (10 + 1 + 4) / 450 = 1/30.
    Specific (a2 alone): [0, w_half / 300, 1/300, 0].
    """
    table = measure_access(prepared()).table
    expected = np.array([0.14, W_HALF * (0.1 + 1 / 300) + 0.04, 1 / 300, 0.0])
    np.testing.assert_allclose(column(table, "access_per_10k", "dementia", "bame"), 10_000 * expected)
    np.testing.assert_allclose(column(table, "access_ratio", "dementia", "bame"), expected * 30)
    np.testing.assert_allclose(
        column(table, "specific_access_per_10k", "dementia", "bame"), 10_000 * np.array([0, W_HALF / 300, 1 / 300, 0])
    )
    np.testing.assert_allclose(column(table, "need", "dementia", "bame"), [100, 0, 300, 50])
    row = cell(table, "D", "dementia", "bame")
    assert row["provision_exists"] and row["specific_exists"]


def test_radius_reach_uses_its_own_km_and_category_without_assets_is_flagged():
    """a6: mental health, radius 1.5 km, capacity 3, at B's centroid. d/d0 = 1000/1500 = 2/3 for A and C.

    R6 = 3 / (2000*1 + (1000 + 1000) dai(2/3)); A = [R6 dai(2/3), R6, R6 dai(2/3), 0]; region 3 / 4500.
    Housing has no asset at all: access 0, no ratio, provision_exists false.
    """
    result = measure_access(prepared())
    table = result.table
    near = dai(2 / 3)
    r6 = 3 / (2000 + 2000 * near)
    expected = np.array([r6 * near, r6, r6 * near, 0.0])
    np.testing.assert_allclose(column(table, "access_per_10k", "mental_health", "all"), 10_000 * expected)
    np.testing.assert_allclose(column(table, "access_ratio", "mental_health", "all"), expected / (3 / 4500))
    housing = table[table["category"] == "housing"]
    assert (housing["access_per_10k"] == 0).all()
    assert housing["access_ratio"].isna().all()
    assert not housing["provision_exists"].any()
    region = result.region.set_index(["category", "community"])
    assert region.loc[("dementia", "all"), "total_supply"] == 21
    assert region.loc[("dementia", "all"), "region_per_10k"] == pytest.approx(10_000 * 21 / 4500)


def test_need_columns_replace_population_as_demand():
    """need_dementia = [50, 100, 50, 0]. `all`: D = need. bame: D = pop_bame * need / population
    = [100*50/1000, 0, 300*50/1000, 50*0/500] = [5, 0, 15, 0].

    all: R1 = 10/(50 + 100 w_half), R2 = 1/(50 + 100 w_half), R3 = 4/150, R4 = 6/200; region 21/200.
    bame: R1 = 10/5 = 2, R2 = 1/15, R3 = 4/5; A = [2.8, w_half (2 + 1/15) + 0.8, 1/15, 0]; region 15/20.
    """
    table = measure_access(prepared(pop=population(need_dementia=[50.0, 100.0, 50.0, 0.0]))).table
    np.testing.assert_allclose(column(table, "need", "dementia", "all"), [50, 100, 50, 0])
    np.testing.assert_allclose(column(table, "need", "dementia", "bame"), [5, 0, 15, 0])
    faced = 50 + 100 * W_HALF
    r1, r2, r3, r4 = 10 / faced, 1 / faced, 4 / 150, 6 / 200
    expected = np.array([r1 + r3 + r4, W_HALF * (r1 + r2) + r3 + r4, r2 + r4, r4])
    np.testing.assert_allclose(column(table, "access_ratio", "dementia", "all"), expected / (21 / 200))
    bame = np.array([2.8, W_HALF * (2 + 1 / 15) + 0.8, 1 / 15, 0])
    np.testing.assert_allclose(column(table, "access_per_10k", "dementia", "bame"), 10_000 * bame)
    np.testing.assert_allclose(column(table, "access_ratio", "dementia", "bame"), bame / (15 / 20))
    # Mental health has no need column: its demand stays the population.
    np.testing.assert_allclose(column(table, "need", "mental_health", "all"), [1000, 2000, 1000, 500])


def test_travel_times_replace_distance_for_local_assets():
    """Catchment 20 minutes. a1: A 0 min, B 10 min (C missing: unreachable). a2: C 0, B 10, A 15.
    a5 is missing entirely (and supplies nothing anyway). a3/a4 keep borough/citywide; a6 keeps its km radius.

      a1 faces 1000 + 2000 w(10/20) -> R1 = 10 / (1000 + 2000 w_half)
      a2 faces 1000 + 2000 w_half + 1000 dai(15/20) -> R2 = 1 / that
      A_A = R1 + R2 dai(0.75) + R3 + R4; A_B = w_half (R1 + R2) + R3 + R4; A_C = R2 + R4; A_D = R4
    """
    times = pd.DataFrame(
        {
            "area_id": ["A", "B", "C", "B", "A", "Z", "A"],
            "asset_id": ["a1", "a1", "a2", "a2", "a2", "a1", "nope"],
            "minutes": [0.0, 10.0, 0.0, 10.0, 15.0, 3.0, 1.0],
        }
    )
    result = measure_access(prepared(), travel_times=times, catchment_minutes=20.0)
    r1 = 10 / (1000 + 2000 * W_HALF)
    r2 = 1 / (1000 + 2000 * W_HALF + 1000 * dai(0.75))
    r3, r4 = 4 / 3000, 6 / 4500
    expected = np.array([r1 + r2 * dai(0.75) + r3 + r4, W_HALF * (r1 + r2) + r3 + r4, r2 + r4, r4])
    np.testing.assert_allclose(column(result.table, "access_per_10k", "dementia", "all"), 10_000 * expected)
    # The radius asset is untouched by travel times.
    near = dai(2 / 3)
    r6 = 3 / (2000 + 2000 * near)
    np.testing.assert_allclose(
        column(result.table, "access_per_10k", "mental_health", "all"), 10_000 * np.array([r6 * near, r6, r6 * near, 0])
    )
    rows = {(p.row, p.column) for p in result.problems if p.file == "travel_times"}
    assert rows == {(7, "area_id"), (8, "asset_id")}  # row numbers count the header as row 1
    assert all(not p.fatal for p in result.problems)


def test_travel_time_table_needs_its_columns():
    with pytest.raises(CoverageMapError, match="minutes"):
        measure_access(prepared(), travel_times=pd.DataFrame({"area_id": ["A"], "asset_id": ["a1"]}))


def test_asset_whose_catchment_reaches_no_origin_is_reported():
    """a1 is given a travel time to no area at all: it adds to nobody's score and is reported by its row."""
    times = pd.DataFrame({"area_id": ["C"], "asset_id": ["a2"], "minutes": [0.0]})
    result = measure_access(prepared(), travel_times=times)
    reported = [p for p in result.problems if p.file == "assets"]
    assert [(p.row, p.value) for p in reported] == [(2, "a1")]


def test_rollup_weights_by_need():
    """Borough B1 = A + B: need 1000 + 2000; access and ratio are need-weighted means of A and B."""
    table = measure_access(prepared()).table
    up = rollup_access(table, prepared().membership, "borough")
    b1 = cell(up, "B1", "dementia", "all")
    a, b = cell(table, "A", "dementia", "all"), cell(table, "B", "dementia", "all")
    assert b1["need"] == 3000
    assert b1["access_per_10k"] == pytest.approx((1000 * a["access_per_10k"] + 2000 * b["access_per_10k"]) / 3000)
    assert b1["access_ratio"] == pytest.approx((1000 * a["access_ratio"] + 2000 * b["access_ratio"]) / 3000)
    # B1 has no bame people (100 in A, 0 in B): weighted by 100 and 0, so A's value.
    assert cell(up, "B1", "dementia", "bame")["access_ratio"] == pytest.approx(
        cell(table, "A", "dementia", "bame")["access_ratio"]
    )
    assert len(up) == 2 * len(table) // 4


def test_without_population_every_area_is_one_unit_of_demand():
    """D = 1 per area: R1 = 10/(1 + w_half), R2 = 1/(1 + w_half), R3 = 4/2, R4 = 6/4; region 21/4.
    need and the per-10k figures are unknown; the ratio is still defined."""
    table = measure_access(prepared(with_population=False)).table
    assert set(table["community"]) == {"all"}
    r1, r2, r3, r4 = 10 / (1 + W_HALF), 1 / (1 + W_HALF), 2.0, 1.5
    expected = np.array([r1 + r3 + r4, W_HALF * (r1 + r2) + r3 + r4, r2 + r4, r4])
    np.testing.assert_allclose(column(table, "access_ratio", "dementia", "all"), expected / (21 / 4))
    assert table["need"].isna().all() and table["access_per_10k"].isna().all()


def test_borough_reach_without_lookup_is_local_as_in_joins():
    """Without a lookup a3 decays from B's centroid like a local asset: R3 = 4 / (2000 + 2000 w_half)."""
    table = measure_access(prepared(with_lookup=False)).table
    faced = 1000 + 2000 * W_HALF
    r1, r2, r3, r4 = 10 / faced, 1 / faced, 4 / (2000 + 2000 * W_HALF), 6 / 4500
    expected = np.array([r1 + W_HALF * r3 + r4, W_HALF * (r1 + r2) + r3 + r4, r2 + W_HALF * r3 + r4, r4])
    np.testing.assert_allclose(column(table, "access_per_10k", "dementia", "all"), 10_000 * expected)


def test_taxonomy_catchment_wins_and_the_option_fills_in():
    """Dementia's 2 km comes from the taxonomy, so catchment_km does not move it; with a taxonomy
    that sets none, catchment_km = 2 gives the same figures. The radius asset a6 ignores both."""
    expected = measure_access(prepared()).table
    ignored = measure_access(prepared(), catchment_km=1.0).table
    for category in ("dementia", "mental_health"):
        np.testing.assert_allclose(
            column(ignored, "access_per_10k", category, "all"), column(expected, "access_per_10k", category, "all")
        )
    plain = prepare(
        Inputs(
            areas=areas(), assets=asset_frame(), lookup=lookup(), population=population(), taxonomy=Taxonomy.builtin()
        )
    )
    np.testing.assert_allclose(
        column(measure_access(plain, catchment_km=2.0).table, "access_per_10k", "dementia", "all"),
        column(expected, "access_per_10k", "dementia", "all"),
    )
    assert not np.allclose(
        column(measure_access(plain).table, "access_per_10k", "dementia", "all"),
        column(expected, "access_per_10k", "dementia", "all"),
    )
    with pytest.raises(CoverageMapError, match="catchment_km"):
        measure_access(prepared(), catchment_km=0.0)


def test_origin_points_use_a_point_inside_and_origins_override():
    """A U shape's centroid lies in its gap, so its representative point is used instead."""
    u_shape = shapely.Polygon(
        [(0, 0), (3000, 0), (3000, 3000), (2000, 3000), (2000, 1000), (1000, 1000), (1000, 3000), (0, 3000)]
    )
    frame = gpd.GeoDataFrame(
        {"area_id": ["U", "S"]},
        geometry=[shapely.affinity.translate(u_shape, X0, Y0), shapely.box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)],
        crs=METRIC_CRS,
    )
    xy, problems = origin_points(frame)
    assert not problems
    assert not u_shape.centroid.within(u_shape)
    assert frame.geometry.iloc[0].contains(shapely.Point(xy[0]))
    assert tuple(xy[1]) == (X0 + 5500, Y0 + 500)

    origins = gpd.GeoDataFrame(
        {"area_id": ["S", "nowhere", "S"]},
        geometry=shapely.points([X0 + 5100, X0, X0 + 5200], [Y0 + 100, Y0, Y0 + 200]),
        crs=METRIC_CRS,
    )
    xy, problems = origin_points(frame, origins)
    assert tuple(xy[1]) == (X0 + 5100, Y0 + 100)
    assert [(p.row, p.column) for p in problems if p.row] == [(2, "area_id"), (3, "area_id")]
    assert any("1 of 2 small areas" in p.message for p in problems)


def test_origins_must_be_in_british_national_grid():
    origins = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[shapely.Point(-2.2, 53.4)], crs="EPSG:4326")
    with pytest.raises(CoverageMapError, match="27700"):
        origin_points(areas(), origins)


def test_origins_override_moves_the_distances():
    """Moving A's origin onto B's centroid: a1 is then 1000 m from A (w_half) and a2 1000 m (w_half)."""
    origins = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[shapely.Point(X0 + 1500, Y0 + 500)], crs=METRIC_CRS)
    table = measure_access(prepared(), origins=origins).table
    r1 = 10 / (1000 * W_HALF + 2000 * W_HALF)
    r2 = 1 / (1000 * W_HALF + 2000 * W_HALF + 1000)
    r3, r4 = 4 / 3000, 6 / 4500
    assert cell(table, "A", "dementia", "all")["access_per_10k"] == pytest.approx(
        10_000 * (W_HALF * (r1 + r2) + r3 + r4)
    )


def test_taxonomy_file_sets_category_catchments(tmp_path):
    path = tmp_path / "taxonomy.toml"
    path.write_text('[catchment_km]\n"Memory loss" = 5\nhousing = 1.5\n', encoding="utf-8")
    assert dict(Taxonomy.from_toml(path).catchment_km) == {"dementia": 5.0, "housing": 1.5}
    path.write_text("[catchment_km]\nnonsense = 5\nhousing = -1\n", encoding="utf-8")
    with pytest.raises(CoverageMapError, match=r"unknown category 'nonsense'.*housing must be a positive"):
        Taxonomy.from_toml(path)


def test_against_pysal_access():
    """The same demand, supply and Gaussian through pysal ``access``'s E2SFCA.

    ``access.Access(...).enhanced_two_stage_fca(weight_fn=W, max_cost=d0)`` sums
    ``supply / sum(demand * W)`` over a cost table, exactly our two steps, but (a) it has no
    borough or citywide reach (one weight function of cost for all), so only local assets
    are compared; (b) its raw score is ``A_i`` itself (ours is reported per 10,000); and
    (c) ``normalize=True`` divides by the demand-weighted mean of ``A``, which equals our
    region ratio (sum S / sum D) when every asset has some demand within reach, as here.
    """
    access = pytest.importorskip("access")
    boxes, ids = [], []
    for row in range(4):
        for col in range(5):
            boxes.append(shapely.box(X0 + 1000 * col, Y0 + 1000 * row, X0 + 1000 * (col + 1), Y0 + 1000 * (row + 1)))
            ids.append(f"G{row}{col}")
    grid = gpd.GeoDataFrame(
        {"area_id": ids, "area_name": ids, "_source_row": range(1, 21)}, geometry=boxes, crs=METRIC_CRS
    )
    rng = np.random.default_rng(7)
    points = rng.uniform([X0 + 100, Y0 + 100], [X0 + 4900, Y0 + 3900], size=(6, 2))
    supply = [5.0, 12.0, np.nan, 3.0, 8.0, 1.0]
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"s{k}" for k in range(6)],
            "name": [f"S{k}" for k in range(6)],
            "categories": [("dementia",)] * 6,
            "communities": [()] * 6,
            "capacity": supply,
            "accepting_referrals": pd.array([True] * 6, dtype="boolean"),
            "reach": ["local"] * 6,
            "reach_km": [np.nan] * 6,
            "_source_row": range(2, 8),
        },
        geometry=shapely.points(points),
        crs=METRIC_CRS,
    )
    people = pd.DataFrame({"area_id": ids, "population": rng.integers(200, 3000, 20).astype(float)})
    ours = measure_access(
        prepare(Inputs(areas=grid, assets=assets, taxonomy=taxonomy(), population=people)), catchment_km=2.5
    ).table
    ours = ours[(ours["category"] == "dementia") & (ours["community"] == "all")].set_index("area_id")

    centroids = np.column_stack([grid.geometry.centroid.x, grid.geometry.centroid.y])
    cost = pd.DataFrame(
        [
            {"origin": ids[i], "dest": f"s{j}", "cost": float(np.hypot(*(centroids[i] - points[j])))}
            for i in range(20)
            for j in range(6)
        ]
    )
    d0 = 2000.0  # the taxonomy's dementia catchment wins over catchment_km
    model = access.Access(
        demand_df=people.set_index("area_id"),
        demand_index=True,
        demand_value="population",
        supply_df=pd.DataFrame(
            {"dest": [f"s{j}" for j in range(6)], "supply": np.nan_to_num(supply, nan=1.0)}
        ).set_index("dest"),
        supply_index=True,
        supply_value="supply",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    raw = model.enhanced_two_stage_fca(name="e2", weight_fn=lambda d: gaussian_weight(d, d0), max_cost=d0)
    raw = raw["e2_supply"].reindex(ours.index).fillna(0.0)
    np.testing.assert_allclose(ours["access_per_10k"] / 10_000, raw, rtol=1e-12)
    normalised = model.enhanced_two_stage_fca(
        name="n2", weight_fn=lambda d: gaussian_weight(d, d0), max_cost=d0, normalize=True
    )["n2_supply"].reindex(ours.index)
    np.testing.assert_allclose(ours["access_ratio"], normalised.fillna(0.0), rtol=1e-12)
