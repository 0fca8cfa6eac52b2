"""The "Download map" button: the current view as a print-ready PNG, SVG or PDF.

A thin adapter: the controls' values become one :class:`~coverage_map.outputs.export_map.MapRequest`
(a pure helper, tested without Dash), and :func:`render_download` draws it with the same
figure code as the dashboard map.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.outputs.export_map import MapRequest, export_map

from . import ids
from .context import services
from .job_view import job_panel
from .jobs import Job, JobKind, background_options, register, start

FORMATS = {"png": "PNG (300 dpi)", "svg": "SVG (editable)", "pdf": "PDF (A4)"}
ALL = "all"


def download_components() -> html.Div:
    """The format picker, the button, and the download target (put in ``download-map-slot``)."""
    return html.Div(
        [
            # The picker's name for screen readers (WCAG 4.1.2); the button beside it says what it is for.
            dbc.Label("Map file format", html_for=ids.DOWNLOAD_MAP_FORMAT, className="visually-hidden"),
            dbc.InputGroup(
                [
                    dbc.Select(
                        id=ids.DOWNLOAD_MAP_FORMAT,
                        options=[{"label": label, "value": key} for key, label in FORMATS.items()],
                        value="png",
                        size="sm",
                        style={"maxWidth": "9.5rem"},
                    ),
                    dbc.Button("Download map", id=ids.DOWNLOAD_MAP_BUTTON, color="secondary", size="sm", outline=True),
                ],
                size="sm",
            ),
            job_panel(ids.MAP_JOB),  # the drawing's progress bar and Cancel, while it runs
            dcc.Download(id=ids.DOWNLOAD_MAP),
            html.Div(id=ids.DOWNLOAD_MAP_ERROR, className="small text-danger"),
        ],
        className="download-map",
    )


def map_request(
    *,
    level: str,
    category: str,
    community: str | None,
    metric: str,
    borough: str | None,
    scheme: str | None = None,
    show_assets: bool | None = True,
    gaps_only: bool | None = False,
) -> MapRequest:
    """The export request matching the dashboard's controls (borough ``all`` = the whole region)."""
    return MapRequest(
        category=category,
        community=community or ALL,
        metric=metric,
        level=level,
        borough=None if not borough or borough == ALL else borough,
        scheme=scheme or "quantiles",
        show_assets=bool(show_assets),
        gaps_only=bool(gaps_only),
        labels=True,
    )


def download_name(request: MapRequest, fmt: str) -> str:
    parts = ["coverage-map", request.category]
    if request.community != ALL:
        parts.append(request.community)
    parts.append(request.metric)
    if request.borough:
        parts.append(str(request.borough))
    safe = "_".join("".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in part) for part in parts)
    return f"{safe}.{fmt}"


def render_download(dataset: Dataset, request: MapRequest, fmt: str,
                    on_stage: Callable[[str], None] | None = None) -> tuple[str, bytes]:  # fmt: skip
    """``(file name, bytes)`` of the view drawn as ``fmt`` (``on_stage`` hears drawing, then reading the file)."""
    if fmt not in FORMATS:
        raise CoverageMapError(f"unknown format '{fmt}'")
    name = download_name(request, fmt)
    with tempfile.TemporaryDirectory(prefix="coverage-map-download-") as folder:
        out = Path(folder) / name
        if on_stage is not None:
            on_stage(f"Drawing the map as {fmt.upper()}")
        export_map(dataset, request, out, fmt=fmt)
        if on_stage is not None:
            on_stage("Preparing the file")
        return name, out.read_bytes()


#: The map download as a background job: what the page says when a run ends without its own answer.
MAP_KIND = JobKind(
    name=ids.MAP_JOB,
    trigger=ids.DOWNLOAD_MAP_BUTTON,
    cancelled="Cancelled: no map was made.",
    died="The map download stopped before it finished (the server may have restarted); try again.",
)
register(MAP_KIND, render=lambda text: html.Div(text, className="small text-danger"))


@callback(
    Output(ids.DOWNLOAD_MAP, "data"),
    Output(ids.DOWNLOAD_MAP_ERROR, "children"),
    Input(ids.DOWNLOAD_MAP_BUTTON, "n_clicks"),
    State(ids.DOWNLOAD_MAP_FORMAT, "value"),
    State(ids.LEVEL, "value"),
    State(ids.CATEGORY, "value"),
    State(ids.COMMUNITY, "value"),
    State(ids.METRIC, "value"),
    State(ids.BOROUGH, "value"),
    State(ids.SCHEME, "value"),
    State(ids.SHOW_ASSETS, "value"),
    State(ids.GAPS_ONLY, "value"),
    State(ids.DATA_TOKEN, "data"),
    State(ids.WHATIF, "data"),
    State(ids.JOB_PAGE, "data"),
    prevent_initial_call=True,
    **background_options(MAP_KIND, disable=[ids.DOWNLOAD_MAP_BUTTON], clear=[(ids.DOWNLOAD_MAP_ERROR, "children")]),
)
def download_map(
    set_progress: Callable[[object], None] | None, n_clicks: int | None, fmt: str, level: str, category: str,
    community: str, metric: str, borough: str, scheme: str, show_assets: bool, gaps_only: bool, token: str | None,
    whatif: str | None = None, page: str | None = None,
) -> tuple[object, str]:  # fmt: skip
    """Render the current view and send it to the browser (with a what-if scenario: the map after adding
    its proposed services, drawn as labelled yellow discs). A background job: ``set_progress`` gets the
    bar as each stage starts (reading the view, drawing, preparing the file)."""
    if not n_clicks:
        return None, ""
    with start(MAP_KIND.name, "Making the map file", set_progress, page, n_clicks) as job:
        return _draw(job, fmt, level, category, community, metric, borough, scheme, show_assets, gaps_only,
                     token, whatif)  # fmt: skip


def _draw(
    job: Job, fmt: str, level: str, category: str, community: str, metric: str, borough: str, scheme: str,
    show_assets: bool, gaps_only: bool, token: str | None, whatif: str | None,
) -> tuple[object, str]:  # fmt: skip
    progress = job.stages(["Reading the view", "Drawing the map", "Preparing the file"])
    progress.next("Reading the view")
    loaded = services().registry.get(token, whatif)
    request = map_request(
        level=level,
        category=category,
        community=community,
        metric=metric,
        borough=borough,
        scheme=scheme,
        show_assets=show_assets,
        gaps_only=gaps_only,
    )
    with progress:
        try:
            name, data = render_download(loaded.dataset, request, fmt or "png", on_stage=progress.next)
        except CoverageMapError as error:
            return None, f"Could not draw the map: {error}"
    return dcc.send_bytes(data, name), ""
