"""Fixtures of the fault suite: the demo files as an upload, servers that are always stopped, the view's values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Server, start_server, stop_server

#: The controls of the page as it opens (the map callback's inputs).
VIEW: dict[str, object] = {
    "level-select.value": "neighbourhood",
    "category-select.value": "dementia",
    "community-select.value": "all",
    "metric-select.value": "gap_score",
    "borough-select.value": "all",
    "scheme-select.value": "quantiles",
    "assets-toggle.value": True,
    "gaps-only-toggle.value": False,
    "selected-area.data": None,
    "data-token.data": None,
    "whatif.data": None,
    "gap-table-all.value": False,
}
#: The upload boxes' roles, as the page names them (``upload-<role>``).
UPLOAD_ROLES = ("areas", "lookup", "population", "assets", "referrals")


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo data's upload files by role (the shipped ones, or a fresh copy when ``geodata/`` is empty)."""
    from coverage_map.config import DEMO_FILES, GEODATA_DIR

    folder = GEODATA_DIR
    if not all((folder / name).exists() for name in DEMO_FILES.values()):
        from coverage_map.demo import write_demo

        folder = tmp_path_factory.mktemp("demo")
        write_demo(folder)
    return {role: folder / DEMO_FILES[role] for role in UPLOAD_ROLES}


@pytest.fixture(scope="session")
def handbuilt_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dashboard config (``COVERAGE_MAP_CONFIG``) serving the small hand-built data, beside its files.

    gunicorn loads it in seconds rather than the demo's half a minute: for faults that do not need a
    large default data set.
    """
    import handbuilt

    folder = tmp_path_factory.mktemp("handbuilt")
    paths = handbuilt.write_files(folder)
    lines = [f'{role} = "{Path(paths[role]).name}"' for role in UPLOAD_ROLES]
    (folder / "config.toml").write_text("[data]\n" + "\n".join(lines) + '\nlabel = "Hand-built"\n')
    return folder / "config.toml"


def files_of(config: Path) -> dict[str, tuple[str, bytes]]:
    """The upload files (role -> (name, bytes)) beside a :func:`handbuilt_config`: a small, valid upload."""
    import tomllib

    data = tomllib.loads(config.read_text())["data"]
    return {role: (data[role], (config.parent / data[role]).read_bytes()) for role in UPLOAD_ROLES}


def upload_values(files: dict[str, tuple[str, bytes]], name: str, token: str | None) -> dict[str, object]:
    """The save callback's inputs and states after choosing ``files`` (role -> (file name, bytes)) and clicking save."""
    from .harness import data_url

    values: dict[str, object] = {"upload-load.n_clicks": 1, "upload-name.value": name, "upload-token.data": token,
                                 "mapping-store.data": None}  # fmt: skip
    for role, (file_name, data) in files.items():
        values[f"upload-{role}.contents"] = data_url(Path(file_name), data)
        values[f"upload-{role}.filename"] = file_name
    return values


def demo_upload(demo_files: dict[str, Path], *, referral_copies: int = 1) -> dict[str, tuple[str, bytes]]:
    """The demo files as uploaded; ``referral_copies`` > 1 repeats the referral rows to make a larger upload."""
    files = {role: (path.name, path.read_bytes()) for role, path in demo_files.items()}
    if referral_copies > 1:
        header, _, rows = files["referrals"][1].partition(b"\n")
        rows = rows.rstrip(b"\r\n") + b"\n"
        files["referrals"] = ("referrals.csv", header + b"\n" + rows * referral_copies)
    return files


@pytest.fixture()
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start gunicorn servers (:func:`harness.start_server`); every one is stopped when the test ends."""
    started: list[Server] = []
    logs = tmp_path_factory.mktemp("gunicorn-logs")

    def start(data_dir: Path, **kwargs: object) -> Server:
        server = start_server(data_dir, logs, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_server(server)
