"""A live ORUK API fetched page by page, with each service's details (:func:`fetch_oruk`).

``GET <base>/services?page=1&per_page=100``, then the next pages, following the API's own
paging: a ``next`` link when it gives one, else page numbers until the page says it was the
last (HSDS 3 ``last_page``, ORUK v1 ``last``), ``empty`` is true, ``total_pages`` /
``totalPages`` is reached, or a page comes back empty. List endpoints usually leave out a
service's locations, so ``/services/{id}`` is fetched for each service listed without
``service_at_locations`` (or for every service, ``details="all"``), page by page.

Requests go through :class:`~coverage_map.ingest.oruk.client.JsonClient`: rate limited,
retried on HTTP 429, and cached on disk so that an interrupted run resumes.
"""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from ...errors import CoverageMapError, Problem
from .client import DEFAULT_RATE, JsonClient
from .records import _PAGE_KEYS, _text

#: Which services' details are fetched: those listed without locations, all, or none.
Details = Literal["auto", "all", "none"]


def fetch_oruk(
    url: str,
    *,
    timeout: float = 30.0,
    max_pages: int = 50,
    per_page: int = 100,
    details: Details | bool = "auto",
    rate: float = DEFAULT_RATE,
    cache: str | Path | None = None,
    strict: bool = False,
    progress: bool | None = None,
    client: JsonClient | None = None,
) -> tuple[list[dict[str, object]], list[Problem]]:
    """Fetch every service from a live ORUK / HSDS API, page by page, with their details.

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
        ``"auto"`` (or True): fetch ``/services/{id}`` for each listed service that comes
        without ``service_at_locations`` (list endpoints usually leave child objects out);
        ``"all"``: for every service; ``"none"`` (or False): never.
    rate
        Requests per second at most (0: no limit). HTTP 429 answers are waited out as their
        ``Retry-After`` asks.
    cache
        Folder keeping every answer, one file per URL; a run that was interrupted fetches only
        what is missing when run again. Delete the folder to fetch afresh.
    strict
        A service whose details cannot be fetched stops the fetch with an error (for a
        workspace sync, where a half-fetched directory must never replace a whole one),
        rather than being reported and kept without its details.
    progress
        Show a progress bar on stderr; default: when stderr is a terminal.
    client
        A configured :class:`JsonClient` (then ``timeout``, ``rate`` and ``cache`` are its own).

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
    mode = _details_mode(details)
    endpoint = _services_endpoint(url)
    client = client or JsonClient(timeout=timeout, rate=rate, cache=cache)
    problems: list[Problem] = []
    services: list[dict[str, object]] = []
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(desc="ORUK services", unit=" services", file=sys.stderr, disable=not show) as bar:
        for items in _pages(client, endpoint, per_page, max_pages, problems, bar):
            for item in items:
                services.append(_with_details(client, item, endpoint, mode, strict, problems))
                bar.update()
    return services, problems


def _details_mode(details: Details | bool) -> Details:
    if details is True:
        return "auto"
    if details is False:
        return "none"
    if details not in ("auto", "all", "none"):
        raise CoverageMapError(f"details must be 'auto', 'all' or 'none', not {details!r}")
    return details


def _pages(
    client: JsonClient, endpoint: str, per_page: int, max_pages: int, problems: list[Problem], bar: tqdm
) -> Iterator[list[dict[str, object]]]:
    """Each page's services not seen on an earlier page, following the API's paging."""
    seen: set[str] = set()
    page_url = _with_query(endpoint, page=1, per_page=per_page)
    for page in range(1, max_pages + 1):
        document = client.get_json(page_url)
        items = _page_items(document)
        if items is None:
            raise CoverageMapError(
                f"{page_url}: the response is neither a list of services nor a page "
                f"with one of the keys {', '.join(_PAGE_KEYS)}"
            )
        total = _total_items(document)
        if total is not None and bar.total is None:
            bar.total = total
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
            return
        seen.update(str(item.get("id", "")) for item in fresh)
        bar.set_postfix_str(f"page {page}", refresh=False)
        yield fresh
        following = _next_page(document, page, items, page_url, endpoint, per_page)
        if following is None:
            return
        page_url = following
    problems.append(
        Problem(
            endpoint,
            f"stopped after {max_pages} pages ({len(seen)} services) although "
            "the API reports more; raise --max-pages to fetch them all",
            fatal=False,
        )
    )


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


def _page_items(document: object) -> list[object] | None:
    """The services on a page (None: not a page of services)."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    return next((document[key] for key in _PAGE_KEYS if isinstance(document.get(key), list)), None)


