"""Single asset cells read the same way by the assets loader and by whole-file values: reach and yes/no."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ..taxonomy import normalise_label

_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
#: What ``accepting_referrals`` may be, for the messages.
_ACCEPTING_MESSAGE = "accepting_referrals must be true or false (yes/no, y/n, 1/0) or blank"
_REACH_WORDS: Mapping[str, str] = {
    "local": "local",
    "borough": "borough",
    "borough_wide": "borough",
    "boroughwide": "borough",
    "citywide": "citywide",
    "city_wide": "citywide",
    "city": "citywide",
}
_REACH_KM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(?:km|kms|kilometres|kilometers)?", re.IGNORECASE)


def _reach_of(cell: str) -> tuple[str, float, str | None]:
    """A reach cell read as (reach, km, problem): a word, a distance in km, or a problem message."""
    word = _REACH_WORDS.get(normalise_label(cell))
    if word is not None:
        return word, np.nan, None
    match = _REACH_KM.fullmatch(cell)
    km = float(match.group(1)) if match else np.nan
    if match and km > 0:
        return "radius", km, None
    message = (
        "a reach in km must be more than 0"
        if match
        else "reach must be local, borough, citywide or a distance in km such as '3km'"
    )
    return "local", np.nan, message


def _accepting_of(cell: str) -> bool | None:
    """A yes/no cell read as True, False, or None (blank or not a yes/no)."""
    lower = cell.strip().lower()
    return True if lower in _TRUE else False if lower in _FALSE else None
