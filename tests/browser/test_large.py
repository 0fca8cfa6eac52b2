"""National scale in headless Chromium: the small-area map asks for a borough, the tables stay bounded.

The demo region stands in for England with its limits lowered (500 units a map, 20
service points, 50 table rows), so its ~1,700 small areas are "too many" exactly as
England's ~34,000 are: the map shows the 68 neighbourhoods with a notice, a click on the
map chooses that borough and draws its small areas. Timings live in benchmarks/dashboard.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from dash import Dash
from selenium.webdriver.common.by import By

from .conftest import click_map_at, console_errors, served, wait_for

pytestmark = pytest.mark.browser

GRAPH = "const g = document.querySelector('#map .js-plotly-plot');"
LIMITS = {"map_max_units": 500, "map_max_services": 20, "table_max_rows": 50}


@pytest.fixture(scope="module")
def large(dash_app: Dash, demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The demo data served with national-scale limits, on its own loopback port."""
    from dashapp import serving

    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset
    from coverage_map.spec import InputSpec

    dataset = Dataset.from_spec(InputSpec.demo(demo_folder), label="Synthetic demo region", synthetic=True)
    uploads = tmp_path_factory.mktemp("uploads-large")
    settings = Settings(data_dir=uploads, workspace=str(uploads / "workspace.gpkg"), **LIMITS)
    with serving(dash_app, dataset, settings), served(dash_app.server) as url:
        yield {"url": url, "dataset": dataset}


def locations(driver: object) -> list[str]:
    return driver.execute_script(GRAPH + "return g && g.data ? g.data[0].locations : [];")  # type: ignore[attr-defined]


def query(driver: object) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(driver.current_url).query).items()}  # type: ignore[attr-defined]


def notice(driver: object) -> str:
    element = driver.find_element(By.ID, "map-notice")  # type: ignore[attr-defined]
    return element.text if element.is_displayed() else ""


def test_small_areas_without_a_borough_show_neighbourhoods_and_a_prompt(browser: object, large: dict) -> None:
    dataset = large["dataset"]
    neighbourhoods = set(dataset.units("neighbourhood")["area_id"].astype(str))
    browser.get(large["url"] + "/?level=area&category=dementia&borough=all")
    wait_for(browser, lambda: set(locations(browser)) == neighbourhoods, timeout=40, what="the neighbourhood map")
    text = wait_for(browser, lambda: notice(browser), what="the notice")
    assert f"{dataset.unit_count('area'):,} small areas are too many to draw at once" in text
    assert "Choose a borough" in text
    # Services: far more than 20 offer dementia across the region, so none are drawn and the notice says so.
    assert "services match: too many to draw at once" in text
    assert browser.execute_script(GRAPH + "return g.data.slice(2).every(t => (t.lon || []).length === 0);")
    assert "choose a borough for small areas" in browser.execute_script(GRAPH + "return g.layout.title.subtitle.text;")
    # The gap table still lists small areas, the worst 50 of them, and says so.
    summary = wait_for(browser, lambda: browser.find_element(By.ID, "gap-summary").text, what="the gap summary")
    assert "Only the 50 worst are listed" in summary
    rows = browser.execute_script(
        "const api = dash_ag_grid.getApi('gap-table'); const ids = [];"
        "api.forEachNode(n => ids.push(n.data.area_id)); return ids;"
    )
    assert len(rows) == 50 and set(rows) <= set(dataset.units("area")["area_id"].astype(str))
    assert not console_errors(browser)


def test_clicking_the_neighbourhood_map_chooses_that_borough(browser: object, large: dict) -> None:
    dataset = large["dataset"]
    browser.get(large["url"] + "/?level=area&category=dementia&assets=0")
    wait_for(browser, lambda: len(locations(browser)) == dataset.unit_count("neighbourhood"), timeout=40,
             what="the neighbourhood map")  # fmt: skip
    units = dataset.units_wgs84("neighbourhood")
    unit = units.iloc[len(units) // 3]
    borough = str(dataset.borough_of("neighbourhood")[unit["area_id"]])
    point = unit.geometry.representative_point()
    click_map_at(browser, point.x, point.y)
    wait_for(browser, lambda: query(browser).get("borough") == borough, what=f"borough {borough} in the URL")
    inside = dataset.borough_of("area")
    expected = set(inside.index[inside == borough].astype(str))
    wait_for(browser, lambda: set(locations(browser)) == expected, timeout=30, what="the borough's small areas")
    assert query(browser)["level"] == "area" and "area" not in query(browser)
    wait_for(browser, lambda: browser.find_element(By.ID, "borough-select").get_attribute("value") == borough,
             what="the borough control")  # fmt: skip
    wait_for(browser, lambda: not browser.find_element(By.ID, "map-notice").is_displayed(), what="the notice to go")
    assert not console_errors(browser)


def test_a_small_area_from_the_table_is_outlined_on_the_neighbourhood_map(browser: object, large: dict) -> None:
    dataset = large["dataset"]
    area = str(dataset.units("area")["area_id"].iloc[10])
    browser.get(large["url"] + f"/?level=area&category=dementia&assets=0&area={area}")
    wait_for(browser, lambda: len(locations(browser)) == dataset.unit_count("neighbourhood"), timeout=40,
             what="the neighbourhood map")  # fmt: skip
    wait_for(browser, lambda: browser.execute_script(GRAPH + "return g.data[1].locations;") == [area],
             what="the selected small area's outline")  # fmt: skip
    name = str(dataset.units("area").set_index("area_id").loc[area, "area_name"])
    wait_for(browser, lambda: name in browser.find_element(By.ID, "area-details").text, what="its details")
    assert not console_errors(browser)
