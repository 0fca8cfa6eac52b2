"""What the page shows of a background job: its determinate progress bar, its Cancel button, its fate.

Layout pieces only (the callbacks are in :mod:`callbacks.jobs`). The bar is a native
``<progress>`` (role ``progressbar`` to assistive technology, with ``value`` and ``max``) named by
``aria-label`` and read out by ``aria-valuetext`` ("Checking referrals: 3 of 5 files (40%)"); the
same words are written under it, in a polite live region, so a screen reader hears each stage.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids

#: ``aria-live`` is a wildcard property Dash's typed keyword arguments do not list.
_LIVE_REGION: dict[str, Any] = {"aria-live": "polite"}


def percent(done: int, total: int) -> int:
    """Whole per cent of ``done`` out of ``total`` (0 when there is nothing to do)."""
    return 0 if total <= 0 else max(0, min(100, round(100 * done / total)))


def progress_text(done: int, total: int, what: str) -> str:
    """The words of a bar: what runs now and how far the job is ("Drawing the map (33%)")."""
    return f"{what} ({percent(done, total)}%)"


def progress_view(done: int, total: int, what: str, *, title: str = "Progress") -> html.Div:
    """A determinate progress bar at ``done`` of ``total`` stages, with ``what`` runs now in words."""
    text = progress_text(done, total, what)
    # Numbers, as the browser reads them (Dash's typed keywords say strings), and wildcard aria-* names.
    bar: dict[str, Any] = {"value": max(0, min(done, total)), "max": max(total, 1), "aria-label": title,
                           "aria-valuetext": text}  # fmt: skip
    return html.Div(
        [
            html.Progress(className="job-progress-bar", **bar),
            html.Div(text, className="small job-progress-text"),
        ],
        className="job-progress",
    )


def job_panel(job: str, *, cancel_label: str = "Cancel") -> html.Div:
    """The running store, the bar (empty until the job runs), Cancel (hidden until then) and the status line."""
    return html.Div(
        [
            dcc.Store(id=ids.job_running(job), data=False),
            dcc.Store(id=ids.job_cancelled(job), data=None),
            html.Div(
                [
                    html.Div(id=ids.job_progress(job), className="flex-grow-1", **_LIVE_REGION),
                    dbc.Button(
                        cancel_label,
                        id=ids.job_cancel(job),
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="job-cancel ms-2 d-none",
                    ),
                ],
                className="d-flex align-items-center",
            ),
            html.Div(id=ids.job_status(job), role="status"),
        ],
        className="job-panel",
    )


def page_stores() -> list[dcc.Store]:
    """The stores every page has for its jobs (its page id, made in the browser)."""
    return [dcc.Store(id=ids.JOB_PAGE, data=None)]


__all__ = ["job_panel", "page_stores", "percent", "progress_text", "progress_view"]
