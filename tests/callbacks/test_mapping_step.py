"""The mapping step of "Use your own data", its callbacks called as plain functions.

The hand-built tests use a directory file in its own words (no id, no categories). The real-data
tests (marker ``realdata``, skipped without ../shared/realdata) upload the real Greater
Manchester files (LSOA 2021 boundaries, the ONS lookup, the Census 2021 age table and the food
banks) through the mapping step, and load the same files with the command-line flags: the two
must give the same inputs and the same gap table, byte for byte.
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

from callbacks import mapping, upload
from callbacks.context import EXTENSION
from callbacks.registry import Registry
from callbacks.settings import Settings
from coverage_map.cli import build_parser
from coverage_map.config import METRIC_CRS
from coverage_map.dataset import Dataset
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
