"""Pure helpers behind the callbacks: what to draw for a view, tested without Dash.

Everything here reads the *published* tables (suppressed referral counts) except
:func:`area_details`, which reads true referral records to build a monthly trend and
hands them to :func:`coverage_map.figures.referral_trend_figure`, which suppresses every
month before a number reaches the figure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from coverage_map import figures
from coverage_map.analysis import TABLE_COLUMNS
from coverage_map.freshness import Freshness, asset_freshness, summarise, verified_text
from coverage_map.gaps import explain
from coverage_map.io import write_any
from coverage_map.taxonomy import display_name

from .registry import Loaded, Registry
from .state import ALL, CONTROL_IDS, GEOMETRY_FIELDS, LEVEL_NAMES, ViewState

#: Triggers after which the browser must get the whole figure (geometry included).
FULL_FIGURE_TRIGGERS = {CONTROL_IDS[f] for f in GEOMETRY_FIELDS} | {"data-token"}


# --------------------------------------------------------------------------- the view


def view_rows(dataset: object, state: ViewState) -> pd.DataFrame:
    """Published rows for the state's level × category × community, inside its borough."""
    borough = state.borough if state.borough != ALL and "neighbourhood" in dataset.levels else None  # type: ignore[attr-defined]
    return dataset.rows(state.level, state.category, state.community, borough=borough)  # type: ignore[attr-defined]


def borough_name(dataset: object, borough_id: str) -> str | None:
    if borough_id == ALL:
        return None
    boroughs = dataset.boroughs  # type: ignore[attr-defined]
    match = boroughs[boroughs["borough_id"].astype(str) == borough_id]
    return str(match["borough_name"].iloc[0]) if len(match) else None


def map_assets(registry: Registry, loaded: Loaded, state: ViewState) -> pd.DataFrame | None:
    """Assets offering the category (listing the community, unless everyone) in the borough."""
    if not state.show_assets:
        return None
    points = registry.asset_points(loaded)
    offers = points["categories"].map(lambda labels: state.category in labels).astype(bool)
    if state.community != ALL:
        offers &= points["communities"].map(lambda labels: state.community in labels).astype(bool)
    if state.borough != ALL:
        offers &= points["borough_id"] == state.borough
    return points[offers]


def map_title(dataset: object, state: ViewState) -> tuple[str, str]:
    """Title and subtitle naming what the map shows."""
    who = "everyone" if state.community == ALL else display_name(state.community)
    where = borough_name(dataset, state.borough) or getattr(dataset, "label", "")
    title = f"{display_name(state.category)} for {who}: {figures.METRICS[state.metric].label.lower()}"
    unit = LEVEL_NAMES.get(state.level, state.level).lower()
    subtitle = f"{where} · by {unit} · gaps outlined in pink"
    return title, subtitle


def build_map(
    registry: Registry, loaded: Loaded, state: ViewState, *, basemap: str | None, geometry: bool = True
) -> go.Figure:
    """The whole map figure for a view (geometry limited to the borough's units).

    With ``geometry=False`` the figure carries only the selected unit's polygon: enough
    for a recolouring patch, which never sends the boundaries (and far quicker to build).
    The boundaries are the data set's memoised, read-only ones, shared by every map
    rather than copied into each (see :class:`coverage_map.figures.SharedGeoJSON`).
    """
    dataset = loaded.dataset
    view = view_rows(dataset, state)
    geojson: Mapping[str, Any] = dataset.boundaries(state.level)
    if not geometry:
        geojson = figures.subset_geojson(geojson, [state.area] if state.area else [])
    elif state.borough != ALL:
        geojson = figures.subset_geojson(geojson, view["area_id"].astype(str))
    title, subtitle = map_title(dataset, state)
    return figures.map_figure(
        view, geojson, metric=state.metric, scheme=state.scheme,
        assets=map_assets(registry, loaded, state), show_assets=state.show_assets,
        gaps_only=state.gaps_only, basemap=basemap, title=title, subtitle=subtitle, selected=state.area,
        # Zoom and pan survive recolouring; a new level, borough or data set re-fits the view.
        uirevision=f"{loaded.key}|{state.level}|{state.borough}",
        validate=False,  # drawn per request from figures' own properties, validated by the tests
    )  # fmt: skip


def needs_full_figure(triggered: Iterable[str]) -> bool:
    """Whether a change must resend the geometry (page load, level, borough, data set)."""
    fired = set(triggered)
    return not fired or bool(fired & FULL_FIGURE_TRIGGERS)


