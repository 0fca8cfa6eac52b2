"""Checks on files that come from someone else: size, real type, zip archives and paths.

Pure functions, shared by the dashboard's upload callback and the command line. Each
raises :class:`UnsafeUploadError` with a message that names the file (as given, made
safe to print) and says what to do. Nothing here trusts a file's name: the type is
decided by the bytes, a zipped shapefile is inspected before anything is extracted,
and every path written is resolved and checked to stay inside its folder.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import stat
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import CoverageMapError
from .formats import FORMATS, UPLOAD_SUFFIXES

#: Members of a zipped shapefile that are extracted; anything else in the archive is ignored.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: Longest file name kept (longer names are shortened, keeping the extension).
MAX_NAME_LENGTH = 100

_SQLITE = b"SQLite format 3\x00"
_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_PARQUET = b"PAR1"
#: What a file of each extension must turn out to be.
_KIND_OF_SUFFIX = {suffix: fmt.content for suffix, fmt in FORMATS.items() if fmt.content is not None}
_KIND_NAMES = {
    "csv": "a CSV file", "gpkg": "a GeoPackage (SQLite) file", "zip": "a zip file",
    "parquet": "a (Geo)Parquet file", "fgb": "a FlatGeobuf file", "json": "a GeoJSON/JSON file",
}  # fmt: skip
#: Well-known signatures, to tell the visitor what a mislabelled file really is.
_OTHER_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"MZ", "a Windows program (EXE/DLL)"), (b"\x7fELF", "a Linux program"),
    (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (XLS/DOC)"),
)  # fmt: skip
_SNIFF_BYTES = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+,-]", re.UNICODE)


class UnsafeUploadError(CoverageMapError):
    """A file that must not be accepted; the message names the file and the reason."""


@dataclass(frozen=True)
class UploadLimits:
    """Limits on what one visitor may send and what a zip may unpack to.

    Attributes
    ----------
    per_file
        Bytes one file may have.
    per_upload
        Bytes all the files of one upload may have together.
    unzipped
        Bytes the members of one zip may unpack to, together.
    zip_ratio
        Largest uncompressed / compressed size of any member (a zip bomb's is in the thousands).
    zip_members
        Most entries one zip may hold.
    """

    per_file: int = 50 * 2**20
    per_upload: int = 100 * 2**20
    unzipped: int = 500 * 2**20
    zip_ratio: float = 200.0
    zip_members: int = 64

    @classmethod
    def from_sizes(cls, per_file: int, per_upload: int | None = None) -> UploadLimits:
        """Limits for a per-file (and per-upload) size: a zip may unpack to 10 times its limit."""
        total = per_upload if per_upload is not None else 2 * per_file
        return cls(per_file=per_file, per_upload=max(total, per_file), unzipped=10 * per_file)


# --------------------------------------------------------------------------- names and paths


def safe_filename(name: object, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A visitor's file name reduced to a harmless base name, for messages and storage.

    Folders (``/`` or ``\\``), drive letters, control characters (NUL included) and
    leading dots are removed, unusual characters become ``_``, and a long name is
    shortened keeping its extension. Never empty (``"file"`` when nothing is left).
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _DRIVE.sub("", text)
    text = _UNSAFE_NAME_CHARS.sub("_", text).strip(" .")
    if not text:
        return "file"
    if len(text) > max_length:
        stem, dot, suffix = text.rpartition(".")
        if dot and 0 < len(suffix) <= 12:
            text = stem[: max_length - len(suffix) - 1].rstrip(" .") + "." + suffix
        else:
            text = text[:max_length]
    return text


def upload_suffix(name: object) -> str:
    """The allowed extension of a visitor's file name (lower case), else :class:`UnsafeUploadError`."""
    shown = safe_filename(name)
    lower = shown.lower()
    for suffix in sorted(UPLOAD_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return suffix
    raise UnsafeUploadError(
        f"'{shown}' is not a supported file type; use one of {', '.join(UPLOAD_SUFFIXES)} "
        "(zip a shapefile with its .dbf, .shx and .prj)"
    )


def path_inside(root: str | Path, *parts: str) -> Path:
    """``root / parts`` resolved, refusing anything that would land outside ``root``.

    Raises
    ------
    UnsafeUploadError
        A part holds a NUL byte, is absolute, or climbs out with ``..`` (symbolic links
        included, since the path is resolved).
    """
    base = Path(root).resolve()
    for part in parts:
        if "\x00" in part:
            raise UnsafeUploadError("a file name with a NUL byte was refused")
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        raise UnsafeUploadError(
            f"refused to write '{safe_filename(parts[-1] if parts else '')}' outside the data folder"
        )
    return target


# --------------------------------------------------------------------------- size and type


def check_size(name: object, size: int, *, limit: int, what: str = "file") -> None:
    """Refuse a file (or a whole upload, ``what="upload"``) over ``limit`` bytes, or an empty file."""
    shown = safe_filename(name)
    if size > limit:
        subject = f"'{shown}'" if what == "file" else "the files together"
        raise UnsafeUploadError(
            f"{subject} ({size_text(size)}) {'is' if what == 'file' else 'are'} larger than the "
            f"{size_text(limit)} limit per {what}"
        )
    if size == 0 and what == "file":
        raise UnsafeUploadError(f"'{shown}' is empty (0 bytes)")


def sniff(data: bytes) -> str | None:
    """What the bytes are, by content only: ``gpkg``, ``zip``, ``parquet``, ``fgb``, ``json``, ``csv`` or None."""
    if data.startswith(_SQLITE):
        return "gpkg"
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_PARQUET) and data.endswith(_PARQUET) and len(data) >= 12:
        return "parquet"
    if data[:3] == b"fgb" and data[4:7] == b"fgb":
        return "fgb"
    text = _as_text(data)
    if text is None:
        return None
    if _is_json_object(text):
        return "json"
    if _looks_like_csv(text):
        return "csv"
    return None


def check_content(name: object, data: bytes) -> str:
    """Check that the bytes really are what the name's extension says; returns the extension.

    Raises
    ------
    UnsafeUploadError
        The extension is not allowed, or the content is something else (an EXE or PNG
        renamed ``.csv``, a ``.gpkg`` that is not SQLite...). The message names the file.
    """
    suffix = upload_suffix(name)
    expected = _KIND_OF_SUFFIX[suffix]
    found = sniff(data)
    if found == expected:
        return suffix
    shown = safe_filename(name)
    actually = _describe(data, found)
    raise UnsafeUploadError(
        f"'{shown}' is named like {_KIND_NAMES[expected]} but its content is {actually}; upload the real {suffix} file"
    )


def _describe(data: bytes, found: str | None) -> str:
    if found is not None:
        return _KIND_NAMES[found]
    for signature, what in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return what
    if data.startswith(_EMPTY_ZIP):
        return "an empty zip file"
    if _as_text(data) is not None:
        return "text that is neither CSV nor JSON with a 'type'"
    return "binary data of an unknown kind"


def _as_text(data: bytes) -> str | None:
    head = data[:_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _is_json_object(text: str) -> bool:
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return False
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and "type" in document


def _looks_like_csv(text: str) -> bool:
    first = next((line for line in text[:_SNIFF_BYTES].splitlines() if line.strip()), "")
    if not first:
        return False
    try:
        header = next(csv.reader([first]))
    except csv.Error:
        return False
    printable = all(ch.isprintable() or ch == "\t" for ch in first)
    return printable and (len(header) > 1 or ";" in first or "\t" in first)


def size_text(size: int) -> str:
    """``1.5 MB`` or ``12.0 KB``."""
    if size >= 2**20:
        return f"{size / 2**20:.3g} MB"
    return f"{max(size / 1024, 0.1):.1f} KB"


# --------------------------------------------------------------------------- zipped shapefiles


@dataclass(frozen=True)
class ZippedShapefile:
    """The members of a zip that make up its one shapefile, by extension (``.shp`` -> member)."""

    members: Mapping[str, str]
    uncompressed: int


def check_zip(
    source: bytes | str | Path, *, name: object = None, limits: UploadLimits | None = None
) -> ZippedShapefile:
    """Inspect a zipped shapefile without extracting anything.

    Refuses an archive with too many members, members whose total or per-member
    uncompressed size or compression ratio is too large (a zip bomb), encrypted members,
    and any member with an absolute path, a drive letter, ``..``, a NUL byte or a
    symbolic link, even one that would not be extracted. It must hold exactly one
    ``.shp``; its ``.shx``, ``.dbf``, ``.prj`` and ``.cpg`` (same name) are the members kept.
    """
    limits = limits or UploadLimits()
    shown = safe_filename(name if name is not None else (source if isinstance(source, (str, Path)) else "upload.zip"))
    try:
        handle = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeUploadError(f"'{shown}' cannot be opened as a zip file: {exc}") from exc
    with handle as archive:
        infos = archive.infolist()
    if len(infos) > limits.zip_members:
        raise UnsafeUploadError(
            f"'{shown}' holds {len(infos)} entries; a zipped shapefile needs a handful (at most {limits.zip_members})"
        )
    total = 0
    shapefiles: list[zipfile.ZipInfo] = []
    for info in infos:
        _check_member(info, shown, limits)
        total += info.file_size
        if info.is_dir() or _is_resource_fork(info.filename):
            continue
        if info.filename.lower().endswith(".shp"):
            shapefiles.append(info)
    if total > limits.unzipped:
        raise UnsafeUploadError(
            f"'{shown}' would unpack to {size_text(total)}, more than the {size_text(limits.unzipped)} allowed"
        )
    if len(shapefiles) != 1:
        found = ", ".join(safe_filename(i.filename) for i in shapefiles) or "none"
        raise UnsafeUploadError(
            f"'{shown}' must hold exactly one shapefile (.shp with its .shx, .dbf and .prj); found {found}"
        )
    stem = shapefiles[0].filename[: -len(".shp")].casefold()
    members = {}
    for info in infos:
        lower = info.filename.casefold()
        for part in SHAPEFILE_PARTS:
            if lower == stem + part:
                members[part] = info.filename
    return ZippedShapefile(
        members=members, uncompressed=sum(i.file_size for i in infos if i.filename in members.values())
    )


def _is_resource_fork(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return "__MACOSX" in parts or (bool(parts) and parts[-1].startswith("._"))


def _check_member(info: zipfile.ZipInfo, shown: str, limits: UploadLimits) -> None:
    member = info.filename
    display = safe_filename(member)
    normalised = member.replace("\\", "/")
    if "\x00" in member:
        raise UnsafeUploadError(f"'{shown}' holds a member whose name contains a NUL byte")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        raise UnsafeUploadError(f"'{shown}' holds a member with an absolute path ('{display}'); refused")
    if ".." in normalised.split("/"):
        raise UnsafeUploadError(f"'{shown}' holds a member whose path climbs out with '..' ('{display}'); refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeUploadError(f"'{shown}' holds a symbolic link ('{display}'); refused")
    if info.flag_bits & 0x1:
        raise UnsafeUploadError(f"'{shown}' holds an encrypted member ('{display}'); upload an unencrypted zip")
    if info.file_size > limits.unzipped:
        raise UnsafeUploadError(
            f"'{shown}': member '{display}' would unpack to {size_text(info.file_size)}, more than the "
            f"{size_text(limits.unzipped)} allowed"
        )
    if info.file_size > 1024 * 1024 and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
        raise UnsafeUploadError(
            f"'{shown}': member '{display}' is compressed {info.file_size / max(info.compress_size, 1):,.0f} to 1, "
            "like a zip bomb; refused"
        )


def extract_shapefile(
    source: bytes | str | Path, folder: str | Path, stem: str, *, name: object = None,
    limits: UploadLimits | None = None,
) -> Path:  # fmt: skip
    """Check a zipped shapefile (:func:`check_zip`) and extract only its parts as ``folder/<stem>.<ext>``.

    Member names are never used as paths: each part is written under ``stem`` with its
    extension, inside ``folder``, and the bytes written are counted, so an archive whose
    header understates its sizes still cannot write more than the limit.

    Returns
    -------
    Path
        The extracted ``.shp``.
    """
    limits = limits or UploadLimits()
    plan = check_zip(source, name=name, limits=limits)
    shown = safe_filename(name if name is not None else "upload.zip")
    safe_stem = safe_filename(stem).replace(".", "_")
    budget = limits.unzipped
    written: list[Path] = []
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else Path(source)) as archive:
        for part, member in plan.members.items():
            target = path_inside(folder, safe_stem + part)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as stream, target.open("wb") as out:
                written.append(target)
                while chunk := stream.read(2**20):
                    budget -= len(chunk)
                    if budget < 0:
                        out.close()
                        for path in written:
                            path.unlink(missing_ok=True)
                        raise UnsafeUploadError(
                            f"'{shown}' unpacks to more than the {size_text(limits.unzipped)} allowed; refused"
                        )
                    out.write(chunk)
    return path_inside(folder, safe_stem + ".shp")


def check_file(name: object, data: bytes, *, limits: UploadLimits) -> str:
    """Every check on one uploaded file: size, real type, and (for a zip) its members.

    Returns the file's extension.
    """
    check_size(name, len(data), limit=limits.per_file)
    suffix = check_content(name, data)
    if suffix == ".zip":
        check_zip(data, name=name, limits=limits)
    return suffix


__all__ = [
    "UPLOAD_SUFFIXES",
    "UnsafeUploadError",
    "UploadLimits",
    "ZippedShapefile",
    "check_content",
    "check_file",
    "check_size",
    "check_zip",
    "extract_shapefile",
    "path_inside",
    "safe_filename",
    "size_text",
    "sniff",
    "upload_suffix",
]
