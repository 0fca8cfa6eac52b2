"""Load test: 20 simulated visitors against gunicorn (the Procfile's settings) on loopback, for 60 s (printed).

Each visitor runs realistic callback sequences - open the page (``/``, ``/_dash-layout``,
``/_dash-dependencies``, the opening callbacks), then change need, community, measure,
level and borough, click an area and open the organisations tab - posting the same JSON
bodies the browser posts to ``/_dash-update-component`` (built from the app's own
callback definitions, with Dash's ``changedPropIds``), with a short think time between
steps. It reports requests/s, p50/p95/p99 latency, the slowest callbacks, errors, the
load average, and the memory of the gunicorn master and of each worker before and after:
RSS, PSS (shared pages split between the processes sharing them) and USS (pages only that
process holds), from ``/proc/PID/smaps_rollup``. Targets: p95 < 300 ms with 20 users and
< 800 ms with 50, no errors; at England scale each worker <= 1.2 GB.

gunicorn runs as the ``Procfile`` runs it: ``--preload`` (the data loaded once, before the
workers fork), 2 workers of 4 threads, ``--timeout 120``. ``--data`` chooses the data set: ``demo``
(the synthetic demo), ``england`` (``$TMPDIR/coverage-map-england``, generated when missing, as
``benchmarks/dashboard.py --scale england`` does) or a dashboard config file (TOML).

Run::

    .venv/bin/python benchmarks/load.py [--users 20] [--seconds 60] [--workers 2] [--think 1.0]
    .venv/bin/python benchmarks/load.py --data england --users 50

The server listens on 127.0.0.1 only and is stopped at the end, whatever happens; the
run stops itself after ``--seconds`` (plus a bounded drain) and at most ``--max-requests``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = ("dementia", "carers_support", "mental_health", "loneliness_isolation", "debt_benefits_advice")
COMMUNITIES = ("all", "older_people", "carers", "bame")
METRICS = ("gap_score", "provision_per_10k", "nearest_km", "share_within_km", "referrals_per_10k", "pressure")
LEVELS = ("neighbourhood", "area", "borough")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    port: int, workers: int, threads: int, *, config: Path | None = None, preload: bool = True
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, COVERAGE_MAP_DATA_DIR=tempfile.mkdtemp(prefix="coverage-map-load-"))
    for name in ("COVERAGE_MAP_USERS", "COVERAGE_MAP_TRUSTED_USER_HEADER", "COVERAGE_MAP_CONFIG"):
        env.pop(name, None)
    if config is not None:
        env["COVERAGE_MAP_CONFIG"] = str(config)
    command = [sys.executable, "-m", "gunicorn", *(["--preload"] if preload else []), "--workers", str(workers),
               *(["--threads", str(threads)] if threads > 1 else []),
               "--bind", f"127.0.0.1:{port}", "--timeout", "120", "callbacks.wsgi:server"]  # fmt: skip
    print("  " + " ".join(command[2:]), flush=True)
    log = Path(env["COVERAGE_MAP_DATA_DIR"]).with_suffix(".log")
    print(f"  gunicorn's log: {log}", flush=True)
    with log.open("wb") as sink:  # the server's errors, to look into when a request fails
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 900  # England-scale data takes a minute or more to load on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/_dash-layout")
            if connection.getresponse().status == 200:
                connection.close()
                # Every worker loads the data on its first request: warm them all before measuring.
                for _ in range(workers * 4):
                    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    warm.request("GET", "/_dash-layout")
                    warm.getresponse().read()
                    warm.close()
                return process
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise SystemExit("the dashboard did not start within 900 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def server_pids(pid: int) -> list[int]:
    """The gunicorn master and its workers."""
    try:
        return [pid, *(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return [pid]


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (gunicorn master + workers), in MB."""
    return sum(memory_mb(one)["rss"] for one in server_pids(pid))


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of one process from ``/proc/PID/smaps_rollup``, in MB."""
    fields = {"Rss": 0.0, "Pss": 0.0, "Private_Clean": 0.0, "Private_Dirty": 0.0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in fields:
                fields[name] = float(rest.split()[0]) / 1024
    except OSError:
        pass
    return {"rss": fields["Rss"], "pss": fields["Pss"], "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def memory_lines(pid: int) -> list[str]:
    lines = []
    for number, one in enumerate(server_pids(pid)):
        memory = memory_mb(one)
        who = "master" if number == 0 else f"worker {number}"
        lines.append(f"{who:<9} RSS {memory['rss']:7.0f}  PSS {memory['pss']:7.0f}  USS {memory['uss']:7.0f} MB")
    return lines


def england_config(folder: Path, scratch: Path) -> Path:
    """A dashboard config naming the England-scale files in ``folder`` (generated when missing), written in ``scratch``."""
    from coverage_map.demo import SCALE_FILES, write_demo

    files = SCALE_FILES["england"]
    if not (folder / files["referrals"]).exists():
        print(f"generating England-scale data in {folder} (about a minute)...", flush=True)
        write_demo(folder, scale="england")
    config = scratch / "dashboard.toml"
    lines = ["[data]", *(f'{role} = "{folder / name}"' for role, name in files.items() if (folder / name).exists()),
             'label = "England (synthetic)"']  # fmt: skip
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def view_values(config: Path | None) -> tuple[list[str], list[str]]:
    """Boroughs (with ``all``) and neighbourhoods a visitor picks from, read from the lookup file."""
    if config is None:
        from coverage_map.dataset import Dataset

        demo = Dataset.demo()
        return ["all", *demo.boroughs["borough_id"].astype(str)], list(
            demo.units("neighbourhood")["area_id"].astype(str)
        )
    import tomllib

    import pandas as pd

    data = tomllib.loads(config.read_text(encoding="utf-8")).get("data", {})
    lookup = pd.read_csv(config.parent / data["lookup"], dtype=str)
    return ["all", *sorted(lookup["borough_id"].unique())], sorted(lookup["neighbourhood_id"].unique())


# --------------------------------------------------------------------------- payloads


def callback_specs(port: int) -> list[dict]:
    """The dashboard's callbacks as the browser sees them: ``/_dash-dependencies`` of the running server."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", "/_dash-dependencies")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


