"""Control options for the current data set, and the URL that mirrors every selection.

The URL and the controls follow each other in two callbacks, one for each direction:

* the controls follow the URL on the server (:func:`follow_url`): on page load, browser back and forward
  (the URL's ``href``, which only the browser changes), a question asked (:data:`callbacks.ids.URL_REQUEST`)
  and a change of data set, where the link must be checked against the data set;
* the URL follows the controls in the browser (``assets/url_sync.js``, the control-change branch of
  :func:`callbacks.state.sync_url`), so that a change of need asks for the map at once instead of waiting
  behind a server round trip that could only rewrite the URL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import urlparse

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from coverage_map.outputs.classes import METRICS

from . import ids, layout
from .context import Services, services, triggered_ids
from .ids import CONTROL_IDS
from .state import Choices, control_values, state_from_controls, sync_url

#: The property holding each control's value, where it is not ``value``.
_PROPERTY = {"area": "data", "tab": "active_tab", "whatif": "data"}
#: (component id, property) of each control, in :data:`callbacks.ids.CONTROL_IDS` order.
CONTROL_PROPS = [(component, _PROPERTY.get(field, "value")) for field, component in CONTROL_IDS.items()]


@callback(
    Output(ids.LEVEL, "options"),
    Output(ids.CATEGORY, "options"),
    Output(ids.COMMUNITY, "options"),
    Output(ids.BOROUGH, "options"),
    Output(ids.SYNTHETIC_BADGE, "style"),
    Output(ids.DATASET_LABEL, "children"),
    Output(ids.ATTRIBUTION, "children"),
    Input(ids.DATA_TOKEN, "data"),
)
def show_choices(token: str | None) -> tuple[object, ...]:
    """Options of the controls for the visitor's data set (the demo, or their upload)."""
    loaded = services().registry.get(token)
    dataset = loaded.dataset
    choices = Choices.of(dataset)
    return (
        layout.level_options(choices),
        layout.category_options(choices),
        layout.community_options(choices),
        layout.borough_options(dataset, choices),
        {} if dataset.synthetic else {"display": "none"},
        dataset.label,
        layout.attribution_text(dataset),
    )


@callback(
    Output(ids.URL, "search"),
    *[Output(component, prop) for component, prop in CONTROL_PROPS],
    Input(ids.URL, "href"),
    Input(ids.URL_REQUEST, "data"),
    Input(ids.DATA_TOKEN, "data"),
    State(ids.URL, "search"),
    *[State(component, prop) for component, prop in CONTROL_PROPS],
)
def follow_url(href: str | None, requested: str | None, token: str | None, search: str | None,
               *controls: object) -> tuple[object, ...]:  # fmt: skip
    """Set the controls from the URL the browser went to, the URL a question asked for, or for another data set
    (see :func:`url_outputs`); the URL itself is canonical afterwards."""
    fired, followed = followed_url(triggered_ids(), href, requested, search)
    outputs = with_canonical_url(url_outputs(services(), fired, followed, *controls, token), followed, search)
    return only_changes(outputs, controls) if fired == {ids.DATA_TOKEN} else outputs


def only_changes(outputs: tuple[object, ...], controls: Sequence[object]) -> tuple[object, ...]:
    """``outputs`` with each control left alone (``no_update``) where it already has that value.

    For a change of data set: the visitor may choose a need from the new data set's list before this answer
    comes back, and re-sending the value the control had when the data set changed would undo that choice.
    """
    kept = [no_update if value == current else value for value, current in zip(outputs[1:], controls, strict=True)]
    return (outputs[0], *kept)


def followed_url(
    fired: Collection[str], href: str | None, requested: str | None, search: str | None
) -> tuple[set[str], str | None]:
    """Which URL :func:`follow_url` follows, and as fired by what (for :func:`callbacks.state.sync_url`):
    the requested one for a question (as if the browser had gone there), the address bar's on page load and
    back or forward, the current one for a change of data set."""
    changed = set(fired)
    if ids.URL_REQUEST in changed:
        changed = (changed - {ids.URL_REQUEST}) | {ids.URL}
        if requested is not None:
            return changed, requested
    if (not changed or ids.URL in changed) and href:
        query = urlparse(href).query
        return changed, f"?{query}" if query else ""
    return changed, search


def with_canonical_url(outputs: tuple[object, ...], followed: str | None, search: str | None) -> tuple[object, ...]:
    """``outputs`` of :func:`url_outputs` for the URL ``followed``, with the URL set to the canonical one unless
    it already reads so (``search``: what the URL reads now, which a question's request does not)."""
    canonical = followed if outputs[0] is no_update else outputs[0]
    return (no_update if canonical == (search or "") else canonical, *outputs[1:])


#: The URL follows the controls in the browser (``assets/url_sync.js``); never on page load (the server
#: has just set the controls from the URL).
clientside_callback(
    ClientsideFunction("urlSync", "fromControls"),
    Output(ids.URL, "search", allow_duplicate=True),
    Output(ids.SELECTED_AREA, "data", allow_duplicate=True),
    *[Input(component, prop) for component, prop in CONTROL_PROPS],
    State(ids.URL, "search"),
    prevent_initial_call=True,
)


def url_outputs(app: Services, fired: Collection[str], search: str | None, *values: object) -> tuple[object, ...]:
    """What the URL callback decides after the components ``fired`` changed (none: page load), following the
    URL ``search`` (:func:`follow_url` follows the address bar, a question's request or, for a change of data
    set, the URL as it is).

    ``values`` are the controls' values in :data:`CONTROL_PROPS` order, then the data token;
    the decision itself is :func:`callbacks.state.sync_url`.
    """
    *controls, token = values
    choices = Choices.of(app.registry.get(token).dataset)
    decision = sync_url(fired, search, state_from_controls(controls), choices)
    search_out = no_update if decision.search is None else decision.search
    if decision.state is None:
        return (search_out, *[no_update] * len(CONTROL_PROPS))
    return (search_out, *control_values(decision.state))


@callback(Output(ids.METRIC_DESCRIPTION, "children"), Input(ids.METRIC, "value"))
def describe_metric(metric: str | None) -> str:
    """The plain-English definition of the chosen measure."""
    info = METRICS.get(metric or "")
    if info is None:
        return ""
    return info.description[:1].upper() + info.description[1:] + "."
