"""Long work off the request thread: Dash background callbacks, their manager, and what became of each job.

Saving an upload, drawing a map download and suggesting sites run as Dash background callbacks
(``background=True``): the request that starts one returns at once, the job runs in another
process, and the browser polls for its progress and its answer.

* **The manager** (:func:`build_manager`) is a ``DiskcacheManager`` (:class:`SweepingManager`: a job
  found ended has its left-over scratch removed at once) whose cache lives in the
  deployment's data folder (``<data_dir>/jobs``, ``0700`` like the rest of it): every gunicorn
  worker of the host shares it, and a job is a child process of the worker that started it
  (forked, so it has the app's settings and loaded data). Its entries expire after an hour
  (:data:`JOB_TTL_SECONDS`) and expired ones are swept at start-up. With
  ``COVERAGE_MAP_CELERY_BROKER`` set (a Redis URL) it is a ``CeleryManager`` instead, for
  several hosts (``docs/dashboard.md``); celery is then needed, and is not a dependency otherwise.
* **Progress** comes from :mod:`coverage_map.progress`: a job names its stages and a
  :class:`Job` turns each into a determinate bar (:mod:`callbacks.job_view`).
* **The board** (:class:`JobBoard`) records, in the manager's own store, that a job started,
  what it was about to save, and that it finished. When the browser sees a job end without an
  answer (Dash's ``running=`` store goes back to False), :func:`settle` reads the board: a job
  the visitor cancelled, or one that died (its process killed, the server restarted), has its
  scratch folder and anything it committed removed, and the page says so instead of waiting
  forever.

The callbacks call :func:`start` as plain functions too (tests): with no manager installed and
no page id the board is simply not written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache
from dash import (
    ClientsideFunction,
    DiskcacheManager,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    html,
    no_update,
)
from dash.development.base_component import Component

from coverage_map.errors import CoverageMapError
from coverage_map.progress import stages
from coverage_map.store.at_rest import SCRATCH_TTL_SECONDS, lock_down, sweep_scratch

from . import ids
from .job_view import progress_view

_LOG = logging.getLogger(__name__)
#: How long a job's result, progress and board entry are kept (the scratch folders' time to live).
JOB_TTL_SECONDS = SCRATCH_TTL_SECONDS
#: The jobs' cache, inside the data folder.
JOBS_FOLDER = "jobs"
#: A Redis (or other Celery broker) URL: run jobs on Celery workers instead of child processes.
CELERY_BROKER_ENV = "COVERAGE_MAP_CELERY_BROKER"
#: Where Celery keeps results (default: the broker).
CELERY_BACKEND_ENV = "COVERAGE_MAP_CELERY_BACKEND"
_PAGE = re.compile(r"^[0-9a-f]{16,64}$")
_BOARD_PREFIX = "coverage-map-job:"
#: The process's manager and (with Celery) its Celery app, set by :func:`install`.
_INSTALLED: dict[str, Any] = {}


# --------------------------------------------------------------------------- the manager


class ExpiringCache(diskcache.Cache):
    """A diskcache whose entries expire after :data:`JOB_TTL_SECONDS` unless told otherwise.

    Dash's manager stores every result and progress value with a plain ``set``; a result
    nobody fetched (the tab was closed) would otherwise stay on disk for ever.
    """

    def set(self, key: Any, value: Any, expire: float | None = None, read: bool = False, tag: str | None = None,
            retry: bool = False) -> bool:  # fmt: skip
        return bool(super().set(key, value, expire=JOB_TTL_SECONDS if expire is None else expire, read=read,
                                tag=tag, retry=retry))  # fmt: skip


class SweepingManager(DiskcacheManager):  # type: ignore[misc]
    """A ``DiskcacheManager`` that sweeps the data folder's left-over scratch when it finds a job ended.

    Dash asks whether a job still runs on every poll of the page: a job found ended (done,
    cancelled or killed, ``kill -9`` included) had its scratch folder removed already or left it
    unheld, so :func:`~coverage_map.store.at_rest.sweep_scratch` removes what it left at once,
    without waiting for the next upload or the scratch folders' time to live. Folders still held
    (a job still working) are never touched.
    """

    def __init__(self, cache: diskcache.Cache, data_dir: Path) -> None:
        super().__init__(cache)
        self._data_dir = Path(data_dir)
        self._asked = threading.local()

    def get_result(self, key: Any, job: Any) -> Any:
        result = super().get_result(key, job)
        self._asked.pending = (key, job) if result is self.UNDEFINED else None
        return result

    def job_running(self, job: Any) -> bool:
        """Whether ``job`` still runs, for Dash's poll, which asks right after reading the job's result.

        A job that wrote its result and ended between those two questions counts as running this once:
        Dash would otherwise take "no result, not running" for a cancelled job and answer the page with
        nothing (204), and the result written a moment later would never reach it. The next poll reads it.
        """
        running = bool(super().job_running(job))
        pending, self._asked.pending = getattr(self._asked, "pending", None), None
        if not running and pending is not None and pending[1] == job and pending[0] in self.handle:
            return True  # only for the job whose result this thread's poll has just read
        if not running:
            try:
                sweep_scratch(self._data_dir)
            except OSError as error:
                _LOG.warning("could not sweep the data folder after a job: %s", type(error).__name__)
        return running


def build_manager(data_dir: Path, environ: Mapping[str, str] | None = None) -> Any:
    """The background-callback manager: Celery when ``COVERAGE_MAP_CELERY_BROKER`` is set, else diskcache.

    The diskcache folder is ``<data_dir>/jobs`` (``0700``); entries past their time to live are
    removed now, as the upload scratch folders are.

    Raises
    ------
    CoverageMapError
        The broker is set but celery is not installed.
    """
    environ = os.environ if environ is None else environ
    broker = environ.get(CELERY_BROKER_ENV, "").strip()
    if broker:
        return _celery_manager(broker, environ.get(CELERY_BACKEND_ENV, "").strip() or broker)
    folder = lock_down(Path(data_dir) / JOBS_FOLDER)
    cache = ExpiringCache(str(folder))
    cache.expire()  # what a previous run left behind
    return SweepingManager(cache, Path(data_dir))


def _celery_manager(broker: str, backend: str) -> Any:
    try:
        from celery import Celery  # type: ignore[import-not-found]
        from dash import CeleryManager
    except ImportError as error:
        raise CoverageMapError(
            f"{CELERY_BROKER_ENV} is set, but celery is not installed: pip install 'coverage-map[celery]' (or unset it "
            "to run jobs in child processes)"
        ) from error
    app = Celery("coverage_map_jobs", broker=broker, backend=backend)
    app.conf.result_expires = JOB_TTL_SECONDS
    _INSTALLED["celery"] = app
    return CeleryManager(app)


def install(manager: Any) -> None:
    """Make ``manager`` the process's (the app factory calls this once)."""
    _INSTALLED["manager"] = manager


