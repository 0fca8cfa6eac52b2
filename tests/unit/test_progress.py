"""Progress bars of long commands: drawn on a terminal's stderr, never into a pipe or a log."""

from __future__ import annotations

import io

from coverage_map.progress import each, stages


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stages_draw_on_a_terminal() -> None:
    out = Terminal()
    with stages("analyse", ["load", "analyse"], stream=out) as progress:
        progress.next("loading the inputs")
        progress.next("analysing")
    text = out.getvalue()
    assert "analyse: 0/2 stages" in text and "loading the inputs" in text and "analysing" in text
    assert "1/2" in text


def test_nothing_is_written_into_a_pipe() -> None:
    out = io.StringIO()  # not a terminal
    with stages("analyse", ["load"], stream=out) as progress:
        progress.next("loading")
    assert out.getvalue() == ""
    assert list(each([1, 2, 3], "maps", stream=out)) == [1, 2, 3] and out.getvalue() == ""


def test_each_counts_on_a_terminal() -> None:
    out = Terminal()
    assert list(each(["a", "b"], "drawing maps", stream=out)) == ["a", "b"]
    assert "drawing maps" in out.getvalue() and "/2" in out.getvalue()  # tqdm redraws at most every 0.1 s
