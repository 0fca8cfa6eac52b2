"""The commissioner's questions: which view answers each, and the answer in one sentence.

A question (:data:`QUESTIONS`) names the view that answers it (level, need, community,
measure, switches and table, as :class:`QuestionView`) and computes its answer from the
published tables (:class:`Answer`: one plain-English sentence and a short ranked list),
e.g. "10 of 68 neighbourhoods have severe dementia gaps; 3 of them are in Cottonport."
The dashboard shows them under "Questions" (:mod:`callbacks.questions`); nothing here
imports dash.

Adding a question is one :class:`Question` in :data:`QUESTIONS`: a key (it goes in the URL),
its text, a ``view`` function choosing the view for a data set (None when the data cannot
answer it) and an ``answer`` function. "Where would a new service help most?" will be one
(key ``suggest``), answering from :mod:`coverage_map.suggest` when scenarios land.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .dataset import Dataset
from .gaps import TIER_LABELS, ranked
from .taxonomy import display_name

ALL = "all"
#: How many units (or organisations) an answer lists.
LIST_LENGTH = 5
#: Singular and plural of each level in a sentence.
LEVEL_WORDS = {
    "area": ("small area", "small areas"),
    "neighbourhood": ("neighbourhood", "neighbourhoods"),
    "borough": ("borough", "boroughs"),
}
#: The reaches whose load no area's map shows: they serve far beyond the area they sit in.
WIDE_REACHES = ("citywide", "borough")


@dataclass(frozen=True)
class QuestionView:
    """The view that answers a question (the dashboard's controls; ``tab`` the table shown under the map)."""

    level: str
    category: str
    community: str = ALL
    metric: str = "tier"
    gaps_only: bool = False
    show_assets: bool = True
    tab: str = "gaps"


@dataclass(frozen=True)
class AnswerItem:
    """One line of an answer's ranked list: a unit (``area_id``) or an organisation (``asset_id``)."""

    item_id: str
    name: str
    detail: str
    #: the unit's tier code (``severe``...), or "" for an organisation
    tier: str = ""
    borough: str = ""


@dataclass(frozen=True)
class Answer:
    """A question's answer: one sentence, and the worst few units or organisations, worst first."""

    sentence: str
    items: tuple[AnswerItem, ...] = ()
    #: what the list holds: ``"units"`` (click to show on the map) or ``"organisations"``
    kind: str = "units"
    #: how many the list was cut from (the sentence counts all of them)
    total: int = 0


@dataclass(frozen=True)
class Question:
    """One question: its key (in the URL), its text, the view that answers it and its answer."""

    key: str
    text: str
    view: Callable[[Dataset], QuestionView | None]
    answer: Callable[[Dataset, QuestionView], Answer] = field(repr=False)
    #: Why the data cannot answer it (shown when ``view`` gives None).
    needs: str = ""


# --------------------------------------------------------------------------- choosing the view


def _level(dataset: Dataset) -> str:
    return "neighbourhood" if "neighbourhood" in dataset.levels else dataset.levels[0]


def _first(options: Sequence[str], available: Sequence[str]) -> str | None:
    return next((option for option in options if option in available), None)


def _need_view(category: str, *, gaps_only: bool = False) -> Callable[[Dataset], QuestionView | None]:
    def view(dataset: Dataset) -> QuestionView | None:
        if category not in dataset.categories:
            return None
        return QuestionView(level=_level(dataset), category=category, gaps_only=gaps_only)

    return view


def _carers_view(dataset: Dataset) -> QuestionView | None:
    """Support for carers for everyone when the directory has the need; else every need's services for carers."""
    if "carers_support" in dataset.categories:
        return QuestionView(level=_level(dataset), category="carers_support", gaps_only=True)
    if "carers" in dataset.communities:
        return QuestionView(level=_level(dataset), category=_worst_category(dataset, "carers"), community="carers",
                            gaps_only=True)  # fmt: skip
    return None


def _bame_view(dataset: Dataset) -> QuestionView | None:
    """BAME communities, for the need where most units have a gap for them (access against their own need)."""
    if "bame" not in dataset.communities:
        return None
    return QuestionView(level=_level(dataset), category=_worst_category(dataset, "bame"), community="bame")


def _worst_category(dataset: Dataset, community: str) -> str:
    """The need with the most severe (then moderate) gaps for ``community`` at the answer's level."""
    level = _level(dataset)
    table = dataset.table(level)
    rows = table[table["community"] == community]
    severe = rows["tier"].eq("severe").groupby(rows["category"]).sum()
    moderate = rows["tier"].eq("moderate").groupby(rows["category"]).sum()
    order = {category: i for i, category in enumerate(dataset.categories)}
    scored = sorted(dataset.categories, key=lambda c: (-int(severe.get(c, 0)), -int(moderate.get(c, 0)), order[c]))
    return scored[0]


def _organisations_view(dataset: Dataset) -> QuestionView | None:
    return QuestionView(level=_level(dataset), category=_first(("mental_health", "dementia"), dataset.categories)
                        or dataset.categories[0], metric="pressure", tab="organisations")  # fmt: skip


# --------------------------------------------------------------------------- answers about units


def _plural(count: int, level: str) -> str:
    one, many = LEVEL_WORDS.get(level, (level, level + "s"))
    return one if count == 1 else many


def _need_words(view: QuestionView) -> str:
    need = display_name(view.category).lower()
    return need if view.community == ALL else f"{need} for {display_name(view.community)}"


def _gaps(dataset: Dataset, view: QuestionView) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The view's rows, its gaps worst first, and each unit's borough name."""
    rows = dataset.rows(view.level, view.category, view.community)
    tiers = rows["tier"].astype("string")
    gaps = ranked(rows[tiers.isin(["severe", "moderate"]).fillna(False).to_numpy()])
    boroughs = dataset.borough_names(view.level) if view.level != "borough" else {}
    return rows, gaps, boroughs


def _in_borough(units: pd.DataFrame, boroughs: dict[str, str]) -> tuple[str, int] | None:
    """The borough holding most of ``units`` and how many (None without boroughs, or with no unit)."""
    names = Counter(boroughs.get(str(unit), "") for unit in units["area_id"])
    names.pop("", None)
    if not names:
        return None
    name, count = sorted(names.items(), key=lambda item: (-item[1], item[0]))[0]
    return name, count


def _share(ratio: object) -> str:
    if ratio is None or pd.isna(ratio):  # type: ignore[call-overload]
        return "access unknown"
    return f"{float(ratio):.0%} of the region's average access"  # type: ignore[arg-type]


def _whole(value: object) -> str:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "unknown"
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def _unit_items(gaps: pd.DataFrame, boroughs: dict[str, str]) -> tuple[AnswerItem, ...]:
    return tuple(
        AnswerItem(
            item_id=str(row.area_id), name=str(row.area_name), tier=str(row.tier),
            borough=boroughs.get(str(row.area_id), ""),
            detail=f"{TIER_LABELS.get(str(row.tier), str(row.tier))}: {_share(row.access_ratio)}, "
                   f"{_whole(row.unmet_need)} people in need unserved",
        )
        for row in gaps.head(LIST_LENGTH).itertuples(index=False)
    )  # fmt: skip


def _not_listed(rows: pd.DataFrame) -> bool:
    """Whether no service of the need is in the directory at all (every unit ``no_data``)."""
    return bool(len(rows)) and bool(rows["tier"].astype("string").fillna("no_data").eq("no_data").all())


def _no_service_sentence(view: QuestionView) -> str:
    return (f"No {_need_words(view)} services are listed in the directory, so gaps cannot be judged "
            "(this is a gap in the directory, not necessarily on the ground).")  # fmt: skip


def answer_gaps(dataset: Dataset, view: QuestionView) -> Answer:
    """How many units have severe (and moderate) gaps in the need, and the borough holding most of them.

    "10 of 68 neighbourhoods have severe dementia gaps; 3 of them are in Cottonport.
    8 more have moderate gaps."
    """
    rows, gaps, boroughs = _gaps(dataset, view)
    if _not_listed(rows):
        return Answer(_no_service_sentence(view))
    units, need = len(rows), _need_words(view)
    severe = gaps[gaps["tier"] == "severe"]
    moderate = len(gaps) - len(severe)
    if len(severe):
        sentence = f"{len(severe):,} of {units:,} {_plural(units, view.level)} have severe {need} gaps"
        where = _in_borough(severe, boroughs)
        if where is not None:
            sentence += f"; {where[1]:,} of them {'is' if where[1] == 1 else 'are'} in {where[0]}"
        sentence += "."
        if moderate:
            sentence += f" {moderate:,} more {'has a' if moderate == 1 else 'have'} moderate gap{_s(moderate)}."
    elif moderate:
        sentence = (f"No {_plural(1, view.level)} has a severe {need} gap; {moderate:,} of {units:,} have "
                    f"moderate gap{_s(moderate)}.")  # fmt: skip
    else:
        sentence = f"None of the {units:,} {_plural(units, view.level)} has a {need} gap."
    return Answer(sentence, _unit_items(gaps, boroughs), total=len(gaps))


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def answer_nothing(dataset: Dataset, view: QuestionView) -> Answer:
    """Where nothing of the need reaches at all (no access), and how many units have gaps.

    "In 6 of 68 neighbourhoods no carers support reaches at all; 12 have a severe or moderate gap,
    most of them (4) in Dunmere."
    """
    rows, gaps, boroughs = _gaps(dataset, view)
    if _not_listed(rows):
        return Answer(_no_service_sentence(view))
    units, need = len(rows), _need_words(view)
    nothing = int(_reasons(rows).map(lambda reasons: "no_provision" in reasons).sum())
    sentence = (f"In {nothing:,} of {units:,} {_plural(units, view.level)} no {need} service reaches at all"
                if nothing else f"Some {need} service reaches every {_plural(1, view.level)}")  # fmt: skip
    if len(gaps):
        sentence += f"; {len(gaps):,} {'has' if len(gaps) == 1 else 'have'} a severe or moderate gap"
        where = _in_borough(gaps, boroughs)
        if where is not None and len(gaps) > 1:
            sentence += f", most of them ({where[1]:,}) in {where[0]}"
    else:
        sentence += ", and none has a severe or moderate gap"
    return Answer(sentence + ".", _unit_items(gaps, boroughs), total=len(gaps))


def _reasons(rows: pd.DataFrame) -> pd.Series:
    return rows["gap_reasons"].fillna("").astype(str).str.split(";")


def answer_community(dataset: Dataset, view: QuestionView) -> Answer:
    """Gaps for a community against its own need, for the need where it has most, and where nothing made
    for it reaches.

    "BAME communities have severe or moderate gaps in dementia, against their own need, in 25 of 68
    neighbourhoods (12 severe; the need with most gaps for them). In 47 only services open to everyone
    reach: none made for them."
    """
    rows, gaps, boroughs = _gaps(dataset, view)
    if _not_listed(rows):
        return Answer(_no_service_sentence(view))
    units, who = len(rows), display_name(view.community)
    need = display_name(view.category).lower()
    severe = int((gaps["tier"] == "severe").sum())
    if len(gaps):
        sentence = (f"{who} have severe or moderate gaps in {need}, against their own need, in "
                    f"{len(gaps):,} of {units:,} {_plural(units, view.level)} ({severe:,} severe; the need with "
                    "most gaps for them).")  # fmt: skip
    else:
        sentence = f"{who} have no severe or moderate gap in {need}, against their own need."
    unspecific = int(_reasons(rows).map(lambda reasons: "no_specific_provision" in reasons).sum())
    if unspecific:
        sentence += f" In {unspecific:,} only services open to everyone reach: none made for them."
    return Answer(sentence, _unit_items(gaps, boroughs), total=len(gaps))


def answer_unmet(dataset: Dataset, view: QuestionView) -> Answer:
    """How many people in need the gaps leave without the region's average access, and where most of them are.

    "7 of 68 neighbourhoods have mental health gaps (3 severe): 2,400 people in need there lack the access
    the region's average would give, 900 of them in Dunmere."
    """
    rows, gaps, boroughs = _gaps(dataset, view)
    if _not_listed(rows):
        return Answer(_no_service_sentence(view))
    units, need = len(rows), _need_words(view)
    if not len(gaps):
        return Answer(f"None of the {units:,} {_plural(units, view.level)} has a {need} gap.")
    unmet = pd.to_numeric(gaps["unmet_need"], errors="coerce").fillna(0.0)
    severe = int((gaps["tier"] == "severe").sum())
    sentence = (f"{len(gaps):,} of {units:,} {_plural(units, view.level)} have {need} gaps ({severe:,} severe): "
                f"{unmet.sum():,.0f} people in need there lack the access the region's average would give")  # fmt: skip
    if boroughs:
        by_borough = unmet.groupby(gaps["area_id"].astype(str).map(boroughs).fillna("").to_numpy()).sum()
        by_borough = by_borough[by_borough.index != ""]
        if len(by_borough) > 1:
            top = by_borough.sort_values(ascending=False, kind="stable")
            sentence += f", {top.iloc[0]:,.0f} of them in {top.index[0]}"
    return Answer(sentence + ".", _unit_items(gaps, boroughs), total=len(gaps))


# --------------------------------------------------------------------------- answer about organisations


def answer_organisations(dataset: Dataset, view: QuestionView) -> Answer:
    """Organisations over capacity, worst first, and the share of referrals city-wide and borough-wide
    services take: load that no area's map shows, because it comes from everywhere they reach.

    Published figures only (suppressed counts count as unknown).
    """
    table = dataset.assets_table()
    total = len(table)
    pressure = pd.to_numeric(table["pressure"], errors="coerce")
    over = table[table["over_capacity"].fillna(False).astype(bool).to_numpy()]
    over = over.assign(_pressure=pressure[over.index]).sort_values("_pressure", ascending=False, kind="stable")
    if len(over):
        worst = over.iloc[0]
        sentence = (f"{len(over):,} of {total:,} organisations {'is' if len(over) == 1 else 'are'} over capacity; "
                    f"the most pressed, "
                    f"{worst['name']}, receives {float(worst['_pressure']):.1f} times the referrals it has places "
                    "for.")  # fmt: skip
    else:
        sentence = f"None of the {total:,} organisations is over capacity on the referrals given."
    referrals = pd.to_numeric(table["referrals"], errors="coerce").fillna(0.0)
    wide = table["reach"].astype(str).isin(WIDE_REACHES).to_numpy()
    if referrals.sum() > 0 and wide.any():
        share = referrals[wide].sum() / referrals.sum()
        sentence += (f" The {int(wide.sum()):,} city-wide and borough-wide services take {share:.0%} of all "
                     "referrals: load that no area's map shows.")  # fmt: skip
    items = [_organisation_item(row, "over capacity") for row in over.head(LIST_LENGTH).itertuples(index=False)]
    hidden = table[wide].assign(_referrals=referrals[wide]).sort_values("_referrals", ascending=False, kind="stable")
    hidden = hidden[~hidden["asset_id"].isin(over["asset_id"])]
    items += [_organisation_item(row, "city-wide load" if row.reach == "citywide" else "borough-wide load")
              for row in hidden.head(max(LIST_LENGTH - len(items), 2)).itertuples(index=False)]  # fmt: skip
    return Answer(sentence, tuple(items), kind="organisations", total=len(over))


def _organisation_item(row: Any, why: str) -> AnswerItem:
    """One organisation of the answer: why it is listed, its pressure and its referrals a month (``row``: a
    row of the published assets table, from ``itertuples``)."""
    parts = [why]
    if not pd.isna(row.pressure):
        parts.append(f"{float(row.pressure):.1f} × capacity")
    if not pd.isna(row.referrals_per_month):
        parts.append(f"{float(row.referrals_per_month):,.0f} referrals a month")
    borough = "" if pd.isna(row.borough_name) else str(row.borough_name)
    return AnswerItem(item_id=str(row.asset_id), name=str(row.name), detail=", ".join(parts), borough=borough)


# --------------------------------------------------------------------------- the questions


QUESTIONS: tuple[Question, ...] = (
    Question("dementia", "Which neighbourhoods have no dementia support?", _need_view("dementia", gaps_only=True),
             answer_gaps, needs="a dementia need in the taxonomy"),
    Question("carers", "Where is there nothing for carers?", _carers_view, answer_nothing,
             needs="a carers support need or a carers community"),
    Question("bame", "Where is BAME provision lacking relative to the BAME population?", _bame_view,
             answer_community, needs="a pop_bame column in the population file"),
    Question("organisations", "Which organisations are swamped, and which city-wide ones carry hidden load?",
             _organisations_view, answer_organisations),
    Question("mental_health", "Where does mental-health need go unmet?", _need_view("mental_health"), answer_unmet,
             needs="a mental health need in the taxonomy"),
)  # fmt: skip
#: Each question by its key.
BY_KEY = {question.key: question for question in QUESTIONS}


def question_view(dataset: Dataset, key: str) -> QuestionView | None:
    """The view answering question ``key`` on ``dataset`` (None: unknown key, or the data cannot answer it)."""
    question = BY_KEY.get(key)
    return None if question is None else question.view(dataset)


def answer(dataset: Dataset, key: str) -> Answer | None:
    """Question ``key``'s answer on ``dataset`` (None: unknown key, or the data cannot answer it)."""
    question = BY_KEY.get(key)
    view = None if question is None else question.view(dataset)
    return None if question is None or view is None else question.answer(dataset, view)