def celery_app() -> Any:
    """The Celery app the worker command runs (``celery -A callbacks.wsgi:celery_app worker``), or None."""
    return _INSTALLED.get("celery")


def board() -> JobBoard | None:
    """The board of the process's manager (None before :func:`install`)."""
    manager = _INSTALLED.get("manager")
    return None if manager is None else JobBoard(manager)


# --------------------------------------------------------------------------- the board


class JobBoard:
    """What each job did, kept in the manager's own store (shared by every worker that shares jobs)."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    @property
    def handle(self) -> Any:
        """The store itself: a ``diskcache.Cache``, or Celery's app (its ``backend`` holds the entries)."""
        return self._manager.handle

    def get(self, key: str) -> dict[str, Any] | None:
        handle = self._manager.handle
        raw = handle.get(_BOARD_PREFIX + key) if isinstance(handle, diskcache.Cache) else handle.backend.get(
            _BOARD_PREFIX + key)  # fmt: skip
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
        except (TypeError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        text = json.dumps(dict(entry))
        handle = self._manager.handle
        if isinstance(handle, diskcache.Cache):
            handle.set(_BOARD_PREFIX + key, text, expire=JOB_TTL_SECONDS)
        else:
            handle.backend.set(_BOARD_PREFIX + key, text)

    def update(self, key: str, **fields: Any) -> None:
        self.put(key, {**(self.get(key) or {}), **fields})


def job_key(job: str, page: object, clicks: object) -> str | None:
    """The key of one run of ``job`` on one page load (None without a valid page id or clicks)."""
    if not isinstance(page, str) or not _PAGE.fullmatch(page) or isinstance(clicks, bool):
        return None
    if not isinstance(clicks, int) or clicks < 1:
        return None
    return f"{page}:{job}:{clicks}"


def scratch_tag(key: str | None) -> str:
    """A file-name-safe tag of a job key, used in its scratch folder's name (``incoming-<tag>-...``)."""
    return "" if key is None else hashlib.sha256(key.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- running a job


@dataclass
class Job:
    """One running job: its stages as a determinate progress bar, and its board entry.

    ``set_progress`` is Dash's (or a test's recorder); it gets the bar as a component.
    """

    title: str
    set_progress: Callable[[object], None] | None = None
    key: str | None = None
    board: JobBoard | None = None
    reports: list[tuple[int, int, str]] = field(default_factory=list)

    def stages(self, steps: Sequence[str]) -> Any:
        """A :func:`coverage_map.progress.stages` whose every stage moves the page's bar."""
        return stages(self.title, steps, enabled=False, listener=self.report)

    def report(self, done: int, total: int, what: str) -> None:
        """Show ``what`` runs now, ``done`` of ``total`` stages finished."""
        self.reports.append((done, total, what))
        if self.set_progress is not None:
            self.set_progress(progress_view(done, total, what, title=self.title))

    def record(self, **fields: Any) -> None:
        """Note on the board what the job is doing (what it is about to save...)."""
        if self.board is not None and self.key is not None:
            self.board.update(self.key, **fields)


@contextlib.contextmanager
def start(job: str, title: str, set_progress: Callable[[object], None] | None, page: object,
          clicks: object) -> Iterator[Job]:  # fmt: skip
    """Run one job: say on the board that it started (its process and host), then that it ended.

    An exception marks it ``failed`` (the app's error handler answers the page); a job killed
    never reaches either mark, which is how :func:`settle` knows it died.
    """
    key = job_key(job, page, clicks)
    jobs = board() if key is not None else None
    running = Job(title, set_progress, key, jobs)
    if jobs is not None and key is not None:
        jobs.put(key, {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "tag": scratch_tag(key)})
    try:
        yield running
    except BaseException:
        running.record(state="failed")
        raise
    running.record(state="done")


# --------------------------------------------------------------------------- when a job ends


@dataclass(frozen=True)
class JobKind:
    """A kind of job on the page: its trigger and what the page says when a run ends without its answer."""

    name: str
    trigger: str
    cancelled: str
    died: str


#: Removes what a job left (scratch, a commit) given its board entry and the settle callback's extra states.
Cleanup = Callable[[Mapping[str, Any], Sequence[object]], None]


def settle(kind: JobKind, page: object, clicks: object, cancelled: object, extra: Sequence[object] = (),
           cleanup: Cleanup | None = None, jobs: JobBoard | None = None) -> str | None:  # fmt: skip
    """What the page says after a run of ``kind`` ended: None when it gave its own answer.

    Cancelled (the visitor's Cancel named this run) or died (it never marked itself done or
    failed): ``cleanup`` removes what it left, the board notes the end, and the message says
    which. ``jobs`` defaults to the process's board.
    """
    key = job_key(kind.name, page, clicks)
    if key is None:
        return None
    jobs = board() if jobs is None else jobs
    entry = (jobs.get(key) if jobs is not None else None) or {}
    state = entry.get("state")
    if state in ("done", "failed"):
        return None
    was_cancelled = isinstance(cancelled, int) and not isinstance(cancelled, bool) and cancelled == clicks
    if state not in ("cancelled", "died"):
        if cleanup is not None:
            try:
                cleanup(entry, extra)
            except Exception as error:  # noqa: BLE001 - told in the log; the page must still get its message
                _LOG.error("could not clean up after a %s job: %s", kind.name, type(error).__name__)
        if jobs is not None:
            jobs.update(key, state="cancelled" if was_cancelled else "died")
    elif state == "cancelled":
        was_cancelled = True
    return kind.cancelled if was_cancelled else kind.died


def remove_scratch(data_dir: Path, tag: str) -> int:
    """Remove the scratch folders of the job tagged ``tag`` (``incoming-<tag>-*``) in ``data_dir``; returns how many."""
    if not re.fullmatch(r"[0-9a-f]{16}", tag) or not Path(data_dir).is_dir():
        return 0
    removed = 0
    for path in Path(data_dir).glob(f"incoming-{tag}-*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def background_options(kind: JobKind, *, disable: Sequence[str] = (), clear: Sequence[tuple[str, str]] = ()
                       ) -> dict[str, Any]:  # fmt: skip
    """The ``dash.callback`` keywords of a background job of ``kind``.

    While it runs: the buttons ``disable`` are disabled, Cancel shows, the running store is True
    and ``clear`` (``(id, property)``) and the status are emptied; the bar is the progress output.
    """
    return {
        "background": True,
        "progress": [Output(ids.job_progress(kind.name), "children")],
        "progress_default": [None],
        "cancel": [Input(ids.job_cancel(kind.name), "n_clicks")],
        "running": [
            (Output(ids.job_running(kind.name), "data"), True, False),
            (Output(ids.job_cancel(kind.name), "className"), CANCEL_SHOWN, CANCEL_HIDDEN),
            (Output(ids.job_status(kind.name), "children"), "", ""),
            (Output(ids.job_progress(kind.name), "children"), progress_view(0, 1, "Starting"), None),
            *[(Output(button, "disabled"), True, False) for button in disable],
            *[(Output(component, prop), None, None) for component, prop in clear],
        ],
    }


CANCEL_SHOWN = "job-cancel ms-2"
CANCEL_HIDDEN = "job-cancel ms-2 d-none"


def register(kind: JobKind, *, cleanup: Cleanup | None = None, extra: Sequence[State] = (),
             render: Callable[[str], Component | str] = lambda text: text) -> None:  # fmt: skip
    """The callbacks of ``kind``'s panel: remember which run Cancel named, and settle each run as it ends."""
    clientside_callback(
        ClientsideFunction(namespace="coverageMapJobs", function_name="cancelled"),
        Output(ids.job_cancelled(kind.name), "data"),
        Input(ids.job_cancel(kind.name), "n_clicks"),
        State(kind.trigger, "n_clicks"),
        prevent_initial_call=True,
    )

    def settle_run(running: object, page: object, clicks: object, cancelled: object, *states: object) -> object:
        if running is not False:
            return no_update
        message = settle(kind, page, clicks, cancelled, states, cleanup)
        return no_update if message is None else render(message)

    settle_run.__name__ = f"settle_{kind.name.replace('-', '_')}"
    settle_run.__doc__ = f"What the page says when a {kind.name} job ends without its answer (cancelled, or died)."
    callback(
        Output(ids.job_status(kind.name), "children"),
        Input(ids.job_running(kind.name), "data"),
        State(ids.JOB_PAGE, "data"),
        State(kind.trigger, "n_clicks"),
        State(ids.job_cancelled(kind.name), "data"),
        *extra,
        prevent_initial_call=True,
    )(settle_run)


#: Site suggestion (the What if tab's Suggest).
SUGGEST_KIND = JobKind(
    name=ids.SUGGEST_JOB,
    trigger=ids.WHATIF_SUGGEST,
    cancelled="Cancelled: no sites were suggested.",
    died="The suggestion stopped before it finished (the server may have restarted); try again.",
)
#: The stages of a suggestion (the solve is one call to :func:`coverage_map.suggest.suggest_sites`).
SUGGEST_STAGES = ("Reading the data and the scenario", "Reading the candidate sites",
                  "Choosing the best sites (solving)", "Writing the result")  # fmt: skip
register(SUGGEST_KIND, render=lambda text: html.P(text, className="text-danger small"))

# A fresh id for each page load, made in the browser (assets/jobs.js): it names the page's jobs.
clientside_callback(
    ClientsideFunction(namespace="coverageMapJobs", function_name="pageId"),
    Output(ids.JOB_PAGE, "data"),
    Input(ids.JOB_PAGE, "id"),
)

__all__ = ["Job", "JobBoard", "JobKind", "background_options", "build_manager", "register", "settle", "start"]