@dataclass
class View:
    level: str = "neighbourhood"
    category: str = "dementia"
    community: str = "all"
    metric: str = "gap_score"
    borough: str = "all"
    scheme: str = "quantiles"
    assets: bool = True
    gaps: bool = False
    area: str | None = None
    tab: str = "gaps"

    def value(self, component: str, prop: str) -> object:
        return {
            ("level-select", "value"): self.level, ("category-select", "value"): self.category,
            ("community-select", "value"): self.community, ("metric-select", "value"): self.metric,
            ("borough-select", "value"): self.borough, ("scheme-select", "value"): self.scheme,
            ("assets-toggle", "value"): self.assets, ("gaps-only-toggle", "value"): self.gaps,
            ("selected-area", "data"): self.area, ("tabs", "active_tab"): self.tab,
            ("data-token", "data"): None, ("url", "search"): self.search(),
            ("download-map-format", "value"): "png",
        }.get((component, prop))  # fmt: skip

    def search(self) -> str:
        return (
            f"?level={self.level}&category={self.category}&community={self.community}&metric={self.metric}"
            f"&borough={self.borough}&scheme={self.scheme}&assets={int(self.assets)}&gaps={int(self.gaps)}"
        )


def _parse_output(output: str) -> list[dict[str, str]]:
    text = output.strip(".")
    parts = text.split("...") if text.startswith(".") or "..." in output else [output]
    outputs = []
    for part in (p for p in parts if p):
        component, prop = part.rsplit(".", 1)
        outputs.append({"id": component, "property": prop.split("@")[0]})
    return outputs


def payload(spec: dict, view: View, changed: list[str]) -> dict:
    """The JSON body Dash's renderer posts for ``spec`` in ``view``."""
    return request_body(spec, view.value, changed)


