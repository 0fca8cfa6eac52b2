"""WCAG 2.2 AA in headless Chromium: axe-core on the main views, the keyboard, small screens, browser zoom,
the questions and the table that stands in for the map.

axe-core (``tests/browser/vendor/axe.min.js``, MPL-2.0) is injected into the page and run with
the ``wcag2a``, ``wcag2aa``, ``wcag21aa`` and ``wcag22aa`` rules; every view must report no
violation. With ``COVERAGE_MAP_SCREENSHOTS=1`` the questions test saves the screenshots of
``docs/questions.md`` into ``docs/img/``. Each test ends by asserting that the browser
console logged no errors.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from coverage_map.gaps import TIER_LABELS
from coverage_map.questions import QUESTIONS, answer
from coverage_map.tiers import TIERS

from .conftest import wait_for
from .test_dashboard import REQUESTS, assert_clean_console, click, details_text, map_ready, open_page, query

pytestmark = pytest.mark.browser

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
#: The controls a keyboard user must reach with Tab (ids, or CSS for the radio groups and tabs).
KEY_CONTROLS = [
    "#category-select", "#community-select", "#borough-select", "#level-select input", "#metric-select",
    "#scheme-select input", "#assets-toggle", "#gaps-only-toggle", "#questions button", "#tabs .nav-link",
]  # fmt: skip


def axe_violations(driver: object, *, exclude: list[str] | None = None) -> list[dict[str, object]]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now (summarised: rule, impact, nodes)."""
    if not driver.execute_script("return typeof window.axe !== 'undefined';"):  # type: ignore[attr-defined]
        driver.execute_script(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    driver.set_script_timeout(120)  # type: ignore[attr-defined]
    context = {"exclude": [[selector] for selector in exclude or []]}
    found = driver.execute_async_script(  # type: ignore[attr-defined]
        "const done = arguments[arguments.length - 1];"
        "axe.run(arguments[0], {runOnly: {type: 'tag', values: arguments[1]}, resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, summary: n.failureSummary}))}))))"
        ".catch(e => done([{id: 'axe-error', help: String(e)}]));",
        context,
        WCAG_TAGS,
    )
    return list(found)


def assert_no_violations(driver: object, what: str) -> None:
    # ag-grid draws a grid that has never been on screen with its cells hidden (visibility: hidden), which axe
    # reads as a header row without headers: show each grid once, as a reader scrolling down would.
    driver.execute_script(  # type: ignore[attr-defined]
        "document.querySelectorAll('.ag-root-wrapper').forEach(e => e.scrollIntoView({block: 'center'}));"
    )
    time.sleep(0.5)
    driver.execute_script("window.scrollTo(0, 0);")  # type: ignore[attr-defined]
    violations = axe_violations(driver)
    lines = [f"{v['id']} ({v['impact']}): {v['help']}: " + "; ".join(
        f"{n['target']} {str(n['summary']).splitlines()[1:2]}" for n in v["nodes"]) for v in violations]  # type: ignore[attr-defined]  # fmt: skip
    assert not violations, f"{what}: {len(violations)} rules violated\n" + "\n".join(lines)


def settle(driver: object) -> None:
    """Wait until Dash has no callback in flight and has sent none for a second (the page has stopped changing:
    the panels that follow the map are asked for only once it is drawn, assets/map_order.js)."""
    idle = "return !document.querySelector('[data-dash-is-loading=\"true\"]');"
    counts = [-1]
    while True:
        wait_for(driver, lambda: driver.execute_script(idle), what="callbacks to finish")  # type: ignore[attr-defined]
        counts.append(driver.execute_script(REQUESTS))  # type: ignore[attr-defined]
        if counts[-1] == counts[-2]:
            break
        time.sleep(1.0)
    time.sleep(0.5)


@pytest.mark.parametrize("level", ["neighbourhood", "area", "borough"])
def test_map_view_has_no_wcag_violations_at_each_level(browser: object, dashboard: dict, level: str) -> None:
    open_page(browser, dashboard["url"] + f"/?level={level}&category=dementia")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-row"), what="gap rows")
    settle(browser)
    assert_no_violations(browser, f"map view by {level}")
    assert_clean_console(browser)


def test_details_panel_and_tabs_have_no_wcag_violations(browser: object, dashboard: dict) -> None:
    dataset = dashboard["dataset"]
    unit = str(dataset.units("neighbourhood")["area_id"].iloc[3])
    open_page(browser, dashboard["url"] + f"/?level=neighbourhood&category=dementia&area={unit}")
    wait_for(browser, lambda: browser.find_elements(By.ID, "area-tier"), what="the details")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#referral-trend .js-plotly-plot"),
             what="the referral trend")  # fmt: skip
    settle(browser)
    assert_no_violations(browser, "details panel")
    for tab in ("organisations", "upload", "about"):
        open_page(browser, dashboard["url"] + f"/?level=neighbourhood&category=dementia&tab={tab}")
        settle(browser)
        assert_no_violations(browser, f"the {tab} tab")
    assert_clean_console(browser)


