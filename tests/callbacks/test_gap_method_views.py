"""Gap method 2 in the dashboard, called as plain functions: the opening view, the tier key,
the details panel, the ranked gap table, the equity panel and the ``[method]`` settings.

Expected values are worked out by hand from ``tests/handbuilt.py`` (three boxes A, B, C;
dementia: a1 local at A, a2 reaching borough B1 = A and B) or read from the published table,
never from the helper under test.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path

import dash
import handbuilt
import numpy as np
import pandas as pd
import pytest
from dash import Patch, no_update
from dashapp import serving

from callbacks import details, ids, mapview, tables
from callbacks.context import EXTENSION, Services
from callbacks.context import services as services_now
from callbacks.explain import (
    KEY_ORDER,
    NO_DATA_TEXT,
    NO_IMD_NOTE,
    certainty_text,
    equity_view,
    share_of_average,
    tier_key,
)
from callbacks.layout import build_layout, equity_outputs
from callbacks.settings import Settings, method_from_mapping, read_config, settings_from_args
from callbacks.state import Choices, default_state, parse_query, to_query
from callbacks.views import gap_rows, gap_table, table_csv
from coverage_map.analysis import TABLE_COLUMNS
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.gaps import TIER_LABELS
from coverage_map.method import DEFAULT_METHOD, GapMethod
from coverage_map.outputs.classes import TIER_COLOURS
from coverage_map.tiers import TIER_TEXT, TierThresholds


def _show_details(*args: object) -> object:
    """The details panel as drawn on page load (the callback's helper, outside Dash)."""
    return details.details_outputs(services_now(), set(), *args)  # type: ignore[arg-type]


#: Thresholds so generous that every dementia area is under the severe cut-off: with no cold spot
#: (three units are too few to test), A, B and C are all moderate gaps.
GENEROUS = GapMethod(thresholds=TierThresholds(severe_below=1.4, moderate_below=1.5))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


def imd_table() -> pd.DataFrame:
    """A is the most deprived tenth, B the fifth, C the least deprived."""
    return pd.DataFrame({"area_id": ["A", "B", "C"], "imd_rank": np.array([1, 2, 3], dtype="int64"),
                         "imd_decile": np.array([1, 5, 10], dtype="int64")})  # fmt: skip


@pytest.fixture(scope="module")
def with_imd() -> Dataset:
    return Dataset.from_inputs(dataclasses.replace(handbuilt.inputs(), imd=imd_table()), label="IMD")


@pytest.fixture(scope="module")
def app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    with serving(dash_app, dataset, Settings(data_dir=tmp_path_factory.mktemp("uploads"))):
        yield dash_app


@pytest.fixture(scope="module")
def services(app: dash.Dash) -> Services:
    return app.server.extensions[EXTENSION]


@pytest.fixture()
def request_context(app: dash.Dash) -> Iterator[None]:
    with app.server.test_request_context():
        yield


def _text(component: object) -> str:
    return json.dumps(
        component, ensure_ascii=False, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c)
    )


def _published(dataset: Dataset, level: str, area: str, category: str, community: str) -> pd.Series:
    table = dataset.table(level)
    chosen = table[(table["area_id"] == area) & (table["category"] == category) & (table["community"] == community)]
    return chosen.iloc[0]


# --------------------------------------------------------------------------- the opening view and the key


def test_the_map_opens_on_gap_severity(dataset: Dataset) -> None:
    choices = Choices.of(dataset)
    assert default_state(choices).metric == "tier"
    assert parse_query("", choices).metric == "tier"
    assert "metric=tier" in to_query(default_state(choices))
    assert parse_query("?metric=access_ratio", choices).metric == "access_ratio"


