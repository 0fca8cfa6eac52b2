"""An ORUK directory as an asset table: :func:`read_oruk` and :func:`import_services`.

Each service *at* a location becomes one asset; anything that cannot be imported is listed
in :attr:`OrukImport.rejected`, and terms the mapping does not know in
:attr:`OrukImport.unmapped`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ...config import DISPLAY_CRS
from ...errors import CoverageMapError, Problem
from ...taxonomy import Taxonomy, normalise_label
from .mapping import OrukMapping, Term
from .postcodes import PostcodeIndex, read_postcodes
from .records import _read_json_file, _read_package, _Service, _services_from_json, _Site

#: Longitude/latitude box around Great Britain (with Scilly, Shetland and a margin).
GB_BOUNDS = (-8.8, 49.8, 1.9, 61.0)
#: Columns of the asset file written, in order (geometry last).
ASSET_COLUMNS = (
    "asset_id",
    "name",
    "categories",
    "communities",
    "reach",
    "latitude",
    "longitude",
    "service_id",
    "location_id",
    "organization",
    "last_checked",
    "source",
    "status",
    "location_name",
    "postcode",
    "url",
)
REJECTED_COLUMNS = ("service_id", "location_id", "name", "reason", "field", "value", "file", "row")
UNMAPPED_COLUMNS = ("term", "code", "taxonomy", "value", "field", "services")
_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Texts directories write for "no value"; a value like these means the field was left empty.
NO_VALUE_WORDS = frozenset({"none", "null", "nil", "nan", "n/a", "na", "-", "unknown", "undefined"})


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
    #: Service locations placed from their postcode (no coordinates given).
    located_from_postcode: int = 0
    #: Service locations without coordinates that could not be placed, by reason.
    unplaced: Mapping[str, int] = field(default_factory=dict)


def read_oruk(
    source: str | Path,
    *,
    mapping: OrukMapping | str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    postcodes: PostcodeIndex | str | Path | None = None,
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
    postcodes
        An ONS Postcode Directory or Code-Point Open CSV (or a :class:`PostcodeIndex`), to
        place locations that give a postcode but no coordinates
        (:func:`~coverage_map.ingest.oruk.postcodes.read_postcodes`).

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
    return _assemble(services, problems, resolved, str(path), _postcode_index(postcodes))


def import_services(
    records: object,
    *,
    mapping: OrukMapping | str | Path | None = None,
    source: str = "services",
    taxonomy: Taxonomy | None = None,
    postcodes: PostcodeIndex | str | Path | None = None,
) -> OrukImport:
    """Import already-parsed ORUK JSON (a list of services or a paged response)."""
    services, problems = _services_from_json(records, source)
    return _assemble(services, problems, _resolve_mapping(mapping, taxonomy), source, _postcode_index(postcodes))


def _postcode_index(postcodes: PostcodeIndex | str | Path | None) -> PostcodeIndex | None:
    if postcodes is None or isinstance(postcodes, PostcodeIndex):
        return postcodes
    return read_postcodes(postcodes)


def _resolve_mapping(mapping: OrukMapping | str | Path | None, taxonomy: Taxonomy | None) -> OrukMapping:
    if isinstance(mapping, OrukMapping):
        return mapping
    return OrukMapping.from_toml(mapping, taxonomy=taxonomy)


def _assemble(
    services: list[_Service],
    problems: list[Problem],
    mapping: OrukMapping,
    source: str,
    postcodes: PostcodeIndex | None = None,
) -> OrukImport:
    assembly = _Assembly(mapping, source, problems, postcodes)
    for service in services:
        assembly.add_service(service)
    return OrukImport(
        assets=_assets_frame(assembly.rows),
        rejected=pd.DataFrame(assembly.rejected, columns=list(REJECTED_COLUMNS)).astype({"row": "Int64"}),
        unmapped=_unmapped_frame(assembly.unmapped),
        problems=tuple(problems),
        services=len(services),
        source=source,
        located_from_postcode=assembly.located,
        unplaced=dict(assembly.unplaced),
    )


class _Assembly:
    """The import as it goes: an asset row per service at a location, the rejections and the unmapped terms."""

    def __init__(
        self, mapping: OrukMapping, source: str, problems: list[Problem], postcodes: PostcodeIndex | None = None
    ) -> None:
        self.mapping = mapping
        self.postcodes = postcodes
        self.located = 0
        self.unplaced: Counter[str] = Counter()
        self.first_seen: dict[str, _Service] = {}
        self.source = source
        self.problems = problems
        self.rows: list[dict[str, object]] = []
        self.rejected: list[dict[str, object]] = []
        self.unmapped: Counter[tuple[str, str, str, str, str]] = Counter()
        self.seen_assets: set[str] = set()

    def add_service(self, service: _Service) -> None:
        """One service: rejected as a whole, or each of its locations added."""
        if not service.service_id:
            self.reject(service, None, "the service has no id", "id")
            return
        first = self.first_seen.setdefault(service.service_id, service)
        if first is not service:
            where = f"row {first.row}" if first.row is not None else "the first"
            self.problems.append(
                Problem(
                    service.file,
                    f"service id '{service.service_id}' appears more than once: the first "
                    f"({where}) is kept, this one is not imported",
                    row=service.row,
                    column="id",
                    value=service.service_id,
                    fatal=False,
                )
            )
            self.rejected.append(
                _rejected_row(
                    service,
                    None,
                    f"duplicate service id (the first, {where}, is kept)",
                    "id",
                    service.service_id,
                    service.file,
                    service.row,
                )
            )
            return
        if not service.name:
            self.reject(service, None, "the service has no name", "name")
            return
        if normalise_label(service.status) in NO_VALUE_WORDS:
            self.problems.append(
                Problem(
                    service.file,
                    f"service '{service.service_id}': status '{service.status}' means no status "
                    "was given; imported like a service without a status",
                    row=service.row,
                    column="status",
                    value=service.status,
                    fatal=False,
                )
            )
            service.status = ""
        status = normalise_label(service.status)
        if self.mapping.statuses is not None and status and status not in self.mapping.statuses:
            self.reject(
                service,
                None,
                f"status '{service.status}' is not one of the statuses imported "
                f"({', '.join(sorted(self.mapping.statuses))}; see [options] statuses)",
                "status",
                service.status,
            )
            return
        # Counted only for services that would otherwise be imported, so the list is worth acting on.
        categories, communities, unknown = _map_terms(service.terms, self.mapping)
        for key in unknown:
            self.unmapped[key] += 1
        last_checked = _last_checked(service, self.problems)
        if not service.sites:
            self.reject(
                service,
                None,
                "the service has no location (online or telephone only?), so it cannot be mapped as a point",
                "service_at_locations",
            )
            return
        for site in service.sites:
            self.add_site(service, site, categories, communities, last_checked)

    def add_site(
        self,
        service: _Service,
        site: _Site,
        categories: tuple[str, ...],
        communities: tuple[str, ...],
        last_checked: str,
    ) -> None:
        """The service at one location: an asset row, or every reason it cannot be one."""
        site_categories, site_communities, site_unknown = _map_terms(site.terms, self.mapping)
        for key in site_unknown:
            self.unmapped[key] += 1
        all_categories = tuple(dict.fromkeys((*categories, *site_categories)))
        all_communities = tuple(dict.fromkeys((*communities, *site_communities)))
        reasons: list[tuple[str, str, object]] = []
        coordinates = self.place(service, site)
        if isinstance(coordinates, list):
            reasons += [(bad.reason, bad.column, bad.value) for bad in coordinates]
        if not all_categories:
            terms = "; ".join(sorted({t.name or t.code for t in (*service.terms, *site.terms)})) or "none"
            reason = (
                "no taxonomy term, eligibility or attribute maps to a need category "
                "(add its terms to [categories] in the mapping file)"
            )
            reasons.append((reason, "taxonomy_terms", terms))
        if reasons or isinstance(coordinates, list):
            for reason, column, value in reasons:
                self.reject(service, site, reason, column, value)
            return
        latitude, longitude = coordinates
        asset_id = f"{service.service_id}@{site.location_id}"
        if asset_id in self.seen_assets:
            self.reject(
                service, site, "the service is linked to this location more than once", "location_id", site.location_id
            )
            return
        self.seen_assets.add(asset_id)
        self.rows.append(
            {
                "asset_id": asset_id,
                "name": service.name,
                "categories": ";".join(all_categories),
                "communities": ";".join(all_communities),
                "reach": self.mapping.reach,
                "latitude": latitude,
                "longitude": longitude,
                "service_id": service.service_id,
                "location_id": site.location_id,
                "organization": service.organization,
                "last_checked": last_checked,
                "source": self.source,
                "status": service.status,
                "location_name": site.location_name,
                "postcode": site.postcode,
                "url": service.url,
            }
        )

    def place(self, service: _Service, site: _Site) -> tuple[float, float] | list[_Unusable]:
        """The site's coordinates; for a site without any, its postcode's point when a postcode file is given."""
        if not (_absent(site.latitude) and _absent(site.longitude)):
            return _coordinates(service, site, self.mapping, self.problems)
        if not site.postcode:
            self.unplaced["no coordinates and no postcode"] += 1
            return _coordinates(service, site, self.mapping, self.problems)  # each missing field, as ever
        given = "" if _blank(site.latitude) else f" (given as '{site.latitude}', which means no value)"
        if self.postcodes is None:
            reason = (
                f"latitude and longitude are missing{given}; its postcode '{site.postcode}' could place it: give "
                "an ONS Postcode Directory or Code-Point Open file with --postcodes"
            )
            key = "no postcode file given"
        else:
            point = self.postcodes.locate(site.postcode)
            if point is not None:
                self.located += 1
                site.latitude, site.longitude = point
                return _coordinates(service, site, self.mapping, self.problems)
            reason = f"no coordinates, and its postcode '{site.postcode}' is not in {self.postcodes.source}"
            key = "postcode not in the postcode file"
        self.unplaced[key] += 1
        return [_Unusable(reason, "latitude", site.postcode)]

    def reject(
        self, service: _Service, site: _Site | None, reason: str, column: str | None = None, value: object = None
    ) -> None:
        """A service (at a location) not imported: a problem and a row of the rejected table."""
        at_location = site is not None and site.file and column in ("latitude", "longitude")
        file, row = (site.file, site.row) if at_location and site is not None else (service.file, service.row)
        who = f"service '{service.service_id}'" + (f" at location '{site.location_id}'" if site else "")
        text = None if value is None else str(value)
        self.problems.append(
            Problem(file, f"{who}: {reason}; not imported", row=row, column=column, value=text, fatal=False)
        )
        self.rejected.append(_rejected_row(service, site, reason, column, text, file, row))


def _rejected_row(
    service: _Service,
    site: _Site | None,
    reason: str,
    column: str | None,
    value: str | None,
    file: str,
    row: int | None,
) -> dict[str, object]:
    return {
        "service_id": service.service_id,
        "location_id": site.location_id if site else "",
        "name": service.name,
        "reason": reason,
        "field": column or "",
        "value": value or "",
        "file": file,
        "row": row,
    }


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and np.isnan(raw))


def _absent(raw: object) -> bool:
    """No value at all: blank, or a word such as 'none' or 'null' that directories write for 'no value'."""
    return _blank(raw) or (isinstance(raw, str) and raw.strip().lower() in NO_VALUE_WORDS)


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
    return frame.sort_values(["services", "term", "code"], ascending=[False, True, True], ignore_index=True)


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
        elif _absent(raw):
            unusable.append(_Unusable(f"{column} is '{raw}', which means no value was given", column, str(raw)))
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
        return [_Unusable("latitude and longitude are both 0, a placeholder for an unknown position", "latitude", "0")]
    if mapping.check_great_britain:
        lon_min, lat_min, lon_max, lat_max = GB_BOUNDS
        if not (lon_min <= longitude <= lon_max and lat_min <= latitude <= lat_max):
            if lon_min <= latitude <= lon_max and lat_min <= longitude <= lat_max:
                # The asset loader rejects these too; saying so now names the directory record.
                return [
                    _Unusable(
                        "latitude and longitude look swapped (Great Britain is at latitude 49.8 to 61, "
                        "longitude -8.8 to 1.9)",
                        "latitude",
                        f"{latitude:g}, {longitude:g}",
                    )
                ]
            file, row = (site.file, site.row) if site.file else (service.file, service.row)
            problems.append(
                Problem(
                    file,
                    f"service '{service.service_id}' at location '{site.location_id}': the point "
                    f"({latitude:g}, {longitude:g}) is outside Great Britain; imported, but check it",
                    row=row,
                    column="latitude",
                    value=f"{latitude:g}, {longitude:g}",
                    fatal=False,
                )
            )
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
            problems.append(
                Problem(
                    service.file,
                    f"service '{service.service_id}': {column} is not a date (expected e.g. 2024-05-31); ignored",
                    row=service.row,
                    column=column,
                    value=text,
                    fatal=False,
                )
            )
    return max(dates).isoformat() if dates else ""


def summary_lines(result: OrukImport, *, limit: int = 50) -> list[str]:
    """Human-readable lines: counts, every rejection and warning, and the unmapped terms."""
    imported = result.assets["service_id"].nunique() if len(result.assets) else 0
    rejected = len(result.rejected.drop_duplicates(["service_id", "location_id"]))
    headline = (
        f"Read {result.services:,} service{'s' if result.services != 1 else ''} from {result.source}: "
        f"{len(result.assets):,} asset points ({imported:,} services) imported; {rejected:,} rejected "
        "(services, or services at a location)."
    )
    lines = [headline]
    if result.located_from_postcode:
        lines.append(
            f"{result.located_from_postcode:,} service locations without coordinates placed from their postcode."
        )
    if result.unplaced:
        total = sum(result.unplaced.values())
        parts = "; ".join(f"{reason}: {count:,}" for reason, count in sorted(result.unplaced.items()))
        lines.append(f"{total:,} service locations without coordinates could not be placed ({parts}).")
    if result.problems:
        lines.append(f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}:")
        lines += [f"  - {problem}" for problem in result.problems[:limit]]
        if len(result.problems) > limit:
            lines.append(f"  ... and {len(result.problems) - limit} more (see the rejected file)")
    if len(result.unmapped):
        lines.append(
            f"{len(result.unmapped)} unmapped term{'s' if len(result.unmapped) != 1 else ''} "
            "(services carrying each); add them to the mapping file to use them:"
        )
        for row in result.unmapped.head(limit).itertuples(index=False):
            detail = ", ".join(
                f"{key} {value!r}"
                for key, value in (("code", row.code), ("taxonomy", row.taxonomy), ("value", row.value))
                if value
            )
            lines.append(
                f"  {row.services:>5}  {row.term or row.code!r} [{row.field}]" + (f" ({detail})" if detail else "")
            )
    return lines
