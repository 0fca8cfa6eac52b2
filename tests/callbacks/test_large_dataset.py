"""The dashboard at national scale: what the map draws and the tables send is bounded.

England has ~34,000 small areas and 100,000 services: drawn at once they are too slow to
send and to paint. The limits (``coverage_map.config``: ``MAP_UNIT_LIMIT``,
``MAP_ASSET_LIMIT``, ``TABLE_ROW_LIMIT``; per dashboard in ``[map]`` of its config file) are
lowered here so the three hand-built small areas count as "too many": the behaviour is the
same, only the numbers differ. Timings are measured by ``benchmarks/dashboard.py``, never here.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dash
import geopandas as gpd
import handbuilt
import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
import shapely
from dashapp import serving

from callbacks import mapview, tables
from callbacks.context import EXTENSION, Services
from callbacks.registry import Registry
from callbacks.settings import Settings, read_config
from callbacks.state import ViewState
from callbacks.views import (
    build_map,
    drawn_level,
    gap_rows,
    gap_table,
    map_assets,
    map_click,
    map_notice,
    organisation_rows,
    organisation_table,
    recolour_updates,
    service_points,
)
from coverage_map.config import MAP_UNIT_LIMIT, SIMPLIFY_TOLERANCE_M
from coverage_map.dataset import Dataset
from coverage_map.geojson import units_geojson
from coverage_map.method import GapMethod
from coverage_map.outputs import figures
from coverage_map.outputs.classes import format_value
from coverage_map.tiers import TierThresholds

#: Three small areas, two neighbourhoods, two boroughs: with at most two units a map,
#: the small areas are "too many" and the neighbourhoods fit.
SMALL = {"map_max_units": 2, "map_max_services": 1, "table_max_rows": 1}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"), **SMALL)
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
def registry(services: Services) -> Registry:
    return services.registry


# --------------------------------------------------------------------------- which level the map draws


def test_too_many_small_areas_are_drawn_as_neighbourhoods_until_a_borough_is_chosen(dataset: Dataset) -> None:
    area = ViewState(level="area", category="dementia")
    assert drawn_level(dataset, area, max_units=2) == "neighbourhood"  # 3 small areas > 2; 2 neighbourhoods fit
    assert drawn_level(dataset, area, max_units=1) == "borough"  # 2 neighbourhoods > 1 too; boroughs are the last
    assert drawn_level(dataset, area, max_units=3) == "area"
    assert drawn_level(dataset, dataclasses.replace(area, borough="B1"), max_units=1) == "area"
    assert drawn_level(dataset, ViewState(level="neighbourhood", category="dementia"), max_units=2) == "neighbourhood"


def test_the_shipped_limit_draws_every_demo_small_area() -> None:
    # The demo region has ~1,700 small areas: under the limit, so the demo is drawn whole as before.
    assert MAP_UNIT_LIMIT >= 1_700


def test_without_a_lookup_there_is_no_coarser_level_and_every_area_is_drawn() -> None:
    alone = Dataset.from_inputs(handbuilt.inputs(with_lookup=False), label="No lookup")
    assert drawn_level(alone, ViewState(level="area", category="dementia"), max_units=1) == "area"


def test_the_fallback_map_holds_neighbourhood_geometry_only(registry: Registry, dataset: Dataset) -> None:
    loaded = registry.get(None)
    state = ViewState(level="area", category="dementia")
    figure = build_map(registry, loaded, state, basemap=None, max_units=2).to_plotly_json()
    choropleth = figure["data"][0]
    assert list(choropleth["locations"]) == ["N1", "N2"]
    assert [f["id"] for f in choropleth["geojson"]["features"]] == ["N1", "N2"]
    # Coloured by the neighbourhoods' own published rows.
    view = dataset.rows("neighbourhood", "dementia", "all")
    assert next(iter(choropleth["customdata"]))[1] == format_value(view["tier"].iloc[0], "tier")
    assert "choose a borough for small areas" in figure["layout"]["title"]["subtitle"]["text"]


def test_with_a_borough_the_small_areas_of_that_borough_are_drawn(registry: Registry) -> None:
    loaded = registry.get(None)
    state = ViewState(level="area", category="dementia", borough="B1")
    figure = build_map(registry, loaded, state, basemap=None, max_units=2).to_plotly_json()
    assert list(figure["data"][0]["locations"]) == ["A", "B"]
    assert [f["id"] for f in figure["data"][0]["geojson"]["features"]] == ["A", "B"]
    assert "choose a borough" not in figure["layout"]["title"]["subtitle"]["text"]


def test_a_small_area_picked_in_the_table_is_outlined_on_the_fallback_map(registry: Registry) -> None:
    loaded = registry.get(None)
    state = ViewState(level="area", category="dementia", area="C")
    figure = build_map(registry, loaded, state, basemap=None, max_units=2).to_plotly_json()
    outline = figure["data"][figures.SELECTED]
    assert list(outline["locations"]) == ["C"]
    (feature,) = outline["geojson"]["features"]
    lon, lat = np.array(feature["geometry"]["coordinates"][0]).T
    # C is the third 1 km box (x 382,000-383,000 m in British National Grid): its own outline, not N2's.
    expected = gpd.GeoSeries([handbuilt.box(2)], crs="EPSG:27700").to_crs("EPSG:4326").total_bounds
    assert (lon.min(), lat.min(), lon.max(), lat.max()) == pytest.approx(tuple(expected), abs=1e-4)


def test_recolouring_the_fallback_map_patches_colours_not_geometry(services: Services) -> None:
    args = ("area", "dementia", "all", "gap_score", "all", "quantiles", True, False, None, None)
    full = mapview.map_outputs(services, {"level-select"}, *args)
    assert list(full.data[0].locations) == ["N1", "N2"]
    patch = mapview.map_outputs(services, {"category-select"}, "area", "carers_support", *args[2:])
    operations = {tuple(op["location"][:3]): op["params"] for op in patch.to_plotly_json()["operations"]}
    assert ("data", 0, "geojson") not in operations and ("data", 0, "locations") not in operations
    assert len(operations[("data", 0, "z")]["value"]) == 2  # one colour per neighbourhood drawn


def test_patching_the_fallback_map_gives_the_map_drawn_afresh(registry: Registry) -> None:
    loaded = registry.get(None)
    before = ViewState(level="area", category="dementia")
    after = ViewState(level="area", category="carers_support", metric="nearest_km", gaps_only=True, area="C")
    old = json.loads(pio.to_json(build_map(registry, loaded, before, basemap=None, max_units=2)))
    patched_figure = build_map(registry, loaded, after, basemap=None, max_units=2, geometry=False)
    patched = old
    for path, value in recolour_updates(patched_figure):
        target = patched
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = json.loads(pio.to_json(value)) if hasattr(value, "to_plotly_json") else value
    fresh = json.loads(pio.to_json(build_map(registry, loaded, after, basemap=None, max_units=2)))
    assert json.loads(json.dumps(patched["data"], default=str)) == json.loads(json.dumps(fresh["data"], default=str))


def test_clicking_the_fallback_map_chooses_the_borough_clicked(dataset: Dataset) -> None:
    area = ViewState(level="area", category="dementia")
    assert map_click(dataset, area, "N2", max_units=2) == ("borough", "B2")
    assert map_click(dataset, area, "A", max_units=3) == ("area", "A")
    assert map_click(dataset, dataclasses.replace(area, borough="B1"), "A", max_units=2) == ("area", "A")


def test_select_area_callback_chooses_a_borough_on_the_fallback_map(services: Services) -> None:
    click = {"points": [{"curveNumber": 0, "location": "N2"}]}
    assert mapview.selection_outputs(services, {"map"}, click, None, "area", "all", None) == (
        dash.no_update, "B2")  # fmt: skip
    # Neighbourhood level fits: the click selects the neighbourhood itself.
    assert mapview.selection_outputs(services, {"map"}, click, None, "neighbourhood", "all", None) == (
        "N2", dash.no_update)  # fmt: skip
    # A gap-table row is a small area, whatever the map shows.
    assert mapview.selection_outputs(services, {"gap-table"}, None, {"rowId": "C"}, "area", "all",
                                     None) == ("C", dash.no_update)  # fmt: skip


# --------------------------------------------------------------------------- the notice


def test_the_notice_asks_for_a_borough_and_says_the_tables_cover_every_area(registry: Registry) -> None:
    loaded = registry.get(None)
    notice = map_notice(registry, loaded, ViewState(level="area", category="dementia", show_assets=False),
                        max_units=2)  # fmt: skip
    assert notice is not None
    assert "3 small areas are too many to draw at once" in notice
    assert "shows the 2 neighbourhoods" in notice and "Choose a borough" in notice
    assert "cover every small area" in notice
    state = ViewState(level="area", category="dementia", borough="B1", show_assets=False)
    assert map_notice(registry, loaded, state, max_units=2) is None
    assert map_notice(registry, loaded, ViewState(level="neighbourhood", category="dementia"), max_units=2) is None


def test_explain_map_callback_shows_and_hides_the_notice(app: dash.Dash, request_context: None) -> None:
    text, css = mapview.explain_map("area", "dementia", "all", "all", False, None)
    assert "too many to draw" in text and "d-none" not in css
    text, css = mapview.explain_map("area", "dementia", "all", "B1", False, None)
    assert text == "" and "d-none" in css
    assert mapview.explain_map("nonsense", "dementia", "all", "all", False, None) == ("", "map-notice d-none")


# --------------------------------------------------------------------------- service points


def test_too_many_service_points_are_left_out_until_a_borough_is_chosen(registry: Registry) -> None:
    loaded = registry.get(None)
    everywhere = ViewState(level="area", category="dementia")  # a1 (borough B1) and a2 (B1) offer dementia
    assert sorted(service_points(registry, loaded, everywhere)["asset_id"]) == ["a1", "a2"]
    assert map_assets(registry, loaded, everywhere, max_assets=1) is None
    assert sorted(map_assets(registry, loaded, everywhere, max_assets=2)["asset_id"]) == ["a1", "a2"]
    notice = map_notice(registry, loaded, everywhere, max_units=3, max_assets=1)
    assert notice == "2 services match: too many to draw at once. Choose a borough to see them."
    figure = build_map(registry, loaded, everywhere, basemap=None, max_units=3, max_assets=1).to_plotly_json()
    assert all(len(trace["lon"]) == 0 for trace in figure["data"][figures.HALO :])
    assert sorted(service_points(registry, loaded, ViewState(level="area", category="dementia", borough="B2"))
                  ["asset_id"]) == []  # fmt: skip


def test_service_masks_are_memoised_only_for_real_labels(registry: Registry) -> None:
    loaded = registry.get(None)
    made_up = registry.offers(loaded, "dementia", "not-a-community")
    assert not made_up.any()
    assert not any("not-a-community" in key for key in registry._derived)
    by_hand = [("dementia" in c and "bame" in g) for c, g in zip(registry.asset_points(loaded)["categories"],
                                                                  registry.asset_points(loaded)["communities"],
                                                                  strict=True)]  # fmt: skip
    assert registry.offers(loaded, "dementia", "bame").tolist() == by_hand


# --------------------------------------------------------------------------- tables


#: Every dementia area under the severe cut-off (A 1.37, B 1.25, C 0.43 of the average): three gaps.
GENEROUS = GapMethod(thresholds=TierThresholds(severe_below=1.4, moderate_below=1.5))


@pytest.fixture(scope="module")
def all_gaps() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True, method=GENEROUS)


def test_the_gap_table_sends_only_the_worst_rows_and_counts_them_all(all_gaps: Dataset) -> None:
    state = ViewState(level="area", category="dementia")
    every = gap_rows(all_gaps, state)
    view = all_gaps.rows("area", "dementia", "all")
    assert len(every) == int(view["gap"].sum()) == 3
    rows, total = gap_table(all_gaps, state, limit=1)
    assert total == len(every)
    assert rows == every[:1] and rows[0]["area_id"] == "C"  # the worst one (most unmet need), ranked 1


def test_fill_gap_table_says_how_many_are_left_out(
    app: dash.Dash, all_gaps: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"), **SMALL)
    with serving(app, all_gaps, settings), app.server.test_request_context():
        rows, summary = tables.fill_gap_table("area", "dementia", "all", "all", None)
        assert len(rows) == 1
        assert summary.startswith("3 gaps") and "Only the 1 worst are listed" in summary
        rows, summary = tables.fill_gap_table("area", "dementia", "all", "B2", None)
        assert len(rows) == 1 and "listed" not in summary  # C alone: nothing left out


def test_the_download_still_holds_every_unit(app: dash.Dash, request_context: None) -> None:
    sent = tables.download_gap_table(1, "area", "dementia", "all", "all", None)
    frame = pd.read_csv(io.BytesIO(base64.b64decode(sent["content"])), dtype=str, keep_default_na=False)
    assert sorted(frame["area_id"]) == ["A", "B", "C"]


def test_the_organisations_table_is_limited_but_counted_in_full(app: dash.Dash, request_context: None,
                                                                dataset: Dataset) -> None:  # fmt: skip
    state = ViewState(level="area", category="dementia")
    every = organisation_rows(dataset, state)
    rows, counts = organisation_table(dataset, state, limit=1)
    assert rows == every[:1] and rows[0]["asset_id"] == "a2"  # the most pressed
    assert counts.total == len(every) == 4
    assert counts.over_capacity == sum(1 for row in every if row["over_capacity"])
    sent, summary = tables.fill_organisations("all", None)
    assert len(sent) == 1
    assert f"{counts.over_capacity} of 4 organisations are over capacity" in summary
    assert "The 1 under most pressure are listed" in summary


def test_the_freshness_count_covers_every_organisation_not_only_those_listed() -> None:
    inputs = handbuilt.inputs()
    assets = inputs.assets.copy()
    assets["last_checked"] = pd.to_datetime(["2026-01-01", "2020-01-01", "2019-06-01", None])
    dated = Dataset.from_inputs(dataclasses.replace(inputs, assets=assets), label="Dated")
    state = ViewState(level="area", category="dementia")
    rows, counts = organisation_table(dated, state, today=date(2026, 3, 1), limit=1)
    assert len(rows) == 1
    assert counts.stale == 3  # a2 and a3 over 12 months old, a4 never verified
    assert dated.freshness(date(2026, 3, 1)) is dated.freshness(date(2026, 3, 1))  # worked out once a day


# --------------------------------------------------------------------------- boundaries


def _shapes(collection: dict) -> list[shapely.Geometry]:
    return [shapely.geometry.shape(feature["geometry"]) for feature in collection["features"]]


def _wiggly_grid(n: int, cell: float = 200.0, wiggle: float = 3.0) -> gpd.GeoDataFrame:
    """An n x n grid of cells whose shared borders zigzag by ``wiggle`` metres (detail to simplify away)."""
    xs = np.linspace(0, cell, 21)
    edges: dict[tuple[str, int, int], list[tuple[float, float]]] = {}

    def horizontal(i: int, j: int) -> list[tuple[float, float]]:  # bottom edge of cell (i, j), west to east
        key = ("h", i, j)
        if key not in edges:
            y = j * cell
            edges[key] = [(i * cell + x, y + (wiggle if k % 2 and 0 < j < n else 0.0)) for k, x in enumerate(xs)]
        return edges[key]

    def vertical(i: int, j: int) -> list[tuple[float, float]]:  # west edge of cell (i, j), south to north
        key = ("v", i, j)
        if key not in edges:
            x = i * cell
            edges[key] = [(x + (wiggle if k % 2 and 0 < i < n else 0.0), j * cell + y) for k, y in enumerate(xs)]
        return edges[key]

    shapes, ids = [], []
    for i in range(n):
        for j in range(n):
            ring = (horizontal(i, j)[:-1] + vertical(i + 1, j)[:-1] + horizontal(i, j + 1)[::-1][:-1]
                    + vertical(i, j)[::-1][:-1])  # fmt: skip
            shapes.append(shapely.Polygon([(handbuilt.X0 + x, handbuilt.Y0 + y) for x, y in ring]))
            ids.append(f"G{i:02d}{j:02d}")
    return gpd.GeoDataFrame({"area_id": ids, "area_name": ids}, geometry=shapes, crs="EPSG:27700")


def test_simplification_keeps_every_id_valid_polygons_and_shared_borders() -> None:
    grid = _wiggly_grid(6)
    assert shapely.coverage_is_valid(grid.geometry.values)
    plain = units_geojson(grid, tolerance_m=0)
    simplified = units_geojson(grid, tolerance_m=25)
    assert [f["id"] for f in simplified["features"]] == grid["area_id"].tolist()
    shapes = _shapes(simplified)
    assert all(shape.is_valid and shape.geom_type in ("Polygon", "MultiPolygon") for shape in shapes)
    # The zigzags are gone...
    assert sum(shapely.get_num_coordinates(_shapes(plain))) > 3 * sum(shapely.get_num_coordinates(shapes))
    # ...and neighbours still meet along one line: no slivers or overlaps between them.
    back = gpd.GeoSeries(shapes, crs="EPSG:4326").to_crs("EPSG:27700")
    union = shapely.union_all(back.values)
    assert union.area == pytest.approx(back.area.sum(), rel=1e-6)
    assert union.area == pytest.approx(grid.area.sum(), rel=2e-3)


def test_a_unit_smaller_than_the_tolerance_is_kept() -> None:
    tiny = shapely.box(handbuilt.X0, handbuilt.Y0, handbuilt.X0 + 3, handbuilt.Y0 + 3)  # 3 m: under 1e-5 degree
    far = shapely.box(handbuilt.X0 + 5000, handbuilt.Y0, handbuilt.X0 + 6000, handbuilt.Y0 + 1000)
    units = gpd.GeoDataFrame({"area_id": ["T", "F"], "area_name": ["T", "F"]}, geometry=[tiny, far], crs="EPSG:27700")
    collection = units_geojson(units, tolerance_m=100)
    assert [f["id"] for f in collection["features"]] == ["T", "F"]
    assert all(shape.is_valid and not shape.is_empty for shape in _shapes(collection))


def test_overlapping_units_are_simplified_one_by_one_and_stay_valid() -> None:
    grid = _wiggly_grid(2)
    overlapping = grid.assign(geometry=grid.geometry.buffer(20))  # not a coverage any more
    collection = units_geojson(overlapping, tolerance_m=25)
    assert [f["id"] for f in collection["features"]] == grid["area_id"].tolist()
    assert all(shape.is_valid for shape in _shapes(collection))


def test_boundaries_are_simplified_more_for_coarser_levels(dataset: Dataset) -> None:
    assert SIMPLIFY_TOLERANCE_M["area"] < SIMPLIFY_TOLERANCE_M["neighbourhood"] < SIMPLIFY_TOLERANCE_M["borough"]
    for level in dataset.levels:
        expected = units_geojson(dataset.units(level), tolerance_m=SIMPLIFY_TOLERANCE_M[level])
        assert json.dumps(dataset.boundaries(level)) == json.dumps(expected)


def test_real_boundaries_keep_ids_validity_and_shared_borders(realdata: Path) -> None:
    path = realdata / "boundaries" / "tdl_2021" / "lsoa21_gm_lsoa_generalised.geojson"
    if not path.exists():
        pytest.skip(f"{path} not found")
    lsoas = gpd.read_file(path).to_crs("EPSG:27700")
    lsoas = lsoas.assign(area_id=lsoas["area_code"].astype(str), geometry=shapely.make_valid(lsoas.geometry.values))
    collection = units_geojson(lsoas, tolerance_m=SIMPLIFY_TOLERANCE_M["area"])
    assert [f["id"] for f in collection["features"]] == lsoas["area_id"].tolist()
    shapes = np.array(_shapes(collection), dtype=object)
    assert shapely.is_valid(shapes).all()
    # Simplified one polygon at a time, neighbours' borders part in over a thousand places; together, in a handful
    # (where rounding to ~1 m meets a border thinner than that).
    broken = ~shapely.is_empty(shapely.coverage_invalid_edges(shapes))
    assert broken.sum() < 20


# --------------------------------------------------------------------------- payloads and settings


def test_map_payload_is_bounded_by_the_units_drawn(registry: Registry) -> None:
    loaded = registry.get(None)
    fallback = build_map(registry, loaded, ViewState(level="area", category="dementia", show_assets=False),
                         basemap=None, max_units=2)  # fmt: skip
    neighbourhoods = build_map(registry, loaded, ViewState(level="neighbourhood", category="dementia",
                                                           show_assets=False), basemap=None, max_units=2)  # fmt: skip
    # The fallback small-area map costs what the neighbourhood map costs, whatever the number of small areas.
    assert abs(len(pio.to_json(fallback)) - len(pio.to_json(neighbourhoods))) < 400
    assert len(fallback.data[0].geojson["features"]) <= 2


def test_limits_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "dashboard.toml"
    config.write_text("[map]\nmax_units = 800\nmax_services = 300\nmax_table_rows = 50\n", encoding="utf-8")
    values = read_config(config)
    assert (values["map_max_units"], values["map_max_services"], values["table_max_rows"]) == (800, 300, 50)
    config.write_text("[map]\nmax_units = 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="max_units"):
        read_config(config)


# --------------------------------------------------------------------------- memoised indexes


def test_indexes_behind_the_area_details_match_filtering_by_hand(dataset: Dataset) -> None:
    for level, unit in (("area", "B"), ("neighbourhood", "N1"), ("borough", "B2")):
        table = dataset.table(level)
        pd.testing.assert_frame_equal(dataset.unit_rows(level, unit),
                                      table[table["area_id"] == unit].reset_index(drop=True))  # fmt: skip
        everyone = table[table["community"] == "all"]
        assert dataset.provision_averages(level, "all").to_dict() == pytest.approx(
            everyone.groupby("category")["provision_per_10k"].mean().to_dict(), nan_ok=True)  # fmt: skip
    assert dataset.unit_rows("area", "nowhere").empty
    assert dataset.provision_averages("area", "made-up").empty
    prepared = dataset.prepared
    for areas in (["A"], ["B"], ["C"], ["A", "C"], []):  # the index against filtering the reach pairs by hand
        local = prepared.local_reach.loc[prepared.local_reach["area_id"].isin(areas), "asset_id"]
        assert sorted(dataset.assets_reaching(areas)["asset_id"]) == sorted(set(local) | set(prepared.citywide))
    # a1 is local to A, a2 reaches its borough (A and B), a4 is citywide; a3 (radius 1.2 km from C) reaches B and C.
    assert sorted(dataset.assets_reaching(["A"])["asset_id"]) == ["a1", "a2", "a4"]
    assert dataset.borough_names("area") == {"A": "Borough One", "B": "Borough One", "C": "Borough Two"}
