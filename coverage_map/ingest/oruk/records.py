"""Services and their locations as read from an ORUK directory: a JSON export or a CSV data package.

Parsing only: nothing here maps terms or checks coordinates
(:mod:`coverage_map.ingest.oruk.read` does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import CoverageMapError, Problem, ValidationError
from ..readers import read_any
from .mapping import Term

_PAGE_KEYS = ("content", "contents", "items", "services", "data", "results")


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
        raise CoverageMapError(
            f"{where}: not UTF-8 text, so not ORUK / HSDS JSON (is it a zip or a spreadsheet?)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise CoverageMapError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc


def _service_list(document: object, where: str) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _PAGE_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
        if "id" in document and ("name" in document or "service_at_locations" in document):
            return [document]
    raise CoverageMapError(
        f"{where}: expected a list of ORUK services, or an object with a {' / '.join(_PAGE_KEYS)} list of them"
    )


def _services_from_json(document: object, where: str) -> tuple[list[_Service], list[Problem]]:
    problems: list[Problem] = []
    services: list[_Service] = []
    for number, record in enumerate(_service_list(document, where), start=1):
        if not isinstance(record, dict):
            problems.append(
                Problem(
                    where,
                    f"record {number} is not a service object; skipped",
                    row=number,
                    value=_short(record),
                    fatal=False,
                )
            )
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
        service.sites.append(
            _Site(
                location_id=location_id,
                latitude=location.get("latitude"),
                longitude=location.get("longitude"),
                location_name=_text(location.get("name")),
                postcode=_postcode(location),
                terms=[*_attribute_terms(link.get("attributes"))],
            )
        )
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
    return Term(
        name=_text(item.get("name")) or _text(item.get("term")),
        code=_text(item.get("code")),
        taxonomy=taxonomy,
        field=field_name,
    )


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
    "locations": ("id",),  # no latitude/longitude: placed from a postcode, or reported
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
                fatal.append(
                    Problem(
                        str(folder / names[0]),
                        "required file of the HSDS data package is missing "
                        f"(a package needs {', '.join(_PACKAGE_FILES[r][0] for r in _REQUIRED_FILES)})",
                    )
                )
            continue
        frame, problems = read_any(found)
        fatal += [problem for problem in problems if problem.fatal]
        if any(problem.fatal for problem in problems):
            continue
        frame = frame.rename(columns=lambda name: str(name).strip().lower())
        missing = [column for column in _REQUIRED_COLUMNS.get(role, ()) if column not in frame.columns]
        fatal += [
            Problem(
                str(found),
                f"required column is missing (the header has: {', '.join(map(str, frame.columns[:-1]))})",
                row=1,
                column=column,
            )
            for column in missing
        ]
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
    services, order = _package_service_rows(tables, files, problems)
    sites_by_link = _package_sites(tables, files, services, problems)
    _package_service_terms(tables, files, services, sites_by_link, problems)
    return order, problems


def _package_service_rows(
    tables: dict[str, pd.DataFrame], files: dict[str, str], problems: list[Problem]
) -> tuple[dict[str, _Service], list[_Service]]:
    """The services by id (a repeated id: the first), and every service row in file order."""
    organizations = {_cell(r, "id"): _cell(r, "name") for r in _records(tables.get("organizations"))}
    services: dict[str, _Service] = {}
    order: list[_Service] = []
    for record in _records(tables["services"]):
        service = _Service(
            service_id=_cell(record, "id"),
            name=_cell(record, "name"),
            organization=organizations.get(_cell(record, "organization_id"), "") or _cell(record, "organization_id"),
            status=_cell(record, "status"),
            url=_cell(record, "url"),
            assured_date=_cell(record, "assured_date"),
            last_modified=_cell(record, "last_modified"),
            file=files["services"],
            row=_row(record),
        )
        order.append(service)  # a repeated id is reported, and not imported, by the assembly
        services.setdefault(service.service_id, service)
        service.terms += _taxonomy_ids(record)
    return services, order


def _taxonomy_ids(record: Mapping[str, object]) -> list[Term]:
    """HSDS 1.x ``services.taxonomy_ids``: term ids separated by commas, semicolons or spaces (resolved later)."""
    text = _cell(record, "taxonomy_ids")
    ids = [item for item in text.replace(";", ",").replace(" ", ",").split(",") if item]
    return [Term(name="", code=item, field="taxonomy_ids") for item in ids]


def _package_sites(
    tables: dict[str, pd.DataFrame], files: dict[str, str], services: dict[str, _Service], problems: list[Problem]
) -> dict[str, _Site]:
    """Each service's sites (from service_at_location and locations); returns the sites by link id."""
    postcodes: dict[str, str] = {}
    for record in _records(tables.get("addresses")):
        postcodes.setdefault(_cell(record, "location_id"), _cell(record, "postal_code"))
    locations = {_cell(r, "id"): r for r in _records(tables["locations"])}
    sites_by_link: dict[str, _Site] = {}
    for record in _records(tables["service_at_location"]):
        service_id, location_id = _cell(record, "service_id"), _cell(record, "location_id")
        row = _row(record)
        file = files["service_at_location"]
        if service_id not in services:
            problems.append(
                Problem(
                    file,
                    f"links unknown service '{service_id}' to location '{location_id}'; ignored",
                    row=row,
                    column="service_id",
                    value=service_id,
                    fatal=False,
                )
            )
            continue
        location = locations.get(location_id)
        if location is None:
            problems.append(
                Problem(
                    file,
                    f"service '{service_id}' is linked to location '{location_id}', which "
                    "is not in locations.csv; not imported",
                    row=row,
                    column="location_id",
                    value=location_id,
                    fatal=False,
                )
            )
            continue
        site = _Site(
            location_id=location_id,
            latitude=_cell(location, "latitude"),
            longitude=_cell(location, "longitude"),
            location_name=_cell(location, "name"),
            postcode=postcodes.get(location_id, ""),
            file=files["locations"],
            row=_row(location),
        )
        services[service_id].sites.append(site)
        if _cell(record, "id"):
            sites_by_link[_cell(record, "id")] = site

    return sites_by_link


