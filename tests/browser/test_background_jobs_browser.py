"""Long work as background jobs, in headless Chromium: the progress bar, Cancel, and a map download.

Served on its own port (its own ``sessionStorage``) with a workspace and a data folder in a
temporary folder. The page shows the hand-built data (three areas: quick to draw), while the
files uploaded are the demo's (50,000 referrals: a save that takes seconds, long enough for
the bar to be seen moving). Each job runs in a child process forked from the test's server
by Dash's ``DiskcacheManager``, as it does under gunicorn; Cancel kills that process.

Every stage the bar shows is recorded in the page by a ``MutationObserver`` (:func:`watch_bar`),
so the test sees each value the browser drew, not only those a poll happened to catch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import handbuilt
import pandas as pd
import pytest
from dash import Dash
from PIL import Image
from selenium.webdriver.common.by import By

from callbacks import jobs
from coverage_map.config import DEMO_FILES
from coverage_map.dataset import Dataset
from coverage_map.store import open_workspace

from .conftest import served, wait_for
from .test_dashboard import assert_clean_console, click, open_page

pytestmark = pytest.mark.browser
ROLES = ("areas", "lookup", "population", "assets", "referrals")
#: Records, in ``window.__bars``, each distinct state of the bar inside the element ``arguments[0]``.
WATCH_BAR = """
const panel = document.getElementById(arguments[0]);
window.__bars = [];
const record = () => {
  const bar = panel.querySelector('progress');
  if (!bar || !bar.hasAttribute('max')) return;
  const state = [Number(bar.value), Number(bar.max), bar.getAttribute('aria-valuetext') || ''];
  const last = window.__bars[window.__bars.length - 1];
  if (!last || last.join('|') !== state.join('|')) window.__bars.push(state);
};
new MutationObserver(record).observe(panel, {subtree: true, childList: true, attributes: true, characterData: true});
"""


@pytest.fixture(scope="module")
def job_server(dash_app: Dash, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from dashapp import serving

    from callbacks.settings import Settings

    folder = tmp_path_factory.mktemp("jobs")
    settings = Settings(data_dir=folder / "data", workspace=str(folder / "workspace.gpkg"),
                        max_upload_bytes=60 * 2**20, max_upload_total_bytes=90 * 2**20)  # fmt: skip
    dataset = Dataset.from_inputs(handbuilt.inputs(), label="Hand-built", synthetic=True)
    with serving(dash_app, dataset, settings), served(dash_app.server) as url:
        yield {"url": url, "settings": settings}


def fresh_page(browser: object, url: str) -> None:
    """The page at ``url`` as a new tab would open it (no dataset or token left by an earlier test)."""
    browser.get(url)  # type: ignore[attr-defined]
    browser.execute_script("window.sessionStorage.clear();")  # type: ignore[attr-defined]
    open_page(browser, url)


def upload_files(browser: object, files: dict[str, Path], name: str) -> None:
    for role in ROLES:
        path = files[role]
        browser.find_element(By.CSS_SELECTOR, f"#upload-{role} input[type=file]").send_keys(str(path))  # type: ignore[attr-defined]
        wait_for(browser, lambda role=role, path=path: f"Received {path.name}"
                 in browser.find_element(By.ID, f"upload-status-{role}").text,  # type: ignore[attr-defined]
                 timeout=120, what=f"the {role} file")  # fmt: skip
    field = browser.find_element(By.ID, "upload-name")  # type: ignore[attr-defined]
    field.clear()
    field.send_keys(name)


def watch_bar(browser: object, job: str) -> None:
    """Start recording every state of ``job``'s progress bar (read them with :func:`bars_seen`)."""
    browser.execute_script(WATCH_BAR, f"job-{job}-progress")  # type: ignore[attr-defined]


def bars_seen(browser: object) -> list[tuple[float, float, str]]:
    return [tuple(state) for state in browser.execute_script("return window.__bars || [];")]  # type: ignore[attr-defined]


