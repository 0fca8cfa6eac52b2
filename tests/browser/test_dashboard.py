"""The dashboard in headless Chromium: load, recolour, select, download, share, upload.

Each test ends by asserting that the browser console logged no errors.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from coverage_map.analysis import TABLE_COLUMNS
from coverage_map.gaps import TIER_LABELS
from coverage_map.tiers import TIER_TEXT

from .conftest import HOSTILE_FORMULA, HOSTILE_HTML, click_map_at, console_errors, wait_for

pytestmark = pytest.mark.browser

GRAPH = "const g = document.querySelector('#map .js-plotly-plot');"
#: Every tier's label and (the start of) its meaning, as the key under the map must show them.
KEY_TEXT = [(TIER_LABELS[t], TIER_TEXT[t][:40]) for t in ("severe", "moderate", "watch", "none")] + [
    ("Not in the directory", "No services of this kind in the directory")
]


def map_ready(driver: object) -> bool:
    return bool(driver.execute_script(  # type: ignore[attr-defined]
        GRAPH + "return !!(g && g.data && g.data.length === 6 && g.data[0].locations.length > 0"
        " && g.querySelector('canvas'));"
    ))  # fmt: skip


def open_page(driver: object, url: str) -> None:
    driver.get(url)  # type: ignore[attr-defined]
    wait_for(driver, lambda: map_ready(driver), timeout=40, what="the map")


def details_text(driver: object) -> str:
    return driver.find_element(By.ID, "area-details").text  # type: ignore[attr-defined]


def query(driver: object) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(driver.current_url).query).items()}  # type: ignore[attr-defined]


def click(driver: object, locator: tuple[str, str]) -> None:
    """A real mouse click on the element, once the page has stopped moving it around."""

    def attempt() -> bool:
        element = driver.find_element(*locator)  # type: ignore[attr-defined]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)  # type: ignore[attr-defined]
        time.sleep(0.2)
        ActionChains(driver).move_to_element(element).click().perform()
        return True

    wait_for(driver, attempt, timeout=15, what=f"a click on {locator}")


def assert_clean_console(driver: object) -> None:
    errors = console_errors(driver)
    assert not errors, errors
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # type: ignore[attr-defined]  # noqa: B018 - no injected alert() ran


def test_page_loads_with_map_legend_and_badge(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"])
    assert browser.find_element(By.ID, "synthetic-badge").is_displayed()
    # The map opens on gap severity: coloured by tier, with the tiers named in the legend.
    ticks = browser.execute_script(GRAPH + "return g.data[0].colorbar.ticktext;")
    assert ticks == ["Not in the directory", "No gap", "Watch", "Moderate gap", "Severe gap"]
    assert "Dementia for everyone: gap severity" in browser.execute_script(GRAPH + "return g.layout.title.text;")
    assert query(browser)["level"] == "neighbourhood" and query(browser)["metric"] == "tier"  # the URL mirrors it
    assert Select(browser.find_element(By.ID, "metric-select")).first_selected_option.text == "Gap severity"
    # The key under the map is on screen, names every tier in words and counts the units drawn.
    key = browser.find_element(By.ID, "tier-key")
    assert key.is_displayed()
    wait_for(browser, lambda: "areas in this view" in key.text, what="the key's counts")
    for label, meaning in KEY_TEXT:
        assert label in key.text and meaning in key.text
    drawn = browser.execute_script(GRAPH + "return g.data[0].locations.length;")
    counts = [int(n) for n in re.findall(r"\((\d[\d,]*)\)", key.text.replace(",", ""))]
    assert sum(counts) == drawn
    swatches = key.find_elements(By.CSS_SELECTOR, ".tier-swatch")
    assert len(swatches) == 5 and all(s.is_displayed() for s in swatches)
    assert key.rect["y"] + key.rect["height"] <= browser.execute_script("return window.innerHeight;") + 1
    assert "Synthetic demo data" in browser.find_element(By.ID, "attribution").text
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-row"), what="gap rows")
    assert_clean_console(browser)


def test_category_change_recolours_without_resending_geometry(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    before = browser.execute_script(GRAPH + "g.data[0].geojson.__probe = 'kept'; return g.data[0].z.slice();")
    Select(browser.find_element(By.ID, "category-select")).select_by_value("carers_support")
    wait_for(browser, lambda: "Carers support" in browser.execute_script(GRAPH + "return g.layout.title.text;"),
             what="the new title")  # fmt: skip
    after = browser.execute_script(GRAPH + "return g.data[0].z.slice();")
    assert after != before
    # A Patch updates the colours in place: the boundaries object in the page is the same one.
    assert browser.execute_script(GRAPH + "return g.data[0].geojson.__probe;") == "kept"
    wait_for(browser, lambda: query(browser).get("category") == "carers_support", what="the URL")
    assert_clean_console(browser)


#: The page's requests to Dash's callback endpoint so far (resource timing; its buffer is raised on first use).
REQUESTS = ("performance.setResourceTimingBufferSize(100000); return performance.getEntriesByType('resource')"
            ".filter(e => e.name.includes('/_dash-update-component')).length;")  # fmt: skip


def settled_requests(driver: object) -> int:
    """The number of callback requests once none has been sent for a second."""
    counts = [driver.execute_script(REQUESTS)]  # type: ignore[attr-defined]
    while True:
        time.sleep(1.0)
        counts.append(driver.execute_script(REQUESTS))  # type: ignore[attr-defined]
        if counts[-1] == counts[-2]:
            return int(counts[-1])


def test_a_need_change_asks_the_server_only_for_what_is_on_screen(browser: object, dashboard: dict) -> None:
    """The gates (callbacks/gates.py) hold back the What if tab, the question's answer and the empty details
    panel, and the URL follows the controls in the page (assets/url_sync.js): a need change asks for the map with
    its key, the table and the equity chart, no more."""
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    before = settled_requests(browser)
    Select(browser.find_element(By.ID, "category-select")).select_by_value("carers_support")
    wait_for(browser, lambda: "Carers support" in browser.execute_script(GRAPH + "return g.layout.title.text;"),
             what="the new title")  # fmt: skip
    sent = settled_requests(browser) - before
    assert sent == 3, sent
    # With a unit selected its details follow the need too: one request more, not the held-back panels.
    area = str(dashboard["dataset"].units_wgs84("area")["area_id"].iloc[0])
    open_page(browser, dashboard["url"] + f"/?level=area&category=carers_support&area={area}")
    wait_for(browser, lambda: "How sure are we?" in details_text(browser), what="the details")
    shown = details_text(browser)
    before = settled_requests(browser)
    Select(browser.find_element(By.ID, "category-select")).select_by_value("dementia")
    wait_for(browser, lambda: details_text(browser) != shown, what="the details of the new need")
    assert settled_requests(browser) - before == sent + 1
    assert_clean_console(browser)


def test_clicking_an_area_fills_the_details(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=neighbourhood&category=dementia&assets=0")
    dataset = dashboard["dataset"]
    units = dataset.units_wgs84("neighbourhood")
    unit = units.iloc[len(units) // 2]
    point = unit.geometry.representative_point()
    click_map_at(browser, point.x, point.y)
    name = str(unit["area_name"])
    wait_for(browser, lambda: name in details_text(browser), what=f"details of {name}")
    text = details_text(browser)
    assert "Population" in text and "Provision per 10,000 people" in text and "services of any kind" in text
    # Gap method 2: the tier and what it means, need, access, how sure we are.
    row = dataset.rows("neighbourhood", "dementia", "all").set_index("area_id").loc[str(unit["area_id"])]
    tier = str(row["tier"])
    assert f"{TIER_LABELS[tier]} for dementia (everyone)" in text and TIER_TEXT[tier] in text
    assert "People in need:" in text and "Access per 10,000 in need:" in text
    assert f"Access: {float(row['access_ratio']) * 100:.0f}% of the region's average" in text
    assert "How sure are we?" in text
    assert query(browser).get("area") == str(unit["area_id"])
    assert browser.execute_script(GRAPH + "return g.data[1].locations;") == [str(unit["area_id"])]
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#referral-trend .js-plotly-plot"),
             what="the referral trend")  # fmt: skip
    # Clicking a row of the gap table selects that unit too.
    row = wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-center-cols-container .ag-row"),
                   what="gap rows")[0]  # fmt: skip
    row_id = row.get_attribute("row-id")
    click(
        browser,
        (By.CSS_SELECTOR, f"#gap-table .ag-center-cols-container .ag-row[row-id='{row_id}'] [col-id='area_name']"),
    )
    wait_for(browser, lambda: query(browser).get("area") == row_id, what="the row's unit selected")
    assert_clean_console(browser)


def test_gap_table_lists_gaps_by_severity_then_unmet_need(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-row"), what="gap rows")
    rows = browser.execute_script(
        "const api = dash_ag_grid.getApi('gap-table'); const rows = [];"
        "api.forEachNodeAfterFilterAndSort(n => rows.push(n.data)); return rows;"
    )
    # Independent route: the published rows, ordered here by tier rank and unmet need.
    view = dashboard["dataset"].rows("area", "dementia", "all")
    gaps = view[view["gap"]].assign(order=lambda f: f["tier"].map({"severe": 0, "moderate": 1}))
    gaps = gaps.sort_values(["order", "unmet_need", "area_id"], ascending=[True, False, True])
    assert [r["area_id"] for r in rows] == gaps["area_id"].astype(str).tolist()
    assert {r["tier_label"] for r in rows} <= {"Severe gap", "Moderate gap"}
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-header-cell-text")]
    for header in ("Severity", "Access (% of average)", "People in need", "Unmet need", "Why", "Borough"):
        assert header in headers
    summary = browser.find_element(By.ID, "gap-summary").text
    assert (
        summary.startswith(f"{len(rows):,} gaps in dementia provision") and "by severity, then by unmet need" in summary
    )
    assert_clean_console(browser)


def test_equity_chart_with_imd(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?category=dementia")
    # It is drawn once the map is (assets/map_order.js).
    graph = wait_for(browser, lambda: [g for g in browser.find_elements(By.CSS_SELECTOR, "#equity-graph .js-plotly-plot")
                                       if g.is_displayed()], what="the equity chart")[0]  # fmt: skip
    assert graph.is_displayed()
    bars = browser.execute_script("return document.querySelector('#equity-graph .js-plotly-plot').data[0].x;")
    assert bars[0].startswith("1 ") and bars[-1].startswith("10 ")
    sentence = browser.find_element(By.ID, "equity-sentence").text
    assert sentence == dashboard["dataset"].equity("dementia", "all").sentence
    # It follows the need chosen.
    Select(browser.find_element(By.ID, "category-select")).select_by_value("carers_support")
    expected = dashboard["dataset"].equity("carers_support", "all").sentence
    wait_for(browser, lambda: browser.find_element(By.ID, "equity-sentence").text == expected, what="the new sentence")
    assert_clean_console(browser)


def test_table_download_is_suppressed_and_neutralised(browser: object, dashboard: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="coverage-map-download-"))
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    click(browser, (By.ID, "download-table-button"))
    path = wait_for(browser, lambda: [p for p in folder.glob("*.csv")], what="the CSV download")[0]
    time.sleep(0.3)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert list(rows[0]) == TABLE_COLUMNS
    names = {row["area_id"]: row["area_name"] for row in rows}
    assert names[dashboard["formula_area"]] == "'" + HOSTILE_FORMULA
    assert names[dashboard["html_area"]] == HOSTILE_HTML
    suppressed = [row for row in rows if row["referrals_suppressed"] == "True"]
    assert suppressed and all(row["referrals"] == "" and row["referrals_per_10k"] == "" for row in suppressed)
    for row in rows:
        if row["referrals"]:
            assert int(row["referrals"]) % 5 == 0
    assert_clean_console(browser)


def test_shared_url_restores_the_view(browser: object, dashboard: dict) -> None:
    dataset = dashboard["dataset"]
    borough = str(dataset.boroughs["borough_id"].iloc[1])
    inside = dataset.borough_of("neighbourhood")
    unit = str(inside[inside == borough].index[0])
    name = str(dataset.units("neighbourhood").set_index("area_id").loc[unit, "area_name"])
    link = (f"/?level=neighbourhood&category=carers_support&community=carers&metric=nearest_km&borough={borough}"
            f"&scheme=natural_breaks&assets=0&gaps=1&area={unit}&tab=organisations")  # fmt: skip
    open_page(browser, dashboard["url"] + link)
    wait_for(browser, lambda: name in details_text(browser), what="the linked unit's details")
    assert (
        Select(browser.find_element(By.ID, "category-select")).first_selected_option.get_attribute("value")
        == "carers_support"
    )
    assert (
        Select(browser.find_element(By.ID, "community-select")).first_selected_option.get_attribute("value") == "carers"
    )
    assert (
        Select(browser.find_element(By.ID, "metric-select")).first_selected_option.get_attribute("value")
        == "nearest_km"
    )
    assert Select(browser.find_element(By.ID, "borough-select")).first_selected_option.get_attribute("value") == borough
    assert browser.find_element(By.CSS_SELECTOR, "#level-select input[value='neighbourhood']").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, "#scheme-select input[value='natural_breaks']").is_selected()
    assert not browser.find_element(By.CSS_SELECTOR, "#assets-toggle").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, "#gaps-only-toggle").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, ".nav-link.active").text == "Organisations"
    locations = browser.execute_script(GRAPH + "return g.data[0].locations;")
    assert set(locations) == set(inside[inside == borough].index.astype(str))
    assert browser.execute_script(GRAPH + "return g.data[3].lon.length;") == 0
    assert browser.execute_script(GRAPH + "return g.data[1].locations;") == [unit]
    assert query(browser)["area"] == unit and query(browser)["tab"] == "organisations"
    # A name that looks like HTML arrives as text, never as markup.
    open_page(browser, dashboard["url"] + f"/?level=area&category=dementia&area={dashboard['html_area']}")
    heading = wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#area-details h2"), what="heading")
    assert heading[0].text == HOSTILE_HTML
    assert_clean_console(browser)


def test_uploading_bad_files_lists_every_problem(browser: object, dashboard: dict, tmp_path: Path) -> None:
    areas = tmp_path / "my_areas.csv"
    areas.write_text("area_id,area_name,geometry\nA1,First,POLYGON ((0 0, 1 0, 1 1, 0 0))\n,No id,not wkt\n",
                     encoding="utf-8")  # fmt: skip
    assets = tmp_path / "my_assets.csv"
    assets.write_text("asset_id,name,categories,lat,lon\nX1,Thing,not-a-category,53.4,-2.2\nX1,Again,dementia,95,-2\n",
                      encoding="utf-8")  # fmt: skip
    open_page(browser, dashboard["url"] + "/?tab=upload")
    browser.find_element(By.CSS_SELECTOR, "#upload-areas input[type=file]").send_keys(str(areas))
    wait_for(browser, lambda: "my_areas.csv" in browser.find_element(By.ID, "upload-status-areas").text,
             what="the areas file to arrive")  # fmt: skip
    browser.find_element(By.CSS_SELECTOR, "#upload-assets input[type=file]").send_keys(str(assets))
    wait_for(browser, lambda: "my_assets.csv" in browser.find_element(By.ID, "upload-status-assets").text,
             what="the assets file to arrive")  # fmt: skip
    click(browser, (By.ID, "upload-load"))
    table = wait_for(browser, lambda: browser.find_elements(By.ID, "upload-problems"), what="the problems")[0]
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    cells = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert len(cells) >= 2
    files = {row[0] for row in cells}
    assert files & {"my_areas.csv", "my_assets.csv"}
    assert any(row[1] for row in cells) and any(row[2] for row in cells)  # rows and columns are named
    assert "nothing was loaded" in browser.find_element(By.ID, "upload-report").text
    # The visitor still sees the demo (their bad data was not loaded).
    assert browser.find_element(By.ID, "synthetic-badge").is_displayed()
    assert_clean_console(browser)
