"""Real processes for the fault suite: gunicorn as the Procfile runs it, a throwaway PostgreSQL, and /proc.

Nothing here mocks the app: the server is ``gunicorn`` started from the ``Procfile``'s own command line
(loopback, a free port, a fresh data folder), spoken to over HTTP with the JSON bodies the browser posts
to ``/_dash-update-component`` (built by ``benchmarks/load.py``'s :func:`request_body` from the running
app's ``/_dash-dependencies``). Every wait is bounded and says what it waited for when it gives up.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.load import free_port, request_body  # noqa: E402

#: How long gunicorn may take to load and warm the demo data before its workers fork (a loaded 2-core machine).
START_TIMEOUT = 240.0
#: Scratch left in a data folder: upload and checkout folders, tempfile's default names, partial downloads.
SCRATCH = re.compile(r"^(incoming-|load-|revise-|sync-|mapping-|candidates-|tmp.|\.part-)|\.tmp$")
#: Never in any response: how the server fails inside.
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "postgresql://", 'File "/')


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.2) -> object:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --------------------------------------------------------------------------- gunicorn, as the Procfile runs it


def procfile_command(port: int) -> list[str]:
    """The Procfile's ``web`` command on ``127.0.0.1:port`` with its default worker count, as an argv."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = line.removeprefix("web:").strip()
    command = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2) if m.group(1) != "PORT" else str(port), command)
    argv = shlex.split(command.replace("0.0.0.0:", "127.0.0.1:"))
    assert argv[0] == "gunicorn" and f"127.0.0.1:{port}" in argv, argv
    return [sys.executable, "-m", "gunicorn", *argv[1:]]


