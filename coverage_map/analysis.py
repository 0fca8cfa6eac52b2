"""The whole analysis as one call: inputs -> gap table and organisations table.

``analyse`` returns true figures for use inside the tool; ``published_table`` and
``published_assets`` are what may leave it (small-number suppression applied, rates
recomputed from published counts, no referral ids or coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from .access import AccessResult, measure_access, rollup_access
from .config import DEFAULT_THRESHOLD_KM, LEVELS
from .errors import CoverageMapError, Problem
from .freshness import STALE_MONTHS, stale_assets
from .gaps import GAP_COLUMNS, find_gaps
from .joins import Prepared, prepare
from .method import DEFAULT_METHOD, GapMethod
from .metrics import KEY, measure
from .model import Inputs, proposed_rows
from .protection import protect_tables
from .significance import cold_spots
from .suppress import published_counts

TABLE_COLUMNS = [
    "area_id", "area_name", "level", "category", "community",
    "population", "group_population", "need", "assets_in_area", "assets_reaching", "capacity_local",
    "referrals", "referrals_suppressed", "referrals_per_10k", "provision_per_10k",
    "access_per_10k", "access_ratio", "specific_access_per_10k",
    "nearest_km", "share_within_km", "pressure", "cold_spot", "q_value",
    "tier", "gap", "gap_reasons", "gap_score", "unmet_need",
]  # fmt: skip
#: The access and significance columns joined onto the measured table (not all are published).
ACCESS_COLUMNS = [
    "need", "access_per_10k", "access_ratio", "specific_access_per_10k", "provision_exists", "specific_exists",
]  # fmt: skip

ASSET_COLUMNS = [
    "asset_id", "name", "area_id", "area_name", "neighbourhood_id", "neighbourhood_name",
    "borough_id", "borough_name", "categories", "communities", "reach", "capacity",
    "accepting_referrals", "referrals", "referrals_suppressed", "referrals_per_month",
    "pressure", "over_capacity",
]  # fmt: skip


@dataclass(frozen=True)
class Analysis:
    """True (unsuppressed) results at one level."""

    level: str
    threshold_km: float
    period_months: float
    table: pd.DataFrame
    assets: pd.DataFrame
    units: gpd.GeoDataFrame
    problems: tuple[Problem, ...]
    #: unit id -> the id of the published total it is part of (next level up; ``ALL`` at the top)
    parent_of: pd.Series
    #: how access, significance and tiers were computed
    method: GapMethod = DEFAULT_METHOD
    #: per category x community: the region's supply, need and average access (the yardstick of ``access_ratio``)
    region: pd.DataFrame | None = None
    #: units with no neighbour at this level: never tested for clusters, never a cold spot
    islands: tuple[str, ...] = ()


def analyse(
    data: Inputs | Prepared,
    *,
    level: str = "area",
    threshold_km: float = DEFAULT_THRESHOLD_KM,
    method: GapMethod = DEFAULT_METHOD,
) -> Analysis:
    """Measure provision, demand and gaps for every unit × category × community.

    Parameters
    ----------
    data
        Validated inputs, or inputs already joined by :func:`coverage_map.joins.prepare`
        (reuse one ``Prepared`` to analyse several levels without joining again).
    level
        ``area`` (the small areas), ``neighbourhood`` or ``borough``; the last two need a lookup.
    threshold_km
        Distance that counts as "near" (``far`` gaps and ``share_within_km``).
    method
        Catchments, tier thresholds and the Gi* settings (see :class:`~coverage_map.method.GapMethod`).
    """
    prepared = data if isinstance(data, Prepared) else prepare(data)
    if level not in LEVELS:
        raise CoverageMapError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    if level not in prepared.levels:
        raise CoverageMapError(
            f"level '{level}' needs a lookup (--lookup) that groups small areas into neighbourhoods and boroughs"
        )
    if not np.isfinite(threshold_km) or threshold_km <= 0:
        raise CoverageMapError(f"the threshold must be a positive number of km, not {threshold_km}")
    access = area_access(prepared, method)
    stale_key = ("stale_listings", method.as_of)
    stale = prepared.memo.get(stale_key)
    if not isinstance(stale, frozenset):  # the same at every level analysed from these joined inputs
        stale = prepared.memo[stale_key] = stale_listings(prepared, method)
    measured = measure(prepared, level, threshold_km=threshold_km, stale=stale)
    table = _joined(measured, rollup_access(access.table, prepared.membership, level))
    clusters = cold_spots(
        table[[*KEY, "access_ratio"]],
        prepared.units[level],
        permutations=method.permutations,
        seed=method.seed,
        alpha=method.thresholds.q,
    )
    for column in ("gi_z", "q_value", "cold_spot"):
        table[column] = clusters.table[column].to_numpy()
    table = find_gaps(table, threshold_km=threshold_km, thresholds=method.thresholds)
    return Analysis(
        level=level,
        threshold_km=threshold_km,
        period_months=prepared.period_months,
        table=table,
        assets=_shared_asset_table(prepared),
        units=prepared.units[level],
        problems=(*prepared.problems, *access.problems),
        parent_of=_parents(prepared, level),
        method=method,
        region=access.region,
        islands=clusters.islands,
    )


def area_access(prepared: Prepared, method: GapMethod = DEFAULT_METHOD) -> AccessResult:
    """E2SFCA access of every small area (:func:`coverage_map.access.measure_access`), computed once per
    joined data and catchment and shared by every level analysed from it."""
    key = ("access", method.catchment_km, method.catchment_minutes)
    cached = prepared.memo.get(key)
    if isinstance(cached, AccessResult):
        return cached
    inputs = prepared.inputs
    result = measure_access(
        prepared,
        catchment_km=method.catchment_km,
        catchment_minutes=method.catchment_minutes,
        origins=getattr(inputs, "origins", None),
        travel_times=getattr(inputs, "travel_times", None),
    )
    prepared.memo[key] = result
    return result


def stale_listings(prepared: Prepared, method: GapMethod = DEFAULT_METHOD) -> frozenset[str]:
    """Ids of assets last verified more than 12 months before the data's date (see ``GapMethod.as_of``).

    Empty when the directory records no ``last_checked`` dates, or the data has no date at all.
    """
    assets = prepared.assets
    if "last_checked" not in assets.columns or assets.empty:
        return frozenset()
    as_of = method.as_of or data_date(prepared)
    if as_of is None:
        return frozenset()
    old = stale_assets(assets, today=as_of, months=STALE_MONTHS, unknown_is_stale=False)
    return frozenset(assets.loc[old.to_numpy(dtype=bool), "asset_id"].astype(str))


def data_date(prepared: Prepared) -> date | None:
    """The data's own date: the last day of the latest month with referrals, else the latest ``last_checked``.

    Referral dates count by month (the dask engine keeps only the month), so both engines agree.
    """
    referrals = prepared.referrals
    if len(referrals) and referrals["date"].notna().any():
        latest = pd.Timestamp(referrals["date"].max())
        return (latest + pd.offsets.MonthEnd(0)).date()
    if "last_checked" in prepared.assets.columns:
        checked = pd.to_datetime(
            prepared.assets["last_checked"].astype("string").str.slice(0, 10), format="%Y-%m-%d", errors="coerce"
        )
        if checked.notna().any():
            return pd.Timestamp(checked.max()).date()
    return None


def _joined(measured: pd.DataFrame, access: pd.DataFrame) -> pd.DataFrame:
    """The measured table with the access columns of the same unit x category x community.

    Both tables list every cell of the level; when they list them in the same order (the
    usual case) the columns are placed by position, else by merging on the key.
    """
    table = measured.copy(deep=False)
    same_order = len(measured) == len(access) and all(
        np.array_equal(measured[key].astype(str).to_numpy(), access[key].astype(str).to_numpy()) for key in KEY
    )
    if same_order:
        for column in ACCESS_COLUMNS:
            table[column] = access[column].to_numpy()
        return table
    keyed = access[[*KEY, *ACCESS_COLUMNS]].astype({key: "string" for key in KEY})
    merged = measured.astype({key: "string" for key in KEY}).merge(keyed, on=KEY, how="left", validate="one_to_one")
    for column in ("provision_exists", "specific_exists"):
        merged[column] = merged[column].astype("boolean").fillna(False).astype(bool)
    return merged


def _parents(prepared: Prepared, level: str) -> pd.Series:
    """Each unit's parent in the published hierarchy area -> neighbourhood -> borough -> all."""
    membership = prepared.membership
    if level == "borough" or (level == "area" and prepared.inputs.lookup is None):
        ids = prepared.units[level]["area_id"]
        return pd.Series("ALL", index=ids.to_numpy(), dtype="string")
    child, parent = ("area_id", "neighbourhood_id") if level == "area" else ("neighbourhood_id", "borough_id")
    pairs = membership.drop_duplicates(child)
    return pd.Series(pairs[parent].to_numpy(), index=pairs[child].to_numpy(), dtype="string")