def request_body(spec: dict, value: Callable[[str, str], object], changed: list[str]) -> dict:
    """The JSON body Dash's renderer posts for ``spec`` (see dash-renderer's ``handleServerside``).

    ``spec`` is one callback of ``/_dash-dependencies``; ``value(component, prop)`` gives each input's and
    state's value; ``changed`` the ``component.prop`` that fired it. Also used by ``tests/faults``.
    """
    outputs = _parse_output(spec["output"])
    return {
        "output": spec["output"],
        "outputs": outputs if len(outputs) > 1 or spec["output"].startswith("..") else outputs[0],
        "inputs": [{"id": i["id"], "property": i["property"], "value": value(i["id"], i["property"])}
                   for i in spec["inputs"]],
        "state": [{"id": s["id"], "property": s["property"], "value": value(s["id"], s["property"])}
                  for s in spec.get("state", [])],
        "changedPropIds": changed,
    }  # fmt: skip


def triggered_by(specs: list[dict], changed: set[str]) -> list[dict]:
    """Callbacks the renderer fires when ``changed`` props change (clientside and download ones left out, and
    pattern-matching ones: their components exist only once a visitor maps an upload's columns)."""
    fired = []
    for spec in specs:
        if spec.get("clientside_function") or "download" in spec["output"] or "upload" in spec["output"]:
            continue
        if "{" in spec["output"]:
            continue
        inputs = {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
        if inputs & changed:
            fired.append(spec)
    return fired


# --------------------------------------------------------------------------- visitors


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_request: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None, label: str = "") -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_request.setdefault(label, []).append(seconds)
            if error:
                self.errors.append(error)


