"""Shared fixtures. Real data sits behind fixtures that skip when ../shared is absent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real Greater Manchester open data, or skip."""
    if not (REALDATA / "SOURCES.md").exists():
        pytest.skip(f"real data not found at {REALDATA}")
    return REALDATA
