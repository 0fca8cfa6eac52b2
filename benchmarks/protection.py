"""Suppression across tables (``Dataset.protection()``): time and peak memory, demo and England.

Run: .venv/bin/python benchmarks/protection.py [--scales demo,england] [--england-dir DIR]

Each scale runs in a fresh process: the data set is loaded and every level analysed first
(not timed here), then ``Dataset.protection()`` (building the cell system and choosing the
complementary cells) and its audit are timed. Memory is the process's peak RSS before and
after, so "extra" is what protection adds over the analysis. The England set is read from
``$TMPDIR/coverage-map-england`` (``coverage-map demo-data --scale england --out DIR``) and
skipped when absent. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ENGLAND_DIR = Path(tempfile.gettempdir()) / "coverage-map-england"
ENGLAND_FILES = {
    "areas": "areas.parquet",
    "lookup": "lookup.csv",
    "population": "population.csv",
    "assets": "assets.csv",
    "referrals": "referrals.parquet",
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(scale: str, england_dir: Path) -> dict[str, object]:
    """One run in this process: seconds and peak RSS of the analysis, the protection and the audit."""
    import numpy as np

    from coverage_map.dataset import Dataset
    from coverage_map.spec import InputSpec

    clock = time.perf_counter()
    if scale == "demo":
        dataset = Dataset.demo()
    else:
        files = {role: england_dir / name for role, name in ENGLAND_FILES.items()}
        dataset = Dataset.from_spec(InputSpec(**files), label="England (synthetic)", synthetic=True)
    for level in dataset.levels:
        dataset.analysis(level)
    analysis_s = time.perf_counter() - clock
    analysis_mb = _peak_mb()
    clock, cpu = time.perf_counter(), time.process_time()
    protection = dataset.protection()
    protect_s, protect_cpu = time.perf_counter() - clock, time.process_time() - cpu
    protect_mb = _peak_mb()
    clock = time.perf_counter()
    result = protection.audit()
    audit_s = time.perf_counter() - clock
    return {
        "scale": scale,
        "cells": len(protection.system),
        "relations": protection.system.relations.count,
        "analysis_s": round(analysis_s, 2),
        "protection_s": round(protect_s, 2),
        "protection_cpu_s": round(protect_cpu, 2),
        "audit_s": round(audit_s, 2),
        "peak_before_mb": round(analysis_mb),
        "peak_after_mb": round(protect_mb),
        "extra_mb": round(protect_mb - analysis_mb),
        "hidden_sha256": hashlib.sha256(np.packbits(protection.hidden).tobytes()).hexdigest()[:16],
        "audit": result.summary(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="demo,england")
    parser.add_argument("--england-dir", type=Path, default=DEFAULT_ENGLAND_DIR)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scales = [scale.strip() for scale in args.scales.split(",") if scale.strip()]
    if args.child:
        print(json.dumps(measure(scales[0], args.england_dir)))
        return
    print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    for scale in scales:
        if scale == "england" and not (args.england_dir / "referrals.parquet").exists():
            print(f"england: skipped ({args.england_dir} has no referrals.parquet)")
            continue
        command = [sys.executable, __file__, "--child", "--scales", scale, "--england-dir", str(args.england_dir)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        print(
            f"{scale}: {figures['cells']:,} cells, {figures['relations']:,} relations; "
            f"analysis {figures['analysis_s']} s (peak {figures['peak_before_mb']:,} MB); "
            f"protection {figures['protection_s']} s ({figures['protection_cpu_s']} s CPU), audit {figures['audit_s']} s; "
            f"peak {figures['peak_after_mb']:,} MB (+{figures['extra_mb']:,} MB); "
            f"hidden mask {figures['hidden_sha256']}\n  audit: {figures['audit']}",
            flush=True,
        )
        print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
