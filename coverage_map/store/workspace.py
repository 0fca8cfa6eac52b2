"""The workspace itself, whatever the backend: datasets, versions, publishing, what is saved.

A *dataset* is an :class:`~coverage_map.spec.InputSpec` stored under a name, e.g.
``gm-2026``: its input files by role (every role of :data:`~coverage_map.spec.FILE_ROLES`:
``areas``, ``lookup``, ``population``, ``assets``, ``referrals``, ``practices``, ``groups``,
``taxonomy``, ``origins``, ``travel_times``, ``imd``) and its load options. Adding the same
name again creates the next version. Everything is validated with
:meth:`InputSpec.load <coverage_map.spec.InputSpec.load>` before it is stored, so nothing
invalid gets in, and loading runs the loaders again on the stored copy with the stored
options, so a loaded dataset is exactly what the same spec would give.

What is stored, per role:

* CSV files and the taxonomy TOML: the file's bytes, as given (they are the truth: row
  numbers, text cells and encodings all survive);
* spatial files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet): the attributes as
  a Parquet blob and every feature's geometry, in EPSG:27700, in a geometry column
  (``cm_geometries.geom``: a GeoPackage feature table, or a PostGIS
  ``geometry(Geometry, 27700)`` column), one row per feature in file order;
* per dataset: name, version, created_at, owner, published flag, the spec's load options
  (:data:`~coverage_map.spec.OPTION_KEYS`, as :meth:`InputSpec.to_mapping
  <coverage_map.spec.InputSpec.to_mapping>` writes them), the source file names and row
  counts, and the validation report (the non-fatal problems).

:func:`open_workspace` picks the backend: the GeoPackage file ``workspace.gpkg`` in
``COVERAGE_MAP_DATA_DIR`` by default (:mod:`~coverage_map.store.gpkg`), or PostgreSQL +
PostGIS when ``COVERAGE_MAP_DATABASE_URL=postgresql://...`` is set
(:mod:`~coverage_map.store.postgis`).

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
import json
import os
import re
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import sqlalchemy as sa

from ..config import PROJECT_DIR
from ..errors import CoverageMapError, Problem
from ..ingest.oruk.diff import ServiceDiff
from ..model import Inputs, SourceInfo, proposed_rows
from ..spec import FILE_ROLES, MORE_POPULATION, OPTION_KEYS, REQUIRED_ROLES, InputSpec
from .at_rest import private_umask, sweep_scratch
from .backend import (
    DATASETS,
    INPUTS,
    STATE,
    SYNCS,
    Backend,
    WorkspaceError,
    WorkspaceUnavailable,
    first_line,
    stored_time,
)
from .files import StoredInput, materialise, stored_input
from .gpkg import GeoPackage
from .integrity import check_integrity
from .postgis import PostGIS
from .scopes import next_version, owned, scope_of, visible, within
from .syncs import SyncRecord, select_syncs, sync_values

#: Folder of the embedded workspace and of the workspace's scratch files (read once at start-up).
DATA_DIR = Path(os.environ.get("COVERAGE_MAP_DATA_DIR") or PROJECT_DIR / "instance")
#: ``postgresql://user:password@host/db`` switches to PostGIS. It carries a password: never print it.
DATABASE_URL = os.environ.get("COVERAGE_MAP_DATABASE_URL") or None
#: File name of the embedded workspace inside the data folder.
WORKSPACE_FILE = "workspace.gpkg"
#: Input roles a dataset may hold: every role of an :class:`~coverage_map.spec.InputSpec`.
ROLES = FILE_ROLES
#: Load options :meth:`Workspace.add` takes with files by role (``lookup_levels`` as
#: :meth:`InputSpec.from_mapping <coverage_map.spec.InputSpec.from_mapping>` reads it).
LOAD_OPTIONS = (*OPTION_KEYS, "lookup_levels", "map")
MAX_NAME_LENGTH = 100

_POSTGRES_URL = re.compile(r"postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    #: Numbered in its owner's own sequence (a session's private dataset), not the workspace's.
    scoped: bool = False

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


def open_workspace(
    url: str | Path | None = None, *, data_dir: str | Path | None = None, keep_raw_uploads: bool = False
) -> Workspace:
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
    keep_raw_uploads
        Store referral CSVs as they came. By default only the columns the analysis reads
        are stored (see :func:`coverage_map.store.at_rest.minimal_referrals`).

    Raises
    ------
    WorkspaceError
        The URL is not understood, or the database cannot be reached or prepared.
    """
    target = url if url is not None else DATABASE_URL
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    backend: Backend
    if target is None:
        backend = GeoPackage(folder / WORKSPACE_FILE)
    elif isinstance(target, str) and _POSTGRES_URL.match(target):
        backend = PostGIS(target)
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
        backend = GeoPackage(path)
        folder = Path(data_dir) if data_dir is not None else path.parent
    workspace = Workspace(backend, scratch=folder / "tmp", keep_raw_uploads=keep_raw_uploads)
    sweep_scratch(folder / "tmp")  # checkouts a killed process left behind
    try:
        backend.create_schema()
    except sa.exc.SQLAlchemyError as exc:
        backend.engine.dispose()
        raise WorkspaceUnavailable(f"cannot open the workspace {backend.description}: {first_line(exc)}") from exc
    return workspace


