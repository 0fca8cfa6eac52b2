"""What one data set publishes, as one system of cells, protected together.

The gap tables of every level (small areas, neighbourhoods or groups, boroughs), each for
every category and community, the monthly trend of every unit, and the organisations'
referral counts all come from the same referrals. Suppressing each table on its own lets
an attacker subtract one from another (a neighbourhood's published total less its
published small areas). :func:`protect_dataset` puts them all into one
:class:`~coverage_map.disclosure.CellSystem` and chooses the complementary cells once, so
that no combination of the published figures narrows a suppressed count below five
possible values; :meth:`Protection.audit` says how well that held.

The relations (see :mod:`coverage_map.disclosure`):

* a parent unit's count is the sum of its children's, for every category, community and
  month (small areas in a neighbourhood, neighbourhoods in a borough, boroughs in the
  region, whose total the attacker is assumed to know);
* a unit's ``all`` count is at least the sum of its communities' (referrals may name no
  community), for every category and month;
* a unit's months add up to its total (at most, when some referrals are undated);
* the organisations' counts add up to at most every referral of the region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import LEVELS
from .disclosure import KNOWN, PUBLISHED, UNKNOWN, AuditResult, CellSystem, Relations, audit, check_counts, protect

if TYPE_CHECKING:
    from .analysis import Analysis
    from .joins import Prepared

ALL = "all"
REGION = "ALL"
_NO_MONTH = -1


@dataclass(frozen=True)
class Protection:
    """The suppression of everything one data set publishes (build with :func:`protect_dataset`)."""

    system: CellSystem
    hidden: np.ndarray
    #: level -> the cells of that level's gap table, row for row
    tables: dict[str, slice]
    #: the cells of the organisations table, row for row (None when not protected here)
    assets: slice | None = None
    #: one row per non-zero month cell: level, area_id, category, community, month (Period), cell
    months: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table_hidden(self, level: str) -> np.ndarray:
        """Suppressed rows of the gap table at ``level``, in the table's row order."""
        return self.hidden[self.tables[level]]

    def asset_hidden(self) -> np.ndarray | None:
        """Suppressed rows of the organisations table, in its row order (None when not protected here)."""
        return None if self.assets is None else self.hidden[self.assets]

    def hidden_months(self, level: str, area_id: str, category: str, community: str) -> frozenset[pd.Period]:
        """The months suppressed in one unit's trend (primary and complementary)."""
        keys, months = self._hidden_month_index()
        if not len(keys):
            return frozenset()
        codes = [
            self.months[column].cat.categories.get_indexer([str(value)])[0]
            for column, value in (
                ("level", level),
                ("area_id", area_id),
                ("category", category),
                ("community", community),
            )
        ]
        if min(codes) < 0:
            return frozenset()
        key = self._month_key(*(np.array([code], dtype=np.int64) for code in codes))[0]
        first, stop = np.searchsorted(keys, key, side="left"), np.searchsorted(keys, key, side="right")
        return frozenset(months[first:stop])

    def audit(self) -> AuditResult:
        """The intervals an attacker gets from every published figure (see :func:`coverage_map.disclosure.audit`)."""
        return audit(self.system, self.hidden)

    def _month_key(self, *codes: np.ndarray) -> np.ndarray:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for column, code in zip(("level", "area_id", "category", "community"), codes, strict=True):
            key = key * (len(self.months[column].cat.categories) + 1) + code
        return key

    def _hidden_month_index(self) -> tuple[np.ndarray, pd.PeriodIndex]:
        """Keys (level, unit, category, community) of the hidden month cells, sorted, and their months."""
        cached = self.__dict__.get("_hidden_months")
        if cached is None:
            if len(self.months):
                rows = self.months[self.hidden[self.months["cell"].to_numpy()]]
                codes = [
                    rows[column].cat.codes.to_numpy(dtype=np.int64)
                    for column in ("level", "area_id", "category", "community")
                ]
                keys = self._month_key(*codes)
                order = np.argsort(keys, kind="stable")
                cached = (keys[order], pd.PeriodIndex(rows["month"].array[order], freq="M"))
            else:
                cached = (np.zeros(0, dtype=np.int64), pd.PeriodIndex([], freq="M"))
            object.__setattr__(self, "_hidden_months", cached)
        return cached  # type: ignore[no-any-return]


