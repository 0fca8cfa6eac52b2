"""The ``coverage-map`` command line: analyse, validate, demo-data and serve."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .commands import need, workspace
from .commands import scenario as _scenario
from .commands import suggest as _suggest
from .commands.input_flags import add_mapping_flags
from .config import DEFAULT_THRESHOLD_KM, GEODATA_DIR, LEVELS
from .errors import LISTED, CoverageMapError, Problem, ValidationError, problems_frame, summary_lines
from .method import DEFAULT_METHOD, METHOD_KEYS, GapMethod, flag_name, method_from_mapping
from .progress import stages

if TYPE_CHECKING:
    from .spec import InputSpec

OUTPUT_FORMATS = (".csv", ".gpkg", ".geojson", ".parquet")


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "inputs",
        "Data files (any of GeoJSON, GeoPackage, Shapefile, FlatGeobuf, GeoParquet, CSV). "
        f"With no --areas and --assets, the synthetic demo data in {GEODATA_DIR} is used.",
    )
    group.add_argument("--areas", type=Path, help="polygon layer of small areas (LSOAs, wards...)")
    group.add_argument("--lookup", type=Path, help="CSV grouping areas into neighbourhoods and boroughs")
    group.add_argument("--population", type=Path, action="append",
                       help="CSV of area_id,population,pop_<community>..., or a census table; repeat to join several "
                       "on the area code")  # fmt: skip
    group.add_argument("--assets", type=Path, help="community assets (points)")
    group.add_argument("--referrals", type=Path, help="referrals (records or aggregated counts)")
    group.add_argument("--taxonomy", type=Path, help="TOML file extending or replacing the vocabulary")
    group.add_argument("--area-id-col", help="column holding the area id (default: detected)")
    group.add_argument("--area-name-col", help="column holding the area name (default: detected)")
    group.add_argument("--crs", help="CRS of CSV files with a WKT geometry column, e.g. EPSG:27700")
    group.add_argument(
        "--groups",
        type=Path,
        help="CSV of ward (or area) code -> neighbourhood_id,neighbourhood_name, used with "
        "an ONS --lookup that gives each area's ward and borough",
    )
    group.add_argument(
        "--neighbourhood-col",
        metavar="CODECOL[:NAMECOL]",
        help="lookup (or --groups) column holding the neighbourhood code, and its name column "
        "(default: neighbourhood_id, else the next coarser ONS geography, e.g. msoa21cd)",
    )
    group.add_argument(
        "--borough-col",
        metavar="CODECOL[:NAMECOL]",
        help="lookup column holding the borough code, and its name column "
        "(default: borough_id, else the local-authority column, e.g. lad22cd:lad22nm)",
    )
    group.add_argument(
        "--lookup-area-col",
        metavar="CODECOL",
        help="lookup column holding the area ids (default: the column matching them best)",
    )
    group.add_argument(
        "--practices",
        type=Path,
        help="GP practices (code + coordinates or area), for referrals keyed by origin_practice_code",
    )
    group.add_argument(
        "--origins",
        type=Path,
        help="one point per small area where its people start from (e.g. ONS population-weighted "
        "centroids): area_id with latitude/longitude, easting/northing (or x/y), or a point layer",
    )
    group.add_argument("--travel-times", type=Path, help="CSV of area_id,asset_id,minutes")
    group.add_argument(
        "--imd",
        type=Path,
        help="Index of Multiple Deprivation per small area: area_id,imd_rank,imd_decile, or the "
        "MHCLG File 2 as published",
    )
    add_mapping_flags(group)


def _uses_demo(args: argparse.Namespace) -> bool:
    return getattr(args, "areas", None) is None and getattr(args, "assets", None) is None


def input_spec(args: argparse.Namespace) -> InputSpec:
    """The inputs named on the command line (the demo files when none are named), as one spec."""
    from .spec import InputSpec

    spec = InputSpec.from_args(args, demo_folder=GEODATA_DIR)
    if _uses_demo(args):
        print(f"Using the synthetic demo data in {GEODATA_DIR}", file=sys.stderr)
    return spec


def load_from_args(args: argparse.Namespace):  # noqa: ANN201 - returns coverage_map.model.Inputs
    """Load and validate the inputs named on the command line."""
    return input_spec(args).load()


def _report(problems: Sequence[Problem], stream=sys.stderr, rejected: Path | None = None) -> None:  # noqa: ANN001
    if not problems:
        return
    print(f"{len(problems):,} row{'s' if len(problems) != 1 else ''} rejected or repaired:", file=stream)
    for line in summary_lines(problems):
        print(line, file=stream)
    if len(problems) > LISTED and rejected is not None:
        print(f"  (every one is listed in {rejected})", file=stream)


def _write_rejected(problems: Sequence[Problem], path: Path) -> None:
    """Every problem, fatal or not, as CSV (file, row, column, value, message, fatal)."""
    from .outputs.tables import write_any

    path.parent.mkdir(parents=True, exist_ok=True)
    write_any(problems_frame(problems), path)


def cmd_analyse(args: argparse.Namespace) -> int:
    from .analysis import published_assets, with_geometry
    from .dataset import Dataset
    from .joins import Prepared, prepare
    from .outputs.tables import write_any

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise CoverageMapError(f"--out must end in one of {', '.join(OUTPUT_FORMATS)}, not '{out.name}'")
    started = time.perf_counter()
    rejected_path = out.with_name(f"{out.stem}_rejected.csv")
    with stages("analyse", ["load", "analyse", "publish", "write"]) as progress:
        progress.next("loading the inputs")
        try:
            data = _distributed_prepare(args) if args.engine == "dask" else load_from_args(args)
        except ValidationError as error:
            _write_rejected(error.problems, rejected_path)
            raise ValidationError(
                error.problems, note=f"Nothing was analysed; every problem is listed in {rejected_path}."
            ) from None
        progress.next("access, clusters and tiers")
        method = method_from_args(args)
        suppress = not args.no_suppress
        prepared = data if isinstance(data, Prepared) else prepare(data)
        # One Dataset, so the table is suppressed together with everything else published from these inputs.
        dataset = Dataset(prepared, threshold_km=args.threshold_km, method=method)
        if args.scenario is not None:  # proposed services added: the analysis after, with the _before columns
            analysis, table = _scenario.scenario_analysis(args, prepared, method=method, suppress=suppress)
            progress.next("suppressing small numbers")
            assets_table = published_assets(analysis, suppress=suppress)
        else:
            analysis = dataset.analysis(args.level)
            progress.next("suppressing small numbers")
            table = dataset.table(args.level, suppress=suppress)
            assets_table = dataset.assets_table(suppress=suppress)
        if out.suffix.lower() != ".csv":
            table = with_geometry(table, analysis.units)
        progress.next(f"writing {out.name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_any(table, out)
        assets_path = out.with_name(f"{out.stem}_assets.csv")
        write_any(assets_table, assets_path)
        write_any(problems_frame(analysis.problems), rejected_path)
    _report(analysis.problems, rejected=rejected_path)
    gaps = analysis.table[analysis.table["gap"]]
    print(
        f"Wrote {len(table):,} rows ({analysis.table['area_id'].nunique():,} {args.level} units) to {out}, "
        f"{assets_path.name} and {rejected_path.name} in {time.perf_counter() - started:.1f} s; "
        f"{len(gaps):,} rows are gaps."
        + ("" if suppress else " Referral counts are NOT suppressed: do not publish these files."),
    )
    if args.audit:
        print(f"Disclosure audit of everything published from these inputs: {dataset.protection().audit().summary()}")
    return 0


def _distributed_prepare(args: argparse.Namespace):  # noqa: ANN202 - returns coverage_map.joins.Prepared
    """Load and join with referrals (and assets) streamed through dask (``--engine dask``)."""
    from .engine_dask import cluster_client, prepare_distributed

    spec = input_spec(args)
    with cluster_client(args.scheduler) as client:
        return prepare_distributed(spec, client=client)


def cmd_validate(args: argparse.Namespace) -> int:
    from .joins import prepare

    try:
        prepared = prepare(load_from_args(args))
    except ValidationError as error:
        if args.rejected is not None:
            _write_rejected(error.problems, args.rejected)
        print(error, file=sys.stderr)
        if len(error.problems) > LISTED:
            print(
                f"(every one is {'listed in ' + str(args.rejected) if args.rejected else 'listed with --rejected FILE'})",
                file=sys.stderr,
            )
        return 1
    problems = list(prepared.problems)
    if args.rejected is not None:
        _write_rejected(problems, args.rejected)
    if problems:
        print(f"The inputs can be analysed, but {len(problems):,} rows were rejected or repaired:")
        for line in summary_lines(problems):
            print(line)
        if len(problems) > LISTED:
            print(
                f"(every one is {'listed in ' + str(args.rejected) if args.rejected else 'listed with --rejected FILE'})"
            )
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
    written = write_demo(args.out, seed=args.seed, scale=args.scale)
    print(
        f"Wrote synthetic {args.scale}-scale data ({len(written)} files) to {args.out} in {time.perf_counter() - started:.1f} s"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    # The command line is the outermost shell: it starts the Dash layer by name, so that
    # nothing in the analysis core imports dash (the dependency points one way).
    import importlib

    app_module = importlib.import_module("callbacks.app")
    app_module.serve(args)
    return 0


def cmd_import_oruk(args: argparse.Namespace) -> int:
    import dataclasses

    from .ingest.oruk import OrukMapping, fetch_oruk, import_services, read_oruk, summary_lines
    from .outputs.tables import write_any
    from .taxonomy import Taxonomy

    if (args.source is None) == (args.url is None):
        raise CoverageMapError("give either SOURCE (a .json file or CSV data package folder) or --url, not both")
    out = Path(args.out)
    if out.suffix.lower() not in (".gpkg", ".csv", ".geojson"):
        raise CoverageMapError(f"--out must end in .gpkg, .csv or .geojson, not '{out.name}'")
    taxonomy = Taxonomy.from_toml(args.taxonomy) if args.taxonomy else None
    mapping = OrukMapping.from_toml(args.mapping, taxonomy=taxonomy)
    if args.url is not None:
        services, fetch_problems = fetch_oruk(
            args.url,
            timeout=args.timeout,
            max_pages=args.max_pages,
            rate=args.rate,
            cache=args.cache,
            details="all" if args.fetch_details else "auto",
        )
        result = import_services(services, mapping=mapping, source=args.url, postcodes=args.postcodes)
        result = dataclasses.replace(result, problems=(*fetch_problems, *result.problems))
    else:
        result = read_oruk(args.source, mapping=mapping, postcodes=args.postcodes)
    for line in summary_lines(result):
        print(line)
    rejected_path = Path(args.rejected) if args.rejected else out.with_name(f"{out.stem}_rejected.csv")
    write_any(result.rejected, rejected_path)
    if len(result.unmapped):
        write_any(result.unmapped, out.with_name(f"{out.stem}_unmapped_terms.csv"))
    if not len(result.assets):
        print(
            f"coverage-map: no service location could be imported, so {out} was not written; see {rejected_path}",
            file=sys.stderr,
        )
        return 1
    write_any(result.assets, out)
    print(f"Wrote {len(result.assets):,} assets to {out}; rejected services and locations to {rejected_path}.")
    return 0


def cmd_census_population(args: argparse.Namespace) -> int:
    from .ingest.census import census_table, read_population
    from .outputs.tables import write_any

    config = census_table(args.table, args.config)
    population = read_population(args.source, config, area_col=args.area_col)
    write_any(population, args.out)
    print(f"Wrote {len(population):,} areas ({', '.join(population.columns[1:])}) to {args.out}")
    return 0


def _dataset_from_args(args: argparse.Namespace):  # noqa: ANN202 - returns coverage_map.dataset.Dataset
    """Load the inputs named on the command line (or the demo data) as a memoised Dataset."""
    from .dataset import Dataset

    demo = _uses_demo(args)
    label = "Synthetic demo region" if demo else Path(args.areas).stem.replace("_", " ")
    return Dataset.from_spec(
        input_spec(args), label=label, synthetic=demo, threshold_km=args.threshold_km, method=method_from_args(args)
    )


def _add_method_options(parser: argparse.ArgumentParser) -> None:
    """The gap method's settings (``coverage_map.method.GapMethod``; see docs/method.md)."""
    group = parser.add_argument_group("gap method", "need-adjusted access (E2SFCA), clusters (Gi*) and tiers")
    group.add_argument(
        "--catchment-km",
        type=float,
        default=None,
        help=f"catchment of local services, km (default {DEFAULT_METHOD.catchment_km:g}; a taxonomy may set one per need)",
    )
    group.add_argument(
        "--catchment-minutes",
        type=float,
        default=None,
        help=f"the catchment in minutes when --travel-times is given (default {DEFAULT_METHOD.catchment_minutes:g})",
    )
    group.add_argument(
        "--severe-below",
        type=float,
        default=None,
        help=f"access ratio under which a cold spot is severe (default {DEFAULT_METHOD.thresholds.severe_below:g})",
    )
    group.add_argument(
        "--moderate-below",
        type=float,
        default=None,
        help=f"access ratio under which a cold spot is moderate (default {DEFAULT_METHOD.thresholds.moderate_below:g})",
    )
    group.add_argument(
        "--fdr",
        type=float,
        default=None,
        help=f"false-discovery rate of a cold spot, Benjamini-Hochberg (default {DEFAULT_METHOD.thresholds.q:g})",
    )
    group.add_argument(
        "--permutations", type=int, default=None, help=f"Gi* permutations (default {DEFAULT_METHOD.permutations})"
    )
    group.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"seed of the Gi* permutations, so results repeat (default {DEFAULT_METHOD.seed})",
    )


