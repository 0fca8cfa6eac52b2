"""The vocabulary of need categories and communities, with synonyms.

Matching ignores case, surrounding spaces, inner spaces and ``-`` versus ``_``: ``"Mental
Health"``, ``"mental-health"`` and ``"MENTAL_HEALTH"`` are all ``mental_health``. A user
TOML file extends or replaces the built-in vocabulary::

    mode = "extend"            # or "replace"

    [categories]
    mental_health = ["emotional wellbeing"]
    gambling_harm = ["gambling"]

    [communities]
    bame = ["global majority"]

    [catchment_km]             # optional: a category's own catchment for access scores
    dementia = 5.0

``[catchment_km]`` gives a need category its own default catchment (in km) for the
enhanced two-step floating catchment of :mod:`coverage_map.access`; categories it does not
name use the ``catchment_km`` option (3 km unless set). Labels may be synonyms.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import CoverageMapError

BUILTIN_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mental_health": (
            "mental wellbeing",
            "emotional wellbeing",
            "wellbeing",
            "mh",
            "mental health support",
            "anxiety",
            "depression",
            "talking therapies",
            "talking therapy",
            "iapt",
            "mental health services",
            "psychological therapies",
        ),
        "dementia": (
            "dementia support",
            "memory loss",
            "memory cafe",
            "memory café",
            "dementia cafe",
            "dementia café",
            "alzheimers",
            "alzheimer's",
            "memory clinic",
        ),
        "carers_support": (
            "carers",
            "carer support",
            "support for carers",
            "unpaid carers",
            "carers centre",
            "carers center",
            "carers centres",
            "carers' centre",
            "carers hub",
            "young carers service",
        ),
        "loneliness_isolation": (
            "loneliness",
            "social isolation",
            "isolation",
            "lonely",
            "lunch club",
            "luncheon club",
            "social group",
            "coffee morning",
            "friendship group",
        ),
        "physical_activity": (
            "exercise",
            "sport",
            "walking",
            "walking group",
            "fitness",
            "physical exercise",
            "health walks",
            "leisure centre",
            "swimming",
            "chair exercise",
        ),
        "arts_creativity": ("arts", "creative", "creativity", "arts and crafts", "music", "culture"),
        "nature_green_space": (
            "nature",
            "green space",
            "gardening",
            "green prescribing",
            "outdoors",
            "allotment",
            "community garden",
            "parks",
        ),
        "debt_benefits_advice": (
            "debt",
            "debt advice",
            "benefits",
            "benefits advice",
            "money advice",
            "welfare rights",
            "financial advice",
            "citizens advice",
            "cab",
            "money",
            "advice centre",
        ),
        "housing": ("housing advice", "homelessness", "accommodation", "homeless", "housing support"),
        "employment_skills": ("employment", "jobs", "skills", "work", "employability", "job club", "careers advice"),
        "learning_volunteering": ("learning", "volunteering", "education", "adult learning", "library", "libraries"),
        "peer_support": ("peer support group", "support group", "self help"),
        "befriending": ("befriender", "befriending service", "companionship"),
        "food_nutrition": (
            "food",
            "food bank",
            "foodbank",
            "food banks",
            "food pantry",
            "community pantry",
            "pantry",
            "community fridge",
            "food parcels",
            "nutrition",
            "healthy eating",
            "food support",
            "soup kitchen",
        ),
        "long_term_conditions": ("long term conditions", "ltc", "chronic conditions", "condition management"),
        "domestic_abuse": ("domestic violence", "dv", "abuse", "refuge", "women's aid"),
        "substance_misuse": (
            "drugs",
            "alcohol",
            "addiction",
            "drug and alcohol",
            "substance use",
            "recovery",
            "needle exchange",
            "stop smoking",
            "smoking cessation",
        ),
    }
)

BUILTIN_COMMUNITIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "older_people": ("older adults", "elderly", "over 65s", "over_65", "65+", "seniors", "aged 65 plus", "older"),
        "carers": ("unpaid carers", "carer", "young carers"),
        "bame": (
            "bme",
            "black and minority ethnic",
            "black asian and minority ethnic",
            "ethnic minorities",
            "ethnic minority",
            "global majority",
            "poc",
        ),
        "lgbtq": ("lgbt", "lgbtq+", "lgbtqia", "lgbtqia+", "lgb", "queer"),
        "young_people": ("youth", "young adults", "children and young people", "cyp", "teenagers"),
        "disabled_people": ("disabled", "disability", "people with disabilities", "learning disabilities"),
        "women": ("female", "women and girls"),
        "men": ("male", "mens", "men's"),
        "refugees": ("asylum seekers", "refugees and asylum seekers", "migrants", "refugee"),
    }
)

#: Display names where title-casing the canonical label reads badly.
_DISPLAY_OVERRIDES: Mapping[str, str] = MappingProxyType(
    {
        "bame": "BAME communities",
        "lgbtq": "LGBTQ+ people",
        "debt_benefits_advice": "Debt & benefits advice",
        "arts_creativity": "Arts & creativity",
        "nature_green_space": "Nature & green space",
        "loneliness_isolation": "Loneliness & isolation",
        "employment_skills": "Employment & skills",
        "learning_volunteering": "Learning & volunteering",
        "food_nutrition": "Food & nutrition",
        "all": "Everyone",
    }
)

_SEPARATORS = re.compile(r"[\s\-_]+")


def normalise_label(label: str) -> str:
    """Fold case, spaces and ``-``/``_`` so that synonyms compare equal."""
    return _SEPARATORS.sub("_", label.strip().lower()).strip("_")


def display_name(label: str) -> str:
    """A human-readable name for a canonical category or community label."""
    if label in _DISPLAY_OVERRIDES:
        return _DISPLAY_OVERRIDES[label]
    return label.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Vocabulary:
    """One controlled vocabulary: canonical labels and the synonyms that map to them."""

    kind: str
    terms: Mapping[str, tuple[str, ...]]
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for canonical, synonyms in self.terms.items():
            for word in (canonical, *synonyms):
                index.setdefault(normalise_label(word), canonical)
        object.__setattr__(self, "_index", index)

    @property
    def labels(self) -> tuple[str, ...]:
        """Canonical labels, in vocabulary order."""
        return tuple(self.terms)

    def resolve(self, label: str) -> str | None:
        """The canonical label for ``label``, or ``None`` when it is unknown."""
        return self._index.get(normalise_label(label))

    def closest(self, label: str) -> str | None:
        """The known canonical label that ``label`` most resembles, if any is close."""
        key = normalise_label(label)
        match = difflib.get_close_matches(key, list(self._index), n=1, cutoff=0.6)
        return self._index[match[0]] if match else None

    def nearest(self, label: str, n: int = 3) -> list[str]:
        """Up to ``n`` canonical labels ``label`` most resembles, the closest first (for a user to pick from).

        Labels and synonyms are compared whole and word by word (``"Foodbank hub"`` is near
        ``food_nutrition`` through ``foodbank``), so an unmatched label still gets a short list.
        """
        key = normalise_label(label)
        scores: dict[str, float] = {}
        for word, canonical in self._index.items():
            score = difflib.SequenceMatcher(None, key, word).ratio()
            parts = [part for part in key.split("_") if len(part) > 2]
            if parts:
                score = max(score, *(difflib.SequenceMatcher(None, part, word).ratio() * 0.95 for part in parts))
            scores[canonical] = max(scores.get(canonical, 0.0), score)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.labels.index(item[0])))
        return [canonical for canonical, score in ranked[:n] if score >= 0.4]

    def unknown_message(self, label: str) -> str:
        """A message for an unknown label that names the closest known one."""
        guess = self.closest(label)
        hint = f"; did you mean '{guess}'?" if guess else "."
        plural = {"category": "categories", "community": "communities"}.get(self.kind, f"{self.kind}s")
        return f"unknown {self.kind} '{label}'{hint} Known {plural}: {', '.join(self.labels)}"


@dataclass(frozen=True)
class Taxonomy:
    """Need categories and communities used everywhere in the analysis.

    ``catchment_km`` maps a canonical category label to its own catchment in km (for
    :mod:`coverage_map.access`); it is empty unless a taxonomy file sets one.
    """

    categories: Vocabulary
    communities: Vocabulary
    catchment_km: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def builtin(cls) -> Taxonomy:
        """The built-in vocabulary."""
        return cls(
            Vocabulary("category", dict(BUILTIN_CATEGORIES)),
            Vocabulary("community", dict(BUILTIN_COMMUNITIES)),
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> Taxonomy:
        """Load a user TOML file that extends (default) or replaces the built-in vocabulary."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CoverageMapError(f"{path}: cannot read the taxonomy file: {exc}") from exc
        mode = document.get("mode", "extend")
        if mode not in ("extend", "replace"):
            raise CoverageMapError(f'{path}: \'mode\' must be "extend" or "replace", not {mode!r}')
        base = cls.builtin()
        categories = Vocabulary("category", _merge(path, "categories", document, base.categories, mode))
        return cls(
            categories,
            Vocabulary("community", _merge(path, "communities", document, base.communities, mode)),
            _catchments(path, document, categories),
        )


