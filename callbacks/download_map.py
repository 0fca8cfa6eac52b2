"""The "Download map" button: the current view as a print-ready PNG, SVG or PDF.

A thin adapter: the controls' values become one :class:`~coverage_map.outputs.export_map.MapRequest`
(a pure helper, tested without Dash), and :func:`render_download` draws it with the same
figure code as the dashboard map.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.outputs.export_map import MapRequest, export_map

from . import ids
from .context import services

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
            dcc.Loading(
                [dcc.Download(id=ids.DOWNLOAD_MAP), html.Div(id=ids.DOWNLOAD_MAP_ERROR, className="small text-danger")],
                type="dot",
            ),
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


def render_download(dataset: Dataset, request: MapRequest, fmt: str) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the view drawn as ``fmt``."""
    if fmt not in FORMATS:
        raise CoverageMapError(f"unknown format '{fmt}'")
    name = download_name(request, fmt)
    with tempfile.TemporaryDirectory(prefix="coverage-map-download-") as folder:
        out = Path(folder) / name
        export_map(dataset, request, out, fmt=fmt)
        return name, out.read_bytes()


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
    prevent_initial_call=True,
)
def download_map(
    n_clicks: int | None, fmt: str, level: str, category: str, community: str, metric: str, borough: str,
    scheme: str, show_assets: bool, gaps_only: bool, token: str | None, whatif: str | None = None,
) -> tuple[object, str]:  # fmt: skip
    """Render the current view and send it to the browser (with a what-if scenario: the map after adding
    its proposed services, drawn as labelled yellow discs)."""
    if not n_clicks:
        return None, ""
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
    try:
        name, data = render_download(loaded.dataset, request, fmt or "png")
    except CoverageMapError as error:
        return None, f"Could not draw the map: {error}"
    return dcc.send_bytes(data, name), ""