def method_from_args(args: argparse.Namespace) -> GapMethod:
    """The :class:`~coverage_map.method.GapMethod` the command line asks for (defaults where a flag is not given).

    Every problem is collected and raised once, naming its flag (see :func:`~coverage_map.method.method_from_mapping`).
    """
    given = {key: getattr(args, key) for key in METHOD_KEYS if getattr(args, key, None) is not None}
    return method_from_mapping(given, where="command line", spell=flag_name)


def _add_view_options(parser: argparse.ArgumentParser, *, category_required: bool = False) -> None:
    group = parser.add_argument_group("view", "what to map (the dashboard's controls)")
    group.add_argument("--category", required=category_required, help="need category, e.g. dementia")
    group.add_argument("--community", default="all", help="community, e.g. bame (default: all)")
    group.add_argument(
        "--metric",
        default="tier",
        help="tier (gap severity, the default), access_ratio, access_per_10k, gap_score (shortfall against the "
        "region's average), provision_per_10k, nearest_km, share_within_km, referrals_per_10k or pressure",
    )
    group.add_argument("--level", choices=LEVELS, default="neighbourhood")
    group.add_argument("--borough", help="limit to one borough (id or name) and zoom to it")
    group.add_argument(
        "--threshold-km",
        type=float,
        default=DEFAULT_THRESHOLD_KM,
        help="distance that counts as near (default %(default)s km)",
    )