def test_questions_answer_in_two_clicks_with_no_wcag_violations(browser: object, dashboard: dict) -> None:
    """Each question sets the view and answers beside the map; the URL keeps it. Saves the docs' screenshots
    with COVERAGE_MAP_SCREENSHOTS=1."""
    shots = os.environ.get("COVERAGE_MAP_SCREENSHOTS") == "1"
    dataset = dashboard["dataset"]
    open_page(browser, dashboard["url"])
    if shots:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        browser.set_window_size(1400, 1000)  # type: ignore[attr-defined]
    for question in QUESTIONS:
        click(browser, (By.CSS_SELECTOR, f'#questions button[id*=\'"key":"{question.key}"\']'))
        wait_for(browser, lambda q=question: query(browser).get("question") == q.key, what=f"{question.key} in the URL")
        expected = answer(dataset, question.key)
        assert expected is not None
        sentence = wait_for(browser, lambda e=expected: e.sentence in browser.find_element(By.ID, "question-answer").text,
                            what=f"the answer to {question.key}")  # fmt: skip
        assert sentence
        view = question.view(dataset)
        assert view is not None
        state = query(browser)
        assert (state["level"], state["category"], state["community"], state["metric"]) == (
            view.level, view.category, view.community, view.metric)  # fmt: skip
        pressed = browser.find_element(By.CSS_SELECTOR, f'#questions button[id*=\'"key":"{question.key}"\']')
        assert pressed.get_attribute("aria-pressed") == "true"
        wait_for(browser, lambda: map_ready(browser), what="the map")
        settle(browser)
        assert_no_violations(browser, f"question {question.key}")
        if shots:
            browser.execute_script("window.scrollTo(0, 0);")  # type: ignore[attr-defined]
            time.sleep(1.0)
            browser.save_screenshot(str(DOCS_IMAGES / f"question-{question.key}.png"))  # type: ignore[attr-defined]
    # A unit of the answer's list selects it on the map; a shared link reopens the question.
    click(browser, (By.CSS_SELECTOR, '#questions button[id*=\'"key":"dementia"\']'))
    first = answer(dataset, "dementia")
    assert first is not None and first.items
    wait_for(browser, lambda: first.sentence in browser.find_element(By.ID, "question-answer").text,
             what="the dementia answer")  # fmt: skip
    target = first.items[0].item_id
    click(browser, (By.CSS_SELECTOR, "#question-answer li:first-child .answer-item"))
    wait_for(browser, lambda: query(browser).get("area") == target, what="the unit selected")
    assert query(browser).get("question") == "dementia"
    open_page(browser, dashboard["url"] + "/?question=mental_health&level=neighbourhood&category=mental_health")
    expected = answer(dataset, "mental_health")
    assert expected is not None
    wait_for(browser, lambda: expected.sentence in browser.find_element(By.ID, "question-answer").text,
             what="the linked question's answer")  # fmt: skip
    # Changing the need leaves the question's view: the question goes.
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "category-select")).select_by_value("housing")
    wait_for(browser, lambda: "question" not in query(browser), what="the question dropped")
    assert_clean_console(browser)