class Workspace:
    """Named, versioned datasets in a GeoPackage or PostGIS database (see :func:`open_workspace`).

    One instance per process is enough (it pools its connections); it is safe to share
    between threads. After ``fork`` (gunicorn with ``--preload``) open a new one in each worker.
    """

    def __init__(self, backend: Backend, *, scratch: Path, keep_raw_uploads: bool = False):
        self._backend = backend
        self._scratch = scratch
        #: Store referral files as they came; by default only the columns the analysis reads.
        self.keep_raw_uploads = keep_raw_uploads
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

    @property
    def scratch(self) -> Path:
        """The folder for scratch files (inside the data folder; it may not exist yet)."""
        return self._scratch

    def __repr__(self) -> str:
        return f"<Workspace {self.backend} {self.description}>"

    def list(self, *, owner: str | None = None, include_private: bool = False) -> builtins.list[DatasetRef]:
        """Every version visible to ``owner``, by name then version.

        Published datasets are visible to all; unpublished ones only to their owner, or to
        everyone with ``include_private`` (the command line, an administrator).
        """
        query = sa.select(DATASETS).where(visible(_owner_key(owner), include_private))
        with self._backend.reading() as conn:
            rows = conn.execute(query.order_by(DATASETS.c.name, DATASETS.c.version)).mappings().all()
        return [_ref(row) for row in rows]

    def ref(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
        private: bool | None = None,
    ) -> DatasetRef:
        """The given version (default: the latest visible one) of ``name``.

        ``private`` True looks only among ``owner``'s private versions, False only among the workspace's
        (published ones and those added without an owner), None among both: a session's private
        versions are numbered on their own, so its "My data v1" and a published "My data v1" can both be.
        """
        condition = sa.and_(visible(_owner_key(owner), include_private), within(_owner_key(owner), private))
        with self._backend.reading() as conn:
            return _ref(_find(conn, name, version, condition))

    def load(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
        private: bool | None = None,
        on_file: Callable[[str], None] | None = None,
    ) -> Inputs:
        """Load and validate a stored dataset, as :meth:`InputSpec.load <coverage_map.spec.InputSpec.load>` would.

        ``version`` None means the latest version visible to ``owner``; ``private`` as for :meth:`ref`. The stored files
        are read with the stored load options. The problems and sources of the result are
        those reported when the dataset was added (file names as given). ``on_file`` hears each
        file's role as its reading starts (:meth:`InputSpec.reading_steps <coverage_map.spec.InputSpec.reading_steps>`).
        ``Dataset.from_inputs(workspace.load(name))`` gives the dashboard's dataset.

        Raises
        ------
        DatasetNotFoundError
            No such dataset or version is visible to ``owner``.
        """
        condition = sa.and_(visible(_owner_key(owner), include_private), within(_owner_key(owner), private))
        with self._checkout(name, version, condition) as (row, spec):
            inputs = spec.load(on_file=on_file)
        return dataclasses.replace(
            inputs,
            problems=tuple(Problem(**problem) for problem in json.loads(row["problems"])),
            sources=tuple(SourceInfo(**source) for source in json.loads(row["sources"])),
        )

    def spec(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
        private: bool | None = None,
    ) -> InputSpec:
        """The spec a dataset was added with: its files by name as given (no folder) and its load options.

        Nothing is read but the bookkeeping, so it is cheap. To read the files, use
        :meth:`load` or :meth:`checkout`. ``private`` as for :meth:`ref` (which numbering ``version`` is in).

        Raises
        ------
        DatasetNotFoundError
            No such dataset or version is visible to ``owner``.
        """
        with self._backend.reading() as conn:
            condition = sa.and_(visible(_owner_key(owner), include_private), within(_owner_key(owner), private))
            row = _find(conn, name, version, condition)
            names = conn.execute(
                sa.select(INPUTS.c.role, INPUTS.c.file_name).where(INPUTS.c.dataset_id == row["id"])
            ).all()
        return _stored_spec(row, {role: Path(file_name) for role, file_name in names})

    @contextlib.contextmanager
    def checkout(
        self,
        name: str,
        version: int | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
    ) -> Iterator[InputSpec]:
        """A stored dataset as a spec of files in a scratch folder, removed when the block ends.

        For the entry points that take a spec rather than loaded inputs, e.g.
        :func:`~coverage_map.engine_dask.prepare_distributed` or
        :meth:`Dataset.from_spec <coverage_map.dataset.Dataset.from_spec>`. The files read
        exactly as the originals (spatial ones as GeoParquet in EPSG:27700); problems found
        while reading them name the scratch copies.

        Raises
        ------
        DatasetNotFoundError
            No such dataset or version is visible to ``owner``.
        """
        with self._checkout(name, version, visible(_owner_key(owner), include_private)) as (_, spec):
            yield spec

    @contextlib.contextmanager
    def _checkout(
        self, name: str, version: int | None, condition: sa.ColumnElement[bool]
    ) -> Iterator[tuple[Any, InputSpec]]:
        """The dataset's row and a spec of its inputs written to a scratch folder (removed afterwards)."""
        row, stored, geometries = self._stored(name, version, condition)
        with private_umask():
            self._scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._scratch, prefix="load-") as scratch:
            paths = {item["role"]: materialise(item, geometries.get(item["id"]), Path(scratch)) for item in stored}
            yield row, _stored_spec(row, paths)

    def _stored(
        self, name: str, version: int | None, condition: sa.ColumnElement[bool]
    ) -> tuple[Any, builtins.list[Any], dict[int, np.ndarray]]:
        """A dataset's row, its stored inputs' rows, and the geometries of its spatial inputs by input id."""
        with self._backend.reading() as conn:
            row = _find(conn, name, version, condition)
            stored = (
                conn.execute(sa.select(INPUTS).where(INPUTS.c.dataset_id == row["id"]).order_by(INPUTS.c.id))
                .mappings()
                .all()
            )
            geometries = {
                item["id"]: self._backend.select_geometries(conn, item["id"])
                for item in stored
                if item["storage"] == "table"
            }
        return row, list(stored), geometries

    def syncs(
        self,
        name: str | None = None,
        *,
        owner: str | None = None,
        include_private: bool = False,
        limit: int | None = None,
    ) -> builtins.list[SyncRecord]:
        """Syncs from live feeds (``coverage-map workspace sync``) of versions visible to ``owner``, newest first."""
        with self._backend.reading() as conn:
            return select_syncs(conn, visible(_owner_key(owner), include_private), name, limit)

    def check_integrity(self) -> builtins.list[str]:
        """What is wrong with the stored data (empty: nothing); see :mod:`coverage_map.store.integrity`."""
        return check_integrity(self._backend)

    def version_token(self) -> str:
        """A cheap token that changes whenever anything is added, published or removed.

        Workers compare it with the token they cached data under to know when to reload.
        """
        with self._backend.reading() as conn:
            value = conn.execute(sa.select(STATE.c.value).where(STATE.c.key == "generation")).scalar_one()
        return str(value)

    # ------------------------------------------------------------------ writing

    def add(
        self,
        name: str,
        spec: InputSpec | Mapping[str, str | Path | None],
        *,
        owner: str | None = None,
        publish: bool = False,
        **options: Any,
    ) -> Added:
        """Validate a spec's files and store them, with its load options, as the next version of ``name``.

        Parameters
        ----------
        name
            Dataset name, e.g. ``gm-2026`` (1 to 100 characters, no control characters).
        spec
            The inputs: an :class:`~coverage_map.spec.InputSpec` (every role and load
            option is stored), or files by role (:data:`ROLES`; None = absent), ``areas``
            and ``assets`` required, with the load options given as ``**options``.
        owner
            The session token of the dashboard user adding it, or None for the workspace
            as a whole. Until published, only that owner can list and load it.
        publish
            Publish at once (visible to every user and worker).
        **options
            With files by role only: the load options (:data:`LOAD_OPTIONS`: ``area_id_col``,
            ``area_name_col``, ``crs``, ``lookup_levels``...), as
            :meth:`InputSpec.from_mapping <coverage_map.spec.InputSpec.from_mapping>` reads them.
            They are stored and used again on every load.

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
            A bad name, role or option, or the database cannot be written.
        """
        name = _check_name(name)
        spec = _as_spec(spec, options)
        owner_key = _owner_key(owner)
        files = spec.files()
        inputs = _as_given(spec.load(), files)
        _refuse_proposed(inputs, files)
        referral_mapping = spec.mappings.get("referrals")
        keep = referral_mapping.column_map.values() if referral_mapping is not None else ()
        stored = [
            stored_input(role, path, crs=spec.crs, keep_raw=self.keep_raw_uploads, mapped=keep)
            for role, path in files.items()
        ]
        record = {
            "name": name,
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
            "owner": owner_key,
            "scope": scope_of(owner_key, publish),
            "published": publish,
            "options": json.dumps(_stored_options(spec)),
            "sources": json.dumps([dataclasses.asdict(source) for source in inputs.sources]),
            "problems": json.dumps([dataclasses.asdict(problem) for problem in inputs.problems]),
        }
        with self._writing() as conn:
            dataset_id = self._insert(conn, record, stored)
            row = conn.execute(sa.select(DATASETS).where(DATASETS.c.id == dataset_id)).mappings().one()
        return Added(_ref(row), inputs)

    def _insert(self, conn: sa.Connection, record: Mapping[str, Any], stored: builtins.list[StoredInput]) -> int:
        """Write one dataset as the next version of its name, and its inputs; returns the dataset's id."""
        version = next_version(conn, record["name"], record["scope"])
        dataset_id = conn.execute(
            sa.insert(DATASETS).values(version=version, **record).returning(DATASETS.c.id)
        ).scalar_one()
        for item in stored:
            input_id = conn.execute(
                sa.insert(INPUTS)
                .values(
                    dataset_id=dataset_id,
                    role=item.role,
                    file_name=item.file_name,
                    storage=item.storage,
                    content=item.content,
                    features=item.features,
                )
                .returning(INPUTS.c.id)
            ).scalar_one()
            if item.geometries is not None:
                self._backend.insert_geometries(conn, input_id, item.geometries)
        _bump_generation(conn)
        return int(dataset_id)

    def revise(
        self,
        name: str,
        files: Mapping[str, Path],
        *,
        version: int | None = None,
        owner: str | None = None,
        include_private: bool = False,
        publish: bool | None = None,
        sync: tuple[str, ServiceDiff] | None = None,
    ) -> Added:
        """Store a new version of ``name``: a stored version (default: the latest) with some files replaced.

        The other inputs and the load options are kept as stored (their files keep their names);
        everything is validated again together, as :meth:`add` does. ``publish`` None publishes
        the new version if the one it comes from is published. ``sync`` (the feed's URL and the
        diff against the version it comes from) is recorded with the new version, in the same
        transaction (:meth:`syncs`).

        Raises
        ------
        DatasetNotFoundError
            No such dataset or version is visible to ``owner``.
        ValidationError
            The inputs together have a fatal problem; nothing is stored.
        """
        unknown = sorted(set(files) - set(ROLES))
        if unknown:
            raise WorkspaceError(f"unknown role(s) {', '.join(unknown)}: the roles are {', '.join(ROLES)}")
        row, stored, geometries = self._stored(name, version, visible(_owner_key(owner), include_private))
        kept = [item for item in stored if item["role"] not in files]
        self._scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._scratch, prefix="revise-") as scratch:
            paths = {item["role"]: materialise(item, geometries.get(item["id"]), Path(scratch)) for item in kept}
            spec = _stored_spec(row, {**paths, **{role: Path(path) for role, path in files.items()}})
            names = {str(paths[item["role"]]): item["file_name"] for item in kept}
            inputs = _named(spec.load(), {**names, **{str(path): Path(path).name for path in files.values()}})
        new_inputs = [stored_input(role, Path(path), crs=spec.crs) for role, path in files.items()]
        copied = [
            StoredInput(item["role"], item["file_name"], item["storage"], item["content"], int(item["features"]),
                         geometries.get(item["id"]))
            for item in kept
        ]  # fmt: skip
        published = bool(row["published"]) if publish is None else publish
        record = {
            "name": row["name"],
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
            "owner": _owner_key(owner),
            "scope": scope_of(_owner_key(owner), published),
            "published": published,
            "options": row["options"],
            "sources": json.dumps([dataclasses.asdict(source) for source in inputs.sources]),
            "problems": json.dumps([dataclasses.asdict(problem) for problem in inputs.problems]),
        }
        with self._writing() as conn:
            dataset_id = self._insert(conn, record, [*copied, *new_inputs])
            if sync is not None:
                values = sync_values(dataset_id=dataset_id, url=sync[0], ok=True, message="", diff=sync[1],
                                     base_version=int(row["version"]), synced_at=record["created_at"])  # fmt: skip
                conn.execute(sa.insert(SYNCS).values(**values))
            added = conn.execute(sa.select(DATASETS).where(DATASETS.c.id == dataset_id)).mappings().one()
        return Added(_ref(added), inputs)

    def record_sync(
        self,
        name: str,
        url: str,
        *,
        version: int | None = None,
        ok: bool = False,
        message: str = "",
        owner: str | None = None,
        include_private: bool = False,
    ) -> SyncRecord:
        """Record a sync of ``name`` from ``url`` that stored no version: it failed (``message`` says why),
        or it found no change (``ok``). It points at the version kept (default: the latest)."""
        with self._writing() as conn:
            row = _find(conn, name, version, visible(_owner_key(owner), include_private))
            values = sync_values(dataset_id=row["id"], url=url, ok=ok, message=message, diff=ServiceDiff(),
                                 base_version=int(row["version"]))  # fmt: skip
            conn.execute(sa.insert(SYNCS).values(**values))
            _bump_generation(conn)
        return SyncRecord(row["name"], int(row["version"]), values["synced_at"], values["url"], ok,
                          values["message"], ServiceDiff(), int(row["version"]))  # fmt: skip

    def publish(
        self, name: str, version: int | None = None, *, owner: str | None = None, private: bool | None = None
    ) -> DatasetRef:
        """Make a version (default: the latest) visible to every user and worker.

        With ``owner``, only that owner's versions can be published (``private`` as for :meth:`ref`).
        A private version leaves its owner's sequence for the workspace's: it takes the name's next
        published number (the returned reference has it).
        """
        with self._writing() as conn:
            row = _find(conn, name, version, sa.and_(owned(_owner_key(owner)), within(_owner_key(owner), private)))
            values: dict[str, Any] = {"published": True}
            if row["scope"]:
                values.update(scope="", version=next_version(conn, row["name"], ""))
            conn.execute(sa.update(DATASETS).where(DATASETS.c.id == row["id"]).values(**values))
            _bump_generation(conn)
            row = conn.execute(sa.select(DATASETS).where(DATASETS.c.id == row["id"])).mappings().one()
        return _ref(row)

    def remove(self, name: str, version: int | None = None, *, owner: str | None = None) -> int:
        """Delete one version, or every version when ``version`` is None; returns how many.

        With ``owner``, only that owner's versions are deleted. Version numbers are never
        reused: the next ``add`` of the name still gets a new number.
        """
        condition = sa.and_(DATASETS.c.name == name, owned(_owner_key(owner)))
        if version is not None:
            condition = sa.and_(condition, DATASETS.c.version == version)
        with self._writing() as conn:
            ids = conn.execute(sa.select(DATASETS.c.id).where(condition)).scalars().all()
            if not ids:
                raise DatasetNotFoundError(_not_found(name, version))
            # Children first, rather than relying on ON DELETE CASCADE being switched on.
            input_ids = conn.execute(sa.select(INPUTS.c.id).where(INPUTS.c.dataset_id.in_(ids))).scalars().all()
            if input_ids:
                conn.execute(
                    sa.text("DELETE FROM cm_geometries WHERE input_id IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": list(input_ids)},
                )
            conn.execute(sa.delete(INPUTS).where(INPUTS.c.dataset_id.in_(ids)))
            conn.execute(sa.delete(SYNCS).where(SYNCS.c.dataset_id.in_(ids)))
            conn.execute(sa.delete(DATASETS).where(DATASETS.c.id.in_(ids)))
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
            raise WorkspaceUnavailable(f"cannot write to the workspace {self.description}: {first_line(exc)}") from exc


