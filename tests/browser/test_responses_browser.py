"""Record-level referral data never reaches the browser: every response of a real session is checked.

The dashboard runs on the hand-built files (:func:`handbuilt.write_files`): referral ids
``SECRET-REF-<n>``, one referral located by a 7-decimal latitude and longitude, dated
records, and small counts (area C: 3 dementia referrals; asset a1, in this module, 3). A
WSGI middleware records the body of every response the server sends (decompressed),
and a headless Chromium drives the main interactions. Then no response may hold a
referral id, coordinate or date, or a referral count of 1-7, and the access log must not either.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import logging
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import handbuilt
import pandas as pd
import pytest
from dash import Dash
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import GRAPH, assert_clean_console, click, map_ready

pytestmark = pytest.mark.browser

SMALL = {str(n) for n in range(1, 8)}


class Recorder:
    """WSGI middleware keeping (path, content type, decoded body) of every response."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.responses: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        seen: dict[str, object] = {}

        def recording_start(status, headers, exc_info=None):  # noqa: ANN001, ANN202
            seen["headers"] = {name.lower(): value for name, value in headers}
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = seen.get("headers", {})
        assert isinstance(headers, dict)
        decoded = _decode(body, str(headers.get("content-encoding", "")))
        path = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        with self._lock:
            self.responses.append((path, str(headers.get("content-type", "")), decoded))
        return [body]


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "zstd":
        from flask_compress.compat import compression  # zstd from the stdlib (3.14) or its backport

        return compression.zstd.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    assert not encoding, f"cannot decode {encoding}"
    return body


