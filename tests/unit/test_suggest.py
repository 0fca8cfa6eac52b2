"""Site suggestion: the maximal covering location problem with existing services fixed (coverage_map.suggest).

Every expected choice is worked out by hand on boxes in a row (as tests/handbuilt.py).
"""

from __future__ import annotations

import geopandas as gpd
import handbuilt as hb
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage_map import suggest as suggest_module
from coverage_map.config import METRIC_CRS
from coverage_map.errors import CoverageMapError
from coverage_map.method import GapMethod
from coverage_map.model import Inputs
from coverage_map.suggest import (
    EXACT_SOLVER,
    GREEDY_SOLVER,
    coverage_matrix,
    exact_sites,
    greedy_sites,
    objective,
    round_people,
    suggest_sites,
)
from coverage_map.taxonomy import Taxonomy

X0, Y0 = hb.X0, hb.Y0


def _row_of_boxes(needs: list[float]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """1 km boxes in a row, origins at their centres (x = 500, 1500, ...), with these dementia needs."""
    ids = [f"Z{i}" for i in range(len(needs))]
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "area_name": [f"Box {i}" for i in range(len(needs))], "_source_row": range(1, len(needs) + 1)},
        geometry=[hb.box(i) for i in range(len(needs))],
        crs=METRIC_CRS,
    )
    population = pd.DataFrame(
        {"area_id": ids, "population": [10 * n for n in needs], "need_dementia": [float(n) for n in needs]}
    )
    return areas, population


def _assets(rows: list[tuple[str, str, float, str, bool | None]]) -> gpd.GeoDataFrame:
    """(asset_id, category, x offset, reach, accepting) -> an assets frame (capacity 10, open to all)."""
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": [r[0].title() for r in rows],
            "categories": [(r[1],) for r in rows],
            "communities": [()] * len(rows),
            "capacity": [10.0] * len(rows),
            "accepting_referrals": pd.array([r[4] for r in rows], dtype="boolean"),
            "reach": [r[3] for r in rows],
            "reach_km": [np.nan] * len(rows),
            "_source_row": range(2, 2 + len(rows)),
        },
        geometry=shapely.points([X0 + r[2] for r in rows], [Y0 + 500] * len(rows)),
        crs=METRIC_CRS,
    )