def visitor(port: int, specs: list[dict], stats: Stats, stop: threading.Event, think: float, seed: int,
            budget: threading.Semaphore, boroughs: list[str], areas: list[str]) -> None:  # fmt: skip
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "br, gzip"}

    def request(method: str, path: str, body: dict | None = None, label: str = "") -> None:
        if stop.is_set() or not budget.acquire(blocking=False):
            stop.set()
            return
        nonlocal connection
        started = time.perf_counter()
        error = None
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body),
                               headers=headers if body is not None else {"Accept-Encoding": "br, gzip"})  # fmt: skip
            response = connection.getresponse()
            response.read()
            if response.status >= 400 and response.status != 204:
                error = f"{method} {path} -> {response.status}" + (f" ({label[:80]})" if response.status >= 500 else "")
        except (OSError, http.client.HTTPException) as exc:
            error = f"{method} {path} -> {type(exc).__name__}: {exc}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        stats.add(time.perf_counter() - started, error, label or f"{method} {path.split('?')[0]}")

    def fire(view: View, changed: set[str]) -> None:
        for spec in triggered_by(specs, changed):
            request("POST", "/_dash-update-component", payload(spec, view, sorted(changed)), spec["output"])

    while not stop.is_set():
        view = View()
        request("GET", "/" + view.search())
        request("GET", "/_dash-layout")
        request("GET", "/_dash-dependencies")
        # Page load: Dash fires every callback with its inputs as they are.
        every = {f"{i['id']}.{i['property']}" for spec in specs for i in spec["inputs"]}
        for spec in triggered_by(specs, every):
            if not spec.get("prevent_initial_call"):
                request("POST", "/_dash-update-component", payload(spec, view, []), spec["output"])
        fire(view, {"url.search"})
        steps = [
            ("category", lambda v: setattr(v, "category", rng.choice(CATEGORIES)), "category-select.value"),
            ("community", lambda v: setattr(v, "community", rng.choice(COMMUNITIES)), "community-select.value"),
            ("metric", lambda v: setattr(v, "metric", rng.choice(METRICS)), "metric-select.value"),
            ("level", lambda v: setattr(v, "level", rng.choice(LEVELS)), "level-select.value"),
            ("borough", lambda v: setattr(v, "borough", rng.choice(boroughs)), "borough-select.value"),
            ("area", lambda v: setattr(v, "area", rng.choice(areas) if v.level == "neighbourhood" else None),
             "selected-area.data"),
            ("tab", lambda v: setattr(v, "tab", "organisations"), "tabs.active_tab"),
        ]  # fmt: skip
        for _ in range(8):
            if stop.is_set():
                break
            _, change, prop = rng.choice(steps)
            change(view)
            fire(view, {prop})
            time.sleep(think * rng.uniform(0.5, 1.5))
    connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data", default="demo", help="demo, england or a dashboard config file (TOML)")
    parser.add_argument("--england-dir", type=Path, default=Path(tempfile.gettempdir()) / "coverage-map-england")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (the Procfile: 4)")
    parser.add_argument("--no-preload", dest="preload", action="store_false", help="each worker loads the data")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a visitor's steps (s); people take longer"
    )
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="coverage-map-load-config-"))
    config = None
    if args.data == "england":
        config = england_config(args.england_dir, scratch)
    elif args.data != "demo":
        config = Path(args.data).resolve()
    boroughs, areas = view_values(config)
    port = free_port()
    print(f"Starting gunicorn ({args.workers} workers x {args.threads} threads, data: {args.data}) on port {port}...")
    clock = time.perf_counter()
    server = start_server(port, args.workers, args.threads, config=config, preload=args.preload)
    print(f"  ready in {time.perf_counter() - clock:.0f} s", flush=True)
    loads = [os.getloadavg()[0]]
    try:
        specs = callback_specs(port)
        before = memory_lines(server.pid)
        stats = Stats()
        stop = threading.Event()
        budget = threading.Semaphore(args.max_requests)
        threads = [
            threading.Thread(
                target=visitor, daemon=True, args=(port, specs, stats, stop, args.think, seed, budget, boroughs, areas)
            )  # fmt: skip
            for seed in range(args.users)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        while not stop.wait(min(10.0, max(0.0, args.seconds - (time.perf_counter() - started)))):
            loads.append(os.getloadavg()[0])
            if time.perf_counter() - started >= args.seconds:
                break
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        elapsed = time.perf_counter() - started
        after = memory_lines(server.pid)
    finally:
        stop_server(server)

    latencies = [s * 1000 for s in stats.latencies]
    target = 300 if args.users <= 20 else 800
    print(f"\n{args.users} users, {elapsed:.0f} s, data {args.data}, gunicorn {args.workers} workers x "
          f"{args.threads} threads{' --preload' if args.preload else ''}")  # fmt: skip
    print(f"  load average:   {min(loads):.2f}-{max(loads):.2f} during the run (1-minute, sampled every 10 s)")
    print(f"  requests:       {len(latencies):,}  ({len(latencies) / elapsed:.1f} req/s)")
    print(f"  latency p50:    {percentile(latencies, 0.50):.0f} ms")
    print(f"  latency p95:    {percentile(latencies, 0.95):.0f} ms   (target < {target} ms)")
    print(f"  latency p99:    {percentile(latencies, 0.99):.0f} ms")
    print(f"  latency mean:   {statistics.fmean(latencies) if latencies else float('nan'):.0f} ms")
    print(f"  errors:         {len(stats.errors)}   (target 0)")
    for error in sorted(set(stats.errors))[:10]:
        print(f"    {error}")
    print("  slowest requests (p95 ms, median ms, count):")
    slowest = sorted(stats.by_request.items(), key=lambda item: -percentile(item[1], 0.95))[:6]
    for label, values in slowest:
        print(f"    {percentile(values, 0.95) * 1000:7.0f} {statistics.median(values) * 1000:7.0f} {len(values):6d}  "
              f"{label[:90]}")  # fmt: skip
    print("  server memory before the run:")
    for line in before:
        print(f"    {line}")
    print("  server memory after the run:")
    for line in after:
        print(f"    {line}")


if __name__ == "__main__":
    main()
