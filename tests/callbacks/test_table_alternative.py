"""The map's table alternative, called as plain functions: "List every area" lists every unit of the view
with its tier in words, in the map's order; the URL keeps the choice; the CSV download holds the same units in
the same order; Enter on a cell selects the unit (the grid reports it as a click).

Expected values are read from the published table (``Dataset.rows``) and ordered here, never by the helper
under test (``tests/handbuilt.py``: three boxes A, B, C; C is the one moderate dementia gap).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dash
import handbuilt
import pandas as pd
import pytest
from dashapp import serving

from callbacks import ids, mapview, tables
from callbacks.context import EXTENSION, Services
from callbacks.layout import build_layout, gap_columns
from callbacks.settings import Settings
from callbacks.state import Choices, ViewState, control_values, parse_query, state_from_controls, to_query
from callbacks.views import gap_table
from coverage_map.dataset import Dataset
from coverage_map.gaps import TIER_LABELS

ORDER = {"severe": 0, "moderate": 1, "watch": 2, "none": 3, "no_data": 4}
ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    with serving(dash_app, dataset, Settings(data_dir=tmp_path_factory.mktemp("uploads"))):
        yield dash_app


@pytest.fixture()
def request_context(app: dash.Dash) -> Iterator[None]:
    with app.server.test_request_context():
        yield


def _expected_order(dataset: Dataset, level: str, category: str, community: str) -> list[str]:
    """Every unit of the view, worst first: by tier, then unmet need (largest first), then id."""
    view = dataset.rows(level, category, community).copy()
    view["order"] = view["tier"].astype(str).map(ORDER)
    view["unmet"] = pd.to_numeric(view["unmet_need"], errors="coerce").fillna(-1.0)
    view = view.sort_values(["order", "unmet", "area_id"], ascending=[True, False, True])
    return view["area_id"].astype(str).tolist()


def test_every_area_is_listed_with_its_tier_in_words(dataset: Dataset) -> None:
    state = ViewState(level="area", category="dementia")
    rows, total = gap_table(dataset, state, every=True)
    published = dataset.rows("area", "dementia", "all").set_index("area_id")
    assert total == len(published) == 3
    assert [r["area_id"] for r in rows] == _expected_order(dataset, "area", "dementia", "all")
    assert rows[0]["area_id"] == "C" and rows[0]["tier_label"] == "Moderate gap"
    for row in rows:
        assert row["tier_label"] == TIER_LABELS[str(published.loc[row["area_id"], "tier"])]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    # Without the switch, only the gaps.
    assert [r["area_id"] for r in gap_table(dataset, state)[0]] == ["C"]


def test_every_area_follows_the_borough(dataset: Dataset) -> None:
    rows, total = gap_table(dataset, ViewState(level="area", category="dementia", borough="B1"), every=True)
    assert total == 2 and {r["area_id"] for r in rows} == {"A", "B"}


def test_the_summary_counts_each_tier(app: dash.Dash, request_context: None, dataset: Dataset) -> None:
    rows, summary = tables.fill_gap_table("area", "dementia", "all", "all", None, True)
    tiers = dataset.rows("area", "dementia", "all")["tier"].astype(str).value_counts()
    assert len(rows) == 3
    assert summary.startswith("3 small areas for dementia provision for everyone, by tier: Moderate gap 1")
    for tier, count in tiers.items():
        assert f"{TIER_LABELS[tier]} {count}" in summary
    assert "press Enter" in summary
    only_gaps, summary = tables.fill_gap_table("area", "dementia", "all", "all", None, False)
    assert [r["area_id"] for r in only_gaps] == ["C"] and summary.startswith("1 gap in dementia")


def test_the_download_holds_the_listed_units_in_the_same_order(app: dash.Dash, request_context: None) -> None:
    for community in ("all", "bame"):
        rows, _ = tables.fill_gap_table("neighbourhood", "dementia", community, "all", None, True)
        sent = tables.download_gap_table(1, "neighbourhood", "dementia", community, "all", None)
        frame = pd.read_csv(io.BytesIO(base64.b64decode(sent["content"])), dtype=str, keep_default_na=False)
        assert frame["area_id"].tolist() == [r["area_id"] for r in rows]
        assert [TIER_LABELS[t] for t in frame["tier"]] == [r["tier_label"] for r in rows]


def test_the_url_keeps_the_choice() -> None:
    choices = Choices(("area",), ("dementia",), ("all",), ("all",))
    state = parse_query("?level=area&category=dementia&table=all", choices)
    assert state.table_all is True
    assert to_query(state).endswith("&table=all")
    assert parse_query(to_query(state), choices) == state
    # The default (gaps only) leaves old links as they were.
    assert "table" not in to_query(replace(state, table_all=False))
    assert parse_query("?table=nonsense", choices).table_all is False
    assert state_from_controls(control_values(state)) == replace(state, question=None)


def test_the_page_has_the_switch_the_keyboard_handler_and_the_download_progress(dataset: Dataset) -> None:
    page = json.dumps(build_layout(dataset, Settings()).to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert f'"id": "{ids.GAP_TABLE_ALL}"' in page and "List every area" in page
    assert "selectOnKey(params, setGridProps)" in page
    # The CSV download sits in a dcc.Loading, as the map download does.
    assert _parent_type(build_layout(dataset, Settings()), ids.GAP_TABLE_DOWNLOAD) == "Loading"
    severity = next(c for c in gap_columns() if c["field"] == "tier_label")
    assert severity["comparator"] == {"function": "bySeverity"}
    script = (ASSETS / "dashAgGridFunctions.js").read_text(encoding="utf-8")
    assert "dagfuncs.selectOnKey" in script and "dagfuncs.bySeverity" in script


def _parent_type(component: object, wanted: str, parent: str | None = None) -> str | None:
    """The type of the component holding the one with id ``wanted`` (None when it is not in the tree)."""
    if getattr(component, "id", None) == wanted:
        return parent
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            found = _parent_type(child, wanted, type(component).__name__)
            if found is not None:
                return found
    return None


def test_enter_on_a_cell_selects_its_unit_as_a_click_does(services: Services) -> None:
    # selectOnKey reports Enter as the grid's cellClicked, with the row's id.
    reported = {"value": "Area C", "colId": "area_name", "rowIndex": 0, "rowId": "C", "timestamp": 1}
    chosen, borough = mapview.selection_outputs(services, {ids.GAP_TABLE}, None, reported)
    assert chosen == "C" and borough is dash.no_update


@pytest.fixture(scope="module")
def services(app: dash.Dash) -> Services:
    return app.server.extensions[EXTENSION]
