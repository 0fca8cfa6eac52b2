"""The What if tab in headless Chromium: place a proposed service by clicking the map, see the area's tier
change, reload the link and see the same scenario again.

With ``COVERAGE_MAP_SCREENSHOTS=1`` the test also saves the screenshot used in ``docs/plan.md``
(``docs/img/whatif.png``). It ends by asserting that the browser console logged no errors.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from coverage_map.gaps import TIER_LABELS

from .conftest import click_map_at, console_errors, wait_for

pytestmark = pytest.mark.browser

GRAPH = "const g = document.querySelector('#map .js-plotly-plot');"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "whatif.png"
#: A severe neighbourhood for dementia in the demo that a service at its own centre lifts out of the gap
#: tiers (tests/callbacks/test_whatif.py checks the same through the callbacks).
UNIT = "XN0011"


def _z(driver: object, unit: str) -> object:
    return driver.execute_script(  # type: ignore[attr-defined]
        GRAPH + "if (!g || !g.data) return null; const i = g.data[0].locations.indexOf(arguments[0]);"
        " return i < 0 ? null : [g.data.length, g.data[0].z[i]];", unit)  # fmt: skip


def _query(driver: object) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(driver.current_url).query).items()}  # type: ignore[attr-defined]


def _details(driver: object) -> str:
    return driver.find_element(By.ID, "area-details").text  # type: ignore[attr-defined]


def test_place_a_service_see_the_tier_change_and_reload_the_link(browser: object, dashboard: dict) -> None:
    dataset = dashboard["dataset"]
    row = dataset.rows("neighbourhood", "dementia", "all").set_index("area_id").loc[UNIT]
    assert row["tier"] == "severe"
    unit = dataset.units_wgs84("neighbourhood").set_index("area_id").loc[UNIT]
    point = dataset.units("neighbourhood").set_index("area_id").loc[UNIT, "geometry"].representative_point()
    import geopandas as gpd

    lonlat = gpd.GeoSeries([point], crs="EPSG:27700").to_crs("EPSG:4326").iloc[0]
    browser.get(dashboard["url"] + "/?level=neighbourhood&category=dementia&assets=0&tab=whatif")
    wait_for(browser, lambda: _z(browser, UNIT) == [6, 4], timeout=40, what="the map, severe at " + UNIT)

    switch = wait_for(browser, lambda: browser.find_element(By.ID, "whatif-place"), what="the place switch")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", switch)
    wait_for(browser, lambda: browser.find_element(By.ID, "whatif-place").is_selected(), what="place mode on")
    wait_for(browser, lambda: browser.find_element(By.ID, "whatif-capacity").get_attribute("value") == "14",
             what="the median capacity")  # fmt: skip
    click_map_at(browser, lonlat.x, lonlat.y)

    name = str(unit["area_name"])
    wait_for(browser, lambda: f"Proposed service placed in {name}." in browser.find_element(By.ID, "whatif-placed").text,
             what="the placed message")  # fmt: skip
    wait_for(browser, lambda: _query(browser).get("whatif", "").startswith("dementia.all.14.3km@"), what="the URL")
    scenario = _query(browser)["whatif"]
    # The map is the scenario's: the unit leaves the severe tier (band 1: no gap), the what-if traces are there.
    wait_for(browser, lambda: _z(browser, UNIT) == [9, 1], timeout=60, what="the new tier on the map")
    assert browser.execute_script(GRAPH + "return g.data[8].lon.length;") == 1
    assert "Leaves the gap tiers" in browser.execute_script(GRAPH + "return g.data[6].name;")
    # The details panel (the click selected the unit too) and the summary follow.
    wait_for(browser, lambda: f"{TIER_LABELS['none']} for dementia" in _details(browser), timeout=60,
             what="the new tier in the details")  # fmt: skip
    assert f"Proposed: Dementia service in {name}" in _details(browser)
    summary = wait_for(browser, lambda: browser.find_element(By.ID, "whatif-summary").text, timeout=60,
                       what="the summary")  # fmt: skip
    assert summary.startswith("Dementia for everyone: With 1 proposed service, ")
    assert f"Dementia service in {name}" in browser.find_element(By.ID, "whatif-list").text
    if os.environ.get("COVERAGE_MAP_SCREENSHOTS") == "1":
        _screenshot(browser)

    # Reload the link: the same scenario, the same tier.
    browser.get(browser.current_url)
    wait_for(browser, lambda: _z(browser, UNIT) == [9, 1], timeout=60, what="the scenario's map after reloading")
    assert _query(browser)["whatif"] == scenario
    wait_for(browser, lambda: f"{TIER_LABELS['none']} for dementia" in _details(browser), timeout=60,
             what="the details after reloading")  # fmt: skip
    wait_for(browser, lambda: f"Dementia service in {name}" in browser.find_element(By.ID, "whatif-list").text,
             what="the list after reloading")  # fmt: skip

    # Clear: back to the real services.
    browser.execute_script("document.getElementById('whatif-clear').click();")
    wait_for(browser, lambda: _z(browser, UNIT) == [6, 4], timeout=60, what="the map without the scenario")
    assert "whatif" not in _query(browser)
    errors = console_errors(browser)
    assert not errors, errors


def test_a_bad_scenario_in_a_link_is_dropped_with_a_notice(browser: object, dashboard: dict) -> None:
    browser.get(dashboard["url"] + "/?level=neighbourhood&category=dementia&whatif=knitting.all.5.3km@-2.2,53.5")
    notice = wait_for(browser, lambda: [e for e in browser.find_elements(By.ID, "whatif-notice") if e.is_displayed()],
                      timeout=40, what="the notice")[0]  # fmt: skip
    assert "left out" in notice.text and "knitting" in notice.text
    wait_for(browser, lambda: "whatif" not in _query(browser), what="the URL without the scenario")
    wait_for(browser, lambda: (_z(browser, UNIT) or [0])[0] == 6, timeout=40, what="the map")
    errors = console_errors(browser)
    assert not errors, errors


def _screenshot(browser: object) -> None:
    """The map above the What if tab in one picture, for docs/plan.md (pillow stacks the two element shots)."""
    import io

    from PIL import Image

    browser.execute_script("window.scrollTo(0, 0);")  # type: ignore[attr-defined]
    wait_for(browser, lambda: browser.execute_script(  # type: ignore[attr-defined]
        GRAPH + "const m = g._fullLayout.map._subplot.map; return m.loaded() && !m.isMoving();"),
        what="the map to settle")  # fmt: skip
    time.sleep(1.0)
    parts = []
    for selector in ("#map", ".tab-pane.active"):
        element = browser.find_element(By.CSS_SELECTOR, selector)  # type: ignore[attr-defined]
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)  # type: ignore[attr-defined]
        time.sleep(0.5)
        parts.append(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))
    width = max(part.width for part in parts)
    picture = Image.new("RGB", (width, sum(part.height for part in parts) + 12), "white")
    top = 0
    for part in parts:
        picture.paste(part, (0, top))
        top += part.height + 12
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    picture.save(SCREENSHOT, optimize=True)
