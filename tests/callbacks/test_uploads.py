"""Uploads through the dashboard: checked, saved to the workspace privately, published, shared.

Callbacks are called as plain functions inside a Flask request context. The workspace is a
GeoPackage in a temporary folder; other app processes (fresh interpreters) share it to show
that a dataset published through one worker is listed and loaded by another, and that a
session's upload survives a restart.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import dash
import handbuilt
import pytest
from dashapp import serving

from callbacks import upload, uploads
from callbacks.context import EXTENSION
from callbacks.registry import Registry
from callbacks.settings import Settings, settings_from_env
from coverage_map.dataset import Dataset
from coverage_map.store import open_workspace

ROOT = Path(__file__).resolve().parents[2]
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


# --------------------------------------------------------------------------- helpers


def data_url(data: bytes | str, kind: str = "text/csv") -> str:
    raw = data.encode() if isinstance(data, str) else data
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


def text_of(component: object) -> str:
    return json.dumps(component, default=lambda c: c.to_plotly_json() if hasattr(c, "to_plotly_json") else str(c))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return handbuilt.write_files(tmp_path_factory.mktemp("hand"))


@pytest.fixture()
def contents(files: dict[str, Path]) -> tuple[dict[str, object], dict[str, object]]:
    """The hand-built files as ``dcc.Upload`` would send them: data URLs and file names by role."""
    return (
        {role: data_url(Path(path).read_bytes()) for role, path in files.items()},
        {role: Path(path).name for role, path in files.items()},
    )


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workspace=str(tmp_path / "workspace.gpkg"),
                    max_upload_bytes=200_000, max_upload_total_bytes=400_000)  # fmt: skip


@pytest.fixture(scope="module")
def default_dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs(with_referrals=False), label="Default")


@pytest.fixture()
def app(dash_app: dash.Dash, default_dataset: Dataset, settings: Settings) -> Iterator[dash.Dash]:
    with serving(dash_app, default_dataset, settings):
        yield dash_app


@pytest.fixture()
def ctx(app: dash.Dash) -> Iterator[Registry]:
    with app.server.test_request_context():
        yield app.server.extensions[EXTENSION].registry


def save(contents: Mapping[str, object], names: Mapping[str, object], name: str = "hand", token: object = None):
    return upload.save_files(contents, names, name, token)


# --------------------------------------------------------------------------- settings


def test_limits_come_from_the_environment_once() -> None:
    settings = settings_from_env({"COVERAGE_MAP_MAX_UPLOAD_MB": "2", "COVERAGE_MAP_MAX_UPLOAD_TOTAL_MB": "3"})
    assert settings.upload_limits.per_file == 2 * 2**20 and settings.upload_limits.per_upload == 3 * 2**20
    assert settings.max_request_bytes == 4 * 2**20 + 2**20  # 3 MB as base64, plus 1 MB
    with pytest.raises(ValueError, match="COVERAGE_MAP_MAX_UPLOAD_TOTAL_MB must be a positive number"):
        settings_from_env({"COVERAGE_MAP_MAX_UPLOAD_TOTAL_MB": "lots"})


def test_oversized_requests_are_refused_before_parsing(app: dash.Dash, settings: Settings) -> None:
    client = app.server.test_client()
    for pad, refused in ((settings.max_request_bytes, True), (settings.max_request_bytes - 100, False)):
        body = b'{"output": "x", "inputs": [], "pad": "' + b"x" * pad + b'"}'
        response = client.post("/_dash-update-component", data=body, content_type="application/json")
        # Refused: answered (without reading the body) with the too-large banner, not the callback.
        too_large = response.status_code == 200 and "sideUpdate" in (response.get_json(silent=True) or {})
        assert too_large is refused  # the limit is the served settings' own


# --------------------------------------------------------------------------- checking files as they arrive


def test_each_file_is_checked_as_it_arrives(ctx: Registry, files: dict[str, Path]) -> None:
    check = upload._checker("assets")
    line, keep = check(data_url(Path(files["assets"]).read_bytes()), "../../my assets.csv")
    assert line.startswith("Received my assets.csv (") and keep is dash.no_update
    line, keep = check(data_url(EXE), "assets.csv")
    assert line == ("Refused: 'assets.csv' is named like a CSV file but its content is a Windows program "
                    "(EXE/DLL); upload the real .csv file") and keep is None  # fmt: skip
    line, _ = check(data_url("x" * 300_000), "big.csv")
    assert line.startswith("Refused: 'big.csv' (293.0 KB) is larger than the 195.3 KB limit per file")
    line, _ = check(data_url(Path(files["assets"]).read_bytes()), "assets.gpkg")
    assert "'assets.gpkg' is named like a GeoPackage (SQLite) file but its content is a CSV file" in line
    assert check(None, None) == ("", dash.no_update)


# --------------------------------------------------------------------------- save, privacy, publish


def test_upload_is_saved_privately_then_published(ctx: Registry, contents) -> None:
    data, names = contents
    saved, report, owner = save(data, names, name="Hand data")
    assert uploads.is_token(owner)
    assert saved == {"name": "Hand data", "version": 1, "owner": owner, "private": True}
    assert "Saved as Hand data v1" in text_of(report) and "private" in text_of(report)
    workspace = ctx.workspace

    # Saved under the owner token: listed for that session only.
    assert [ref.label for ref in workspace.list(owner=owner)] == ["Hand data v1"]
    other = uploads.new_token()
    assert workspace.list(owner=other) == [] and workspace.list() == []

    # The owner's choice loads it; the same choice under another token gives the default data.
    mine = ctx.get(saved)
    assert mine.uploaded and mine.dataset.label == "Hand data v1"
    assert sorted(mine.dataset.inputs.areas["area_id"]) == ["A", "B", "C"]
    assert len(mine.dataset.inputs.referrals) == 7
    stolen = {**saved, "owner": other}
    assert ctx.get(stolen).dataset is ctx.default
    assert ctx.get({**saved, "owner": None}).dataset is ctx.default

    # The picker after saving: the default data plus the private upload, and Publish enabled.
    outcome = upload.dataset_choice(workspace, {upload.SAVED}, value="default", saved=saved, current=None,
                                    token=owner, version=None)  # fmt: skip
    assert outcome.data == saved and outcome.value == "p1:Hand data" and outcome.publishable
    options = uploads.picker_options(outcome.refs, "Default")
    assert options == [{"label": "Default (default)", "value": "default"},
                       {"label": "Hand data v1 (private: only you can see it)", "value": "p1:Hand data"}]  # fmt: skip
    assert owner not in json.dumps(options)

    # Another session cannot pick it, even by sending its value.
    theirs = upload.dataset_choice(workspace, {upload.SELECT}, value="p1:Hand data", saved=None, current=None,
                                   token=other, version=None)  # fmt: skip
    assert theirs.data is None and theirs.value == "default" and "no longer available" in theirs.message
    assert not theirs.publishable
    # ...nor publish it.
    refused = upload.dataset_choice(workspace, {upload.PUBLISH}, value="p1:Hand data", saved=None,
                                    current={**saved, "owner": other}, token=other, version=None)  # fmt: skip
    assert "Not published" in refused.message and workspace.list() == []

    # The owner publishes it: now every session lists and loads it.
    published = upload.dataset_choice(workspace, {upload.PUBLISH}, value="p1:Hand data", saved=None, current=saved,
                                      token=owner, version=None)  # fmt: skip
    assert published.message.startswith("Published Hand data v1") and not published.publishable
    # Published, it leaves the owner's own sequence for everyone's: the owner's view follows it.
    assert published.data == {"name": "Hand data", "version": 1, "owner": owner, "private": False}
    assert published.value == "1:Hand data"
    assert [ref.label for ref in workspace.list()] == ["Hand data v1"]
    picked = upload.dataset_choice(workspace, {upload.SELECT}, value="1:Hand data", saved=None, current=None,
                                   token=other, version=None)  # fmt: skip
    assert picked.data == {"name": "Hand data", "version": 1, "owner": other, "private": False}
    shared = ctx.get(picked.data).dataset
    assert shared.label == "Hand data v1" and ctx.get(published.data).dataset is shared  # one per version per worker
    assert "published" in uploads.picker_options(picked.refs, "Default")[1]["label"]

    # Reset goes back to the default data.
    back = upload.dataset_choice(workspace, {upload.RESET}, value="1:Hand data", saved=None, current=picked.data,
                                 token=other, version=None)  # fmt: skip
    assert back.data is None and back.value == "default"


def test_choose_dataset_callback_writes_the_data_token(app: dash.Dash, ctx: Registry, contents) -> None:
    services = app.server.extensions[EXTENSION]
    data, names = contents
    saved, _, owner = save(data, names)
    out = upload.dataset_outputs(services, {"upload-saved"}, "default", saved, None, None, None, None,
                                 owner, None)  # fmt: skip
    data_token, options, value, disabled, message, version = out
    assert data_token == saved and value == "p1:hand" and disabled is False and message == ""
    assert [o["value"] for o in options] == ["default", "p1:hand"]
    # A timer tick with nothing new in the workspace sends nothing at all.
    tick = upload.dataset_outputs(services, {"dataset-refresh"}, "p1:hand", saved, None, None, 1,
                                  saved, owner, version)  # fmt: skip
    assert tick == (dash.no_update,) * 6
    # Page load restores the stored choice without resending it.
    loaded = upload.dataset_outputs(services, set(), "default", None, None, None, None, saved, owner, None)
    assert loaded[0] is dash.no_update and loaded[2] == "p1:hand"


def test_save_upload_callback_frees_the_browser_copies(ctx: Registry, contents) -> None:
    data, names = contents
    order = uploads.ROLES
    out = upload.save_upload(None, 1, *[data.get(r) for r in order], *[names.get(r) for r in order], "cb", None)
    saved, _, owner = out[:3]
    assert saved["name"] == "cb" and uploads.is_token(owner)
    assert list(out[3:]) == [None] * len(order)


def test_invalid_files_list_every_problem_and_store_nothing(ctx: Registry, settings: Settings) -> None:
    areas = "area_id,area_name,geometry\nA1,First,POINT (1 2)\n,Missing id,nonsense\n"
    assets = "asset_id,name,categories,lat,lon\nX1,Thing,not-a-category,53.4,-2.2\n"
    saved, report, owner = save({"areas": data_url(areas), "assets": data_url(assets)},
                                {"areas": "../my areas.csv", "assets": "assets.csv"})  # fmt: skip
    assert saved is dash.no_update and uploads.is_token(owner)
    text = text_of(report)
    assert "nothing was loaded" in text and "my areas.csv" in text and "assets.csv" in text
    assert str(settings.data_dir) not in text  # no server path in the response
    assert ctx.workspace.list(include_private=True) == []
    assert list(settings.data_dir.iterdir()) == []  # the scratch folder is gone


@pytest.mark.parametrize(
    ("role", "name", "payload", "message"),
    [
        ("assets", "assets.csv", EXE, "'assets.csv' is named like a CSV file but its content is a Windows program"),
        ("areas", "areas.gpkg", b"area_id,name\nA,x\n", "'areas.gpkg' is named like a GeoPackage"),
        ("assets", "../../etc/passwd", b"a,b\n1,2\n", "'passwd' is not a supported file type"),
        ("assets", "..\\..\\x.exe", EXE, "'x.exe' is not a supported file type"),
        ("assets", "/etc/cron.d/x\x00.csv", EXE, "'x.csv' is named like a CSV file"),
    ],
)
def test_hostile_files_are_refused_naming_the_file(
    ctx: Registry, contents, settings: Settings, role: str, name: str, payload: bytes, message: str
) -> None:
    data, names = contents
    saved, report, _ = save({**data, role: data_url(payload)}, {**names, role: name})
    assert saved is dash.no_update
    assert message in text_of(report)
    assert ctx.workspace.list(include_private=True) == []
    assert not settings.data_dir.exists() or list(settings.data_dir.iterdir()) == []


def test_the_whole_upload_has_a_size_limit(ctx: Registry, contents) -> None:
    data, names = contents
    padding = "x" * 150_000 + "\n"
    big = {**data, "lookup": data_url("area_id,pad\n" + "A," + padding), "population": data_url("a,b\n" + padding),
           "referrals": data_url("a,b\n" + padding)}  # fmt: skip
    saved, report, _ = save(big, names)
    assert saved is dash.no_update
    assert "the files together" in text_of(report) and "limit per upload" in text_of(report)


def test_required_files_are_asked_for(ctx: Registry) -> None:
    saved, report, _ = save({}, {})
    assert saved is dash.no_update
    assert "upload the small areas (boundaries) and community assets (services, groups) files first" in text_of(report)


def shapefile_zip(folder: Path, member_prefix: str = "") -> bytes:
    shp = folder / "zipped" / "areas.shp"
    shp.parent.mkdir(parents=True, exist_ok=True)
    handbuilt.areas().drop(columns="_source_row").to_file(shp)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in shp.parent.iterdir():
            archive.write(part, member_prefix + part.name)
    return buffer.getvalue()


def test_a_zipped_shapefile_is_saved(ctx: Registry, contents, tmp_path: Path, settings: Settings) -> None:
    data, names = contents
    zipped = shapefile_zip(tmp_path)
    saved, report, owner = save({**data, "areas": data_url(zipped, "application/zip")},
                                {**names, "areas": "boundaries.zip"})  # fmt: skip
    assert saved != dash.no_update, text_of(report)
    ref = ctx.workspace.ref(saved["name"], saved["version"], owner=owner)
    assert "boundaries.shp" in [source.path for source in ref.sources]
    assert sorted(ctx.get(saved).dataset.inputs.areas["area_id"]) == ["A", "B", "C"]
    assert list(settings.data_dir.iterdir()) == []


def test_a_zip_with_traversal_or_a_bomb_is_refused(ctx: Registry, contents, tmp_path: Path) -> None:
    data, names = contents
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("areas.shp", b"x")
        archive.writestr("../../../../tmp/owned.txt", b"x")
    saved, report, _ = save({**data, "areas": data_url(buffer.getvalue())}, {**names, "areas": "areas.zip"})
    assert saved is dash.no_update and "climbs out with '..'" in text_of(report)
    for size, message in ((5 * 2**20, "would unpack to 5 MB, more than the 1.91 MB allowed"),
                          (int(1.5 * 2**20), "like a zip bomb")):  # fmt: skip
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("areas.shp", b"x")
            archive.writestr("areas.dbf", b" " * size)
        saved, report, _ = save({**data, "areas": data_url(bomb.getvalue())}, {**names, "areas": "areas.zip"})
        assert saved is dash.no_update and message in text_of(report)
    assert not Path("/tmp/owned.txt").exists()


def test_a_cached_dataset_is_dropped_when_removed(ctx: Registry, contents) -> None:
    data, names = contents
    saved, _, owner = save(data, names)
    assert ctx.get(saved).uploaded
    ctx.workspace.remove(saved["name"], saved["version"], owner=owner)  # the version token changes
    assert ctx.get(saved).dataset is ctx.default


# --------------------------------------------------------------------------- other processes


#: Another app process: the dashboard's callbacks on the workspace the config names.
APP_PROCESS = """
    import json, sys, time
    sys.path.insert(0, "tests")
    import handbuilt
    from callbacks import upload
    from callbacks.app import create_app
    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset

    workspace, data_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    app = create_app(Dataset.from_inputs(handbuilt.inputs(with_referrals=False), label="Default"),
                     settings=Settings(data_dir=data_dir, workspace=workspace))
    registry = app.server.extensions["coverage_map"].registry
    with app.server.test_request_context():
        if mode == "wait":  # a worker already serving a page when another one publishes
            first = upload.dataset_choice(registry.workspace, set(), value="default", saved=None, current=None,
                                          token=None, version=None)
            print("listed", len(first.refs), flush=True)
            version, deadline = first.generation, time.monotonic() + 60
            while True:
                tick = upload.dataset_choice(registry.workspace, {upload.REFRESH}, value="default", saved=None,
                                             current=None, token=None, version=version)
                if not tick.unchanged and tick.refs:
                    break
                if time.monotonic() > deadline:
                    sys.exit("nothing was published within 60 s")
                time.sleep(0.05)
            value = tick.refs[0].version, tick.refs[0].name
            chosen = upload.dataset_choice(registry.workspace, {upload.SELECT}, value=f"{value[0]}:{value[1]}",
                                           saved=None, current=None, token=None, version=None)
            loaded = registry.get(chosen.data)
        else:  # a fresh process after a restart: the session's stored choice
            loaded = registry.get(json.loads(sys.argv[4]))
        print(json.dumps({"label": loaded.dataset.label, "uploaded": loaded.uploaded,
                          "areas": sorted(loaded.dataset.inputs.areas["area_id"])}))
