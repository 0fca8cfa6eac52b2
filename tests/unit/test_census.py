"""Census-style population tables mapped onto area_id, population and pop_<community>.

Expected values are added up by hand from the small tables in tests/data/census/, or (for
the real Greater Manchester tables) taken from realdata/SOURCES.md or computed by a
different route than the one the mapping file uses.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.errors import CoverageMapError, ValidationError
from coverage_map.ingest.census import (
    DEFAULT_CENSUS_MAPPING,
    CensusTable,
    Expression,
    census_table,
    census_tables,
    map_population,
    read_population,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "census"
CONFIG = DATA / "census.toml"


def test_wide_table_from_file():
    population = read_population(DATA / "age_wide.csv", census_table("age", CONFIG))
    assert population.columns.tolist() == ["area_id", "population", "pop_older_people", "pop_young_people"]
    assert population.area_id.tolist() == ["E01000001", "E01000002", "E01000003"]
    # "1,200" has a thousands separator; 65+ = 65-74 + 75+ = 150+150, 120+80, 60+40
    assert population.population.tolist() == [1200.0, 800.0, 1000.0]
    assert population.pop_older_people.tolist() == [300.0, 200.0, 100.0]
    assert population.pop_young_people.tolist() == [200.0, 100.0, 300.0]


def test_wide_table_from_numbers_with_area_col_override():
    table = pd.DataFrame(
        {"code": ["X", "Y"], "total": [10, 20], "aged_0_15": [1, 2], "aged_65_74": [3, 4], "aged_75_plus": [0.5, 1.5]}
    )
    population = map_population(table, census_table("age", CONFIG), area_col="code")
    assert population.to_dict("list") == {
        "area_id": ["X", "Y"],
        "population": [10.0, 20.0],
        "pop_older_people": [3.5, 5.5],
        "pop_young_people": [1.0, 2.0],
    }


def test_long_table_with_every_group_minus_white_groups():
    population = read_population(DATA / "ethnicity_long.csv", census_table("ethnicity", CONFIG))
    # "BME" is a synonym of the bame community; group names match case-insensitively.
    assert population.columns.tolist() == ["area_id", "population", "pop_bame"]
    # A: 700+20+30+150+100 = 1000, bame 150+100 = 250; B: 400+0+50+25+25 = 500, bame 50
    assert population.to_dict("list") == {
        "area_id": ["A", "B"],
        "population": [1000.0, 500.0],
        "pop_bame": [250.0, 50.0],
    }


def test_every_problem_is_gathered_with_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("lsoa_code,total,aged_0_15,aged_65_74\nE1,100,ten,5\nE2,,3,-1\nE1,50,3,4\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_population(path, census_table("age", CONFIG))
    found = {(p.row, p.column, p.value) for p in caught.value.problems}
    # the missing column is reported first; no values are checked until the columns are right
    assert found == {(1, "aged_75_plus", None)}
    assert str(path) in str(caught.value)

    path.write_text(
        "lsoa_code,total,aged_0_15,aged_65_74,aged_75_plus\nE1,100,ten,5,1\nE2,,3,-1,1\nE1,50,3,4,1\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError) as caught:
        read_population(path, census_table("age", CONFIG))
    found = {(p.row, p.column, p.value) for p in caught.value.problems}
    assert found == {(2, "aged_0_15", "ten"), (3, "total", None), (3, "aged_65_74", "-1"), (4, "lsoa_code", "E1")}


def test_long_table_problems(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("area,group,count\nA,White British,10\nA,Asian,x\nA,Asian,3\nB,Asian,4\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_population(path, census_table("ethnicity", CONFIG))
    messages = [str(p) for p in caught.value.problems]
    assert any("White Irish" in m and "not in the table" in m for m in messages)
    assert any("row 3" in m and "'count'" in m and "'x'" in m for m in messages)
    assert any("row 4" in m and "more than one row" in m for m in messages)


def test_negative_result_is_reported():
    config = CensusTable(
        name="t",
        layout="wide",
        population=Expression(("total",)),
        communities={"bame": Expression(("total",), ("white",))},
        area_column="area",
    )
    table = pd.DataFrame({"area": ["A", "B"], "total": [10, 5], "white": [4, 6]})
    with pytest.raises(ValidationError, match="pop_bame = total - white is negative"):
        map_population(table, config)


def test_bad_config_lists_every_problem(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[tables.x]\nlayout = "tall"\npopulation = 3\n[tables.x.communities]\nunicorns = "u"\n'
        '[tables.y]\nlayout = "wide"\npopulation = { sum = "*" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        census_tables(path)
    columns = {p.column for p in caught.value.problems}
    assert columns == {"[tables.x] layout", "[tables.x] population", "[tables.x].communities", "[tables.y] population"}
    assert "unknown community 'unicorns'" in str(caught.value)


def test_choosing_a_table():
    with pytest.raises(CoverageMapError, match="choose one of age, ethnicity"):
        census_table(None, CONFIG)
    with pytest.raises(CoverageMapError, match="no table 'nope'"):
        census_table("nope", CONFIG)
    with pytest.raises(CoverageMapError, match="area code"):
        map_population(pd.DataFrame({"a": [1]}), CensusTable("t", "wide", Expression(("a",))))


def test_shipped_config_is_valid_and_documented():
    tables = census_tables()
    assert {
        "census2021_age_6_bands",
        "census2011_ethnicity",
        "census2021_ethnic_group_long",
        "census2021_5yr_age_long",
    } <= set(tables)
    assert tables["census2011_ethnicity"].communities["bame"] == Expression(
        ("Persons",), ("WhiteBrit", "Irish", "OtherWhite")
    )
    docs = (Path(__file__).resolve().parents[2] / "docs" / "census.md").read_text(encoding="utf-8")
    assert DEFAULT_CENSUS_MAPPING.name in docs and "Gypsy" in docs


def test_cli_census_population(tmp_path, capsys):
    out = tmp_path / "population.csv"
    code = main(
        ["census-population", str(DATA / "age_wide.csv"), "--config", str(CONFIG), "--table", "age", "--out", str(out)]
    )
    assert code == 0
    written = pd.read_csv(out, dtype={"area_id": str})
    assert written.pop_older_people.tolist() == [300.0, 200.0, 100.0]
    assert main(["census-population", str(DATA / "age_wide.csv"), "--config", str(CONFIG), "--out", str(out)]) == 2
    assert "choose one of" in capsys.readouterr().err


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_gm_census2021_age(realdata):
    population = read_population(
        realdata / "population" / "gm_lsoa21_census2021_age.csv", census_table("census2021_age_6_bands")
    )
    assert len(population) == 1702 and population.area_id.is_unique
    # GM totals from realdata/SOURCES.md section 3
    assert population.population.sum() == 2_867_771
    assert population.pop_older_people.sum() == 454_440


@pytest.mark.realdata
def test_real_gm_census2011_ethnicity(realdata):
    path = realdata / "population" / "gm_lsoa11_census2011_ethnicity.csv"
    population = read_population(path, census_table("census2011_ethnicity"))
    assert len(population) == 1673
    assert population.population.sum() == 2_682_528  # SOURCES.md
    # Independent route: the non-White groups added up, plus the Gypsy/Irish Traveller
    # people the table has no column for (Persons minus the sum of all the groups).
    raw = pd.read_csv(path, dtype={"LSOA": str})
    non_white = [
        "Mixed",
        "Indian",
        "Pakistani",
        "Bangladeshi",
        "Chinese",
        "OtherAsian",
        "BlkAfrican",
        "BlkCaribbean",
        "OtherBlk",
        "Arab",
        "Other",
    ]
    groups = ["WhiteBrit", "Irish", "OtherWhite", *non_white]
    traveller = raw["Persons"] - raw[groups].sum(axis=1)
    assert int(traveller.sum()) == 1_523  # the omission SOURCES.md describes
    expected = raw[non_white].sum(axis=1) + traveller
    merged = population.merge(pd.DataFrame({"area_id": raw["LSOA"], "expected": expected}), on="area_id")
    assert (merged.pop_bame == merged.expected).all()
