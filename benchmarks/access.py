"""Run time of the access scores (E2SFCA) and of the Gi* cold spots.

Run: .venv/bin/python benchmarks/access.py [--repeat 3] [--esda-columns 3] [--skip-demo]

Two cases, each printed stage by stage (median of ``--repeat`` runs):

* synthetic: 1,702 small areas (a 46 x 37 grid of 600 m boxes, 10 boroughs, 100
  neighbourhoods) x 1,000 assets (70% local, 10% radius, 12% borough, 8% citywide) x 17
  categories x 5 communities;
* the shipped demo (``geodata/``, loaded with the ordinary loaders), unless ``--skip-demo``.

Gi* runs batched over every category x community map of each level; esda's ``G_Local`` is
timed on ``--esda-columns`` maps and scaled up, for comparison. At the small-area level the
share of each severity tier and Moran's I of the gap flag (tier severe or moderate) on three
maps are printed too.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage_map.access import AccessResult, measure_access, rollup_access
from coverage_map.config import METRIC_CRS
from coverage_map.joins import Prepared, prepare
from coverage_map.model import Inputs
from coverage_map.significance import GI_PERMUTATIONS, GI_SEED, ClusterResult, cold_spots, morans_i, queen_weights
from coverage_map.taxonomy import Taxonomy
from coverage_map.tiers import TIERS, tiers

COMMUNITIES = ("older_people", "carers", "bame", "young_people", "disabled_people")


def synthetic(seed: int = 1) -> Inputs:
    rng = np.random.default_rng(seed)
    nx, ny, side = 46, 37, 600.0
    x0, y0 = 380_000.0, 390_000.0
    ids = [f"E{k:06d}" for k in range(nx * ny)]
    grid_col, grid_row = np.meshgrid(np.arange(nx), np.arange(ny))
    col, row = grid_col.ravel(), grid_row.ravel()
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "area_name": ids, "_source_row": np.arange(1, nx * ny + 1)},
        geometry=shapely.box(x0 + side * col, y0 + side * row, x0 + side * (col + 1), y0 + side * (row + 1)),
        crs=METRIC_CRS,
    )
    borough = (col // 10) + 5 * (row // 19)  # 5 x 2 boroughs
    neighbourhood = (col // 5) * 10 + (row // 4)
    lookup = pd.DataFrame(
        {
            "area_id": ids,
            "neighbourhood_id": [f"N{v:03d}" for v in neighbourhood],
            "neighbourhood_name": [f"N{v:03d}" for v in neighbourhood],
            "borough_id": [f"B{v:02d}" for v in borough],
            "borough_name": [f"B{v:02d}" for v in borough],
        }
    )
    total = rng.integers(1000, 3000, len(ids)).astype(float)
    population = pd.DataFrame(
        {"area_id": ids, "population": total}
        | {f"pop_{c}": np.floor(total * rng.uniform(0.02, 0.3, len(ids))) for c in COMMUNITIES}
    )
    categories = Taxonomy.builtin().categories.labels
    count = 1000
    reach = rng.choice(["local", "radius", "borough", "citywide"], size=count, p=[0.70, 0.10, 0.12, 0.08])
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [f"A{k:05d}" for k in range(count)],
            "name": [f"Asset {k}" for k in range(count)],
            "categories": [tuple(rng.choice(categories, size=rng.integers(1, 4), replace=False)) for _ in range(count)],
            "communities": [() if rng.random() < 0.6 else (str(rng.choice(COMMUNITIES)),) for _ in range(count)],
            "capacity": np.where(rng.random(count) < 0.6, rng.integers(5, 60, count), np.nan),
            "accepting_referrals": pd.array(rng.random(count) < 0.9, dtype="boolean"),
            "reach": reach,
            "reach_km": np.where(reach == "radius", rng.uniform(1, 5, count), np.nan),
            "_source_row": np.arange(2, count + 2),
        },
        geometry=shapely.points(rng.uniform(x0, x0 + nx * side, count), rng.uniform(y0, y0 + ny * side, count)),
        crs=METRIC_CRS,
    )
    return Inputs(areas=areas, assets=assets, lookup=lookup, population=population)


def demo() -> Inputs:
    from coverage_map.config import DEMO_FILES, GEODATA_DIR
    from coverage_map.ingest import load_inputs

    files = {role: GEODATA_DIR / name for role, name in DEMO_FILES.items()}
    return load_inputs(
        areas=files["areas"],
        assets=files["assets"],
        lookup=files["lookup"],
        population=files["population"],
        referrals=files["referrals"],
    )


def timed(action: Callable[[], object], repeat: int) -> tuple[str, object]:
    """Median wall and CPU seconds as text (CPU time shows the cost on a machine shared with other work)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        clock, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - clock)
        cpus.append(time.process_time() - cpu)
    return f"{statistics.median(walls):7.3f} s wall {statistics.median(cpus):7.3f} s CPU", result


