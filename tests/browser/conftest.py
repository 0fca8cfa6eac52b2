"""Real-browser fixtures: the dashboard on the demo data, served on loopback, driven by headless Chromium.

Chromium and chromedriver come from Debian (``/usr/bin/chromium``, ``/usr/bin/chromedriver``;
``BROWSER_PATH`` / ``CHROMEDRIVER_PATH`` override them); the tests skip when they are absent.
The demo data gets two hostile names (a spreadsheet formula and an HTML tag) so the browser
tests also prove they arrive as plain text and leave as neutralised text.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dash import Dash

from coverage_map.config import DEMO_FILES, GEODATA_DIR

HOSTILE_HTML = "<img src=x onerror=alert(1)>"
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example","click")'
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    # the map is WebGL (MapLibre); without a GPU, Chromium needs its software renderer allowed
    "--enable-unsafe-swiftshader", "--window-size=1400,1000",
]  # fmt: skip


def _chromium() -> tuple[str, str] | None:
    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = os.environ.get("CHROMEDRIVER_PATH") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(browser).exists() and Path(driver).exists()):
        return None
    return browser, driver


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped demo data, or a freshly generated copy when ``geodata/`` is still empty."""
    if all((GEODATA_DIR / name).exists() for name in DEMO_FILES.values()):
        return GEODATA_DIR
    from coverage_map.demo import write_demo

    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder)
    return folder


@contextmanager
def served(wsgi_app: Callable[..., object]) -> Iterator[str]:
    """``wsgi_app`` (the one app's server, or middleware around it) on its own loopback port: its URL.

    Every module gets its own port, so its own origin and ``sessionStorage`` in the shared
    browser, while the process keeps one Dash app (what it serves is swapped with
    :func:`dashapp.serving`).
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def synthetic_imd(areas: object) -> object:
    """IMD ranks and deciles for the demo's small areas (1 = most deprived), so the equity view shows."""
    import numpy as np
    import pandas as pd

    ids = sorted(areas["area_id"].astype(str))  # type: ignore[index]
    rank = np.arange(1, len(ids) + 1, dtype="int64")
    decile = np.ceil(rank * 10 / len(ids)).astype("int64")
    return pd.DataFrame({"area_id": ids, "imd_rank": rank, "imd_decile": decile})


@pytest.fixture(scope="session")
def dashboard(
    dash_app: Dash, demo_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """The dashboard on the (lightly poisoned) demo data, with IMD (:func:`synthetic_imd` when the demo
    has none), served by a thread on 127.0.0.1."""
    from dashapp import serving

    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset
    from coverage_map.ingest import load_inputs

    inputs = load_inputs(**{role: demo_folder / name for role, name in DEMO_FILES.items()})
    areas = inputs.areas.copy()
    first, second = areas["area_id"].iloc[0], areas["area_id"].iloc[1]
    areas.loc[areas["area_id"] == first, "area_name"] = HOSTILE_FORMULA
    areas.loc[areas["area_id"] == second, "area_name"] = HOSTILE_HTML
    assets = inputs.assets.copy()
    assets.loc[assets.index[0], "name"] = HOSTILE_HTML
    imd = inputs.imd if inputs.imd is not None and len(inputs.imd) else synthetic_imd(areas)
    dataset = Dataset.from_inputs(dataclasses.replace(inputs, areas=areas, assets=assets, imd=imd),
                                  label="Synthetic demo region", synthetic=True)  # fmt: skip
    uploads = tmp_path_factory.mktemp("uploads")
    settings = Settings(data_dir=uploads, max_upload_bytes=2 * 2**20, workspace=str(uploads / "workspace.gpkg"))
    with serving(dash_app, dataset, settings), served(dash_app.server) as url:
        yield {"url": url, "dataset": dataset, "formula_area": str(first), "html_area": str(second)}


@pytest.fixture(scope="session")
def driver() -> Iterator[object]:
    found = _chromium()
    if found is None:
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="coverage-map-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(chromedriver), options=options)
    chrome.set_page_load_timeout(60)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def browser(driver: object) -> object:
    """The shared browser with its console log emptied, so each test sees only its own messages."""
    driver.get("about:blank")  # type: ignore[attr-defined]
    driver.get_log("browser")  # type: ignore[attr-defined]
    return driver


def wait_for(driver: object, condition: Callable[[], object], *, timeout: float = 30, what: str = "") -> object:
    """Poll ``condition`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as error:  # noqa: BLE001 - the page is still changing; try again
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}: last result {last!r}\n{_diagnosis(driver)}")


def _diagnosis(driver: object) -> str:
    """What a timed-out wait leaves to go on: the app's busy server threads and the browser's console."""
    import sys
    import traceback

    lines: list[str] = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame)
        if any("/callbacks/" in item.filename or "/coverage_map/" in item.filename for item in stack):
            lines.append(f"server thread {ident} is busy in:")
            lines.extend(traceback.format_list(stack[-12:]))
    try:
        console = driver.get_log("browser")  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - the browser may be gone; say so
        console = [f"(no console log: {error})"]
    lines.append(f"browser console: {console!r}")
    return "\n".join(lines) if lines else "(no server thread busy in the app)"


def click_map_at(driver: object, lon: float, lat: float) -> None:
    """Click the Plotly map where (``lon``, ``lat``) is drawn, once MapLibre has loaded and stopped moving."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script(  # type: ignore[attr-defined]
        "document.getElementById('map').scrollIntoView({block: 'center', behavior: 'instant'});"
    )
    time.sleep(0.5)
    x, y = wait_for(driver, lambda: driver.execute_script(  # type: ignore[attr-defined]
        "const g = document.querySelector('#map .js-plotly-plot');"
        "const m = g._fullLayout.map._subplot.map; if (!m.loaded() || m.isMoving()) return null;"
        "const p = m.project([arguments[0], arguments[1]]); const r = m.getCanvas().getBoundingClientRect();"
        "return [r.left + p.x, r.top + p.y];", lon, lat), what="the map to settle")  # type: ignore[misc]  # fmt: skip
    actions = ActionChains(driver)  # type: ignore[arg-type]
    actions.w3c_actions.pointer_action.move_to_location(int(x), int(y))
    actions.w3c_actions.pointer_action.click()
    actions.perform()


def console_errors(driver: object) -> list[dict[str, object]]:
    """Console messages of level SEVERE since the last call."""
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]  # type: ignore[attr-defined]
