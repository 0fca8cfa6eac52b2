"""Callbacks called as plain functions, and the pure helpers behind them (no browser)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dash
import handbuilt
import pandas as pd
import plotly.io as pio
import pytest
from dashapp import serving
from plotly.utils import PlotlyJSONEncoder

from callbacks import controls, details, mapview, tables, uploads
from callbacks.context import EXTENSION, Services
from callbacks.context import services as services_now
from callbacks.registry import Registry
from callbacks.settings import Settings, read_config, settings_from_env
from callbacks.state import (
    Choices,
    ViewState,
    default_state,
    parse_query,
    selection_from_event,
    sync_url,
    to_query,
)
from callbacks.views import (
    apply_updates,
    build_map,
    gap_rows,
    map_assets,
    map_title,
    needs_full_figure,
    recolour_updates,
    view_rows,
)
from coverage_map.config import SIMPLIFY_TOLERANCE_M
from coverage_map.dataset import Dataset
from coverage_map.geojson import subset_geojson, units_geojson
from coverage_map.outputs import figures
from coverage_map.spec import InputSpec


def _show_details(*args: object) -> object:
    """The details panel as drawn on page load (the callback's helper, outside Dash)."""
    return details.details_outputs(services_now(), set(), *args)  # type: ignore[arg-type]


FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    inputs = handbuilt.inputs()
    areas = inputs.areas.copy()
    areas.loc[areas["area_id"] == "B", "area_name"] = FORMULA
    return Dataset.from_inputs(dataclasses.replace(inputs, areas=areas), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("uploads"), max_upload_bytes=200_000)


@pytest.fixture(scope="module")
def app(dash_app: dash.Dash, dataset: Dataset, settings: Settings) -> Iterator[dash.Dash]:
    with serving(dash_app, dataset, settings):
        yield dash_app


@pytest.fixture(scope="module")
def services(app: dash.Dash) -> Services:
    return app.server.extensions[EXTENSION]


@pytest.fixture()
def request_context(app: dash.Dash) -> Iterator[None]:
    with app.server.test_request_context():
        yield


@pytest.fixture(scope="module")
def choices(dataset: Dataset) -> Choices:
    return Choices.of(dataset)


# --------------------------------------------------------------------------- state and URL


def test_choices_and_default_state(choices: Choices) -> None:
    assert choices.levels == ("area", "neighbourhood", "borough")
    assert choices.communities == ("all", "bame")
    assert choices.boroughs == ("all", "B1", "B2")
    assert default_state(choices) == ViewState(level="neighbourhood", category="dementia")


def test_query_round_trip(choices: Choices) -> None:
    state = ViewState(level="area", category="carers_support", community="bame", metric="nearest_km",
                      borough="B2", scheme="natural_breaks", show_assets=False, gaps_only=True, area="C",
                      tab="organisations")  # fmt: skip
    query = to_query(state)
    assert query.startswith("?level=area&category=carers_support&community=bame")
    assert "assets=0" in query and "gaps=1" in query and "area=C" in query and "tab=organisations" in query
    assert parse_query(query, choices) == state


def test_bad_query_values_fall_back_to_defaults(choices: Choices) -> None:
    state = parse_query("?level=planet&category=<script>&metric=x&borough=B9&scheme=z&tab=q&assets=yes", choices)
    assert state == dataclasses.replace(default_state(choices), show_assets=True)
    assert parse_query("", choices) == default_state(choices)


def test_page_load_sets_controls_from_url(choices: Choices) -> None:
    controls_now = default_state(choices)
    decision = sync_url([], "?level=area&category=mental_health", controls_now, choices)
    assert decision.state == ViewState(level="area", category="mental_health")
    assert decision.search == to_query(decision.state)


def test_control_change_updates_url_only(choices: Choices) -> None:
    state = ViewState(level="area", category="mental_health")
    decision = sync_url(["category-select"], "?old", state, choices)
    assert decision.state is None
    assert decision.search == to_query(state)


def test_level_change_clears_the_selected_unit(choices: Choices) -> None:
    state = ViewState(level="borough", category="dementia", area="A")
    decision = sync_url(["level-select"], "?x", state, choices)
    assert decision.state is not None and decision.state.area is None
    assert "area=" not in (decision.search or "")


def test_selection_from_map_or_table() -> None:
    click = {"points": [{"curveNumber": 0, "location": "B"}]}
    assert selection_from_event(["map"], click, None) == "B"
    assert selection_from_event(["map"], {"points": [{"curveNumber": 3, "lon": 1}]}, None) is None
    assert selection_from_event(["gap-table"], None, {"rowId": "C", "colId": "area_name"}) == "C"
    assert selection_from_event([], click, None) is None


# --------------------------------------------------------------------------- map


def test_full_figure_only_when_geometry_changes() -> None:
    assert needs_full_figure([])
    assert needs_full_figure(["level-select", "category-select"])
    assert needs_full_figure(["borough-select"]) and needs_full_figure(["data-token"])
    assert not needs_full_figure(["category-select"])
    assert not needs_full_figure(["metric-select", "scheme-select", "gaps-only-toggle"])


def test_patch_updates_give_the_same_map_as_a_fresh_one(app: dash.Dash, request_context: None) -> None:
    registry: Registry = app.server.extensions["coverage_map"].registry
    loaded = registry.get(None)
    before = ViewState(level="area", category="dementia")
    after = ViewState(level="area", category="carers_support", metric="nearest_km", gaps_only=True, area="C")
    old = json.loads(pio.to_json(build_map(registry, loaded, before, basemap=None)))
    new_figure = build_map(registry, loaded, after, basemap=None)
    updates = recolour_updates(new_figure)
    assert not any(path[:3] == ("data", 0, "geojson") for path, _ in updates)
    patched = json.loads(json.dumps(apply_updates(old, updates), cls=PlotlyJSONEncoder))
    fresh = json.loads(pio.to_json(new_figure))
    assert patched["data"] == fresh["data"]
    assert patched["layout"]["title"] == fresh["layout"]["title"]


def test_draw_map_full_then_patch(services: Services) -> None:
    args = ("area", "dementia", "all", "gap_score", "all", "quantiles", True, False, None, None)
    full = mapview.map_outputs(services, {"level-select"}, *args)
    assert full.data[0].geojson["features"]
    patch = mapview.map_outputs(services, {"category-select"}, "area", "carers_support", *args[2:])
    assert isinstance(patch, dash.Patch)
    operations = patch.to_plotly_json()["operations"]
    touched = {tuple(op["location"][:3]) for op in operations}
    assert ("data", 0, "geojson") not in touched and ("data", 0, "locations") not in touched
    assert ("data", 0, "z") in touched and ("data", 0, "customdata") in touched
    assert "map" not in {op["location"][1] for op in operations if op["location"][0] == "layout"}


def test_selecting_only_patches_the_outline(services: Services) -> None:
    args = ("area", "dementia", "all", "gap_score", "all", "quantiles", True, False, "B", None)
    patch = mapview.map_outputs(services, {"selected-area"}, *args)
    touched = {tuple(op["location"][:2]) for op in patch.to_plotly_json()["operations"]}
    assert touched == {("data", 1)}


def test_borough_filter_sends_only_its_units(services: Services) -> None:
    args = ("area", "dementia", "all", "gap_score", "B2", "quantiles", True, False, None, None)
    figure = mapview.map_outputs(services, {"borough-select"}, *args)
    assert list(figure.data[0].locations) == ["C"]
    assert [f["id"] for f in figure.data[0].geojson["features"]] == ["C"]


def test_select_area_callback(services: Services) -> None:
    chosen, borough = mapview.selection_outputs(services, {"gap-table"}, None, {"rowId": "C"})
    assert chosen == "C" and borough is dash.no_update
    assert mapview.selection_outputs(services, {"map"}, None, None) == (dash.no_update, dash.no_update)


def test_mirror_url_callback(services: Services) -> None:
    values = ("area", "dementia", "all", "gap_score", "all", "quantiles", True, False, None, "gaps", False, None)
    out = controls.url_outputs(services, {"url"}, "?level=borough&category=housing&area=B2", *values)
    assert out[0] == to_query(ViewState(level="borough", category="housing", area="B2"))
    assert out[1:3] == ("borough", "housing")
    out = controls.url_outputs(services, {"metric-select"}, "?x", *values)
    assert out[0].startswith("?level=area&category=dementia") and out[1] is dash.no_update


def test_the_controls_follow_the_address_bar_a_question_or_a_new_data_set() -> None:
    """follow_url's choice of URL: the address bar's on page load and back/forward, a question's request as if
    the browser had gone there, the current one for a change of data set."""
    here = "http://host/?level=area&category=dementia"
    assert controls.followed_url(set(), here, None, None) == (set(), "?level=area&category=dementia")
    assert controls.followed_url({"url"}, "http://host/", None, "?old") == ({"url"}, "")
    asked = "?level=neighbourhood&category=dementia&question=dementia"
    assert controls.followed_url({"url-request"}, here, asked, "?old") == ({"url"}, asked)
    assert controls.followed_url({"data-token"}, here, None, "?now") == ({"data-token"}, "?now")
    # The URL is written only when it does not already read the canonical one (a request always is new).
    same = ("?a", "x")
    assert controls.with_canonical_url((dash.no_update, "x"), "?a", "?a") == (dash.no_update, "x")
    assert controls.with_canonical_url((dash.no_update, "x"), "?a", "?old") == same
    assert controls.with_canonical_url(("?b", "x"), "?a", "?b") == (dash.no_update, "x")
    # A new data set leaves alone every control already right, so a need chosen meanwhile is not undone.
    changed = controls.only_changes(("?q", "area", "dementia", None), ["area", "housing", "N1"])
    assert changed == ("?q", dash.no_update, "dementia", None)


def test_show_choices_callback(app: dash.Dash, request_context: None) -> None:
    levels, categories, communities, boroughs, badge, label, attribution = controls.show_choices(None)
    assert [o["value"] for o in levels] == ["area", "neighbourhood", "borough"]
    assert {"label": "Everyone", "value": "all"} in communities
    assert boroughs[0] == {"label": "All boroughs", "value": "all"}
    assert badge == {} and label == "Hand"
    assert "Synthetic" in attribution


# --------------------------------------------------------------------------- details and tables


def _text(component: object) -> str:
    return json.dumps(
        component, ensure_ascii=False, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c)
    )


