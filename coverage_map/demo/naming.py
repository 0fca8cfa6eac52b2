"""Fictional names for boroughs, neighbourhoods, small areas and local groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .assets import Assets
from .catalogue import COMMUNITY_NAMES, LOCAL_NAMES, VENUES
from .geography import Region

_BOROUGH_NAMES = (
    "Cottonport",
    "Ashford Vale",
    "Brackenmoor",
    "Calderbrook",
    "Dunmere",
    "Fellbridge",
    "Greyholme",
    "Harrowdale",
    "Kestlewood",
    "Wyndle Heath",
)
_PLACE_STARTS = (
    "Alder",
    "Ash",
    "Birch",
    "Bram",
    "Clough",
    "Elder",
    "Fern",
    "Hazel",
    "Holly",
    "Lark",
    "Marl",
    "Moss",
    "Oaken",
    "Rook",
    "Rush",
    "Sedge",
    "Thorn",
    "Wren",
    "Willow",
    "Cinder",
    "Heron",
    "Linnet",
    "Quarry",
    "Tanner",
    "Weaver",
    "Kiln",
    "Bobbin",
    "Loom",
    "Sparrow",
    "Gorse",
)
_PLACE_ENDS = (
    "field",
    "ley",
    "bank",
    "side",
    "hurst",
    "wood",
    "gate",
    "bridge",
    "croft",
    "moor",
    "dale",
    "fold",
    "green",
    "lea",
    "shaw",
    "brook",
    " Park",
    " Hill",
    " Vale",
    " Row",
)


def name_neighbourhoods(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct invented place names (``Alder`` + ``field``), never a borough's name."""
    pool = [f"{start}{end}" for start in _PLACE_STARTS for end in _PLACE_ENDS]
    pool = [name for name in pool if name not in _BOROUGH_NAMES]
    picks = rng.permutation(len(pool))[:count]
    names = [pool[p] for p in picks]
    # More neighbourhoods than place names (national scale): number the repeats.
    names += [f"{names[i % len(pool)]} {2 + i // len(pool)}" for i in range(count - len(names))]
    return names


def name_boroughs(rng: np.random.Generator, count: int) -> list[str]:
    """The main centre's borough is Cottonport; national scale numbers its boroughs instead."""
    if count <= len(_BOROUGH_NAMES):
        towns = list(_BOROUGH_NAMES[1:])
        order = rng.permutation(len(towns))[: count - 1]
        return [_BOROUGH_NAMES[0], *[towns[o] for o in order]]
    return [f"Borough {i + 1:02d}" for i in range(count)]


def name_areas(region: Region, borough_names: Sequence[str]) -> list[str]:
    """'<Borough> 001A': numbered groups of up to five areas, neighbourhood by neighbourhood."""
    names = [""] * len(region.xy)
    for b, borough in enumerate(borough_names):
        number = 0
        for j in np.flatnonzero(region.neighbourhood_borough == b):
            members = np.flatnonzero(region.neighbourhood == j)
            offset = region.xy[members] - region.xy[members].mean(axis=0)
            members = members[np.argsort(np.arctan2(offset[:, 1], offset[:, 0]), kind="stable")]
            for position, member in enumerate(members):
                if position % 5 == 0:
                    number += 1
                names[member] = f"{borough} {number:03d}{chr(ord('A') + position % 5)}"
    return names


def name_assets(
    rng: np.random.Generator,
    region: Region,
    assets: Assets,
    borough_names: Sequence[str],
    neighbourhood_names: Sequence[str],
) -> list[str]:
    """Fictional, unique names from the first category or a listed community and a place.

    Borough-wide and city-wide services keep their fixed names, which are reserved first so
    that no local group takes one (a local "Befriending Scheme" named after its borough).
    """
    fixed = [
        None if given is None else given.format(borough=borough_names[region.borough[assets.area[i]]])
        for i, given in enumerate(assets.name)
    ]
    used: set[str] = {name for name in fixed if name is not None}
    names: list[str] = []
    for i, given in enumerate(fixed):
        borough = borough_names[region.borough[assets.area[i]]]
        if given is not None:
            name = given
        else:
            place = neighbourhood_names[region.neighbourhood[assets.area[i]]]
            name = ""
            for attempt in range(12):
                comms = assets.communities[i]
                if comms and rng.random() < 0.7:
                    options = COMMUNITY_NAMES[comms[0]]
                else:
                    options = LOCAL_NAMES[assets.categories[i][0]]
                where = rng.random()
                if attempt >= 4 or where < 0.12:
                    place_here = VENUES[rng.integers(len(VENUES))] + (f", {place}" if attempt >= 8 else "")
                elif where < 0.22:
                    place_here = borough
                else:
                    place_here = place
                name = f"{place_here} {options[rng.integers(len(options))]}"
                if name not in used:
                    break
            suffix = 2
            base = name
            while name in used:
                name = f"{base} {suffix}"
                suffix += 1
        used.add(name)
        names.append(name)
    return names
