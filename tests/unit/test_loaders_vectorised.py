"""Pin the per-row answers of the loaders' column-at-a-time paths.

England-scale files (millions of referral rows, Parquet columns of floats) are checked
a whole column at a time: numbers are never turned into text unless a row is rejected,
each distinct date or label is read once, repeated ids are found by hashing. These tests
hold every rejected row to exactly what the row-by-row checks reported (row number,
column, message, value), for the inputs where the two could differ: typed Parquet
columns with NaN, infinities and out-of-range values, rows mixing origin areas and
coordinates, repeated values, and repeated ids.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from coverage_map.config import METRIC_CRS
from coverage_map.errors import Problem, ValidationError
from coverage_map.ingest import load_areas, load_assets, load_inputs, load_lookup, load_referrals
from coverage_map.taxonomy import Taxonomy

TAXONOMY = Taxonomy.builtin()
X0, Y0 = 380_000.0, 390_000.0
NO_LOCATION = (
    "the referral has no location: give latitude and longitude, easting and northing, an origin_area_id "
    "or a point geometry"
)
SWAPPED = "latitude and longitude appear to be swapped (Great Britain is at latitude 49 to 61, longitude -9 to 3)"
METRES = (
    "latitude and longitude look like British National Grid metres, not degrees; put eastings and northings in "
    "'easting' and 'northing' columns (EPSG:27700)"
)
NULL_ISLAND = (
    "latitude and longitude are both 0, a placeholder for a missing location; leave them blank or give the real "
    "location"
)
OUTSIDE_BNG = (
    "easting/northing is outside the British National Grid (easting 0 to 700,000, northing 0 to 1,300,000 metres)"
)
DEGREES_IN_EN = "easting and northing look like longitude and latitude; put them in 'longitude' and 'latitude' columns"


@pytest.fixture
def areas(tmp_path: Path) -> gpd.GeoDataFrame:
    shapes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)]
    layer = gpd.GeoDataFrame({"area_id": ["A", "B", "C"]}, geometry=shapes, crs=METRIC_CRS)
    frame, problems = load_areas(_layer(layer, tmp_path / "areas.gpkg"))
    assert problems == []
    return frame


def _layer(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path, engine="pyogrio")
    return path


def _parquet(path: Path, columns: dict[str, object]) -> Path:
    pd.DataFrame(columns).to_parquet(path)
    return path


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _seen(problems: list[Problem]) -> list[tuple[int | None, str | None, str, str | None]]:
    return [(p.row, p.column, p.message, p.value) for p in problems]


# --------------------------------------------------------------------------- numeric coordinates


def test_parquet_referral_coordinates_are_checked_as_numbers(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    """Float latitude/longitude with NaN, infinities and impossible values; rows with an area are not read."""
    nan, inf = np.nan, np.inf
    rows = [
        # origin, latitude, longitude          Parquet rows are numbered from 1
        ("A", nan, nan),  # 1: by area
        ("B", 999.0, inf),  # 2: by area: its coordinates are never looked at
        (None, 53.48, -2.24),  # 3: good coordinates
        (None, nan, -2.24),  # 4: latitude blank
        (None, inf, -2.24),  # 5: latitude not a number
        (None, 91.0, -2.0),  # 6: latitude out of range
        (None, 53.0, -181.0),  # 7: longitude out of range
        (None, -2.24, 53.48),  # 8: swapped
        (None, 0.0, 0.0),  # 9: both zero
        (None, 383000.0, 390000.0),  # 10: metres
        (None, nan, nan),  # 11: no location at all
        (None, -inf, inf),  # 12: neither is a number
        ("E01999999", 53.48, -2.24),  # 13: unknown area: rejected, not placed by its coordinates
        ("C", 53.48, -2.24),  # 14: by area, although it has good coordinates too
    ]
    path = _parquet(
        tmp_path / "referrals.parquet",
        {
            "category": ["dementia"] * len(rows),
            "origin_area_id": [origin for origin, _, _ in rows],
            "latitude": [lat for _, lat, _ in rows],
            "longitude": [lon for _, _, lon in rows],
        },
    )
    referrals, problems = load_referrals(path, TAXONOMY, areas=areas)
    assert _seen(problems) == [
        (4, "latitude", "latitude is blank (longitude is given)", None),
        (5, "latitude", "latitude is not a number", None),
        (6, "latitude", "latitude must be between -90 and 90", None),
        (7, "longitude", "longitude must be between -180 and 180", None),
        (8, "latitude", SWAPPED, None),
        (9, "latitude", NULL_ISLAND, None),
        (10, "latitude", METRES, None),
        (11, None, NO_LOCATION, None),
        (12, "latitude", "latitude is not a number", None),
        (12, "longitude", "longitude is not a number", None),
        (13, "origin_area_id", "origin_area_id is not one of the area ids in the areas file", None),
    ]
    assert not any(p.fatal for p in problems)
    assert list(referrals["_source_row"]) == [1, 2, 3, 14]
    assert list(referrals["_coords"]) == ["area", "area", "lonlat", "area"]
    assert referrals["origin_area_id"].tolist() == ["A", "B", pd.NA, "C"]
    # Rows with an origin area are never given a point (so never joined geometrically).
    geometry = referrals.geometry.to_numpy()
    assert geometry[0] is None and geometry[1] is None and geometry[3] is None
    x, y = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(-2.24, 53.48)
    assert geometry[2].equals(shapely.Point(x, y))


def test_parquet_asset_coordinates_show_their_values(tmp_path: Path) -> None:
    """Assets are public: a rejected number is shown as the row-by-row text of the cell was."""
    nan, inf = np.nan, np.inf
    coordinates = [
        (53.5, -2.25),  # 1: good
        (91.0, -2.0),  # 2
        (53.5, 181.25),  # 3
        (-2.24, 53.48),  # 4: swapped
        (0.0, 0.0),  # 5
        (383000.0, 390000.0),  # 6
        (inf, -2.0),  # 7
        (53.0, nan),  # 8
        (1e16, 2.5e-05),  # 9: written as Python writes floats
    ]
    path = _parquet(
        tmp_path / "assets.parquet",
        {
            "asset_id": [f"a{i}" for i in range(1, len(coordinates) + 1)],
            "name": ["Hall"] * len(coordinates),
            "categories": ["dementia"] * len(coordinates),
            "latitude": [lat for lat, _ in coordinates],
            "longitude": [lon for _, lon in coordinates],
        },
    )
    assets, problems = load_assets(path, TAXONOMY)
    assert _seen(problems) == [
        (2, "latitude", "latitude must be between -90 and 90", "91"),
        (3, "longitude", "longitude must be between -180 and 180", "181.25"),
        (4, "latitude", SWAPPED, "-2.24, 53.48"),
        (5, "latitude", NULL_ISLAND, "0, 0"),
        (6, "latitude", METRES, "383000, 390000"),
        (7, "latitude", "latitude is not a number", "inf"),
        (8, "longitude", "longitude is blank (latitude is given)", None),
        (9, "latitude", "latitude must be between -90 and 90", "1e+16"),
    ]
    assert list(assets["asset_id"]) == ["a1"]


def test_integer_eastings_and_northings(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "assets.parquet",
        {
            "asset_id": ["a1", "a2", "a3"],
            "name": ["Hall"] * 3,
            "categories": ["dementia"] * 3,
            "easting": np.array([381000, -2, 800000], dtype="int64"),
            "northing": np.array([390500, 53, 100], dtype="int64"),
        },
    )
    assets, problems = load_assets(path, TAXONOMY)
    assert _seen(problems) == [
        (2, "easting", DEGREES_IN_EN, "-2, 53"),
        (3, "easting", OUTSIDE_BNG, "800000, 100"),
    ]
    assert assets.geometry.iloc[0].equals(shapely.Point(381000, 390500))


def test_text_coordinates_with_degrees_minutes_seconds_and_thousands(tmp_path: Path) -> None:
    text = (
        "asset_id,name,categories,latitude,longitude\n"
        "a1,Hall,dementia,53°28'50\"N,-2.2\n"  # 2: degrees, minutes and seconds
        "a2,Hall,dementia,53.5,abc\n"  # 3: not a number
        'a3,Hall,dementia,53.5,"-1,000"\n'  # 4: thousands separator: a number, out of range
        "a4,Hall,dementia, 53.5 ,-2.2\n"  # 5: good (spaces stripped)
    )
    assets, problems = load_assets(_csv(tmp_path / "assets.csv", text), TAXONOMY)
    dms = (
        "latitude is in degrees, minutes and seconds; give decimal degrees (53°28'50\"N is 53.480556), "
        "negative west of Greenwich and south of the equator"
    )
    assert _seen(problems) == [
        (2, "latitude", dms, "53°28'50\"N"),
        (3, "longitude", "longitude is not a number", "abc"),
        (4, "longitude", "longitude must be between -180 and 180", "-1,000"),
    ]
    assert list(assets["_source_row"]) == [5]


# --------------------------------------------------------------------------- typed columns as text


def test_typed_parquet_columns_are_read_as_their_text(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "assets.parquet",
        {
            "asset_id": np.array([7, 8, 9, 10], dtype="int64"),
            "name": ["Hall", "Club", "Cafe", "Shed"],
            "categories": ["dementia"] * 4,
            "capacity": [5.0, -1.5, np.nan, -0.0],  # -0.0 reads as its text "0" does: 0.0
            "accepting_referrals": [True, False, True, False],
            "easting": [381000.0] * 4,
            "northing": [390500.0] * 4,
        },
    )
    assets, problems = load_assets(path, TAXONOMY)
    assert _seen(problems) == [(2, "capacity", "capacity must not be negative", "-1.5")]
    assert list(assets["asset_id"]) == ["7", "9", "10"]
    capacity = assets["capacity"].to_numpy()
    assert capacity[0] == 5.0 and np.isnan(capacity[1]) and capacity[2] == 0.0 and not np.signbit(capacity[2])
    assert assets["accepting_referrals"].tolist() == [True, True, False]


def test_parquet_counts(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "referrals.parquet",
        {
            "category": ["dementia"] * 4,
            "origin_area_id": ["A"] * 4,
            "count": [1.5, np.nan, 2.0, 0.0],
        },
    )
    referrals, problems = load_referrals(path, TAXONOMY)
    assert _seen(problems) == [
        (1, "count", "count must be a whole number", "1.5"),
        (4, "count", "count must be at least 1", "0"),
    ]
    assert list(referrals["count"]) == [1, 2]


# --------------------------------------------------------------------------- dates, labels, ids


def test_each_row_with_a_bad_date_is_reported(tmp_path: Path) -> None:
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    dates = ["2024-01-05", "05/01/2024", "2024-01-05", "05/01/2024", "2024-13-01", future, "", "2024-02", "2024-13-01"]
    text = "category,origin_area_id,date\n" + "".join(f"dementia,A,{date}\n" for date in dates)
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY)
    slashes = (
        "date is written with slashes (day/month/year or month/day/year, which cannot be told apart); "
        "write dates as YYYY-MM-DD (or YYYY-MM)"
    )
    not_a_date = "date is not a date written YYYY-MM-DD (or YYYY-MM)"
    assert _seen(problems) == [
        (3, "date", slashes, None),
        (5, "date", slashes, None),
        (6, "date", not_a_date, None),
        (7, "date", "date is in the future", None),
        (10, "date", not_a_date, None),
    ]
    assert list(referrals["_source_row"]) == [2, 4, 8, 9]
    assert referrals["date"].dtype == "datetime64[ns]"
    assert referrals["date"].tolist()[:2] == [pd.Timestamp("2024-01-05")] * 2
    assert pd.isna(referrals["date"].iloc[2]) and referrals["date"].iloc[3] == pd.Timestamp("2024-02-01")


def test_parquet_timestamps_are_dates(tmp_path: Path) -> None:
    stamps = pd.Series([pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-06 10:30"), pd.NaT], dtype="datetime64[ns]")
    path = _parquet(
        tmp_path / "referrals.parquet", {"category": ["dementia"] * 3, "origin_area_id": ["A"] * 3, "date": stamps}
    )
    referrals, problems = load_referrals(path, TAXONOMY)
    assert problems == []
    assert referrals["date"].tolist()[:2] == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-06")]
    assert pd.isna(referrals["date"].iloc[2])


def test_every_row_with_an_unknown_or_blank_label_is_reported(tmp_path: Path) -> None:
    categories = ["dementa", "dementia", "dementa", "", "Dementia", "dementa"]
    communities = ["oldr", "", "BME", "", "oldr", ""]
    text = "category,community,origin_area_id\n" + "".join(
        f"{category},{community},A\n" for category, community in zip(categories, communities, strict=True)
    )
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY)
    unknown_category = TAXONOMY.categories.unknown_message("dementa")
    unknown_community = TAXONOMY.communities.unknown_message("oldr")
    assert _seen(problems) == [
        (2, "category", unknown_category, "dementa"),
        (2, "community", unknown_community, "oldr"),
        (4, "category", unknown_category, "dementa"),
        (5, "category", "category is blank", None),
        (6, "community", unknown_community, "oldr"),
        (7, "category", unknown_category, "dementa"),
    ]
    assert list(referrals["_source_row"]) == [3]
    assert referrals["category"].tolist() == ["dementia"] and referrals["community"].tolist() == [pd.NA]


def test_a_repeated_referral_id_in_two_rows(tmp_path: Path) -> None:
    text = "referral_id,category,origin_area_id\nr1,dementia,A\nr1,dementia,B\n"
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY)
    assert _seen(problems) == [
        (3, "referral_id", "referral_id repeats the one on row 2; the later row is ignored", None),
    ]
    assert list(referrals["origin_area_id"]) == ["A"]


def test_repeated_referral_ids_name_the_first_row_even_when_it_was_rejected(tmp_path: Path) -> None:
    ids = [" r1", "r2", "", "r1 ", "", "r2", "r1", "r3"]
    categories = ["dementa", "dementia", "dementia", "dementia", "dementia", "dementia", "dementia", "dementia"]
    text = "referral_id,category,origin_area_id\n" + "".join(
        f"{referral_id},{category},A\n" for referral_id, category in zip(ids, categories, strict=True)
    )
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY)
    repeats = "referral_id repeats the one on row {}; the later row is ignored"
    assert [(p.row, p.column, p.message) for p in problems] == [
        (2, "category", TAXONOMY.categories.unknown_message("dementa")),
        (5, "referral_id", repeats.format(2)),
        (7, "referral_id", repeats.format(3)),
        (8, "referral_id", repeats.format(2)),
    ]
    assert list(referrals["_source_row"]) == [3, 4, 6, 9]  # blank ids are never repeats


def test_repeated_integer_ids_in_parquet(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "referrals.parquet",
        {"referral_id": np.array([7, 8, 7], dtype="int64"), "category": ["dementia"] * 3, "origin_area_id": ["A"] * 3},
    )
    referrals, problems = load_referrals(path, TAXONOMY)
    assert _seen(problems) == [
        (3, "referral_id", "referral_id repeats the one on row 1; the later row is ignored", None),
    ]
    assert list(referrals["_source_row"]) == [1, 2]


# --------------------------------------------------------------------------- summary rows, reach, lookups


def test_summary_rows_are_found_by_their_first_cell(tmp_path: Path) -> None:
    text = (
        "asset_id,name,categories,easting,northing\n"
        "a1,Hall,dementia,381000,390500\n"
        "Tottenham Hale,Hall,dementia,381000,390500\n"  # starts like "total", but is a record
        "Total,,,,\n"
        "Grand total:,,,,\n"
        "SUM,,,,\n"
        "sub-totals,,,,\n"
        "All areas,,,,\n"
    )
    assets, problems = load_assets(_csv(tmp_path / "assets.csv", text), TAXONOMY)
    summary = "this looks like a summary row, not a record; it is ignored (delete total rows before saving)"
    assert _seen(problems) == [
        (4, "asset_id", summary, "Total"),
        (5, "asset_id", summary, "Grand total:"),
        (6, "asset_id", summary, "SUM"),
        (7, "asset_id", summary, "sub-totals"),
        (8, "asset_id", summary, "All areas"),
    ]
    assert list(assets["asset_id"]) == ["a1", "Tottenham Hale"]


def test_each_reach_is_read_once_and_every_bad_row_reported(tmp_path: Path) -> None:
    reaches = ["3km", "far", "", "3km", "0km", "far", "Borough-wide"]
    text = "asset_id,name,categories,reach,easting,northing\n" + "".join(
        f"a{i},Hall,dementia,{reach},381000,390500\n" for i, reach in enumerate(reaches)
    )
    assets, problems = load_assets(_csv(tmp_path / "assets.csv", text), TAXONOMY)
    words = "reach must be local, borough, citywide or a distance in km such as '3km'"
    assert _seen(problems) == [
        (3, "reach", words, "far"),
        (6, "reach", "a reach in km must be more than 0", "0km"),
        (7, "reach", words, "far"),
    ]
    assert list(assets["reach"]) == ["radius", "local", "radius", "borough"]
    assert assets["reach_km"].tolist()[::2] == [3.0, 3.0] and np.isnan(assets["reach_km"].iloc[3])


def test_a_lookup_that_loops_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = (
        "area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name\n"
        "A,B,Bee,X,Ex\n"  # A is put in "neighbourhood" B, which is an area in N1
        "B,N1,North,X,Ex\n"
        "C,C,Sea,X,Ex\n"  # an area may be its own neighbourhood
    )
    _, problems = load_lookup(_csv(tmp_path / "lookup.csv", text), areas)
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [(2, "neighbourhood_id", "B", True)]
    assert problems[0].message == (
        "area 'A' is put in neighbourhood 'B', which is itself an area of the lookup (row 3, in neighbourhood "
        "'N1'), so the lookup goes round in a loop; is a column shifted, or an area id typed as a neighbourhood id?"
    )


# --------------------------------------------------------------------------- the garbage collector


@pytest.mark.parametrize("enabled", [True, False])
def test_load_inputs_leaves_the_garbage_collector_as_it_was(tmp_path: Path, enabled: bool) -> None:
    """Loading leaves the collector as it found it, even on errors (it was once paused while loading)."""
    import gc

    shapes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(2)]
    areas = _layer(gpd.GeoDataFrame({"area_id": ["A", "B"]}, geometry=shapes, crs=METRIC_CRS), tmp_path / "a.gpkg")
    good = _csv(tmp_path / "assets.csv", "asset_id,name,categories,easting,northing\na1,Hall,dementia,380500,390500\n")
    bad = _csv(tmp_path / "bad.csv", "asset_id,name,categories,easting,northing\na1,Hall,dementia,1,1\na1,X,y,2,2\n")
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert len(load_inputs(areas=areas, assets=good).assets) == 1
        assert gc.isenabled() is enabled
        with pytest.raises(ValidationError):
            load_inputs(areas=areas, assets=bad)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_referral_dated_before_1900_is_rejected_not_a_crash(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    """A typed year such as 1200 is a typing error, reported with its row, not a pandas overflow."""
    text = "category,date,origin_area_id\ndementia,1200-01-05,A\ndementia,1899-12-31,A\ndementia,1900-01-01,A\n"
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY, areas=areas)
    assert len(referrals) == 1
    assert str(referrals["date"].iloc[0])[:10] == "1900-01-01"
    assert [(p.row, p.column, p.message) for p in problems] == [
        (2, "date", "date is before 1900, which cannot be a referral date"),
        (3, "date", "date is before 1900, which cannot be a referral date"),
    ]


def test_an_impossible_count_is_rejected_without_a_numpy_overflow(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "category,count,origin_area_id\ndementia,1e300,A\ndementia,1000000001,A\ndementia,12,A\n"
    referrals, problems = load_referrals(_csv(tmp_path / "referrals.csv", text), TAXONOMY, areas=areas)
    assert referrals["count"].tolist() == [12]
    assert [(p.row, p.column) for p in problems] == [(2, "count"), (3, "count")]
    assert all("more than 1,000,000,000" in p.message for p in problems)
