"""Control options for the current data set, and the URL that mirrors every selection."""

from __future__ import annotations

from collections.abc import Collection

from dash import Input, Output, callback, no_update

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
    Input(ids.URL, "search"),
    *[Input(component, prop) for component, prop in CONTROL_PROPS],
    Input(ids.DATA_TOKEN, "data"),
)
def mirror_url(search: str | None, *values: object) -> tuple[object, ...]:
    """Keep the URL and the controls in step (see :func:`url_outputs`)."""
    return url_outputs(services(), triggered_ids(), search, *values)


def url_outputs(app: Services, fired: Collection[str], search: str | None, *values: object) -> tuple[object, ...]:
    """What :func:`mirror_url` returns after the components ``fired`` changed (none: page load).

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
