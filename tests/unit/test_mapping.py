"""Files as they are: column mappings, whole-file values, generated ids, census tables and several population files.

Every expected value is written out by hand from the three boxes of ``handbuilt`` (areas A, B,
C): the same assets or population written in the schema and written as a user's own file
must load to the same frames.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import handbuilt
import numpy as np
import pandas as pd
import pytest

from coverage_map.cli import build_parser, main
from coverage_map.config import METRIC_CRS
from coverage_map.errors import CoverageMapError, ValidationError
from coverage_map.ingest import load_assets, load_inputs, load_population
from coverage_map.ingest.census import census_tables, matching_table
from coverage_map.ingest.mapping import (
    ColumnMapping,
    Mappings,
    apply_mapping,
    guess_columns,
    mapping_toml,
    mappings_from_dict,
    mappings_from_flags,
    missing_fields,
    preview,
    read_mapping,
)
from coverage_map.spec import InputSpec
from coverage_map.store import open_workspace
from coverage_map.taxonomy import Taxonomy

TAXONOMY = Taxonomy.builtin()
#: Lon/lat of points inside areas A, B and C (British National Grid X0 + 500, 1500, 2500; Y0 + 500).
POINTS_27700 = [(handbuilt.X0 + 500, handbuilt.Y0 + 500), (handbuilt.X0 + 1500, handbuilt.Y0 + 500),
                (handbuilt.X0 + 2500, handbuilt.Y0 + 500)]  # fmt: skip


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    return handbuilt.areas()


def food_banks(folder: Path) -> Path:
    """A directory's own file: Name, Address, Postcode and points; no id and no categories."""
    path = folder / "food_banks.geojson"
    gpd.GeoDataFrame(
        {"Name": ["Larder A", "Pantry B", "Hub C"], "Address": ["1 A St", "2 B St", "3 C St"],
         "Postcode": ["M1 1AA", "M2 2BB", "M3 3CC"]},
        geometry=gpd.points_from_xy([p[0] for p in POINTS_27700], [p[1] for p in POINTS_27700]), crs=METRIC_CRS,
    ).to_crs("EPSG:4326").to_file(path)  # fmt: skip
    return path


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- guessing


def test_guess_columns_finds_the_files_own_names() -> None:
    frame = pd.DataFrame(
        {"Organisation": ["X", "Y"], "Ref": ["r1", "r2"], "Service type": ["food bank", "memory café"],
         "Lat": ["53.4", "53.5"], "Long": ["-2.2", "-2.3"], "_source_row": [2, 3]},
    )  # fmt: skip
    guess = guess_columns(frame, "assets")
    assert guess["name"] == "Organisation"
    assert guess["asset_id"] == "Ref"
    assert guess["categories"] == "Service type"
    assert (guess["latitude"], guess["longitude"]) == ("Lat", "Long")
    assert guess["capacity"] is None and guess["communities"] is None


def test_guess_needs_values_that_fit() -> None:
    # "Code" is like an id by name, but it is not unique: no id is guessed (ids are then made from rows).
    frame = pd.DataFrame({"Code": ["x", "x"], "Name": ["a", "b"], "_source_row": [2, 3]})
    assert guess_columns(frame, "assets")["asset_id"] is None
    population = pd.DataFrame({"geography code": ["E01000001", "E01000002"], "label": ["a", "b"],
                               "all persons": ["1,200", "900"], "aged 65+": ["100", "90"], "_source_row": [2, 3]})  # fmt: skip
    guess = guess_columns(population, "population")
    assert guess == {"area_id": "geography code", "population": "all persons"}


def test_missing_fields() -> None:
    frame = pd.DataFrame({"Name": ["a"], "lat": ["53"], "lon": ["-2"], "_source_row": [2]})
    assert missing_fields(frame, "assets") == ["categories"]
    assert missing_fields(frame, "assets", ColumnMapping.of(values={"categories": "food"})) == []
    no_location = pd.DataFrame({"name": ["a"], "categories": ["food"], "_source_row": [2]})
    assert missing_fields(no_location, "assets") == ["location"]
    assert missing_fields(pd.DataFrame({"assetid": ["1"], "_source_row": [2]}), "assets")[0] == "asset_id"


# --------------------------------------------------------------------------- applying


