"""Write a table as CSV, GeoPackage, GeoJSON or (Geo)Parquet (:func:`write_any`).

Every CSV the tool writes goes through :func:`write_any`, which neutralises text cells a
spreadsheet would run as a formula (:func:`neutralise_formula`), byte for byte as pandas
would otherwise write them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute

from ..config import DISPLAY_CRS
from ..errors import CoverageMapError, CRSError

#: Output formats :func:`write_any` understands (``.json`` is GeoJSON, ``.geoparquet`` Parquet).
WRITABLE = (".csv", ".gpkg", ".geojson", ".json", ".parquet", ".geoparquet")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def write_any(frame: pd.DataFrame | gpd.GeoDataFrame, path: str | Path) -> None:
    """Write a table in the format its extension names.

    * ``.csv``: UTF-8, without any geometry column; text cells that a spreadsheet would
      run as a formula are neutralised (:func:`neutralise_formula`);
    * ``.gpkg``: a GeoPackage layer named after the file;
    * ``.geojson`` / ``.json``: GeoJSON, always reprojected to EPSG:4326;
    * ``.parquet`` / ``.geoparquet``: GeoParquet when the frame has geometry, else Parquet.

    Tuple or list cells (``categories``...) are written as ``;``-separated text. An
    existing file at ``path`` is replaced.

    Raises
    ------
    CoverageMapError
        The extension is not one of :data:`WRITABLE`, or a spatial format is asked of a
        frame without geometry.
    CRSError
        GeoJSON is asked of a frame without a CRS.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE:
        raise CoverageMapError(f"cannot write '{path.name}': use one of {', '.join(WRITABLE)}")
    geometry_name = _geometry_name(frame)
    has_geometry = geometry_name is not None
    if suffix in (".gpkg", ".geojson", ".json") and not has_geometry:
        raise CoverageMapError(f"cannot write '{path.name}': the table has no geometry; write it as .csv or .parquet")
    table = _flatten_sequences(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        if has_geometry:
            table = pd.DataFrame(table.drop(columns=geometry_name))
        _write_csv(table, path)
    elif suffix in (".parquet", ".geoparquet"):
        table.to_parquet(path, index=False)
    else:
        spatial = gpd.GeoDataFrame(table)
        if suffix != ".gpkg":
            if spatial.crs is None:
                raise CRSError(
                    f"cannot write '{path.name}': the table has no CRS, so it cannot be converted to "
                    f"{DISPLAY_CRS} for GeoJSON; call .set_crs(...) with the CRS it is in first"
                )
            spatial = spatial.to_crs(DISPLAY_CRS)
        path.unlink(missing_ok=True)
        driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
        spatial.to_file(path, driver=driver, engine="pyogrio", layer=path.stem if driver == "GPKG" else None)


def neutralise_formula(value: object) -> object:
    """Prefix a text cell with ``'`` when a spreadsheet would run it as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
    neutralised (CSV / formula injection). Anything that is not text, and text that is
    just a number such as ``"-1.5"``, is returned unchanged.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def _geometry_name(frame: pd.DataFrame) -> str | None:
    """The active geometry column, or None for a plain table (or one without geometry)."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    name = frame.active_geometry_name
    return name if name is not None and name in frame.columns else None


def _flatten_sequences(frame: pd.DataFrame) -> pd.DataFrame:
    table = frame.copy(deep=False)  # columns are replaced, never changed in place
    geometry_name = _geometry_name(frame)
    for position, column in enumerate(table.columns):
        values = table.iloc[:, position]
        if column == geometry_name or values.dtype != object:
            continue
        # All text (or all missing): no tuple or list to join, without a Python call per cell.
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            continue
        if values.map(lambda value: isinstance(value, (tuple, list))).any():
            table[column] = values.map(
                lambda value: ";".join(map(str, value)) if isinstance(value, (tuple, list)) else value
            )
    return table


#: CSV output: CRLF rows (RFC 4180) make the writer quote any cell holding a bare CR, which a
#: spreadsheet would otherwise read as a new row starting with the text after it.
_CSV_OPTIONS = {"index": False, "encoding": "utf-8", "lineterminator": "\r\n"}
#: Rows joined into text at a time by the fast CSV writer (bounds its memory).
_CSV_CHUNK_ROWS = 1 << 18


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """``table.to_csv`` with formulas neutralised, byte for byte, without Python work per cell.

    Each column is factorised and only its distinct values are formatted (as pandas
    formats them for CSV), neutralised and quoted (by the same :mod:`csv` writer settings
    pandas uses); the rows are then assembled by Arrow. A column of a type this does not
    cover (dates, categories, mixed objects...) sends the whole table through pandas.
    """
    columns = _csv_columns(table) if len(table) and table.shape[1] > 1 else None
    if columns is None:
        _neutralised(table).to_csv(path, **_CSV_OPTIONS)
        return
    table.iloc[:0].to_csv(path, **_CSV_OPTIONS)  # the header, exactly as pandas writes it
    text = pyarrow.large_string()
    comma, crlf, empty = (pyarrow.scalar(value, text) for value in (",", "\r\n", ""))
    with path.open("ab") as handle:
        for start in range(0, len(table), _CSV_CHUNK_ROWS):
            cells = [
                dictionary.take(pyarrow.array(codes[start : start + _CSV_CHUNK_ROWS])) for codes, dictionary in columns
            ]
            rows = pyarrow.compute.binary_join_element_wise(*cells, comma)
            lines = pyarrow.compute.binary_join_element_wise(rows, empty, crlf)
            _, offsets, data = lines.buffers()
            bounds = np.frombuffer(offsets, dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
            handle.write(memoryview(data)[bounds[0] : bounds[-1]])


def _csv_columns(table: pd.DataFrame) -> list[tuple[np.ndarray, pyarrow.Array]] | None:
    """Per column: an index into its dictionary of CSV fields for every row, or None to use pandas."""
    if isinstance(table.columns, pd.MultiIndex):
        return None
    buffer = io.StringIO()
    # The settings pandas' to_csv gives the csv module (quote only where needed, double quotes).
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=",", quotechar='"', doublequote=True)
    columns = []
    for position in range(table.shape[1]):
        distinct = _csv_distinct(table.iloc[:, position])
        if distinct is None:
            return None
        codes, texts = distinct
        column = table.iloc[:, position]
        if not (isinstance(column.dtype, pd.StringDtype) or pd.api.types.is_object_dtype(column.dtype)):
            # Numbers and booleans hold no comma, quote or line break: the writer would not quote them.
            columns.append(
                (np.where(codes < 0, len(texts), codes), pyarrow.array([*texts, ""], pyarrow.large_string()))
            )
            continue
        fields = []
        for value in texts:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow((value, ""))
            fields.append(buffer.getvalue()[:-3])  # without the empty second field's ",\r\n"
        try:
            dictionary = pyarrow.array([*fields, ""], type=pyarrow.large_string())  # last: missing values
        except (pyarrow.ArrowException, UnicodeError):
            return None  # text UTF-8 cannot hold (a lone surrogate): pandas raises as it always has
        columns.append((np.where(codes < 0, len(fields), codes), dictionary))
    return columns


def _csv_distinct(values: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Codes (-1 where pandas writes the empty missing value) and the text of each distinct value.

    The text is what pandas' ``to_csv`` hands the csv module for such a cell (after
    :func:`neutralise_formula` for text columns); None for a type not handled here.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) or (
        pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):
        codes, uniques = pd.factorize(
            values.array if not pd.api.types.is_object_dtype(dtype) else values.to_numpy(), use_na_sentinel=True
        )
        return codes, [str(neutralise_formula(value)) for value in uniques]
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=True)
        return codes, [str(value) for value in uniques.tolist()]
    if isinstance(values.array, (pd.arrays.IntegerArray, pd.arrays.BooleanArray)):
        codes, uniques = pd.factorize(values.array, use_na_sentinel=True)
        return codes, [str(value) for value in uniques.to_numpy(dtype=object)]
    plain_float = isinstance(dtype, np.dtype) and dtype == np.float64
    if plain_float or isinstance(dtype, pd.Float64Dtype):
        # Factorised on the bits, so that 0.0 and -0.0 stay apart; pandas formats a float64
        # column with numpy's astype(str) and a Float64 one with str() of each numpy float.
        missing = np.asarray(values.isna(), dtype=bool)
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        codes, bits = pd.factorize(numbers.view(np.int64))
        uniques = np.asarray(bits, dtype=np.int64).view(np.float64)
        texts = uniques.astype(str).tolist() if plain_float else [str(value) for value in uniques]
        return np.where(missing, -1, codes), texts
    return None


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            out[column] = out[column].map(neutralise_formula, na_action="ignore")
    return out
