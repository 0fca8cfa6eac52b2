"""Everything that comes into the tool: reading files, and checking each input role.

* :mod:`~coverage_map.ingest.formats`: the format registry, extension -> format.
* :mod:`~coverage_map.ingest.readers`: :func:`read_any`, any supported file as a (Geo)DataFrame.
* :mod:`~coverage_map.ingest.upload_safety`: checks on files that come from someone else.
"""

from .formats import FORMATS, SUPPORTED, UPLOAD_SUFFIXES, FileFormat
from .readers import read_any

__all__ = ["FORMATS", "SUPPORTED", "UPLOAD_SUFFIXES", "FileFormat", "read_any"]
