"""Stage timings, peak memory, a hand-written baseline and growth, at demo and England scale.

Run: .venv/bin/python benchmarks/run.py [--scales demo,england] [--repeat 3] [--save FILE] [--compare FILE]

Each (scale, run) is a fresh process, so its peak RSS is its own. Stages:

* load       reading the files (``coverage_map.ingest.read_any``), no checks;
* validate   ``load_inputs`` minus the read: checks and harmonisation;
* join       ``joins.prepare``: locate assets and referrals, reach;
* metrics    ``metrics.measure`` (area level);
* access     gap method 2's E2SFCA access scores (``analysis.area_access``), joined onto the table;
* gi         Getis-Ord Gi* cold spots over every category x community map (``significance.cold_spots``);
* gaps       ``gaps.find_gaps`` (tiers) plus ``published_table``/``published_assets`` (suppression);
* write      the published tables as CSV (what ``analyse --out x.csv`` writes).

``--commands`` also times the whole ``coverage-map analyse --level area --out x.csv`` command in
a fresh process (wall time from launch to exit, interpreter start and imports included, and
the peak of the summed RSS of its process tree, sampled every 50 ms): once per engine named
(``pandas``, ``dask``). The dask run reads the referrals split into ``--partitions`` Parquet
files (made once beside the data) on a ``LocalCluster``.

The baseline is what an analyst would otherwise write: ``geopandas.read_file``, ``sjoin``
of the coordinate referrals and the assets, ``groupby`` counts and a nearest-asset
distance per category with ``sindex.nearest``. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("load", "validate", "join", "metrics", "access", "gi", "gaps", "write")
DEFAULT_ENGLAND_DIR = Path(tempfile.gettempdir()) / "coverage-map-england"
#: A stage whose time grows this much faster than n log n is flagged (timings are noisy).
TOLERANCE = 1.5


#: ``--referrals-format csv``: read the England referrals from a CSV file (what referral systems export).
REFERRALS_FORMAT = {"value": "parquet"}


def _files(scale: str, folder: Path) -> dict[str, Path]:
    from coverage_map.demo import SCALE_FILES

    files = {role: folder / name for role, name in SCALE_FILES[scale].items()}
    # A set generated before the IMD file joined the demo has none: it is then measured without it.
    files = {role: path for role, path in files.items() if role != "imd" or path.exists()}
    if REFERRALS_FORMAT["value"] == "csv" and files["referrals"].suffix != ".csv":
        files["referrals"] = _referrals_csv(files["referrals"])
    return files


def _referrals_csv(parquet: Path) -> Path:
    """The referral Parquet file written once as CSV beside it (coordinates to 6 decimals, blanks empty)."""
    import pandas as pd

    target = parquet.with_suffix(".csv")
    if not target.exists():
        partial = target.with_suffix(".csv.part")
        pd.read_parquet(parquet).to_csv(partial, index=False, float_format="%.6f")
        partial.rename(target)
    return target


def _folder(scale: str, england_dir: Path) -> Path:
    from coverage_map.config import GEODATA_DIR

    if scale == "demo":
        return GEODATA_DIR
    if not (england_dir / "referrals.parquet").exists():
        from coverage_map.demo import write_demo

        clock = time.perf_counter()
        write_demo(england_dir, scale=scale)
        print(f"  generated {scale}-scale data in {england_dir} in {time.perf_counter() - clock:.0f} s", flush=True)
    return england_dir


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_ours(scale: str, folder: Path) -> dict[str, float]:
    """One run of the pipeline in this process: seconds per stage, sizes and peak RSS."""
    from coverage_map.access import rollup_access
    from coverage_map.analysis import (
        Analysis,
        _joined,
        _parents,
        area_access,
        asset_table,
        published_assets,
        published_table,
        stale_listings,
    )
    from coverage_map.gaps import find_gaps
    from coverage_map.ingest import load_inputs, read_any
    from coverage_map.joins import prepare
    from coverage_map.metrics import KEY, measure
    from coverage_map.outputs.tables import write_any
    from coverage_map.significance import cold_spots

    files = _files(scale, folder)
    times: dict[str, float] = {}
    clock = time.perf_counter()
    for path in files.values():
        read_any(path)
    times["load"] = time.perf_counter() - clock
    clock = time.perf_counter()
    inputs = load_inputs(**files)
    times["validate"] = max(time.perf_counter() - clock - times["load"], 0.0)
    clock = time.perf_counter()
    prepared = prepare(inputs)
    times["join"] = time.perf_counter() - clock
    clock = time.perf_counter()
    table = measure(prepared, "area", threshold_km=2.0, stale=stale_listings(prepared))
    times["metrics"] = time.perf_counter() - clock
    clock = time.perf_counter()
    access = area_access(prepared)
    table = _joined(table, rollup_access(access.table, prepared.membership, "area"))
    times["access"] = time.perf_counter() - clock
    clock = time.perf_counter()
    clusters = cold_spots(table[[*KEY, "access_ratio"]], prepared.units["area"])
    for column in ("gi_z", "q_value", "cold_spot"):
        table[column] = clusters.table[column].to_numpy()
    times["gi"] = time.perf_counter() - clock
    clock = time.perf_counter()
    analysis = Analysis(
        level="area",
        threshold_km=2.0,
        period_months=prepared.period_months,
        table=find_gaps(table, threshold_km=2.0),
        assets=asset_table(prepared),
        units=prepared.units["area"],
        problems=(*prepared.problems, *access.problems),
        parent_of=_parents(prepared, "area"),
        region=access.region,
        islands=clusters.islands,
    )  # fmt: skip  (what analyse() builds, without measuring again)
    published = published_table(analysis)
    assets = published_assets(analysis)
    times["gaps"] = time.perf_counter() - clock
    with tempfile.TemporaryDirectory() as tmp:
        clock = time.perf_counter()
        write_any(published, Path(tmp) / "gaps.csv")
        write_any(assets, Path(tmp) / "gaps_assets.csv")
        times["write"] = time.perf_counter() - clock
    times["total"] = sum(times[stage] for stage in STAGES)
    times["peak_rss_mb"] = _peak_mb()
    times["referrals"] = float(len(inputs.referrals)) if inputs.referrals is not None else 0.0
    times["areas"] = float(len(inputs.areas))
    times["rows"] = float(len(published))
    return times


def run_baseline(scale: str, folder: Path) -> dict[str, float]:
    """The analyst's hand-written version on the same files."""
    import geopandas as gpd
    import pandas as pd

    files = _files(scale, folder)
    times: dict[str, float] = {}
    clock = time.perf_counter()
    # read_file for GeoJSON; GeoParquet through read_parquet (GDAL's Parquet driver is often absent).
    reader = gpd.read_parquet if files["areas"].suffix == ".parquet" else gpd.read_file
    areas = reader(files["areas"]).to_crs("EPSG:27700")
    referrals = (
        pd.read_parquet(files["referrals"]) if files["referrals"].suffix == ".parquet"
        else pd.read_csv(files["referrals"], dtype={"origin_area_id": str})
    )  # fmt: skip
    assets = pd.read_csv(files["assets"])
    times["read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    by_point = referrals[referrals["origin_area_id"].isna()]
    points = gpd.GeoDataFrame(
        by_point[["category", "community"]],
        geometry=gpd.points_from_xy(by_point["longitude"], by_point["latitude"]), crs="EPSG:4326",
    ).to_crs("EPSG:27700")  # fmt: skip
    located = gpd.sjoin(points, areas[["area_id", "geometry"]], predicate="within", how="inner")
    origins = pd.concat(
        [referrals.loc[referrals["origin_area_id"].notna(), ["origin_area_id", "category"]]
         .rename(columns={"origin_area_id": "area_id"}), located[["area_id", "category"]]]
    )  # fmt: skip
    counts = origins.groupby(["area_id", "category"]).size()
    asset_points = gpd.GeoDataFrame(
        assets, geometry=gpd.points_from_xy(assets["longitude"], assets["latitude"]), crs="EPSG:4326"
    ).to_crs("EPSG:27700")
    asset_areas = gpd.sjoin(asset_points, areas[["area_id", "geometry"]], predicate="within", how="inner")
    provision = asset_areas.assign(category=asset_areas["categories"].str.split(";")).explode("category")
    provision.groupby(["area_id", "category"]).size()
    times["join_and_count"] = time.perf_counter() - clock

    clock = time.perf_counter()
    centroids = areas.geometry.centroid
    offers = asset_points.assign(category=asset_points["categories"].str.split(";")).explode("category")
    for _, group in offers.groupby("category"):
        group.sindex.nearest(centroids, return_distance=True, return_all=False)
    times["nearest"] = time.perf_counter() - clock
    times["total"] = times["read"] + times["join_and_count"] + times["nearest"]
    times["peak_rss_mb"] = _peak_mb()
    times["rows_counted"] = float(counts.sum())
    return times


def _split_referrals(folder: Path, parts: int) -> Path:
    """The referral file cut into ``parts`` Parquet files (the dask engine's partitions), made once."""
    import pandas as pd

    source = folder / "referrals.parquet" if (folder / "referrals.parquet").exists() else folder / "referrals.csv"
    # Beside the data, but never inside the repository (the demo data lives in geodata/).
    base = Path(tempfile.gettempdir()) / "coverage-map-demo" if folder.resolve().is_relative_to(ROOT) else folder
    base.mkdir(exist_ok=True)
    target = base / f"referrals-{parts}-parts"
    if target.is_dir() and len(list(target.glob("*.parquet"))) == parts:
        return target
    target.mkdir(exist_ok=True)
    frame = pd.read_parquet(source) if source.suffix == ".parquet" else pd.read_csv(source, dtype=str)
    size = -(-len(frame) // parts)
    for index in range(parts):
        frame.iloc[index * size : (index + 1) * size].to_parquet(target / f"part-{index:03d}.parquet", index=False)
    return target


def run_command(scale: str, folder: Path, engine: str, partitions: int) -> dict[str, float]:
    """``coverage-map analyse`` as a user runs it: wall time and the process tree's peak RSS."""
    import threading

    import psutil

    files = _files(scale, folder)
    if engine == "dask":
        files["referrals"] = _split_referrals(folder, partitions)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "coverage_map.cli", "analyse", "--level", "area",
                   "--out", str(Path(tmp) / "gaps.csv"), "--engine", engine]  # fmt: skip
        for role, path in files.items():
            command += [f"--{role}", str(path)]
        peak = [0]
        clock = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = threading.Event()

        def sample() -> None:
            root = psutil.Process(process.pid)
            while not done.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                    peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
                except psutil.Error:
                    pass
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _out, err = process.communicate()
        wall = time.perf_counter() - clock
        done.set()
        sampler.join()
        if process.returncode != 0:
            raise RuntimeError(f"analyse --engine {engine} at {scale} scale failed:\n{err[-3000:]}")
    return {"wall": wall, "peak_rss_mb": peak[0] / 2**20}


def _child(kind: str, scale: str, folder: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter (its own peak RSS)."""
    command = [sys.executable, __file__, "--child", kind, "--scales", scale, "--england-dir", str(folder),
               "--referrals-format", REFERRALS_FORMAT["value"]]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} at {scale} scale failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def measure_all(
    scales: list[str], repeat: int, england_dir: Path, engines: list[str] = (), partitions: int = 8
) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for scale in scales:
        folder = _folder(scale, england_dir)
        ours = [_child("ours", scale, folder) for _ in range(repeat)]
        base = [_child("baseline", scale, folder) for _ in range(repeat)]
        results[scale] = {"ours": _median(ours), "baseline": _median(base), "runs": repeat}
        for engine in engines:
            runs = [run_command(scale, folder, engine, partitions) for _ in range(repeat)]
            results[scale][f"command_{engine}"] = _median(runs)
        print(f"  measured {scale} ({repeat} run{'s' if repeat > 1 else ''})", flush=True)
    return results


def report(results: dict[str, dict]) -> None:
    print(f"\nmedian of runs; each run a fresh process ({_machine()})")
    header = "  ".join(f"{s:>9}" for s in (*STAGES, "total", "peak MB"))
    for scale, result in results.items():
        ours, base = result["ours"], result["baseline"]
        print(f"\n{scale}: {ours['areas']:,.0f} areas, {ours['referrals']:,.0f} referrals, "
              f"{ours['rows']:,.0f} output rows")  # fmt: skip
        print(f"  stage (s)   {header}")
        cells = "  ".join(f"{ours[s]:9.2f}" for s in (*STAGES, "total")) + f"  {ours['peak_rss_mb']:9.0f}"
        print(f"  ours        {cells}")
        print(
            f"  baseline    read {base['read']:.2f} s, join+count {base['join_and_count']:.2f} s, "
            f"nearest {base['nearest']:.2f} s, total {base['total']:.2f} s, peak {base['peak_rss_mb']:.0f} MB"
        )
        ours_join_count = ours["join"] + ours["metrics"]
        print(
            f"  ratio ours/baseline: full pipeline {ours['total'] / base['total']:.2f}; "
            f"full pipeline / baseline join+count {ours['total'] / base['join_and_count']:.2f}; "
            f"(join + metrics) / (join+count + nearest) "
            f"{ours_join_count / (base['join_and_count'] + base['nearest']):.2f}; "
            f"join / join+count {ours['join'] / base['join_and_count']:.2f}"
        )
        for key, command in result.items():
            if key.startswith("command_"):
                print(
                    f"  coverage-map analyse --level area --engine {key.removeprefix('command_')}: "
                    f"{command['wall']:.1f} s wall, peak {command['peak_rss_mb']:,.0f} MB (process tree); "
                    f"/ baseline total {command['wall'] / base['total']:.2f}"
                )
    if "demo" in results and len(results) > 1:
        _complexity(results)


def _complexity(results: dict[str, dict]) -> None:
    small = results["demo"]["ours"]
    for scale, result in results.items():
        if scale == "demo":
            continue
        big = result["ours"]
        # Size: referrals dominate load/validate/join; grid rows dominate metrics/gaps/write.
        sizes = {"load": "referrals", "validate": "referrals", "join": "referrals",
                 "metrics": "rows", "access": "rows", "gi": "rows", "gaps": "rows", "write": "rows",
                 "total": "referrals"}  # fmt: skip
        print(f"\ngrowth demo -> {scale} (time ratio vs size ratio; n log n allowance x{TOLERANCE})")
        for stage, size in sizes.items():
            n_ratio = big[size] / small[size]
            nlogn = n_ratio * math.log(big[size]) / math.log(small[size])
            t_ratio = big[stage] / max(small[stage], 1e-6)
            flag = "  <-- faster than n log n" if t_ratio > TOLERANCE * nlogn else ""
            print(f"  {stage:<9} time x{t_ratio:6.1f}   {size} x{n_ratio:5.1f} (n log n x{nlogn:5.1f}){flag}")


def compare(results: dict[str, dict], saved_path: Path) -> None:
    saved = json.loads(saved_path.read_text())
    print(f"\nchange against {saved_path} ({saved.get('date', '?')}, {saved.get('machine', '?')}):")
    for scale, result in results.items():
        if scale not in saved["results"]:
            continue
        before = saved["results"][scale]["ours"]
        for stage in (*STAGES, "total", "peak_rss_mb"):
            if stage not in before:  # saved before the stage existed (access and gi: gap method 2)
                print(f"  {scale:<8} {stage:<12} {'':>9}    {result['ours'][stage]:9.2f}  (new stage)")
                continue
            old, new = before[stage], result["ours"][stage]
            change = (new - old) / old * 100 if old else float("nan")
            print(f"  {scale:<8} {stage:<12} {old:9.2f} -> {new:9.2f}  ({change:+.0f}%)")
        for key in result:
            if key.startswith("command_") and key in saved["results"][scale]:
                for figure in ("wall", "peak_rss_mb"):
                    old, new = saved["results"][scale][key][figure], result[key][figure]
                    change = (new - old) / old * 100 if old else float("nan")
                    label = f"{key.removeprefix('command_')} {figure}"
                    print(f"  {scale:<8} {label:<12} {old:9.2f} -> {new:9.2f}  ({change:+.0f}%)")


def _machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {cores} cores, {memory:.0f} GB, python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d')}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="demo,england")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--england-dir", type=Path, default=DEFAULT_ENGLAND_DIR)
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--compare", type=Path, help="print the change against a saved JSON file")
    parser.add_argument(
        "--commands", default="", help="also time the whole analyse command per engine, e.g. pandas,dask"
    )
    parser.add_argument("--partitions", type=int, default=8, help="referral files for the dask engine (default 8)")
    parser.add_argument(
        "--referrals-format", choices=("parquet", "csv"), default="parquet",
        help="read the referrals as Parquet (default) or as CSV (written once beside the Parquet file)",
    )  # fmt: skip
    parser.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    REFERRALS_FORMAT["value"] = args.referrals_format
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    if args.child:
        folder = _folder(scales[0], args.england_dir)
        run = run_ours if args.child == "ours" else run_baseline
        print(json.dumps(run(scales[0], folder)))
        return
    engines = [e.strip() for e in args.commands.split(",") if e.strip()]
    results = measure_all(scales, args.repeat, args.england_dir, engines, args.partitions)
    report(results)
    if args.compare:
        compare(results, args.compare)
    if args.save:
        payload = {"date": time.strftime("%Y-%m-%d"), "machine": _machine(), "results": results}
        args.save.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nsaved to {args.save}")


if __name__ == "__main__":
    main()
