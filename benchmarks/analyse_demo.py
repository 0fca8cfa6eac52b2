"""Time and peak memory of `coverage-map analyse` on the shipped demo data, stage by stage.

Run: .venv/bin/python benchmarks/analyse_demo.py [--level neighbourhood] [--repeat 3]
Prints figures; asserts nothing (targets live here, not in the test suite).
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coverage_map.analysis import analyse, published_assets, published_table
from coverage_map.config import DEMO_FILES, GEODATA_DIR
from coverage_map.ingest import load_inputs
from coverage_map.joins import prepare
from coverage_map.outputs.tables import write_any


def stages(level: str, out_dir: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    inputs = load_inputs(**{role: GEODATA_DIR / name for role, name in DEMO_FILES.items()})
    timings["load + validate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    prepared = prepare(inputs)
    timings["join"] = time.perf_counter() - clock
    clock = time.perf_counter()
    analysis = analyse(prepared, level=level)
    timings["metrics + gaps"] = time.perf_counter() - clock
    clock = time.perf_counter()
    table = published_table(analysis)
    assets = published_assets(analysis)
    timings["suppress"] = time.perf_counter() - clock
    clock = time.perf_counter()
    write_any(table, out_dir / "gaps.csv")
    write_any(assets, out_dir / "gaps_assets.csv")
    timings["write"] = time.perf_counter() - clock
    timings["total"] = sum(timings.values())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--level", default="neighbourhood")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            runs.append(stages(args.level, Path(tmp)))
    print(f"in-process stages at level={args.level}, median of {args.repeat} runs:")
    for stage in runs[0]:
        print(f"  {stage:<16} {statistics.median(r[stage] for r in runs):7.2f} s")
    print(f"  peak RSS (in-process, all runs): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    # The real command, end to end, in a fresh process (includes Python start-up and imports).
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "coverage_map.cli",
            "analyse",
            "--level",
            args.level,
            "--out",
            str(Path(tmp) / "gaps.csv"),
        ]
        clock = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - clock
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"coverage-map analyse --level {args.level} (fresh process): {wall:.2f} s wall, peak RSS {child_peak:.0f} MB")


if __name__ == "__main__":
    main()
