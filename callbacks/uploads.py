"""Visitors' own data: check uploaded files, save them to the workspace, choose a dataset.

Pure helpers behind :mod:`callbacks.upload`, tested without Dash.

* A browser session that uploads gets a random **owner token**, kept only in its own
  ``sessionStorage`` (``dcc.Store(storage_type="session")``). The workspace stores only a
  digest of it.
* Every file is checked by :mod:`coverage_map.ingest.upload_safety` before anything is written:
  size (per file and per upload), type by content, and a zipped shapefile's members.
* The files are written to a scratch folder inside the data folder (``<data_dir>/incoming-*``,
  removed straight afterwards), named ``<role>/<safe name>``; a zipped shapefile is
  extracted there, only its ``.shp``/``.shx``/``.dbf``/``.prj``/``.cpg`` parts.
* :meth:`Workspace.add` validates and stores them under the owner token: private to that
  session until it publishes them, and visible to every worker, surviving restarts.
* A dataset is chosen by a :class:`Choice` (name, version, and the session's own token so
  that its private datasets can be loaded) kept in the ``data-token`` store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coverage_map.errors import Problem
from coverage_map.ingest.mapping import population_roles
from coverage_map.ingest.upload_safety import (
    UPLOAD_SUFFIXES,
    UnsafeUploadError,
    UploadLimits,
    check_file,
    check_size,
    extract_shapefile,
    path_inside,
    safe_filename,
    size_text,
)
from coverage_map.spec import InputSpec
from coverage_map.store import Added, DatasetRef, Workspace
from coverage_map.store.at_rest import lock_down, scratch_folder, sweep_scratch

ROLES = ("areas", "lookup", "population", "assets", "referrals")
ROLE_NAMES = {
    "areas": "Small areas (boundaries)",
    "lookup": "Lookup (areas to neighbourhoods and boroughs)",
    "population": "Population",
    "assets": "Community assets (services, groups)",
    "referrals": "Referrals",
}
REQUIRED = ("areas", "assets")
#: The role that takes several files at once, joined on the area code (age, ethnicity, carers...).
SEVERAL = "population"
#: Extensions accepted (a shapefile must come zipped with its sidecar files).
ALLOWED_SUFFIXES = UPLOAD_SUFFIXES
DEFAULT_NAME = "My data"
#: Value of the dataset picker's entry for the dashboard's own data set.
DEFAULT_CHOICE = "default"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class UploadError(UnsafeUploadError):
    """An upload that cannot be accepted, with a message for the visitor."""


def new_token() -> str:
    """A fresh, unguessable session (owner) token."""
    return secrets.token_urlsafe(18)


def is_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN.fullmatch(token))


# --------------------------------------------------------------------------- receiving files


def decode_upload(contents: object, filename: object, *, limits: UploadLimits) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL, after every safety check (size, type, zip)."""
    shown = safe_filename(filename)
    if not isinstance(contents, str) or "," not in contents:
        raise UploadError(f"'{shown}' did not arrive complete; try again")
    encoded = contents.split(",", 1)[1]
    # Refuse before decoding: base64 is 4/3 of the file.
    check_size(filename, len(encoded) * 3 // 4 - encoded[-2:].count("="), limit=limits.per_file)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadError(f"'{shown}' did not arrive complete; try again") from exc
    check_file(filename, data, limits=limits)
    return data


def role_files(role: str, contents: object, filenames: object) -> list[tuple[str, object, object]]:
    """``(role, contents, file name)`` of each file an upload box holds.

    A box takes one file (``contents`` a data URL), or several when ``multiple`` (lists): the
    population box, whose second, third... files are the roles ``population_2``,
    ``population_3``... (as :meth:`coverage_map.spec.InputSpec.files` and the workspace name them),
    in the order of their file names. The browser lists several files in the order it finished
    reading them, which varies from one upload of the same files to the next; by name, the same
    files always get the same roles, so the mapping made for one of them stays with it.
    """
    if isinstance(contents, str):
        return [(role, contents, filenames[0] if isinstance(filenames, list) and filenames else filenames)]
    if not isinstance(contents, list):
        return []
    names = filenames if isinstance(filenames, list) else []
    files = sorted(((item, names[n] if n < len(names) else None) for n, item in enumerate(contents)),
                   key=lambda file: str(file[1] or ""))  # fmt: skip
    keys = population_roles(len(files)) if role == SEVERAL else [role] * len(files)
    return [(key, item, name) for key, (item, name) in zip(keys, files, strict=True)]


def role_name(role: str) -> str:
    """What a role is called on screen; ``population_2`` is "Population (file 2)"."""
    if role in ROLE_NAMES:
        return ROLE_NAMES[role]
    base, _, number = role.rpartition("_")
    return f"{ROLE_NAMES.get(base, base)} (file {number})"


def status_line(contents: object, filename: object, *, limits: UploadLimits) -> str:
    """What the upload box says once its files arrive: received (with sizes) or refused (why).

    With several files, one refused refuses them all (the box is emptied), naming each refused file.
    """
    received: list[str] = []
    refused: list[str] = []
    for _role, item, name in role_files(SEVERAL, contents, filename):
        try:
            data = decode_upload(item, name, limits=limits)
        except UnsafeUploadError as error:
            refused.append(str(error))
        else:
            received.append(f"{safe_filename(name)} ({size_text(len(data))})")
    if refused:
        return "Refused: " + "; ".join(refused)
    return f"Received {', '.join(received)}" if received else ""


@dataclass(frozen=True)
class Received:
    """Checked files of one upload: bytes and safe file name by role."""

    data: Mapping[str, bytes]
    names: Mapping[str, str]


def upload_files(contents: Mapping[str, object], filenames: Mapping[str, object]) -> list[tuple[str, object, object]]:
    """``(role, contents, file name)`` of every file of an upload, role by role (see :func:`role_files`)."""
    return [item for role in ROLES for item in role_files(role, contents.get(role), filenames.get(role))]


def checking_text(role: str, number: int, total: int) -> str:
    """The progress line while one file is checked: "Checking referrals: 3 of 5 files"."""
    name = role_name(role)
    return f"Checking {name[:1].lower()}{name[1:]}: {number} of {total} file{'s' if total != 1 else ''}"


def receive_all(contents: Mapping[str, object], filenames: Mapping[str, object], *, limits: UploadLimits,
                on_file: Callable[[str, int, int], None] | None = None) -> Received:  # fmt: skip
    """Check every file of an upload; raise one :class:`UploadError` listing every refusal.

    The population may be several files (lists, as a ``multiple`` upload box sends them): they
    are received as ``population``, ``population_2``... ``on_file(role, number, total)`` is told
    as each file's check starts (the dashboard's progress bar).
    """
    data: dict[str, bytes] = {}
    names: dict[str, str] = {}
    refused: list[str] = []
    files = upload_files(contents, filenames)
    for number, (key, item, name) in enumerate(files, start=1):
        if on_file is not None:
            on_file(key, number, len(files))
        try:
            data[key] = decode_upload(item, name, limits=limits)
            names[key] = safe_filename(name)
        except UnsafeUploadError as error:
            refused.append(f"{role_name(key)}: {error}")
    missing = [ROLE_NAMES[role].lower() for role in REQUIRED if role not in data and not _refused(role, refused)]
    if missing:
        refused.append(f"upload the {' and '.join(missing)} files first")
    if not refused:
        total = sum(len(item) for item in data.values())
        try:
            check_size("upload", total, limit=limits.per_upload, what="upload")
        except UnsafeUploadError as error:
            refused.append(str(error))
    if refused:
        raise UploadError("; ".join(refused))
    return Received(data=data, names=names)


def _refused(role: str, refused: Sequence[str]) -> bool:
    return any(line.startswith(ROLE_NAMES[role] + ":") for line in refused)


def save_to_workspace(
    workspace: Workspace, data_dir: Path, owner: str, name: str, received: Received, *, limits: UploadLimits,
    mapping: object = None, scratch_tag: str = "", on_stage: Callable[[str], None] | None = None,
) -> Added:  # fmt: skip
    """Write the checked files to a scratch folder inside ``data_dir`` and add them to the workspace.

    ``mapping`` (role -> ``{columns, values, labels}``, see :mod:`coverage_map.ingest.mapping`) is
    stored with the dataset and used on every load. Several population files (``population``,
    ``population_2``...) are joined on the area code, as ``--population`` given several times is.
    The scratch folder (``incoming-<scratch_tag>-*``: a background job's, so that its job can be
    cleaned up after if it is killed) is removed afterwards, whatever happens. ``on_stage(what)``
    is told as writing and then validating start. Raises the workspace's
    ``ValidationError`` (every problem of every file), ``WorkspaceError``, or ``CoverageMapError``
    for a mapping that cannot be read.
    """
    if not is_token(owner):
        raise UploadError("invalid upload session; reload the page and upload again")
    root = lock_down(Path(data_dir).resolve())  # 0700; files written inside are 0600 (the app's umask)
    sweep_scratch(root)  # what a killed worker left behind
    prefix = f"incoming-{scratch_tag}-" if scratch_tag else "incoming-"  # a job's own: removed if it is cancelled
    with scratch_folder(root, prefix=prefix) as scratch:  # held while it works, removed afterwards
        if on_stage is not None:
            on_stage("Writing the files to a private scratch folder")
        paths = {role: _write(scratch, role, received.names[role], item, limits=limits)
                 for role, item in received.data.items()}  # fmt: skip
        given = {role: value for role, value in mapping.items() if role in received.data} if isinstance(
            mapping, Mapping) else {}  # fmt: skip
        if on_stage is not None:
            on_stage("Validating every row and saving (the longest step)")
        return workspace.add(dataset_name(name), upload_spec(paths, given), owner=owner)


def upload_spec(paths: Mapping[str, Path], mapping: Mapping[str, object]) -> InputSpec:
    """The spec of an upload's files by role (``population_2``...: further population files) and its mapping."""
    populations = [str(paths[role]) for role in population_roles(len(paths)) if role in paths]
    given: dict[str, object] = {role: str(path) for role, path in paths.items() if not role.startswith(SEVERAL)}
    if populations:
        given[SEVERAL] = populations if len(populations) > 1 else populations[0]
    return InputSpec.from_mapping({**given, **({"map": dict(mapping)} if mapping else {})})


def _write(scratch: Path, role: str, filename: str, data: bytes, *, limits: UploadLimits) -> Path:
    """One file as ``<scratch>/<role>/<safe name>`` (a zip: its shapefile parts), checked to stay inside."""
    folder = path_inside(scratch, role)
    folder.mkdir()
    name = safe_filename(filename)
    if name.lower().endswith(".zip"):
        return extract_shapefile(data, folder, name[: -len(".zip")], name=filename, limits=limits)
    target = path_inside(folder, name)
    target.write_bytes(data)
    return target


def dataset_name(name: object) -> str:
    """The dataset name a visitor typed, cleaned (default :data:`DEFAULT_NAME`)."""
    text = "".join(ch for ch in str(name or "") if ch.isprintable()).strip()[:100]
    return text or DEFAULT_NAME


# --------------------------------------------------------------------------- choosing a dataset


@dataclass(frozen=True)
class Choice:
    """One stored dataset version a session looks at; ``owner`` is that session's own token.

    ``private``: one of the session's private versions, numbered in its own sequence (so its
    "My data v1" and a published "My data v1" are different versions).
    """

    name: str
    version: int
    owner: str | None = None
    private: bool = False

    @property
    def key(self) -> str:
        """Cache key of the version (versions never change, so one per name, number and owner's scope)."""
        if self.private and self.owner is not None:
            return f"ws:p{hashlib.sha256(self.owner.encode()).hexdigest()[:32]}:{self.version}:{self.name}"
        return f"ws:{self.version}:{self.name}"

    @property
    def value(self) -> str:
        """The dataset picker's option value (never holds a token): ``p<version>:<name>`` for a private one."""
        return f"{'p' if self.private else ''}{self.version}:{self.name}"

    def as_data(self) -> dict[str, object]:
        """What the ``data-token`` store keeps."""
        return {"name": self.name, "version": self.version, "owner": self.owner, "private": self.private}

    @classmethod
    def parse(cls, data: object) -> Choice | None:
        """A choice from the ``data-token`` store, or None (the default data set) for anything else."""
        if not isinstance(data, Mapping):
            return None
        name, version, owner = data.get("name"), data.get("version"), data.get("owner")
        if not isinstance(name, str) or not name.strip() or isinstance(version, bool) or not isinstance(version, int):
            return None
        return cls(name=name, version=version, owner=owner if isinstance(owner, str) and is_token(owner) else None,
                   private=data.get("private") is True)  # fmt: skip

    @classmethod
    def from_value(cls, value: object, owner: object) -> Choice | None:
        """A choice from a picker value (``<version>:<name>``), for this session's ``owner`` token."""
        if not isinstance(value, str) or ":" not in value:
            return None
        version, _, name = value.partition(":")
        private = version.startswith("p")
        version = version.removeprefix("p")
        if not version.isdigit() or not name:
            return None
        return cls(name=name, version=int(version), owner=owner if isinstance(owner, str) and is_token(owner) else None,
                   private=private)  # fmt: skip

    @classmethod
    def of(cls, ref: DatasetRef, owner: str | None) -> Choice:
        """The choice of a listed version, for this session's ``owner`` token."""
        return cls(ref.name, ref.version, owner, private=ref.scoped)


def picker_options(refs: Sequence[DatasetRef], default_label: str) -> list[dict[str, str]]:
    """Options of the dataset picker: the default data, then every visible version, newest first.

    Only names, versions and whether a version is private appear: never an owner.
    """
    options = [{"label": f"{default_label} (default)", "value": DEFAULT_CHOICE}]
    for ref in sorted(refs, key=lambda r: (r.name.casefold(), -r.version)):
        status = "published" if ref.published else "private: only you can see it"
        options.append({"label": f"{ref.name} v{ref.version} ({status})", "value": Choice.of(ref, None).value})
    return options


def problem_rows(problems: Sequence[Problem], names: Mapping[str, str] | None = None) -> list[dict[str, object]]:
    """Problems as table rows (file, row, column, value, message), naming files as uploaded.

    Only a file's base name is shown, never a server path.
    """
    names = names or {}
    by_file = {Path(name).stem.casefold(): name for name in names.values()}
    rows: list[dict[str, object]] = []
    for problem in problems:
        file = Path(str(problem.file).replace("\\", "/")).name
        rows.append(
            {
                "file": by_file.get(Path(file).stem.casefold(), file),
                "row": problem.row,
                "column": problem.column or "",
                "value": "" if problem.value is None else str(problem.value),
                "message": problem.message,
            }
        )
    return rows
