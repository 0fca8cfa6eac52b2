"""Postcode -> point, for directory locations that give a postcode but no coordinates.

Two files users already have are read as published:

* the **ONS Postcode Directory** (ONSPD) or the National Statistics Postcode Lookup: a CSV with a
  header, postcode in ``pcds`` (or ``pcd``, ``pcd7``, ``pcd8``, ``postcode``) and ``lat``/``long``
  (or ``oseast1m``/``osnrth1m`` eastings and northings). Rows without a grid reference
  (``lat`` 99.999999) are skipped;
* **OS Code-Point Open**: CSV files *without* a header (postcode, positional quality, easting,
  northing, ...), one per postcode area, or their folder (``Data/CSV``). Rows with easting and
  northing 0 (no coordinates) are skipped. A header row (``Postcode``, ``Eastings``,
  ``Northings``, or the short ``PC``, ``EA``, ``NO``) is accepted too.

Postcodes are compared without spaces and in capitals (``m1 1ae`` is ``M1 1AE``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import CoverageMapError

_POSTCODE_COLUMNS = ("pcds", "pcd", "pcd7", "pcd8", "postcode", "pc", "post_code")
_LATLON_COLUMNS = (("lat", "long"), ("latitude", "longitude"), ("lat", "lon"))
_GRID_COLUMNS = (("oseast1m", "osnrth1m"), ("eastings", "northings"), ("easting", "northing"), ("ea", "no"))


def normalise_postcode(text: object) -> str:
    """Capitals without spaces: ``" m1 1ae "`` -> ``"M11AE"``."""
    return "".join(str(text).split()).upper() if text is not None else ""


@dataclass(frozen=True)
class PostcodeIndex:
    """Points (latitude, longitude in WGS84) by normalised postcode, and where they came from."""

    latitude: dict[str, float]
    longitude: dict[str, float]
    source: str

    def __len__(self) -> int:
        return len(self.latitude)

    def locate(self, postcode: object) -> tuple[float, float] | None:
        """``(latitude, longitude)`` of a postcode, or None when the file does not have it."""
        key = normalise_postcode(postcode)
        if key not in self.latitude:
            return None
        return self.latitude[key], self.longitude[key]


def read_postcodes(path: str | Path) -> PostcodeIndex:
    """Read an ONS Postcode Directory / NSPL CSV, or Code-Point Open CSV files (a file or their folder).

    Raises
    ------
    CoverageMapError
        The file cannot be read, or no postcode and coordinate columns can be found in it.
    """
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not all(file.is_file() for file in files):
        raise CoverageMapError(f"{path}: no postcode file (give an ONS Postcode Directory CSV or Code-Point Open CSVs)")
    frames = [_read_one(file) for file in files]
    table = pd.concat(frames, ignore_index=True).drop_duplicates("key", keep="first")
    return PostcodeIndex(
        latitude=dict(zip(table["key"], table["latitude"], strict=True)),
        longitude=dict(zip(table["key"], table["longitude"], strict=True)),
        source=str(path),
    )


def _read_one(file: Path) -> pd.DataFrame:
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise CoverageMapError(f"{file}: cannot read the postcode file: {exc}") from exc
    header = [cell.strip().lower() for cell in first]
    postcode = next((name for name in _POSTCODE_COLUMNS if name in header), None)
    if postcode is None:
        if len(first) >= 4 and _looks_like_postcode(first[0]):  # Code-Point Open has no header
            frame = _csv(file, header=None, usecols=[0, 2, 3])
            return _from_grid(frame[0], frame[2], frame[3])
        raise CoverageMapError(
            f"{file}: no postcode column (expected one of {', '.join(_POSTCODE_COLUMNS)}, or a Code-Point Open "
            f"file without a header); the header has: {', '.join(first[:12])}"
        )
    columns = {name.strip().lower(): name for name in first}
    for lat, lon in _LATLON_COLUMNS:
        if lat in header and lon in header:
            frame = _csv(file, usecols=[columns[postcode], columns[lat], columns[lon]])
            latitude = pd.to_numeric(frame[columns[lat]], errors="coerce")
            longitude = pd.to_numeric(frame[columns[lon]], errors="coerce")
            usable = latitude.between(-90, 90) & longitude.between(-180, 180) & (latitude < 99)
            return pd.DataFrame(
                {
                    "key": frame[columns[postcode]][usable].map(normalise_postcode),
                    "latitude": latitude[usable].astype("float64"),
                    "longitude": longitude[usable].astype("float64"),
                }
            )
    for east, north in _GRID_COLUMNS:
        if east in header and north in header:
            frame = _csv(file, usecols=[columns[postcode], columns[east], columns[north]])
            return _from_grid(frame[columns[postcode]], frame[columns[east]], frame[columns[north]])
    raise CoverageMapError(
        f"{file}: no coordinate columns (expected lat/long, or oseast1m/osnrth1m or Eastings/Northings)"
    )


def _csv(file: Path, **options: object) -> pd.DataFrame:
    try:
        return pd.read_csv(file, dtype="str", keep_default_na=False, encoding="utf-8-sig", **options)  # type: ignore[call-overload]
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CoverageMapError(f"{file}: cannot read the postcode file: {exc}") from exc


def _from_grid(postcodes: pd.Series, eastings: pd.Series, northings: pd.Series) -> pd.DataFrame:
    from pyproj import Transformer

    east = pd.to_numeric(eastings, errors="coerce").to_numpy(dtype="float64")
    north = pd.to_numeric(northings, errors="coerce").to_numpy(dtype="float64")
    usable = np.isfinite(east) & np.isfinite(north) & ((east > 0) | (north > 0))
    transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    longitude, latitude = transformer.transform(east[usable], north[usable])
    return pd.DataFrame(
        {
            "key": postcodes.to_numpy()[usable],
            "latitude": np.asarray(latitude, dtype="float64"),
            "longitude": np.asarray(longitude, dtype="float64"),
        }
    ).assign(key=lambda frame: frame["key"].map(normalise_postcode))


def _looks_like_postcode(text: str) -> bool:
    key = normalise_postcode(text)
    return 5 <= len(key) <= 7 and key[0].isalpha() and key[-3].isdigit() and key[-2:].isalpha()
