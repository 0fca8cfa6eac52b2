"""Pure helpers behind the callbacks: what to draw for a view, tested without Dash.

Everything here reads the *published* tables (suppressed referral counts) except
:func:`area_details`, which reads true referral records to build a monthly trend and
hands them to :func:`coverage_map.outputs.figures.referral_trend_figure`, which suppresses every
month before a number reaches the figure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from coverage_map.analysis import TABLE_COLUMNS
from coverage_map.config import MAP_ASSET_LIMIT, MAP_UNIT_LIMIT
from coverage_map.freshness import Freshness, asset_freshness, summarise, verified_text
from coverage_map.gaps import TIER_LABELS, explain, ranked
from coverage_map.outputs import figures
from coverage_map.outputs.classes import format_value
from coverage_map.outputs.tables import write_any
from coverage_map.taxonomy import display_name
from coverage_map.tiers import TierThresholds

from . import ids
from .explain import certainty_text, share_of_average, tier_counts, tier_meaning
from .ids import CONTROL_IDS
from .registry import Loaded, Registry
from .state import ALL, GEOMETRY_FIELDS, LEVEL_NAMES, ViewState

#: Triggers after which the browser must get the whole figure (geometry included). A what-if scenario
#: adds three traces after the others (:func:`scenario_layer`) and taking it away removes them, which a
#: recolouring patch cannot do; a scenario's changes are rare and slow to analyse anyway.
FULL_FIGURE_TRIGGERS = {CONTROL_IDS[f] for f in GEOMETRY_FIELDS} | {ids.DATA_TOKEN, ids.WHATIF}
#: Where a value sits in a figure: ``("data", 0, "z")``, ``("layout", "title")``.
FigurePath = tuple[str | int, ...]


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


def drawn_level(dataset: object, state: ViewState, *, max_units: int = MAP_UNIT_LIMIT) -> str:
    """The level the map draws for ``state``.

    The state's own level, unless it has more than ``max_units`` units and no borough is
    chosen (England's ~34,000 small areas): then the finest coarser level that fits (the
    neighbourhoods), until the visitor chooses a borough. Only the map is limited: the
    tables and downloads still cover every unit of the state's level.
    """
    levels = tuple(dataset.levels)  # type: ignore[attr-defined]
    if state.level not in levels or (state.borough != ALL and "neighbourhood" in levels):
        return state.level
    for level in levels[levels.index(state.level) :]:
        if dataset.unit_count(level) <= max_units:  # type: ignore[attr-defined]
            return level
    return levels[-1]


def _plural(level: str) -> str:
    return LEVEL_NAMES.get(level, level).lower() + "s"


def service_points(registry: Registry, loaded: Loaded, state: ViewState) -> pd.DataFrame:
    """Located real assets offering the category (listing the community, unless everyone) in the borough
    (a what-if scenario's proposed services are drawn apart: :func:`scenario_layer`)."""
    points = registry.asset_points(loaded)
    offers = registry.offers(loaded, state.category, state.community) & ~points["proposed"].to_numpy(dtype=bool)
    if state.borough != ALL:
        offers = offers & (points["borough_id"] == state.borough).to_numpy()
    return points[offers]


def map_assets(
    registry: Registry, loaded: Loaded, state: ViewState, *, max_assets: int | None = MAP_ASSET_LIMIT
) -> pd.DataFrame | None:
    """The service points to draw: None when hidden, or when more than ``max_assets`` match
    (every service in England offering a need: :func:`map_notice` asks for a borough)."""
    if not state.show_assets:
        return None
    points = service_points(registry, loaded, state)
    return None if max_assets is not None and len(points) > max_assets else points


def map_notice(
    registry: Registry, loaded: Loaded, state: ViewState, *,
    max_units: int = MAP_UNIT_LIMIT, max_assets: int | None = MAP_ASSET_LIMIT,
) -> str | None:  # fmt: skip
    """What the map leaves out of ``state`` and how to see it (None when it shows everything)."""
    dataset = loaded.dataset
    notes = []
    level = drawn_level(dataset, state, max_units=max_units)
    if level != state.level:
        wanted, shown = _plural(state.level), _plural(level)
        notes.append(
            f"{dataset.unit_count(state.level):,} {wanted} are too many to draw at once, so the map shows the "
            f"{dataset.unit_count(level):,} {shown}. Choose a borough, or click the map, to see its {wanted}. "
            f"The table and the download cover every {wanted[:-1]}."
        )
    if state.show_assets and max_assets is not None:
        count = len(service_points(registry, loaded, state))
        if count > max_assets:
            where = "Choose a borough to see them." if state.borough == ALL else ""
            notes.append(f"{count:,} services match: too many to draw at once. {where}".strip())
    return " ".join(notes) or None


def map_click(dataset: object, state: ViewState, location: str, *, max_units: int = MAP_UNIT_LIMIT) -> tuple[str, str]:
    """What a click on unit ``location`` of the map does: ``("area", id)`` selects the unit;
    ``("borough", id)`` chooses its borough, when the map shows a coarser level than asked for."""
    level = drawn_level(dataset, state, max_units=max_units)
    if level == state.level:
        return "area", location
    borough = dataset.borough_of(level).get(location)  # type: ignore[attr-defined]
    return ("borough", str(borough)) if borough is not None else ("area", location)


def proposed_points(registry: Registry, loaded: Loaded, state: ViewState) -> pd.DataFrame:
    """A what-if scenario's proposed services offering the view's need (and listing its community,
    unless everyone), wherever they are: empty without a scenario."""
    points = registry.asset_points(loaded)
    offers = registry.offers(loaded, state.category, state.community) & points["proposed"].to_numpy(dtype=bool)
    return points[offers]


def leaving_gaps(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """Units that leave the gap tiers (as :func:`coverage_map.scenario.tier_moves` counts them):
    severe before and not after, or moderate before and no gap after."""
    old = before.set_index(before["area_id"].astype(str))["tier"].astype("string")
    new = after.set_index(after["area_id"].astype(str))["tier"].astype("string").reindex(old.index)
    left = ((old == "severe") & (new != "severe")) | ((old == "moderate") & ~new.isin(GAP_TIERS))
    return old.index[left.fillna(False).to_numpy(dtype=bool)].tolist()


def scenario_layer(registry: Registry, loaded: Loaded, state: ViewState, level: str) -> figures.ScenarioLayer:
    """The map's what-if layer at the ``level`` drawn: the proposed services and the outline of the units
    that leave the gap tiers (both empty without a scenario). The map has it, as traces 6-8, only while a
    scenario is shown, so without one it is exactly the map of :func:`coverage_map.outputs.figures.map_figure`."""
    if loaded.base is None:
        return figures.ScenarioLayer()
    drawn = replace(state, level=level)
    leaving = leaving_gaps(view_rows(loaded.base.dataset, drawn), view_rows(loaded.dataset, drawn))
    outline = figures.subset_geojson(loaded.dataset.boundaries(level), leaving) if leaving else None
    return figures.ScenarioLayer(proposed=proposed_points(registry, loaded, state), leaving=outline)


def map_title(dataset: object, state: ViewState, *, level: str | None = None) -> tuple[str, str]:
    """Title and subtitle naming what the map shows (``level``: the level drawn, when not the state's)."""
    who = "everyone" if state.community == ALL else display_name(state.community)
    where = borough_name(dataset, state.borough) or getattr(dataset, "label", "")
    title = f"{display_name(state.category)} for {who}: {figures.METRICS[state.metric].label.lower()}"
    unit = LEVEL_NAMES.get(level or state.level, level or state.level).lower()
    subtitle = f"{where} · by {unit} · gaps outlined in pink"
    if level is not None and level != state.level:
        subtitle = f"{where} · by {unit} (choose a borough for {_plural(state.level)}) · gaps outlined in pink"
    return title, subtitle


def build_map(
    registry: Registry, loaded: Loaded, state: ViewState, *, basemap: str | None, geometry: bool = True,
    max_units: int = MAP_UNIT_LIMIT, max_assets: int | None = MAP_ASSET_LIMIT,
) -> go.Figure:  # fmt: skip
    """The whole map figure for a view (geometry limited to the borough's units).

    With ``geometry=False`` the figure carries only the selected unit's polygon: enough
    for a recolouring patch, which never sends the boundaries (and far quicker to build).
    The boundaries are the data set's memoised, read-only ones, shared by every map
    rather than copied into each (see :class:`coverage_map.geojson.SharedGeoJSON`).
    A level with more than ``max_units`` units is drawn at a coarser level until a borough
    is chosen (:func:`drawn_level`), with the selected unit still outlined; more than
    ``max_assets`` service points are left out (:func:`map_notice` says so).
    """
    view, geojson, options = _map_parts(registry, loaded, state, basemap=basemap, geometry=geometry,
                                        max_units=max_units, max_assets=max_assets)  # fmt: skip
    # validate=False: drawn per request from figures' own properties, validated by the tests
    return figures.map_figure(view, geojson, validate=False, **options)


def build_map_dict(
    registry: Registry, loaded: Loaded, state: ViewState, *, basemap: str | None, geometry: bool = True,
    max_units: int = MAP_UNIT_LIMIT, max_assets: int | None = MAP_ASSET_LIMIT,
) -> dict[str, Any]:  # fmt: skip
    """:func:`build_map` as the plain figure dict, without plotly's graph objects (for a recolouring
    patch, where copying the figure into graph objects and back would cost more than drawing it)."""
    view, geojson, options = _map_parts(registry, loaded, state, basemap=basemap, geometry=geometry,
                                        max_units=max_units, max_assets=max_assets)  # fmt: skip
    return figures.map_figure_dict(view, geojson, **options)


def _map_parts(
    registry: Registry, loaded: Loaded, state: ViewState, *, basemap: str | None, geometry: bool,
    max_units: int, max_assets: int | None,
) -> tuple[pd.DataFrame, Mapping[str, Any], dict[str, Any]]:  # fmt: skip
    """The rows, boundaries and drawing options of a view's map (see :func:`build_map`)."""
    dataset = loaded.dataset
    level = drawn_level(dataset, state, max_units=max_units)
    view = view_rows(dataset, replace(state, level=level))
    geojson: Mapping[str, Any] = dataset.boundaries(level)
    selected_geojson = None
    if level != state.level:  # a small area picked in the table is outlined on the neighbourhood map
        selected_geojson = figures.subset_geojson(dataset.boundaries(state.level), [state.area] if state.area else [])
    if not geometry:
        geojson = figures.subset_geojson(geojson, [state.area] if state.area and level == state.level else [])
    elif state.borough != ALL:
        geojson = figures.subset_geojson(geojson, view["area_id"].astype(str))
    title, subtitle = map_title(dataset, state, level=level)
    if loaded.base is not None:
        count = int(registry.asset_points(loaded)["proposed"].sum())
        title += f" · what if: {count} proposed service{'s' if count != 1 else ''}"
    options: dict[str, Any] = dict(
        metric=state.metric, scheme=state.scheme,
        assets=map_assets(registry, loaded, state, max_assets=max_assets), show_assets=state.show_assets,
        gaps_only=state.gaps_only, basemap=basemap, title=title, subtitle=subtitle, selected=state.area,
        # Zoom and pan survive recolouring and scenarios; a new level, borough or data set re-fits the view.
        uirevision=f"{(loaded.base or loaded).key}|{state.level}|{state.borough}", selected_geojson=selected_geojson,
        scenario=scenario_layer(registry, loaded, state, level) if loaded.base is not None else None,
    )  # fmt: skip
    return view, geojson, options


def needs_full_figure(triggered: Iterable[str]) -> bool:
    """Whether a change must resend the geometry (page load, level, borough, data set)."""
    fired = set(triggered)
    return not fired or bool(fired & FULL_FIGURE_TRIGGERS)


def recolour_updates(figure: go.Figure | Mapping[str, Any]) -> list[tuple[FigurePath, object]]:
    """(path, value) pairs that turn the previous map of the same geometry into ``figure``
    (a figure, or its dict from :func:`build_map_dict`).

    Geometry (GeoJSON, locations, names) is left out: it is already in the browser.
    """
    updates: list[tuple[FigurePath, object]] = []
    for index, values in figures.recolour_patch_values(figure).items():
        for key, value in values.items():
            updates.append((("data", index, key), value))
    if isinstance(figure, Mapping):
        title = figure["layout"].get("title")
    else:
        title = figure.layout.title.to_plotly_json() if figure.layout.title else None
    updates.append((("layout", "title"), title))
    return updates


def apply_updates(figure: dict, updates: list[tuple[FigurePath, object]]) -> dict:
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
    "rank", "area_id", "area_name", "borough_name", "tier", "tier_label", "access_ratio", "need", "unmet_need",
    "gap_reasons",
]  # fmt: skip
#: Tiers the gap table lists (the gaps); ``watch`` units are counted in its summary.
GAP_TIERS = ("severe", "moderate")


def gap_rows(
    dataset: object, state: ViewState, *, limit: int | None = None, every: bool = False
) -> list[dict[str, object]]:
    """The gaps of the view (every unit when ``every``), worst first, as rows for the grid (published
    figures only; the ``limit`` worst when given)."""
    return gap_table(dataset, state, limit=limit, every=every)[0]


def gap_table(
    dataset: object, state: ViewState, *, limit: int | None = None, every: bool = False
) -> tuple[list[dict[str, object]], int]:
    """The ``limit`` worst gaps of the view as grid rows (all when None), and how many gaps it has.

    Ranked by :func:`coverage_map.gaps.ranked`: severe before moderate, then by unmet need
    (people in need the shortfall leaves unserved), largest first. ``access_ratio`` is sent
    as a percentage of the region's average. England's small areas have tens of thousands of
    gaps per need: the grid gets the worst ones and the summary says how many there are (the
    CSV download has every unit). With ``every``, the rows are every unit of the view in the
    same order (watch, no gap, then not in the directory after the gaps), the table that
    stands in for the map, and the count is of units.
    """
    view = view_rows(dataset, state)
    gaps = ranked(view if every else view[view["gap"].fillna(False).astype(bool)])
    total = len(gaps)
    if limit is not None:
        gaps = gaps.head(limit)
    boroughs = dataset.borough_names(state.level)  # type: ignore[attr-defined]
    rows = []
    for rank, row in enumerate(gaps.itertuples(index=False), start=1):
        ratio = None if pd.isna(row.access_ratio) else float(row.access_ratio) * 100
        rows.append(
            {
                "rank": rank,
                "area_id": str(row.area_id),
                "area_name": str(row.area_name),
                "borough_name": boroughs.get(str(row.area_id), ""),
                "tier": str(row.tier),
                "tier_label": TIER_LABELS.get(str(row.tier), str(row.tier)),
                "access_ratio": None if ratio is None else round(ratio, 1),
                "need": _whole(row.need),
                "unmet_need": _whole(row.unmet_need),
                "gap_reasons": figures.reasons_text(row.gap_reasons),
            }
        )
    return rows, total


def tier_summary(dataset: object, state: ViewState) -> dict[str, int]:
    """Units per tier in the view (for the gap table's summary and the map's key)."""
    return tier_counts(view_rows(dataset, state))


def _whole(value: object) -> int | None:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    return round(float(value))  # type: ignore[arg-type]


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return None
    return round(float(value), 3)  # type: ignore[arg-type]


def table_csv(dataset: object, state: ViewState) -> tuple[str, bytes]:
    """File name and CSV bytes of the view's published table: every unit and every column, raw codes
    (``tier``, ``gap_reasons``), worst first (:func:`coverage_map.gaps.ranked`), formulas neutralised."""
    view = ranked(view_rows(dataset, state))[TABLE_COLUMNS]
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


@dataclass(frozen=True)
class OrganisationCounts:
    """Counts over every organisation of the view (not only the rows sent to the grid)."""

    total: int
    over_capacity: int
    #: Last verified over 12 months ago, or never; None when the directory records no dates.
    stale: int | None


def organisation_rows(
    dataset: object, state: ViewState, *, today: date | None = None, limit: int | None = None
) -> list[dict[str, object]]:
    """Organisations (published table) by pressure, highest first, inside the borough.

    ``verified`` says when each record was last verified (flagged when over 12 months
    before ``today``, default the day it runs); ``stale`` is True for those. With
    ``limit``, only that many (the most pressed): 100,000 services are too many for a grid.
    """
    return organisation_table(dataset, state, today=today, limit=limit)[0]


def organisation_table(
    dataset: object, state: ViewState, *, today: date | None = None, limit: int | None = None
) -> tuple[list[dict[str, object]], OrganisationCounts]:
    """:func:`organisation_rows` and the counts over every organisation in the borough."""
    table = dataset.assets_table()  # type: ignore[attr-defined]
    if state.borough != ALL and "borough_id" in table:
        table = table[table["borough_id"].astype(str) == state.borough]
    flags = _freshness(dataset, today)
    ids = table["asset_id"].astype(str)
    stale = None
    known = None if flags is None else flags.reindex(ids)
    if known is not None and known["stale"].notna().any():
        stale = int((known["stale"].fillna(False).astype(bool) | known["unknown"].fillna(False).astype(bool)).sum())
    counts = OrganisationCounts(total=len(table), over_capacity=int(table["over_capacity"].astype(bool).sum()),
                                stale=stale)  # fmt: skip
    if limit is not None:
        table = table.head(limit)
    verified, flagged = _verified_columns(flags, table["asset_id"].astype(str))
    rows: list[dict[str, object]] = []
    for row, verified_as, stale_flag in zip(table.itertuples(index=False), verified, flagged, strict=True):
        asset_id = str(row.asset_id)
        rows.append(
            {
                "asset_id": asset_id,
                "name": f"Proposed: {row.name}" if bool(getattr(row, "proposed", False)) else str(row.name),
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
                "verified": verified_as,
                "stale": stale_flag,
            }
        )
    return rows, counts


def _verified_columns(flags: pd.DataFrame | None, ids: pd.Series) -> tuple[list[str], list[bool]]:
    """Per asset id: its "last verified" text ("" when not recorded at all) and whether it is flagged."""
    if flags is None:
        return [""] * len(ids), [False] * len(ids)
    shown = flags.reindex(ids)
    known = shown["stale"].notna().to_numpy()
    stale = shown["stale"].fillna(False).astype(bool).to_numpy()
    unknown = shown["unknown"].fillna(False).astype(bool).to_numpy()
    checked = shown["last_checked"].fillna("").astype(str).tolist()
    texts = [verified_text(c, stale=bool(s), unknown=bool(u)) if k else ""
             for c, s, u, k in zip(checked, stale, unknown, known, strict=True)]  # fmt: skip
    return texts, [bool(k and (s or u)) for s, u, k in zip(stale, unknown, known, strict=True)]


def _freshness(dataset: object, today: date | None) -> pd.DataFrame | None:
    """``last_checked``, ``stale``, ``unknown`` by asset id (text); None when the assets carry no dates."""
    return dataset.freshness(today or date.today())  # type: ignore[attr-defined]


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
    #: Gap method 2: the tier (a :data:`coverage_map.tiers.TIERS` code), its label and one-sentence meaning.
    tier: str = "no_data"
    tier_label: str = ""
    tier_text: str = ""
    #: People in need (the group's population where no need estimate is given: ``need_estimated`` False).
    need: float | None = None
    need_estimated: bool = False
    access_per_10k: float | None = None
    #: ``access_ratio`` as words: "43% of the region's average".
    access_text: str = "unknown"
    #: Access to services made for the community (None for everyone).
    specific_access_per_10k: float | None = None
    #: "How sure are we", from Gi*'s cold spot and q-value, in one sentence.
    certainty: str = ""


def area_details(
    registry: Registry, loaded: Loaded, state: ViewState, area_id: str, *, today: date | None = None
) -> AreaDetails | None:
    """The details of unit ``area_id`` in the view, or None when it is not on the map.

    Freshness is judged at ``today`` (default: the day it runs).
    """
    dataset = loaded.dataset
    unit = dataset.unit_rows(state.level, area_id)
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

    provision = _provision_lines(dataset.provision_averages(state.level, state.community), unit, state)
    thresholds = dataset.method.thresholds
    reasons = (
        explain(row, threshold_km=dataset.threshold_km, category_label=category_label,
                group_label=None if state.community == ALL else community_label, thresholds=thresholds)
        if row is not None else []
    )  # fmt: skip
    assets, total, freshness = _assets_reaching(registry, loaded, state, area_id, today=today or date.today())
    borough = dataset.borough_names(state.level).get(area_id)
    metric = figures.METRICS[state.metric]
    metric_text = "no data"
    if row is not None:
        metric_text = format_value(row[metric.column], state.metric)
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
        **_method_facts(row, state, thresholds=thresholds, need_estimated=state.category in dataset.inputs.need_labels),
    )


