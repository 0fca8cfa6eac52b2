"""The mapping step of "Use your own data", its callbacks called as plain functions.

The hand-built tests use a directory file in its own words (no id, no categories). The real-data
tests (marker ``realdata``, skipped without ../shared/realdata) upload the real Greater
Manchester files (LSOA 2021 boundaries, the ONS lookup, the Census 2021 age table and the food
banks) through the mapping step, and load the same files with the command-line flags: the two
must give the same inputs and the same gap table, byte for byte. Several population files (a card
each, joined on the area code, the CLI's error when their areas differ), the lookup's step, and
each file read once however often the step runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import dash
import geopandas as gpd
import handbuilt
import pandas as pd
import pytest
from dashapp import serving

from callbacks import mapping, upload, uploads
from callbacks.context import EXTENSION, services
from callbacks.registry import Registry
from callbacks.settings import Settings
from coverage_map.cli import build_parser
from coverage_map.config import METRIC_CRS
from coverage_map.dataset import Dataset
from coverage_map.errors import ValidationError
from coverage_map.ingest.mapping import read_mapping
from coverage_map.outputs.tables import write_any
from coverage_map.spec import InputSpec


def data_url(data: bytes, kind: str = "application/octet-stream") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def text_of(component: object) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workspace=str(tmp_path / "workspace.gpkg"),
                    max_upload_bytes=8 * 2**20, max_upload_total_bytes=16 * 2**20)  # fmt: skip


@pytest.fixture()
def ctx(dash_app: dash.Dash, settings: Settings) -> Iterator[Registry]:
    dataset = Dataset.from_inputs(handbuilt.inputs(with_referrals=False), label="Default")
    with serving(dash_app, dataset, settings), dash_app.server.test_request_context():
        yield dash_app.server.extensions[EXTENSION].registry


def own_assets(folder: Path) -> Path:
    """Three services in a directory's words: Organisation, Service, points; no id."""
    path = folder / "directory.geojson"
    gpd.GeoDataFrame(
        {"Organisation": ["Larder A", "Memory Café B", "Carers Centre C"],
         "Service": ["Foodbank hub", "memory cafe", "Carers centre"]},
        geometry=gpd.points_from_xy([handbuilt.X0 + 500, handbuilt.X0 + 1500, handbuilt.X0 + 2500],
                                    [handbuilt.Y0 + 500] * 3), crs=METRIC_CRS,
    ).to_crs("EPSG:4326").to_file(path)  # fmt: skip
    return path


def controls_of(cards: object) -> dict[str, list[tuple[dict[str, str], object]]]:
    """The mapping step's controls as the browser would send them: (id, value) pairs by kind, as rendered."""
    found: dict[str, list[tuple[dict[str, str], object]]] = {"map-column": [], "map-value": [], "map-label": []}

    def walk(node: object) -> None:
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        control_id = getattr(node, "id", None)
        if isinstance(control_id, dict) and control_id.get("type") in found:
            found[control_id["type"]].append((control_id, getattr(node, "value", None)))
        walk(getattr(node, "children", None))

    walk(cards)
    return found


def step(contents: Mapping[str, object], names: Mapping[str, object]) -> tuple[dict, list]:
    """:func:`mapping.show_mapping` for these uploads (by role)."""
    args = [contents.get(role) for role in mapping.MAPPED_ROLES] + [names.get(role) for role in mapping.MAPPED_ROLES]
    files, cards = mapping.show_mapping(*args)
    return files, cards  # type: ignore[return-value]


def test_the_step_proposes_the_best_guess_and_offers_whole_file_values(ctx: Registry, tmp_path: Path) -> None:
    path = own_assets(tmp_path)
    files, cards = step({"assets": data_url(path.read_bytes())}, {"assets": path.name})
    assert set(files) == {"assets"} and len(cards) == 1
    summary = files["assets"]
    assert summary["missing"] == ["name", "categories"]
    controls = controls_of(cards)
    columns = {control["field"]: value for control, value in controls["map-column"]}
    assert columns["name"] == "Organisation" and columns["categories"] == "Service" and columns["asset_id"] == ""
    assert {control["field"] for control, _ in controls["map-value"]} == {"categories", "communities", "reach",
                                                                          "capacity"}  # fmt: skip
    # The labels of the chosen column that match no category, with the nearest ones first.
    labels = mapping.show_labels([columns[c["field"]] for c, _ in controls["map-column"]],
                                 [c for c, _ in controls["map-column"]], files)  # fmt: skip
    picks = controls_of(labels)["map-label"]
    assert [(control["label"], value) for control, value in picks] == [("Foodbank hub", "food_nutrition")]


