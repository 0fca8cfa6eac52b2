"""The deliberate gaps: where they go, and the rules that keep the asset directory from filling them.

:func:`choose_gaps` picks the places. Gap method 2 measures access over a catchment
(3 km by default, see :mod:`coverage_map.access`), so a gap must be kept clear of
provision *reaching* it, not only of provision located in it: :func:`gap_zones` measures
how far each asset is from the nearest origin point of each gap's small areas, and
:func:`forbidden_offers` withholds the gap's kind of provision from every asset whose
catchment (the category's catchment, or a radius service's own radius, plus
:data:`MARGIN_M`) or borough-wide or city-wide reach would take it there.
:func:`guarantee_categories` and :func:`guarantee_bame` close any gap chance would add
elsewhere, :func:`check_gap_rules` fails loudly if a documented gap was broken, and
:func:`pick_over_capacity` chooses the asset that will receive three times its capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from ..access import DEFAULT_CATCHMENT_KM, origin_points
from ..config import METRIC_CRS
from ..errors import CoverageMapError
from ..taxonomy import Taxonomy
from .catalogue import CATEGORIES
from .geography import Region
from .population import People
from .scales import Scale

#: How much further than a catchment withheld provision is kept from a gap's origin points. The
#: analysis measures from the origins of the written polygons (WGS84 at 6 decimals, reprojected
#: back), which lie within metres of the generator's; 250 m leaves ample room.
MARGIN_M = 250.0


#: Carers gaps go where the neighbourhood's mean distance from the main centre is over this share
#: of the region's radius, when the borough has such neighbourhoods.
_CARERS_GAP_OUTER = 0.3


def catchment_m(category: str) -> float:
    """The catchment of a ``local`` service of ``category`` in the analysis, in metres (built-in taxonomy)."""
    return float(Taxonomy.builtin().catchment_km.get(category, DEFAULT_CATCHMENT_KM)) * 1000.0


def widest_catchment_m() -> float:
    """The widest category catchment: a community listing counts for every category an asset offers."""
    return max(catchment_m(category) for category in CATEGORIES)


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

    # Carers gaps lie outside the dense core where possible: there, the band kept clear around
    # a gap (the 3 km catchment) would swallow several small neighbourhoods whole.
    taken = set(hotspots.tolist()) | {bame_gap}
    outer = np.bincount(nb, weights=region.outer, minlength=k) / sizes > _CARERS_GAP_OUTER
    with_outer = np.unique(region.neighbourhood_borough[outer])
    pool = with_outer if len(with_outer) >= spec.no_carers_neighbourhoods else np.arange(spec.boroughs)
    boroughs = pool[rng.permutation(len(pool))[: spec.no_carers_neighbourhoods]]
    no_carers = []
    for b in boroughs:
        options = [j for j in np.flatnonzero(region.neighbourhood_borough == b) if j not in taken]
        options = [j for j in options if outer[j]] or options
        no_carers.append(int(rng.choice(options)))
    return Story(
        no_dementia_borough=no_dementia,
        no_carers=np.sort(np.array(no_carers)),
        bame_gap=bame_gap,
        hotspots=hotspots,
    )


@dataclass(frozen=True)
class Zones:
    """Metres from each asset to the nearest origin point of each gap's small areas."""

    dementia: np.ndarray
    carers: np.ndarray
    bame: np.ndarray
    hotspots: np.ndarray


def gap_zones(region: Region, story: Story, x: np.ndarray, y: np.ndarray) -> Zones:
    """How far each point (``x``, ``y`` in EPSG:27700) is from each gap, measured as the analysis does.

    Distances run to the origin points of :func:`coverage_map.access.origin_points` (the
    centroid, or a point inside when the centroid is not) of the gap's small areas.
    """
    origins, _ = origin_points(gpd.GeoDataFrame(geometry=region.cells, crs=METRIC_CRS))
    points = np.column_stack([x, y])

    def distance(members: np.ndarray) -> np.ndarray:
        metres, _ = cKDTree(origins[members]).query(points)
        return np.asarray(metres, dtype=float)

    nb = region.neighbourhood
    return Zones(
        dementia=distance(region.borough == story.no_dementia_borough),
        carers=distance(np.isin(nb, story.no_carers)),
        bame=distance(nb == story.bame_gap),
        hotspots=distance(np.isin(nb, story.hotspots)),
    )


