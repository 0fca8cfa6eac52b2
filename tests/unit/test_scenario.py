"""Scenarios: proposed services added to the real ones (coverage_map.scenario).

Expected values are worked out by hand on tests/handbuilt.py's three boxes (see the
worked example in docs/method.md for the weights), or by the independent route the issue
names: the same rows appended to the assets file.
"""

from __future__ import annotations

import math

import handbuilt as hb
import numpy as np
import pandas as pd
import pytest

from coverage_map.analysis import analyse, published_assets
from coverage_map.errors import CRSError, ValidationError
from coverage_map.ingest import load_inputs
from coverage_map.joins import prepare
from coverage_map.scenario import (
    apply_scenario,
    load_scenario,
    proposed_assets,
    scenario_table,
    tier_moves,
    with_proposed,
)
from coverage_map.store import WorkspaceError, open_workspace
from coverage_map.taxonomy import Taxonomy

#: Two proposed services: a local dementia café at C's centre, a borough-wide carers service in B.
SCENARIO = pd.DataFrame(
    {
        "asset_id": ["p1", "p2"],
        "name": ["New Memory Café", "New Carers Line"],
        "categories": ["dementia", "carers_support"],
        "communities": ["", "bame"],
        "capacity": ["10", "4"],
        "accepting_referrals": ["true", ""],
        "reach": ["local", "borough"],
        "easting": [hb.X0 + 2500, hb.X0 + 1500],
        "northing": [hb.Y0 + 500, hb.Y0 + 500],
    }
)


def _w(d_km: float, d0_km: float = 3.0) -> float:
    """Dai's truncated Gaussian, by hand."""
    edge = math.exp(-0.5)
    return (math.exp(-0.5 * (d_km / d0_km) ** 2) - edge) / (1 - edge)


@pytest.fixture
def files(tmp_path):
    paths = hb.write_files(tmp_path)
    scenario = tmp_path / "extra.csv"
    SCENARIO.to_csv(scenario, index=False)
    paths["scenario"] = scenario
    return paths


def _inputs(paths, assets=None):
    return load_inputs(
        areas=paths["areas"],
        assets=assets or paths["assets"],
        lookup=paths["lookup"],
        population=paths["population"],
        referrals=paths["referrals"],
    )


@pytest.mark.parametrize("level", ["area", "neighbourhood"])
def test_scenario_equals_the_rows_appended_to_the_assets_file(files, tmp_path, level):
    real = pd.read_csv(files["assets"], dtype=str, keep_default_na=False)
    extra = SCENARIO.copy()
    # The same rows in the assets file's own columns (easting/northing become latitude/longitude there).
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        extra["easting"].to_numpy(), extra["northing"].to_numpy()
    )
    extra = extra.drop(columns=["easting", "northing"]).assign(
        latitude=[f"{v:.10f}" for v in lat], longitude=[f"{v:.10f}" for v in lon]
    )
    appended_path = tmp_path / "appended.csv"
    pd.concat([real, extra], ignore_index=True).fillna("").to_csv(appended_path, index=False)
    scenario_path = tmp_path / "extra_lonlat.csv"
    extra.to_csv(scenario_path, index=False)

    inputs = _inputs(files)
    proposed, problems = load_scenario(scenario_path, inputs.taxonomy)
    assert problems == []
    result = apply_scenario(inputs, proposed, level=level)
    appended = analyse(_inputs(files, assets=appended_path), level=level)

    after, expected = result.after.table, appended.table
    assert list(after["area_id"]) == list(expected["area_id"])
    np.testing.assert_array_equal(after["access_per_10k"].to_numpy(float), expected["access_per_10k"].to_numpy(float))
    np.testing.assert_array_equal(after["access_ratio"].to_numpy(float), expected["access_ratio"].to_numpy(float))
    assert list(after["tier"]) == list(expected["tier"])
    # ... and "before" is the analysis of the real assets alone.
    alone = analyse(inputs, level=level).table
    table = result.table
    np.testing.assert_array_equal(
        table["access_per_10k_before"].to_numpy(float), alone["access_per_10k"].to_numpy(float)
    )
    assert list(table["tier_before"]) == list(alone["tier"])


def test_access_after_a_proposed_cafe_worked_by_hand():
    inputs = hb.inputs()
    cafe = proposed_assets(
        [{"name": "New Memory Café", "category": "dementia", "x": hb.X0 + 2500, "y": hb.Y0 + 500, "capacity": 10}],
        inputs.taxonomy,
    )
    result = apply_scenario(inputs, cafe)
    rows = result.table.set_index(["area_id", "category", "community"])
    # Dementia demand is the population (no need column): A 1,000, B 3,000, C 2,000; origins 1 km apart.
    # a1 (local, 10 places) at A's centre; a2 (borough B1 = A and B, 5 places); the café (10) at C's centre.
    r1 = 10 / (1000 + 3000 * _w(1) + 2000 * _w(2))
    r2 = 5 / 4000
    before_c = _w(2) * r1
    cafe_ratio = 10 / (2000 + 3000 * _w(1) + 1000 * _w(2))
    after_c = before_c + cafe_ratio
    c = rows.loc[("C", "dementia", "all")]
    assert c["access_per_10k_before"] == pytest.approx(10_000 * before_c)
    assert c["access_per_10k"] == pytest.approx(10_000 * after_c)
    assert c["access_ratio_before"] == pytest.approx(before_c / (15 / 6000))  # 0.43: moderate (under half)
    assert c["access_ratio"] == pytest.approx(after_c / (25 / 6000))  # 0.73: watch
    assert rows.loc[("A", "dementia", "all"), "access_per_10k"] == pytest.approx(
        10_000 * (r1 + r2 + _w(2) * cafe_ratio)
    )
    assert (c["tier_before"], c["tier"]) == ("moderate", "watch")
    moves = tier_moves(result, "dementia")
    assert (moves.leave_severe, moves.leave_moderate, moves.enter_severe, moves.enter_gap) == (0, 1, 0, 0)
    assert (moves.need_in_gaps_before, moves.need_in_gaps_after) == (2000.0, 0.0)
    assert moves.need_in_gaps_change == -2000.0


