"""``kill -9`` a gunicorn worker in the middle of saving an upload, and in the middle of drawing the map.

gunicorn runs as the Procfile runs it (``--preload``, 2 workers) on loopback with a fresh data folder.
The worker doing the work is found from ``/proc`` (the one holding the upload's scratch folder, or the
server's end of our connection), stopped, checked to be still working, and killed with ``SIGKILL``.
Then: gunicorn has started a worker in its place and the app still serves, the workspace passes its
integrity check, nothing partial was saved and no scratch file is left.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbacks.uploads import new_token

from .conftest import VIEW, demo_upload, upload_values
from .harness import (
    Client,
    Server,
    answered,
    assert_no_leak,
    assert_serving,
    descendants,
    holder_of,
    scratch_left,
    socket_owner,
    start_server,
    stop_server,
    stored,
    wait_until,
)

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("kill")
    started = start_server(folder / "data", folder)
    try:
        yield started
    finally:
        stop_server(started)


def kill_when_stopped(pid: int, still_working: callable) -> None:  # type: ignore[valid-type]
    """``SIGSTOP`` ``pid``, check it is still in the middle of its work, then ``SIGKILL`` it."""
    os.kill(pid, signal.SIGSTOP)
    try:
        assert still_working(), "the request was answered before the worker could be stopped"
    except BaseException:
        os.kill(pid, signal.SIGCONT)
        raise
    os.kill(pid, signal.SIGKILL)


def test_kill_9_a_worker_in_the_middle_of_saving_a_large_upload(server: Server, demo_files: dict[str, Path]) -> None:
    client = Client(server).load()
    save = client.spec("upload-saved.data", "upload-report.children")  # the save, whatever its function is called
    files = demo_upload(demo_files, referral_copies=5)  # ~15 MB of referrals: seconds of validation
    body = client.body(save, upload_values(files, "Killed upload", new_token()), ["upload-load.n_clicks"])
    before, problems = stored(server.data_dir)
    assert problems == []
    outcome: dict[str, object] = {}

    def post() -> None:
        connection = client.connection(timeout=300)
        try:
            connection.connect()
            outcome["port"] = connection.sock.getsockname()[1]
            client.send(connection, body)
            outcome["answer"] = client.answer(connection, body)
        except (OSError, http.client.HTTPException) as error:
            outcome["error"] = error
        finally:
            connection.close()

    posting = threading.Thread(target=post, daemon=True)
    posting.start()
    scratch = str(server.data_dir.resolve() / "incoming-")

    def saving() -> int | None:
        """The process holding the upload's scratch folder, once the files are written to it."""
        if not any(server.data_dir.glob("incoming-*/referrals/*")):
            return None
        processes = descendants(server.master)
        return holder_of(processes, scratch) or socket_owner(processes, int(outcome.get("port", 0)), server.port)

    pid = wait_until(saving, timeout=180, what="a worker to write the upload to its scratch folder", every=0.02)
    assert isinstance(pid, int)
    kill_when_stopped(pid, posting.is_alive)
    posting.join(timeout=120)
    assert not posting.is_alive()
    if "answer" in outcome:  # a background job killed: the browser is told, never a 500 or "Saved"
        status, text = outcome["answer"]  # type: ignore[misc]
        assert status < 500 and "Saved as" not in text
    else:
        assert isinstance(outcome["error"], (http.client.RemoteDisconnected, ConnectionError)), outcome

    server.wait_for_workers(gone=pid)
    wait_until(lambda: not scratch_left(server.folder), timeout=60, what="the killed worker's scratch to be removed")
    assert_serving(client, VIEW)
    after, problems = stored(server.data_dir)
    assert problems == []
    assert after == before or (len(after) == len(before) + 1 and set(before) <= set(after))  # none, or complete
    assert scratch_left(server.folder) == []
    assert_no_leak(client.seen)


def test_kill_9_a_worker_in_the_middle_of_a_map_request(server: Server) -> None:
    client = Client(server).load()
    spec = client.spec("map.figure")
    # Views nobody asked for yet (the small-area map is the slowest): each is computed, not cached.
    views = itertools.product(("area", "neighbourhood"), ("mental_health", "loneliness_isolation", "carers_support",
                              "debt_benefits_advice"), ("older_people", "carers", "bame"))  # fmt: skip
    killed = None
    for level, category, community in itertools.islice(views, 12):
        values = {**VIEW, "level-select.value": level, "category-select.value": category,
                  "community-select.value": community}  # fmt: skip
        connection = client.connection(timeout=120)
        try:
            connection.connect()
            port = connection.sock.getsockname()[1]
            client.send(connection, client.body(spec, values, ["category-select.value"]))
            sock = connection.sock

            def handling(sock: object = sock, port: int = port) -> int | str | None:
                if answered(sock):  # type: ignore[arg-type]
                    return "too fast"
                return socket_owner(server.worker_pids(), port, server.port)

            pid = wait_until(handling, timeout=120, what="a worker to take the map request", every=0.002)
            if pid == "too fast":
                continue
            assert isinstance(pid, int)
            with contextlib.suppress(AssertionError):  # answered between finding and stopping it: try another view
                kill_when_stopped(pid, lambda sock=sock: not answered(sock))
                killed = pid
            if killed is None:
                continue
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                connection.getresponse()  # the worker died mid-request: no answer at all
            break
        finally:
            connection.close()
    assert killed is not None, "every map request was answered before its worker could be stopped"

    server.wait_for_workers(gone=killed)
    assert_serving(client, VIEW)
    versions, problems = stored(server.data_dir)
    assert problems == []
    assert scratch_left(server.folder) == []
    assert_no_leak(client.seen)