# =========================================================================== queries


def _refuse_proposed(inputs: Inputs, files: Mapping[str, Path]) -> None:
    """Proposed services (a what-if scenario's) never enter the workspace as real ones."""
    marked = proposed_rows(inputs.assets)
    if marked.any():
        rows = ", ".join(str(row) for row in inputs.assets.loc[marked, "_source_row"].head(10))
        raise WorkspaceError(
            f"{int(marked.sum()):,} row(s) of the assets file {files.get('assets', 'assets')} are marked proposed "
            f"(rows {rows}{'...' if marked.sum() > 10 else ''}): hypothetical services are not stored as real ones; "
            "give them to analyse, report or export-map with --scenario instead"
        )


def _find(
    conn: sa.Connection,
    name: str,
    version: int | None,
    condition: sa.ColumnElement[bool],
) -> Any:
    query = sa.select(DATASETS).where(DATASETS.c.name == name, condition)
    if version is not None:
        query = query.where(DATASETS.c.version == version)
    # The workspace's version before a private one of the same number (the command line names those).
    order = (DATASETS.c.version.desc(), (DATASETS.c.scope != "").asc())
    row = conn.execute(query.order_by(*order).limit(1)).mappings().first()
    if row is None:
        raise DatasetNotFoundError(_not_found(name, version))
    return row


