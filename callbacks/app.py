"""The Dash app: ``create_app``, ``coverage-map serve`` and the services it answers with.

A process has one app, built by :func:`create_app`: the callbacks are declared with
``dash.callback`` in the modules imported below, and Dash hands them to the app when it
starts serving. What the app serves (the default data set, settings, the page) is one
:class:`~callbacks.context.Services` object in ``app.server.extensions``, read on every
request. gunicorn serves :mod:`callbacks.wsgi` (``server = app.server``).

Per-visitor state lives in the browser, uploads on disk under a session token, so any
worker can answer any request.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

import flask
from dash import Dash, set_props
from dash.development.base_component import Component
from werkzeug.exceptions import RequestEntityTooLarge

from coverage_map.config import PROJECT_DIR
from coverage_map.dataset import Dataset
from coverage_map.ingest.upload_safety import size_text
from coverage_map.store.at_rest import lock_down, private_files, sweep_scratch

# The dashboard's callbacks: importing these modules registers them with ``dash.callback``.
from . import controls, details, download_map, feeds, ids, jobs, mapping, mapview, questions, tables, upload, whatif  # noqa: F401
from .context import EXTENSION, Services, services
from .context import install as install_context
from .layout import build_layout
from .registry import UNAVAILABLE_TEXT, DataUnavailable, Registry
from .security import SecurityConfig
from .security import install as install_security
from .settings import Settings, settings_from_args, settings_from_env
from .state import Choices, default_state

_BUILT: list[Dash] = []
_LOG = logging.getLogger(__name__)
#: What a visitor sees when a callback fails (the details go to the server's log).
CALLBACK_ERROR_TEXT = "Something went wrong while updating the page. Try again; if it keeps happening, reload it."


def build_services(dataset: Dataset, settings: Settings) -> Services:
    """What the app serves for ``dataset`` and ``settings``: its registry and its page.

    Put the result in ``app.server.extensions[EXTENSION]`` to serve it (tests do, to show
    another data set through the process's one app).
    """
    return Services(registry=Registry(dataset, settings), settings=settings, layout=build_layout(dataset, settings))


def create_app(
    dataset: Dataset | None = None, *, settings: Settings | None = None, security: SecurityConfig | None = None
) -> Dash:
    """Build the process's dashboard for ``dataset`` (default: what ``settings`` name, else the demo).

    Parameters
    ----------
    dataset
        The data set to show by default; loaded from ``settings`` when None.
    settings
        Start-up settings; read from the environment (``COVERAGE_MAP_*``) when None.
    security
        Authentication and headers (:mod:`callbacks.security`); read from the environment when None.

    Raises
    ------
    RuntimeError
        An app was already built in this process: Dash gives the callbacks to one app only.
        Serve other data through it by replacing its services (:mod:`callbacks.context`).
    """
    if _BUILT:
        raise RuntimeError(
            "create_app() was already called in this process: Dash attaches the dashboard's callbacks to one app "
            f"only. Serve other data through that app by replacing app.server.extensions[{EXTENSION!r}]."
        )
    settings = settings if settings is not None else settings_from_env()
    # Data at rest: everything this process writes is private to the service user, the data
    # folder is locked down, and scratch folders a killed worker left behind are swept away.
    private_files()
    lock_down(settings.data_dir)
    sweep_scratch(settings.data_dir)
    # A worker that gunicorn starts in place of a killed one removes the scratch folder it left (no longer held).
    os.register_at_fork(after_in_child=functools.partial(_sweep_after_fork, settings.data_dir))
    dataset = dataset if dataset is not None else settings.load_dataset()
    # Long work (saving an upload, map downloads, site suggestion) runs as background jobs:
    # child processes sharing a diskcache in the data folder, or Celery workers (callbacks.jobs).
    manager = jobs.build_manager(settings.data_dir)
    jobs.install(manager)
    app = Dash(
        __name__,
        assets_folder=str(PROJECT_DIR / "assets"),
        title="Community support coverage",
        update_title="",  # no "Updating..." title while callbacks run
        serve_locally=True,
        compress=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=callback_failed,
        background_callback_manager=manager,
    )
    # The page's language, for screen readers and translation (WCAG 3.1.1); Dash's template has none.
    app.index_string = app.index_string.replace("<html>", '<html lang="en-GB">', 1)
    server = app.server
    server.extensions[EXTENSION] = build_services(dataset, settings)
    install_context(server)

    def current_layout() -> Component:
        return services(server).layout

    app.layout = current_layout
    server.before_request(_limit_request_size)
    server.register_error_handler(RequestEntityTooLarge, _too_large)
    server.after_request(_buffer_static_files)
    server.before_request(_start_timer)
    server.after_request(_server_timing)
    install_security(app, security, basemap=settings.basemap)
    _set_up_dash(server)
    _warm(services(server).registry, dataset)
    _BUILT.append(app)
    return app


def _set_up_dash(server: flask.Flask) -> None:
    """Let Dash finish setting itself up now, before any visitor's request.

    Dash registers its callbacks and script paths on the first request it sees, and marks that
    done before it is: with several threads per worker (the ``Procfile``'s ``--threads``), a
    request arriving meanwhile found no script registered and got a 500. One request through
    Flask's test client (a path nothing serves) runs that set-up here, once, before gunicorn
    forks its workers (``--preload``) or starts its threads.
    """
    with server.test_client() as client:
        client.get("/_coverage-map-set-up")


def _sweep_after_fork(data_dir: Path) -> None:
    """Sweep the data folder's left-over scratch folders in a freshly forked worker (never raising there)."""
    try:
        sweep_scratch(data_dir)
    except OSError as error:
        _LOG.warning("could not sweep the data folder's scratch folders: %s", type(error).__name__)


def callback_failed(error: Exception) -> None:
    """Answer any callback that raised with a banner, never a ``500`` or a traceback.

    When the chosen dataset cannot be reached the page's data is hidden too (it would
    otherwise keep showing what was there, the default data). The error is logged by type
    and place only: its message may hold a database address or a value from the data.
    """
    if isinstance(error, DataUnavailable):
        _LOG.warning("a callback could not reach the data: %s", type(error.__cause__ or error).__name__)
        set_props(ids.SERVICE_NOTICE, {"children": UNAVAILABLE_TEXT, "is_open": True, "color": "danger"})
        set_props(ids.MAIN, {"style": {"display": "none"}})
        return
    frames = "; ".join(
        f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(error.__traceback__)
    )
    _LOG.error("a callback failed: %s at %s", type(error).__name__, frames)
    set_props(ids.SERVICE_NOTICE, {"children": CALLBACK_ERROR_TEXT, "is_open": True, "color": "warning"})


def too_large_text(settings: Settings) -> str:
    """The message for a request over the size limit, naming the limits."""
    limits = settings.upload_limits
    return (
        f"That upload is too large: files may be at most {size_text(limits.per_file)} each and "
        f"{size_text(limits.per_upload)} together. Nothing was saved."
    )


def _too_large(error: RequestEntityTooLarge) -> flask.Response:
    """``413`` with the limits named; a Dash request (an upload) gets its message as a banner instead."""
    text = too_large_text(services().settings)
    if flask.request.path.endswith("/_dash-update-component"):
        # The browser shows a callback's failure to nobody; a normal answer that sets the banner it shows.
        body = {"multi": True, "response": {},
                "sideUpdate": {ids.SERVICE_NOTICE: {"children": text, "is_open": True, "color": "warning"}}}  # fmt: skip
        return flask.Response(json.dumps(body), status=200, mimetype="application/json")
    return flask.Response(text + "\n", status=413, mimetype="text/plain")


def _limit_request_size() -> None:
    """Refuse (413, before parsing) a request larger than one whole upload of the services' settings."""
    limit = services().settings.max_request_bytes
    flask.request.max_content_length = limit
    length = flask.request.content_length
    if length is not None and length > limit:  # said up front: refuse before reading a byte
        raise RequestEntityTooLarge()


def _buffer_static_files(response: flask.Response) -> flask.Response:
    """Read files from ``assets/`` into memory before flask-compress compresses them.

    flask-compress replaces a streamed file response with a compressing generator and the
    file is then never closed (a ResourceWarning per request); buffering the small CSS
    files first keeps them compressed and closes the file with the response.
    """
    if response.is_streamed and response.direct_passthrough and flask.request.path.startswith("/assets/"):
        response.direct_passthrough = False
        response.make_sequence()
    return response


def _start_timer() -> None:
    flask.g.coverage_map_started = time.perf_counter()


def _server_timing(response: flask.Response) -> flask.Response:
    """A ``Server-Timing`` header on callback responses: the server's share of each interaction."""
    started = flask.g.get("coverage_map_started")
    if started is not None and flask.request.path.endswith("/_dash-update-component"):
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _warm(registry: Registry, dataset: Dataset) -> None:
    """Compute every level's table, row indexes and boundaries now, so no visitor waits for them.

    All of it is read-only and depends only on the data (see :mod:`coverage_map.dataset`).
    Under ``gunicorn --preload`` this runs once, before the workers fork, and they share it.
    """
    choices = Choices.of(dataset)
    state = default_state(choices)
    loaded = registry.get(None)
    for level in (state.level, *(level for level in dataset.levels if level != state.level)):
        for borough in (None, *choices.boroughs[1:2]):  # indexes rows by category and by borough
            dataset.rows(level, state.category, state.community, borough=borough)
        dataset.boundaries(level)
        dataset.unit_rows(level, "")  # indexes rows by unit, for the area details
        dataset.borough_names(level)
        dataset.provision_averages(level, state.community)
    dataset.assets_table()
    dataset.assets_reaching([])  # indexes which assets reach each small area
    registry.asset_points(loaded)
    registry.offers(loaded, state.category, state.community)
    registry.equity_view(loaded, state.category, state.community)  # the opening chart (when there is IMD)


def serve(args: argparse.Namespace) -> None:
    """``coverage-map serve``: run the dashboard on the demo data, ``--config`` or the data arguments."""
    settings = settings_from_args(args)
    what = "the synthetic demo data" if settings.uses_demo else "your data"
    print(f"Loading {what}...", file=sys.stderr)
    app = create_app(settings=settings)
    host, port = getattr(args, "host", "127.0.0.1"), int(getattr(args, "port", 8050))
    print(f"Dashboard ready: http://{host}:{port}/  (Ctrl+C to stop)", file=sys.stderr)
    app.run(host=host, port=port, debug=bool(getattr(args, "debug", False)))


__all__ = ["build_services", "create_app", "serve"]
