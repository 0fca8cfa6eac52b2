"""Visitors' own data: check files as they arrive, save them to the workspace, choose and publish datasets.

Thin adapters over :mod:`callbacks.uploads` and :class:`coverage_map.store.Workspace`:

* ``check_<role>``: each file is checked as it arrives (size, type by content, zip
  members) and the box says "Received" or why it was refused. Nothing is stored yet;
* :func:`save_upload`: "Check and save my data" checks every file again, validates them and
  saves them to the workspace under the session's owner token (private until published);
* :func:`choose_dataset`: the dataset picker (published datasets plus this session's
  private ones), "Publish" and "Back to the default data"; it alone writes ``data-token``.
  What it returns after each trigger is :func:`dataset_outputs`, deciding with :func:`dataset_choice`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import dash_bootstrap_components as dbc
import sqlalchemy as sa
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.development.base_component import Component

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError, Problem, ValidationError
from coverage_map.ingest.upload_safety import UnsafeUploadError
from coverage_map.outputs.tables import write_any
from coverage_map.rejections import PRIVATE_ROLES, file_counts, private_files, redacted, rejected_frame
from coverage_map.store import Workspace, WorkspaceUnavailable

from . import ids, uploads
from .context import Services, services, triggered_ids
from .layout import render_problems
from .registry import disk_full, visitor_message
from .uploads import ROLES, Choice

_LOG = logging.getLogger(__name__)
#: Triggers of :func:`choose_dataset`.
SELECT, SAVED, RESET, PUBLISH, REFRESH = (
    ids.DATASET_SELECT, ids.UPLOAD_SAVED, ids.UPLOAD_RESET, ids.DATASET_PUBLISH, ids.DATASET_REFRESH,
)  # fmt: skip


def _checker(role: str) -> Callable[[object, object], tuple[object, object]]:
    def check(contents: object, filename: object) -> tuple[object, object]:
        line = uploads.status_line(contents, filename, limits=services().settings.upload_limits)
        # A refused file is dropped from the browser, so it is never sent again.
        return line, (None if line.startswith("Refused") else no_update)

    check.__name__ = f"check_{role}"
    check.__doc__ = f"Check the {role} file as it arrives and say whether it was received or refused."
    return check


for _role in ROLES:
    callback(
        Output(ids.upload_status(_role), "children"),
        Output(ids.upload_box(_role), "contents"),
        Input(ids.upload_box(_role), "contents"),
        State(ids.upload_box(_role), "filename"),
        prevent_initial_call=True,
    )(_checker(_role))


@callback(
    Output(ids.UPLOAD_SAVED, "data"),
    Output(ids.UPLOAD_REPORT, "children"),
    Output(ids.UPLOAD_TOKEN, "data"),
    *[Output(ids.upload_box(role), "contents", allow_duplicate=True) for role in ROLES],
    Input(ids.UPLOAD_LOAD, "n_clicks"),
    *[State(ids.upload_box(role), "contents") for role in ROLES],
    *[State(ids.upload_box(role), "filename") for role in ROLES],
    State(ids.UPLOAD_NAME, "value"),
    State(ids.UPLOAD_TOKEN, "data"),
    State(ids.MAPPING_STORE, "data"),
    prevent_initial_call=True,
)
def save_upload(clicks: int | None, *values: object) -> tuple[object, ...]:
    """Check, validate and save the files to the workspace (with the mapping step's mapping), private to this session."""
    contents = dict(zip(ROLES, values[: len(ROLES)], strict=True))
    names = dict(zip(ROLES, values[len(ROLES) : 2 * len(ROLES)], strict=True))
    # The mapping step's store is the last State (None when called without it, as before the step).
    name, token, mapping = (*values[2 * len(ROLES) :], None)[:3]
    saved, report, owner = save_files(contents, names, name, token, mapping)
    keep = [no_update] * len(ROLES) if saved is no_update else [None] * len(ROLES)  # free the browser's copies
    return (saved, report, owner, *keep)


def save_files(
    contents: Mapping[str, object], filenames: Mapping[str, object], name: object, token: object,
    mapping: object = None,
) -> tuple[object, object, object]:  # fmt: skip
    """``(saved choice or no_update, report, owner token or no_update)`` for one upload.

    ``mapping`` is the mapping step's (:func:`callbacks.mapping.mapping_from_controls`), stored with the dataset.
    """
    app = services()
    settings = app.settings
    owner = token if uploads.is_token(token) else uploads.new_token()
    assert isinstance(owner, str)
    new_owner = no_update if owner == token else owner
    given: Mapping[str, str] = {}
    try:
        received = uploads.receive_all(contents, filenames, limits=settings.upload_limits)
        given = received.names
        added = uploads.save_to_workspace(app.registry.workspace, settings.data_dir, owner, str(name or ""),
                                          received, limits=settings.upload_limits, mapping=mapping)  # fmt: skip
    except ValidationError as error:
        rows = uploads.problem_rows(_without_private_values(error.problems, given), given)
        return no_update, render_problems(rows), new_owner
    except (OSError, sa.exc.SQLAlchemyError, WorkspaceUnavailable) as error:  # a full disk, an outage: nothing saved
        full = " (disk full)" if disk_full(error) else ""
        _LOG.warning("an upload could not be saved: %s%s", type(error).__name__, full)
        return no_update, dbc.Alert(visitor_message(error), color="warning", className="small"), new_owner
    except (UnsafeUploadError, CoverageMapError) as error:
        return no_update, dbc.Alert(visitor_message(error), color="warning", className="small"), new_owner
    choice = Choice.of(added.ref, owner)
    dataset = app.registry.adopt(choice, added.inputs)  # joined once here, so outside-area rows are counted
    return choice.as_data(), saved_report(added.ref.label, dataset, received.names), new_owner


def _without_private_values(problems: Sequence[Problem], names: Mapping[str, str]) -> list[Problem]:
    """``problems`` without the values of the referral file's rows (by its uploaded name)."""
    private = {names[role] for role in PRIVATE_ROLES if role in names}
    return [replace(p, value=None) if Path(str(p.file).replace("\\", "/")).name in private else p for p in problems]


#: Rejected rows listed in the page after a save; the CSV download has every one.
LISTED_ROWS = 100


def saved_report(label: str, dataset: Dataset, names: Mapping[str, str]) -> Component:
    """What a save says: rows read, used and rejected per file, and the first rejected rows (never a
    referral's values)."""
    prepared = dataset.prepared
    counts = file_counts(prepared)
    message = [
        html.Strong(f"Saved as {label}. "),
        (f"{len(prepared.inputs.areas):,} areas and {len(prepared.assets):,} services. It is private to this "
         "browser tab until you publish it, and the map now shows it."),
        html.Ul([html.Li(str(count)) for count in counts], className="mb-0 mt-1", id=ids.UPLOAD_COUNTS),
    ]  # fmt: skip
    report: list[Component] = [dbc.Alert(message, color="success", className="small")]
    warnings = uploads.problem_rows(redacted(prepared.problems, private_files(prepared)), names)
    if warnings:
        shown = "" if len(warnings) <= LISTED_ROWS else f" The first {LISTED_ROWS} are listed;"
        heading = (f"{len(warnings):,} rows were rejected or repaired (the rest is saved).{shown} "
                   "Download rejected rows (CSV) lists every one.")  # fmt: skip
        report.append(render_problems(warnings, heading=heading, color="warning", limit=LISTED_ROWS))
    return html.Div(report)


@callback(
    Output(ids.UPLOAD_REJECTED_DOWNLOAD, "data"),
    Input(ids.UPLOAD_REJECTED_BUTTON, "n_clicks"),
    State(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def download_rejected(clicks: int | None, token: object) -> dict[str, object]:
    """Every rejected or repaired row of the dataset shown, as ``validate --rejected`` writes them."""
    loaded = services().registry.get(token)
    return dcc.send_bytes(rejected_csv(loaded.dataset), "rejected_rows.csv", type="text/csv")


def rejected_csv(dataset: Dataset) -> bytes:
    """The rejected rows of ``dataset`` as CSV bytes (private values removed, formulas neutralised)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rejected_rows.csv"
        write_any(rejected_frame(dataset.prepared), path)
        return path.read_bytes()


@callback(
    Output(ids.DATA_TOKEN, "data"),
    Output(ids.DATASET_SELECT, "options"),
    Output(ids.DATASET_SELECT, "value"),
    Output(ids.DATASET_PUBLISH, "disabled"),
    Output(ids.PUBLISH_STATUS, "children"),
    Output(ids.DATASET_VERSION, "data"),
    Input(ids.DATASET_SELECT, "value"),
    Input(ids.UPLOAD_SAVED, "data"),
    Input(ids.UPLOAD_RESET, "n_clicks"),
    Input(ids.DATASET_PUBLISH, "n_clicks"),
    Input(ids.DATASET_REFRESH, "n_intervals"),
    State(ids.DATA_TOKEN, "data"),
    State(ids.UPLOAD_TOKEN, "data"),
    State(ids.DATASET_VERSION, "data"),
)
def choose_dataset(
    value: object, saved: object, reset: object, publish: object, tick: object,
    current: object, token: object, version: object,
) -> tuple[object, ...]:  # fmt: skip
    """The dataset picker, Publish and Reset: what ``data-token`` holds and what the picker lists."""
    return dataset_outputs(services(), triggered_ids(), value, saved, reset, publish, tick, current, token, version)


def dataset_outputs(
    app: Services, fired: Collection[str], value: object, saved: object, reset: object, publish: object,
    tick: object, current: object, token: object, version: object,
) -> tuple[object, ...]:  # fmt: skip
    """What :func:`choose_dataset` returns after the components ``fired`` changed (none: page load)."""
    try:
        outcome = dataset_choice(app.registry.workspace, fired, value=value, saved=saved,
                                 current=current, token=token, version=version)  # fmt: skip
    except (CoverageMapError, OSError, sa.exc.SQLAlchemyError) as error:
        return (no_update, no_update, no_update, True,
                dbc.Alert(visitor_message(error), color="warning", className="small"),
                no_update)  # fmt: skip
    if outcome.unchanged:
        return (no_update,) * 6
    options = uploads.picker_options(outcome.refs, app.registry.default.label)
    message = (dbc.Alert(outcome.message, color=outcome.colour, className="small mb-0")
               if outcome.message else "")  # fmt: skip
    return (
        no_update if outcome.data == current else outcome.data,
        options,
        outcome.value,
        not outcome.publishable,
        message,
        outcome.generation,
    )


@dataclass(frozen=True)
class Outcome:
    """What :func:`choose_dataset` sends back (``unchanged``: nothing at all)."""

    data: object = None
    value: str = uploads.DEFAULT_CHOICE
    refs: list = field(default_factory=list)
    publishable: bool = False
    message: str = ""
    colour: str = "info"
    generation: str | None = None
    unchanged: bool = False


def dataset_choice(
    workspace: Workspace, fired: Collection[str], *, value: object, saved: object, current: object, token: object,
    version: object,
) -> Outcome:  # fmt: skip
    """Decide the session's dataset after ``fired`` (a pure helper over the workspace).

    * page load (nothing fired): keep the stored choice if this session may still see it;
    * a dataset saved: show it; Reset: the default data; the picker: what it names;
    * Publish: publish the session's own private dataset being shown;
    * the refresh timer: list again only when the workspace's version token changed.
    """
    owner = token if isinstance(token, str) and uploads.is_token(token) else None
    generation = workspace.version_token()
    if set(fired) == {REFRESH} and generation == version:
        return Outcome(unchanged=True)
    chosen = Choice.parse(current)
    message, colour = "", "info"
    if SAVED in fired and Choice.parse(saved) is not None:
        chosen = Choice.parse(saved)
    elif RESET in fired:
        chosen = None
    elif SELECT in fired:
        chosen = None if value == uploads.DEFAULT_CHOICE else Choice.from_value(value, owner) or chosen
    elif PUBLISH in fired and chosen is not None and owner is not None:
        try:
            ref = workspace.publish(chosen.name, chosen.version, owner=owner, private=chosen.private)
        except CoverageMapError as error:
            message, colour = f"Not published: {error}", "warning"
        else:
            chosen = Choice.of(ref, owner)  # a private version takes the name's next published number
            message, colour = f"Published {ref.label}: everyone using this dashboard can now choose it.", "success"
        generation = workspace.version_token()
    if chosen is not None and chosen.owner != owner:
        chosen = Choice(chosen.name, chosen.version, owner, chosen.private)  # never another session's token
    refs = workspace.list(owner=owner)
    shown = next((ref for ref in refs if chosen is not None and Choice.of(ref, owner) == chosen), None)
    if chosen is not None and shown is None:
        if not message:
            message, colour = "That dataset is no longer available; showing the default data.", "warning"
        chosen = None
    return Outcome(
        data=None if chosen is None else chosen.as_data(),
        value=uploads.DEFAULT_CHOICE if chosen is None else chosen.value,
        refs=refs,
        publishable=shown is not None and not shown.published,
        message=message,
        colour=colour,
        generation=generation,
    )
