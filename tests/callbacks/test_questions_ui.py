"""The questions in the dashboard: asking one sets the view through the URL; the answer beside the map."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import dash
import handbuilt
import pytest
from dashapp import serving

from callbacks import questions as ui
from callbacks.context import EXTENSION, Services
from callbacks.layout import build_layout
from callbacks.settings import Settings
from callbacks.state import Choices, ViewState, parse_query, question_of, sync_url, to_query
from coverage_map.dataset import Dataset
from coverage_map.questions import QUESTIONS


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)


@pytest.fixture(scope="module")
def services(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"))
    with serving(dash_app, dataset, settings):
        yield dash_app.server.extensions[EXTENSION]


@pytest.fixture(scope="module")
def choices(dataset: Dataset) -> Choices:
    return Choices.of(dataset)


def test_the_url_keeps_the_question(choices: Choices) -> None:
    state = ViewState(level="neighbourhood", category="dementia", gaps_only=True, question="dementia")
    query = to_query(state)
    assert query.endswith("&question=dementia")
    assert parse_query(query, choices) == state
    assert parse_query("?question=nonsense", choices).question is None
    assert question_of(query) == "dementia" and question_of("?level=area") is None


def test_changing_the_need_drops_the_question_other_controls_keep_it(choices: Choices) -> None:
    asked = "?level=neighbourhood&category=dementia&community=all&question=dementia"
    controls_now = ViewState(level="neighbourhood", category="carers_support")
    decision = sync_url(["category-select"], asked, controls_now, choices)
    assert decision.search is not None and "question" not in decision.search
    kept = sync_url(["metric-select"], asked, ViewState(level="neighbourhood", category="dementia"), choices)
    assert kept.search is not None and kept.search.endswith("question=dementia")
    clicked = sync_url(["selected-area"], asked, ViewState(level="neighbourhood", category="dementia", area="N1"),
                       choices)  # fmt: skip
    assert clicked.search is not None and "question=dementia" in clicked.search


def test_asking_sets_the_questions_view(services: Services, choices: Choices) -> None:
    search = "?level=area&category=housing&community=bame&metric=nearest_km&borough=B1&scheme=natural_breaks&area=C"
    out = ui.ask_outputs(services, {"question-button:dementia"}, search, None)
    state = parse_query(out, choices)  # type: ignore[arg-type]
    assert state == ViewState(level="neighbourhood", category="dementia", community="all", metric="tier",
                              borough="all", scheme="natural_breaks", gaps_only=True, question="dementia")  # fmt: skip
    cleared = ui.ask_outputs(services, {"question-clear"}, out, None)  # type: ignore[arg-type]
    assert parse_query(cleared, choices) == dataclasses.replace(state, question=None)  # type: ignore[arg-type]
    assert ui.ask_outputs(services, set(), search, None) is dash.no_update


def test_a_question_the_data_cannot_answer_says_why(
    dash_app: dash.Dash, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # without a population file there is no BAME population to compare provision with
    bare = Dataset.from_inputs(handbuilt.inputs(with_population=False), label="Bare", synthetic=True)
    with serving(dash_app, bare, Settings(data_dir=tmp_path_factory.mktemp("bare"))) as services:
        out = ui.ask_outputs(services, {"question-button:bame"}, "?level=area&category=housing", None)
        assert "question=bame" in out and "category=housing" in out  # type: ignore[operator]
        children, css, classes, pressed = ui.answer_outputs(services, out, None)  # type: ignore[arg-type]
    text = str(children)
    assert "cannot answer" in text and "pop_bame" in text
    assert "d-none" not in css
    assert pressed == ["true" if q.key == "bame" else "false" for q in QUESTIONS]
    assert [("active" in c) for c in classes] == [q.key == "bame" for q in QUESTIONS]


def test_answer_beside_the_map(services: Services, dataset: Dataset) -> None:
    children, css, classes, pressed = ui.answer_outputs(services, "?question=dementia", None)
    assert css == "question-answer"
    sentence = str(children[1].children)
    rows = dataset.rows("neighbourhood", "dementia", "all")
    assert (
        sentence.startswith(f"{int((rows['tier'] == 'severe').sum())} of {len(rows)}")
        or "None of" in sentence
        or "No neighbourhood" in sentence
    )
    hidden = ui.answer_outputs(services, "?level=area", None)
    assert hidden[0] == [] and "d-none" in hidden[1] and set(hidden[3]) == {"false"}


def test_clicking_a_unit_of_the_answer_selects_it() -> None:
    assert ui.selected_item({"answer-item:N1"}, [0, 1]) == "N1"
    assert ui.selected_item({"answer-item:N1"}, [0, 0]) is dash.no_update  # the list was just drawn


def test_layout_has_the_questions_and_the_answer(dataset: Dataset) -> None:
    page = build_layout(dataset, Settings())
    found = {}

    def walk(component: object) -> None:
        component_id = getattr(component, "id", None)
        if component_id is not None:
            found[str(component_id)] = component
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(page)
    assert "questions" in found and "question-answer" in found
    buttons = [c for key, c in found.items() if "question-button" in key]
    assert [b.children for b in buttons] == [q.text for q in QUESTIONS]
