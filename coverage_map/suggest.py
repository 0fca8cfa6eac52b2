"""Where should new services go? The maximal covering location problem with the existing services fixed.

Church & ReVelle (1974): choose ``k`` of the candidate sites to maximise the need ``D_i`` of
the small areas within reach of a chosen site and not already within reach of an existing
service. ``D_i`` is the access method's demand (:func:`coverage_map.access.group_demand`:
the ``need_<category>`` column, else the group's population). An area is *within reach* of
a new site when its origin point (:func:`coverage_map.access.origin_points`) is inside the
site's catchment (``W(d) > 0``, the E2SFCA's own rule), and *already covered* as
:func:`coverage_map.access.covered_areas` says: inside the catchment of an eligible
existing service that supplies anything, in the borough of a borough-wide one, or anywhere
for a citywide one.

The problem is solved exactly with pysal ``spopt``'s MCLP (the existing services as one
predefined facility, CBC through ``pulp``) for up to ``max_exact`` candidates. Beyond that,
or when the solver is missing or fails, a greedy heuristic picks the site with the largest
marginal gain ``k`` times, which is guaranteed at least ``1 - 1/e`` (about 63%) of the
optimum (Nemhauser, Wolsey & Fisher 1978); the result says which was used.

The chosen set is then added as proposed services (:mod:`coverage_map.scenario`) and the
whole E2SFCA, cluster and tier pipeline runs again, so the outcome is in the same terms as
every other analysis: units leaving the severe and moderate tiers, and the need living in
gap areas before and after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from .access import ALL, covered_areas, gaussian_weight, group_demand, origin_points
from .config import METRIC_CRS
from .errors import CoverageMapError, CRSError, Problem
from .findings import in_sentence
from .joins import Prepared, points_in_areas, prepare
from .method import DEFAULT_METHOD, GapMethod
from .model import Inputs
from .scenario import ScenarioResult, TierMoves, apply_scenario, tier_moves
from .taxonomy import display_name

#: Candidates up to which the MCLP is solved exactly (beyond: greedy).
MAX_EXACT = 2000
#: The greedy heuristic's guarantee: at least this share of the optimum.
GREEDY_GUARANTEE = 1 - 1 / math.e
#: Columns of :attr:`SuggestionResult.sites`.
SITE_COLUMNS = ["site_id", "site_name", "rank", "need_covered", "total_need_covered", "longitude", "latitude"]
EXACT_SOLVER = "exact (spopt MCLP, CBC)"
GREEDY_SOLVER = "greedy"


@dataclass(frozen=True)
class SuggestionResult:
    """The chosen sites, how much need they bring within reach, and what the access method says of them.

    Attributes
    ----------
    sites
        One row per chosen site in order of marginal gain: ``site_id``, ``site_name``,
        ``rank`` (1 = largest gain), ``need_covered`` (the need it adds to the sites before
        it), ``total_need_covered`` (running total), ``longitude``, ``latitude``.
    summary
        One sentence saying what the set would do.
    solver
        :data:`EXACT_SOLVER` or :data:`GREEDY_SOLVER`.
    greedy
        Whether the greedy heuristic chose the sites (``solver_note`` says why).
    solver_note
        Why greedy was used, with its guarantee; empty when solved exactly.
    category, community, k, catchment_km, capacity
        What was asked (``capacity`` is NaN when unknown).
    total_need, covered_before
        The region's need, and the need already within reach of an existing service.
    moves
        The tier changes of the whole set (:func:`coverage_map.scenario.tier_moves`).
    scenario
        The analyses before and after adding the sites as proposed services.
    proposed
        The sites as proposed services (the assets columns), e.g. to write as a scenario file.
    problems
        Non-fatal problems: candidates outside the region, left out.
    """

    sites: pd.DataFrame
    summary: str
    solver: str
    greedy: bool
    solver_note: str
    category: str
    community: str
    k: int
    catchment_km: float
    capacity: float
    total_need: float
    covered_before: float
    moves: TierMoves
    scenario: ScenarioResult
    proposed: gpd.GeoDataFrame
    problems: tuple[Problem, ...] = ()


def suggest_sites(
    data: Inputs | Prepared,
    *,
    category: str,
    community: str = ALL,
    k: int = 1,
    candidates: gpd.GeoDataFrame | None = None,
    catchment_km: float | None = None,
    capacity: float | None = None,
    method: GapMethod = DEFAULT_METHOD,
    max_exact: int = MAX_EXACT,
) -> SuggestionResult:
    """Choose ``k`` candidate sites for new services of one need (see the module docstring).

    Parameters
    ----------
    data
        The real inputs, validated or already joined.
    category, community
        The need (a label the taxonomy knows) and the group (``all`` or a community with a
        population column).
    k
        How many new services.
    candidates
        ``site_id``, ``site_name`` and point geometry (:func:`coverage_map.ingest.candidates.load_candidates`);
        None: every small area's origin point (``site_id`` = ``area_id``).
    catchment_km
        How far a new service reaches; default the access method's catchment for the
        category (the taxonomy's, else ``method.catchment_km``).
    capacity
        Monthly places of each new service, for the access outcome; default the median
        stated capacity of the existing services of the category (unknown, so 1, if none).
    method
        The gap method of the before and after analyses.
    max_exact
        Candidates up to which the problem is solved exactly.

    Raises
    ------
    CoverageMapError
        Every problem with the request at once: unknown category or community, no need
        data, ``k`` not between 1 and the candidates inside the region, a bad catchment or
        capacity.
    """
    prepared = data if isinstance(data, Prepared) else prepare(data)
    inputs = prepared.inputs
    category, community, chosen_km, problems = _checked_request(prepared, category, community, k, catchment_km, capacity,
                                                                method)  # fmt: skip
    areas = prepared.units["area"]
    area_ids = areas["area_id"].astype(str).to_numpy(dtype=object)
    demand = np.zeros(len(area_ids))
    if not problems:
        demand = group_demand(inputs.population, area_ids, category, [community])[0][:, 0]
        if not demand.sum() > 0:
            problems.append(_no_need_message(prepared, category, community))
    origins_xy, _ = origin_points(areas, getattr(inputs, "origins", None))
    sites, dropped = _candidate_sites(prepared, candidates, origins_xy)
    if not len(sites):
        problems.append("no candidate site lies inside the region's areas")
    elif k > len(sites):
        problems.append(f"k = {k} is more than the {len(sites):,} candidate sites inside the region")
    if problems:
        raise CoverageMapError("cannot suggest sites: " + "; ".join(problems))

    covered = covered_areas(
        prepared,
        category,
        community,
        catchment_km=method.catchment_km,
        catchment_minutes=method.catchment_minutes,
        origins=getattr(inputs, "origins", None),
        travel_times=getattr(inputs, "travel_times", None),
    )
    reach = coverage_matrix(origins_xy, _xy(sites), chosen_km * 1000.0)
    gain = np.where(covered, 0.0, demand)
    picked, solver, note = _solve(reach, gain, covered, demand, k, max_exact)
    order, marginal = order_by_gain(reach, gain, picked)
    table = _sites_table(sites.iloc[order], marginal)
    site_capacity = default_capacity(prepared, category) if capacity is None else float(capacity)
    proposed = _as_proposed(sites.iloc[order], category, community, chosen_km, site_capacity)
    scenario = apply_scenario(prepared, proposed, level="area", method=method, source="suggested sites")
    moves = tier_moves(scenario, category, community)
    summary = summary_sentence(table, category=category, community=community, catchment_km=chosen_km, moves=moves)
    return SuggestionResult(
        sites=table,
        summary=summary,
        solver=solver,
        greedy=solver == GREEDY_SOLVER,
        solver_note=note,
        category=category,
        community=community,
        k=k,
        catchment_km=chosen_km,
        capacity=site_capacity,
        total_need=float(demand.sum()),
        covered_before=float(demand[covered].sum()),
        moves=moves,
        scenario=scenario,
        proposed=proposed,
        problems=tuple(dropped),
    )


def coverage_matrix(origins_xy: np.ndarray, sites_xy: np.ndarray, catchment_m: float) -> sparse.csr_matrix:
    """Areas x sites, 1 where the area's origin is within the site's catchment (``W(d) > 0``, i.e. ``d < d0``)."""
    n, m = len(origins_xy), len(sites_xy)
    if not n or not m:
        return sparse.csr_matrix((n, m))
    hits = cKDTree(origins_xy).query_ball_point(sites_xy, r=catchment_m, return_sorted=False)
    counts = np.fromiter((len(h) for h in hits), dtype=np.intp, count=m)
    area = np.fromiter((i for h in hits for i in h), dtype=np.intp, count=int(counts.sum()))
    site = np.repeat(np.arange(m), counts)
    gap = origins_xy[area] - sites_xy[site]
    inside = gaussian_weight(np.hypot(gap[:, 0], gap[:, 1]), catchment_m) > 0
    return sparse.csr_matrix((np.ones(int(inside.sum())), (area[inside], site[inside])), shape=(n, m))


def greedy_sites(reach: sparse.csr_matrix, gain: np.ndarray, k: int) -> list[int]:
    """The greedy heuristic: ``k`` times, the site adding the most uncovered need (ties: the first).

    Guaranteed at least ``1 - 1/e`` of the optimum (the objective is monotone submodular).
    """
    by_site = sparse.csc_matrix(reach)
    left = np.asarray(gain, dtype=float).copy()
    chosen: list[int] = []
    for _ in range(k):
        marginal = np.asarray(by_site.T @ left).ravel()
        marginal[chosen] = -1.0
        best = int(np.argmax(marginal))
        chosen.append(best)
        left[by_site[:, best].indices] = 0.0
    return chosen


def exact_sites(
    reach: sparse.csr_matrix, gain: np.ndarray, covered: np.ndarray, demand: np.ndarray, k: int
) -> list[int]:
    """The optimum with spopt's MCLP, the existing services as one predefined facility.

    The model is made small without changing its optimum: the areas already covered are one
    client (their total need) that only the existing services' facility covers, and it is
    fixed open (so ``p = k + 1``); uncovered areas with need that the same set of candidates
    reaches are one client (their total need); candidates that reach no such area are left
    out, and fill the ``k`` places last (they add nothing).

    Raises
    ------
    ImportError, RuntimeError
        spopt or pulp is missing, or the solver found no optimum.
    """
    by_area = sparse.csr_matrix(reach)
    by_area.sort_indices()
    rows = np.flatnonzero((np.asarray(gain) > 0) & (np.diff(by_area.indptr) > 0))
    groups: dict[tuple[int, ...], float] = {}
    for i in rows:
        key = tuple(by_area.indices[by_area.indptr[i] : by_area.indptr[i + 1]].tolist())
        groups[key] = groups.get(key, 0.0) + float(gain[i])
    useful = np.unique(np.concatenate([np.asarray(key, dtype=np.intp) for key in groups] or [np.empty(0, np.intp)]))
    if len(useful) <= k:
        return _filled(useful.tolist(), by_area.shape[1], k)
    covering = [[0]] + [[1 + int(np.searchsorted(useful, site)) for site in key] for key in groups]
    weights = np.array([float(np.asarray(demand)[covered].sum()), *groups.values()])
    model = _mclp(covering, weights, facilities=len(useful) + 1, p=k + 1, predefined=[0])
    model.solve(_cbc(), results=False)
    chosen = [
        int(useful[j - 1]) for j, variable in enumerate(model.fac_vars) if j > 0 and (variable.value() or 0) > 0.5
    ]
    if len(chosen) != k:
        raise RuntimeError(f"the MCLP solution opened {len(chosen)} sites, not {k}")
    return chosen


def _mclp(covering: list[list[int]], weights: np.ndarray, *, facilities: int, p: int, predefined: list[int]) -> Any:
    """spopt's MCLP model (Church & ReVelle 1974) with sparse coverage constraints.

    ``MCLP.from_cost_matrix`` writes every client's constraint over every facility, zeros
    included: 1,700 clients x 1,700 sites took over a minute to build. This builds the
    same model (spopt's variables, its predefined-facility and ``p``-facility constraints)
    with each client's constraint over the facilities that reach it only.
    """
    import pulp
    from spopt.locate import MCLP
    from spopt.locate.base import FacilityModelBuilder

    model = MCLP("coverage_map_suggest", pulp.LpProblem("coverage_map_suggest", pulp.LpMaximize))
    FacilityModelBuilder.add_facility_integer_variable(model, range(facilities), "x[{i}]")
    FacilityModelBuilder.add_client_integer_variable(model, range(len(covering)), "y[{i}]")
    sites, clients = model.fac_vars, model.cli_vars
    model.problem += pulp.lpSum(float(w) * y for w, y in zip(weights, clients, strict=True)), "objective function"
    flags = np.zeros(facilities, dtype=int)
    flags[predefined] = 1
    FacilityModelBuilder.add_predefined_facility_constraint(model, flags)
    for client, reaching in zip(clients, covering, strict=True):
        model.problem += pulp.lpSum(sites[j] for j in reaching) >= client
    FacilityModelBuilder.add_facility_constraint(model, p)
    return model


def _cbc() -> Any:
    """CBC: an installed one (``COIN_CMD``), else the one bundled with pulp (``PULP_CBC_CMD``, deprecated for pulp 4)."""
    import pulp

    installed = pulp.COIN_CMD(msg=False)
    return installed if installed.available() else pulp.PULP_CBC_CMD(msg=False)


def _filled(chosen: list[int], candidates: int, k: int) -> list[int]:
    """``chosen`` and then the first other candidates, up to ``k``."""
    taken = set(chosen)
    return [*chosen, *(j for j in range(candidates) if j not in taken)][:k]


def order_by_gain(reach: sparse.csr_matrix, gain: np.ndarray, chosen: list[int]) -> tuple[list[int], list[float]]:
    """The chosen sites in order of marginal gain (each after those before it), with their gains."""
    by_site = sparse.csc_matrix(reach)
    left = np.asarray(gain, dtype=float).copy()
    remaining = list(chosen)
    order: list[int] = []
    gains: list[float] = []
    while remaining:
        marginal = [float(left[by_site[:, j].indices].sum()) for j in remaining]
        best = int(np.argmax(marginal))
        site = remaining.pop(best)
        order.append(site)
        gains.append(marginal[best])
        left[by_site[:, site].indices] = 0.0
    return order, gains


def objective(reach: sparse.csr_matrix, gain: np.ndarray, chosen: list[int]) -> float:
    """The uncovered need within reach of at least one of ``chosen``."""
    if not chosen:
        return 0.0
    within = np.asarray(sparse.csc_matrix(reach)[:, chosen].sum(axis=1)).ravel() > 0
    return float(np.asarray(gain)[within].sum())


def summary_sentence(
    sites: pd.DataFrame, *, category: str, community: str, catchment_km: float, moves: TierMoves
) -> str:
    """``3 new dementia services at A, B, C would bring 12,400 people in need within 3 km of support; ...``"""
    count = len(sites)
    what = in_sentence(display_name(category))
    group = "" if community == ALL else f" for {in_sentence(display_name(community))}"
    names = _listing([str(name) for name in sites["site_name"]])
    total = float(sites["total_need_covered"].iloc[-1]) if count else 0.0
    people = "person" if round_people(total) == "1" else "people"
    service = "service" if count == 1 else "services"
    head = (
        f"{count} new {what} {service}{group} at {names} would bring {round_people(total)} {people} in need "
        f"within {catchment_km:g} km of support"
    )
    return f"{head}; {tier_sentence(moves)}"


def tier_sentence(moves: TierMoves, *, units: tuple[str, str] = ("area", "areas")) -> str:
    """What the access method says of a set of new services, in one sentence (two when units enter a gap tier).

    ``9 small areas leave the severe tier and 4 the moderate; people in need living in gap areas
    fall from 12,400 to 9,810.`` ``units`` names the units (one, several). The command line's
    summary and the dashboard's What if tab both say it this way.
    """
    one, many = units
    text = (f"{moves.leave_severe:,} {one if moves.leave_severe == 1 else many} leave{'s' if moves.leave_severe == 1 else ''}"
            f" the severe tier and {moves.leave_moderate:,} the moderate")  # fmt: skip
    before, after = round_people(moves.need_in_gaps_before), round_people(moves.need_in_gaps_after)
    if moves.need_in_gaps_after == moves.need_in_gaps_before:
        text += f"; people in need living in gap areas: {before}, as before."
    else:
        trend = "fall" if moves.need_in_gaps_after < moves.need_in_gaps_before else "rise"
        text += f"; people in need living in gap areas {trend} from {before} to {after}."
    entering = []
    if moves.enter_severe:
        entering.append(f"{moves.enter_severe:,} {one if moves.enter_severe == 1 else many} enter the severe tier")
    if moves.enter_gap:
        entering.append(f"{moves.enter_gap:,} that had no gap now {'has' if moves.enter_gap == 1 else 'have'} one")
    if entering:
        text += (f" Meanwhile {' and '.join(entering)}: new provision raises the region's average, so places the "
                 "new services do not reach can fall below it, and the clusters of low access are tested again.")  # fmt: skip
    return text


def round_people(value: float) -> str:
    """People, rounded as a sentence says them: to the unit under 100, to 10 under 10,000, else to 100."""
    if not math.isfinite(value):
        return "an unknown number of"
    step = 1 if value < 100 else 10 if value < 10_000 else 100
    return f"{round(value / step) * step:,.0f}"


# --- helpers ---------------------------------------------------------------------------------


def _checked_request(
    prepared: Prepared,
    category: str,
    community: str,
    k: int,
    catchment_km: float | None,
    capacity: float | None,
    method: GapMethod,
) -> tuple[str, str, float, list[str]]:
    """The canonical category and community, the catchment in km, and every problem with the request."""
    inputs = prepared.inputs
    taxonomy = inputs.taxonomy
    problems: list[str] = []
    resolved = taxonomy.categories.resolve(category)
    if resolved is None:
        problems.append(taxonomy.categories.unknown_message(category))
    category = resolved or category
    if community != ALL:
        group = taxonomy.communities.resolve(community) or community
        if group not in inputs.community_labels:
            known = ", ".join([ALL, *inputs.community_labels])
            problems.append(f"unknown community '{community}': the population file has columns for {known}")
        community = group
    if inputs.population is None:
        problems.append(
            f"there is no need data for {category}: give a population file (--population) with a need_{category} "
            "column or population columns, so the sites can be chosen by the people they would reach"
        )
    if not isinstance(k, (int, np.integer)) or k < 1:
        problems.append(f"k must be a whole number of at least 1, not {k}")
    chosen = taxonomy.catchment_km.get(category, method.catchment_km) if catchment_km is None else catchment_km
    if not (math.isfinite(chosen) and chosen > 0):
        problems.append(f"the catchment must be a positive number of km, not {chosen}")
    if capacity is not None and not (math.isfinite(capacity) and capacity >= 0):
        problems.append(f"the capacity must be a number of places a month of at least 0, not {capacity}")
    return category, community, float(chosen), problems


def _no_need_message(prepared: Prepared, category: str, community: str) -> str:
    population = prepared.inputs.population
    columns = () if population is None else tuple(population.columns)
    column = (
        f"need_{category}"
        if f"need_{category}" in columns
        else "population"
        if community == ALL
        else f"pop_{community}"
    )
    group = "" if community == ALL else f" for {community}"
    return f"there is no need data for {category}{group}: its column {column} is empty or 0 in every area"


def _candidate_sites(
    prepared: Prepared, candidates: gpd.GeoDataFrame | None, origins_xy: np.ndarray
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The candidates inside the region (default: the areas' origin points), and a problem per one left out."""
    if candidates is None:
        areas = prepared.units["area"]
        return gpd.GeoDataFrame(
            {
                "site_id": areas["area_id"].astype(str).to_numpy(),
                "site_name": areas["area_name"].astype(str).to_numpy(),
            },
            geometry=gpd.points_from_xy(origins_xy[:, 0], origins_xy[:, 1]),
            crs=METRIC_CRS,
        ), []
    if candidates.crs is None or not candidates.crs.equals(METRIC_CRS):
        raise CRSError(
            f"candidate sites must be in {METRIC_CRS}, but are in {candidates.crs}; call .to_crs('{METRIC_CRS}') first"
        )
    missing = [column for column in ("site_id", "site_name") if column not in candidates.columns]
    if missing:
        raise CoverageMapError(f"candidate sites need the columns site_id and site_name; missing: {', '.join(missing)}")
    inside = points_in_areas(candidates.geometry, prepared.inputs.areas).notna().to_numpy()
    rows = candidates["_source_row"].to_numpy() if "_source_row" in candidates else np.arange(1, len(candidates) + 1)
    problems = [
        Problem("candidates", "this candidate site lies outside every area; it is left out", row=int(row),
                column="geometry", value=str(site), fatal=False)
        for row, site in zip(rows[~inside], candidates["site_id"].to_numpy()[~inside], strict=True)
    ]  # fmt: skip
    return candidates[inside].reset_index(drop=True), problems


def _xy(sites: gpd.GeoDataFrame) -> np.ndarray:
    if not len(sites):
        return np.empty((0, 2))
    return np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])