def _resolve_labels(dataset, args: argparse.Namespace) -> None:  # noqa: ANN001
    taxonomy = dataset.inputs.taxonomy
    if getattr(args, "category", None):
        args.category = taxonomy.categories.resolve(args.category) or args.category
    if args.community and args.community != "all":
        args.community = taxonomy.communities.resolve(args.community) or args.community


def cmd_export_map(args: argparse.Namespace) -> int:
    from .outputs.export_map import MapRequest, export_all_categories, export_map

    if args.all_categories == bool(args.category):
        raise CoverageMapError("give either --category C or --all-categories")
    if args.all_categories and not args.out_dir:
        raise CoverageMapError("--all-categories needs --out-dir DIR")
    if not args.all_categories and not args.out:
        raise CoverageMapError("--out FILE is required (or --all-categories --out-dir DIR)")
    with stages("export-map", ["load"]) as progress:
        progress.next("loading the data")
        dataset = _dataset_from_args(args)
        if args.scenario is not None:  # the map after, proposed services drawn apart
            dataset = _scenario.scenario_dataset(dataset, args.scenario, crs=args.crs)
    _resolve_labels(dataset, args)
    request = MapRequest(
        category=args.category or dataset.categories[0],
        community=args.community,
        metric=args.metric,
        level=args.level,
        borough=args.borough,
        title=args.title,
        subtitle=args.subtitle,
        size=args.size,
        dpi=args.dpi,
        labels=args.labels,
        show_assets=not args.no_assets,
    )
    started = time.perf_counter()
    if args.all_categories:
        written = export_all_categories(dataset, request, args.out_dir, fmt=args.format or "png")
    else:
        written = [export_map(dataset, request, args.out, fmt=args.format)]
    for item in written:
        size = f", {item.pixels[0]}x{item.pixels[1]} px at {args.dpi:g} dpi" if item.pixels else ""
        print(f"Wrote {item.path} ({item.bytes / 1024:,.0f} KB{size})")
    print(f"{len(written)} map{'s' if len(written) != 1 else ''} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_export_html(args: argparse.Namespace) -> int:
    from .outputs.html_map import export_html

    with stages("export-html", ["load"]) as progress:
        progress.next("loading the data")
        dataset = _dataset_from_args(args)
    _resolve_labels(dataset, args)
    categories = [c.strip() for c in args.categories.split(",")] if args.categories else None
    if categories:
        taxonomy = dataset.inputs.taxonomy
        categories = [taxonomy.categories.resolve(c) or c for c in categories]
    result = export_html(
        dataset,
        args.out,
        category=args.category,
        categories=categories,
        community=args.community,
        metric=args.metric,
        level=args.level,
        borough=args.borough,
        inline=not args.cdn,
        title=args.title,
    )
    print(f"Wrote {result.path} ({result.bytes / 1024:,.0f} KB, {len(result.layers)} layers) in {result.seconds:.1f} s")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs.report import write_report

    with stages("report", ["load", "write"]) as progress:
        progress.next("loading the data")
        dataset = _dataset_from_args(args)
        after = None if args.scenario is None else _scenario.scenario_dataset(dataset, args.scenario, crs=args.crs)
        progress.next("findings, tables and maps")
        result = write_report(
            dataset,
            args.out,
            scenario=after,
            pdf=args.pdf,
            priorities=args.priorities,
            level=args.level,
            borough=args.borough,
            maps=not args.no_maps,
            dpi=args.dpi,
        )
    for finding in result.findings:
        print(f"  - {finding.text}")
    written = f"{result.html}" + (f" and {result.pdf}" if result.pdf else "")
    print(f"Wrote {written} in {result.seconds:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage-map",
        description="Map community-support provision against need, and find the gaps.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_analyse_command(commands)
    _add_validate_command(commands)
    _add_demo_command(commands)
    _add_serve_command(commands)
    _add_oruk_command(commands)
    _add_census_command(commands)
    _add_export_map_command(commands)
    _add_export_html_command(commands)
    _add_report_command(commands)
    workspace.add_command(commands)
    need.add_command(commands)
    _suggest.add_command(commands)
    return parser


def _add_analyse_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    analyse = commands.add_parser("analyse", help="write the gap table for every area, category and community")
    _add_inputs(analyse)
    _add_method_options(analyse)
    analyse.add_argument("--level", choices=LEVELS, default="area")
    analyse.add_argument(
        "--threshold-km",
        type=float,
        default=DEFAULT_THRESHOLD_KM,
        help="distance that counts as near (default %(default)s km)",
    )
    analyse.add_argument("--out", required=True, help="output file: .csv, .gpkg, .geojson or .parquet")
    _scenario.add_scenario_option(analyse)
    analyse.add_argument(
        "--no-suppress",
        action="store_true",
        help="publish true referral counts (only for analysts inside the data controller)",
    )
    analyse.add_argument(
        "--audit",
        action="store_true",
        help="also print the disclosure audit: suppressed cells, the narrowest interval an attacker can work "
        "out for one, and how many are narrowed below five values (must be 0)",
    )
    analyse.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="dask: stream referral (and asset) files - a folder or glob of Parquet files - "
        "through a dask cluster; needs the 'dask' extra (default %(default)s)",
    )
    analyse.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask, the address of an existing dask scheduler (default: a LocalCluster on this machine)",
    )
    analyse.set_defaults(handler=cmd_analyse)


