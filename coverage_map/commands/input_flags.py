"""The command-line flags that say how to read files as they are: ``--map``, ``--map-column`` and ``--set-*``.

:func:`add_mapping_flags` adds them to the ``inputs`` group of every command that reads data
(:func:`coverage_map.cli._add_inputs`); :meth:`coverage_map.spec.InputSpec.from_args` reads them
into the spec's :class:`~coverage_map.ingest.mapping.Mappings`.
"""

from __future__ import annotations

import argparse

from ..ingest.mapping import SET_FLAGS

_SET_HELP = {
    "category": "need category of every asset, e.g. food_nutrition (repeat, or separate with ';', for several)",
    "community": "community every asset is for, e.g. older_people (repeat, or separate with ';', for several)",
    "reach": "reach of every asset: local, borough, citywide or a distance such as 3km",
    "capacity": "capacity of every asset (referrals a month)",
    "accepting": "whether every asset accepts referrals (yes/no)",
}


def add_mapping_flags(group: argparse._ArgumentGroup) -> None:
    """Add ``--map``, ``--map-column`` and ``--set-category``/``-community``/``-reach``/``-capacity``/``-accepting``."""
    group.add_argument(
        "--map",
        action="append",
        metavar="[ROLE=]FILE.toml",
        help="the files' own column names, values for every row and labels, as a TOML file (the dashboard's "
        "'Download mapping' writes one); ROLE= for a file of one role's tables, e.g. assets=map.toml "
        "(repeatable; see docs/data-format.md)",
    )
    group.add_argument(
        "--map-column",
        action="append",
        metavar="ROLE.FIELD=COLUMN",
        help="read COLUMN as FIELD, e.g. assets.name=Name, population.area_id=lsoa21_code, lookup.neighbourhood_id=PCN "
        "or population_2.area_id=Area (the second --population file) (repeatable)",
    )
    for flag, field in SET_FLAGS.items():
        group.add_argument(
            f"--set-{flag}", action="append", metavar=field.upper(), dest=f"set_{flag}", help=_SET_HELP[flag]
        )