def children(pid: int) -> list[int]:
    """``pid``'s child processes, whichever of its threads started them (a gunicorn thread forks a job)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return sorted(set(found))


def descendants(pid: int) -> list[int]:
    found, queue = [], children(pid)
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children(child))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Server:
    """A running gunicorn master (its process group is ours) and where it keeps things."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path
    workers: int
    #: What to look into for the data folder (another mount namespace's view: ``/proc/<pid>/root/...``).
    view: Path | None = None

    @property
    def folder(self) -> Path:
        """The data folder as this process sees it."""
        return self.view if self.view is not None else self.data_dir

    @property
    def master(self) -> int:
        """gunicorn's master (a wrapper such as ``unshare`` execs into it, so it keeps the pid)."""
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return [pid for pid in children(self.master) if alive(pid)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_workers(self, *, gone: int | None = None, timeout: float = 90.0) -> list[int]:
        """Wait until the master has all its workers (and ``gone`` is not one of them)."""

        def ready() -> list[int] | None:
            pids = self.worker_pids()
            return pids if len(pids) == self.workers and gone not in pids else None

        return wait_until(ready, timeout=timeout, what=f"gunicorn to have {self.workers} workers again")  # type: ignore[return-value]


def start_server(data_dir: Path, log_dir: Path, env: Mapping[str, str] | None = None, *,
                 wrap: Sequence[str] = (), namespaced: bool = False) -> Server:  # fmt: skip
    """gunicorn as the Procfile runs it, on a free loopback port, serving once its workers answer.

    ``wrap`` goes before the command (``unshare ...``); ``namespaced``: the data folder is a mount of
    the server's own mount namespace, seen through ``/proc/<pid>/root``.
    """
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_MAP_")}
    environment.update({"COVERAGE_MAP_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **dict(env or {})})
    log = log_dir / f"gunicorn-{port}.log"
    argv = [*wrap, *procfile_command(port), *_own_control_socket(log_dir, port)]
    workers = int(argv[argv.index("--workers") + 1])
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    server = Server(process, port, data_dir, log, workers)
    if namespaced:
        server.view = Path(f"/proc/{process.pid}/root") / data_dir.resolve().relative_to("/")
    try:

        def answering() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited during start-up:\n{server.log_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                return Client(server).get("/_dash-layout")[0] == 200
            return False

        wait_until(answering, timeout=START_TIMEOUT, what="gunicorn to load the data and answer", every=0.5)
        server.wait_for_workers()
    except BaseException:
        stop_server(server)
        raise
    return server


def _own_control_socket(folder: Path, port: int) -> list[str]:
    """gunicorn 27+ opens a control socket at one path per user: give this server its own (others run too)."""
    import gunicorn.config

    if not any(setting.name == "control_socket" for setting in gunicorn.config.KNOWN_SETTINGS):
        return []
    return ["--control-socket", str(folder / f"gunicorn-{port}.ctl")]


def stop_server(server: Server) -> None:
    """Stop gunicorn (INT, then KILL its whole process group), whatever state it is in."""
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers and anything they started
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --------------------------------------------------------------------------- speaking Dash over HTTP


@dataclass
class Client:
    """HTTP to one server, as the browser does it: pages, and callbacks by their output ids."""

    server: Server
    timeout: float = 120.0
    specs: list[dict] = field(default_factory=list)
    end_id: str | None = None
    #: Every response body seen, for the leak checks.
    seen: list[tuple[str, int, str]] = field(default_factory=list)

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout or self.timeout)

    def get(self, path: str) -> tuple[int, str]:
        connection = self.connection()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        self.seen.append((path, response.status, text))
        return response.status, text

    def load(self) -> Client:
        """Read the page's callback definitions and its ``endId`` (for background callbacks), as the browser does."""
        status, page = self.get("/")
        assert status == 200, status
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S)
        self.end_id = json.loads(config.group(1)).get("end_id") if config else None
        status, text = self.get("/_dash-dependencies")
        assert status == 200, status
        self.specs = json.loads(text)
        return self

    def spec(self, *outputs: str) -> dict:
        """The callback whose outputs include every ``component.prop`` given (not its function's name)."""
        for spec in self.specs:
            found = {f"{o['id']}.{o['property']}" for o in _outputs(spec["output"])}
            if set(outputs) <= found:
                return spec
        raise AssertionError(f"no callback outputs {outputs}")

    def body(self, spec: dict, values: Mapping[str, object], changed: Sequence[str]) -> bytes:
        return json.dumps(request_body(spec, lambda c, p: values.get(f"{c}.{p}"), list(changed))).encode()

    def path(self, **handles: str) -> str:
        query = {**({"endId": self.end_id} if self.end_id else {}), **handles}
        return "/_dash-update-component" + ("?" + urllib.parse.urlencode(query) if query else "")

    def send(self, connection: http.client.HTTPConnection, body: bytes, **handles: str) -> None:
        connection.request("POST", self.path(**handles), body=body, headers={"Content-Type": "application/json"})

    def answer(self, connection: http.client.HTTPConnection, body: bytes) -> tuple[int, str]:
        """The response to the request just sent on ``connection``; a background callback is polled to its end."""
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        self.seen.append(("callback", response.status, text))
        deadline = time.monotonic() + self.timeout
        handles = json.loads(text) if response.status in (200, 202) and text.startswith("{") else None
        if not _running(handles):
            return response.status, text
        # Polled with the job's handles until it answers: a poll while it runs carries at most its progress.
        while response.status in (200, 202) and text.startswith("{") and not _answered(json.loads(text)):
            assert isinstance(handles, dict)
            if time.monotonic() > deadline:
                raise AssertionError("a background callback did not finish in time")
            time.sleep(0.2)
            poll = self.connection()
            try:
                self.send(poll, body, cacheKey=handles["cacheKey"], job=handles["job"])
                response = poll.getresponse()
                text = response.read().decode("utf-8", "replace")
            finally:
                poll.close()
            self.seen.append(("callback", response.status, text))
        return response.status, text

    def call(self, spec: dict, values: Mapping[str, object], changed: Sequence[str] = ()) -> tuple[int, str]:
        body = self.body(spec, values, changed)
        connection = self.connection()
        try:
            self.send(connection, body)
            return self.answer(connection, body)
        finally:
            connection.close()


def _running(answer: object) -> bool:
    """A background callback's handles (still running), rather than its outputs."""
    return isinstance(answer, dict) and "cacheKey" in answer and "job" in answer and "response" not in answer


def _answered(answer: object) -> bool:
    """A background callback's outputs (or its error), rather than a poll's progress while it runs."""
    return not isinstance(answer, dict) or "response" in answer or "error" in answer


def _outputs(output: str) -> list[dict[str, str]]:
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts if p]


def data_url(path: Path, data: bytes | None = None) -> str:
    data = path.read_bytes() if data is None else data
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


# --------------------------------------------------------------------------- who is doing what (/proc)


def socket_owner(pids: Sequence[int], local_port: int, server_port: int) -> int | None:
    """Which of ``pids`` holds the server's end of the connection from ``local_port`` (the worker handling it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    return next((pid for pid in pids if inodes & set(open_files(pid))), None)


def open_files(pid: int) -> list[str]:
    links = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return links


def holder_of(pids: Sequence[int], prefix: str) -> int | None:
    """Which of ``pids`` has a file open whose path starts with ``prefix`` (e.g. a held scratch folder)."""
    return next((pid for pid in pids if any(link.startswith(prefix) for link in open_files(pid))), None)


def answered(sock: socket.socket) -> bool:
    """Whether the server has sent anything (or closed) on ``sock`` yet."""
    return bool(select.select([sock], [], [], 0)[0])


# --------------------------------------------------------------------------- checks every test ends with


def assert_no_leak(texts: Sequence[tuple[str, int, str]], secrets: Sequence[str] = ()) -> None:
    """No response was a 500 or carries a traceback, a database URL, an internal address or a secret."""
    for what, status, text in texts:
        assert status < 500, f"{what} answered {status}: {text[:300]}"
        for leak in (*LEAKS, *secrets):
            assert leak not in text, f"{what} leaked {leak!r}"


def scratch_left(folder: Path) -> list[str]:
    """Scratch files and folders in the data folder and the workspace's ``tmp/`` (there should be none)."""
    found = []
    for where in (folder, folder / "tmp"):
        if where.is_dir():
            found += [str(path.relative_to(folder)) for path in where.iterdir() if SCRATCH.search(path.name)]
    return found


def stored(folder: Path) -> tuple[list[str], list[str]]:
    """The versions in the workspace of a data folder (GeoPackage) and what its integrity check finds."""
    from coverage_map.store import open_workspace

    if not str(folder).startswith("/proc/"):
        with open_workspace(folder / "workspace.gpkg") as workspace:
            return [ref.label for ref in workspace.list(include_private=True)], workspace.check_integrity()
    # Another mount namespace's folder: SQLite resolves /proc/<pid>/root to our own /, so check a copy.
    with tempfile.TemporaryDirectory(prefix="coverage-map-faults-") as copy:
        for path in folder.glob("workspace.gpkg*"):
            shutil.copy2(path, copy)
        return stored(Path(copy))


def assert_serving(client: Client, values: Mapping[str, object]) -> None:
    """A normal page and a callback answer ``200`` (the map of the default data)."""
    for path in ("/", "/_dash-layout"):
        status, _ = client.get(path)
        assert status == 200, f"{path} answered {status}"
    status, text = client.call(client.spec("map.figure"), values, ["level-select.value"])
    assert status == 200, f"the map callback answered {status}"
    assert '"map"' in text and "service-notice" not in text, text[:300]


# --------------------------------------------------------------------------- a PostgreSQL of our own


@dataclass
class Postgres:
    """A throwaway PostgreSQL + PostGIS cluster on its own port (never the shared test cluster)."""

    bin_dir: Path
    folder: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://coverage_map:{self.password}@127.0.0.1:{self.port}/coverage_map_faults"

    def ctl(self, *args: str, timeout: float = 90) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), *args]
        as_postgres(command, timeout=timeout)

    def start(self) -> None:
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        self.ctl("-o", options, "-l", str(self.folder / "server.log"), "-w", "-t", "90", "start", timeout=120)

    def stop(self) -> None:
        """``pg_ctl stop -m immediate``: the server is gone at once, as in a crash."""
        self.ctl("stop", "-m", "immediate", "-w", "-t", "60")

    def psql(self, database: str, sql: str) -> None:
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.folder), "-p",
                   str(self.port), "-U", "postgres", "-d", database, "-c", sql]  # fmt: skip
        as_postgres(command, timeout=120)