def _add_validate_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    validate = commands.add_parser("validate", help="report every problem in the inputs without analysing")
    _add_inputs(validate)
    validate.add_argument(
        "--rejected",
        type=Path,
        metavar="CSV",
        help="write every problem (file, row, column, value, message) to this CSV file",
    )
    validate.set_defaults(handler=cmd_validate)


def _add_demo_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    demo = commands.add_parser("demo-data", help="generate the synthetic demo region")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--seed", type=int, default=2024)
    demo.add_argument(
        "--scale",
        choices=("demo", "england"),
        default="demo",
        help="demo: the shipped city region; england: 33,755 areas, 100k assets and "
        "2M referrals, for benchmarks (default %(default)s)",
    )
    demo.set_defaults(handler=cmd_demo_data)


def _add_serve_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    serve = commands.add_parser("serve", help="start the dashboard")
    _add_inputs(serve)
    _add_method_options(serve)
    serve.add_argument("--config", type=Path, help="TOML file naming the data files (see docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (never in production)")
    serve.set_defaults(handler=cmd_serve)


def _add_oruk_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    oruk = commands.add_parser("import-oruk", help="turn an Open Referral UK / HSDS directory into an asset file")
    oruk.add_argument(
        "source",
        nargs="?",
        type=Path,
        help="ORUK/HSDS .json export, or a CSV data package folder (services.csv, locations.csv...)",
    )
    oruk.add_argument("--url", help="fetch from a live ORUK API instead (its base URL or /services endpoint)")
    oruk.add_argument("--out", type=Path, required=True, help="asset file to write: .gpkg, .csv or .geojson")
    oruk.add_argument(
        "--mapping",
        type=Path,
        help="TOML mapping of terms to categories and communities "
        "(default: the shipped coverage_map/oruk_mapping.toml)",
    )
    oruk.add_argument("--taxonomy", type=Path, help="TOML file extending or replacing the vocabulary")
    oruk.add_argument(
        "--postcodes",
        type=Path,
        help="ONS Postcode Directory or Code-Point Open CSV (or folder), "
        "to place locations with a postcode but no coordinates",
    )
    oruk.add_argument(
        "--rejected", type=Path, help="CSV listing services and locations not imported (default: <out>_rejected.csv)"
    )
    oruk.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default %(default)s)")
    oruk.add_argument("--max-pages", type=int, default=50, help="pages fetched at most (default %(default)s)")
    _add_fetch_options(oruk)
    oruk.set_defaults(handler=cmd_import_oruk)


