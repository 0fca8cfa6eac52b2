"""How a callback reaches the app's read-only services and learns what fired it."""

from __future__ import annotations

from dataclasses import dataclass

import flask
from dash import ctx
from dash.exceptions import MissingCallbackContextException

from .registry import Registry
from .settings import Settings

EXTENSION = "coverage_map"


@dataclass(frozen=True)
class Services:
    """Read-only things every callback may use: data sets by token, and start-up settings."""

    registry: Registry
    settings: Settings


def services() -> Services:
    """The services of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION]


def triggered_ids() -> set[str]:
    """Ids of the components whose change fired the running callback (empty on page load).

    Empty too when a callback is called as a plain function (tests), which then behaves
    as on page load.
    """
    try:
        props = ctx.triggered_prop_ids
    except MissingCallbackContextException:
        return set()
    return {key.rsplit(".", 1)[0] for key in props}
