"""A real local HTTP server playing a live ORUK API from the hand-written pages in tests/data/oruk/feed/.

``/<feed>/services?page=N`` serves ``<feed>_page<N>.json``, ``?cursor=C`` serves
``<feed>_cursor_<C>.json`` and ``/<feed>/services/<id>`` serves ``<feed>_service_<id>.json``.
The tests steer it through :class:`Feed`: answer 429 (with ``Retry-After``) or 500 to a
path a given number of times, and they read back every path asked for.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEED = Path(__file__).resolve().parent / "data" / "oruk" / "feed"


@dataclass
class Feed:
    """The server's address and behaviour; the handler reads and updates it under ``lock``."""

    url: str = ""
    #: Every path (with query) asked for, in order.
    requests: list[str] = field(default_factory=list)
    #: path -> how many more times to answer 429 Too Many Requests (with ``Retry-After: retry_after``).
    throttle: Counter[str] = field(default_factory=Counter)
    retry_after: str = "1"
    #: path -> how many more times to answer 500 Internal Server Error.
    fail: Counter[str] = field(default_factory=Counter)
    #: Serve ``<feed>`` for requests naming ``alias`` (the same URL, new contents: a feed that changed).
    aliases: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _file_for(path: str, aliases: dict[str, str]) -> Path | None:
    parts = urllib.parse.urlsplit(path)
    query = dict(urllib.parse.parse_qsl(parts.query))
    root, _, rest = parts.path.strip("/").partition("/")
    root = aliases.get(root, root)
    if rest == "services":
        name = (
            f"{root}_cursor_{query['cursor']}.json"
            if "cursor" in query
            else f"{root}_page{query.get('page', '1')}.json"
        )
    elif rest.startswith("services/"):
        name = f"{root}_service_{rest.removeprefix('services/')}.json"
    else:
        return None
    found = FEED / name
    return found if found.is_file() else None


def _handler(feed: Feed) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            with feed.lock:
                feed.requests.append(self.path)
                throttled = feed.throttle[self.path] > 0
                failed = not throttled and feed.fail[self.path] > 0
                if throttled:
                    feed.throttle[self.path] -= 1
                elif failed:
                    feed.fail[self.path] -= 1
                aliases = dict(feed.aliases)
            if throttled:
                self.send_response(429)
                self.send_header("Retry-After", feed.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = _file_for(self.path, aliases)
            if failed or found is None:
                self.send_response(500 if failed else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = found.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keeps the test output clean
            pass

    return Handler


@contextmanager
def serve_feed() -> Iterator[Feed]:
    """Run the server on a free port of 127.0.0.1 for the ``with`` block."""
    feed = Feed()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(feed))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    feed.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield feed
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
