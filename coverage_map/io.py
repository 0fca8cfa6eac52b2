"""Read any supported file into a (Geo)DataFrame, and write results back out.

Reading never lets a library traceback escape for bad user input: every failure becomes
a :class:`~coverage_map.errors.Problem`. CSV files are read as text, so codes such as
``E01000001`` and leading zeros survive, and blank cells stay as ``""`` for the loaders
to treat as missing. Every frame :func:`read_any` returns carries ``_source_row``: the
spreadsheet row for CSV (header = row 1, first record = row 2) and the 1-based feature
number for spatial formats.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute
import pyarrow.parquet
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
import shapely.errors
from pyproj.exceptions import CRSError as PyprojCRSError

from .config import DISPLAY_CRS
from .errors import CoverageMapError, CRSError, Problem
from .upload_safety import UnsafeUploadError, UploadLimits, check_zip

SUPPORTED = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet", ".geoparquet", ".csv")
#: Output formats :func:`write_any` understands (``.json`` is GeoJSON, ``.geoparquet`` Parquet).
WRITABLE = (".csv", ".gpkg", ".geojson", ".json", ".parquet", ".geoparquet")

#: Column names (case-insensitive) that hold WKT geometry in a CSV file.
_WKT_COLUMNS = ("geometry", "wkt")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_LINE_NUMBER = re.compile(r"line (\d+)")
_HTML_MESSAGE = (
    "the file is a web page (HTML), not {kind}: it was probably saved from an error, sign-in or download page "
    "instead of the data; download the data again and check that it opens"
)
_HTML_START = re.compile(r"\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
#: Bytes inspected to tell a binary file from a text one.
_SNIFF_BYTES = 8192


def read_any(path: str | Path, *, crs: str | None = None) -> tuple[pd.DataFrame | gpd.GeoDataFrame, list[Problem]]:
    """Read a GeoJSON, GeoPackage, Shapefile (or zipped one), FlatGeobuf, (Geo)Parquet or CSV file.

    Parameters
    ----------
    path
        The file to read; its extension (one of :data:`SUPPORTED`) picks the reader.
    crs
        CRS to assume when the file has geometry but does not say its CRS (a shapefile
        without ``.prj``, a CSV with a WKT ``geometry`` column). A CRS stored in the file
        always wins, so one ``crs`` can be passed for several files.

    Returns
    -------
    frame, problems
        The rows read, with ``_source_row`` added (a GeoDataFrame when the file has
        geometry, in the file's own CRS), and every problem found. When any problem is
        fatal the frame is empty. CSV cells are text (``""`` when blank). Rows whose
        WKT cannot be parsed are removed and each reported (``fatal=False``, no value,
        so nothing private is echoed).
    """
    path = Path(path)
    file = str(path)
    problem = _check_path(path, file)
    if problem is not None:
        return pd.DataFrame(), [problem]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame, problems = _read_csv(path, file)
    elif suffix in (".parquet", ".geoparquet"):
        frame, problems = _read_parquet(path, file)
    elif suffix == ".zip":
        frame, problems = _read_zip(path, file)
    else:
        frame, problems = _read_vector(str(path), file)
    if any(p.fatal for p in problems):
        return pd.DataFrame(), problems
    if isinstance(frame, gpd.GeoDataFrame):
        frame, crs_problems = _settle_geometry(frame, file, crs)
        problems += crs_problems
        if any(p.fatal for p in crs_problems):
            return pd.DataFrame(), problems
    return frame, problems


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


# --------------------------------------------------------------------------- reading


def _check_path(path: Path, file: str) -> Problem | None:
    if path.suffix.lower() not in SUPPORTED:
        return Problem(file, f"unsupported file type '{path.suffix}'; use one of {', '.join(SUPPORTED)}")
    if not path.exists():
        return Problem(file, "file not found")
    if not path.is_file():
        return Problem(file, "is a folder, not a file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Problem(file, f"cannot read the file: {exc.strerror or exc}")
    if size == 0:
        return Problem(file, "the file is empty (0 bytes)")
    return None


def _read_csv(path: Path, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return pd.DataFrame(), [Problem(file, f"cannot read the file: {exc.strerror or exc}")]
    text, problem = _decode(raw, file)
    if problem is not None:
        return pd.DataFrame(), [problem]
    if _HTML_START.match(text):
        return pd.DataFrame(), [Problem(file, _HTML_MESSAGE.format(kind="CSV"))]
    # Our own reader, not pandas': pandas silently turns an extra leading field into the
    # index and shifts row numbers past blank lines; here row N is always spreadsheet row N.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return pd.DataFrame(), [Problem(file, f"cannot read the file as CSV: {exc}")]
    if not records or not any(cell.strip() for cell in records[0]):
        return pd.DataFrame(), [Problem(file, "the file has no header row (it is empty or starts with a blank line)")]
    header = [cell.strip() for cell in records[0]]
    problems = _header_problems(header, file)
    if len(header) == 1 and problems:
        # A ';'- or tab-separated file: counting commas in its rows would only add noise.
        return pd.DataFrame(), problems
    width = len(header)
    body = records[1:]
    for number, record in enumerate(body, start=2):
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            problems.append(
                Problem(
                    file,
                    f"row has {len(record)} values but the header has {width} columns "
                    "(a comma inside a value must be quoted)",
                    row=number,
                )
            )
    if problems:
        return pd.DataFrame(), problems
    # Fully blank lines carry no data; they are skipped but still count as rows.
    keep = np.array([any(cell.strip() for cell in record) for record in body], dtype=bool)
    rows = np.arange(2, len(body) + 2, dtype="int64")[keep]
    kept = [(record + [""] * width)[:width] for record, wanted in zip(body, keep, strict=True) if wanted]
    values = list(zip(*kept, strict=True)) if kept else [()] * width
    frame = pd.DataFrame(
        {name: pd.array(list(column), dtype="str") for name, column in zip(_named(header), values, strict=True)}
    )
    frame = frame.loc[:, [name for name in frame.columns if not _blank_unnamed(frame, name)]]
    frame["_source_row"] = rows
    return _parse_wkt(frame, file)


def _decode(raw: bytes, file: str) -> tuple[str, Problem | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:_SNIFF_BYTES]:
        return "", Problem(file, "does not look like a CSV file: it holds binary data (is it a spreadsheet or a zip?)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), None
        except UnicodeDecodeError:
            continue
    return "", Problem(
        file,
        "unknown text encoding (neither UTF-8 nor Windows-1252); save the file as 'CSV UTF-8'",
    )


def _header_problems(header: list[str], file: str) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            continue
        key = name.lower()
        if key in seen:
            problems.append(
                Problem(
                    file,
                    f"column '{name}' appears twice in the header (columns {seen[key]} and {position})",
                    row=1,
                    column=name,
                )
            )
        else:
            seen[key] = position
    if len(header) == 1 and any(sep in header[0] for sep in (";", "\t")):
        sep = "';'" if ";" in header[0] else "a tab"
        problems.append(
            Problem(
                file,
                f"the header is one column that contains {sep}; save the file with commas between "
                "columns (CSV UTF-8, comma delimited)",
                row=1,
                column=header[0],
            )
        )
    return problems


def _named(header: list[str]) -> list[str]:
    return [name if name else f"Unnamed: {position}" for position, name in enumerate(header)]


def _blank_unnamed(frame: pd.DataFrame, name: str) -> bool:
    """A header-less column with no values, as left by trailing commas in spreadsheets."""
    return str(name).startswith("Unnamed: ") and not frame[name].str.strip().ne("").any()


def _parse_wkt(frame: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    wkt_columns = [name for name in frame.columns if str(name).strip().lower() in _WKT_COLUMNS]
    if not wkt_columns:
        return frame, []
    column = wkt_columns[0]
    text = frame[column].str.strip()
    blank = text.eq("").to_numpy()
    # GEOS flags numbers beyond float range (1e999) as a floating-point overflow; such a
    # cell is simply not valid WKT, reported below, so numpy's warning is silenced.
    with np.errstate(all="ignore"):
        geometry = shapely.from_wkt(np.where(blank, None, text.to_numpy(dtype=object)), on_invalid="ignore")
    bad = ~blank & shapely.is_missing(geometry)
    problems = [
        Problem(
            file, "geometry is not valid WKT (e.g. 'POINT (383000 398000)')", row=int(row), column=column, fatal=False
        )
        for row in frame["_source_row"].to_numpy()[bad]
    ]
    spatial = gpd.GeoDataFrame(frame.drop(columns=column), geometry=gpd.GeoSeries(geometry, index=frame.index))
    return spatial[~bad].reset_index(drop=True), problems


def _read_parquet(path: Path, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    try:
        schema = pyarrow.parquet.read_schema(path)
        is_geo = schema.metadata is not None and b"geo" in schema.metadata
        frame = gpd.read_parquet(path) if is_geo else pd.read_parquet(path)
    except (OSError, ValueError, pyarrow.ArrowException, PyprojCRSError) as exc:
        return pd.DataFrame(), [Problem(file, f"cannot read the file as (Geo)Parquet: {_first_line(exc)}")]
    frame = _flat_cells(frame.reset_index(drop=True))
    frame["_source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame, []


#: Zips given on the command line may be large (national boundaries), but a zip bomb or a
#: member escaping its folder is refused just as it is for dashboard uploads.
_LOCAL_ZIP_LIMITS = UploadLimits(per_file=2**40, per_upload=2**40, unzipped=8 * 2**30)


def _read_zip(path: Path, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    try:
        shapefile = check_zip(path, name=path.name, limits=_LOCAL_ZIP_LIMITS)
    except UnsafeUploadError as exc:
        return pd.DataFrame(), [Problem(file, str(exc))]
    return _read_vector(f"/vsizip/{path.resolve()}/{shapefile.members['.shp']}", file)


def _read_vector(source: str, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    try:
        # GDAL's notes on a damaged file arrive as warnings from listing layers as well as
        # from reading; both are caught, so they become problems rather than stderr noise.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = _choose_layer(source, file, problems)
            if any(problem.fatal for problem in problems):
                return pd.DataFrame(), problems
            try:
                frame = gpd.read_file(source, engine="pyogrio", layer=layer)
                unreadable = np.zeros(len(frame), dtype=bool)
            except shapely.errors.ShapelyError:
                frame, unreadable = _read_around_malformed_geometry(source, layer)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FieldError,
        pyogrio.errors.CRSError,
        PyprojCRSError,
        shapely.errors.ShapelyError,
        RuntimeError,
        OSError,
        ValueError,
    ) as exc:
        if _is_html(file):
            return pd.DataFrame(), [Problem(file, _HTML_MESSAGE.format(kind="a spatial file"))]
        return pd.DataFrame(), [Problem(file, _unreadable(exc))]
    notes = dict.fromkeys(str(warning.message) for warning in caught)  # once each, in order
    problems += [Problem(file, f"while reading: {note}", fatal=False) for note in notes]
    frame = _flat_cells(frame.reset_index(drop=True))
    frame["_source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    problems += [
        Problem(
            file,
            "the geometry is malformed (such as a ring that does not close, or a line with a single point) and "
            "cannot be read; the feature is left out",
            row=int(row),
            column="geometry",
            fatal=False,
        )
        for row in frame["_source_row"].to_numpy()[unreadable]
    ]
    if unreadable.any():
        frame = frame[~unreadable].reset_index(drop=True)
    return frame, problems


def _read_around_malformed_geometry(source: str, layer: str | None) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Read a layer some of whose geometries GEOS rejects, and say which features they are.

    pyogrio hands every geometry to shapely at once, so one bad ring fails the whole
    file; reading again with ``on_invalid="ignore"`` keeps the rest, and the raw WKB
    tells a malformed geometry (unreadable) from a missing one (null).
    """
    frame = gpd.read_file(source, engine="pyogrio", layer=layer, on_invalid="ignore")
    _, _, wkb, _ = pyogrio.raw.read(source, layer=layer, columns=[])
    given = np.array([value is not None for value in wkb], dtype=bool) if wkb is not None else np.zeros(0, bool)
    if len(given) != len(frame):
        raise ValueError("the features could not be read consistently")
    unreadable = given & shapely.is_missing(frame.geometry.to_numpy())
    return frame, unreadable


def _flat_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding lists or objects (GeoJSON arrays, Parquet list columns) as plain text.

    The loaders treat every cell as a scalar; a list would break hashing and comparison.
    A list of labels becomes ``"a;b"`` (the separator the loaders split labels on), an
    object its JSON text.
    """
    geometry = frame.active_geometry_name if isinstance(frame, gpd.GeoDataFrame) else None
    flattened: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column == geometry or frame[column].dtype != object:
            continue
        values = frame[column]
        nested = values.map(lambda value: isinstance(value, (list, tuple, dict, np.ndarray)))
        if nested.any():
            flattened[column] = values.where(~nested, values[nested].map(_cell_as_text))
    return frame.assign(**flattened) if flattened else frame


def _cell_as_text(value: object) -> str:
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)  # type: ignore[call-overload]
    return ";".join(_cell_as_text(item) if isinstance(item, (list, tuple, dict)) else str(item) for item in items)


def _choose_layer(source: str, file: str, problems: list[Problem]) -> str | None:
    """The single spatial layer, or the first one (reported) when there are several."""
    layers = pyogrio.list_layers(source)
    if len(layers) == 0:
        # A damaged file can open with no layer at all; reading it would fail inside pyogrio.
        problems.append(Problem(file, "cannot read the file: it holds no data layer (is it damaged or incomplete?)"))
        return None
    if len(layers) == 1:
        return None
    spatial = [str(name) for name, geometry_type in layers if geometry_type is not None]
    candidates = spatial or [str(name) for name, _ in layers]
    if len(candidates) > 1:
        problems.append(
            Problem(
                file,
                f"the file has {len(candidates)} layers ({', '.join(candidates)}); read the first, '{candidates[0]}'",
                fatal=False,
            )
        )
    return candidates[0]


def _is_html(file: str) -> bool:
    """Whether the file starts like a web page (an error or sign-in page saved instead of the data)."""
    try:
        with open(file, "rb") as handle:
            start = handle.read(512)
    except OSError:
        return False
    return bool(_HTML_START.match(start.decode("utf-8", errors="replace").lstrip("\ufeff")))


def _unreadable(exc: BaseException) -> str:
    detail = _first_line(exc)
    if "not recognized as" in detail:
        return (
            "cannot read the file: it is not in a format GDAL recognises (is it damaged, incomplete, "
            "or another kind of file with this extension?)"
        )
    return f"cannot read the file: {detail}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _settle_geometry(frame: gpd.GeoDataFrame, file: str, crs: str | None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Give the frame a CRS (or report that it has none) and drop Z/M coordinates."""
    problems: list[Problem] = []
    geometry = frame.geometry.to_numpy()
    present = ~shapely.is_missing(geometry)
    if frame.crs is None and present.any():
        if crs is None:
            return frame, [_missing_crs(file, geometry[present])]
        try:
            frame = frame.set_crs(crs)
        except (PyprojCRSError, ValueError, TypeError) as exc:
            return frame, [Problem(file, f"cannot use the CRS {crs!r}: {_first_line(exc)}", column="geometry")]
    elif frame.crs is None and crs is not None:
        try:
            frame = frame.set_crs(crs)
        except (PyprojCRSError, ValueError, TypeError) as exc:
            return frame, [Problem(file, f"cannot use the CRS {crs!r}: {_first_line(exc)}", column="geometry")]
    mismatch = _implausible_coordinates(frame, geometry[present], file)
    if mismatch is not None:
        return frame, [mismatch]
    higher = shapely.has_z(geometry) | shapely.has_m(geometry)
    if higher.any():
        frame = frame.set_geometry(
            gpd.GeoSeries(shapely.force_2d(geometry), index=frame.index, crs=frame.crs), crs=frame.crs
        )
        problems.append(
            Problem(
                file,
                f"{int(higher.sum())} geometries have 3D (Z) or measure (M) coordinates; they were dropped to 2D",
                column="geometry",
                fatal=False,
            )
        )
    return frame, problems


def _implausible_coordinates(frame: gpd.GeoDataFrame, geometry: np.ndarray, file: str) -> Problem | None:
    """A fatal problem when the whole layer's coordinates contradict the CRS it claims.

    A GeoJSON file without a ``crs`` member is WGS84 by definition, so British National
    Grid metres in it would otherwise fail row by row ("cannot be converted"); a stale
    ``crs`` member or ``.prj`` over longitude/latitude would silently put every area in
    the sea off Cornwall. Single odd rows are left to the loaders' row checks.
    """
    if frame.crs is None or not len(geometry):
        return None
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geometry)
        finite = np.isfinite(bounds).all(axis=1)
    if not finite.any():
        return None
    bounds = bounds[finite]
    xmin, ymin = bounds[:, 0].min(), bounds[:, 1].min()
    xmax, ymax = bounds[:, 2].max(), bounds[:, 3].max()
    extent = f"x from {xmin:g} to {xmax:g}, y from {ymin:g} to {ymax:g}"
    in_degrees = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(bounds[:, [1, 3]]) <= 90).all(axis=1)
    name = f"{frame.crs.name} ({frame.crs.to_string()})"
    if frame.crs.is_geographic and not in_degrees.any():
        guess = (
            "British National Grid metres (EPSG:27700)"
            if xmin >= 0 and xmax <= 700_000 and ymin >= 0 and ymax <= 1_300_000
            else "metres of a projected CRS"
        )
        return Problem(
            file,
            f"the file says its coordinates are in {name}, longitude/latitude in degrees, but they run {extent}, "
            f"which looks like {guess}. A GeoJSON file without a 'crs' member is always read as WGS84 (EPSG:4326): "
            "reproject the file to EPSG:4326, or save it in a format that records its CRS (GeoPackage), after "
            "GeoDataFrame.set_crs('EPSG:27700', allow_override=True)",
            column="geometry",
        )
    if frame.crs.is_projected and in_degrees.all():
        return Problem(
            file,
            f"the file says its coordinates are in {name}, in metres, but they run {extent}, which looks like "
            "longitude/latitude in degrees (EPSG:4326): the file's CRS (its 'crs' member or .prj) is wrong. Fix it "
            "with GeoDataFrame.set_crs('EPSG:4326', allow_override=True) and save it again, or remove the wrong CRS",
            column="geometry",
        )
    return None


def _missing_crs(file: str, geometry: np.ndarray) -> Problem:
    xmin, ymin, xmax, ymax = shapely.total_bounds(geometry)
    if xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90:
        code, guess = "EPSG:4326", " The coordinates look like longitude/latitude (EPSG:4326)."
    elif xmin >= 0 and xmax <= 700_000 and ymin >= 0 and ymax <= 1_300_000:
        code, guess = "EPSG:27700", " The coordinates look like British National Grid (EPSG:27700)."
    else:
        code, guess = "EPSG:xxxx", ""
    return Problem(
        file,
        "no CRS: the file does not say which coordinate reference system its geometry is in "
        f"(a shapefile keeps it in a .prj file beside the .shp).{guess} Pass the CRS it is in, e.g. "
        f"crs='{code}' in Python or --crs {code} on the command line, or fix the file with "
        f"GeoDataFrame.set_crs('{code}') (then .to_crs(...) if you want another CRS) and save it again",
        column="geometry",
    )


# --------------------------------------------------------------------------- writing


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
        dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):
        codes, uniques = pd.factorize(values.array if dtype != object else values.to_numpy(), use_na_sentinel=True)
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
