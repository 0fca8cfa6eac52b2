"""The gap table (ranked, sortable, filterable, downloadable) and the organisations table."""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc

from coverage_map.taxonomy import display_name

from .context import services
from .state import ALL, CONTROL_IDS, ViewState
from .views import gap_rows, organisation_rows, table_csv

_VIEW = [
    CONTROL_IDS["level"], CONTROL_IDS["category"], CONTROL_IDS["community"], CONTROL_IDS["borough"],
]  # fmt: skip


def _state(level: str, category: str, community: str, borough: str) -> ViewState:
    return ViewState(level=level, category=category, community=community or ALL, borough=borough or ALL)


@callback(
    Output("gap-table", "rowData"),
    Output("gap-summary", "children"),
    *[Input(component, "value") for component in _VIEW],
    Input("data-token", "data"),
    prevent_initial_call=True,
)
def fill_gap_table(level: str, category: str, community: str, borough: str, token: str | None) -> tuple[object, ...]:
    """The view's gaps, worst first."""
    loaded = services().registry.get(token)
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return [], ""
    state = _state(level, category, community, borough)
    rows = gap_rows(loaded.dataset, state)
    who = "everyone" if state.community == ALL else display_name(state.community)
    summary = (
        f"{len(rows):,} gap{'' if len(rows) == 1 else 's'} in {display_name(category).lower()} provision for {who}, worst first. "
        "Click a row to show it on the map."
    )
    return rows, summary


@callback(
    Output("gap-table-download", "data"),
    Input("download-table-button", "n_clicks"),
    *[State(component, "value") for component in _VIEW],
    State("data-token", "data"),
    prevent_initial_call=True,
)
def download_gap_table(
    clicks: int | None, level: str, category: str, community: str, borough: str, token: str | None
) -> dict[str, object]:
    """The published table of the view as CSV (suppressed counts, formulas neutralised)."""
    loaded = services().registry.get(token)
    name, content = table_csv(loaded.dataset, _state(level, category, community, borough))
    return dcc.send_bytes(content, name, type="text/csv")


@callback(
    Output("org-table", "rowData"),
    Output("org-summary", "children"),
    Input(CONTROL_IDS["borough"], "value"),
    Input("data-token", "data"),
    prevent_initial_call=True,
)
def fill_organisations(borough: str, token: str | None) -> tuple[object, ...]:
    """Organisations by pressure, in the chosen borough."""
    loaded = services().registry.get(token)
    state = ViewState(level=loaded.dataset.levels[0], category=loaded.dataset.categories[0], borough=borough or ALL)
    rows = organisation_rows(loaded.dataset, state)
    over = sum(1 for row in rows if row["over_capacity"])
    summary = f"{over:,} of {len(rows):,} organisations shown are over capacity."
    if any(row["verified"] for row in rows):  # the directory records when entries were verified
        stale = sum(1 for row in rows if row["stale"])
        summary += f" {stale:,} were last verified over 12 months ago (or never): check them before trusting a gap."
    return rows, summary
