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
"""

from __future__ import annotations

import json
import re
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeGuard

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import __version__
from .config import DISPLAY_CRS, PACKAGE_DIR
from .errors import CoverageMapError, Problem, ValidationError
from .ingest.readers import read_any
from .taxonomy import Taxonomy, Vocabulary, normalise_label

#: The shipped, documented mapping of ORUK terms to need categories and communities.
DEFAULT_MAPPING = PACKAGE_DIR / "oruk_mapping.toml"
#: Longitude/latitude box around Great Britain (with Scilly, Shetland and a margin).
GB_BOUNDS = (-8.8, 49.8, 1.9, 61.0)
#: Columns of the asset file written, in order (geometry last).
ASSET_COLUMNS = (
    "asset_id", "name", "categories", "communities", "reach", "latitude", "longitude",
    "service_id", "location_id", "organization", "last_checked", "source", "status",
    "location_name", "postcode", "url",
)
REJECTED_COLUMNS = ("service_id", "location_id", "name", "reason", "field", "value", "file", "row")
UNMAPPED_COLUMNS = ("term", "code", "taxonomy", "value", "field", "services")
REACHES = ("local", "borough", "citywide")

_PAGE_KEYS = ("content", "contents", "items", "services", "data", "results")
_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Largest HTTP response read, so that a runaway server cannot exhaust memory.
_MAX_RESPONSE_BYTES = 200 * 1024 * 1024


# --------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class OrukMapping:
    """How ORUK terms become need categories and communities, read from a TOML file.

    Keys of ``categories`` and ``communities`` are normalised labels (see
    :func:`~coverage_map.taxonomy.normalise_label`) of a term's name, code,
    ``"<taxonomy>:<code>"`` or ``"<taxonomy>:<name>"``; values are canonical labels (an
    empty tuple means "known, deliberately not mapped").
    """

    path: str
    taxonomy: Taxonomy
    categories: Mapping[str, tuple[str, ...]]
    communities: Mapping[str, tuple[str, ...]]
    eligibility_taxonomies: frozenset[str] = frozenset()
    statuses: frozenset[str] | None = frozenset({"active"})
    reach: str = "local"
    check_great_britain: bool = True
    builtin_synonyms: bool = True

    @classmethod
    def from_toml(cls, path: str | Path | None = None, *, taxonomy: Taxonomy | None = None) -> OrukMapping:
        """Read a mapping file (the shipped :data:`DEFAULT_MAPPING` when ``path`` is None).

        Raises
        ------
        ValidationError
            Listing every bad entry (an unknown category or community, a value of the
            wrong type) with the section and key it is under.
        """
        path = Path(path) if path is not None else DEFAULT_MAPPING
        file = str(path)
        taxonomy = taxonomy or Taxonomy.builtin()
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CoverageMapError(f"{file}: cannot read the ORUK mapping file: {exc}") from exc
        problems: list[Problem] = []
        unknown = set(document) - {"mode", "options", "categories", "communities"}
        problems += [Problem(file, "unknown section; use mode, [options], [categories] and [communities]",
                             column=f"[{name}]") for name in sorted(unknown)]
        mode = document.get("mode", "extend")
        if mode not in ("extend", "replace"):
            problems.append(Problem(file, 'must be "extend" (add to the shipped mapping) or "replace"',
                                    column="mode", value=repr(mode)))
        elif mode == "extend" and path.resolve() != DEFAULT_MAPPING.resolve():
            document = _extended(document)
        options = _table(document, "options", file, problems)
        categories = _label_table(_table(document, "categories", file, problems), "categories",
                                  taxonomy.categories, file, problems)
        communities = _label_table(_table(document, "communities", file, problems), "communities",
                                   taxonomy.communities, file, problems)
        reach = str(options.get("reach", "local")).strip().lower()
        if reach not in REACHES and not _is_positive_number(reach):
            problems.append(Problem(file, f"reach must be one of {', '.join(REACHES)} or a number of km",
                                    column="[options] reach", value=reach))
        raw_statuses = options.get("statuses", ["active"])
        statuses: list[str] = raw_statuses if _string_list(raw_statuses) else []
        if not _string_list(raw_statuses):
            problems.append(Problem(file, "statuses must be a list of strings (an empty list keeps every "
                                    "status)", column="[options] statuses", value=repr(raw_statuses)))
        raw_eligibility = options.get("eligibility_taxonomies", [])
        eligibility: list[str] = raw_eligibility if _string_list(raw_eligibility) else []
        if not _string_list(raw_eligibility):
            problems.append(Problem(file, "eligibility_taxonomies must be a list of strings",
                                    column="[options] eligibility_taxonomies", value=repr(raw_eligibility)))
        flags = {}
        for name, default in (("check_great_britain", True), ("builtin_synonyms", True)):
            flags[name] = options.get(name, default)
            if not isinstance(flags[name], bool):
                problems.append(Problem(file, "must be true or false", column=f"[options] {name}",
                                        value=repr(flags[name])))
        extra = set(options) - {"reach", "statuses", "eligibility_taxonomies", "check_great_britain",
                                "builtin_synonyms"}
        problems += [Problem(file, "unknown option", column=f"[options] {name}") for name in sorted(extra)]
        if problems:
            raise ValidationError(problems)
        return cls(
            path=file,
            taxonomy=taxonomy,
            categories=categories,
            communities=communities,
            eligibility_taxonomies=frozenset(normalise_label(name) for name in eligibility),
            statuses=frozenset(normalise_label(s) for s in statuses) or None,
            reach=reach,
            check_great_britain=bool(flags["check_great_britain"]),
            builtin_synonyms=bool(flags["builtin_synonyms"]),
        )

    def map_term(self, term: Term) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        """Categories, communities, and whether the mapping knows the term at all.

        An entry in ``[categories]`` or ``[communities]`` wins; otherwise the built-in
        synonyms are tried (categories only for service terms, never for eligibility).
        """
        eligibility = term.field == "eligibility" or normalise_label(term.taxonomy) in self.eligibility_taxonomies
        categories = _lookup(self.categories, term)
        communities = _lookup(self.communities, term)
        known = categories is not None or communities is not None
        if self.builtin_synonyms:
            if categories is None and not eligibility:
                categories = _builtin(self.taxonomy.categories, term)
            if communities is None:
                communities = _builtin(self.taxonomy.communities, term)
        categories = categories or ()
        communities = communities or ()
        return categories, communities, known or bool(categories or communities)


def _extended(document: Mapping[str, object]) -> dict[str, object]:
    """The shipped mapping with a user document's sections laid over it, entry by entry."""
    shipped = tomllib.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    merged: dict[str, object] = dict(document)
    for section in ("options", "categories", "communities"):
        base, user = shipped.get(section, {}), document.get(section, {})
        if isinstance(user, Mapping):
            merged[section] = {**base, **user}
    return merged


