"""The file formats the tool reads: one registry, from which every list of extensions is derived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True)
class FileFormat:
    """A file format the tool reads, as the extension naming it says.

    Attributes
    ----------
    kind
        ``table``: rows of cells, geometry optional (CSV with a WKT column, (Geo)Parquet),
        which the dask engine also reads a folder of; ``spatial``: a GDAL vector layer;
        ``archive``: a zipped shapefile.
    content
        What the bytes must turn out to be when a file arrives from someone else
        (:func:`~coverage_map.ingest.upload_safety.sniff`): ``csv``, ``json``, ``gpkg``,
        ``fgb``, ``parquet`` or ``zip``. None for a format never accepted on its own: a
        ``.shp`` needs its ``.shx``, ``.dbf`` and ``.prj``, so it is uploaded zipped.
    """

    kind: Literal["table", "spatial", "archive"]
    content: str | None


#: Extension -> format, in the order messages list them.
FORMATS: Mapping[str, FileFormat] = MappingProxyType(
    {
        ".geojson": FileFormat("spatial", "json"),
        ".json": FileFormat("spatial", "json"),
        ".gpkg": FileFormat("spatial", "gpkg"),
        ".shp": FileFormat("spatial", None),
        ".zip": FileFormat("archive", "zip"),
        ".fgb": FileFormat("spatial", "fgb"),
        ".parquet": FileFormat("table", "parquet"),
        ".geoparquet": FileFormat("table", "parquet"),
        ".csv": FileFormat("table", "csv"),
    }
)
#: Every extension :func:`~coverage_map.ingest.readers.read_any` reads.
SUPPORTED = tuple(FORMATS)
#: Extensions accepted from someone else (a dashboard upload): a shapefile comes zipped.
UPLOAD_SUFFIXES = tuple(suffix for suffix, fmt in FORMATS.items() if fmt.content is not None)
#: Extensions of the table formats, the files a folder given to the dask engine is read for.
TABLE_SUFFIXES = tuple(suffix for suffix, fmt in FORMATS.items() if fmt.kind == "table")

__all__ = ["FORMATS", "SUPPORTED", "TABLE_SUFFIXES", "UPLOAD_SUFFIXES", "FileFormat"]
