"""The app gunicorn serves, built once per process from the environment.

``Procfile``::

    web: gunicorn --preload --workers ${WEB_CONCURRENCY:-2} --bind 0.0.0.0:${PORT:-8050} --timeout 120 "callbacks.wsgi:server"

The data set is the one ``COVERAGE_MAP_CONFIG`` names (a TOML file, see
:mod:`callbacks.settings`), else the synthetic demo; authentication and headers come from
the ``COVERAGE_MAP_*`` variables of :mod:`callbacks.security`. Under ``--preload`` the
data are loaded and warmed once, before the workers fork.
"""

from __future__ import annotations

from .app import create_app

app = create_app()
server = app.server
