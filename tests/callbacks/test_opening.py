"""Opening a saved dataset: each stage reported on the shared load board, and the page's bar drawn from it.

The registry and callbacks are called as plain functions on a real workspace (a GeoPackage in
a temporary folder); the board is the real one (in-process, or a diskcache shared with a
forked process).
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import handbuilt
import pytest
from dash import DiskcacheManager

from callbacks import ids, jobs, uploads
from callbacks.load_board import LoadBoard
from callbacks.opening import IDLE_TICKS, opening_outputs
from callbacks.registry import ANALYSING, Registry, opening_text
from callbacks.settings import Settings
from coverage_map.dataset import Dataset
from coverage_map.joins import JOIN_STEPS
from coverage_map.store import open_workspace

TOKEN_FIRED = {ids.DATA_TOKEN}
TICK = {ids.OPENING_POLL}


class Heard(LoadBoard):
    """The in-process board, also keeping every report in order."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[tuple[str, int, int, str]] = []

    def report(self, key: str, done: int, total: int, what: str) -> None:
        self.reports.append((key, done, total, what))
        super().report(key, done, total, what)


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    (tmp_path / "files").mkdir()
    files = handbuilt.write_files(tmp_path / "files")
    settings = Settings(data_dir=tmp_path / "data", workspace=str(tmp_path / "workspace.gpkg"))
    workspace = open_workspace(str(settings.workspace))
    workspace.add("hand", files, publish=True)
    workspace.add("secret", files, owner="o" * 32)  # private to another tab
    default = Dataset.from_inputs(handbuilt.inputs(with_referrals=False), label="Default")
    return Registry(default, settings, workspace=workspace, loads=Heard())


def text_of(component: object) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c))


def test_opening_a_dataset_reports_every_stage_in_order(registry: Registry) -> None:
    choice = uploads.Choice("hand", 1, None)
    registry.get(choice.as_data())
    board = registry.loads
    assert isinstance(board, Heard)
    expected = [opening_text(role) for role in ("areas", "lookup", "assets", "population", "referrals")]
    expected += [*JOIN_STEPS, ANALYSING]
    assert [what for _, _, _, what in board.reports] == [step[:1].upper() + step[1:] for step in expected]
    assert [done for _, done, _, _ in board.reports] == list(range(len(expected)))
    assert {total for _, _, total, _ in board.reports} == {len(expected)}
    assert {key for key, _, _, _ in board.reports} == {choice.key}
    state = board.state(choice.key)
    assert state.running is None and state.finished_at is not None
    assert registry.loaded(choice.key)
    # A second request uses the loaded dataset: nothing is reported again.
    registry.get(choice.as_data())
    assert len(board.reports) == len(expected)


def test_the_bar_shows_the_stage_while_a_worker_opens_the_dataset(registry: Registry) -> None:
    choice = uploads.Choice("hand", 1, None)
    view, stop, armed = opening_outputs(registry, TOKEN_FIRED, choice.as_data(), None, now=100.0)
    assert view == "" and stop is False and armed == {"key": choice.key, "at": 100.0, "ticks": 0}
    registry.loads.report(choice.key, 4, 10, "Reading the referrals")  # as a worker would
    view, stop, armed = opening_outputs(registry, TICK, choice.as_data(), armed, now=100.5)
    assert stop is False and armed["ticks"] == 1
    shown = text_of(view)
    assert "Opening hand v1: Reading the referrals (40%)" in shown
    assert '"value": 4' in shown and '"max": 10' in shown and '"aria-label": "Opening hand v1"' in shown
    registry.loads.finish(choice.key)
    view, stop, armed = opening_outputs(registry, TICK, choice.as_data(), armed)
    assert (view, stop, armed) == ("", True, None)


def test_the_poll_stops_when_the_dataset_was_already_open(registry: Registry) -> None:
    choice = uploads.Choice("hand", 1, None)
    registry.get(choice.as_data())  # opened (and finished) before the poll is armed
    view, stop, armed = opening_outputs(registry, TOKEN_FIRED, choice.as_data(), None, now=10**12)
    assert stop is False
    view, stop, armed = opening_outputs(registry, TICK, choice.as_data(), armed, now=10**12)
    assert (view, stop) == ("", True)


def test_the_poll_gives_up_when_nothing_starts(registry: Registry) -> None:
    choice = uploads.Choice("hand", 1, None)
    _, stop, armed = opening_outputs(registry, TOKEN_FIRED, choice.as_data(), None)
    ticks = 0
    while not stop:
        _, stop, armed = opening_outputs(registry, TICK, choice.as_data(), armed)
        ticks += 1
        assert ticks <= IDLE_TICKS
    assert ticks == IDLE_TICKS


def test_nothing_is_shown_for_the_default_data_or_a_dataset_the_visitor_may_not_see(registry: Registry) -> None:
    assert opening_outputs(registry, TOKEN_FIRED, None, None) == ("", True, None)
    theirs = uploads.Choice("secret", 1, "o" * 32, private=True)
    registry.loads.report(theirs.key, 1, 10, "Reading the areas")
    stranger = uploads.Choice("secret", 1, "x" * 32, private=True)
    assert opening_outputs(registry, TOKEN_FIRED, stranger.as_data(), None) == ("", True, None)
    assert opening_outputs(registry, TICK, stranger.as_data(), {"key": stranger.key, "at": 0, "ticks": 1}) == (
        "",
        True,
        None,
    )


def _report_from_another_process(folder: str, key: str) -> None:
    board = LoadBoard(jobs.JobBoard(DiskcacheManager(__import__("diskcache").Cache(folder))))
    board.report(key, 2, 8, "Reading the assets")


def test_workers_share_the_board_and_the_least_advanced_is_shown(tmp_path: Path) -> None:
    import diskcache

    here = LoadBoard(jobs.JobBoard(DiskcacheManager(diskcache.Cache(str(tmp_path)))))
    here.report("k", 6, 8, "Placing referrals in areas")
    worker = multiprocessing.get_context("fork").Process(target=_report_from_another_process,
                                                         args=(str(tmp_path), "k"))  # fmt: skip
    worker.start()
    worker.join(timeout=60)
    assert worker.exitcode == 0
    assert here.state("k").running == (2, 8, "Reading the assets")  # the other worker is behind
    here.finish("k")  # this worker is done; the other still loads
    assert here.state("k").running == (2, 8, "Reading the assets")
    assert here.state("k").finished_at is not None


def test_a_private_version_reports_its_own_files_not_the_published_one_of_the_same_number(
    registry: Registry, tmp_path: Path
) -> None:
    files = handbuilt.write_files(tmp_path / "files")
    owner = "p" * 32
    mine = {role: path for role, path in files.items() if role != "referrals"}
    registry.workspace.add("hand", mine, owner=owner)  # private v1 of "hand", beside the published v1
    choice = uploads.Choice("hand", 1, owner, private=True)
    registry.get(choice.as_data())
    board = registry.loads
    assert isinstance(board, Heard)
    mine_reported = [(done, total, what) for key, done, total, what in board.reports if key == choice.key]
    steps = [what for _, _, what in mine_reported]
    assert "Reading the referrals" not in steps and "Reading the population" in steps
    # The bar's length is this version's own stages (not those of the published version 1, which has referrals).
    assert {total for _, total, _ in mine_reported} == {len(steps)}
    assert registry.dataset(choice).prepared.referrals.empty
