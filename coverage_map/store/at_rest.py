"""Data at rest: a private data folder, scratch folders that do not outlive their work, minimal stored referrals.

* :func:`private_files` makes every file and folder this process creates private to the
  service user (umask ``077``: folders ``0700``, files ``0600``), and :func:`lock_down`
  makes an existing data folder so (the folder ``0700``, everything in it ``0600`` or
  ``0700``), at start-up.
* :func:`scratch_folder` makes a scratch folder that its process *holds* (a lock the kernel
  releases when the process ends, however it ends) and removes it afterwards.
* :func:`sweep_scratch` removes scratch folders (``incoming-*`` uploads being checked,
  ``load-*`` checkouts) that nobody holds any more, or older than a time to live: a worker
  killed in the middle of an upload leaves its files behind, and nothing else would ever
  remove them.
* :func:`minimal_referrals` keeps of an uploaded referral file only the columns the
  analysis reads: the referral id and every other column (names, NHS numbers, notes...)
  are not stored, unless the deployment opts in to keeping the raw files
  (``[data] keep_raw_uploads = true``).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

try:
    import fcntl
except ImportError:  # not POSIX: scratch folders expire by their time to live only
    fcntl = None  # type: ignore[assignment]

#: Scratch folders inside the data folder, by name prefix.
SCRATCH_PREFIXES = ("incoming-", "load-")
#: How long a scratch folder may live (seconds): far longer than any upload or checkout takes.
SCRATCH_TTL_SECONDS = 60 * 60
PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: The file inside a held scratch folder that its process keeps locked while it works.
HOLD_FILE = ".held"


def private_files() -> int:
    """Make every file and folder this process creates from now on private (umask ``077``).

    Returns the previous umask. A server process calls it once at start-up, before it
    opens the workspace or writes an upload.
    """
    return os.umask(PRIVATE_UMASK)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files and folders are created private (umask ``077``)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def lock_down(folder: str | Path) -> Path:
    """Create ``folder`` if need be and make it and everything in it private to the service user.

    Folders become ``0700`` and files ``0600``; symbolic links are left alone (never followed).
    """
    root = Path(folder)
    with private_umask():
        root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, FOLDER_MODE)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                os.chmod(path, FOLDER_MODE)
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                os.chmod(path, FILE_MODE)
    return root


@contextlib.contextmanager
def scratch_folder(parent: str | Path, prefix: str = "incoming-") -> Iterator[Path]:
    """A new private folder ``<parent>/<prefix>...`` held by this process while the block runs, then removed.

    *Held*: the process keeps an exclusive lock (``flock``) on the folder's ``.held`` file, and
    the kernel releases it when the process ends, however it ends (``kill -9`` included). So
    :func:`sweep_scratch` knows at once that a folder whose owner died is left over, without
    waiting for its time to live.
    """
    root = Path(parent)
    with _sweep_guard(root, exclusive=False):  # no sweep between making the folder and holding it
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        hold = _hold(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if hold is not None:
            os.close(hold)


def sweep_scratch(folder: str | Path, *, ttl_seconds: float = SCRATCH_TTL_SECONDS, now: float | None = None) -> int:
    """Remove the scratch folders (``incoming-*``, ``load-*``) in ``folder`` that were left behind.

    Left behind: made by :func:`scratch_folder` and no longer held (their process ended without
    removing them, e.g. a worker killed in the middle of an upload), or last changed over
    ``ttl_seconds`` ago. Returns how many were removed. A folder in use is held, or far younger
    than the time to live, so another worker's upload is never touched.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    with _sweep_guard(root, exclusive=True) as guarded:
        for path in root.iterdir():
            if not path.name.startswith(SCRATCH_PREFIXES) or path.is_symlink() or not path.is_dir():
                continue
            try:
                age = now - path.lstat().st_mtime
            except FileNotFoundError:
                continue
            if age >= ttl_seconds or (guarded and _abandoned(path)):
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


