"""The commissioner's questions: the view each sets and its answer, on hand-built tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from coverage_map import questions
from coverage_map.questions import QUESTIONS, Answer, QuestionView, answer, question_view

BOROUGH_OF = {"N1": "Ashby", "N2": "Ashby", "N3": "Ashby", "N4": "Brook", "N5": "Brook", "N6": "Brook"}


def unit_rows(category: str, community: str, tiers: list[str], **columns: list[object]) -> pd.DataFrame:
    n = len(tiers)
    frame = pd.DataFrame(
        {
            "area_id": [f"N{i + 1}" for i in range(n)],
            "area_name": [f"Place {i + 1}" for i in range(n)],
            "category": category,
            "community": community,
            "tier": tiers,
            "access_ratio": columns.pop("access_ratio", [0.2] * n),
            "unmet_need": columns.pop("unmet_need", [100.0] * n),
            "gap_reasons": columns.pop("gap_reasons", [""] * n),
        }
    )
    frame["gap"] = frame["tier"].isin(["severe", "moderate"])
    return frame


@dataclass
class FakeDataset:
    """Just what the questions read of a :class:`coverage_map.dataset.Dataset`."""

    frames: list[pd.DataFrame]
    assets: pd.DataFrame = field(default_factory=pd.DataFrame)
    levels: tuple[str, ...] = ("area", "neighbourhood", "borough")
    communities: tuple[str, ...] = ("all", "carers", "bame")

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f["category"].iloc[0] for f in self.frames))

    def table(self, level: str) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True)

    def rows(self, level: str, category: str, community: str, *, borough: str | None = None) -> pd.DataFrame:
        table = self.table(level)
        return table[(table["category"] == category) & (table["community"] == community)].reset_index(drop=True)

    def borough_names(self, level: str) -> dict[str, str]:
        return dict(BOROUGH_OF)

    def assets_table(self) -> pd.DataFrame:
        return self.assets


def test_dementia_counts_severe_gaps_and_names_the_borough_holding_most() -> None:
    # severe: N1, N2 (Ashby), N4 (Brook); moderate: N5; watch N3; none N6
    dataset = FakeDataset([unit_rows("dementia", "all", ["severe", "severe", "watch", "severe", "moderate", "none"],
                                     unmet_need=[10.0, 50.0, 0.0, 30.0, 80.0, 0.0])])  # fmt: skip
    view = question_view(dataset, "dementia")  # type: ignore[arg-type]
    assert view == QuestionView(level="neighbourhood", category="dementia", gaps_only=True)
    found = answer(dataset, "dementia")  # type: ignore[arg-type]
    assert found is not None
    assert found.sentence == (
        "3 of 6 neighbourhoods have severe dementia gaps; 2 of them are in Ashby. 1 more has a moderate gap."
    )
    # severe first, then by unmet need: N2 (50), N4 (30), N1 (10), then the moderate N5
    assert [item.item_id for item in found.items] == ["N2", "N4", "N1", "N5"]
    assert found.items[0].detail == "Severe gap: 20% of the region's average access, 50 people in need unserved"
    assert found.items[0].borough == "Ashby" and found.total == 4


def test_no_services_in_the_directory_is_never_called_a_gap() -> None:
    dataset = FakeDataset([unit_rows("dementia", "all", ["no_data"] * 4)])
    found = answer(dataset, "dementia")  # type: ignore[arg-type]
    assert found == Answer(
        "No dementia services are listed in the directory, so gaps cannot be judged (this is a gap in the "
        "directory, not necessarily on the ground)."
    )


def test_carers_counts_units_nothing_reaches() -> None:
    dataset = FakeDataset([unit_rows("carers_support", "all", ["severe", "moderate", "none", "moderate"],
                                     gap_reasons=["no_provision;far", "no_provision", "", "low_access"])])  # fmt: skip
    found = answer(dataset, "carers")  # type: ignore[arg-type]
    assert found is not None
    assert found.sentence == (
        "In 2 of 4 neighbourhoods no carers support service reaches at all; 3 have a severe or moderate gap, "
        "most of them (2) in Ashby."
    )


def test_bame_picks_the_need_with_most_gaps_for_them() -> None:
    dataset = FakeDataset(
        [
            unit_rows("dementia", "bame", ["severe", "none", "none"]),
            unit_rows("housing", "bame", ["severe", "severe", "moderate"],
                      gap_reasons=["no_specific_provision", "", "no_specific_provision"]),
            unit_rows("housing", "all", ["none", "none", "none"]),
        ]
    )  # fmt: skip
    view = question_view(dataset, "bame")  # type: ignore[arg-type]
    assert view is not None and (view.category, view.community) == ("housing", "bame")
    found = answer(dataset, "bame")  # type: ignore[arg-type]
    assert found is not None
    assert found.sentence == (
        "BAME communities have severe or moderate gaps in housing, against their own need, in 3 of 3 "
        "neighbourhoods (2 severe; the need with most gaps for them). In 2 only services open to everyone "
        "reach: none made for them."
    )


def test_bame_question_needs_a_bame_population() -> None:
    dataset = FakeDataset([unit_rows("dementia", "all", ["none"])], communities=("all",))
    assert question_view(dataset, "bame") is None  # type: ignore[arg-type]
    assert answer(dataset, "bame") is None  # type: ignore[arg-type]


def test_mental_health_sums_unmet_need_by_borough() -> None:
    dataset = FakeDataset([unit_rows("mental_health", "all", ["severe", "moderate", "none", "severe"],
                                     unmet_need=[100.0, 40.0, 0.0, 120.0])])  # fmt: skip
    found = answer(dataset, "mental_health")  # type: ignore[arg-type]
    assert found is not None
    # Ashby: 100 + 40 = 140; Brook: 120
    assert found.sentence == (
        "3 of 4 neighbourhoods have mental health gaps (2 severe): 260 people in need there lack the access "
        "the region's average would give, 140 of them in Ashby."
    )


def test_organisations_over_capacity_and_hidden_city_wide_load() -> None:
    assets = pd.DataFrame(
        {
            "asset_id": ["A", "B", "C", "D"],
            "name": ["Alpha", "Beta", "Gamma", "Delta"],
            "borough_name": ["Ashby", "Brook", "Ashby", None],
            "reach": ["local", "local", "citywide", "borough"],
            "referrals": [100.0, 300.0, 500.0, None],  # D suppressed
            "referrals_per_month": [10.0, 30.0, 50.0, None],
            "pressure": [2.0, 3.0, 0.5, None],
            "over_capacity": [True, True, False, False],
        }
    )
    dataset = FakeDataset([unit_rows("mental_health", "all", ["none"])], assets=assets)
    view = question_view(dataset, "organisations")  # type: ignore[arg-type]
    assert view is not None and (view.tab, view.metric) == ("organisations", "pressure")
    found = answer(dataset, "organisations")  # type: ignore[arg-type]
    assert found is not None and found.kind == "organisations"
    # wide: C (500) and D (unknown) of 900 published referrals -> 56%
    assert found.sentence == (
        "2 of 4 organisations are over capacity; the most pressed, Beta, receives 3.0 times the referrals it has "
        "places for. The 2 city-wide and borough-wide services take 56% of all referrals: load that no area's map "
        "shows."
    )
    assert [item.item_id for item in found.items] == ["B", "A", "C", "D"]
    assert found.items[0].detail == "over capacity, 3.0 × capacity, 30 referrals a month"
    assert found.items[2].detail.startswith("city-wide load") and found.items[3].detail == "borough-wide load"


def test_every_question_answers_on_the_demo(demo_dataset: object) -> None:
    for question in QUESTIONS:
        view = question.view(demo_dataset)  # type: ignore[arg-type]
        assert view is not None, question.key
        found = question.answer(demo_dataset, view)  # type: ignore[arg-type]
        assert found.sentence and len(found.items) <= questions.LIST_LENGTH
    # the dementia answer's count is the table's own: severe units at neighbourhood level
    rows = demo_dataset.rows("neighbourhood", "dementia", "all")  # type: ignore[attr-defined]
    severe = int((rows["tier"] == "severe").sum())
    found = answer(demo_dataset, "dementia")  # type: ignore[arg-type]
    assert found is not None and found.sentence.startswith(f"{severe} of {len(rows)} neighbourhoods")


def test_unknown_question() -> None:
    assert question_view(FakeDataset([unit_rows("dementia", "all", ["none"])]), "nope") is None  # type: ignore[arg-type]
    assert len({q.key for q in QUESTIONS}) == len(QUESTIONS) == 5


@pytest.fixture(scope="module")
def demo_dataset() -> object:
    from coverage_map.dataset import Dataset

    return Dataset.demo()
