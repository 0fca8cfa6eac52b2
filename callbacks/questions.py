"""Questions first: the commissioner's questions beside the map, each setting the view that answers it,
and the answer (one sentence, a short ranked list) beside the map.

The questions and their answers are :mod:`coverage_map.questions`; asking one writes the
question's view to the URL (:func:`callbacks.state.question_state`), so the controls follow
it as they follow any link, and the link keeps the question. A question added to
:data:`coverage_map.questions.QUESTIONS` (the coming "Where would a new service help
most?") gets its button and answer here with no change.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ALL as EVERY
from dash import Input, Output, State, callback, html, no_update
from dash.development.base_component import Component

from coverage_map.questions import BY_KEY, QUESTIONS, Answer, question_view

from . import ids
from .context import Services, services, triggered_ids
from .explain import tier_colour
from .state import Choices, parse_query, question_of, question_state, to_query

_HIDDEN = "question-answer d-none"
#: A question's button (plain HTML, which takes ``aria-pressed``; dbc.Button does not), and pressed.
_BUTTON = "btn btn-outline-primary btn-sm question-button text-start"
_PRESSED = _BUTTON + " active"
_SHOWN = "question-answer"
#: ``aria-live`` and ``aria-pressed`` are wildcard properties Dash's typed keyword arguments do not list.
_LIVE: dict[str, Any] = {"aria-live": "polite"}
_NOT_PRESSED: dict[str, Any] = {"aria-pressed": "false"}
_LABELLED: dict[str, Any] = {"aria-labelledby": "questions-heading"}
_DECORATIVE: dict[str, Any] = {"aria-hidden": "true"}


# --------------------------------------------------------------------------- layout


def questions_section() -> html.Section:
    """The questions as buttons, one under the other, at the top of the controls column."""
    buttons = [
        html.Button(question.text, id=ids.question_button(question.key), className=_BUTTON, n_clicks=0,
                    type="button", **_NOT_PRESSED)
        for question in QUESTIONS
    ]  # fmt: skip
    return html.Section(
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2("Questions", className="h6 mb-1", id="questions-heading"),
                    html.P(
                        "Pick one: the map, the table and the answer beside the map follow it.", className="small mb-2"
                    ),  # fmt: skip
                    html.Div(buttons, className="d-grid gap-2"),
                ]
            )
        ),
        id=ids.QUESTIONS,
        className="questions mb-3",
        **_LABELLED,
    )


def answer_card() -> dbc.Card:
    """The answer beside the map (hidden until a question is asked)."""
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Answer", className="h6 mb-0")),
            dbc.CardBody(
                [
                    html.Div(id=ids.QUESTION_SENTENCE, **_LIVE),
                    # always in the page (not drawn with the answer), so its callback's input always exists
                    dbc.Button(
                        "Clear the question",
                        id=ids.QUESTION_CLEAR,
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    ),
                ],
                className="py-2",
            ),
        ],
        id=ids.QUESTION_ANSWER,
        className=_HIDDEN,
    )


def render_answer(text: str, found: Answer | None, *, needs: str = "") -> list[Component]:
    """The answer: the question, its sentence and the ranked list (units are buttons that select the unit)."""
    children: list[Component] = [html.P(html.Strong(text), className="small mb-1")]
    if found is None:
        reason = f" It needs {needs}." if needs else ""
        children.append(html.P(f"This data set cannot answer this question.{reason}", className="small mb-2"))
    else:
        children.append(html.P(found.sentence, className="small mb-2 question-sentence"))
        if found.items:
            children.append(_ranked_list(found))
    return children


def _ranked_list(found: Answer) -> Component:
    heading = "Worst first (select one to see it on the map):" if found.kind == "units" else "Worst first:"
    items = []
    for item in found.items:
        where = f" ({item.borough})" if item.borough else ""
        if found.kind == "units":
            body: Component = html.Button(
                [html.Span(className="tier-swatch", style={"backgroundColor": tier_colour(item.tier)},
                           **_DECORATIVE),
                 html.Span([html.Strong(item.name + where), html.Br(), html.Span(item.detail)])],
                id=ids.answer_item(item.item_id), className="answer-item btn btn-link btn-sm text-start p-0", n_clicks=0,
            )  # fmt: skip
        else:
            body = html.Span([html.Strong(item.name + where), html.Br(), html.Span(item.detail)])
        items.append(html.Li(body, className="mb-1"))
    more = found.total - len(found.items) if found.kind == "units" else 0
    children: list[Component] = [html.P(heading, className="small mb-1"),
                                 html.Ol(items, className="small ps-3 mb-2 answer-list")]  # fmt: skip
    if more > 0:
        children.append(html.P(f"{more:,} more in the table under the map.", className="small mb-2"))
    return html.Div(children)


# --------------------------------------------------------------------------- callbacks


def fired_ids() -> set[str]:
    """:func:`callbacks.context.triggered_ids` with pattern-matching ids as ``"type:value"``
    (``{"type": "question-button", "key": "dementia"}`` -> ``"question-button:dementia"``)."""
    fired = set()
    for name in triggered_ids():
        if name.startswith("{"):
            component = json.loads(name)
            value = component.get("key", component.get("area"))
            fired.add(f"{component['type']}:{value}")
        else:
            fired.add(name)
    return fired


@callback(
    Output(ids.URL_REQUEST, "data"),
    Input(ids.question_button(EVERY), "n_clicks"),  # type: ignore[arg-type]
    Input(ids.QUESTION_CLEAR, "n_clicks"),
    State(ids.URL, "search"),
    State(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def ask(clicks: list[int | None], cleared: int | None, search: str | None, token: str | None) -> object:
    """Asking a question puts its view in the URL; clearing it takes the question out (the view stays). The
    URL goes through :data:`callbacks.ids.URL_REQUEST`, so the controls follow it as they follow the browser's."""
    return ask_outputs(services(), fired_ids(), search, token)