@contextlib.contextmanager
def _sweep_guard(root: Path, *, exclusive: bool) -> Iterator[bool]:
    """A lock on the folder ``root`` itself: shared while a scratch folder is made and held, exclusive to sweep.

    Yields whether it is held. Neither waits long for it (a process forked while another thread held
    it keeps a copy of the lock): a sweep without it goes by the time to live only.
    """
    if fcntl is None:
        yield False
        return
    try:
        handle = os.open(root, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        held = False
        for _ in range(100):
            try:
                fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                held = True
                break
            except OSError:
                time.sleep(0.01)
        yield held
    finally:
        os.close(handle)  # releases the lock


def _hold(path: Path) -> int | None:
    """Lock ``path``'s hold file for as long as the returned descriptor stays open (None: cannot lock here)."""
    if fcntl is None:
        return None
    handle = os.open(path / HOLD_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        return None
    return handle


def _abandoned(path: Path) -> bool:
    """Whether ``path`` was held by a process that has ended (its hold file is there and nobody locks it)."""
    try:
        handle = os.open(path / HOLD_FILE, os.O_RDONLY)
    except OSError:
        return False  # not made by scratch_folder (or never held): only its age counts
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: its process is still working in it
    finally:
        os.close(handle)
    return True


def mode_of(path: str | Path) -> int:
    """The permission bits of a file or folder (``0o600``...)."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def minimal_referrals(data: bytes, *, mapped: Iterable[str] = ()) -> bytes | None:
    """A referral CSV with only the columns the analysis reads (no referral id, no other column).

    ``mapped`` are the file's own column names a column mapping reads as fields
    (:class:`coverage_map.ingest.mapping.ColumnMapping`); they are kept too.

    The kept cells are copied as they are (text, not re-parsed), so the file loads exactly
    as the original did, row N still spreadsheet row N. The file is read as the loaders read
    it (:func:`coverage_map.ingest._csv.read_records`): Arrow cuts the plain lines, whose kept
    cells (no quote, comma or line break in them) are written unquoted and joined by Arrow;
    the header and the other records are written with every cell quoted. None when the file
    is not a CSV this can read (it is then stored as it came, and validated as usual).
    """
    from ..ingest._csv import read_records

    text, utf8 = _decoded(data)
    if text is None:
        return None
    try:
        records = read_records(text, utf8)
    except csv.Error:
        return None
    del text
    header = records.header
    if header is None or len(set(header)) != len(header):
        return None
    keep = _kept_columns(header, mapped)
    if keep is None:
        return None
    # The stored copy is an input that must load exactly as the original (this is not an output a
    # spreadsheet opens; outputs go through write_any), so nothing is neutralised.
    other_lines = [(_quoted([row[index] if index < len(row) else "" for index in keep]) if row else "") + "\r\n"
                   for row in records.others]  # fmt: skip
    lines = pa.array(other_lines, type=pa.large_string())
    rows = records.other_rows
    if records.plain is not None:
        lines = pa.concat_arrays([_plain_lines(records.plain, keep), lines])
        rows = np.concatenate([records.plain_rows, rows])
        lines = lines.take(pa.array(np.argsort(rows, kind="stable")))
    return (_quoted([header[index] for index in keep]) + "\r\n").encode("utf-8") + _concatenated(lines)


def _decoded(data: bytes) -> tuple[str | None, bytes | None]:
    """The text of a CSV file and, when the bytes already are UTF-8 without a byte-order mark, the bytes."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, (data if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8) else None)
    return None, None


def _kept_columns(header: list[str], mapped: Iterable[str]) -> list[int] | None:
    """Positions of the header's columns the analysis reads (None when it reads none of them)."""
    from ..ingest._checks import _find_columns
    from ..ingest._locations import _LOCATION_COLUMNS

    wanted = ("category", "community", "count", "date", "asset_id", "origin_area_id", "origin_practice_code",
              *_LOCATION_COLUMNS)  # fmt: skip
    found = _find_columns(pd.DataFrame(columns=header), wanted)
    mapped_names = set(mapped)
    keep = [index for index, name in enumerate(header) if name in set(found.values()) | mapped_names]
    if not keep or ("category" not in found and not mapped_names):
        return None
    return keep


def _plain_lines(plain: pa.Table, keep: list[int]) -> pa.Array:
    """The kept cells of the plain lines, each line joined by commas and ended by CRLF.

    A plain line's cells hold no quote, comma or line break, so they need no quotes; a lone
    empty cell is written ``""`` (an empty line would read as a blank row).
    """
    string = pa.large_string()
    columns = [pc.cast(plain.column(index).combine_chunks(), string) for index in keep]
    if len(columns) == 1:
        joined = pc.if_else(pc.equal(columns[0], ""), pa.scalar('""', string), columns[0])
    else:
        joined = pc.binary_join_element_wise(*columns, pa.scalar(",", string))
    return pc.binary_join_element_wise(joined, pa.scalar("", string), pa.scalar("\r\n", string))


def _concatenated(lines: pa.Array) -> bytes:
    """The strings of a large_string array without nulls, one after the other."""
    if len(lines) == 0:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    return lines.buffers()[2].slice(start, end - start).to_pybytes()


def _quoted(cells: list[str]) -> str:
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
