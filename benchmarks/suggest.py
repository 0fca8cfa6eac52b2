"""Site suggestion (``coverage-map suggest``) on real Greater Manchester data: run time, and how good the answer is.

Run: .venv/bin/python benchmarks/suggest.py [--realdata ../shared/realdata] [--repeat 3]

GM as in ``benchmarks/gap_method.py`` (1,702 LSOA 2021, Census 2021 population, 1,469 real service
points; built by ``tests/gm_realdata.py`` into a temporary folder). The need is ``mental_health``
(only Trafford lists such services, so most of GM is uncovered: the hardest case for the solver);
without a ``need_`` column the population counts, as in the access method.

* **Run time**: :func:`coverage_map.suggest.suggest_sites` with 300 candidates (the first 300 GP
  practices by code) and k = 5, wall and CPU seconds (median of ``--repeat``), the exact solve on
  its own, and the greedy heuristic on its own. spopt's import is timed apart (paid once).
* **Quality**: on a small instance (20 GP practices drawn with seed 7, k = 3) the objective of the
  exact solver and of greedy over the brute-force optimum (every one of the C(20, 3) = 1,140 sets).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gm_realdata  # noqa: E402  (tests/gm_realdata.py builds the real inputs)
from gap_method import machine, timed  # noqa: E402

from coverage_map.access import covered_areas, group_demand, origin_points  # noqa: E402
from coverage_map.ingest import load_inputs  # noqa: E402
from coverage_map.joins import prepare  # noqa: E402
from coverage_map.suggest import coverage_matrix, exact_sites, greedy_sites, objective, suggest_sites  # noqa: E402

CATEGORY = "mental_health"


def candidates(realdata: Path) -> gpd.GeoDataFrame:
    """Every GM GP practice with coordinates as a candidate site, by practice code (EPSG:27700)."""
    practices = gm_realdata.gp_practices(realdata).sort_values("organisation_code").reset_index(drop=True)
    points = gpd.points_from_xy(practices["lon"].astype(float), practices["lat"].astype(float), crs="EPSG:4326")
    return gpd.GeoDataFrame(
        {"site_id": practices["organisation_code"], "site_name": practices["name"]}, geometry=points
    ).to_crs("EPSG:27700")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    clock = time.perf_counter()
    import pulp  # noqa: F401
    import spopt.locate  # noqa: F401

    print(f"spopt + pulp import: {time.perf_counter() - clock:.1f} s (once per process)")
    with tempfile.TemporaryDirectory() as folder:
        files = gm_realdata.write_inputs(args.realdata, Path(folder))
        inputs = load_inputs(areas=files.areas, lookup=files.lookup, population=files.population, assets=files.assets)
        prepared = prepare(inputs)
    sites = candidates(args.realdata)
    many = sites.head(300).reset_index(drop=True)
    print(f"GM: {len(prepared.units['area']):,} LSOAs, {len(prepared.assets):,} services; need: {CATEGORY}")

    def run() -> object:
        return suggest_sites(prepared, category=CATEGORY, k=5, candidates=many)

    wall, cpu, result = timed(run, 1)
    print(f"suggest_sites, 300 candidates, k = 5, first call (before/after analyses included): {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU")  # fmt: skip
    wall, cpu, result = timed(run, args.repeat)
    print(f"  again on the same joined data (the before access memoised): {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(f"  {result.solver}: {result.summary}")  # type: ignore[attr-defined]

    areas = prepared.units["area"]
    xy, _ = origin_points(areas)
    demand = group_demand(inputs.population, areas["area_id"].astype(str).to_numpy(dtype=object), CATEGORY, ["all"])[0][
        :, 0
    ]
    covered = covered_areas(prepared, CATEGORY)
    gain = np.where(covered, 0.0, demand)
    print(
        f"  already covered: {demand[covered].sum():,.0f} of {demand.sum():,.0f} people ({covered.mean():.0%} of LSOAs)"
    )
    reach = coverage_matrix(xy, np.column_stack([many.geometry.x, many.geometry.y]), 3000.0)
    wall, cpu, chosen = timed(lambda: exact_sites(reach, gain, covered, demand, 5), args.repeat)
    print(
        f"exact solve alone (spopt MCLP, CBC): {wall:.2f} s wall, {cpu:.2f} s CPU; objective {objective(reach, gain, chosen):,.0f}"
    )  # type: ignore[arg-type]
    optimum = objective(reach, gain, chosen)  # type: ignore[arg-type]
    wall, cpu, chosen = timed(lambda: greedy_sites(reach, gain, 5), args.repeat)
    greedy = objective(reach, gain, chosen)  # type: ignore[arg-type]
    print(f"greedy alone: {wall * 1000:.1f} ms wall; objective {greedy:,.0f} ({greedy / optimum:.4f} of the optimum)")

    rng = np.random.default_rng(7)
    small = sites.iloc[np.sort(rng.choice(len(sites), 20, replace=False))]
    reach = coverage_matrix(xy, np.column_stack([small.geometry.x, small.geometry.y]), 3000.0)
    best = max(objective(reach, gain, list(chosen)) for chosen in itertools.combinations(range(20), 3))
    exact = objective(reach, gain, exact_sites(reach, gain, covered, demand, 3))
    small_greedy = objective(reach, gain, greedy_sites(reach, gain, 3))
    print(
        f"small instance (20 GP practices, seed 7, k = 3): brute-force optimum {best:,.0f}; "
        f"exact / optimum = {exact / best:.4f}; greedy / optimum = {small_greedy / best:.4f} "
        f"(guarantee {1 - 1 / np.e:.3f})"
    )


if __name__ == "__main__":
    main()
