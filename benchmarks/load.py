"""Load test: 20 simulated visitors against gunicorn (2 workers) on loopback, for 60 s (printed, never asserted).

Each visitor runs realistic callback sequences - open the page (``/``, ``/_dash-layout``,
``/_dash-dependencies``, the opening callbacks), then change need, community, measure,
level and borough, click an area and open the organisations tab - posting the same JSON
bodies the browser posts to ``/_dash-update-component`` (built from the app's own
callback definitions, with Dash's ``changedPropIds``), with a short think time between
steps. It reports requests/s, p50/p95/p99 latency, errors, and the RSS of the gunicorn
master and workers before and after. Target at demo scale: p95 < 300 ms, no errors.

Run::

    .venv/bin/python benchmarks/load.py [--users 20] [--seconds 60] [--workers 2] [--think 1.0]

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


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, COVERAGE_MAP_DATA_DIR=tempfile.mkdtemp(prefix="coverage-map-load-"))
    for name in ("COVERAGE_MAP_USERS", "COVERAGE_MAP_TRUSTED_USER_HEADER"):
        env.pop(name, None)
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--timeout", "120", "callbacks.wsgi:server"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
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
    raise SystemExit("the dashboard did not start within 180 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (gunicorn master + workers), in MB."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += float(line.split()[1]) / 1024
        except OSError:
            continue
    return total


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
    """Callbacks the renderer fires when ``changed`` props change (clientside and download ones left out)."""
    fired = []
    for spec in specs:
        if spec.get("clientside_function") or "download" in spec["output"] or "upload" in spec["output"]:
            continue
        inputs = {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
        if inputs & changed:
            fired.append(spec)
    return fired


# --------------------------------------------------------------------------- visitors


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if error:
                self.errors.append(error)


def visitor(port: int, specs: list[dict], stats: Stats, stop: threading.Event, think: float, seed: int,
            budget: threading.Semaphore, boroughs: list[str], areas: list[str]) -> None:  # fmt: skip
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "br, gzip"}

    def request(method: str, path: str, body: dict | None = None) -> None:
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
                error = f"{method} {path} -> {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{method} {path} -> {type(exc).__name__}: {exc}"
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        stats.add(time.perf_counter() - started, error)

    def fire(view: View, changed: set[str]) -> None:
        for spec in triggered_by(specs, changed):
            request("POST", "/_dash-update-component", payload(spec, view, sorted(changed)))

    while not stop.is_set():
        view = View()
        request("GET", "/" + view.search())
        request("GET", "/_dash-layout")
        request("GET", "/_dash-dependencies")
        # Page load: Dash fires every callback with its inputs as they are.
        every = {f"{i['id']}.{i['property']}" for spec in specs for i in spec["inputs"]}
        for spec in triggered_by(specs, every):
            if not spec.get("prevent_initial_call"):
                request("POST", "/_dash-update-component", payload(spec, view, []))
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
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a visitor's steps (s); people take longer"
    )
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    args = parser.parse_args(argv)

    from coverage_map.dataset import Dataset

    demo = Dataset.demo()
    boroughs = ["all", *demo.boroughs["borough_id"].astype(str)]
    areas = list(demo.units("neighbourhood")["area_id"].astype(str))
    port = free_port()
    print(f"Starting gunicorn ({args.workers} workers x {args.threads} threads) on 127.0.0.1:{port}...")
    server = start_server(port, args.workers, args.threads)
    try:
        specs = callback_specs(port)
        before = rss_mb(server.pid)
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
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        elapsed = time.perf_counter() - started
        after = rss_mb(server.pid)
    finally:
        stop_server(server)

    latencies = [s * 1000 for s in stats.latencies]
    print(f"\n{args.users} users, {elapsed:.0f} s, gunicorn {args.workers} workers x {args.threads} threads")
    print(f"  requests:       {len(latencies):,}  ({len(latencies) / elapsed:.1f} req/s)")
    print(f"  latency p50:    {percentile(latencies, 0.50):.0f} ms")
    print(f"  latency p95:    {percentile(latencies, 0.95):.0f} ms   (target < 300 ms)")
    print(f"  latency p99:    {percentile(latencies, 0.99):.0f} ms")
    print(f"  latency mean:   {statistics.fmean(latencies) if latencies else float('nan'):.0f} ms")
    print(f"  errors:         {len(stats.errors)}   (target 0)")
    for error in sorted(set(stats.errors))[:10]:
        print(f"    {error}")
    print(f"  server RSS:     {before:.0f} MB before, {after:.0f} MB after (master + workers)")


if __name__ == "__main__":
    main()
