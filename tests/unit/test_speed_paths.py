"""The vectorised paths give exactly what the plain pandas code they replaced gave.

Each test builds a small frame by hand (awkward values included) and compares the fast
path with a straightforward pandas reference written out here: the CSV writer with
``DataFrame.to_csv`` after per-cell neutralising, secondary suppression with the
groupby loop, gap ranks with ``groupby().rank()``, the sort check with ``sort_values``.
"""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage_map.analysis import _sorted
from coverage_map.gaps import find_gaps
from coverage_map.joins import points_in_areas
from coverage_map.outputs.tables import _csv_columns, _flatten_sequences, neutralise_formula, write_any
from coverage_map.suppress import _secondary_suppress_by_label, secondary_suppress

HOSTILE = ["=1+2", "+44 161", "-cmd|' /C calc'!A0", "@SUM(A1)", "\tTAB", "\rCR", "-1.5", "+3", "1e5", "a=b"]


def _pandas_csv(frame: pd.DataFrame) -> bytes:
    """The writer before vectorising: every text cell through neutralise_formula, then to_csv."""
    table = frame.copy()
    for column in table.columns:
        dtype = table[column].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            table[column] = table[column].map(neutralise_formula, na_action="ignore")
    buffer = io.BytesIO()
    table.to_csv(buffer, index=False, encoding="utf-8", lineterminator="\r\n")
    return buffer.getvalue()


