"""Gi* (batched, checked against esda column by column), Benjamini-Hochberg, EB rates and Moran's I.

Geometry: a 6 x 5 grid of 1 km boxes plus one box far away (an island with no neighbours).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse

from coverage_map.config import METRIC_CRS
from coverage_map.significance import (
    GI_PERMUTATIONS,
    GI_SEED,
    cold_spots,
    fdr_q_values,
    gi_star,
    morans_i,
    queen_weights,
    smoothed_rates,
)

X0, Y0 = 380_000.0, 390_000.0
COLS, ROWS = 6, 5


def grid(*, island: bool = True) -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(X0 + 1000 * c, Y0 + 1000 * r, X0 + 1000 * (c + 1), Y0 + 1000 * (r + 1))
        for r in range(ROWS)
        for c in range(COLS)
    ]
    ids = [f"g{r}{c}" for r in range(ROWS) for c in range(COLS)]
    if island:
        boxes.append(shapely.box(X0 + 50_000, Y0, X0 + 51_000, Y0 + 1000))
        ids.append("island")
    return gpd.GeoDataFrame({"area_id": ids}, geometry=boxes, crs=METRIC_CRS)


def columns(n: int) -> np.ndarray:
    """Random, integer, constant, mostly-zero, tiny and one-decimal (many exact ties) variables."""
    rng = np.random.default_rng(11)
    return np.column_stack(
        [
            rng.random(n),
            rng.integers(0, 5, n).astype(float),
            np.full(n, 0.3),
            np.where(rng.random(n) < 0.7, 0.0, 0.1),
            rng.random(n) * 1e-4,
            np.round(rng.random(n), 1),
        ]
    )


def test_queen_weights_report_islands_without_warning():
    contiguity = queen_weights(grid())
    assert contiguity.islands == ("island",)
    assert contiguity.weights.id_order[0] == "g00"
    # Queen: a corner box has 3 neighbours (edge, edge, corner); an inner box has 8.
    assert contiguity.weights.cardinalities["g00"] == 3
    assert contiguity.weights.cardinalities["g11"] == 8
    assert queen_weights(grid(island=False)).islands == ()


# esda.G_Local cannot pass `alternative` on to its randomisation, which then warns that the default
# will change (DeprecationWarning); and building Gi*'s self-weighted W re-warns that our grid has an
# island. Both come from esda/libpysal, for the reference side of this comparison only.
@pytest.mark.filterwarnings("ignore:The alternative hypothesis for conditional randomization:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected:UserWarning")
def test_batched_gi_star_reproduces_esda_column_by_column():
    """z-scores are esda's; p-values are the left-to-right reference's, and esda's wherever no tie decides."""
    from esda.getisord import G_Local

    units = grid()
    values = columns(len(units))
    batched = gi_star(values, queen_weights(units).weights, permutations=GI_PERMUTATIONS, seed=GI_SEED)
    reference = left_to_right_counts(values, units)
    for k in range(values.shape[1]):
        weights = queen_weights(units).weights  # esda changes the W it is given
        with np.errstate(invalid="ignore", divide="ignore"):  # the constant column has no variance
            theirs = G_Local(
                values[:, k], weights, transform="B", star=True, permutations=GI_PERMUTATIONS, seed=GI_SEED, n_jobs=1
            )
        np.testing.assert_allclose(batched.z[:, k], theirs.Zs, rtol=1e-12, atol=0, equal_nan=True)
        np.testing.assert_array_equal(batched.p_sim[:, k], reference.p_sim[:, k])
        # esda keeps p_sim in float32; where it differs, a simulated statistic tied with the observed one.
        differs = batched.p_sim[:, k].astype(np.float32) != theirs.p_sim
        assert not (differs & ~reference.tied[:, k]).any(), f"column {k}: differs from esda without a tie"
    assert np.isnan(batched.z[:, 2]).all()  # constant: no z-score
    # Even random values tie when a permutation draws a unit's own neighbours again (a corner unit has 3):
    # ties are rare in the random columns and everywhere in the mostly-zero one.
    assert 0 < reference.tied[:, 0].sum() < len(units) // 4
    assert reference.tied[:, 3].sum() > len(units) // 2


def test_gi_star_does_not_touch_the_global_random_state():
    state = np.random.get_state()[1].copy()
    gi_star(columns(31)[:, :2], queen_weights(grid()).weights, permutations=19)
    assert np.array_equal(np.random.get_state()[1], state)


