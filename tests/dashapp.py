"""The process's one Dash app, and serving other data through it.

Dash hands the callbacks declared with ``dash.callback`` to one app per process, so
:func:`callbacks.app.create_app` runs once (the ``dash_app`` fixture of ``tests/conftest.py``).
A test that needs another data set, other settings or another security configuration swaps
what that app serves with :func:`serving`, which puts everything back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dash import Dash

from callbacks.app import build_services
from callbacks.context import EXTENSION, Services
from callbacks.security import SECURITY_EXTENSION, SecurityConfig
from callbacks.security import install as install_security
from callbacks.settings import Settings
from coverage_map.dataset import Dataset


@contextmanager
def serving(
    app: Dash, dataset: Dataset, settings: Settings, *, security: SecurityConfig | None = None
) -> Iterator[Services]:
    """Serve ``dataset`` with ``settings`` (and ``security``, when given) through ``app`` inside the block."""
    server = app.server
    before = server.extensions[EXTENSION]
    guard = server.extensions[SECURITY_EXTENSION]
    services = build_services(dataset, settings)
    server.extensions[EXTENSION] = services
    if security is not None:
        install_security(app, security, basemap=settings.basemap)
    try:
        yield services
    finally:
        server.extensions[EXTENSION] = before
        server.extensions[SECURITY_EXTENSION] = guard
