"""The URL and the controls in a real browser: the URL follows the controls in the page (``assets/url_sync.js``),
the controls follow the URL on the server (page load, back and forward, a question asked), and the map is drawn
before the panels that follow it (``assets/map_order.js``)."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from callbacks import ids
from callbacks.state import Choices, ViewState, control_values, sync_url, to_query
from coverage_map.questions import BY_KEY

from .conftest import wait_for
from .test_dashboard import GRAPH, assert_clean_console, open_page, query, settled_requests

pytestmark = pytest.mark.browser

#: Views whose query strings the page must write exactly as the server does (to_query), including values
#: that URL encodings disagree on: spaces, ``!'()*``, ``,;@``, ``+``, ``&``, ``=``, accents.
STATES = [
    ViewState(level="neighbourhood", category="dementia"),
    ViewState(
        level="area",
        category="carers_support",
        community="carers",
        metric="nearest_km",
        borough="B 1",
        scheme="natural_breaks",
        show_assets=False,
        gaps_only=True,
        area="E01 (x)!*'",
        tab="organisations",
        table_all=True,
        question="carers",
    ),  # fmt: skip
    ViewState(
        level="borough",
        category="dementia",
        whatif="dementia.all.30.3km@-2.23010,53.51012,Old Library & Café;"
        "carers_support.carers.20.borough@-2.30100,53.49000,A+B=C ~ 100% é",
    ),  # fmt: skip
]


def _decide(browser: object, fired: list[str], state: ViewState, search: str) -> list[object]:
    values = json.dumps(control_values(state))
    return browser.execute_script(  # type: ignore[attr-defined, no-any-return]
        f"return window.dash_clientside.urlSync.decide({json.dumps(fired)}, {values}, {json.dumps(search)});"
    )


def test_the_page_writes_the_servers_url_for_every_control_change(browser: object, dashboard: dict) -> None:
    """The browser's twin of callbacks.state.sync_url gives sync_url's answers (same query string, to the byte)."""
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    for state in STATES:
        script = f"return window.dash_clientside.urlSync.toQuery({json.dumps(state.__dict__)});"
        assert browser.execute_script(script) == to_query(state), state
    choices = Choices(levels=("area", "neighbourhood", "borough"), categories=("dementia", "carers_support"),
                      communities=("all", "carers"), boroughs=("all", "B 1"))  # fmt: skip
    asked = to_query(replace(STATES[0], question="dementia"))
    cases = [
        ([ids.CATEGORY], replace(STATES[0], category="carers_support"), asked),  # a need change drops the question
        ([ids.METRIC], replace(STATES[0], metric="nearest_km"), asked),  # another measure keeps it
        ([ids.LEVEL], replace(STATES[0], level="area", area="N1"), to_query(replace(STATES[0], area="N1"))),
        ([ids.BOROUGH], replace(STATES[1], borough="all", question=None), to_query(STATES[1])),
        ([ids.SELECTED_AREA], replace(STATES[0], area="N2"), asked),  # a click keeps the question
        ([ids.WHATIF], replace(STATES[2], whatif=None), to_query(STATES[2])),
    ]
    for fired, controls, search in cases:
        expected = sync_url(fired, search, replace(controls, question=None), choices)
        new_search, cleared = _decide(browser, fired, replace(controls, question=None), search)
        assert new_search == expected.search, (fired, controls)
        assert cleared == (expected.state is not None and expected.state.area is None and controls.area is not None)
    # The server has just set the controls from the URL (every control fired): nothing moves, the unit stays.
    every = [ids.CONTROL_IDS[field] for field in ids.CONTROL_IDS]
    for state in STATES:
        linked = replace(state, question=None)
        assert _decide(browser, every, linked, to_query(state)) == [None, False]
    assert_clean_console(browser)


def test_a_need_change_writes_the_url_in_the_page_and_back_restores_the_view(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    before = settled_requests(browser)
    Select(browser.find_element(By.ID, "category-select")).select_by_value("carers_support")
    wait_for(browser, lambda: query(browser).get("category") == "carers_support", what="the URL")
    wait_for(browser, lambda: "Carers support" in browser.execute_script(GRAPH + "return g.layout.title.text;"),
             what="the new title")  # fmt: skip
    # The map (with its key), the gap table and the equity chart: no request only to rewrite the URL.
    assert settled_requests(browser) - before == 3
    assert query(browser)["level"] == "area"
    # Back: the browser's URL changes, the server sets the controls from it and the map follows.
    browser.back()
    wait_for(browser, lambda: query(browser).get("category") == "dementia", what="the previous URL")
    select = Select(browser.find_element(By.ID, "category-select"))
    wait_for(browser, lambda: select.first_selected_option.get_attribute("value") == "dementia", what="the control")
    wait_for(browser, lambda: "Dementia" in browser.execute_script(GRAPH + "return g.layout.title.text;"),
             what="the map of the previous need")  # fmt: skip
    browser.forward()
    wait_for(browser, lambda: select.first_selected_option.get_attribute("value") == "carers_support",
             what="the next need again")  # fmt: skip
    # A level change with a unit selected clears the unit (it belongs to the old map), in the URL too.
    area = str(dashboard["dataset"].units_wgs84("area")["area_id"].iloc[0])
    open_page(browser, dashboard["url"] + f"/?level=area&category=dementia&area={area}")
    wait_for(browser, lambda: browser.execute_script(GRAPH + "return g.data[1].locations;") == [area],
             what="the linked unit outlined")  # fmt: skip
    assert query(browser)["area"] == area  # the link's unit stays on page load
    browser.execute_script("document.querySelector(\"#level-select input[value='neighbourhood']\").click();")
    wait_for(browser, lambda: query(browser).get("level") == "neighbourhood" and "area" not in query(browser),
             what="the URL without the unit")  # fmt: skip
    assert_clean_console(browser)


def test_asking_a_question_sets_the_view_through_the_server(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=carers_support&metric=nearest_km")
    button = browser.find_element(By.XPATH, f"//section[@id='{ids.QUESTIONS}']//button[normalize-space()="
                                            f"'{BY_KEY['dementia'].text}']")  # fmt: skip
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait_for(browser, lambda: query(browser).get("question") == "dementia", what="the question in the URL")
    params = {k: v[-1] for k, v in parse_qs(urlparse(browser.current_url).query).items()}
    assert params["level"] == "neighbourhood" and params["category"] == "dementia" and params["gaps"] == "1"
    select = Select(browser.find_element(By.ID, "category-select"))
    wait_for(browser, lambda: select.first_selected_option.get_attribute("value") == "dementia", what="the control")
    assert browser.find_element(By.CSS_SELECTOR, "#gaps-only-toggle").is_selected()
    # Another measure keeps the question; another need leaves its view, so the question goes.
    Select(browser.find_element(By.ID, "metric-select")).select_by_value("nearest_km")
    wait_for(browser, lambda: query(browser).get("metric") == "nearest_km", what="the measure in the URL")
    assert query(browser).get("question") == "dementia"
    select.select_by_value("carers_support")
    wait_for(browser, lambda: query(browser).get("category") == "carers_support", what="the need in the URL")
    assert "question" not in query(browser)
    assert_clean_console(browser)


def test_the_map_is_drawn_before_the_panels_that_follow_it(browser: object, dashboard: dict) -> None:
    """assets/map_order.js: the gap table and the equity chart are asked for once the new map is drawn, and
    they still follow the need."""
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    wait_for(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#gap-table .ag-row"), what="gap rows")
    settled_requests(browser)
    browser.execute_script(
        "window.__order = []; const seen = window.__order;"
        "new PerformanceObserver(list => list.getEntries().forEach(e => {"
        "  if (e.name.includes('/_dash-update-component')) seen.push([e.startTime, e.responseEnd]); }))"
        ".observe({type: 'resource'});"
    )
    summary = browser.find_element(By.ID, "gap-summary").text
    Select(browser.find_element(By.ID, "category-select")).select_by_value("carers_support")
    wait_for(browser, lambda: browser.find_element(By.ID, "gap-summary").text != summary, what="the new table")
    wait_for(browser, lambda: len(browser.execute_script("return window.__order;")) == 3, what="three requests")
    order = sorted(browser.execute_script("return window.__order;"))
    # The map's request is answered before the other two are sent.
    assert order[0][1] <= order[1][0] and order[0][1] <= order[2][0], order
    assert_clean_console(browser)
