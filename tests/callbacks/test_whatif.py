"""The dashboard's What if: the scenario text and URL, the derived data set, and the views that follow it.

Callbacks and helpers are called as plain functions. The hand-built boxes (``handbuilt``) test the
text, the registry and the edits; the demo data, where a proposed dementia service in the severe
neighbourhood XN0011 lifts it out of the gap tiers (worked out once by running the analysis with
the service appended to the assets: severe -> no gap), tests the map, the table and the details.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import dash
import geopandas as gpd
import handbuilt
import pytest
import shapely
from dashapp import serving

from callbacks import details, mapview, tables, whatif
from callbacks.app import build_services
from callbacks.context import Services
from callbacks.ids import WHATIF
from callbacks.settings import Settings
from callbacks.state import Choices, parse_query, sync_url, to_query
from coverage_map.config import GEODATA_DIR
from coverage_map.dataset import Dataset
from coverage_map.errors import ValidationError
from coverage_map.scenario import TierMoves, proposed_assets, with_proposed
from coverage_map.scenario_text import (
    MAX_PROPOSED,
    Proposal,
    canonical_scenario,
    encode_scenario,
    parse_scenario,
    scenario_records,
)

CATEGORIES = ("dementia", "carers_support", "mental_health")
COMMUNITIES = ("all", "bame")


def _lonlat(x: float, y: float) -> tuple[float, float]:
    point = gpd.GeoSeries([shapely.Point(x, y)], crs="EPSG:27700").to_crs("EPSG:4326").iloc[0]
    return round(point.x, 5), round(point.y, 5)


@pytest.fixture(scope="module")
def hand() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def hand_services(hand: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Services:
    return build_services(hand, Settings(data_dir=tmp_path_factory.mktemp("whatif-uploads")))


@pytest.fixture(scope="module")
def in_c() -> str:
    """A dementia service for everyone in box C (no dementia service reaches C locally)."""
    lon, lat = _lonlat(handbuilt.X0 + 2500, handbuilt.Y0 + 500)
    return f"dementia.all.8.local@{lon:.5f},{lat:.5f}"


# --------------------------------------------------------------------------- the text


def test_round_trip_is_canonical() -> None:
    text = "dementia.all.30.3km@-2.23010,53.51012;carers_support.bame.12.5.borough@-2.3,53.49,Old Library, Hulme"
    proposals = parse_scenario(text, categories=CATEGORIES, communities=COMMUNITIES)
    assert proposals == (
        Proposal("dementia", "all", 30.0, "3km", -2.2301, 53.51012, ""),
        Proposal("carers_support", "bame", 12.5, "borough", -2.3, 53.49, "Old Library, Hulme"),
    )
    canonical = encode_scenario(proposals)
    assert canonical == ("dementia.all.30.3km@-2.23010,53.51012;"
                         "carers_support.bame.12.5.borough@-2.30000,53.49000,Old Library, Hulme")  # fmt: skip
    assert parse_scenario(canonical, categories=CATEGORIES, communities=COMMUNITIES) == proposals
    assert encode_scenario(parse_scenario(canonical, categories=CATEGORIES, communities=COMMUNITIES)) == canonical
    assert parse_scenario("", categories=CATEGORIES, communities=COMMUNITIES) == ()


def test_rejection_lists_every_problem_by_entry() -> None:
    text = "knitting.all.5.3km@-2.2,53.5;dementia.martians.5.3km@-2.2,53.5;dementia.all.5.nowhere@-2.2,53.5;garbage"
    with pytest.raises(ValidationError) as caught:
        parse_scenario(text, categories=CATEGORIES, communities=COMMUNITIES)
    found = [(p.row, p.column, p.value) for p in caught.value.problems]
    assert found == [(1, "need", "knitting"), (2, "community", "martians"), (3, "reach", "nowhere"),
                     (4, None, "garbage")]  # fmt: skip
    assert "the scenario in the link, row 1, column 'need'" in str(caught.value)
    assert canonical_scenario(text, categories=CATEGORIES, communities=COMMUNITIES) is None
    too_many = ";".join(["dementia.all.5.3km@-2.2,53.5"] * (MAX_PROPOSED + 1))
    with pytest.raises(ValidationError, match="at most"):
        parse_scenario(too_many, categories=CATEGORIES, communities=COMMUNITIES)
    with pytest.raises(ValidationError, match="latitude"):
        parse_scenario("dementia.all.5.3km@-2.2,95.0", categories=CATEGORIES, communities=COMMUNITIES)


def test_names_lose_separators_and_records_get_defaults() -> None:
    proposal = Proposal.of(category="dementia", community=None, capacity=7.04, reach=2, lon=-2.123456, lat=53.1,
                           name="A;\tB  C")  # fmt: skip
    assert proposal == Proposal("dementia", "all", 7.0, "2km", -2.12346, 53.1, "A B C")
    records = scenario_records([proposal, dataclasses.replace(proposal, name="", community="bame")])
    assert records[0]["name"] == "A B C" and records[0]["reach"] == "2 km" and records[0]["community"] == ""
    assert records[1]["name"] == "Dementia service 2" and records[1]["asset_id"] == "proposed-2"
    assert records[1]["community"] == "bame"


# --------------------------------------------------------------------------- state and URL


def test_url_carries_the_scenario_and_drops_one_the_data_cannot_read(hand: Dataset, in_c: str) -> None:
    choices = Choices.of(hand)
    state = parse_query(f"?level=area&category=dementia&whatif={in_c}", choices)
    assert state.whatif == in_c
    query = to_query(state)
    assert f"whatif={in_c}" in query  # readable: the separators are not escaped
    assert parse_query(query, choices) == state
    assert parse_query("?level=area&whatif=knitting.all.5.3km@-2,53", choices).whatif is None
    # Changing the data set drops the scenario with the selected unit: both belong to the old data.
    decision = sync_url({"data-token"}, query, state, choices)
    assert decision.state is not None and decision.state.whatif is None
    # Editing the scenario only moves the URL.
    decision = sync_url({WHATIF}, query, dataclasses.replace(state, whatif=None), choices)
    assert decision.state is None and decision.search is not None and "whatif" not in decision.search


# --------------------------------------------------------------------------- the registry


def test_registry_gives_the_data_set_with_the_proposed_services(hand_services: Services, hand: Dataset,
                                                                in_c: str) -> None:  # fmt: skip
    registry = hand_services.registry
    loaded = registry.get(None, in_c)
    assert loaded.base is not None and loaded.base.dataset is hand
    assert loaded.key.startswith("default|whatif:") and len(loaded.key) == len("default|whatif:") + 12
    assert registry.get(None, in_c).dataset is loaded.dataset  # memoised
    # Independent route: the same records through the core, on the base's joined inputs.
    proposals = parse_scenario(in_c, categories=hand.categories, communities=hand.communities)
    proposed = proposed_assets(scenario_records(proposals), hand.inputs.taxonomy)
    expected = Dataset(with_proposed(hand.prepared, proposed), threshold_km=hand.threshold_km, method=hand.method)
    for level in ("area", "neighbourhood"):
        assert loaded.dataset.table(level).equals(expected.table(level))
    assert loaded.dataset.table("area").ne(hand.table("area")).any().any()  # the service changed something
    # A scenario it cannot use gives the base data; so does none.
    assert registry.get(None, "knitting.all.5.3km@-2,53").dataset is hand
    assert registry.get(None, "dementia.all.5.3km@10.0,10.0").dataset is hand  # outside every area
    assert registry.get(None, None).dataset is hand


def test_registry_keeps_a_few_scenarios(hand: Dataset, tmp_path: Path) -> None:
    from callbacks.registry import Registry

    registry = Registry(hand, Settings(data_dir=tmp_path), max_scenarios=2)
    texts = [f"dementia.all.{n}.local@{_lonlat(handbuilt.X0 + 2500, handbuilt.Y0 + 500)[0]:.5f},"
             f"{_lonlat(handbuilt.X0 + 2500, handbuilt.Y0 + 500)[1]:.5f}" for n in (1, 2, 3)]  # fmt: skip
    first = registry.get(None, texts[0]).dataset
    registry.get(None, texts[1])
    registry.get(None, texts[2])
    assert registry.get(None, texts[0]).dataset is not first  # evicted, rebuilt


def test_notice_names_what_is_wrong(hand_services: Services, in_c: str) -> None:
    assert whatif.notice_text(hand_services, "?level=area", None) is None  # no scenario: leave the notice
    assert whatif.notice_text(hand_services, f"?whatif={in_c}", None) == ""
    text = whatif.notice_text(hand_services, "?whatif=knitting.all.5.3km@-2,53", None)
    assert text is not None and "left out" in text and "knitting" in text
    text = whatif.notice_text(hand_services, "?whatif=dementia.all.5.3km@10.0,10.0", None)
    assert text is not None and "outside every area" in text


# --------------------------------------------------------------------------- edits


def test_a_map_click_in_place_mode_adds_a_service_at_the_unit(hand_services: Services, hand: Dataset) -> None:
    click = {"points": [{"location": "C", "curveNumber": 0}]}
    fields = ("dementia", "all", 12, "local")
    edit = whatif.scenario_edit(hand_services, "map", click, click_data=click, place=True, whatif=None,
                                fields=fields, level="area")  # fmt: skip
    assert edit.message == "Proposed service placed in Area C."
    (proposal,) = parse_scenario(edit.whatif, categories=hand.categories, communities=hand.communities)
    assert (proposal.category, proposal.capacity, proposal.reach) == ("dementia", 12.0, "local")
    assert proposal.name == "Dementia service in Area C"
    point = gpd.GeoSeries([shapely.Point(proposal.lon, proposal.lat)], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
    assert handbuilt.box(2).contains(point)
    # Place mode off: a click only selects.
    off = whatif.scenario_edit(hand_services, "map", click, click_data=click, place=False, whatif=None,
                               fields=fields, level="area")  # fmt: skip
    assert off.whatif is None
    # A second click adds a second service; removing the first keeps the second; Clear empties it.
    two = whatif.scenario_edit(hand_services, "map", click, click_data={"points": [{"location": "A"}]}, place=True,
                               whatif=edit.whatif, fields=fields, level="area")  # fmt: skip
    assert two.whatif is not None and two.whatif.count(";") == 1
    left = whatif.scenario_edit(hand_services, {"type": "whatif-remove", "index": 0}, 1, click_data=None, place=True,
                                whatif=two.whatif, fields=fields, level="area")  # fmt: skip
    assert left.whatif == two.whatif.split(";")[1]
    cleared = whatif.scenario_edit(hand_services, "whatif-clear", 1, click_data=None, place=True, whatif=two.whatif,
                                   fields=fields, level="area")  # fmt: skip
    assert cleared.whatif == ""


def test_fields_fall_back_to_the_needs_defaults(hand: Dataset) -> None:
    fields = whatif.Fields.of(hand, "dementia", None, None, "nowhere")
    assert fields.capacity == 7.5  # median of a1 (10) and a2 (5), the dementia services
    assert fields.reach == "3km" and fields.community == "all"
    assert [o["value"] for o in whatif.reach_options(hand, "dementia")] == [
        "3km",
        "1km",
        "5km",
        "local",
        "borough",
        "citywide",
    ]


def test_tier_moves_sentence() -> None:
    moves = TierMoves(moves=None, leave_severe=9, leave_moderate=4, enter_severe=0, enter_gap=0,  # type: ignore[arg-type]
                      need_in_gaps_before=12_380.0, need_in_gaps_after=9_812.0)  # fmt: skip
    assert whatif.moves_sentence(moves, 2, "area") == (
        "With 2 proposed services, 9 small areas leave the severe tier and 4 the moderate; people in need living in "
        "gap areas fall from 12,400 to 9,810."  # rounded to 10 under 10,000
    )
    one = dataclasses.replace(moves, leave_severe=1, leave_moderate=0, enter_severe=2, enter_gap=1,
                              need_in_gaps_after=12_500.0)  # fmt: skip
    text = whatif.moves_sentence(one, 1, "neighbourhood")
    assert text.startswith("With 1 proposed service, 1 neighbourhood leaves the severe tier and 0 the moderate")
    assert "rise from 12,400 to 12,500" in text
    assert "Meanwhile 2 neighbourhoods enter the severe tier and 1 that had no gap now has one" in text


def test_suggested_sites_can_be_added(hand_services: Services, hand: Dataset) -> None:
    result, text, disabled = whatif.suggestion_outputs(hand_services, 1, "areas", None,
                                                       ("dementia", "all", 6, "3km"), None)  # fmt: skip
    assert disabled is False and isinstance(text, str)
    (proposal,) = parse_scenario(text, categories=hand.categories, communities=hand.communities)
    assert proposal.name in {"Area A", "Area B", "Area C"} and proposal.reach == "3km" and proposal.capacity == 6
    edit = whatif.scenario_edit(hand_services, "whatif-add-suggested", 1, click_data=None, place=False, whatif=None,
                                fields=("dementia", "all", 6, "3km"), level="area", suggested=text)  # fmt: skip
    assert edit.whatif == text and edit.message == "1 suggested sites added."
    refused = whatif.suggestion_outputs(hand_services, 11, "areas", None, ("dementia", "all", 6, "3km"), None)
    assert refused[1] is None and refused[2] is True


def test_uploaded_candidates_are_checked_and_problems_named(tmp_path: Path, hand_services: Services) -> None:
    import base64

    csv = "site_id,site_name,easting,northing\nS1,Library,380500,390500\n,No id,380600,390500\nS3,Hall,abc,1\n"
    contents = "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()
    limits = hand_services.settings.upload_limits
    rows, problems = whatif.read_candidates(contents, "../sites.csv", tmp_path, limits=limits)
    assert rows == [["S1", "Library", 380500.0, 390500.0]]  # rejected rows are listed, not fatal
    assert [(p.file, p.row) for p in problems] == [("sites.csv", 3), ("sites.csv", 4)]
    assert "sites.csv, row 3, column 'site_id'" in str(problems[0])
    bad = "name,easting,northing\nLibrary,380500,390500\n"
    with pytest.raises(ValidationError) as caught:
        whatif.read_candidates("data:text/csv;base64," + base64.b64encode(bad.encode()).decode(), "sites.csv",
                               tmp_path, limits=limits)  # fmt: skip
    assert str(caught.value.problems[0]).startswith("sites.csv: cannot find the site id column")
    assert not list(tmp_path.glob("candidates-*"))  # the scratch folder is gone


def test_demo_candidate_layer_is_the_generators(tmp_path: Path) -> None:
    from coverage_map.demo.venues import CANDIDATES_FILE, write_venues
    from coverage_map.ingest.candidates import load_candidates

    shipped = GEODATA_DIR / CANDIDATES_FILE
    if not shipped.exists():
        pytest.skip("geodata/ has no demo files")
    for name in ("areas.geojson", "lookup.csv"):
        (tmp_path / name).write_bytes((GEODATA_DIR / name).read_bytes())
    assert write_venues(tmp_path).read_bytes() == shipped.read_bytes(), "regenerate: python -m coverage_map.demo.venues"
    candidates, problems = load_candidates(shipped)
    assert len(candidates) == 272 and not problems and candidates["site_name"].is_unique


# --------------------------------------------------------------------------- the views follow it (demo data)


@pytest.fixture(scope="module")
def demo_app(dash_app: dash.Dash, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    if not (GEODATA_DIR / "areas.geojson").exists():
        pytest.skip("geodata/ has no demo files")
    settings = Settings(data_dir=tmp_path_factory.mktemp("whatif-demo"))
    with serving(dash_app, Dataset.demo(), settings) as services, dash_app.server.test_request_context():
        yield services


@pytest.fixture(scope="module")
def xn0011(demo_app: Services) -> str:
    """A proposed dementia service at XN0011's representative point, the median capacity, the catchment."""
    dataset = demo_app.registry.get(None).dataset
    lon, lat, _ = whatif.unit_point(dataset, "neighbourhood", "XN0011")
    return Proposal.of(category="dementia", community="all", capacity=14, reach="3km", lon=lon, lat=lat).text