def _sites(rows: list[tuple[str, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": [r[0] for r in rows], "site_name": [f"Site {r[0]}" for r in rows]},
        geometry=shapely.points([X0 + r[1] for r in rows], [Y0 + 500] * len(rows)),
        crs=METRIC_CRS,
    )


def _five_boxes() -> Inputs:
    """L1, L2, M, R1, R2 with need 3,000, 3,000, 1,000, 3,000, 3,000 and no dementia service at all."""
    areas, population = _row_of_boxes([3000, 3000, 1000, 3000, 3000])
    lookup = pd.DataFrame(
        {
            "area_id": areas["area_id"],
            "neighbourhood_id": "N",
            "neighbourhood_name": "N",
            "borough_id": "B",
            "borough_name": "B",
        }
    )
    return Inputs(
        areas=areas,
        assets=_assets([("debt", "debt_benefits_advice", 500, "local", True)]),
        taxonomy=Taxonomy.builtin(),
        lookup=lookup,
        population=population,
    )


#: With a 1.2 km catchment: S_L (x = 1 km) reaches L1 and L2 (0.5 km away); S_C (2.5 km) reaches L2, M and R1
#: (1 km, 0, 1 km); S_R (4 km) reaches R1 and R2.
FIVE_BOX_SITES = [("S_C", 2500), ("S_L", 1000), ("S_R", 4000)]


def test_mclp_optimum_differs_from_greedy_and_both_are_as_worked_by_hand():
    # Greedy takes S_C first (7,000 > 6,000), then S_L or S_R adds 3,000: 10,000.
    # The optimum is S_L and S_R: 12,000. 10,000 / 12,000 = 83% >= 63%, the greedy guarantee.
    inputs = _five_boxes()
    exact = suggest_sites(inputs, category="dementia", k=2, candidates=_sites(FIVE_BOX_SITES), catchment_km=1.2)
    assert exact.solver == EXACT_SOLVER and not exact.greedy and exact.solver_note == ""
    assert sorted(exact.sites["site_id"]) == ["S_L", "S_R"]
    assert list(exact.sites["need_covered"]) == [6000.0, 6000.0]
    assert list(exact.sites["total_need_covered"]) == [6000.0, 12000.0]
    assert list(exact.sites["rank"]) == [1, 2]

    greedy = suggest_sites(
        inputs, category="dementia", k=2, candidates=_sites(FIVE_BOX_SITES), catchment_km=1.2, max_exact=2
    )
    assert greedy.solver == GREEDY_SOLVER and greedy.greedy
    assert "63%" in greedy.solver_note and "3 candidates are more than the 2 solved exactly" in greedy.solver_note
    assert list(greedy.sites["site_id"]) == ["S_C", "S_L"]  # S_L before S_R: the first of a tie
    assert list(greedy.sites["need_covered"]) == [7000.0, 3000.0]
    assert float(greedy.sites["total_need_covered"].iloc[-1]) == 10000.0
    assert exact.total_need == 13000.0 and exact.covered_before == 0.0


def test_the_solvers_directly_on_the_coverage_matrix():
    xy = np.array([[500.0, 0], [1500, 0], [2500, 0], [3500, 0], [4500, 0]])
    sites = np.array([[2500.0, 0], [1000, 0], [4000, 0]])
    reach = coverage_matrix(xy, sites, 1200.0)
    assert reach.toarray().astype(int).tolist() == [[0, 1, 0], [1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]]
    need = np.array([3.0, 3, 1, 3, 3])
    nothing = np.zeros(5, dtype=bool)
    assert greedy_sites(reach, need, 2) == [0, 1]
    assert sorted(exact_sites(reach, need, nothing, need, 2)) == [1, 2]
    assert objective(reach, need, [1, 2]) == 12.0 and objective(reach, need, [0, 1]) == 10.0
    # Exactly at the catchment's edge the weight is 0, so the area is not within reach.
    assert coverage_matrix(np.array([[0.0, 0]]), np.array([[1200.0, 0]]), 1200.0).nnz == 0


def test_a_borough_wide_service_makes_a_candidate_in_its_borough_worthless():
    # Three boxes A, B, C (hb): A and B form borough B1, C is B2. Need 1,000, 3,000, 2,000 (the population).
    # A borough-wide dementia service in A covers A and B. Site A (A's centre) reaches A and B, 1 km away:
    # nothing new. Site C reaches C and B: only C's 2,000 is new.
    inputs = Inputs(
        areas=hb.areas(),
        assets=_assets([("borough_cafe", "dementia", 500, "borough", True)]),
        lookup=hb.lookup(),
        population=hb.population(),
    )
    sites = _sites([("site_A", 500), ("site_C", 2500)])
    one = suggest_sites(inputs, category="dementia", k=1, candidates=sites, catchment_km=1.2)
    assert list(one.sites["site_id"]) == ["site_C"] and list(one.sites["need_covered"]) == [2000.0]
    assert one.covered_before == 4000.0
    both = suggest_sites(inputs, category="dementia", k=2, candidates=sites, catchment_km=1.2)
    assert list(both.sites["site_id"]) == ["site_C", "site_A"]
    assert list(both.sites["need_covered"]) == [2000.0, 0.0]
    # Not accepting referrals, it covers nothing: site C then brings C and B (5,000), site A adds A (1,000).
    closed = Inputs(
        areas=hb.areas(),
        assets=_assets([("borough_cafe", "dementia", 500, "borough", False)]),
        lookup=hb.lookup(),
        population=hb.population(),
    )
    reopened = suggest_sites(closed, category="dementia", k=2, candidates=sites, catchment_km=1.2)
    assert list(reopened.sites["need_covered"]) == [5000.0, 1000.0]
    # A citywide service covers everyone: nothing is left to bring within reach.
    city = Inputs(
        areas=hb.areas(),
        assets=_assets([("line", "dementia", 2500, "citywide", None)]),
        lookup=hb.lookup(),
        population=hb.population(),
    )
    assert suggest_sites(city, category="dementia", k=1, candidates=sites, catchment_km=1.2).covered_before == 6000.0


def test_community_counts_open_to_all_services_and_the_population_fallback():
    # hb's a2 is borough-wide in B1 (A, B) for dementia and lists bame; a1 (local, A) is open to all.
    # bame live A 100, B 0, C 500 (no need column: the population counts). Both cover A and B, so only C is new.
    # With a 1.2 km catchment for the existing services too (a1 at A then reaches A and B, not C).
    inputs = hb.inputs(with_referrals=False)
    sites = _sites([("site_A", 500), ("site_C", 2500)])
    result = suggest_sites(
        inputs, category="dementia", community="bame", k=1, candidates=sites, method=GapMethod(catchment_km=1.2)
    )
    assert list(result.sites["site_id"]) == ["site_C"]
    assert list(result.sites["need_covered"]) == [500.0]
    assert result.community == "bame" and "for BAME" in result.summary


def test_the_outcome_runs_the_access_pipeline_with_the_sites_as_proposed_services():
    inputs = _five_boxes()
    result = suggest_sites(inputs, category="dementia", k=2, candidates=_sites(FIVE_BOX_SITES), catchment_km=1.2,
                           capacity=20)  # fmt: skip
    proposed = result.proposed
    assert sorted(proposed["asset_id"]) == ["proposed:S_L", "proposed:S_R"]
    assert set(proposed["reach"]) == {"radius"} and set(proposed["reach_km"]) == {1.2}
    assert set(proposed["capacity"]) == {20.0} and proposed["proposed"].all()
    after = result.scenario.after.table
    dementia = after[(after["category"] == "dementia") & (after["community"] == "all")].set_index("area_id")
    # M (Z2) is 1.5 km from both new sites: beyond 1.2 km, so still no access; the others have some.
    assert dementia.loc["Z2", "access_per_10k"] == 0.0
    assert (dementia.drop(index="Z2")["access_per_10k"] > 0).all()
    assert result.summary.startswith("2 new dementia services at Site S_L and Site S_R would bring 12,000 people")


def test_default_capacity_is_the_median_of_the_existing_services():
    inputs = hb.inputs(with_referrals=False)  # dementia: a1 10, a2 5 places
    result = suggest_sites(inputs, category="dementia", k=1)
    assert result.capacity == 7.5
    assert set(result.sites["site_id"]) <= {"A", "B", "C"}  # the areas' origin points are the candidates


def test_clear_errors_gathered_at_once():
    inputs = _five_boxes()
    sites = _sites(FIVE_BOX_SITES)
    with pytest.raises(CoverageMapError) as caught:
        suggest_sites(inputs, category="dementa", community="martians", k=2, candidates=sites)
    text = str(caught.value)
    assert "unknown category 'dementa'" in text and "did you mean 'dementia'" in text
    assert "unknown community 'martians'" in text
    with pytest.raises(CoverageMapError, match="k = 4 is more than the 3 candidate sites inside the region"):
        suggest_sites(inputs, category="dementia", k=4, candidates=sites)
    far = _sites([("far", 90_000)])
    with pytest.raises(CoverageMapError, match="no candidate site lies inside the region"):
        suggest_sites(inputs, category="dementia", k=1, candidates=far)
    with pytest.raises(CoverageMapError, match="no need data for mental_health: its column population"):
        # No need_mental_health column, so the population counts, and nobody lives there.
        suggest_sites(
            Inputs(areas=inputs.areas, assets=inputs.assets,
                   population=inputs.population.assign(population=0.0)),
            category="mental_health", k=1,
        )  # fmt: skip
    with pytest.raises(CoverageMapError, match="no need data for dementia: give a population file"):
        suggest_sites(Inputs(areas=inputs.areas, assets=inputs.assets), category="dementia", k=1)
    with pytest.raises(CoverageMapError, match="k must be a whole number of at least 1"):
        suggest_sites(inputs, category="dementia", k=0, candidates=sites)


def test_candidates_outside_the_region_are_left_out_and_reported():
    sites = _sites([*FIVE_BOX_SITES, ("far", 90_000)])
    result = suggest_sites(_five_boxes(), category="dementia", k=2, candidates=sites, catchment_km=1.2)
    assert [(p.row, p.value, p.fatal) for p in result.problems] == [(4, "far", False)]


def test_a_failing_solver_falls_back_to_greedy_and_says_so(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Model is not solved: Infeasible")

    monkeypatch.setattr(suggest_module, "exact_sites", broken)
    result = suggest_sites(_five_boxes(), category="dementia", k=2, candidates=_sites(FIVE_BOX_SITES),
                           catchment_km=1.2)  # fmt: skip
    assert result.greedy and "the exact solver failed: Model is not solved" in result.solver_note
    assert list(result.sites["site_id"]) == ["S_C", "S_L"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(7.4, "7"), (99.6, "100"), (3273.0, "3,270"), (12_449.0, "12,400"), (float("nan"), "an unknown number of")],
)
def test_people_are_rounded_as_a_sentence_says_them(value, text):
    assert round_people(value) == text
