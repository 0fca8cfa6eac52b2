"""How a callback reaches the app's read-only services and learns what fired it.

The process has one Dash app (:func:`callbacks.app.create_app`); what it serves (the
default data set, its settings and the page built for them) is one :class:`Services`
object kept in ``app.server.extensions[EXTENSION]``. Replacing that object (tests do, to
serve another data set) changes what every later request sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flask
from dash import ctx
from dash.development.base_component import Component

from .registry import Registry
from .settings import Settings

EXTENSION = "coverage_map"
#: The process's one server (:func:`install`): what a background job, outside any request, serves from.
_SERVER: list[flask.Flask] = []


@dataclass(frozen=True)
class Services:
    """Read-only things every request may use: data sets by token, start-up settings, and the page."""

    registry: Registry
    settings: Settings
    #: The page for the registry's default data set (:func:`callbacks.layout.build_layout`).
    layout: Component = field(compare=False, repr=False)


def install(server: flask.Flask) -> None:
    """Make ``server`` the process's own, for work done outside a request (a background job)."""
    _SERVER[:] = [server]


def services(server: flask.Flask | None = None) -> Services:
    """The services of ``server`` (default: the app handling the current request, else the process's own).

    A background job runs outside any request (a child process forked by the worker that
    started it, or a Celery worker): it is served by the process's app, whose settings and
    loaded data it shares.
    """
    if server is not None:
        app = server
    elif flask.has_app_context() or not _SERVER:
        app = flask.current_app
    else:
        app = _SERVER[0]
    found = app.extensions[EXTENSION]
    if not isinstance(found, Services):
        raise TypeError(f"app.server.extensions[{EXTENSION!r}] holds {type(found).__name__}, not Services")
    return found


def triggered_ids() -> set[str]:
    """Ids of the components whose change fired the running callback (empty on page load).

    Only a callback Dash is running may ask; the pure helpers it calls take these ids as
    an argument, so tests call them without Dash.
    """
    return {key.rsplit(".", 1)[0] for key in ctx.triggered_prop_ids}  # "map.clickData" -> "map"
