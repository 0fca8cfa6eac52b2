"""Uploading a dataset in headless Chromium: the map switches to it, then Publish, then back.

Served on its own port (so its own ``sessionStorage``) on the demo data with a workspace
in a temporary folder, so the other browser tests keep seeing the demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import handbuilt
import pytest
from dash import Dash
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import GRAPH, assert_clean_console, click, open_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def upload_server(dash_app: Dash, dashboard: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from dashapp import serving

    from callbacks.settings import Settings

    folder = tmp_path_factory.mktemp("workspace")
    settings = Settings(data_dir=folder / "data", workspace=str(folder / "workspace.gpkg"),
                        max_upload_bytes=2 * 2**20)  # fmt: skip
    with serving(dash_app, dashboard["dataset"], settings), served(dash_app.server) as url:
        yield url


def map_units(driver: object) -> set[str]:
    return set(driver.execute_script(GRAPH + "return g && g.data ? g.data[0].locations : [];") or [])  # type: ignore[attr-defined]


def test_uploading_a_valid_dataset_switches_the_map(browser: object, upload_server: str, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    with Path(files["assets"]).open("a") as out:  # one service in London, outside every area
        out.write("far1,Far Away,51.5000000,-0.1000000,dementia,,,,local\n")
    open_page(browser, upload_server + "/?tab=upload")
    demo_units = map_units(browser)
    assert len(demo_units) > 2
    for role, path in files.items():
        browser.find_element(By.CSS_SELECTOR, f"#upload-{role} input[type=file]").send_keys(str(path))
        wait_for(browser, lambda role=role, path=path: f"Received {Path(path).name}"
                 in browser.find_element(By.ID, f"upload-status-{role}").text, what=f"the {role} file")  # fmt: skip
    name = browser.find_element(By.ID, "upload-name")
    name.clear()
    name.send_keys("Hand test")
    click(browser, (By.ID, "upload-load"))
    wait_for(browser, lambda: "Saved as Hand test v1" in browser.find_element(By.ID, "upload-report").text,
             timeout=60, what="the saved message")  # fmt: skip
    # Every file's rows read, used and rejected, and the rejected row listed.
    counts = browser.find_element(By.ID, "upload-counts").text
    assert "assets.csv: 5 read, 4 used, 1 rejected" in counts and "areas.gpkg: 3 read, 3 used" in counts
    assert "asset lies outside every area" in browser.find_element(By.ID, "upload-problems").text

    # The map now shows the upload's neighbourhoods, and the header names it.
    wait_for(browser, lambda: map_units(browser) == {"N1", "N2"}, timeout=40, what="the map to switch")
    assert browser.find_element(By.ID, "dataset-label").text == "Hand test v1"
    assert not browser.find_element(By.ID, "synthetic-badge").is_displayed()
    picker = Select(browser.find_element(By.ID, "dataset-select"))
    assert picker.first_selected_option.text == "Hand test v1 (private: only you can see it)"

    # Publish it: the button is for the owner of a private dataset, then no longer needed.
    publish = browser.find_element(By.ID, "dataset-publish")
    assert publish.is_enabled()
    click(browser, (By.ID, "dataset-publish"))
    wait_for(browser, lambda: "Published Hand test v1" in browser.find_element(By.ID, "publish-status").text,
             what="the published message")  # fmt: skip
    wait_for(browser, lambda: not browser.find_element(By.ID, "dataset-publish").is_enabled(), what="disabled")
    wait_for(browser, lambda: Select(browser.find_element(By.ID, "dataset-select")).first_selected_option.text
             == "Hand test v1 (published)", what="the picker to say published")  # fmt: skip

    # Choosing the default data in the picker brings the demo back.
    Select(browser.find_element(By.ID, "dataset-select")).select_by_value("default")
    wait_for(browser, lambda: map_units(browser) == demo_units, timeout=40, what="the demo map")
    assert browser.find_element(By.ID, "synthetic-badge").is_displayed()
    # Only this tab's own token is kept, in sessionStorage.
    stored = browser.execute_script("return Object.keys(window.sessionStorage);")
    assert "upload-token" in stored and not browser.execute_script("return Object.keys(window.localStorage);")
    assert_clean_console(browser)
