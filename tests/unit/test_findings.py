"""Key findings checked against the published table, counted again with plain pandas."""

from __future__ import annotations

import handbuilt
import pandas as pd
import pytest

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.findings import (
    Priority,
    capacity_findings,
    key_findings,
    parse_priorities,
    priority_findings,
    select_view,
)
from coverage_map.outputs.attribution import (
    ATTRIBUTION_ENV,
    DEMO_ATTRIBUTION,
    SUPPRESSION_NOTE,
    credits_for,
    looks_like_ons,
)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_inputs(handbuilt.inputs())


@pytest.fixture(scope="module")
def demo() -> Dataset:
    from coverage_map.config import GEODATA_DIR

    if not (GEODATA_DIR / "areas.geojson").exists():
        pytest.skip("no demo data")
    return Dataset.demo()


def _by_key(findings):
    return {finding.key: finding for finding in findings}


@pytest.mark.parametrize("level", ["area", "neighbourhood"])
@pytest.mark.parametrize(
    ("category", "community"),
    [("dementia", "all"), ("dementia", "bame"), ("mental_health", "all"), ("carers_support", "bame")],
)
def test_priority_findings_match_the_table(dataset, level, category, community):
    table = dataset.table(level)
    rows = table[(table["category"] == category) & (table["community"] == community)]
    threshold = dataset.analysis(level).threshold_km
    # independent route: nobody within reach = a share of zero, or (share unknown) the nearest is too far
    far = [
        row.area_id
        for row in rows.itertuples()
        if (
            row.share_within_km == 0
            if not pd.isna(row.share_within_km)
            else (pd.isna(row.nearest_km) or row.nearest_km > threshold)
        )
    ]
    # tiers counted in the published table
    tiers = rows["tier"].value_counts()
    gaps = rows[rows["tier"].isin(["severe", "moderate"])]
    unmet = [row.area_id for row in rows.itertuples() if "unmet_demand" in str(row.gap_reasons)]

    found = _by_key(priority_findings(dataset, Priority(category, community), level=level))
    assert found["no_provision_within"].count == len(far)
    assert set(found["no_provision_within"].ids) == set(far)
    assert found["no_provision_within"].total == len(rows)
    assert f"{len(far)} of {len(rows)} " in found["no_provision_within"].text
    assert found["gaps"].count == len(gaps)
    assert set(found["gaps"].ids) == set(gaps["area_id"])
    assert found["gaps"].numbers["severe"] == tiers.get("severe", 0)
    assert found["gaps"].numbers["moderate"] == tiers.get("moderate", 0)
    # worst first: severe before moderate, then the larger unmet need
    order = gaps.assign(rank=gaps["tier"].map({"severe": 0, "moderate": 1}), unmet=-gaps["unmet_need"].astype(float))
    assert list(found["gaps"].ids) == order.sort_values(["rank", "unmet", "area_id"])["area_id"].tolist()
    if tiers.get("watch", 0):
        assert found["watch"].count == tiers["watch"]
        assert set(found["watch"].ids) == set(rows.loc[rows["tier"] == "watch", "area_id"])
    else:
        assert "watch" not in found
    if unmet:
        assert found["unmet_demand"].count == len(unmet)
    else:
        assert "unmet_demand" not in found
    need = rows["need"].astype(float).fillna(rows["group_population"].astype(float))
    if len(gaps) and need.sum() > 0:
        people = need[gaps.index].sum()
        assert found["people_in_gaps"].numbers["people"] == pytest.approx(people)
        assert found["people_in_gaps"].numbers["share"] == pytest.approx(people / need.sum())
        assert found["people_in_gaps"].numbers["unmet_need"] == pytest.approx(gaps["unmet_need"].astype(float).sum())
    else:
        assert "people_in_gaps" not in found


def test_hand_worked_dementia_findings(dataset):
    # Small areas: dementia assets sit in A (local) and B (borough-wide, reaching A and B); C has none
    # and its centroid is 1.0 km from a2, so C is inside 2 km: every area has provision within 2 km.
    # C's access is under half the region's average without a significant cluster (three areas are
    # too few to test): a moderate gap, the only one.
    found = _by_key(priority_findings(dataset, Priority("dementia"), level="area"))
    assert found["no_provision_within"].count == 0
    assert found["gaps"].ids == ("C",)
    assert (
        found["gaps"].text == "1 of 3 small areas has a severe or moderate dementia gap (0 severe, 1 moderate): Area C."
    )
    # C: 2,000 of 6,000 people (no need estimate: everybody counts)
    assert found["people_in_gaps"].numbers["share"] == pytest.approx(2000 / 6000)
    assert found["people_in_gaps"].text.startswith("About 2,000 of the 6,000 people (33%) live in that small area")