def test_benjamini_hochberg_by_hand():
    """p = [0.01, 0.04, 0.03, 0.20, NaN]; m = 4 tests (NaN is not a test). Sorted: 0.01, 0.03, 0.04, 0.20.

    p_(r) m / r = 0.04, 0.06, 0.0533.., 0.20; running minimum from the largest down:
    0.20 -> 0.20; 0.0533 -> 0.0533; 0.06 -> 0.0533; 0.04 -> 0.04.
    """
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    q = fdr_q_values(p)
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.20, np.nan])
    from scipy.stats import false_discovery_control

    np.testing.assert_allclose(q[:4], false_discovery_control(p[:4], method="bh"))
    many = np.random.default_rng(3).random(200)
    np.testing.assert_allclose(fdr_q_values(many), false_discovery_control(many))
    order = np.argsort(many)
    assert (np.diff(fdr_q_values(many)[order]) >= 0).all()  # monotone in p
    assert np.isnan(fdr_q_values(np.array([np.nan]))).all()


def long_table(units: gpd.GeoDataFrame, maps: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"area_id": units["area_id"], "category": c, "community": g, "access_ratio": v})
            for (c, g), v in maps.items()
        ],
        ignore_index=True,
    )


def test_cold_spots_find_a_low_corner_and_skip_islands_and_flat_maps():
    """A 3 x 3 block of very low access in one corner of an otherwise high map is a cold spot;
    the flat map and a map with an unknown value are not tested; the island never is."""
    units = grid()
    rows = np.array([int(a[1]) if a != "island" else -1 for a in units["area_id"]])
    cols = np.array([int(a[2]) if a != "island" else -1 for a in units["area_id"]])
    corner = (rows >= 0) & (rows < 3) & (cols < 3)
    rng = np.random.default_rng(5)
    low_corner = np.where(corner, 0.05 + 0.01 * rng.random(len(units)), 1.5 + 0.1 * rng.random(len(units)))
    unknown = low_corner.copy()
    unknown[4] = np.nan
    table = long_table(
        units,
        {("dementia", "all"): low_corner, ("dementia", "bame"): np.ones(len(units)), ("housing", "all"): unknown},
    )
    result = cold_spots(table, units)
    assert result.islands == ("island",)
    frame = result.table
    dementia = frame[(frame["category"] == "dementia") & (frame["community"] == "all")].set_index("area_id")
    assert dementia.loc["g00", "cold_spot"] and dementia.loc["g11", "cold_spot"]
    assert not dementia.loc[~corner[: len(units)] & (units["area_id"] != "island").to_numpy()].cold_spot.any()
    assert np.isnan(dementia.loc["island", ["gi_z", "p_value", "q_value"]].to_numpy(dtype=float)).all()
    assert not dementia.loc["island", "cold_spot"]
    for untested in (("dementia", "bame"), ("housing", "all")):
        rows_of = frame[(frame["category"] == untested[0]) & (frame["community"] == untested[1])]
        assert rows_of["q_value"].isna().all() and not rows_of["cold_spot"].any()

    # Same as running the pieces by hand on the one map: Gi* of the 30 grid boxes and the
    # island, then BH over the 30 tested boxes.
    weights = queen_weights(units).weights
    direct = gi_star(low_corner, weights)
    p = direct.p_sim[:, 0].copy()
    p[-1] = np.nan
    np.testing.assert_allclose(dementia["q_value"].to_numpy(), fdr_q_values(p), equal_nan=True)
    np.testing.assert_allclose(dementia["gi_z"].to_numpy()[:-1], direct.z[:-1, 0])


def test_empirical_bayes_by_hand():
    """e = [1, 10, 0], b = [10, 100, 50] (and a fourth area with no people: NaN).

    overall rate m = 11 / 160; rates r = [0.1, 0.1, 0];
    variance s2 = sum b (r - m)^2 / sum b - m / mean(b), mean(b) = 160 / 3;
    weight_i = s2 / (s2 + m / b_i); smoothed = weight r + (1 - weight) m.
    """
    e = np.array([1.0, 10.0, 0.0])
    b = np.array([10.0, 100.0, 50.0])
    m = 11 / 160
    r = e / b
    s2 = (b * (r - m) ** 2).sum() / 160 - m / (160 / 3)
    weight = s2 / (s2 + m / b)
    expected = weight * r + (1 - weight) * m
    np.testing.assert_allclose(smoothed_rates(np.r_[e, 2.0], np.r_[b, 0.0]), np.r_[expected, np.nan])


