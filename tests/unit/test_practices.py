"""GP practices as referral origins, on hand-built files in tmp_path.

Three 1 km boxes in a row (A, B, C) at a British National Grid offset. Practices::

    P1 at the centre of box B (given by easting/northing or lon/lat)
    P2 with area C (and a point in A, which the area beats)
    P3 without coordinates or area
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from coverage_map.cli import main
from coverage_map.config import METRIC_CRS
from coverage_map.errors import ValidationError
from coverage_map.ingest import load_areas, load_inputs, load_practices, load_referrals
from coverage_map.ingest.practices import (
    PRACTICE_COLUMNS,
    area_column_candidates,
    code_column,
    normalise_code,
    practice_origins,
)
from coverage_map.joins import prepare
from coverage_map.taxonomy import Taxonomy

X0, Y0 = 380_000.0, 390_000.0
TAXONOMY = Taxonomy.builtin()
TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
B_CENTRE = (X0 + 1500, Y0 + 500)
A_CENTRE = (X0 + 500, Y0 + 500)


def box(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def areas_path(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame({"area_id": ["A", "B", "C"]}, geometry=[box(0), box(1), box(2)], crs=METRIC_CRS)
    path = tmp_path / "areas.gpkg"
    frame.to_file(path, engine="pyogrio")
    return path


@pytest.fixture
def areas(areas_path: Path) -> gpd.GeoDataFrame:
    return load_areas(areas_path)[0]


@pytest.fixture
def practices_path(tmp_path: Path) -> Path:
    return write(
        tmp_path / "practices.csv",
        "organisation_code,name,easting,northing,lsoa21cd\n"
        f"P1,Centre Surgery,{B_CENTRE[0]},{B_CENTRE[1]},\n"
        f"p2 ,Corner Practice,{A_CENTRE[0]},{A_CENTRE[1]},C\n"
        "P3,Glossop Surgery,,,\n",
    )


def practice_table(rows: list[tuple[str, str | None, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "practice_code": [r[0] for r in rows],
            "area_id": pd.array([r[1] for r in rows], dtype="string"),
            "x": [r[2] for r in rows],
            "y": [r[3] for r in rows],
            "_source_row": list(range(2, len(rows) + 2)),
        }
    )


# =========================================================================== pure functions


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["organisation_code", "name"], "organisation_code"),
        (["name", "Practice Code"], "Practice Code"),
        (["ODS-code", "lat"], "ODS-code"),
        (["code", "practice_code"], "practice_code"),  # the more specific name wins
        (["name", "postcode"], None),
    ],
)
def test_code_column(columns, expected):
    assert code_column(columns) == expected


def test_normalise_code_and_area_candidates():
    assert normalise_code(" p84 001 ") == "P84001"
    columns = ["organisation_code", "lad22cd", "wd22cd", "lsoa21cd", "Area ID"]
    assert area_column_candidates(columns, exclude=["organisation_code"]) == [
        "Area ID",
        "wd22cd",
        "lsoa21cd",
    ]


def test_practice_origins_prefer_area_then_point():
    table = practice_table([("P1", None, 1.0, 2.0), ("P2", "C", 5.0, 6.0), ("P3", None, np.nan, np.nan)])
    found = practice_origins(["p1", "P2", "P3", "P9"], table)
    assert list(found.status) == ["point", "area", "no_location", "unknown"]
    assert list(found.area_id) == [None, "C", None, None]
    assert found.x[0] == 1.0 and found.y[0] == 2.0 and np.isnan(found.x[1:]).all()
    assert list(found.codes) == ["P1", "P2", "P3", "P9"]
    empty = practice_origins(["P1"], practice_table([]))
    assert list(empty.status) == ["unknown"]


# =========================================================================== load_practices


def test_load_practices_with_area_and_coordinates(practices_path, areas):
    practices, problems = load_practices(practices_path, areas=areas)
    assert problems == []
    assert list(practices.columns) == list(PRACTICE_COLUMNS)
    assert list(practices["practice_code"]) == ["P1", "P2", "P3"]
    assert list(practices["area_id"].fillna("-")) == ["-", "C", "-"]
    assert practices["x"].tolist()[:2] == [B_CENTRE[0], A_CENTRE[0]] and np.isnan(practices["x"].iloc[2])


@pytest.mark.parametrize("style", ["latlon", "lonlat-short", "geojson"])
def test_load_practices_from_wgs84(tmp_path, style):
    lon, lat = TO_LONLAT.transform(*B_CENTRE)
    if style == "geojson":
        path = tmp_path / "p.geojson"
        gpd.GeoDataFrame(
            {"practice_code": ["P1", "P2"]},
            geometry=[shapely.Point(lon, lat), None],
            crs="EPSG:4326",
        ).to_file(path, engine="pyogrio")
    elif style == "latlon":
        path = write(tmp_path / "p.csv", f"ods_code,latitude,longitude\nP1,{lat},{lon}\nP2,,\n")
    else:
        path = write(tmp_path / "p.csv", f"code,lon,lat\nP1,{lon},{lat}\nP2,,\n")
    practices, problems = load_practices(path)
    assert problems == []
    assert practices["x"].iloc[0] == pytest.approx(B_CENTRE[0], abs=0.01)
    assert practices["y"].iloc[0] == pytest.approx(B_CENTRE[1], abs=0.01)
    assert np.isnan(practices["x"].iloc[1])


def test_practice_problems(tmp_path, areas):
    path = write(
        tmp_path / "p.csv",
        "practice_code,area_id,latitude,longitude\n"
        "P1,Z,,\n"  # row 2: unknown area and no point: kept without a location
        "P2,,53.5,abc\n"  # row 3: bad longitude: kept without a point
        ",A,,\n"  # row 4: blank code: rejected
        "P4,,-2.3,53.5\n",  # row 5: swapped
    )
    practices, problems = load_practices(path, areas=areas)
    assert list(practices["practice_code"]) == ["P1", "P2", "P4"]
    assert practices["area_id"].isna().all() and practices["x"].isna().all()
    assert [(p.row, p.column, p.value, p.fatal) for p in problems] == [
        (2, "area_id", "Z", False),
        (3, "longitude", "abc", False),
        (4, "practice_code", None, False),
        (5, "latitude", "-2.3, 53.5", False),
    ]
    assert problems[1].message == "longitude is not a number; the practice has no usable point"


def test_fatal_practice_files(tmp_path):
    _, problems = load_practices(write(tmp_path / "a.csv", "practise_code,lat,lon\nP1,53.5,-2.3\n"))
    [problem] = problems
    assert problem.fatal and "cannot find the practice code column" in problem.message
    assert "found 'practise_code'" in problem.message
    _, problems = load_practices(write(tmp_path / "b.csv", "code,postcode\nP1,M1 1AA\n"))
    [problem] = problems
    assert problem.fatal and "no location columns for a practice's location" in problem.message
    _, problems = load_practices(write(tmp_path / "c.csv", "code,lat,lon\nP1,53.5,-2.3\nP1,53.4,-2.3\n"))
    assert [(p.row, p.value, p.fatal) for p in problems] == [
        (2, "P1", True),
        (3, "P1", True),
    ]
    _, problems = load_practices(write(tmp_path / "d.csv", "code,lat\nP1,53.5\n"))
    assert [(p.column, p.fatal) for p in problems] == [("longitude", True)]


def test_area_column_that_matches_nothing(tmp_path, areas):
    text = "code,lsoa11cd,easting,northing\nP1,E01999999,{},{}\n".format(*B_CENTRE)
    practices, problems = load_practices(write(tmp_path / "a.csv", text), areas=areas)
    [problem] = problems
    assert not problem.fatal and "placed by their coordinates" in problem.message
    assert practices["area_id"].isna().all() and practices["x"].iloc[0] == B_CENTRE[0]
    _, problems = load_practices(write(tmp_path / "b.csv", "code,lsoa11cd\nP1,E01999999\n"), areas=areas)
    [problem] = problems
    assert problem.fatal and "practices cannot be placed" in problem.message


# =========================================================================== referrals


REFERRALS = (
    "referral_id,date,category,origin_area_id,origin_practice_code,easting,northing\n"
    "R1,2025-01-06,dementia,,P1,,\n"  # row 2: practice point, in B
    "R2,2025-01-07,dementia,,P2,,\n"  # row 3: practice area C
    "R3,2025-01-08,dementia,A,P1,,\n"  # row 4: own area wins
    f"R4,2025-01-09,dementia,,P2,{X0 + 100},{Y0 + 100}\n"  # row 5: own coordinates win (A)
    "R5,2025-01-10,dementia,,P3,,\n"  # row 6: practice without location
    "R6,2025-01-11,dementia,,X99999,,\n"  # row 7: unknown practice
    "R7,2025-01-12,dementia,,,,\n"  # row 8: no origin at all
)


def test_referrals_take_their_origin_from_the_practice(tmp_path, areas, practices_path):
    path = write(tmp_path / "referrals.csv", REFERRALS)
    referrals, problems = load_referrals(path, TAXONOMY, areas=areas, practices=practices_path)
    assert list(referrals["_source_row"]) == [2, 3, 4, 5]
    assert list(referrals["_coords"]) == ["practice", "practice", "area", "en"]
    assert list(referrals["origin_area_id"].fillna("-")) == ["-", "C", "A", "-"]
    assert referrals.geometry.iloc[0].equals(shapely.Point(*B_CENTRE))
    assert [(Path(p.file).name, p.row, p.column, p.value) for p in problems] == [
        ("referrals.csv", None, "origin_practice_code", None),
        ("referrals.csv", None, "origin_practice_code", None),
        ("referrals.csv", 6, "origin_practice_code", "P3"),
        ("referrals.csv", 7, "origin_practice_code", "X99999"),
        ("referrals.csv", 8, None, None),
    ]
    # One summary line per kind names the practices; then one problem per rejected row.
    assert problems[0].message == (
        f"1 practice code not in the practices file ({practices_path}) is used by 1 referral row, "
        "which was rejected: X99999"
    )
    assert problems[1].message.endswith("is used by 1 referral row, which was rejected: P3")
    assert "neither coordinates nor an area in the practices file" in problems[2].message
    assert "is not in the practices file" in problems[3].message
    # Practice codes are public; referral ids and dates never appear.
    text = " ".join(str(p) for p in problems)
    assert "R5" not in text and "2025" not in text


def test_referrals_accept_a_loaded_practice_table(tmp_path, areas):
    table = practice_table([("P1", "B", np.nan, np.nan)])
    path = write(tmp_path / "r.csv", "category,practice_code\ndementia,p1\n")
    referrals, problems = load_referrals(path, TAXONOMY, practices=table)
    assert problems == [] and list(referrals["origin_area_id"]) == ["B"]


def test_practice_codes_without_a_practice_file_are_fatal(tmp_path):
    path = write(
        tmp_path / "r.csv",
        "category,origin_area_id,origin_practice_code\ndementia,A,\ndementia,,P1\n",
    )
    _, problems = load_referrals(path, TAXONOMY)
    [problem] = problems
    assert problem.fatal and problem.column == "origin_practice_code"
    assert "1 row gives only an origin practice code" in problem.message and "--practices" in problem.message
    # Rows that all have another origin need no practice file.
    fine = write(
        tmp_path / "ok.csv",
        "category,origin_area_id,origin_practice_code\ndementia,A,P1\n",
    )
    referrals, problems = load_referrals(fine, TAXONOMY)
    assert problems == [] and list(referrals["origin_area_id"]) == ["A"]


def test_load_inputs_and_prepare_count_practice_referrals(tmp_path, areas_path, practices_path):
    assets = write(
        tmp_path / "assets.csv",
        f"asset_id,name,categories,easting,northing\na1,One,dementia,{X0 + 5},{Y0 + 5}\n",
    )
    referrals = write(tmp_path / "referrals.csv", REFERRALS.rsplit("R5", 1)[0].rstrip(",\n") + "\n")
    inputs = load_inputs(areas=areas_path, assets=assets, referrals=referrals, practices=practices_path)
    assert [s.role for s in inputs.sources] == [
        "areas",
        "practices",
        "assets",
        "referrals",
    ]
    prepared = prepare(inputs)
    # By hand: R1 -> P1's point in B; R2 -> P2's area C; R3 -> A; R4 -> its own point in A.
    assert sorted(prepared.referrals["area_id"]) == ["A", "A", "B", "C"]


def test_load_inputs_reports_practice_and_referral_problems_together(tmp_path, areas_path):
    assets = write(
        tmp_path / "assets.csv",
        f"asset_id,name,categories,easting,northing\na1,One,dementia,{X0 + 5},{Y0 + 5}\n",
    )
    practices = write(tmp_path / "practices.csv", "code,lat,lon\nP1,53.5,-2.3\nP1,53.5,-2.3\n")
    referrals = write(
        tmp_path / "referrals.csv",
        "category,origin_practice_code\ndementa,P1\ndementia,P1\n",
    )
    with pytest.raises(ValidationError) as caught:
        load_inputs(areas=areas_path, assets=assets, referrals=referrals, practices=practices)
    found = {(Path(p.file).name, p.row, p.fatal) for p in caught.value.problems}
    assert found == {
        ("practices.csv", 2, True),
        ("practices.csv", 3, True),
        ("referrals.csv", 2, False),
    }


def test_cli_practices(tmp_path, areas_path, practices_path):
    assets = write(
        tmp_path / "assets.csv",
        f"asset_id,name,categories,easting,northing\na1,One,dementia,{X0 + 5},{Y0 + 5}\n",
    )
    referrals = write(tmp_path / "referrals.csv", REFERRALS)
    out = tmp_path / "out.csv"
    argv = ["analyse", "--areas", str(areas_path), "--assets", str(assets), "--referrals", str(referrals),
            "--practices", str(practices_path), "--no-suppress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out).query("category == 'dementia' and community == 'all'")
    assert dict(zip(table["area_id"], table["referrals"], strict=True)) == {
        "A": 2,
        "B": 1,
        "C": 1,
    }
    rejected = pd.read_csv(tmp_path / "out_rejected.csv", dtype=str)
    assert set(rejected["value"].dropna()) == {"P3", "X99999"}


def test_documented_practice_example_loads(tmp_path):
    from test_loaders import documented_examples

    [example] = documented_examples("GP practices")
    practices, problems = load_practices(write(tmp_path / "practices.csv", example))
    assert problems == []
    assert list(practices["practice_code"]) == ["P84005", "C81077"]
    assert np.isfinite(practices["x"].iloc[0]) and np.isnan(practices["x"].iloc[1])
