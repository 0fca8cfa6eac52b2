"""The details column: the selected unit (tier, access, how sure, reasons, services, trend) and
access by deprivation for the need (with IMD)."""

from __future__ import annotations

from dash import Input, Output, callback

from . import ids
from .context import services
from .layout import render_details, render_equity
from .state import ALL, ViewState
from .views import area_details


@callback(
    Output(ids.AREA_DETAILS, "children"),
    Input(ids.SELECTED_AREA, "data"),
    Input(ids.LEVEL, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.METRIC, "value"),
    Input(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def show_details(
    area: str | None, level: str, category: str, community: str, metric: str, token: str | None
) -> list[object]:
    """Fill the details panel for the selected unit (or the hint when none is selected)."""
    app = services()
    loaded = app.registry.get(token)
    if not area or level not in loaded.dataset.levels:
        return render_details(None)
    state = ViewState(level=level, category=category, community=community or "all", metric=metric, area=area)
    return render_details(area_details(app.registry, loaded, state, area))


@callback(
    Output(ids.EQUITY, "children"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.DATA_TOKEN, "data"),
)
def show_equity(category: str, community: str, token: str | None) -> list[object]:
    """Access by deprivation tenth for the need and community, or a note asking for an IMD file."""
    registry = services().registry
    return render_equity(registry.equity_view(registry.get(token), category, community or ALL))
