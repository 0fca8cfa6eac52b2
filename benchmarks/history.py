"""Longer referral histories: the whole ``analyse`` command per engine as the history grows (printed only).

The England set holds two years of referrals (2,000,000, October 2024 to September 2026). For a
history of ``--copies`` times that, each copy is moved back by two years per copy (so the copies
never overlap) and its ids are prefixed, giving e.g. 10,000,000 referrals over ten years for
``--copies 5``. The pandas engine reads them as one Parquet file; the dask engine as one file per
250,000 rows on a ``LocalCluster``. For each engine and history length it prints the wall time
and the peak summed RSS of the command's process tree (see ``run.py``'s ``run_command``).

Run::

    .venv/bin/python benchmarks/history.py [--copies 1,3,5] [--engines pandas,dask]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_ENGLAND_DIR, _files, _folder, _machine, run_command

ROWS_PER_PART = 250_000


def _history(folder: Path, copies: int) -> Path:
    """A folder with the England inputs and ``copies`` times the referral history, made once."""
    target = folder / f"history-x{copies}"
    if (target / "referrals.parquet").exists():
        return target
    target.mkdir(exist_ok=True)
    for role, path in _files("england", folder).items():
        if role != "referrals":
            link = target / path.name
            if not link.exists():
                link.symlink_to(path)
    source = pd.read_parquet(folder / "referrals.parquet")
    dates = pd.to_datetime(source["date"])
    frames = []
    for copy in range(copies):
        shifted = (dates - pd.DateOffset(years=2 * copy)).dt.strftime("%Y-%m-%d")
        frames.append(source.assign(referral_id=f"H{copy}-" + source["referral_id"], date=shifted))
    history = pd.concat(frames, ignore_index=True)
    history.to_parquet(target / "referrals.parquet", index=False)
    parts = target / f"referrals-{-(-len(history) // ROWS_PER_PART)}-parts"
    parts.mkdir(exist_ok=True)
    for index, start in enumerate(range(0, len(history), ROWS_PER_PART)):
        history.iloc[start : start + ROWS_PER_PART].to_parquet(parts / f"part-{index:03d}.parquet", index=False)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", default="1,3,5", help="history lengths, in copies of the two-year England set")
    parser.add_argument("--engines", default="pandas,dask")
    parser.add_argument("--england-dir", type=Path, default=DEFAULT_ENGLAND_DIR)
    args = parser.parse_args()
    folder = _folder("england", args.england_dir)
    print(f"{_machine()}\n")
    print(f"{'referrals':>12}  {'years':>5}  {'engine':<7} {'wall (s)':>9} {'peak (MB)':>10}")
    for copies in (int(c) for c in args.copies.split(",")):
        clock = time.perf_counter()
        history = _history(folder, copies)
        made = time.perf_counter() - clock
        rows = pd.read_parquet(history / "referrals.parquet", columns=["category"]).shape[0]
        parts = -(-rows // ROWS_PER_PART)
        if made > 1:
            print(f"  (made {rows:,} referrals in {history} in {made:.0f} s)")
        for engine in (e.strip() for e in args.engines.split(",") if e.strip()):
            result = run_command("england", history, engine, parts)
            print(f"{rows:>12,}  {2 * copies:>5}  {engine:<7} {result['wall']:>9.1f} {result['peak_rss_mb']:>10,.0f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