def test_map_table_and_details_follow_the_scenario(demo_app: Services, xn0011: str) -> None:
    base = demo_app.registry.get(None).dataset
    assert base.rows("neighbourhood", "dementia", "all").set_index("area_id").loc["XN0011", "tier"] == "severe"
    view = ("neighbourhood", "dementia", "all", "tier", "all", "quantiles", True, False, "XN0011", None)
    before = mapview.map_outputs(demo_app, set(), *view)
    after = mapview.map_outputs(demo_app, {WHATIF}, *view, xn0011)
    assert len(before.data) == 6 and len(after.data) == 9  # the what-if traces only with a scenario
    position = list(after.data[0].locations).index("XN0011")
    assert before.data[0].z[position] == 4 and after.data[0].z[position] == 1  # severe -> no gap band
    assert "what if: 1 proposed service" in after.layout.title.text
    assert len(after.data[8].lon) == 1 and after.data[8].text[0].startswith("<b>Proposed: Dementia service 1")
    assert after.data[6].name.startswith("Leaves the gap tiers with the proposed services (")
    assert None in after.data[6].lon and after.data[6].showlegend
    assert all(len(trace.lon) == 0 or "Proposed" not in str(trace.name) for trace in after.data[3:6])
    # The Worst gaps table no longer lists it, and its summary counts one severe gap fewer.
    rows, summary = tables.fill_gap_table("neighbourhood", "dementia", "all", "all", None, whatif=xn0011)
    old_rows, old_summary = tables.fill_gap_table("neighbourhood", "dementia", "all", "all", None)
    assert "XN0011" in {r["area_id"] for r in old_rows} and "XN0011" not in {r["area_id"] for r in rows}
    assert "(10 severe" in old_summary and "(10 severe" not in summary
    # The details panel: the new tier, and the proposed service reaching it, labelled.
    text = str(details.details_outputs(demo_app, set(), "XN0011", "neighbourhood", "dementia", "all", "tier", None,
                                       xn0011))  # fmt: skip
    assert "No gap" in text and "Proposed: Dementia service 1" in text
    # The organisations table lists it as proposed; a patch while the scenario is shown keeps traces 6-8.
    organisations, _ = tables.fill_organisations("all", None, xn0011)
    assert any(row["name"] == "Proposed: Dementia service 1" for row in organisations)
    patch = mapview.map_outputs(demo_app, {"category-select"}, *view, xn0011)
    assert isinstance(patch, dash.Patch)


