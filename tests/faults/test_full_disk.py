"""A full disk in the data folder: save an upload bigger than the room left.

The data folder is a 4 MB tmpfs (``mount -t tmpfs -o size=4m,mode=0700``; as root, else in a mount
namespace of gunicorn's own with ``unshare``), served by gunicorn as the Procfile runs it. An upload
larger than the free space must give a clear message in the page, store nothing, leave no scratch
and no partial file, and the app must go on serving (and saving what fits).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbacks.uploads import new_token

from .conftest import VIEW, demo_upload, files_of, upload_values
from .harness import Client, assert_no_leak, assert_serving, scratch_left, stored

pytestmark = pytest.mark.faults

SIZE = "4m"
MOUNT = ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs"]
#: What the data folder may hold after the failed save: the workspace and its (empty) scratch folder.
WORKSPACE_FILES = {"workspace.gpkg", "workspace.gpkg-wal", "workspace.gpkg-shm", "tmp"}


def _run(command: list[str]) -> str:
    """'' when ``command`` succeeds, else why not."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{command[0]}: {error}"
    return "" if done.returncode == 0 else f"{' '.join(command[:3])}...: {done.stderr.strip() or done.returncode}"


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A data folder on a 4 MB tmpfs, and what to wrap gunicorn's command in (nothing, or ``unshare``)."""
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


def test_an_upload_bigger_than_the_free_space_is_refused_cleanly(
    small_disk: tuple[Path, list[str]], servers, handbuilt_config: Path, demo_files: dict[str, Path]
) -> None:  # small_disk first: it is unmounted after the servers stop
    data_dir, wrap = small_disk
    server = servers(data_dir, env={"COVERAGE_MAP_CONFIG": str(handbuilt_config)}, wrap=wrap, namespaced=bool(wrap))
    client = Client(server).load()  # the page opens the workspace: workspace.gpkg is on the small disk
    save = client.spec("upload-saved.data", "upload-report.children")
    folder = server.folder
    files = demo_upload(demo_files, referral_copies=2)
    space = os.statvfs(folder)
    free = space.f_bavail * space.f_frsize
    assert sum(len(data) for _, data in files.values()) > free, "the upload must be bigger than the free space"

    status, text = client.call(save, upload_values(files, "Too big for the disk", new_token()), ["upload-load.n_clicks"])
    assert status == 200, text[:500]
    assert "Saved as" not in text
    assert "no room" in text and "nothing was saved" in text, text[:800]  # said in the page, in words

    assert scratch_left(folder) == []
    assert {path.name for path in folder.iterdir()} <= WORKSPACE_FILES  # no partial file anywhere
    versions, problems = stored(folder)
    assert versions == [] and problems == []
    assert_serving(client, VIEW)
    # What fits is still saved.
    status, text = client.call(save, upload_values(files_of(handbuilt_config), "Fits", new_token()),
                               ["upload-load.n_clicks"])  # fmt: skip
    assert status == 200 and "Saved as Fits v1" in text, text[:800]
    versions, problems = stored(folder)
    assert versions == ["Fits v1"] and problems == []
    assert scratch_left(folder) == []
    assert_no_leak(client.seen)
