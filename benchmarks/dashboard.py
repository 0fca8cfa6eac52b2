"""Dashboard speed and server memory, measured in headless Chromium (printed, never asserted).

Starts the app with gunicorn on loopback (as the Procfile does, two workers), drives
Debian's headless Chromium with Selenium and prints, per view:

* first map visible: navigation start -> the map's polygons drawn (MapLibre idle), on a
  warm server (every worker loaded), as a visitor sees it;
* category change repainted: choosing another need -> the recoloured map drawn;
* server time per callback: the ``Server-Timing`` header the app adds to callback responses;
* bytes per response: compressed bytes on the wire (Chrome's encodedDataLength);

and for the server: the cold start (gunicorn started -> every worker has loaded the data)
and the memory of each worker, VmRSS from ``/proc/PID/status`` and PSS (its fair share of
pages shared with the other processes) from ``/proc/PID/smaps_rollup``.

At England scale (``--scale england``: 33,755 small areas in 300 boroughs, 100,000 services,
2,000,000 referrals) the views are the opening one (neighbourhoods, all of England), small
areas of one borough, small areas without a borough (the map shows neighbourhoods and asks
for a borough) and a click on that map, which chooses the borough clicked.

Run::

    .venv/bin/python benchmarks/dashboard.py [--repeat 7] [--workers 2]         # demo data
    .venv/bin/python benchmarks/dashboard.py --scale england [--no-preload]     # England-scale synthetic data
    .venv/bin/python benchmarks/dashboard.py --config dashboard.toml            # any config file

The England data is generated into ``$TMPDIR/coverage-map-england`` on first use (as
``benchmarks/run.py`` does). As in the ``Procfile``, gunicorn runs with ``--preload``: the data is
loaded once in the master before it forks the workers, so they share those pages
(``--no-preload``: each worker loads its own copy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENGLAND_DIR = Path(tempfile.gettempdir()) / "coverage-map-england"
TARGETS = {
    "demo": {
        "first map visible (s)": 3.0,
        "category change repainted (ms)": 500.0,
        "server time per callback, median (ms)": 100.0,
        "largest interaction response (KB, compressed)": 50.0,
    },
    "england": {
        "first map visible (s)": 6.0,
        "category change repainted (ms)": 1500.0,
    },
}
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader",
    "--window-size=1400,900",
]  # fmt: skip
READY = """
const done = arguments[arguments.length - 1];
const started = performance.now();
(function poll() {
  const g = document.querySelector('#map .js-plotly-plot');
  const sub = g && g._fullLayout && g._fullLayout.map && g._fullLayout.map._subplot;
  if (sub && sub.map && g.data && g.data[0].locations.length && sub.map.loaded() && !sub.map.isMoving()) {
    done(performance.now());
  } else if (performance.now() - started > 90000) { done(null); } else { setTimeout(poll, 20); }
})();
"""
CHANGE = """
const [value, done] = [arguments[0], arguments[arguments.length - 1]];
const g = document.querySelector('#map .js-plotly-plot');
const map = g._fullLayout.map._subplot.map;
const title = g.layout.title.text;
const select = document.getElementById('category-select');
const t0 = performance.now();
Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set.call(select, value);
select.dispatchEvent(new Event('change', {bubbles: true}));
(function poll() {
  if (g.layout.title.text !== title) {
    map.once('idle', () => done(performance.now() - t0));
    map.triggerRepaint();
  } else if (performance.now() - t0 > 30000) { done(null); } else { requestAnimationFrame(poll); }
})();
"""
#: Click the first unit of the map as plotly would report it; resolves once a new geometry is drawn.
CLICK = """
const done = arguments[arguments.length - 1];
const g = document.querySelector('#map .js-plotly-plot');
const before = g.data[0].locations;
const location = before[0];
const t0 = performance.now();
g.emit('plotly_click', {points: [{curveNumber: 0, pointNumber: 0, location: location}]});
(function poll() {
  const sub = g._fullLayout.map && g._fullLayout.map._subplot;
  if (g.data[0].locations !== before && sub && sub.map.loaded() && !sub.map.isMoving()) {
    done([performance.now() - t0, location, g.data[0].locations.length]);
  } else if (performance.now() - t0 > 60000) { done(null); } else { setTimeout(poll, 20); }
})();
"""
#: gunicorn config: say on stderr when each worker has loaded the app (after the fork).
GUNICORN_HOOKS = """
import sys, time
def post_worker_init(worker):
    print(f"coverage-map-bench worker-ready {worker.pid} {time.time():.3f}", file=sys.stderr, flush=True)