def recolour_updates(figure: go.Figure) -> list[tuple[tuple[object, ...], object]]:
    """(path, value) pairs that turn the previous map of the same geometry into ``figure``.

    Geometry (GeoJSON, locations, names) is left out: it is already in the browser.
    """
    updates: list[tuple[tuple[object, ...], object]] = []
    for index, values in figures.recolour_patch_values(figure).items():
        for key, value in values.items():
            updates.append((("data", index, key), value))
    title = figure.layout.title.to_plotly_json() if figure.layout.title else None
    updates.append((("layout", "title"), title))
    return updates


def apply_updates(figure: dict, updates: list[tuple[tuple[object, ...], object]]) -> dict:
    """Apply :func:`recolour_updates` to a figure dict, as the browser applies a Patch (for tests)."""
    result = {"data": [dict(trace) for trace in figure["data"]], "layout": dict(figure["layout"])}
    for path, value in updates:
        target: object = result
        for step in path[:-1]:
            target = target[step]  # type: ignore[index]
        target[path[-1]] = value  # type: ignore[index]
    return result


# --------------------------------------------------------------------------- gap table


GAP_COLUMNS = [
    "rank", "area_id", "area_name", "borough_name", "gap_score", "gap_reasons", "provision_per_10k",
    "nearest_km", "share_within_km", "referrals", "pressure", "assets_reaching",
]  # fmt: skip


def gap_rows(dataset: object, state: ViewState) -> list[dict[str, object]]:
    """The gaps of the view, worst first, as rows for the grid (published figures only)."""
    view = view_rows(dataset, state)
    gaps = view[view["gap"].fillna(False).astype(bool)]
    gaps = gaps.sort_values(["gap_score", "area_name"], ascending=[False, True], kind="stable")
    boroughs = _borough_names(dataset, state.level)
    rows = []
    for rank, row in enumerate(gaps.itertuples(index=False), start=1):
        rows.append(
            {
                "rank": rank,
                "area_id": str(row.area_id),
                "area_name": str(row.area_name),
                "borough_name": boroughs.get(str(row.area_id), ""),
                "gap_score": _number(row.gap_score),
                "gap_reasons": figures.reasons_text(row.gap_reasons),
                "provision_per_10k": _number(row.provision_per_10k),
                "nearest_km": _number(row.nearest_km),
                "share_within_km": _number(None if pd.isna(row.share_within_km) else row.share_within_km * 100),
                "referrals": figures.referrals_text(row.referrals, row.referrals_suppressed),
                "pressure": _number(row.pressure),
                "assets_reaching": int(row.assets_reaching),
            }
        )
    return rows


def _borough_names(dataset: object, level: str) -> dict[str, str]:
    if "neighbourhood" not in dataset.levels or level == "borough":  # type: ignore[attr-defined]
        return {}
    membership = dataset.prepared.membership  # type: ignore[attr-defined]
    column = "area_id" if level == "area" else f"{level}_id"
    unique = membership.drop_duplicates(column)
    return dict(zip(unique[column].astype(str), unique["borough_name"].astype(str), strict=True))


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    return round(float(value), 3)  # type: ignore[arg-type]


def table_csv(dataset: object, state: ViewState) -> tuple[str, bytes]:
    """File name and CSV bytes of the view's published table (gaps first, formulas neutralised)."""
    view = view_rows(dataset, state)
    view = view.sort_values(["gap", "gap_score"], ascending=[False, False], kind="stable")[TABLE_COLUMNS]
    parts = [state.category, state.community, state.level]
    if state.borough != ALL:
        parts.append(state.borough)
    name = "gaps_" + "_".join(_slug(p) for p in parts) + ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_any(view.reset_index(drop=True), path)
        return name, path.read_bytes()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text))[:40]


# --------------------------------------------------------------------------- organisations


def organisation_rows(dataset: object, state: ViewState, *, today: date | None = None) -> list[dict[str, object]]:
    """Organisations (published table) by pressure, highest first, inside the borough.

    ``verified`` says when each record was last verified (flagged when over 12 months
    before ``today``, default the day it runs); ``stale`` is True for those.
    """
    table = dataset.assets_table()  # type: ignore[attr-defined]
    if state.borough != ALL and "borough_id" in table:
        table = table[table["borough_id"].astype(str) == state.borough]
    flags = _freshness_by_id(dataset, today)
    rows: list[dict[str, object]] = []
    for row in table.itertuples(index=False):
        fresh = flags.get(str(row.asset_id))
        rows.append(
            {
                "asset_id": str(row.asset_id),
                "name": str(row.name),
                "borough_name": "" if pd.isna(row.borough_name) else str(row.borough_name),
                "neighbourhood_name": "" if pd.isna(row.neighbourhood_name) else str(row.neighbourhood_name),
                "categories": ", ".join(display_name(c) for c in str(row.categories).split(";") if c),
                "communities": ", ".join(display_name(c) for c in str(row.communities).split(";") if c) or "Everyone",
                "capacity": _number(row.capacity),
                "referrals": figures.referrals_text(row.referrals, row.referrals_suppressed),
                "referrals_per_month": _number(row.referrals_per_month),
                "pressure": _number(row.pressure),
                "over_capacity": bool(row.over_capacity),
                "accepting_referrals": _accepting(row.accepting_referrals),
                "verified": "" if fresh is None else verified_text(fresh[0], stale=fresh[1], unknown=fresh[2]),
                "stale": fresh is not None and (fresh[1] or fresh[2]),
            }
        )
    return rows


