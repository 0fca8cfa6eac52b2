"""Two years of referrals: origins weighted by need, destinations among nearby matching assets."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from .assets import Assets
from .catalogue import CATEGORIES
from .gaps import Story
from .geography import Region, points_in_areas
from .population import People
from .scales import PERIOD_END, PERIOD_MONTHS, PERIOD_START, POPULATION_COMMUNITIES, Scale

#: Share of referrals by category: mental health dominates.
_REFERRAL_SHARE = {
    "mental_health": 0.30, "loneliness_isolation": 0.12, "physical_activity": 0.07,
    "debt_benefits_advice": 0.09, "housing": 0.05, "food_nutrition": 0.05, "long_term_conditions": 0.06,
    "befriending": 0.04, "peer_support": 0.04, "dementia": 0.03, "carers_support": 0.03,
    "employment_skills": 0.03, "arts_creativity": 0.03, "nature_green_space": 0.02,
    "learning_volunteering": 0.02, "domestic_abuse": 0.01, "substance_misuse": 0.01,
}  # fmt: skip
#: Chance that a referral goes to a city-wide organisation when one offers the category.
_CITYWIDE_CHANCE = {"mental_health": 0.10, "debt_benefits_advice": 0.15, "domestic_abuse": 0.35,
                    "substance_misuse": 0.30, "housing": 0.12}  # fmt: skip


@dataclass(frozen=True)
class Referrals:
    """Generated referrals in generation order.

    ``day`` counts from :data:`PERIOD_START`; ``category`` and ``community`` index
    :data:`CATEGORIES` and :data:`POPULATION_COMMUNITIES` (``-1``: no community);
    ``by_area`` says the origin is given as ``area``, else as the point ``x``, ``y``;
    ``asset`` is the destination (``-1``: not recorded).
    """

    day: np.ndarray
    category: np.ndarray
    community: np.ndarray
    area: np.ndarray
    by_area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    asset: np.ndarray


def make_referrals(
    rng: np.random.Generator, spec: Scale, region: Region, people: People, story: Story, assets: Assets
) -> Referrals:
    """Referrals by category share and need, plus three times capacity for the over-stretched asset."""
    days = (PERIOD_END - PERIOD_START).days + 1
    over = assets.over_capacity
    over_count = 3 * spec.over_capacity * PERIOD_MONTHS
    general = spec.referrals - over_count
    need = _need_weights(region, people, story)
    share = np.array([_REFERRAL_SHARE[c] for c in CATEGORIES])
    per_category = rng.multinomial(general, share / share.sum())

    category = np.repeat(np.arange(len(CATEGORIES)), per_category)
    area = np.empty(general, dtype=int)
    for c, label in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == c)
        area[rows] = rng.choice(len(need[label]), size=len(rows), p=need[label] / need[label].sum())
    day = np.floor(days * rng.power(1.15, general)).astype(int)

    # Everyone near the over-stretched group is sent to it: three times its capacity.
    near = np.hypot(*(region.xy - region.xy[assets.area[over]]).T)
    pull = people.population * (0.4 + people.deprivation) * np.exp(-near / 1500.0)
    over_area = rng.choice(len(pull), size=over_count, p=pull / pull.sum())
    over_category = np.full(over_count, CATEGORIES.index(assets.categories[over][0]))
    over_day = rng.integers(0, days, over_count)

    category = np.concatenate([category, over_category])
    area = np.concatenate([area, over_area])
    day = np.concatenate([day, over_day])
    total = len(category)
    community = _referral_communities(rng, people, category, area)
    destination = _destinations(rng, region, assets, category, area)
    destination[general:] = over
    by_area = rng.random(total) < 0.5
    x = np.full(total, np.nan)
    y = np.full(total, np.nan)
    x[~by_area], y[~by_area] = points_in_areas(rng, region.cells, area[~by_area])
    return Referrals(
        day=day, category=category, community=community, area=area, by_area=by_area, x=x, y=y, asset=destination
    )


def fit_capacities(assets: Assets, referrals: Referrals) -> Assets:
    """Raise any capacity that chance filled beyond 90%, so only the deliberate asset is over."""
    per_month = np.bincount(referrals.asset[referrals.asset >= 0], minlength=len(assets.area)) / PERIOD_MONTHS
    capacity = list(assets.capacity)
    for i, value in enumerate(capacity):
        if value is not None and i != assets.over_capacity and per_month[i] > 0.9 * value:
            capacity[i] = int(min(60, np.ceil(per_month[i] / 0.9)))
    return replace(assets, capacity=capacity)


def _need_weights(region: Region, people: People, story: Story) -> dict[str, np.ndarray]:
    """Per category, how likely each small area is to be a referral's origin."""
    pop = people.population.astype(float)
    dep = people.deprivation
    hotspot = np.isin(region.neighbourhood, story.hotspots)
    poverty = pop * (0.3 + 2.0 * dep)
    general = pop * (0.7 + 0.6 * dep)
    weights = {c: general for c in CATEGORIES}
    weights.update(
        {
            "mental_health": pop * (0.4 + 2.2 * dep) * np.where(hotspot, 1.8, 1.0),
            "dementia": people.older.astype(float),
            "carers_support": people.carers.astype(float),
            "loneliness_isolation": 1.5 * people.older + 0.3 * pop,
            "befriending": 1.5 * people.older + 0.3 * pop,
        }
    )
    for label in ("debt_benefits_advice", "housing", "food_nutrition", "employment_skills",
                  "domestic_abuse", "substance_misuse"):  # fmt: skip
        weights[label] = poverty
    return weights