def test_apply_mapping_renames_sets_and_translates() -> None:
    raw = pd.DataFrame({"Title": ["A", "B"], "name": ["old", "old"], "Kind": ["Foodbank hub", "memory cafe; Foodbank hub"],
                        "_source_row": [2, 3]})  # fmt: skip
    mapping = ColumnMapping.of({"name": "Title", "categories": "Kind"}, {"communities": "older people"},
                               {"Foodbank hub": "food_nutrition"})  # fmt: skip
    frame, problems = apply_mapping(raw, mapping, file="f.csv", role="assets", taxonomy=TAXONOMY)
    assert problems == []
    assert list(frame["name"]) == ["A", "B"] and list(frame["name (not used)"]) == ["old", "old"]
    assert list(frame["categories"]) == ["food_nutrition", "memory cafe;food_nutrition"]
    assert list(frame["communities"]) == ["older people", "older people"]
    assert list(raw.columns) == ["Title", "name", "Kind", "_source_row"]  # the input is not changed


def test_apply_mapping_problems_are_fatal_and_said_once() -> None:
    raw = pd.DataFrame({"Title": ["A", "B", "C"], "_source_row": [2, 3, 4]})
    mapping = ColumnMapping.of({"name": "Titel"}, {"categories": "food banks;gambling", "capacity": "lots"})
    _, problems = apply_mapping(raw, mapping, file="f.csv", role="assets", taxonomy=TAXONOMY)
    assert [(p.column, p.value, p.fatal) for p in problems] == [
        ("Titel", None, True), ("categories", "gambling", True), ("capacity", "lots", True),
    ]  # fmt: skip
    assert "found 'Title' — is that it?" in problems[0].message
    assert problems[1].message.startswith("categories for every row: unknown category 'gambling'")