def test_a_category_missing_from_the_directory_is_said_once(dataset):
    (finding,) = priority_findings(dataset, Priority("housing"), level="neighbourhood")
    assert (finding.key, finding.count, finding.total) == ("not_in_directory", 2, 2)
    assert (
        finding.text
        == "No housing service is listed in the directory, so housing gaps cannot be judged in any of the 2 neighbourhoods."
    )


def test_directory_finding_names_the_categories_no_service_lists(dataset):
    from coverage_map.findings import directory_findings

    # independent route: the categories the organisations list
    listed = {category for categories in dataset.inputs.assets["categories"] for category in categories}
    missing = [c for c in dataset.categories if c not in listed]
    (finding,) = directory_findings(dataset, level="area")
    assert finding.key == "categories_not_in_directory"
    assert (finding.count, finding.total) == (len(missing), len(dataset.categories))
    assert set(finding.ids) == set(missing)
    assert finding.text.startswith(f"{len(missing)} of {len(dataset.categories)} need categories have no service")
    keys = [f.key for f in key_findings(dataset, [Priority("dementia")], level="area")]
    assert keys.index("categories_not_in_directory") == keys.index("over_capacity") - 1


def test_need_estimates_are_people_in_need():
    from dataclasses import replace

    inputs = handbuilt.inputs()
    # need_dementia: 100 in A, 300 in B, 200 in C
    population = inputs.population.assign(
        need_dementia=inputs.population["area_id"].map({"A": 100, "B": 300, "C": 200})
    )
    estimated = Dataset.from_inputs(replace(inputs, population=population))
    table = estimated.table("area")
    rows = table[(table["category"] == "dementia") & (table["community"] == "all")].set_index("area_id")
    assert rows["need"].astype(float).to_dict() == {"A": 100.0, "B": 300.0, "C": 200.0}
    gaps = rows[rows["tier"].isin(["severe", "moderate"])]
    found = _by_key(priority_findings(estimated, Priority("dementia"), level="area"))
    if len(gaps):
        people = gaps["need"].astype(float).sum()
        assert found["people_in_gaps"].numbers["people"] == pytest.approx(people)
        assert f"of the 600 people in need of dementia support ({people / 600:.0%})" in found["people_in_gaps"].text


def test_borough_with_most_gaps_is_named(demo):
    level = "neighbourhood"
    table = demo.table(level)
    for category in ("dementia", "mental_health", "carers_support"):
        rows = table[(table["category"] == category) & (table["community"] == "all")]
        gaps = rows[rows["tier"].isin(["severe", "moderate"])]
        found = _by_key(priority_findings(demo, Priority(category), level=level))
        assert found["gaps"].count == len(gaps)
        if len(gaps) < 2:
            continue
        # independent route: each neighbourhood's borough from the lookup, counted with pandas
        lookup = demo.inputs.lookup.drop_duplicates("neighbourhood_id").set_index("neighbourhood_id")
        boroughs = gaps["area_id"].map(lookup["borough_name"]).value_counts()
        top = boroughs.max()
        name = sorted(boroughs[boroughs == top].index)[0]
        assert found["gaps"].numbers["borough_count"] == top
        in_text = f"all are in {name}" if top == len(gaps) else f"; {top} are in {name}."
        assert in_text in found["gaps"].text


def test_capacity_finding_counts_over_capacity_organisations(dataset):
    assets = dataset.assets_table()
    stated = assets[assets["capacity"].notna() & (assets["capacity"] > 0)]
    over = assets[assets["over_capacity"]]
    (finding,) = capacity_findings(dataset)
    assert (finding.count, finding.total) == (len(over), len(stated))
    assert finding.text.startswith(f"{len(over)} of {len(stated)} organisations")


def test_borough_filter_limits_rows_and_findings(dataset):
    view = select_view(dataset, level="area", category="dementia", borough="borough two")
    assert view["area_id"].tolist() == ["C"]
    findings = key_findings(dataset, [Priority("dementia")], level="area", borough="B2")
    assert _by_key(findings)["gaps"].total == 1
    with pytest.raises(CoverageMapError, match="unknown borough"):
        select_view(dataset, level="area", category="dementia", borough="Atlantis")


