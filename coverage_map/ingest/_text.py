"""Cell text: a read table's cells as the stripped text the loaders check and report."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray


def _given(values: np.ndarray) -> np.ndarray:
    """Cells that are not None (an object array of text or None, so ``notna`` is ``is not None``)."""
    return ~pd.isna(values)


def _texts(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as stripped text (a new object array of str), ``""`` where missing."""
    return _series_texts(frame[column])


def _series_texts(series: pd.Series) -> np.ndarray:
    """Each cell as :func:`_cell_text` writes it, one whole column at a time.

    Typed columns (Parquet numbers, booleans, dates...) are converted without a Python
    call per cell; a column of mixed Python objects goes cell by cell.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return series.fillna("").str.strip().to_numpy(dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return np.where(series.to_numpy(dtype=bool), "true", "false").astype(object)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return np.array([str(value) for value in series.to_numpy().tolist()], dtype=object)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_texts(series.to_numpy(dtype="float64"))
    if pd.api.types.is_object_dtype(dtype):
        if pd.api.types.infer_dtype(series, skipna=False) == "string":
            return np.array([value.strip() for value in series.to_numpy()], dtype=object)
        return np.array([_cell_text(value) for value in series], dtype=object)
    # Dates, nullable numbers, categories...: each distinct value once (missing ones have code -1).
    codes, uniques = pd.factorize(series)
    distinct = np.array([*(_cell_text(value) for value in uniques), ""], dtype=object)
    return distinct[codes]


def _float_texts(values: np.ndarray) -> np.ndarray:
    """Float cells as :func:`_cell_text` writes them: whole numbers without ``.0``, NaN blank."""
    text = np.full(len(values), "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.trunc(values)) & (np.abs(values) < 1e15)
    text[whole] = np.array([str(value) for value in values[whole].astype("int64").tolist()], dtype=object)
    fraction = finite & ~whole
    text[fraction] = np.array([repr(value) for value in values[fraction].tolist()], dtype=object)
    infinite = np.isinf(values)
    text[infinite] = np.where(values[infinite] > 0, "inf", "-inf").astype(object)
    return text


def _cell_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "" if np.isnan(value) else str(value)
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _filled(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Cells that are not blank (``_texts(frame, column) != ""``), without making the text."""
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return ~np.isnan(series.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return np.ones(len(series), dtype=bool)
    if isinstance(dtype, pd.StringDtype):
        return (series.fillna("").str.strip() != "").to_numpy(dtype=bool)
    return _texts(frame, column) != ""


def _coded_texts(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A column's stripped text as ``(codes, distinct)``: ``distinct[codes]`` is :func:`_texts`.

    Codes number the distinct texts in order of first appearance, so a check that
    depends only on the text is made once per distinct value.
    """
    series = frame[column]
    if isinstance(series.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(series.fillna("").str.strip())
    else:
        codes, uniques = pd.factorize(_texts(frame, column))
    return np.asarray(codes, dtype="int64"), np.asarray(uniques, dtype=object)


@dataclasses.dataclass(frozen=True)
class _TextAt:
    """Text of some cells, made only for the positions asked for (``text[positions]``).

    Stands in for a whole column of text where only the rejected rows' values are
    ever read (a problem's ``value``), so millions of good cells are never converted.
    """

    make: Callable[[np.ndarray], np.ndarray]

    def __getitem__(self, positions: np.ndarray | Sequence[int]) -> np.ndarray:
        return self.make(np.asarray(positions, dtype="int64"))


def _optional_text(raw: pd.DataFrame, columns: Mapping[str, str], name: str) -> np.ndarray:
    if name not in columns:
        return np.full(len(raw), None, dtype=object)
    text = _texts(raw, columns[name])
    text[text == ""] = None
    return text


def _optional_strings(raw: pd.DataFrame, columns: Mapping[str, str], name: str) -> ExtensionArray:
    """:func:`_optional_text` as a pandas ``string`` array (``<NA>`` where blank).

    A text column is stripped as a whole, never one Python string per cell.
    """
    series = raw[columns[name]] if name in columns else None
    if series is not None and isinstance(series.dtype, pd.StringDtype):
        stripped = series.fillna("").str.strip()
        return stripped.where(stripped != "").astype("string").array
    return pd.array(_optional_text(raw, columns, name), dtype="string")


def _blank_to_missing(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):
        return series.where(series.str.strip() != "")
    return series


def _mask(n: int, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask
