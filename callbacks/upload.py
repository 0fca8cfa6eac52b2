"""Visitors' own data: receive files, validate them, and switch this session to them."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update

from coverage_map.errors import CoverageMapError, ValidationError

from . import uploads
from .context import services, triggered_ids
from .layout import render_problems
from .uploads import ROLES


@callback(
    Output("upload-token", "data"),
    *[Output(f"upload-status-{role}", "children") for role in ROLES],
    *[Output(f"upload-{role}", "contents") for role in ROLES],
    *[Input(f"upload-{role}", "contents") for role in ROLES],
    *[State(f"upload-{role}", "filename") for role in ROLES],
    State("upload-token", "data"),
)
def receive_files(*values: object) -> tuple[object, ...]:
    """Store each file as it arrives (under this session's token) and say what was received."""
    contents = dict(zip(ROLES, values[: len(ROLES)], strict=True))
    names = dict(zip(ROLES, values[len(ROLES) : 2 * len(ROLES)], strict=True))
    token = values[-1]
    settings = services().settings
    errors: dict[str, str] = {}
    for role in ROLES:
        if isinstance(contents[role], str):
            token, error = uploads.receive(
                settings.data_dir, token, role, contents[role], str(names[role] or ""),
                max_bytes=settings.max_upload_bytes,
            )  # fmt: skip
            if error:
                errors[role] = error
    lines = uploads.statuses(settings.data_dir, token, errors)
    received = any(isinstance(contents[role], str) for role in ROLES)
    return (
        token if uploads.is_token(token) else no_update,
        *[lines[role] for role in ROLES],
        *[None if received else no_update for _ in ROLES],  # free the browser's copy
    )


@callback(
    Output("data-token", "data"),
    Output("upload-report", "children"),
    Input("upload-load", "n_clicks"),
    Input("upload-reset", "n_clicks"),
    State("upload-token", "data"),
    prevent_initial_call=True,
)
def load_files(load_clicks: int | None, reset_clicks: int | None, token: str | None) -> tuple[object, object]:
    """Validate the received files and, when they pass, show them instead of the demo."""
    if "upload-reset" in triggered_ids():
        return None, dbc.Alert("Showing the default data again.", color="info", className="small")
    return load_pending(token)


def load_pending(token: object) -> tuple[object, object]:
    """Validate and load a session's files: (new data token, report) or (no_update, problems)."""
    app = services()
    data_dir = app.settings.data_dir
    if not uploads.is_token(token):
        return no_update, dbc.Alert("Upload at least the small areas and the assets files first.", color="warning")
    assert isinstance(token, str)
    names = uploads.original_names(data_dir, token)
    try:
        frozen = uploads.freeze(data_dir, token)
        dataset = uploads.load_session(data_dir, frozen)
    except ValidationError as error:
        return no_update, render_problems(uploads.problem_rows(error.problems, names))
    except (uploads.UploadError, CoverageMapError) as error:
        return no_update, dbc.Alert(str(error), color="warning")
    app.registry.remember(frozen, dataset)
    inputs = dataset.inputs
    warnings = uploads.problem_rows(list(dataset.prepared.problems), names)
    message = [
        html.Strong("Your data is loaded. "),
        f"{len(inputs.areas):,} areas and {len(dataset.prepared.assets):,} services; "
        f"levels: {', '.join(dataset.levels)}. It is visible only in this browser tab.",
    ]
    report: list[object] = [dbc.Alert(message, color="success", className="small")]
    if warnings:
        heading = f"{len(warnings)} rows were rejected or repaired (the rest is loaded):"
        report.append(render_problems(warnings, heading=heading, color="warning"))
    return frozen, html.Div(report)