def ask_outputs(app: Services, fired: Collection[str], search: str | None, token: str | None) -> object:
    """What :func:`ask` returns after ``fired`` (a question's button, as ``"question-button:key"``, or the
    clear button): the URL of the question's view, or of the same view without a question."""
    dataset = app.registry.get(token).dataset
    choices = Choices.of(dataset)
    current = parse_query(search, choices)
    if ids.QUESTION_CLEAR in fired:
        return to_query(replace(current, question=None))
    for component in fired:
        key = component.split(":", 1)[1] if component.startswith(ids.QUESTION_BUTTON + ":") else None
        if key in BY_KEY:
            view = question_view(dataset, key)
            if view is None:  # the data cannot answer it: keep the view, say why beside the map
                return to_query(replace(current, question=key))
            return to_query(question_state(current, key, view))
    return no_update


@callback(
    Output(ids.QUESTION_SENTENCE, "children"),
    Output(ids.QUESTION_ANSWER, "className"),
    Output(ids.question_button(EVERY), "className"),  # type: ignore[arg-type]
    Output(ids.question_button(EVERY), "aria-pressed"),  # type: ignore[arg-type]
    Input(ids.QUESTION_KEY, "data"),
    Input(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def show_answer(key: str | None, token: str | None) -> tuple[object, ...]:
    """The answer to the question in the URL beside the map, and which question button is pressed.

    ``key`` is the URL's question as the gate :data:`callbacks.ids.QUESTION_KEY` copies it
    (:mod:`callbacks.gates`): only when the question changes, not whenever the URL does.
    """
    return answer_outputs(services(), f"?{urlencode({'question': key})}" if key else None, token)


def answer_outputs(app: Services, search: str | None, token: str | None) -> tuple[object, ...]:
    """What :func:`show_answer` returns for the URL ``search`` on the session's data set."""
    key = question_of(search)
    classes = [_PRESSED if question.key == key else _BUTTON for question in QUESTIONS]
    flags = ["true" if question.key == key else "false" for question in QUESTIONS]
    if key is None:
        return [], _HIDDEN, classes, flags
    question = BY_KEY[key]
    dataset = app.registry.get(token).dataset
    view = question.view(dataset)
    found = None if view is None else question.answer(dataset, view)
    return render_answer(question.text, found, needs=question.needs), _SHOWN, classes, flags


@callback(
    Output(ids.SELECTED_AREA, "data", allow_duplicate=True),
    Input({"type": ids.ANSWER_ITEM, "area": EVERY}, "n_clicks"),
    prevent_initial_call=True,
)
def select_from_answer(clicks: list[int | None]) -> object:
    """Clicking a unit of the answer's list selects it (the map outlines it and the details show it)."""
    return selected_item(fired_ids(), clicks)


def selected_item(fired: Collection[str], clicks: list[int | None]) -> object:
    """The unit ``fired`` names (``"answer-item:<id>"``), once it has really been clicked."""
    if not any(clicks or []):  # the list was just drawn: nothing clicked yet
        return no_update
    for component in fired:
        if component.startswith(ids.ANSWER_ITEM + ":"):
            return component.split(":", 1)[1]
    return no_update
