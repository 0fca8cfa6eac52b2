"""Read any supported file into a (Geo)DataFrame: the readers under every loader.

Reading never lets a library traceback escape for bad user input: every failure becomes
a :class:`~coverage_map.errors.Problem`. CSV files are read as text, so codes such as
``E01000001`` and leading zeros survive, and blank cells stay as ``""`` for the loaders
to treat as missing. Every frame :func:`read_any` returns carries ``_source_row``: the
spreadsheet row for CSV (header = row 1, first record = row 2) and the 1-based feature
number for spatial formats. Which extensions are read, and as what, is the format
registry :data:`~coverage_map.ingest.formats.FORMATS`. A CSV file's plain lines are read by
Arrow and only the others (blank, ragged or quoted lines) by Python's ``csv`` module, with the
same result (:mod:`coverage_map.ingest._csv`).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
import shapely.errors
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import Problem
from ._csv import read_records
from .formats import FORMATS, SUPPORTED
from .upload_safety import UnsafeUploadError, UploadLimits, check_zip

#: Column names (case-insensitive) that hold WKT geometry in a CSV file.
_WKT_COLUMNS = ("geometry", "wkt")
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
    file_format = FORMATS[path.suffix.lower()]
    if file_format.content == "csv":
        frame, problems = _read_csv(path, file)
    elif file_format.content == "parquet":
        frame, problems = _read_parquet(path, file)
    elif file_format.kind == "archive":
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


def _read_csv(path: Path, file: str, *, fast: bool = True) -> tuple[pd.DataFrame, list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return pd.DataFrame(), [Problem(file, f"cannot read the file: {exc.strerror or exc}")]
    text, encoding, problem = _decode(raw, file)
    if problem is not None:
        return pd.DataFrame(), [problem]
    if _HTML_START.match(text):
        return pd.DataFrame(), [Problem(file, _HTML_MESSAGE.format(kind="CSV"))]
    # Not pandas' reader: pandas silently turns an extra leading field into the index and
    # shifts row numbers past blank lines; here row N is always spreadsheet row N (see _csv).
    utf8 = raw if encoding == "utf-8-sig" and not raw.startswith(codecs.BOM_UTF8) else None
    try:
        records = read_records(text, utf8, fast=fast)
    except csv.Error as exc:
        return pd.DataFrame(), [Problem(file, f"cannot read the file as CSV: {exc}")]
    if records.header is None or not any(cell.strip() for cell in records.header):
        return pd.DataFrame(), [Problem(file, "the file has no header row (it is empty or starts with a blank line)")]
    header = [cell.strip() for cell in records.header]
    problems = _header_problems(header, file)
    if len(header) == 1 and problems:
        # A ';'- or tab-separated file: counting commas in its rows would only add noise.
        return pd.DataFrame(), problems
    width = len(header)
    # Plain lines have exactly `width` values; only the others can be too long.
    for number, record in zip(records.other_rows.tolist(), records.others, strict=True):
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
    keep = np.array([any(cell.strip() for cell in record) for record in records.others], dtype=bool)
    columns, rows = records.columns(width, keep)
    frame = pd.DataFrame(dict(zip(_named(header), columns, strict=True)))
    frame = frame.loc[:, [name for name in frame.columns if not _blank_unnamed(frame, name)]]
    frame["_source_row"] = rows
    return _parse_wkt(frame, file)


def _decode(raw: bytes, file: str) -> tuple[str, str, Problem | None]:
    """The file's text and the encoding it was read in."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:_SNIFF_BYTES]:
        return (
            "",
            "",
            Problem(file, "does not look like a CSV file: it holds binary data (is it a spreadsheet or a zip?)"),
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding, None
        except UnicodeDecodeError:
            continue
    return (
        "",
        "",
        Problem(file, "unknown text encoding (neither UTF-8 nor Windows-1252); save the file as 'CSV UTF-8'"),
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