def test_morans_i_of_a_checkerboard_is_negative_and_repeatable(capsys):
    units = grid(island=False)
    board = np.array([(int(a[1]) + int(a[2])) % 2 for a in units["area_id"]], dtype=float)
    weights = queen_weights(units).weights
    state = np.random.get_state()[1].copy()
    first = morans_i(board, weights, permutations=99)
    second = morans_i(board, weights, permutations=99)
    assert first == second
    assert np.array_equal(np.random.get_state()[1], state)
    assert first.expected == pytest.approx(-1 / 29)
    # Rook neighbours differ, diagonal ones match: under queen weights I is below 0 but not -1.
    assert -1 < first.i < 0
    assert weights.transform == "O"  # the caller's weights are left as they were
    # With an island: no warning and no libpysal print about it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_island = morans_i(np.r_[board, 1.0], queen_weights(grid()).weights, permutations=0)
    assert np.isfinite(with_island.i) and np.isnan(with_island.p_sim)
    assert capsys.readouterr().out == ""


def test_a_level_of_islands_only_is_never_tested():
    """Three separate boxes (e.g. a level with one borough per island): nothing to cluster with."""
    units = gpd.GeoDataFrame(
        {"area_id": list("abc")},
        geometry=[shapely.box(X0 + 10_000 * i, Y0, X0 + 10_000 * i + 1000, Y0 + 1000) for i in range(3)],
        crs=METRIC_CRS,
    )
    result = cold_spots(long_table(units, {("dementia", "all"): np.array([0.1, 1.0, 2.0])}), units)
    assert result.islands == ("a", "b", "c")
    assert result.table["q_value"].isna().all() and not result.table["cold_spot"].any()
    assert (gi_star(np.array([0.1, 1.0, 2.0]), queen_weights(units).weights, permutations=9).p_sim == 0.1).all()


def awkward_units() -> gpd.GeoDataFrame:
    """Shapes where contiguity rules differ: a hole with a unit inside it, a two-part unit, a touch at one
    corner, an edge met without a shared vertex (a T-junction) and a -0.0 coordinate."""
    ring = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(3, 3), (7, 3), (7, 7), (3, 7)]]
    )  # "a" with a hole
    inside = shapely.box(3, 3, 7, 7)  # "b" fills the hole: shares the hole's vertices
    two_parts = shapely.MultiPolygon([shapely.box(10, 0, 12, 2), shapely.box(20, 0, 22, 2)])  # "c" touches a
    corner = shapely.box(22, 2, 24, 4)  # "d": one shared corner with c's second part
    t_junction = shapely.Polygon([(0, 10), (5, 10), (5, 12), (0, 12)])  # "e": shares (0, 10) with a
    on_edge = shapely.Polygon([(5.5, 10), (6, 10), (6, 12), (5.5, 12)])  # "f": on a's top edge, no shared vertex
    negative_zero = shapely.Polygon([(-0.0, 0.0), (0.0, -2.0), (-2.0, -2.0), (-2.0, 0.0)])  # "g": (-0, 0) = a's (0, 0)
    far = shapely.box(100, 100, 101, 101)  # "h": island
    geometries = [ring, inside, two_parts, corner, t_junction, on_edge, negative_zero, far]
    return gpd.GeoDataFrame({"area_id": list("abcdefgh")}, geometry=geometries, crs=METRIC_CRS)


@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected:UserWarning")
def test_queen_contiguity_is_libpysals_on_awkward_shapes():
    from libpysal.weights import Queen

    units = awkward_units()
    ours = queen_weights(units)
    theirs = Queen.from_dataframe(units, ids="area_id")
    assert list(ours.ids) == list(theirs.id_order)
    assert (ours.neighbours != (theirs.sparse != 0).astype(float)).nnz == 0
    assert set(ours.islands) == set(theirs.islands) == {"f", "h"}
    # By hand: a-b (hole), a-c (edge x = 10), c-d (corner), a-e (vertex (0, 10)), a-g (vertex (0, 0)).
    pairs = {tuple(sorted((ours.ids[i], ours.ids[j]))) for i, j in zip(*ours.neighbours.nonzero(), strict=True)}
    assert pairs == {("a", "b"), ("a", "c"), ("c", "d"), ("a", "e"), ("a", "g")}
    assert ours.weights.cardinalities == theirs.cardinalities