def _written(frame: pd.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "out.csv"
    write_any(frame, path)
    return path.read_bytes()


def _awkward_frame() -> pd.DataFrame:
    n = 14
    text = [*HOSTILE, 'say "hi", ok', "two\r\nlines", "naïve ✓", ""]
    return pd.DataFrame(
        {
            "string": pd.array([*text[:-1], None], dtype="string"),
            "str": pd.Series(text, dtype="str").where(np.arange(n) % 5 != 1),
            "object": pd.Series([*text[:-3], None, np.nan, pd.NA], dtype=object),
            "float": [0.1, -0.0, 0.0, 1e16, 1e-5, 1e-4, np.nan, np.inf, -np.inf, 2.5, 40.0, 1 / 3, 5e-324, 123.456],
            "Float64": pd.array([1.0, None, 0.1, -0.0, 1e22, 2.675, None, 7.0, 0.3, 1e-7, 9.99, 1.0, 0.0, 5.5]),
            "Int64": pd.array([1, None, -3, 0, 2**40, 5, 5, None, 8, 9, 10, 11, 12, 13], dtype="Int64"),
            "int": np.arange(n, dtype=np.int64) - 5,
            "bool": np.arange(n) % 3 == 0,
            "boolean": pd.array([True, False, None] * 4 + [True, None], dtype="boolean"),
            "tuples": [("a", "b"), ("=x",), (), ("c",)] * 3 + [("d", "e"), ()],
        }
    )


def test_csv_is_byte_identical_to_pandas_on_every_handled_type(tmp_path) -> None:
    frame = _awkward_frame()
    assert _csv_columns(_flatten_sequences(frame)) is not None  # the vectorised writer, not the fallback
    expected = frame.assign(tuples=frame["tuples"].map(lambda value: ";".join(value)))
    assert _written(frame, tmp_path) == _pandas_csv(expected)


def test_csv_neutralises_formulas_in_every_text_column_and_leaves_the_rest(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "name": pd.array(HOSTILE, dtype="string"),
            "note": pd.Series(HOSTILE[::-1], dtype=object).where(np.arange(10) != 2),
            "change": np.linspace(-2, 2, 10),
            "count": pd.array([-1, None, *range(8)], dtype="Int64"),
        }
    )
    with io.StringIO(_written(frame, tmp_path).decode("utf-8"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == [neutralise_formula(value) for value in HOSTILE]
    assert rows[2]["note"] == ""  # missing stays empty
    assert [row["note"] for row in rows if row["note"]] == [
        neutralise_formula(value) for i, value in enumerate(HOSTILE[::-1]) if i != 2
    ]
    assert rows[0]["change"] == "-2.0" and rows[1]["count"] == "" and rows[0]["count"] == "-1"
    assert rows[0]["name"] == "'=1+2" and rows[6]["name"] == "-1.5"  # a number written as text is not a formula


@pytest.mark.parametrize(
    "frame",
    [
        # Mixed objects (numbers and text, a float subclass): pandas' own path.
        pd.DataFrame({"mixed": [1, "=2", 2.5, np.float64(0.1), None], "n": range(5)}),
        pd.DataFrame({"when": pd.to_datetime(["2026-01-01", None, "2026-03-01"]), "name": ["=a", "b", None]}),
        pd.DataFrame({"kind": pd.Categorical(["=a", "b", "=a"]), "n": [1, 2, 3]}),
        pd.DataFrame({"only": pd.array(["", None, "=x"], dtype="string")}),  # one column: empty rows are quoted
        pd.DataFrame({"a": pd.array([], dtype="string"), "b": np.array([], dtype=float)}),
        pd.DataFrame({"x": np.array([1.5, 2.5], dtype=np.float32), "y": ["=1", "2"]}),
    ],
)
def test_csv_of_other_types_matches_pandas(frame: pd.DataFrame, tmp_path) -> None:
    assert _written(frame, tmp_path) == _pandas_csv(frame)
    if len(frame) and frame.shape[1] > 1:
        assert _csv_columns(frame) is None  # written by pandas itself


def test_csv_floats_of_every_size_match_pandas(tmp_path) -> None:
    rng = np.random.default_rng(7)
    numbers = rng.standard_normal(600) * 10.0 ** rng.integers(-12, 22, 600)
    numbers[::50] = np.round(numbers[::50], 2)
    frame = pd.DataFrame({"plain": numbers, "nullable": pd.array(numbers[::-1], dtype="Float64"), "name": "x"})
    frame.loc[::7, "nullable"] = None
    assert _written(frame, tmp_path) == _pandas_csv(frame)


def test_csv_of_many_rows_spans_chunks(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coverage_map.outputs.tables as io_module

    monkeypatch.setattr(io_module, "_CSV_CHUNK_ROWS", 7)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "id": pd.array([f"E{n:08d}" for n in rng.integers(0, 30, 100)], dtype="string"),
            "text": pd.array(rng.choice(HOSTILE, 100), dtype="str"),
            "rate": np.round(rng.random(100) * 100, 2),
        }
    )
    assert _written(frame, tmp_path) == _pandas_csv(frame)


def test_csv_of_a_geodataframe_drops_the_geometry(tmp_path) -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["=a", "b"], "n": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs="EPSG:27700"
    )
    assert _written(frame, tmp_path) == b"name,n\r\n'=a,1\r\nb,2\r\n"


# --------------------------------------------------------------------------- secondary suppression


def test_secondary_suppression_on_a_hand_built_table() -> None:
    frame = pd.DataFrame(
        {
            "parent": ["N1", "N1", "N1", "N2", "N2", "N2", "N3", "N3", None, None],
            "category": ["a"] * 10,
            "count": [3, 20, 12, 2, 5, 30, 4, 0, 6, 9],
        }
    )
    primary = frame["count"].between(1, 7)
    hidden = secondary_suppress(frame["count"], primary, [frame["parent"], frame["category"]])
    # N1: 3 alone is hidden, so the smallest other non-zero cell (12) goes too; N2 already hides two;
    # N3: the other cell is 0 (nothing to hide); the missing parent is a group of its own: 6 hidden, then 9.
    assert hidden.tolist() == [True, False, True, True, True, False, True, False, True, True]
    assert hidden.index.equals(frame.index) and hidden.dtype == bool