def _referral_communities(
    rng: np.random.Generator, people: People, category: np.ndarray, area: np.ndarray
) -> np.ndarray:
    """Community of each referral: blank for most, else one of the population communities."""
    labels = np.array(CATEGORIES)[category]
    chance = np.where(np.isin(labels, ["dementia", "carers_support"]), 0.6, 0.2)
    has = rng.random(len(area)) < chance
    share = np.column_stack([people.older, people.carers, people.bame])[area] / people.population[area, None]
    affinity = np.ones_like(share)
    affinity[labels == "dementia"] = [5.0, 1.5, 0.5]
    affinity[labels == "carers_support"] = [1.0, 10.0, 0.5]
    weight = share * affinity
    cumulative = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random(len(area))[:, None] > cumulative).sum(axis=1)
    pick = np.minimum(pick, len(POPULATION_COMMUNITIES) - 1)
    return np.where(has, pick, -1)


def _destinations(
    rng: np.random.Generator, region: Region, assets: Assets, category: np.ndarray, area: np.ndarray
) -> np.ndarray:
    """A matching asset per referral: usually one of the nearest, sometimes a city-wide one, some blank."""
    destination = np.full(len(area), -1)
    ranks = np.array([0.45, 0.25, 0.15, 0.10, 0.05])
    origin = region.xy[area]
    eligible_all = assets.accepting.copy()
    eligible_all[assets.over_capacity] = False
    citywide = np.array([r == "citywide" for r in assets.reach])
    for c, label in enumerate(CATEGORIES):
        rows = np.flatnonzero(category == c)
        offers = np.array([label in cats for cats in assets.categories]) & eligible_all
        near = np.flatnonzero(offers & ~citywide)
        wide = np.flatnonzero(offers & citywide)
        if len(near) == 0 or len(rows) == 0:
            continue
        k = min(len(ranks), len(near))
        _, nearest = cKDTree(np.column_stack([assets.x[near], assets.y[near]])).query(origin[rows], k=k)
        nearest = np.asarray(nearest).reshape(len(rows), k)
        rank = rng.choice(k, size=len(rows), p=ranks[:k] / ranks[:k].sum())
        destination[rows] = near[nearest[np.arange(len(rows)), rank]]
        if len(wide):
            to_wide = rng.random(len(rows)) < _CITYWIDE_CHANCE.get(label, 0.04)
            destination[rows[to_wide]] = wide[rng.integers(len(wide), size=int(to_wide.sum()))]
    blank = rng.random(len(area)) < 0.12
    destination[blank] = -1
    return destination