def test_proposed_services_are_labelled_in_the_organisations_table(files):
    inputs = _inputs(files)
    proposed, _ = load_scenario(files["scenario"], inputs.taxonomy)
    result = apply_scenario(inputs, proposed)
    after = published_assets(result.after).set_index("asset_id")
    assert after["proposed"].to_dict() == {"a1": False, "a2": False, "a3": False, "a4": False, "p1": True, "p2": True}
    assert "proposed" not in published_assets(result.before).columns  # the documented columns, unchanged
    assert set(result.proposed["asset_id"]) == {"p1", "p2"}
    assert list(result.proposed["area_id"]) == ["C", "B"]
    # The scenario's own prepared inputs are new; the real ones are untouched.
    assert "proposed" not in result.before.assets.columns
    assert [s.role for s in result.prepared.inputs.sources][-1] == "scenario"


def test_published_scenario_table_has_the_before_columns_beside_their_counterparts(files):
    inputs = _inputs(files)
    proposed, _ = load_scenario(files["scenario"], inputs.taxonomy)
    table = scenario_table(apply_scenario(inputs, proposed))
    columns = list(table.columns)
    for column in ("access_per_10k", "access_ratio", "tier"):
        assert columns[columns.index(column) + 1] == f"{column}_before"


def test_bad_scenario_rows_name_the_scenario_file_and_row(tmp_path):
    bad = SCENARIO.astype(str)
    bad.loc[0, "categories"] = "dementa"
    bad.loc[1, "northing"] = "north"
    path = tmp_path / "what_if.csv"
    bad.to_csv(path, index=False)
    proposed, problems = load_scenario(path, Taxonomy.builtin())
    found = {(p.file, p.row, p.column) for p in problems if p.row is not None}
    assert found == {(str(path), 2, "categories"), (str(path), 3, "northing")}
    assert "did you mean 'dementia'" in next(p.message for p in problems if p.row == 2)
    assert proposed.empty


def test_proposed_services_outside_the_region_or_with_a_taken_id_are_errors():
    inputs = hb.inputs()
    records = [
        {"asset_id": "a1", "category": "dementia", "x": hb.X0 + 500, "y": hb.Y0 + 500},  # a real asset's id
        {"asset_id": "far", "category": "dementia", "x": hb.X0 + 50_000, "y": hb.Y0 + 500},
    ]
    proposed = proposed_assets(records, inputs.taxonomy)
    with pytest.raises(ValidationError) as caught:
        with_proposed(prepare(inputs), proposed)
    problems = {(p.row, p.column) for p in caught.value.problems}
    assert problems == {(1, "asset_id"), (2, "geometry")}


def test_records_are_checked_like_the_assets_file():
    taxonomy = Taxonomy.builtin()
    with pytest.raises(ValidationError) as caught:
        proposed_assets(
            [
                {"category": "dementia", "lon": -2.29, "lat": 53.41, "capacity": -3},
                {"category": "knitting", "lon": -2.29, "lat": 53.41},
                {"category": "dementia"},
            ],
            taxonomy,
        )
    rows = sorted((p.row, p.column) for p in caught.value.problems if p.row is not None)
    assert [row for row, _ in rows] == [1, 2, 3]
    assert rows[0][1] == "capacity" and rows[1][1] == "categories"
    assert all(p.file == "proposed services" for p in caught.value.problems)
    ok = proposed_assets(
        [{"categories": ["dementia", "carers"], "community": "all", "x": hb.X0 + 10, "y": hb.Y0 + 10, "reach": "2km"}],
        taxonomy,
    )
    row = ok.iloc[0]
    assert (row["asset_id"], row["categories"], row["communities"]) == (
        "proposed-1",
        ("dementia", "carers_support"),
        (),
    )
    assert (row["reach"], row["reach_km"], bool(row["proposed"])) == ("radius", 2.0, True)


def test_proposed_services_need_a_crs():
    inputs = hb.inputs()
    proposed = proposed_assets([{"category": "dementia", "x": hb.X0 + 10, "y": hb.Y0 + 10}], inputs.taxonomy)
    with pytest.raises(CRSError):
        with_proposed(prepare(inputs), proposed.set_crs(None, allow_override=True))


def test_the_workspace_refuses_assets_marked_proposed(files, tmp_path):
    marked = pd.read_csv(files["assets"], dtype=str, keep_default_na=False).assign(proposed=["", "no", "yes", ""])
    path = tmp_path / "assets_marked.csv"
    marked.to_csv(path, index=False)
    with open_workspace(tmp_path / "ws.gpkg") as workspace:
        with pytest.raises(WorkspaceError, match=r"marked proposed \(rows 4\).*--scenario"):
            workspace.add("what-if", {"areas": files["areas"], "assets": path})
        assert workspace.list(include_private=True) == []
        added = workspace.add("real", {"areas": files["areas"], "assets": files["assets"]})
        assert added.ref.name == "real"
