"""How far each worker is in opening a saved dataset, shared by the host's workers.

A dataset chosen in the picker is loaded by whichever worker first needs it
(:meth:`callbacks.registry.Registry.dataset`); at England scale that takes tens of seconds
(reading each file, joining, the first analysis). Each worker reports its stages here, under
the dataset's key, and the page's poll (:mod:`callbacks.opening`) draws the least advanced
worker's stage as a determinate progress bar, whichever worker answers the poll.

The entries live in the background jobs' store (:func:`callbacks.jobs.board`: the diskcache
every worker of the host shares, or Celery's backend), or in this process alone when there is
none (tests calling callbacks as plain functions). An entry holds only the dataset's key, stage
numbers and stage names, never anything about a visitor.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import diskcache

from . import jobs

#: A worker silent for this long is taken as gone (killed mid-load): its stage is no longer shown.
STALE_SECONDS = 180.0
_PREFIX = "load:"


@dataclass(frozen=True)
class LoadState:
    """Where the opening of one dataset is, over every worker.

    ``running`` is the least advanced worker's ``(done, total, what)`` (None when none is loading);
    ``finished_at`` the time (``time.time()``) a worker last finished loading it (None: never).
    """

    running: tuple[int, int, str] | None
    finished_at: float | None


class LoadBoard:
    """Loading stages by dataset key and process (see the module's docstring)."""

    def __init__(self, board: jobs.JobBoard | None = None) -> None:
        self._board = board
        self._local: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> LoadBoard:
        """The board of the process's jobs store (this process alone before :func:`callbacks.jobs.install`)."""
        return cls(jobs.board())

    def report(self, key: str, done: int, total: int, what: str) -> None:
        """This process has done ``done`` of ``total`` stages of opening ``key``; ``what`` runs now."""
        with self._entry(key) as entry:
            entry.setdefault("running", {})[str(os.getpid())] = [done, total, what, time.time()]

    def finish(self, key: str) -> None:
        """This process has finished opening ``key`` (loaded, or given up with an error)."""
        with self._entry(key) as entry:
            entry.setdefault("running", {}).pop(str(os.getpid()), None)
            entry["finished_at"] = time.time()

    def state(self, key: str) -> LoadState:
        """Where the opening of ``key`` is (workers silent for :data:`STALE_SECONDS` are left out)."""
        entry = self._read(key)
        now = time.time()
        running = [
            (int(done), int(total), str(what))
            for done, total, what, heard in (entry.get("running") or {}).values()
            if now - float(heard) < STALE_SECONDS
        ]
        least = min(running, key=lambda stage: stage[0] / max(stage[1], 1)) if running else None
        finished = entry.get("finished_at")
        return LoadState(least, float(finished) if isinstance(finished, int | float) else None)

    # ------------------------------------------------------------------ storage

    def _read(self, key: str) -> dict[str, Any]:
        if self._board is None:
            with self._lock:
                return dict(self._local.get(key) or {})
        return self._board.get(_PREFIX + key) or {}

    @contextlib.contextmanager
    def _entry(self, key: str) -> Iterator[dict[str, Any]]:
        """``key``'s entry to change in place, written back atomically where the store allows."""
        if self._board is None:
            with self._lock:
                entry = self._local.setdefault(key, {})
                yield entry
            return
        handle = getattr(self._board, "handle", None)
        transaction = handle.transact() if isinstance(handle, diskcache.Cache) else contextlib.nullcontext()
        with self._lock, transaction:
            entry = self._board.get(_PREFIX + key) or {}
            yield entry
            self._board.put(_PREFIX + key, entry)


__all__ = ["STALE_SECONDS", "LoadBoard", "LoadState"]
