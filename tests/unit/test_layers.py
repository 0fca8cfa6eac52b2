"""The analysis core never imports dash: layers point one way (files -> core -> figures -> callbacks)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import coverage_map


def test_no_core_module_imports_dash():
    modules = sorted(f"coverage_map.{m.name}" for m in pkgutil.iter_modules(coverage_map.__path__))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'dash' or m.startswith('dash.') or m.startswith('callbacks')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
