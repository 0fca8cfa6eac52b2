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


@dataclass(frozen=True)
class Services:
    """Read-only things every request may use: data sets by token, start-up settings, and the page."""

    registry: Registry
    settings: Settings
    #: The page for the registry's default data set (:func:`callbacks.layout.build_layout`).
    layout: Component = field(compare=False, repr=False)


def services(server: flask.Flask | None = None) -> Services:
    """The services of ``server`` (default: the app handling the current request)."""
    app = flask.current_app if server is None else server
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
