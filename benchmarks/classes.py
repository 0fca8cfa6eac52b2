"""Run time of the map's classes: Fisher-Jenks natural breaks against quantiles and mapclassify.

Run: .venv/bin/python benchmarks/classes.py [--repeat 7]

Classifies the demo's access ratios (1,702 small areas, the dementia need; a lognormal
sample of the same size when ``geodata/`` is empty) and a 34,000-value sample (England's
small areas), printing the median milliseconds of ``--repeat`` runs of
:func:`coverage_map.outputs.classes.classify` for each scheme, the goodness-of-variance fit
of each, and mapclassify's pure-Python ``FisherJenks`` once on the 1,702 values (it needs
numba to be fast), checking that the bounds agree. Prints figures; asserts nothing: a
repaint's budget is 100 ms in all.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import mapclassify
import numpy as np
import pandas as pd

from coverage_map.outputs.classes import classify, fisher_jenks_bins


def demo_values() -> np.ndarray:
    """The demo's small-area access ratios for dementia (everyone), or a lognormal stand-in."""
    try:
        from coverage_map.dataset import Dataset

        rows = Dataset.demo().rows("area", "dementia", "all")
        values = pd.to_numeric(rows["access_ratio"], errors="coerce").dropna().to_numpy(dtype=float)
        if values.size:
            return values
    except Exception as error:  # noqa: BLE001 - the benchmark still runs on a sample
        print(f"(demo data unavailable: {error}; using a lognormal sample)")
    return np.random.default_rng(1).lognormal(size=1702)


def timed(function: object, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, mapclassify {mapclassify.__version__}")
    england = np.random.default_rng(2).lognormal(size=34_000)
    for name, values in (("demo small areas", demo_values()), ("England-sized sample", england)):
        series = pd.Series(values)
        print(f"\n{name}: {values.size:,} values")
        for scheme in ("quantiles", "natural_breaks"):
            ms = timed(lambda s=scheme, v=series: classify(v, scheme=s, metric="access_ratio"), args.repeat)
            fit = classify(series, scheme=scheme, metric="access_ratio").fit
            print(f"  classify {scheme:15s} {ms:7.1f} ms (median of {args.repeat})   fit {fit:.3f}")
    values = demo_values()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed": the pure-Python loop is what we time
        started = time.perf_counter()
        reference = mapclassify.FisherJenks(values, k=5).bins
        slow = time.perf_counter() - started
    ours = fisher_jenks_bins(values, 5)
    print(f"\nmapclassify.FisherJenks (no numba) on {values.size:,} values: {slow:.1f} s; same bounds: "
          f"{np.allclose(ours, reference)}")  # fmt: skip


if __name__ == "__main__":
    main()