def _table(document: Mapping[str, object], name: str, file: str, problems: list[Problem]) -> dict[str, object]:
    value = document.get(name, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(file, "must be a table", column=f"[{name}]"))
        return {}
    return dict(value)


def _label_table(
    entries: Mapping[str, object], section: str, vocabulary: Vocabulary, file: str, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for key, value in entries.items():
        targets: object = [value] if isinstance(value, str) else value
        if not _string_list(targets):
            problems.append(Problem(file, "must be a label or a list of labels", column=f"[{section}] {key}",
                                    value=repr(value)))
            continue
        canonical: list[str] = []
        for target in targets:
            label = vocabulary.resolve(target)
            if label is None:
                problems.append(Problem(file, vocabulary.unknown_message(target), column=f"[{section}] {key}",
                                        value=target))
            elif label not in canonical:
                canonical.append(label)
        table[normalise_label(key)] = tuple(canonical)
    return table


def _string_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_positive_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _lookup(table: Mapping[str, tuple[str, ...]], term: Term) -> tuple[str, ...] | None:
    for key in term.lookup_keys():
        if key in table:
            return table[key]
    return None


def _builtin(vocabulary: Vocabulary, term: Term) -> tuple[str, ...] | None:
    for text in (term.name, term.code):
        if text:
            label = vocabulary.resolve(text)
            if label is not None:
                return (label,)
    return None


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Term:
    """One taxonomy term, eligibility or attribute attached to a service."""

    name: str
    code: str = ""
    taxonomy: str = ""
    value: str = ""
    field: str = "taxonomy_terms"

    def lookup_keys(self) -> list[str]:
        """Normalised lookup keys, most specific first."""
        keys: list[str] = []
        bases = [text for text in (self.name, self.code) if text]
        if self.value:
            keys += [f"{base}:{self.value}" for base in bases]
        if self.taxonomy:
            keys += [f"{self.taxonomy}:{base}" for base in reversed(bases)]
        keys += bases
        return [normalise_label(key) for key in keys]


@dataclass
class _Site:
    location_id: str
    latitude: object
    longitude: object
    location_name: str = ""
    postcode: str = ""
    terms: list[Term] = field(default_factory=list)
    file: str = ""
    row: int | None = None


@dataclass
class _Service:
    service_id: str
    name: str
    organization: str = ""
    status: str = ""
    url: str = ""
    assured_date: object = None
    last_modified: object = None
    terms: list[Term] = field(default_factory=list)
    sites: list[_Site] = field(default_factory=list)
    file: str = ""
    row: int | None = None


@dataclass(frozen=True)
class OrukImport:
    """The result of an import.

    Attributes
    ----------
    assets
        The asset file rows (:data:`ASSET_COLUMNS` and point geometry in EPSG:4326);
        ``categories`` and ``communities`` are ``;``-separated canonical labels.
    rejected
        One row per service or location not imported (:data:`REJECTED_COLUMNS`).
    unmapped
        Terms the mapping does not know, with the number of services carrying each
        (:data:`UNMAPPED_COLUMNS`), most frequent first.
    problems
        Every non-fatal problem: rejections and warnings (points outside Great Britain,
        unreadable dates...).
    services
        Number of services read.
    source
        The file, folder or URL the directory came from.
    """

    assets: gpd.GeoDataFrame
    rejected: pd.DataFrame
    unmapped: pd.DataFrame
    problems: tuple[Problem, ...]
    services: int
    source: str


# --------------------------------------------------------------------------- public API


def read_oruk(
    source: str | Path, *, mapping: OrukMapping | str | Path | None = None, taxonomy: Taxonomy | None = None
) -> OrukImport:
    """Import an ORUK / HSDS JSON export or CSV data package folder.

    Parameters
    ----------
    source
        A ``.json`` file, or a folder holding ``services.csv``, ``locations.csv`` and
        ``service_at_location.csv`` (plus optional taxonomy, attribute, organisation and
        address files).
    mapping
        An :class:`OrukMapping`, or the path of a mapping TOML file; the shipped
        :data:`DEFAULT_MAPPING` when None.
    taxonomy
        The need categories and communities to map onto (built-in when None); ignored
        when ``mapping`` is already an :class:`OrukMapping`.

    Raises
    ------
    CoverageMapError
        The source cannot be read at all (missing, not JSON, not a data package).
    ValidationError
        Required files or columns of a data package are missing, listed together.
    """
    path = Path(source)
    resolved = _resolve_mapping(mapping, taxonomy)
    if path.is_dir():
        services, problems = _read_package(path)
    elif path.is_file():
        services, problems = _services_from_json(_read_json_file(path), str(path))
    else:
        raise CoverageMapError(f"{path}: not found (give an ORUK .json file or a CSV data package folder)")
    return _assemble(services, problems, resolved, str(path))


def import_services(
    records: object, *, mapping: OrukMapping | str | Path | None = None, source: str = "services",
    taxonomy: Taxonomy | None = None,
) -> OrukImport:
    """Import already-parsed ORUK JSON (a list of services or a paged response)."""
    services, problems = _services_from_json(records, source)
    return _assemble(services, problems, _resolve_mapping(mapping, taxonomy), source)


def fetch_oruk(
    url: str, *, timeout: float = 30.0, max_pages: int = 50, per_page: int = 100, details: bool = True
) -> tuple[list[dict[str, object]], list[Problem]]:
    """Fetch every service from a live ORUK / HSDS API, page by page.

    Parameters
    ----------
    url
        The API base (``https://example.org/api``) or its ``/services`` endpoint.
    timeout
        Seconds to wait for each response.
    max_pages
        Pages fetched at most; when more remain this is reported, never silent.
    per_page
        Services asked for per page (sent as ``per_page``; pages are numbered from 1).
    details
        Fetch ``/services/{id}`` for each listed service that comes without
        ``service_at_locations`` (HSDS 3 list endpoints may omit child objects).

    Returns
    -------
    services, problems
        The service objects, and non-fatal problems (page limit reached, a detail
        request that failed).

    Raises
    ------
    CoverageMapError
        A page cannot be fetched or is not JSON: a partial directory would understate
        provision, so nothing is returned.
    """
    endpoint = _services_endpoint(url)
    problems: list[Problem] = []
    services: list[dict[str, object]] = []
    seen: set[str] = set()
    for page in range(1, max_pages + 1):
        page_url = _with_query(endpoint, page=page, per_page=per_page)
        document = _get_json(page_url, timeout)
        items, more = _page_items(document, page)
        if items is None:
            raise CoverageMapError(f"{page_url}: the response is neither a list of services nor a page "
                                   f"with one of the keys {', '.join(_PAGE_KEYS)}")
        fresh = [item for item in items if isinstance(item, dict) and str(item.get("id", "")) not in seen]
        if items and not fresh:
            problems.append(Problem(page_url, "the page repeats services already fetched; the server seems to "
                                    "ignore the 'page' parameter, so fetching stopped", fatal=False))
            break
        for item in fresh:
            seen.add(str(item.get("id", "")))
        services += fresh
        if not more:
            break
    else:
        problems.append(Problem(endpoint, f"stopped after {max_pages} pages ({len(services)} services) although "
                                "the API reports more; raise --max-pages to fetch them all", fatal=False))
    if details:
        services = [_with_details(item, endpoint, timeout, problems) for item in services]
    return services, problems


def stale_assets(
    assets: pd.DataFrame, *, today: date | str | pd.Timestamp, months: int = 12, unknown_is_stale: bool = True
) -> pd.Series:
    """Which assets' provision was last verified more than ``months`` months before ``today``.

    Parameters
    ----------
    assets
        A table with a ``last_checked`` column (ISO date text or datetimes).
    today
        The reference date (pass it explicitly so results are reproducible).
    months
        The age, in calendar months, beyond which a record is stale.
    unknown_is_stale
        Whether an asset with no (or an unreadable) ``last_checked`` counts as stale:
        provision nobody has verified has, in effect, not been verified in ``months``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``assets``.
    """
    if "last_checked" not in assets.columns:
        raise CoverageMapError("stale_assets needs a 'last_checked' column (ISO dates, e.g. 2024-05-31)")
    checked = pd.to_datetime(assets["last_checked"].astype("object").map(_date_text), errors="coerce",
                             format="%Y-%m-%d")
    cutoff = pd.Timestamp(today).normalize() - pd.DateOffset(months=months)
    stale = (checked < cutoff).to_numpy(dtype=bool)
    if unknown_is_stale:
        stale = stale | checked.isna().to_numpy()
    return pd.Series(stale, index=assets.index, name="stale", dtype=bool)


def _date_text(value: object) -> object:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str) and _DATE_START.match(value.strip()):
        return value.strip()[:10]
    return None


