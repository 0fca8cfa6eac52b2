"""Several population files in headless Chromium: joined on the area code, or refused when their areas differ.

Uploads the real Greater Manchester LSOA 2021 boundaries and food banks (../shared/realdata)
with two population files at once in the population box. First the Census 2021 age table with
the 2011 Census ethnicity table: their area codes differ (LSOA 2011 against LSOA 2021), and
the save stops with the command line's message. Then the age table with a carers table in its
own words (the real LSOA 2021 codes, counts made up for the test): each file gets its own card
(the age table recognised, the carers table mapped by its guesses), and the saved dataset
offers both the age table's older people and the carers table's carers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from dash import Dash
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .conftest import served, wait_for
from .test_dashboard import assert_clean_console, click, open_page

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

AREAS = "boundaries/tdl_2021/lsoa21_gm_lsoa_generalised.geojson"
ASSETS = "services/gm_food_banks_2018.geojson"
AGE = "population/gm_lsoa21_census2021_age.csv"
ETHNICITY_2011 = "population/gm_lsoa11_census2011_ethnicity.csv"
ALL_ROWS_OFFER = json.dumps({"field": "categories", "role": "assets", "type": "map-value"}, separators=(",", ":"))


@pytest.fixture(scope="module")
def population_server(dash_app: Dash, dashboard: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from dashapp import serving

    from callbacks.settings import Settings

    folder = tmp_path_factory.mktemp("population-workspace")
    settings = Settings(data_dir=folder / "data", workspace=str(folder / "workspace.gpkg"),
                        max_upload_bytes=8 * 2**20, max_upload_total_bytes=16 * 2**20)  # fmt: skip
    with serving(dash_app, dashboard["dataset"], settings), served(dash_app.server) as url:
        yield url


def carers_table(realdata: Path, folder: Path) -> Path:
    """A carers table in a commissioner's words for the real GM LSOA 2021 codes (made-up counts)."""
    age = pd.read_csv(realdata / AGE, dtype=str)
    total = age["total_usual_residents"].astype(int)
    path = folder / "gm_unpaid_carers.csv"  # after the age table by name: file 2
    pd.DataFrame({"Area": age["lsoa21_code"], "All people": total, "pop_carers": total // 10}).to_csv(path, index=False)
    return path


def pattern_id(**keys: str) -> tuple[str, str]:
    """A locator of a pattern-matching id's element (Dash's DOM id: the keys sorted, as compact JSON).

    By XPath: this selenium turns ``By.ID`` into a CSS selector, which the id's quotes break.
    """
    return By.XPATH, f"//*[@id='{json.dumps(dict(sorted(keys.items())), separators=(',', ':'))}']"


def upload(browser: object, role: str, *paths: Path) -> None:
    """Send files to an upload box (several at once for the population box) and wait until they are received."""
    box = browser.find_element(By.CSS_SELECTOR, f"#upload-{role} input[type=file]")  # type: ignore[attr-defined]
    # chromedriver adds to a multiple file input's earlier files; a person choosing again replaces them.
    browser.execute_script("arguments[0].value = '';", box)  # type: ignore[attr-defined]
    box.send_keys("\n".join(str(path) for path in paths))
    status = lambda: browser.find_element(By.ID, f"upload-status-{role}").text  # type: ignore[attr-defined]  # noqa: E731
    wait_for(browser, lambda: status().startswith("Received") and status().count("(") == len(paths)
             and all(path.name in status() for path in paths),
             timeout=60, what=f"the {role} files")  # fmt: skip


def test_two_population_files_are_joined_or_refused(
    browser: object, population_server: str, realdata: Path, tmp_path: Path
) -> None:
    open_page(browser, population_server + "/?tab=upload")
    upload(browser, "areas", realdata / AREAS)
    upload(browser, "assets", realdata / ASSETS)
    upload(browser, "population", realdata / AGE, realdata / ETHNICITY_2011)
    panel = lambda: browser.find_element(By.ID, "mapping-panel").text  # type: ignore[attr-defined]  # noqa: E731
    wait_for(browser, lambda: "gm_lsoa21_census2021_age.csv: recognised as the census table census2021_age_6_bands"
             in panel() and "gm_lsoa11_census2011_ethnicity.csv: recognised as the census table "
             "census2011_ethnicity" in panel(), timeout=60, what="a census note for each population file")  # fmt: skip
    click(browser, (By.XPATH, f"//*[@id='{ALL_ROWS_OFFER}']//label[normalize-space()='Food & nutrition']"))

    # LSOA 2011 against LSOA 2021: nothing is saved, and the message is the command line's.
    click(browser, (By.ID, "upload-load"))
    report = lambda: browser.find_element(By.ID, "upload-report").text  # type: ignore[attr-defined]  # noqa: E731
    wait_for(browser, lambda: "nothing was loaded" in report(), timeout=120, what="the problems")
    assert "the area codes of the population files do not match" in report()
    assert "LSOA 2011 and LSOA 2021 codes differ" in report()
    assert "gm_lsoa11_census2011_ethnicity.csv" in report()

    # The age table with carers in the file's own words: a census note and a card, one per file.
    upload(browser, "population", realdata / AGE, carers_table(realdata, tmp_path))
    wait_for(
        browser, lambda: "Population (file 2): gm_unpaid_carers.csv" in panel(), timeout=60, what="the carers card"
    )
    area = browser.find_element(*pattern_id(field="area_id", role="population_2", type="map-column"))  # type: ignore[attr-defined]
    assert Select(area).first_selected_option.get_attribute("value") == "Area"
    # Each select of the card is named by its label (axe: every form control has a label).
    label = browser.find_element(By.XPATH, f"//label[@for='{area.get_attribute('id')}']")  # type: ignore[attr-defined]
    assert label.text.startswith("Area code")
    preview = pattern_id(role="population_2", type="map-preview")
    wait_for(browser, lambda: "E01004766" in browser.find_element(*preview).text, what="the carers preview")  # type: ignore[attr-defined]
    name = browser.find_element(By.ID, "upload-name")  # type: ignore[attr-defined]
    name.clear()
    name.send_keys("GM carers")
    click(browser, (By.ID, "upload-load"))
    # The food banks' "All rows offer" stays ticked although the population card was drawn again.
    wait_for(browser, lambda: "Saved as GM carers v1" in report(), timeout=120, what="the saved message")
    assert "1,702 areas and 171 services" in report()

    def communities() -> list[str]:
        return [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "community-select")).options]  # type: ignore[attr-defined]

    wait_for(browser, lambda: {"older_people", "carers"} <= set(communities()), timeout=60,
             what="the communities of both files")  # fmt: skip
    assert_clean_console(browser)
