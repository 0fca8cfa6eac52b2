"""Choosing a saved dataset in headless Chromium: a determinate bar shows each stage while it opens.

Served on its own port with a workspace holding the demo data as a published dataset, which
no worker has opened yet, so choosing it in the picker loads it (reading each file, joining,
the first analysis: a couple of seconds for the demo, tens at England scale).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dash import Dash
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import assert_clean_console, open_page

pytestmark = pytest.mark.browser

#: Records every text the bar above the map shows, and the bar's value and max each time.
RECORD = """
window._opening = [];
const view = document.getElementById('opening-view');
new MutationObserver(() => {
  const bar = view.querySelector('progress');
  window._opening.push([view.innerText, bar ? [bar.value, bar.max] : null,
                        bar ? bar.getAttribute('aria-valuetext') : null]);
}).observe(view, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@pytest.fixture(scope="module")
def opening_server(
    dash_app: Dash, dashboard: dict, demo_folder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from dashapp import serving

    from callbacks.settings import Settings
    from coverage_map.spec import InputSpec
    from coverage_map.store import open_workspace

    folder = tmp_path_factory.mktemp("opening")
    settings = Settings(data_dir=folder / "data", workspace=str(folder / "workspace.gpkg"))
    open_workspace(str(settings.workspace)).add("Demo saved", InputSpec.demo(demo_folder), publish=True)
    with serving(dash_app, dashboard["dataset"], settings), served(dash_app.server) as url:
        yield url


def test_choosing_a_saved_dataset_shows_each_stage_of_opening_it(browser: object, opening_server: str) -> None:
    open_page(browser, opening_server + "/?tab=upload")
    assert browser.find_element(By.ID, "opening-view").text == ""
    browser.execute_script(RECORD)
    Select(browser.find_element(By.ID, "dataset-select")).select_by_value("1:Demo saved")
    wait_for(browser, lambda: browser.find_element(By.ID, "dataset-label").text == "Demo saved v1", timeout=90,
             what="the saved dataset to open")  # fmt: skip
    wait_for(browser, lambda: browser.find_element(By.ID, "opening-view").text == "", timeout=30,
             what="the bar to go")  # fmt: skip
    seen = browser.execute_script("return window._opening;")
    stages = [(text, bar, said) for text, bar, said in seen if bar is not None]
    assert stages, f"no stage was shown while the dataset opened: {seen}"
    for text, (value, most), said in stages:
        assert text.startswith("Opening Demo saved v1: ") and text.endswith("%)"), text
        assert 0 <= value < most and said == text  # determinate, and read out in the same words
    values = [value for _, (value, _), _ in stages]
    assert values == sorted(values)  # never goes backwards
    assert seen[-1][0] == ""  # and it is gone once the dataset is open
    assert_clean_console(browser)