def bar_state(browser: object, job: str) -> tuple[float, float, str] | None:
    """The bar's value, max and words while it shows (None when it does not)."""
    state = browser.execute_script(  # type: ignore[attr-defined]
        "const p = document.querySelector(arguments[0]); if (!p || !p.hasAttribute('max')) return null;"
        "return [p.value, p.max, p.getAttribute('aria-valuetext')];",
        f"#job-{job}-progress progress",
    )
    return None if state is None else tuple(state)


def saved_names(settings: object) -> set[str]:
    with open_workspace(settings.workspace) as workspace:  # type: ignore[attr-defined]
        return {ref.name for ref in workspace.list(include_private=True)}


def files_holding(folder: Path, marker: bytes) -> list[Path]:
    """The files under ``folder`` whose bytes contain ``marker``."""
    return [path for path in folder.rglob("*") if path.is_file() and marker in path.read_bytes()]


def job_cache() -> Path:
    """The folder of the process's job cache (the app's ``<data_dir>/jobs``)."""
    board = jobs.board()
    assert board is not None
    return Path(board._manager.handle.directory)  # noqa: SLF001 - where the manager keeps its cache


def demo_with_more_referrals(demo_folder: Path, folder: Path, *, copies: int, marker: str) -> dict[str, Path]:
    """The demo's files by role, its referrals repeated ``copies`` times (ids ``<marker><n>``) in ``folder``."""
    referrals = pd.read_csv(demo_folder / DEMO_FILES["referrals"], dtype=str)
    large = pd.concat([referrals] * copies, ignore_index=True)
    large["referral_id"] = [f"{marker}{n:07d}" for n in range(len(large))]
    files = {role: demo_folder / DEMO_FILES[role] for role in ROLES}
    files["referrals"] = folder / "referrals.csv"
    large.to_csv(files["referrals"], index=False)
    return files


def test_saving_the_demo_files_shows_a_determinate_progress_bar(browser: object, job_server: dict,
                                                                demo_folder: Path, tmp_path: Path) -> None:  # fmt: skip
    # The demo's referrals eight times over (400,000 rows): the demo's own files save in under a second on a fast
    # machine, between two of the page's polls (one a second), and the bar would go from 0% straight to done.
    files = demo_with_more_referrals(demo_folder, tmp_path, copies=8, marker="R")
    fresh_page(browser, job_server["url"] + "/?tab=upload")
    upload_files(browser, files, "Demo again")
    watch_bar(browser, "upload")
    click(browser, (By.ID, "upload-load"))
    wait_for(browser, lambda: "Saved as Demo again v1" in browser.find_element(By.ID, "upload-report").text,  # type: ignore[attr-defined]
             timeout=120, what="the saved message")  # fmt: skip

    # The bar started at 0% and moved on through the save's real stages (one check per file, writing,
    # validating, preparing the map: 8), never backwards, each said in words with its percentage.
    seen = bars_seen(browser)
    assert seen and seen[0][0] == 0, seen
    staged = [(value, total, words) for value, total, words in seen if total == len(ROLES) + 3]
    assert staged, f"no stage of the save was shown: {seen}"
    percents = [100 * value / total for value, total, _ in seen]
    assert percents == sorted(percents) and percents[-1] > 0, seen
    assert all(words.endswith("%)") for _, _, words in seen)
    assert any(words.startswith(("Checking", "Writing", "Validating", "Preparing")) for _, _, words in staged)
    # Done: the bar and Cancel are gone, and Load can be pressed again.
    wait_for(browser, lambda: bar_state(browser, "upload") is None, what="the bar to go")
    assert not browser.find_element(By.ID, "job-upload-cancel").is_displayed()  # type: ignore[attr-defined]
    assert browser.find_element(By.ID, "upload-load").is_enabled()  # type: ignore[attr-defined]
    assert "Demo again" in saved_names(job_server["settings"])
    assert not list(Path(job_server["settings"].data_dir).glob("incoming-*"))
    assert_clean_console(browser)


