"""Files a visitor uploads: kept on disk under a random token, private to that session.

Each browser session that uploads gets a random token (kept only in its own
``sessionStorage``). Files are written to ``<data_dir>/<token>/<role><ext>``: the visitor's
file name is never used as a path, only its extension (from an allow-list), and every
path is checked to stay inside ``data_dir``. Any worker can rebuild the data set from
those files, so uploads work behind several gunicorn workers.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from coverage_map.dataset import Dataset
from coverage_map.errors import Problem

ROLES = ("areas", "lookup", "population", "assets", "referrals")
ROLE_NAMES = {
    "areas": "Small areas (boundaries)",
    "lookup": "Lookup (areas to neighbourhoods and boroughs)",
    "population": "Population",
    "assets": "Community assets (services, groups)",
    "referrals": "Referrals",
}
REQUIRED = ("areas", "assets")
#: Extensions accepted (a shapefile must come zipped with its sidecar files).
ALLOWED_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".fgb", ".parquet", ".geoparquet", ".csv")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class UploadError(ValueError):
    """An upload that cannot be accepted, with a message for the visitor."""


@dataclass(frozen=True)
class SavedFile:
    role: str
    original_name: str
    size: int


def new_token() -> str:
    """A fresh, unguessable session token."""
    return secrets.token_urlsafe(18)


def is_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN.fullmatch(token))


def session_dir(data_dir: Path, token: str) -> Path:
    """The folder holding one session's files; never outside ``data_dir``."""
    if not is_token(token):
        raise UploadError("invalid upload session; reload the page and upload again")
    root = Path(data_dir).resolve()
    folder = (root / token).resolve()
    if folder.parent != root:
        raise UploadError("invalid upload session; reload the page and upload again")
    return folder


def safe_suffix(filename: str) -> str:
    """The lower-case extension of ``filename`` if it is allowed, else an :class:`UploadError`."""
    name = Path(str(filename).replace("\\", "/")).name.lower()
    for suffix in sorted(ALLOWED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    raise UploadError(
        f"'{Path(str(filename)).name}' is not a supported file type; use one of {', '.join(ALLOWED_SUFFIXES)} "
        "(zip a shapefile with its .dbf, .shx and .prj)"
    )


def decode_upload(contents: str, *, max_bytes: int) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL, refusing files over ``max_bytes``."""
    if not isinstance(contents, str) or "," not in contents:
        raise UploadError("the upload did not arrive complete; try again")
    encoded = contents.split(",", 1)[1]
    if len(encoded) * 3 // 4 > max_bytes + 3:
        raise UploadError(f"the file is larger than the {_size_text(max_bytes)} limit")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadError("the upload did not arrive complete; try again") from exc
    if len(data) > max_bytes:
        raise UploadError(f"the file is larger than the {_size_text(max_bytes)} limit")
    if not data:
        raise UploadError("the file is empty")
    return data


def save_upload(data_dir: Path, token: str, role: str, filename: str, data: bytes) -> SavedFile:
    """Store one uploaded file as ``<role><ext>``, replacing any earlier file for that role."""
    if role not in ROLES:
        raise UploadError(f"unknown kind of file '{role}'")
    suffix = safe_suffix(filename)
    folder = session_dir(data_dir, token)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{role}.*"):
        old.unlink()
    target = folder / f"{role}{suffix}"
    target.write_bytes(data)
    (folder / f"{role}.name").write_text(Path(str(filename).replace("\\", "/")).name[:200], encoding="utf-8")
    return SavedFile(role=role, original_name=Path(filename).name, size=len(data))


def uploaded_files(data_dir: Path, token: str) -> dict[str, Path]:
    """Role -> stored file of one session (roles not uploaded are absent)."""
    folder = session_dir(data_dir, token)
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for role in ROLES:
        for suffix in ALLOWED_SUFFIXES:
            candidate = folder / f"{role}{suffix}"
            if candidate.is_file():
                found[role] = candidate
    return found


def original_names(data_dir: Path, token: str) -> dict[str, str]:
    """Role -> the file name the visitor uploaded (for messages only, never for paths)."""
    folder = session_dir(data_dir, token)
    names = {}
    for role in ROLES:
        record = folder / f"{role}.name"
        if record.is_file():
            names[role] = record.read_text(encoding="utf-8")
    return names


def missing_roles(files: dict[str, Path]) -> list[str]:
    return [role for role in REQUIRED if role not in files]


def load_session(data_dir: Path, token: str) -> Dataset:
    """Load, validate and join one session's files (raises ValidationError listing every problem)."""
    files = uploaded_files(data_dir, token)
    missing = missing_roles(files)
    if missing:
        raise UploadError(f"upload the {' and '.join(ROLE_NAMES[r].lower() for r in missing)} files first")
    return Dataset.from_paths(files, label="Your uploaded data")


def problem_rows(problems: list[Problem], names: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Problems as table rows (file, row, column, value, message), naming files as uploaded."""
    names = names or {}
    rows = []
    for problem in problems:
        file = Path(problem.file).name
        stem = Path(file).stem
        rows.append(
            {
                "file": names.get(stem, file),
                "row": problem.row,
                "column": problem.column or "",
                "value": "" if problem.value is None else str(problem.value),
                "message": problem.message,
            }
        )
    return rows


def receive(data_dir: Path, token: object, role: str, contents: str, filename: str, *, max_bytes: int) -> tuple[str, str | None]:
    """Store one ``dcc.Upload`` file for a session (creating its token if needed).

    Returns
    -------
    tuple
        ``(token, error)``: the session token, and a message for the visitor when the file
        was refused (None when it was stored).
    """
    session = token if is_token(token) else new_token()
    assert isinstance(session, str)
    try:
        save_upload(data_dir, session, role, filename, decode_upload(contents, max_bytes=max_bytes))
    except UploadError as error:
        return session, str(error)
    return session, None


def statuses(data_dir: Path, token: object, errors: dict[str, str] | None = None) -> dict[str, str]:
    """A short line per role: the file received, or the reason it was refused, or nothing."""
    errors = errors or {}
    files = uploaded_files(data_dir, token) if is_token(token) else {}  # type: ignore[arg-type]
    names = original_names(data_dir, token) if is_token(token) else {}  # type: ignore[arg-type]
    lines = {}
    for role in ROLES:
        if role in errors:
            lines[role] = f"Refused: {errors[role]}"
        elif role in files:
            size = files[role].stat().st_size
            lines[role] = f"Received {names.get(role, files[role].name)} ({_size_text(size)})"
        else:
            lines[role] = ""
    return lines


def _size_text(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.3g} MB"
    return f"{max(size / 1024, 0.1):.1f} KB"


def freeze(data_dir: Path, token: str) -> str:
    """Copy a session's pending files under a new token, so a loaded data set never changes on disk."""
    source = session_dir(data_dir, token)
    frozen = new_token()
    target = session_dir(data_dir, frozen)
    target.mkdir(parents=True, exist_ok=False)
    for path in source.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    return frozen