"""


def app_process(*args: str, wait: bool = True):
    command = [sys.executable, "-c", textwrap.dedent(APP_PROCESS), *args]
    env = {**os.environ, "COVERAGE_MAP_DATABASE_URL": ""}
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_published_in_one_process_is_listed_and_loaded_by_another(ctx: Registry, contents, settings: Settings) -> None:
    # Open (create) the workspace first, so the other process starts on an existing store.
    ctx.workspace.list()
    other = app_process(str(settings.workspace), str(settings.data_dir), "wait", wait=False)
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "listed 0"
        data, names = contents
        saved, _, owner = save(data, names, name="shared")
        upload.dataset_choice(ctx.workspace, {upload.PUBLISH}, value="1:shared", saved=None, current=saved,
                              token=owner, version=None)  # fmt: skip
        out, err = other.communicate(timeout=120)
    finally:
        if other.poll() is None:
            other.kill()
            other.communicate()
    assert other.returncode == 0, err
    assert json.loads(out) == {"label": "shared v1", "uploaded": True, "areas": ["A", "B", "C"]}


def test_a_private_upload_survives_a_restart(ctx: Registry, contents, settings: Settings) -> None:
    data, names = contents
    saved, _, _ = save(data, names, name="mine")
    ctx.workspace.close()
    restarted = json.loads(app_process(str(settings.workspace), str(settings.data_dir), "restart", json.dumps(saved)))
    assert restarted == {"label": "mine v1", "uploaded": True, "areas": ["A", "B", "C"]}
    # ...and it is still private after the restart.
    stranger = json.loads(app_process(str(settings.workspace), str(settings.data_dir), "restart",
                                      json.dumps({**saved, "owner": uploads.new_token()})))  # fmt: skip
    assert stranger == {"label": "Default", "uploaded": False, "areas": ["A", "B", "C"]}


def test_the_default_workspace_follows_the_environment(tmp_path: Path) -> None:
    code = """
        import sys
        from callbacks.registry import Registry
        from callbacks.settings import settings_from_env
        from coverage_map.dataset import Dataset
        sys.path.insert(0, "tests")
        import handbuilt
        registry = Registry(Dataset.from_inputs(handbuilt.inputs()), settings_from_env())
        print(registry.workspace.description)
    """
    env = {**os.environ, "COVERAGE_MAP_DATA_DIR": str(tmp_path), "COVERAGE_MAP_DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "workspace.gpkg") in done.stdout
    assert (tmp_path / "workspace.gpkg").is_file()
    with open_workspace(tmp_path / "workspace.gpkg") as workspace:
        assert workspace.list() == []


# --------------------------------------------------------------------------- every rejected row


def test_rows_outside_every_area_are_counted_listed_and_downloadable(ctx: Registry, files) -> None:
    assets = Path(files["assets"]).read_text()
    assets += (
        "far1,Far Away,51.5000000,-0.1000000,dementia,,,,local\nfar2,Further,51.4000000,-0.2000000,dementia,,,,local\n"
    )
    referrals = Path(files["referrals"]).read_text()
    read = len(referrals.strip().splitlines()) - 1
    referrals += "SECRET-OUT-1,2026-01-10,dementia,,,51.5123456,-0.1123456,,3\n"
    referrals += "SECRET-OUT-2,2026-01-11,dementia,,,51.4123456,-0.2123456,,4\n"
    data = {role: data_url(Path(path).read_bytes()) for role, path in files.items()}
    data["assets"], data["referrals"] = data_url(assets), data_url(referrals)
    names = {role: Path(path).name for role, path in files.items()}
    saved, report, owner = save(data, names, name="outside")
    assert saved["name"] == "outside"
    text = text_of(report)
    # Worked out by hand: 4 services inside, 2 in London; every referral inside but the two added.
    assert "assets.csv: 6 read, 4 used, 2 rejected" in text
    assert f"referrals.csv: {read + 2} read, {read} used, 2 rejected" in text
    assert "areas.gpkg: 3 read, 3 used" in text and "3 areas and 4 services" in text
    assert "asset lies outside every area" in text and "referral origin lies outside every area" in text
    # Referral rows are listed by row, column and reason only: never an id, a date or a coordinate.
    assert "SECRET" not in text and "51.51" not in text and "-0.11" not in text
    listed = json.loads(text)
    assert listed  # the table of rejected rows is in the report

    csv_text = upload.rejected_csv(ctx.get(saved).dataset).decode()
    lines = csv_text.splitlines()
    assert lines[0] == "file,row,column,value,message,fatal"
    rows = [line for line in lines if "outside every area" in line and ",geometry," in line]
    assert len(rows) == 4  # two assets and two referrals, each with its spreadsheet row
    assert f"referrals.csv,{read + 2},geometry,,referral origin lies outside every area" in csv_text
    assert f"referrals.csv,{read + 3},geometry,,referral origin lies outside every area" in csv_text
    assert "assets.csv,6,geometry," in csv_text and "assets.csv,7,geometry," in csv_text
    assert "SECRET" not in csv_text and "51.51" not in csv_text


def test_the_rejected_rows_callback_downloads_the_dataset_shown(ctx: Registry, contents) -> None:
    data, names = contents
    saved, _, owner = save(data, names, name="dl")
    sent = upload.download_rejected(1, saved)
    assert sent["filename"] == "rejected_rows.csv" and sent["type"] == "text/csv"
    header = base64.b64decode(sent["content"]).decode().splitlines()[0]
    assert header == "file,row,column,value,message,fatal"


def test_a_name_another_session_uses_reveals_nothing(ctx: Registry, contents) -> None:
    data, names = contents
    first, _, alice = save(data, names, name="My data")
    second, report, bob = save(data, names, name="My data")
    assert alice != bob
    # Each session's private versions are numbered on their own: both are "v1".
    assert first["version"] == second["version"] == 1
    assert "Saved as My data v1" in text_of(report)
    assert ctx.get(first).dataset is not ctx.get(second).dataset  # two versions, kept apart
    assert [ref.label for ref in ctx.workspace.list(owner=bob)] == ["My data v1"]
    # Bob's second save is his v2, whatever Alice does.
    third, _, _ = save(data, names, name="My data", token=bob)
    assert third["version"] == 2
