"""A shared, persistent store of named, versioned datasets: a GeoPackage file or PostGIS.

A *dataset* is a named bundle of input files by role (``areas``, ``lookup``,
``population``, ``assets``, ``referrals``, ``taxonomy``), e.g. ``gm-2026``. Adding the
same name again creates the next version. Everything is validated with
:func:`~coverage_map.loaders.load_inputs` before it is stored, so nothing invalid gets in,
and loading runs the loaders again on the stored copy, so a loaded dataset is exactly what
the same files would give.

What is stored, per role:

* CSV files and the taxonomy TOML: the file's bytes, as given (they are the truth: row
  numbers, text cells and encodings all survive);
* spatial files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet): the attributes as
  a Parquet blob and every feature's geometry, in EPSG:27700, in a geometry column
  (``cm_geometries.geom``: a GeoPackage feature table, or a PostGIS
  ``geometry(Geometry, 27700)`` column), one row per feature in file order;
* per dataset: name, version, created_at, owner, published flag, the load options, the
  source file names and row counts, and the validation report (the non-fatal problems).

Two backends share this code:

* the default, a GeoPackage file ``workspace.gpkg`` in ``COVERAGE_MAP_DATA_DIR`` (default
  ``instance/`` in the project), needing no server. SQLite runs in WAL mode: any number of
  processes read while one writes, and writers queue (``BEGIN IMMEDIATE``);
* PostgreSQL + PostGIS when ``COVERAGE_MAP_DATABASE_URL=postgresql://...`` is set. Writers
  queue on a transaction-scoped advisory lock; readers see one snapshot.

Privacy: a dataset added with an ``owner`` (a dashboard session token) and not yet published
is visible to that owner only. Only a SHA-256 digest of the token is stored, so a listing
never reveals another session's token.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import re
import sqlite3
import struct
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import shapely
import sqlalchemy as sa
from pyproj import CRS
from sqlalchemy.dialects import sqlite

from .config import METRIC_CRS, PROJECT_DIR
from .errors import CoverageMapError, Problem
from .ingest import load_inputs
from .ingest.readers import read_any
from .model import Inputs, SourceInfo

#: Folder of the embedded workspace and of the workspace's scratch files (read once at start-up).
DATA_DIR = Path(os.environ.get("COVERAGE_MAP_DATA_DIR") or PROJECT_DIR / "instance")
#: ``postgresql://user:password@host/db`` switches to PostGIS. It carries a password: never print it.
DATABASE_URL = os.environ.get("COVERAGE_MAP_DATABASE_URL") or None
#: File name of the embedded workspace inside the data folder.
WORKSPACE_FILE = "workspace.gpkg"
#: File arguments of :func:`~coverage_map.loaders.load_inputs` a dataset may hold.
ROLES = (
    "areas",
    "lookup",
    "population",
    "assets",
    "referrals",
    "taxonomy",
    "groups",
    "practices",
)
REQUIRED_ROLES = ("areas", "assets")
SRID = 27700
MAX_NAME_LENGTH = 100

#: Serialises writers on PostgreSQL (pg_advisory_xact_lock key; any constant will do).
_PG_LOCK_KEY = 0x636F_7665_7261_6765
_GPKG_APPLICATION_ID = 0x4750_4B47  # "GPKG"
_GPKG_USER_VERSION = 10300  # GeoPackage 1.3
_POSTGRES_URL = re.compile(r"postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class WorkspaceError(CoverageMapError):
    """The workspace cannot be opened or written, or a request to it makes no sense."""


class DatasetNotFoundError(WorkspaceError):
    """No dataset (or version) of that name is visible to the caller."""


@dataclass(frozen=True)
class DatasetRef:
    """One stored version of a dataset, as listed.

    ``owner`` is a SHA-256 digest of the owner's token (never the token itself), or None
    for datasets added for the whole workspace (the command line). ``sources`` name the
    files as given (file name only) with the rows kept after validation; ``problems`` is the
    number of rows the validation rejected or repaired.
    """

    name: str
    version: int
    created_at: dt.datetime
    owner: str | None
    published: bool
    sources: tuple[SourceInfo, ...]
    problems: int

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def rows(self) -> dict[str, int]:
        """Rows kept after validation, by role."""
        return {source.role: source.rows for source in self.sources}


@dataclass(frozen=True)
class Added:
    """What :meth:`Workspace.add` stored, and the validated inputs (no need to load them again)."""

    ref: DatasetRef
    inputs: Inputs

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The validation report: every row rejected or repaired (never a fatal problem)."""
        return self.inputs.problems


