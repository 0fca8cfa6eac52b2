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
    index = pd.MultiIndex.from_product(
        [unit_ids.astype("string"), list(categories), [ALL, *communities]], names=KEY
    )
    return index.to_frame(index=False).astype("string")


def _base_population(prepared: Prepared) -> pd.DataFrame:
    """Small area x community population, long: area_id, community, population, group_population."""
    areas = prepared.units["area"][["area_id"]]
    population = prepared.inputs.population
    communities = prepared.inputs.community_labels
    if population is None:
        frame = areas.assign(population=np.nan)
    else:
        frame = areas.merge(population, on="area_id", how="left")
    long = [frame[["area_id", "population"]].assign(community=ALL, group_population=frame["population"])]
    for community in communities:
        long.append(
            frame[["area_id", "population"]].assign(community=community, group_population=frame[f"pop_{community}"])
        )
    return pd.concat(long, ignore_index=True).astype({"area_id": "string", "community": "string"})


def _base_nearest(prepared: Prepared, offers: pd.DataFrame) -> pd.DataFrame:
    """Small area x category x community distance (km) from centroid to the nearest matching asset."""
    areas = prepared.units["area"]
    centroids = np.column_stack([areas["centroid_x"].to_numpy(), areas["centroid_y"].to_numpy()])
    located = prepared.assets.set_index("asset_id")
    xy = np.column_stack([located.geometry.x.to_numpy(), located.geometry.y.to_numpy()])
    position = pd.Series(np.arange(len(located)), index=located.index)
    frames = []
    for (category, community), group in offers.groupby(["category", "community"], sort=True):
        tree = cKDTree(xy[position.loc[group["asset_id"].to_numpy()].to_numpy()])
        distance, _ = tree.query(centroids, k=1)
        frames.append(
            pd.DataFrame(
                {
                    "area_id": areas["area_id"].to_numpy(),
                    "category": category,
                    "community": community,
                    "nearest_km": distance / 1000.0,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in KEY}).assign(nearest_km=pd.Series(dtype=float))
    return pd.concat(frames, ignore_index=True).astype({c: "string" for c in KEY})


def _referral_counts(referrals: pd.DataFrame, communities: tuple[str, ...]) -> pd.DataFrame:
    """Small area x category x community referral counts (``all`` counts every community)."""
    if referrals.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in KEY}).assign(referrals=pd.Series(dtype=float))
    everyone = referrals.assign(community=ALL)
    specific = referrals[referrals["community"].isin(communities)]
    stacked = pd.concat([everyone, specific], ignore_index=True).astype({c: "string" for c in KEY})
    return stacked.groupby(KEY, as_index=False, observed=True)["count"].sum().rename(columns={"count": "referrals"})