def protect_dataset(prepared: Prepared, analyses: Mapping[str, Analysis]) -> Protection:
    """Protect every level's gap table, every unit's monthly trend and the organisations table together.

    Parameters
    ----------
    prepared
        The joined inputs (for the dated referrals of the trends).
    analyses
        The true analysis of every published level (``area``, ``neighbourhood``, ``borough``).
    """
    levels = [level for level in LEVELS if level in analyses]
    tables = {level: analyses[level].table for level in levels}
    parents = {level: analyses[level].parent_of for level in levels}
    months = {level: monthly_counts(prepared, level) for level in levels}
    referrals = prepared.referrals
    complete = bool(len(referrals) == 0 or referrals["date"].notna().all())
    assets = analyses[levels[0]].assets["referrals"] if levels else None
    return protect_tables(tables, parents, months=months, months_complete=complete, assets=assets)


def protect_tables(
    tables: Mapping[str, pd.DataFrame],
    parents: Mapping[str, pd.Series],
    *,
    months: Mapping[str, pd.DataFrame] | None = None,
    months_complete: bool = True,
    assets: pd.Series | None = None,
) -> Protection:
    """Protect gap tables (and optionally monthly counts and organisation counts) together.

    Parameters
    ----------
    tables
        Level -> true gap table (``area_id``, ``category``, ``community``, ``referrals``).
    parents
        Level -> each unit's parent id (the next level up, or ``ALL``). A parent level
        missing from ``tables`` is taken as published elsewhere: its counts are known to
        the attacker and never hidden here.
    months
        Level -> non-zero monthly counts (``area_id``, ``category``, ``community``,
        ``month``, ``count``), as :func:`monthly_counts` makes them.
    months_complete
        Every referral is dated, so a unit's months add up to its total exactly.
    assets
        Referrals received by each organisation (true counts).
    """
    builder = _Builder()
    slices = {}
    for level, table in tables.items():
        slices[level] = builder.add_table(level, table)
    for level, table in tables.items():
        builder.link_parents(level, table, parents[level], tables)
    if months:
        for level, frame in months.items():
            builder.add_months(level, frame)
        for level, frame in months.items():
            builder.link_months(level, frame, parents[level], months_complete=months_complete)
    builder.link_communities()
    asset_slice = builder.add_assets(assets) if assets is not None else None
    system = builder.system()
    hidden = protect(system)
    return Protection(system, hidden, tables=slices, assets=asset_slice, months=builder.month_frame())