def test_every_key_control_is_reached_by_tab_with_a_visible_focus(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=neighbourhood&category=dementia")
    settle(browser)
    # Nothing clicked since the page loaded: Tab starts from the top of the page, as for a keyboard user.
    reached: list[dict[str, object]] = []
    for _ in range(160):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.append(browser.execute_script(
            "const e = document.activeElement; const s = getComputedStyle(e);"
            "return {matches: arguments[0].filter(sel => e.matches(sel)), tag: e.tagName, id: e.id,"
            " outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,"
            " shadow: s.boxShadow !== 'none'};", KEY_CONTROLS))  # fmt: skip
    seen = {selector for entry in reached for selector in entry["matches"]}  # type: ignore[attr-defined]
    assert seen == set(KEY_CONTROLS), f"never reached by Tab: {set(KEY_CONTROLS) - seen}"
    invisible = [entry for entry in reached if entry["matches"] and not (entry["outline"] or entry["shadow"])]
    assert not invisible, f"focused without a visible indicator: {invisible[:5]}"
    # Operable: a question answers from the keyboard (Enter on its focused button).
    button = browser.find_element(By.CSS_SELECTOR, "#questions button")
    browser.execute_script("arguments[0].focus();", button)
    button.send_keys(Keys.ENTER)
    wait_for(browser, lambda: query(browser).get("question") == QUESTIONS[0].key, what="the question by keyboard")
    assert_clean_console(browser)


@pytest.mark.parametrize("width", [360, 640])
def test_narrow_screens_and_200_percent_zoom_do_not_scroll_sideways(
    browser: object, dashboard: dict, width: int
) -> None:
    """360 px is a small phone; 640 px is a 1,280 px window at 200% zoom (WCAG 1.4.10 reflow)."""
    browser.set_window_size(width, 900)
    try:
        open_page(browser, dashboard["url"] + "/?level=neighbourhood&category=dementia&question=dementia")
        settle(browser)
        inner = browser.execute_script("return document.documentElement.clientWidth;")
        wide = browser.execute_script(
            "return Array.from(document.querySelectorAll('body *')).filter(e => { const r ="
            " e.getBoundingClientRect(); return r.width > 0 && r.right > document.documentElement.clientWidth + 1"
            " && !e.closest('.ag-root-wrapper, .js-plotly-plot, .modebar'); })"
            ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className);"
        )
        assert browser.execute_script("return document.documentElement.scrollWidth;") <= inner + 1, wide
        for control in ("category-select", "community-select", "metric-select", "map", "questions"):
            element = browser.find_element(By.ID, control)
            assert element.is_displayed(), control
            assert element.rect["x"] >= 0 and element.rect["x"] + element.rect["width"] <= inner + 1, control
        assert_no_violations(browser, f"{width} px wide")
    finally:
        browser.set_window_size(1400, 1000)
    assert_clean_console(browser)


def test_every_area_table_stands_in_for_the_map_and_works_from_the_keyboard(browser: object, dashboard: dict) -> None:
    """The "List every area" switch lists every unit with its tier in words (the URL keeps it), every column
    sorts, and Enter on a cell reached by Tab and the arrow keys selects its unit: the details show it."""
    dataset = dashboard["dataset"]
    open_page(browser, dashboard["url"] + "/?level=neighbourhood&category=dementia")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-row"), what="gap rows")
    click(browser, (By.CSS_SELECTOR, "label[for='gap-table-all']"))
    wait_for(browser, lambda: query(browser).get("table") == "all", what="table=all in the URL")
    units = dataset.rows("neighbourhood", "dementia", "all")
    rows = wait_for(browser, lambda: _grid_rows(browser) if len(_grid_rows(browser)) == len(units) else None,
                    what="every unit listed")  # fmt: skip
    labels = {str(k): TIER_LABELS[str(v)] for k, v in zip(units["area_id"], units["tier"], strict=True)}
    assert {r["area_id"]: r["tier_label"] for r in rows} == labels  # the map's tiers, in words
    assert "by tier: " in browser.find_element(By.ID, "gap-summary").text
    settle(browser)
    assert_no_violations(browser, "every area listed")
    # Every column sorts; Severity sorts by tier (severe first), not alphabetically.
    columns = browser.execute_script(
        "return dash_ag_grid.getApi('gap-table').getColumns().map(c => [c.getColId(), c.isSortable()]);")  # fmt: skip
    assert len(columns) == 8 and all(sortable for _, sortable in columns), columns
    click(browser, (By.CSS_SELECTOR, "#gap-table .ag-header-cell[col-id='tier_label'] .ag-header-cell-label"))
    wait_for(browser, lambda: browser.execute_script(
        "return dash_ag_grid.getApi('gap-table').getColumn('tier_label').getSort();") == "asc", what="sorted")  # fmt: skip
    tiers = [r["tier"] for r in _grid_rows(browser, sorted_=True)]
    assert tiers == sorted(tiers, key=TIERS.index) and len(set(tiers)) > 2
    browser.execute_script("dash_ag_grid.getApi('gap-table').applyColumnState({defaultState: {sort: null}});")
    # Keyboard: Tab from the download button into the grid, then the arrow keys down to the second row.
    button = browser.find_element(By.ID, "download-table-button")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", button)
    active = "const e = document.activeElement; return e.closest('#gap-table') ? (e.getAttribute('role') || '') : null;"
    for _ in range(6):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script(active) is not None:
            break
    assert browser.execute_script(active) is not None, "Tab never reached the gap table"
    # Down from the header, past the filters' row, to the second row of the body.
    row_of = ("const e = document.activeElement; const r = e.closest('#gap-table .ag-center-cols-container .ag-row');"
              "return e.getAttribute('role') === 'gridcell' && r ? [r.getAttribute('row-index'), r.getAttribute("
              "'row-id')] : null;")  # fmt: skip
    for _ in range(8):
        if (browser.execute_script(row_of) or [None])[0] == "1":
            break
        ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    focused = (browser.execute_script(row_of) or [None, None])[1]
    assert focused, "the arrow keys did not reach a cell"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for(browser, lambda: query(browser).get("area") == focused, what="the unit selected by Enter")
    name = str(units.set_index(units["area_id"].astype(str)).loc[focused, "area_name"])
    wait_for(browser, lambda: name in details_text(browser), what=f"the details of {name}")
    # Space selects too, and the choice survives a reload.
    ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
    following = (browser.execute_script(row_of) or [None, None])[1]
    assert following and following != focused
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    wait_for(browser, lambda: query(browser).get("area") == following, what="the unit selected by Space")
    browser.refresh()
    wait_for(browser, lambda: len(_grid_rows(browser)) == len(units), what="every unit listed after a reload")
    assert browser.find_element(By.ID, "gap-table-all").is_selected()
    assert_clean_console(browser)


