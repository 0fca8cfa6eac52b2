"""Directory freshness: how long ago each service's record was last verified.

A service directory ages: organisations close, move or stop taking referrals, and nobody
updates the record. When many of the services reaching an area were last verified long
ago, a "covered" area may in fact be a gap, and a gap may be a data gap (a service
missing from the directory) rather than a real one. These helpers say which records are
old so the dashboard and the report can show it next to the figures.

Assets carry an optional ``last_checked`` column (ISO dates; ORUK imports set it, see
:mod:`coverage_map.ingest.oruk`). :func:`stale_assets` (importable from
:mod:`coverage_map.ingest.oruk` too) flags records older than ``months`` calendar months.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .errors import CoverageMapError

#: Records last verified more than this many months ago are flagged.
STALE_MONTHS = 12
#: A ``last_checked`` text starting with an ISO date (``2024-05-31``, ``2024-05-31T09:00``...).
_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Freshness:
    """How many of ``total`` services were last verified over ``months`` months ago.

    ``stale`` counts records with a date older than that; ``unknown`` those with no
    (readable) date. Both are "not verified recently".
    """

    total: int
    stale: int
    unknown: int
    months: int = STALE_MONTHS

    @property
    def not_recent(self) -> int:
        return self.stale + self.unknown

    def sentence(self, noun: str = "services") -> str:
        """``3 of 7 services were last verified over 12 months ago (and 1 has no date).``"""
        text = f"{self.stale:,} of {self.total:,} {noun} were last verified over {self.months} months ago"
        if self.unknown:
            verb = "has" if self.unknown == 1 else "have"
            text += f" ({self.unknown:,} more {verb} no verification date)"
        return text + "."


def asset_freshness(
    assets: pd.DataFrame, *, today: date | str | pd.Timestamp, months: int = STALE_MONTHS
) -> pd.DataFrame | None:
    """Per asset: ``asset_id``, ``last_checked`` (ISO text, "" when unknown), ``stale``, ``unknown``.

    None when the assets have no ``last_checked`` column at all (freshness not recorded).
    """
    if "last_checked" not in assets.columns:
        return None
    old = stale_assets(assets, today=today, months=months, unknown_is_stale=False)
    unverified = stale_assets(assets, today=today, months=months) & ~old
    checked = assets["last_checked"].astype("object").map(_date_text)
    return pd.DataFrame(
        {
            "asset_id": assets["asset_id"].astype(str).to_numpy(),
            "last_checked": checked.where(~unverified, "").to_numpy(dtype=object),
            "stale": old.to_numpy(dtype=bool),
            "unknown": unverified.to_numpy(dtype=bool),
        }
    )


def summarise(
    flags: pd.DataFrame | None, ids: Iterable[str] | None = None, *, months: int = STALE_MONTHS
) -> Freshness | None:
    """Counts over the assets ``ids`` (all when None) of an :func:`asset_freshness` table."""
    if flags is None:
        return None
    chosen = flags if ids is None else flags[flags["asset_id"].isin([str(i) for i in ids])]
    return Freshness(total=len(chosen), stale=int(chosen["stale"].sum()), unknown=int(chosen["unknown"].sum()),
                     months=months)  # fmt: skip


def verified_text(last_checked: str, *, stale: bool, unknown: bool, months: int = STALE_MONTHS) -> str:
    """``2026-01-04``, ``2024-03-01 (over 12 months ago)`` or ``not recorded``."""
    if unknown:
        return "not recorded"
    return f"{last_checked} (over {months} months ago)" if stale else last_checked


def stale_assets(
    assets: pd.DataFrame, *, today: date | str | pd.Timestamp, months: int = 12, unknown_is_stale: bool = True
) -> pd.Series:
    """Which assets' provision was last verified more than ``months`` months before ``today``.

    Parameters
    ----------
    assets
        A table with a ``last_checked`` column (ISO date text or datetimes).
    today
        The reference date (pass it explicitly so results are reproducible).
    months
        The age, in calendar months, beyond which a record is stale.
    unknown_is_stale
        Whether an asset with no (or an unreadable) ``last_checked`` counts as stale:
        provision nobody has verified has, in effect, not been verified in ``months``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``assets``.
    """
    if "last_checked" not in assets.columns:
        raise CoverageMapError("stale_assets needs a 'last_checked' column (ISO dates, e.g. 2024-05-31)")
    checked = pd.to_datetime(assets["last_checked"].astype("object").map(_iso_date), errors="coerce", format="%Y-%m-%d")
    cutoff = pd.Timestamp(today).normalize() - pd.DateOffset(months=months)
    stale = (checked < cutoff).to_numpy(dtype=bool)
    if unknown_is_stale:
        stale = stale | checked.isna().to_numpy()
    return pd.Series(stale, index=assets.index, name="stale", dtype=bool)


def _iso_date(value: object) -> object:
    """A ``last_checked`` cell as ``YYYY-MM-DD`` text, or None when it holds no date."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str) and _DATE_START.match(value.strip()):
        return value.strip()[:10]
    return None


def _date_text(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (pd.Timestamp, date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()[:10]


__all__ = ["STALE_MONTHS", "Freshness", "asset_freshness", "stale_assets", "summarise", "verified_text"]