def open_workspace(url: str | Path | None = None, *, data_dir: str | Path | None = None) -> Workspace:
    """Open (creating its tables if needed) the workspace at ``url``.

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/db`` for PostGIS (the ``postgis`` extension
        must be installed, or creatable by the user), or the path of a GeoPackage file (a
        folder means its ``workspace.gpkg``). None uses ``COVERAGE_MAP_DATABASE_URL`` when
        set, else ``workspace.gpkg`` in the data folder.
    data_dir
        Folder for the default GeoPackage and for scratch files; default
        ``COVERAGE_MAP_DATA_DIR`` (or ``instance/`` in the project). A GeoPackage given by
        path keeps its scratch files beside it.

    Raises
    ------
    WorkspaceError
        The URL is not understood, or the database cannot be reached or prepared.
    """
    target = url if url is not None else DATABASE_URL
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    backend: _Backend
    if target is None:
        backend = _GeoPackage(folder / WORKSPACE_FILE)
    elif isinstance(target, str) and _POSTGRES_URL.match(target):
        backend = _PostGIS(target)
    elif isinstance(target, str) and _URL_SCHEME.match(target):
        raise WorkspaceError(
            f"unsupported workspace URL scheme in '{target.split('://')[0]}://...': give a postgresql://... URL "
            "or the path of a .gpkg file"
        )
    else:
        path = Path(target)
        if path.is_dir() or not path.suffix:
            path = path / WORKSPACE_FILE
        if path.suffix.lower() != ".gpkg":
            raise WorkspaceError(f"a workspace file must be a GeoPackage ending in .gpkg, not '{path.name}'")
        backend = _GeoPackage(path)
        folder = Path(data_dir) if data_dir is not None else path.parent
    workspace = Workspace(backend, scratch=folder / "tmp")
    try:
        backend.create_schema()
    except sa.exc.SQLAlchemyError as exc:
        backend.engine.dispose()
        raise WorkspaceError(f"cannot open the workspace {backend.description}: {_first_line(exc)}") from exc
    return workspace


