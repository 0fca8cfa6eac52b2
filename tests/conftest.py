"""Shared fixtures. Real data sits behind fixtures that skip when ../shared is absent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dash import Dash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real Greater Manchester open data, or skip."""
    if not (REALDATA / "SOURCES.md").exists():
        pytest.skip(f"real data not found at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def dash_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    """The process's one dashboard app (on the hand-built data, no authentication).

    Tests serve other data through it with :func:`dashapp.serving`.
    """
    import handbuilt

    from callbacks.app import create_app
    from callbacks.security import SecurityConfig
    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset

    uploads = tmp_path_factory.mktemp("app-uploads")
    settings = Settings(data_dir=uploads, workspace=str(uploads / "workspace.gpkg"))
    dataset = Dataset.from_inputs(handbuilt.inputs(), label="Hand-built", synthetic=True)
    return create_app(dataset, settings=settings, security=SecurityConfig())
