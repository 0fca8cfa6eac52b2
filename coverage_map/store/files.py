"""What the workspace saves of each input file, and how it gives a stored input back as a file.

* CSV files and the taxonomy TOML: the file's bytes, as given;
* spatial files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet): the attributes as a
  Parquet blob and every feature's geometry in EPSG:27700 (stored by the backend), in file order.

:func:`materialise` writes a stored input as a file the loaders read exactly as they read the original.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import shapely

from ..config import METRIC_CRS
from ..ingest.readers import read_any
from .at_rest import minimal_referrals


@dataclass(frozen=True)
class StoredInput:
    """One input as stored: its role, file name as given, storage kind, content and geometries."""

    role: str
    file_name: str
    storage: str
    content: bytes
    features: int
    geometries: np.ndarray | None


def stored_input(
    role: str, path: Path, *, crs: str | None, keep_raw: bool = True, mapped: Iterable[str] = ()
) -> StoredInput:
    """Text files keep their bytes; spatial files become attributes + EPSG:27700 geometries.

    Without ``keep_raw``, a referral CSV keeps only the columns the analysis reads
    (:func:`coverage_map.store.at_rest.minimal_referrals`), plus the file's own columns a
    column mapping reads (``mapped``): no referral id, no other column.
    """
    if role == "referrals" and not keep_raw and path.suffix.lower() == ".csv":
        minimal = minimal_referrals(path.read_bytes(), mapped=mapped)
        if minimal is not None:
            return StoredInput(role, path.name, "file", minimal, 0, None)
    if role != "taxonomy" and path.suffix.lower() != ".csv":
        frame, _ = read_any(path, crs=crs)
        if isinstance(frame, gpd.GeoDataFrame):
            if frame.crs is not None and not frame.crs.equals(METRIC_CRS):
                frame = frame.to_crs(METRIC_CRS)
            geometries = shapely.force_2d(frame.geometry.to_numpy())
            attributes = pd.DataFrame(frame.drop(columns=[frame.active_geometry_name, "_source_row"]))
            return StoredInput(role, path.name, "table", parquet_bytes(attributes), len(frame), geometries)
    return StoredInput(role, path.name, "file", path.read_bytes(), 0, None)


def parquet_bytes(attributes: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    try:
        attributes.to_parquet(buffer, index=False)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        # A column mixing types (rare in spatial formats): keep its values as text.
        mixed = [column for column in attributes.columns if attributes[column].dtype == object]
        text = attributes.astype({column: "str" for column in mixed})
        buffer = io.BytesIO()
        text.to_parquet(buffer, index=False)
    return buffer.getvalue()


def materialise(item: Any, geometries: np.ndarray | None, folder: Path) -> Path:
    """Write one stored input as a file the loaders read exactly as they read the original."""
    target = folder / item["role"]
    target.mkdir()
    if item["storage"] == "file":
        path = target / item["file_name"]
        path.write_bytes(item["content"])
        return path
    assert geometries is not None
    attributes = pd.read_parquet(io.BytesIO(item["content"]))
    if len(attributes.columns) == 0:  # Parquet cannot count the rows of a table without columns
        attributes = pd.DataFrame(index=pd.RangeIndex(int(item["features"])))
    frame = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geometries, crs=METRIC_CRS))
    path = target / f"{Path(item['file_name']).stem}.parquet"
    frame.to_parquet(path, index=False)
    return path
