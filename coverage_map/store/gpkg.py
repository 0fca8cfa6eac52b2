"""The embedded backend: a GeoPackage file, through SQLite, needing no server.

The file is a valid GeoPackage 1.3 (GDAL and QGIS open it): the stored geometries are the
feature table ``cm_geometries`` (EPSG:27700), the datasets an attribute table. SQLite runs
in WAL mode: any number of processes read while one writes, and writers queue
(``BEGIN IMMEDIATE`` with a busy timeout). Switching a new file to WAL retries while another
process holds it (:func:`_use_wal`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.dialects import sqlite as sqlite_dialect

from .at_rest import FILE_MODE, private_umask
from .backend import DATASETS, METADATA, SCOPE_FILL, SRID, Backend, WorkspaceError, init_state

_GPKG_APPLICATION_ID = 0x4750_4B47  # "GPKG"
_GPKG_USER_VERSION = 10300  # GeoPackage 1.3
#: How long a connection waits for the write lock (and for the WAL switch) before giving up.
_SQLITE_BUSY_MS = 60_000

_GPKG_TABLES = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
)
_GPKG_GEOMETRIES = (
    """CREATE TABLE IF NOT EXISTS cm_geometries (
        fid INTEGER PRIMARY KEY AUTOINCREMENT,
        input_id INTEGER NOT NULL REFERENCES cm_inputs(id) ON DELETE CASCADE,
        row_no INTEGER NOT NULL,
        geom GEOMETRY)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS cm_geometries_input_row ON cm_geometries (input_id, row_no)",
)


