"""``coverage-map need``: need_<category> columns from a recipe, with their sources beside the file.

Every expected value is worked out by hand in the comments from the small tables written here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.errors import CoverageMapError, ValidationError
from coverage_map.ingest.population import _load_population
from coverage_map.need import (
    DEFAULT_NEED_RECIPE,
    estimate_need,
    join_tables,
    metadata_path,
    need_recipes,
    read_need_metadata,
)
from coverage_map.taxonomy import Taxonomy

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def census(tmp_path):
    """An age table and a TS039 table as coverage-map census-population writes them."""
    age = _write(
        tmp_path / "age.csv",
        """
area_id,population,pop_older_people,aged_65_to_74,aged_75_to_84,aged_85_plus
A,1000,200,120,60,20
B,2000,100,70,20,10
""",
    )
    carers = _write(
        tmp_path / "carers.csv",
        """
area_id,population,pop_carers,carers_50_plus_hours
B,1900,150,40
A,950,90,20
""",
    )
    return age, carers


def test_default_recipe_on_joined_census_tables(census):
    table, join_problems = join_tables(census)
    # population comes from the first table (TS039's is residents aged 5+); the clash is reported
    assert table.population.tolist() == [1000, 2000]
    assert table.pop_carers.tolist() == [90, 150]
    assert [p.column for p in join_problems] == ["population"] and "aged 5+" in join_problems[0].message
    result, records, problems = estimate_need(table, need_recipes())
    assert problems == []
    # dementia 200 x 0.071 = 14.2, 100 x 0.071 = 7.1; mental health 0.17 x population; carers = pop_carers
    assert result.need_dementia.tolist() == pytest.approx([14.2, 7.1])
    assert result.need_mental_health.tolist() == pytest.approx([170.0, 340.0])
    assert result.need_carers_support.tolist() == [90.0, 150.0]
    by_category = {record.category: record for record in records}
    assert by_category["dementia"].total == pytest.approx(21.3)
    assert by_category["dementia"].formula == "pop_older_people × 0.071"
    assert by_category["carers_support"].year == "2021" and "TS039" in by_category["carers_support"].source


def test_age_specific_terms_rates_by_borough_and_deciles(tmp_path, census):
    _write(tmp_path / "qof_la.csv", 'la_code,prevalence_pct\nL1,10%\nL2,"5"\n')
    _write(tmp_path / "lookup.csv", "lsoa,la\nA,L1\nB,L2\n")
    _write(tmp_path / "imd.csv", "LSOA code,Health decile\nA,1\nB,10\n")
    recipe = _write(
        tmp_path / "recipe.toml",
        """
[need.dementia]
source = "made up"
year = 2024
method = "rate"
terms = [{ base = "aged_65_to_74", rate = 0.02 }, { base = "aged_75_to_84", rate = 0.1 }, { base = "aged_85_plus", rate = 0.5 }]

[need.depression]   # a synonym of mental_health
source = "QOF by borough"
year = "2023-24"
method = "rate"
base = "population"
rates = { file = "qof_la.csv", area_column = "la_code", value_column = "prevalence_pct", percent = true, lookup = { file = "lookup.csv", area_column = "lsoa", value_column = "la" } }

[need.carers]
source = "TS039"
year = "2021"
method = "rate"
base = "carers_50_plus_hours"
rate = 1
by_decile = { file = "imd.csv", area_column = "LSOA code", decile_column = "Health decile", factors = [2, 1, 1, 1, 1, 1, 1, 1, 1, 0.5] }
""",
    )
    recipes = need_recipes(recipe)
    assert set(recipes) == {"dementia", "mental_health", "carers_support"}
    table, _ = join_tables(census)
    result, records, problems = estimate_need(table, recipes)
    assert problems == []
    # A: 120 x 0.02 + 60 x 0.1 + 20 x 0.5 = 2.4 + 6 + 10 = 18.4; B: 1.4 + 2 + 5 = 8.4
    assert result.need_dementia.tolist() == pytest.approx([18.4, 8.4])
    # A in L1 (10%): 1000 x 0.10 = 100; B in L2 (5%): 2000 x 0.05 = 100
    assert result.need_mental_health.tolist() == pytest.approx([100.0, 100.0])
    # A decile 1 (x2): 20 x 2 = 40; B decile 10 (x0.5): 40 x 0.5 = 20
    assert result.need_carers_support.tolist() == pytest.approx([40.0, 20.0])
    assert "via lookup.csv" in records[1].formula and "a factor per decile" in records[2].formula


def test_practice_registers_apportioned_by_where_patients_live(tmp_path, census):
    _write(
        tmp_path / "qof.csv",
        """
PRACTICE_CODE,GROUP_CODE,REGISTER
P1,DEM,30
P1,DEP,999
P2,DEM,10
P3,DEM,5
""",
    )
    _write(
        tmp_path / "gp-reg-pat-prac-lsoa-all.csv",
        """
PUBLICATION,EXTRACT_DATE,PRACTICE_CODE,PRACTICE_NAME,LSOA_CODE,SEX,NUMBER_OF_PATIENTS
GP_PRAC_PAT_LIST,01Jan2024,P1,One,A,ALL,600
GP_PRAC_PAT_LIST,01Jan2024,P1,One,B,ALL,300
GP_PRAC_PAT_LIST,01Jan2024,P1,One,X,ALL,100
GP_PRAC_PAT_LIST,01Jan2024,P1,One,A,MALE,300
GP_PRAC_PAT_LIST,01Jan2024,P2,Two,A,ALL,100
GP_PRAC_PAT_LIST,01Jan2024,P2,Two,B,ALL,400
""",
    )
    recipe = _write(
        tmp_path / "recipe.toml",
        """
