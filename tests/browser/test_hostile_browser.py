"""Hostile names in real Chromium, with the production Content-Security-Policy on.

Area, neighbourhood, borough and organisation names carry ``<script>``, ``<img onerror>``
and ``javascript:`` payloads (and an organisation a ``javascript:`` website). Every one
must show as text - on the map's hover labels, in the details panel, the tables, the
controls, the HTML export's popups and tooltips, and the report - and none may run:
``window.__pwned`` stays undefined, no alert opens, the console has no errors and the
CSP reports no violation while the page works normally.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import handbuilt
import pandas as pd
import pytest
from dash import Dash
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import GRAPH, assert_clean_console, map_ready

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
LINK = "javascript:window.__pwned=1"
SVG = "<svg onload=window.__pwned=1>"
#: Collects CSP violations from the first moment of every page (before any script of ours runs).
VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def hostile_files(folder: Path) -> dict[str, Path]:
    paths = handbuilt.write_files(folder)
    areas = gpd.read_file(paths["areas"])
    areas["area_name"] = [SCRIPT, IMG, LINK]
    areas.to_file(paths["areas"], driver="GPKG")
    lookup = pd.read_csv(paths["lookup"], dtype=str)
    lookup["neighbourhood_name"] = [SVG, SVG, IMG]
    lookup["borough_name"] = [SCRIPT, SCRIPT, LINK]
    lookup.to_csv(paths["lookup"], index=False)  # input files: the hostile content is the point
    assets = pd.read_csv(paths["assets"], dtype=str, keep_default_na=False)
    assets["name"] = [IMG, SCRIPT, LINK, SVG]
    assets["website"] = LINK
    assets.to_csv(paths["assets"], index=False)
    return paths


@pytest.fixture(scope="module")
def hostile(dash_app: Dash, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    from dashapp import serving

    from callbacks.security import SecurityConfig
    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset
    from coverage_map.spec import InputSpec

    folder = tmp_path_factory.mktemp("hostile")
    dataset = Dataset.from_spec(InputSpec.from_mapping(hostile_files(folder)), label=SCRIPT)
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"))
    with (serving(dash_app, dataset, settings, security=SecurityConfig()),
          served(dash_app.server) as url):  # fmt: skip
        yield {"url": url, "dataset": dataset, "folder": folder}


@pytest.fixture()
def page(browser):  # noqa: ANN001, ANN201
    """The shared browser, recording CSP violations on every document it opens."""
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATIONS})
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})


def assert_nothing_ran(driver) -> None:  # noqa: ANN001
    assert driver.execute_script("return typeof window.__pwned;") == "undefined"
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript:' i]")
    assert not driver.execute_script(
        "return [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x').length;"
    )
    assert_clean_console(driver)


def hover_text(driver, lon: float, lat: float) -> str:  # noqa: ANN001
    """Move the real mouse over a point of the map and read plotly's hover label."""
    x, y = wait_for(driver, lambda: driver.execute_script(
        GRAPH + "const m = g._fullLayout.map._subplot.map; if (!m.loaded()) return null;"
        "const p = m.project([arguments[0], arguments[1]]); const r = m.getCanvas().getBoundingClientRect();"
        "return [r.left + p.x, r.top + p.y];", lon, lat), what="the map to settle")  # fmt: skip
    actions = ActionChains(driver)
    actions.w3c_actions.pointer_action.move_to_location(int(x) + 1, int(y))
    actions.w3c_actions.pointer_action.move_to_location(int(x), int(y))
    actions.perform()
    return str(wait_for(driver, lambda: driver.execute_script(
        "const h = document.querySelector('#map .hoverlayer'); return h && h.textContent;"), what="a hover label"))  # fmt: skip


def test_dashboard_shows_hostile_names_as_text_under_the_csp(page, hostile: dict) -> None:  # noqa: ANN001
    page.get(hostile["url"] + "/?level=area&category=dementia&metric=referrals_per_10k")
    wait_for(page, lambda: map_ready(page), timeout=40, what="the map")
    csp = page.execute_script("return document.querySelector(\"meta[http-equiv='Content-Security-Policy' i]\");")
    assert csp is None  # the policy comes from the header, not the page
    # The map drew (MapLibre's workers started under worker-src blob:) and the hover shows names as text.
    wait_for(page, lambda: page.execute_script(GRAPH + "return g._fullLayout.map._subplot.map.loaded();"), what="tiles")
    page.execute_script("document.getElementById('map').scrollIntoView({block: 'center', behavior: 'instant'});")
    time.sleep(0.5)
    units = hostile["dataset"].units_wgs84("area").set_index("area_id")
    for area_id, name in (("A", SCRIPT), ("B", IMG)):
        west, south, east, north = units.loc[area_id, "geometry"].bounds  # a corner away from the services
        lon, lat = west + 0.15 * (east - west), south + 0.85 * (north - south)
        # The whole name, exactly: neither run nor mangled into entities such as &quot;.
        wait_for(
            page,
            lambda x=lon, y=lat, n=name: hover_text(page, x, y).startswith(n + "Referrals per"),
            what=f"hover of {area_id}",
        )
    # Select the <img> area: the details heading holds the name as text.
    page.get(hostile["url"] + "/?level=area&category=dementia&area=B")
    wait_for(page, lambda: map_ready(page), timeout=40, what="the map")
    heading = wait_for(page, lambda: page.find_elements(By.CSS_SELECTOR, "#area-details h2"), what="details")[0]
    assert heading.text == IMG
    # Tables: AG Grid cells are text, never HTML.
    cells = wait_for(page, lambda: [c.text for c in page.find_elements(By.CSS_SELECTOR, "#gap-table .ag-cell[col-id='area_name']")],
                     what="gap rows")  # fmt: skip
    assert set(cells) & {SCRIPT, IMG, LINK}
    assert not page.find_elements(By.CSS_SELECTOR, "#gap-table .ag-cell script, #gap-table .ag-cell img")
    page.execute_script(
        "[...document.querySelectorAll('#tabs .nav-link')].find(a => a.textContent.includes('Organisations')).click();"
    )
    names = wait_for(page, lambda: {c.text for c in page.find_elements(By.CSS_SELECTOR, "#org-table .ag-cell[col-id='name']")}
                     >= {IMG, SCRIPT} and {c.text for c in page.find_elements(By.CSS_SELECTOR, "#org-table .ag-cell")},
                     what="organisation rows")  # fmt: skip
    assert SVG in names or LINK in names
    assert not page.find_elements(By.CSS_SELECTOR, "#org-table svg[onload], #org-table .ag-cell img")
    # Controls and header: the borough options and the data set's label are text.
    options = [o.text for o in Select(page.find_element(By.ID, "borough-select")).options]
    assert SCRIPT in options and LINK in options
    assert page.find_element(By.ID, "dataset-label").text == SCRIPT
    Select(page.find_element(By.ID, "borough-select")).select_by_visible_text(SCRIPT)
    wait_for(page, lambda: "borough=B1" in page.current_url, what="the borough")
    assert page.execute_script("return window.__csp;") == []
    assert_nothing_ran(page)


