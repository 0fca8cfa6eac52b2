"""Dashboard speed at demo scale, measured in headless Chromium (printed, never asserted).

Starts the app with gunicorn on loopback (as the Procfile does, two workers), drives
Debian's headless Chromium with Selenium and prints:

* first map visible: navigation start -> the map's polygons drawn (MapLibre idle);
* category change repainted: choosing another need -> the recoloured map drawn;
* server time per callback: the ``Server-Timing`` header the app adds to callback responses;
* bytes per interaction response: compressed bytes on the wire (Chrome's encodedDataLength).

Run::

    .venv/bin/python benchmarks/dashboard.py [--repeat 7] [--workers 2]
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
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "first map visible (s)": 3.0,
    "category change repainted (ms)": 500.0,
    "server time per callback, median (ms)": 100.0,
    "largest interaction response (KB, compressed)": 50.0,
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
  } else if (performance.now() - started > 60000) { done(null); } else { setTimeout(poll, 20); }
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
  } else if (performance.now() - t0 > 20000) { done(null); } else { requestAnimationFrame(poll); }
})();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, COVERAGE_MAP_DATA_DIR=tempfile.mkdtemp(prefix="coverage-map-bench-"))
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--timeout", "120", "callbacks.app:server"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the dashboard did not start: " + (process.stderr.read().decode() if process.stderr else ""))


def make_driver():  # noqa: ANN201
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
    driver.set_script_timeout(90)
    return driver


def callback_responses(driver) -> list[dict[str, float]]:  # noqa: ANN001
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


def first_map(driver, url: str) -> float:  # noqa: ANN001
    driver.get(url)
    ready = driver.execute_async_script(READY)
    if ready is None:
        raise SystemExit(f"the map never appeared at {url}")
    time.sleep(1.0)  # let the page's other callbacks (tables) finish before measuring interactions
    return float(ready) / 1000


def category_changes(driver, categories: list[str]) -> tuple[list[float], list[dict[str, float]]]:  # noqa: ANN001
    callback_responses(driver)  # discard page-load traffic
    times, responses = [], []
    for category in categories:
        elapsed = driver.execute_async_script(CHANGE, category)
        if elapsed is None:
            raise SystemExit(f"the map did not repaint after choosing {category}")
        times.append(float(elapsed))
        time.sleep(0.8)  # the gap table and URL callbacks finish too
        responses += callback_responses(driver)
    return times, responses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="category changes per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (Procfile: 1)")
    args = parser.parse_args(argv)
    port = free_port()
    started = time.perf_counter()
    server = start_server(port, args.workers, args.threads)
    print(f"gunicorn with {args.workers} workers x {args.threads} threads ready on 127.0.0.1:{port} in {time.perf_counter() - started:.1f} s")
    base = f"http://127.0.0.1:{port}/"
    categories = ["carers_support", "mental_health", "loneliness_isolation", "housing", "befriending",
                  "physical_activity", "debt_benefits_advice", "dementia", "food_nutrition"]  # fmt: skip
    results: dict[str, list[float]] = {"first": [], "change": [], "server": [], "bytes": []}
    driver = make_driver()
    try:
        for level in ("neighbourhood", "area"):
            loads = []
            for _ in range(3):
                loads.append(first_map(driver, f"{base}?level={level}&category=dementia"))
            times, responses = category_changes(driver, categories[: args.repeat])
            server_ms = [r["server_ms"] for r in responses if r["server_ms"] == r["server_ms"]]
            sizes = [r["bytes"] for r in responses]
            print(f"\n{level} level ({'68 neighbourhoods' if level == 'neighbourhood' else '~1,700 small areas'}):")
            print(f"  first map visible:          median {statistics.median(loads):.2f} s  (runs: "
                  + ", ".join(f"{t:.2f}" for t in loads) + ")")
            print(f"  category change repainted:  median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
            print(f"  server time per callback:   median {statistics.median(server_ms):.1f} ms, "
                  f"max {max(server_ms):.1f} ms over {len(server_ms)} callback responses")
            print(f"  interaction responses:      largest {max(sizes) / 1024:.1f} KB, "
                  f"median {statistics.median(sizes) / 1024:.1f} KB (compressed, on the wire)")
            results["first"] += loads
            results["change"] += times
            results["server"] += server_ms
            results["bytes"] += sizes
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        print(f"\nbrowser console errors: {len(errors)}")
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)
    measured = {
        "first map visible (s)": max(results["first"]),
        "category change repainted (ms)": statistics.median(results["change"]),
        "server time per callback, median (ms)": statistics.median(results["server"]),
        "largest interaction response (KB, compressed)": max(results["bytes"]) / 1024,
    }
    print("\nTargets (demo scale, headless Chromium, software WebGL):")
    for name, target in TARGETS.items():
        value = measured[name]
        print(f"  {name:<48} {value:8.2f}  target < {target:g}: {'met' if value < target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