def forbidden_offers(
    region: Region, story: Story, area: np.ndarray, kinds: np.ndarray, zones: Zones, radius_m: np.ndarray
) -> tuple[list[set[str]], list[set[str]]]:
    """Per asset, the categories and communities it must not offer (to keep the gaps clean).

    A ``local`` asset reaches its category's catchment (:func:`catchment_m`) and a
    ``radius`` one ``radius_m``; within that plus :data:`MARGIN_M` of a gap's origin
    points it must not offer the gap's provision: dementia near the dementia borough,
    carers' support or the ``carers`` community near the carers gaps, the ``bame``
    community near the BAME gap and mental health near the hotspots. Borough-wide and
    city-wide services never offer carers' support or list carers or BAME communities,
    radius and city-wide ones never dementia, and the dementia borough's own borough-wide
    services no dementia. Borough-wide and city-wide mental-health services do reach the
    hotspots (the story: only they do).
    """
    local = kinds == "local"
    placed = local | (kinds == "radius")
    widest = widest_catchment_m()

    def near(metres: np.ndarray, category: str | None) -> np.ndarray:
        reach = np.where(local, widest if category is None else catchment_m(category), radius_m)
        return placed & (metres <= reach + MARGIN_M)

    withheld = {
        "dementia": near(zones.dementia, "dementia"),
        "carers_support": near(zones.carers, "carers_support"),
        "mental_health": near(zones.hotspots, "mental_health"),
    }
    withheld_communities = {"carers": near(zones.carers, None), "bame": near(zones.bame, None)}
    in_dementia_gap = region.borough[area] == story.no_dementia_borough
    categories: list[set[str]] = []
    communities: list[set[str]] = []
    for i, kind in enumerate(kinds):
        cats = {category for category, mask in withheld.items() if mask[i]}
        comms = {community for community, mask in withheld_communities.items() if mask[i]}
        if kind != "local":
            cats.add("carers_support")
            comms.update({"carers", "bame"})
        if kind in ("radius", "citywide") or (kind == "borough" and in_dementia_gap[i]):
            cats.add("dementia")
        categories.append(cats)
        communities.append(comms)
    return categories, communities


#: The planted inverse care pattern: a local group's chance of offering dementia support is the usual
#: one times ``scale x (1 - deprivation) ** power``, but at least ``floor`` times it.
INVERSE_CARE = {"scale": 4.0, "power": 3, "floor": 0.1}
INVERSE_CARE_TEXT = (
    f"{INVERSE_CARE['scale']:g} × (1 − deprivation)^{INVERSE_CARE['power']} times the usual chance, "
    f"at least {INVERSE_CARE['floor']:g} times: {INVERSE_CARE['scale']:g} times in the least deprived areas, "
    f"about {INVERSE_CARE['scale'] * 0.5 ** INVERSE_CARE['power']:g} times half-way and "
    f"{INVERSE_CARE['floor']:g} times in the most deprived"
)


def inverse_care(deprivation: float) -> float:
    """How much likelier a local group is to offer dementia support, by its area's deprivation (0-1).

    The planted inverse care pattern (:data:`INVERSE_CARE`), used when groups draw their
    categories and when a borough without dementia support is given some.
    """
    scale, power, floor = INVERSE_CARE["scale"], INVERSE_CARE["power"], INVERSE_CARE["floor"]
    return max(floor, scale * (1.0 - float(deprivation)) ** power)


