"""The mapping step in headless Chromium: the real GM food banks, mapped and saved, are 171 points on the map.

Uploads the real Greater Manchester files (../shared/realdata: LSOA 2021 boundaries, the ONS
statistical lookup, the Census 2021 age table and the GM Poverty Action food banks) to a
dashboard served on its own port with a workspace in a temporary folder. The census table is
recognised as it is; the food banks have no categories, so the step asks for them, and "All
rows offer: Food & nutrition" is ticked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dash import Dash
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import GRAPH, assert_clean_console, click, open_page

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

GM_FILES = {
    "areas": "boundaries/tdl_2021/lsoa21_gm_lsoa_generalised.geojson",
    "lookup": "lookups/gm_2021_statistical_lookup.csv",
    "population": "population/gm_lsoa21_census2021_age.csv",
    "assets": "services/gm_food_banks_2018.geojson",
}
#: The DOM id Dash gives the "All rows offer" checklist's pattern-matching id (keys sorted).
ALL_ROWS_OFFER = json.dumps({"field": "categories", "role": "assets", "type": "map-value"}, separators=(",", ":"))


@pytest.fixture(scope="module")
def mapping_server(dash_app: Dash, dashboard: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from dashapp import serving

    from callbacks.settings import Settings

    folder = tmp_path_factory.mktemp("mapping-workspace")
    settings = Settings(data_dir=folder / "data", workspace=str(folder / "workspace.gpkg"),
                        max_upload_bytes=8 * 2**20, max_upload_total_bytes=16 * 2**20)  # fmt: skip
    with serving(dash_app, dashboard["dataset"], settings), served(dash_app.server) as url:
        yield url


def asset_points(driver: object) -> int:
    """Points of the three asset traces (accepting, not accepting, unknown: data[3] to data[5])."""
    script = GRAPH + "return g && g.data ? [3, 4, 5].map(i => (g.data[i] && g.data[i].lon || []).length) : [];"
    return sum(driver.execute_script(script) or [])  # type: ignore[attr-defined]


def test_mapping_the_food_banks_shows_171_on_the_map(browser: object, mapping_server: str, realdata: Path) -> None:
    open_page(browser, mapping_server + "/?tab=upload")
    for role, name in GM_FILES.items():
        path = realdata / name
        browser.find_element(By.CSS_SELECTOR, f"#upload-{role} input[type=file]").send_keys(str(path))  # type: ignore[attr-defined]
        wait_for(browser, lambda role=role, path=path: f"Received {path.name}"
                 in browser.find_element(By.ID, f"upload-status-{role}").text, timeout=60, what=f"the {role} file")  # type: ignore[attr-defined]  # fmt: skip

    # The census table is recognised; the food banks get a mapping step with the name guessed.
    panel = lambda: browser.find_element(By.ID, "mapping-panel").text  # type: ignore[attr-defined]  # noqa: E731
    wait_for(browser, lambda: "recognised as the census table census2021_age_6_bands" in panel()
             and "gm_food_banks_2018.geojson" in panel(), timeout=60, what="the mapping step")  # fmt: skip
    click(browser, (By.XPATH, f"//*[@id='{ALL_ROWS_OFFER}']//label[normalize-space()='Food & nutrition']"))
    wait_for(browser, lambda: "food_nutrition" in browser.find_element(By.CSS_SELECTOR, ".mapping-preview").text,  # type: ignore[attr-defined]
             what="the preview to show the category")  # fmt: skip
    preview = browser.find_element(By.CSS_SELECTOR, ".mapping-preview").text  # type: ignore[attr-defined]
    assert "row-1" in preview and "BRASS Bolton" in preview

    name = browser.find_element(By.ID, "upload-name")  # type: ignore[attr-defined]
    name.clear()
    name.send_keys("GM food banks")
    click(browser, (By.ID, "upload-load"))
    report = lambda: browser.find_element(By.ID, "upload-report").text  # type: ignore[attr-defined]  # noqa: E731
    wait_for(browser, lambda: "Saved as GM food banks v1" in report(), timeout=120, what="the saved message")
    assert "1,702 areas and 171 services" in report()
    assert "census table 'census2021_age_6_bands'" in report()  # the report names the table used
    # The map shows the services offering the need chosen: food.
    wait_for(browser, lambda: "food_nutrition" in [o.get_attribute("value") for o in
             Select(browser.find_element(By.ID, "category-select")).options], timeout=60, what="the new needs")  # type: ignore[attr-defined]  # fmt: skip
    Select(browser.find_element(By.ID, "category-select")).select_by_value("food_nutrition")  # type: ignore[attr-defined]
    wait_for(browser, lambda: asset_points(browser) == 171, timeout=60, what="171 food banks on the map")
    assert_clean_console(browser)
