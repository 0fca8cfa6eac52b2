"""The area-details panel: population, provision against the city, services, gap reasons, trend."""

from __future__ import annotations

from dash import Input, Output, callback

from .context import services
from .layout import render_details
from .state import CONTROL_IDS, ViewState
from .views import area_details


@callback(
    Output("area-details", "children"),
    Input(CONTROL_IDS["area"], "data"),
    Input(CONTROL_IDS["level"], "value"),
    Input(CONTROL_IDS["category"], "value"),
    Input(CONTROL_IDS["community"], "value"),
    Input(CONTROL_IDS["metric"], "value"),
    Input("data-token", "data"),
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
