"""People per small area: deprivation, population and the older people, carers and BAME counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CoverageMapError
from .geography import Region
from .noise import random_waves
from .scales import Scale


@dataclass(frozen=True)
class People:
    """Per small area: population, group counts and a 0-1 deprivation score (not shipped)."""

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
