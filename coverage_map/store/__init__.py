"""The dataset workspace: a shared, persistent store of named, versioned datasets.

A forum's input files, validated and stored under a name (``gm-2026``); adding the name
again makes the next version. A dataset added by a dashboard session stays private to it
until published. See ``docs/workspace.md``.

Modules
-------
workspace
    :func:`open_workspace` and :class:`Workspace`, whatever the backend: add (an
    :class:`~coverage_map.spec.InputSpec`), list, load, publish and remove datasets; what is
    saved for each input role.
files
    What is saved of each input file (bytes, or Parquet attributes + geometries), and the file
    a stored input is given back as.
backend
    What a backend provides (:class:`~coverage_map.store.backend.Backend`), the tables
    both backends share, and :class:`WorkspaceError`.
gpkg
    The embedded backend: a GeoPackage file through SQLite in WAL mode (the default).
syncs
    :class:`SyncRecord`: each sync of a dataset from a live feed (``coverage-map workspace sync``),
    when, from where, what changed or why it failed.
postgis
    The server backend: PostgreSQL + PostGIS, for ``COVERAGE_MAP_DATABASE_URL``.
"""

from .backend import SRID, WorkspaceError, WorkspaceUnavailable
from .syncs import SyncRecord, public_url, without_secrets
from .workspace import (
    DATA_DIR,
    DATABASE_URL,
    LOAD_OPTIONS,
    MAX_NAME_LENGTH,
    REQUIRED_ROLES,
    ROLES,
    WORKSPACE_FILE,
    Added,
    DatasetNotFoundError,
    DatasetRef,
    Workspace,
    open_workspace,
)

__all__ = [
    "DATABASE_URL",
    "DATA_DIR",
    "LOAD_OPTIONS",
    "MAX_NAME_LENGTH",
    "REQUIRED_ROLES",
    "ROLES",
    "SRID",
    "WORKSPACE_FILE",
    "Added",
    "DatasetNotFoundError",
    "DatasetRef",
    "SyncRecord",
    "Workspace",
    "WorkspaceError",
    "WorkspaceUnavailable",
    "open_workspace",
    "public_url",
    "without_secrets",
]
