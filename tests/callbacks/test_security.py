"""Deployment security: authentication on every route, security headers, CSP, configuration.

The process's one app serves the hand-built data (fast) under each authentication mode in
turn; Flask's test client then walks the whole URL map (``app.server.url_map``).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dash
import handbuilt
import pytest
from dashapp import serving
from werkzeug.security import generate_password_hash

from callbacks.security import (
    DEFAULT_PROXY_SECRET_HEADER,
    SecurityConfig,
    content_security_policy,
    parse_users,
    security_from_env,
)
from callbacks.settings import Settings
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError

PASSWORD = "correct horse battery staple"
# A cheap hash keeps the suite quick; production hashes use werkzeug's default (scrypt).
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand-built")


@contextmanager
def _app(
    app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory, security: SecurityConfig
) -> Iterator[dash.Dash]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"))
    with serving(app, dataset, settings, security=security):
        yield app


@pytest.fixture()
def open_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    with _app(dash_app, dataset, tmp_path_factory, SecurityConfig()) as app:
        yield app


@pytest.fixture()
def basic_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    with _app(dash_app, dataset, tmp_path_factory, SecurityConfig(users={"alice": HASH})) as app:
        yield app


@pytest.fixture()
def proxy_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    config = SecurityConfig(trusted_user_header="X-Forwarded-User", proxy_secret="s3cret-from-the-proxy")
    with _app(dash_app, dataset, tmp_path_factory, config) as app:
        yield app


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def every_route(app) -> list[tuple[str, str]]:  # noqa: ANN001
    """(method, URL) for every rule of the server, with real file names where the rule has arguments."""
    asset = "dashboard.css"
    suite = next(iter(app.registered_paths.get("dash", [])), None) or "dash-renderer/build/dash_renderer.min.js"
    examples = {
        "filename": asset,
        "package_name": "dash",
        "fingerprinted_path": suite,
        "path": "some/page",
    }
    routes = []
    for rule in app.server.url_map.iter_rules():
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{argument}>", examples[argument], url)
        for method in sorted(rule.methods - {"HEAD"}):
            routes.append((method, url))
    return routes


def _request(client, method: str, url: str, headers: dict[str, str] | None = None):  # noqa: ANN001, ANN202
    kwargs: dict[str, object] = {"headers": headers or {}}
    if method == "POST":
        kwargs["json"] = {"output": "metric-description.children", "outputs": {"id": "metric-description",
                          "property": "children"}, "inputs": [{"id": "metric-select", "property": "value",
                          "value": "gap_score"}], "changedPropIds": ["metric-select.value"]}  # fmt: skip
    response = client.open(url, method=method, **kwargs)
    response.get_data()
    response.close()  # static files are streamed; a test response left open warns
    return response


# --------------------------------------------------------------------------- configuration


def test_users_parse_from_the_environment() -> None:
    other = generate_password_hash("x", method="pbkdf2:sha256:1000")
    config = security_from_env({"COVERAGE_MAP_USERS": f"alice:{HASH}, bob:{other}"})
    assert config.auth == "basic"
    assert dict(config.users) == {"alice": HASH, "bob": other}


def test_no_environment_means_no_authentication() -> None:
    assert security_from_env({}).auth is None


@pytest.mark.parametrize(
    "text",
    ["alice:plaintextpassword", "alice", ":" + HASH, f"alice:{HASH},alice:{HASH}"],
)
def test_bad_user_lists_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(CoverageMapError) as error:
        parse_users(text)
    assert "plaintextpassword" not in str(error.value)


def test_both_modes_at_once_is_an_error() -> None:
    with pytest.raises(CoverageMapError, match="not both"):
        security_from_env({"COVERAGE_MAP_USERS": f"alice:{HASH}", "COVERAGE_MAP_TRUSTED_USER_HEADER": "X-User"})


def test_proxy_secret_needs_the_user_header() -> None:
    with pytest.raises(CoverageMapError, match="COVERAGE_MAP_TRUSTED_USER_HEADER"):
        security_from_env({"COVERAGE_MAP_TRUSTED_PROXY_SECRET": "abc"})


def test_proxy_settings_from_the_environment() -> None:
    config = security_from_env({"COVERAGE_MAP_TRUSTED_USER_HEADER": "X-Forwarded-User",
                                "COVERAGE_MAP_TRUSTED_PROXY_SECRET": "abc", "COVERAGE_MAP_HSTS": "1"})  # fmt: skip
    assert config.auth == "proxy" and config.proxy_secret == "abc" and config.hsts
    assert config.proxy_secret_header == DEFAULT_PROXY_SECRET_HEADER
    assert "abc" not in repr(config)


# --------------------------------------------------------------------------- authentication


def test_every_route_needs_basic_credentials(basic_app) -> None:  # noqa: ANN001
    client = basic_app.server.test_client()
    routes = every_route(basic_app)
    assert {"/", "/_dash-layout", "/_dash-dependencies", "/_dash-update-component"} <= {url for _, url in routes}
    assert any(url.startswith("/assets/") for _, url in routes)
    assert any(url.startswith("/_dash-component-suites/") for _, url in routes)
    for method, url in routes:
        for headers in (None, _basic("alice", "wrong"), _basic("mallory", PASSWORD), {"Authorization": "Bearer x"}):
            response = _request(client, method, url, headers)
            assert response.status_code == 401, (method, url, headers, response.status_code)
            assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
            assert b"coverage" not in response.data.lower() or b"authentication" in response.data.lower()


def test_good_basic_credentials_open_every_route(basic_app) -> None:  # noqa: ANN001
    client = basic_app.server.test_client()
    good = _basic("alice", PASSWORD)
    assert client.get("/", headers=good).status_code == 200
    assert client.get("/_dash-layout", headers=good).status_code == 200
    assert _request(client, "GET", "/assets/dashboard.css", good).status_code == 200
    response = _request(client, "POST", "/_dash-update-component", good)
    assert response.status_code == 200 and b"metric-description" in response.data
    for method, url in every_route(basic_app):
        assert _request(client, method, url, good).status_code != 401, (method, url)


def test_every_route_needs_the_trusted_proxy_header_and_secret(proxy_app) -> None:  # noqa: ANN001
    client = proxy_app.server.test_client()
    user = {"X-Forwarded-User": "alice@example.org"}
    secret = {DEFAULT_PROXY_SECRET_HEADER: "s3cret-from-the-proxy"}
    for method, url in every_route(proxy_app):
        for headers in (None, user, secret, {**user, DEFAULT_PROXY_SECRET_HEADER: "guess"},
                        {"X-Forwarded-User": "", **secret}):  # fmt: skip
            assert _request(client, method, url, headers).status_code == 401, (method, url, headers)
        assert _request(client, method, url, {**user, **secret}).status_code != 401, (method, url)


def test_without_configuration_the_app_is_open(open_app) -> None:  # noqa: ANN001
    client = open_app.server.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200


# --------------------------------------------------------------------------- headers


def test_security_headers_on_every_response(open_app) -> None:  # noqa: ANN001
    client = open_app.server.test_client()
    for url in ("/", "/_dash-layout", "/_dash-dependencies", "/assets/dashboard.css", "/no/such/page"):
        headers = _request(client, "GET", url).headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "Strict-Transport-Security" not in headers
    assert _request(client, "GET", "/_dash-layout").headers["Cache-Control"] == "no-store"
    assert _request(client, "POST", "/_dash-update-component").headers["Cache-Control"] == "no-store"
    assert "no-store" not in _request(client, "GET", "/assets/dashboard.css").headers.get("Cache-Control", "")


def test_401_responses_carry_the_security_headers_too(basic_app) -> None:  # noqa: ANN001
    response = basic_app.server.test_client().get("/")
    assert response.status_code == 401
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response.headers


def test_csp_allows_no_inline_or_eval_script_except_dash_renderer(open_app) -> None:  # noqa: ANN001
    csp = open_app.server.test_client().get("/").headers["Content-Security-Policy"]
    script = next(part for part in csp.split("; ") if part.startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    # The one inline script of the page is allowed by its hash, and only it.
    page = open_app.server.test_client().get("/").get_data(as_text=True)
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # Dash's IE notice sits in a conditional comment
    inline = [s for s in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", page, re.S)
              if "application/json" not in s[0]]  # fmt: skip
    assert len(inline) == 1
    assert script.count("'sha256-") == len(open_app.csp_hashes())
    assert "default-src 'self'" in csp and "worker-src 'self' blob:" in csp


def test_csp_names_the_basemap_origin_only_when_one_is_set(open_app) -> None:  # noqa: ANN001
    assert "tiles.example" not in content_security_policy(open_app, basemap=None)
    csp = content_security_policy(open_app, basemap="https://tiles.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.example.org" in csp
    assert "connect-src 'self' https://tiles.example.org" in csp


def test_hsts_when_asked(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> None:
    with _app(dash_app, dataset, tmp_path_factory, SecurityConfig(hsts=True)) as app:
        assert app.server.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_server_runs_without_debug(open_app) -> None:  # noqa: ANN001
    assert open_app.server.debug is False
    assert open_app.server.config["PROPAGATE_EXCEPTIONS"] is False
    # A callback that fails answers 500 without a traceback or local values.
    client = open_app.server.test_client()
    response = client.post("/_dash-update-component", json={"output": "nonsense.children", "inputs": []})
    assert response.status_code >= 400
    assert b"Traceback" not in response.data


def test_gunicorn_server_reads_security_from_the_environment(tmp_path: Path) -> None:
    """``callbacks.wsgi:server`` (what gunicorn serves) honours COVERAGE_MAP_USERS."""
    paths = handbuilt.write_files(tmp_path)
    config = tmp_path / "dashboard.toml"
    config.write_text("[data]\n" + "".join(f'{role} = "{path.name}"\n' for role, path in paths.items()),
                      encoding="utf-8")  # fmt: skip
    code = f"""
        import base64
        from callbacks.wsgi import server
        def status(password):
            token = base64.b64encode(("alice:" + password).encode()).decode()
            return server.test_client().get("/", headers={{"Authorization": "Basic " + token}}).status_code
        print(server.test_client().get("/").status_code, status("wrong"), status({PASSWORD!r}))
    """
    env = {**os.environ, "COVERAGE_MAP_USERS": f"alice:{HASH}", "COVERAGE_MAP_CONFIG": str(config),
           "COVERAGE_MAP_DATA_DIR": str(tmp_path / "uploads"), "COVERAGE_MAP_DATABASE_URL": ""}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=root, env=env, text=True,
                          capture_output=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["401", "401", "200"]


def test_any_combination_of_controls_answers_without_a_server_error(open_app) -> None:  # noqa: ANN001
    """A hostile or stale link (``?level=borough&borough=B1``...) must not make a callback fail.

    The browser fires the map and table callbacks with whatever the controls hold at that
    moment, so every level x borough pair reaches the server.
    """
    client = open_app.server.test_client()
    for level in ("area", "neighbourhood", "borough"):
        for borough in ("all", "B1", "B2", "nonsense"):
            inputs = [{"id": "level-select", "property": "value", "value": level},
                      {"id": "category-select", "property": "value", "value": "dementia"},
                      {"id": "community-select", "property": "value", "value": "all"},
                      {"id": "borough-select", "property": "value", "value": borough},
                      {"id": "data-token", "property": "data", "value": None},
                      {"id": "gap-table-all", "property": "value", "value": False},
                      {"id": "whatif", "property": "data", "value": None},
                      {"id": "map-first", "property": "data", "value": None}]  # fmt: skip
            body = {"output": "..gap-table.rowData...gap-summary.children..",
                    "outputs": [{"id": "gap-table", "property": "rowData"}, {"id": "gap-summary", "property": "children"}],
                    "inputs": inputs, "changedPropIds": ["level-select.value"]}  # fmt: skip
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code in (200, 204), (level, borough, response.status_code)
