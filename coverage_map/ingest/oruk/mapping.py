"""The ORUK mapping: directory terms -> need categories, communities and reach (:class:`OrukMapping`).

Read from a user-editable TOML file; :data:`DEFAULT_MAPPING` is the shipped one,
documented in ``docs/oruk.md``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ...config import PACKAGE_DIR
from ...errors import CoverageMapError, Problem, ValidationError
from ...taxonomy import Taxonomy, Vocabulary, normalise_label

#: The shipped, documented mapping of ORUK terms to need categories and communities.
DEFAULT_MAPPING = PACKAGE_DIR / "oruk_mapping.toml"
REACHES = ("local", "borough", "citywide")


@dataclass(frozen=True)
class OrukMapping:
    """How ORUK terms become need categories and communities, read from a TOML file.

    Keys of ``categories`` and ``communities`` are normalised labels (see
    :func:`~coverage_map.taxonomy.normalise_label`) of a term's name, code,
    ``"<taxonomy>:<code>"`` or ``"<taxonomy>:<name>"``; values are canonical labels (an
    empty tuple means "known, deliberately not mapped").
    """

    path: str
    taxonomy: Taxonomy
    categories: Mapping[str, tuple[str, ...]]
    communities: Mapping[str, tuple[str, ...]]
    eligibility_taxonomies: frozenset[str] = frozenset()
    statuses: frozenset[str] | None = frozenset({"active"})
    reach: str = "local"
    check_great_britain: bool = True
    builtin_synonyms: bool = True

    @classmethod
    def from_toml(cls, path: str | Path | None = None, *, taxonomy: Taxonomy | None = None) -> OrukMapping:
        """Read a mapping file (the shipped :data:`DEFAULT_MAPPING` when ``path`` is None).

        Raises
        ------
        ValidationError
            Listing every bad entry (an unknown category or community, a value of the
            wrong type) with the section and key it is under.
        """
        path = Path(path) if path is not None else DEFAULT_MAPPING
        file = str(path)
        taxonomy = taxonomy or Taxonomy.builtin()
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CoverageMapError(f"{file}: cannot read the ORUK mapping file: {exc}") from exc
        problems: list[Problem] = []
        document = _with_mode_applied(document, path, problems)
        options = _table(document, "options", file, problems)
        categories = _label_table(
            _table(document, "categories", file, problems), "categories", taxonomy.categories, file, problems
        )
        communities = _label_table(
            _table(document, "communities", file, problems), "communities", taxonomy.communities, file, problems
        )
        reach, statuses, eligibility, flags = _options(options, file, problems)
        if problems:
            raise ValidationError(problems)
        return cls(
            path=file,
            taxonomy=taxonomy,
            categories=categories,
            communities=communities,
            eligibility_taxonomies=frozenset(normalise_label(name) for name in eligibility),
            statuses=frozenset(normalise_label(s) for s in statuses) or None,
            reach=reach,
            check_great_britain=bool(flags["check_great_britain"]),
            builtin_synonyms=bool(flags["builtin_synonyms"]),
        )

    def map_term(self, term: Term) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        """Categories, communities, and whether the mapping knows the term at all.

        An entry in ``[categories]`` or ``[communities]`` wins; otherwise the built-in
        synonyms are tried (categories only for service terms, never for eligibility).
        """
        eligibility = term.field == "eligibility" or normalise_label(term.taxonomy) in self.eligibility_taxonomies
        categories = _lookup(self.categories, term)
        communities = _lookup(self.communities, term)
        known = categories is not None or communities is not None
        if self.builtin_synonyms:
            if categories is None and not eligibility:
                categories = _builtin(self.taxonomy.categories, term)
            if communities is None:
                communities = _builtin(self.taxonomy.communities, term)
        categories = categories or ()
        communities = communities or ()
        return categories, communities, known or bool(categories or communities)


def _with_mode_applied(document: dict[str, Any], path: Path, problems: list[Problem]) -> dict[str, Any]:
    """The document's sections checked, and with ``mode = "extend"`` laid over the shipped mapping."""
    file = str(path)
    unknown = set(document) - {"mode", "options", "categories", "communities"}
    problems += [
        Problem(file, "unknown section; use mode, [options], [categories] and [communities]", column=f"[{name}]")
        for name in sorted(unknown)
    ]
    mode = document.get("mode", "extend")
    if mode not in ("extend", "replace"):
        problems.append(
            Problem(file, 'must be "extend" (add to the shipped mapping) or "replace"', column="mode", value=repr(mode))
        )
    elif mode == "extend" and path.resolve() != DEFAULT_MAPPING.resolve():
        return _extended(document)
    return document


