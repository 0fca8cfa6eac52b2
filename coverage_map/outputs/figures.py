"""Every plotly figure coverage-map draws: the gap map, its legend and hovers, and small charts.

Plotly is imported only inside :mod:`coverage_map.outputs` (never dash), so the dashboard and
the print exports draw exactly the same map. Figures only ever receive *published*
tables (small-number suppression already applied, see :mod:`coverage_map.suppress`) and
monthly counts that :func:`referral_trend_figure` suppresses itself. Boundaries come from
:mod:`coverage_map.geojson`; classes, palette and legend labels from
:mod:`coverage_map.outputs.classes`.

Map structure (trace order is part of the API: the dashboard patches traces by index)::

    data[0]  Choroplethmap  every unit, coloured by class; gaps get a thick outline
    data[1]  Choroplethmap  the selected unit's outline (zero or one feature)
    data[2]  Scattermap     a white halo under every asset point (no legend, no hover)
    data[3]  Scattermap     assets accepting referrals
    data[4]  Scattermap     assets not accepting referrals
    data[5]  Scattermap     assets whose referral status is unknown

With a what-if layer (``scenario=``; the dashboard passes one while a scenario is shown)::

    data[6]  Scattermap     outlines (lines) of the units that leave the gap tiers with the proposed services
    data[7]  Scattermap     a black ring under each proposed service (no legend, no hover)
    data[8]  Scattermap     the proposed services: yellow discs, "Proposed: <name>"

Colours come from a colour-blind-safe sequential palette (viridis), darker = worse, so a
metric where a *low* value is bad (provision, share within reach) runs the other way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..gaps import REASON_LABELS, TIER_LABELS
from ..geojson import geojson_bounds, subset_geojson
from ..suppress import describe_count, secondary_suppress, suppress_count
from ..taxonomy import display_name
from .classes import METRICS, TIER_COLOURS, MetricInfo, classify, format_values

# --------------------------------------------------------------------------- colours and traces

#: Colours that are not part of the sequential palette.
NO_DATA_COLOUR = "#c8c8c8"
NOT_A_GAP_COLOUR = "#f2f2f2"
GAP_OUTLINE_COLOUR = "#ff2d87"
BORDER_COLOUR = "rgba(90, 90, 90, 0.55)"
SELECTED_COLOUR = "#000000"
ASSET_STATUS = (
    # (key, legend label, colour, symbol): Okabe-Ito colours, told apart with any colour vision
    ("accepting", "Service accepting referrals", "#0072b2", "circle"),
    ("not_accepting", "Service not accepting referrals", "#d55e00", "circle"),
    ("unknown", "Service, referral status unknown", "#6e6e6e", "circle"),
)
#: Trace indices (see the module docstring).
CHOROPLETH, SELECTED, HALO, ASSETS_FIRST = 0, 1, 2, 3
#: Share of the map's width kept free on the left for the legend.
LEGEND_WIDTH = 0.16
#: Geometry keys that a recolouring patch must never resend.
GEOMETRY_KEYS = ("geojson", "locations", "text", "featureidkey")


# --------------------------------------------------------------------------- view


def fit_view(
    bounds: tuple[float, float, float, float] | None, *, width_px: int = 760, height_px: int = 600
) -> tuple[dict[str, float], float]:
    """Centre and zoom (web mercator) that show ``bounds`` in a map of the given size."""
    if bounds is None:
        return {"lon": -2.24, "lat": 53.48}, 9.0
    west, south, east, north = bounds
    centre = {"lon": (west + east) / 2, "lat": (south + north) / 2}

    def mercator_y(lat: float) -> float:
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    lon_span = max(east - west, 1e-6) / 360.0
    lat_span = max(mercator_y(north) - mercator_y(south), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512 / lon_span), math.log2(height_px / 512 / lat_span))
    return centre, round(max(min(zoom - 0.05, 16.0), 1.0), 2)


# --------------------------------------------------------------------------- text


def escape(text: object) -> str:
    """Text from data, made safe for plotly's HTML-like hover labels.

    ``<``, ``>`` and ``&`` are escaped; quotes are not: plotly never puts this text in an
    attribute, and it does not decode ``&quot;``, so a quote would show as the entity.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA:
        return ""
    return html.escape(str(text), quote=False)


