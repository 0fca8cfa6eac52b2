"""Saving a large upload through "Use your own data": time and peak extra memory (printed, never asserted).

The files are those of the England-scale set (``$TMPDIR/coverage-map-england``: areas, lookup,
population, assets) with a referral CSV cut from its referrals (``--rows``, default 854,500: about
45 MB, the referral id left out so that the file stays under the 50 MB upload limit). Each file is
turned into the ``data:...;base64,...`` string a ``dcc.Upload`` box sends, and then, in one fresh
process, the same functions the save callback calls (``callbacks.upload.save_files``) run one after
the other:

* receive: :func:`callbacks.uploads.receive_all` (decode and check every file);
* store: :func:`callbacks.uploads.save_to_workspace` (write the files, validate them and store them
  in a new GeoPackage workspace);
* adopt: :meth:`callbacks.registry.Registry.adopt` (the saved dataset joined, as the map shows it).

Printed per stage: wall and CPU seconds, and the peak resident memory the stage reached above what
the process held before the save (the base64 strings, which the request has already parsed, are
counted in the "before"). The peak is the kernel's high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs`` before each stage).

Run::

    .venv/bin/python benchmarks/upload.py [--rows 854500] [--repeat 3]
    .venv/bin/python benchmarks/upload.py --code /tmp/old      # the same on another checkout (before/after)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENGLAND_DIR = Path(tempfile.gettempdir()) / "coverage-map-england"
TARGETS = {"seconds (receive + store + adopt)": 5.0, "extra peak memory (MB)": 300.0}
STAGES = ("receive", "store", "adopt")


def referral_csv(england: Path, rows: int, folder: Path) -> Path:
    """The first ``rows`` referrals of the England set as CSV (no referral id; coordinates to 6 decimals)."""
    import pandas as pd

    target = folder / f"referrals_{rows}.csv"
    if not target.exists():
        frame = pd.read_parquet(england / "referrals.parquet").head(rows).drop(columns=["referral_id"])
        partial = target.with_suffix(".part")
        frame.to_csv(partial, index=False, float_format="%.6f")
        partial.rename(target)
    return target


def upload_files(england: Path, rows: int, folder: Path) -> dict[str, Path]:
    """The files of the upload by role (generating the England set when it is missing)."""
    if not (england / "referrals.parquet").exists():
        from coverage_map.demo import write_demo

        print(f"generating England-scale data in {england} (about a minute)...", flush=True)
        write_demo(england, scale="england")
    files = {role: england / name for role, name in
             (("areas", "areas.parquet"), ("lookup", "lookup.csv"), ("population", "population.csv"),
              ("assets", "assets.csv"))}  # fmt: skip
    files["referrals"] = referral_csv(england, rows, folder)
    return files


# --------------------------------------------------------------------------- one measured save (child process)


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def measure_once(files: dict[str, Path], data_dir: Path) -> dict[str, dict[str, float]]:
    """One save of ``files`` in this process, stage by stage."""
    import base64
    import gc

    from callbacks import uploads
    from callbacks.registry import Registry
    from callbacks.settings import Settings
    from coverage_map.dataset import Dataset
    from coverage_map.store import open_workspace

    settings = Settings(data_dir=data_dir)
    limits = settings.upload_limits
    registry = Registry(Dataset.demo(), settings, workspace=open_workspace(data_dir / "workspace.gpkg"))
    contents = {role: "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
                for role, path in files.items()}  # fmt: skip
    names = {role: path.name for role, path in files.items()}
    owner = uploads.new_token()
    gc.collect()
    before = _kb("VmRSS")
    result: dict[str, dict[str, float]] = {}
    state: dict[str, object] = {}

    def receive() -> None:
        state["received"] = uploads.receive_all(contents, names, limits=limits)

    def store() -> None:
        state["added"] = uploads.save_to_workspace(registry.workspace, data_dir, owner, "bench", state["received"],
                                                   limits=limits)  # type: ignore[arg-type]  # fmt: skip

    def adopt() -> None:
        added = state["added"]
        choice = uploads.Choice.of(added.ref, owner)  # type: ignore[attr-defined]
        state["dataset"] = registry.adopt(choice, added.inputs)  # type: ignore[attr-defined]

    for stage, run in zip(STAGES, (receive, store, adopt), strict=True):
        _reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        result[stage] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                         "peak_extra_mb": (_kb("VmHWM") - before) / 1024, "after_mb": (_kb("VmRSS") - before) / 1024}  # fmt: skip
    added = state["added"]
    result["rows"] = {"referrals": float(added.ref.rows.get("referrals", 0))}  # type: ignore[attr-defined]
    return result


def child_main(arguments: list[str]) -> None:
    files = {role: Path(path) for role, path in json.loads(arguments[0]).items()}
    with tempfile.TemporaryDirectory(prefix="coverage-map-upload-") as folder:
        print(json.dumps(measure_once(files, Path(folder))))


# --------------------------------------------------------------------------- driver


def run_child(code: Path, files: dict[str, Path]) -> dict[str, dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(code))
    env.pop("COVERAGE_MAP_DATABASE_URL", None)
    command = [sys.executable, str(Path(__file__).resolve()), "--child",
               json.dumps({role: str(path) for role, path in files.items()})]  # fmt: skip
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the measured save failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--england-dir", type=Path, default=DEFAULT_ENGLAND_DIR)
    parser.add_argument("--rows", type=int, default=854_500, help="referrals in the uploaded CSV")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes; medians are printed")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code is measured")
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "coverage-map-upload-bench")
    args = parser.parse_args(argv)
    args.scratch.mkdir(parents=True, exist_ok=True)
    files = upload_files(args.england_dir, args.rows, args.scratch)
    sizes = {role: path.stat().st_size / 1e6 for role, path in files.items()}
    print(f"code: {args.code.resolve()}  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("files: " + ", ".join(f"{role} {path.name} {sizes[role]:.1f} MB" for role, path in files.items()))
    runs = []
    for number in range(args.repeat):
        runs.append(run_child(args.code.resolve(), files))
        stages = runs[-1]
        total = sum(stages[s]["wall"] for s in STAGES)
        print(f"  run {number + 1}: " + ", ".join(f"{s} {stages[s]['wall']:.2f} s" for s in STAGES)
              + f", total {total:.2f} s, peak extra {max(stages[s]['peak_extra_mb'] for s in STAGES):.0f} MB"
              f" (load {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
    print(f"\nmedian of {len(runs)} fresh processes, {int(runs[0]['rows']['referrals']):,} referral rows kept:")
    print(f"  {'stage':<8} {'wall s':>8} {'CPU s':>8} {'peak extra MB':>14} {'held after MB':>14}")
    for stage in STAGES:
        values = [run[stage] for run in runs]
        print(f"  {stage:<8} {statistics.median(v['wall'] for v in values):>8.2f} "
              f"{statistics.median(v['cpu'] for v in values):>8.2f} "
              f"{statistics.median(v['peak_extra_mb'] for v in values):>14.0f} "
              f"{statistics.median(v['after_mb'] for v in values):>14.0f}")  # fmt: skip
    totals = [sum(run[s]["wall"] for s in STAGES) for run in runs]
    saves = [sum(run[s]["wall"] for s in STAGES[:2]) for run in runs]
    peaks = [max(run[s]["peak_extra_mb"] for s in STAGES) for run in runs]
    print(f"  receive + store: {statistics.median(saves):.2f} s; with adopt {statistics.median(totals):.2f} s "
          f"(target {TARGETS['seconds (receive + store + adopt)']:.0f} s)")  # fmt: skip
    print(f"  peak extra memory: {statistics.median(peaks):.0f} MB (target {TARGETS['extra peak memory (MB)']:.0f} MB)")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
