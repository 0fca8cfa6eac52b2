"""Severity tiers of a gap, from the access ratio, cold-spot clusters and other signals.

In order of precedence, for one unit x category x community:

``no_data``
    no eligible asset of the category exists anywhere in the inputs (for a community:
    no asset specific to it and none open to all), so under-provision cannot be told
    from a directory that lacks the category;
``severe``
    ``access_ratio < severe_below`` (0.5) inside a significant cold spot;
``moderate``
    ``access_ratio < severe_below`` outside a significant cluster, or
    ``severe_below <= access_ratio < moderate_below`` (0.8) inside one;
``watch``
    ``severe_below <= access_ratio < moderate_below`` outside a cluster, or any other
    signal (over capacity, unmet demand, stale directory entries) on a unit not already
    severe or moderate;
``none``
    everything else.

A unit where nobody in the group lives (``need == 0``) cannot be under-served: it is
``none``, or ``watch`` when referrals come from it that nothing reaches (unmet demand).
A unit whose ratio is unknown (NaN: nobody in the group region-wide, or no accepting
provision anywhere) is tiered on its other signals only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

TIERS = ("severe", "moderate", "watch", "none", "no_data")


@dataclass(frozen=True)
class TierThresholds:
    """Cut-offs of :func:`tiers` (defaults: 0.5, 0.8 and a false-discovery rate of 0.05)."""

    severe_below: float = 0.5
    moderate_below: float = 0.8
    q: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.severe_below <= self.moderate_below:
            raise ValueError(
                f"thresholds need 0 < severe_below <= moderate_below, not {self.severe_below}, {self.moderate_below}"
            )
        if not 0 < self.q < 1:
            raise ValueError(f"q must be between 0 and 1, not {self.q}")


DEFAULT_THRESHOLDS = TierThresholds()


def _share(value: float) -> str:
    """0.5 -> "half", 0.4 -> "40% of" (as "under half the average" and "under 40% of the average" read)."""
    return "half" if value == 0.5 else f"{value:.0%} of"


def tier_text(thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> dict[str, str]:
    """One sentence per tier saying what it means, with the thresholds in use."""
    severe, moderate = _share(thresholds.severe_below), f"{thresholds.moderate_below:.0%}"
    low, high = f"{thresholds.severe_below:.0%}", f"{thresholds.moderate_below:.0%}"
    return {
        "severe": f"Access is under {severe} the regional average and the area sits in a significant cluster of "
        "low access.",
        "moderate": f"Access is under {severe} the regional average, or under {moderate} of it inside a "
        "significant cluster of low access.",
        "watch": f"Access is {low}-{high} of the regional average, or there is another warning sign (over "
        "capacity, unmet demand or out-of-date listings).",
        "none": "No sign of a gap.",
        "no_data": "No service for this need is listed anywhere in the data, so gaps cannot be judged.",
    }


#: :func:`tier_text` with the default thresholds.
TIER_TEXT = tier_text()


def cold_spot_flags(gi_z: ArrayLike, q_value: ArrayLike, thresholds: TierThresholds = DEFAULT_THRESHOLDS) -> np.ndarray:
    """A significant LOW cluster: ``q_value < thresholds.q`` and Gi* z below 0 (NaN is never one)."""
    z = np.asarray(gi_z, dtype=float)
    q = np.asarray(q_value, dtype=float)
    with np.errstate(invalid="ignore"):
        return (q < thresholds.q) & (z < 0)


def _flags(values: ArrayLike | None, size: int) -> np.ndarray:
    if values is None:
        return np.zeros(size, dtype=bool)
    array = np.asarray(values)
    if array.dtype == bool:
        flags = array.ravel()
    else:  # NaN, None and pandas NA are "no"
        flags = pd.Series(array.ravel()).astype("boolean").fillna(False).to_numpy(dtype=bool)
    if len(flags) != size:
        raise ValueError(f"every input needs one value per unit ({size}), not {len(flags)}")
    return flags


def tiers(
    access_ratio: ArrayLike,
    cold_spot: ArrayLike,
    provision_exists: ArrayLike,
    other_signals: ArrayLike | None = None,
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    *,
    need: ArrayLike | None = None,
    unmet_demand: ArrayLike | None = None,
) -> np.ndarray:
    """The tier of each unit (see the module docstring), as an array of :data:`TIERS` labels.

    Parameters
    ----------
    access_ratio
        Access over the regional average (NaN when unknown).
    cold_spot
        Whether the unit is in a significant low cluster (:func:`cold_spot_flags`); NA is no.
    provision_exists
        Whether any eligible asset of the category exists anywhere (else ``no_data``).
    other_signals
        Over capacity, unmet demand, stale directory entries...: any true gives ``watch``.
    thresholds
        The cut-offs.
    need
        The group's need per unit; 0 means nobody to under-serve. Omitted: everyone counts.
    unmet_demand
        Referrals that nothing reaches: the one signal that still counts where need is 0.
    """
    ratio = np.asarray(access_ratio, dtype=float).ravel()
    size = len(ratio)
    cold = _flags(cold_spot, size)
    exists = _flags(provision_exists, size)
    other = _flags(other_signals, size)
    unmet = _flags(unmet_demand, size)
    nobody = np.zeros(size, dtype=bool) if need is None else np.asarray(need, dtype=float).ravel() == 0
    with np.errstate(invalid="ignore"):
        low = ratio < thresholds.severe_below
        middle = (ratio >= thresholds.severe_below) & (ratio < thresholds.moderate_below)
    return np.select(
        [
            ~exists,
            nobody & unmet,
            nobody,
            low & cold,
            (low & ~cold) | (middle & cold),
            middle | other,
        ],
        ["no_data", "watch", "none", "severe", "moderate", "watch"],
        default="none",
    ).astype(object)


def unmet_need(need: ArrayLike, access_ratio: ArrayLike) -> np.ndarray:
    """Need left unmet, for ranking: ``need x (1 - min(access_ratio, 1))`` (NaN when either is unknown)."""
    n = np.asarray(need, dtype=float)
    ratio = np.asarray(access_ratio, dtype=float)
    return n * (1.0 - np.minimum(ratio, 1.0))