[need.dementia]
source = "NHS England, QOF 2023-24 dementia registers; NHS Digital patients registered at a GP practice by LSOA"
year = "2024"
method = "registers"
registers = { file = "qof.csv", where = { GROUP_CODE = "DEM" } }
patients = { file = "gp-reg-pat-prac-lsoa-all.csv", where = { SEX = "ALL" } }
""",
    )
    table, _ = join_tables(census)
    result, records, problems = estimate_need(table, need_recipes(recipe))
    # P1: 30 over 1,000 patients (X lies outside the region): A 600 -> 18, B 300 -> 9 (X's 3 are elsewhere)
    # P2: 10 over 500: A 100 -> 2, B 400 -> 8. So A 20, B 17.
    assert result.need_dementia.tolist() == pytest.approx([20.0, 17.0])
    assert records[0].total == pytest.approx(37.0)
    assert len(problems) == 1 and "P3" in problems[0].message and not problems[0].fatal


def test_every_recipe_problem_is_listed_once(tmp_path):
    recipe = _write(
        tmp_path / "bad.toml",
        """
[need.unicorns]
source = "x"
year = "1"
method = "column"
column = "a"

[need.dementia]
method = "rate"
base = "pop_older_people"
rate = 7.1

[need.mental_health]
source = "x"
year = "1"
method = "guess"

[need.carers_support]
source = "x"
year = "1"
method = "column"
colour = "red"
""",
    )
    with pytest.raises(ValidationError) as caught:
        need_recipes(recipe)
    text = str(caught.value)
    assert "unicorns" in text
    assert "source" in text and "year" in text and "7.1% is 0.071" in text
    assert "method must be one of column, rate, registers" in text
    assert "colour" in text


def test_missing_columns_and_files_are_listed_together(tmp_path, census):
    recipe = _write(
        tmp_path / "recipe.toml",
        """
[need.dementia]
source = "x"
year = "1"
method = "rate"
base = "pop_people_with_dementia"
rate = 0.1

[need.mental_health]
source = "x"
year = "1"
method = "rate"
base = "population"
rates = { file = "nowhere.csv", area_column = "a", value_column = "b" }
""",
    )
    table, _ = join_tables(census)
    with pytest.raises(ValidationError) as caught:
        estimate_need(table, need_recipes(recipe))
    text = str(caught.value)
    assert "pop_people_with_dementia" in text and "nowhere.csv" in text


def test_cli_writes_population_and_sources_that_the_loader_and_report_read(tmp_path, census, capsys):
    out = tmp_path / "out" / "population.csv"
    assert main(["need", *map(str, census), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "need_dementia: 21 people = pop_older_people × 0.071" in printed.out
    assert "Dementia UK" in printed.out and "already in an earlier table" in printed.err
    written = pd.read_csv(out)
    assert written.columns.tolist()[-3:] == ["need_dementia", "need_mental_health", "need_carers_support"]
    meta = json.loads(metadata_path(out).read_text(encoding="utf-8"))
    assert meta["population_file"] == "population.csv" and len(meta["needs"]) == 3
    records = read_need_metadata(out)
    assert [r.column for r in records] == ["need_dementia", "need_mental_health", "need_carers_support"]
    # the population loader takes the file: census indicator columns are ignored, need_ columns read
    population, problems = _load_population(out, None, Taxonomy.builtin())
    assert not [p for p in problems if p.fatal]
    assert population.need_dementia.tolist() == pytest.approx([14.2, 7.1])
    assert main(["need", str(census[0]), "--only", "dementia", "--out", str(tmp_path / "d.csv")]) == 0
    assert main(["need", str(census[0]), "--only", "nope", "--out", str(tmp_path / "d.csv")]) == 2
    assert "not in the recipe" in capsys.readouterr().err


def test_join_needs_area_id(tmp_path):
    bad = _write(tmp_path / "bad.csv", "code,population\nA,1\n")
    with pytest.raises(ValidationError, match="no area_id column"):
        join_tables([bad])
    with pytest.raises(CoverageMapError):
        join_tables([])


def test_report_methods_cite_the_need_sources(tmp_path, census):
    from types import SimpleNamespace

    from coverage_map.model import SourceInfo
    from coverage_map.outputs.report import _need_sources

    out = tmp_path / "population.csv"
    assert main(["need", *map(str, census), "--out", str(out)]) == 0
    dataset = SimpleNamespace(inputs=SimpleNamespace(sources=(SourceInfo("population", str(out), 2),)))
    html = _need_sources(dataset)  # type: ignore[arg-type]
    assert "need_dementia" in html and "Dementia UK" in html and "(2014)" in html
    assert "pop_carers" in html and "TS039" in html
    plain = SimpleNamespace(inputs=SimpleNamespace(sources=(SourceInfo("population", str(census[0]), 2),)))
    assert _need_sources(plain) == ""  # type: ignore[arg-type]


def test_shipped_recipe_is_documented():
    recipes = need_recipes()
    assert set(recipes) == {"dementia", "mental_health", "carers_support"}
    assert all(recipe.source and recipe.year for recipe in recipes.values())
    docs = (DOCS / "need.md").read_text(encoding="utf-8")
    assert DEFAULT_NEED_RECIPE.name in docs
    for word in ("registers", "by_decile", "lookup", "terms", ".need.json", "aged 5 and over"):
        assert word in docs, word