"""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    started: float
    ready: dict[int, float] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def watch(self) -> None:
        """Read gunicorn's stderr in a thread: worker-ready lines and any error."""
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if line.startswith("coverage-map-bench worker-ready"):
                _, _, pid, stamp = line.split()
                self.ready[int(pid)] = float(stamp)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    port: int, workers: int, threads: int, *, config: Path | None, preload: bool, timeout_s: float = 900
) -> Server:
    scratch = Path(tempfile.mkdtemp(prefix="coverage-map-bench-"))
    hooks = scratch / "gunicorn_hooks.py"
    hooks.write_text(GUNICORN_HOOKS, encoding="utf-8")
    env = dict(os.environ, COVERAGE_MAP_DATA_DIR=str(scratch / "uploads"))
    env.pop("COVERAGE_MAP_CONFIG", None)
    if config is not None:
        env["COVERAGE_MAP_CONFIG"] = str(config)
    # --timeout as the Procfile; a worker that loads England-scale data itself needs longer to boot.
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--timeout", "120" if preload or config is None else "600",
               "--config", str(hooks), *(["--preload"] if preload else []), "callbacks.wsgi:server"]  # fmt: skip
    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(process, port, started)
    threading.Thread(target=server.watch, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if len(server.ready) >= workers:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=30) as response:
                    if response.status == 200:
                        return server
            except OSError:
                pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the dashboard did not start:\n" + "\n".join(server.log[-30:]))


def worker_pids(server: Server) -> list[int]:
    """The workers' process ids (they report them when ready; ``/proc`` lists the master's children)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    listed = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return listed or sorted(server.ready)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident) and PSS (shared pages split between the processes sharing them), in MB."""
    result = {"rss": float("nan"), "pss": float("nan")}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            result["rss"] = int(line.split()[1]) / 1024
    rollup = Path(f"/proc/{pid}/smaps_rollup")
    if rollup.exists():
        for line in rollup.read_text().splitlines():
            if line.startswith("Pss:"):
                result["pss"] = int(line.split()[1]) / 1024
    return result


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='coverage-map-bench-chromium-')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver_path = os.environ.get("CHROMEDRIVER_PATH") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(120)
    driver.set_page_load_timeout(120)
    return driver


def callback_responses(driver) -> list[dict[str, float]]:
    """Server time and wire size of every callback response since the last call."""
    requests: dict[str, dict[str, float]] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.responseReceived":
            response = params["response"]
            if "_dash-update-component" in response["url"]:
                headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
                timing = headers.get("server-timing", "")
                server_ms = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
                requests[params["requestId"]] = {"server_ms": server_ms, "bytes": 0.0}
        elif message["method"] == "Network.loadingFinished" and params.get("requestId") in requests:
            requests[params["requestId"]]["bytes"] = float(params.get("encodedDataLength", 0))
    return list(requests.values())


def first_map(driver, url: str) -> float:
    driver.get(url)
    ready = driver.execute_async_script(READY)
    if ready is None:
        raise SystemExit(f"the map never appeared at {url}")
    time.sleep(1.5)  # let the page's other callbacks (tables, notice) finish before measuring interactions
    return float(ready) / 1000