def _options(
    options: Mapping[str, object], file: str, problems: list[Problem]
) -> tuple[str, list[str], list[str], dict[str, object]]:
    """The ``[options]`` table checked: reach, statuses, eligibility taxonomies and the true/false flags."""
    reach = str(options.get("reach", "local")).strip().lower()
    if reach not in REACHES and not _is_positive_number(reach):
        problems.append(
            Problem(
                file,
                f"reach must be one of {', '.join(REACHES)} or a number of km",
                column="[options] reach",
                value=reach,
            )
        )
    raw_statuses = options.get("statuses", ["active"])
    statuses: list[str] = raw_statuses if _string_list(raw_statuses) else []
    if not _string_list(raw_statuses):
        problems.append(
            Problem(
                file,
                "statuses must be a list of strings (an empty list keeps every status)",
                column="[options] statuses",
                value=repr(raw_statuses),
            )
        )
    raw_eligibility = options.get("eligibility_taxonomies", [])
    eligibility: list[str] = raw_eligibility if _string_list(raw_eligibility) else []
    if not _string_list(raw_eligibility):
        problems.append(
            Problem(
                file,
                "eligibility_taxonomies must be a list of strings",
                column="[options] eligibility_taxonomies",
                value=repr(raw_eligibility),
            )
        )
    flags: dict[str, object] = {}
    for name, default in (("check_great_britain", True), ("builtin_synonyms", True)):
        flags[name] = options.get(name, default)
        if not isinstance(flags[name], bool):
            problems.append(Problem(file, "must be true or false", column=f"[options] {name}", value=repr(flags[name])))
    extra = set(options) - {
        "reach",
        "statuses",
        "eligibility_taxonomies",
        "check_great_britain",
        "builtin_synonyms",
    }
    problems += [Problem(file, "unknown option", column=f"[options] {name}") for name in sorted(extra)]
    return reach, statuses, eligibility, flags


def _extended(document: Mapping[str, object]) -> dict[str, object]:
    """The shipped mapping with a user document's sections laid over it, entry by entry."""
    shipped = tomllib.loads(DEFAULT_MAPPING.read_text(encoding="utf-8"))
    merged: dict[str, object] = dict(document)
    for section in ("options", "categories", "communities"):
        base, user = shipped.get(section, {}), document.get(section, {})
        if isinstance(user, Mapping):
            merged[section] = {**base, **user}
    return merged


def _table(document: Mapping[str, object], name: str, file: str, problems: list[Problem]) -> dict[str, object]:
    value = document.get(name, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(file, "must be a table", column=f"[{name}]"))
        return {}
    return dict(value)


def _label_table(
    entries: Mapping[str, object], section: str, vocabulary: Vocabulary, file: str, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for key, value in entries.items():
        targets: object = [value] if isinstance(value, str) else value
        if not _string_list(targets):
            problems.append(
                Problem(file, "must be a label or a list of labels", column=f"[{section}] {key}", value=repr(value))
            )
            continue
        canonical: list[str] = []
        for target in targets:
            label = vocabulary.resolve(target)
            if label is None:
                problems.append(
                    Problem(file, vocabulary.unknown_message(target), column=f"[{section}] {key}", value=target)
                )
            elif label not in canonical:
                canonical.append(label)
        table[normalise_label(key)] = tuple(canonical)
    return table


def _string_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_positive_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _lookup(table: Mapping[str, tuple[str, ...]], term: Term) -> tuple[str, ...] | None:
    for key in term.lookup_keys():
        if key in table:
            return table[key]
    return None


def _builtin(vocabulary: Vocabulary, term: Term) -> tuple[str, ...] | None:
    for text in (term.name, term.code):
        if text:
            label = vocabulary.resolve(text)
            if label is not None:
                return (label,)
    return None


@dataclass(frozen=True)
class Term:
    """One taxonomy term, eligibility or attribute attached to a service."""

    name: str
    code: str = ""
    taxonomy: str = ""
    value: str = ""
    field: str = "taxonomy_terms"

    def lookup_keys(self) -> list[str]:
        """Normalised lookup keys, most specific first."""
        keys: list[str] = []
        bases = [text for text in (self.name, self.code) if text]
        if self.value:
            keys += [f"{base}:{self.value}" for base in bases]
        if self.taxonomy:
            keys += [f"{self.taxonomy}:{base}" for base in reversed(bases)]
        keys += bases
        return [normalise_label(key) for key in keys]