def as_postgres(command: Sequence[str], *, timeout: float) -> None:
    run = ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)
    done = subprocess.run(run, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command[:3])}... failed: {done.stderr.strip()[-1500:]}")


def postgres_binaries() -> tuple[Path | None, str]:
    """The newest installed server with PostGIS (as scripts/postgres.sh finds it), or None and why not."""
    versions = sorted((p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin" / "initdb").exists()),
                      key=lambda v: [int(x) for x in re.findall(r"\d+", v)])  # fmt: skip
    if not versions:
        return None, "no PostgreSQL server is installed in /usr/lib/postgresql (run: bash scripts/postgres.sh)"
    version = versions[-1]
    if not Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
        return None, f"PostGIS is not installed for PostgreSQL {version} (run: bash scripts/postgres.sh)"
    if os.geteuid() != 0 and shutil.which("runuser") is None:
        return None, "a cluster of our own needs root (runuser -u postgres) to initdb and start it"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return None, "runuser is missing: cannot run initdb as the postgres user"
    return Path(f"/usr/lib/postgresql/{version}/bin"), ""


@contextlib.contextmanager
def own_postgres(bin_dir: Path) -> Iterator[Postgres]:
    """A new cluster in a temporary folder on a free port, with the role, database and PostGIS; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="coverage-map-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = Postgres(bin_dir, folder, free_port(), os.urandom(12).hex())
    started = False
    try:
        as_postgres([str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "-E", "UTF8",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], timeout=180)  # fmt: skip
        server.start()
        started = True
        server.psql("postgres", f"CREATE ROLE coverage_map LOGIN PASSWORD '{server.password}'")
        server.psql("postgres", "CREATE DATABASE coverage_map_faults OWNER coverage_map")
        server.psql("coverage_map_faults", "CREATE EXTENSION postgis")
        yield server
    finally:
        if started:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                server.stop()
        shutil.rmtree(folder, ignore_errors=True)
