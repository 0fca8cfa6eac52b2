"""The ``coverage-map`` command line: analyse, validate, demo-data and serve."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import DEFAULT_THRESHOLD_KM, DEMO_FILES, GEODATA_DIR, LEVELS
from .errors import CoverageMapError, Problem, ValidationError, problems_frame

OUTPUT_FORMATS = (".csv", ".gpkg", ".geojson", ".parquet")


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "inputs", "Data files (any of GeoJSON, GeoPackage, Shapefile, FlatGeobuf, GeoParquet, CSV). "
        f"With no --areas and --assets, the synthetic demo data in {GEODATA_DIR} is used."
    )
    group.add_argument("--areas", type=Path, help="polygon layer of small areas (LSOAs, wards...)")
    group.add_argument("--lookup", type=Path, help="CSV grouping areas into neighbourhoods and boroughs")
    group.add_argument("--population", type=Path, help="CSV of area_id,population,pop_<community>...")
    group.add_argument("--assets", type=Path, help="community assets (points)")
    group.add_argument("--referrals", type=Path, help="referrals (records or aggregated counts)")
    group.add_argument("--taxonomy", type=Path, help="TOML file extending or replacing the vocabulary")
    group.add_argument("--area-id-col", help="column holding the area id (default: detected)")
    group.add_argument("--area-name-col", help="column holding the area name (default: detected)")
    group.add_argument("--crs", help="CRS of CSV files with a WKT geometry column, e.g. EPSG:27700")


def _input_paths(args: argparse.Namespace) -> dict[str, Path | None]:
    given = {role: getattr(args, role) for role in ("areas", "lookup", "population", "assets", "referrals")}
    if given["areas"] is None and given["assets"] is None:
        if any(path is not None for path in given.values()):
            raise CoverageMapError("give both --areas and --assets, or neither to use the demo data")
        print(f"Using the synthetic demo data in {GEODATA_DIR}", file=sys.stderr)
        return {role: GEODATA_DIR / name for role, name in DEMO_FILES.items()}
    missing = [f"--{role}" for role in ("areas", "assets") if given[role] is None]
    if missing:
        raise CoverageMapError(f"missing required input: {' and '.join(missing)}")
    return given


def load_from_args(args: argparse.Namespace):  # noqa: ANN201 - returns coverage_map.model.Inputs
    """Load and validate the inputs named on the command line."""
    from .loaders import load_inputs

    paths = _input_paths(args)
    return load_inputs(
        areas=paths["areas"],
        assets=paths["assets"],
        lookup=paths["lookup"],
        population=paths["population"],
        referrals=paths["referrals"],
        taxonomy=args.taxonomy,
        area_id_col=args.area_id_col,
        area_name_col=args.area_name_col,
        crs=args.crs,
    )


def _report(problems: Sequence[Problem], stream=sys.stderr) -> None:  # noqa: ANN001
    if not problems:
        return
    print(f"{len(problems)} row{'s' if len(problems) != 1 else ''} rejected or repaired:", file=stream)
    for problem in problems[:50]:
        print(f"  - {problem}", file=stream)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more (see the _rejected.csv file)", file=stream)


def cmd_analyse(args: argparse.Namespace) -> int:
    from .analysis import analyse, published_assets, published_table, with_geometry
    from .io import write_any

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise CoverageMapError(f"--out must end in one of {', '.join(OUTPUT_FORMATS)}, not '{out.name}'")
    started = time.perf_counter()
    inputs = load_from_args(args)
    analysis = analyse(inputs, level=args.level, threshold_km=args.threshold_km)
    suppress = not args.no_suppress
    table = published_table(analysis, suppress=suppress)
    if out.suffix.lower() != ".csv":
        table = with_geometry(table, analysis.units)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_any(table, out)
    assets_path = out.with_name(f"{out.stem}_assets.csv")
    write_any(published_assets(analysis, suppress=suppress), assets_path)
    rejected_path = out.with_name(f"{out.stem}_rejected.csv")
    write_any(problems_frame(analysis.problems), rejected_path)
    _report(analysis.problems)
    gaps = analysis.table[analysis.table["gap"]]
    print(
        f"Wrote {len(table):,} rows ({analysis.table['area_id'].nunique():,} {args.level} units) to {out}, "
        f"{assets_path.name} and {rejected_path.name} in {time.perf_counter() - started:.1f} s; "
        f"{len(gaps):,} rows are gaps."
        + ("" if suppress else " Referral counts are NOT suppressed: do not publish these files."),
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .joins import prepare

    try:
        prepared = prepare(load_from_args(args))
    except ValidationError as error:
        print(error, file=sys.stderr)
        return 1
    problems = list(prepared.problems)
    if problems:
        print(f"The inputs can be analysed, but {len(problems)} rows were rejected or repaired:")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print("No problems found.")
    inputs = prepared.inputs
    print(
        f"{len(inputs.areas):,} areas, {len(prepared.assets):,} assets located, "
        f"{int(prepared.referrals['count'].sum()) if len(prepared.referrals) else 0:,} referrals located; "
        f"levels available: {', '.join(prepared.levels)}."
    )
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from .demo import write_demo

    started = time.perf_counter()
    written = write_demo(args.out, seed=args.seed)
    print(f"Wrote synthetic demo data ({len(written)} files) to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    # The command line is the outermost shell: it starts the Dash layer by name, so that
    # nothing in the analysis core imports dash (the dependency points one way).
    import importlib

    app_module = importlib.import_module("callbacks.app")
    app_module.serve(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage-map",
        description="Map community-support provision against need, and find the gaps.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    analyse = commands.add_parser("analyse", help="write the gap table for every area, category and community")
    _add_inputs(analyse)
    analyse.add_argument("--level", choices=LEVELS, default="area")
    analyse.add_argument("--threshold-km", type=float, default=DEFAULT_THRESHOLD_KM,
                         help="distance that counts as near (default %(default)s km)")
    analyse.add_argument("--out", required=True, help="output file: .csv, .gpkg, .geojson or .parquet")
    analyse.add_argument("--no-suppress", action="store_true",
                         help="publish true referral counts (only for analysts inside the data controller)")
    analyse.set_defaults(handler=cmd_analyse)

    validate = commands.add_parser("validate", help="report every problem in the inputs without analysing")
    _add_inputs(validate)
    validate.set_defaults(handler=cmd_validate)

    demo = commands.add_parser("demo-data", help="generate the synthetic demo region")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--seed", type=int, default=2024)
    demo.set_defaults(handler=cmd_demo_data)

    serve = commands.add_parser("serve", help="start the dashboard")
    _add_inputs(serve)
    serve.add_argument("--config", type=Path, help="TOML file naming the data files (see docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (never in production)")
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``coverage-map`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CoverageMapError as error:
        print(f"coverage-map: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
