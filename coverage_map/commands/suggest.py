"""``coverage-map suggest``: where k new services of one need would bring the most people in need within reach.

The core is :func:`coverage_map.suggest.suggest_sites` (the maximal covering location
problem with the existing services fixed); this module reads the flags, loads the inputs
and candidate sites, and writes the chosen sites (and a scenario file of them, for
``analyse --scenario`` or ``report --scenario``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import CoverageMapError, ValidationError

#: Formats ``--out`` may end in.
OUT_FORMATS = (".csv", ".gpkg", ".geojson", ".parquet")


def add_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    """Add the ``suggest`` sub-command."""
    from ..cli import _add_inputs, _add_method_options

    suggest = commands.add_parser(
        "suggest",
        help="suggest sites for k new services of one need (maximal covering location problem)",
        description="Choose k candidate sites for new services that bring the most people in need within reach "
        "who are not already within reach of a service (Church & ReVelle 1974), then run the gap analysis with them "
        "added as proposed services. --catchment-km is both how far a new site reaches and the method's catchment.",
    )
    _add_inputs(suggest)
    _add_method_options(suggest)
    group = suggest.add_argument_group("suggestion")
    group.add_argument("--category", required=True, help="need category, e.g. dementia")
    group.add_argument("--community", default="all", help="community with a population column (default: all)")
    group.add_argument(
        "--candidates",
        type=Path,
        metavar="FILE",
        help="candidate sites: any point file with an id, a name and a location (latitude/longitude, "
        "easting/northing, x/y or point geometry); default: every small area's origin point",
    )
    group.add_argument("--k", type=int, default=1, help="how many new services (default %(default)s)")
    group.add_argument(
        "--capacity",
        type=float,
        help="monthly places of each new service, for the access outcome (default: the median stated capacity "
        "of the existing services of the category)",
    )
    group.add_argument("--out", type=Path, required=True, help="chosen sites: .csv, .gpkg, .geojson or .parquet")
    suggest.set_defaults(handler=cmd_suggest)


def cmd_suggest(args: argparse.Namespace) -> int:
    """Run ``coverage-map suggest``."""
    from ..cli import _report, load_from_args, method_from_args
    from ..ingest.candidates import load_candidates
    from ..joins import prepare
    from ..suggest import suggest_sites

    out = Path(args.out)
    if out.suffix.lower() not in OUT_FORMATS:
        raise CoverageMapError(f"--out must end in one of {', '.join(OUT_FORMATS)}, not '{out.name}'")
    started = time.perf_counter()
    method = method_from_args(args)
    prepared = prepare(load_from_args(args))
    candidates = None
    if args.candidates is not None:
        candidates, problems = load_candidates(args.candidates, crs=args.crs)
        if any(problem.fatal for problem in problems):
            raise ValidationError(problems, note=f"No site was suggested: fix {args.candidates} and try again.")
        _report(problems)
    result = suggest_sites(
        prepared,
        category=args.category,
        community=args.community,
        k=args.k,
        candidates=candidates,
        catchment_km=args.catchment_km,
        capacity=args.capacity,
        method=method,
    )
    _report(result.problems)
    table = sites_table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write(table, result, out)
    scenario_path = out.with_name(f"{out.stem}_scenario.csv")
    _write_scenario(result, scenario_path)
    print(result.summary)
    how = "solved exactly (spopt MCLP, CBC)" if not result.greedy else result.solver_note
    print(
        f"Sites {how}; wrote {out} and {scenario_path.name} (the sites as proposed services, for --scenario) "
        f"in {time.perf_counter() - started:.1f} s.",
        file=sys.stdout,
    )
    return 0


def sites_table(result: Any) -> Any:  # SuggestionResult -> DataFrame
    """The chosen sites with the whole set's outcome on every row (the figures repeat: they belong to the set)."""
    moves = result.moves
    table = result.sites.copy()
    for column in ("need_covered", "total_need_covered"):
        table[column] = table[column].round(1)
    table["solver"] = result.solver
    table["catchment_km"] = result.catchment_km
    table["capacity"] = result.capacity
    table["leave_severe"] = moves.leave_severe
    table["leave_moderate"] = moves.leave_moderate
    table["enter_severe"] = moves.enter_severe
    table["enter_gap"] = moves.enter_gap
    table["need_in_gaps_before"] = round(moves.need_in_gaps_before, 1)
    table["need_in_gaps_after"] = round(moves.need_in_gaps_after, 1)
    return table


def _write(table: Any, result: Any, out: Path) -> None:
    import geopandas as gpd

    from ..outputs.tables import write_any

    if out.suffix.lower() == ".csv":
        write_any(table, out)
        return
    points = gpd.points_from_xy(table["longitude"], table["latitude"], crs="EPSG:4326")
    write_any(gpd.GeoDataFrame(table, geometry=points, crs="EPSG:4326"), out)


def _write_scenario(result: Any, path: Path) -> None:
    """The chosen sites in the assets format, so ``--scenario`` can read them back."""
    import pandas as pd

    from ..outputs.tables import write_any

    proposed = result.proposed
    lonlat = proposed.to_crs("EPSG:4326")
    frame = pd.DataFrame(
        {
            "asset_id": proposed["asset_id"],
            "name": proposed["name"],
            "categories": proposed["categories"],
            "communities": proposed["communities"],
            "capacity": proposed["capacity"],
            "accepting_referrals": "true",
            "reach": [f"{km:g} km" for km in proposed["reach_km"]],
            "latitude": lonlat.geometry.y.round(7).to_numpy(),
            "longitude": lonlat.geometry.x.round(7).to_numpy(),
        }
    )
    write_any(frame, path)