def category_changes(driver, categories: list[str]) -> tuple[list[float], list[dict[str, float]]]:
    callback_responses(driver)  # discard page-load traffic
    times, responses = [], []
    for category in categories:
        elapsed = driver.execute_async_script(CHANGE, category)
        if elapsed is None:
            raise SystemExit(f"the map did not repaint after choosing {category}")
        times.append(float(elapsed))
        time.sleep(1.0)  # the gap table and URL callbacks finish too
        responses += callback_responses(driver)
    return times, responses


@dataclass(frozen=True)
class View:
    name: str
    query: str
    loads: int = 3
    click: bool = False


def views_for(scale: str, borough: str | None) -> list[View]:
    if scale != "england":
        return [View("neighbourhood level (68 neighbourhoods)", "?level=neighbourhood&category=dementia"),
                View("area level (~1,700 small areas)", "?level=area&category=dementia")]  # fmt: skip
    return [
        View("neighbourhoods, all of England (1,350; the opening view)", "?level=neighbourhood&category=dementia"),
        View(f"small areas of one borough ({borough})", f"?level=area&category=dementia&borough={borough}"),
        View("small areas, no borough chosen (map shows neighbourhoods + notice)", "?level=area&category=dementia",
             loads=2, click=True),
    ]  # fmt: skip


def busiest_borough(lookup: Path) -> str | None:
    """The borough with the most small areas in a lookup CSV (the heaviest one-borough map)."""
    import pandas as pd

    if not lookup.exists():
        return None
    counts = pd.read_csv(lookup, usecols=["borough_id"], dtype=str)["borough_id"].value_counts()
    return str(counts.index[0]) if len(counts) else None


