"""The area-details panel: population, provision against the city, services, gap reasons, trend."""

from __future__ import annotations

from dash import Input, Output, callback

from . import ids
from .context import services
from .layout import render_details
from .state import ViewState
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
