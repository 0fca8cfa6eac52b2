"""The details column: the selected unit (tier, access, how sure, reasons, services, trend) and
access by deprivation for the need (with IMD)."""

from __future__ import annotations

from collections.abc import Collection

from dash import Input, Output, callback, no_update

from . import ids
from .context import Services, services
from .layout import equity_outputs, render_details
from .state import ALL, ViewState
from .views import area_details


@callback(Output(ids.AREA_DETAILS, "children"), Input(ids.DETAILS_VIEW, "data"), prevent_initial_call=True)
def show_details(view: dict[str, str | None] | None) -> object:
    """Fill the details panel for the selected unit, or the hint once the selection is cleared.

    The gate :data:`callbacks.ids.DETAILS_VIEW` (:mod:`callbacks.gates`) fills ``view`` only when
    a unit is selected or was until now, so a change of need with nothing selected costs no request.
    """
    if not view:
        return no_update
    return details_outputs(services(), {ids.SELECTED_AREA}, view.get("area"), str(view.get("level")),
                           str(view.get("category")), str(view.get("community") or ALL), str(view.get("metric")),
                           view.get("token"), view.get("whatif"))  # fmt: skip


def details_outputs(
    app: Services, fired: Collection[str], area: str | None, level: str, category: str, community: str, metric: str,
    token: str | None, whatif: str | None = None,
) -> object:  # fmt: skip
    """What :func:`show_details` returns after ``fired`` changed.

    With no unit selected the panel already shows the hint, so a change of need, community or
    measure leaves it alone (``no_update``) instead of drawing the same hint again. (Empty
    ``fired``: page load, or a call outside Dash; the panel is drawn.)
    """
    if not area and fired and not set(fired) & {ids.SELECTED_AREA, ids.DATA_TOKEN}:
        return no_update
    loaded = app.registry.get(token, whatif)
    if not area or level not in loaded.dataset.levels:
        return render_details(None)
    state = ViewState(level=level, category=category, community=community or "all", metric=metric, area=area)
    return render_details(area_details(app.registry, loaded, state, area))


@callback(
    Output(ids.EQUITY_GRAPH, "figure"),
    Output(ids.EQUITY_GRAPH, "style"),
    Output(ids.EQUITY_SENTENCE, "children"),
    Output(ids.EQUITY_SENTENCE, "className"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.WHATIF, "data"),
    Input(ids.MAP_FIRST, "data"),
)
def show_equity(
    category: str, community: str, token: str | None, whatif: str | None = None, _map_first: object = None
) -> tuple[object, ...]:
    """Access by deprivation tenth for the need and community, or a note asking for an IMD file."""
    registry = services().registry
    return equity_outputs(registry.equity_view(registry.get(token, whatif), category, community or ALL))
