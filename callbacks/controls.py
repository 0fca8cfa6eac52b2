"""Control options for the current data set, and the URL that mirrors every selection."""

from __future__ import annotations

from dash import Input, Output, callback, no_update

from coverage_map.outputs.classes import METRICS

from . import layout
from .context import services, triggered_ids
from .state import CONTROL_IDS, Choices, control_values, state_from_controls, sync_url

#: (component id, property) of each control, in :data:`callbacks.state.CONTROL_IDS` order.
CONTROL_PROPS = [
    (CONTROL_IDS["level"], "value"),
    (CONTROL_IDS["category"], "value"),
    (CONTROL_IDS["community"], "value"),
    (CONTROL_IDS["metric"], "value"),
    (CONTROL_IDS["borough"], "value"),
    (CONTROL_IDS["scheme"], "value"),
    (CONTROL_IDS["show_assets"], "value"),
    (CONTROL_IDS["gaps_only"], "value"),
    (CONTROL_IDS["area"], "data"),
    (CONTROL_IDS["tab"], "active_tab"),
]


@callback(
    Output("level-select", "options"),
    Output("category-select", "options"),
    Output("community-select", "options"),
    Output("borough-select", "options"),
    Output("synthetic-badge", "style"),
    Output("dataset-label", "children"),
    Output("attribution", "children"),
    Input("data-token", "data"),
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
    Output("url", "search"),
    *[Output(component, prop) for component, prop in CONTROL_PROPS],
    Input("url", "search"),
    *[Input(component, prop) for component, prop in CONTROL_PROPS],
    Input("data-token", "data"),
)
def mirror_url(search: str | None, *values: object) -> tuple[object, ...]:
    """Keep the URL and the controls in step (see :func:`callbacks.state.sync_url`)."""
    *controls, token = values
    choices = Choices.of(services().registry.get(token).dataset)
    decision = sync_url(triggered_ids(), search, state_from_controls(controls), choices)
    search_out = no_update if decision.search is None else decision.search
    if decision.state is None:
        return (search_out, *[no_update] * len(CONTROL_PROPS))
    return (search_out, *control_values(decision.state))


@callback(Output("metric-description", "children"), Input("metric-select", "value"))
def describe_metric(metric: str | None) -> str:
    """The plain-English definition of the chosen measure."""
    info = METRICS.get(metric or "")
    if info is None:
        return ""
    return info.description[:1].upper() + info.description[1:] + "."
