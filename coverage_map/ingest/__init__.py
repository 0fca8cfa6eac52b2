"""Everything that comes into the tool: files read, and each input role validated and harmonised.

Every loader follows validate -> compute -> assemble and returns ``(frame, problems)``:

* a *fatal* problem (missing column, no CRS, duplicate ids, unreadable file...) makes
  the file unusable; the frame returned alongside it is incomplete and must not be
  analysed;
* a *non-fatal* problem rejects (or repairs) one row; the rejected row is removed from
  the frame, so nothing is ever dropped without a problem naming it.

Contents
--------
* :mod:`~coverage_map.ingest.inputs`: :func:`load_inputs`, every file at once, problems raised once.
* :mod:`~coverage_map.ingest.areas`: :func:`load_areas`, the small-area polygons.
* :mod:`~coverage_map.ingest.lookup`: :func:`load_lookup`, areas -> neighbourhoods -> boroughs,
  plain or ONS; :mod:`~coverage_map.ingest.groups`: the ``--groups`` file.
* :mod:`~coverage_map.ingest.population`: :func:`load_population`.
* :mod:`~coverage_map.ingest.assets`: :func:`load_assets`, the community assets.
* :mod:`~coverage_map.ingest.referrals`: :func:`load_referrals`.
* :mod:`~coverage_map.ingest.practices`: :func:`load_practices`, referrals placed at GP practices.
* :mod:`~coverage_map.ingest.candidates`: :func:`~coverage_map.ingest.candidates.load_candidates`, candidate
  sites for new services (``coverage-map suggest``).
* :mod:`~coverage_map.ingest.readers`: :func:`read_any`, any supported file as a (Geo)DataFrame;
  :mod:`~coverage_map.ingest.formats`: the format registry (:data:`FORMATS`).
* :mod:`~coverage_map.ingest.upload_safety`: checks on files that come from someone else.
* :mod:`~coverage_map.ingest.census`: census tables as population columns (and recognised where the
  population goes: :func:`~coverage_map.ingest.census.matching_table`).
* :mod:`~coverage_map.ingest.mapping`: files as they are: a file's own column names, whole-file
  values and labels (:class:`~coverage_map.ingest.mapping.ColumnMapping`), applied by the loaders.
* :mod:`~coverage_map.ingest.oruk`: Open Referral UK / HSDS directories as asset files.
* Private helpers shared by the loaders: ``_checks`` (row checker, problems, column
  finding), ``_text`` and ``_numbers`` (cells), ``_locations`` (coordinates), ``_csv`` (CSV records:
  Arrow for the plain lines, Python's csv module for the rest), ``_asset_values`` (reach and yes/no,
  read alike in a cell and for a whole file).
"""

from .areas import load_areas
from .assets import ASSET_COLUMNS, load_assets
from .formats import FORMATS, SUPPORTED, UPLOAD_SUFFIXES, FileFormat
from .inputs import load_inputs
from .lookup import LOOKUP_COLUMNS, LOOKUP_LEVELS, load_lookup
from .population import load_population
from .practices import PRACTICE_COLUMNS, load_practices
from .readers import read_any
from .referrals import EARLIEST_REFERRAL_DATE, MAX_REFERRAL_COUNT, REFERRAL_COLUMNS, load_referrals

__all__ = [
    "ASSET_COLUMNS",
    "EARLIEST_REFERRAL_DATE",
    "FORMATS",
    "LOOKUP_COLUMNS",
    "LOOKUP_LEVELS",
    "MAX_REFERRAL_COUNT",
    "PRACTICE_COLUMNS",
    "REFERRAL_COLUMNS",
    "SUPPORTED",
    "UPLOAD_SUFFIXES",
    "FileFormat",
    "load_areas",
    "load_assets",
    "load_inputs",
    "load_lookup",
    "load_population",
    "load_practices",
    "load_referrals",
    "read_any",
]