def referrals_text(count: object, suppressed: object) -> str:
    """A published referral count as words: ``fewer than 8`` when suppressed."""
    is_suppressed = bool(suppressed) if not pd.isna(suppressed) else False
    value = None if count is None or pd.isna(count) else int(count)  # type: ignore[arg-type,call-overload]
    return describe_count(value, suppressed=is_suppressed)


def reasons_text(reasons: object) -> str:
    """``no_provision;far`` -> ``no provision reaches it, provision is far`` (for hovers and tables).

    The words are :data:`coverage_map.gaps.REASON_LABELS`; a reason without a label reads as its name.
    """
    if reasons is None or pd.isna(reasons) or not str(reasons):
        return "none"
    return ", ".join(REASON_LABELS.get(part, part.replace("_", " ")) for part in str(reasons).split(";") if part)


# --------------------------------------------------------------------------- the map


def map_figure(
    view: pd.DataFrame,
    geojson: Mapping[str, Any],
    *,
    metric: str,
    scheme: str = "quantiles",
    k: int = 5,
    assets: pd.DataFrame | None = None,
    show_assets: bool = True,
    gaps_only: bool = False,
    basemap: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    selected: str | None = None,
    uirevision: str | None = None,
    validate: bool = True,
    selected_geojson: Mapping[str, Any] | None = None,
    scenario: ScenarioLayer | None = None,
) -> go.Figure:
    """The gap map: units coloured by class of ``metric``, gaps outlined, assets as points.

    Parameters
    ----------
    view
        Rows of the published gap table for one level × category × community (one row
        per unit, columns as :data:`coverage_map.analysis.TABLE_COLUMNS`).
    geojson
        Boundaries from :func:`~coverage_map.geojson.units_geojson` (features with id =
        ``area_id``), or the same made shareable by :func:`~coverage_map.geojson.share_geojson`;
        features without a row in ``view`` are not drawn.
    metric
        Key of :data:`~coverage_map.outputs.classes.METRICS`.
    scheme, k
        Classification (see :func:`~coverage_map.outputs.classes.classify`).
    assets
        Asset points to draw: ``name``, ``categories`` and ``communities`` (tuples or
        ``;``-text), ``capacity``, ``accepting_referrals`` and ``lon``/``lat`` (WGS84).
    show_assets
        Draw the asset points (the traces stay, empty, so trace indices never change).
    gaps_only
        Colour only the units that are gaps; the others are drawn pale as "not a gap".
    basemap
        None or ``"white-bg"``: no tiles (renders offline); a MapLibre style name such as
        ``"carto-positron"``; or a raster tile URL template containing ``{z}``.
    title, subtitle
        Figure title and smaller second line.
    selected
        ``area_id`` of a unit to outline in black.
    uirevision
        plotly's ``layout.uirevision``: zoom and pan survive a new figure with the same value.
    selected_geojson
        Where to find the selected unit's outline when it is not one of the units drawn
        (a small area picked from the table while the map shows neighbourhoods); by default
        it is looked up in ``geojson`` among the units drawn.
    scenario
        A what-if scenario's layer: the units leaving the gap tiers outlined and the proposed
        services, as three traces after the others (see the module docstring); None: no such traces.
    validate
        Check every property with plotly's validators (slow for large maps: it copies
        and checks every polygon, colour and hover row). The dashboard, which draws a map
        per request from this module's own properties, passes False; the tests validate
        the same figures once (``go.Figure(figure.to_dict())``).
    """
    figure = map_figure_dict(
        view, geojson, metric=metric, scheme=scheme, k=k, assets=assets, show_assets=show_assets,
        gaps_only=gaps_only, basemap=basemap, title=title, subtitle=subtitle, selected=selected,
        uirevision=uirevision, selected_geojson=selected_geojson, scenario=scenario,
    )  # fmt: skip
    return go.Figure(figure, _validate=validate)


