"""Stop PostgreSQL in the middle of a session (``pg_ctl stop -m immediate``), then start it again.

A PostgreSQL + PostGIS cluster of the test's own (its own folder and port; the shared test cluster on
54329 is never touched) holds the workspace of gunicorn run as the Procfile runs it. A visitor saves
their data and looks at it; the database stops. Every answer is then the outage banner and no data
(never the default data, which they would take for theirs), never a ``500``, an address, a password or
a traceback, and a save says so and stores nothing. The database starts again and the same session
sees its data again, with nothing partial stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbacks.registry import UNAVAILABLE_TEXT
from callbacks.uploads import new_token
from coverage_map.store import open_workspace

from .conftest import VIEW, files_of, upload_values
from .harness import Client, Postgres, assert_no_leak, assert_serving, own_postgres, postgres_binaries, scratch_left
from .harness import wait_until as wait

pytestmark = pytest.mark.faults


@pytest.fixture()
def postgres() -> Iterator[Postgres]:
    bin_dir, why = postgres_binaries()
    if bin_dir is None:
        pytest.skip(why)
    with own_postgres(bin_dir) as server:
        yield server


def test_stopping_postgresql_mid_session_shows_the_outage_and_recovers(
    servers, postgres: Postgres, handbuilt_config: Path, tmp_path: Path
) -> None:
    env = {"COVERAGE_MAP_DATABASE_URL": postgres.url, "COVERAGE_MAP_CONFIG": str(handbuilt_config)}
    server = servers(tmp_path / "data", env=env)
    client = Client(server).load()
    save = client.spec("upload-saved.data", "upload-report.children")
    gaps = client.spec("gap-table.rowData")
    picker = client.spec("data-token.data", "dataset-select.options")
    token = new_token()
    files = files_of(handbuilt_config)

    status, text = client.call(save, upload_values(files, "Mine", token), ["upload-load.n_clicks"])
    assert status == 200 and "Saved as Mine v1" in text, text[:500]
    choice = json.loads(text)["response"]["upload-saved"]["data"]
    mine = {**VIEW, "data-token.data": choice, "upload-token.data": token, "dataset-version.data": "seen"}
    status, text = client.call(gaps, mine, ["data-token.data"])
    assert status == 200 and json.loads(text)["response"]["gap-table"]["rowData"]

    postgres.stop()
    for _ in range(3):  # either worker may answer each request: ask several times
        status, text = client.call(gaps, mine, ["data-token.data"])
        answer = json.loads(text)
        assert status == 200 and "gap-table" not in answer.get("response", {})  # no data, not the default's
        assert answer["sideUpdate"]["service-notice"]["children"] == UNAVAILABLE_TEXT
        assert answer["sideUpdate"]["main"]["style"] == {"display": "none"}
        status, text = client.call(client.spec("map.figure"), mine, ["data-token.data"])
        assert status == 200 and "map" not in json.loads(text).get("response", {})
        status, text = client.call(picker, mine, ["dataset-refresh.n_intervals"])
        assert status == 200 and "cannot be reached" in text
        assert_serving(client, VIEW)  # the default data is still served to whoever did not choose their own
    status, text = client.call(save, upload_values(files, "During the outage", token), ["upload-load.n_clicks"])
    assert status == 200 and "Saved as" not in text and "cannot be reached" in text, text[:500]
    secrets = (postgres.password, f"127.0.0.1:{postgres.port}", f"localhost:{postgres.port}", "coverage_map_faults")
    assert_no_leak(client.seen, secrets)

    postgres.start()

    def recovered() -> bool:
        status, text = client.call(gaps, mine, ["data-token.data"])
        return status == 200 and bool(json.loads(text).get("response", {}).get("gap-table", {}).get("rowData"))

    wait(recovered, timeout=90, what="the session to see its data again once PostgreSQL is back", every=1.0)
    assert_serving(client, {**mine, "data-token.data": choice})
    with open_workspace(postgres.url, data_dir=tmp_path / "check") as workspace:
        assert [ref.label for ref in workspace.list(include_private=True)] == ["Mine v1"]  # nothing partial
        assert workspace.check_integrity() == []
    assert scratch_left(server.folder) == []
    assert_no_leak(client.seen, secrets)
