"""Progress of long commands on the command line: a tqdm bar on stderr, only when stderr is a terminal.

A command names its stages up front and moves through them; the bar shows how many are done,
which one is running and the time taken. When stderr is not a terminal (a pipe, a log file, a
test), nothing is written, so scripted output stays as it was::

    with stages("analyse", ["load", "analyse", "write"]) as progress:
        progress.next("loading the inputs")
        ...
        progress.next("analysing")

A ``listener`` hears every stage too (how many are done, how many there are, what runs now):
the dashboard draws its own progress bar from it, so the core never knows who is listening.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
#: Hears each stage as it starts: ``(stages done, stages in all, what runs now)``.
Listener = Callable[[int, int, str], None]


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


class Stages:
    """A command's named stages as a progress bar (see :func:`stages`)."""

    def __init__(self, description: str, steps: Sequence[str], *, stream: IO[str] | None = None,
                 enabled: bool | None = None, listener: Listener | None = None) -> None:  # fmt: skip
        out = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(out) if enabled is None else enabled
        self._started = False
        self._done = 0
        self._total = len(steps)
        self._listener = listener
        self._bar = tqdm(
            total=len(steps), desc=description, file=out, disable=not self.enabled, leave=False, unit="stage",
            bar_format="{desc}: {n_fmt}/{total_fmt} stages |{bar:20}| {postfix} [{elapsed}]",
        )  # fmt: skip

    def next(self, what: str) -> None:
        """The previous stage is done (if any); ``what`` is running now."""
        if self._started:
            self._bar.update(1)
            self._done += 1
        self._started = True
        self._bar.set_postfix_str(what, refresh=True)
        if self._listener is not None:
            self._listener(min(self._done, self._total), self._total, what)

    def __enter__(self) -> Stages:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None and self._started:
            self._bar.update(1)
        self._bar.close()


def stages(description: str, steps: Sequence[str], *, stream: IO[str] | None = None,
           enabled: bool | None = None, listener: Listener | None = None) -> Stages:  # fmt: skip
    """A progress bar over a command's ``steps`` on ``stream`` (stderr), drawn only when it is a terminal.

    Parameters
    ----------
    description
        The command, shown before the bar ("analyse").
    steps
        The stages, in order (their number is the bar's length).
    stream
        Where to draw (default: stderr).
    enabled
        Force the bar on or off (default: on when ``stream`` is a terminal).
    listener
        Called as each stage starts with ``(stages done, stages in all, what runs now)``, whether
        or not the bar is drawn (the dashboard's progress bars).
    """
    return Stages(description, steps, stream=stream, enabled=enabled, listener=listener)


def each(items: Iterable[T], description: str, *, total: int | None = None, stream: IO[str] | None = None,
         enabled: bool | None = None) -> Iterator[T]:  # fmt: skip
    """``items`` one by one, with a bar counting them on ``stream`` (stderr) when it is a terminal."""
    out = sys.stderr if stream is None else stream
    show = _is_terminal(out) if enabled is None else enabled
    yield from tqdm(items, desc=description, total=total, file=out, disable=not show, leave=False)
