"""Numbers in cells: text such as ``1,234`` or ``2.5`` parsed to floats, and floats shown back in problems."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from ._text import _series_texts, _TextAt, _texts

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


@dataclasses.dataclass(frozen=True)
class _Numbers:
    """A column read as numbers: values (NaN where blank or bad), blank cells, unparseable cells, and text."""

    values: np.ndarray
    blank: np.ndarray
    bad: np.ndarray
    text: np.ndarray | _TextAt


def _number_column(frame: pd.DataFrame, column: str) -> _Numbers:
    """Parse a column as :func:`_numbers` parses its text; numeric columns are never turned into text."""
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
        # The text of a number parses back to the same number, so it is only made for messages
        # (-0.0 is written "0", which parses as 0.0: adding 0.0 does the same).
        values = series.to_numpy(dtype="float64") + 0.0
        return _Numbers(
            values=values,
            blank=np.isnan(values),
            bad=np.isinf(values),
            text=_TextAt(lambda positions: _series_texts(series.iloc[positions])),
        )
    text = _texts(frame, column)
    values, bad = _numbers(text)
    return _Numbers(values=values, blank=text == "", bad=bad, text=text)


def _numbers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers (``1,296`` accepted); returns values and a mask of unparseable cells."""
    text = np.asarray(text, dtype=object)
    values = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(dtype="float64", copy=True)
    # A cell with a thousands separator never parses as it is: only those are cleaned and parsed again.
    unparsed = np.flatnonzero(np.isnan(values))
    commas = [int(i) for i in unparsed if "," in text[i] and _THOUSANDS.fullmatch(text[i])]
    if commas:
        cleaned = pd.Series([text[i].replace(",", "") for i in commas], dtype=object)
        values[commas] = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype="float64")
    bad = (text != "") & ~np.isfinite(values)
    return values, bad


def _number_text(value: float) -> str:
    return f"{value:g}"