def _freshness_by_id(dataset: object, today: date | None) -> dict[str, tuple[str, bool, bool]]:
    """asset_id -> (last_checked, stale, unknown); empty when the assets carry no dates."""
    flags = asset_freshness(dataset.inputs.assets, today=today or date.today())  # type: ignore[attr-defined]
    if flags is None:
        return {}
    return {
        str(a): (str(c), bool(s), bool(u))
        for a, c, s, u in zip(flags["asset_id"], flags["last_checked"], flags["stale"], flags["unknown"], strict=True)
    }


def _accepting(value: object) -> str:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return "Unknown"
    return "Yes" if bool(value) else "No"


# --------------------------------------------------------------------------- area details


@dataclass(frozen=True)
class ProvisionLine:
    category: str
    label: str
    here: float | None
    average: float | None
    assets_reaching: int
    selected: bool


@dataclass(frozen=True)
class AssetLine:
    name: str
    categories: str
    reach: str
    accepting: str
    located_here: bool
    verified: str = ""
    stale: bool = False


@dataclass(frozen=True)
class AreaDetails:
    """Everything the details panel shows about one unit (published figures only)."""

    area_id: str
    name: str
    level: str
    borough: str | None
    population: float | None
    groups: list[tuple[str, float]]
    metric_text: str
    gap_score: float | None
    gap: bool
    reasons: list[str]
    provision: list[ProvisionLine]
    community_label: str
    category_label: str
    assets: list[AssetLine]
    assets_total: int
    trend: go.Figure | None = field(default=None, compare=False)
    metric_label: str = "Selected measure"
    #: Services reaching the unit (of any kind) not verified in 12 months; None when not recorded.
    freshness: Freshness | None = None


def area_details(
    registry: Registry, loaded: Loaded, state: ViewState, area_id: str, *, today: date | None = None
) -> AreaDetails | None:
    """The details of unit ``area_id`` in the view, or None when it is not on the map.

    Freshness is judged at ``today`` (default: the day it runs).
    """
    dataset = loaded.dataset
    table = dataset.table(state.level)
    unit = table[table["area_id"].astype(str) == area_id]
    if unit.empty:
        return None
    current = unit[(unit["category"] == state.category) & (unit["community"] == state.community)]
    row = current.iloc[0] if len(current) else None
    name = str(unit["area_name"].iloc[0])
    category_label = display_name(state.category)
    community_label = "everyone" if state.community == ALL else display_name(state.community)

    first_category = unit[unit["category"] == unit["category"].iloc[0]]
    everyone = first_category[first_category["community"] == ALL]
    population = _number(everyone["population"].iloc[0]) if len(everyone) else None
    groups = [
        (display_name(str(r.community)), float(r.group_population))
        for r in first_category.itertuples(index=False)
        if r.community != ALL and not pd.isna(r.group_population)
    ]

    provision = _provision_lines(table, unit, state)
    reasons = (
        explain(row, threshold_km=dataset.threshold_km, category_label=category_label,
                group_label=None if state.community == ALL else community_label)
        if row is not None else []
    )  # fmt: skip
    assets, total, freshness = _assets_reaching(registry, loaded, state, area_id, today=today or date.today())
    borough = _borough_names(dataset, state.level).get(area_id)
    metric = figures.METRICS[state.metric]
    metric_text = "no data"
    if row is not None:
        metric_text = figures.format_value(row[metric.column], state.metric)
        if metric.from_referrals and bool(row["referrals_suppressed"]):
            metric_text = "suppressed (fewer than 8 referrals)"
    return AreaDetails(
        area_id=area_id,
        name=name,
        level=LEVEL_NAMES.get(state.level, state.level),
        borough=borough,
        population=population,
        groups=groups,
        metric_text=metric_text,
        gap_score=_number(row["gap_score"]) if row is not None else None,
        gap=bool(row["gap"]) if row is not None else False,
        reasons=reasons,
        provision=provision,
        community_label=community_label,
        category_label=category_label,
        assets=assets,
        assets_total=total,
        trend=_trend_figure(registry, loaded, state, area_id),
        metric_label=metric.label,
        freshness=freshness,
    )