def test_area_details(app: dash.Dash, request_context: None) -> None:
    children = _show_details("C", "area", "dementia", "bame", "referrals_per_10k", None)
    text = _text(children)
    assert "Area C" in text and "Borough Two" in text
    # Gap method 2: open-to-all a1 reaches C from 2 km, but nothing made for BAME communities does.
    assert "Services open to everyone reach this area, but none made for BAME communities." in text
    assert "BAME communities: 500" in text and "2,000" in text
    assert "suppressed (fewer than 8 referrals)" in text
    graph = [c for c in children if getattr(c, "id", None) == "referral-trend"][0]
    bars = graph.figure.data[0]
    # C had 1 BAME dementia referral in January and 2 in February: both months suppressed.
    assert list(bars.y) == [0, 0] and list(bars.customdata) == ["fewer than 8", "fewer than 8"]
    assert _show_details(None, "area", "dementia", "all", "gap_score", None)[0].children.startswith("Click")


def test_details_hint_is_not_redrawn_on_a_change_of_need(services: Services) -> None:
    args = ("area", "dementia", "all", "gap_score", None)
    assert details.details_outputs(services, {"category-select"}, None, *args) is dash.no_update
    assert details.details_outputs(services, {"metric-select"}, None, *args) is dash.no_update
    # Clearing the selection, or a new data set, draws the hint again; a selected unit is always drawn.
    assert details.details_outputs(services, {"selected-area"}, None, *args)[0].children.startswith("Click")
    assert details.details_outputs(services, {"data-token"}, None, *args)[0].children.startswith("Click")
    assert "Click" not in _text(details.details_outputs(services, {"category-select"}, "A", *args))