def test_parse_priorities(dataset):
    assert parse_priorities("Dementia, carers/bame", dataset) == [
        Priority("dementia"),
        Priority("carers_support", "bame"),
    ]
    # defaults drop what the data cannot support (the hand-built data has no carers population)
    assert Priority("carers_support", "carers") not in parse_priorities(None, dataset)
    with pytest.raises(CoverageMapError) as error:
        parse_priorities("nonsense,dementia/martians", dataset)
    assert "nonsense" in str(error.value) and "martians" in str(error.value)


def test_attribution_rules(dataset):
    assert looks_like_ons(["E01000001", "E01000002", "X"])
    assert looks_like_ons(["E02001234", "W01000005"])
    assert looks_like_ons(["E08000003"])
    assert not looks_like_ons(["A", "B", "C"])
    assert not looks_like_ons(["E1234567"])
    plain = credits_for(dataset, environ={})
    assert plain.data_date == "referrals Jan 2026 to Feb 2026"  # months: a day would date one referral
    assert not any("Crown copyright" in line for line in plain.attribution)
    told = credits_for(dataset, environ={ATTRIBUTION_ENV: "Boundaries © Example Council"})
    assert told.attribution[0] == "Boundaries © Example Council"
    assert "Boundaries © Example Council" in told.source_line()
    assert SUPPRESSION_NOTE.startswith("Referral counts of 1–7 are suppressed and others rounded to the nearest 5")


def test_ons_codes_and_demo_get_their_attribution():
    from dataclasses import replace

    inputs = handbuilt.inputs()
    codes = {"A": "E01000001", "B": "E01000002", "C": "E01000003"}
    areas = inputs.areas.assign(area_id=inputs.areas["area_id"].map(codes))
    lookup = inputs.lookup.assign(area_id=inputs.lookup["area_id"].map(codes))
    population = inputs.population.assign(area_id=inputs.population["area_id"].map(codes))
    referrals = inputs.referrals.assign(origin_area_id=inputs.referrals["origin_area_id"].map(codes))
    ons = Dataset.from_inputs(replace(inputs, areas=areas, lookup=lookup, population=population, referrals=referrals))
    lines = credits_for(ons, environ={}).attribution
    assert any(line.endswith("Contains OS data © Crown copyright and database right 2026") for line in lines)
    demo = Dataset.from_inputs(inputs, synthetic=True)
    assert credits_for(demo, environ={}).attribution[0] == DEMO_ATTRIBUTION


# --------------------------------------------------------------------------- directory freshness


def _dated(last_checked: list[object]) -> Dataset:
    from dataclasses import replace

    inputs = handbuilt.inputs()
    return Dataset.from_inputs(replace(inputs, assets=inputs.assets.assign(last_checked=last_checked)))


def test_freshness_finding_counts_organisations_last_verified_over_a_year_ago():
    from coverage_map.findings import freshness_findings

    # judged at 2026-06-30: a1 (2025-06-29) and a3 (2020-01-01) are over 12 months old; a2 is exactly
    # 12 months (not stale); a4 has no date.
    dataset = _dated(["2025-06-29", "2025-06-30", "2020-01-01", ""])
    (finding,) = freshness_findings(dataset, today="2026-06-30")
    assert finding.key == "stale_directory"
    assert (finding.count, finding.total, set(finding.ids)) == (2, 4, {"a1", "a3"})
    assert finding.numbers == {"unknown": 1.0, "months": 12.0}
    assert finding.text.startswith(
        "2 of 4 organisations were last verified over 12 months ago (1 more has no verification date): "
    )
    # One borough: B2 holds only a3.
    (b2,) = freshness_findings(dataset, today="2026-06-30", borough="B2")
    assert (b2.count, b2.total, b2.ids) == (1, 1, ("a3",))
    # In the report's findings, after the capacity one; none without dates.
    keys = [f.key for f in key_findings(dataset, [Priority("dementia")], level="area", today="2026-06-30")]
    assert keys[-2:] == ["over_capacity", "stale_directory"]
    assert freshness_findings(Dataset.from_inputs(handbuilt.inputs()), today="2026-06-30") == []


def test_stale_assets_is_importable_from_both_modules():
    from coverage_map import freshness
    from coverage_map.ingest import oruk

    assert freshness.stale_assets is oruk.stale_assets