def monthly_counts(prepared: Prepared, level: str) -> pd.DataFrame:
    """True non-zero referral counts per unit at ``level``, category, community (``all`` too) and month.

    Columns ``area_id``, ``category``, ``community`` (categorical), ``month`` (a monthly
    ``Period``) and ``count``, sorted by the first four; referrals without a date are left
    out (the trend shows dated ones).
    """
    from .joins import unit_of

    columns = ["area_id", "category", "community", "month", "count"]
    referrals = prepared.referrals
    if len(referrals) == 0:
        return pd.DataFrame(columns=columns)
    dated = referrals[referrals["date"].notna()]
    unit = dated["area_id"].map(unit_of(prepared.membership, level)) if level != "area" else dated["area_id"]
    # Sorted vocabularies, so that sorting the codes sorts the labels (as a groupby would).
    unit_code, units = pd.factorize(unit.astype(str), sort=True)
    category_code, categories = pd.factorize(dated["category"].astype(str), sort=True)
    given = dated["community"].astype("string").fillna("").astype(str)
    community_code, given_words = pd.factorize(given, sort=True)
    labels = set(prepared.inputs.community_labels)
    words = sorted({str(word) for word in given_words if word in labels} | {ALL})
    position = {word: number for number, word in enumerate(words)}
    listed_code = np.array([position.get(str(word), -1) for word in given_words] + [-1], dtype=np.int64)
    month = np.asarray(dated["date"].dt.to_period("M").array.asi8, dtype=np.int64)
    count = dated["count"].to_numpy(dtype=np.int64)
    # Every referral counts in its community's row (when listed) and in the "all" row.
    listed = (listed_code[community_code] >= 0) & (community_code >= 0)
    keep = (unit_code >= 0) & (category_code >= 0)
    unit_code = np.concatenate([unit_code[keep], unit_code[keep & listed]])
    category_code = np.concatenate([category_code[keep], category_code[keep & listed]])
    community_code = np.concatenate(
        [np.full(int(keep.sum()), position[ALL]), listed_code[community_code[keep & listed]]]
    )
    month = np.concatenate([month[keep], month[keep & listed]])
    count = np.concatenate([count[keep], count[keep & listed]])
    first = int(month.min()) if len(month) else 0
    span = int(month.max()) - first + 1 if len(month) else 1
    key = ((unit_code * len(categories) + category_code) * len(words) + community_code) * span + (month - first)
    keys, row = np.unique(key, return_inverse=True)
    sums = np.zeros(len(keys), dtype=np.int64)
    np.add.at(sums, row, count)
    keys, sums = keys[sums > 0], sums[sums > 0]
    rest, month_of = np.divmod(keys, span)
    rest, community_of = np.divmod(rest, len(words))
    unit_of_row, category_of = np.divmod(rest, len(categories))
    return pd.DataFrame(
        {
            "area_id": pd.Categorical.from_codes(unit_of_row, categories=pd.Index(units, dtype=object)),
            "category": pd.Categorical.from_codes(category_of, categories=pd.Index(categories, dtype=object)),
            "community": pd.Categorical.from_codes(community_of, categories=pd.Index(words, dtype=object)),
            "month": pd.PeriodIndex.from_ordinals(month_of + first, freq="M"),
            "count": sums,
        }
    )[columns]


class _Vocabulary:
    """Labels (unit ids, categories, communities, months, block names) as whole numbers."""

    def __init__(self) -> None:
        self.words = pd.Index([], dtype=object)

    def __len__(self) -> int:
        return len(self.words)

    def codes(self, values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
        """The code of every value, adding new labels at the end (a missing value is a label too)."""
        local, uniques = pd.factorize(values, use_na_sentinel=False)
        uniques = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
        where = self.words.get_indexer(uniques)
        new = where < 0
        if new.any():
            where[new] = np.arange(len(self.words), len(self.words) + int(new.sum()))
            self.words = self.words.append(uniques[new])
        return np.asarray(where, dtype=np.int64)[local]

    def code(self, value: object) -> int:
        return int(self.codes(np.array([value], dtype=object))[0])


@dataclass(frozen=True)
class _Block:
    """Cells added together under one name, with the codes of their keys."""

    name: str
    start: int
    unit: np.ndarray
    category: np.ndarray
    community: np.ndarray
    month: np.ndarray

    @property
    def cells(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.unit), dtype=np.int64)