def _provision_lines(table: pd.DataFrame, unit: pd.DataFrame, state: ViewState) -> list[ProvisionLine]:
    same_group = table[table["community"] == state.community]
    averages = same_group.groupby("category", sort=False)["provision_per_10k"].mean()
    here = unit[unit["community"] == state.community].set_index("category")
    lines = []
    for category, row in here.iterrows():
        lines.append(
            ProvisionLine(
                category=str(category),
                label=display_name(str(category)),
                here=_number(row["provision_per_10k"]),
                average=_number(averages.get(category)),
                assets_reaching=int(row["assets_reaching"]),
                selected=category == state.category,
            )
        )
    return lines


def _members(registry: Registry, loaded: Loaded, level: str, area_id: str) -> pd.Index:
    members = registry.members(loaded, level)
    return members.index[members == area_id]


def _assets_reaching(
    registry: Registry, loaded: Loaded, state: ViewState, area_id: str, *, today: date, limit: int = 30
) -> tuple[list[AssetLine], int, Freshness | None]:
    dataset = loaded.dataset
    small_areas = _members(registry, loaded, state.level, area_id)
    reach = dataset.prepared.reach
    reaching = set(reach.loc[reach["area_id"].isin(small_areas), "asset_id"].astype(str))
    assets = dataset.prepared.assets
    assets = assets[assets["asset_id"].astype(str).isin(reaching)]
    total = len(assets)
    offers = assets["categories"].map(lambda labels: state.category in labels).astype(bool)
    if state.community != ALL:
        offers &= assets["communities"].map(lambda labels: state.community in labels).astype(bool)
    chosen = assets[offers].sort_values("name")
    located = set(small_areas)
    flags = asset_freshness(assets, today=today)
    fresh = {} if flags is None else flags.set_index("asset_id")
    lines = [
        AssetLine(
            name=str(a.name),
            categories=", ".join(display_name(c) for c in a.categories),
            reach=_reach_text(a.reach, a.reach_km),
            accepting=_accepting(a.accepting_referrals),
            located_here=str(a.area_id) in located,
            **_verified(fresh, str(a.asset_id)),
        )
        for a in chosen.head(limit).itertuples(index=False)
    ]
    return lines, total, summarise(flags)


def _verified(fresh: object, asset_id: str) -> dict[str, Any]:
    if not isinstance(fresh, pd.DataFrame) or asset_id not in fresh.index:
        return {}
    row = fresh.loc[asset_id]
    stale, unknown = bool(row["stale"]), bool(row["unknown"])
    return {"verified": verified_text(str(row["last_checked"]), stale=stale, unknown=unknown),
            "stale": stale or unknown}  # fmt: skip


def _reach_text(reach: object, reach_km: object) -> str:
    if reach == "radius" and not pd.isna(reach_km):  # type: ignore[arg-type]
        return f"within {float(reach_km):g} km"  # type: ignore[arg-type]
    return {"local": "its own area", "borough": "its borough", "citywide": "the whole city"}.get(str(reach), str(reach))


def monthly_referrals(registry: Registry, loaded: Loaded, state: ViewState, area_id: str) -> pd.Series | None:
    """TRUE monthly referral counts from the unit for the category (and community), every month of the data.

    None when the referrals carry no dates. Never send these to the browser unsuppressed:
    :func:`coverage_map.figures.referral_trend_figure` suppresses them.
    """
    referrals = loaded.dataset.prepared.referrals
    if referrals is None or len(referrals) == 0:
        return None
    dated = referrals.dropna(subset=["date"])
    if dated.empty:
        return None
    months = pd.period_range(dated["date"].min().to_period("M"), dated["date"].max().to_period("M"), freq="M")
    small_areas = _members(registry, loaded, state.level, area_id)
    chosen = dated[dated["area_id"].isin(small_areas) & (dated["category"] == state.category)]
    if state.community != ALL:
        chosen = chosen[chosen["community"] == state.community]
    counts = chosen.groupby(chosen["date"].dt.to_period("M"))["count"].sum()
    return counts.reindex(months, fill_value=0).astype(np.int64)


def _trend_figure(registry: Registry, loaded: Loaded, state: ViewState, area_id: str) -> go.Figure | None:
    monthly = monthly_referrals(registry, loaded, state, area_id)
    if monthly is None:
        return None
    return figures.referral_trend_figure(monthly, title=f"{display_name(state.category)} referrals per month")