def guarantee_categories(
    rng: np.random.Generator,
    region: Region,
    people: People,
    story: Story,
    area: np.ndarray,
    kinds: np.ndarray,
    categories: list[tuple[str, ...]],
    forbidden: list[set[str]],
) -> None:
    """Every borough but the gap has dementia support, every neighbourhood but the gaps carers' support.

    Random placement would leave extra, undocumented gaps; a local group allowed to offer
    the missing category is given it first instead (for dementia, chosen with the
    :func:`inverse_care` weights). A neighbourhood lying wholly within
    the withheld band around a carers gap keeps none. Mutates ``categories`` (a private
    working list).
    """
    local = kinds == "local"
    allowed = {
        category: np.array([local[i] and category not in forbidden[i] for i in range(len(area))], dtype=bool)
        for category in ("dementia", "carers_support")
    }
    for b in range(len(region.centres)):
        if b == story.no_dementia_borough:
            continue
        here = np.flatnonzero(region.borough[area] == b)
        if any("dementia" in categories[i] for i in here):
            continue
        candidates = here[allowed["dementia"][here]]
        weight = np.array([inverse_care(people.deprivation[area[i]]) for i in candidates])
        _give(rng, candidates, "dementia", categories, weight)
    for j in range(len(region.neighbourhood_borough)):
        if j in story.no_carers:
            continue
        here = np.flatnonzero(region.neighbourhood[area] == j)
        candidates = here[allowed["carers_support"][here]]
        if len(candidates) == 0 or any("carers_support" in categories[i] for i in here):
            continue
        _give(rng, candidates, "carers_support", categories)
    missing = set(CATEGORIES) - {c for cats in categories for c in cats}
    if missing:
        raise CoverageMapError(f"demo generator: no asset offers {sorted(missing)}; try another seed")


def _give(
    rng: np.random.Generator,
    candidates: np.ndarray,
    category: str,
    categories: list[tuple[str, ...]],
    weight: np.ndarray | None = None,
) -> None:
    """Make ``category`` the first category of one random candidate (by ``weight``), keeping two of its others."""
    if len(candidates) == 0:
        raise CoverageMapError(f"demo generator: nowhere to place {category} provision; try another seed")
    if weight is None:
        i = int(candidates[rng.integers(len(candidates))])
    else:
        i = int(candidates[rng.choice(len(candidates), p=weight / weight.sum())])
    categories[i] = (category, *[c for c in categories[i] if c != category][:2])


def guarantee_bame(
    rng: np.random.Generator,
    region: Region,
    people: People,
    story: Story,
    area: np.ndarray,
    kinds: np.ndarray,
    communities: list[tuple[str, ...]],
    forbidden: list[set[str]],
) -> None:
    """Every diverse neighbourhood but the gap has at least two groups for BAME communities where allowed."""
    local = kinds == "local"
    for j in people.diverse:
        if j == story.bame_gap:
            continue
        here = np.flatnonzero((region.neighbourhood[area] == j) & local)
        have = [i for i in here if "bame" in communities[i]]
        others = np.array([i for i in here if "bame" not in communities[i] and "bame" not in forbidden[i]], dtype=int)
        for i in rng.permutation(others)[: max(0, 2 - len(have))]:
            communities[i] = ("bame",)


def check_gap_rules(
    region: Region,
    story: Story,
    area: np.ndarray,
    categories: list[tuple[str, ...]],
    communities: list[tuple[str, ...]],
    forbidden: tuple[list[set[str]], list[set[str]]],
) -> None:
    """Fail loudly if generation broke one of the documented gaps (an asset offers what it must not)."""
    forbidden_categories, forbidden_communities = forbidden
    for i, a in enumerate(area):
        broken = (
            set(categories[i]) & forbidden_categories[i]
            or set(communities[i]) & forbidden_communities[i]
            or ("mental_health" in categories[i] and region.neighbourhood[a] in story.hotspots)
        )
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
