"""Gap method 2 on real Greater Manchester data and on the demo: tiers, gap shares, clustering, GP access, time.

Run: .venv/bin/python benchmarks/gap_method.py [--realdata ../shared/realdata] [--old DIR] [--repeat 3]
     [--skip-demo] [--skip-equity]

Two data sets:

* **GM (real)**: 1,702 LSOA 2021, the ONS statistical lookup (MSOA neighbourhoods, LAD boroughs),
  Census 2021 population (65+ as older people, 0-24 as young people) and 1,469 real service points
  (GP practices, pharmacies, libraries, food banks, Jobcentres, Trafford mental-health services),
  built by ``tests/gm_realdata.py`` into a temporary folder (nothing real is copied into the repo);
* **demo**: the shipped synthetic data (``geodata/``).

For each level it prints, from the files ``coverage-map analyse --no-suppress`` writes: the share of
rows per tier and the gap share (all rows; ``all`` rows; community rows; and among rows whose
category is in the directory), Moran's I (esda, row-standardised queen weights, 999 permutations)
of the gap flag and of ``access_ratio`` per category map, and for GM at the LSOA level the share of
LSOAs whose nearest GP practice is under 1 km (straight line from the LSOA centroid, plain
geopandas) that are gaps for GP access (``long_term_conditions``, which only GP practices serve).

``--old DIR`` points at a checkout of the code before gap method 2 (e.g. ``git worktree add
/tmp/old c787a90``): its ``analyse`` runs on the same files and its flagged share, Moran's I and
GP figure are printed the same way, for a before/after comparison.

Run times: the stages in one process (median of ``--repeat``, wall and CPU seconds: the machine
may be shared) and the whole ``coverage-map analyse`` command in a fresh process per level.
With ``--skip-equity`` unset, GM on the 2011 LSOAs with IMD 2019 gives the inverse-care-law figures.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import gm_realdata  # noqa: E402  (tests/gm_realdata.py builds the real inputs)

from coverage_map.significance import Contiguity, morans_i, queen_weights  # noqa: E402
from coverage_map.tiers import TIERS  # noqa: E402

GAP_TIERS = ("severe", "moderate")


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}, load average {load:.1f} at start"
    )


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        clock, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - clock)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def run_cli(code: Path, argv: list[str], level: str, out: Path) -> tuple[float, float]:
    """``coverage-map analyse`` from the checkout ``code`` in a fresh process: wall and CPU seconds."""
    command = [sys.executable, "-m", "coverage_map.cli", "analyse", *argv, "--level", level, "--no-suppress"]
    command += ["--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=code, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"analyse --level {level} ({code}) failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def shares(flags: pd.Series, community: pd.Series) -> str:
    """Mean of a flag over all rows, ``all`` rows and community rows."""
    is_all = community == "all"
    parts = [f"all rows {flags.mean():6.1%}", f"'all' rows {flags[is_all].mean():6.1%}"]
    if (~is_all).any():
        parts.append(f"community rows {flags[~is_all].mean():6.1%}")
    return ", ".join(parts)


def moran_by_map(table: pd.DataFrame, contiguity: Contiguity, column: str) -> pd.DataFrame:
    """Moran's I of ``column`` on every category x community map where it varies (NaN maps skipped)."""
    order = pd.Index(contiguity.ids)
    rows = []
    for (category, community), group in table.groupby(["category", "community"], sort=True):
        values = pd.to_numeric(group.set_index("area_id")[column], errors="coerce").astype(float).reindex(order)
        if values.isna().any() or values.nunique() < 2:
            continue
        with warnings.catch_warnings():  # islands: esda notes them; they are listed by queen_weights
            warnings.simplefilter("ignore")
            result = morans_i(values.to_numpy(), contiguity)
        rows.append(
            {"category": category, "community": community, "I": result.i, "p": result.p_sim, "mean": values.mean()}
        )
    return pd.DataFrame(rows, columns=["category", "community", "I", "p", "mean"])


def clustering(table: pd.DataFrame, contiguity: Contiguity, label: str) -> dict[str, float]:
    """Print Moran's I of the gap flag (and of access_ratio when present); return the medians."""
    flagged = table.assign(gap_flag=table["gap"].astype(str).str.lower().eq("true").astype(float))
    gap = moran_by_map(flagged, contiguity, "gap_flag")
    figures = {"gap_I_median": float(gap["I"].median()) if len(gap) else float("nan")}
    line = f"    {label} Moran's I of the gap flag: "
    if len(gap):
        significant = (gap["p"] < 0.05).mean()
        line += (
            f"median {gap['I'].median():.3f} over {len(gap)} maps where it varies (range {gap['I'].min():.3f} "
            f"to {gap['I'].max():.3f}; p_sim < 0.05 on {significant:.0%})"
        )
    else:
        line += "the flag is constant on every map"
    print(line)
    for _, row in gap[gap["community"] == "all"].iterrows():
        print(f"      {row['category']:<22} I = {row['I']:6.3f} (p_sim {row['p']:.3f}), {row['mean']:6.1%} flagged")
    if "access_ratio" in table:
        ratio = moran_by_map(table, contiguity, "access_ratio")
        if len(ratio):
            figures["ratio_I_median"] = float(ratio["I"].median())
            print(
                f"    {label} Moran's I of access_ratio: median {ratio['I'].median():.3f} over {len(ratio)} maps "
                f"(range {ratio['I'].min():.3f} to {ratio['I'].max():.3f})"
            )
    return figures