def _grid_rows(driver: object, *, sorted_: bool = False) -> list[dict[str, object]]:
    """The gap table's rows, as sent (or in the grid's current order when ``sorted_``)."""
    walk = "forEachNodeAfterFilterAndSort" if sorted_ else "forEachNode"
    return list(driver.execute_script(  # type: ignore[attr-defined]
        f"const rows = []; dash_ag_grid.getApi('gap-table').{walk}(n => rows.push(n.data)); return rows;"))  # fmt: skip


def overflowing(driver: object) -> list[object]:
    """The page's elements that reach past the right edge of the viewport (tag, id, class, right edge)."""
    return list(driver.execute_script(  # type: ignore[attr-defined]
        "const w = document.documentElement.clientWidth; const out = [];"
        "for (const e of document.querySelectorAll('body *')) { const r = e.getBoundingClientRect();"
        "  if (r.right > w + 1 && r.width > 0 && !e.closest('.ag-root')) out.push([e.tagName, e.id,"
        "    String(e.className).slice(0, 60), Math.round(r.right)]); }"
        "return out.slice(0, 12);"))  # fmt: skip


@pytest.mark.parametrize("zoom", [2, 4])
def test_browser_zoom_reflows_without_sideways_scrolling(browser: object, dashboard: dict, zoom: int) -> None:
    """Real browser zoom on a 1,280 px window (WCAG 1.4.4 and 1.4.10): 200% and 400%.

    Chromium's zoom makes every CSS pixel ``zoom`` device pixels: the layout viewport shrinks to
    1,280 / ``zoom`` CSS px (640 at 200%, 320 at 400%), ``devicePixelRatio`` becomes ``zoom`` and the
    media queries see the narrower width. CDP ``Emulation.setDeviceMetricsOverride`` with that width and
    ``deviceScaleFactor=zoom`` reproduces exactly this. (``document.body.style.zoom`` scales the content
    but leaves the viewport and the media queries at 1,280 px, and ``Emulation.setPageScaleFactor`` is a
    pinch zoom that does not reflow: neither is browser zoom.)
    """
    width, height = 1280, 900
    browser.set_window_size(width, height)
    metrics = {"width": width // zoom, "height": height // zoom, "deviceScaleFactor": zoom, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        open_page(browser, dashboard["url"] + "/?level=neighbourhood&category=dementia&question=dementia&table=all")
        settle(browser)
        seen = browser.execute_script("return [window.innerWidth, window.devicePixelRatio];")
        assert seen == [width // zoom, zoom], seen
        inner = browser.execute_script("return document.documentElement.clientWidth;")
        assert browser.execute_script("return document.documentElement.scrollWidth;") <= inner + 1, overflowing(browser)
        for control in ("category-select", "community-select", "metric-select", "map", "questions",
                        "gap-table-all", "download-table-button", "gap-table"):  # fmt: skip
            element = browser.find_element(By.ID, control)
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            assert element.is_displayed() or control == "gap-table-all", control  # the switch's input is styled
            assert element.rect["x"] >= 0 and element.rect["x"] + element.rect["width"] <= inner + 1, control
        assert_no_violations(browser, f"{zoom * 100}% zoom")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.set_window_size(1400, 1000)
    assert_clean_console(browser)
