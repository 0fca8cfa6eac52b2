"""People per small area: deprivation, population, the older people, carers and BAME counts, needs and IMD."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CoverageMapError
from .geography import Region
from .noise import random_waves
from .scales import Scale


@dataclass(frozen=True)
class People:
    """Per small area: population, group counts and a 0-1 deprivation score (shipped as IMD ranks, :func:`imd_ranks`)."""

    population: np.ndarray
    older: np.ndarray
    carers: np.ndarray
    bame: np.ndarray
    deprivation: np.ndarray
    diverse: np.ndarray


def populate(rng: np.random.Generator, spec: Scale, region: Region) -> People:
    """People per area: deprivation first, then populations and the three group counts."""
    n = len(region.xy)
    k = len(region.neighbourhood_borough)
    nb = region.neighbourhood
    waves = random_waves(rng, 10, 3000.0, 10000.0)
    x, y = region.xy.T
    town = np.min(np.hypot(x[:, None] - region.centres[None, 1:, 0], y[:, None] - region.centres[None, 1:, 1]), axis=1)
    deprivation = (
        0.62 * np.exp(-((region.centre_distance_m / 7000.0) ** 2))
        + 0.32 * np.exp(-((town / 2800.0) ** 2))
        + 0.12 * waves(x, y)
        + rng.normal(0.0, 0.10, k)[nb]
        + rng.normal(0.0, 0.04, n)
    )
    deprivation = np.clip(deprivation, 0.0, 1.0)

    # Neighbourhood totals first (30-50k), then areas around the neighbourhood mean.
    sizes = np.bincount(nb, minlength=k)
    total = rng.uniform(34_000, 46_000, k)
    mean = np.clip(total / sizes, 1_350, 1_950)[nb]
    population = np.clip(np.round(mean * np.exp(rng.normal(0.0, 0.06, n))), 1_300, 2_000).astype(np.int64)
    by_neighbourhood = np.bincount(nb, weights=population, minlength=k)
    if by_neighbourhood.min() < 30_000 or by_neighbourhood.max() > 50_000:
        raise CoverageMapError("demo generator: a neighbourhood fell outside 30-50k people; try another seed")

    older_share = 0.09 + 0.13 * (1 - deprivation) + 0.07 * region.outer + rng.normal(0.0, 0.02, n)
    carer_share = 0.085 + 0.15 * (older_share - 0.15) + rng.normal(0.0, 0.008, n)

    # BAME communities concentrate in a few deprived inner neighbourhoods and spill into their neighbours.
    mean_deprivation = np.bincount(nb, weights=deprivation, minlength=k) / sizes
    candidates = np.argsort(-mean_deprivation, kind="stable")[: 3 * spec.diverse_neighbourhoods]
    diverse = np.sort(rng.choice(candidates, size=spec.diverse_neighbourhoods, replace=False))
    is_diverse = np.isin(nb, diverse)
    touching = np.zeros(k, dtype=bool)
    rows = region.adjacency[np.flatnonzero(is_diverse)]
    touching[nb[rows.indices]] = True
    touching[diverse] = False
    level = np.full(k, 0.0)
    level[diverse] = rng.uniform(0.52, 0.72, len(diverse))
    level[touching] = rng.uniform(0.18, 0.32, int(touching.sum()))
    base = 0.03 + 0.22 * deprivation * (1 - region.outer)
    bame_share = np.where(level[nb] > 0, level[nb], base) + rng.normal(0.0, 0.03, n)

    def count(share: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.round(population * np.clip(share, low, high)).astype(np.int64)

    return People(
        population=population,
        older=count(older_share, 0.05, 0.35),
        carers=count(carer_share, 0.08, 0.12),
        bame=count(bame_share, 0.01, 0.85),
        deprivation=deprivation,
        diverse=diverse,
    )


#: Share of older people (65 and over) living with dementia: about 7% in the UK (Alzheimer's
#: Society, *Dementia UK*, 2014), scaled from 0.8 times in the least deprived areas to 1.2 times
#: in the most (dementia is more common where deprivation is higher).
DEMENTIA_PREVALENCE = 0.07
DEMENTIA_DEPRIVATION = (0.8, 0.4)
#: Adults with a common mental health problem: about 1 in 6 (Adult Psychiatric Morbidity
#: Survey 2014), from 10% in the least deprived areas to 22% in the most.
MENTAL_HEALTH_PREVALENCE = (0.10, 0.12)
#: How each ``need_<category>`` column of the population file is made, in words (for the README).
NEED_RECIPES = {
    "dementia": (
        f"`pop_older_people` (65 and over) × {DEMENTIA_PREVALENCE:.0%} dementia prevalence × "
        f"({DEMENTIA_DEPRIVATION[0]:g} + {DEMENTIA_DEPRIVATION[1]:g} × the area's synthetic deprivation score, 0-1), "
        f"so {DEMENTIA_PREVALENCE * DEMENTIA_DEPRIVATION[0]:.1%} of older people in the least deprived areas and "
        f"{DEMENTIA_PREVALENCE * sum(DEMENTIA_DEPRIVATION):.1%} in the most"
    ),
    "mental_health": (
        f"`population` × a common mental health problem prevalence of {MENTAL_HEALTH_PREVALENCE[0]:.0%} "
        f"+ {MENTAL_HEALTH_PREVALENCE[1]:.0%} × the area's synthetic deprivation score (0-1), so "
        f"{MENTAL_HEALTH_PREVALENCE[0]:.0%} in the least deprived areas and up to "
        f"{sum(MENTAL_HEALTH_PREVALENCE):.0%} in the most"
    ),
    "carers_support": "`pop_carers` (every unpaid carer)",
}


def need_estimates(people: People) -> dict[str, np.ndarray]:
    """People with each need per area, rounded to whole people (:data:`NEED_RECIPES`).

    Categories without an estimate are measured against the group's population.
    """
    base, slope = MENTAL_HEALTH_PREVALENCE
    return {
        "dementia": np.round(
            people.older
            * DEMENTIA_PREVALENCE
            * (DEMENTIA_DEPRIVATION[0] + DEMENTIA_DEPRIVATION[1] * people.deprivation)
        ).astype(np.int64),
        "mental_health": np.round(people.population * (base + slope * people.deprivation)).astype(np.int64),
        "carers_support": people.carers.astype(np.int64),
    }


def imd_ranks(people: People) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic Index of Multiple Deprivation per area: rank (1 = most deprived) and decile.

    Ranks order the region's own areas by the deprivation score (ties by area index);
    deciles are tenths of those ranks (1 = the most deprived tenth).
    """
    n = len(people.deprivation)
    order = np.argsort(-people.deprivation, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    decile = (rank - 1) * 10 // n + 1
    return rank, decile