def test_summary_sentence_of_the_view(demo_app: Services, xn0011: str) -> None:
    listing, sentence = whatif.scenario_outputs(demo_app, xn0011, "neighbourhood", "dementia", "all", None)
    assert sentence.startswith("Dementia for everyone: With 1 proposed service, ")
    loaded = demo_app.registry.get(None, xn0011)
    moves = whatif.moves_of(loaded, "neighbourhood", "dementia", "all")
    assert moves is not None and moves.leave_severe >= 1
    assert f"{moves.leave_severe} neighbourhood" in sentence
    assert "Dementia service 1" in str(listing)


def test_export_draws_the_proposed_services(demo_app: Services, xn0011: str) -> None:
    from callbacks.download_map import map_request
    from coverage_map.outputs.export_map import print_figure

    loaded = demo_app.registry.get(None, xn0011)
    request = map_request(level="neighbourhood", category="dementia", community="all", metric="tier",
                          borough="all", show_assets=False)  # fmt: skip
    figure = print_figure(loaded.dataset, request)
    names = [trace.name or "" for trace in figure.data]
    assert any(name.startswith("Proposed service (what if) (1)") for name in names)
    assert not any(name.startswith("Service accepting") and len(trace.lon) for name, trace in
                   zip(names, figure.data, strict=True))  # fmt: skip


def test_the_site_list_is_built_only_while_the_what_if_tab_is_open(hand_services: Services, hand: Dataset) -> None:
    # Every small area of England is 33,755 sites: not sent on every page load and dataset change.
    for tab in ("gaps", "organisations", "upload", "about", None):
        assert whatif.pick_outputs(hand_services, "areas", None, None, tab) is dash.no_update
    options = whatif.pick_outputs(hand_services, "areas", None, None, whatif.WHATIF_TAB)
    assert isinstance(options, list) and len(options) == len(hand.inputs.areas)
    assert [option["label"] for option in options] == sorted(option["label"] for option in options)
