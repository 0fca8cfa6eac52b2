"""NHS small-number suppression, applied at the edge when numbers leave the tool.

The rule (NHS Digital's disclosure control for published counts):

* 0 stays 0 — a true zero reveals nobody;
* 1 to 7 is suppressed (published as empty, with a ``<name>_suppressed`` flag);
* everything else is rounded to the nearest 5 (half up: 12 -> 10, 13 -> 15).

Rates derived from a count are recomputed from the *published* (rounded) count, and are
empty wherever the count is suppressed, so a rate can never be multiplied back into a
small true count. Analysis always runs on true counts; only outputs are suppressed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ROUND_TO, SUPPRESS_MAX


def published_counts(counts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Suppress and round a series of true counts.

    Parameters
    ----------
    counts
        Non-negative whole numbers; NA stays NA (unknown, not suppressed).

    Returns
    -------
    tuple
        ``(published, suppressed)``: published counts as nullable ``Int64`` (NA where
        suppressed) and a boolean flag that is true exactly where a 1..7 count was hidden.
    """
    values = pd.to_numeric(counts, errors="raise").astype("Float64")
    if (values < 0).any():
        raise ValueError("counts to suppress must be non-negative")
    suppressed = ((values >= 1) & (values <= SUPPRESS_MAX)).fillna(False).astype(bool)
    rounded = np.floor(values / ROUND_TO + 0.5) * ROUND_TO
    published = rounded.where(~suppressed & (values > 0), values.where(values == 0))
    published = published.mask(values.isna())
    return published.round().astype("Int64"), suppressed.rename(f"{counts.name}_suppressed")


def suppress_count(count: int) -> int | None:
    """One true count as published: 0 -> 0, 1..7 -> None, else the nearest multiple of 5."""
    if count < 0:
        raise ValueError("counts to suppress must be non-negative")
    if count == 0:
        return 0
    if count <= SUPPRESS_MAX:
        return None
    return int(np.floor(count / ROUND_TO + 0.5) * ROUND_TO)


def describe_count(count: int | None, *, suppressed: bool) -> str:
    """How a published count reads on screen: ``fewer than 8`` when suppressed."""
    if suppressed:
        return f"fewer than {SUPPRESS_MAX + 1}"
    if count is None or pd.isna(count):
        return "not available"
    return f"{int(count):,}"