# --------------------------------------------------------------------------- assembling


def _resolve_mapping(mapping: OrukMapping | str | Path | None, taxonomy: Taxonomy | None) -> OrukMapping:
    if isinstance(mapping, OrukMapping):
        return mapping
    return OrukMapping.from_toml(mapping, taxonomy=taxonomy)


def _assemble(services: list[_Service], problems: list[Problem], mapping: OrukMapping, source: str) -> OrukImport:
    rejected: list[dict[str, object]] = []
    rows: list[dict[str, object]] = []
    unmapped: Counter[tuple[str, str, str, str, str]] = Counter()

    def reject(service: _Service, site: _Site | None, reason: str, column: str | None = None,
               value: object = None) -> None:
        at_location = site is not None and site.file and column in ("latitude", "longitude")
        file, row = (site.file, site.row) if at_location and site is not None else (service.file, service.row)
        who = f"service '{service.service_id}'" + (f" at location '{site.location_id}'" if site else "")
        text = None if value is None else str(value)
        problems.append(Problem(file, f"{who}: {reason}; not imported", row=row, column=column, value=text,
                                fatal=False))
        rejected.append({"service_id": service.service_id, "location_id": site.location_id if site else "",
                         "name": service.name, "reason": reason, "field": column or "", "value": text or "",
                         "file": file, "row": row})

    seen_assets: set[str] = set()
    for service in services:
        if not service.service_id:
            reject(service, None, "the service has no id", "id")
            continue
        if not service.name:
            reject(service, None, "the service has no name", "name")
            continue
        status = normalise_label(service.status)
        if mapping.statuses is not None and status and status not in mapping.statuses:
            reject(service, None, f"status '{service.status}' is not one of the statuses imported "
                   f"({', '.join(sorted(mapping.statuses))}; see [options] statuses)", "status", service.status)
            continue
        # Counted only for services that would otherwise be imported, so the list is worth acting on.
        categories, communities, unknown = _map_terms(service.terms, mapping)
        for key in unknown:
            unmapped[key] += 1
        last_checked = _last_checked(service, problems)
        if not service.sites:
            reject(service, None, "the service has no location (online or telephone only?), so it cannot be "
                   "mapped as a point", "service_at_locations")
            continue
        for site in service.sites:
            site_categories, site_communities, site_unknown = _map_terms(site.terms, mapping)
            for key in site_unknown:
                unmapped[key] += 1
            all_categories = tuple(dict.fromkeys((*categories, *site_categories)))
            all_communities = tuple(dict.fromkeys((*communities, *site_communities)))
            reasons: list[tuple[str, str, object]] = []
            coordinates = _coordinates(service, site, mapping, problems)
            if isinstance(coordinates, list):
                reasons += [(bad.reason, bad.column, bad.value) for bad in coordinates]
            if not all_categories:
                terms = "; ".join(sorted({t.name or t.code for t in (*service.terms, *site.terms)})) or "none"
                reason = ("no taxonomy term, eligibility or attribute maps to a need category "
                          "(add its terms to [categories] in the mapping file)")
                reasons.append((reason, "taxonomy_terms", terms))
            if reasons or isinstance(coordinates, list):
                for reason, column, value in reasons:
                    reject(service, site, reason, column, value)
                continue
            latitude, longitude = coordinates
            asset_id = f"{service.service_id}@{site.location_id}"
            if asset_id in seen_assets:
                reject(service, site, "the service is linked to this location more than once", "location_id",
                       site.location_id)
                continue
            seen_assets.add(asset_id)
            rows.append({
                "asset_id": asset_id, "name": service.name, "categories": ";".join(all_categories),
                "communities": ";".join(all_communities), "reach": mapping.reach,
                "latitude": latitude, "longitude": longitude, "service_id": service.service_id,
                "location_id": site.location_id, "organization": service.organization,
                "last_checked": last_checked, "source": source, "status": service.status,
                "location_name": site.location_name, "postcode": site.postcode, "url": service.url,
            })
    return OrukImport(
        assets=_assets_frame(rows),
        rejected=pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS)).astype({"row": "Int64"}),
        unmapped=_unmapped_frame(unmapped),
        problems=tuple(problems),
        services=len(services),
        source=source,
    )


