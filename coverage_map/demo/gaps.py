"""The deliberate gaps: where they go, and the rules that keep the asset directory from filling them.

:func:`choose_gaps` picks the places; while the assets are described,
:func:`forbidden_offers` says what each one must not offer, :func:`guarantee_categories`
and :func:`guarantee_bame` close any gap chance would add, :func:`check_gap_rules`
fails loudly if a documented gap was broken, and :func:`pick_over_capacity` chooses the
asset that will receive three times its capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CoverageMapError
from .catalogue import CATEGORIES
from .geography import Region
from .population import People
from .scales import Scale


@dataclass(frozen=True)
class Story:
    """The deliberate gaps (the story an analysis should find), as indices into boroughs and neighbourhoods."""

    no_dementia_borough: int
    no_carers: np.ndarray
    bame_gap: int
    hotspots: np.ndarray


def choose_gaps(rng: np.random.Generator, spec: Scale, region: Region, people: People) -> Story:
    """Pick where the deliberate gaps go, keeping the stories apart from each other."""
    nb = region.neighbourhood
    k = len(region.neighbourhood_borough)
    sizes = np.bincount(nb, minlength=k)
    deprivation = np.bincount(nb, weights=people.deprivation, minlength=k) / sizes
    hotspots = np.sort(np.argsort(-deprivation, kind="stable")[: spec.hotspots])

    bame_share = np.bincount(nb, weights=people.bame, minlength=k) / np.bincount(
        nb, weights=people.population, minlength=k
    )
    majority = [j for j in people.diverse if bame_share[j] > 0.55 and j not in hotspots]
    if not majority:
        raise CoverageMapError("demo generator: no BAME-majority neighbourhood to leave without provision")
    bame_gap = int(rng.choice(majority))

    outer_boroughs = np.arange(1, spec.boroughs)
    no_dementia = int(rng.choice(outer_boroughs))

    taken = set(hotspots.tolist()) | {bame_gap}
    boroughs = rng.permutation(spec.boroughs)[: spec.no_carers_neighbourhoods]
    no_carers = []
    for b in boroughs:
        options = [j for j in np.flatnonzero(region.neighbourhood_borough == b) if j not in taken]
        no_carers.append(int(rng.choice(options)))
    return Story(
        no_dementia_borough=no_dementia,
        no_carers=np.sort(np.array(no_carers)),
        bame_gap=bame_gap,
        hotspots=hotspots,
    )


def forbidden_offers(
    region: Region, story: Story, area: np.ndarray, kinds: np.ndarray
) -> tuple[list[set[str]], list[set[str]]]:
    """Per asset, the categories and communities it must not offer (to keep the gaps clean)."""
    categories: list[set[str]] = []
    communities: list[set[str]] = []
    for a, kind in zip(area, kinds, strict=True):
        cats: set[str] = set()
        comms: set[str] = set()
        if region.borough[a] == story.no_dementia_borough:
            cats.add("dementia")
        if region.neighbourhood[a] in story.no_carers:
            cats.add("carers_support")
            comms.add("carers")
        if region.neighbourhood[a] == story.bame_gap:
            comms.add("bame")
        if region.neighbourhood[a] in story.hotspots:
            cats.add("mental_health")
        if kind != "local":
            cats.add("carers_support")
            comms.update({"carers", "bame"})
        if kind == "radius":
            cats.add("dementia")
        categories.append(cats)
        communities.append(comms)
    return categories, communities


def guarantee_categories(
    rng: np.random.Generator,
    region: Region,
    story: Story,
    area: np.ndarray,
    kinds: np.ndarray,
    categories: list[tuple[str, ...]],
) -> None:
    """Every borough but the gap has dementia support, every neighbourhood but the gaps carers' support.

    Random placement would leave extra, undocumented gaps; a local group is given the
    missing category first instead. Mutates ``categories`` (a private working list).
    """
    local = kinds == "local"
    for b in range(len(region.centres)):
        if b == story.no_dementia_borough:
            continue
        here = np.flatnonzero(region.borough[area] == b)
        if any("dementia" in categories[i] for i in here):
            continue
        _give(rng, here[local[here]], "dementia", categories)
    for j in range(len(region.neighbourhood_borough)):
        if j in story.no_carers:
            continue
        here = np.flatnonzero(region.neighbourhood[area] == j)
        if any("carers_support" in categories[i] for i in here):
            continue
        _give(rng, here[local[here]], "carers_support", categories)
    missing = set(CATEGORIES) - {c for cats in categories for c in cats}
    if missing:
        raise CoverageMapError(f"demo generator: no asset offers {sorted(missing)}; try another seed")


def _give(rng: np.random.Generator, candidates: np.ndarray, category: str, categories: list[tuple[str, ...]]) -> None:
    """Make ``category`` the first category of one random candidate, keeping two of its others."""
    if len(candidates) == 0:
        raise CoverageMapError(f"demo generator: nowhere to place {category} provision; try another seed")
    i = int(candidates[rng.integers(len(candidates))])
    categories[i] = (category, *[c for c in categories[i] if c != category][:2])


def guarantee_bame(
    rng: np.random.Generator,
    region: Region,
    people: People,
    story: Story,
    area: np.ndarray,
    kinds: np.ndarray,
    communities: list[tuple[str, ...]],
) -> None:
    """Every diverse neighbourhood but the gap has at least two groups for BAME communities."""
    local = kinds == "local"
    for j in people.diverse:
        if j == story.bame_gap:
            continue
        here = np.flatnonzero((region.neighbourhood[area] == j) & local)
        have = [i for i in here if "bame" in communities[i]]
        others = np.array([i for i in here if "bame" not in communities[i]], dtype=int)
        for i in rng.permutation(others)[: max(0, 2 - len(have))]:
            communities[i] = ("bame",)


def check_gap_rules(
    region: Region,
    story: Story,
    area: np.ndarray,
    categories: list[tuple[str, ...]],
    communities: list[tuple[str, ...]],
    reach: list[str],
) -> None:
    """Fail loudly if generation broke one of the documented gaps."""
    for i, a in enumerate(area):
        cats, comms, how = set(categories[i]), set(communities[i]), reach[i]
        broken = (
            ("dementia" in cats and (how not in ("local", "borough") or region.borough[a] == story.no_dementia_borough))
            or (("carers_support" in cats or "carers" in comms)
                and (how != "local" or region.neighbourhood[a] in story.no_carers))
            or ("bame" in comms and (how != "local" or region.neighbourhood[a] == story.bame_gap))
            or ("mental_health" in cats and region.neighbourhood[a] in story.hotspots)
        )  # fmt: skip
        if broken:
            raise CoverageMapError(f"demo generator: asset {i} breaks a deliberate gap")


def pick_over_capacity(
    region: Region, story: Story, area: np.ndarray, kinds: np.ndarray, categories: list[tuple[str, ...]]
) -> int:
    """The local mental-health group nearest the hotspots: everyone there is sent to it."""
    target = np.array([region.xy[region.neighbourhood == h].mean(axis=0) for h in story.hotspots]).mean(axis=0)
    candidates = [
        i for i in range(len(area))
        if kinds[i] == "local" and categories[i][0] == "mental_health"
        and region.neighbourhood[area[i]] not in story.hotspots
    ]  # fmt: skip
    distance = [float(np.hypot(*(region.xy[area[i]] - target))) for i in candidates]
    return candidates[int(np.argmin(distance))]