def test_gi_star_takes_a_contiguity_or_a_matrix_and_repeats_equal_columns():
    units = grid()
    contiguity = queen_weights(units)
    values = columns(len(units))
    with_w = gi_star(values, contiguity.weights, permutations=99)
    for weights in (contiguity, contiguity.neighbours):
        other = gi_star(values, weights, permutations=99)
        np.testing.assert_array_equal(other.p_sim, with_w.p_sim)
        np.testing.assert_array_equal(other.z, with_w.z)
    doubled = gi_star(values[:, [0, 1, 0, 3, 1]], contiguity, permutations=99)
    np.testing.assert_array_equal(doubled.p_sim, with_w.p_sim[:, [0, 1, 0, 3, 1]])
    np.testing.assert_array_equal(doubled.z, with_w.z[:, [0, 1, 0, 3, 1]])


def lattice(columns_: int, rows: int, islands: int) -> gpd.GeoDataFrame:
    """A ``columns_ x rows`` grid of 1 km boxes and ``islands`` boxes far away from it and each other."""
    boxes = [
        shapely.box(X0 + 1000 * c, Y0 + 1000 * r, X0 + 1000 * (c + 1), Y0 + 1000 * (r + 1))
        for r in range(rows)
        for c in range(columns_)
    ]
    boxes += [shapely.box(X0 + 90_000 + 5000 * k, Y0, X0 + 91_000 + 5000 * k, Y0 + 1000) for k in range(islands)]
    ids = [f"u{k:04d}" for k in range(len(boxes))]
    return gpd.GeoDataFrame({"area_id": ids}, geometry=boxes, crs=METRIC_CRS)


def esda_counts(values: np.ndarray, units: gpd.GeoDataFrame) -> np.ndarray:
    """esda's ``p_sim`` of each column, one ``G_Local`` run per column (as an analyst would run it)."""
    from esda.getisord import G_Local

    result = np.empty(values.shape, dtype=np.float32)
    for k in range(values.shape[1]):
        weights = queen_weights(units).weights  # esda changes the W it is given
        with np.errstate(invalid="ignore", divide="ignore"):
            reference = G_Local(
                values[:, k], weights, transform="B", star=True, permutations=GI_PERMUTATIONS, seed=GI_SEED, n_jobs=1
            )
        result[:, k] = reference.p_sim
    return result


@dataclass(frozen=True)
class Reference:
    p_sim: np.ndarray
    tied: np.ndarray  # units whose count a last-bit tie between a simulated and the observed statistic decides


def left_to_right_counts(values: np.ndarray, units: gpd.GeoDataFrame) -> Reference:
    """Gi*'s pseudo p-values written out plainly, unit by unit: esda's draws and arithmetic, each unit's drawn
    neighbours added one after another (esda adds them in a BLAS product, in an order that depends on the
    processor), and which units have a simulated statistic within a few units of the last place of the observed one.
    """
    contiguity = queen_weights(units)
    neighbours = sparse.csr_matrix(contiguity.neighbours)
    n = len(units)
    cardinality = np.diff(neighbours.indptr)
    most = int(cardinality.max())
    generator = np.random.RandomState(GI_SEED)
    draws = np.array([generator.choice(n - 1, size=most, replace=False) for _ in range(GI_PERMUTATIONS)])
    p_sim = np.empty(values.shape)
    tied = np.zeros(values.shape, dtype=bool)
    for k in range(values.shape[1]):
        y = values[:, k]
        total = y.sum()
        for i in range(n):
            others = np.delete(y, i)
            observed = 0.0
            for j in sorted([i, *neighbours.indices[neighbours.indptr[i] : neighbours.indptr[i + 1]]]):
                observed += y[j]  # the star weights' row, in column order, as a sparse product adds it
            observed /= total
            if cardinality[i] == 0:  # an island: one neighbour of weight 0, self-weight 0
                simulated = (others[draws[:, 0]] * 0.0 + 0.0 * y[i]) / total
            else:
                sums = np.zeros(GI_PERMUTATIONS)
                for j in range(cardinality[i]):
                    sums = sums + others[draws[:, j]]
                simulated = (sums + y[i]) / total
            larger = int(np.count_nonzero(simulated >= observed))
            larger = min(larger, GI_PERMUTATIONS - larger)
            p_sim[i, k] = (larger + 1.0) / (GI_PERMUTATIONS + 1.0)
            tied[i, k] = bool(np.any(np.abs(simulated - observed) <= 16 * np.spacing(abs(observed))))
    return Reference(p_sim=p_sim, tied=tied)