def test_csp_keeps_the_dashboard_working_and_blocks_injected_script(page, hostile: dict) -> None:  # noqa: ANN001
    """With the policy on, the map, grids and downloads work and a script we inject is refused."""
    folder = Path(tempfile.mkdtemp(prefix="coverage-map-hostile-"))
    page.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    page.get(hostile["url"] + "/?level=neighbourhood&category=dementia")
    wait_for(page, lambda: map_ready(page), timeout=40, what="the map")
    wait_for(page, lambda: page.execute_script(GRAPH + "return g._fullLayout.map._subplot.map.loaded();"), what="tiles")
    page.execute_script("document.getElementById('download-table-button').click();")
    wait_for(page, lambda: list(folder.glob("*.csv")), what="the table download")
    assert page.execute_script("return window.__csp;") == []
    # An inline script smuggled into the page (as an injection would be) is blocked by the policy.
    page.execute_script("const s = document.createElement('script'); s.textContent = 'window.__pwned = 1';"
                        "document.body.appendChild(s);")  # fmt: skip
    time.sleep(0.3)
    assert page.execute_script("return typeof window.__pwned;") == "undefined"
    assert any("script-src" in v for v in page.execute_script("return window.__csp;"))
    page.get_log("browser")  # the blocked script is logged as a CSP error: expected, cleared here
    assert_nothing_ran(page)


def test_html_export_and_report_show_hostile_names_as_text(page, hostile: dict) -> None:  # noqa: ANN001
    from coverage_map.findings import key_findings, parse_priorities
    from coverage_map.outputs.attribution import credits_for
    from coverage_map.outputs.html_map import export_html
    from coverage_map.outputs.report import render_html

    dataset = hostile["dataset"]
    folder: Path = hostile["folder"]  # type: ignore[assignment]
    export = export_html(dataset, folder / "map.html", categories=["dementia", "mental_health"], level="area")
    page.get(export.path.as_uri())
    wait_for(page, lambda: page.find_elements(By.CSS_SELECTOR, ".leaflet-interactive"), what="the Leaflet map")
    # Open every organisation's popup and every area's tooltip: their HTML is built now.
    texts = page.execute_script("""
        const out = [];
        const map = Object.values(window).find(v => v instanceof L.Map);
        for (const [key, value] of Object.entries(window)) {
            if (key.startsWith('circle_marker_') && value.getPopup && value.getPopup()) {
                value.addTo(map); value.openPopup();
                out.push(value.getPopup().getElement().textContent);
                value.closePopup();
            }
            if (key.startsWith('geo_json_') && value.eachLayer && value.getTooltip && value.getTooltip()) {
                value.addTo(map);
                value.eachLayer(layer => {
                    // as the mouse would: the event bubbles to the GeoJSON layer, which opens the tooltip
                    layer.fire('mouseover', {latlng: layer.getBounds().getCenter()}, true);
                    out.push(value.getTooltip().getElement().textContent);
                    layer.fire('mouseout', {}, true);
                });
            }
        }
        return out;""")  # fmt: skip
    popups = [text for text in texts if "Offers:" in text]
    tooltips = [text for text in texts if "Small area" in text]
    assert {IMG, SCRIPT, LINK} <= {text.split("Offers:")[0] for text in popups}
    assert all(any(name in text for text in tooltips) for name in (IMG, SCRIPT, LINK))
    assert_nothing_ran(page)

    priorities = parse_priorities(["dementia"], dataset)
    report = render_html(dataset, priorities, key_findings(dataset, priorities, level="area"), images={},
                         level="area", place=None, credits=credits_for(dataset))  # fmt: skip
    (folder / "report.html").write_text(report, encoding="utf-8")
    page.get((folder / "report.html").as_uri())
    body = page.find_element(By.TAG_NAME, "body").text
    assert SCRIPT in body and LINK in body  # the place (the data's label) and gap area C, as text
    assert not page.find_elements(By.TAG_NAME, "script")
    assert_nothing_ran(page)