def test_area_details_lists_assets_reaching(app: dash.Dash, request_context: None) -> None:
    text = _text(_show_details("A", "area", "dementia", "all", "gap_score", None))
    # a1 is local to A; a2 reaches its whole borough (B1 = A and B).
    assert "Memory Café" in text and "Carers &amp; Dementia Hub" not in text and "Carers & Dementia Hub" in text
    assert "its borough" in text and "its own area" in text


def test_gap_table_ranks_gaps(app: dash.Dash, request_context: None, dataset: Dataset) -> None:
    rows, summary = tables.fill_gap_table("area", "dementia", "all", "all", None)
    view = view_rows(dataset, ViewState(level="area", category="dementia"))
    # The ranking itself (tier, then unmet need) is tested in test_gap_method_views.
    assert [r["area_id"] for r in rows] == view[view["gap"]]["area_id"].tolist() == ["C"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["tier_label"] == "Moderate gap" and "referrals" not in rows[0]  # no counts in the grid
    assert summary.startswith(f"{len(rows)} gap")


def test_csv_download_is_suppressed_and_neutralised(app: dash.Dash, request_context: None) -> None:
    sent = tables.download_gap_table(1, "area", "dementia", "all", "all", None)
    assert sent["filename"] == "gaps_dementia_all_area.csv"
    frame = pd.read_csv(io.BytesIO(base64.b64decode(sent["content"])), dtype=str, keep_default_na=False)
    by_area = frame.set_index("area_id")
    assert by_area.loc["B", "area_name"] == "'" + FORMULA
    assert by_area.loc["C", "referrals"] == "" and by_area.loc["C", "referrals_suppressed"] == "True"
    assert by_area.loc["A", "referrals"] == "10"  # 12 true referrals, rounded to 5
    assert "12" not in by_area["referrals"].tolist()


def test_organisations_table(app: dash.Dash, request_context: None) -> None:
    rows, summary = tables.fill_organisations("all", None)
    assert [r["asset_id"] for r in rows][:1] == ["a2"]  # highest pressure first
    assert all(set(r) >= {"name", "pressure", "over_capacity", "referrals"} for r in rows)
    only_b2, _ = tables.fill_organisations("B2", None)
    assert [r["asset_id"] for r in only_b2] == ["a3"]
    assert "organisations" in summary


def test_gap_rows_filter_by_borough(dataset: Dataset) -> None:
    rows = gap_rows(dataset, ViewState(level="area", category="dementia", borough="B1"))
    assert all(r["borough_name"] == "Borough One" for r in rows)


# --------------------------------------------------------------------------- uploads


# Upload checks, the workspace and publishing: tests/callbacks/test_uploads.py and tests/unit/test_upload_safety.py.


def test_registry_falls_back_to_default_for_unknown_tokens(app: dash.Dash) -> None:
    registry: Registry = app.server.extensions["coverage_map"].registry
    assert registry.get(None).dataset is registry.default
    assert registry.get("../../etc").dataset is registry.default
    assert registry.get(uploads.new_token()).dataset is registry.default


# --------------------------------------------------------------------------- settings


def test_config_file_paths_are_relative_to_it(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "dashboard.toml"
    config.parent.mkdir()
    config.write_text(
        '[data]\nareas = "data/lsoa.gpkg"\nassets = "assets.csv"\ncrs = "EPSG:27700"\nlabel = "GM"\n'
        '[map]\nbasemap = "carto-positron"\n[server]\nmax_upload_mb = 5\n',
        encoding="utf-8",
    )
    values = read_config(config)
    assert values["data_spec"] == InputSpec(
        areas=config.parent / "data/lsoa.gpkg", assets=config.parent / "assets.csv", crs="EPSG:27700"
    )
    assert values["label"] == "GM"
    settings = settings_from_env({"COVERAGE_MAP_CONFIG": str(config), "COVERAGE_MAP_BASEMAP": "white-bg",
                                  "COVERAGE_MAP_DATA_DIR": str(tmp_path / "up")})  # fmt: skip
    assert settings.basemap == "white-bg"  # the environment wins over the file
    assert settings.max_upload_bytes == 5 * 2**20
    assert settings.data_dir == (tmp_path / "up").resolve()
    assert not settings.uses_demo


def test_config_file_needs_areas_and_assets(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[data]\nareas = "a.gpkg"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="assets"):
        read_config(config)


def test_defaults_use_demo_without_tiles() -> None:
    settings = settings_from_env({})
    assert settings.uses_demo and settings.basemap is None
    assert settings.data_dir.name == "uploads" and settings.data_dir.parent.name == "instance"


def test_figure_module_does_not_import_dash() -> None:
    # The figures module and its neighbours in coverage_map/outputs (classes, exports, report).
    sources = sorted(Path(figures.__file__).parent.glob("*.py"))
    assert Path(figures.__file__) in sources and len(sources) > 1
    for path in sources:
        source = path.read_text(encoding="utf-8")
        assert "import dash" not in source and "from dash" not in source, path.name


# --------------------------------------------------------------------------- directory freshness


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The hand-built data with verification dates: a1 recent, a2 3 years old, a3 undated, a4 2 years old."""
    recent = (date.today() - timedelta(days=30)).isoformat()
    old, older = f"{date.today().year - 3}-01-15", f"{date.today().year - 2}-01-15"
    inputs = handbuilt.inputs()
    assets = inputs.assets.assign(last_checked=[recent, old, "", older])
    return Dataset.from_inputs(dataclasses.replace(inputs, assets=assets), label="Dated")


@pytest.fixture()
def dated_app(app: dash.Dash, dated: Dataset, tmp_path: Path) -> Iterator[dash.Dash]:
    """The app serving :func:`dated` for one test (then the module's data again)."""
    with serving(app, dated, Settings(data_dir=tmp_path / "dated")):
        yield app


def test_area_details_flag_provision_not_verified_for_a_year(dated_app: dash.Dash) -> None:
    with dated_app.server.test_request_context():
        text = _text(_show_details("A", "area", "dementia", "all", "gap_score", None))
    year = date.today().year
    # Dementia services reaching A: a1 (recent) and a2 (3 years old).
    assert f"Provision last verified: {year - 3}-01-15 (over 12 months ago)" in text
    assert "Provision last verified: " + (date.today() - timedelta(days=30)).isoformat() + '"' in text
    # Every service reaching A: a1, a2 and the citywide a4 (2 years old).
    assert ("Directory freshness: 2 of 3 services reaching this area were last verified over 12 months ago."
            in text) and "A gap here may be a data gap." in text  # fmt: skip
    with dated_app.server.test_request_context():
        c = _text(_show_details("C", "area", "mental_health", "all", "gap_score", None))
    # C (borough B2) is reached by a3 (undated, within 1.2 km) and the citywide a4 (2 years old).
    assert "Provision last verified: not recorded" in c
    assert "1 of 2 services reaching this area were last verified over 12 months ago (1 more has no" in c


def test_organisations_table_shows_when_each_was_verified(dated_app: dash.Dash) -> None:
    with dated_app.server.test_request_context():
        rows, summary = tables.fill_organisations("all", None)
    by_id = {row["asset_id"]: row for row in rows}
    year = date.today().year
    assert by_id["a2"]["verified"] == f"{year - 3}-01-15 (over 12 months ago)" and by_id["a2"]["stale"]
    assert by_id["a3"]["verified"] == "not recorded" and by_id["a3"]["stale"]
    assert not by_id["a1"]["stale"] and "over" not in str(by_id["a1"]["verified"])
    assert "3 were last verified over 12 months ago (or never)" in summary


def test_no_freshness_shown_without_dates(app: dash.Dash, request_context: None) -> None:
    rows, summary = tables.fill_organisations("all", None)
    assert all(row["verified"] == "" and not row["stale"] for row in rows)
    assert "verified" not in summary
    assert "Directory freshness" not in _text(_show_details("A", "area", "dementia", "all", "gap_score", None))


# --------------------------------------------------------------------------- memoised read-only data


def test_two_datasets_never_share_memoised_boundaries_or_rows(dataset: Dataset) -> None:
    inputs = handbuilt.inputs()
    other = Dataset.from_inputs(dataclasses.replace(inputs, areas=inputs.areas.iloc[:2].copy()), label="Two")
    assert [f["id"] for f in dataset.boundaries("area")["features"]] == ["A", "B", "C"]
    assert [f["id"] for f in other.boundaries("area")["features"]] == ["A", "B"]
    assert dataset.boundaries("area") is dataset.boundaries("area")  # built once per data set
    assert other.rows("area", "dementia", "all")["area_id"].tolist() == ["A", "B"]
    assert dataset.rows("area", "dementia", "all")["area_id"].tolist() == ["A", "B", "C"]


def test_memoised_rows_match_filtering_the_table_and_are_the_callers_own(dataset: Dataset) -> None:
    for level, borough, expected in [("area", None, ["A", "B", "C"]), ("area", "B1", ["A", "B"]), ("area", "B2", ["C"]),
                                     ("neighbourhood", "B2", ["N2"]), ("borough", "B1", ["B1"])]:  # fmt: skip
        table = dataset.table(level)
        by_hand = table[(table["category"] == "dementia") & (table["community"] == "bame")
                        & table["area_id"].isin(expected)].reset_index(drop=True)  # fmt: skip
        rows = dataset.rows(level, "dementia", "bame", borough=borough)
        pd.testing.assert_frame_equal(rows, by_hand)
    rows = dataset.rows("area", "dementia", "all")
    rows.loc[0, "gap_score"] = 99.0
    assert dataset.rows("area", "dementia", "all").loc[0, "gap_score"] != 99.0
    assert dataset.table("area")["gap_score"].max() != 99.0


def test_map_from_memoised_data_equals_a_freshly_built_one(app: dash.Dash, request_context: None) -> None:
    registry: Registry = app.server.extensions["coverage_map"].registry
    loaded = registry.get(None)
    fresh_dataset = Dataset.from_inputs(loaded.dataset.inputs, label=loaded.dataset.label, synthetic=True)
    for state in (ViewState(level="area", category="dementia", area="C"),
                  ViewState(level="area", category="carers_support", community="bame", borough="B1", metric="pressure"),
                  ViewState(level="neighbourhood", category="dementia", borough="B2", gaps_only=True)):  # fmt: skip
        build_map(registry, loaded, state, basemap=None)  # fills the memos
        cached = json.loads(pio.to_json(build_map(registry, loaded, state, basemap=None), validate=False))
        # Independent route: plain (unshared) boundaries and rows filtered here, through plotly's validation.
        table = fresh_dataset.table(state.level)
        view = table[(table["category"] == state.category) & (table["community"] == state.community)]
        geojson = units_geojson(fresh_dataset.units_wgs84(state.level), tolerance_m=SIMPLIFY_TOLERANCE_M[state.level])
        if state.borough != "all":
            inside = fresh_dataset.borough_of(state.level)
            view = view[view["area_id"].map(inside) == state.borough]
            geojson = subset_geojson(geojson, view["area_id"])
        title, subtitle = map_title(fresh_dataset, state)
        fresh = figures.map_figure(
            view.reset_index(drop=True), geojson, metric=state.metric, gaps_only=state.gaps_only, selected=state.area,
            assets=map_assets(registry, loaded, state), title=title, subtitle=subtitle,
            uirevision=f"{loaded.key}|{state.level}|{state.borough}",
        )  # fmt: skip
        assert cached == json.loads(pio.to_json(fresh))
