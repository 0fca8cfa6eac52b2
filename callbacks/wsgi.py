"""The app gunicorn serves, built once per process from the environment.

``Procfile``::

    web: gunicorn --preload --workers ${WEB_CONCURRENCY:-2} --threads ${WEB_THREADS:-4} --bind 0.0.0.0:${PORT:-8050} --timeout 120 "callbacks.wsgi:server"

The data set is the one ``COVERAGE_MAP_CONFIG`` names (a TOML file, see
:mod:`callbacks.settings`), else the synthetic demo; authentication and headers come from
the ``COVERAGE_MAP_*`` variables of :mod:`callbacks.security`. Under ``--preload`` the
data are loaded and warmed once, before the workers fork.

Then every object alive is moved out of the garbage collector's reach (``gc.freeze``): the
collector writes to the header of each object it examines, so a worker collecting after the
fork would copy every page of the shared data that holds a Python object, and each worker
would end up with a private copy of much of the master's memory.

With ``COVERAGE_MAP_CELERY_BROKER`` set, the background jobs (saving an upload, map downloads,
site suggestion) run on Celery workers started with ``celery -A callbacks.wsgi:celery_app worker``
(see ``docs/dashboard.md``); ``celery_app`` is None otherwise.
"""

from __future__ import annotations

import gc

from .app import create_app
from .jobs import celery_app as _celery_app

app = create_app()
server = app.server
celery_app = _celery_app()
gc.collect()
gc.freeze()
