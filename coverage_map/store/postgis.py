"""The server backend: PostgreSQL + PostGIS, chosen by a ``postgresql://...`` URL.

The stored geometries are a ``geometry(Geometry, 27700)`` column with a GiST index. Writers
queue on a transaction-scoped advisory lock; a reader sees one snapshot (``REPEATABLE READ``),
so a concurrent removal cannot tear a load in half. The URL carries a password: only its
redacted form (:attr:`PostGIS.description`) is ever shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import shapely
import sqlalchemy as sa

from .backend import METADATA, SCOPE_FILL, SRID, Backend, WorkspaceError, first_line, init_state

#: Serialises writers on PostgreSQL (pg_advisory_xact_lock key; any constant will do).
_PG_LOCK_KEY = 0x636F_7665_7261_6765

_PG_GEOMETRIES = (
    f"""CREATE TABLE IF NOT EXISTS cm_geometries (
        input_id BIGINT NOT NULL REFERENCES cm_inputs(id) ON DELETE CASCADE,
        row_no INTEGER NOT NULL,
        geom geometry(Geometry, {SRID}),
        PRIMARY KEY (input_id, row_no))""",
    "CREATE INDEX IF NOT EXISTS cm_geometries_geom ON cm_geometries USING gist (geom)",
)


class PostGIS(Backend):
    """The workspace in the PostgreSQL database at ``url`` (PostGIS is added if the user may)."""

    kind = "postgis"

    def __init__(self, url: str):
        try:
            parsed = sa.engine.make_url(url)
        except (sa.exc.ArgumentError, ValueError):
            # SQLAlchemy's message may repeat the whole URL, password included.
            raise WorkspaceError(
                "cannot parse the PostgreSQL URL; the form is postgresql://user:password@host:5432/dbname "
                "(percent-encode special characters in the password)"
            ) from None
        if parsed.drivername in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.description = parsed.render_as_string(hide_password=True)
        self.engine = sa.create_engine(parsed, pool_pre_ping=True)

    def create_schema(self) -> None:
        with self.writing() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first() is None:
                try:
                    with conn.begin_nested():
                        conn.exec_driver_sql("CREATE EXTENSION postgis")
                except sa.exc.SQLAlchemyError as exc:
                    raise WorkspaceError(
                        f"the database {self.description} has no PostGIS and this user cannot add it "
                        f"({first_line(exc)}); ask its administrator to run CREATE EXTENSION postgis"
                    ) from exc
            METADATA.create_all(conn)
            _scope_names(conn)
            for statement in _PG_GEOMETRIES:
                conn.exec_driver_sql(statement)
            init_state(conn)

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        # One snapshot for the whole read, so a concurrent remove cannot tear a load in half.
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn

    def insert_geometries(self, conn: sa.Connection, input_id: int, geometries: np.ndarray) -> None:
        wkb = shapely.to_wkb(geometries, byte_order=1, flavor="iso")
        rows = [
            {"input_id": input_id, "row_no": row_no, "wkb": shape_wkb} for row_no, shape_wkb in enumerate(wkb, start=1)
        ]
        conn.execute(
            sa.text(
                f"INSERT INTO cm_geometries (input_id, row_no, geom) "
                f"VALUES (:input_id, :row_no, ST_GeomFromWKB(CAST(:wkb AS bytea), {SRID}))"
            ),
            rows,
        )

    def select_geometries(self, conn: sa.Connection, input_id: int) -> np.ndarray:
        blobs = (
            conn.execute(
                sa.text("SELECT ST_AsBinary(geom) FROM cm_geometries WHERE input_id = :input_id ORDER BY row_no"),
                {"input_id": input_id},
            )
            .scalars()
            .all()
        )
        return shapely.from_wkb(np.array([None if blob is None else bytes(blob) for blob in blobs], dtype=object))


def _scope_names(conn: sa.Connection) -> None:
    """Migrate a workspace made before names were scoped to their owner (under the write lock)."""
    found = conn.exec_driver_sql(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'cm_datasets' AND column_name = 'scope'"
    ).first()
    if found is not None:
        return
    conn.exec_driver_sql("ALTER TABLE cm_datasets ADD COLUMN scope TEXT NOT NULL DEFAULT ''")
    conn.exec_driver_sql(SCOPE_FILL)
    conn.exec_driver_sql("ALTER TABLE cm_datasets DROP CONSTRAINT IF EXISTS cm_datasets_name_version")
    conn.exec_driver_sql(
        "ALTER TABLE cm_datasets ADD CONSTRAINT cm_datasets_name_scope_version UNIQUE (name, scope, version)"
    )