def tier_report(table: pd.DataFrame) -> None:
    """Tier shares and gap shares of one published table (gap method 2)."""
    tier = table["tier"].astype(str)
    community = table["community"].astype(str)
    for name in TIERS:
        print(f"    tier {name:<9} {shares(tier == name, community)}")
    judged = tier != "no_data"
    gap = tier.isin(GAP_TIERS)
    print(f"    gap (severe or moderate): {shares(gap, community)}")
    print(
        f"    gap among rows whose category is in the directory ({judged.mean():.0%} of rows): "
        f"{shares(gap[judged], community[judged])}"
    )


def gp_flagged(table: pd.DataFrame, nearest: pd.Series) -> str:
    """Share of LSOAs with a GP under 1 km that are gaps for GP access (``all`` and community rows)."""
    near = set(nearest.index[nearest < 1.0])
    gp_rows = table[(table["category"] == gm_realdata.GP_CATEGORY) & table["area_id"].isin(near)]
    flag = gp_rows["gap"].astype(str).str.lower().eq("true")
    parts = [f"{len(near):,} LSOAs ({len(near) / len(nearest):.0%}) have a GP under 1 km"]
    for community, rows in flag.groupby(gp_rows["community"].astype(str)):
        parts.append(f"{community}: {rows.mean():.1%} flagged")
    return "; ".join(parts)


def stage_times(files: dict[str, Path | None], repeat: int) -> None:
    """The analysis stages in this process (median wall / CPU seconds)."""
    from coverage_map.access import rollup_access
    from coverage_map.analysis import _joined, analyse, stale_listings
    from coverage_map.gaps import GAP_COLUMNS, find_gaps
    from coverage_map.ingest import load_inputs
    from coverage_map.joins import prepare
    from coverage_map.metrics import KEY, measure
    from coverage_map.significance import cold_spots

    def report(name: str, wall: float, cpu: float) -> None:
        print(f"    {name:<34} {wall:6.2f} s wall {cpu:6.2f} s CPU")

    wall, cpu, inputs = timed(lambda: load_inputs(**{k: v for k, v in files.items() if v is not None}), repeat)
    report("load (read + validate)", wall, cpu)
    wall, cpu, prepared = timed(lambda: prepare(inputs), repeat)
    report("join (prepare; coarser polygons on first use)", wall, cpu)

    def fresh_access() -> object:
        prepared.memo.clear()
        from coverage_map.analysis import area_access

        return area_access(prepared)

    wall, cpu, access = timed(fresh_access, repeat)
    report("access (E2SFCA, small areas)", wall, cpu)
    for level in prepared.levels:
        units = prepared.units[level]
        wall, cpu, measured = timed(
            lambda level=level: measure(prepared, level, threshold_km=2.0, stale=stale_listings(prepared)), repeat
        )
        report(f"{level}: measure", wall, cpu)
        wall, cpu, table = timed(
            lambda level=level, measured=measured: _joined(
                measured, rollup_access(access.table, prepared.membership, level)
            ),
            repeat,
        )
        report(f"{level}: access roll-up + join", wall, cpu)
        wall, cpu, clusters = timed(
            lambda table=table, units=units: cold_spots(table[[*KEY, "access_ratio"]], units), repeat
        )
        report(
            f"{level}: Gi* cold spots ({table[['category', 'community']].drop_duplicates().shape[0]} maps)", wall, cpu
        )
        for column in ("gi_z", "q_value", "cold_spot"):
            table[column] = clusters.table[column].to_numpy()
        wall, cpu, _ = timed(
            lambda table=table: find_gaps(table.drop(columns=GAP_COLUMNS, errors="ignore"), threshold_km=2.0), repeat
        )
        report(f"{level}: tiers and reasons (find_gaps)", wall, cpu)
        wall, cpu, _ = timed(lambda level=level: analyse(prepared, level=level), repeat)
        report(f"{level}: analyse() in all (access cached)", wall, cpu)


