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

import hashlib
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
from coverage_map.store import Workspace, WorkspaceUnavailable, open_workspace

from . import ids, uploads
from .context import Services, services, triggered_ids
from .jobs import Job, JobKind, background_options, register, remove_scratch, scratch_tag, start
from .layout import render_problems
from .registry import disk_full, visitor_message
from .uploads import ROLES, Choice, dataset_name

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


#: The save as a background job: what the page says when a run ends without its own answer.
UPLOAD_KIND = JobKind(
    name=ids.UPLOAD_JOB,
    trigger=ids.UPLOAD_LOAD,
    cancelled="Cancelled: nothing was saved.",
    died=("The save stopped before it finished (the server may have restarted or run out of memory). "
          "Nothing was saved; try again."),
)  # fmt: skip
#: The stages of a save after each file's check.
SAVE_STAGES = (
    "Writing the files to a private scratch folder",
    "Validating every row and saving (the longest step)",
    "Preparing your data for the map",
)


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
    State(ids.JOB_PAGE, "data"),
    prevent_initial_call=True,
    **background_options(UPLOAD_KIND, disable=[ids.UPLOAD_LOAD], clear=[(ids.UPLOAD_REPORT, "children")]),
)
def save_upload(
    set_progress: Callable[[object], None] | None, clicks: int | None, *values: object
) -> tuple[object, ...]:
    """Check, validate and save the files to the workspace (with the mapping step's mapping), private to this session.

    A background job: ``set_progress`` gets the progress bar as each stage starts (each file's
    check, writing, validating and saving, preparing the map). Its own process opens its own
    connection to the workspace (one inherited from the worker must not be shared).
    """
    contents = dict(zip(ROLES, values[: len(ROLES)], strict=True))
    names = dict(zip(ROLES, values[len(ROLES) : 2 * len(ROLES)], strict=True))
    # The mapping step's store and the page id are the last States (None when called without them).
    name, token, mapping, page = (*values[2 * len(ROLES) :], None, None)[:4]
    with start(UPLOAD_KIND.name, "Saving your data", set_progress, page, clicks) as job:
        settings = services().settings
        try:
            with open_workspace(settings.workspace, keep_raw_uploads=settings.keep_raw_uploads) as workspace:
                saved, report, owner = save_files(contents, names, name, token, mapping, job=job, workspace=workspace)
        except UNSAVED as error:  # the workspace could not be opened (or closed): nothing saved
            saved, report, owner = no_update, not_saved(error), no_update
    keep = [no_update] * len(ROLES) if saved is no_update else [None] * len(ROLES)  # free the browser's copies
    return (saved, report, owner, *keep)


def save_files(
    contents: Mapping[str, object], filenames: Mapping[str, object], name: object, token: object,
    mapping: object = None, *, job: Job | None = None, workspace: Workspace | None = None,
) -> tuple[object, object, object]:  # fmt: skip
    """``(saved choice or no_update, report, owner token or no_update)`` for one upload.

    ``mapping`` is the mapping step's (:func:`callbacks.mapping.mapping_from_controls`), stored with the dataset.
    ``job`` hears each stage (its progress bar) and notes on the board what is about to be saved,
    so that a run killed half way can be undone (:func:`saved_by_job`). ``workspace`` defaults to
    the registry's.
    """
    app = services()
    settings = app.settings
    job = job if job is not None else Job("Saving your data")
    workspace = workspace if workspace is not None else app.registry.workspace
    owner = token if uploads.is_token(token) else uploads.new_token()
    assert isinstance(owner, str)
    new_owner = no_update if owner == token else owner
    given: Mapping[str, str] = {}
    files = uploads.upload_files(contents, filenames)
    steps = [uploads.checking_text(role, n, len(files)) for n, (role, _, _) in enumerate(files, start=1)]
    try:
        with job.stages([*steps, *SAVE_STAGES]) as progress:
            received = uploads.receive_all(contents, filenames, limits=settings.upload_limits,
                                           on_file=lambda role, n, total: progress.next(
                                               uploads.checking_text(role, n, total)))  # fmt: skip
            given = received.names
            job.record(state="saving", owner=_digest(owner), saving=dataset_name(name),
                       before=_last_private_version(workspace, owner, dataset_name(name)))  # fmt: skip
            added = uploads.save_to_workspace(workspace, settings.data_dir, owner, str(name or ""), received,
                                              limits=settings.upload_limits, mapping=mapping,
                                              scratch_tag=scratch_tag(job.key), on_stage=progress.next)  # fmt: skip
            job.record(state="saved", version=added.ref.version)
            progress.next(SAVE_STAGES[-1])
            choice = Choice.of(added.ref, owner)
            dataset = app.registry.adopt(choice, added.inputs)  # joined once here, so outside-area rows are counted
    except ValidationError as error:
        rows = uploads.problem_rows(_without_private_values(error.problems, given), given)
        return no_update, render_problems(rows), new_owner
    except UNSAVED as error:  # a full disk, an outage: nothing saved
        return no_update, not_saved(error), new_owner
    except (UnsafeUploadError, CoverageMapError) as error:
        return no_update, dbc.Alert(visitor_message(error), color="warning", className="small"), new_owner
    return choice.as_data(), saved_report(added.ref.label, dataset, received.names), new_owner