def _merge(
    path: Path, section: str, document: Mapping[str, object], base: Vocabulary, mode: str
) -> dict[str, tuple[str, ...]]:
    user = document.get(section, {})
    if not isinstance(user, Mapping):
        raise CoverageMapError(f"{path}: [{section}] must be a table of label = [synonyms]")
    merged: dict[str, tuple[str, ...]] = {} if mode == "replace" else dict(base.terms)
    for raw_label, synonyms in user.items():
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise CoverageMapError(f"{path}: [{section}] {raw_label} must be a list of strings, not {synonyms!r}")
        label = normalise_label(raw_label)
        merged[label] = tuple(dict.fromkeys((*merged.get(label, ()), *synonyms)))
    if not merged:
        raise CoverageMapError(f"{path}: the taxonomy has no {section} left")
    return merged


def _catchments(path: Path, document: Mapping[str, object], categories: Vocabulary) -> Mapping[str, float]:
    """The ``[catchment_km]`` table: canonical category -> positive km (every problem listed at once)."""
    table = document.get("catchment_km", {})
    if not isinstance(table, Mapping):
        raise CoverageMapError(f"{path}: [catchment_km] must be a table of category = km")
    found: dict[str, float] = {}
    problems: list[str] = []
    for raw_label, km in table.items():
        label = categories.resolve(raw_label)
        if label is None:
            problems.append(f"[catchment_km] {categories.unknown_message(raw_label)}")
        elif isinstance(km, bool) or not isinstance(km, int | float) or not math.isfinite(km) or km <= 0:
            problems.append(f"[catchment_km] {raw_label} must be a positive number of km, not {km!r}")
        else:
            found[label] = float(km)
    if problems:
        raise CoverageMapError(f"{path}: " + "; ".join(problems))
    return MappingProxyType(found)


def split_labels(text: object) -> list[str]:
    """Split a ``;``-separated cell into stripped, non-empty labels."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def resolve_all(vocabulary: Vocabulary, labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """Resolve labels; return (canonical labels without duplicates, unknown labels)."""
    known: list[str] = []
    unknown: list[str] = []
    for label in labels:
        canonical = vocabulary.resolve(label)
        if canonical is None:
            unknown.append(label)
        elif canonical not in known:
            known.append(canonical)
    return known, unknown