def _package_service_terms(
    tables: dict[str, pd.DataFrame],
    files: dict[str, str],
    services: dict[str, _Service],
    sites_by_link: dict[str, _Site],
    problems: list[Problem],
) -> None:
    """Tag the services and their sites with their taxonomy terms and eligibility."""
    terms_by_id = _package_terms(tables)
    for service in services.values():  # HSDS 1.x taxonomy_ids: ids of taxonomy.csv / taxonomy_terms.csv rows
        service.terms = [
            _resolved(term, terms_by_id) if term.field == "taxonomy_ids" else term for term in service.terms
        ]
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
            problems.append(
                Problem(
                    files["attributes"],
                    f"refers to taxonomy term '{term_id}', which is not in taxonomy_terms.csv; ignored",
                    row=_row(record),
                    column="taxonomy_term_id",
                    value=term_id,
                    fatal=False,
                )
            )
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


def _resolved(term: Term, terms_by_id: Mapping[str, Term]) -> Term:
    known = terms_by_id.get(term.code)
    if known is None:
        return term  # an id the package does not define: kept as a code, so it shows in the unmapped list
    return Term(known.name, known.code, known.taxonomy, "", "taxonomy_ids")


def _package_terms(tables: dict[str, pd.DataFrame]) -> dict[str, Term]:
    """The taxonomy terms by id (taxonomy_terms, then the older taxonomy table)."""
    taxonomy_names = {_cell(r, "id"): _cell(r, "name") for r in _records(tables.get("taxonomies"))}
    terms_by_id: dict[str, Term] = {}
    for record in _records(tables.get("taxonomy_terms")):
        taxonomy = (
            _cell(record, "taxonomy")
            or _cell(record, "vocabulary")
            or taxonomy_names.get(_cell(record, "taxonomy_id"), "")
        )
        terms_by_id[_cell(record, "id")] = Term(
            name=_cell(record, "name") or _cell(record, "term"), code=_cell(record, "code"), taxonomy=taxonomy
        )
    for record in _records(tables.get("taxonomy")):
        terms_by_id.setdefault(
            _cell(record, "id"), Term(name=_cell(record, "name"), taxonomy=_cell(record, "vocabulary"))
        )

    return terms_by_id