def esda_seconds(prepared: Prepared, table: pd.DataFrame, columns: int) -> tuple[float, int]:
    """esda's G_Local, one map at a time, on the first ``columns`` complete maps (seconds per map, maps timed)."""
    from esda.getisord import G_Local

    units = prepared.units["area"]
    order = units["area_id"].astype(str).tolist()
    maps = [group for _, group in table.groupby(["category", "community"]) if group["access_ratio"].notna().all()]
    maps = maps[:columns]
    clock = time.process_time()
    for group in maps:
        values = group.set_index("area_id")["access_ratio"].reindex(order).to_numpy()
        with warnings.catch_warnings():  # esda's notice that its default alternative will change
            warnings.simplefilter("ignore")
            G_Local(
                values,
                queen_weights(units).weights,
                transform="B",
                star=True,
                permutations=GI_PERMUTATIONS,
                seed=GI_SEED,
                n_jobs=1,
            )
    return (time.process_time() - clock) / max(len(maps), 1), len(maps)


def gap_clustering(prepared: Prepared, table: pd.DataFrame, clusters: ClusterResult) -> None:
    """Tier shares, and Moran's I of the gap flag (tier severe or moderate) on three maps of the small areas."""
    tier = tiers(
        table["access_ratio"], clusters.table["cold_spot"], table["provision_exists"], None, need=table["need"]
    )
    shares = pd.Series(tier).value_counts(normalize=True)
    print("  tiers (area level): " + ", ".join(f"{name} {shares.get(name, 0):.0%}" for name in TIERS))
    weights = queen_weights(prepared.units["area"]).weights
    order = pd.Index(weights.id_order)
    for category in ("dementia", "carers_support", "mental_health"):
        rows = ((table["category"] == category) & (table["community"] == "all")).to_numpy()
        flag = pd.Series(np.isin(tier[rows], ("severe", "moderate")).astype(float), index=table["area_id"][rows])
        moran = morans_i(flag.reindex(order).to_numpy(), weights)
        print(
            f"    Moran's I of the gap flag, {category:<15} I = {moran.i:6.3f} (E = {moran.expected:.4f}, "
            f"p_sim = {moran.p_sim:.3f}, {flag.mean():.0%} of areas flagged)"
        )


def run(name: str, inputs: Inputs, repeat: int, esda_columns: int) -> None:
    prepared = prepare(inputs)
    areas, assets = len(prepared.units["area"]), len(prepared.assets)
    categories = len(inputs.taxonomy.categories.labels)
    print(
        f"\n{name}: {areas:,} areas x {assets:,} assets x {categories} categories x "
        f"{len(inputs.community_labels)} communities (+ all)"
    )
    seconds, result = timed(partial(measure_access, prepared), repeat)
    assert isinstance(result, AccessResult)
    table = result.table
    print(f"  measure_access (E2SFCA, {len(table):,} rows)      {seconds}")
    for level in prepared.levels[1:]:
        seconds, _ = timed(partial(rollup_access, table, prepared.membership, level), repeat)
        print(f"  rollup_access to {level:<14}               {seconds}")
    maps = table[["category", "community"]].drop_duplicates().shape[0]
    for level in prepared.levels:
        level_table = table if level == "area" else rollup_access(table, prepared.membership, level)
        seconds, clusters = timed(partial(cold_spots, level_table, prepared.units[level]), 1)
        assert isinstance(clusters, ClusterResult)
        found = int(clusters.table["cold_spot"].sum())
        print(f"  cold_spots at {level:<14} ({maps} maps, 999 perms) {seconds}  ({found:,} cold-spot rows)")
        if level == "area":
            gap_clustering(prepared, level_table, clusters)
    if esda_columns:
        per_map, timed_maps = esda_seconds(prepared, table, esda_columns)
        print(
            f"  esda G_Local per map (area level, {timed_maps} timed)    {per_map:7.3f} s CPU "
            f"(x {maps} maps = {per_map * maps:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--esda-columns", type=int, default=3)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    run("synthetic", synthetic(), args.repeat, args.esda_columns)
    if not args.skip_demo:
        run("demo (geodata/)", demo(), args.repeat, args.esda_columns)


if __name__ == "__main__":
    main()