def compare_levels(
    name: str,
    argv: list[str],
    units: dict[str, object],
    folder: Path,
    old: Path | None,
    repeat: int,
    nearest: pd.Series | None = None,
) -> dict[str, dict[str, float]]:
    """Both methods' CLI on every level: run times, tier and gap shares, Moran's I, GP figure."""
    summary: dict[str, dict[str, float]] = {}
    for level, level_units in units.items():
        contiguity = queen_weights(level_units)
        print(f"\n  {name}, level {level} ({len(contiguity.ids):,} units, {len(contiguity.islands)} islands)")
        new_out = folder / f"new_{level}.csv"
        runs = [run_cli(ROOT, argv, level, new_out) for _ in range(repeat)]
        wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(
            f"    gap method 2: coverage-map analyse --level {level}: {wall:.2f} s wall, {cpu:.2f} s CPU (fresh process, median of {repeat})"
        )
        new = pd.read_csv(new_out, dtype={"area_id": str})
        tier_report(new)
        figures = clustering(new, contiguity, "method 2:")
        figures["gap_share"] = float(new["tier"].isin(GAP_TIERS).mean())
        figures["cli_wall"], figures["cli_cpu"] = wall, cpu
        if nearest is not None and level == "area":
            print(f"    method 2 GP access: {gp_flagged(new, nearest)}")
        if old is not None:
            old_out = folder / f"old_{level}.csv"
            runs = [run_cli(old, argv, level, old_out) for _ in range(repeat)]
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            before = pd.read_csv(old_out, dtype={"area_id": str})
            flag = before["gap"].astype(str).str.lower().eq("true")
            print(f"    OLD method: coverage-map analyse --level {level}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            print(f"    OLD flagged: {shares(flag, before['community'].astype(str))}")
            old_figures = clustering(before, contiguity, "OLD:")
            figures["old_gap_share"] = float(flag.mean())
            figures["old_gap_I_median"] = old_figures["gap_I_median"]
            if nearest is not None and level == "area":
                print(f"    OLD GP access: {gp_flagged(before, nearest)}")
        summary[level] = figures
    return summary


def equity_figures(realdata: Path, folder: Path) -> None:
    """Inverse care law on the 2011 LSOAs (IMD 2019): concentration index, SII and the sentence."""
    from coverage_map.analysis import area_access
    from coverage_map.equity import equity, subject_for
    from coverage_map.ingest import load_inputs
    from coverage_map.joins import prepare

    files = gm_realdata.write_lsoa11_inputs(realdata, folder)
    inputs = load_inputs(areas=files.areas, population=files.population, assets=files.assets, imd=files.imd)
    prepared = prepare(inputs)
    table = area_access(prepared).table
    imd = inputs.imd.set_index("area_id") if inputs.imd is not None else None
    contiguity = queen_weights(prepared.units["area"])
    print(
        f"\n  GM on LSOA 2011 with IMD 2019 ({len(contiguity.ids):,} areas; {len(contiguity.islands):,} islands under "
        "the queen rule: these boundaries share no vertices, so Gi* tests nothing here)"
    )
    if imd is None:
        print("    no IMD loaded")
        return
    for category in sorted(table.loc[table["provision_exists"], "category"].unique()):
        rows = table[(table["category"] == category) & (table["community"] == "all")]
        ranks = imd.reindex(rows["area_id"].astype(str))
        result = equity(
            rows["access_per_10k"].to_numpy(dtype=float),
            rows["need"].to_numpy(dtype=float),
            imd_rank=ranks["imd_rank"].to_numpy(dtype=float),
            imd_decile=ranks["imd_decile"].to_numpy(dtype=float),
            subject=subject_for(category),
        )
        print(
            f"    {category:<22} CI {result.concentration_index:+.3f}  SII {result.slope_index:+8.2f} per 10k  "
            f"{result.sentence}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    parser.add_argument("--old", type=Path, help="checkout of the code before gap method 2, e.g. /tmp/old")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-equity", action="store_true")
    args = parser.parse_args()
    from coverage_map.config import DEMO_FILES, GEODATA_DIR
    from coverage_map.ingest import load_inputs
    from coverage_map.joins import prepare

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if (args.realdata / "SOURCES.md").exists():
            files = gm_realdata.write_inputs(args.realdata, folder / "gm")
            inputs = {
                "areas": files.areas,
                "lookup": files.lookup,
                "population": files.population,
                "assets": files.assets,
            }
            prepared = prepare(load_inputs(**inputs))
            categories = len(prepared.inputs.taxonomy.categories.labels)
            print(
                f"\nGM (real): {len(prepared.units['area']):,} LSOAs x {len(prepared.assets):,} assets x {categories} "
                f"categories x {len(prepared.inputs.community_labels)} communities (+ all)"
            )
            print("  stages in one process:")
            stage_times(inputs, args.repeat)
            nearest = gm_realdata.nearest_gp_km(args.realdata)
            compare_levels("GM", files.argv(), prepared.units, folder / "gm", args.old, args.repeat, nearest)
            if not args.skip_equity:
                equity_figures(args.realdata, folder / "gm11")
        else:
            print(f"\nreal data not found at {args.realdata}: GM skipped")
        if not args.skip_demo:
            demo = {role: GEODATA_DIR / name for role, name in DEMO_FILES.items()}
            prepared = prepare(load_inputs(**demo))
            print(
                f"\ndemo (geodata/): {len(prepared.units['area']):,} areas x {len(prepared.assets):,} assets x "
                f"{len(prepared.inputs.taxonomy.categories.labels)} categories x "
                f"{len(prepared.inputs.community_labels)} communities (+ all)"
            )
            print("  stages in one process:")
            stage_times(demo, args.repeat)
            argv = [item for role, path in demo.items() for item in (f"--{role}", str(path))]
            (folder / "demo").mkdir()
            compare_levels("demo", argv, prepared.units, folder / "demo", args.old, args.repeat)


if __name__ == "__main__":
    main()
