"""The Dash app: ``create_app``, ``coverage-map serve`` and the ``server`` gunicorn runs.

``Procfile``::

    web: gunicorn --workers ${WEB_CONCURRENCY:-2} --bind 0.0.0.0:${PORT:-8050} --timeout 120 "callbacks.app:server"

Each worker builds the module-level app on first use, from the data set named by
``COVERAGE_MAP_CONFIG`` (a TOML file, see :mod:`callbacks.settings`) or the synthetic
demo. Per-visitor state lives in the browser, uploads on disk under a session token, so
any worker can answer any request.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Any

import dash._callback as dash_callback_registry
import flask
from dash import Dash

from coverage_map.config import PROJECT_DIR
from coverage_map.dataset import Dataset

from .context import EXTENSION, Services
from .layout import build_layout
from .registry import Registry
from .security import SecurityConfig
from .security import install as install_security
from .settings import Settings, settings_from_args, settings_from_env
from .state import Choices, default_state

#: Modules whose ``@callback`` functions make up the dashboard.
CALLBACK_MODULES = (
    "callbacks.controls",
    "callbacks.mapview",
    "callbacks.details",
    "callbacks.tables",
    "callbacks.upload",
    "callbacks.download_map",
)
_CALLBACKS: tuple[dict[str, Any], list[dict[str, Any]]] | None = None


def _registered_callbacks() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The callbacks declared with ``dash.callback`` in :data:`CALLBACK_MODULES`.

    ``dash.callback`` hands its callbacks to whichever app starts first and then forgets
    them; taking them here once lets every app built by :func:`create_app` (tests build
    several) get the same set.
    """
    global _CALLBACKS  # noqa: PLW0603 - an import-time registry of functions, never per-user state
    if _CALLBACKS is None:
        for name in CALLBACK_MODULES:
            importlib.import_module(name)
        callback_map = dict(dash_callback_registry.GLOBAL_CALLBACK_MAP)
        callback_list = list(dash_callback_registry.GLOBAL_CALLBACK_LIST)
        dash_callback_registry.GLOBAL_CALLBACK_MAP.clear()
        dash_callback_registry.GLOBAL_CALLBACK_LIST.clear()
        _CALLBACKS = (callback_map, callback_list)
    return _CALLBACKS


def create_app(
    dataset: Dataset | None = None, *, settings: Settings | None = None, security: SecurityConfig | None = None
) -> Dash:
    """Build the dashboard for ``dataset`` (default: what ``settings`` name, else the demo).

    Parameters
    ----------
    dataset
        The data set to show by default; loaded from ``settings`` when None.
    settings
        Start-up settings; read from the environment (``COVERAGE_MAP_*``) when None.
    security
        Authentication and headers (:mod:`callbacks.security`); read from the environment when None.
    """
    settings = settings if settings is not None else settings_from_env()
    dataset = dataset if dataset is not None else settings.load_dataset()
    registry = Registry(dataset, settings)
    app = Dash(
        __name__,
        assets_folder=str(PROJECT_DIR / "assets"),
        title="Community support coverage",
        update_title=None,
        serve_locally=True,
        compress=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    # One upload (every file, base64) at most: larger requests are refused (413) before parsing.
    app.server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.server.extensions[EXTENSION] = Services(registry=registry, settings=settings)
    app.server.after_request(_buffer_static_files)
    app.server.before_request(_start_timer)
    app.server.after_request(_server_timing)
    app.layout = build_layout(dataset, settings)
    callback_map, callback_list = _registered_callbacks()
    app.callback_map.update(callback_map)
    app._callback_list.extend(callback_list)  # noqa: SLF001 - see _registered_callbacks
    install_security(app, security, basemap=settings.basemap)
    _warm(registry, dataset)
    return app


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


def serve(args: argparse.Namespace) -> None:
    """``coverage-map serve``: run the dashboard on the demo data, ``--config`` or the data arguments."""
    settings = settings_from_args(args)
    what = "the synthetic demo data" if settings.uses_demo else "your data"
    print(f"Loading {what}...", file=sys.stderr)
    app = create_app(settings=settings)
    host, port = getattr(args, "host", "127.0.0.1"), int(getattr(args, "port", 8050))
    print(f"Dashboard ready: http://{host}:{port}/  (Ctrl+C to stop)", file=sys.stderr)
    app.run(host=host, port=port, debug=bool(getattr(args, "debug", False)))


_APP: Dash | None = None


def __getattr__(name: str) -> Any:
    """``callbacks.app.app`` and ``callbacks.app.server``: built on first use, once per process."""
    global _APP  # noqa: PLW0603 - the one module-level app gunicorn serves (read-only after start-up)
    if name in ("app", "server"):
        if _APP is None:
            _APP = create_app()
        return _APP if name == "app" else _APP.server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_app", "serve"]