def _not_found(name: str, version: int | None) -> str:
    # Says nothing about datasets the caller may not see.
    which = f"version {version} of '{name}'" if version is not None else f"dataset '{name}'"
    return f"no {which} visible here; `coverage-map workspace list` shows the datasets"


def _bump_generation(conn: sa.Connection) -> None:
    conn.execute(sa.update(STATE).where(STATE.c.key == "generation").values(value=STATE.c.value + 1))


def _ref(row: Any) -> DatasetRef:
    return DatasetRef(
        name=row["name"],
        version=int(row["version"]),
        created_at=stored_time(row["created_at"]),
        owner=row["owner"],
        published=bool(row["published"]),
        sources=tuple(SourceInfo(**source) for source in json.loads(row["sources"])),
        problems=len(json.loads(row["problems"])),
        scoped=bool(row["scope"]),
    )


# =========================================================================== storing and materialising


def _check_name(name: str) -> str:
    cleaned = str(name).strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or _CONTROL.search(cleaned):
        raise WorkspaceError(
            f"a dataset name must be 1 to {MAX_NAME_LENGTH} characters without control characters, not {name!r}"
        )
    return cleaned


def _as_spec(given: InputSpec | Mapping[str, str | Path | None], options: Mapping[str, Any]) -> InputSpec:
    """The spec to store: as given, or built from files by role and load options."""
    if isinstance(given, InputSpec):
        if options:
            raise WorkspaceError(f"give the load options ({', '.join(options)}) in the InputSpec, not beside it")
        return given
    files = _check_paths(given)
    unknown = sorted(set(options) - set(LOAD_OPTIONS))
    if unknown:
        raise WorkspaceError(f"unknown load option(s) {', '.join(unknown)}: the options are {', '.join(LOAD_OPTIONS)}")
    try:
        return InputSpec.from_mapping({**files, **{key: value for key, value in options.items() if value is not None}})
    except CoverageMapError as exc:
        raise WorkspaceError(str(exc)) from exc