class _Builder:
    """Collects cells (with integer-coded keys) and relations, then makes one :class:`CellSystem`."""

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []
        self.blocks: list[_Block] = []
        self.size = 0
        self.pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # relation, cell, is_total
        self.equal: list[np.ndarray] = []
        self.relation_count = 0
        self.month_blocks: list[tuple[str, _Block]] = []
        self.units, self.categories, self.communities, self.months = (_Vocabulary() for _ in range(4))
        self.no_month = self.months.code(_NO_MONTH)

    def _add(self, values: np.ndarray, kind: int) -> slice:
        values = check_counts(values, what="referral counts").astype(np.int64)
        start = self.size
        self.values.append(values)
        self.kinds.append(np.full(len(values), kind, dtype=np.int8))
        self.size += len(values)
        return slice(start, self.size)

    def _add_block(
        self, name: str, values: np.ndarray, kind: int, unit: np.ndarray, category: np.ndarray,
        community: np.ndarray, month: np.ndarray | None = None,
    ) -> _Block:  # fmt: skip
        cells = self._add(values, kind)
        month = np.full(len(unit), self.no_month, dtype=np.int64) if month is None else month
        block = _Block(name, cells.start, unit, category, community, month)
        self.blocks.append(block)
        return block

    def _coded(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            _codes(self.units, frame["area_id"]),
            _codes(self.categories, frame["category"]),
            _codes(self.communities, frame["community"]),
        )

    def add_table(self, level: str, table: pd.DataFrame) -> slice:
        values = pd.to_numeric(table["referrals"]).fillna(0).to_numpy(dtype=float)
        block = self._add_block(level, values, PUBLISHED, *self._coded(table))
        return slice(block.start, block.start + len(values))

    def add_months(self, level: str, frame: pd.DataFrame) -> None:
        month = self.months.codes(_month_codes(frame["month"]))
        values = frame["count"].to_numpy(dtype=float)
        block = self._add_block(f"{level}:months", values, PUBLISHED, *self._coded(frame), month)
        self.month_blocks.append((level, block))

    def add_assets(self, referrals: pd.Series) -> slice:
        cells = self._add(pd.to_numeric(referrals).fillna(0).to_numpy(dtype=float), PUBLISHED)
        region = self._block("region")
        if region is not None:
            region_cells = region.cells[region.community == self.communities.code(ALL)]
        else:
            region_cells = np.zeros(0, dtype=np.int64)
        values = self._value_array()
        everything = values[region_cells].sum() if len(region_cells) else values[cells].sum()
        grand = self._add(np.array([everything], dtype=float), UNKNOWN).start
        if len(region_cells):
            self._relate(np.full(len(region_cells), grand), region_cells, equal=True)
        self._relate(np.full(cells.stop - cells.start, grand), np.arange(cells.start, cells.stop), equal=False)
        return cells

    def _value_array(self) -> np.ndarray:
        return np.concatenate(self.values) if self.values else np.zeros(0, dtype=np.int64)

    def _block(self, name: str) -> _Block | None:
        """The first block of that name with cells (as a lookup of the keys by name would find)."""
        for block in self.blocks:
            if block.name == name and len(block.unit):
                return block
        return None

    def _relate(self, total: np.ndarray, part: np.ndarray, *, equal: bool) -> None:
        """One relation per distinct total: ``total[i]`` is the total of which ``part[i]`` is a part."""
        if not len(total):
            return
        seen = np.zeros(self.size, dtype=bool)
        seen[total] = True
        totals = np.flatnonzero(seen)
        rank = np.cumsum(seen) - 1
        relation = rank[total] + self.relation_count
        ids = np.arange(len(totals)) + self.relation_count
        self.pairs.append((relation, np.asarray(part, dtype=np.int64), np.zeros(len(part), dtype=bool)))
        self.pairs.append((ids, totals.astype(np.int64), np.ones(len(totals), dtype=bool)))
        self.equal.append(np.full(len(totals), equal, dtype=bool))
        self.relation_count += len(totals)

    def _parents(self, units: np.ndarray, parent_of: pd.Series, *, region: bool) -> np.ndarray:
        """The parent unit's code of every unit code (the region's when it has none and ``region``; else -1)."""
        present = np.unique(units)
        names = pd.Series(np.asarray(self.units.words[present], dtype=object))
        mapped = names.map(parent_of.astype(str))
        if region:
            mapped = mapped.fillna(REGION)
        known = mapped.notna().to_numpy()
        lookup = np.full(int(present.max()) + 1 if len(present) else 0, -1, dtype=np.int64)
        lookup[present[known]] = self.units.codes(mapped[known].to_numpy(dtype=object))
        return lookup[units]

    def link_parents(
        self, level: str, table: pd.DataFrame, parent_of: pd.Series, tables: Mapping[str, pd.DataFrame]
    ) -> None:
        """Children add up to their parent: the parent level's table, or known totals made here."""
        children = self._block(level)
        if children is None:
            return
        parent = self._parents(children.unit, parent_of, region=True)
        to_region = parent == self.units.code(REGION)
        self._link_to(children, parent, to_region, "region")
        parent_level = _parent_level(level, tables)
        self._link_to(children, parent, ~to_region, parent_level if parent_level is not None else f"{level}:parents")

    def _link_to(self, children: _Block, parent: np.ndarray, chosen: np.ndarray, name: str) -> None:
        if not chosen.any():
            return
        cells = children.cells[chosen]
        unit, category, community = parent[chosen], children.category[chosen], children.community[chosen]
        existing = self._block(name)
        if existing is None:
            # A total not published here: the region's (published nowhere, so unknown to the
            # attacker) or a parent level's published elsewhere (known, never hidden here).
            key = self._key(unit, category, community)
            keys, row = np.unique(key, return_inverse=True)
            sums = np.bincount(row, weights=self._value_array()[cells].astype(float), minlength=len(keys))
            first = np.zeros(len(keys), dtype=np.int64)
            first[row[::-1]] = np.arange(len(row))[::-1]
            kind = UNKNOWN if name == "region" else KNOWN
            existing = self._add_block(name, sums, kind, unit[first], category[first], community[first])
        child_at, total_at = _match(
            self._key(unit, category, community), self._key(existing.unit, existing.category, existing.community)
        )
        self._relate(existing.cells[total_at], cells[child_at], equal=True)

    def _key(self, unit: np.ndarray, category: np.ndarray, community: np.ndarray, *more: np.ndarray) -> np.ndarray:
        """One whole number per row for the codes (unit, category, community[, month]); -1 where a unit is."""
        key = (unit * (len(self.categories) + 1) + category) * (len(self.communities) + 1) + community
        for code in more:
            key = key * (len(self.months) + 1) + code
        return np.where(unit >= 0, key, -1)

    def link_months(self, level: str, frame: pd.DataFrame, parent_of: pd.Series, *, months_complete: bool) -> None:
        """A unit's months add up to its total; a parent's month is the sum of its children's."""
        months = self._block(f"{level}:months")
        table = self._block(level)
        if months is None:
            return
        if table is not None:
            month_at, total_at = _match(
                self._key(months.unit, months.category, months.community),
                self._key(table.unit, table.category, table.community),
            )
            self._relate(table.cells[total_at], months.cells[month_at], equal=months_complete)
        parents = None
        for candidate in LEVELS[LEVELS.index(level) + 1 :] if level in LEVELS else ():
            parents = self._block(f"{candidate}:months")
            if parents is not None:
                break
        if parents is None:
            return
        parent = self._parents(months.unit, parent_of, region=False)
        child_at, total_at = _match(
            self._key(parent, months.category, months.community, months.month),
            self._key(parents.unit, parents.category, parents.community, parents.month),
        )
        self._relate(parents.cells[total_at], months.cells[child_at], equal=True)

    def link_communities(self) -> None:
        """A unit's ``all`` count is at least the sum of its communities', in every block."""
        if not self.blocks:
            return
        names = _Vocabulary()
        block = np.concatenate([np.full(len(b.unit), names.code(b.name), dtype=np.int64) for b in self.blocks])
        unit, category, community, month, cells = (
            np.concatenate([getattr(b, field) for b in self.blocks])
            for field in ("unit", "category", "community", "month", "cells")
        )
        # The block's name, the unit, the category and the month, without the community.
        key = (self._key(unit, category, np.zeros_like(community), month)) * (len(names) + 1) + block
        is_all = community == self.communities.code(ALL)
        part_at, total_at = _match(key[~is_all], key[is_all])
        self._relate(cells[is_all][total_at], cells[~is_all][part_at], equal=False)

    def month_frame(self) -> pd.DataFrame:
        """One row per month cell: level, area_id, category, community, month (Period), cell."""
        columns = ["area_id", "category", "community", "month", "level", "cell"]
        if not self.month_blocks:
            return pd.DataFrame(columns=columns)
        levels = [level for level, _ in self.month_blocks]
        blocks = [block for _, block in self.month_blocks]

        def labels(field: str, words: pd.Index) -> pd.Categorical:
            codes = np.concatenate([getattr(b, field) for b in blocks])
            used = np.unique(codes)
            named = used[pd.notna(words[used])]
            position = np.full(len(words), -1, dtype=np.int64)
            position[named] = np.arange(len(named))
            return pd.Categorical.from_codes(position[codes], categories=words[named])

        months = np.asarray(self.months.words, dtype=np.int64)[np.concatenate([b.month for b in blocks])]
        frame = pd.DataFrame(
            {
                "area_id": labels("unit", self.units.words),
                "category": labels("category", self.categories.words),
                "community": labels("community", self.communities.words),
                "month": pd.PeriodIndex.from_ordinals(months, freq="M"),
                "level": pd.Categorical.from_codes(
                    np.repeat(np.arange(len(levels)), [len(b.unit) for b in blocks]), categories=levels
                ),
                "cell": np.concatenate([b.cells for b in blocks]),
            }
        )
        return frame[columns]

    def system(self) -> CellSystem:
        value = self._value_array()
        kind = np.concatenate(self.kinds) if self.kinds else np.zeros(0, dtype=np.int8)
        if self.pairs:
            relation = np.concatenate([p[0] for p in self.pairs])
            cell = np.concatenate([p[1] for p in self.pairs])
            is_total = np.concatenate([p[2] for p in self.pairs])
            equal = np.concatenate(self.equal)
        else:
            relation = cell = np.zeros(0, dtype=np.int64)
            is_total = equal = np.zeros(0, dtype=bool)
        return CellSystem(value, kind, Relations(relation, cell, is_total, equal))