def test_the_mapping_store_preview_and_download(ctx: Registry, tmp_path: Path) -> None:
    path = own_assets(tmp_path)
    files, cards = step({"assets": data_url(path.read_bytes())}, {"assets": path.name})
    controls = controls_of(cards)
    store, previews = mapping.update_mapping(
        [value for _, value in controls["map-column"]], ["", [], "", None, ""][: len(controls["map-value"])],
        ["food_nutrition"], [c for c, _ in controls["map-column"]], [c for c, _ in controls["map-value"]],
        [{"type": "map-label", "role": "assets", "label": "Foodbank hub"}], [{"type": "map-preview", "role": "assets"}],
        files,
    )  # fmt: skip
    assert store == {"assets": {"columns": {"name": "Organisation", "categories": "Service"},
                                "labels": {"Foodbank hub": "food_nutrition"}}}  # fmt: skip
    shown = text_of(previews)
    assert "row-1" in shown and "Larder A" in shown and "food_nutrition" in shown
    download = mapping.download_mapping(1, store)
    toml = tmp_path / "map.toml"
    toml.write_text(download["content"], encoding="utf-8")  # type: ignore[index]
    assert read_mapping(toml).as_dict() == store


def test_saving_uses_the_mapping(ctx: Registry, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    path = own_assets(tmp_path)
    contents = {"areas": data_url(Path(files["areas"]).read_bytes()), "assets": data_url(path.read_bytes())}
    names = {"areas": "areas.gpkg", "assets": path.name}
    # Without a mapping nothing is saved: the categories are missing.
    saved, report, _ = upload.save_files(contents, names, "own", None)
    assert saved is dash.no_update and "missing required column" in text_of(report)
    store = {"assets": {"columns": {"name": "Organisation", "categories": "Service"},
                        "labels": {"Foodbank hub": "food_nutrition"}}}  # fmt: skip
    saved, report, owner = upload.save_files(contents, names, "own", None, store)
    assert "Saved as own v1" in text_of(report)
    assert "was made from its feature number" in text_of(report)  # the generated ids, said once
    loaded = ctx.get(saved).dataset.inputs.assets
    assert list(loaded["categories"]) == [("food_nutrition",), ("dementia",), ("carers_support",)]
    stored = ctx.workspace.spec("own", owner=owner)
    assert stored.mappings.as_dict() == store


def test_a_census_table_needs_no_mapping(ctx: Registry, tmp_path: Path) -> None:
    text = ("lsoa21_code,lsoa21_name,total_usual_residents,aged_0_15,aged_16_24,aged_25_34,aged_35_49,aged_50_64,"
            "aged_65_plus\nA,a,1000,100,100,200,200,200,200\n")  # fmt: skip
    files, cards = step({"population": data_url(text.encode(), "text/csv")}, {"population": "age.csv"})
    assert files["population"]["census"].startswith("census2021_age_6_bands")
    assert "recognised as the census table census2021_age_6_bands" in text_of(cards)
    assert controls_of(cards)["map-column"] == []


def test_a_file_in_the_schema_needs_no_step(ctx: Registry, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    found, cards = step({"assets": data_url(Path(files["assets"]).read_bytes(), "text/csv")}, {"assets": "assets.csv"})
    assert set(found) == {"assets"} and cards == []
    assert mapping.mapping_text({}).startswith("# coverage-map column mapping")


# --------------------------------------------------------------------------- the real Greater Manchester files

GM_FILES = {
    "areas": "boundaries/tdl_2021/lsoa21_gm_lsoa_generalised.geojson",
    "lookup": "lookups/gm_2021_statistical_lookup.csv",
    "population": "population/gm_lsoa21_census2021_age.csv",
    "assets": "services/gm_food_banks_2018.geojson",
}


@pytest.mark.realdata
def test_real_gm_files_through_the_mapping_step_and_the_cli_flags(
    ctx: Registry, realdata: Path, tmp_path: Path
) -> None:
    paths = {role: realdata / name for role, name in GM_FILES.items()}
    contents = {role: data_url(path.read_bytes()) for role, path in paths.items()}
    names = {role: path.name for role, path in paths.items()}

    # The browser: the step recognises the census table, and asks for the food banks' categories.
    files, cards = step(contents, names)
    assert files["population"]["census"].startswith("census2021_age_6_bands")
    assert files["assets"]["missing"] == ["categories"] and files["areas"]["missing"] == []
    controls = controls_of(cards)
    values = {"categories": ["food_nutrition"]}
    store, _ = mapping.update_mapping(
        [value for _, value in controls["map-column"]],
        [values.get(c["field"]) for c, _ in controls["map-value"]], [],
        [c for c, _ in controls["map-column"]], [c for c, _ in controls["map-value"]], [], [], files,
    )  # fmt: skip
    assert store["assets"]["values"] == {"categories": "food_nutrition"}
    saved, report, owner = upload.save_files(contents, names, "GM food banks", None, store)
    assert "Saved as GM food banks v1" in text_of(report), text_of(report)
    assert "1,702 areas and 171 services" in text_of(report)
    browser = ctx.get(saved).dataset

    # The command line: the same files and the mapping as flags.
    args = build_parser().parse_args(["analyse", "--out", "x.csv", *(f"--{role}={path}" for role, path in paths.items()),
                                      "--set-category", "food_nutrition"])  # fmt: skip
    cli = Dataset.from_spec(InputSpec.from_args(args))
    for role in ("areas", "population", "assets", "lookup"):
        pd.testing.assert_frame_equal(pd.DataFrame(getattr(browser.inputs, role)).reset_index(drop=True),
                                      pd.DataFrame(getattr(cli.inputs, role)).reset_index(drop=True))  # fmt: skip
    assert len(cli.inputs.assets) == 171 and cli.inputs.population["population"].sum() == 2_867_771
    for level in ("area", "neighbourhood"):
        write_any(browser.table(level), tmp_path / f"browser_{level}.csv")
        write_any(cli.table(level), tmp_path / f"cli_{level}.csv")
        assert (tmp_path / f"browser_{level}.csv").read_bytes() == (tmp_path / f"cli_{level}.csv").read_bytes()
    # The census table used is named in the report, once.
    messages = [p.message for p in cli.inputs.problems]
    assert sum("census table 'census2021_age_6_bands'" in m for m in messages) == 1


# --------------------------------------------------------------------------- several population files, the lookup

AGE = ("lsoa21_code,lsoa21_name,total_usual_residents,aged_0_15,aged_16_24,aged_25_34,aged_35_49,aged_50_64,"
       "aged_65_plus\nA,a,1000,100,100,200,200,200,200\nB,b,3000,500,500,500,500,500,500\nC,c,2000,0,0,0,0,1000,1000\n")  # fmt: skip
ETHNICITY = ("LSOA,Persons,WhiteBrit,Irish,OtherWhite,Mixed,Indian\nA,1000,850,10,40,50,50\n"
             "B,3000,3000,0,0,0,0\nC,2000,1400,50,50,250,250\n")  # fmt: skip
#: Carers in a commissioner's own words: neither the schema nor a census table.
CARERS = "Area,All people,pop_carers\nA,900,10\nB,2900,20\nC,1900,30\n"
#: handbuilt.lookup() in a commissioner's words.
OWN_LOOKUP = ("LSOA code,PCN,PCN name,Council,Council name\nA,N1,North,B1,Borough One\nB,N1,North,B1,Borough One\n"
              "C,N2,South,B2,Borough Two\n")  # fmt: skip


def table_rows(component: object) -> list[tuple[str, ...]]:
    """The body rows of the problems table in a report: (file, row, column, value, message)."""
    rows: list[tuple[str, ...]] = []

    def walk(node: object) -> None:
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif getattr(node, "_type", None) == "Tr" and all(getattr(c, "_type", None) == "Td" for c in node.children):  # type: ignore[attr-defined]
            rows.append(tuple(str(cell.children) for cell in node.children))  # type: ignore[attr-defined]
        elif hasattr(node, "to_plotly_json"):
            walk(getattr(node, "children", None))

    walk(component)
    return rows


def csv_url(text: str) -> str:
    return data_url(text.encode(), "text/csv")


def base_upload(folder: Path) -> tuple[dict[str, object], dict[str, object]]:
    files = handbuilt.write_files(folder)
    return ({role: data_url(Path(files[role]).read_bytes()) for role in ("areas", "assets")},
            {"areas": "areas.gpkg", "assets": "assets.csv"})  # fmt: skip


def test_each_population_file_gets_its_own_card(ctx: Registry) -> None:
    # The population box takes several files at once (lists, as dcc.Upload(multiple=True) sends them).
    files, cards = step({"population": [csv_url(AGE), csv_url(ETHNICITY), csv_url(CARERS)]},
                        {"population": ["1 age.csv", "2 ethnicity.csv", "3 carers.csv"]})  # fmt: skip
    assert list(files) == ["population", "population_2", "population_3"]
    assert files["population"]["census"].startswith("census2021_age_6_bands")
    assert files["population_2"]["census"].startswith("census2011_ethnicity")
    assert files["population_3"]["census"] is None and files["population_3"]["missing"] == ["area_id", "population"]
    shown = text_of(cards)
    assert "1 age.csv: recognised as the census table census2021_age_6_bands" in shown
    assert "2 ethnicity.csv: recognised as the census table census2011_ethnicity" in shown
    assert "Population (file 3): 3 carers.csv" in shown
    columns = {(c["role"], c["field"]): value for c, value in controls_of(cards)["map-column"]}
    assert columns == {("population_3", "area_id"): "", ("population_3", "population"): "All people"}


def test_several_population_files_are_saved_joined_on_the_area_code(ctx: Registry, tmp_path: Path) -> None:
    contents, names = base_upload(tmp_path)
    contents["population"] = [csv_url(AGE), csv_url(ETHNICITY), csv_url(CARERS)]
    # As the browser may list them (in the order it finished reading them); the roles follow the names.
    contents["population"] = [contents["population"][n] for n in (2, 0, 1)]
    names["population"] = ["3 carers.csv", "1 age.csv", "2 ethnicity.csv"]
    store = {"population_3": {"columns": {"area_id": "Area", "population": "All people"}}}
    saved, report, owner = upload.save_files(contents, names, "joined", None, store)
    assert "Saved as joined v1" in text_of(report), text_of(report)
    population = ctx.get(saved).dataset.inputs.population
    assert population["population"].tolist() == [1000.0, 3000.0, 2000.0]  # the first file's total
    assert population["pop_older_people"].tolist() == [200.0, 500.0, 1000.0]
    assert population["pop_bame"].tolist() == [100.0, 0.0, 500.0]
    assert population["pop_carers"].tolist() == [10.0, 20.0, 30.0]
    spec = ctx.workspace.spec("joined", owner=owner)
    assert [path.name for path in spec.populations] == ["1 age.csv", "2 ethnicity.csv", "3 carers.csv"]
    assert spec.mappings.as_dict() == store
    # The census tables used are named in the report (a note each), with their files.
    shown = text_of(report)
    assert "census2021_age_6_bands" in shown and "census2011_ethnicity" in shown


def test_population_files_of_other_areas_are_the_clis_clear_error(ctx: Registry, tmp_path: Path) -> None:
    # An LSOA 2011 table against a 2021 one: area C was split in 2021 (here "C11" in the 2011 table).
    contents, names = base_upload(tmp_path)
    contents["population"] = [csv_url(AGE), csv_url(ETHNICITY.replace("\nC,", "\nC11,"))]
    names["population"] = ["age.csv", "ethnicity_2011.csv"]
    saved, report, _ = upload.save_files(contents, names, "mismatch", None)
    assert saved is dash.no_update
    shown = text_of(report)
    assert "the area codes of the population files do not match" in shown
    assert "1 area codes of age.csv are not in it (C)" in shown and "LSOA 2011 and LSOA 2021 codes differ" in shown
    assert "ethnicity_2011.csv" in shown  # the file, as uploaded
    # The unknown area's row is still listed with its file, row, column and value.
    rows = table_rows(report)
    assert ("ethnicity_2011.csv", "4", "LSOA", "C11") in [row[:4] for row in rows]
    assert ("ethnicity_2011.csv", "", "area_id") in [row[:3] for row in rows]
    # The command line gives the same message for the same files.
    (tmp_path / "age.csv").write_text(AGE, encoding="utf-8")
    (tmp_path / "ethnicity_2011.csv").write_text(ETHNICITY.replace("\nC,", "\nC11,"), encoding="utf-8")
    files = handbuilt.write_files(tmp_path)
    args = build_parser().parse_args(["validate", "--areas", str(files["areas"]), "--assets", str(files["assets"]),
                                      "--population", str(tmp_path / "age.csv"),
                                      "--population", str(tmp_path / "ethnicity_2011.csv")])  # fmt: skip
    with pytest.raises(ValidationError) as error:
        InputSpec.from_args(args).load()
    cli = [p.message for p in error.value.problems if p.fatal]
    assert any("1 area codes of age.csv are not in it (C)" in message and message in shown for message in cli)


def test_the_lookup_gets_a_mapping_step(ctx: Registry, tmp_path: Path) -> None:
    files, cards = step({"lookup": csv_url(OWN_LOOKUP)}, {"lookup": "pcn.csv"})
    assert files["lookup"]["missing"] == ["area_id", "neighbourhood_id", "neighbourhood_name", "borough_id",
                                          "borough_name"]  # fmt: skip
    columns = {c["field"]: value for c, value in controls_of(cards)["map-column"] if c["role"] == "lookup"}
    assert columns == {"area_id": "", "neighbourhood_id": "PCN", "neighbourhood_name": "PCN name",
                       "borough_id": "Council", "borough_name": "Council name"}  # fmt: skip
    # Each select has a label pointing at it (axe: every form control is labelled).
    shown = text_of(cards)
    assert '"html_for": "{\\"field\\":\\"borough_id\\",\\"role\\":\\"lookup\\",\\"type\\":\\"map-column\\"}"' in shown
    columns["area_id"] = "LSOA code"
    controls = controls_of(cards)["map-column"]
    store, previews = mapping.update_mapping(
        [columns[c["field"]] for c, _ in controls], [], [], [c for c, _ in controls], [], [],
        [{"type": "map-preview", "role": "lookup"}], files,
    )  # fmt: skip
    assert store == {"lookup": {"columns": {"area_id": "LSOA code", "neighbourhood_id": "PCN",
                                            "neighbourhood_name": "PCN name", "borough_id": "Council",
                                            "borough_name": "Council name"}}}  # fmt: skip
    assert "Borough One" in text_of(previews)
    contents, names = base_upload(tmp_path)
    contents["lookup"], names["lookup"] = csv_url(OWN_LOOKUP), "pcn.csv"
    saved, report, owner = upload.save_files(contents, names, "pcn", None, store)
    assert "Saved as pcn v1" in text_of(report), text_of(report)
    pd.testing.assert_frame_equal(ctx.get(saved).dataset.inputs.lookup, handbuilt.lookup())
    assert ctx.workspace.spec("pcn", owner=owner).mappings.as_dict() == store


def test_an_ons_lookup_needs_no_step(ctx: Registry, realdata: Path) -> None:
    path = realdata / "lookups/gm_2021_statistical_lookup.csv"
    files, cards = step({"lookup": csv_url(path.read_text(encoding="utf-8"))}, {"lookup": path.name})
    assert files["lookup"]["missing"] == [] and cards == []


def test_each_file_is_read_once(ctx: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = mapping.SummaryCache()
    monkeypatch.setattr(mapping, "SUMMARIES", cache)
    age, carers = csv_url(AGE), csv_url(CARERS)
    step({"population": [age]}, {"population": ["age.csv"]})
    assert cache.reads == 1
    # Another file arrives: the step runs again over every upload, but reads only the new one.
    files, _ = step({"population": [age, carers], "lookup": csv_url(OWN_LOOKUP)},
                    {"population": ["age.csv", "carers.csv"], "lookup": "pcn.csv"})  # fmt: skip
    assert cache.reads == 3 and set(files) == {"population", "population_2", "lookup"}
    step({"population": [age, carers], "lookup": csv_url(OWN_LOOKUP)},
         {"population": ["age.csv", "carers.csv"], "lookup": "pcn.csv"})  # fmt: skip
    assert cache.reads == 3
    # A changed file is a new upload; a file that cannot be read is not read again either.
    step({"population": [csv_url(AGE.replace("1000", "1001"))], "assets": data_url(b"\x89PNG\r\n\x1a\n")},
         {"population": ["age.csv"], "assets": "assets.csv"})  # fmt: skip
    step({"assets": data_url(b"\x89PNG\r\n\x1a\n")}, {"assets": "assets.csv"})
    assert cache.reads == 5
    small = mapping.SummaryCache(size=1)
    monkeypatch.setattr(mapping, "SUMMARIES", small)
    step({"population": [age, carers]}, {"population": ["age.csv", "carers.csv"]})
    step({"population": [age]}, {"population": ["age.csv"]})
    assert small.reads == 3  # only the last summary is kept


def test_the_population_box_says_each_file(ctx: Registry) -> None:
    limits = services().settings.upload_limits
    line = uploads.status_line([csv_url(AGE), csv_url(CARERS)], ["age.csv", "carers.csv"], limits=limits)
    assert line.startswith("Received age.csv (") and ", carers.csv (" in line
    refused = uploads.status_line([csv_url(AGE), data_url(b"MZ\x90\x00" + b"\x00" * 64)], ["age.csv", "x.csv"],
                                  limits=limits)  # fmt: skip
    assert refused.startswith("Refused: ") and "x.csv" in refused and "age.csv" not in refused
    assert uploads.status_line(csv_url(AGE), "age.csv", limits=limits).startswith("Received age.csv (")
    assert uploads.role_name("population_2") == "Population (file 2)"


def test_another_file_arriving_keeps_the_choices_made(ctx: Registry, tmp_path: Path) -> None:
    path = own_assets(tmp_path)
    contents, names = {"assets": data_url(path.read_bytes())}, {"assets": path.name}
    store = {"assets": {"columns": {"name": "Organisation", "categories": "Service"},
                        "values": {"categories": "food_nutrition;dementia", "reach": "borough", "capacity": "20"},
                        "labels": {"Foodbank hub": "debt_benefits_advice"}}}  # fmt: skip
    # The carers file arrives after the choices were made: every card is drawn again, as chosen.
    args = [{**contents, "population": [csv_url(CARERS)]}.get(role) for role in mapping.MAPPED_ROLES]
    args += [{**names, "population": ["carers.csv"]}.get(role) for role in mapping.MAPPED_ROLES]
    files, cards = mapping.show_mapping(*args, store)
    controls = controls_of(cards)
    assert {c["field"]: v for c, v in controls["map-column"] if c["role"] == "assets"}["categories"] == "Service"
    values = {c["field"]: v for c, v in controls["map-value"]}
    assert values == {"categories": ["food_nutrition", "dementia"], "communities": [], "reach": "borough",
                      "capacity": "20"}  # fmt: skip
    labels = mapping.show_labels([v for c, v in controls["map-column"] if c["role"] == "assets"],
                                 [c for c, _ in controls["map-column"] if c["role"] == "assets"], files, store)  # fmt: skip
    assert [(c["label"], v) for c, v in controls_of(labels)["map-label"]] == [("Foodbank hub", "debt_benefits_advice")]
    # The store made again from those controls is the same mapping (plus the carers file's guesses).
    again, _ = mapping.update_mapping(
        [v for _, v in controls["map-column"]], [v for _, v in controls["map-value"]], ["debt_benefits_advice"],
        [c for c, _ in controls["map-column"]], [c for c, _ in controls["map-value"]],
        [{"type": "map-label", "role": "assets", "label": "Foodbank hub"}], [], files,
    )  # fmt: skip
    assert again["assets"] == store["assets"]
    # A stored column the new file does not have falls back to the guess.
    stale = {"assets": {"columns": {"name": "No such column"}}}
    _, cards = mapping.show_mapping(*args, stale)
    assert {c["field"]: v for c, v in controls_of(cards)["map-column"] if c["role"] == "assets"}[
        "name"
    ] == "Organisation"
