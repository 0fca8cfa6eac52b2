"""Long work as background jobs: the stages each reports, the manager, and what a cancelled or dead job leaves.

The background callbacks are called as plain functions with a recorder for ``set_progress``
(Dash calls them the same way in the job's process, with its own). The board and the settling
of a run that ended without its answer are driven directly, with a diskcache in a temporary
folder, as the browser would after a Cancel or after the job's process was killed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import dash
import handbuilt
import pytest
from dash import DiskcacheManager
from dashapp import serving

from callbacks import download_map, jobs, upload, uploads, whatif
from callbacks.app import build_services
from callbacks.context import Services
from callbacks.job_view import percent, progress_view
from callbacks.jobs import JobBoard, JobKind, settle
from callbacks.settings import Settings
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.progress import stages
from coverage_map.store import open_workspace

PAGE = "0123456789abcdef0123456789abcdef"


class Recorder:
    """A fake ``set_progress``: keeps each bar it is given, as (value, max, words)."""

    def __init__(self) -> None:
        self.bars: list[tuple[int, int, str]] = []

    def __call__(self, view: object) -> None:
        bar, words = view.children  # type: ignore[attr-defined]
        assert bar.max >= 1 and 0 <= bar.value <= bar.max  # determinate, never past its end
        assert getattr(bar, "aria-valuetext") == words.children  # read out as it is written
        self.bars.append((bar.value, bar.max, words.children))

    @property
    def words(self) -> list[str]:
        return [text.rsplit(" (", 1)[0] for _, _, text in self.bars]


def data_url(path: Path) -> str:
    return "data:text/csv;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def text_of(component: object) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workspace=str(tmp_path / "workspace.gpkg"))


@pytest.fixture()
def app(dash_app: dash.Dash, settings: Settings) -> Iterator[dash.Dash]:
    dataset = Dataset.from_inputs(handbuilt.inputs(with_referrals=False), label="Default")
    with serving(dash_app, dataset, settings), dash_app.server.test_request_context():
        yield dash_app


@pytest.fixture()
def board(tmp_path: Path) -> JobBoard:
    return JobBoard(DiskcacheManager(jobs.ExpiringCache(str(tmp_path / "jobs"))))


# --------------------------------------------------------------------------- the stages each job reports


def test_progress_listener_hears_every_stage() -> None:
    heard: list[tuple[int, int, str]] = []
    with stages("save", ["one", "two", "three"], enabled=False, listener=lambda *args: heard.append(args)) as bar:
        bar.next("reading")
        bar.next("checking")
        bar.next("writing")
    assert heard == [(0, 3, "reading"), (1, 3, "checking"), (2, 3, "writing")]


def test_progress_bar_is_determinate_and_says_how_far() -> None:
    view = progress_view(3, 8, "Checking referrals: 4 of 5 files", title="Saving your data")
    bar, words = view.children
    assert (bar.value, bar.max) == (3, 8)
    assert getattr(bar, "aria-label") == "Saving your data"
    assert words.children == "Checking referrals: 4 of 5 files (38%)" == getattr(bar, "aria-valuetext")
    assert (percent(0, 0), percent(5, 4), percent(1, 3)) == (0, 100, 33)


def test_saving_an_upload_reports_each_file_then_each_stage(app: dash.Dash, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    roles = uploads.ROLES
    record = Recorder()
    contents = [data_url(files[role]) if role in files else None for role in roles]
    names = [Path(files[role]).name if role in files else None for role in roles]
    token, page = uploads.new_token(), secrets.token_hex(16)
    out = upload.save_upload(record, 1, *contents, *names, "Staged", token, None, page)
    assert "Saved as Staged v1" in text_of(out[1])
    n = len(files)
    assert record.words == [
        *[f"Checking {uploads.role_name(role)[0].lower()}{uploads.role_name(role)[1:]}: {k} of {n} files"
          for k, role in enumerate([role for role in roles if role in files], start=1)],
        "Writing the files to a private scratch folder",
        "Validating every row and saving (the longest step)",
        "Preparing your data for the map",
    ]  # fmt: skip
    assert "Checking referrals: 5 of 5 files" in record.words
    # Determinate: one more stage done each time, out of the same total (the files and three stages).
    assert [value for value, _, _ in record.bars] == list(range(n + 3))
    assert {total for _, total, _ in record.bars} == {n + 3}
    # The board says it finished, with what it saved, and no scratch folder is left.
    entry = jobs.board().get(f"{page}:upload:1")  # type: ignore[union-attr]
    assert entry is not None and entry["state"] == "done" and entry["saving"] == "Staged" and entry["version"] == 1
    assert not list((tmp_path / "data").glob("incoming-*"))


def test_a_refused_upload_stops_after_the_checks(app: dash.Dash, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    record = Recorder()
    saved, report, _ = upload.save_files({"areas": data_url(files["areas"])}, {"areas": "areas.gpkg"}, "x", None,
                                         job=jobs.Job("Saving your data", record))  # fmt: skip
    assert saved is dash.no_update and "upload the community assets" in text_of(report)
    assert record.words == ["Checking small areas (boundaries): 1 of 1 file"]


def test_suggesting_sites_reports_its_stages(tmp_path: Path) -> None:
    hand = Dataset.from_inputs(handbuilt.inputs(), label="Hand", synthetic=True)
    services: Services = build_services(hand, Settings(data_dir=tmp_path))
    heard: list[str] = []
    result, text, disabled = whatif.suggestion_outputs(services, 1, "areas", None, ("dementia", "all", 6, "3km"),
                                                       None, on_stage=heard.append)  # fmt: skip
    assert disabled is False and text
    assert heard == list(jobs.SUGGEST_STAGES)
    refused: list[str] = []
    whatif.suggestion_outputs(services, 11, "areas", None, ("dementia", "all", 6, "3km"), None, on_stage=refused.append)
    assert refused == [jobs.SUGGEST_STAGES[0]]  # refused before reading any site


def test_map_download_reports_its_stages(app: dash.Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_export(dataset: Dataset, request: object, out: Path, *, fmt: str) -> None:
        Path(out).write_text("<svg/>")  # the drawing itself is tested in tests/unit/test_export_map.py

    monkeypatch.setattr(download_map, "export_map", fake_export)
    record = Recorder()
    sent, error = download_map.download_map(record, 1, "svg", "area", "dementia", "all", "gap_score", "all",
                                            "quantiles", True, False, None, None, PAGE)  # fmt: skip
    assert error == "" and sent["filename"].endswith(".svg")
    assert record.words == ["Reading the view", "Drawing the map as SVG", "Preparing the file"]
    assert [value for value, _, _ in record.bars] == [0, 1, 2]


# --------------------------------------------------------------------------- the manager


def test_the_job_cache_is_private_inside_the_data_folder(tmp_path: Path) -> None:
    manager = jobs.build_manager(tmp_path / "data", environ={})
    folder = tmp_path / "data" / jobs.JOBS_FOLDER
    assert isinstance(manager, DiskcacheManager) and Path(manager.handle.directory) == folder
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    manager.handle.set("result", 1)
    expire_time = manager.handle.get("result", expire_time=True)[1]
    assert expire_time is not None  # every entry has a time to live
    manager.handle.close()


def test_a_job_that_ends_between_dashs_two_questions_still_delivers_its_result(tmp_path: Path) -> None:
    """Dash's poll reads the job's result, then asks whether the job runs: a job that wrote its result and
    ended in between must not be taken for a cancelled one (Dash would answer 204 and the result be lost)."""
    import subprocess

    manager = jobs.build_manager(tmp_path / "data", environ={})
    ended = subprocess.Popen(["true"])
    ended.wait()  # a real process that has ended and been reaped
    assert manager.get_result("save-key", ended.pid) is manager.UNDEFINED
    manager.handle.set("save-key", ["Saved as v1"])  # the job's last act, just after that read
    assert manager.job_running(ended.pid)  # "still running": the page polls once more
    assert manager.get_result("save-key", ended.pid) == ["Saved as v1"]  # ... and gets the result
    assert not manager.job_running(ended.pid)
    # Only the job whose result was just read: another ended job is not running, whatever that result does.
    assert manager.get_result("third-key", ended.pid) is manager.UNDEFINED
    manager.handle.set("third-key", ["done"])
    assert not manager.job_running(ended.pid + 1_000_000)
    # A job that ended without a result (cancelled, killed) is not running, as before.
    assert manager.get_result("other-key", ended.pid) is manager.UNDEFINED
    assert not manager.job_running(ended.pid)
    manager.handle.close()


def test_celery_is_optional_and_says_how_to_get_it(tmp_path: Path) -> None:
    try:
        import celery  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(CoverageMapError, match="COVERAGE_MAP_CELERY_BROKER is set, but celery is not installed"):
            jobs.build_manager(tmp_path, environ={jobs.CELERY_BROKER_ENV: "redis://localhost:6379/0"})
    else:
        pytest.skip("celery is installed here")


# --------------------------------------------------------------------------- a run that ends without its answer

KIND = JobKind(name="upload", trigger="upload-load", cancelled="Cancelled: nothing was saved.", died="It stopped.")


def test_settle_tells_done_cancelled_and_died_apart(board: JobBoard) -> None:
    cleaned: list[object] = []

    def cleanup(entry: object, extra: object) -> None:
        cleaned.append(extra)

    board.put(f"{PAGE}:upload:1", {"state": "done"})
    assert settle(KIND, PAGE, 1, None, ("t",), cleanup, board) is None  # its own answer says it all
    board.put(f"{PAGE}:upload:2", {"state": "saving", "pid": 1})
    assert settle(KIND, PAGE, 2, 2, ("t",), cleanup, board) == "Cancelled: nothing was saved."
    assert board.get(f"{PAGE}:upload:2")["state"] == "cancelled"  # type: ignore[index]
    board.put(f"{PAGE}:upload:3", {"state": "running", "pid": 1})
    assert settle(KIND, PAGE, 3, 2, ("t",), cleanup, board) == "It stopped."  # Cancel named an earlier run
    assert settle(KIND, PAGE, 4, None, (), cleanup, board) == "It stopped."  # killed before it wrote a word
    assert cleaned == [("t",), ("t",), ()]
    # Settled once: asked again, the same words and no second clean-up.
    assert settle(KIND, PAGE, 2, 2, ("t",), cleanup, board) == "Cancelled: nothing was saved."
    assert len(cleaned) == 3
    assert settle(KIND, "not a page", 1, None, (), cleanup, board) is None


def test_a_save_killed_after_it_committed_is_undone(app: dash.Dash, settings: Settings, tmp_path: Path) -> None:
    files = handbuilt.write_files(tmp_path)
    token = uploads.new_token()
    contents = {role: data_url(path) for role, path in files.items()}
    names = {role: Path(path).name for role, path in files.items()}
    first, _, _ = upload.save_files(contents, names, "Mine", token)  # an earlier save, kept
    page = secrets.token_hex(16)
    key = f"{page}:upload:2"
    jobs.board().put(key, {"state": "running", "tag": jobs.scratch_tag(key)})  # type: ignore[union-attr]
    upload.save_files(contents, names, "Mine", token, job=jobs.Job("Saving your data", key=key, board=jobs.board()))
    entry = jobs.board().get(key)  # type: ignore[union-attr]
    assert entry is not None and entry["before"] == 1 and entry["version"] == 2
    # The job was killed before it could say it was done: the browser settles the run.
    workspace = open_workspace(settings.workspace)
    scratch = settings.data_dir / f"incoming-{jobs.scratch_tag(key)}-left"
    scratch.mkdir(parents=True)
    (scratch / "referrals.csv").write_text("left behind")
    assert [ref.version for ref in workspace.list(owner=token)] == [1, 2]
    assert settle(upload.UPLOAD_KIND, page, 2, 2, (token,), upload._undo_save) == "Cancelled: nothing was saved."
    assert [ref.version for ref in workspace.list(owner=token)] == [1] and first
    assert not scratch.exists()
    # Another session's token undoes nothing.
    assert upload.saved_by_job(workspace, {**entry, "before": 0}, uploads.new_token()) == 0
    assert [ref.version for ref in workspace.list(owner=token)] == [1]
    workspace.close()


def test_a_tab_gets_its_token_when_a_file_arrives() -> None:
    token = upload.ensure_token(*["data:,x"] + [None] * (len(uploads.ROLES) - 1), None)
    assert uploads.is_token(token)
    assert upload.ensure_token(*[None] * len(uploads.ROLES), token) is dash.no_update