def test_cancel_during_a_large_save_saves_nothing(browser: object, job_server: dict, demo_folder: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    # 500,000 referrals (about 30 MB), each id marked so that any copy left on disk can be found; large enough that
    # validating them outlasts the page's one-second poll and the Cancel click on a fast machine
    files = demo_with_more_referrals(demo_folder, tmp_path, copies=10, marker="CANCELLEDJOB")

    fresh_page(browser, job_server["url"] + "/?tab=upload")
    upload_files(browser, files, "Too big to wait for")
    click(browser, (By.ID, "upload-load"))
    wait_for(browser, lambda: browser.find_element(By.ID, "job-upload-cancel").is_displayed(),  # type: ignore[attr-defined]
             what="the Cancel button")  # fmt: skip
    assert not browser.find_element(By.ID, "upload-load").is_enabled()  # type: ignore[attr-defined]
    # Cancel once the files are in the scratch folder and being validated: the most to clean up.
    wait_for(browser, lambda: (bar_state(browser, "upload") or (0, 0, ""))[2].startswith("Validating"),
             timeout=120, what="the validation stage")  # fmt: skip
    click(browser, (By.ID, "job-upload-cancel"))
    wait_for(browser, lambda: "Cancelled: nothing was saved" in browser.find_element(  # type: ignore[attr-defined]
        By.ID, "job-upload-status").text, timeout=60, what="the cancelled message")  # fmt: skip
    assert "Saved as" not in browser.find_element(By.ID, "upload-report").text  # type: ignore[attr-defined]
    assert browser.find_element(By.ID, "upload-load").is_enabled()  # type: ignore[attr-defined]
    assert bar_state(browser, "upload") is None
    assert "Too big to wait for" not in saved_names(job_server["settings"])
    # Nothing of the upload is left: no scratch folder, and no referral in the data folder or the job cache.
    data_dir = Path(job_server["settings"].data_dir)
    assert not list(data_dir.glob("incoming-*"))
    assert not files_holding(data_dir, b"CANCELLEDJOB")
    assert not files_holding(job_cache(), b"CANCELLEDJOB")
    assert job_cache().stat().st_mode & 0o777 == 0o700
    assert all(path.stat().st_mode & 0o077 == 0 for path in job_cache().rglob("*"))  # private, as docs/privacy.md says
    assert_clean_console(browser)


def test_a_map_download_is_drawn_as_a_background_job(browser: object, job_server: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="coverage-map-download-"))
    fresh_page(browser, job_server["url"] + "/?level=area&category=dementia")
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})  # type: ignore[attr-defined]
    watch_bar(browser, "download-map")
    click(browser, (By.ID, "download-map-button"))
    path = wait_for(browser, lambda: [p for p in folder.glob("*.png") if p.stat().st_size > 0]
                    and not list(folder.glob("*.crdownload")) and next(folder.glob("*.png")),
                    timeout=120, what="the PNG download")  # fmt: skip
    assert isinstance(path, Path) and path.name == "coverage-map_dementia_tier.png"
    # A real image: a PNG that decodes, print-sized, and not blank.
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width >= 1000 and height >= 600
        low, high = image.convert("L").getextrema()
        assert high - low > 100
    # Its bar showed the drawing, with its share of the three stages.
    seen = bars_seen(browser)
    assert any(total == 3 and words.startswith("Drawing the map as PNG") for _, total, words in seen), seen
    wait_for(browser, lambda: bar_state(browser, "download-map") is None, what="the bar to go")
    assert browser.find_element(By.ID, "download-map-button").is_enabled()  # type: ignore[attr-defined]
    assert not browser.find_element(By.ID, "download-map-error").text  # type: ignore[attr-defined]
    assert not browser.find_element(By.ID, "job-download-map-status").text  # type: ignore[attr-defined]
    assert_clean_console(browser)