def test_food_banks_load_with_a_whole_file_category(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    path = food_banks(tmp_path)
    assets, problems = load_assets(path, TAXONOMY, mapping=ColumnMapping.of(values={"categories": "food bank"}))
    # The generated ids are said once, not once per row.
    assert [(p.column, p.fatal) for p in problems] == [("asset_id", False)]
    assert "made from its feature number ('row-1' to 'row-3')" in problems[0].message
    assert list(assets["asset_id"]) == ["row-1", "row-2", "row-3"]
    assert list(assets["name"]) == ["Larder A", "Pantry B", "Hub C"]
    assert list(assets["categories"]) == [("food_nutrition",)] * 3
    assert list(assets["Postcode"]) == ["M1 1AA", "M2 2BB", "M3 3CC"]  # passed through
    np.testing.assert_allclose(assets.geometry.x, [p[0] for p in POINTS_27700], atol=0.01)


def test_without_the_mapping_the_missing_categories_are_fatal(tmp_path: Path) -> None:
    _, problems = load_assets(food_banks(tmp_path), TAXONOMY)
    assert [(p.column, p.fatal) for p in problems if p.fatal] == [("categories", True)]


def test_bad_rows_are_still_reported_after_a_mapping(tmp_path: Path) -> None:
    text = "Ref,Title,Easting,Northing,Places\nr1,A,380500,390500,3\nr2,B,380500,390500,-1\nr3,,380500,390500,2\n"
    mapping = ColumnMapping.of({"asset_id": "Ref", "name": "Title", "capacity": "Places"}, {"categories": "debt"})
    assets, problems = load_assets(write_csv(tmp_path / "own.csv", text), TAXONOMY, mapping=mapping)
    assert list(assets["asset_id"]) == ["r1"]
    # The file's own column names are reported, with the row: the user finds them in their spreadsheet.
    assert [(p.file, p.row, p.column, p.fatal) for p in problems] == [
        (str(tmp_path / "own.csv"), 3, "Places", False), (str(tmp_path / "own.csv"), 4, "Title", False),
    ]  # fmt: skip


def test_preview_shows_five_rows_as_read() -> None:
    raw = pd.DataFrame({"Title": list("abcdefg"), "_source_row": range(2, 9)})
    shown = preview(raw, ColumnMapping.of({"name": "Title"}, {"categories": "food"}), "assets")
    assert list(shown.columns) == ["asset_id", "name", "categories"]
    assert list(shown["asset_id"]) == ["row-2", "row-3", "row-4", "row-5", "row-6"]
    assert list(shown["categories"]) == ["food"] * 5


# --------------------------------------------------------------------------- TOML files and flags


def test_toml_round_trip_and_one_role_files(tmp_path: Path) -> None:
    mappings = Mappings.of({
        "assets": ColumnMapping.of({"name": "Name"}, {"categories": "food_nutrition"}, {'Say "hi"': "befriending"}),
        "population": ColumnMapping.of({"area_id": "lsoa code"}),
    })  # fmt: skip
    path = tmp_path / "map.toml"
    path.write_text(mapping_toml(mappings), encoding="utf-8")
    assert read_mapping(path) == mappings
    assert read_mapping(path, role="population") == Mappings.of({"population": mappings.get("population")})  # type: ignore[dict-item]
    one = write_csv(
        tmp_path / "assets_map.toml", '[columns]\nname = "Title"\n[values]\ncategories = ["food", "debt"]\n'
    )
    assert read_mapping(one, role="assets").get("assets") == ColumnMapping.of({"name": "Title"},
                                                                              {"categories": "food;debt"})  # fmt: skip
    with pytest.raises(CoverageMapError, match="say which file it maps"):
        read_mapping(one)


def test_bad_mappings_list_every_problem() -> None:
    with pytest.raises(CoverageMapError) as raised:
        mappings_from_dict({"assets": {"columns": {"colour": "x"}, "values": {"name": "y"}}, "imd": {}})
    text = str(raised.value)
    assert "unknown field 'colour'" in text and "'name' cannot be set for a whole assets file" in text
    assert "no mapping for the role 'imd'" in text


def test_flags(tmp_path: Path) -> None:
    file = write_csv(tmp_path / "m.toml", '[assets.columns]\nname = "Title"\nasset_id = "Ref"\n')
    mappings = mappings_from_flags([str(file)], ["assets.name=Organisation", "population.area_id=code"],
                                   {"categories": ["food_nutrition", "debt"], "reach": ["borough"]})  # fmt: skip
    assert mappings.get("assets") == ColumnMapping.of({"name": "Organisation", "asset_id": "Ref"},
                                                      {"categories": "food_nutrition;debt", "reach": "borough"})  # fmt: skip
    assert mappings.get("population") == ColumnMapping.of({"area_id": "code"})
    with pytest.raises(CoverageMapError, match="write ROLE.FIELD=COLUMN"):
        mappings_from_flags([], ["name=Title"])


def test_cli_flags_give_the_same_result_as_an_edited_file(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    # The same assets in the provider's own words: other column names, no categories column (one category).
    own = pd.read_csv(files["assets"], dtype=str)
    own = own[own["categories"] == "dementia"].drop(columns=["categories"])
    own = own.rename(columns={"asset_id": "Ref", "name": "Organisation", "latitude": "Lat", "longitude": "Long"})
    own.to_csv(tmp_path / "own.csv", index=False)
    schema = pd.read_csv(files["assets"], dtype=str)
    schema[schema["categories"] == "dementia"].to_csv(tmp_path / "schema.csv", index=False)
    base = ["analyse", "--areas", str(files["areas"]), "--population", str(files["population"])]
    assert main([*base, "--assets", str(tmp_path / "schema.csv"), "--out", str(tmp_path / "a.csv")]) == 0
    assert main([*base, "--assets", str(tmp_path / "own.csv"), "--map-column", "assets.asset_id=Ref",
                 "--map-column", "assets.name=Organisation", "--set-category", "dementia",
                 "--out", str(tmp_path / "b.csv")]) == 0  # fmt: skip
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    toml = write_csv(tmp_path / "map.toml", '[columns]\nasset_id = "Ref"\nname = "Organisation"\n'
                                            '[values]\ncategories = "dementia"\n')  # fmt: skip
    assert main([*base, "--assets", str(tmp_path / "own.csv"), "--map", f"assets={toml}",
                 "--out", str(tmp_path / "c.csv")]) == 0  # fmt: skip
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()


# --------------------------------------------------------------------------- census tables where the population goes


AGE = ("lsoa21_code,lsoa21_name,total_usual_residents,aged_0_15,aged_16_24,aged_25_34,aged_35_49,aged_50_64,"
       "aged_65_plus\nA,a,1000,100,100,200,200,200,200\nB,b,3000,500,500,500,500,500,500\nC,c,2000,0,0,0,0,1000,1000\n")  # fmt: skip
ETHNICITY_2011 = ("LSOA,Persons,WhiteBrit,Irish,OtherWhite,Mixed,Indian\nA,1000,850,10,40,50,50\n"
                  "B,3000,3000,0,0,0,0\nC,2000,1400,50,50,250,250\n")  # fmt: skip


def test_a_census_table_is_converted_where_the_population_goes(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    population, problems = load_population(write_csv(tmp_path / "age.csv", AGE), areas, TAXONOMY)
    assert list(population.columns) == ["area_id", "population", "pop_older_people"]
    assert population["population"].tolist() == [1000.0, 3000.0, 2000.0]
    assert population["pop_older_people"].tolist() == [200.0, 500.0, 1000.0]
    [note] = problems
    assert not note.fatal and "census table 'census2021_age_6_bands'" in note.message
    assert "pop_older_people = aged_65_plus" in note.message


def test_a_long_census_table(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    groups = ('"White: English, Welsh, Scottish, Northern Irish or British"', "White: Irish", "White: Other White",
              "Asian")  # fmt: skip
    counts = {"A": (800, 50, 50, 100), "B": (3000, 0, 0, 0), "C": (1400, 50, 50, 500)}
    text = "area_code,area_name,ethnic_group,value\n" + "".join(
        f"{area},x,{group},{value}\n"
        for area, values in counts.items()
        for group, value in zip(groups, values, strict=True)
    )
    population, problems = load_population(write_csv(tmp_path / "eth.csv", text), areas, TAXONOMY)
    assert [p.fatal for p in problems] == [False] and "census2021_ethnic_group_long" in problems[0].message
    assert population["population"].tolist() == [1000.0, 3000.0, 2000.0]
    assert population["pop_bame"].tolist() == [100.0, 0.0, 500.0]
    # A long table's area is reported on its first row: no row number is made up.


def test_detection_is_generic_over_the_layouts() -> None:
    tables = census_tables()
    wide = pd.read_csv(pd.io.common.StringIO(ETHNICITY_2011), dtype=str)
    assert matching_table(wide, tables) is tables["census2011_ethnicity"]
    assert matching_table(wide.drop(columns=["Irish"]), tables) is None
    assert matching_table(pd.DataFrame({"area_id": ["A"], "population": ["1"]}), tables) is None


def test_census_table_problems_keep_file_row_and_column(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    bad = AGE.replace("B,b,3000", "B,b,lots")
    _, problems = load_population(write_csv(tmp_path / "age.csv", bad), areas, TAXONOMY)
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        (str(tmp_path / "age.csv"), 3, "total_usual_residents", "lots")
    ]


def test_several_population_files_join_on_the_area_code(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    files = [write_csv(tmp_path / "age.csv", AGE), write_csv(tmp_path / "eth.csv", ETHNICITY_2011)]
    population, problems = load_population(files, areas, TAXONOMY)
    assert list(population.columns) == ["area_id", "population", "pop_older_people", "pop_bame"]
    assert population["population"].tolist() == [1000.0, 3000.0, 2000.0]  # the first file's total
    assert population["pop_bame"].tolist() == [100.0, 0.0, 500.0]  # Persons - WhiteBrit - Irish - OtherWhite
    assert [p.fatal for p in problems] == [False, False]


def test_population_files_with_other_area_codes_are_a_clear_error(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    # An LSOA 2011 table: area C's code changed in 2021 (here: "C11"), so one area does not match.
    eth = write_csv(tmp_path / "eth.csv", ETHNICITY_2011.replace("\nC,", "\nC11,"))
    population, problems = load_population([write_csv(tmp_path / "age.csv", AGE), eth], areas, TAXONOMY)
    fatal = [p for p in problems if p.fatal]
    assert [(p.file, p.column) for p in fatal] == [(str(eth), "area_id")]
    assert "1 area codes of age.csv are not in it (C)" in fatal[0].message
    assert "LSOA 2011 and LSOA 2021 codes differ" in fatal[0].message
    # The row of the unknown area is still reported on its own.
    assert (str(eth), 4, "LSOA") in [(p.file, p.row, p.column) for p in problems]


# --------------------------------------------------------------------------- the spec, the CLI and the workspace


def test_the_spec_carries_mappings_and_population_files(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    args = build_parser().parse_args([
        "validate", "--areas", str(files["areas"]), "--assets", str(files["assets"]), "--population", "a.csv",
        "--population", "b.csv", "--set-category", "food", "--map-column", "assets.name=Title",
    ])  # fmt: skip
    spec = InputSpec.from_args(args)
    assert spec.population == Path("a.csv") and spec.more_population == (Path("b.csv"),)
    assert spec.mappings.get("assets") == ColumnMapping.of({"name": "Title"}, {"categories": "food"})
    mapping = spec.to_mapping()
    assert mapping["population"] == ["a.csv", "b.csv"]
    assert mapping["map"] == {"assets": {"columns": {"name": "Title"}, "values": {"categories": "food"}}}
    assert InputSpec.from_mapping(mapping) == spec
    assert spec.load_arguments()["population"] == [Path("a.csv"), Path("b.csv")]


def test_the_workspace_keeps_the_mapping_and_every_population_file(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    spec = InputSpec(areas=files["areas"], assets=food_banks(tmp_path), population=write_csv(tmp_path / "age.csv", AGE),  # type: ignore[arg-type]
                     more_population=(write_csv(tmp_path / "eth.csv", ETHNICITY_2011),),
                     mappings=Mappings.of({"assets": ColumnMapping.of(values={"categories": "food_nutrition"})}))  # fmt: skip
    direct = spec.load()
    with open_workspace(tmp_path / "ws.gpkg", data_dir=tmp_path) as workspace:
        workspace.add("own", spec)
        stored = workspace.spec("own", include_private=True)
        loaded = workspace.load("own", include_private=True)
    assert stored.mappings == spec.mappings
    assert stored.population == Path("age.csv") and stored.more_population == (Path("eth.csv"),)
    pd.testing.assert_frame_equal(loaded.population, direct.population)
    pd.testing.assert_frame_equal(pd.DataFrame(loaded.assets), pd.DataFrame(direct.assets))
    assert [s.path for s in loaded.sources if s.role == "population"] == ["age.csv + eth.csv"]


def test_load_inputs_reports_the_census_table_and_the_generated_ids(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    inputs = load_inputs(areas=files["areas"], assets=food_banks(tmp_path), population=write_csv(tmp_path / "age.csv", AGE),  # type: ignore[arg-type]
                         mappings=Mappings.of({"assets": ColumnMapping.of(values={"categories": "food_nutrition"})}))  # fmt: skip
    messages = [p.message for p in inputs.problems]
    assert sum("census table" in m for m in messages) == 1 and sum("made from its" in m for m in messages) == 1
    assert len(inputs.assets) == 3


def test_an_unreadable_mapping_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CoverageMapError, match="cannot read the mapping file"):
        mappings_from_flags([f"assets={tmp_path / 'none.toml'}"])
    with pytest.raises(ValidationError):
        load_inputs(areas=handbuilt.write_files(tmp_path)["areas"], assets=food_banks(tmp_path))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the file's own words


@pytest.mark.parametrize(
    ("label", "category"),
    [("Food bank", "food_nutrition"), ("Foodbank", "food_nutrition"), ("Memory Café", "dementia"),
     ("Carers Centre", "carers_support"), ("Talking therapies", "mental_health"), ("Lunch club", "loneliness_isolation"),
     ("Citizens Advice", "debt_benefits_advice"), ("Community garden", "nature_green_space")],
)  # fmt: skip
def test_directory_words_are_synonyms(label: str, category: str) -> None:
    assert TAXONOMY.categories.resolve(label) == category


def test_an_unmatched_label_has_the_nearest_categories() -> None:
    assert TAXONOMY.categories.nearest("Foodbank hub")[0] == "food_nutrition"
    assert "dementia" in TAXONOMY.categories.nearest("Dementia carers hub")
    assert TAXONOMY.categories.nearest("xyzzy") == []


def test_the_dashboard_config_takes_mappings_and_population_lists(tmp_path: Path) -> None:
    from callbacks.settings import read_config

    files = handbuilt.write_files(tmp_path)
    write_csv(tmp_path / "assets_map.toml", '[columns]\nname = "Organisation"\n')
    config = write_csv(tmp_path / "dashboard.toml", f"""
[data]
areas = "{Path(files["areas"]).name}"
assets = "{Path(files["assets"]).name}"
population = ["age.csv", "eth.csv"]

[data.map]
assets = "assets_map.toml"
population = {{ columns = {{ area_id = "code" }} }}
""")  # fmt: skip
    spec = read_config(config)["data_spec"]
    assert isinstance(spec, InputSpec)
    assert spec.populations == (tmp_path / "age.csv", tmp_path / "eth.csv")
    assert spec.mappings.get("assets") == ColumnMapping.of({"name": "Organisation"})
    assert spec.mappings.get("population") == ColumnMapping.of({"area_id": "code"})


def test_the_dask_engine_reads_mapped_files_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dask_geopandas")
    import coverage_map.engine_dask as engine

    real = engine.cluster_client
    monkeypatch.setattr(engine, "cluster_client", lambda scheduler=None: real(scheduler, processes=False, n_workers=1))
    files = handbuilt.write_files(tmp_path)
    referrals = pd.read_csv(files["referrals"], dtype=str).rename(columns={"category": "Need"})
    referrals.to_csv(tmp_path / "own_referrals.csv", index=False)
    args = ["analyse", "--areas", str(files["areas"]), "--assets", str(files["assets"]), "--population",
            str(files["population"]), "--referrals", str(tmp_path / "own_referrals.csv"),
            "--map-column", "referrals.category=Need"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "pandas.csv")]) == 0
    assert main([*args, "--engine", "dask", "--out", str(tmp_path / "dask.csv")]) == 0
    schema_args = [*args[1:7], "--referrals", str(files["referrals"])]
    assert main(["analyse", *schema_args, "--out", str(tmp_path / "schema.csv")]) == 0
    schema = pd.read_csv(tmp_path / "schema.csv")
    assert (tmp_path / "pandas.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "pandas.csv"), schema)


# --------------------------------------------------------------------------- the lookup's own columns

#: handbuilt.lookup() in a commissioner's words, one row per output area (two for B), as an ONS lookup has.
OWN_LOOKUP = ("OA code,LSOA code,PCN,PCN name,Council,Council name\nOA1,A,N1,North,B1,Borough One\n"
              "OA2,B,N1,North,B1,Borough One\nOA3,B,N1,North,B1,Borough One\nOA4,C,N2,South,B2,Borough Two\n")  # fmt: skip
OWN_LOOKUP_MAP = ColumnMapping.of({"area_id": "LSOA code", "neighbourhood_id": "PCN", "neighbourhood_name": "PCN name",
                                   "borough_id": "Council", "borough_name": "Council name"})  # fmt: skip


def test_a_lookup_in_its_own_words_loads_as_the_schema_does(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    from coverage_map.ingest import load_lookup

    path = write_csv(tmp_path / "pcn.csv", OWN_LOOKUP)
    lookup, problems = load_lookup(path, areas, mapping=OWN_LOOKUP_MAP)
    assert [p for p in problems if p.fatal] == []
    pd.testing.assert_frame_equal(lookup, handbuilt.lookup())
    # Without the mapping the lookup has none of the columns the loader looks for.
    _, problems = load_lookup(path, areas)
    assert any(p.fatal and "missing required column 'area_id'" in p.message for p in problems)


def test_lookup_problems_name_the_files_own_columns(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    from coverage_map.ingest import load_lookup

    # B's second output area is put in another PCN: B is then in two neighbourhoods (fatal, with its rows).
    path = write_csv(tmp_path / "pcn.csv", OWN_LOOKUP.replace("OA3,B,N1,North", "OA3,B,N2,South"))
    _, problems = load_lookup(path, areas, mapping=OWN_LOOKUP_MAP)
    fatal = [p for p in problems if p.fatal]
    assert fatal and {p.column for p in fatal} <= {"LSOA code", "PCN"}
    # A mapped column the file does not have: fatal once, with the closest column.
    _, problems = load_lookup(path, areas, mapping=ColumnMapping.of({"neighbourhood_id": "PCNs"}))
    assert [(p.column, p.fatal) for p in problems] == [("PCNs", True)]
    assert "found 'PCN' — is that it?" in problems[0].message


def test_a_lookup_mapping_on_the_command_line(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    path = write_csv(tmp_path / "pcn.csv", OWN_LOOKUP)
    base = ["validate", "--areas", str(files["areas"]), "--assets", str(files["assets"]), "--lookup", str(path)]
    args = build_parser().parse_args([*base, *(f"--map-column=lookup.{field}={column}" for field, column
                                                in OWN_LOOKUP_MAP.columns)])  # fmt: skip
    inputs = InputSpec.from_args(args).load()
    pd.testing.assert_frame_equal(inputs.lookup, handbuilt.lookup())
    toml = write_csv(tmp_path / "map.toml", mapping_toml(Mappings.of({"lookup": OWN_LOOKUP_MAP})))
    inputs = InputSpec.from_args(build_parser().parse_args([*base, "--map", str(toml)])).load()
    pd.testing.assert_frame_equal(inputs.lookup, handbuilt.lookup())


def test_an_ons_lookup_picks_the_mapped_levels(tmp_path: Path, areas: gpd.GeoDataFrame) -> None:
    from coverage_map.ingest import load_lookup

    # An administrative lookup (ward -> local authority) has no coarser geography than the areas: the
    # loader cannot find a neighbourhood until the mapping makes each area its own.
    text = "wd22cd,wd22nm,lad22cd,lad22nm\nA,Ward A,B1,Borough One\nB,Ward B,B1,Borough One\nC,Ward C,B2,Borough Two\n"
    path = write_csv(tmp_path / "admin.csv", text)
    _, problems = load_lookup(path, areas)
    assert any(p.fatal and "cannot find a neighbourhood column" in p.message for p in problems)
    raw = pd.read_csv(path, dtype=str).assign(_source_row=[2, 3, 4])
    assert missing_fields(raw, "lookup") == ["neighbourhood_id"]
    guess = guess_columns(raw, "lookup")
    assert (guess["neighbourhood_id"], guess["neighbourhood_name"]) == ("wd22cd", "wd22nm")
    assert (guess["borough_id"], guess["borough_name"]) == ("lad22cd", "lad22nm")
    mapping = ColumnMapping.of({"area_id": "wd22cd", "neighbourhood_id": "wd22cd", "neighbourhood_name": "wd22nm"})
    lookup, problems = load_lookup(path, areas, mapping=mapping)
    assert [p for p in problems if p.fatal] == []
    assert list(lookup["neighbourhood_id"]) == ["A", "B", "C"]
    assert list(lookup["neighbourhood_name"]) == ["Ward A", "Ward B", "Ward C"]
    assert list(lookup["borough_name"]) == ["Borough One", "Borough One", "Borough Two"]


def test_lookup_missing_fields_and_guesses() -> None:
    statistical = pd.DataFrame({"oa21cd": ["E00000001"], "lsoa21cd": ["E01000001"], "lsoa21nm": ["x"],
                                "msoa21cd": ["E02000001"], "msoa21nm": ["y"], "lad22cd": ["E08000001"],
                                "lad22nm": ["Bolton"], "_source_row": [2]})  # fmt: skip
    assert missing_fields(statistical, "lookup") == []  # the loader reads it as it is
    guess = guess_columns(statistical, "lookup")
    assert guess == {"area_id": "lsoa21cd", "neighbourhood_id": "msoa21cd", "neighbourhood_name": "msoa21nm",
                     "borough_id": "lad22cd", "borough_name": "lad22nm"}  # fmt: skip
    plain = pd.DataFrame({"LSOA code": ["E01000001"], "PCN": ["P1"], "_source_row": [2]})
    assert missing_fields(plain, "lookup") == ["area_id", "neighbourhood_id", "neighbourhood_name", "borough_id",
                                               "borough_name"]  # fmt: skip
    assert missing_fields(plain, "lookup", ColumnMapping.of({"area_id": "LSOA code"}))[0] == "neighbourhood_id"
    assert guess_columns(plain, "lookup")["neighbourhood_id"] == "PCN"


# --------------------------------------------------------------------------- each population file its own mapping


def test_each_population_file_has_its_own_mapping(tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    age = write_csv(tmp_path / "age.csv", AGE)
    carers = write_csv(tmp_path / "carers.csv", "Area,All people,pop_carers\nA,900,10\nB,2900,20\nC,1900,30\n")
    args = build_parser().parse_args([
        *args_of(files, age, carers), "--map-column", "population_2.area_id=Area",
        "--map-column", "population_2.population=All people",
    ])  # fmt: skip
    spec = InputSpec.from_args(args)
    assert spec.mappings.get("population_2") == ColumnMapping.of({"area_id": "Area", "population": "All people"})
    inputs = spec.load()
    assert inputs.population["population"].tolist() == [1000.0, 3000.0, 2000.0]  # the first file's total
    assert inputs.population["pop_older_people"].tolist() == [200.0, 500.0, 1000.0]
    assert inputs.population["pop_carers"].tolist() == [10.0, 20.0, 30.0]
    # The same mapping made for the first file does not apply to the second.
    with pytest.raises(ValidationError) as error:
        InputSpec.from_args(build_parser().parse_args([*args_of(files, age, carers), "--map-column",
                                                       "population.area_id=Area"])).load()  # fmt: skip
    assert any(p.file == str(carers) and p.fatal for p in error.value.problems)


def args_of(files: dict, *populations: Path) -> list[str]:
    return ["validate", "--areas", str(files["areas"]), "--assets", str(files["assets"]),
            *(item for path in populations for item in ("--population", str(path)))]  # fmt: skip


def test_mapping_roles_for_further_population_files() -> None:
    from coverage_map.ingest.mapping import population_roles, role_fields

    assert population_roles(3) == ["population", "population_2", "population_3"]
    assert role_fields("population_2") == role_fields("population")
    assert role_fields("population_1") == () and role_fields("populations") == ()
    with pytest.raises(CoverageMapError, match="no mapping for the role 'population_1'"):
        mappings_from_dict({"population_1": {"columns": {"area_id": "x"}}})


# --------------------------------------------------------------------------- whole-file values said once


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("reach", "everywhere", "reach for every row: reach must be local, borough, citywide or a distance in km"),
     ("reach", "0km", "reach for every row: a reach in km must be more than 0"),
     ("accepting_referrals", "maybe", "accepting_referrals must be true or false")],
)  # fmt: skip
def test_a_bad_whole_file_value_is_one_problem(tmp_path: Path, field: str, value: str, message: str) -> None:
    path = food_banks(tmp_path)
    mapping = ColumnMapping.of(values={"categories": "food_nutrition", field: value})
    assets, problems = load_assets(path, TAXONOMY, mapping=mapping)
    assert [(p.file, p.column, p.value, p.fatal) for p in problems] == [(str(path), field, value, True)]
    assert problems[0].message.startswith(message)
    args = build_parser().parse_args(["validate", "--areas", "a.gpkg", "--assets", str(path), "--set-category",
                                      "food_nutrition", f"--set-{'accepting' if field != 'reach' else 'reach'}", value])  # fmt: skip
    assert InputSpec.from_args(args).mappings.get("assets") == mapping


def test_a_good_whole_file_reach_is_read_as_a_cell_is(tmp_path: Path) -> None:
    path = food_banks(tmp_path)
    mapping = ColumnMapping.of(values={"categories": "food_nutrition", "reach": "3 km", "accepting_referrals": "Yes"})
    assets, problems = load_assets(path, TAXONOMY, mapping=mapping)
    assert [p.fatal for p in problems] == [False]  # the generated ids, said once
    assert list(assets["reach"]) == ["radius"] * 3 and list(assets["reach_km"]) == [3.0] * 3
    assert list(assets["accepting_referrals"]) == [True] * 3


@pytest.mark.parametrize(("columns", "missing"), [
    (["Area ID", "Name"], ["area_id"]), (["Geography code", "Name"], ["area_id"]), (["LSOA21CD", "LSOA21NM"], []),
    (["area_code", "area_name"], []), (["AREA_ID"], []),
])  # fmt: skip
def test_the_areas_step_shows_when_the_loader_would_not_find_the_id(
    tmp_path: Path, columns: list[str], missing: list[str]
) -> None:
    from coverage_map.ingest import load_areas
    from coverage_map.ingest.readers import read_any

    frame = handbuilt.areas().drop(columns=["area_id", "area_name", "_source_row"])
    for column in columns:
        frame[column] = ["E01000001", "E01000002", "E01000003"] if column == columns[0] else ["a", "b", "c"]
    frame.to_file(tmp_path / "areas.gpkg")
    raw, _ = read_any(tmp_path / "areas.gpkg")
    assert missing_fields(raw, "areas") == missing
    _, problems = load_areas(tmp_path / "areas.gpkg")
    assert any(p.fatal for p in problems) == bool(missing)  # the step shows exactly when the loader would fail
    if missing:  # the guess, as the step fills it in, loads the file
        guess = guess_columns(raw, "areas")
        _, problems = load_areas(tmp_path / "areas.gpkg", id_col=guess["area_id"], name_col=guess["area_name"])
        assert not any(p.fatal for p in problems)
