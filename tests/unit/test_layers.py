"""The analysis core never imports dash: layers point one way (files -> core -> figures -> callbacks)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import coverage_map


def test_no_core_module_imports_dash():
    modules = sorted(m.name for m in pkgutil.walk_packages(coverage_map.__path__, "coverage_map."))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'dash' or m.startswith('dash.') or m.startswith('callbacks')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_only_outputs_import_plotly():
    # The core builds and memoises map boundaries (coverage_map.geojson) without a plotting library.
    core = sorted(f"coverage_map.{m.name}" for m in pkgutil.iter_modules(coverage_map.__path__) if m.name != "outputs")
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'plotly' or m.startswith(('plotly.', 'coverage_map.outputs'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