def _shared_asset_table(prepared: Prepared) -> pd.DataFrame:
    """:func:`asset_table`, made once per joined data and shared by every level's analysis (never changed)."""
    cached = prepared.memo.get("asset_table")
    if not isinstance(cached, pd.DataFrame):
        cached = prepared.memo["asset_table"] = asset_table(prepared)
    return cached


def asset_table(prepared: Prepared) -> pd.DataFrame:
    """Per asset: where it is, its capacity, referrals received and pressure (true counts).

    Sorted by pressure, highest first, so over-capacity organisations come first.
    """
    assets = prepared.assets.merge(prepared.membership, on="area_id", how="left")
    names = prepared.units["area"].set_index("area_id")["area_name"]
    referrals = prepared.referrals
    received = (
        referrals["count"].groupby(referrals["asset_id"]).sum()  # (missing asset ids are left out)
        if len(referrals)
        else pd.Series(dtype="int64")
    )
    table = pd.DataFrame(
        {
            "asset_id": assets["asset_id"],
            "name": assets["name"],
            "area_id": assets["area_id"],
            "area_name": assets["area_id"].map(names),
            "neighbourhood_id": assets["neighbourhood_id"],
            "neighbourhood_name": assets["neighbourhood_name"],
            "borough_id": assets["borough_id"],
            "borough_name": assets["borough_name"],
            "categories": assets["categories"].map(";".join),
            "communities": assets["communities"].map(";".join),
            "reach": [
                f"{km:g} km" if reach == "radius" else reach
                for reach, km in zip(assets["reach"], assets["reach_km"], strict=True)
            ],
            "capacity": assets["capacity"].astype(float),
            "accepting_referrals": assets["accepting_referrals"],
            "referrals": assets["asset_id"].map(received).fillna(0).astype("int64"),
        }
    )
    if "proposed" in assets.columns:  # a scenario's hypothetical services (coverage_map.scenario)
        table["proposed"] = proposed_rows(assets)
    table["referrals_per_month"] = table["referrals"] / prepared.period_months
    table["pressure"] = table["referrals_per_month"] / table["capacity"].where(table["capacity"] > 0)
    table["over_capacity"] = (table["pressure"] > 1).fillna(False).astype(bool)
    table = table.sort_values(["pressure", "asset_id"], ascending=[False, True], na_position="last")
    return table.reset_index(drop=True)