def test_the_metric_menu_lists_the_new_measures_first(dataset: Dataset, tmp_path: Path) -> None:
    layout = build_layout(dataset, Settings(data_dir=tmp_path))
    text = _text(layout)
    menu = json.loads(text)
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "metric-select":
                found.append(node["props"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(menu)
    labels = [option["label"] for option in found[0]["options"]]
    assert labels[:4] == ["Gap severity", "Access against the region's average", "Access per 10,000 people in need",
                          "Shortfall against the region's average"]  # fmt: skip
    assert found[0]["value"] == "tier"
    assert "Gap severity" in text and "tier-key" in text and NO_IMD_NOTE in text


def test_the_key_has_every_tier_in_words_with_its_map_colour() -> None:
    entries = tier_key({"severe": 2, "moderate": 1})
    assert [e.tier for e in entries] == ["severe", "moderate", "watch", "none", "no_data"]
    assert [e.label for e in entries] == ["Severe gap", "Moderate gap", "Watch", "No gap", "Not in the directory"]
    assert [e.count for e in entries] == [2, 1, 0, 0, 0]
    assert entries[0].colour == TIER_COLOURS["severe"] and entries[0].meaning == TIER_TEXT["severe"]
    assert entries[-1].meaning == NO_DATA_TEXT and "no services of this kind in the directory" in NO_DATA_TEXT.lower()
    assert "never" in NO_DATA_TEXT  # "not in the directory" is never a gap
    assert all(e.count is None for e in tier_key())


def test_the_key_counts_the_units_drawn(services: Services, request_context: None) -> None:
    # Dementia for everyone by small area: A and B are above the average (1.37, 1.25), C is under half (0.43).
    text = _text(mapview.key_outputs(services, "area", "dementia", "all", "all", "tier", None))
    assert "Moderate gap" in text and '" (1)"' in text and "No gap" in text and '" (2)"' in text
    assert "hover over an area" not in text
    # Coloured by another measure, the key says where to find the severity.
    other = _text(mapview.key_outputs(services, "area", "dementia", "all", "all", "nearest_km", None))
    assert "hover over an area for its gap severity" in other
    # A need nobody offers: every unit is "not in the directory", never a gap.
    nothing = _text(mapview.key_outputs(services, "area", "befriending", "all", "all", "tier", None))
    assert '"Not in the directory"' in nothing and '" (3)"' in nothing
    # The callback sends the notice (none: the hand-built map is small) and the key together.
    notice, css, key = mapview.describe_map("area", "dementia", "all", "all", True, "tier", None)
    assert notice == "" and "d-none" in css and _text(key) == text
    # ... in the map's own callback: the whole key on page load and when the measure changes; only its heading
    # and counts (the ids inside the key) with a need change; nothing when only the selection moved.
    controls = ("area", "dementia", "all", "tier", "all", "quantiles", True, False)
    assert len(mapview.WORD_OUTPUTS) == 4 + len(KEY_ORDER)
    for fired in ([], [ids.METRIC]):
        figure, *words = mapview.map_and_words(services, fired, *controls, None, None)
        assert figure is not no_update and words[:2] == [notice, css] and _text(words[2]) == text
        assert words[3:] == [no_update] * (1 + len(KEY_ORDER))
    figure, *words = mapview.map_and_words(services, [ids.CATEGORY], *controls, None, None)
    assert figure is not no_update and words[:2] == [notice, css] and words[2] is no_update
    assert words[3:] == ["Gap severity (areas in this view)", " (0)", " (1)", " (0)", " (2)", " (0)"]
    assert f'"id": "{ids.tier_count("moderate")}"' in text and f'"id": "{ids.TIER_KEY_HEADING}"' in text
    # Another need: the counts move with it (befriending: nobody offers it, so all three are not in the directory).
    other_need = ("area", "befriending", *controls[2:])
    figure, *words = mapview.map_and_words(services, [ids.CATEGORY], *other_need, None, None)
    assert words[3:] == ["Gap severity (areas in this view)", " (0)", " (0)", " (0)", " (0)", " (3)"]
    figure, *words = mapview.map_and_words(services, [ids.SELECTED_AREA], *controls, "A", None)
    assert isinstance(figure, Patch) and words == [no_update] * len(mapview.WORD_OUTPUTS)


# --------------------------------------------------------------------------- details


def test_certainty_sentences() -> None:
    assert certainty_text(True, 0.003) == "In a cluster of low access that is very unlikely to be chance (q = 0.003)."
    assert certainty_text(True, 0.03) == "In a cluster of low access that is unlikely to be chance (q = 0.030)."
    assert certainty_text(False, 0.41) == "Not part of a significant cluster (q = 0.410)."
    assert certainty_text(False, 0.0004).startswith("In a cluster of higher access")
    assert certainty_text(pd.NA, pd.NA).startswith("Not tested for clusters")
    assert certainty_text(False, 0.07, fdr=0.1).startswith("In a cluster of higher access")


def test_access_as_a_share_of_the_average() -> None:
    assert share_of_average(0.432) == "43% of the region's average"
    assert share_of_average(1.374) == "137% of the region's average"
    assert share_of_average(0.0) == "0% of the region's average"
    assert share_of_average(0.004) == "under 1% of the region's average"
    assert share_of_average(pd.NA) == "unknown"


def test_details_explain_the_tier_access_and_reasons(app: dash.Dash, request_context: None, dataset: Dataset) -> None:
    text = _text(_show_details("C", "area", "dementia", "bame", "tier", None))
    row = _published(dataset, "area", "C", "dementia", "bame")
    assert row["tier"] == "watch"
    assert "Watch for dementia (BAME communities)" in text and TIER_TEXT["watch"] in text
    # 500 BAME people live in C; the population file has no need_dementia column.
    assert "People in need: " in text and '"500"' in text and "no need estimate given" in text
    assert f"{float(row['access_per_10k']):,.1f}" in text
    assert f"{float(row['access_ratio']) * 100:.0f}% of the region's average" in text
    # a2 (made for BAME communities) reaches only borough B1: none reaches C.
    assert "Access to services made for BAME communities: " in text and '"0.0"' in text
    assert "How sure are we? " in text and "Not tested for clusters" in text  # three units: no Gi* test
    assert "per person in need is under 80% of the region's average." in text
    assert "Services open to everyone reach this area, but none made for BAME communities." in text
    # The referral trend is still there.
    assert "referral-trend" in text


def test_details_use_the_datasets_thresholds(dash_app: dash.Dash, tmp_path: Path) -> None:
    generous = Dataset.from_inputs(handbuilt.inputs(), label="Generous", method=GENEROUS)
    with serving(dash_app, generous, Settings(data_dir=tmp_path)), dash_app.server.test_request_context():
        text = _text(_show_details("A", "area", "dementia", "all", "tier", None))
    # A has 137% of the average: under the 140% severe cut-off, so a moderate gap, explained at 150%.
    assert "Moderate gap for dementia (everyone)" in text
    assert "per person in need is under 150% of the region's average." in text


def test_details_of_a_need_not_in_the_directory(app: dash.Dash, request_context: None) -> None:
    text = _text(_show_details("A", "area", "befriending", "all", "tier", None))
    assert "Not in the directory for befriending (everyone)" in text and NO_DATA_TEXT in text
    assert "How sure are we" not in text and "People in need" not in text


# --------------------------------------------------------------------------- the gap table


class _Stub:
    """Just enough of a Dataset for the gap table: one published view, hand-written."""

    levels = ("area",)

    def __init__(self, rows: pd.DataFrame) -> None:
        self._rows = rows

    def rows(self, level: str, category: str, community: str, *, borough: str | None = None) -> pd.DataFrame:
        return self._rows.copy()

    def borough_names(self, level: str) -> dict[str, str]:
        return {"S1": "North"}


def test_gap_table_ranks_by_tier_then_unmet_need() -> None:
    rows = pd.DataFrame(
        {
            "area_id": ["M1", "S1", "M2", "W1", "S2", "M3"],
            "area_name": ["m1", "s1", "m2", "w1", "s2", "m3"],
            "tier": ["moderate", "severe", "moderate", "watch", "severe", "moderate"],
            "gap": [True, True, True, False, True, True],
            "access_ratio": [0.4, 0.1, 0.7, 0.6, 0.45, 0.7],
            "need": [5000.0, 100.0, 1000.0, 9999.0, 400.0, 1000.0],
            "unmet_need": [3000.0, 90.0, 300.0, 4000.0, 220.0, 300.0],
            "gap_reasons": ["low_access", "no_provision;cold_spot", "low_access;cold_spot", "low_access", "", "far"],
        }
    )
    grid = gap_rows(_Stub(rows), default_state(Choices(("area",), ("dementia",), ("all",), ("all",))))
    # Severe first whatever their unmet need (220 before 90), then moderate by unmet need, ties by id.
    assert [r["area_id"] for r in grid] == ["S2", "S1", "M1", "M2", "M3"]
    first = grid[1]
    assert first["tier"] == "severe" and first["tier_label"] == "Severe gap"
    assert first["access_ratio"] == 10.0 and first["need"] == 100 and first["unmet_need"] == 90
    assert first["gap_reasons"] == "no provision reaches it, in a cluster of low access"
    assert first["borough_name"] == "North" and grid[0]["borough_name"] == ""


def test_gap_table_and_summary_follow_the_dataset_method(dash_app: dash.Dash, tmp_path: Path) -> None:
    generous = Dataset.from_inputs(handbuilt.inputs(), label="Generous", method=GENEROUS)
    state = default_state(Choices.of(generous))
    state = dataclasses.replace(state, level="area")
    # All three are moderate; unmet need: C 2,000 x (1 - 0.43) = 1,137, A and B none (above the average).
    assert [r["area_id"] for r in gap_rows(generous, state)] == ["C", "A", "B"]
    rows, total = gap_table(generous, state, limit=1)
    assert total == 3 and [r["area_id"] for r in rows] == ["C"]
    with serving(dash_app, generous, Settings(data_dir=tmp_path)), dash_app.server.test_request_context():
        rows, summary = tables.fill_gap_table("area", "dementia", "all", "all", None)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert summary.startswith("3 gaps in dementia provision for everyone (0 severe, 3 moderate), worst first")


def test_gap_summary_of_a_need_not_in_the_directory(app: dash.Dash, request_context: None) -> None:
    rows, summary = tables.fill_gap_table("area", "befriending", "all", "all", None)
    assert rows == [] and summary == "No befriending provision for everyone is listed in the directory, so no gaps " \
        "can be judged."  # fmt: skip


def test_csv_keeps_raw_codes_and_every_column_worst_first(dataset: Dataset) -> None:
    state = dataclasses.replace(default_state(Choices.of(dataset)), level="area")
    name, content = table_csv(dataset, state)
    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    assert list(frame.columns) == TABLE_COLUMNS
    assert frame["area_id"].tolist()[0] == "C"  # the one moderate gap first
    assert set(frame["tier"]) <= set(TIER_LABELS) and "moderate" in set(frame["tier"])
    assert "low_access" in frame.set_index("area_id").loc["C", "gap_reasons"]


def test_download_callback_ranks_like_the_table(app: dash.Dash, request_context: None) -> None:
    sent = tables.download_gap_table(1, "neighbourhood", "dementia", "bame", "all", None)
    frame = pd.read_csv(io.BytesIO(base64.b64decode(sent["content"])), dtype=str, keep_default_na=False)
    # N2 (C) is "watch" for BAME dementia, N1 "none": watch first.
    assert frame["area_id"].tolist() == ["N2", "N1"] and frame["tier"].tolist() == ["watch", "none"]


# --------------------------------------------------------------------------- equity


def test_equity_view_without_imd_is_a_note(dataset: Dataset) -> None:
    view = equity_view(dataset, "dementia", "all")
    assert not view.available and view.figure is None and view.sentence == NO_IMD_NOTE
    figure, style, sentence, css = equity_outputs(view)
    assert figure is dash.no_update and style == {"display": "none"} and sentence == NO_IMD_NOTE
    assert "text-muted" in css


def test_equity_view_with_imd_charts_access_by_tenth(with_imd: Dataset) -> None:
    view = equity_view(with_imd, "dementia", "all")
    assert view.available and view.figure is not None
    bars = view.figure.data[0]
    # One area per tenth: each bar is that area's own access per 10,000 in need.
    table = with_imd.table("area")
    dementia = table[(table["category"] == "dementia") & (table["community"] == "all")].set_index("area_id")
    expected = [float(dementia.loc[a, "access_per_10k"]) for a in ("A", "B", "C")]
    assert np.allclose(list(bars.y), expected, atol=0.005)  # the published table holds 2 decimals
    assert list(bars.x)[0].startswith("1") and list(bars.x)[-1].startswith("10")
    assert list(view.figure.layout.xaxis.ticktext) == ["1", "5", "10"]  # flat numbers in the narrow column
    # The most deprived tenth (A, 34.4) has more than the least deprived (C, 10.8).
    assert view.sentence.startswith("People in the most deprived tenth have") and " more " in view.sentence
    figure, style, sentence, _ = equity_outputs(view)
    assert figure is view.figure and style == {} and sentence == view.sentence
    nothing = equity_view(with_imd, "befriending", "all")
    assert nothing.figure is None and "cannot be compared" in nothing.sentence
    figure, style, sentence, _ = equity_outputs(nothing)
    assert figure is dash.no_update and style == {"display": "none"} and sentence == nothing.sentence


def test_equity_callback_follows_the_data_served(dash_app: dash.Dash, with_imd: Dataset, tmp_path: Path) -> None:
    with serving(dash_app, with_imd, Settings(data_dir=tmp_path)), dash_app.server.test_request_context():
        figure, style, sentence, _ = details.show_equity("dementia", "all", None)
    assert figure.data[0].type == "bar" and style == {} and sentence == with_imd.equity("dementia", "all").sentence
    plain = Dataset.from_inputs(handbuilt.inputs(), label="Plain")
    with serving(dash_app, plain, Settings(data_dir=tmp_path)), dash_app.server.test_request_context():
        figure, style, sentence, _ = details.show_equity("dementia", "all", None)
    assert figure is dash.no_update and style == {"display": "none"} and sentence == NO_IMD_NOTE


# --------------------------------------------------------------------------- [method] settings


def test_method_table_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "dashboard.toml"
    config.write_text(
        "[method]\ncatchment_km = 2.5\ncatchment_minutes = 20\nsevere_below = 0.4\nmoderate_below = 0.9\n"
        "fdr = 0.1\npermutations = 199\nseed = 7\n",
        encoding="utf-8",
    )
    method = read_config(config)["method"]
    assert method == GapMethod(catchment_km=2.5, catchment_minutes=20.0, permutations=199, seed=7,
                               thresholds=TierThresholds(severe_below=0.4, moderate_below=0.9, q=0.1))  # fmt: skip
    assert Settings().method == DEFAULT_METHOD
    partial = tmp_path / "partial.toml"
    partial.write_text("[method]\nfdr = 0.01\n", encoding="utf-8")
    assert read_config(partial)["method"] == dataclasses.replace(DEFAULT_METHOD, thresholds=TierThresholds(q=0.01))


def test_method_errors_are_collected_and_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[method]\ncatchment_km = -1\nfdr = 1.5\npermutations = 5\nseed = "x"\nsevere_below = 0.9\n'
        "moderate_below = 0.6\nradius = 3\n",
        encoding="utf-8",
    )
    with pytest.raises(CoverageMapError) as raised:
        read_config(config)
    message = str(raised.value)
    assert message.startswith(f"{config}: [method]: ")
    for part in ("unknown key 'radius'", "catchment_km must be a positive number, not -1",
                 "fdr must be a number between 0 and 1, not 1.5", "permutations must be a whole number from 99",
                 "seed must be a whole number", "severe_below (0.9) must not be above moderate_below (0.6)"):  # fmt: skip
        assert part in message
    with pytest.raises(CoverageMapError, match="catchment_minutes must be a positive number, not True"):
        method_from_mapping({"catchment_minutes": True})


def _serve_args(**flags: object) -> argparse.Namespace:
    from coverage_map.cli import build_parser

    argv = ["serve"]
    for flag, value in flags.items():
        argv += ["--" + flag.replace("_", "-"), str(value)]
    return build_parser().parse_args(argv)


def test_serve_flags_give_the_method_and_win_over_the_config(tmp_path: Path) -> None:
    assert settings_from_args(_serve_args(), environ={}).method == DEFAULT_METHOD
    settings = settings_from_args(_serve_args(catchment_km=2, fdr=0.1), environ={})
    assert settings.method.catchment_km == 2.0 and settings.method.thresholds.q == 0.1
    config = tmp_path / "dashboard.toml"
    config.write_text("[method]\ncatchment_km = 5\nseed = 9\n", encoding="utf-8")
    settings = settings_from_args(_serve_args(config=config, catchment_km=4), environ={})
    assert settings.method.catchment_km == 4.0 and settings.method.seed == 9
    # A flag given at its default value still wins over the config (flags default to "not given").
    settings = settings_from_args(_serve_args(config=config, catchment_km=3), environ={})
    assert settings.method.catchment_km == 3.0 and settings.method.seed == 9
    with pytest.raises(CoverageMapError, match="--severe-below .* must not be above --moderate-below"):
        settings_from_args(_serve_args(severe_below=0.9, moderate_below=0.7), environ={})


def test_the_loaded_dataset_uses_the_method() -> None:
    method = dataclasses.replace(DEFAULT_METHOD, catchment_km=2.0)
    assert Settings(method=method).load_dataset().method == method