class Workspace:
    """Named, versioned datasets in a GeoPackage or PostGIS database (see :func:`open_workspace`).

    One instance per process is enough (it pools its connections); it is safe to share
    between threads. After ``fork`` (gunicorn with ``--preload``) open a new one in each worker.
    """

    def __init__(self, backend: _Backend, *, scratch: Path):
        self._backend = backend
        self._scratch = scratch
        # Close pooled connections when the workspace is dropped or the process exits.
        weakref.finalize(self, backend.engine.dispose)

    # ------------------------------------------------------------------ reading

    @property
    def backend(self) -> str:
        """``geopackage`` or ``postgis``."""
        return self._backend.kind

    @property
    def description(self) -> str:
        """Where the workspace lives, with any password hidden."""
        return self._backend.description

    def __repr__(self) -> str:
        return f"<Workspace {self.backend} {self.description}>"

    def list(self, *, owner: str | None = None, include_private: bool = False) -> builtins.list[DatasetRef]:
        """Every version visible to ``owner``, by name then version.

        Published datasets are visible to all; unpublished ones only to their owner, or to
        everyone with ``include_private`` (the command line, an administrator).
        """
        query = sa.select(_DATASETS).where(_visible(_owner_key(owner), include_private))
        with self._backend.reading() as conn:
            rows = conn.execute(query.order_by(_DATASETS.c.name, _DATASETS.c.version)).mappings().all()
        return [_ref(row) for row in rows]

    def ref(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
    ) -> DatasetRef:
        """The given version (default: the latest visible one) of ``name``."""
        with self._backend.reading() as conn:
            return _ref(_find(conn, name, version, _visible(_owner_key(owner), include_private)))

    def load(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
    ) -> Inputs:
        """Load and validate a stored dataset, as :func:`~coverage_map.loaders.load_inputs` would.

        ``version`` None means the latest version visible to ``owner``. The problems and
        sources of the result are those reported when the dataset was added (file names
        as given). ``Dataset.from_inputs(workspace.load(name))`` gives the dashboard's dataset.

        Raises
        ------
        DatasetNotFoundError
            No such dataset or version is visible to ``owner``.
        """
        with self._backend.reading() as conn:
            row = _find(conn, name, version, _visible(_owner_key(owner), include_private))
            stored = (
                conn.execute(sa.select(_INPUTS).where(_INPUTS.c.dataset_id == row["id"]).order_by(_INPUTS.c.id))
                .mappings()
                .all()
            )
            geometries = {
                item["id"]: self._backend.select_geometries(conn, item["id"])
                for item in stored
                if item["storage"] == "table"
            }
        options = json.loads(row["options"])
        self._scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._scratch, prefix="load-") as scratch:
            paths = {item["role"]: _materialise(item, geometries.get(item["id"]), Path(scratch)) for item in stored}
            arguments: dict[str, Any] = {**paths, **options}
            inputs = load_inputs(**arguments)
        return dataclasses.replace(
            inputs,
            problems=tuple(Problem(**problem) for problem in json.loads(row["problems"])),
            sources=tuple(SourceInfo(**source) for source in json.loads(row["sources"])),
        )

    def version_token(self) -> str:
        """A cheap token that changes whenever anything is added, published or removed.

        Workers compare it with the token they cached data under to know when to reload.
        """
        with self._backend.reading() as conn:
            value = conn.execute(sa.select(_STATE.c.value).where(_STATE.c.key == "generation")).scalar_one()
        return str(value)

    # ------------------------------------------------------------------ writing

    def add(
        self,
        name: str,
        paths: Mapping[str, str | Path | None],
        *,
        owner: str | None = None,
        publish: bool = False,
        **options: Any,
    ) -> Added:
        """Validate files by role and store them as the next version of ``name``.

        Parameters
        ----------
        name
            Dataset name, e.g. ``gm-2026`` (1 to 100 characters, no control characters).
        paths
            Files by role (:data:`ROLES`): ``areas`` and ``assets`` are required; the
            others (``lookup``, ``population``, ``referrals``, ``taxonomy``...) are optional
            (None = absent).
        owner
            The session token of the dashboard user adding it, or None for the workspace
            as a whole. Until published, only that owner can list and load it.
        publish
            Publish at once (visible to every user and worker).
        **options
            Other arguments of :func:`~coverage_map.loaders.load_inputs` (``area_id_col``,
            ``area_name_col``, ``crs``, ``lookup_levels``...); kept (as JSON) and reused on load.

        Returns
        -------
        Added
            The new version's reference and the validated inputs; ``added.problems`` is the
            validation report (rows rejected or repaired).

        Raises
        ------
        ValidationError
            A file has a fatal problem (every problem of every file is listed); nothing is stored.
        WorkspaceError
            A bad name or role, or the database cannot be written.
        """
        name = _check_name(name)
        files = _check_paths(paths)
        owner_key = _owner_key(owner)
        options = {key: value for key, value in options.items() if value is not None}
        try:
            options_json = json.dumps(options)
        except TypeError as exc:
            raise WorkspaceError(f"load options must be text, numbers, lists or mappings of them: {exc}") from exc
        arguments: dict[str, Any] = {**files, **options}
        inputs = _as_given(load_inputs(**arguments), files)
        stored = [_stored_input(role, path, crs=options.get("crs")) for role, path in files.items()]
        created_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        record = {
            "name": name,
            "created_at": created_at,
            "owner": owner_key,
            "published": publish,
            "options": options_json,
            "sources": json.dumps([dataclasses.asdict(source) for source in inputs.sources]),
            "problems": json.dumps([dataclasses.asdict(problem) for problem in inputs.problems]),
        }
        with self._writing() as conn:
            version = _next_version(conn, name)
            dataset_id = conn.execute(
                sa.insert(_DATASETS).values(version=version, **record).returning(_DATASETS.c.id)
            ).scalar_one()
            for item in stored:
                input_id = conn.execute(
                    sa.insert(_INPUTS)
                    .values(
                        dataset_id=dataset_id,
                        role=item.role,
                        file_name=item.file_name,
                        storage=item.storage,
                        content=item.content,
                        features=item.features,
                    )
                    .returning(_INPUTS.c.id)
                ).scalar_one()
                if item.geometries is not None:
                    self._backend.insert_geometries(conn, input_id, item.geometries)
            _bump_generation(conn)
            row = conn.execute(sa.select(_DATASETS).where(_DATASETS.c.id == dataset_id)).mappings().one()
        return Added(_ref(row), inputs)

    def publish(self, name: str, version: int | None = None, *, owner: str | None = None) -> DatasetRef:
        """Make a version (default: the latest) visible to every user and worker.

        With ``owner``, only that owner's versions can be published.
        """
        with self._writing() as conn:
            row = _find(conn, name, version, _owned(_owner_key(owner)))
            conn.execute(sa.update(_DATASETS).where(_DATASETS.c.id == row["id"]).values(published=True))
            _bump_generation(conn)
            row = conn.execute(sa.select(_DATASETS).where(_DATASETS.c.id == row["id"])).mappings().one()
        return _ref(row)

    def remove(self, name: str, version: int | None = None, *, owner: str | None = None) -> int:
        """Delete one version, or every version when ``version`` is None; returns how many.

        With ``owner``, only that owner's versions are deleted. Version numbers are never
        reused: the next ``add`` of the name still gets a new number.
        """
        condition = sa.and_(_DATASETS.c.name == name, _owned(_owner_key(owner)))
        if version is not None:
            condition = sa.and_(condition, _DATASETS.c.version == version)
        with self._writing() as conn:
            ids = conn.execute(sa.select(_DATASETS.c.id).where(condition)).scalars().all()
            if not ids:
                raise DatasetNotFoundError(_not_found(name, version))
            # Children first, rather than relying on ON DELETE CASCADE being switched on.
            input_ids = conn.execute(sa.select(_INPUTS.c.id).where(_INPUTS.c.dataset_id.in_(ids))).scalars().all()
            if input_ids:
                conn.execute(
                    sa.text("DELETE FROM cm_geometries WHERE input_id IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": list(input_ids)},
                )
            conn.execute(sa.delete(_INPUTS).where(_INPUTS.c.dataset_id.in_(ids)))
            conn.execute(sa.delete(_DATASETS).where(_DATASETS.c.id.in_(ids)))
            _bump_generation(conn)
        return len(ids)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the pooled connections (the workspace can still be used; it reconnects)."""
        self._backend.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        try:
            with self._backend.writing() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise WorkspaceError(f"cannot write to the workspace {self.description}: {_first_line(exc)}") from exc


# =========================================================================== schema

_METADATA = sa.MetaData()
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

_DATASETS = sa.Table(
    "cm_datasets",
    _METADATA,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TIMESTAMP, nullable=False),
    sa.Column("owner", sa.Text),  # SHA-256 of the owner's token
    sa.Column("published", sa.Boolean, nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # JSON: load_inputs options
    sa.Column("sources", sa.Text, nullable=False),  # JSON: SourceInfo records
    sa.Column("problems", sa.Text, nullable=False),  # JSON: the validation report
    sa.UniqueConstraint("name", "version", name="cm_datasets_name_version"),
)
_INPUTS = sa.Table(
    "cm_inputs",
    _METADATA,
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
#: The last version number given to each name, so numbers are never reused after a removal.
_NAMES = sa.Table(
    "cm_names",
    _METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("last_version", sa.Integer, nullable=False),
)
_STATE = sa.Table(
    "cm_state",
    _METADATA,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def _visible(owner_key: str | None, include_private: bool) -> sa.ColumnElement[bool]:
    if include_private:
        return sa.true()
    if owner_key is None:
        return _DATASETS.c.published == sa.true()
    return sa.or_(_DATASETS.c.published == sa.true(), _DATASETS.c.owner == owner_key)


def _owned(owner_key: str | None) -> sa.ColumnElement[bool]:
    return sa.true() if owner_key is None else _DATASETS.c.owner == owner_key


def _find(
    conn: sa.Connection,
    name: str,
    version: int | None,
    condition: sa.ColumnElement[bool],
) -> Any:
    query = sa.select(_DATASETS).where(_DATASETS.c.name == name, condition)
    if version is not None:
        query = query.where(_DATASETS.c.version == version)
    row = conn.execute(query.order_by(_DATASETS.c.version.desc()).limit(1)).mappings().first()
    if row is None:
        raise DatasetNotFoundError(_not_found(name, version))
    return row


def _not_found(name: str, version: int | None) -> str:
    # Says nothing about datasets the caller may not see.
    which = f"version {version} of '{name}'" if version is not None else f"dataset '{name}'"
    return f"no {which} visible here; `coverage-map workspace list` shows the datasets"


def _next_version(conn: sa.Connection, name: str) -> int:
    last = conn.execute(sa.select(_NAMES.c.last_version).where(_NAMES.c.name == name)).scalar_one_or_none()
    if last is None:
        conn.execute(sa.insert(_NAMES).values(name=name, last_version=1))
        return 1
    conn.execute(sa.update(_NAMES).where(_NAMES.c.name == name).values(last_version=last + 1))
    return int(last) + 1


def _bump_generation(conn: sa.Connection) -> None:
    conn.execute(sa.update(_STATE).where(_STATE.c.key == "generation").values(value=_STATE.c.value + 1))


def _init_state(conn: sa.Connection) -> None:
    if conn.execute(sa.select(_STATE.c.value).where(_STATE.c.key == "generation")).first() is None:
        conn.execute(sa.insert(_STATE).values(key="generation", value=0))


def _ref(row: Any) -> DatasetRef:
    created_at = row["created_at"]
    if created_at.tzinfo is None:  # SQLite keeps no offset; everything is written in UTC
        created_at = created_at.replace(tzinfo=dt.UTC)
    return DatasetRef(
        name=row["name"],
        version=int(row["version"]),
        created_at=created_at,
        owner=row["owner"],
        published=bool(row["published"]),
        sources=tuple(SourceInfo(**source) for source in json.loads(row["sources"])),
        problems=len(json.loads(row["problems"])),
    )


# =========================================================================== storing and materialising


@dataclass(frozen=True)
class _StoredInput:
    role: str
    file_name: str
    storage: str
    content: bytes
    features: int
    geometries: np.ndarray | None


def _check_name(name: str) -> str:
    cleaned = str(name).strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or _CONTROL.search(cleaned):
        raise WorkspaceError(
            f"a dataset name must be 1 to {MAX_NAME_LENGTH} characters without control characters, not {name!r}"
        )
    return cleaned


def _check_paths(paths: Mapping[str, str | Path | None]) -> dict[str, Path]:
    unknown = sorted(set(paths) - set(ROLES))
    if unknown:
        raise WorkspaceError(f"unknown role(s) {', '.join(unknown)}: the roles are {', '.join(ROLES)}")
    files = {role: Path(paths[role]) for role in ROLES if paths.get(role) is not None}  # type: ignore[arg-type]
    missing = [role for role in REQUIRED_ROLES if role not in files]
    if missing:
        raise WorkspaceError(f"a dataset needs {' and '.join(missing)}")
    return files


def _owner_key(owner: str | None) -> str | None:
    if owner is None:
        return None
    if not owner:
        raise WorkspaceError("an owner must be a non-empty session token, or None for the whole workspace")
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()


def _as_given(inputs: Inputs, files: Mapping[str, Path]) -> Inputs:
    """The inputs with files named as given (file name only), not by a local or temporary path."""
    names = {str(path): path.name for path in files.values()}
    return dataclasses.replace(
        inputs,
        problems=tuple(dataclasses.replace(p, file=names.get(p.file, p.file)) for p in inputs.problems),
        sources=tuple(dataclasses.replace(s, path=names.get(s.path, s.path)) for s in inputs.sources),
    )


def _stored_input(role: str, path: Path, *, crs: str | None) -> _StoredInput:
    """Text files keep their bytes; spatial files become attributes + EPSG:27700 geometries."""
    if role != "taxonomy" and path.suffix.lower() != ".csv":
        frame, _ = read_any(path, crs=crs)
        if isinstance(frame, gpd.GeoDataFrame):
            if frame.crs is not None and not frame.crs.equals(METRIC_CRS):
                frame = frame.to_crs(METRIC_CRS)
            geometries = shapely.force_2d(frame.geometry.to_numpy())
            attributes = pd.DataFrame(frame.drop(columns=[frame.active_geometry_name, "_source_row"]))
            return _StoredInput(role, path.name, "table", _parquet(attributes), len(frame), geometries)
    return _StoredInput(role, path.name, "file", path.read_bytes(), 0, None)


def _parquet(attributes: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    try:
        attributes.to_parquet(buffer, index=False)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        # A column mixing types (rare in spatial formats): keep its values as text.
        mixed = [column for column in attributes.columns if attributes[column].dtype == object]
        text = attributes.astype({column: "str" for column in mixed})
        buffer = io.BytesIO()
        text.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _materialise(item: Any, geometries: np.ndarray | None, folder: Path) -> Path:
    """Write one stored input as a file the loaders read exactly as they read the original."""
    target = folder / item["role"]
    target.mkdir()
    if item["storage"] == "file":
        path = target / item["file_name"]
        path.write_bytes(item["content"])
        return path
    assert geometries is not None
    attributes = pd.read_parquet(io.BytesIO(item["content"]))
    if len(attributes.columns) == 0:  # Parquet cannot count the rows of a table without columns
        attributes = pd.DataFrame(index=pd.RangeIndex(int(item["features"])))
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geometries, crs=METRIC_CRS))
    path = target / f"{Path(item['file_name']).stem}.parquet"
    frame.to_parquet(path, index=False)
    return path


# =========================================================================== backends


class _Backend:
    kind: str
    description: str
    engine: sa.Engine

    def create_schema(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        raise NotImplementedError
        yield  # pragma: no cover

    def insert_geometries(self, conn: sa.Connection, input_id: int, geometries: np.ndarray) -> None:
        raise NotImplementedError

    def select_geometries(self, conn: sa.Connection, input_id: int) -> np.ndarray:
        raise NotImplementedError


# --------------------------------------------------------------------------- GeoPackage

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
#: Envelope bytes after the 8-byte GeoPackage header, by the envelope indicator in the flags.
_GPKG_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)


class _GeoPackage(_Backend):
    kind = "geopackage"

    def __init__(self, path: Path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create the workspace folder {path.parent}: {exc.strerror or exc}") from exc
        self.path = path
        self.description = str(path)
        self.engine = sa.create_engine(f"sqlite:///{path}")
        sa.event.listen(self.engine, "connect", _sqlite_connect)
        sa.event.listen(self.engine, "begin", _sqlite_begin)

    def create_schema(self) -> None:
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
            _METADATA.create_all(conn)
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
            _init_state(conn)
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

    def insert_geometries(self, conn: sa.Connection, input_id: int, geometries: np.ndarray) -> None:
        rows = [
            {"input_id": input_id, "row_no": row_no, "geom": blob}
            for row_no, blob in enumerate(_gpkg_blobs(geometries), start=1)
        ]
        conn.execute(
            sa.text("INSERT INTO cm_geometries (input_id, row_no, geom) VALUES (:input_id, :row_no, :geom)"),
            rows,
        )

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


_SQLITE_BUSY_MS = 60_000


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


# --------------------------------------------------------------------------- PostGIS

_PG_GEOMETRIES = (
    f"""CREATE TABLE IF NOT EXISTS cm_geometries (
        input_id BIGINT NOT NULL REFERENCES cm_inputs(id) ON DELETE CASCADE,
        row_no INTEGER NOT NULL,
        geom geometry(Geometry, {SRID}),
        PRIMARY KEY (input_id, row_no))""",
    "CREATE INDEX IF NOT EXISTS cm_geometries_geom ON cm_geometries USING gist (geom)",
)


class _PostGIS(_Backend):
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
                        f"({_first_line(exc)}); ask its administrator to run CREATE EXTENSION postgis"
                    ) from exc
            _METADATA.create_all(conn)
            for statement in _PG_GEOMETRIES:
                conn.exec_driver_sql(statement)
            _init_state(conn)

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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
