"""A polite JSON client for ORUK APIs: rate limited, retrying on HTTP 429, cached on disk (:class:`JsonClient`).

Only the standard library is used (``urllib``). A directory of thousands of services means
thousands of ``/services/{id}`` requests, so the client

* spaces its requests to at most ``rate`` per second (default 5);
* waits as long as an HTTP 429 or 503 answer's ``Retry-After`` asks (seconds or an HTTP date),
  then tries again, a few times;
* keeps every JSON answer in a cache folder, one file per URL (named by the URL's SHA-256), written
  whole or not at all, so a run that was interrupted fetches only what is missing when run again.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ... import __version__
from ...errors import CoverageMapError
from .records import _parse_json

#: Largest HTTP response read, so that a runaway server cannot exhaust memory.
MAX_RESPONSE_BYTES = 200 * 1024 * 1024
#: Requests per second by default: polite to a council's server, and 1,000 services in under 4 minutes.
DEFAULT_RATE = 5.0
#: Answers that mean "too many requests, come back later".
_RETRY_STATUSES = (429, 503)


class JsonClient:
    """GET JSON documents, at most ``rate`` per second, retrying on 429/503, cached in ``cache``.

    Parameters
    ----------
    timeout
        Seconds to wait for each response.
    rate
        Requests per second at most (0: no limit). Answers read from the cache do not count.
    cache
        Folder for the cache (created if missing), or None for no cache.
    retries
        How many times a request answered 429 or 503 is tried again before giving up.
    max_wait
        Longest wait (seconds) a ``Retry-After`` may ask for; a longer one is an error that says so.
    sleep, clock
        Injected for tests; default :func:`time.sleep` and :func:`time.monotonic`.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        rate: float = DEFAULT_RATE,
        cache: str | Path | None = None,
        retries: int = 5,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if rate < 0:
            raise CoverageMapError(f"the request rate must be 0 (no limit) or more per second, not {rate:g}")
        self.timeout = timeout
        self.rate = rate
        self.cache = Path(cache) if cache is not None else None
        self.retries = retries
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        #: Requests sent over the network, and answers read from the cache.
        self.requests = 0
        self.cached = 0
        if self.cache is not None:
            try:
                self.cache.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CoverageMapError(f"cannot create the cache folder {self.cache}: {exc.strerror or exc}") from exc

    def cache_path(self, url: str) -> Path | None:
        """The cache file of ``url`` (whether or not it exists yet), or None without a cache."""
        if self.cache is None:
            return None
        return self.cache / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()}.json"

    def get_json(self, url: str) -> object:
        """The JSON document at ``url``: from the cache when it is there, else fetched (and cached).

        Raises
        ------
        CoverageMapError
            The server cannot be reached, answers with an error (after the retries for 429/503),
            too slowly, with more than :data:`MAX_RESPONSE_BYTES`, or not with JSON.
        """
        path = self.cache_path(url)
        if path is not None and path.is_file():
            self.cached += 1
            return _parse_json(path.read_bytes(), f"{url} (cached in {path})")
        raw = self._fetch(url)
        document = _parse_json(raw, url)
        if path is not None:
            _write_whole(path, raw)
        return document

    def _fetch(self, url: str) -> bytes:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": f"coverage-map/{__version__}"}
        )
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # http(s) only: checked
                    raw: bytes = response.read(MAX_RESPONSE_BYTES + 1)
                break
            except urllib.error.HTTPError as exc:
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                exc.close()
                if exc.code not in _RETRY_STATUSES or attempt == self.retries:
                    tried = f" (tried {attempt + 1} times)" if attempt else ""
                    raise CoverageMapError(f"{url}: the server answered HTTP {exc.code} {exc.reason}{tried}") from exc
                self._back_off(url, exc.code, retry_after, attempt)
            except urllib.error.URLError as exc:
                raise CoverageMapError(f"{url}: cannot fetch: {exc.reason}") from exc
            except TimeoutError as exc:
                raise CoverageMapError(f"{url}: no answer within {self.timeout:g} s") from exc
            except OSError as exc:
                raise CoverageMapError(f"{url}: cannot fetch: {exc}") from exc
        if len(raw) > MAX_RESPONSE_BYTES:
            raise CoverageMapError(f"{url}: the response is larger than {MAX_RESPONSE_BYTES // 2**20} MB")
        return raw

    def _wait_turn(self) -> None:
        """Sleep until ``1 / rate`` seconds have passed since the previous request began."""
        now = self._clock()
        if self.rate and self._last_request is not None:
            pause = self._last_request + 1 / self.rate - now
            if pause > 0:
                self._sleep(pause)
                now += pause
        self._last_request = now

    def _back_off(self, url: str, status: int, retry_after: str | None, attempt: int) -> None:
        wait = retry_after_seconds(retry_after)
        if wait is None:
            wait = min(2.0**attempt, self.max_wait)  # no (readable) Retry-After: 1, 2, 4... seconds
        if wait > self.max_wait:
            raise CoverageMapError(
                f"{url}: the server answered HTTP {status} and asks to wait {wait:,.0f} s before trying again, "
                f"longer than the {self.max_wait:,.0f} s this client waits; run again later (with --cache, only "
                "what is missing is fetched)"
            )
        self._sleep(wait)


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: a number of seconds or an HTTP date; None if unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _write_whole(path: Path, raw: bytes) -> None:
    """Write ``raw`` to ``path`` through a temporary file, so an interruption never leaves half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".json")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
