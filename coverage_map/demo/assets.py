"""The community assets: where they sit, what they offer, whom for, how far they reach and their capacity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .boroughs import apportion
from .catalogue import (
    BOROUGH_SERVICES,
    BRANDS,
    CATEGORIES,
    CATEGORY_WEIGHT,
    CITYWIDE_SERVICES,
    COMMUNITIES,
    COMMUNITY_WEIGHT,
    COMPANIONS,
    RADIUS_KM,
)
from .gaps import (
    Story,
    check_gap_rules,
    forbidden_offers,
    gap_zones,
    guarantee_bame,
    guarantee_categories,
    inverse_care,
    pick_over_capacity,
)
from .geography import Region, points_in_areas
from .population import People, need_estimates
from .scales import PERIOD_END, REGION_NAME, Scale

#: A borough-wide service: (borough index, (service name, categories, communities)).
_BoroughService = tuple[int, tuple[str, tuple[str, ...], tuple[str, ...]]]


@dataclass(frozen=True)
class Assets:
    """Generated assets in generation order; ``area`` indexes the small areas.

    ``name`` is the fixed name of a borough or city-wide service (``{borough}`` is filled
    in once boroughs have names) or ``None`` for a local group, named later from its
    first category or community and its neighbourhood.
    """

    area: np.ndarray
    x: np.ndarray
    y: np.ndarray
    name: list[str | None]
    categories: list[tuple[str, ...]]
    communities: list[tuple[str, ...]]
    capacity: list[int | None]
    accepting: np.ndarray
    reach: list[str]
    last_checked: list[str]
    over_capacity: int


def make_assets(rng: np.random.Generator, spec: Scale, region: Region, people: People, story: Story) -> Assets:
    """Place and describe the assets: 80% local, 10% within a radius, 7% borough-wide, 3% city-wide."""
    kinds = _asset_kinds(rng, spec)
    area, borough_services = _place_assets(rng, spec, region, people, story, kinds)
    x, y = points_in_areas(rng, region.cells, area)
    radius_km = np.array(RADIUS_KM)[rng.integers(len(RADIUS_KM), size=len(kinds))]
    forbidden = forbidden_offers(region, story, area, kinds, gap_zones(region, story, x, y), radius_km * 1000.0)
    names, categories, communities, reach = _describe_assets(
        rng, region, people, story, area, kinds, borough_services, radius_km, forbidden
    )
    capacity = _capacities(rng, kinds)
    accepting = rng.random(spec.assets) >= 0.10
    last_checked = _last_checked(rng, spec.assets)
    _commission_dementia(region, people, area, reach, categories, capacity, accepting)

    over = pick_over_capacity(region, story, area, kinds, categories)
    capacity[over] = spec.over_capacity
    accepting[over] = True
    return Assets(
        area=area,
        x=x,
        y=y,
        name=names,
        categories=categories,
        communities=communities,
        capacity=capacity,
        accepting=accepting,
        reach=reach,
        last_checked=last_checked,
        over_capacity=over,
    )


#: People with dementia in a borough per monthly place its borough-wide dementia services offer.
_DEMENTIA_NEED_PER_PLACE = 100


def _commission_dementia(
    region: Region,
    people: People,
    area: np.ndarray,
    reach: list[str],
    categories: list[tuple[str, ...]],
    capacity: list[int | None],
    accepting: np.ndarray,
) -> None:
    """Borough-wide dementia services: one place a month per 100 people with dementia in the borough.

    Shared between a borough's dementia services, always stated and accepting referrals, so
    every borough offers the same borough-wide dementia support per person in need and
    the planted inverse care pattern (:func:`inverse_care`) comes from local groups alone.
    Mutates ``capacity`` and ``accepting`` (private working arrays).
    """
    need = np.bincount(region.borough, weights=need_estimates(people)["dementia"], minlength=len(region.centres))
    services = [i for i in range(len(area)) if reach[i] == "borough" and "dementia" in categories[i]]
    per_borough = np.bincount(region.borough[area[services]], minlength=len(region.centres))
    for i in services:
        b = region.borough[area[i]]
        capacity[i] = int(np.clip(round(need[b] / _DEMENTIA_NEED_PER_PLACE / per_borough[b]), 5, 60))
        accepting[i] = True


def _asset_kinds(rng: np.random.Generator, spec: Scale) -> np.ndarray:
    """How far each asset reaches (``citywide``, ``borough``, ``radius`` or ``local``), in random order."""
    n = spec.assets
    kinds = np.array(
        ["citywide"] * round(spec.citywide_share * n) + ["borough"] * round(0.07 * n) + ["radius"] * round(0.10 * n)
    )
    kinds = np.concatenate([kinds, np.full(n - len(kinds), "local")])
    return kinds[rng.permutation(n)]


def _place_assets(
    rng: np.random.Generator, spec: Scale, region: Region, people: People, story: Story, kinds: np.ndarray
) -> tuple[np.ndarray, list[_BoroughService]]:
    """The small area of each asset, and which borough service each borough-wide asset is.

    Local groups follow people and town centres (thinner in the hotspots); borough
    services sit near their town centre; city-wide ones in the main centre. Offices of
    borough and city-wide services stay out of the hotspots, which have no
    mental-health provision of their own.
    """
    nb = region.neighbourhood
    hotspot = np.isin(nb, story.hotspots)
    spread = people.population * (1 + 2 * np.exp(-region.town_distance_m / 1500.0))
    spread = spread * np.where(hotspot, 0.5, 1.0)
    area = rng.choice(len(nb), size=len(kinds), p=spread / spread.sum())
    central = np.exp(-region.centre_distance_m / 1200.0) * ~hotspot
    city = kinds == "citywide"
    area[city] = rng.choice(len(nb), size=int(city.sum()), p=central / central.sum())

    borough_services = _borough_service_plan(rng, spec, story, int((kinds == "borough").sum()))
    borough_slots = np.flatnonzero(kinds == "borough")
    for slot, (b, _) in zip(borough_slots, borough_services, strict=True):
        members = np.flatnonzero((region.borough == b) & ~hotspot)
        near = np.exp(-np.hypot(*(region.xy[members] - region.centres[b]).T) / 1500.0)
        area[slot] = members[rng.choice(len(members), p=near / near.sum())]
    return area, borough_services


def _describe_assets(
    rng: np.random.Generator,
    region: Region,
    people: People,
    story: Story,
    area: np.ndarray,
    kinds: np.ndarray,
    borough_services: list[_BoroughService],
    radius_km: np.ndarray,
    forbidden: tuple[list[set[str]], list[set[str]]],
) -> tuple[list[str | None], list[tuple[str, ...]], list[tuple[str, ...]], list[str]]:
    """Names, categories, communities and reach of every asset, keeping the deliberate gaps clean.

    Borough and city-wide services take their fixed offer; local and radius groups draw
    categories first (with the missing dementia and carers' support then given to some),
    communities second (with BAME groups then guaranteed in the diverse neighbourhoods),
    never what ``forbidden`` (:func:`~.gaps.forbidden_offers`) withholds from them.
    """
    forbidden_categories, forbidden_communities = forbidden
    categories: list[tuple[str, ...]] = []
    communities: list[tuple[str, ...]] = []
    names: list[str | None] = []
    reach: list[str] = []
    citywide = _citywide_plan(rng, int((kinds == "citywide").sum()))
    borough_iter = iter(borough_services)
    city_iter = iter(citywide)
    for i in range(len(kinds)):
        if kinds[i] == "citywide":
            name, cats, comms = next(city_iter)
            categories.append(cats)
            communities.append(comms)
            names.append(name)
            reach.append("citywide")
        elif kinds[i] == "borough":
            _, (service, cats, comms) = next(borough_iter)
            categories.append(cats)
            communities.append(comms)
            names.append(f"{{borough}} {service}")
            reach.append("borough")
        else:
            dementia = inverse_care(people.deprivation[area[i]])
            categories.append(_draw_categories(rng, forbidden_categories[i], {"dementia": dementia}))
            communities.append(())
            names.append(None)
            reach.append("local" if kinds[i] == "local" else str(radius_km[i]))

    guarantee_categories(rng, region, people, story, area, kinds, categories, forbidden_categories)
    for i in range(len(kinds)):
        if names[i] is None:
            communities[i] = _draw_communities(rng, people, area[i], categories[i], forbidden_communities[i])
    guarantee_bame(rng, region, people, story, area, kinds, communities, forbidden_communities)
    check_gap_rules(region, story, area, categories, communities, forbidden)
    return names, categories, communities, reach


def _borough_service_plan(rng: np.random.Generator, spec: Scale, story: Story, count: int) -> list[_BoroughService]:
    """Borough-wide services spread evenly over boroughs, none offering dementia in the gap borough."""
    plan: list[_BoroughService] = []
    boroughs = np.resize(np.arange(spec.boroughs), count)
    used: set[tuple[int, str]] = set()
    for b in boroughs:
        options = [
            s for s in BOROUGH_SERVICES
            if (int(b), s[0]) not in used and not (b == story.no_dementia_borough and "dementia" in s[1])
        ]  # fmt: skip
        if not options:  # more services than kinds (national scale): a borough gets a second office
            options = [s for s in BOROUGH_SERVICES if not (b == story.no_dementia_borough and "dementia" in s[1])]
        service = options[rng.integers(len(options))]
        used.add((int(b), service[0]))
        plan.append((int(b), service))
    return plan


def _citywide_plan(rng: np.random.Generator, count: int) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """City-wide organisations in proportion to the service weights, in random order.

    The first of each service is named after the region, the others after charity brands.
    """
    weights = np.array([s[3] for s in CITYWIDE_SERVICES], dtype=float)
    counts = apportion(weights, count, minimum=0)
    services = np.repeat(np.arange(len(weights)), counts)[rng.permutation(count)]
    plan: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    used: set[str] = set()
    region_word = REGION_NAME.split()[0]
    for index in services:
        service, cats, comms, _ = CITYWIDE_SERVICES[index]
        name = f"{region_word} {service}"
        attempts = 0
        while name in used:
            attempts += 1
            if attempts > 100:  # every brand taken (national scale): number the service instead
                name = f"{region_word} {service} {attempts - 99}"
            else:
                name = f"{BRANDS[rng.integers(len(BRANDS))]} {service}"
        used.add(name)
        plan.append((name, cats, comms))
    return plan


def _draw_categories(
    rng: np.random.Generator, forbidden: set[str], factor: Mapping[str, float] | None = None
) -> tuple[str, ...]:
    """A local group's categories: a weighted first one (weights times ``factor``), then up to two companions."""
    allowed = [c for c in CATEGORIES if c not in forbidden]
    factor = factor or {}
    weight = np.array([CATEGORY_WEIGHT[c] * factor.get(c, 1.0) for c in allowed], dtype=float)
    first = allowed[rng.choice(len(allowed), p=weight / weight.sum())]
    extra = int(rng.choice(3, p=[0.5, 0.35, 0.15]))
    companions = [c for c in COMPANIONS[first] if c not in forbidden]
    chosen = [first]
    if extra and companions:
        picks = rng.permutation(len(companions))[:extra]
        chosen += [companions[p] for p in np.sort(picks)]
    return tuple(chosen)


def _draw_communities(
    rng: np.random.Generator, people: People, area: int, categories: tuple[str, ...], forbidden: set[str]
) -> tuple[str, ...]:
    """About 30% of groups name one or two communities; the rest are open to all."""
    first = categories[0]
    chance = {"carers_support": 0.5, "dementia": 0.45}.get(first, 0.27)
    if rng.random() >= chance:
        return ()
    weight = dict(COMMUNITY_WEIGHT)
    share_bame = people.bame[area] / people.population[area]
    weight["bame"] *= 0.3 + 8 * share_bame
    weight["refugees"] *= 0.3 + 5 * share_bame
    if first == "carers_support":
        weight["carers"] *= 25
    if first == "dementia":
        weight["older_people"] *= 4
        weight["carers"] *= 4
    if first == "domestic_abuse":
        weight["women"] *= 8
    labels = [c for c in COMMUNITIES if c not in forbidden]
    w = np.array([weight[c] for c in labels], dtype=float)
    size = 1 if rng.random() < 0.8 else 2
    picks = rng.choice(len(labels), size=size, replace=False, p=w / w.sum())
    return tuple(labels[p] for p in np.sort(picks))


def _capacities(rng: np.random.Generator, kinds: np.ndarray) -> list[int | None]:
    """Referrals per month each asset can take: 5-60, unknown for about 8%."""
    local = np.round(np.exp(rng.normal(np.log(14), 0.5, len(kinds))))
    wide = rng.integers(20, 61, len(kinds))
    value = np.where(np.isin(kinds, ["local", "radius"]), local, wide)
    value = np.clip(value, 5, 60).astype(int)
    unknown = rng.random(len(kinds)) < 0.08
    return [None if u else int(v) for u, v in zip(unknown, value, strict=True)]


def _last_checked(rng: np.random.Generator, n: int) -> list[str]:
    """Review dates: most in the last year of the period, about a quarter older."""
    end = np.datetime64(PERIOD_END.isoformat())
    recent = rng.random(n) < 0.74
    days_back = np.where(recent, rng.integers(0, 365, n), rng.integers(366, 900, n))
    return [str(end - np.timedelta64(int(d), "D")) for d in days_back]
