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
        index = self._month_index()
        return index.get((level, str(area_id), category, community), frozenset())

    def audit(self) -> AuditResult:
        """The intervals an attacker gets from every published figure (see :func:`coverage_map.disclosure.audit`)."""
        return audit(self.system, self.hidden)

    def _month_index(self) -> dict[tuple[str, str, str, str], frozenset[pd.Period]]:
        cached = self.__dict__.get("_months_by_unit")
        if cached is None:
            cached = {}
            if len(self.months):
                hidden = self.months[self.hidden[self.months["cell"].to_numpy()]]
                for key, rows in hidden.groupby(["level", "area_id", "category", "community"], sort=False):
                    cached[tuple(str(k) for k in key)] = frozenset(rows["month"])
            object.__setattr__(self, "_months_by_unit", cached)
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

    Columns ``area_id``, ``category``, ``community``, ``month`` (a monthly ``Period``) and
    ``count``; referrals without a date are left out (the trend shows dated ones).
    """
    from .joins import unit_of

    columns = ["area_id", "category", "community", "month", "count"]
    referrals = prepared.referrals
    if len(referrals) == 0:
        return pd.DataFrame(columns=columns)
    dated = referrals[referrals["date"].notna()]
    unit = dated["area_id"].map(unit_of(prepared.membership, level)) if level != "area" else dated["area_id"]
    frame = pd.DataFrame(
        {
            "area_id": unit.astype(str).to_numpy(),
            "category": dated["category"].astype(str).to_numpy(),
            "community": dated["community"].astype("string").fillna("").astype(str).to_numpy(),
            "month": dated["date"].dt.to_period("M").to_numpy(),
            "count": dated["count"].to_numpy(dtype=np.int64),
        }
    )
    everyone = frame.assign(community=ALL)
    listed = frame[frame["community"].isin(set(prepared.inputs.community_labels))]
    both = pd.concat([everyone, listed], ignore_index=True)
    out = both.groupby(["area_id", "category", "community", "month"], sort=True, observed=True)["count"].sum()
    out = out[out > 0].reset_index()
    return out[columns]


class _Builder:
    """Collects cells (with their keys) and relations, then makes one :class:`CellSystem`."""

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.kinds: list[np.ndarray] = []
        self.keys: list[pd.DataFrame] = []  # block, unit, category, community, month, cell
        self.size = 0
        self.pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # relation, cell, is_total
        self.equal: list[np.ndarray] = []
        self.relation_count = 0
        self.month_rows: list[pd.DataFrame] = []

    def _add(self, values: np.ndarray, kind: int, keys: pd.DataFrame | None = None) -> slice:
        values = check_counts(values, what="referral counts").astype(np.int64)
        start = self.size
        self.values.append(values)
        self.kinds.append(np.full(len(values), kind, dtype=np.int8))
        self.size += len(values)
        if keys is not None:
            self.keys.append(keys.assign(cell=np.arange(start, self.size)))
        return slice(start, self.size)

    def _keys(self, block: str, frame: pd.DataFrame, month: np.ndarray | None = None) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "block": block,
                "unit": frame["area_id"].astype(str).to_numpy(),
                "category": frame["category"].astype(str).to_numpy(),
                "community": frame["community"].astype(str).to_numpy(),
                "month": _NO_MONTH if month is None else month,
            }
        )

    def add_table(self, level: str, table: pd.DataFrame) -> slice:
        values = pd.to_numeric(table["referrals"]).fillna(0).to_numpy(dtype=float)
        return self._add(values, PUBLISHED, self._keys(level, table))

    def add_months(self, level: str, frame: pd.DataFrame) -> None:
        codes = _month_codes(frame["month"])
        cells = self._add(frame["count"].to_numpy(dtype=float), PUBLISHED, self._keys(f"{level}:months", frame, codes))
        self.month_rows.append(
            frame[["area_id", "category", "community", "month"]].assign(
                level=level, cell=np.arange(cells.start, cells.stop)
            )
        )

    def add_assets(self, referrals: pd.Series) -> slice:
        cells = self._add(pd.to_numeric(referrals).fillna(0).to_numpy(dtype=float), PUBLISHED)
        region = self._lookup("region", ALL)
        everything = _values(self, region).sum() if len(region) else cells_total(self, cells)
        grand = self._add(np.array([everything], dtype=float), UNKNOWN).start
        if len(region):
            self._relate(np.full(len(region), grand), region, equal=True)
        self._relate(np.full(cells.stop - cells.start, grand), np.arange(cells.start, cells.stop), equal=False)
        return cells

    def _lookup(self, block: str, community: str | None = None) -> np.ndarray:
        keys = pd.concat(self.keys, ignore_index=True) if self.keys else pd.DataFrame(columns=["block"])
        chosen = keys[keys["block"] == block]
        if community is not None:
            chosen = chosen[chosen["community"] == community]
        return chosen["cell"].to_numpy(dtype=np.int64)

    def _relate(self, total: np.ndarray, part: np.ndarray, *, equal: bool) -> None:
        """One relation per distinct total: ``total[i]`` is the total of which ``part[i]`` is a part."""
        if not len(total):
            return
        totals, relation = np.unique(total, return_inverse=True)
        relation = relation + self.relation_count
        ids = np.arange(len(totals)) + self.relation_count
        self.pairs.append((relation, part.astype(np.int64), np.zeros(len(part), dtype=bool)))
        self.pairs.append((ids, totals.astype(np.int64), np.ones(len(totals), dtype=bool)))
        self.equal.append(np.full(len(totals), equal, dtype=bool))
        self.relation_count += len(totals)

    def link_parents(
        self, level: str, table: pd.DataFrame, parent_of: pd.Series, tables: Mapping[str, pd.DataFrame]
    ) -> None:
        """Children add up to their parent: the parent level's table, or known totals made here."""
        children = self._keys(level, table).assign(cell=self._cells_of(level))
        children["parent"] = children["unit"].map(parent_of.astype(str)).fillna(REGION).to_numpy()
        to_region = children["parent"] == REGION
        self._link_to(children[to_region], "region")
        parent_level = _parent_level(level, tables)
        self._link_to(children[~to_region], parent_level if parent_level is not None else f"{level}:parents")

    def _link_to(self, children: pd.DataFrame, block: str) -> None:
        if children.empty:
            return
        keys = ["parent", "category", "community"]
        existing = self._block_keys(block)
        if existing.empty:
            # A total not published here: the region's (published nowhere, so unknown to the
            # attacker) or a parent level's published elsewhere (known, never hidden here).
            values = (
                pd.DataFrame({"value": _values(self, children["cell"].to_numpy())})
                .groupby([children[k].to_numpy() for k in keys], sort=True)["value"]
                .sum()
            )
            frame = values.index.to_frame(index=False, name=["area_id", "category", "community"])
            kind = UNKNOWN if block == "region" else KNOWN
            self._add(values.to_numpy(dtype=float), kind, self._keys(block, frame))
            existing = self._block_keys(block)
        merged = children.merge(
            existing.rename(columns={"unit": "parent", "cell": "total"})[["parent", "category", "community", "total"]],
            on=keys,
            how="inner",
        )
        self._relate(merged["total"].to_numpy(), merged["cell"].to_numpy(), equal=True)

    def link_months(self, level: str, frame: pd.DataFrame, parent_of: pd.Series, *, months_complete: bool) -> None:
        """A unit's months add up to its total; a parent's month is the sum of its children's."""
        block = f"{level}:months"
        months = self._block_keys(block)
        totals = self._block_keys(level)[["unit", "category", "community", "cell"]].rename(columns={"cell": "total"})
        merged = months.merge(totals, on=["unit", "category", "community"], how="inner")
        self._relate(merged["total"].to_numpy(), merged["cell"].to_numpy(), equal=months_complete)
        parent_block = None
        for candidate in LEVELS[LEVELS.index(level) + 1 :] if level in LEVELS else ():
            if not self._block_keys(f"{candidate}:months").empty:
                parent_block = f"{candidate}:months"
                break
        if parent_block is None:
            return
        children = months.assign(parent=months["unit"].map(parent_of.astype(str)).to_numpy())
        parents = self._block_keys(parent_block).rename(columns={"unit": "parent", "cell": "total"})
        merged = children.merge(parents[["parent", "category", "community", "month", "total"]],
                                on=["parent", "category", "community", "month"], how="inner")  # fmt: skip
        self._relate(merged["total"].to_numpy(), merged["cell"].to_numpy(), equal=True)

    def link_communities(self) -> None:
        """A unit's ``all`` count is at least the sum of its communities', in every block."""
        keys = pd.concat(self.keys, ignore_index=True)
        everyone = keys[keys["community"] == ALL].rename(columns={"cell": "total"})
        listed = keys[keys["community"] != ALL]
        merged = listed.merge(
            everyone[["block", "unit", "category", "month", "total"]], on=["block", "unit", "category", "month"]
        )
        self._relate(merged["total"].to_numpy(), merged["cell"].to_numpy(), equal=False)

    def _cells_of(self, block: str) -> np.ndarray:
        return self._block_keys(block)["cell"].to_numpy(dtype=np.int64)

    def _block_keys(self, block: str) -> pd.DataFrame:
        for keys in self.keys:
            if len(keys) and keys["block"].iat[0] == block:
                return keys
        return pd.DataFrame(columns=["block", "unit", "category", "community", "month", "cell"])

    def month_frame(self) -> pd.DataFrame:
        if not self.month_rows:
            return pd.DataFrame(columns=["area_id", "category", "community", "month", "level", "cell"])
        return pd.concat(self.month_rows, ignore_index=True)

    def system(self) -> CellSystem:
        value = np.concatenate(self.values) if self.values else np.zeros(0, dtype=np.int64)
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


def cells_total(builder: _Builder, cells: slice) -> float:
    return float(np.concatenate(builder.values)[cells].sum())


def _values(builder: _Builder, cells: np.ndarray) -> np.ndarray:
    return np.concatenate(builder.values)[cells]


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