def _add_fetch_options(parser: argparse.ArgumentParser) -> None:
    """The options of a live ORUK fetch shared by ``import-oruk --url`` and ``workspace sync``."""
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second at most (default %(default)s)")
    parser.add_argument("--cache", type=Path, help="folder keeping every answer, so an interrupted fetch resumes")
    parser.add_argument(
        "--fetch-details",
        action="store_true",
        help="fetch /services/{id} for every service (default: only those listed without locations)",
    )


def _add_census_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    census = commands.add_parser(
        "census-population", help="map a census table onto area_id,population,pop_<community> columns"
    )
    census.add_argument("source", type=Path, help="census table (CSV, or any supported table format)")
    census.add_argument(
        "--config", type=Path, help="census mapping TOML (default: the shipped coverage_map/census_mapping.toml)"
    )
    census.add_argument("--table", help="which [tables.<name>] of the config describes the file")
    census.add_argument("--area-col", help="column holding the area code (default: from the config)")
    census.add_argument("--out", type=Path, required=True, help="population CSV to write")
    census.set_defaults(handler=cmd_census_population)


def _add_export_map_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    export_map = commands.add_parser("export-map", help="render a print-ready map (PNG, SVG or PDF)")
    _add_inputs(export_map)
    _add_method_options(export_map)
    _add_view_options(export_map)
    export_map.add_argument("--all-categories", action="store_true", help="one map per category (use --out-dir)")
    export_map.add_argument("--out", type=Path, help="output file: .png, .svg or .pdf")
    export_map.add_argument("--out-dir", type=Path, help="folder for --all-categories")
    export_map.add_argument("--format", choices=("png", "svg", "pdf"), help="default: from --out's extension")
    export_map.add_argument("--title", help="title (default: category, metric and place)")
    export_map.add_argument("--subtitle", help="subtitle (default: what the metric means, and the data date)")
    export_map.add_argument("--size", default="a4", help="a4, a3 (landscape), a4-portrait or WxHmm (default a4)")
    export_map.add_argument("--dpi", type=float, default=300, help="dots per inch for PNG (default 300)")
    export_map.add_argument("--labels", action="store_true", help="label areas, worst gaps first, without overlaps")
    export_map.add_argument("--no-assets", action="store_true", help="leave the organisations off the map")
    _scenario.add_scenario_option(export_map)
    export_map.set_defaults(handler=cmd_export_map)