def _total_items(document: object) -> int | None:
    if isinstance(document, dict):
        for key in ("total_items", "totalElements", "total", "count"):
            value = document.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


def _next_page(
    document: object, page: int, items: list[object], page_url: str, endpoint: str, per_page: int
) -> str | None:
    """The URL of the page after ``page``, or None when it was the last.

    The API's own word wins: ``last``/``last_page`` (a bool), ``empty``, then
    ``total_pages``/``totalPages``; a ``next`` link is followed when given (on the same
    server only), a null one ends the paging; with no paging information at all, pages are
    asked for until one comes back empty.
    """
    if not isinstance(document, dict) or not items:
        return None
    numbered = _with_query(endpoint, page=page + 1, per_page=per_page)
    link, has_link = _next_link(document)
    for key in ("last", "last_page", "lastPage"):
        if isinstance(document.get(key), bool):
            if document[key]:
                return None
            return _same_server(link, page_url) or numbered
    if document.get("empty") is True:
        return None
    for key in ("totalPages", "total_pages", "pages"):
        total = document.get(key)
        if isinstance(total, int) and not isinstance(total, bool):
            return (_same_server(link, page_url) or numbered) if page < total else None
    if has_link:
        return _same_server(link, page_url)
    return numbered


def _next_link(document: dict[str, object]) -> tuple[str | None, bool]:
    """The ``next`` link (top level, ``links.next`` or HAL ``_links.next.href``) and whether the key was there."""
    for holder in (document, document.get("links"), document.get("_links")):
        if isinstance(holder, dict) and "next" in holder:
            value = holder["next"]
            if isinstance(value, dict):
                value = value.get("href")
            return (value if isinstance(value, str) and value.strip() else None), True
    return None, False


def _same_server(link: str | None, page_url: str) -> str | None:
    """``link`` resolved against the page, if it stays on the page's scheme and server (else None)."""
    if link is None:
        return None
    resolved = urllib.parse.urljoin(page_url, link)
    there, here = urllib.parse.urlsplit(resolved), urllib.parse.urlsplit(page_url)
    return resolved if (there.scheme, there.netloc) == (here.scheme, here.netloc) else None


def _with_details(
    client: JsonClient, item: dict[str, object], endpoint: str, mode: Details, strict: bool, problems: list[Problem]
) -> dict[str, object]:
    if mode == "none" or (mode == "auto" and "service_at_locations" in item) or not _text(item.get("id")):
        return item
    parts = urllib.parse.urlsplit(endpoint)  # the endpoint's query (an API key?) goes on every request
    url = urllib.parse.urlunsplit(
        parts._replace(path=f"{parts.path}/{urllib.parse.quote(_text(item.get('id')), safe='')}")
    )
    try:
        detail = client.get_json(url)
    except CoverageMapError as exc:
        if strict:
            raise CoverageMapError(f"cannot fetch a service's details, so the directory is incomplete: {exc}") from exc
        problems.append(
            Problem(url, f"cannot fetch the service's details, so its locations are unknown: {exc}", fatal=False)
        )
        return item
    if not isinstance(detail, dict):
        if strict:
            raise CoverageMapError(f"{url}: the service's details are not a JSON object")
        problems.append(Problem(url, "the service's details are not a JSON object", fatal=False))
        return item
    return {**item, **detail}
