"""Deployment security: optional authentication, security headers and the Content-Security-Policy.

Read once at start-up from the environment (:func:`security_from_env`) and installed on the
Flask server by :func:`install`, which :func:`callbacks.app.create_app` calls. Nothing here
is per-visitor state.

Authentication is off unless configured, and then covers **every** route (the page,
``/_dash-*``, ``/assets/...``, ``/_dash-component-suites/...``, downloads):

``COVERAGE_MAP_USERS``
    HTTP Basic users with hashed passwords, ``name:hash`` pairs separated by commas,
    the hashes made by :func:`werkzeug.security.generate_password_hash`::

        python -c "from werkzeug.security import generate_password_hash as h; print(h(input('password: ')))"

``COVERAGE_MAP_TRUSTED_USER_HEADER``
    The name of a header (e.g. ``X-Forwarded-User``) that a trusted reverse proxy sets
    after it has authenticated the visitor; requests without it are refused. Only safe
    when the app cannot be reached except through that proxy. With
    ``COVERAGE_MAP_TRUSTED_PROXY_SECRET`` set, the proxy must also send that secret in
    ``X-Coverage-Map-Proxy-Secret`` (the header name can be changed with
    ``COVERAGE_MAP_TRUSTED_PROXY_SECRET_HEADER``).

Failed sign-ins are limited per client (:data:`MAX_FAILED_LOGINS` within
:data:`FAILED_LOGIN_WINDOW_S` seconds, then ``429`` until the window passes) before any
password hash is checked, so a flood of wrong passwords costs the server almost nothing; the
same wrong name and password are refused from memory the second time. An unknown user name
is checked against a dummy hash of the same kind (once per name and password, and only
within the limit), so names cannot be probed by timing. The limit is kept in each process
(``flask-limiter`` is not a dependency): with several workers, each counts its own.

Errors never show internals: a path that tries to leave its folder (``..``) answers ``404``,
a server error ``500`` with a plain page (no traceback, no addresses).

Security headers are set on every response: a Content-Security-Policy (Dash's inline
renderer script allowed by its hash, see :meth:`dash.Dash.csp_hashes`), ``frame-ancestors
'none'`` and ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer``, ``Cross-Origin-Opener-Policy`` and a restrictive
``Permissions-Policy``; responses that carry data (the page, callbacks, downloads) are
``Cache-Control: no-store``. ``COVERAGE_MAP_HSTS=1`` adds ``Strict-Transport-Security``
(only when the site is always served over HTTPS).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import flask
from dash import Dash
from werkzeug.datastructures import Headers
from werkzeug.exceptions import InternalServerError
from werkzeug.security import check_password_hash, generate_password_hash

from coverage_map.errors import CoverageMapError

USERS_ENV = "COVERAGE_MAP_USERS"
USER_HEADER_ENV = "COVERAGE_MAP_TRUSTED_USER_HEADER"
PROXY_SECRET_ENV = "COVERAGE_MAP_TRUSTED_PROXY_SECRET"
PROXY_SECRET_HEADER_ENV = "COVERAGE_MAP_TRUSTED_PROXY_SECRET_HEADER"
HSTS_ENV = "COVERAGE_MAP_HSTS"
DEFAULT_PROXY_SECRET_HEADER = "X-Coverage-Map-Proxy-Secret"
REALM = "coverage-map"
#: Failed sign-ins one client may make within :data:`FAILED_LOGIN_WINDOW_S` before it must wait.
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_S = 300.0
#: What a server error says (never a traceback, an address or a database URL).
SERVER_ERROR_TEXT = "Something went wrong on the server. Reload the page; if it happens again, tell the site's owner.\n"
#: Where :func:`install` keeps what its request hooks apply, in ``app.server.extensions``.
SECURITY_EXTENSION = "coverage_map_security"
#: Paths whose responses never carry data and may be cached by the browser.
_STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/static/")
#: Named MapLibre styles fetch tiles, glyphs and sprites from these origins.
_STYLE_ORIGINS = {
    "open-street-map": ("https://tile.openstreetmap.org", "https://*.tile.openstreetmap.org"),
    "carto": ("https://*.basemaps.cartocdn.com", "https://basemaps.cartocdn.com"),
}


@dataclass(frozen=True)
class SecurityConfig:
    """Authentication and header settings (immutable; read once at start-up).

    Parameters
    ----------
    users
        User name -> werkzeug password hash, for HTTP Basic; empty for none.
    trusted_user_header
        Header a trusted reverse proxy sets to the authenticated user; None for none.
    proxy_secret
        Secret the proxy must also send (in ``proxy_secret_header``); None for none.
    proxy_secret_header
        Header carrying ``proxy_secret``.
    hsts
        Send ``Strict-Transport-Security``.
    """

    users: Mapping[str, str] = field(default_factory=dict)
    trusted_user_header: str | None = None
    proxy_secret: str | None = field(default=None, repr=False)
    proxy_secret_header: str = DEFAULT_PROXY_SECRET_HEADER
    hsts: bool = False

    def __post_init__(self) -> None:
        if self.users and self.trusted_user_header:
            raise CoverageMapError(
                f"set either {USERS_ENV} (HTTP Basic) or {USER_HEADER_ENV} (a trusted proxy), not both"
            )
        if self.proxy_secret and not self.trusted_user_header:
            raise CoverageMapError(f"{PROXY_SECRET_ENV} needs {USER_HEADER_ENV} (the header the proxy sets)")

    @property
    def auth(self) -> str | None:
        """``basic``, ``proxy`` or None (no authentication)."""
        if self.users:
            return "basic"
        if self.trusted_user_header:
            return "proxy"
        return None


def parse_users(text: str) -> dict[str, str]:
    """``alice:pbkdf2:sha256:...$salt$hash,bob:scrypt:...`` -> ``{"alice": "pbkdf2:...", ...}``."""
    users: dict[str, str] = {}
    for number, entry in enumerate((part.strip() for part in text.split(",")), start=1):
        if not entry:
            continue
        name, sep, hashed = entry.partition(":")
        name = name.strip()
        if not sep or not name or "$" not in hashed:
            # never echo the entry: it may be a password pasted by mistake
            raise CoverageMapError(
                f"{USERS_ENV}: entry {number} is not 'name:hash' with a hash from "
                "werkzeug.security.generate_password_hash (plain passwords are not accepted)"
            )
        if name in users:
            raise CoverageMapError(f"{USERS_ENV}: user '{name}' is listed twice")
        users[name] = hashed.strip()
    return users


def security_from_env(environ: Mapping[str, str] | None = None) -> SecurityConfig:
    """The security settings named by the ``COVERAGE_MAP_*`` environment variables."""
    environ = os.environ if environ is None else environ
    header = environ.get(USER_HEADER_ENV, "").strip() or None
    return SecurityConfig(
        users=parse_users(environ.get(USERS_ENV, "")),
        trusted_user_header=header,
        proxy_secret=environ.get(PROXY_SECRET_ENV, "") or None,
        proxy_secret_header=environ.get(PROXY_SECRET_HEADER_ENV, "").strip() or DEFAULT_PROXY_SECRET_HEADER,
        hsts=environ.get(HSTS_ENV, "").strip().lower() in ("1", "true", "yes", "on"),
    )


# --------------------------------------------------------------------------- authentication


class _Authenticator:
    """Checks a request's credentials; remembers good Basic credentials by keyed digest.

    Password hashes are deliberately slow (hundreds of ms); a page session makes dozens of
    requests, so a correct name and password is verified once and then recognised by an
    HMAC under a per-process random key (the password itself is never stored).
    """

    def __init__(self, config: SecurityConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._refused: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._dummy: str | None = None
        self.failed_logins = FailedLogins(MAX_FAILED_LOGINS, FAILED_LOGIN_WINDOW_S, clock=clock)

    def _digest(self, name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def _dummy_hash(self) -> str:
        """A hash of a random password made like the users' (same method and cost), made once."""
        if self._dummy is None:
            method = next(iter(self.config.users.values())).split("$", 1)[0]
            self._dummy = generate_password_hash(secrets.token_urlsafe(16), method=method)
        return self._dummy

    def basic_ok(self, name: str | None, password: str | None, client: str = "") -> bool:
        """Whether the name and password are right (see :meth:`basic_result`)."""
        return self.basic_result(name, password, client) == "ok"

    def basic_result(self, name: str | None, password: str | None, client: str = "") -> str:
        """``ok``, ``refused`` or ``limited`` (too many failed sign-ins from ``client`` lately)."""
        if not name or password is None:
            return "refused"
        digest = self._digest(name, password)
        with self._lock:
            if digest in self._verified:
                return "ok"
            if digest in self._refused:  # the same wrong pair again (a browser resends it): no hashing
                return "refused"
        if self.failed_logins.retry_after(client):
            return "limited"
        hashed = self.config.users.get(name)
        # An unknown name costs the same as a wrong password, so names cannot be probed by timing.
        right = check_password_hash(hashed if hashed is not None else self._dummy_hash(), password)
        with self._lock:
            if right and hashed is not None:
                if len(self._verified) > 1000:
                    self._verified.clear()
                self._verified.add(digest)
                return "ok"
            self._refused[digest] = None
            while len(self._refused) > 1000:
                self._refused.popitem(last=False)
        self.failed_logins.failed(client)
        return "refused"

    def proxy_ok(self, headers: Mapping[str, str] | Headers) -> bool:
        user = (headers.get(self.config.trusted_user_header or "") or "").strip()
        if not user:
            return False
        if self.config.proxy_secret:
            given = headers.get(self.config.proxy_secret_header) or ""
            return hmac.compare_digest(given.encode(), self.config.proxy_secret.encode())
        return True

    def check(self) -> flask.Response | None:
        """None when the request may go on, else the 401 response."""
        request = flask.request
        if self.config.auth == "basic":
            auth = request.authorization
            client = request.remote_addr or ""
            result = "refused"
            if auth is not None and auth.type == "basic":
                result = self.basic_result(auth.username, auth.password, client)
            if result == "ok":
                return None
            if result == "limited":
                wait = self.failed_logins.retry_after(client)
                response = flask.Response(
                    f"Too many failed sign-ins from your address; try again in {wait} seconds.\n",
                    status=429,
                    mimetype="text/plain",
                )
                response.headers["Retry-After"] = str(wait)
                return response
            response = flask.Response("Authentication required.\n", status=401, mimetype="text/plain")
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
            return response
        if self.config.auth == "proxy":
            if self.proxy_ok(request.headers):
                return None
            return flask.Response("Authentication required (through the site's sign-in).\n", status=401,
                                  mimetype="text/plain")  # fmt: skip
        return None


