"""Reading every supported format robustly, and writing results back out."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage_map.errors import CoverageMapError, CRSError
from coverage_map.ingest import SUPPORTED, read_any
from coverage_map.outputs.tables import neutralise_formula, write_any

X0, Y0 = 380_000.0, 390_000.0


def boxes(crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    """Three 1 km boxes A, B, C in a row, in British National Grid (then ``crs``)."""
    frame = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"], "value": [1, 2, 3]},
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)],
        crs="EPSG:27700",
    )
    return frame.to_crs(crs)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def fatal_messages(problems: list) -> list[str]:
    return [p.message for p in problems if p.fatal]


# --------------------------------------------------------------------------- CSV


def test_csv_is_read_as_text_so_codes_and_leading_zeros_survive(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"area_id,population,flag\nE01000001,0012,TRUE\n007,1.50,\n")
    frame, problems = read_any(path)
    assert problems == []
    assert list(frame["area_id"]) == ["E01000001", "007"]
    assert list(frame["population"]) == ["0012", "1.50"]
    assert list(frame["flag"]) == ["TRUE", ""]  # blank stays "" for the loaders to treat as missing
    assert list(frame["_source_row"]) == [2, 3]


def test_csv_rows_are_spreadsheet_rows_even_past_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    text = 'id,note\n1,plain\n\n2,"two\nlines"\n,\n3,last\n'
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", text.encode()))
    assert problems == []
    # Row 3 is blank and row 5 has only empty cells: dropped (no data); a quoted
    # multi-line cell is one spreadsheet row (row 4).
    assert list(frame["id"]) == ["1", "2", "3"]
    assert list(frame["_source_row"]) == [2, 4, 6]


def test_csv_saved_by_excel_with_bom(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", "area_id,name\r\nE01,Café\r\n".encode("utf-8-sig"))
    frame, problems = read_any(path)
    assert problems == []
    assert list(frame.columns) == ["area_id", "name", "_source_row"]
    assert frame.loc[0, "name"] == "Café"


def test_csv_saved_by_excel_in_cp1252(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", "asset_id,name\na1,Café Société £5\n".encode("cp1252"))
    frame, problems = read_any(path)
    assert problems == []
    assert frame.loc[0, "name"] == "Café Société £5"


def test_csv_in_utf16_with_bom(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", "id,name\n1,Zoë\n".encode("utf-16"))
    frame, problems = read_any(path)
    assert problems == []
    assert frame.loc[0, "name"] == "Zoë"


def test_csv_in_an_unknown_encoding_is_fatal(tmp_path: Path) -> None:
    # 0x81 and 0x8d are undefined in Windows-1252 and invalid UTF-8.
    path = write_bytes(tmp_path / "a.csv", b"id,name\n1,\x81\x8d\n")
    frame, problems = read_any(path)
    assert frame.empty
    assert len(problems) == 1 and problems[0].fatal
    assert "unknown text encoding" in problems[0].message
    assert problems[0].file == str(path)


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet", ".fgb", ".shp", ".zip"])
def test_empty_zero_byte_file_is_fatal(tmp_path: Path, suffix: str) -> None:
    path = write_bytes(tmp_path / f"empty{suffix}", b"")
    frame, problems = read_any(path)
    assert frame.empty
    assert fatal_messages(problems) == ["the file is empty (0 bytes)"]


def test_header_only_csv_reads_as_no_rows(tmp_path: Path) -> None:
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", b"area_id,population\n"))
    assert problems == []
    assert len(frame) == 0
    assert list(frame.columns) == ["area_id", "population", "_source_row"]


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".json", ".gpkg", ".fgb", ".parquet", ".shp", ".zip"])
def test_garbage_file_gives_a_fatal_problem_not_a_traceback(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    path = write_bytes(tmp_path / f"garbage{suffix}", bytes(rng.integers(0, 256, 2000, dtype=np.uint8)))
    frame, problems = read_any(path)
    assert frame.empty
    assert problems and all(p.fatal for p in problems)
    assert all(p.file == str(path) for p in problems)


def test_text_that_is_not_geojson_is_fatal(tmp_path: Path) -> None:
    frame, problems = read_any(write_bytes(tmp_path / "a.geojson", b"area_id,name\nA,x\n"))
    assert frame.empty
    assert "not in a format GDAL recognises" in fatal_messages(problems)[0]


def test_csv_row_with_too_many_values_is_fatal_with_its_row(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"id,name\n1,a\n2,Smith, John\n3,c,,\n")
    frame, problems = read_any(path)
    assert frame.empty
    # Row 4 only has trailing empty cells (a spreadsheet habit), which is fine.
    assert [(p.row, p.fatal) for p in problems] == [(3, True)]
    assert "3 values but the header has 2 columns" in problems[0].message


def test_csv_trailing_empty_columns_and_short_rows_are_tolerated(tmp_path: Path) -> None:
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", b"id,name,,\n1,a,,\n2\n"))
    assert problems == []
    assert list(frame.columns) == ["id", "name", "_source_row"]
    assert list(frame["name"]) == ["a", ""]


def test_csv_duplicate_header_is_fatal(tmp_path: Path) -> None:
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", b"id,name,ID\n1,a,2\n"))
    assert frame.empty
    assert [(p.row, p.column, p.fatal) for p in problems] == [(1, "ID", True)]
    assert "appears twice" in problems[0].message


def test_semicolon_separated_csv_gets_a_hint(tmp_path: Path) -> None:
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", b"id;name\n1;a\n"))
    assert frame.empty
    assert "';'" in fatal_messages(problems)[0]


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    _, missing = read_any(tmp_path / "nowhere.csv")
    assert fatal_messages(missing) == ["file not found"]
    _, unsupported = read_any(write_bytes(tmp_path / "a.xlsx", b"x"))
    assert "unsupported file type '.xlsx'" in fatal_messages(unsupported)[0]
    assert all(suffix in fatal_messages(unsupported)[0] for suffix in SUPPORTED)


def test_csv_with_wkt_geometry_and_crs(tmp_path: Path) -> None:
    text = 'id,geometry\n1,POINT (383000 398000)\n2,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n3,\n'
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", text.encode()), crs="EPSG:27700")
    assert problems == []
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs == "EPSG:27700"
    assert frame.geometry.iloc[0].equals(shapely.Point(383000, 398000))
    assert frame.geometry.iloc[2] is None


def test_csv_with_wkt_geometry_but_no_crs_is_fatal_and_says_how_to_fix(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"id,geometry\n1,POINT (383000 398000)\n")
    frame, problems = read_any(path)
    assert frame.empty
    [problem] = problems
    assert problem.fatal and problem.file == str(path) and problem.column == "geometry"
    assert "no CRS" in problem.message
    assert "--crs EPSG:27700" in problem.message and "set_crs" in problem.message
    assert "British National Grid" in problem.message


def test_unparseable_wkt_rejects_the_row_without_echoing_it(tmp_path: Path) -> None:
    text = "id,geometry\n1,POINT (383000 398000)\n2,POINT (383000\n3,not wkt\n"
    frame, problems = read_any(write_bytes(tmp_path / "a.csv", text.encode()), crs="EPSG:27700")
    assert list(frame["id"]) == ["1"]
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (3, "geometry", None, False),
        (4, "geometry", None, False),
    ]


# --------------------------------------------------------------------------- spatial formats


def _write_layer(frame: gpd.GeoDataFrame, tmp_path: Path, suffix: str) -> Path:
    if suffix in (".parquet", ".geoparquet"):
        path = tmp_path / f"layer{suffix}"
        frame.to_parquet(path)
        return path
    if suffix == ".zip":
        frame.to_file(tmp_path / "layer.shp", engine="pyogrio")
        path = tmp_path / "layer.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in tmp_path.glob("layer.*"):
                if part.suffix != ".zip":
                    archive.write(part, f"inner folder/{part.name}")
        return path
    driver = {
        ".geojson": "GeoJSON",
        ".json": "GeoJSON",
        ".gpkg": "GPKG",
        ".shp": "ESRI Shapefile",
        ".fgb": "FlatGeobuf",
    }[suffix]
    path = tmp_path / f"layer{suffix}"
    # FlatGeobuf's spatial index reorders features; without it the file keeps our order.
    options = {"SPATIAL_INDEX": "NO"} if suffix == ".fgb" else {}
    frame.to_file(path, driver=driver, engine="pyogrio", layer_options=options)
    return path


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet", ".geoparquet"])
def test_every_spatial_format_reads_with_feature_numbers(tmp_path: Path, suffix: str) -> None:
    path = _write_layer(boxes(), tmp_path, suffix)
    frame, problems = read_any(path)
    assert problems == []
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs.equals("EPSG:27700")
    assert list(frame["code"]) == ["A", "B", "C"]
    assert list(frame["_source_row"]) == [1, 2, 3]
    assert (
        frame.geometry.iloc[1]
        .normalize()
        .equals_exact(shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000).normalize(), tolerance=1e-6)
    )


def test_plain_parquet_without_geometry_reads_as_a_table(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"area_id": ["A", "B"], "population": [10, 20]}).to_parquet(path)
    frame, problems = read_any(path)
    assert problems == []
    assert not isinstance(frame, gpd.GeoDataFrame)
    assert list(frame["population"]) == [10, 20]
    assert list(frame["_source_row"]) == [1, 2]


def test_shapefile_without_prj_is_fatal_unless_crs_is_given(tmp_path: Path) -> None:
    boxes().to_file(tmp_path / "nocrs.shp", engine="pyogrio")
    (tmp_path / "nocrs.prj").unlink()
    frame, problems = read_any(tmp_path / "nocrs.shp")
    assert frame.empty
    [problem] = problems
    assert problem.fatal and "no CRS" in problem.message and ".prj" in problem.message
    assert problem.file == str(tmp_path / "nocrs.shp")

    frame, problems = read_any(tmp_path / "nocrs.shp", crs="EPSG:27700")
    assert problems == []
    assert frame.crs.equals("EPSG:27700")


def test_crs_stored_in_the_file_wins_over_the_crs_argument(tmp_path: Path) -> None:
    path = _write_layer(boxes("EPSG:4326"), tmp_path, ".gpkg")
    frame, problems = read_any(path, crs="EPSG:27700")
    assert problems == []
    assert frame.crs.equals("EPSG:4326")


def test_bad_crs_argument_is_a_problem(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"id,geometry\n1,POINT (1 2)\n")
    frame, problems = read_any(path, crs="EPSG:not-a-code")
    assert frame.empty
    assert "cannot use the CRS" in fatal_messages(problems)[0]


def test_3d_coordinates_are_dropped_and_reported_once(tmp_path: Path) -> None:
    frame = boxes()
    frame["geometry"] = shapely.force_3d(frame.geometry.to_numpy(), 50.0)
    path = _write_layer(frame, tmp_path, ".gpkg")
    read, problems = read_any(path)
    assert not read.geometry.has_z.any()
    assert [(p.row, p.column, p.fatal) for p in problems] == [(None, "geometry", False)]
    assert "3 geometries" in problems[0].message


def test_geopackage_with_several_layers_reads_the_first_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "multi.gpkg"
    boxes().to_file(path, layer="first", engine="pyogrio")
    boxes().iloc[:1].to_file(path, layer="second", engine="pyogrio")
    frame, problems = read_any(path)
    assert len(frame) == 3
    assert [p.fatal for p in problems] == [False]
    assert "2 layers" in problems[0].message and "'first'" in problems[0].message


@pytest.mark.parametrize("members", [[], ["a.shp", "b.shp"]])
def test_zip_without_exactly_one_shapefile_is_fatal(tmp_path: Path, members: list[str]) -> None:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
        for member in members:
            archive.writestr(member, "x")
    frame, problems = read_any(path)
    assert frame.empty
    assert "exactly one shapefile" in fatal_messages(problems)[0]


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+44 161 000", "'+44 161 000"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@import", "'@import"),
        ("\tinvisible", "'\tinvisible"),
        ("\rreturn", "'\rreturn"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("-1.5", "-1.5"),  # a number written as text is not a formula
        ("+3", "+3"),
        ("", ""),
        (-5, -5),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_neutralise_formula(value: object, expected: object) -> None:
    assert neutralise_formula(value) == expected


def test_write_csv_drops_geometry_and_neutralises_text_only(tmp_path: Path) -> None:
    frame = boxes()
    frame["name"] = ["=1+2", "@SUM(1)", "ok"]
    frame["change"] = [-1.0, 2.0, -3.5]
    frame["categories"] = [("dementia", "carers_support"), ("mental_health",), ()]
    path = tmp_path / "out.csv"
    write_any(frame, path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines() == [
        "code,value,name,change,categories",
        "A,1,'=1+2,-1.0,dementia;carers_support",
        "B,2,'@SUM(1),2.0,mental_health",
        "C,3,ok,-3.5,",
    ]


def test_write_geojson_is_in_wgs84(tmp_path: Path) -> None:
    path = tmp_path / "out.geojson"
    write_any(boxes(), path)
    document = json.loads(path.read_text())
    lon, lat = document["features"][0]["geometry"]["coordinates"][0][0]
    assert -3 < lon < -2 and 53 < lat < 54  # 380 km E, 390 km N is near Manchester
    back, problems = read_any(path)
    assert problems == [] and back.crs.equals("EPSG:4326")
    assert back.to_crs("EPSG:27700").geometry.iloc[0].hausdorff_distance(boxes().geometry.iloc[0]) < 1.0


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".geoparquet"])
def test_write_spatial_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = boxes()
    frame["categories"] = [("dementia",), ("dementia", "housing"), ()]
    path = tmp_path / f"out{suffix}"
    write_any(frame, path)
    write_any(frame, path)  # an existing file is replaced, not appended to
    back, problems = read_any(path)
    assert problems == []
    assert back.crs.equals("EPSG:27700")
    assert list(back["code"]) == ["A", "B", "C"]
    assert list(back["categories"]) == ["dementia", "dementia;housing", ""]
    assert back.geometry.iloc[2].equals(frame.geometry.iloc[2])


def test_write_plain_table_to_parquet(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    write_any(pd.DataFrame({"a": [1, 2], "b": ["x", None]}), path)
    back = pd.read_parquet(path)
    assert list(back["a"]) == [1, 2]


def test_write_errors(tmp_path: Path) -> None:
    with pytest.raises(CoverageMapError, match="use one of"):
        write_any(boxes(), tmp_path / "out.xlsx")
    with pytest.raises(CoverageMapError, match="no geometry"):
        write_any(pd.DataFrame({"a": [1]}), tmp_path / "out.gpkg")
    with pytest.raises(CRSError, match="no CRS"):
        write_any(boxes().set_crs(None, allow_override=True), tmp_path / "out.geojson")


def test_write_rejected_rows_file(tmp_path: Path) -> None:
    from coverage_map.errors import Problem, problems_frame

    problems = [
        Problem(
            "assets.csv", '=HYPERLINK("x") is not a category', row=3, column="categories", value="=cmd", fatal=False
        ),
        Problem("areas.gpkg", "no CRS", column="geometry"),
    ]
    path = tmp_path / "result_rejected.csv"
    write_any(problems_frame(problems), path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(back.columns) == ["file", "row", "column", "value", "message", "fatal"]
    assert list(back["row"]) == ["3", ""]
    assert list(back["value"]) == ["'=cmd", ""]
    assert back["message"].iloc[0].startswith("'=HYPERLINK")
    assert list(back["fatal"]) == ["False", "True"]


def test_zip_bomb_and_traversal_refused_on_the_command_line_too(tmp_path):
    import zipfile

    from coverage_map.ingest import read_any

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("areas.shp", b"\0" * (20 * 2**20))  # compresses about 1000:1
    frame, problems = read_any(bomb)
    assert frame.empty and problems and problems[0].fatal
    assert "bomb.zip" in problems[0].message

    traversal = tmp_path / "evil.zip"
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("../../etc/areas.shp", b"x")
    frame, problems = read_any(traversal)
    assert frame.empty and problems[0].fatal and ".." in problems[0].message