def _scope_names(engine: sa.Engine) -> None:
    """Migrate a workspace made before names were scoped to their owner (``cm_datasets`` without ``scope``).

    SQLite cannot drop a table's unique constraint, so the table is rebuilt as its documentation says
    (foreign keys off, a new table filled and renamed in one write transaction), so that ``cm_inputs``
    and ``cm_syncs``, which refer to it by name, never lose a row. Another process doing the same waits
    for the write lock and then finds nothing to do.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if "scope" in _columns(cursor) or not _columns(cursor):
            return
        cursor.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        cursor.execute("BEGIN IMMEDIATE")
        try:
            columns = _columns(cursor)
            if columns and "scope" not in columns:
                create = str(sa.schema.CreateTable(DATASETS).compile(dialect=sqlite_dialect.dialect()))
                cursor.execute(create.replace("TABLE cm_datasets ", "TABLE cm_datasets_scoped ", 1))
                names = ", ".join(sorted(columns))
                cursor.execute(f"INSERT INTO cm_datasets_scoped ({names}) SELECT {names} FROM cm_datasets")
                cursor.execute("DROP TABLE cm_datasets")
                cursor.execute("ALTER TABLE cm_datasets_scoped RENAME TO cm_datasets")
                cursor.execute(SCOPE_FILL)
                if cursor.execute("PRAGMA foreign_key_check").fetchall():
                    raise WorkspaceError("the workspace's tables do not agree; it was left as it was")
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()


def _columns(cursor: Any) -> set[str]:
    return {row[1] for row in cursor.execute("PRAGMA table_info(cm_datasets)").fetchall()}


#: Envelope bytes after the 8-byte GeoPackage header, by the envelope indicator in the flags.
_GPKG_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)


class GeoPackage(Backend):
    """The workspace in the GeoPackage file at ``path`` (its folder is created if missing)."""

    kind = "geopackage"

    def __init__(self, path: Path):
        try:
            with private_umask():  # a new folder 0700; a new workspace file 0600 (SQLite's journals follow it)
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            pass
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace folder {path.parent}: {exc.strerror or exc}") from exc
        self.path = path
        self.description = str(path)
        self.engine = sa.create_engine(f"sqlite:///{path}")
        sa.event.listen(self.engine, "connect", _sqlite_connect)
        sa.event.listen(self.engine, "begin", _sqlite_begin)

    def create_schema(self) -> None:
        _scope_names(self.engine)
        with self.writing() as conn:
            created = not conn.exec_driver_sql("PRAGMA application_id").scalar()
            if created:
                conn.exec_driver_sql(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
                conn.exec_driver_sql(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
            for statement in _GPKG_TABLES:
                conn.exec_driver_sql(statement)
            for srs_name, srs_id, organization, definition in _spatial_ref_sys():
                conn.execute(
                    sa.text(
                        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
                        "organization_coordsys_id, definition, description) "
                        "VALUES (:srs_name, :srs_id, :organization, :srs_id, :definition, :srs_name)"
                    ),
                    {
                        "srs_name": srs_name,
                        "srs_id": srs_id,
                        "organization": organization,
                        "definition": definition,
                    },
                )
            METADATA.create_all(conn)
            for statement in _GPKG_GEOMETRIES:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                "VALUES ('cm_geometries', 'features', 'cm_geometries', "
                "'coverage-map workspace: geometries of stored spatial inputs (EPSG:27700)', ?)",
                (SRID,),
            )
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                "VALUES ('cm_datasets', 'attributes', 'cm_datasets', 'coverage-map workspace: datasets')"
            )
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO gpkg_geometry_columns "
                "(table_name, column_name, geometry_type_name, srs_id, z, m) "
                "VALUES ('cm_geometries', 'geom', 'GEOMETRY', ?, 0, 0)",
                (SRID,),
            )
            init_state(conn)
        if created:
            # GDAL recognises a GeoPackage by its file header, which stays in the WAL until a checkpoint.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        # BEGIN DEFERRED: in WAL mode a reader sees one snapshot and never blocks the writer.
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue (busy_timeout)
        # instead of deadlocking when both try to upgrade a read transaction.
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def storage_problems(self, conn: sa.Connection) -> list[str]:
        """SQLite's ``integrity_check`` (anything but ``ok``) and every row whose foreign key points nowhere."""
        checked = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA integrity_check").all()]
        problems = [line for line in checked if line != "ok"]
        for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check").all():
            problems.append(f"{table} row {rowid} refers to a missing row of {parent}")
        return problems

    def insert_geometries(self, conn: sa.Connection, input_id: int, geometries: np.ndarray) -> None:
        # One executemany of plain tuples straight to the driver: no per-row parameter processing.
        rows = [(input_id, row_no, blob) for row_no, blob in enumerate(_gpkg_blobs(geometries), start=1)]
        conn.exec_driver_sql("INSERT INTO cm_geometries (input_id, row_no, geom) VALUES (?, ?, ?)", rows)

    def select_geometries(self, conn: sa.Connection, input_id: int) -> np.ndarray:
        blobs = (
            conn.execute(
                sa.text("SELECT geom FROM cm_geometries WHERE input_id = :input_id ORDER BY row_no"),
                {"input_id": input_id},
            )
            .scalars()
            .all()
        )
        wkb = np.array(
            [None if blob is None else blob[8 + _GPKG_ENVELOPE_BYTES[(blob[3] >> 1) & 0b111] :] for blob in blobs],
            dtype=object,
        )
        return shapely.from_wkb(wkb)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (see _sqlite_begin); pysqlite's own BEGIN would be DEFERRED.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL mode (it stays so), waiting while other processes hold it.

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without its busy timeout, when another process is creating or writing the same new
    workspace. WAL is a property of the file, so only the first connection switches: the
    others see ``wal`` and go on; one that meets the lock tries again.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_MS / 1000
    pause = 0.01
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _spatial_ref_sys() -> list[tuple[str, int, str, str]]:
    """The rows every GeoPackage needs, plus British National Grid."""
    return [
        ("Undefined cartesian SRS", -1, "NONE", "undefined"),
        ("Undefined geographic SRS", 0, "NONE", "undefined"),
        ("WGS 84 geodetic", 4326, "EPSG", CRS.from_epsg(4326).to_wkt("WKT1_GDAL")),
        (
            "OSGB36 / British National Grid",
            SRID,
            "EPSG",
            CRS.from_epsg(SRID).to_wkt("WKT1_GDAL"),
        ),
    ]


def _gpkg_blobs(geometries: np.ndarray) -> list[bytes | None]:
    """GeoPackage binary geometries: header (magic, flags, SRS id, xy envelope) + ISO WKB."""
    wkb = shapely.to_wkb(geometries, byte_order=1, flavor="iso")
    bounds = shapely.bounds(geometries)
    empty = shapely.is_empty(geometries)
    blobs: list[bytes | None] = []
    for shape_wkb, box, is_empty in zip(wkb, bounds, empty, strict=True):
        if shape_wkb is None:
            blobs.append(None)
        elif is_empty:
            blobs.append(struct.pack("<2sBBi", b"GP", 0, 0b0001_0001, SRID) + shape_wkb)
        else:
            minx, miny, maxx, maxy = box
            blobs.append(struct.pack("<2sBBi4d", b"GP", 0, 0b0000_0011, SRID, minx, maxx, miny, maxy) + shape_wkb)
    return blobs
