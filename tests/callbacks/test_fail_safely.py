"""Failing safely: outages, errors, oversized uploads, crafted paths and sign-in floods.

No response may be a bare ``500``, carry a traceback, a database URL or an internal address,
or show the default data in place of a visitor's own when the dataset store is down.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import dash
import handbuilt
import pytest
from dashapp import serving
from werkzeug.security import generate_password_hash

import callbacks.security as security
from callbacks import ids
from callbacks.app import CALLBACK_ERROR_TEXT
from callbacks.registry import UNAVAILABLE_TEXT
from callbacks.security import MAX_FAILED_LOGINS, FailedLogins, SecurityConfig
from callbacks.settings import Settings
from callbacks.uploads import Choice, new_token
from coverage_map.dataset import Dataset

#: Nothing listens on port 1: the dataset store is "down".
DOWN = "postgresql://someone:s3cret@127.0.0.1:1/coverage"
LEAKS = ("s3cret", "127.0.0.1:1", "postgresql", "Traceback", "OperationalError", "psycopg")
PASSWORD = "correct horse battery staple"
HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(), label="Hand-built")


@pytest.fixture()
def down_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"), workspace=DOWN)
    with serving(dash_app, dataset, settings, security=SecurityConfig()):
        yield dash_app


@pytest.fixture()
def small_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("uploads"), max_upload_bytes=2**20, max_upload_total_bytes=2**20
    )
    with serving(dash_app, dataset, settings, security=SecurityConfig()):
        yield dash_app


@pytest.fixture()
def basic_app(dash_app: dash.Dash, dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dash.Dash]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("uploads"))
    with serving(dash_app, dataset, settings, security=SecurityConfig(users={"alice": HASH})):
        yield dash_app


def _gap_table_request(token: object) -> dict[str, object]:
    inputs = [{"id": "level-select", "property": "value", "value": "area"},
              {"id": "category-select", "property": "value", "value": "dementia"},
              {"id": "community-select", "property": "value", "value": "all"},
              {"id": "borough-select", "property": "value", "value": "all"},
              {"id": "data-token", "property": "data", "value": token},
              {"id": "gap-table-all", "property": "value", "value": False},
              {"id": "whatif", "property": "data", "value": None},
              {"id": "map-first", "property": "data", "value": None}]  # fmt: skip
    return {"output": "..gap-table.rowData...gap-summary.children..",
            "outputs": [{"id": "gap-table", "property": "rowData"}, {"id": "gap-summary", "property": "children"}],
            "inputs": inputs, "changedPropIds": ["data-token.data"]}  # fmt: skip


def _assert_no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, leak


# --------------------------------------------------------------------------- the dataset store is down


def test_an_outage_shows_a_banner_and_no_data_not_the_default_data(down_app: dash.Dash) -> None:
    client = down_app.server.test_client()
    token = Choice("My data", 1, new_token()).as_data()
    response = client.post("/_dash-update-component", json=_gap_table_request(token))
    assert response.status_code in (200, 204)
    body = response.get_data(as_text=True)
    _assert_no_leak(body)
    answer = json.loads(body)
    assert "gap-table" not in answer.get("response", {})  # no rows at all: not the default data's
    side = answer["sideUpdate"]
    assert side[ids.SERVICE_NOTICE]["children"] == UNAVAILABLE_TEXT
    assert side[ids.SERVICE_NOTICE]["is_open"] is True
    assert side[ids.MAIN]["style"] == {"display": "none"}


def test_without_a_chosen_dataset_the_default_data_is_still_served(down_app: dash.Dash) -> None:
    response = down_app.server.test_client().post("/_dash-update-component", json=_gap_table_request(None))
    assert response.status_code == 200
    assert "gap-table" in response.get_json()["response"]


def test_a_failing_callback_answers_with_a_generic_banner(down_app: dash.Dash, monkeypatch) -> None:  # noqa: ANN001
    from callbacks.context import services

    with down_app.server.app_context():
        registry = services(down_app.server).registry

    def broken(token: object) -> None:
        raise RuntimeError(f"cannot reach {DOWN}")

    monkeypatch.setattr(registry, "get", broken)
    response = down_app.server.test_client().post("/_dash-update-component", json=_gap_table_request(None))
    assert response.status_code in (200, 204)
    body = response.get_data(as_text=True)
    _assert_no_leak(body)
    assert json.loads(body)["sideUpdate"][ids.SERVICE_NOTICE]["children"] == CALLBACK_ERROR_TEXT


def test_a_server_error_is_a_plain_page(down_app: dash.Dash) -> None:
    server = down_app.server
    with server.test_request_context("/"):
        response = server.make_response(server.handle_exception(RuntimeError(f"cannot reach {DOWN}")))
    assert response.status_code == 500
    assert response.mimetype == "text/plain"
    _assert_no_leak(response.get_data(as_text=True))


def test_visitors_are_never_told_the_database_address() -> None:
    import sqlalchemy as sa

    from callbacks.registry import visitor_message
    from coverage_map.store import WorkspaceError, WorkspaceUnavailable

    assert visitor_message(WorkspaceUnavailable(f"cannot open the workspace {DOWN}")) == UNAVAILABLE_TEXT
    assert visitor_message(sa.exc.OperationalError("SELECT 1", {}, Exception(DOWN))) == UNAVAILABLE_TEXT
    assert visitor_message(WorkspaceError("a dataset needs areas")) == "a dataset needs areas"


# --------------------------------------------------------------------------- requests too large, paths that escape


def test_an_oversized_request_names_the_limit(small_app: dash.Dash) -> None:
    client = small_app.server.test_client()
    big = b"x" * (3 * 2**20)
    response = client.post("/", data=big, content_type="application/octet-stream")
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "too large" in text and "1 MB" in text and "<html" not in text.lower()


def test_an_oversized_upload_through_dash_answers_with_a_banner(small_app: dash.Dash) -> None:
    client = small_app.server.test_client()
    contents = "data:text/csv;base64," + base64.b64encode(b"x" * (3 * 2**20)).decode()
    body = {"output": "upload-referrals.contents", "outputs": [], "changedPropIds": ["upload-referrals.contents"],
            "inputs": [{"id": "upload-referrals", "property": "contents", "value": contents}]}  # fmt: skip
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    notice = response.get_json()["sideUpdate"][ids.SERVICE_NOTICE]
    assert "too large" in notice["children"] and "1 MB" in notice["children"]


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/dash/..%2f..%2fpyproject.toml",
        "/_dash-component-suites/dash/../../pyproject.toml",
        "/assets/..%2f..%2fpyproject.toml",
        "/_dash-component-suites/dash/..%5c..%5cpyproject.toml",
    ],
)
def test_crafted_paths_answer_404(down_app: dash.Dash, path: str) -> None:
    response = down_app.server.test_client().get(path)
    assert response.status_code == 404
    assert "[project]" not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- sign-in floods


def test_failed_logins_are_limited_per_client_within_a_window() -> None:
    now = [0.0]
    limiter = FailedLogins(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") == 61
    assert limiter.retry_after("b") == 0  # another client is not held up
    now[0] = 30.0
    assert 0 < limiter.retry_after("a") <= 31
    now[0] = 61.0
    assert limiter.retry_after("a") == 0


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_a_flood_of_wrong_passwords_is_refused_without_hashing(basic_app: dash.Dash, monkeypatch) -> None:  # noqa: ANN001
    calls = []
    real = security.check_password_hash

    def counting(hashed: str, password: str) -> bool:
        calls.append(hashed)
        return real(hashed, password)

    monkeypatch.setattr(security, "check_password_hash", counting)
    client = basic_app.server.test_client()
    for n in range(MAX_FAILED_LOGINS):
        assert client.get("/", headers=_basic("alice", f"wrong {n}")).status_code == 401
    assert len(calls) == MAX_FAILED_LOGINS
    # The same wrong pair again is refused from memory; a new one is rate limited, unhashed.
    assert client.get("/", headers=_basic("alice", "wrong 0")).status_code == 401
    limited = client.get("/", headers=_basic("mallory", "anything"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "try again" in limited.get_data(as_text=True)
    assert len(calls) == MAX_FAILED_LOGINS


def test_unknown_users_cost_one_dummy_check_of_the_same_kind(basic_app: dash.Dash, monkeypatch) -> None:  # noqa: ANN001
    calls = []
    real = security.check_password_hash
    monkeypatch.setattr(security, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    client = basic_app.server.test_client()
    assert client.get("/", headers=_basic("nobody", "guess")).status_code == 401
    assert client.get("/", headers=_basic("nobody", "guess")).status_code == 401  # remembered: no second check
    assert len(calls) == 1 and calls[0] != HASH and calls[0].startswith("pbkdf2:sha256:1000$")
    assert client.get("/", headers=_basic("alice", PASSWORD)).status_code == 200