def _add_export_html_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    export_html = commands.add_parser("export-html", help="write a self-contained interactive map (HTML)")
    _add_inputs(export_html)
    _add_method_options(export_html)
    _add_view_options(export_html)
    export_html.add_argument("--out", type=Path, required=True, help="output .html file")
    export_html.add_argument("--categories", help="comma-separated layers (default: every category)")
    export_html.add_argument("--title", help="heading over the map")
    export_html.add_argument(
        "--cdn",
        action="store_true",
        help="load Leaflet from CDNs instead of inlining it (smaller file, needs internet)",
    )
    export_html.set_defaults(handler=cmd_export_html)


def _add_report_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    report = commands.add_parser("report", help="write the gap-analysis report (HTML, and PDF with --pdf)")
    _add_inputs(report)
    _add_method_options(report)
    report.add_argument("--out", type=Path, required=True, help="output .html file")
    report.add_argument("--pdf", type=Path, help="also print the report to this PDF (needs Chromium)")
    report.add_argument(
        "--priorities",
        help="comma-separated category[/community] (default: dementia,carers_support/carers,mental_health/bame)",
    )
    report.add_argument("--level", choices=LEVELS, default="neighbourhood")
    report.add_argument("--borough", help="limit the report to one borough (id or name)")
    report.add_argument(
        "--threshold-km",
        type=float,
        default=DEFAULT_THRESHOLD_KM,
        help="distance that counts as near (default %(default)s km)",
    )
    report.add_argument("--dpi", type=float, default=150, help="resolution of the report's maps (default 150)")
    report.add_argument("--no-maps", action="store_true", help="leave the maps out (no Chromium needed for HTML)")
    _scenario.add_scenario_option(report)
    report.set_defaults(handler=cmd_report)


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
