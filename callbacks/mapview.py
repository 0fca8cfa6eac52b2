"""The map: the whole figure when the geometry changes, a ``Patch`` that recolours it otherwise."""

from __future__ import annotations

from dash import Input, Output, Patch, State, callback, no_update

from .context import services, triggered_ids
from .state import ALL, CONTROL_IDS, ViewState, selection_from_event
from .views import build_map, map_click, map_notice, needs_full_figure, recolour_updates

MAP_INPUTS = [
    Input(CONTROL_IDS["level"], "value"),
    Input(CONTROL_IDS["category"], "value"),
    Input(CONTROL_IDS["community"], "value"),
    Input(CONTROL_IDS["metric"], "value"),
    Input(CONTROL_IDS["borough"], "value"),
    Input(CONTROL_IDS["scheme"], "value"),
    Input(CONTROL_IDS["show_assets"], "value"),
    Input(CONTROL_IDS["gaps_only"], "value"),
    Input(CONTROL_IDS["area"], "data"),
    Input("data-token", "data"),
]
#: Trace indices each kind of change touches (see :mod:`coverage_map.outputs.figures`).
_ONLY_SELECTION = {CONTROL_IDS["area"]}
_ONLY_ASSETS = {CONTROL_IDS["show_assets"]}


def patch_paths(triggered: set[str]) -> set[int] | None:
    """Which traces a recolouring patch must update (None = all of them)."""
    if triggered and triggered <= _ONLY_SELECTION:
        return {1}
    if triggered and triggered <= _ONLY_ASSETS:
        return {2, 3, 4, 5}
    return None


@callback(Output("map", "figure"), *MAP_INPUTS, prevent_initial_call=True)
def draw_map(
    level: str, category: str, community: str, metric: str, borough: str, scheme: str,
    show_assets: bool, gaps_only: bool, area: str | None, token: str | None,
) -> object:  # fmt: skip
    """Draw the map for the controls: geometry once per level and borough, colours by Patch."""
    app = services()
    loaded = app.registry.get(token)
    state = ViewState(level=level, category=category, community=community or "all", metric=metric,
                      borough=borough or "all", scheme=scheme, show_assets=bool(show_assets),
                      gaps_only=bool(gaps_only), area=area or None)  # fmt: skip
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return no_update  # the URL callback is about to correct the controls
    fired = triggered_ids()
    full = needs_full_figure(fired)
    figure = build_map(app.registry, loaded, state, basemap=app.settings.basemap, geometry=full,
                       max_units=app.settings.map_max_units, max_assets=app.settings.map_max_services)  # fmt: skip
    if full:
        return figure
    traces = patch_paths(fired)
    patch = Patch()
    for path, value in recolour_updates(figure):
        if path[0] == "data" and traces is not None and path[1] not in traces:
            continue
        if path[0] == "layout" and traces is not None:
            continue
        target = patch
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return patch


@callback(
    Output("map-notice", "children"),
    Output("map-notice", "className"),
    *(Input(CONTROL_IDS[name], "value") for name in ("level", "category", "community", "borough", "show_assets")),
    Input("data-token", "data"),
    prevent_initial_call=True,
)
def explain_map(
    level: str, category: str, community: str, borough: str, show_assets: bool, token: str | None
) -> tuple[str, str]:
    """Say what the map leaves out at this scale (too many small areas, or services) and how to see it."""
    app = services()
    loaded = app.registry.get(token)
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return "", "map-notice d-none"
    state = ViewState(level=level, category=category, community=community or ALL, borough=borough or ALL,
                      show_assets=bool(show_assets))  # fmt: skip
    notice = map_notice(app.registry, loaded, state, max_units=app.settings.map_max_units,
                        max_assets=app.settings.map_max_services)  # fmt: skip
    return (notice, "map-notice") if notice else ("", "map-notice d-none")


@callback(
    Output(CONTROL_IDS["area"], "data", allow_duplicate=True),
    Output(CONTROL_IDS["borough"], "value", allow_duplicate=True),
    Input("map", "clickData"),
    Input("gap-table", "cellClicked"),
    State(CONTROL_IDS["level"], "value"),
    State(CONTROL_IDS["borough"], "value"),
    State("data-token", "data"),
    prevent_initial_call=True,
)
def select_area(
    click_data: dict | None, cell: dict | None, level: str | None = None, borough: str | None = None,
    token: str | None = None,
) -> tuple[object, object]:  # fmt: skip
    """Clicking an area on the map, or a row of the gap table, selects that unit; clicking the
    coarser map shown instead of too many small areas chooses the borough clicked."""
    fired = triggered_ids()
    chosen = selection_from_event(fired, click_data, cell)
    if chosen is None:
        return no_update, no_update
    if "map" in fired and level is not None:
        app = services()
        dataset = app.registry.get(token).dataset
        state = ViewState(level=level, category="", borough=borough or ALL)
        if level in dataset.levels:
            action, target = map_click(dataset, state, chosen, max_units=app.settings.map_max_units)
            if action == "borough":
                return no_update, target
    return chosen, no_update
