"""``--scenario FILE`` for ``analyse``, ``report`` and ``export-map``: proposed services added to the real ones.

The scenario file is in the assets format and is read with the assets file's checks; any
rejected row stops the run (a proposed service silently left out would misstate the
scenario). See :mod:`coverage_map.scenario`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from ..analysis import Analysis
    from ..dataset import Dataset
    from ..joins import Prepared
    from ..method import GapMethod
    from ..model import Inputs
    from ..taxonomy import Taxonomy


def add_scenario_option(parser: argparse.ArgumentParser) -> None:
    """The ``--scenario`` flag (see docs/plan.md)."""
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="proposed services in the assets format (location, categories, communities, capacity, reach), "
        "added to the real ones: the results are what they would be after (see docs/plan.md)",
    )


def read_scenario(path: Path, taxonomy: Taxonomy, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """The proposed services of a scenario file; every problem (fatal or a rejected row) raised at once."""
    from ..errors import ValidationError
    from ..scenario import load_scenario

    proposed, problems = load_scenario(path, taxonomy, crs=crs)
    stopping = [problem for problem in problems if problem.fatal or problem.row is not None]
    if stopping:
        raise ValidationError(stopping, note=f"Nothing was analysed: fix the scenario file {path} and try again.")
    return proposed


def scenario_analysis(
    args: argparse.Namespace, data: Inputs | Prepared, *, method: GapMethod, suppress: bool
) -> tuple[Analysis, pd.DataFrame]:
    """``analyse --scenario``: the analysis after, and its published table with the ``_before`` columns."""
    from ..joins import Prepared, prepare
    from ..scenario import apply_scenario, scenario_table

    prepared = data if isinstance(data, Prepared) else prepare(data)
    proposed = read_scenario(args.scenario, prepared.inputs.taxonomy, crs=args.crs)
    result = apply_scenario(
        prepared, proposed, level=args.level, threshold_km=args.threshold_km, method=method, source=str(args.scenario)
    )
    print(f"Scenario: {len(result.proposed):,} proposed service(s) from {args.scenario} added to the real ones.")
    return result.after, scenario_table(result, suppress=suppress)


def scenario_dataset(dataset: Dataset, path: Path, *, crs: str | None = None) -> Dataset:
    """The data set after adding a scenario file's proposed services (same label, method and threshold)."""
    from ..dataset import Dataset
    from ..scenario import with_proposed

    proposed = read_scenario(path, dataset.inputs.taxonomy, crs=crs)
    return Dataset(
        with_proposed(dataset.prepared, proposed, source=str(path)),
        label=dataset.label,
        synthetic=dataset.synthetic,
        threshold_km=dataset.threshold_km,
        method=dataset.method,
    )