def measure(prepared: Prepared, level: str, *, threshold_km: float) -> pd.DataFrame:
    """Every metric for every unit × category × community at ``level`` (true, unsuppressed).

    Parameters
    ----------
    prepared
        Inputs joined to geography by :func:`coverage_map.joins.prepare`.
    level
        ``area``, ``neighbourhood`` or ``borough``.
    threshold_km
        Distance within which a matching asset counts as near, for ``share_within_km``.

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

    offers = asset_offers(prepared.assets, communities)
    grid = _grid(units["area_id"], categories, communities)

    # Population and small-area figures, summed or weighted up to the level.
    base_pop = _base_population(prepared)
    base = (
        grid_for_areas(prepared, categories, communities)
        .merge(base_pop, on=["area_id", "community"], how="left")
        .merge(_base_nearest(prepared, offers), on=KEY, how="left")
    )
    base["unit_id"] = base["area_id"].map(to_unit).astype("string")
    base["within"] = (base["nearest_km"] <= threshold_km).astype(float)
    has_population = base["group_population"].notna().any()
    weight = base["group_population"].fillna(0.0) if has_population else pd.Series(1.0, index=base.index)
    base["weight"] = weight
    base["w_near"] = np.where(base["nearest_km"].notna(), weight * base["nearest_km"].fillna(0.0), 0.0)
    base["w_known"] = np.where(base["nearest_km"].notna(), weight, 0.0)
    base["w_within"] = weight * base["within"]
    base["missing_near"] = base["nearest_km"].isna()
    base["one"] = 1.0
    base["near_or_zero"] = base["nearest_km"].fillna(0.0)
    grouped = base.groupby(["unit_id", "category", "community"], observed=True)
    rolled = grouped[
        ["w_near", "w_known", "w_within", "weight", "missing_near", "one", "near_or_zero", "within"]
    ].sum()
    # Where nobody in the group lives, fall back to equal weights so a unit still shows
    # how far provision is (its rates stay empty).
    no_weight = rolled["weight"] <= 0
    rolled.loc[no_weight, "w_near"] = rolled.loc[no_weight, "near_or_zero"]
    rolled.loc[no_weight, "w_known"] = rolled.loc[no_weight, "one"]
    rolled.loc[no_weight, "w_within"] = rolled.loc[no_weight, "within"]
    rolled.loc[no_weight, "weight"] = rolled.loc[no_weight, "one"]
    rolled[["population", "group_population"]] = grouped[["population", "group_population"]].sum(min_count=1)
    rolled = rolled.reset_index().rename(columns={"unit_id": "area_id"})
    # A unit with any small area that has no matching asset anywhere has no finite mean.
    rolled["nearest_km"] = np.where(
        (rolled["missing_near"] > 0) | (rolled["w_known"] <= 0),
        np.nan,
        rolled["w_near"] / rolled["w_known"].where(rolled["w_known"] > 0),
    )
    rolled["share_within_km"] = rolled["w_within"] / rolled["weight"].where(rolled["weight"] > 0)

    table = grid.merge(
        rolled[KEY + ["population", "group_population", "nearest_km", "share_within_km"]], on=KEY, how="left"
    )

    # Provision located in, and reaching, each unit.
    located = prepared.assets[["asset_id", "area_id", "capacity"]].assign(
        unit_id=lambda f: f["area_id"].map(to_unit)
    )
    in_unit = offers.merge(located[["asset_id", "unit_id", "capacity"]], on="asset_id")
    in_grouped = in_unit.groupby(["unit_id", "category", "community"], observed=True)
    in_counts = pd.DataFrame(
        {
            "assets_in_area": in_grouped["asset_id"].nunique(),
            "capacity_local": in_grouped["capacity"].sum(min_count=1),
        }
    )
    reach = prepared.local_reach.assign(unit_id=lambda f: f["area_id"].map(to_unit))[["asset_id", "unit_id"]]
    reaching = offers.merge(reach.drop_duplicates(), on="asset_id")
    reach_counts = reaching.groupby(["unit_id", "category", "community"], observed=True).agg(
        assets_reaching=("asset_id", "nunique")
    )
    for counts in (in_counts, reach_counts):
        counts.index = counts.index.set_names(KEY)
        table = table.merge(counts.reset_index().astype({c: "string" for c in KEY}), on=KEY, how="left")
    table["assets_in_area"] = table["assets_in_area"].fillna(0).astype("int64")
    # Citywide assets reach every unit: add their count per category x community.
    citywide = offers[offers["asset_id"].isin(prepared.citywide)]
    everywhere = citywide.groupby(["category", "community"], observed=True)["asset_id"].nunique()
    everywhere = everywhere.rename("citywide").reset_index().astype({"category": "string", "community": "string"})
    table = table.merge(everywhere, on=["category", "community"], how="left")
    table["assets_reaching"] = (table["assets_reaching"].fillna(0) + table["citywide"].fillna(0)).astype("int64")
    table = table.drop(columns="citywide")

    # Demand.
    referrals = prepared.referrals.assign(area_id=lambda f: f["area_id"].map(to_unit))
    counts = _referral_counts(referrals, communities)
    table = table.merge(counts, on=KEY, how="left")
    table["referrals"] = table["referrals"].fillna(0).astype("int64")

    per_10k = 10_000 / table["group_population"].where(table["group_population"] > 0)
    table["referrals_per_10k"] = table["referrals"] * per_10k
    table["provision_per_10k"] = table["assets_reaching"] * per_10k
    monthly = table["referrals"] / prepared.period_months
    table["pressure"] = monthly / table["capacity_local"].where(table["capacity_local"] > 0)

    names = units.set_index("area_id")["area_name"]
    table["area_name"] = table["area_id"].map(names).astype("string")
    table["level"] = level
    table = table[["area_id", "area_name", "level", "category", "community", *METRIC_COLUMNS]]
    return table.sort_values(KEY, kind="stable").reset_index(drop=True)


def grid_for_areas(prepared: Prepared, categories: tuple[str, ...], communities: tuple[str, ...]) -> pd.DataFrame:
    """The small-area grid of area × category × community."""
    return _grid(prepared.units["area"]["area_id"], categories, communities)