def test_secondary_suppression_ties_go_to_the_first_cell() -> None:
    counts = pd.Series([5, 10, 10, 10], index=[10, 11, 12, 13])
    hidden = secondary_suppress(counts, counts.between(1, 7), pd.Series("A", index=counts.index))
    assert hidden.tolist() == [True, True, False, False]


@pytest.mark.parametrize("seed", range(5))
def test_secondary_suppression_matches_the_groupby_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    counts = pd.Series(rng.choice([0, 0, 1, 3, 7, 8, 9, 15, 40], n), index=rng.permutation(n) + 1000, name="referrals")
    parent = pd.Series(rng.choice(["N1", "N2", "N3", None], n), index=counts.index, dtype="string")
    category = pd.Series(rng.choice(["a", "b"], n), index=counts.index)
    primary = counts.between(1, 7).rename("referrals_suppressed")
    fast = secondary_suppress(counts, primary, [parent, category])
    slow = _secondary_suppress_by_label(counts.astype(float), primary.copy(), [parent, category])
    pd.testing.assert_series_equal(fast, slow)


def test_secondary_suppression_with_a_repeated_label_keeps_label_semantics() -> None:
    counts = pd.Series([3, 20, 12], index=[0, 1, 1])
    hidden = secondary_suppress(counts, counts.between(1, 7), pd.Series("A", index=counts.index))
    assert hidden.tolist() == [True, True, True]  # label 1 names both other cells


# --------------------------------------------------------------------------- gaps


def test_find_gaps_leaves_its_input_alone() -> None:
    table = pd.DataFrame(
        {
            "area_id": ["u1", "u2"], "level": "area", "category": "a", "community": "all",
            "group_population": [100.0, 200.0], "need": [100.0, 200.0],
            "assets_reaching": [0, 2], "provision_per_10k": [0.0, 100.0], "nearest_km": [3.0, 0.5],
            "share_within_km": [0.0, 1.0], "referrals": [4, 0], "pressure": [np.nan, 0.0],
            "access_per_10k": [0.0, 5.0], "access_ratio": [0.0, 1.5], "specific_access_per_10k": np.nan,
            "provision_exists": True, "specific_exists": False, "cold_spot": [False, False],
        }
    )  # fmt: skip
    before = table.copy()
    result = find_gaps(table, threshold_km=2.0)
    pd.testing.assert_frame_equal(table, before)
    assert result["gap_reasons"].tolist() == ["no_provision;far;low_access;unmet_demand", ""]
    assert result["tier"].tolist() == ["moderate", "none"]
    assert str(result["gap_reasons"].dtype) == "string"


# --------------------------------------------------------------------------- sorting and joins


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_sorted_matches_a_stable_sort(order: str) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "area_id": pd.array(rng.choice(["E2", "E10", "E1", None], 200), dtype="string"),
            "category": pd.array(rng.choice(["b", "a"], 200), dtype="string"),
            "community": pd.array(rng.choice(["all", "carers"], 200), dtype="string"),
            "n": np.arange(200),
        }
    )
    keys = ["area_id", "category", "community"]
    if order == "sorted":
        frame = frame.sort_values(keys, kind="stable")
    pd.testing.assert_frame_equal(_sorted(frame, keys), frame.sort_values(keys, kind="stable").reset_index(drop=True))


def test_points_in_areas_gives_text_ids_and_missing_outside() -> None:
    areas = gpd.GeoDataFrame(
        {"area_id": ["B", "A"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs="EPSG:27700"
    )
    points = gpd.GeoSeries(
        [shapely.Point(5, 5), shapely.Point(10, 5), shapely.Point(50, 50), None], index=[7, 8, 9, 10], crs="EPSG:27700"
    )
    located = points_in_areas(points, areas)
    assert str(located.dtype) == "string" and located.index.tolist() == [7, 8, 9, 10]
    assert located.tolist() == ["B", "A", pd.NA, pd.NA]  # on the shared edge: the smallest id
