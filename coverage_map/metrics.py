"""Provision, distance, demand and pressure for every unit × need category × community.

One function, :func:`measure`, does every level: small-area figures are computed once
and higher levels (neighbourhood, borough) are built from them, so a neighbourhood is
always consistent with the small areas inside it.

Definitions (``group`` = the row's community; ``all`` means everybody):

* ``assets_in_area`` — distinct assets located in the unit that list the category and,
  unless ``all``, explicitly list the community;
* ``assets_reaching`` — distinct such assets whose reach covers at least one small area
  of the unit (an asset always reaches its own area; see :func:`~coverage_map.joins.reach_pairs`);
* ``capacity_local`` — summed monthly capacity of ``assets_in_area`` (NaN when none of
  them states a capacity);
* ``referrals`` — referrals originating in the unit for the category (and community);
* ``referrals_per_10k`` and ``provision_per_10k`` (from ``assets_reaching``) — per
  10,000 of ``group_population``;
* ``nearest_km`` — for a small area, the straight-line distance from its centroid to the
  nearest matching asset anywhere (NaN when there is none); above that level, the mean
  over its small areas weighted by ``group_population`` (equal weights without population);
* ``share_within_km`` — share of ``group_population`` living in small areas whose
  centroid is within the threshold of a matching asset;
* ``pressure`` — monthly referrals (``referrals / period_months``) divided by
  ``capacity_local``, because capacity is a number of referrals per month; NaN when there
  is no capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .joins import Prepared, unit_of

ALL = "all"
KEY = ["area_id", "category", "community"]
METRIC_COLUMNS = [
    "population",
    "group_population",
    "assets_in_area",
    "assets_reaching",
    "capacity_local",
    "referrals",
    "referrals_per_10k",
    "provision_per_10k",
    "nearest_km",
    "share_within_km",
    "pressure",
]


def asset_offers(assets: pd.DataFrame, communities: tuple[str, ...]) -> pd.DataFrame:
    """One row per (asset, category, community) an asset counts towards.

    Every asset counts towards ``all`` for each of its categories; it counts towards a
    community only when it lists that community explicitly.
    """
    rows: list[tuple[str, str, str]] = []
    wanted = set(communities)
    for asset_id, categories, listed in zip(
        assets["asset_id"], assets["categories"], assets["communities"], strict=True
    ):
        groups = [ALL, *(c for c in listed if c in wanted)]
        rows.extend((asset_id, category, group) for category in categories for group in groups)
    return pd.DataFrame(rows, columns=["asset_id", "category", "community"], dtype="string")


def _grid(unit_ids: pd.Series, categories: tuple[str, ...], communities: tuple[str, ...]) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([unit_ids.astype("string"), list(categories), [ALL, *communities]], names=KEY)
    return index.to_frame(index=False).astype("string")


def _positions(index: pd.Index, values: pd.Series | np.ndarray, via: pd.Series | None = None) -> np.ndarray:
    """Position in ``index`` of each value (mapped through ``via`` first), -1 when absent.

    Values are factorised first, so the text lookups run once per distinct value rather
    than once per row (millions of referrals, a few thousand areas).
    """
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    mapped = pd.Series(np.asarray(uniques, dtype=object)) if via is None else pd.Series(uniques).map(via)
    found = index.get_indexer(np.asarray(mapped.astype(object).where(mapped.notna(), None), dtype=object))
    return np.where(codes >= 0, found[codes], -1)


class _Cells:
    """Integer positions of the unit × category × community cells, in ``KEY`` order.

    Every per-cell figure lives in a flat array indexed by
    ``unit * (C * G) + category * G + community`` (units, categories and communities
    each sorted), so figures are summed with :func:`numpy.bincount` and placed without
    merging on three text columns, which dominated the run time at national scale.
    """

    def __init__(self, unit_ids: pd.Series, categories: tuple[str, ...], communities: tuple[str, ...]) -> None:
        self.units = pd.Index(np.asarray(unit_ids, dtype=object))
        self.categories = pd.Index(sorted(categories), dtype=object)
        self.communities = pd.Index(sorted({ALL, *communities}), dtype=object)
        self.pairs = len(self.categories) * len(self.communities)
        self.size = len(self.units) * self.pairs

    def unit_code(self, area_ids: pd.Series | np.ndarray, to_unit: pd.Series) -> np.ndarray:
        """Position of the unit containing each small area (-1 when missing or unknown)."""
        return _positions(self.units, area_ids, to_unit)

    def pair_code(self, categories: pd.Series | np.ndarray, communities: pd.Series | np.ndarray) -> np.ndarray:
        """``category * G + community``, or -1 when either is not in the grid."""
        category = _positions(self.categories, categories)
        community = _positions(self.communities, communities)
        return np.where((category >= 0) & (community >= 0), category * len(self.communities) + community, -1)

    def position(self, unit: np.ndarray, pair: np.ndarray) -> np.ndarray:
        return np.where((unit >= 0) & (pair >= 0), unit * self.pairs + pair, -1)

    def frame(self) -> pd.DataFrame:
        """The cells as ``area_id, category, community`` text columns, sorted by ``KEY``."""
        g, n = len(self.communities), len(self.units)
        # Each distinct text is converted once and repeated by position (in Arrow), not
        # converted again for every one of millions of cells.
        return pd.DataFrame(
            {
                "area_id": self.per_unit(pd.array(self.units.to_numpy(), dtype="string")),
                "category": pd.array(self.categories.to_numpy(), dtype="string").take(
                    np.tile(np.repeat(np.arange(len(self.categories)), g), n)
                ),
                "community": pd.array(self.communities.to_numpy(), dtype="string").take(
                    np.tile(np.arange(g), n * len(self.categories))
                ),
            }
        )

    def per_unit(self, values: pd.api.extensions.ExtensionArray) -> pd.api.extensions.ExtensionArray:
        """A value per unit repeated for each of the unit's cells."""
        return values.take(np.repeat(np.arange(len(self.units)), self.pairs))

    def total(self, position: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` (or the number of rows) per cell; positions of -1 are left out."""
        keep = position >= 0
        kept = None if weights is None else np.asarray(weights, dtype=float)
        if not keep.all():  # (copying millions of positions only when some are left out)
            position = position[keep]
            kept = None if kept is None else kept[keep]
        return np.bincount(position, weights=kept, minlength=self.size).astype(float)

    def total_min_count(self, position: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Like pandas' ``sum(min_count=1)``: NaN where a cell has no known value."""
        values = np.asarray(values, dtype=float)
        known = ~np.isnan(values)
        sums = self.total(position[known], values[known])
        counts = self.total(position[known])
        return np.where(counts > 0, sums, np.nan)


def _area_population(prepared: Prepared, area_ids: np.ndarray, groups: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per small area: the population (A,) and the population of each community (A, G)."""
    population = prepared.inputs.population
    if population is None:
        return np.full(len(area_ids), np.nan), np.full((len(area_ids), len(groups)), np.nan)
    aligned = population.drop_duplicates("area_id").set_index("area_id").reindex(area_ids)
    total = aligned["population"].to_numpy(dtype=float)
    by_group = [total if group == ALL else aligned[f"pop_{group}"].to_numpy(dtype=float) for group in groups]
    return total, np.column_stack(by_group)


def _area_nearest(prepared: Prepared, offers: pd.DataFrame, cells: _Cells) -> np.ndarray:
    """Small area × (category, community) pair (A, C*G): km from centroid to the nearest matching asset.

    The same at every level (the levels roll it up), so it is worked out once per joined data
    and kept in ``prepared.memo`` (read-only: a copy is never needed, the caller only reads it).
    """
    key = ("area_nearest", tuple(cells.categories), tuple(cells.communities))
    cached = prepared.memo.get(key)
    if isinstance(cached, np.ndarray):
        return cached
    nearest = _nearest_km(prepared, offers, cells)
    nearest.flags.writeable = False
    prepared.memo[key] = nearest
    return nearest


def _nearest_km(prepared: Prepared, offers: pd.DataFrame, cells: _Cells) -> np.ndarray:
    """:func:`_area_nearest`, computed."""
    areas = prepared.units["area"]
    centroids = np.column_stack([areas["centroid_x"].to_numpy(), areas["centroid_y"].to_numpy()])
    nearest = np.full((len(areas), cells.pairs), np.nan)
    located = prepared.assets
    xy = np.column_stack([located.geometry.x.to_numpy(), located.geometry.y.to_numpy()])
    asset = _positions(pd.Index(np.asarray(located["asset_id"], dtype=object)), offers["asset_id"])
    pair = cells.pair_code(offers["category"], offers["community"])
    keep = (asset >= 0) & (pair >= 0)
    order = np.argsort(pair[keep], kind="stable")
    asset, pair = asset[keep][order], pair[keep][order]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.array([], dtype=int)
    for start, stop in zip(starts, [*starts[1:], len(pair)], strict=True):
        distance, _ = cKDTree(xy[asset[start:stop]]).query(centroids, k=1)
        nearest[:, pair[start]] = distance / 1000.0
    return nearest


def _referral_totals(referrals: pd.DataFrame, unit: np.ndarray, cells: _Cells) -> np.ndarray:
    """Referral counts per cell; ``all`` counts every community."""
    if referrals.empty:
        return np.zeros(cells.size)
    count = referrals["count"].to_numpy(dtype=float)
    category = _positions(cells.categories, referrals["category"])
    g = len(cells.communities)
    everyone = cells.position(unit, np.where(category >= 0, category * g + cells.communities.get_loc(ALL), -1))
    community = _positions(cells.communities, referrals["community"])
    community = np.where(community == cells.communities.get_loc(ALL), -1, community)
    specific = cells.position(unit, np.where((category >= 0) & (community >= 0), category * g + community, -1))
    return cells.total(everyone, count) + cells.total(specific, count)


def measure(
    prepared: Prepared, level: str, *, threshold_km: float, stale: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Every metric for every unit × category × community at ``level`` (true, unsuppressed).

    Parameters
    ----------
    prepared
        Inputs joined to geography by :func:`coverage_map.joins.prepare`.
    level
        ``area``, ``neighbourhood`` or ``borough``.
    threshold_km
        Distance within which a matching asset counts as near, for ``share_within_km``.
    stale
        Ids of assets whose directory entry is out of date: ``stale_reaching`` counts the
        matching ones among ``assets_reaching``.

    Returns
    -------
    pandas.DataFrame
        Columns ``area_id``, ``area_name``, ``level``, ``category``, ``community`` and
        :data:`METRIC_COLUMNS`, sorted by ``area_id, category, community``.
    """
    if threshold_km <= 0:
        raise ValueError(f"threshold_km must be positive, not {threshold_km}")
    inputs = prepared.inputs
    communities = inputs.community_labels
    categories = inputs.taxonomy.categories.labels
    units = prepared.units[level]
    to_unit = unit_of(prepared.membership, level)

    offers_key = ("asset_offers", tuple(communities))
    offers = prepared.memo.get(offers_key)
    if not isinstance(offers, pd.DataFrame):  # the same at every level: made once per joined data
        offers = asset_offers(prepared.assets, communities).drop_duplicates()
        prepared.memo[offers_key] = offers
    cells = _Cells(units["area_id"], categories, communities)
    table = cells.frame()
    for name, values in _people_and_distance(prepared, offers, cells, to_unit, threshold_km).items():
        table[name] = values
    for name, values in _provision(prepared, offers, cells, to_unit, stale).items():
        table[name] = values

    # Demand.
    referrals = prepared.referrals
    referral_unit = cells.unit_code(referrals["area_id"], to_unit)
    table["referrals"] = _referral_totals(referrals, referral_unit, cells).astype("int64")

    per_10k = 10_000 / table["group_population"].where(table["group_population"] > 0)
    table["referrals_per_10k"] = table["referrals"] * per_10k
    table["provision_per_10k"] = table["assets_reaching"] * per_10k
    monthly = table["referrals"] / prepared.period_months
    table["pressure"] = monthly / table["capacity_local"].where(table["capacity_local"] > 0)

    names = units.set_index("area_id")["area_name"]
    table["area_name"] = cells.per_unit(pd.Series(cells.units).map(names).astype("string").array)
    table["level"] = level
    return table[["area_id", "area_name", "level", "category", "community", *METRIC_COLUMNS, "stale_reaching"]]


def _people_and_distance(
    prepared: Prepared, offers: pd.DataFrame, cells: _Cells, to_unit: pd.Series, threshold_km: float
) -> dict[str, np.ndarray]:
    """``population``, ``group_population``, ``nearest_km`` and ``share_within_km`` per cell.

    Small-area figures summed, or weighted by the group's population, up to the level.
    """
    area_ids = prepared.units["area"]["area_id"].to_numpy(dtype=object)
    area_unit = cells.unit_code(area_ids, to_unit)
    total_pop, group_pop = _area_population(prepared, area_ids, cells.communities)
    near = _area_nearest(prepared, offers, cells)  # (A, C*G)
    gpop = group_pop[:, np.tile(np.arange(len(cells.communities)), len(cells.categories))]
    base_position = cells.position(np.repeat(area_unit, cells.pairs), np.tile(np.arange(cells.pairs), len(area_ids)))

    known = ~np.isnan(near)
    within = (near <= threshold_km).astype(float)
    has_population = bool((~np.isnan(gpop)).any())
    weight = np.nan_to_num(gpop, nan=0.0) if has_population else np.ones_like(near)
    near_or_zero = np.nan_to_num(near, nan=0.0)
    parts = {
        "w_near": np.where(known, weight * near_or_zero, 0.0),
        "w_known": np.where(known, weight, 0.0),
        "w_within": weight * within,
        "weight": weight,
        "missing_near": (~known).astype(float),
        "one": np.ones_like(near),
        "near_or_zero": near_or_zero,
        "within": within,
    }
    rolled = {name: cells.total(base_position, values.ravel()) for name, values in parts.items()}
    # Where nobody in the group lives, fall back to equal weights so a unit still shows
    # how far provision is (its rates stay empty).
    no_weight = rolled["weight"] <= 0
    for weighted, equal in (("w_near", "near_or_zero"), ("w_known", "one"), ("w_within", "within"), ("weight", "one")):
        rolled[weighted] = np.where(no_weight, rolled[equal], rolled[weighted])
    present = rolled["one"] > 0  # every unit has small areas; kept for safety
    figures = {
        "population": np.where(
            present, cells.total_min_count(base_position, np.repeat(total_pop, cells.pairs)), np.nan
        ),
        "group_population": np.where(present, cells.total_min_count(base_position, gpop.ravel()), np.nan),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        # A unit with any small area that has no matching asset anywhere has no finite mean.
        figures["nearest_km"] = np.where(
            ~present | (rolled["missing_near"] > 0) | (rolled["w_known"] <= 0),
            np.nan,
            rolled["w_near"] / np.where(rolled["w_known"] > 0, rolled["w_known"], np.nan),
        )
        figures["share_within_km"] = np.where(
            present, rolled["w_within"] / np.where(rolled["weight"] > 0, rolled["weight"], np.nan), np.nan
        )
    return figures


def _provision(
    prepared: Prepared, offers: pd.DataFrame, cells: _Cells, to_unit: pd.Series, stale: frozenset[str]
) -> dict[str, np.ndarray]:
    """``assets_in_area``, ``capacity_local``, ``assets_reaching`` and ``stale_reaching`` per cell.

    Offers are unique per asset and cell; citywide assets reach every unit.
    """
    assets = prepared.assets
    asset_index = pd.Index(np.asarray(assets["asset_id"], dtype=object))
    offered = pd.DataFrame(
        {
            "asset": _positions(asset_index, offers["asset_id"]),
            "pair": cells.pair_code(offers["category"], offers["community"]),
        }
    )
    offered = offered[(offered["asset"] >= 0) & (offered["pair"] >= 0)]
    asset_unit = cells.unit_code(assets["area_id"], to_unit)
    in_position = cells.position(asset_unit[offered["asset"].to_numpy()], offered["pair"].to_numpy())
    capacity = assets["capacity"].to_numpy(dtype=float)[offered["asset"].to_numpy()]

    reach = pd.DataFrame(
        {
            "asset": _positions(asset_index, prepared.local_reach["asset_id"]),
            "unit": cells.unit_code(prepared.local_reach["area_id"], to_unit),
        }
    )
    reach = reach[(reach["asset"] >= 0) & (reach["unit"] >= 0)].drop_duplicates()
    reaching = offered.merge(reach, on="asset")
    citywide = offered[offered["asset"].isin(asset_index.get_indexer(list(prepared.citywide)))]

    def reaching_count(chosen: np.ndarray) -> np.ndarray:
        """Assets (where ``chosen``) reaching each cell: local reach pairs plus every citywide one."""
        local = reaching[chosen[reaching["asset"].to_numpy()]]
        city = citywide[chosen[citywide["asset"].to_numpy()]]
        everywhere = np.bincount(city["pair"].to_numpy(), minlength=cells.pairs).astype(float)
        counted = cells.total(cells.position(local["unit"].to_numpy(), local["pair"].to_numpy()))
        return (counted + np.tile(everywhere, len(cells.units))).astype("int64")

    is_stale = np.zeros(len(asset_index), dtype=bool)
    stale_positions = asset_index.get_indexer(sorted(stale))
    is_stale[stale_positions[stale_positions >= 0]] = True
    return {
        "assets_in_area": cells.total(in_position).astype("int64"),
        "capacity_local": cells.total_min_count(in_position, capacity),
        "assets_reaching": reaching_count(np.ones(len(asset_index), dtype=bool)),
        "stale_reaching": reaching_count(is_stale),
    }


def grid_for_areas(prepared: Prepared, categories: tuple[str, ...], communities: tuple[str, ...]) -> pd.DataFrame:
    """The small-area grid of area × category × community."""
    return _grid(prepared.units["area"]["area_id"], categories, communities)
