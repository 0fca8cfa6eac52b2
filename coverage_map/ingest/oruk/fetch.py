"""A live ORUK API fetched page by page with the standard library (:func:`fetch_oruk`)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from ... import __version__
from ...errors import CoverageMapError, Problem
from .records import _PAGE_KEYS, _parse_json, _text

#: Largest HTTP response read, so that a runaway server cannot exhaust memory.
_MAX_RESPONSE_BYTES = 200 * 1024 * 1024


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
            raise CoverageMapError(
                f"{page_url}: the response is neither a list of services nor a page "
                f"with one of the keys {', '.join(_PAGE_KEYS)}"
            )
        fresh = [item for item in items if isinstance(item, dict) and str(item.get("id", "")) not in seen]
        if items and not fresh:
            problems.append(
                Problem(
                    page_url,
                    "the page repeats services already fetched; the server seems to "
                    "ignore the 'page' parameter, so fetching stopped",
                    fatal=False,
                )
            )
            break
        for item in fresh:
            seen.add(str(item.get("id", "")))
        services += fresh
        if not more:
            break
    else:
        problems.append(
            Problem(
                endpoint,
                f"stopped after {max_pages} pages ({len(services)} services) although "
                "the API reports more; raise --max-pages to fetch them all",
                fatal=False,
            )
        )
    if details:
        services = [_with_details(item, endpoint, timeout, problems) for item in services]
    return services, problems


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


def _with_details(item: dict[str, object], endpoint: str, timeout: float, problems: list[Problem]) -> dict[str, object]:
    if "service_at_locations" in item or not _text(item.get("id")):
        return item
    url = f"{endpoint}/{urllib.parse.quote(_text(item.get('id')), safe='')}"
    try:
        detail = _get_json(url, timeout)
    except CoverageMapError as exc:
        problems.append(
            Problem(url, f"cannot fetch the service's details, so its locations are unknown: {exc}", fatal=False)
        )
        return item
    if not isinstance(detail, dict):
        problems.append(Problem(url, "the service's details are not a JSON object", fatal=False))
        return item
    return {**item, **detail}
