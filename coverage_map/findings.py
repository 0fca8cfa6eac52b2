"""Key findings in plain English, computed from the published tables.

Each :class:`Finding` carries its sentence *and* the numbers behind it (count, total, the
units or organisations counted), so a report can print the sentence and a test can check
the numbers against the table worked out another way.

A gap is a unit whose tier (gap method 2, :mod:`coverage_map.gaps`) is severe or moderate;
units are listed worst first by :func:`coverage_map.gaps.ranked` (tier, then unmet need).

Findings only use published figures (:meth:`Dataset.table` and :meth:`Dataset.assets_table`):
they count units and organisations and sum need and populations, and never print a referral count.

Also here: choosing the rows a finding or a map describes (:func:`select_view`), by level,
category, community and optionally one borough (:func:`resolve_borough`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from .dataset import Dataset
from .equity import subject_for
from .errors import CoverageMapError
from .freshness import STALE_MONTHS, asset_freshness, summarise
from .gaps import ranked
from .metrics import ALL
from .taxonomy import display_name

#: The tiers that make a unit a gap.
GAP_TIERS = ("severe", "moderate")
#: Report priorities when none are given: ``category/community`` pairs.
DEFAULT_PRIORITIES = ("dementia", "carers_support/carers", "mental_health/bame")

LEVEL_WORDS = {"area": ("small area", "small areas"), "neighbourhood": ("neighbourhood", "neighbourhoods"),
               "borough": ("borough", "boroughs")}  # fmt: skip


@dataclass(frozen=True)
class Priority:
    """One category × community the report gives a map, findings and a ranked table."""

    category: str
    community: str = ALL

    @property
    def label(self) -> str:
        """``Dementia`` or ``Carers support for carers``."""
        name = display_name(self.category)
        return name if self.community == ALL else f"{name} for {in_sentence(display_name(self.community))}"

    @property
    def slug(self) -> str:
        return self.category if self.community == ALL else f"{self.category}--{self.community}"


@dataclass(frozen=True)
class Finding:
    """One plain-English finding and the numbers behind it.

    Attributes
    ----------
    key
        What kind of finding: ``not_in_directory``, ``no_provision_within``, ``gaps``,
        ``watch``, ``people_in_gaps``, ``unmet_demand``, ``categories_not_in_directory``,
        ``over_capacity`` or ``stale_directory``.
    text
        The sentence, ready to print (escape it before putting it in HTML).
    count, total
        "``count`` of ``total``" units or organisations.
    category, community, level
        What was counted (``None`` for findings about organisations).
    ids
        The units' ``area_id`` or organisations' ``asset_id`` counted, worst first.
    numbers
        Any other figure the sentence quotes (``severe``, ``moderate``, ``people``, ``share``,
        ``unmet_need``, ``threshold_km``...).
    """

    key: str
    text: str
    count: int
    total: int
    category: str | None = None
    community: str | None = None
    level: str | None = None
    ids: tuple[str, ...] = ()
    numbers: Mapping[str, float] = field(default_factory=dict)


def in_sentence(name: str) -> str:
    """A display name as it reads mid-sentence: ``Carers support`` -> ``carers support``, ``BAME`` stays."""
    first = name.partition(" ")[0]
    if len(first) > 1 and first.isupper():
        return name
    return name[:1].lower() + name[1:]


def parse_priorities(specs: Sequence[str] | str | None, dataset: Dataset) -> list[Priority]:
    """Parse ``category[/community]`` priorities, checking every one before raising once.

    With ``specs=None`` the :data:`DEFAULT_PRIORITIES` are used, leaving out any whose
    category or community the data set does not have.
    """
    taxonomy = dataset.inputs.taxonomy
    defaults = specs is None
    if isinstance(specs, str):
        specs = [part for part in specs.split(",") if part.strip()]
    wanted = list(DEFAULT_PRIORITIES if specs is None else specs)
    priorities: list[Priority] = []
    problems: list[str] = []
    for spec in wanted:
        category_text, _, community_text = spec.strip().partition("/")
        category = taxonomy.categories.resolve(category_text)
        community = ALL
        if community_text.strip() and community_text.strip().lower() not in ("all", "everyone"):
            community = taxonomy.communities.resolve(community_text) or ""
        if category is None or category not in dataset.categories:
            problems.append(f"unknown category '{category_text}' in priority '{spec}'")
        elif community not in dataset.communities:
            known = ", ".join(dataset.communities)
            problems.append(f"no population for community '{community_text}' in priority '{spec}' (have: {known})")
        else:
            priorities.append(Priority(category, community))
    if problems and not defaults:
        raise CoverageMapError("; ".join(problems))
    return list(dict.fromkeys(priorities))


def resolve_borough(dataset: Dataset, borough: str | None) -> tuple[str, str] | None:
    """``(borough_id, borough_name)`` for a borough given by id or name (any case), or ``None``."""
    if borough is None or not str(borough).strip():
        return None
    boroughs = dataset.boroughs
    wanted = str(borough).strip().casefold()
    for borough_id, borough_name in zip(boroughs["borough_id"], boroughs["borough_name"], strict=True):
        if wanted in (str(borough_id).casefold(), str(borough_name).casefold()):
            return str(borough_id), str(borough_name)
    names = ", ".join(boroughs["borough_name"].astype(str))
    raise CoverageMapError(f"unknown borough '{borough}'; choose one of: {names}")


def select_view(
    dataset: Dataset, *, level: str, category: str, community: str = ALL, borough: str | None = None
) -> pd.DataFrame:
    """Published rows for one level × category × community, optionally inside one borough."""
    table = dataset.table(level)
    problems = []
    if category not in dataset.categories:
        problems.append(f"unknown category '{category}' (choose from {', '.join(dataset.categories)})")
    if community not in dataset.communities:
        problems.append(f"unknown community '{community}' (choose from {', '.join(dataset.communities)})")
    if problems:
        raise CoverageMapError("; ".join(problems))
    view = table[(table["category"] == category) & (table["community"] == community)]
    chosen = resolve_borough(dataset, borough)
    if chosen is not None:
        inside = dataset.borough_of(level)
        inside = inside[inside == chosen[0]].index
        view = view[view["area_id"].isin(inside)]
    return view.reset_index(drop=True)


def priority_findings(
    dataset: Dataset, priority: Priority, *, level: str = "neighbourhood", borough: str | None = None
) -> list[Finding]:
    """Findings for one priority, from its tiers (see :mod:`coverage_map.gaps`).

    In order: ``not_in_directory`` (alone, when no service of the category is listed at all),
    ``no_provision_within``, ``gaps`` (severe and moderate units, the borough holding most,
    the worst by :func:`~coverage_map.gaps.ranked`), ``watch``, ``people_in_gaps`` (people in
    need living in gap units, and the unmet need) and ``unmet_demand``.
    """
    view = select_view(dataset, level=level, category=priority.category, community=priority.community, borough=borough)
    threshold = dataset.analysis(level).threshold_km
    one, many = LEVEL_WORDS.get(level, (level, f"{level}s"))
    total = len(view)
    what = in_sentence(display_name(priority.category))
    for_group = "" if priority.community == ALL else f" for {in_sentence(display_name(priority.community))}"
    common: dict[str, Any] = {
        "category": priority.category,
        "community": priority.community,
        "level": level,
        "total": total,
    }
    if total == 0:
        return []
    tier = view["tier"].astype("string").fillna("")
    if (tier == "no_data").all():
        return [
            Finding(
                key="not_in_directory",
                text=f"No {what} service{for_group} is listed in the directory, so {what} gaps cannot be judged "
                f"in any of the {total} {many}.",
                count=total,
                ids=tuple(view["area_id"].astype(str)),
                **common,
            )
        ]

    findings: list[Finding] = []
    nobody_near = _nobody_near(view, threshold)
    far = ranked(view[nobody_near])
    findings.append(
        Finding(
            key="no_provision_within",
            text=f"{len(far)} of {total} {many} {'has' if len(far) == 1 else 'have'} no {what} provision{for_group} "
            f"within {threshold:g} km.",
            count=len(far),
            ids=tuple(far["area_id"].astype(str)),
            numbers={"threshold_km": threshold},
            **common,
        )
    )

    gaps = ranked(view[tier.isin(GAP_TIERS).to_numpy()])
    counts = {name: int((tier == name).sum()) for name in ("severe", "moderate", "watch")}
    findings.append(_gaps_finding(dataset, gaps, counts, common, words=(what, for_group, many), borough=borough))
    if counts["watch"]:
        thresholds = dataset.analysis(level).method.thresholds
        watch = ranked(view[(tier == "watch").to_numpy()])
        word = one if counts["watch"] == 1 else many
        findings.append(
            Finding(
                key="watch",
                text=f"{counts['watch']} {word} {'is' if counts['watch'] == 1 else 'are'} to watch for "
                f"{what}{for_group}: access {thresholds.severe_below:.0%}–{thresholds.moderate_below:.0%} of the "
                "region's average, or another warning sign.",
                count=counts["watch"],
                ids=tuple(watch["area_id"].astype(str)),
                **common,
            )
        )

    people = _people_in_gaps(dataset, view, gaps, common, priority=priority, one=one, many=many)
    if people is not None:
        findings.append(people)

    unmet = ranked(view[view["gap_reasons"].fillna("").str.contains("unmet_demand", regex=False)])
    if len(unmet):
        word = one if len(unmet) == 1 else many
        findings.append(
            Finding(
                key="unmet_demand",
                text=f"People are referred for {what}{for_group} from {len(unmet)} {word} that no "
                f"{what} provision{for_group} reaches.",
                count=len(unmet),
                ids=tuple(unmet["area_id"].astype(str)),
                **common,
            )
        )
    return findings


def _gaps_finding(
    dataset: Dataset,
    gaps: pd.DataFrame,
    counts: Mapping[str, int],
    common: Mapping[str, Any],
    *,
    words: tuple[str, str, str],
    borough: str | None,
) -> Finding:
    """``7 of 68 neighbourhoods have severe or moderate dementia gaps (3 severe, 4 moderate); 4 are in X. ...``"""
    what, for_group, many = words
    level, total = str(common["level"]), int(common["total"])
    count = len(gaps)
    if count == 0:
        text = f"None of the {total} {many} has a severe or moderate {what} gap{for_group}."
    else:
        has = "has a severe or moderate" if count == 1 else "have severe or moderate"
        text = f"{count} of {total} {many} {has} {what} gap{'' if count == 1 else 's'}{for_group}"
        text += f" ({counts['severe']} severe, {counts['moderate']} moderate)"
    numbers: dict[str, float] = {"severe": counts["severe"], "moderate": counts["moderate"], "watch": counts["watch"]}
    most = _borough_with_most(dataset, gaps, level=level) if borough is None and count > 1 else None
    if most is not None:
        name, in_it = most
        numbers["borough_count"] = in_it
        text += f"; all are in {name}" if in_it == count else f"; {in_it} are in {name}"
    worst = [str(name) for name in gaps["area_name"].head(3)]
    if count == 1:
        text += f": {worst[0]}."
    elif count:
        text += f". The worst {'are' if len(worst) > 1 else 'is'} {_and_list(worst)}."
    else:
        text = text.removesuffix(".") + "."
    return Finding(key="gaps", text=text, count=count, ids=tuple(gaps["area_id"].astype(str)), numbers=numbers,
                   **common)  # fmt: skip


def _borough_with_most(dataset: Dataset, gaps: pd.DataFrame, *, level: str) -> tuple[str, int] | None:
    """``(borough name, gap units in it)`` for the borough holding most gaps (first by name on a tie)."""
    names = dataset.borough_names(level)
    if not names:
        return None
    counts = gaps["area_id"].astype(str).map(names).dropna().value_counts()
    if counts.empty:
        return None
    top = int(counts.max())
    return sorted(str(name) for name in counts[counts == top].index)[0], top


def _people_in_gaps(
    dataset: Dataset,
    view: pd.DataFrame,
    gaps: pd.DataFrame,
    common: Mapping[str, Any],
    *,
    priority: Priority,
    one: str,
    many: str,
) -> Finding | None:
    """People in need living in gap units (``need``, else the group's population) and the unmet need there."""
    population = dataset.inputs.population
    people_total = float(_need(view).sum())
    if population is None or people_total <= 0 or not len(gaps):
        return None  # (without a population file every area counts as one unit of need: no people to count)
    people = float(_need(gaps).sum())
    unmet = float(pd.to_numeric(gaps["unmet_need"], errors="coerce").fillna(0).sum())
    share = people / people_total
    group = in_sentence(display_name(priority.community))
    if f"need_{priority.category}" in population.columns:
        who = f"people in need of {subject_for(priority.category)}"
        who += "" if priority.community == ALL else f" for {group}"
    else:  # without a need estimate, need is the group's population
        who = "people" if priority.community == ALL else f"people in the {group} group"
    text = f"About {_round_people(people):,} of the {_round_people(people_total):,} {who} ({share:.0%})"
    text += f" live in that {one}" if len(gaps) == 1 else f" live in those {many}"
    text += (
        f"; about {_round_people(unmet):,} of them lack the access the region's average would give."
        if unmet > 0
        else "."
    )
    return Finding(
        key="people_in_gaps",
        text=text,
        count=len(gaps),
        ids=tuple(gaps["area_id"].astype(str)),
        numbers={"people": people, "people_total": people_total, "share": share, "unmet_need": unmet},
        **common,
    )


def directory_findings(dataset: Dataset, *, level: str = "neighbourhood") -> list[Finding]:
    """The need categories with no service listed anywhere in the directory (their tier is ``no_data``).

    Gaps in them cannot be judged: the directory, not the provision, is missing.
    """
    table = dataset.table(level)
    rows = table[table["community"] == ALL]
    listed = rows["tier"].astype("string").fillna("") != "no_data"
    missing = [c for c in dataset.categories if not listed[(rows["category"] == c).to_numpy()].any()]
    total = len(dataset.categories)
    if not missing:
        return []
    names = [in_sentence(display_name(c)) for c in missing]
    verb = "has" if len(missing) == 1 else "have"
    text = (
        f"{len(missing)} of {total} need categories {verb} no service listed in the directory at all "
        f"({_and_list(names)}): gaps in them cannot be judged until the directory covers them."
    )
    return [Finding(key="categories_not_in_directory", text=text, count=len(missing), total=total, level=level,
                    ids=tuple(missing))]  # fmt: skip


def _need(rows: pd.DataFrame) -> pd.Series:
    """People in need per row: ``need`` where known, else the group's population (0 when neither is)."""
    need = pd.to_numeric(rows["need"], errors="coerce").astype(float)
    group = pd.to_numeric(rows["group_population"], errors="coerce").astype(float)
    return need.fillna(group).fillna(0.0)


def capacity_findings(dataset: Dataset, *, borough: str | None = None) -> list[Finding]:
    """How many organisations are over capacity (more referrals a month than places)."""
    assets = organisations(dataset, borough=borough)
    with_capacity = assets[assets["capacity"].notna() & (assets["capacity"] > 0)]
    over = assets[assets["over_capacity"]]
    names = [str(name) for name in over["name"].head(3)]
    verb = "is" if len(over) == 1 else "are"
    text = (
        f"{len(over):,} of {len(with_capacity):,} organisations that state a capacity {verb} over capacity "
        "(more referrals a month than places)"
    )
    text += f", including {_and_list(names)}." if names else "."
    return [
        Finding(
            key="over_capacity",
            text=text,
            count=len(over),
            total=len(with_capacity),
            ids=tuple(over["asset_id"].astype(str)),
        )
    ]


def freshness_findings(
    dataset: Dataset, *, today: date | str | None = None, borough: str | None = None, months: int = STALE_MONTHS
) -> list[Finding]:
    """How many organisations were last verified over ``months`` months before ``today``.

    Tells real gaps from data gaps: provision nobody has checked for a year may be gone,
    and a service missing from an old directory makes a gap that is not real. Empty when
    the assets carry no ``last_checked`` column.
    """
    flags = asset_freshness(dataset.inputs.assets, today=today or date.today(), months=months)
    if flags is None:
        return []
    assets = organisations(dataset, borough=borough)
    counted = summarise(flags, assets["asset_id"].astype(str), months=months)
    assert counted is not None
    if counted.total == 0:
        return []
    stale_ids = flags.loc[flags["stale"] & flags["asset_id"].isin(assets["asset_id"].astype(str)), "asset_id"]
    text = counted.sentence("organisations").removesuffix(".")
    text += ": their provision may have changed, so some gaps (and some cover) may reflect the directory, not reality."
    return [Finding(key="stale_directory", text=text, count=counted.stale, total=counted.total,
                    ids=tuple(stale_ids.astype(str)),
                    numbers={"unknown": float(counted.unknown), "months": float(months)})]  # fmt: skip


def key_findings(
    dataset: Dataset,
    priorities: Sequence[Priority],
    *,
    level: str = "neighbourhood",
    borough: str | None = None,
    today: date | str | None = None,
) -> list[Finding]:
    """Every finding for the report: each priority's, the categories missing from the directory, then the
    organisations' (capacity, freshness).

    ``today`` dates the freshness finding (default: the day it runs).
    """
    findings: list[Finding] = []
    for priority in priorities:
        findings.extend(priority_findings(dataset, priority, level=level, borough=borough))
    findings.extend(directory_findings(dataset, level=level))
    findings.extend(capacity_findings(dataset, borough=borough))
    findings.extend(freshness_findings(dataset, today=today, borough=borough))
    return findings


def organisations(dataset: Dataset, *, borough: str | None = None) -> pd.DataFrame:
    """The published organisations table, optionally inside one borough."""
    assets = dataset.assets_table()
    chosen = resolve_borough(dataset, borough)
    if chosen is not None:
        assets = assets[assets["borough_id"] == chosen[0]]
    return assets.reset_index(drop=True)


def _nobody_near(view: pd.DataFrame, threshold_km: float) -> pd.Series:
    """Nobody in the unit lives within the threshold of provision (distance decides when share is unknown)."""
    share = view["share_within_km"]
    nearest = view["nearest_km"]
    by_distance = (nearest.isna() | (nearest > threshold_km)).astype(bool)
    return (share == 0).fillna(False).astype(bool).where(share.notna(), by_distance).astype(bool)


def _round_people(people: float) -> int:
    step = 100 if people >= 1000 else 10
    return int(round(people / step) * step)


def _and_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
