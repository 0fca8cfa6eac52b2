"""The gap table (ranked, sortable, filterable, downloadable) and the organisations table."""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc

from coverage_map.gaps import TIER_LABELS
from coverage_map.taxonomy import display_name
from coverage_map.tiers import TIERS

from . import ids
from .context import services
from .state import ALL, LEVEL_NAMES, ViewState
from .views import gap_table, organisation_table, table_csv, tier_summary

_VIEW = [ids.LEVEL, ids.CATEGORY, ids.COMMUNITY, ids.BOROUGH]


def _state(level: str, category: str, community: str, borough: str) -> ViewState:
    return ViewState(level=level, category=category, community=community or ALL, borough=borough or ALL)


@callback(
    Output(ids.GAP_TABLE, "rowData"),
    Output(ids.GAP_SUMMARY, "children"),
    *[Input(component, "value") for component in _VIEW],
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.GAP_TABLE_ALL, "value"),
    Input(ids.WHATIF, "data"),
    Input(ids.MAP_FIRST, "data"),
    prevent_initial_call=True,
)
def fill_gap_table(
    level: str,
    category: str,
    community: str,
    borough: str,
    token: str | None,
    every: bool | None = False,
    whatif: str | None = None,
    _map_first: object = None,
) -> tuple[object, ...]:
    """The view's gaps, worst first (the worst ``table_max_rows`` of them when there are more); with
    ``every`` ("List every area"), every unit of the view in the same order, each with its tier; with a
    what-if scenario, after adding its proposed services."""
    app = services()
    loaded = app.registry.get(token, whatif)
    if level not in loaded.dataset.levels or category not in loaded.dataset.categories:
        return [], ""
    state = _state(level, category, community, borough)
    rows, total = gap_table(loaded.dataset, state, limit=app.settings.table_max_rows, every=bool(every))
    tiers = tier_summary(loaded.dataset, state)
    summary = every_summary(state, tiers) if every else gap_summary(state, total, tiers)
    if len(rows) < total:
        summary += (f" Only the {len(rows):,} worst are listed: choose a borough to see its own, or download the "
                    "table for every unit.")  # fmt: skip
    return rows, summary


def gap_summary(state: ViewState, total: int, tiers: dict[str, int]) -> str:
    """The line over the gap table: how many gaps of each tier, the order, and the units to watch."""
    what = _provision(state)
    if tiers.get("no_data", 0) and tiers.get("no_data", 0) == sum(tiers.values()):
        return f"No {what} is listed in the directory, so no gaps can be judged."
    split = f" ({tiers.get('severe', 0):,} severe, {tiers.get('moderate', 0):,} moderate)" if total else ""
    summary = f"{total:,} gap{'' if total == 1 else 's'} in {what}{split}"
    summary += ", worst first: by severity, then by unmet need." if total else "."
    watch = tiers.get("watch", 0)
    if watch:
        summary += f" {watch:,} more to watch (see the map, or list every area)."
    return summary + (f" {_SELECT_HINT}" if total else "")


def every_summary(state: ViewState, tiers: dict[str, int]) -> str:
    """The line over the table when it lists every unit: how many in each tier (named as in the table's
    Severity column), and the order."""
    units = sum(tiers.values())
    if not units:
        return f"No {_units(state)} to list."
    counts = ", ".join(f"{TIER_LABELS[tier]} {tiers[tier]:,}" for tier in TIERS if tiers.get(tier))
    return (f"{units:,} {_units(state)} for {_provision(state)}, by tier: {counts}. Worst first: by severity, "
            f"then by unmet need. {_SELECT_HINT}")  # fmt: skip


_SELECT_HINT = "Click a row, or press Enter on one, to show it on the map."


def _provision(state: ViewState) -> str:
    who = "everyone" if state.community == ALL else display_name(state.community)
    return f"{display_name(state.category).lower()} provision for {who}"


def _units(state: ViewState) -> str:
    return LEVEL_NAMES.get(state.level, state.level).lower() + "s"


@callback(
    Output(ids.GAP_TABLE_DOWNLOAD, "data"),
    Input(ids.DOWNLOAD_TABLE_BUTTON, "n_clicks"),
    *[State(component, "value") for component in _VIEW],
    State(ids.DATA_TOKEN, "data"),
    State(ids.WHATIF, "data"),
    prevent_initial_call=True,
)
def download_gap_table(
    clicks: int | None, level: str, category: str, community: str, borough: str, token: str | None,
    whatif: str | None = None,
) -> dict[str, object]:  # fmt: skip
    """The published table of the view as CSV (suppressed counts, formulas neutralised)."""
    loaded = services().registry.get(token, whatif)
    name, content = table_csv(loaded.dataset, _state(level, category, community, borough))
    return dcc.send_bytes(content, name, type="text/csv")


@callback(
    Output(ids.ORG_TABLE, "rowData"),
    Output(ids.ORG_SUMMARY, "children"),
    Input(ids.BOROUGH, "value"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.WHATIF, "data"),
    prevent_initial_call=True,
)
def fill_organisations(borough: str, token: str | None, whatif: str | None = None) -> tuple[object, ...]:
    """Organisations by pressure, in the chosen borough (the most pressed ``table_max_rows`` when more);
    a what-if scenario's proposed services are listed as "Proposed: name"."""
    app = services()
    loaded = app.registry.get(token, whatif)
    state = ViewState(level=loaded.dataset.levels[0], category=loaded.dataset.categories[0], borough=borough or ALL)
    rows, counts = organisation_table(loaded.dataset, state, limit=app.settings.table_max_rows)
    summary = f"{counts.over_capacity:,} of {counts.total:,} organisations are over capacity."
    if counts.stale is not None:  # the directory records when entries were verified
        summary += (f" {counts.stale:,} were last verified over 12 months ago (or never): check them before "
                    "trusting a gap.")  # fmt: skip
    if len(rows) < counts.total:
        summary += f" The {len(rows):,} under most pressure are listed: choose a borough to see its own."
    return rows, summary