def _solve(
    reach: sparse.csr_matrix, gain: np.ndarray, covered: np.ndarray, demand: np.ndarray, k: int, max_exact: int
) -> tuple[list[int], str, str]:
    """The chosen site positions, the solver used and, for greedy, why and its guarantee."""
    guarantee = f"greedy choice, guaranteed at least {GREEDY_GUARANTEE:.0%} of the best possible coverage"
    candidates = reach.shape[1]
    if candidates > max_exact:
        reason = f"{candidates:,} candidates are more than the {max_exact:,} solved exactly"
        return greedy_sites(reach, gain, k), GREEDY_SOLVER, f"{guarantee} ({reason})"
    try:
        return exact_sites(reach, gain, covered, demand, k), EXACT_SOLVER, ""
    except Exception as error:  # noqa: BLE001 - a missing or failing solver falls back to greedy, and says so
        return greedy_sites(reach, gain, k), GREEDY_SOLVER, f"{guarantee} (the exact solver failed: {error})"


def _sites_table(sites: gpd.GeoDataFrame, marginal: list[float]) -> pd.DataFrame:
    lonlat = sites.to_crs("EPSG:4326")
    gains = np.asarray(marginal, dtype=float)
    return pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str).to_numpy(),
            "site_name": sites["site_name"].astype(str).to_numpy(),
            "rank": np.arange(1, len(sites) + 1),
            "need_covered": gains,
            "total_need_covered": np.cumsum(gains),
            "longitude": lonlat.geometry.x.round(6).to_numpy(),
            "latitude": lonlat.geometry.y.round(6).to_numpy(),
        }
    )[SITE_COLUMNS]


