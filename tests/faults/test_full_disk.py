"""A full disk in the data folder: save an upload bigger than the room left, twice.

The data folder is an 8 MB tmpfs (``mount -t tmpfs -o size=8m,mode=0700``; as root, else in a mount
namespace of gunicorn's own with ``unshare``), served by gunicorn as the Procfile runs it. First an
upload larger than the free space (its scratch copy cannot be written), then one whose files fit but
whose stored version does not (the disk is nearly filled first: SQLite's write fails in the middle of
the save's transaction). Each must give a clear message in the page, store nothing, leave no scratch
and no partial file, and the app must go on serving (and saving what fits once there is room).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbacks.jobs import JOBS_FOLDER
from callbacks.uploads import new_token

from .conftest import VIEW, demo_upload, files_of, upload_values
from .harness import Client, assert_no_leak, assert_serving, scratch_left, stored

pytestmark = pytest.mark.faults

SIZE = "8m"
MOUNT = ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs"]
#: What the data folder may hold after the failed save: the workspace and its (empty) scratch folder.
#: ... and the background jobs' cache (callbacks/jobs.py), which holds no upload.
WORKSPACE_FILES = {"workspace.gpkg", "workspace.gpkg-wal", "workspace.gpkg-shm", "tmp", JOBS_FOLDER}
#: The test's own file that fills the disk (not the app's).
BALLAST = "ballast.bin"
#: Room left beside the second upload's files: far less than the version it would store takes, and enough for
#: the background job's own notes (progress, in the job cache's SQLite journal in the data folder).
MARGIN = 512 * 1024


def _run(command: list[str]) -> str:
    """'' when ``command`` succeeds, else why not."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{command[0]}: {error}"
    return "" if done.returncode == 0 else f"{' '.join(command[:3])}...: {done.stderr.strip() or done.returncode}"


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A data folder on an 8 MB tmpfs, and what to wrap gunicorn's command in (nothing, or ``unshare``)."""
    folder = tmp_path / "data"
    folder.mkdir()
    why = _run([*MOUNT, str(folder)]) if shutil.which("mount") else "mount is not installed"
    if not why:
        try:
            yield folder, []
        finally:
            if _run(["umount", str(folder)]):
                _run(["umount", "-l", str(folder)])
        return
    # Not allowed to mount here: a mount namespace of gunicorn's own (root's, or a user namespace's).
    script = f'{" ".join(MOUNT)} "$0" && exec "$@"'
    for unshare in (["unshare", "--mount", "--propagation", "private"], ["unshare", "-rm"]):
        probe = _run([*unshare, "sh", "-c", f'{" ".join(MOUNT)} "$0"', str(folder)]) if shutil.which("unshare") else (
            "unshare is not installed")  # fmt: skip
        if not probe:
            yield folder, [*unshare, "sh", "-c", script, str(folder)]
            return
        why += f"; {probe}"
    pytest.skip(f"cannot mount a {SIZE} tmpfs as the data folder: {why}")


def free_bytes(folder: Path) -> int:
    space = os.statvfs(folder)
    return space.f_bavail * space.f_frsize


def fill(folder: Path, leave: int) -> Path:
    """Fill the disk of ``folder`` with a file of the test's own until ``leave`` bytes are free."""
    ballast = folder / BALLAST
    size = free_bytes(folder) - leave
    assert size > 0, "the disk is already fuller than the test needs"
    with ballast.open("wb") as sink:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= sink.write(chunk[: min(size, len(chunk))])
    return ballast


def refused(client: Client, save: dict, files: dict[str, tuple[str, bytes]], folder: Path, name: str) -> None:
    """Saving ``files`` says the disk is full, in words, and leaves nothing behind: no version, scratch or file."""
    status, text = client.call(save, upload_values(files, name, new_token()), ["upload-load.n_clicks"])
    assert status == 200, text[:500]
    assert "Saved as" not in text
    assert "no room" in text and "nothing was saved" in text, text[:800]  # said in the page, in words
    assert scratch_left(folder) == []
    assert {path.name for path in folder.iterdir()} <= WORKSPACE_FILES | {BALLAST}  # no partial file anywhere
    versions, problems = stored(folder)
    assert versions == [] and problems == []
    assert_serving(client, VIEW)


def test_an_upload_bigger_than_the_free_space_is_refused_cleanly(
    small_disk: tuple[Path, list[str]], servers, handbuilt_config: Path, demo_files: dict[str, Path]
) -> None:  # small_disk first: it is unmounted after the servers stop
    data_dir, wrap = small_disk
    server = servers(data_dir, env={"COVERAGE_MAP_CONFIG": str(handbuilt_config)}, wrap=wrap, namespaced=bool(wrap))
    client = Client(server).load()  # the page opens the workspace: workspace.gpkg is on the small disk
    save = client.spec("upload-saved.data", "upload-report.children")
    folder = server.folder

    # 1. The files themselves do not fit: writing the scratch copy fails.
    files = demo_upload(demo_files, referral_copies=3)
    assert sum(len(data) for _, data in files.values()) > free_bytes(folder), "the upload must not fit"
    refused(client, save, files, folder, "Too big for the disk")

    # 2. The files fit, the version they make does not: the workspace's transaction fails half way.
    files = demo_upload(demo_files)
    ballast = fill(folder, leave=sum(len(data) for _, data in files.values()) + MARGIN)
    refused(client, save, files, folder, "Too big for the workspace")
    assert "could not be saved: WorkspaceUnavailable (disk full)" in server.log_text(), (
        "the second save should have failed in the workspace's database, not before it"
    )
    ballast.unlink()

    # What fits is still saved.
    status, text = client.call(save, upload_values(files_of(handbuilt_config), "Fits", new_token()),
                               ["upload-load.n_clicks"])  # fmt: skip
    assert status == 200 and "Saved as Fits v1" in text, text[:800]
    versions, problems = stored(folder)
    assert versions == ["Fits v1"] and problems == []
    assert scratch_left(folder) == []
    assert_no_leak(client.seen)