def spy_paths(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the columns each permutation path is given."""
    from coverage_map import significance

    calls = {"bounded": 0, "exact": 0}
    bounded, exact = significance._bounded_permutation_columns, significance._exact_permutation_columns

    def count(name: str, function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        def wrapped(*args: Any, **kwargs: Any) -> np.ndarray:
            calls[name] += args[0].shape[1]
            return function(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(significance, "_bounded_permutation_columns", count("bounded", bounded))
    monkeypatch.setattr(significance, "_exact_permutation_columns", count("exact", exact))
    return calls


@pytest.mark.filterwarnings("ignore:The alternative hypothesis for conditional randomization:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected:UserWarning")
def test_fast_permutation_paths_give_the_reference_p_values_and_esdas_where_no_tie_decides(monkeypatch):
    """Random non-negative values, integers and zeros (many exact ties) and a column with negative values.

    The first three go the running-sum path, the last compares every simulated statistic; every p-value
    must be the plainly written reference's, and esda's (compared as esda's float32, whose 1,000 possible
    values are all distinct) wherever no last-bit tie decides the count.
    """
    units = lattice(14, 11, islands=3)
    n = len(units)
    rng = np.random.default_rng(2026)
    values = np.column_stack(
        [
            rng.gamma(2.0, 3.0, n),  # (a) random, non-negative
            np.where(rng.random(n) < 0.5, 0.0, rng.integers(1, 4, n)).astype(float),  # (b) ties: 0, 1, 2, 3
            np.round(rng.random(n), 1),  # (b) one decimal: ties that are not exact binary fractions
            rng.normal(0.0, 1.0, n),  # (c) negative values
        ]
    )
    calls = spy_paths(monkeypatch)
    batched = gi_star(values, queen_weights(units), permutations=GI_PERMUTATIONS, seed=GI_SEED)
    assert calls["bounded"] == 3 and calls["exact"] == 1
    reference = left_to_right_counts(values, units)
    np.testing.assert_array_equal(batched.p_sim, reference.p_sim)
    assert reference.tied[:, 1].any()  # the ties are there to be resolved
    differs = batched.p_sim.astype(np.float32) != esda_counts(values, units)
    assert not (differs & ~reference.tied).any()


def test_fast_permutation_path_equals_the_exact_one_on_a_larger_lattice():
    """Bounded (running sums) and exact (every statistic compared, checked above) paths agree on 1,000+ units."""
    from coverage_map import significance

    units = lattice(40, 30, islands=4)
    n = len(units)
    rng = np.random.default_rng(7)
    values = np.column_stack(
        [
            rng.random(n),
            rng.integers(0, 3, n).astype(float),
            np.where(rng.random(n) < 0.9, 0.0, 1.0),
            rng.random(n) * 1e-300,  # near the bottom of the floats
            np.round(rng.lognormal(0, 2, n), 2),
        ]
    )
    neighbours = queen_weights(units).neighbours
    star = (neighbours + sparse.identity(n, format="csr")).tocsr()
    total = values.sum(axis=0)
    observed = (star @ values) / total
    cardinality = np.diff(neighbours.indptr)
    generator = np.random.RandomState(GI_SEED)
    permutations, most = 199, int(cardinality.max())
    draws = np.array([generator.choice(n - 1, size=most, replace=False) for _ in range(permutations)])
    flat_order = np.argsort(draws, axis=None, kind="stable")
    starts = np.searchsorted(draws.ravel()[flat_order], np.arange(n + 1))
    shared = significance._Draws(draws=draws, flat_order=flat_order, starts=starts, cardinality=cardinality)
    bounded = significance._bounded_permutation_columns(values, observed, total, shared)
    exact = significance._exact_permutation_columns(values, observed, total, shared)
    np.testing.assert_array_equal(bounded, exact)


def test_text_codes_equal_factorising_the_texts():
    """Each distinct value converted once, codes as ``factorize(column.astype(str))`` (missing values included)."""
    from coverage_map.significance import _text_codes

    for column in (
        pd.Series(["a", "b", pd.NA, "a"], dtype="string"),
        pd.Series([1, "1", None, np.nan, 2.0], dtype=object),
        pd.Series(pd.Categorical(["x", "y", "x"])),
        pd.Series([], dtype="string"),
    ):
        codes, texts = _text_codes(column)
        expected_codes, expected_texts = pd.factorize(column.astype(str))
        np.testing.assert_array_equal(codes, expected_codes)
        assert list(texts) == list(expected_texts)
