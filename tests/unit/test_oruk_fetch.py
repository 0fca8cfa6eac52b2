"""A live ORUK API against a real local HTTP server: paging, service details, HTTP 429, rate limit, cache and resume.

The server (tests/feedserver.py) serves the hand-written pages in tests/data/oruk/feed/; the
expected services, locations and requests are read off those files (see its README).
"""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import pytest
from feedserver import serve_feed

from coverage_map.cli import main
from coverage_map.errors import CoverageMapError
from coverage_map.ingest.oruk import JsonClient, fetch_oruk, import_services
from coverage_map.ingest.oruk.client import retry_after_seconds

#: The requests one full fetch of the ``feed`` pages makes (per_page=2): page 1, F2's details, page 2, F3's.
FULL = [
    "/feed/services?page=1&per_page=2",
    "/feed/services/F2",
    "/feed/services?page=2&per_page=2",
    "/feed/services/F3",
]


@pytest.fixture
def feed():
    with serve_feed() as running:
        yield running


def test_pages_and_the_details_the_list_leaves_out(feed):
    services, problems = fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0)
    assert problems == []
    assert [s["id"] for s in services] == ["F1", "F2", "F3", "F4"]
    # F2 and F3 were listed without service_at_locations: only theirs were fetched, page by page.
    assert feed.requests == FULL
    result = import_services(services, source=feed.url)
    assert sorted(result.assets.asset_id) == ["F1@FL1", "F2@FL2", "F3@FL3", "F4@FL4"]
    by_id = result.assets.set_index("asset_id")
    # feed_service_F2.json: the location and the term are only in the details.
    assert by_id.loc["F2@FL2", "categories"] == "carers_support"
    assert by_id.loc["F2@FL2", "latitude"] == pytest.approx(53.41098)


def test_missing_details_are_reported_or_stop_a_strict_fetch(feed):
    services, problems = fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, details="all")
    # feed_service_F1.json and _F4.json do not exist: 404, reported, the listed service kept.
    assert [s["id"] for s in services] == ["F1", "F2", "F3", "F4"]
    assert sorted(p.file.rsplit("/", 1)[-1] for p in problems) == ["F1", "F4"]
    assert all("HTTP 404" in p.message for p in problems)
    with pytest.raises(CoverageMapError, match="directory is incomplete.*HTTP 404"):
        fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, details="all", strict=True)
    feed.requests.clear()
    fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, details="none")
    assert feed.requests == [FULL[0], FULL[2]]


def test_next_links_are_followed(feed):
    services, problems = fetch_oruk(f"{feed.url}/linked", per_page=2, rate=0)
    assert [s["id"] for s in services] == ["F1", "F2", "F3"] and problems == []
    # linked_page1.json links to ?cursor=b7, whose next link is null: the end.
    assert feed.requests == [
        "/linked/services?page=1&per_page=2",
        "/linked/services/F2",
        "/linked/services?cursor=b7",
        "/linked/services/F3",
    ]


def test_http_429_is_waited_out_as_retry_after_asks(feed):
    feed.throttle["/feed/services/F2"] = 1
    feed.retry_after = "1"
    started = time.monotonic()
    services, problems = fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0)
    assert time.monotonic() - started >= 1.0
    assert problems == [] and len(services) == 4
    assert feed.requests == [FULL[0], FULL[1], FULL[1], FULL[2], FULL[3]]


def test_http_429_for_too_long_is_an_error_that_says_so(feed):
    feed.throttle["/feed/services?page=1&per_page=2"] = 1
    feed.retry_after = "3600"
    with pytest.raises(CoverageMapError, match="HTTP 429 and asks to wait 3,600 s"):
        fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0)


def test_rate_limit_spaces_the_requests(feed):
    started = time.monotonic()
    fetch_oruk(f"{feed.url}/feed", per_page=2, rate=10)
    # Four requests at 10 per second: at least three gaps of 0.1 s.
    assert time.monotonic() - started >= 0.3


def test_rate_limit_waits_only_as_needed():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = JsonClient(rate=4, sleep=sleep, clock=lambda: now[0])
    client._wait_turn()  # the first request never waits
    now[0] += 0.05
    client._wait_turn()  # 0.05 s after the first: waits the other 0.2 s of 1/4 s
    now[0] += 1.0
    client._wait_turn()  # long after: no wait
    assert slept == [pytest.approx(0.2)]
    with pytest.raises(CoverageMapError, match="0 \\(no limit\\) or more"):
        JsonClient(rate=-1)


def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Mon, 07 Dec 2026 12:00:30 GMT", now=now) == 30
    assert retry_after_seconds("Mon, 07 Dec 2026 11:00:00 GMT", now=now) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_interrupted_fetch_resumes_from_the_cache(feed, tmp_path):
    cache = tmp_path / "cache"
    feed.fail["/feed/services?page=2&per_page=2"] = 1  # the server falls over half-way
    with pytest.raises(CoverageMapError, match="HTTP 500"):
        fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, cache=cache)
    assert feed.requests == FULL[:3]
    # Page 1 and F2's details are kept, each whole, one file per URL; nothing half-written.
    assert len(list(cache.glob("*.json"))) == 2 and not list(cache.glob(".part-*"))
    feed.requests.clear()
    services, problems = fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, cache=cache)
    assert [s["id"] for s in services] == ["F1", "F2", "F3", "F4"] and problems == []
    assert feed.requests == FULL[2:]  # only what was missing
    feed.requests.clear()
    client = JsonClient(rate=0, cache=cache)
    again, _ = fetch_oruk(f"{feed.url}/feed", per_page=2, client=client)
    assert again == services and feed.requests == [] and (client.requests, client.cached) == (0, 4)


def test_progress_bar_goes_to_stderr_only_when_asked(feed, capsys):
    fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0)
    assert capsys.readouterr() == ("", "")  # not a terminal: no bar
    fetch_oruk(f"{feed.url}/feed", per_page=2, rate=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "ORUK services" in captured.err and "4/4" in captured.err


def test_cli_fetch_options(feed, tmp_path, capsys):
    out = tmp_path / "assets.gpkg"
    cache = tmp_path / "cache"
    args = ["import-oruk", "--url", f"{feed.url}/feed", "--out", str(out), "--rate", "0", "--cache", str(cache)]
    assert main(args) == 0
    assert sorted(gpd.read_file(out).asset_id) == ["F1@FL1", "F2@FL2", "F3@FL3", "F4@FL4"]
    # The server ignores per_page: page 1, F2's details, page 2 (total_pages 2), F3's details.
    assert len(feed.requests) == 4
    feed.requests.clear()
    assert main(args) == 0
    assert feed.requests == []  # all from the cache
    capsys.readouterr()
    assert main([*args[:-2], "--fetch-details"]) == 0  # no cache: F1 and F4 have no details (404), reported
    assert "HTTP 404" in capsys.readouterr().out
