"""What the workspace asks of a storage backend, and the tables every backend creates.

:class:`Backend` is the contract: create the schema, open a reading or a writing
transaction, and store or fetch the geometries of one stored input. The bookkeeping tables
(``cm_datasets``, ``cm_inputs``, ``cm_syncs``, ``cm_names``, ``cm_state``) are the same on both backends
and are defined once here; only the geometry table differs (a GeoPackage feature table, or
a PostGIS ``geometry(Geometry, 27700)`` column).
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ..errors import CoverageMapError

#: EPSG code of every stored geometry (British National Grid).
SRID = 27700


class WorkspaceError(CoverageMapError):
    """The workspace cannot be opened or written, or a request to it makes no sense."""


class WorkspaceUnavailable(WorkspaceError):
    """The workspace's database cannot be reached or written (an outage, not a mistake in the request).

    Its message names the database (for the operator); show visitors a generic message instead.
    """


class Backend(abc.ABC):
    """A database the workspace stores its datasets in.

    One instance per workspace; it owns the connection pool (``engine``).
    """

    #: ``geopackage`` or ``postgis``.
    kind: str
    #: Where the database lives, with any password hidden.
    description: str
    engine: sa.Engine

    @abc.abstractmethod
    def create_schema(self) -> None:
        """Create the tables that are missing (safe while other processes do the same)."""

    @abc.abstractmethod
    def reading(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A transaction that sees one snapshot and never blocks a writer."""

    @abc.abstractmethod
    def writing(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """A transaction that holds the write lock, so that writers queue."""

    @abc.abstractmethod
    def insert_geometries(self, conn: sa.Connection, input_id: int, geometries: np.ndarray) -> None:
        """Store one input's geometries (EPSG:27700), one row per feature in file order."""

    @abc.abstractmethod
    def select_geometries(self, conn: sa.Connection, input_id: int) -> np.ndarray:
        """One input's geometries, in file order."""

    def storage_problems(self, conn: sa.Connection) -> list[str]:
        """What the database's own consistency check finds (none by default: the server looks after itself)."""
        return []


# --------------------------------------------------------------------------- the shared tables

METADATA = sa.MetaData()
#: SQLite only auto-numbers an INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: GeoPackage DATETIME values are ISO 8601 in UTC with a Z (what GDAL and QGIS expect).
_TIMESTAMP = sa.DateTime(timezone=True).with_variant(
    sqlite.DATETIME(
        storage_format="%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d.000Z",
        regexp=r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)",
    ),
    "sqlite",
)

DATASETS = sa.Table(
    "cm_datasets",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TIMESTAMP, nullable=False),
    sa.Column("owner", sa.Text),  # SHA-256 of the owner's token
    sa.Column("published", sa.Boolean, nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # JSON: load_inputs options
    sa.Column("sources", sa.Text, nullable=False),  # JSON: SourceInfo records
    sa.Column("problems", sa.Text, nullable=False),  # JSON: the validation report
    # Whose sequence the version is numbered in: '' for published datasets and the workspace's own, the
    # owner's digest for a session's private ones (so saving a name another session uses reveals nothing).
    sa.Column("scope", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("name", "scope", "version", name="cm_datasets_name_scope_version"),
)
#: Statements that bring a workspace made before names were scoped to their owner up to date (see
#: each backend's ``_scope_names``): private versions move into their owner's scope, keeping their numbers.
SCOPE_FILL = "UPDATE cm_datasets SET scope = owner WHERE owner IS NOT NULL AND NOT published"
INPUTS = sa.Table(
    "cm_inputs",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column(
        "dataset_id",
        _ID,
        sa.ForeignKey("cm_datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("storage", sa.Text, nullable=False),  # "file": the bytes; "table": Parquet attributes + geometries
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("features", sa.Integer, nullable=False),
    sa.UniqueConstraint("dataset_id", "role", name="cm_inputs_dataset_role"),
)
#: Each sync of a dataset from a live feed (``coverage-map workspace sync``): when, from where, and what changed.
#: A successful sync points at the version it made; a failed one at the version it kept.
SYNCS = sa.Table(
    "cm_syncs",
    METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", _ID, sa.ForeignKey("cm_datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("base_version", sa.Integer),  # the version the new one was compared with
    sa.Column("synced_at", _TIMESTAMP, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("diff", sa.Text, nullable=False),  # JSON: {"added": [ids], "removed": [...], "changed": [...]}
)
#: The last version number given to each name, so numbers are never reused after a removal. A name in an
#: owner's private scope is kept as ``<US><owner digest><US><name>`` (US, the unit separator, is never in a name).
NAMES = sa.Table(
    "cm_names",
    METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("last_version", sa.Integer, nullable=False),
)
STATE = sa.Table(
    "cm_state",
    METADATA,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def stored_time(moment: dt.datetime) -> dt.datetime:
    """A timestamp read back from either backend, timezone-aware (SQLite keeps no offset; all are written in UTC)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def init_state(conn: sa.Connection) -> None:
    """Start the generation counter behind :meth:`Workspace.version_token` (once per database)."""
    if conn.execute(sa.select(STATE.c.value).where(STATE.c.key == "generation")).first() is None:
        conn.execute(sa.insert(STATE).values(key="generation", value=0))


def first_line(exc: BaseException) -> str:
    """The first line of a database error (the driver's own message when there is one), for a short message."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