def published_table(analysis: Analysis, *, suppress: bool = True, hidden: np.ndarray | None = None) -> pd.DataFrame:
    """The gap table as it may leave the tool, in the documented column order.

    With ``suppress`` (the default) referral counts follow NHS small-number suppression,
    with complementary suppression so that no hidden count can be narrowed below five
    possible values from the published figures (see :mod:`coverage_map.disclosure`), and
    the rates derived from them are recomputed from the published counts.

    Parameters
    ----------
    analysis
        The true analysis of one level.
    suppress
        Apply suppression (the default); False gives true counts, for analysts only.
    hidden
        Which rows of ``analysis.table`` to suppress, as chosen for everything published
        from the data set at once (:meth:`coverage_map.dataset.Dataset.protection`). Without
        it the table is protected on its own, against its parents' totals.
    """
    table = analysis.table.copy(deep=False)  # columns are replaced, never changed in place
    if suppress:
        published, _ = published_counts(table["referrals"])
        if hidden is None:
            hidden = protect_tables({analysis.level: table}, {analysis.level: analysis.parent_of}).table_hidden(
                analysis.level
            )
        flag = pd.Series(np.asarray(hidden, dtype=bool), index=table.index, name="referrals_suppressed")
        table["referrals"] = published.mask(flag)
        table["referrals_suppressed"] = flag.to_numpy()
        per_10k = 10_000 / table["group_population"].where(table["group_population"] > 0)
        table["referrals_per_10k"] = table["referrals"].astype("Float64") * per_10k
        monthly = table["referrals"].astype("Float64") / analysis.period_months
        table["pressure"] = monthly / table["capacity_local"].where(table["capacity_local"] > 0)
        table = _published_gaps(table, analysis)
    else:
        table["referrals_suppressed"] = False
    table = _round(table)
    return _sorted(table[TABLE_COLUMNS], KEY)