def default_capacity(prepared: Prepared, category: str) -> float:
    """The median stated capacity of the existing services of the category (NaN when none states one)."""
    assets = prepared.assets
    offers = assets["categories"].map(lambda listed: category in listed).to_numpy(dtype=bool)
    stated = pd.to_numeric(assets.loc[offers, "capacity"]).dropna()
    return float(stated.median()) if len(stated) else float("nan")


def _as_proposed(
    sites: gpd.GeoDataFrame, category: str, community: str, catchment_km: float, capacity: float
) -> gpd.GeoDataFrame:
    """The chosen sites as proposed services reaching the suggestion's catchment (``reach = <km> km``).

    A stated radius keeps the access outcome on the catchment the sites were chosen with,
    with or without travel times (which know nothing of a new site).
    """
    n = len(sites)
    return gpd.GeoDataFrame(
        {
            "asset_id": [f"proposed:{site}" for site in sites["site_id"].astype(str)],
            "name": sites["site_name"].astype(str).to_numpy(),
            "categories": [(category,)] * n,
            "communities": [() if community == ALL else (community,)] * n,
            "capacity": np.full(n, capacity, dtype=float),
            "accepting_referrals": pd.array([True] * n, dtype="boolean"),
            "reach": ["radius"] * n,
            "reach_km": np.full(n, catchment_km, dtype=float),
            "_source_row": np.arange(1, n + 1, dtype="int64"),
            "proposed": np.ones(n, dtype=bool),
        },
        geometry=sites.geometry.to_numpy(),
        crs=METRIC_CRS,
    )


def _listing(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
