"""The map recolours through MapLibre feature state, not by re-tiling (``assets/map_recolour.js``).

A need change patches the map's colours; the asset hands MapLibre the new colours as feature state when the
polygons are the same objects as before. These tests prove, in headless Chromium, that a recolour takes that
path, that what MapLibre paints (a feature's state, else its own property) is plotly's colour for that
polygon after every kind of change, and that a change of polygons (level, borough) starts afresh.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from .conftest import click_map_at, wait_for
from .test_dashboard import GRAPH, assert_clean_console, details_text, open_page

pytestmark = pytest.mark.browser

#: The choropleth trace's MapLibre side: its counters, and every painted feature whose colour is not plotly's.
PAINTED = (
    GRAPH
    + """
const sub = g._fullLayout.map._subplot, map = sub.map;
const trace = Object.values(sub.traceHash).find(t => t.type === 'choroplethmap' && t.uid === g._fullData[0].uid);
if (!trace || !map.loaded() || map.isMoving() || !map.areTilesLoaded()) return null;
const plotly = g._fullData[0]._opts.geojson.features;
const layer = trace.layerList[0][1];
const drawn = map.queryRenderedFeatures({layers: [layer]});
const outlines = map.queryRenderedFeatures({layers: [trace.layerList[1][1]]});
// What MapLibre paints for a key: the feature's state, else its own property; it must be plotly's value.
const off = (f, key) => {
  const mine = plotly[f.id];
  const painted = (f.state && f.state[key] !== undefined) ? f.state[key] : f.properties[key];
  return !mine || painted !== mine.properties[key];
};
const wrong = drawn.filter(f => off(f, 'fc')).concat(outlines.filter(f => off(f, 'mlc') || off(f, 'mlw')))
  .map(f => [f.id, f.state, f.properties.fc]);
// The traces' visible layers in MapLibre's drawing order must follow plotly's (choropleths first, then the
// points, each kind in trace order), whatever was re-added and whatever stayed.
const kind = {choroplethmap: 0, scattermap: 1};
const rank = Object.fromEntries(g._fullData.map(t => [t.uid, kind[t.type] * 1000 + t.index]));
const order = map.getStyle().layers.map(l => l.id)
  .filter(id => id.startsWith('plotly-trace-layer-') && map.getLayoutProperty(id, 'visibility') !== 'none')
  .map(id => rank[id.split('-')[3]]);
const ordered = order.every((r, i) => i === 0 || r >= order[i - 1]);
return {numbered: !!trace.__polygons, ordered: ordered, order: order, recolours: trace.__recolours || 0, redraws: trace.__redraws || 0,
        drawn: drawn.length, wrong: wrong.slice(0, 5), title: g.layout.title.text,
        paint: JSON.stringify(map.getPaintProperty(layer, 'fill-color'))};
"""
)


def painted(driver: object) -> dict | None:
    return driver.execute_script(PAINTED)  # type: ignore[attr-defined,no-any-return]


def settled(driver: object, condition: object, what: str) -> dict:
    """The map's state once ``condition`` holds of it; its layers must then be in plotly's order."""
    state: dict = wait_for(driver, lambda: (lambda p: p if p and condition(p) else None)(painted(driver)),  # type: ignore[operator]
                           what=what)  # type: ignore[assignment]  # fmt: skip
    assert state["ordered"], state["order"]
    return state


def choose(driver: object, select_id: str, value: str) -> None:
    Select(driver.find_element("id", select_id)).select_by_value(value)  # type: ignore[attr-defined]


def test_a_need_change_recolours_through_feature_state_with_plotlys_colours(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia")
    first = settled(browser, lambda p: p["numbered"], "the map's polygons numbered for feature state")
    assert first["drawn"] > 100 and first["wrong"] == [], first
    assert "feature-state" in first["paint"]
    choose(browser, "category-select", "carers_support")
    after = settled(browser, lambda p: "Carers support" in p["title"] and p["recolours"] > first["recolours"],
                    "a recolour by feature state")  # fmt: skip
    assert after["redraws"] == first["redraws"], "the polygons were handed to MapLibre again"
    wait_for(browser, lambda: painted(browser)["wrong"] == [] or None, what="plotly's colours painted")
    assert painted(browser)["drawn"] > 100
    # The community changes the colours again; the measure too (another colour scale).
    choose(browser, "community-select", "carers")
    community = settled(browser, lambda p: p["recolours"] > after["recolours"] and p["wrong"] == [],
                        "the community's colours")  # fmt: skip
    # New polygons are re-added on top of the old layers: the service points must be re-added above them.
    browser.execute_script("document.querySelector(\"#level-select input[value='neighbourhood']\").click();")  # type: ignore[attr-defined]
    settled(browser, lambda p: p["redraws"] > community["redraws"] and p["wrong"] == [] and len(p["order"]) > 4,
            "the neighbourhoods drawn under the service points")  # fmt: skip
    assert_clean_console(browser)


def test_new_polygons_start_afresh_and_clicks_still_find_their_area(browser: object, dashboard: dict) -> None:
    open_page(browser, dashboard["url"] + "/?level=area&category=dementia&assets=0")
    first = settled(browser, lambda p: p["numbered"], "the map's polygons numbered for feature state")
    choose(browser, "category-select", "carers_support")
    settled(browser, lambda p: p["recolours"] > first["recolours"], "a recolour by feature state")
    # A new level hands MapLibre new polygons: old feature state must not colour them.
    browser.execute_script("document.querySelector(\"#level-select input[value='neighbourhood']\").click();")  # type: ignore[attr-defined]
    level = settled(browser, lambda p: "neighbourhood" in p["title"].lower() or p["redraws"] > first["redraws"],
                    "the neighbourhood map")  # fmt: skip
    wait_for(browser, lambda: (lambda p: p["redraws"] > first["redraws"] and p["wrong"] == [] and p["drawn"] > 10)(
        painted(browser)) or None, what="the neighbourhoods in plotly's colours")  # fmt: skip
    choose(browser, "category-select", "dementia")
    settled(browser, lambda p: p["recolours"] > level["recolours"] and p["wrong"] == [],
            "a recolour of the neighbourhoods")  # fmt: skip
    # Plotly still finds the area under the pointer (its own features are untouched).
    centre = browser.execute_script(GRAPH + "return g._fullData[0]._opts.geojson.features[0].properties.ct;")  # type: ignore[attr-defined]
    click_map_at(browser, centre[0], centre[1])
    wait_for(browser, lambda: "Click an area" not in details_text(browser), what="the clicked area's details")
    assert_clean_console(browser)