def _map_terms(
    terms: Iterable[Term], mapping: OrukMapping
) -> tuple[tuple[str, ...], tuple[str, ...], set[tuple[str, str, str, str, str]]]:
    categories: list[str] = []
    communities: list[str] = []
    unknown: set[tuple[str, str, str, str, str]] = set()
    for term in terms:
        term_categories, term_communities, known = mapping.map_term(term)
        categories += term_categories
        communities += term_communities
        if not known:
            unknown.add((term.name, term.code, term.taxonomy, term.value, term.field))
    return tuple(dict.fromkeys(categories)), tuple(dict.fromkeys(communities)), unknown


def _assets_frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=list(ASSET_COLUMNS))
    for column in ASSET_COLUMNS:
        if column not in ("latitude", "longitude"):
            frame[column] = frame[column].astype("str")
    frame = frame.astype({"latitude": "float64", "longitude": "float64"})
    points = shapely.points(frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, index=frame.index), crs=DISPLAY_CRS)


def _unmapped_frame(counts: Counter[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    records = [(*key, count) for key, count in counts.items()]
    frame = pd.DataFrame(records, columns=list(UNMAPPED_COLUMNS))
    frame = frame.astype({"services": "int64"})
    return frame.sort_values(["services", "term", "code"], ascending=[False, True, True],
                             ignore_index=True)


@dataclass(frozen=True)
class _Unusable:
    reason: str
    column: str
    value: str


def _coordinates(
    service: _Service, site: _Site, mapping: OrukMapping, problems: list[Problem]
) -> tuple[float, float] | list[_Unusable]:
    """(latitude, longitude), or every reason the location cannot be used."""
    values: dict[str, float] = {}
    unusable: list[_Unusable] = []
    for column, raw, limit in (("latitude", site.latitude, 90.0), ("longitude", site.longitude, 180.0)):
        number = _number(raw)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            unusable.append(_Unusable(f"{column} is missing", column, ""))
        elif number is None:
            unusable.append(_Unusable(f"{column} is not a number", column, str(raw)))
        elif not -limit <= number <= limit:
            unusable.append(_Unusable(f"{column} {number:g} is outside -{limit:g}..{limit:g}", column, str(raw)))
        else:
            values[column] = number
    if unusable:
        return unusable
    latitude, longitude = values["latitude"], values["longitude"]
    if latitude == 0 and longitude == 0:
        return [_Unusable("latitude and longitude are both 0, a placeholder for an unknown position",
                          "latitude", "0")]
    if mapping.check_great_britain:
        lon_min, lat_min, lon_max, lat_max = GB_BOUNDS
        if not (lon_min <= longitude <= lon_max and lat_min <= latitude <= lat_max):
            if lon_min <= latitude <= lon_max and lat_min <= longitude <= lat_max:
                # The asset loader rejects these too; saying so now names the directory record.
                return [_Unusable("latitude and longitude look swapped (Great Britain is at latitude 49.8 to 61, "
                                  "longitude -8.8 to 1.9)", "latitude", f"{latitude:g}, {longitude:g}")]
            file, row = (site.file, site.row) if site.file else (service.file, service.row)
            problems.append(Problem(
                file, f"service '{service.service_id}' at location '{site.location_id}': the point "
                f"({latitude:g}, {longitude:g}) is outside Great Britain; imported, but check it",
                row=row, column="latitude", value=f"{latitude:g}, {longitude:g}", fatal=False))
    return latitude, longitude


def _number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        number = float(raw)
    else:
        try:
            number = float(str(raw).strip())
        except ValueError:
            return None
    return number if np.isfinite(number) else None


def _last_checked(service: _Service, problems: list[Problem]) -> str:
    """The later of ``assured_date`` and ``last_modified`` as an ISO date, or ""."""
    dates: list[date] = []
    for column, raw in (("assured_date", service.assured_date), ("last_modified", service.last_modified)):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        text = str(raw).strip()
        try:
            if not _DATE_START.match(text):
                raise ValueError(text)
            dates.append(date.fromisoformat(text[:10]))
        except ValueError:
            problems.append(Problem(service.file, f"service '{service.service_id}': {column} is not a date "
                                    "(expected e.g. 2024-05-31); ignored", row=service.row, column=column,
                                    value=text, fatal=False))
    return max(dates).isoformat() if dates else ""


# --------------------------------------------------------------------------- JSON


def _read_json_file(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CoverageMapError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    return _parse_json(raw, str(path))


def _parse_json(raw: bytes, where: str) -> object:
    if not raw.strip():
        raise CoverageMapError(f"{where}: empty; expected ORUK / HSDS JSON")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise CoverageMapError(f"{where}: not UTF-8 text, so not ORUK / HSDS JSON (is it a zip or a "
                               "spreadsheet?)") from exc
    except json.JSONDecodeError as exc:
        raise CoverageMapError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column "
                               f"{exc.colno}") from exc


def _service_list(document: object, where: str) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _PAGE_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
        if "id" in document and ("name" in document or "service_at_locations" in document):
            return [document]
    raise CoverageMapError(f"{where}: expected a list of ORUK services, or an object with a "
                           f"{' / '.join(_PAGE_KEYS)} list of them")


def _services_from_json(document: object, where: str) -> tuple[list[_Service], list[Problem]]:
    problems: list[Problem] = []
    services: list[_Service] = []
    for number, record in enumerate(_service_list(document, where), start=1):
        if not isinstance(record, dict):
            problems.append(Problem(where, f"record {number} is not a service object; skipped", row=number,
                                    value=_short(record), fatal=False))
            continue
        services.append(_service_from_json(record, where, number))
    return services, problems


def _service_from_json(record: Mapping[str, object], where: str, number: int) -> _Service:
    organization = record.get("organization")
    org_name = _text(organization.get("name")) if isinstance(organization, dict) else ""
    service = _Service(
        service_id=_text(record.get("id")),
        name=_text(record.get("name")),
        organization=org_name or _text(record.get("organization_id")),
        status=_text(record.get("status")),
        url=_text(record.get("url")),
        assured_date=record.get("assured_date"),
        last_modified=record.get("last_modified"),
        terms=_json_terms(record),
        file=where,
        row=number,
    )
    for link in _dicts(record.get("service_at_locations")):
        nested = link.get("location")
        location: dict[str, object] = nested if isinstance(nested, dict) else {}
        location_id = _text(location.get("id")) or _text(link.get("location_id")) or _text(link.get("id"))
        service.sites.append(_Site(
            location_id=location_id,
            latitude=location.get("latitude"),
            longitude=location.get("longitude"),
            location_name=_text(location.get("name")),
            postcode=_postcode(location),
            terms=[*_attribute_terms(link.get("attributes"))],
        ))
    return service


def _json_terms(record: Mapping[str, object]) -> list[Term]:
    terms = list(_attribute_terms(record.get("attributes")))
    for item in _dicts(record.get("taxonomy_terms")):
        terms.append(_term(item, "taxonomy_terms"))
    for item in _dicts(record.get("service_taxonomys")):
        taxonomy = item.get("taxonomy")
        if isinstance(taxonomy, dict):
            terms.append(_term(taxonomy, "service_taxonomys"))
    for key in ("eligibilitys", "eligibility", "eligibilities"):
        value = record.get(key)
        entries: list[object] = value if isinstance(value, list) else [value] if value else []
        for entry in entries:
            if isinstance(entry, str) and entry.strip():
                terms.append(Term(name=entry.strip(), field="eligibility"))
            elif isinstance(entry, dict):
                text = _text(entry.get("eligibility")) or _text(entry.get("name"))
                if text:
                    terms.append(Term(name=text, field="eligibility"))
                for taxonomy in _dicts(entry.get("taxonomys")):
                    terms.append(_term(taxonomy, "eligibility"))
    return [term for term in terms if term.name or term.code]


def _attribute_terms(value: object) -> Iterable[Term]:
    for attribute in _dicts(value):
        taxonomy_term = attribute.get("taxonomy_term")
        if isinstance(taxonomy_term, dict):
            term = _term(taxonomy_term, "attributes")
            yield Term(term.name, term.code, term.taxonomy, _text(attribute.get("value")), "attributes")


def _term(item: Mapping[str, object], field_name: str) -> Term:
    detail = item.get("taxonomy_detail")
    taxonomy = _text(item.get("taxonomy")) or _text(item.get("vocabulary"))
    if not taxonomy and isinstance(detail, dict):
        taxonomy = _text(detail.get("name"))
    return Term(name=_text(item.get("name")) or _text(item.get("term")), code=_text(item.get("code")),
                taxonomy=taxonomy, field=field_name)


def _postcode(location: Mapping[str, object]) -> str:
    for key in ("addresses", "physical_addresses", "postal_addresses"):
        for address in _dicts(location.get(key)):
            code = _text(address.get("postal_code"))
            if code:
                return code
    return ""


def _dicts(value: object) -> list[dict[str, object]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and not np.isfinite(value):
        return ""
    return str(value).strip()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- CSV package


_PACKAGE_FILES: Mapping[str, tuple[str, ...]] = {
    "services": ("services.csv", "service.csv"),
    "locations": ("locations.csv", "location.csv"),
    "service_at_location": ("service_at_location.csv", "service_at_locations.csv", "services_at_location.csv"),
    "taxonomy_terms": ("taxonomy_terms.csv", "taxonomy_term.csv"),
    "taxonomies": ("taxonomies.csv",),
    "attributes": ("attributes.csv", "attribute.csv"),
    "organizations": ("organizations.csv", "organization.csv"),
    "addresses": ("addresses.csv", "address.csv", "physical_addresses.csv"),
    "service_taxonomy": ("service_taxonomy.csv", "services_taxonomy.csv"),
    "taxonomy": ("taxonomy.csv",),
    "eligibility": ("eligibility.csv", "eligibilitys.csv"),
}
_REQUIRED_FILES = ("services", "locations", "service_at_location")
_REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "services": ("id", "name"),
    "locations": ("id", "latitude", "longitude"),
    "service_at_location": ("service_id", "location_id"),
    "taxonomy_terms": ("id",),
    "attributes": ("link_id", "taxonomy_term_id"),
    "organizations": ("id", "name"),
    "addresses": ("location_id",),
    "service_taxonomy": ("service_id", "taxonomy_id"),
    "taxonomy": ("id", "name"),
    "eligibility": ("service_id", "eligibility"),
}


def _read_package(folder: Path) -> tuple[list[_Service], list[Problem]]:
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    fatal: list[Problem] = []
    for role, names in _PACKAGE_FILES.items():
        found = next((folder / name for name in names if (folder / name).is_file()), None)
        if found is None:
            if role in _REQUIRED_FILES:
                fatal.append(Problem(str(folder / names[0]), "required file of the HSDS data package is missing "
                                     f"(a package needs {', '.join(_PACKAGE_FILES[r][0] for r in _REQUIRED_FILES)})"))
            continue
        frame, problems = read_any(found)
        fatal += [problem for problem in problems if problem.fatal]
        if any(problem.fatal for problem in problems):
            continue
        frame = frame.rename(columns=lambda name: str(name).strip().lower())
        missing = [column for column in _REQUIRED_COLUMNS.get(role, ()) if column not in frame.columns]
        fatal += [Problem(str(found), f"required column is missing (the header has: {', '.join(map(str, frame.columns[:-1]))})",
                          row=1, column=column) for column in missing]
        tables[role] = frame
        files[role] = str(found)
    if fatal:
        raise ValidationError(fatal)
    return _package_services(tables, files)


def _records(frame: pd.DataFrame | None) -> list[dict[str, object]]:
    if frame is None:
        return []
    return frame.to_dict("records")


def _row(record: Mapping[str, object]) -> int:
    return int(str(record["_source_row"]))


def _cell(record: Mapping[str, object], column: str) -> str:
    return _text(record.get(column))


def _package_services(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> tuple[list[_Service], list[Problem]]:
    problems: list[Problem] = []
    organizations = {_cell(r, "id"): _cell(r, "name") for r in _records(tables.get("organizations"))}
    postcodes: dict[str, str] = {}
    for record in _records(tables.get("addresses")):
        postcodes.setdefault(_cell(record, "location_id"), _cell(record, "postal_code"))
    locations = {_cell(r, "id"): r for r in _records(tables["locations"])}
    taxonomy_names = {_cell(r, "id"): _cell(r, "name") for r in _records(tables.get("taxonomies"))}
    terms_by_id: dict[str, Term] = {}
    for record in _records(tables.get("taxonomy_terms")):
        taxonomy = (_cell(record, "taxonomy") or _cell(record, "vocabulary")
                    or taxonomy_names.get(_cell(record, "taxonomy_id"), ""))
        terms_by_id[_cell(record, "id")] = Term(name=_cell(record, "name") or _cell(record, "term"),
                                                code=_cell(record, "code"), taxonomy=taxonomy)
    for record in _records(tables.get("taxonomy")):
        terms_by_id.setdefault(_cell(record, "id"), Term(name=_cell(record, "name"),
                                                         taxonomy=_cell(record, "vocabulary")))

    services: dict[str, _Service] = {}
    order: list[_Service] = []
    for record in _records(tables["services"]):
        service = _Service(
            service_id=_cell(record, "id"), name=_cell(record, "name"),
            organization=organizations.get(_cell(record, "organization_id"), "") or _cell(record, "organization_id"),
            status=_cell(record, "status"), url=_cell(record, "url"),
            assured_date=_cell(record, "assured_date"), last_modified=_cell(record, "last_modified"),
            file=files["services"], row=_row(record),
        )
        order.append(service)
        if service.service_id in services:
            problems.append(Problem(files["services"], f"service id '{service.service_id}' appears more than once; "
                                    "the first is used", row=service.row, column="id", value=service.service_id,
                                    fatal=False))
            order.pop()
            continue
        services[service.service_id] = service

    sites_by_link: dict[str, _Site] = {}
    for record in _records(tables["service_at_location"]):
        service_id, location_id = _cell(record, "service_id"), _cell(record, "location_id")
        row = _row(record)
        file = files["service_at_location"]
        if service_id not in services:
            problems.append(Problem(file, f"links unknown service '{service_id}' to location '{location_id}'; "
                                    "ignored", row=row, column="service_id", value=service_id, fatal=False))
            continue
        location = locations.get(location_id)
        if location is None:
            problems.append(Problem(file, f"service '{service_id}' is linked to location '{location_id}', which "
                                    "is not in locations.csv; not imported", row=row, column="location_id",
                                    value=location_id, fatal=False))
            continue
        site = _Site(location_id=location_id, latitude=_cell(location, "latitude"),
                     longitude=_cell(location, "longitude"), location_name=_cell(location, "name"),
                     postcode=postcodes.get(location_id, ""), file=files["locations"],
                     row=_row(location))
        services[service_id].sites.append(site)
        if _cell(record, "id"):
            sites_by_link[_cell(record, "id")] = site

    for record in _records(tables.get("attributes")):
        link_id, term_id = _cell(record, "link_id"), _cell(record, "taxonomy_term_id")
        target: list[Term] | None = None
        if link_id in services:
            target = services[link_id].terms
        elif link_id in sites_by_link:
            target = sites_by_link[link_id].terms
        if target is None:
            continue  # attributes of organisations, locations, phones... carry no need category
        term = terms_by_id.get(term_id)
        if term is None:
            problems.append(Problem(files["attributes"], f"refers to taxonomy term '{term_id}', which is not in "
                                    "taxonomy_terms.csv; ignored", row=_row(record),
                                    column="taxonomy_term_id", value=term_id, fatal=False))
            continue
        target.append(Term(term.name, term.code, term.taxonomy, _cell(record, "value"), "attributes"))
    for record in _records(tables.get("service_taxonomy")):
        tagged = services.get(_cell(record, "service_id"))
        known_term = terms_by_id.get(_cell(record, "taxonomy_id"))
        if tagged is not None and known_term is not None:
            tagged.terms.append(Term(known_term.name, known_term.code, known_term.taxonomy, "", "service_taxonomys"))
    for record in _records(tables.get("eligibility")):
        tagged = services.get(_cell(record, "service_id"))
        text = _cell(record, "eligibility")
        if tagged is not None and text:
            tagged.terms.append(Term(name=text, field="eligibility"))
    return order, problems


# --------------------------------------------------------------------------- HTTP


def _services_endpoint(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CoverageMapError(f"{url}: not an http(s) URL of an ORUK API")
    path = parts.path.rstrip("/")
    if not path.endswith("/services"):
        path += "/services"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _with_query(url: str, **params: object) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update({key: str(value) for key, value in params.items()})
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _get_json(url: str, timeout: float) -> object:
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": f"coverage-map/{__version__}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # the scheme was checked: http(s) only
            raw = response.read(_MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise CoverageMapError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise CoverageMapError(f"{url}: cannot fetch: {exc.reason}") from exc
    except TimeoutError as exc:
        raise CoverageMapError(f"{url}: no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise CoverageMapError(f"{url}: cannot fetch: {exc}") from exc
    if len(raw) > _MAX_RESPONSE_BYTES:
        raise CoverageMapError(f"{url}: the response is larger than {_MAX_RESPONSE_BYTES // 2**20} MB")
    return _parse_json(raw, url)


def _page_items(document: object, page: int) -> tuple[list[object] | None, bool]:
    """The services on a page, and whether more pages follow."""
    if isinstance(document, list):
        return document, False
    if not isinstance(document, dict):
        return None, False
    items = next((document[key] for key in _PAGE_KEYS if isinstance(document.get(key), list)), None)
    if items is None:
        return None, False
    for key in ("last", "last_page", "lastPage"):
        if isinstance(document.get(key), bool):
            return items, not document[key] and bool(items)
    for key in ("totalPages", "total_pages", "pages"):
        total = document.get(key)
        if isinstance(total, int) and not isinstance(total, bool):
            return items, page < total and bool(items)
    # No paging information: keep asking until a page comes back empty.
    return items, bool(items) and isinstance(document, dict)


def _with_details(
    item: dict[str, object], endpoint: str, timeout: float, problems: list[Problem]
) -> dict[str, object]:
    if "service_at_locations" in item or not _text(item.get("id")):
        return item
    url = f"{endpoint}/{urllib.parse.quote(_text(item.get('id')), safe='')}"
    try:
        detail = _get_json(url, timeout)
    except CoverageMapError as exc:
        problems.append(Problem(url, f"cannot fetch the service's details, so its locations are unknown: {exc}",
                                fatal=False))
        return item
    if not isinstance(detail, dict):
        problems.append(Problem(url, "the service's details are not a JSON object", fatal=False))
        return item
    return {**item, **detail}


def summary_lines(result: OrukImport, *, limit: int = 50) -> list[str]:
    """Human-readable lines: counts, every rejection and warning, and the unmapped terms."""
    imported = result.assets["service_id"].nunique() if len(result.assets) else 0
    rejected = len(result.rejected.drop_duplicates(["service_id", "location_id"]))
    headline = (f"Read {result.services:,} service{'s' if result.services != 1 else ''} from {result.source}: "
                f"{len(result.assets):,} asset points ({imported:,} services) imported; {rejected:,} rejected "
                "(services, or services at a location).")
    lines = [headline]
    if result.problems:
        lines.append(f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}:")
        lines += [f"  - {problem}" for problem in result.problems[:limit]]
        if len(result.problems) > limit:
            lines.append(f"  ... and {len(result.problems) - limit} more (see the rejected file)")
    if len(result.unmapped):
        lines.append(f"{len(result.unmapped)} unmapped term{'s' if len(result.unmapped) != 1 else ''} "
                     "(services carrying each); add them to the mapping file to use them:")
        for row in result.unmapped.head(limit).itertuples(index=False):
            detail = ", ".join(f"{key} {value!r}" for key, value in
                               (("code", row.code), ("taxonomy", row.taxonomy), ("value", row.value)) if value)
            lines.append(f"  {row.services:>5}  {row.term or row.code!r} [{row.field}]"
                         + (f" ({detail})" if detail else ""))
    return lines