def published_assets(analysis: Analysis, *, suppress: bool = True, hidden: np.ndarray | None = None) -> pd.DataFrame:
    """The organisations table as it may leave the tool (see :func:`published_table`).

    ``hidden`` (rows of ``analysis.assets``) comes from the data set's protection; without
    it the counts 1-7 are hidden (no total of organisations' referrals is published).
    """
    table = analysis.assets.copy(deep=False)
    if suppress:
        published, flag = published_counts(table["referrals"])
        if hidden is not None:
            flag = pd.Series(np.asarray(hidden, dtype=bool), index=table.index, name="referrals_suppressed")
        table["referrals"] = published.mask(flag)
        table["referrals_suppressed"] = flag.to_numpy()
        table["referrals_per_month"] = table["referrals"].astype("Float64") / analysis.period_months
        table["pressure"] = table["referrals_per_month"] / table["capacity"].where(table["capacity"] > 0)
        # Over capacity, and the order, from the published pressure: the true one would tell a
        # suppressed count's size (more than capacity x months) or rank it against another.
        table["over_capacity"] = (table["pressure"] > 1).fillna(False).astype(bool)
        table = table.sort_values(["pressure", "asset_id"], ascending=[False, True], na_position="last")
    else:
        table["referrals_suppressed"] = False
    # A scenario's table says which services are proposed; without one the columns stay as documented.
    proposed = ["proposed"] if "proposed" in table.columns and table["proposed"].any() else []
    return _round(table)[[*ASSET_COLUMNS, *proposed]].reset_index(drop=True)


def _published_gaps(table: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """Tiers, gap flags, reasons and scores worked out again from the published referral figures.

    The true ``over_capacity`` says ``referrals > capacity x months`` and moves a unit into
    the ``watch`` tier: with the other (public) figures it would narrow a suppressed count,
    or the exact count behind a rounded one. Unmet demand needs only "some referrals or
    none", which suppression does not hide. Access, need and significance do not come from
    referrals and are published as they are.
    """
    basis = table.drop(columns=GAP_COLUMNS)
    basis["referrals"] = (pd.to_numeric(analysis.table["referrals"]).fillna(0).to_numpy(dtype=float) > 0).astype(
        "int64"
    )
    basis["pressure"] = table["pressure"].astype("Float64").astype(float)
    recomputed = find_gaps(basis, threshold_km=analysis.threshold_km, thresholds=analysis.method.thresholds)
    result = table.copy(deep=False)
    for column in ("tier", "gap", "gap_score", "unmet_need"):
        result[column] = recomputed[column].to_numpy()
    # The text as its numpy (object) array would be stored, ``str``, without building millions of Python strings.
    result["gap_reasons"] = recomputed["gap_reasons"].astype("str").array
    return result


def _sorted(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``table.sort_values(keys, kind="stable")`` with a fresh index, without reordering a table already in order.

    Tables from :func:`~coverage_map.metrics.measure` are already sorted by ``KEY``; checking
    costs a fraction of sorting (and copying) millions of rows. The check ranks each key as
    ``sort_values`` does (the codes of an ordered ``Categorical``, missing values last), so
    "in order" means exactly that the stable sort would leave every row where it is.
    """
    ascending = np.ones(max(len(table) - 1, 0), dtype=bool)
    tied = np.ones(max(len(table) - 1, 0), dtype=bool)
    for key in keys:
        ranked = pd.Categorical(table[key], ordered=True)
        codes = np.where(ranked.codes < 0, len(ranked.categories), ranked.codes)
        ascending &= ~tied | (codes[1:] >= codes[:-1])
        tied &= codes[1:] == codes[:-1]
    if not ascending.all():
        table = table.sort_values(keys, kind="stable")
    return table.reset_index(drop=True)


def _round(table: pd.DataFrame) -> pd.DataFrame:
    decimals = {
        "referrals_per_10k": 2, "provision_per_10k": 2, "nearest_km": 3, "share_within_km": 3,
        "pressure": 3, "referrals_per_month": 2, "population": 0, "group_population": 0,
        "need": 1, "access_per_10k": 2, "access_ratio": 3, "specific_access_per_10k": 2, "q_value": 4,
        "unmet_need": 1,
    }  # fmt: skip
    for column, places in decimals.items():
        if column in table:
            table[column] = pd.to_numeric(table[column]).astype("Float64").round(places)
    return table


def with_geometry(table: pd.DataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Attach each unit's polygon to a (published) table, for spatial output formats."""
    merged = table.merge(units[["area_id", "geometry"]], on="area_id", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=units.crs)