def _method_facts(
    row: pd.Series | None, state: ViewState, *, thresholds: TierThresholds, need_estimated: bool
) -> dict[str, Any]:
    """The gap method 2 fields of :class:`AreaDetails` for one published row (None: not on the map)."""
    if row is None:
        return {"tier_label": TIER_LABELS["no_data"], "tier_text": tier_meaning("no_data")}
    tier = str(row["tier"]) if not pd.isna(row["tier"]) else "no_data"
    return {
        "tier": tier,
        "tier_label": TIER_LABELS.get(tier, tier),
        "tier_text": tier_meaning(tier, thresholds),
        "need": _number(row["need"]),
        "need_estimated": need_estimated,
        "access_per_10k": _number(row["access_per_10k"]),
        "access_text": share_of_average(row["access_ratio"]),
        "specific_access_per_10k": None if state.community == ALL else _number(row["specific_access_per_10k"]),
        "certainty": certainty_text(row["cold_spot"], row["q_value"], fdr=thresholds.q) if tier != "no_data" else "",
    }


def _provision_lines(averages: pd.Series, unit: pd.DataFrame, state: ViewState) -> list[ProvisionLine]:
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
    assets = dataset.assets_reaching(small_areas)
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
            name=f"Proposed: {a.name}" if bool(getattr(a, "proposed", False)) else str(a.name),
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
    :func:`coverage_map.outputs.figures.referral_trend_figure` suppresses them.
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
    hidden = loaded.dataset.hidden_months(state.level, area_id, state.category, state.community)
    return figures.referral_trend_figure(
        monthly, title=f"{display_name(state.category)} referrals per month", hidden=hidden
    )