def map_figure_dict(
    view: pd.DataFrame,
    geojson: Mapping[str, Any],
    *,
    metric: str,
    scheme: str = "quantiles",
    k: int = 5,
    assets: pd.DataFrame | None = None,
    show_assets: bool = True,
    gaps_only: bool = False,
    basemap: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    selected: str | None = None,
    uirevision: str | None = None,
    selected_geojson: Mapping[str, Any] | None = None,
    scenario: ScenarioLayer | None = None,
) -> dict[str, Any]:
    """:func:`map_figure` as the plain ``{"data": [...], "layout": {...}}`` dict plotly.js draws.

    Built directly, without plotly's graph objects; ``geojson`` is put in the figure as
    it is (not copied). Parameters as :func:`map_figure`.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    info = METRICS[metric]
    rows = view.reset_index(drop=True)
    area_ids = rows["area_id"].astype(str).tolist()
    colours = _colour_codes(rows, metric=metric, scheme=scheme, k=k, gaps_only=gaps_only)
    is_gap = rows["gap"].fillna(False).astype(bool).to_numpy() if "gap" in rows else np.zeros(len(rows), bool)

    choropleth = {
        "type": "choroplethmap",
        "geojson": geojson,
        "featureidkey": "id",
        "locations": area_ids,
        "z": colours.codes,
        "zmin": -0.5,
        "zmax": len(colours.colourscale_bands) - 0.5,
        "colorscale": _stepped_colourscale(colours.colourscale_bands),
        "showscale": True,
        "colorbar": _colourbar(colours.legend_labels, info, fit=colours.fit_text),
        "marker": {
            "opacity": 0.92,
            "line": {
                "width": np.where(is_gap, _gap_line_width(len(rows)), 0.4).tolist(),
                "color": [GAP_OUTLINE_COLOUR if gap else BORDER_COLOUR for gap in is_gap],
            },
        },
        "text": [escape(name) for name in rows.get("area_name", rows["area_id"])],
        "customdata": _hover_values(rows, metric),
        "hovertemplate": _area_hovertemplate(info),
        "name": "Areas",
        "showlegend": False,
    }
    if selected_geojson is None:
        outline = _selected_trace(geojson, selected, area_ids)
    else:
        outline = _selected_trace(selected_geojson, selected, [f["id"] for f in selected_geojson["features"]])
    traces = [choropleth, outline, *_asset_trace_dicts(assets if show_assets else None)]
    if scenario is not None:
        traces += scenario_trace_dicts(scenario)
    bounds = geojson_bounds(subset_geojson(geojson, area_ids)) if area_ids else None
    view_centre, zoom = fit_view(bounds, width_px=int(780 * (1 - LEGEND_WIDTH)), height_px=560)
    layout: dict[str, Any] = {
        "map": {"center": view_centre, "zoom": zoom, "domain": {"x": [LEGEND_WIDTH, 1.0], "y": [0.0, 1.0]},
                **_basemap_settings(basemap)},
        "margin": {"l": 0, "r": 0, "t": 56 if title else 8, "b": 0},
        "legend": {
            "orientation": "h", "x": 0.0, "y": 0.0, "xanchor": "left", "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 11},
        },
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"},
        "paper_bgcolor": "#ffffff",
        "clickmode": "event",
        "hoverlabel": {"align": "left"},
    }  # fmt: skip
    heading = _title(title, subtitle)
    if heading is not None:
        layout["title"] = heading
    if uirevision is not None:
        layout["uirevision"] = uirevision
    return {"data": traces, "layout": layout}


def _gap_line_width(units: int) -> float:
    """Thick outlines for a few large units, thinner ones when hundreds of small areas touch."""
    return 3.0 if units <= 150 else 1.2


@dataclass(frozen=True)
class _ColourCodes:
    codes: list[int]
    colourscale_bands: list[str]
    legend_labels: list[str]
    #: the classes and their goodness-of-variance fit, for the legend ("" for the tiers)
    fit_text: str = ""


def _colour_codes(rows: pd.DataFrame, *, metric: str, scheme: str, k: int, gaps_only: bool) -> _ColourCodes:
    """Map each row to a band of a stepped colourscale: classes, then "no data", then "not a gap"."""
    info = METRICS[metric]
    values = rows[info.column] if info.column in rows else pd.Series(np.nan, index=rows.index)
    is_gap = rows["gap"].fillna(False).astype(bool) if "gap" in rows else pd.Series(False, index=rows.index)
    if info.categorical:
        return _tier_codes(values, is_gap if gaps_only else None)
    if gaps_only:
        values = values.where(is_gap)
    classes = classify(values, scheme=scheme, k=k, metric=metric)
    # Bottom of the legend up: "no data", "not a gap" (gaps only), then the classes.
    bands = [NO_DATA_COLOUR]
    labels = ["Suppressed or no data" if info.from_referrals else "No data"]
    if gaps_only:
        bands.append(NOT_A_GAP_COLOUR)
        labels.append("Not a gap")
    offset = len(bands)
    codes = (classes.index + offset).where(classes.index >= 0, 0)
    if gaps_only:
        codes = codes.mask(~is_gap.to_numpy(), 1)
    bands += classes.colours
    labels += classes.labels
    return _ColourCodes(codes=[int(c) for c in codes], colourscale_bands=bands, legend_labels=labels,
                        fit_text=fit_text(scheme, classes.fit))  # fmt: skip


def fit_text(scheme: str, fit: float | None) -> str:
    """The classes in a few words for the legend: ``"Natural breaks, fit 0.94"`` (the goodness-of-variance
    fit: the share of the variation between units that the classes capture; "" without classes)."""
    name = {"quantiles": "Quantiles", "natural_breaks": "Natural breaks"}.get(scheme, scheme)
    return "" if fit is None else f"{name}, fit {fit:.2f}"


def _tier_codes(tiers: pd.Series, is_gap: pd.Series | None) -> _ColourCodes:
    """Tiers as bands, bottom of the legend up: not in the directory, no gap, watch, moderate, severe.

    With ``is_gap`` (gaps only), every unit that is not a gap takes the "no gap" band.
    """
    order = ["none", "watch", "moderate", "severe"]
    bands = [NO_DATA_COLOUR, *(TIER_COLOURS[tier] for tier in order)]
    labels = [TIER_LABELS["no_data"], *(TIER_LABELS[tier] for tier in order)]
    position = {tier: i + 1 for i, tier in enumerate(order)}
    codes = tiers.astype("string").map(position).fillna(0).astype(int)
    if is_gap is not None:
        codes = codes.where(is_gap.to_numpy() | (codes == 0), position["none"])
    return _ColourCodes(codes=[int(c) for c in codes], colourscale_bands=bands, legend_labels=labels)


def _stepped_colourscale(bands: Sequence[str]) -> list[list[object]]:
    """A colourscale with one flat band per class, for integer z values 0..n-1."""
    n = len(bands)
    scale: list[list[object]] = []
    for i, colour in enumerate(bands):
        scale.append([i / n, colour])
        scale.append([(i + 1) / n, colour])
    return scale


def _colourbar(labels: Sequence[str], info: MetricInfo, *, fit: str = "") -> dict:
    n = len(labels)
    title = _wrap(info.label, 18)
    if fit:
        title += f"<br><span style='font-size:10px'>{escape(fit)}</span>"
    return {
        "title": {"text": title, "side": "top", "font": {"size": 12}},
        "tickmode": "array",
        "tickvals": list(range(n)),
        "ticktext": list(labels),
        "ticks": "",
        "thickness": 16,
        "len": min(0.12 + 0.085 * n, 0.95),
        "lenmode": "fraction",
        "x": 0.01,
        "xanchor": "left",
        "y": 0.98,
        "yanchor": "top",
        "bgcolor": "rgba(255,255,255,0.88)",
        "outlinewidth": 0,
        "tickfont": {"size": 11},
    }


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(escape(part) for part in lines)


def _hover_values(rows: pd.DataFrame, metric: str) -> list[list[str]]:
    """Per row: [metric value, tier, access against the average, nearest, referrals, gap reasons] as text."""

    def column(name: str) -> pd.Series:
        return rows[name] if name in rows else pd.Series(pd.NA, index=rows.index)

    metric_text = format_values(column(METRICS[metric].column), metric)
    if METRICS[metric].from_referrals:
        suppressed = column("referrals_suppressed").fillna(False).astype(bool)
        metric_text = [
            "suppressed (fewer than 8 referrals)" if flag else text
            for text, flag in zip(metric_text, suppressed, strict=True)
        ]
    # The referral counts and the reasons repeat across units: word each distinct one once.
    pairs = list(zip(column("referrals").astype(object), column("referrals_suppressed").astype(object), strict=True))
    referral_words = {pair: referrals_text(*pair) for pair in dict.fromkeys(pairs)}
    reasons = column("gap_reasons").astype(object).tolist()
    reason_words = {r: escape(reasons_text(r)) for r in dict.fromkeys(reasons)}
    return [
        list(values)
        for values in zip(
            metric_text,
            format_values(column("tier"), "tier"),
            format_values(column("access_ratio"), "access_ratio"),
            format_values(column("nearest_km"), "nearest_km"),
            [referral_words[pair] for pair in pairs],
            [reason_words[r] for r in reasons],
            strict=True,
        )
    ]


def _area_hovertemplate(info: MetricInfo) -> str:
    lines = ["<b>%{text}</b>", f"{escape(info.label)}: %{{customdata[0]}}"]
    if info.key != "tier":
        lines.append("Gap severity: %{customdata[1]}")
    if info.key != "access_ratio":
        lines.append("Access: %{customdata[2]}")
    lines += [
        "Nearest: %{customdata[3]}",
        "Referrals: %{customdata[4]}",
        "Why: %{customdata[5]}",
    ]
    return "<br>".join(lines) + "<extra></extra>"


def _selected_trace(geojson: Mapping[str, Any], selected: str | None, area_ids: Sequence[str]) -> dict[str, Any]:
    """An outline-only trace holding just the selected unit's polygon (or nothing)."""
    chosen = [selected] if selected is not None and selected in set(area_ids) else []
    return {
        "type": "choroplethmap",
        "geojson": subset_geojson(geojson, chosen),
        "featureidkey": "id",
        "locations": chosen,
        "z": [0] * len(chosen),
        "zmin": 0,
        "zmax": 1,
        "colorscale": [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
        "showscale": False,
        "marker": {"line": {"width": 4.5, "color": SELECTED_COLOUR}},
        "hoverinfo": "skip",
        "name": "Selected",
        "showlegend": False,
    }


def asset_traces(assets: pd.DataFrame | None) -> list[go.Scattermap]:
    """A white halo, then one point trace per referral status; all empty when ``assets`` is None."""
    return [go.Scattermap({k: v for k, v in trace.items() if k != "type"}) for trace in _asset_trace_dicts(assets)]


def _asset_trace_dicts(assets: pd.DataFrame | None) -> list[dict[str, Any]]:
    """:func:`asset_traces` as plain trace dicts."""
    frame = assets if assets is not None else pd.DataFrame(columns=["lon", "lat", "accepting_referrals"])
    traces = [
        {
            "type": "scattermap",
            "lon": frame["lon"].astype(float).round(5).tolist(),
            "lat": frame["lat"].astype(float).round(5).tolist(),
            "mode": "markers",
            "marker": {"size": 12, "color": "#ffffff", "opacity": 0.9},
            "hoverinfo": "skip",
            "name": "halo",
            "showlegend": False,
        }
    ]
    status = _asset_status(frame)
    for key, label, colour, symbol in ASSET_STATUS:
        subset = frame[status == key]
        traces.append(
            {
                "type": "scattermap",
                "lon": subset["lon"].astype(float).round(5).tolist(),
                "lat": subset["lat"].astype(float).round(5).tolist(),
                "mode": "markers",
                "marker": {"size": 8, "color": colour, "symbol": symbol, "opacity": 1.0},
                "text": [_asset_hover(row) for row in subset.itertuples(index=False)],
                "hovertemplate": "%{text}<extra></extra>",
                "name": f"{label} ({len(subset):,})",
                "showlegend": assets is not None,
            }
        )
    return traces


#: How proposed services (a what-if scenario, :mod:`coverage_map.scenario`) are drawn: a yellow
#: disc in a black ring, unlike any real service's marker.
PROPOSED_MARKER = {"ring": "#000000", "fill": "#f0e442", "label": "Proposed service (what if)"}


def proposed_traces(proposed: pd.DataFrame) -> list[go.Scattermap]:
    """Proposed services (``name``, ``lon``, ``lat``...) as a ring and a labelled disc, to add after the map's traces.

    Added at the end, so the map's documented trace indices do not move.
    """
    return [go.Scattermap({k: v for k, v in trace.items() if k != "type"}) for trace in _proposed_trace_dicts(proposed)]


def _proposed_trace_dicts(proposed: pd.DataFrame | None) -> list[dict[str, Any]]:
    """:func:`proposed_traces` as plain trace dicts (both empty, and out of the legend, for None)."""
    frame = proposed if proposed is not None else pd.DataFrame(columns=["name", "lon", "lat"])
    lon = frame["lon"].astype(float).round(5).tolist()
    lat = frame["lat"].astype(float).round(5).tolist()
    hover = [f"<b>Proposed: {escape(getattr(row, 'name', ''))}</b>" for row in frame.itertuples(index=False)]
    ring = {"type": "scattermap", "lon": lon, "lat": lat, "mode": "markers", "hoverinfo": "skip",
            "name": "proposed ring", "showlegend": False,
            "marker": {"size": 17, "color": PROPOSED_MARKER["ring"], "opacity": 1.0}}  # fmt: skip
    disc = {"type": "scattermap", "lon": lon, "lat": lat, "mode": "markers", "text": hover,
            "hovertemplate": "%{text}<extra></extra>", "name": f"{PROPOSED_MARKER['label']} ({len(frame):,})",
            "marker": {"size": 11, "color": PROPOSED_MARKER["fill"], "opacity": 1.0}}  # fmt: skip
    if proposed is None or not len(frame):
        disc["showlegend"] = False
    return [ring, disc]


#: The outline of units that leave the gap tiers in a what-if scenario (Okabe-Ito bluish green: apart from the
#: pink of the gaps and the black of the selected unit).
LEAVES_GAPS_COLOUR = "#009e73"
LEAVES_GAPS_LABEL = "Leaves the gap tiers with the proposed services"


@dataclass(frozen=True)
class ScenarioLayer:
    """What a what-if scenario adds to a map (:func:`map_figure_dict`'s ``scenario``).

    Attributes
    ----------
    proposed
        Proposed services to draw (``name``, ``lon``, ``lat``), or None.
    leaving
        GeoJSON of the units that leave the gap tiers (severe before and not after, or
        moderate before and no gap after), or None.
    """

    proposed: pd.DataFrame | None = None
    leaving: Mapping[str, Any] | None = None


def scenario_trace_dicts(layer: ScenarioLayer) -> list[dict[str, Any]]:
    """The three what-if traces (outline lines, proposed ring, proposed disc) as plain trace dicts.

    The outline is drawn as lines, not as a second choropleth, so clicks and hovers still reach
    the units underneath; it takes a legend entry only when some unit leaves the gap tiers.
    """
    lon: list[float | None] = []
    lat: list[float | None] = []
    features = list(layer.leaving["features"]) if layer.leaving is not None else []
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                lon += [point[0] for point in ring] + [None]
                lat += [point[1] for point in ring] + [None]
    outline = {
        "type": "scattermap", "lon": lon, "lat": lat, "mode": "lines", "hoverinfo": "skip",
        "line": {"width": 3.5, "color": LEAVES_GAPS_COLOUR},
        "name": f"{LEAVES_GAPS_LABEL} ({len(features):,})", "showlegend": bool(features),
    }  # fmt: skip
    return [outline, *_proposed_trace_dicts(layer.proposed)]


def _asset_status(frame: pd.DataFrame) -> pd.Series:
    accepting = frame["accepting_referrals"] if "accepting_referrals" in frame else pd.Series(pd.NA, index=frame.index)
    flags = pd.array(accepting, dtype="boolean")
    status = np.where(pd.isna(flags), "unknown", np.where(flags.fillna(False), "accepting", "not_accepting"))
    return pd.Series(status, index=frame.index)


def _labels_text(labels: object) -> str:
    if labels is None or (not isinstance(labels, (tuple, list)) and pd.isna(labels)):
        return ""
    items = labels if isinstance(labels, (tuple, list)) else [p for p in str(labels).split(";") if p]
    return ", ".join(display_name(str(item)) for item in items)


def _asset_hover(row: object) -> str:
    name = escape(getattr(row, "name", ""))
    categories = escape(_labels_text(getattr(row, "categories", ())))
    communities = escape(_labels_text(getattr(row, "communities", ()))) or "everyone"
    capacity = getattr(row, "capacity", None)
    capacity_text = (
        "not stated" if capacity is None or pd.isna(capacity) else f"{float(capacity):,.0f} referrals a month"
    )
    return f"<b>{name}</b><br>Offers: {categories}<br>For: {communities}<br>Capacity: {capacity_text}"


def _basemap_settings(basemap: str | None) -> dict:
    if basemap is None or basemap in ("", "none", "white-bg"):
        return {"style": "white-bg"}
    if "{z}" in basemap:
        return {
            "style": "white-bg",
            "layers": [{"below": "traces", "sourcetype": "raster", "source": [basemap]}],
        }
    return {"style": basemap}


def _title(title: str | None, subtitle: str | None) -> dict | None:
    if not title:
        return None
    result: dict = {"text": escape(title), "x": 0.01, "xanchor": "left", "font": {"size": 16}}
    if subtitle:
        result["subtitle"] = {"text": escape(subtitle), "font": {"size": 12, "color": "#555"}}
    return result


def recolour_patch_values(figure: go.Figure | Mapping[str, Any]) -> dict[int, dict[str, object]]:
    """Per trace, the properties a recolouring must update: everything except geometry.

    The dashboard builds a full figure with :func:`map_figure` (or its dict, from
    :func:`map_figure_dict`) and sends only these, so a patched map is by construction
    the same as a freshly drawn one.
    """
    data = figure["data"] if isinstance(figure, Mapping) else figure.to_plotly_json()["data"]
    values: dict[int, dict[str, object]] = {}
    for i, trace in enumerate(data):
        keep = GEOMETRY_KEYS if i == CHOROPLETH else ()
        values[i] = {key: value for key, value in trace.items() if key not in keep}
    return values


# --------------------------------------------------------------------------- small charts


def referral_trend_figure(
    monthly: pd.Series,
    *,
    title: str = "Referrals per month",
    protect_total: bool = True,
    hidden: Collection[object] | None = None,
) -> go.Figure:
    """Monthly referrals as published: 1-7 shown as "fewer than 8", the rest rounded to 5.

    Parameters
    ----------
    monthly
        TRUE monthly counts indexed by month (``Period`` or timestamps); months without
        referrals should be present as 0. Suppression is applied here, before any number
        reaches the figure.
    title
        Chart title (escaped here).
    protect_total
        The months add up to a total published elsewhere (the unit's referral count in
        the map, table and downloads): when exactly one month is suppressed, the smallest
        other non-zero month is hidden too (secondary suppression, see
        :func:`coverage_map.suppress.secondary_suppress`), so the suppressed month cannot
        be worked out by subtraction. Pass False only when no total is published.
    hidden
        The months to suppress, as chosen for everything published from the data set
        (:meth:`coverage_map.dataset.Dataset.hidden_months`); overrides ``protect_total``.
        Every suppressed month then reads the same ("fewer than 8", as suppressed cells do
        in the tables), so a month hidden to protect another cannot be told from a small one.
    """
    months = [_month_label(m) for m in monthly.index]
    true_counts = monthly.fillna(0).astype(int)
    published = [suppress_count(int(c)) for c in true_counts]
    primary = pd.Series([p is None for p in published], index=true_counts.index)
    if hidden is not None:
        chosen = set(hidden)
        flags = pd.Series([month in chosen or bool(first) for month, first in zip(true_counts.index, primary, strict=True)],
                          index=true_counts.index)  # fmt: skip
        primary = flags  # one label for every suppressed month
    else:
        flags = primary
        if protect_total:
            flags = secondary_suppress(true_counts, primary, pd.Series(0, index=true_counts.index))
    suppressed = [bool(h) for h in flags]
    shown = [0 if (p is None or s) else p for p, s in zip(published, suppressed, strict=True)]
    # With ``hidden`` every suppressed month reads alike (as suppressed cells do in the tables).
    labels = ["fewer than 8" if first else "suppressed (protects a small month)" for first in primary]
    hover = [label if s else f"{p:,}" for p, s, label in zip(shown, suppressed, labels, strict=True)]
    figure = go.Figure(
        go.Bar(
            x=months,
            y=shown,
            marker={"color": "#3b528b"},
            customdata=hover,
            hovertemplate="%{x}: %{customdata}<extra></extra>",
            name="Referrals (rounded to 5)",
        )
    )
    if any(suppressed):
        figure.add_trace(
            go.Scatter(
                x=[m for m, s in zip(months, suppressed, strict=True) if s],
                y=[0] * sum(suppressed),
                mode="markers+text",
                marker={"symbol": "triangle-up", "size": 9, "color": "#ff2d87"},
                text=["<8" if first else "*" for first, s in zip(primary, suppressed, strict=True) if s],  # fmt: skip
                textposition="top center",
                customdata=[label for label, s in zip(labels, suppressed, strict=True) if s],
                hovertemplate="%{x}: %{customdata}<extra></extra>",
                name="Suppressed",
            )
        )
    figure.update_layout(
        title={"text": escape(title), "font": {"size": 13}, "x": 0.0, "xanchor": "left"},
        margin={"l": 36, "r": 8, "t": 32, "b": 28},
        height=190,
        showlegend=any(suppressed),
        legend={"orientation": "h", "y": -0.3, "font": {"size": 10}},
        yaxis={"rangemode": "tozero", "fixedrange": True, "title": None},
        xaxis={"fixedrange": True, "type": "category"},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        font={"size": 11},
    )
    return figure


def _month_label(month: object) -> str:
    if isinstance(month, pd.Period):
        return month.strftime("%b %Y")
    return pd.Timestamp(month).strftime("%b %Y")  # type: ignore[arg-type]


def equity_figure(deciles: pd.DataFrame, *, title: str, height: int = 230) -> go.Figure:
    """Access by deprivation tenth (the inverse care law view), most deprived on the left.

    Parameters
    ----------
    deciles
        :attr:`coverage_map.equity.Equity.deciles`: ``imd_decile`` (1 = most deprived),
        ``mean_access`` (need-weighted mean ``access_per_10k``) and ``need_share``.
    title
        Chart title (escaped here), e.g. the equity sentence.
    """
    labels = [
        f"{int(d)}" + (" (most deprived)" if d == 1 else " (least deprived)" if d == 10 else "")
        for d in deciles["imd_decile"]
    ]
    hover = [
        f"Deprivation tenth {int(d)}: {a:,.2f} per 10,000 in need ({s:.0%} of the need)"
        for d, a, s in zip(deciles["imd_decile"], deciles["mean_access"], deciles["need_share"], strict=True)
    ]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=deciles["mean_access"].to_numpy(dtype=float),
            marker={"color": "#3b528b"},
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            name="Access per 10,000 in need",
        )
    )
    figure.update_layout(
        title={"text": _wrap(title, 70), "font": {"size": 13}, "x": 0.0, "xanchor": "left"},
        margin={"l": 48, "r": 8, "t": 48, "b": 40},
        height=height,
        showlegend=False,
        yaxis={"rangemode": "tozero", "fixedrange": True, "title": {"text": "per 10k in need", "font": {"size": 10}}},
        xaxis={"fixedrange": True, "type": "category", "title": {"text": "IMD tenth", "font": {"size": 10}}},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        font={"size": 11},
    )
    return figure
