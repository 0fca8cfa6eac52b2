"""The map: the whole figure when the geometry changes, a ``Patch`` that recolours it otherwise."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from dash import ClientsideFunction, Input, Output, Patch, State, callback, clientside_callback, no_update

from . import ids
from .context import Services, services, triggered_ids
from .explain import KEY_ORDER, KeyEntry, tier_key
from .layout import render_tier_key, tier_key_counts
from .state import ALL, ViewState, selection_from_event
from .views import (
    FigurePath,
    build_map,
    build_map_dict,
    drawn_level,
    map_click,
    map_notice,
    needs_full_figure,
    recolour_updates,
    tier_summary,
)

MAP_INPUTS = [
    Input(ids.LEVEL, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.METRIC, "value"),
    Input(ids.BOROUGH, "value"),
    Input(ids.SCHEME, "value"),
    Input(ids.SHOW_ASSETS, "value"),
    Input(ids.GAPS_ONLY, "value"),
    Input(ids.SELECTED_AREA, "data"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.WHATIF, "data"),
]
#: Trace indices each kind of change touches (see :mod:`coverage_map.outputs.figures`).
_ONLY_SELECTION = {ids.SELECTED_AREA}
_ONLY_ASSETS = {ids.SHOW_ASSETS}
_HIDDEN = "map-notice d-none"


#: After each new map, the page waits for MapLibre to draw it before asking for the panels that follow the need
#: (``assets/map_order.js``; :data:`callbacks.ids.MAP_FIRST`).
clientside_callback(
    ClientsideFunction("mapOrder", "settled"),
    Output(ids.MAP_FIRST, "data"),
    Input(ids.MAP, "figure"),
    prevent_initial_call=True,
)


def patch_paths(triggered: Collection[str]) -> set[int] | None:
    """Which traces a recolouring patch must update (None = all of them)."""
    fired = set(triggered)
    if fired and fired <= _ONLY_SELECTION:
        return {1}
    if fired and fired <= _ONLY_ASSETS:
        return {2, 3, 4, 5}
    return None


#: Controls whose change rewrites the words around the map (:func:`describe_map`).
_DESCRIBED = {ids.LEVEL, ids.CATEGORY, ids.COMMUNITY, ids.BOROUGH, ids.SHOW_ASSETS, ids.METRIC, ids.DATA_TOKEN,
              ids.WHATIF}  # fmt: skip
#: Controls whose change draws the tier key again (its note on the measure, the meanings of the data set's
#: thresholds); any other change rewrites only its heading and counts (:func:`callbacks.layout.tier_key_counts`).
_KEY_REDRAWN = {ids.METRIC, ids.DATA_TOKEN, ids.WHATIF}
#: The outputs after the figure: the notice, its class, the key, the key's heading, then each tier's count.
WORD_OUTPUTS = (
    Output(ids.MAP_NOTICE, "children"),
    Output(ids.MAP_NOTICE, "className"),
    Output(ids.TIER_KEY, "children"),
    Output(ids.TIER_KEY_HEADING, "children"),
    *[Output(ids.tier_count(tier), "children") for tier in KEY_ORDER],
)


@callback(
    Output(ids.MAP, "figure"),
    *WORD_OUTPUTS,
    *MAP_INPUTS,
    prevent_initial_call=True,
)  # fmt: skip
def draw_map(
    level: str, category: str, community: str, metric: str, borough: str, scheme: str,
    show_assets: bool, gaps_only: bool, area: str | None, token: str | None, whatif: str | None = None,
) -> tuple[object, ...]:  # fmt: skip
    """Draw the map for the controls (geometry once per level and borough, colours by Patch) and the words
    around it (:func:`describe_map`). One callback, so that a change of need is one request and one update of
    the page for the map and its key, not two."""
    return map_and_words(services(), triggered_ids(), level, category, community, metric, borough, scheme,
                         show_assets, gaps_only, area, token, whatif)  # fmt: skip


def map_and_words(
    app: Services, fired: Collection[str], level: str, category: str, community: str, metric: str, borough: str,
    scheme: str, show_assets: bool, gaps_only: bool, area: str | None, token: str | None, whatif: str | None = None,
) -> tuple[object, ...]:  # fmt: skip
    """What :func:`draw_map` returns: the map (:func:`map_outputs`), then the words of :data:`WORD_OUTPUTS`.

    The notice and the key are left as they are when only the selection, classes or switches changed; the
    key is drawn whole on page load and when the measure, data set or scenario changes
    (:func:`describe_map`), and otherwise only its heading and counts are rewritten
    (:func:`callbacks.layout.tier_key_counts`), so a change of need does not rebuild the key's components.
    """
    figure = map_outputs(app, fired, level, category, community, metric, borough, scheme, show_assets, gaps_only,
                         area, token, whatif)  # fmt: skip
    unchanged = [no_update] * (len(WORD_OUTPUTS) - 3)
    changed = set(fired)
    if fired and not changed & _DESCRIBED:
        return figure, no_update, no_update, no_update, *unchanged
    if not fired or changed & _KEY_REDRAWN:
        return (figure, *describe_map(level, category, community, borough, show_assets, metric, token, whatif),
                *unchanged)  # fmt: skip
    notice, css = explain_map(level, category, community, borough, show_assets, token, whatif)
    counts = tier_key_counts(key_entries(app, level, category, community, borough, token, whatif))
    return figure, notice, css, no_update, *counts


def map_outputs(
    app: Services, fired: Collection[str], level: str, category: str, community: str, metric: str, borough: str,
    scheme: str, show_assets: bool, gaps_only: bool, area: str | None, token: str | None, whatif: str | None = None,
) -> object:  # fmt: skip
    """What :func:`draw_map` returns after the components ``fired`` changed (none: page load).

    The whole figure when the geometry changes (:func:`callbacks.views.needs_full_figure`),
    else a :class:`dash.Patch` of the traces the change touches; ``no_update`` while the
    controls name something the data set lacks (the URL callback is about to correct them).
    With a what-if scenario (``whatif``) the map is the scenario's, with its proposed services
    and the units leaving the gap tiers outlined (traces 6-8, present only with a scenario; a change of
    scenario sends the whole figure).
    """
    loaded = app.registry.get(token, whatif)
    state = ViewState(level=level, category=category, community=community or ALL, metric=metric,
                      borough=borough or ALL, scheme=scheme, show_assets=bool(show_assets),
                      gaps_only=bool(gaps_only), area=area or None)  # fmt: skip
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return no_update
    settings = app.settings
    if needs_full_figure(fired):
        return build_map(app.registry, loaded, state, basemap=settings.basemap, max_units=settings.map_max_units,
                         max_assets=settings.map_max_services)  # fmt: skip
    figure = build_map_dict(app.registry, loaded, state, basemap=settings.basemap, geometry=False,
                            max_units=settings.map_max_units, max_assets=settings.map_max_services)  # fmt: skip
    traces = patch_paths(fired)
    patch = Patch()
    for path, value in recolour_updates(figure):
        if path[0] == "data" and traces is not None and path[1] not in traces:
            continue
        if path[0] == "layout" and traces is not None:
            continue
        _set(patch, path, value)
    return patch


def _set(patch: Patch, path: FigurePath, value: object) -> None:
    target = patch
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def describe_map(
    level: str, category: str, community: str, borough: str, show_assets: bool, metric: str, token: str | None,
    whatif: str | None = None,
) -> tuple[object, ...]:  # fmt: skip
    """The words around the map: what it leaves out (:func:`explain_map`) and the key of the tiers
    (:func:`key_outputs`); :func:`draw_map` sends them with the map."""
    notice, css = explain_map(level, category, community, borough, show_assets, token, whatif)
    return notice, css, key_outputs(services(), level, category, community, borough, metric, token, whatif)


def explain_map(
    level: str, category: str, community: str, borough: str, show_assets: bool, token: str | None,
    whatif: str | None = None,
) -> tuple[str, str]:  # fmt: skip
    """Say what the map leaves out at this scale (too many small areas, or services) and how to see it."""
    app = services()
    loaded = app.registry.get(token, whatif)
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return "", _HIDDEN
    state = ViewState(level=level, category=category, community=community or ALL, borough=borough or ALL,
                      show_assets=bool(show_assets))  # fmt: skip
    notice = map_notice(app.registry, loaded, state, max_units=app.settings.map_max_units,
                        max_assets=app.settings.map_max_services)  # fmt: skip
    return (notice, "map-notice") if notice else ("", _HIDDEN)


def key_outputs(
    app: Services, level: str, category: str, community: str, borough: str, metric: str, token: str | None,
    whatif: str | None = None,
) -> object:  # fmt: skip
    """The key of the tiers under the map, with how many units of the map are in each (no counts while the
    controls name something the data set lacks)."""
    return render_tier_key(key_entries(app, level, category, community, borough, token, whatif), metric)


def key_entries(
    app: Services, level: str, category: str, community: str, borough: str, token: str | None,
    whatif: str | None = None,
) -> list[KeyEntry]:  # fmt: skip
    """The tier key's lines for the view: each tier with how many units of the map are in it (no counts while
    the controls name something the data set lacks)."""
    dataset = app.registry.get(token, whatif).dataset
    if level not in dataset.levels or category not in dataset.categories or community not in dataset.communities:
        return tier_key(thresholds=dataset.method.thresholds)
    state = ViewState(level=level, category=category, community=community or ALL, borough=borough or ALL)
    drawn = replace(state, level=drawn_level(dataset, state, max_units=app.settings.map_max_units))
    return tier_key(tier_summary(dataset, drawn), dataset.method.thresholds)


@callback(
    Output(ids.SELECTED_AREA, "data", allow_duplicate=True),
    Output(ids.BOROUGH, "value", allow_duplicate=True),
    Input(ids.MAP, "clickData"),
    Input(ids.GAP_TABLE, "cellClicked"),
    State(ids.LEVEL, "value"),
    State(ids.BOROUGH, "value"),
    State(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def select_area(
    click_data: dict | None, cell: dict | None, level: str | None, borough: str | None, token: str | None
) -> tuple[object, object]:
    """Clicking an area on the map, or a row of the gap table, selects that unit (see :func:`selection_outputs`)."""
    return selection_outputs(services(), triggered_ids(), click_data, cell, level, borough, token)


def selection_outputs(
    app: Services, fired: Collection[str], click_data: dict | None, cell: dict | None, level: str | None = None,
    borough: str | None = None, token: str | None = None,
) -> tuple[object, object]:  # fmt: skip
    """What :func:`select_area` returns after ``fired`` (the map or the gap table) was clicked.

    ``(unit, no_update)`` selects the unit clicked; clicking the coarser map shown instead
    of too many small areas gives ``(no_update, borough)``: it chooses the borough clicked.
    """
    chosen = selection_from_event(fired, click_data, cell)
    if chosen is None:
        return no_update, no_update
    if ids.MAP in fired and level is not None:
        dataset = app.registry.get(token).dataset
        state = ViewState(level=level, category="", borough=borough or ALL)
        if level in dataset.levels:
            action, target = map_click(dataset, state, chosen, max_units=app.settings.map_max_units)
            if action == "borough":
                return no_update, target
    return chosen, no_update