#: What a save meets when the disk is full or the workspace is down (nothing is saved).
UNSAVED = (OSError, sa.exc.SQLAlchemyError, WorkspaceUnavailable)


def not_saved(error: Exception) -> Component:
    """The visitor's message for a save stopped by :data:`UNSAVED` (logged by type, never its text)."""
    full = " (disk full)" if disk_full(error) else ""
    _LOG.warning("an upload could not be saved: %s%s", type(error).__name__, full)
    return dbc.Alert(visitor_message(error), color="warning", className="small")


def _digest(owner: str) -> str:
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()


def _last_private_version(workspace: Workspace, owner: str, name: str) -> int:
    """The highest number of ``owner``'s private versions of ``name`` (0: none yet)."""
    digest = _digest(owner)
    return max((ref.version for ref in workspace.list(owner=owner)
                if ref.name == name and ref.scoped and ref.owner == digest), default=0)  # fmt: skip


def saved_by_job(workspace: Workspace, entry: Mapping[str, object], token: object) -> int:
    """Remove what a save that never finished committed (its board ``entry``); returns how many versions.

    Only the session's own private versions of the name, numbered after the ones it had when the
    save began, are removed; one that shares its number with a published version of the same
    owner is left (removing by number would take both) and logged.
    """
    name, before, digest = entry.get("saving"), entry.get("before"), entry.get("owner")
    if not isinstance(name, str) or not isinstance(before, int) or not uploads.is_token(token):
        return 0
    assert isinstance(token, str)
    if digest != _digest(token):
        return 0
    refs = [ref for ref in workspace.list(owner=token) if ref.name == name and ref.owner == digest]
    removed = 0
    for ref in refs:
        if not ref.scoped or ref.version <= before:
            continue
        if any(other.version == ref.version and not other.scoped for other in refs):
            _LOG.warning("a cancelled save's version shares its number with a published one; left in place")
            continue
        removed += workspace.remove(name, ref.version, owner=token)
    return removed


def _undo_save(entry: Mapping[str, object], states: Sequence[object]) -> None:
    """Clean up after a save that was cancelled or died: its scratch folder, and anything it committed."""
    app = services()
    tag = entry.get("tag")
    if isinstance(tag, str) and tag:
        remove_scratch(app.settings.data_dir, tag)
    if entry.get("saving") is not None:
        saved_by_job(app.registry.workspace, entry, states[0] if states else None)


register(UPLOAD_KIND, cleanup=_undo_save, extra=[State(ids.UPLOAD_TOKEN, "data")],
         render=lambda text: dbc.Alert(text, color="warning", className="small mt-2"))  # fmt: skip


@callback(
    Output(ids.UPLOAD_TOKEN, "data", allow_duplicate=True),
    *[Input(ids.upload_box(role), "contents") for role in ROLES],
    State(ids.UPLOAD_TOKEN, "data"),
    prevent_initial_call=True,
)
def ensure_token(*values: object) -> object:
    """Give the tab its owner token as soon as a file arrives, before any save: a save cancelled after it
    committed is then undone with the token the tab holds (:func:`saved_by_job`)."""
    token = values[-1]
    return no_update if uploads.is_token(token) else uploads.new_token()


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