def england_config(folder: Path) -> Path:
    """A dashboard config file naming the England-scale files (generated when missing)."""
    from coverage_map.demo import SCALE_FILES, write_demo

    files = SCALE_FILES["england"]
    if not all((folder / name).exists() for name in files.values()):
        print(f"generating England-scale data in {folder} (about a minute)...", flush=True)
        write_demo(folder, scale="england")
    config = folder / "dashboard.toml"
    lines = ["[data]", *(f'{role} = "{name}"' for role, name in files.items()),
             'label = "England (synthetic)"']  # fmt: skip
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="category changes per view")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (Procfile: 4)")
    parser.add_argument("--scale", choices=("demo", "england"), default="demo")
    parser.add_argument("--england-dir", type=Path, default=DEFAULT_ENGLAND_DIR)
    parser.add_argument("--config", type=Path, help="a dashboard config file (instead of --scale)")
    parser.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gunicorn --preload, as the Procfile: load once, then fork workers (default; "
        "--no-preload: each worker loads its own copy)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    config = args.config.resolve() if args.config else None
    if config is None and args.scale == "england":
        config = england_config(args.england_dir)
    lookup = None
    if config is not None:
        import tomllib

        data = tomllib.loads(config.read_text(encoding="utf-8")).get("data", {})
        lookup = config.parent / data["lookup"] if data.get("lookup") else None
    scale = "england" if config is not None else "demo"

    port = free_port()
    server = start_server(port, args.workers, args.threads, config=config, preload=args.preload)
    workers = worker_pids(server)
    ready = [server.ready[pid] - server.started for pid in workers if pid in server.ready]
    mode = "--preload (data loaded once, before the fork)" if args.preload else "no --preload (each worker loads)"
    print(f"gunicorn {args.workers} workers x {args.threads} threads, {mode}, on 127.0.0.1:{port}")
    print(f"cold start (gunicorn started -> every worker ready): {max(ready):.1f} s "
          f"(workers ready after {', '.join(f'{t:.1f}' for t in sorted(ready))} s)")  # fmt: skip
    memory_before = {pid: memory_mb(pid) for pid in workers}

    base = f"http://127.0.0.1:{port}/"
    categories = ["carers_support", "mental_health", "loneliness_isolation", "housing", "befriending",
                  "physical_activity", "debt_benefits_advice", "dementia", "food_nutrition"]  # fmt: skip
    results: dict[str, list[float]] = {"first": [], "change": [], "server": [], "bytes": [], "click": []}
    driver = make_driver()
    try:
        borough = busiest_borough(lookup) if lookup is not None else None
        for view in views_for(scale, borough):
            loads = [first_map(driver, base + view.query) for _ in range(view.loads)]
            callback_responses(driver)
            times, responses = category_changes(driver, categories[: args.repeat])
            server_ms = [r["server_ms"] for r in responses if r["server_ms"] == r["server_ms"]]
            sizes = [r["bytes"] for r in responses]
            print(f"\n{view.name}:")
            print(
                f"  first map visible:          median {statistics.median(loads):.2f} s  (runs: "
                + ", ".join(f"{t:.2f}" for t in loads)
                + ")"
            )
            print(
                f"  category change repainted:  median {statistics.median(times):.0f} ms, max {max(times):.0f} ms  "
                f"(runs: {', '.join(f'{t:.0f}' for t in times)})"
            )
            print(
                f"  server time per callback:   median {statistics.median(server_ms):.1f} ms, "
                f"max {max(server_ms):.1f} ms over {len(server_ms)} callback responses"
            )
            print(
                f"  interaction responses:      largest {max(sizes) / 1024:.1f} KB, "
                f"median {statistics.median(sizes) / 1024:.1f} KB (compressed, on the wire)"
            )
            if view.click:
                clicked = driver.execute_async_script(CLICK)
                if clicked is None:
                    raise SystemExit("clicking the neighbourhood map did not bring up a borough's small areas")
                elapsed, unit, count = clicked
                loaded = callback_responses(driver)
                print(
                    f"  click {unit} -> its borough's {count} small areas drawn: {elapsed:.0f} ms "
                    f"(largest response {max(r['bytes'] for r in loaded) / 1024:.1f} KB)"
                )
                results["click"].append(float(elapsed))
            results["first"] += loads
            results["change"] += times
            results["server"] += server_ms
            results["bytes"] += sizes
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        print(f"\nbrowser console errors: {len(errors)}")
        for error in errors[:5]:
            print(f"  {error.get('message', '')[:200]}")
        print("\nserver memory (MB)           VmRSS    PSS   (after start-up -> after the runs above)")
        master = memory_mb(server.process.pid)
        print(f"  gunicorn master {server.process.pid:<8}  {master['rss']:7.0f} {master['pss']:6.0f}")
        for pid in workers:
            before, after = memory_before[pid], memory_mb(pid)
            print(f"  worker {pid:<17} {before['rss']:7.0f} {before['pss']:6.0f}  -> {after['rss']:7.0f} "
                  f"{after['pss']:6.0f}")  # fmt: skip
        total = sum(memory_mb(pid)["pss"] for pid in [server.process.pid, *workers])
        print(f"  all gunicorn processes, PSS total: {total:.0f} MB")
    finally:
        driver.quit()
        server.process.terminate()
        server.process.wait(timeout=60)
    measured = {
        "first map visible (s)": max(results["first"]),
        "category change repainted (ms)": statistics.median(results["change"]),
        "server time per callback, median (ms)": statistics.median(results["server"]),
        "largest interaction response (KB, compressed)": max(results["bytes"]) / 1024,
    }
    if results["click"]:
        measured["click on the map -> borough's small areas drawn (ms)"] = max(results["click"])
    print(f"\n{scale} scale, headless Chromium, software WebGL (worst first map; median repaint):")
    for name, value in measured.items():
        target = TARGETS[scale].get(name)
        verdict = "" if target is None else f"  target < {target:g}: {'met' if value < target else 'NOT met'}"
        print(f"  {name:<48} {value:8.2f}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
