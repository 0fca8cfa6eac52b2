"""Import an Open Referral UK (ORUK) / HSDS service directory as a coverage-map asset file.

Commissioners publish their service directories in the Open Referral UK / Human Services
Data Specification (HSDS) format, as a JSON export or API, or as a CSV data package. This
module turns one into the asset format the loaders read: one point per service *at* a
location (``asset_id = <service_id>@<location_id>``), with need ``categories`` and
``communities`` mapped from the directory's taxonomy terms, eligibility and attributes by a
user-editable TOML file (:data:`DEFAULT_MAPPING`, documented in ``docs/oruk.md``).

Nothing is dropped silently: a location without usable coordinates, a service with no
mappable need category, a service with no location or with an excluded status is listed in
:attr:`OrukImport.rejected` and reported as a :class:`~coverage_map.errors.Problem`; terms
the mapping does not know are counted in :attr:`OrukImport.unmapped`.

Accepted inputs
---------------
* JSON: a list of ``service`` objects, a paged response (``content``, ``contents``,
  ``items``, ``services`` or ``data`` list) or a single service, with nested
  ``service_at_locations`` -> ``location`` (``latitude``/``longitude``), ``attributes`` ->
  ``taxonomy_term``, ``taxonomy_terms``, ``service_taxonomys`` (ORUK v1), ``eligibilitys``
  / ``eligibility`` and ``organization``.
* A CSV data package folder: ``services.csv``, ``locations.csv`` and
  ``service_at_location.csv`` (required) with optional ``taxonomy_terms.csv``,
  ``taxonomies.csv``, ``attributes.csv``, ``organizations.csv``, ``addresses.csv`` and the
  HSDS 2 / ORUK v1 ``service_taxonomy.csv``, ``taxonomy.csv`` and ``eligibility.csv``.
* A live API, fetched page by page with the standard library (:func:`fetch_oruk`).

Contents
--------
* :mod:`~coverage_map.ingest.oruk.mapping`: :class:`OrukMapping`, the TOML mapping of terms.
* :mod:`~coverage_map.ingest.oruk.records`: services and locations parsed from JSON or a CSV package.
* :mod:`~coverage_map.ingest.oruk.read`: :func:`read_oruk` and :func:`import_services`, the asset table.
* :mod:`~coverage_map.ingest.oruk.fetch`: :func:`fetch_oruk`, a live API page by page, with each service's details.
* :mod:`~coverage_map.ingest.oruk.client`: :class:`JsonClient`, rate limited, retrying on HTTP 429, cached on disk.

:func:`stale_assets` lives in :mod:`coverage_map.freshness` and is importable from here too.
"""

from ...freshness import stale_assets
from .client import JsonClient
from .fetch import fetch_oruk
from .mapping import DEFAULT_MAPPING, REACHES, OrukMapping, Term
from .read import (
    ASSET_COLUMNS,
    GB_BOUNDS,
    REJECTED_COLUMNS,
    UNMAPPED_COLUMNS,
    OrukImport,
    import_services,
    read_oruk,
    summary_lines,
)

__all__ = [
    "ASSET_COLUMNS",
    "DEFAULT_MAPPING",
    "GB_BOUNDS",
    "JsonClient",
    "REACHES",
    "REJECTED_COLUMNS",
    "UNMAPPED_COLUMNS",
    "OrukImport",
    "OrukMapping",
    "Term",
    "fetch_oruk",
    "import_services",
    "read_oruk",
    "stale_assets",
    "summary_lines",
]