@pytest.fixture(scope="module")
def recorded(dash_app: Dash, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    from dashapp import serving

    from callbacks.security import SecurityConfig
    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset
    from coverage_map.spec import InputSpec

    folder = tmp_path_factory.mktemp("handbuilt")
    paths = handbuilt.write_files(folder)
    referrals = pd.read_csv(paths["referrals"], dtype=str, keep_default_na=False)
    # Send C's three dementia referrals to asset a1: an organisation with a small count too.
    referrals.loc[referrals["origin_area_id"].eq("C") & referrals["category"].eq("dementia"), "asset_id"] = "a1"
    referrals.to_csv(paths["referrals"], index=False)  # an input file for the test, not an output
    dataset = Dataset.from_spec(InputSpec.from_mapping(paths), label="Hand-built")
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"))
    recorder = Recorder(dash_app.server)
    log_lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log_lines.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    access_log = logging.getLogger("werkzeug")
    old_level = access_log.level
    access_log.setLevel(logging.INFO)
    access_log.addHandler(handler)
    try:
        with serving(dash_app, dataset, settings, security=SecurityConfig()), served(recorder) as url:
            yield {"url": url, "recorder": recorder, "log": log_lines, "referrals": referrals}
    finally:
        access_log.removeHandler(handler)
        access_log.setLevel(old_level)


def _secrets(referrals: pd.DataFrame) -> list[str]:
    """Texts that would reveal a record: ids, coordinates as given, full dates."""
    values = list(referrals["referral_id"])
    values += [v for v in referrals["latitude"] if v] + [v for v in referrals["longitude"] if v]
    values += list(referrals["date"])
    days = pd.to_datetime(referrals["date"])
    values += [f"{day:%-d %b %Y}" for day in days] + [f"{day:%d/%m/%Y}" for day in days]  # as a page would write them
    assert len([v for v in values if v.startswith("SECRET-REF-")]) == len(referrals)
    return values


def _walk(value: object, key: str | None = None) -> Iterator[tuple[str | None, object]]:
    """Every (key, value) pair in a JSON document; Patch operations are keyed by their target."""
    if isinstance(value, dict):
        if "location" in value and isinstance(value.get("params"), dict) and "value" in value["params"]:
            location = value["location"]
            yield from _walk(value["params"]["value"], str(location[-1]) if location else key)
        for name, item in value.items():
            yield name, item
            yield from _walk(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)


def _referral_figures(document: object) -> list[str]:
    """Every value the page shows as a referral count, from rows, hovers, trends and downloads."""
    shown: list[str] = []
    for key, value in _walk(document):
        if key == "referrals" and not isinstance(value, (dict, list)):
            shown.append(str(value))
        elif key == "customdata" and isinstance(value, list):
            for item in value:
                if (
                    isinstance(item, list) and len(item) >= 5
                ):  # map hover: [metric, tier, access, nearest, referrals, ...]
                    shown.append(str(item[4]))
                elif isinstance(item, str):  # the monthly trend's hover
                    shown.append(item)
        elif isinstance(value, dict) and str(value.get("name", "")).startswith("Referrals") and "y" in value:
            shown += [str(v) for v in value["y"]]
        elif isinstance(value, dict) and value.get("base64") and value.get("filename", "").endswith(".csv"):
            text = base64.b64decode(value["content"]).decode("utf-8")
            shown += [row["referrals"] for row in csv.DictReader(io.StringIO(text))]
    return shown


def _session(driver, url: str, download_folder: Path) -> None:  # noqa: ANN001
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_folder)})
    driver.get(url + "/?level=area&category=dementia&community=bame&metric=referrals_per_10k")
    wait_for(driver, lambda: map_ready(driver), timeout=40, what="the map")
    # Select area C (the one with 3 referrals) through the URL, then by the gap table.
    driver.get(url + "/?level=area&category=dementia&community=bame&metric=referrals_per_10k&area=C")
    wait_for(driver, lambda: map_ready(driver), timeout=40, what="the map")
    wait_for(driver, lambda: "Area C" in driver.find_element(By.ID, "area-details").text, what="C's details")
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#referral-trend .js-plotly-plot"), what="trend")
    for metric in ("pressure", "gap_score", "nearest_km", "tier", "access_ratio"):
        Select(driver.find_element(By.ID, "metric-select")).select_by_value(metric)
        wait_for(driver, lambda m=metric: f"metric={m}" in driver.current_url, what=f"metric {metric}")
    Select(driver.find_element(By.ID, "community-select")).select_by_value("all")
    wait_for(driver, lambda: "community=all" in driver.current_url, what="community")
    # Dementia for everyone: C is a gap (moderate). Select it by the gap table.
    rows = wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#gap-table .ag-center-cols-container .ag-row"),
                    what="gap rows")  # fmt: skip
    row_id = rows[0].get_attribute("row-id")
    click(
        driver,
        (By.CSS_SELECTOR, f"#gap-table .ag-center-cols-container .ag-row[row-id='{row_id}'] [col-id='area_name']"),
    )
    Select(driver.find_element(By.ID, "category-select")).select_by_value("mental_health")
    wait_for(driver, lambda: "category=mental_health" in driver.current_url, what="category")
    for level in ("neighbourhood", "borough", "area"):
        driver.execute_script(f"document.querySelector(\"#level-select input[value='{level}']\").click();")
        wait_for(driver, lambda lv=level: f"level={lv}" in driver.current_url, what=f"level {level}")
        wait_for(driver, lambda: map_ready(driver), what="the map")
    Select(driver.find_element(By.ID, "borough-select")).select_by_value("B2")
    wait_for(driver, lambda: "borough=B2" in driver.current_url, what="borough")
    Select(driver.find_element(By.ID, "borough-select")).select_by_value("all")
    Select(driver.find_element(By.ID, "category-select")).select_by_value("dementia")
    wait_for(driver, lambda: "category=dementia" in driver.current_url, what="category")
    driver.execute_script(
        "[...document.querySelectorAll('#tabs .nav-link')].find(a => a.textContent.includes('Organisations')).click();"
    )
    wait_for(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#org-table .ag-row"), what="organisations")
    driver.execute_script(
        "[...document.querySelectorAll('#tabs .nav-link')].find(a => a.textContent.includes('Worst gaps')).click();"
    )
    click(driver, (By.ID, "download-table-button"))
    wait_for(driver, lambda: list(download_folder.glob("*.csv")), what="the table download")
    Select(driver.find_element(By.ID, "download-map-format")).select_by_value("svg")
    click(driver, (By.ID, "download-map-button"))
    wait_for(driver, lambda: list(download_folder.glob("*.svg")), timeout=60, what="the map download")
    time.sleep(0.5)


def test_no_response_of_a_session_holds_record_level_data(browser, recorded: dict) -> None:  # noqa: ANN001
    folder = Path(tempfile.mkdtemp(prefix="coverage-map-responses-"))
    recorder = recorded["recorder"]
    recorder.responses.clear()
    _session(browser, str(recorded["url"]), folder)
    responses = list(recorder.responses)
    paths = [path for path, _, _ in responses]
    # The session covered every kind of response.
    for wanted in ("/?level=", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component", "/assets/",
                   "/_dash-component-suites/"):  # fmt: skip
        assert any(path.startswith(wanted) for path in paths), wanted
    callbacks = [body for path, _, body in responses if path.startswith("/_dash-update-component")]
    assert len(callbacks) >= 20
    secrets = _secrets(recorded["referrals"])  # type: ignore[arg-type]
    for path, _, body in responses:
        text = body.decode("utf-8", errors="replace")
        found = [secret for secret in secrets if secret in text]
        assert not found, (path, found)
    shown: list[str] = []
    downloads = 0
    for body in callbacks + [body for path, _, body in responses if path == "/_dash-layout"]:
        document = json.loads(body)
        shown += _referral_figures(document)
        downloads += sum(1 for key, value in _walk(document) if key == "filename")
    assert downloads >= 2  # the CSV and the map came through callbacks (and were checked above)
    assert "fewer than 8" in shown  # C and a1 were on screen...
    assert not SMALL & set(shown), sorted(set(shown))  # ...and never as their true count
    assert all(not re.fullmatch(r"\d+", value) or int(value) % 5 == 0 for value in shown)
    # The files the browser saved agree.
    table = next(folder.glob("*.csv")).read_text(encoding="utf-8")
    assert not any(secret in table for secret in secrets)
    assert not SMALL & {row["referrals"] for row in csv.DictReader(io.StringIO(table))}
    svg = next(folder.glob("*.svg")).read_text(encoding="utf-8")
    assert not any(secret in svg for secret in secrets)
    # The access log names pages and callbacks, never a record.
    log = "\n".join(recorded["log"])  # type: ignore[arg-type]
    assert "/_dash-update-component" in log
    assert not [secret for secret in secrets if secret in log]
    assert_clean_console(browser)


def test_the_recorder_sees_what_it_should(browser, recorded: dict) -> None:  # noqa: ANN001
    """The checks above are only as good as the recording: a page holding a secret is caught."""
    recorder = recorded["recorder"]
    recorder.responses.clear()
    browser.get(str(recorded["url"]) + "/assets/dashboard.css")
    # The browser may ask for /favicon.ico straight after: look for the stylesheet's own response.
    path, _content_type, body = wait_for(
        browser, lambda: next((r for r in recorder.responses if r[0] == "/assets/dashboard.css"), None),
        what="the stylesheet's recorded response",
    )  # fmt: skip
    assert path == "/assets/dashboard.css" and b"{" in body  # decompressed CSS, not brotli bytes
    assert GRAPH  # the shared helpers are importable (they drive the session above)