def _check_paths(paths: Mapping[str, str | Path | None]) -> dict[str, Path]:
    unknown = sorted(set(paths) - set(ROLES))
    if unknown:
        raise WorkspaceError(f"unknown role(s) {', '.join(unknown)}: the roles are {', '.join(ROLES)}")
    files = {role: Path(paths[role]) for role in ROLES if paths.get(role) is not None}  # type: ignore[arg-type]
    missing = [role for role in REQUIRED_ROLES if role not in files]
    if missing:
        raise WorkspaceError(f"a dataset needs {' and '.join(missing)}")
    return files


def _stored_options(spec: InputSpec) -> dict[str, Any]:
    """The spec's load options and column mappings, as :meth:`InputSpec.to_mapping` writes them (its files are
    stored apart)."""
    return {key: value for key, value in spec.to_mapping().items() if key in (*OPTION_KEYS, "map")}


def _stored_spec(row: Any, files: Mapping[str, Path]) -> InputSpec:
    """A stored dataset's spec: its files (wherever they are now) with its stored load options.

    Datasets stored before the spec kept ``lookup_levels`` as a mapping, which
    :meth:`InputSpec.from_mapping` still reads.
    """
    given: dict[str, Any] = {role: path for role, path in files.items() if not role.startswith(MORE_POPULATION)}
    more = sorted((int(role.removeprefix(MORE_POPULATION)), path) for role, path in files.items()
                  if role.startswith(MORE_POPULATION))  # fmt: skip
    if more and "population" in given:
        given["population"] = [given["population"], *(path for _, path in more)]
    return InputSpec.from_mapping({**given, **json.loads(row["options"])})


def _owner_key(owner: str | None) -> str | None:
    if owner is None:
        return None
    if not owner:
        raise WorkspaceError("an owner must be a non-empty session token, or None for the whole workspace")
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()


def _as_given(inputs: Inputs, files: Mapping[str, Path]) -> Inputs:
    """The inputs with files named as given (file name only), not by a local or temporary path."""
    names = {str(path): path.name for path in files.values()}
    populations = [path for role, path in files.items() if role == "population" or role.startswith(MORE_POPULATION)]
    if len(populations) > 1:
        names[" + ".join(map(str, populations))] = " + ".join(path.name for path in populations)
    return _named(inputs, names)


def _named(inputs: Inputs, names: Mapping[str, str]) -> Inputs:
    """The inputs with their problems and sources naming files by ``names`` (path -> name)."""
    return dataclasses.replace(
        inputs,
        problems=tuple(dataclasses.replace(p, file=names.get(p.file, p.file)) for p in inputs.problems),
        sources=tuple(dataclasses.replace(s, path=names.get(s.path, s.path)) for s in inputs.sources),
    )