def _codes(vocabulary: _Vocabulary, column: pd.Series) -> np.ndarray:
    """The vocabulary's codes of a key column, read as text (a categorical one by its categories)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        words = vocabulary.codes(column.cat.categories.astype(str))
        codes = column.cat.codes.to_numpy()
        if (codes < 0).any():
            return np.where(codes >= 0, words[codes], vocabulary.code(np.nan))
        return words[codes]
    return vocabulary.codes(column.astype(str))


def _match(child: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` with ``child[i] == parent[j]`` (an inner join on whole-number keys; -1 never matches)."""
    order = np.argsort(parent, kind="stable")
    ordered = parent[order]
    if len(ordered) > 1 and not (ordered[1:] != ordered[:-1]).all():
        joined = pd.DataFrame({"key": child, "i": np.arange(len(child))}).merge(
            pd.DataFrame({"key": parent, "j": np.arange(len(parent))}), on="key", how="inner"
        )
        joined = joined[joined["key"] >= 0]
        return joined["i"].to_numpy(dtype=np.int64), joined["j"].to_numpy(dtype=np.int64)
    where = np.minimum(np.searchsorted(ordered, child), max(len(ordered) - 1, 0))
    found = (child >= 0) & (ordered[where] == child) if len(ordered) else np.zeros(len(child), dtype=bool)
    return np.flatnonzero(found), order[where[found]]


def _parent_level(level: str, tables: Mapping[str, pd.DataFrame] | None) -> str | None:
    """The next level up that is published alongside (None: its totals are published elsewhere)."""
    if tables is None or level not in LEVELS:
        return None
    for candidate in LEVELS[LEVELS.index(level) + 1 :]:
        if candidate in tables:
            return candidate
    return None


def _month_codes(months: pd.Series) -> np.ndarray:
    """Months as whole numbers (months since 1970), for keys."""
    if not len(months):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(pd.PeriodIndex(months, freq="M").asi8, dtype=np.int64)
