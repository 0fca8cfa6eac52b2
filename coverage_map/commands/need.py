"""``coverage-map need``: write ``need_<category>`` columns from a recipe (:mod:`coverage_map.need`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_command(commands: Any) -> None:  # argparse's private _SubParsersAction
    """Add the ``need`` sub-command."""
    need = commands.add_parser(
        "need",
        help="estimate the people in need per area (need_<category> columns) from a documented recipe",
        description="Join population tables on area_id (the first gives the areas and population) and add "
        "one need_<category> column per recipe. The recipe's sources and years are written beside the "
        "output as <name>.need.json and cited in the report. See docs/need.md.",
    )
    need.add_argument(
        "tables",
        nargs="+",
        type=Path,
        help="population tables with area_id (e.g. census-population outputs for TS007A and TS039)",
    )
    need.add_argument("--recipe", type=Path, help="recipe TOML (default: the shipped coverage_map/need_recipes.toml)")
    need.add_argument(
        "--only",
        metavar="CATEGORY,...",
        help="estimate only these categories of the recipe (comma-separated)",
    )
    need.add_argument("--out", type=Path, required=True, help="population file to write (.csv)")
    need.set_defaults(handler=cmd_need)


def cmd_need(args: argparse.Namespace) -> int:
    from ..cli import _report
    from ..errors import CoverageMapError
    from ..need import estimate_need, join_tables, need_recipes, write_need

    recipes = need_recipes(args.recipe)
    if args.only:
        wanted = [item.strip() for item in args.only.split(",") if item.strip()]
        unknown = [item for item in wanted if item not in recipes]
        if unknown:
            raise CoverageMapError(f"--only: {', '.join(unknown)} not in the recipe; it has {', '.join(recipes)}")
        recipes = {category: recipes[category] for category in wanted}
    table, join_problems = join_tables(args.tables)
    table, records, problems = estimate_need(table, recipes, file=str(args.tables[0]))
    meta = write_need(table, records, args.out, inputs=args.tables, recipe_file=args.recipe)
    _report([*join_problems, *problems], stream=sys.stderr)
    print(f"Wrote {len(table):,} areas to {args.out}, with:")
    for record in records:
        print(f"  {record.column}: {record.total:,.0f} people = {record.formula}")
        print(f"      source: {record.source} ({record.year})")
    print(f"Sources and formulas: {meta}")
    return 0
