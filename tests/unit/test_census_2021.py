"""The shipped Census 2021 layouts (TS039, TS021, TS037, TS038, TS007A/TS007) read from the layouts
people download: ONS/Nomis bulk CSV, Nomis API CSV, ONS dataset CSV and data labs' long tables.

Fixtures and where their values come from: tests/data/census_2021/SOURCES.md. Expected values are
added up by hand from the published counts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coverage_map.errors import ValidationError
from coverage_map.ingest.census import census_table, census_tables, map_population, read_population

DATA = Path(__file__).resolve().parents[1] / "data" / "census_2021"


def _read(name: str, table: str, **options: str) -> dict[str, list]:
    return read_population(DATA / name, census_table(table), **options).to_dict("list")


# TS039 as published: E00061517 total (aged 5+) 252, no care 228; E00071490 226, 215.
# 20+ hours = 20-34 + 35-49 + 50+ = 1+7+9 = 17 and 0+1+5 = 6.
TS039 = {
    "area_id": ["E00061517", "E00071490"],
    "population": [252.0, 226.0],
    "pop_carers": [24.0, 11.0],
    "carers_20_plus_hours": [17.0, 6.0],
    "carers_50_plus_hours": [9.0, 5.0],
}


def test_ts039_bulk():
    assert _read("ts039_bulk_oa.csv", "census2021_ts039_bulk") == TS039


def test_ts039_nomis_reads_only_the_value_measure():
    # The file holds Value and Percent rows for every category; without `where` each area
    # would have two rows per category.
    assert _read("ts039_nomis_oa.csv", "census2021_ts039_nomis") == TS039


def test_ts039_ons_counts_everyone_including_under_fives():
    result = _read("ts039_ons_oa.csv", "census2021_ts039_ons", area_col="Output Areas Code")
    # population = every row, "Does not apply" (under 5) included: 265 and 246 usual residents
    assert result == {**TS039, "population": [265.0, 246.0]}


def test_ts039_long_has_no_total_row():
    result = _read("ts039_long_oa.csv", "census2021_ts039_long")
    # 228+5+2+1+7+9 = 252 and 215+5+0+0+1+5 = 226 (the published totals)
    assert result == {key: TS039[key] for key in ("area_id", "population", "pop_carers", "carers_50_plus_hours")}


TS038 = {
    "area_id": ["E00122517", "E00148793", "E00140672"],
    "population": [459.0, 249.0, 285.0],
    "pop_disabled_people": [81.0, 34.0, 49.0],
    "disabled_limited_a_lot": [38.0, 12.0, 9.0],
    # total minus "no long term conditions": 459-360, 249-187, 285-206
    "long_term_condition": [99.0, 62.0, 79.0],
}


def test_ts038_bulk():
    assert _read("ts038_bulk_oa.csv", "census2021_ts038_bulk") == TS038


def test_ts038_nomis_adds_up_the_disabled_from_its_parts():
    # 38+43, 12+22, 9+40
    assert _read("ts038_nomis_oa.csv", "census2021_ts038_nomis") == TS038


# Illustrative TS021: E01000001 1,400 people, of whom White British 1,200, Irish 20, Other White 60
# (bame 120 = Asian 70 + Black 20 + Mixed 15 + Other 10 + Gypsy/Traveller 3 + Roma 2);
# E01000002 1,566: 1,500, 10, 25 (bame 31).
TS021 = {
    "area_id": ["E01000001", "E01000002"],
    "population": [1400.0, 1566.0],
    "pop_bame": [120.0, 31.0],
    "ethnic_asian": [70.0, 20.0],
    "ethnic_black": [20.0, 5.0],
    "ethnic_mixed": [15.0, 5.0],
    "ethnic_other": [10.0, 1.0],
    "ethnic_white_minority": [85.0, 35.0],
}


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("ts021_bulk_illustrative.csv", "census2021_ts021_bulk"),
        ("ts021_nomis_illustrative.csv", "census2021_ts021_nomis"),
    ],
)
def test_ts021(name, table):
    assert _read(name, table) == TS021


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("ts037_bulk_illustrative.csv", "census2021_ts037_bulk"),
        ("ts037_nomis_illustrative.csv", "census2021_ts037_nomis"),
    ],
)
def test_ts037(name, table):
    assert _read(name, table) == {
        "area_id": ["E01000001", "E01000002"],
        "population": [1430.0, 1550.0],
        "health_bad_or_very_bad": [80.0, 50.0],
        "health_very_bad": [20.0, 10.0],
        "health_fair": [200.0, 150.0],
    }


def test_ts007a_bulk():
    assert _read("ts007a_bulk_illustrative.csv", "census2021_ts007a_bulk") == {
        "area_id": ["E01000001", "E01000002"],
        "population": [1410.0, 1600.0],
        # 70+60+45+30+19 and 85+80+60+40+22
        "pop_older_people": [224.0, 287.0],
        "aged_65_to_74": [130.0, 165.0],
        "aged_75_to_84": [75.0, 100.0],
        "aged_85_plus": [19.0, 22.0],
    }


def test_ts007_bulk_columns_end_in_measures_value():
    suffix = "; measures: Value"
    table = pd.DataFrame(
        {
            "geography code": ["E02000001"],
            f"Age: Total{suffix}": [8000],
            f"Age: Aged 65 to 74 years{suffix}": [700],
            f"Age: Aged 75 to 84 years{suffix}": [400],
            f"Age: Aged 85 years and over{suffix}": [150],
        }
    )
    result = map_population(table, census_table("census2021_ts007_bulk"))
    assert result.pop_older_people.tolist() == [1250.0]
    assert result.aged_85_plus.tolist() == [150.0]


def test_where_column_missing_or_matching_nothing(tmp_path):
    frame = pd.read_csv(DATA / "ts039_nomis_oa.csv")
    path = tmp_path / "no_measures.csv"
    frame.drop(columns="MEASURES_NAME").to_csv(path, index=False)
    with pytest.raises(ValidationError, match="remove it from where"):
        read_population(path, census_table("census2021_ts039_nomis"))
    frame.assign(MEASURES_NAME="Percent").to_csv(path, index=False)
    with pytest.raises(ValidationError, match="no row has MEASURES_NAME = 'Value'"):
        read_population(path, census_table("census2021_ts039_nomis"))


def test_bad_indicator_names_and_where(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(
        '[tables.t]\narea_column = "a"\npopulation = "p"\nwhere = ["x"]\n'
        '[tables.t.indicators]\npop_things = "x"\nneed_dementia = "y"\nPopulation = "z"\nok_one = "w"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        census_tables(config)
    text = str(caught.value)
    for name in ("pop_things", "need_dementia", "Population"):
        assert name in text
    assert "ok_one" not in text and 'must be { column = "value"' in text


def test_every_shipped_2021_layout_is_documented():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "census.md").read_text(encoding="utf-8")
    names = [name for name in census_tables() if name.startswith("census2021_ts")]
    assert len(names) >= 14
    missing = [name for name in names if f"`{name}`" not in docs]
    assert not missing, missing
    assert "aged 5 and over" in docs