class FailedLogins:
    """Failed sign-ins per client within a sliding window (kept in this process only).

    Parameters
    ----------
    limit
        Failures a client may have within ``window`` seconds.
    window
        Seconds a failure counts for.
    clock
        Monotonic seconds (tests pass their own).
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds ``client`` must wait before its next sign-in is checked (0: it may try now)."""
        now = self._clock()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(self.window - (now - times[0])) + 1)

    def failed(self, client: str) -> None:
        """Count one failed sign-in from ``client``."""
        now = self._clock()
        with self._lock:
            if len(self._failures) > 10_000:  # a flood of addresses: forget the quiet ones
                self._failures = {key: value for key, value in self._failures.items() if self._recent(key, now)}
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times


# --------------------------------------------------------------------------- headers


def content_security_policy(app: Dash, *, basemap: str | None = None) -> str:
    """The CSP the dashboard works under: the smallest set with which Chromium logs no violation.

    * scripts: our own origin plus the hash of Dash's inline renderer script (no
      ``'unsafe-inline'``, no ``'unsafe-eval'``: plotly, MapLibre and AG Grid do not need eval);
    * styles: ``'unsafe-inline'``, because plotly.js and AG Grid inject ``<style>`` elements
      at run time (a style cannot run code; scripts stay locked down);
    * workers: ``blob:`` (MapLibre starts its web workers from blob URLs);
    * images: ``data:`` (AG Grid's and Bootstrap's icons are data-URL SVGs);
    * tiles: the basemap's origin when one is configured (none by default);
    * no frames, no plugins, no ``<base>``, and the page may not be framed.
    """
    tiles = _basemap_origins(basemap)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *tiles],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *tiles],
        "worker-src": ["'self'", "blob:"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _basemap_origins(basemap: str | None) -> list[str]:
    if not basemap or basemap in ("none", "white-bg"):
        return []
    if "{z}" in basemap:
        parts = urlsplit(basemap.replace("{", "").replace("}", ""))
        return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []
    for prefix, origins in _STYLE_ORIGINS.items():
        if basemap.startswith(prefix):
            return list(origins)
    return ["https:"]  # another named style: its tiles come from a provider we cannot name here


def security_headers(csp: str, *, hsts: bool) -> dict[str, str]:
    """Headers set on every response."""
    headers = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    if hsts:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


@dataclass(frozen=True)
class _Guard:
    """What the request hooks apply: the configuration, its authenticator and the headers."""

    config: SecurityConfig
    authenticator: _Authenticator
    headers: Mapping[str, str]


def install(app: Dash, config: SecurityConfig | None = None, *, basemap: str | None = None) -> SecurityConfig:
    """Add authentication (if configured) and the security headers to ``app``'s server.

    Call after every callback is registered (the CSP hashes Dash's inline scripts). Called
    again on the same app, it replaces the configuration the hooks apply (they read it on
    every request from ``server.extensions[SECURITY_EXTENSION]``).
    """
    config = config if config is not None else security_from_env()
    server = app.server
    headers = security_headers(content_security_policy(app, basemap=basemap), hsts=config.hsts)
    first = SECURITY_EXTENSION not in server.extensions
    server.extensions[SECURITY_EXTENSION] = _Guard(config, _Authenticator(config), headers)
    if first:
        server.config["DEBUG"] = False
        server.config["PROPAGATE_EXCEPTIONS"] = False
        # First, before any other hook: nothing is computed for a stranger.
        server.before_request_funcs.setdefault(None, []).insert(0, _authenticate)
        server.before_request_funcs[None].insert(1, _refuse_escaping_paths)
        server.after_request(_add_headers)
        server.register_error_handler(InternalServerError, _server_error)
    return config


def _refuse_escaping_paths() -> None:
    """``404`` for a path with a ``..`` segment (``/_dash-component-suites/dash/..%2f..%2fpyproject.toml``)."""
    segments = flask.request.path.replace("\\", "/").split("/")
    if ".." in segments:
        flask.abort(404)


def _server_error(error: InternalServerError) -> flask.Response:
    """A plain page for any server error: no traceback, no address, no database URL."""
    return flask.Response(SERVER_ERROR_TEXT, status=500, mimetype="text/plain")


def _guard() -> _Guard:
    guard = flask.current_app.extensions[SECURITY_EXTENSION]
    if not isinstance(guard, _Guard):
        raise TypeError(f"app.server.extensions[{SECURITY_EXTENSION!r}] was not set by callbacks.security.install")
    return guard


def _authenticate() -> flask.Response | None:
    return _guard().authenticator.check()


def _add_headers(response: flask.Response) -> flask.Response:
    for name, value in _guard().headers.items():
        response.headers.setdefault(name, value)
    if not flask.request.path.startswith(_STATIC_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response


__all__ = [
    "SECURITY_EXTENSION", "FailedLogins", "SecurityConfig", "content_security_policy", "install", "parse_users", "security_from_env",
]  # fmt: skip
