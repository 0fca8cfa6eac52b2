"""Validation and harmonisation of every input, on hand-built files in tmp_path.

The areas are three 1 km boxes in a row (A, B, C) at a British National Grid offset::

    y=Y0+1000 +---------+---------+---------+
              |    A    |    B    |    C    |
    y=Y0      +---------+---------+---------+
              X0     X0+1000   X0+2000   X0+3000
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage_map.config import METRIC_CRS, UNASSIGNED_ID, UNASSIGNED_NAME
from coverage_map.errors import Problem, ValidationError
from coverage_map.ingest import (
    load_areas,
    load_assets,
    load_inputs,
    load_lookup,
    load_population,
    load_referrals,
)
from coverage_map.model import Inputs
from coverage_map.taxonomy import Taxonomy

X0, Y0 = 380_000.0, 390_000.0
TAXONOMY = Taxonomy.builtin()


def box(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)


def area_layer(columns: dict[str, list[object]] | None = None, crs: str = METRIC_CRS) -> gpd.GeoDataFrame:
    data = columns if columns is not None else {"area_id": ["A", "B", "C"], "area_name": ["Area A", "Area B", "Area C"]}
    return gpd.GeoDataFrame(data, geometry=[box(0), box(1), box(2)], crs=METRIC_CRS).to_crs(crs)


def write_layer(frame: gpd.GeoDataFrame, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        frame.to_parquet(path)
    elif suffix == ".csv":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["geometry"] = frame.geometry.to_wkt()
        table.to_csv(path, index=False)
    elif suffix == ".zip":
        shp = path.with_suffix(".shp")
        frame.to_file(shp, engine="pyogrio")
        with zipfile.ZipFile(path, "w") as archive:
            for part in path.parent.glob(f"{path.stem}.*"):
                if part.suffix != ".zip":
                    archive.write(part, part.name)
    else:
        options = {"SPATIAL_INDEX": "NO"} if suffix == ".fgb" else {}
        frame.to_file(path, engine="pyogrio", layer_options=options)
    return path


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def areas_path(tmp_path: Path) -> Path:
    return write_layer(area_layer(), tmp_path / "areas.gpkg")


@pytest.fixture
def areas(areas_path: Path) -> gpd.GeoDataFrame:
    frame, problems = load_areas(areas_path)
    assert problems == []
    return frame


def rows_of(problems: list[Problem]) -> list[int | None]:
    return [p.row for p in problems]


def only(problems: list[Problem], *, fatal: bool) -> list[Problem]:
    return [p for p in problems if p.fatal is fatal]


# =========================================================================== areas


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet", ".csv"])
def test_areas_load_from_every_format(tmp_path: Path, suffix: str) -> None:
    path = write_layer(area_layer(), tmp_path / f"areas{suffix}")
    frame, problems = load_areas(path, crs=METRIC_CRS if suffix == ".csv" else None)
    assert problems == []
    assert list(frame.columns) == ["area_id", "area_name", "geometry", "_source_row"]
    assert frame.crs.equals(METRIC_CRS)
    assert list(frame["area_id"]) == ["A", "B", "C"]
    assert list(frame["area_name"]) == ["Area A", "Area B", "Area C"]
    assert list(frame["_source_row"]) == ([2, 3, 4] if suffix == ".csv" else [1, 2, 3])
    assert frame["_source_row"].dtype == "int64"
    for i, shape in enumerate(frame.geometry):
        assert shape.geom_type == "Polygon"
        assert shape.symmetric_difference(box(i)).area < 1e-6


def test_areas_in_wgs84_and_bng_give_the_same_geometry_within_a_metre(tmp_path: Path) -> None:
    in_bng, _ = load_areas(write_layer(area_layer(), tmp_path / "bng.gpkg"))
    in_wgs84, problems = load_areas(write_layer(area_layer(crs="EPSG:4326"), tmp_path / "wgs84.geojson"))
    assert problems == []
    assert in_wgs84.crs.equals(METRIC_CRS)
    for mine, theirs in zip(in_bng.geometry, in_wgs84.geometry, strict=True):
        assert mine.hausdorff_distance(theirs) < 1.0


@pytest.mark.parametrize(
    ("columns", "expected_ids", "expected_names"),
    [
        # ONS pair; the coarser LAD pair on the same file is not chosen
        (
            {
                "LAD22CD": ["L1"] * 3,
                "LAD22NM": ["Town"] * 3,
                "LSOA21CD": ["E01", "E02", "E03"],
                "LSOA21NM": ["Town 001A", "Town 001B", "Town 002A"],
            },
            ["E01", "E02", "E03"],
            ["Town 001A", "Town 001B", "Town 002A"],
        ),
        # case-insensitive, older vintage
        ({"lsoa11cd": ["E01", "E02", "E03"], "lsoa11nm": ["a", "b", "c"]}, ["E01", "E02", "E03"], ["a", "b", "c"]),
        # a code without a name column: the name is the code
        (
            {"WD22CD": ["E05000001", "E05000002", "E05000003"], "OBJECTID": [1, 2, 3]},
            ["E05000001", "E05000002", "E05000003"],
            ["E05000001", "E05000002", "E05000003"],
        ),
        # a code with a matching name beats one without
        (
            {"MSOA21CD": ["M1", "M2", "M3"], "OA21CD": ["O1", "O2", "O3"], "MSOA21NM": ["m1", "m2", "m3"]},
            ["M1", "M2", "M3"],
            ["m1", "m2", "m3"],
        ),
        # Trafford Data Lab style
        (
            {"area_code": ["E05000820", "E05000821", "E05000822"], "area_name": ["Altrincham", "Ashton", "Bowdon"]},
            ["E05000820", "E05000821", "E05000822"],
            ["Altrincham", "Ashton", "Bowdon"],
        ),
        # area_id wins over everything
        (
            {"LSOA21CD": ["E01", "E02", "E03"], "area_id": ["A", "B", "C"], "area_code": ["x", "y", "z"]},
            ["A", "B", "C"],
            ["A", "B", "C"],
        ),
    ],
)
def test_area_id_and_name_columns_are_detected(
    tmp_path: Path, columns: dict[str, list[object]], expected_ids: list[str], expected_names: list[str]
) -> None:
    frame, problems = load_areas(write_layer(area_layer(columns), tmp_path / "areas.gpkg"))
    assert problems == []
    assert list(frame["area_id"]) == expected_ids
    assert list(frame["area_name"]) == expected_names


def test_area_columns_can_be_named(tmp_path: Path) -> None:
    path = write_layer(area_layer({"code": [1, 2, 3], "label": ["one", "two", "three"]}), tmp_path / "areas.gpkg")
    frame, problems = load_areas(path, id_col="CODE", name_col="label")
    assert problems == []
    assert list(frame["area_id"]) == ["1", "2", "3"]  # integer codes become text
    assert list(frame["area_name"]) == ["one", "two", "three"]


def test_misspelt_area_column_override_is_fatal_with_a_suggestion(tmp_path: Path) -> None:
    path = write_layer(area_layer({"code": ["a", "b", "c"]}), tmp_path / "areas.gpkg")
    _, problems = load_areas(path, id_col="coed")
    [problem] = problems
    assert problem.fatal and problem.column == "coed"
    assert "found 'code' — is that it?" in problem.message


def test_no_area_id_column_is_fatal(tmp_path: Path) -> None:
    path = write_layer(area_layer({"zone": ["a", "b", "c"]}), tmp_path / "areas.gpkg")
    frame, problems = load_areas(path)
    assert frame.empty
    [problem] = problems
    assert problem.fatal and "cannot find the area id column" in problem.message
    assert "--area-id-col" in problem.message and "zone" in problem.message


def test_invalid_geometry_is_repaired_and_reported(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000), (X0, Y0)])
    layer = gpd.GeoDataFrame({"area_id": ["A", "B"]}, geometry=[bowtie, box(1)], crs=METRIC_CRS)
    frame, problems = load_areas(write_layer(layer, tmp_path / "areas.gpkg"))
    assert [(p.row, p.column, p.fatal) for p in problems] == [(1, "geometry", False)]
    assert "repaired" in problems[0].message and "Self-intersection" in problems[0].message
    repaired = frame.geometry.iloc[0]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    # the two triangles of the bow tie: each is a quarter of the box
    assert repaired.area == pytest.approx(500_000.0)
    assert list(frame["area_id"]) == ["A", "B"]


def test_geometry_collection_keeps_its_polygons(tmp_path: Path) -> None:
    collection = shapely.GeometryCollection([box(0), shapely.LineString([(0, 0), (1, 1)])])
    layer = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[collection], crs=METRIC_CRS)
    frame, problems = load_areas(write_layer(layer, tmp_path / "areas.geojson"))
    assert [(p.row, p.fatal) for p in problems] == [(1, False)]
    assert frame.geometry.iloc[0].equals(box(0))


def test_bad_area_geometries_are_fatal_naming_the_row(tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C", "D", "E"]},
        geometry=[
            box(0),
            None,
            shapely.Point(X0, Y0),
            shapely.GeometryCollection([shapely.LineString([(X0, Y0), (X0 + 1, Y0 + 1)])]),
            shapely.Polygon(),
        ],
        crs=METRIC_CRS,
    )
    frame, problems = load_areas(write_layer(layer, tmp_path / "areas.geojson"))
    assert all(p.fatal and p.column == "geometry" for p in problems)
    assert rows_of(problems) == [2, 3, 4, 5]
    assert "area 'B' has no geometry" in problems[0].message
    assert "area 'C' is a Point, not a polygon" in problems[1].message
    assert "GeometryCollection, not a polygon" in problems[2].message
    assert list(frame["area_id"]) == ["A"]


def test_duplicate_area_ids_are_fatal_listing_every_row(tmp_path: Path) -> None:
    text = (
        (f"area_id,geometry\nA,{box(0).wkt}\nB,{box(1).wkt}\nA,{box(2).wkt}\nA,{box(2).wkt}\n")
        .replace("POLYGON ((", '"POLYGON ((')
        .replace("))\n", '))"\n')
    )
    _, problems = load_areas(write_csv(tmp_path / "areas.csv", text), crs=METRIC_CRS)
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (2, "area_id", "A", True),
        (4, "area_id", "A", True),
        (5, "area_id", "A", True),
    ]
    assert "it is also on rows 4, 5" in problems[0].message


def test_blank_area_id_is_fatal(tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame({"area_id": ["A", None]}, geometry=[box(0), box(1)], crs=METRIC_CRS)
    _, problems = load_areas(write_layer(layer, tmp_path / "areas.gpkg"))
    assert [(p.row, p.fatal) for p in problems] == [(2, True)]
    assert "blank" in problems[0].message


def test_areas_without_crs_are_fatal_and_say_how_to_fix(tmp_path: Path) -> None:
    write_layer(area_layer(), tmp_path / "areas.shp")
    (tmp_path / "areas.prj").unlink()
    frame, problems = load_areas(tmp_path / "areas.shp")
    assert frame.empty
    [problem] = problems
    assert problem.fatal and problem.file == str(tmp_path / "areas.shp")
    assert "no CRS" in problem.message and "--crs EPSG:27700" in problem.message and "set_crs" in problem.message

    frame, problems = load_areas(tmp_path / "areas.shp", crs="EPSG:27700")
    assert problems == [] and list(frame["area_id"]) == ["A", "B", "C"]


def test_areas_csv_wkt_without_crs_is_fatal(tmp_path: Path) -> None:
    path = write_layer(area_layer(), tmp_path / "areas.csv")
    _, problems = load_areas(path)
    assert len(problems) == 1 and problems[0].fatal and "no CRS" in problems[0].message


def test_areas_csv_with_unreadable_wkt_is_fatal(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "areas.csv", f'area_id,geometry\nA,"{box(0).wkt}"\nB,POLYGON ((1 2\n')
    _, problems = load_areas(path, crs=METRIC_CRS)
    assert [(p.row, p.column, p.fatal) for p in problems] == [(3, "geometry", True)]


def test_areas_csv_without_geometry_is_fatal(tmp_path: Path) -> None:
    _, problems = load_areas(write_csv(tmp_path / "areas.csv", "area_id,name\nA,x\n"))
    assert len(problems) == 1 and problems[0].fatal and "polygon geometry" in problems[0].message


def test_3d_areas_are_flattened_and_reported_once(tmp_path: Path) -> None:
    layer = area_layer()
    layer["geometry"] = shapely.force_3d(layer.geometry.to_numpy(), 10.0)
    frame, problems = load_areas(write_layer(layer, tmp_path / "areas.gpkg"))
    assert [(p.row, p.fatal) for p in problems] == [(None, False)]
    assert not frame.geometry.has_z.any()


@pytest.mark.parametrize(
    ("name", "content"), [("areas.geojson", b""), ("areas.csv", b""), ("areas.csv", b"area_id,geometry\n")]
)
def test_empty_areas_file_is_fatal(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    frame, problems = load_areas(path, crs=METRIC_CRS)
    assert frame.empty
    assert len(problems) == 1 and problems[0].fatal
    assert "empty" in problems[0].message or "no data rows" in problems[0].message


# =========================================================================== lookup

LOOKUP_HEADER = "area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name\n"


def test_lookup_assigns_each_area_and_reports_missing_ones(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "B,N1,North,B1,Borough One\nA,N1,North,B1,Borough One\nZ,N9,Nowhere,B9,Far\n"
    lookup, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    assert lookup.to_dict("list") == {
        "area_id": ["A", "B", "C"],
        "neighbourhood_id": ["N1", "N1", UNASSIGNED_ID],
        "neighbourhood_name": ["North", "North", UNASSIGNED_NAME],
        "borough_id": ["B1", "B1", UNASSIGNED_ID],
        "borough_name": ["Borough One", "Borough One", UNASSIGNED_NAME],
    }
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (None, "area_id", "C", False),
        (4, "area_id", "Z", False),
    ]
    assert "not in the areas file; ignored" in problems[1].message


def test_lookup_names_default_to_ids_and_exact_repeats_are_ignored(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "A,N1,,B1,\nB,N1,,B1,\nC,N2,South,B1,\nA,N1,,B1,\n"
    lookup, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    assert list(lookup["neighbourhood_name"]) == ["N1", "N1", "South"]
    assert list(lookup["borough_name"]) == ["B1", "B1", "B1"]
    assert [(p.row, p.fatal) for p in problems] == [(5, False)]
    assert "same groups as row 2" in problems[0].message


def test_lookup_area_in_two_groups_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "A,N1,North,B1,One\nB,N1,North,B1,One\nC,N2,South,B2,Two\nA,N2,South,B2,Two\n"
    _, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    fatal = only(problems, fatal=True)
    assert [(p.row, p.column, p.value) for p in fatal] == [(5, "area_id", "A")]
    assert "row 2" in fatal[0].message and "row 5" in fatal[0].message


def test_lookup_neighbourhood_in_two_boroughs_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "A,N1,North,B1,One\nB,N1,North,B2,Two\nC,N2,South,B2,Two\n"
    _, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    [problem] = problems
    assert problem.fatal and problem.value == "N1" and problem.row == 3
    assert "'B1' (row 2), 'B2' (row 3)" in problem.message


def test_lookup_conflicting_names_use_the_first(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "A,N1,North,B1,One\nB,N1,Nroth,B1,One\nC,N2,South,B1,One\n"
    lookup, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    assert list(lookup["neighbourhood_name"]) == ["North", "North", "South"]
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [(3, "neighbourhood_name", "Nroth", False)]


def test_lookup_missing_columns_are_fatal_with_suggestions(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "area_id,neighborhood_id,neighbourhood_name,borough\nA,N1,North,B1\n"
    _, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    assert [(p.column, p.fatal) for p in problems] == [
        ("neighbourhood_id", True),
        ("borough_id", True),
        ("borough_name", True),
    ]
    assert problems[0].message == "missing required column 'neighbourhood_id'; found 'neighborhood_id' — is that it?"


def test_lookup_with_every_row_rejected_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = LOOKUP_HEADER + "X,N1,North,B1,One\nY,N1,North,B1,One\n"
    _, problems = load_lookup(write_csv(tmp_path / "lookup.csv", text), areas)
    assert any(p.fatal and "every row was rejected" in p.message for p in problems)


# =========================================================================== population


def test_population_resolves_communities_and_thousands(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = 'area_id,population,pop_BME,Pop Older People,area_name\nA,"1,296",100,\nB,3000,0,650\nZ,5,1,1\n'
    population, problems = load_population(write_csv(tmp_path / "population.csv", text), areas, TAXONOMY)
    assert list(population.columns) == ["area_id", "population", "pop_bame", "pop_older_people"]
    assert list(population["area_id"]) == ["A", "B", "C"]
    np.testing.assert_array_equal(population["population"], [1296.0, 3000.0, np.nan])
    np.testing.assert_array_equal(population["pop_bame"], [100.0, 0.0, np.nan])
    np.testing.assert_array_equal(population["pop_older_people"], [np.nan, 650.0, np.nan])
    assert population["population"].dtype == "float64"
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (None, "area_id", "C", False),
        (4, "area_id", "Z", False),
    ]


def test_population_unknown_community_column_is_fatal_with_closest(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "area_id,population,pop_oldr_people\nA,1,1\n"
    _, problems = load_population(write_csv(tmp_path / "population.csv", text), areas, TAXONOMY)
    [problem] = problems
    assert problem.fatal and problem.column == "pop_oldr_people" and problem.value == "oldr_people"
    assert "did you mean 'older_people'?" in problem.message


def test_population_bad_values(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "area_id,population,pop_bame\nA,-5,1\nB,lots,\nC,100,150\n"
    population, problems = load_population(write_csv(tmp_path / "population.csv", text), areas, TAXONOMY)
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (2, "population", "-5", False),
        (3, "population", "lots", False),
        (4, "pop_bame", "150", True),
    ]
    assert "larger than the total population (100)" in problems[2].message
    assert np.isnan(population["population"].iloc[0]) and np.isnan(population["population"].iloc[1])


def test_population_duplicate_area_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "area_id,population\nA,1\nB,2\nC,3\nA,4\n"
    _, problems = load_population(write_csv(tmp_path / "population.csv", text), areas, TAXONOMY)
    assert [(p.row, p.fatal) for p in problems] == [(2, True), (5, True)]


def test_population_missing_column_is_fatal(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    text = "area_id,populaton\nA,1\n"
    _, problems = load_population(write_csv(tmp_path / "population.csv", text), areas, TAXONOMY)
    [problem] = problems
    assert problem.message == "missing required column 'population'; found 'populaton' — is that it?"


# =========================================================================== assets

ASSET_HEADER = "asset_id,name,categories,communities,capacity,accepting_referrals,reach,easting,northing\n"


def test_assets_harmonised(tmp_path: Path) -> None:
    text = ASSET_HEADER + (
        f"a1,Memory Café,Dementia Support,,10,Yes,,{X0 + 500:.0f},{Y0 + 500:.0f}\n"
        f'a2,Carers Hub,dementia; carers,BME,"1,200",n,borough,{X0 + 1500:.0f},{Y0 + 500:.0f}\n'
        f"a3,Mind Matters,MH;anxiety,,,,2.5 km,{X0 + 2500:.0f},{Y0 + 900:.0f}\n"
        f"a4,Debt Line,debt,older adults;carer,0,,City-wide,{X0 + 200:.0f},{Y0 + 200:.0f}\n"
    )
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert problems == []
    assert list(assets.columns) == [
        "asset_id",
        "name",
        "categories",
        "communities",
        "capacity",
        "accepting_referrals",
        "reach",
        "reach_km",
        "geometry",
        "_source_row",
    ]
    assert list(assets["asset_id"]) == ["a1", "a2", "a3", "a4"]
    assert list(assets["name"]) == ["Memory Café", "Carers Hub", "Mind Matters", "Debt Line"]
    assert list(assets["categories"]) == [
        ("dementia",),
        ("dementia", "carers_support"),
        ("mental_health",),
        ("debt_benefits_advice",),
    ]
    assert list(assets["communities"]) == [(), ("bame",), (), ("older_people", "carers")]
    np.testing.assert_array_equal(assets["capacity"], [10.0, 1200.0, np.nan, 0.0])
    assert assets["accepting_referrals"].dtype == "boolean"
    assert assets["accepting_referrals"].tolist() == [True, False, pd.NA, pd.NA]
    assert list(assets["reach"]) == ["local", "borough", "radius", "citywide"]
    np.testing.assert_array_equal(assets["reach_km"], [np.nan, np.nan, 2.5, np.nan])
    assert assets.crs.equals(METRIC_CRS)
    assert assets.geometry.iloc[2].equals(shapely.Point(X0 + 2500, Y0 + 900))
    assert list(assets["_source_row"]) == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("y", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("N", False),
        ("0", False),
        ("", None),
    ],
)
def test_accepting_referrals_values(tmp_path: Path, cell: str, expected: bool | None) -> None:
    text = f"asset_id,name,categories,accepting_referrals,easting,northing\na1,A,dementia,{cell},{X0},{Y0}\n"
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert problems == []
    value = assets["accepting_referrals"].iloc[0]
    assert (value is pd.NA) if expected is None else (value == expected)


@pytest.mark.parametrize(
    ("cell", "reach", "km"),
    [
        ("", "local", None),
        ("Local", "local", None),
        ("BOROUGH", "borough", None),
        ("citywide", "citywide", None),
        ("city-wide", "citywide", None),
        ("City Wide", "citywide", None),
        ("city", "citywide", None),
        ("3km", "radius", 3.0),
        ("3 km", "radius", 3.0),
        ("2.5", "radius", 2.5),
        ("0.5 KM", "radius", 0.5),
    ],
)
def test_reach_values(tmp_path: Path, cell: str, reach: str, km: float | None) -> None:
    text = f"asset_id,name,categories,reach,easting,northing\na1,A,dementia,{cell},{X0},{Y0}\n"
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert problems == []
    assert assets["reach"].iloc[0] == reach
    assert np.isnan(assets["reach_km"].iloc[0]) if km is None else assets["reach_km"].iloc[0] == km


def test_assets_from_latitude_longitude(tmp_path: Path) -> None:
    # An independent route to the expected answer: geopandas reprojects a known BNG point.
    expected = shapely.Point(X0 + 500, Y0 + 500)
    lonlat = gpd.GeoSeries([expected], crs=METRIC_CRS).to_crs("EPSG:4326").iloc[0]
    text = f"asset_id,name,categories,Latitude,Lng\na1,A,dementia,{lonlat.y:.7f},{lonlat.x:.7f}\n"
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert problems == []
    assert assets.geometry.iloc[0].distance(expected) < 1.0


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".fgb", ".parquet", ".shp"])
def test_assets_from_point_geometry_in_any_crs(tmp_path: Path, suffix: str) -> None:
    layer = gpd.GeoDataFrame(
        {
            "asset_id": ["a1", "a2"],
            "name": ["A", "B"],
            "categories": ["dementia", "housing"],
            "website": ["https://a.example", None],
        },
        geometry=[shapely.Point(X0 + 500, Y0 + 500), shapely.Point(X0 + 1500, Y0 + 200)],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    assets, problems = load_assets(write_layer(layer, tmp_path / f"assets{suffix}"), TAXONOMY)
    assert problems == []
    assert list(assets["_source_row"]) == [1, 2]
    assert assets.geometry.iloc[0].distance(shapely.Point(X0 + 500, Y0 + 500)) < 1.0
    assert assets.geometry.iloc[1].distance(shapely.Point(X0 + 1500, Y0 + 200)) < 1.0
    assert assets["website"].iloc[0] == "https://a.example"


def test_assets_from_csv_wkt_with_crs(tmp_path: Path) -> None:
    text = f"asset_id,name,categories,geometry\na1,A,dementia,POINT ({X0} {Y0})\n"
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY, crs=METRIC_CRS)
    assert problems == []
    assert assets.geometry.iloc[0].equals(shapely.Point(X0, Y0))


def test_assets_pass_through_other_columns(tmp_path: Path) -> None:
    text = (
        "asset_id,name,categories,easting,northing,last_checked,service_id,website,description\n"
        f"a1,A,dementia,{X0},{Y0},2024-05-01,007,https://a.example,\n"
    )
    assets, _ = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert list(assets.columns)[-4:] == ["last_checked", "service_id", "website", "description"]
    assert assets["service_id"].iloc[0] == "007"
    assert pd.isna(assets["description"].iloc[0])  # blank is missing


def test_assets_bad_rows_are_rejected_with_reasons(tmp_path: Path) -> None:
    text = (
        "asset_id,name,categories,communities,capacity,accepting_referrals,reach,latitude,longitude\n"
        "a1,Good,dementia,,5,yes,,53.48,-2.24\n"
        "a2,Typo,demntia,,,,,53.48,-2.24\n"
        "a3,No category,,,,,,53.48,-2.24\n"
        "a4,Negative,dementia,,-3,,,53.48,-2.24\n"
        "a5,Bad bool,dementia,,,perhaps,,53.48,-2.24\n"
        "a6,Bad reach,dementia,,,,far,53.48,-2.24\n"
        "a7,Swapped,dementia,,,,,-2.24,53.48\n"
        "a8,Unparseable,dementia,,,,,fifty three,-2.24\n"
        "a9,Out of range,dementia,,,,,95,200\n"
        "a10,Nowhere,dementia,,,,,,\n"
        "a11,Community typo,dementia,oldr people,,,,53.48,-2.24\n"
        "a12,Zero reach,dementia,,,,0km,53.48,-2.24\n"
    )
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert list(assets["asset_id"]) == ["a1"]
    assert not any(p.fatal for p in problems)
    got = [(p.row, p.column, p.value) for p in problems]
    assert got == [
        (3, "categories", "demntia"),
        (4, "categories", None),
        (5, "capacity", "-3"),
        (6, "accepting_referrals", "perhaps"),
        (7, "reach", "far"),
        (8, "latitude", "-2.24, 53.48"),
        (9, "latitude", "fifty three"),
        (10, "latitude", "95"),
        (10, "longitude", "200"),
        (11, None, None),
        (12, "communities", "oldr people"),
        (13, "reach", "0km"),
    ]
    messages = [p.message for p in problems]
    assert "did you mean 'dementia'?" in messages[0]
    assert messages[5].startswith("latitude and longitude appear to be swapped")
    assert messages[6] == "latitude is not a number"
    assert "did you mean 'older_people'?" in messages[10]


def test_assets_easting_northing_checks(tmp_path: Path) -> None:
    text = (
        "asset_id,name,categories,easting,northing\na1,A,dementia,-2.24,53.48\na2,B,dementia,900000,1\n"
        "a3,C,dementia,380000,\n"
    )
    assets, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert assets.empty
    assert [(p.row, p.column) for p in problems if p.row] == [(2, "easting"), (3, "easting"), (4, "northing")]
    assert "look like longitude and latitude" in problems[1].message or "look like longitude" in problems[0].message


def test_assets_with_every_row_rejected_is_fatal(tmp_path: Path) -> None:
    text = f"asset_id,name,categories,easting,northing\na1,A,nonsense,{X0},{Y0}\n"
    _, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert [p.fatal for p in problems] == [True, False]
    assert "every row was rejected" in problems[0].message


def test_duplicate_asset_ids_are_fatal_listing_rows(tmp_path: Path) -> None:
    text = (
        f"asset_id,name,categories,easting,northing\na1,A,dementia,{X0},{Y0}\na2,B,dementia,{X0},{Y0}\n"
        f"a1,C,dementia,{X0},{Y0}\n"
    )
    _, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (2, "asset_id", "a1", True),
        (4, "asset_id", "a1", True),
    ]


def test_assets_missing_and_misspelt_columns(tmp_path: Path) -> None:
    text = "asset_id,nme,catgories,latitude\na1,A,dementia,53\n"
    _, problems = load_assets(write_csv(tmp_path / "assets.csv", text), TAXONOMY)
    assert all(p.fatal and p.row is None for p in problems)
    assert [p.message for p in problems] == [
        "missing required column 'name'; found 'nme' — is that it?",
        "missing required column 'categories'; found 'catgories' — is that it?",
        "missing required column 'longitude' ('latitude' needs it); "
        "the columns are: asset_id, nme, catgories, latitude",
    ]


def test_assets_without_location_columns_is_fatal(tmp_path: Path) -> None:
    _, problems = load_assets(
        write_csv(tmp_path / "assets.csv", "asset_id,name,categories,postcode\na,b,c,d\n"), TAXONOMY
    )
    [problem] = problems
    assert problem.fatal and "no location columns" in problem.message


def test_assets_saved_by_excel(tmp_path: Path) -> None:
    text = f"asset_id,name,categories,easting,northing\r\na1,Café £5 lunch club,food,{X0},{Y0}\r\n"
    for encoding in ("utf-8-sig", "cp1252"):
        assets, problems = load_assets(write_csv(tmp_path / f"assets-{encoding}.csv", text, encoding), TAXONOMY)
        assert problems == []
        assert assets["name"].iloc[0] == "Café £5 lunch club"
        assert assets["categories"].iloc[0] == ("food_nutrition",)


@pytest.mark.parametrize("content", [b"", b"asset_id,name,categories,easting,northing\n"])
def test_empty_assets_file_is_fatal(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "assets.csv"
    path.write_bytes(content)
    assets, problems = load_assets(path, TAXONOMY)
    assert assets.empty and list(assets.columns)[:2] == ["asset_id", "name"]
    assert len(problems) == 1 and problems[0].fatal


# =========================================================================== referrals

REFERRAL_HEADER = (
    "referral_id,date,category,community,count,asset_id,origin_area_id,latitude,longitude,easting,northing\n"
)


def test_referrals_mix_origins(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    lonlat = gpd.GeoSeries([shapely.Point(X0 + 2500, Y0 + 500)], crs=METRIC_CRS).to_crs("EPSG:4326").iloc[0]
    text = REFERRAL_HEADER + (
        "r1,2024-01-10,Dementia,,12,,A,,,,\n"
        "r2,2024-02,memory loss,BME,,a2,,,,381500,390500\n"
        f"r3,,mental health,,1,,,{lonlat.y:.7f},{lonlat.x:.7f},,\n"
        "r4,2024-03-31,dementia,,2.0,,C,53,-2,1,1\n"
    )
    referrals, problems = load_referrals(write_csv(tmp_path / "referrals.csv", text), TAXONOMY, areas=areas)
    assert problems == []
    assert list(referrals.columns) == [
        "category",
        "community",
        "count",
        "date",
        "asset_id",
        "origin_area_id",
        "geometry",
        "_coords",
        "_source_row",
    ]
    assert list(referrals["category"]) == ["dementia", "dementia", "mental_health", "dementia"]
    assert referrals["community"].tolist() == [pd.NA, "bame", pd.NA, pd.NA]
    assert list(referrals["count"]) == [12, 1, 1, 2] and referrals["count"].dtype == "int64"
    assert referrals["date"].tolist()[:2] == [pd.Timestamp("2024-01-10"), pd.Timestamp("2024-02-01")]
    assert pd.isna(referrals["date"].iloc[2])
    assert referrals["asset_id"].tolist() == [pd.NA, "a2", pd.NA, pd.NA]
    assert referrals["origin_area_id"].tolist() == ["A", pd.NA, pd.NA, "C"]
    assert list(referrals["_coords"]) == ["area", "en", "lonlat", "area"]
    assert referrals.geometry.iloc[0] is None and referrals.geometry.iloc[3] is None
    assert referrals.geometry.iloc[1].equals(shapely.Point(381500, 390500))
    assert referrals.geometry.iloc[2].distance(shapely.Point(X0 + 2500, Y0 + 500)) < 1.0
    assert list(referrals["_source_row"]) == [2, 3, 4, 5]
    assert "referral_id" not in referrals.columns


def test_referrals_from_point_geometry(tmp_path: Path) -> None:
    layer = gpd.GeoDataFrame({"category": ["dementia"]}, geometry=[shapely.Point(X0, Y0)], crs=METRIC_CRS)
    referrals, problems = load_referrals(write_layer(layer.to_crs(4326), tmp_path / "r.geojson"), TAXONOMY)
    assert problems == []
    assert list(referrals["_coords"]) == ["geometry"]
    assert referrals.geometry.iloc[0].distance(shapely.Point(X0, Y0)) < 1.0


def test_referrals_unknown_origin_area_only_checked_with_areas(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    path = write_csv(tmp_path / "referrals.csv", "category,origin_area_id\ndementia,A\ndementia,E01999999\n")
    without, problems = load_referrals(path, TAXONOMY)
    assert problems == [] and len(without) == 2
    checked, problems = load_referrals(path, TAXONOMY, areas=areas)
    assert list(checked["origin_area_id"]) == ["A"]
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [(3, "origin_area_id", None, False)]


def test_referrals_bad_rows_are_rejected(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    text = REFERRAL_HEADER + (
        "r1,2024-01-01,dementia,,1,,A,,,,\n"
        "r1,2024-01-02,dementia,,1,,B,,,,\n"  # repeated id
        "r3,2024-01-01,dementa,,1,,A,,,,\n"  # unknown category
        "r4,2024-01-01,dementia,oldr,1,,A,,,,\n"  # unknown community
        "r5,2024-01-01,dementia,,0,,A,,,,\n"  # count < 1
        "r6,2024-01-01,dementia,,1.5,,A,,,,\n"  # fractional count
        f"r7,{future},dementia,,1,,A,,,,\n"  # future
        "r8,01/02/2024,dementia,,1,,A,,,,\n"  # not ISO
        "r9,2024-01-01,,,1,,A,,,,\n"  # blank category
        "r10,2024-01-01,dementia,,1,,,,,,\n"  # no origin
    )
    referrals, problems = load_referrals(write_csv(tmp_path / "referrals.csv", text), TAXONOMY, areas=areas)
    assert list(referrals["_source_row"]) == [2]
    assert [(p.row, p.column, p.value) for p in problems] == [
        (3, "referral_id", None),
        (4, "category", "dementa"),
        (5, "community", "oldr"),
        (6, "count", "0"),
        (7, "count", "1.5"),
        (8, "date", None),
        (9, "date", None),
        (10, "category", None),
        (11, None, None),
    ]
    assert not any(p.fatal for p in problems)
    assert problems[0].message == "referral_id repeats the one on row 2; the later row is ignored"
    assert problems[5].message == "date is in the future"


def test_referral_problems_never_reveal_ids_coordinates_dates_or_origins(tmp_path: Path) -> None:
    areas_frame, _ = load_areas(write_layer(area_layer(), tmp_path / "areas.gpkg"))
    secrets = [
        "SECRET-ID-77",
        "53.4811",
        "-2.2374",
        "2099-12-31",
        "2024-13-45",
        "381234",
        "99999999",
        "E01999999",
        "12.3456",
        "54.1234",
        "-2.9876",
    ]
    text = REFERRAL_HEADER + (
        "SECRET-ID-77,2024-01-01,dementia,,1,,A,,,,\n"
        "SECRET-ID-77,2024-01-01,dementia,,1,,A,,,,\n"  # duplicate id
        "r2,2099-12-31,dementia,,1,,A,,,,\n"  # future date
        "r3,2024-13-45,dementia,,1,,A,,,,\n"  # impossible date
        "r4,2024-01-01,dementia,,1,,E01999999,,,,\n"  # unknown origin area
        "r5,2024-01-01,dementia,,1,,,-2.2374,53.4811,,\n"  # swapped
        "r6,2024-01-01,dementia,,1,,,abc,-2.2374,,\n"  # unparseable latitude
        "r7,2024-01-01,dementia,,1,,,99999999,12.3456,,\n"  # out of range
        "r8,2024-01-01,dementia,,1,,,,,381234,abc\n"  # unparseable northing
        "r9,2024-01-01,dementia,,1,,,,,-2.9876,54.1234\n"  # lon/lat in easting/northing
    )
    _, problems = load_referrals(write_csv(tmp_path / "referrals.csv", text), TAXONOMY, areas=areas_frame)
    assert len(problems) == 9  # one per bad row
    for problem in problems:
        assert problem.value is None, problem
        shown = str(problem) + problem.message
        assert not any(secret in shown for secret in secrets), problem


def test_referrals_missing_category_column_is_fatal_with_suggestion(tmp_path: Path) -> None:
    _, problems = load_referrals(write_csv(tmp_path / "r.csv", "catgory,origin_area_id\ndementia,A\n"), TAXONOMY)
    [problem] = problems
    assert problem.fatal
    assert problem.message == "missing required column 'category'; found 'catgory' — is that it?"


def test_referrals_without_origin_columns_is_fatal(tmp_path: Path) -> None:
    _, problems = load_referrals(write_csv(tmp_path / "r.csv", "category,origin\ndementia,A\n"), TAXONOMY)
    [problem] = problems
    assert problem.fatal and "no location columns" in problem.message
    assert "found 'origin'" in problem.message


# =========================================================================== load_inputs


def _write_good_inputs(tmp_path: Path) -> dict[str, Path]:
    return {
        "areas": write_layer(area_layer(crs="EPSG:4326"), tmp_path / "areas.geojson"),
        "assets": write_csv(tmp_path / "assets.csv", ASSET_HEADER + f"a1,A,dementia,,5,yes,,{X0 + 500},{Y0 + 500}\n"),
        "lookup": write_csv(tmp_path / "lookup.csv", LOOKUP_HEADER + "A,N1,North,B1,One\nB,N1,North,B1,One\n"),
        "population": write_csv(tmp_path / "population.csv", "area_id,population,pop_bme\nA,10,1\nB,20,2\nC,30,3\n"),
        "referrals": write_csv(tmp_path / "referrals.csv", "category,origin_area_id\ndementia,A\nhousing,B\n"),
    }


def test_load_inputs_happy_path(tmp_path: Path) -> None:
    paths = _write_good_inputs(tmp_path)
    inputs = load_inputs(**paths)
    assert isinstance(inputs, Inputs)
    assert list(inputs.areas["area_id"]) == ["A", "B", "C"]
    assert list(inputs.lookup["neighbourhood_id"]) == ["N1", "N1", UNASSIGNED_ID]
    assert inputs.community_labels == ("bame",)
    assert len(inputs.referrals) == 2 and len(inputs.assets) == 1
    # area C is not in the lookup: reported, not fatal
    assert [(p.file, p.value) for p in inputs.problems] == [(str(paths["lookup"]), "C")]
    assert [(s.role, s.path, s.rows) for s in inputs.sources] == [
        ("areas", str(paths["areas"]), 3),
        ("lookup", str(paths["lookup"]), 3),
        ("assets", str(paths["assets"]), 1),
        ("population", str(paths["population"]), 3),
        ("referrals", str(paths["referrals"]), 2),
    ]


def test_loaded_inputs_feed_the_spatial_joins(tmp_path: Path) -> None:
    from coverage_map.joins import prepare

    prepared = prepare(load_inputs(**_write_good_inputs(tmp_path)))
    assert list(prepared.assets["area_id"]) == ["A"]
    assert sorted(prepared.referrals["area_id"]) == ["A", "B"]


def test_load_inputs_reports_every_problem_in_every_file_at_once(tmp_path: Path) -> None:
    paths = _write_good_inputs(tmp_path)
    # areas: no CRS; lookup: a missing column; assets: duplicate ids and a bad row;
    # referrals: a misspelt column. Every one of them appears in the one error.
    write_layer(area_layer(), tmp_path / "areas.shp")
    (tmp_path / "areas.prj").unlink()
    paths["areas"] = tmp_path / "areas.shp"
    write_csv(paths["lookup"], "area_id,neighbourhood_id,neighbourhood_name,borough_id\nA,N1,North,B1\n")
    write_csv(
        paths["assets"],
        ASSET_HEADER + f"a1,A,dementia,,,,,{X0},{Y0}\na1,B,dementia,,,,,{X0},{Y0}\na3,C,dementia,,-1,,,{X0},{Y0}\n",
    )
    write_csv(paths["referrals"], "catgory,origin_area_id\ndementia,A\n")
    with pytest.raises(ValidationError) as caught:
        load_inputs(**paths)
    problems = caught.value.problems
    by_file = {(Path(p.file).name, p.row, p.column, p.fatal) for p in problems}
    assert ("areas.shp", None, "geometry", True) in by_file
    assert ("lookup.csv", None, "borough_name", True) in by_file
    assert ("assets.csv", 2, "asset_id", True) in by_file and ("assets.csv", 3, "asset_id", True) in by_file
    assert ("assets.csv", 4, "capacity", False) in by_file  # non-fatal problems are listed too
    assert ("referrals.csv", None, "category", True) in by_file
    # With unusable areas nothing is checked against them: no "not in the areas file" noise.
    assert not any("areas file" in p.message for p in problems)
    # fatal problems come first, and the message names file, row, column and value
    assert [p.fatal for p in problems] == sorted((p.fatal for p in problems), reverse=True)
    text = str(caught.value)
    assert f"{paths['assets']}, row 2, column 'asset_id'" in text and "(value: 'a1')" in text


def test_load_inputs_taxonomy_from_toml(tmp_path: Path) -> None:
    paths = _write_good_inputs(tmp_path)
    toml = tmp_path / "taxonomy.toml"
    toml.write_text('mode = "extend"\n[categories]\ngambling_harm = ["gambling"]\n', encoding="utf-8")
    write_csv(paths["referrals"], "category,origin_area_id\nGambling,A\n")
    inputs = load_inputs(**paths, taxonomy=toml)
    assert list(inputs.referrals["category"]) == ["gambling_harm"]
    assert inputs.taxonomy.categories.resolve("gambling") == "gambling_harm"

    same = load_inputs(**paths, taxonomy=inputs.taxonomy)
    assert list(same.referrals["category"]) == ["gambling_harm"]


def test_load_inputs_bad_taxonomy_is_fatal_but_areas_are_still_checked(tmp_path: Path) -> None:
    paths = _write_good_inputs(tmp_path)
    toml = tmp_path / "taxonomy.toml"
    toml.write_text("mode = 'sideways'\n", encoding="utf-8")
    write_csv(paths["lookup"], "area_id\nA\n")
    with pytest.raises(ValidationError) as caught:
        load_inputs(**paths, taxonomy=toml)
    files = {Path(p.file).name for p in caught.value.problems}
    assert files == {"taxonomy.toml", "lookup.csv"}


def test_load_inputs_with_only_the_required_files(tmp_path: Path) -> None:
    paths = _write_good_inputs(tmp_path)
    inputs = load_inputs(areas=paths["areas"], assets=paths["assets"], area_id_col="area_id")
    assert inputs.lookup is None and inputs.population is None and inputs.referrals is None
    assert inputs.problems == ()


def documented_examples(section: str | None = None) -> list[str]:
    """The first CSV/TOML example of each top-level input section of docs/data-format.md.

    With ``section``, every example under that heading (``##`` or ``###``) instead.
    """
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-format.md").read_text(encoding="utf-8")
    parts = re.split(r"^(#{2,3} .*)$", doc, flags=re.M)
    headed = list(zip(parts[1::2], parts[2::2], strict=True))
    if section is not None:
        bodies = [body for heading, body in headed if heading.lstrip("#").strip() == section]
        return [block for body in bodies for block in re.findall(r"```(?:csv|toml)\n(.*?)```", body, re.S)]
    inputs = ["Areas", "Lookup", "Population", "Assets", "Referrals", "Taxonomy (TOML)"]
    firsts = {}
    for heading, body in headed:
        title = heading.lstrip("#").strip()
        found = re.findall(r"```(?:csv|toml)\n(.*?)```", body, re.S)
        if title in inputs and found and title not in firsts:
            firsts[title] = found[0]
    return [firsts[title] for title in inputs]


def test_documented_examples_load_without_problems(tmp_path: Path) -> None:
    """The CSV and TOML snippets in docs/data-format.md stay valid."""
    names = ["areas.csv", "lookup.csv", "population.csv", "assets.csv", "referrals.csv", "taxonomy.toml"]
    for name, body in zip(names, documented_examples(), strict=True):
        (tmp_path / name).write_text(body, encoding="utf-8")
    inputs = load_inputs(
        areas=tmp_path / "areas.csv",
        assets=tmp_path / "assets.csv",
        lookup=tmp_path / "lookup.csv",
        population=tmp_path / "population.csv",
        referrals=tmp_path / "referrals.csv",
        taxonomy=tmp_path / "taxonomy.toml",
        crs=METRIC_CRS,
    )
    assert inputs.problems == ()
    assert list(inputs.areas["area_id"]) == ["E01005001", "E01005002", "E01005003"]
    assert inputs.community_labels == ("bame", "older_people")
    assert list(inputs.assets["reach"]) == ["local", "radius", "borough"]
    assert list(inputs.referrals["_coords"]) == ["area", "lonlat", "area"]
