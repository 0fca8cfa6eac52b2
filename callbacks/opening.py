"""A determinate progress bar while a saved dataset opens (an England-scale one takes tens of seconds).

When the data token names a workspace dataset (the picker, a reload, a shared session), the
page polls the load board (:mod:`callbacks.load_board`) every half second: while any worker of
the host is opening that dataset, the bar above the map shows the least advanced one's stage
("Opening england v1: reading the referrals (44%)"). The poll stops once nothing is loading
and either a load finished after the poll began or, after :data:`IDLE_TICKS` polls, nothing
started (the dataset was already open).

The poll answers in milliseconds while the views wait for the load, because gunicorn runs
several threads per worker (``--threads`` in the ``Procfile``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from dash import Input, Output, State, callback, dcc, html

from . import ids, uploads
from .context import services, triggered_ids
from .job_view import progress_view

if TYPE_CHECKING:
    from .registry import Registry

#: ``aria-live`` is a wildcard property Dash's typed keyword arguments do not list.
_LIVE_REGION: dict[str, Any] = {"aria-live": "polite"}
_HIDDEN: dict[str, Any] = {"aria-hidden": "true"}
#: Polls with nothing loading anywhere after which the dataset is taken as already open.
IDLE_TICKS = 4
#: How often the page polls while a dataset opens (milliseconds).
POLL_MS = 500


def opening_parts() -> list[Any]:
    """The bar's place (a polite live region) and its poll, for the map card."""
    return [
        html.Div(id=ids.OPENING_VIEW, className="opening-view", role="status", **_LIVE_REGION),
        dcc.Interval(id=ids.OPENING_POLL, interval=POLL_MS, disabled=True),
        dcc.Store(id=ids.OPENING_ARMED, data=None),
    ]


def opening_echo() -> html.Div:
    """The bar's copy beside the dataset picker, hidden from assistive technology (the live region above
    the map already reads each stage out once)."""
    return html.Div(id=ids.OPENING_ECHO, className="opening-view mt-1", **_HIDDEN)


@callback(
    Output(ids.OPENING_VIEW, "children"),
    Output(ids.OPENING_ECHO, "children"),
    Output(ids.OPENING_POLL, "disabled"),
    Output(ids.OPENING_ARMED, "data"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.OPENING_POLL, "n_intervals"),
    State(ids.OPENING_ARMED, "data"),
)
def show_opening(token: object, ticks: object, armed: object) -> tuple[object, object, bool, object]:
    """The opening bar, above the map and beside the picker, for the dataset the token names (see
    :func:`opening_outputs`)."""
    view, stop, waiting = opening_outputs(services().registry, triggered_ids(), token, armed)
    return view, copy.deepcopy(view), stop, waiting


def opening_outputs(
    registry: Registry, fired: Collection[str], token: object, armed: object, *, now: float | None = None
) -> tuple[object, bool, object]:
    """The bar, whether the poll stops, and what it waits for, after ``fired`` changed.

    A new token (or none fired: the page's first call) arms the poll for its dataset; each poll
    then reads the board. Nothing is shown for the default data set, or for a version the
    visitor may not see.
    """
    choice = uploads.Choice.parse(token)
    if choice is None or not registry.may_see(choice):
        return "", True, None
    clock = time.time() if now is None else now
    waiting = armed if isinstance(armed, dict) and armed.get("key") == choice.key else None
    if waiting is None or not fired or ids.DATA_TOKEN in fired:
        waiting = {"key": choice.key, "at": clock, "ticks": 0}
    else:
        waiting = {**waiting, "ticks": int(waiting.get("ticks") or 0) + 1}
    state = registry.loads.state(choice.key)
    if state.running is not None:
        done, total, what = state.running
        title = f"Opening {choice.name} v{choice.version}"
        return progress_view(done, total, f"{title}: {what}", title=title), False, waiting
    finished = state.finished_at is not None and state.finished_at >= float(waiting.get("at") or 0)
    if finished or (waiting["ticks"] > 0 and registry.loaded(choice.key)) or waiting["ticks"] >= IDLE_TICKS:
        return "", True, None
    return "", False, waiting


__all__ = ["IDLE_TICKS", "POLL_MS", "opening_echo", "opening_outputs", "opening_parts", "show_opening"]
