"""The Dash layer of coverage-map: layout, thin callback adapters and their pure helpers.

Modules by topic:

* :mod:`callbacks.app` — ``create_app`` (one app per process) and ``serve``; :mod:`callbacks.wsgi` — the
  ``server`` gunicorn runs; :mod:`callbacks.ids` — every component id;
* :mod:`callbacks.layout` — the page;
* :mod:`callbacks.controls` — control options and the URL that mirrors every selection;
* :mod:`callbacks.mapview` — the map (full figure once per geometry, ``Patch`` to recolour)
  and selecting a unit;
* :mod:`callbacks.details` — the area-details panel and access by deprivation;
* :mod:`callbacks.tables` — the gap table, its CSV download and the organisations table;
* :mod:`callbacks.upload` — visitors' own data;
* :mod:`callbacks.gates` — clientside gates (``assets/gates.js``): the What if tab, the question's answer and
  the details panel are asked of the server only when their answer can be seen or has changed;
* :mod:`callbacks.feeds` — when the dataset shown was last synced from a live feed, and what changed;
* pure helpers: :mod:`callbacks.state` (view state and URL), :mod:`callbacks.views` (what
  to draw), :mod:`callbacks.explain` (the tier key, "how sure are we", the equity view),
  :mod:`callbacks.uploads` (files on disk), :mod:`callbacks.registry` (read-only
  data by session token), :mod:`callbacks.settings` (start-up configuration).

Nothing in :mod:`coverage_map` imports this package.
"""
