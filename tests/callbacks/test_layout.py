"""Layout smoke tests: the page has every id the callbacks and other engineers rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import dash
import handbuilt
import pytest
from dash.development.base_component import Component
from dashapp import serving

from callbacks.app import create_app
from callbacks.layout import build_layout
from callbacks.settings import Settings
from coverage_map.dataset import Dataset
from coverage_map.outputs.classes import METRICS

MAIN_IDS = [
    "level-select", "category-select", "community-select", "metric-select", "borough-select", "map", "map-notice",
    "area-details", "gap-table", "scheme-select", "assets-toggle", "gaps-only-toggle", "download-map-slot",
    "org-table", "url", "data-token", "selected-area", "synthetic-badge", "attribution", "tabs",
    "download-table-button", "gap-table-download", "upload-areas", "upload-assets", "upload-lookup",
    "upload-population", "upload-referrals", "upload-load", "upload-report", "tier-key", "equity",
]  # fmt: skip


def walk(component: object) -> Iterator[Component]:
    if isinstance(component, Component):
        yield component
        yield from walk(getattr(component, "children", None))
    elif isinstance(component, (list, tuple)):
        for child in component:
            yield from walk(child)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def components(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Component]:
    layout = build_layout(dataset, Settings(data_dir=tmp_path_factory.mktemp("up")))
    found = {}
    for component in walk(layout):
        identifier = getattr(component, "id", None)
        if isinstance(identifier, str):
            assert identifier not in found, f"duplicate id {identifier}"
            found[identifier] = component
    return found


def test_every_main_id_is_present(components: dict[str, Component]) -> None:
    missing = [identifier for identifier in MAIN_IDS if identifier not in components]
    assert not missing


def test_control_options(components: dict[str, Component]) -> None:
    levels = components["level-select"]
    assert [o["label"] for o in levels.options] == ["Small area", "Neighbourhood", "Borough"]
    assert levels.value == "neighbourhood"
    categories = components["category-select"]
    labels = [o["label"] for o in categories.options]
    assert "Debt & benefits advice" in labels and "Dementia" in labels and labels == sorted(labels, key=str.lower)
    assert categories.value == "dementia"
    assert [(o["label"], o["value"]) for o in components["community-select"].options] == [
        ("Everyone", "all"), ("BAME communities", "bame")
    ]  # fmt: skip
    assert [o["value"] for o in components["metric-select"].options] == list(METRICS)
    assert [o["label"] for o in components["borough-select"].options] == ["All boroughs", "Borough One", "Borough Two"]
    assert [o["value"] for o in components["scheme-select"].options] == ["quantiles", "natural_breaks"]
    assert components["assets-toggle"].value is True and components["gaps-only-toggle"].value is False


def test_map_notice_is_an_announced_hidden_region(components: dict[str, Component]) -> None:
    # Filled by callbacks.mapview.explain_map when the map leaves something out (national scale).
    notice = components["map-notice"]
    assert notice.role == "status" and "d-none" in notice.className
    assert getattr(notice, "aria-live") == "polite"


def test_placeholders_and_badge(components: dict[str, Component]) -> None:
    assert isinstance(components["download-map-slot"], dash.html.Div)  # the exports engineer's button goes here
    assert components["synthetic-badge"].children == "Synthetic demo data"
    assert components["synthetic-badge"].style == {}
    assert "Synthetic demo data" in components["attribution"].children
    assert components["data-token"].storage_type == "session"


def test_badge_hidden_for_real_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    real = Dataset.from_inputs(handbuilt.inputs(), label="Real")
    layout = build_layout(real, Settings(data_dir=tmp_path_factory.mktemp("up")))
    badge = next(c for c in walk(layout) if getattr(c, "id", None) == "synthetic-badge")
    assert badge.style == {"display": "none"}


@pytest.fixture(scope="module")
def app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    with serving(dash_app, dataset, Settings(data_dir=tmp_path_factory.mktemp("up"))):
        yield dash_app


def test_app_registers_callbacks_and_compresses(app: dash.Dash) -> None:
    client = app.server.test_client()
    outputs = " ".join(spec["output"] for spec in client.get("/_dash-dependencies").get_json())
    for target in ("map.figure", "area-details.children", "gap-table.rowData", "org-table.rowData",
                   "url.search", "gap-table-download.data", "data-token.data"):  # fmt: skip
        assert target in outputs
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    layout = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert layout.status_code == 200 and layout.headers.get("Content-Encoding") == "gzip"
    text = json.dumps(client.get("/_dash-layout").get_json())
    assert "2026-01-10" not in text  # no referral records in the page


def test_one_app_per_process(app: dash.Dash, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Dash gives the dashboard's callbacks to one app only: a second one would answer no interaction.
    with pytest.raises(RuntimeError, match="already called"):
        create_app(Dataset.from_inputs(handbuilt.inputs()), settings=Settings(data_dir=tmp_path_factory.mktemp("up")))


def test_the_page_follows_the_data_served(app: dash.Dash, tmp_path_factory: pytest.TempPathFactory) -> None:
    client = app.server.test_client()
    assert "Real" not in json.dumps(client.get("/_dash-layout").get_json())
    real = Dataset.from_inputs(handbuilt.inputs(), label="Real")
    with serving(app, real, Settings(data_dir=tmp_path_factory.mktemp("up"))):
        layout = client.get("/_dash-layout").get_json()
    assert json.dumps(layout).count('"Real"') == 1  # the header names the data served
    assert "Real" not in json.dumps(client.get("/_dash-layout").get_json())  # and the module's data is back


def test_bootstrap_is_served_locally(app: dash.Dash) -> None:
    html = app.server.test_client().get("/").get_data(as_text=True)
    assert "cdn" not in html.lower() and "00-bootstrap.min.css" in html
