"""Print-ready map images (PNG, SVG, PDF) drawn by the dashboard's own figure code.

The map itself comes from :func:`coverage_map.outputs.figures.map_figure`, so a print matches the
dashboard. This module dresses it for paper: page size, title and subtitle (with the data
date and what the metric means), the legend beside the map, gap areas outlined, optional
area labels placed without collisions, and a foot with the source, attribution and (when
referral figures are shown) the suppression note. It renders with kaleido in a headless
Chromium, fully offline (``white-bg`` map style, no tiles, no MathJax).

Page geometry: a page is laid out at an A4-sized CSS canvas (about 1123 x 794 px for A4
landscape) scaled so its *area* matches A4, then rendered with kaleido's ``scale`` so the
image has the page's size at the requested DPI (A4 at 300 dpi = 3508 x 2480 px). Fonts are
therefore the same size relative to the page on A4 and A3, and legible in print.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import DISPLAY_CRS
from ..dataset import Dataset
from ..errors import CoverageMapError
from ..findings import LEVEL_WORDS, in_sentence, resolve_borough, select_view
from ..gaps import ranked
from ..geojson import units_geojson
from ..metrics import ALL
from ..progress import each
from ..taxonomy import display_name
from .attribution import SUPPRESSION_NOTE, Credits, credits_for
from .render import png_info, render_images, set_png_dpi

if TYPE_CHECKING:
    import plotly.graph_objects as go

FORMATS = ("png", "svg", "pdf")
PAPER_MM = {"a4": (297.0, 210.0), "a3": (420.0, 297.0)}
CSS_PX_PER_INCH = 96.0
MM_PER_INCH = 25.4
_A4_AREA_MM2 = 297.0 * 210.0

# Layout in CSS px of the A4-equivalent canvas.
_MARGIN = {"l": 40, "r": 30, "t": 112, "b": 92}
_PANEL_PX = 250  # legend panel to the right of the map
_FONT = "Liberation Sans, Arial, Helvetica, sans-serif"
_INK = "#1f2933"
_MUTED = "#52606d"
_GAP_OUTLINE = "#111111"
_MAX_LABELS = 40


@dataclass(frozen=True)
class PageSize:
    """A page in millimetres, with its A4-equivalent CSS canvas."""

    width_mm: float
    height_mm: float

    @property
    def _factor(self) -> float:
        return math.sqrt(self.width_mm * self.height_mm / _A4_AREA_MM2)

    @property
    def css_width(self) -> float:
        return self.width_mm / MM_PER_INCH * CSS_PX_PER_INCH / self._factor

    @property
    def css_height(self) -> float:
        return self.height_mm / MM_PER_INCH * CSS_PX_PER_INCH / self._factor

    def pixels(self, dpi: float) -> tuple[int, int]:
        """Image size in pixels at ``dpi``."""
        return round(self.width_mm / MM_PER_INCH * dpi), round(self.height_mm / MM_PER_INCH * dpi)

    def scale(self, fmt: str, dpi: float) -> float:
        """kaleido's ``scale`` for a format: pixels for raster, page points for PDF, 1 for SVG."""
        if fmt == "png":
            return self.pixels(dpi)[0] / self.css_width
        if fmt == "pdf":  # Chromium prints 1 CSS px as 0.75 pt, so this makes the page the paper size
            return self._factor
        return 1.0


def parse_size(text: str | PageSize) -> PageSize:
    """``a4``, ``a3`` (landscape), ``a4-portrait`` or ``WxHmm`` (e.g. ``320x180mm``)."""
    if isinstance(text, PageSize):
        return text
    key = str(text).strip().lower()
    portrait = key.endswith(("-portrait", "p"))
    base = key.removesuffix("-portrait").removesuffix("p") if key[:2] in PAPER_MM else key
    if base in PAPER_MM:
        width, height = PAPER_MM[base]
        return PageSize(height, width) if portrait else PageSize(width, height)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*(mm)?", key)
    if not match:
        raise CoverageMapError(f"unknown page size '{text}': use a4, a3, a4-portrait, a3-portrait or WxHmm")
    width, height = float(match.group(1)), float(match.group(2))
    if not (50 <= width <= 2000 and 50 <= height <= 2000):
        raise CoverageMapError(f"page size '{text}' must be between 50 and 2000 mm on each side")
    return PageSize(width, height)


@dataclass(frozen=True)
class MapRequest:
    """What to draw: the same choices as the dashboard's controls, plus print options."""

    category: str
    community: str = ALL
    metric: str = "tier"
    level: str = "neighbourhood"
    borough: str | None = None
    title: str | None = None
    subtitle: str | None = None
    size: str | PageSize = "a4"
    dpi: float = 300
    labels: bool = False
    show_assets: bool = True
    gaps_only: bool = False
    scheme: str = "quantiles"
    k: int = 5

    @property
    def page(self) -> PageSize:
        return parse_size(self.size)


@dataclass(frozen=True)
class Exported:
    """One file written: where, what size, and how long rendering took."""

    path: Path
    format: str
    bytes: int
    seconds: float
    pixels: tuple[int, int] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- SVG metadata ---------------------------------------------------------------------------


def _svg_physical_size(svg: bytes, page: PageSize) -> bytes:
    """Give the SVG's root element its size in millimetres, so it prints at the paper size."""
    text = svg.decode("utf-8")
    head, close, rest = text.partition(">")
    head = re.sub(r'\swidth="[^"]*"', f' width="{page.width_mm:g}mm"', head, count=1)
    head = re.sub(r'\sheight="[^"]*"', f' height="{page.height_mm:g}mm"', head, count=1)
    return (head + close + rest).encode("utf-8")


# --- labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A label placed on the map, in CSS px from the map's top-left corner."""

    area_id: str
    text: str
    x: float
    y: float
    width: float
    height: float


def place_labels(
    candidates: Sequence[tuple[str, str, float, float]],
    *,
    width: float,
    height: float,
    font_px: float = 11.0,
    limit: int = _MAX_LABELS,
    keep_out: Sequence[tuple[float, float, float, float]] = (),
) -> list[Label]:
    """Greedy label placement: the first candidates (the worst gaps) win, overlapping labels are dropped.

    Parameters
    ----------
    candidates
        ``(area_id, text, x, y)`` in priority order; ``x, y`` the anchor in CSS px from the
        map's top-left.
    width, height
        The map's size in CSS px; labels must fit inside it.
    font_px
        Font size, for estimating each label's box.
    limit
        At most this many labels.
    keep_out
        Boxes ``(x0, y0, x1, y1)`` no label may touch (a legend drawn over the map...).
    """
    placed: list[Label] = []
    boxes: list[tuple[float, float, float, float]] = list(keep_out)
    box_h = font_px * 1.35
    pad = 2.0
    for area_id, text, x, y in candidates:
        if len(placed) >= limit:
            break
        box_w = _text_width(text, font_px) + 2 * pad
        # centred on the anchor, then just above, below, right and left of it
        offsets = [(0.0, 0.0), (0.0, -box_h), (0.0, box_h), (box_w / 2 + 4, 0.0), (-box_w / 2 - 4, 0.0)]
        for dx, dy in offsets:
            cx, cy = x + dx, y + dy
            box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
            if box[0] < 2 or box[1] < 2 or box[2] > width - 2 or box[3] > height - 2:
                continue
            if any(_overlap(box, other) for other in boxes):
                continue
            boxes.append(box)
            placed.append(Label(area_id, text, cx, cy, box_w, box_h))
            break
    return placed


def _text_width(text: str, font_px: float) -> float:
    # Liberation Sans averages about 0.55 em per character; capitals and W/M are wider.
    wide = sum(1 for char in text if char.isupper() or char in "WMwm@&")
    return font_px * (0.52 * len(text) + 0.14 * wide)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- map view geometry ------------------------------------------------------------------------


def _mercator_y(lat: np.ndarray | float) -> np.ndarray:
    lat = np.clip(np.radians(lat), -1.4844, 1.4844)
    return np.log(np.tan(np.pi / 4 + lat / 2))


def fit_view(
    bounds: tuple[float, float, float, float], *, width: float, height: float, padding: float = 0.05
) -> tuple[dict[str, float], float]:
    """``(center, zoom)`` showing ``bounds`` (lon/lat) in a map of ``width`` x ``height`` CSS px.

    MapLibre (plotly's ``map`` subplot) uses 512-px tiles in Web Mercator.
    """
    west, south, east, north = bounds
    span_x = max(east - west, 1e-6) / 360.0
    y_north, y_south = float(_mercator_y(north)), float(_mercator_y(south))
    span_y = max(y_north - y_south, 1e-9) / (2 * np.pi)
    usable = 1 - 2 * padding
    zoom = min(math.log2(width * usable / (512 * span_x)), math.log2(height * usable / (512 * span_y)))
    center_y = (y_north + y_south) / 2
    center_lat = math.degrees(2 * math.atan(math.exp(center_y)) - math.pi / 2)
    return {"lon": (west + east) / 2, "lat": center_lat}, float(zoom)


def project(
    lon: np.ndarray, lat: np.ndarray, *, center: Mapping[str, float], zoom: float, width: float, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat to CSS px from the top-left of a map with this centre and zoom."""
    world = 512 * 2**zoom
    x = (np.asarray(lon) - center["lon"]) / 360.0 * world + width / 2
    y = (float(_mercator_y(center["lat"])) - _mercator_y(np.asarray(lat))) / (2 * np.pi) * world + height / 2
    return x, y


# --- the print figure -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Where the map sits on the canvas, in CSS px."""

    page: PageSize

    @property
    def plot_w(self) -> float:
        return self.page.css_width - _MARGIN["l"] - _MARGIN["r"]

    @property
    def plot_h(self) -> float:
        return self.page.css_height - _MARGIN["t"] - _MARGIN["b"]

    @property
    def map_frac(self) -> float:
        return max(0.45, 1 - _PANEL_PX / self.plot_w)

    @property
    def map_w(self) -> float:
        return self.plot_w * self.map_frac

    @property
    def map_h(self) -> float:
        return self.plot_h


def _figures_module() -> Any:
    from . import figures

    return figures


def metric_info(metric: str) -> Any:
    """The dashboard's description of a metric (:data:`~coverage_map.outputs.classes.METRICS`), or a clear error."""
    from .classes import METRICS as metrics

    if metric not in metrics:
        raise CoverageMapError(f"unknown metric '{metric}'; choose one of {', '.join(metrics)}")
    return metrics[metric]


def default_title(dataset: Dataset, request: MapRequest) -> str:
    """``Dementia for carers: gap severity in Borough One`` (the category, group, metric and place)."""
    info = metric_info(request.metric)
    what = display_name(request.category)
    if request.community != ALL:
        what += f" for {in_sentence(display_name(request.community))}"
    place = resolve_borough(dataset, request.borough)
    title = f"{what}: {in_sentence(str(info.label))}"
    return f"{title} in {place[1]}" if place else title


def default_subtitle(dataset: Dataset, request: MapRequest, credits: Credits) -> str:
    """What the metric means in plain English (for tiers: the rules, with the thresholds used), by which
    units, and the data date."""
    info = metric_info(request.metric)
    description = str(info.description).rstrip(". ")
    if info.categorical:
        from .classes import tier_summary

        description = tier_summary(dataset.method.thresholds).rstrip(".")
    description = description[:1].upper() + description[1:]
    by = LEVEL_WORDS.get(request.level, (request.level, request.level))[0]
    parts = [f"{description}.", f"Shown by {by}."]
    if credits.data_date:
        parts.append(f"Data: {credits.data_date}.")
    return " ".join(parts)


def _wrap(text: str, *, width_px: float, font_px: float) -> str:
    """Wrap plain text to lines of about ``width_px`` for plotly (which does not wrap), joined by <br>."""
    per_line = max(20, int(width_px / (font_px * 0.53)))
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "<br>".join(lines)


def _escape(text: object) -> str:
    """Escape data text for plotly's HTML-like text (which would otherwise read <b>, <br>...)."""
    import html

    return html.escape(str(text), quote=False)


def _assets_for(dataset: Dataset, request: MapRequest, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Assets offering the category (and listing the community) inside the units shown, with lon/lat."""
    assets = dataset.inputs.assets
    offers = assets["categories"].map(lambda cats: request.category in cats).astype(bool)
    if request.community != ALL:
        offers &= assets["communities"].map(lambda groups: request.community in groups).astype(bool)
    chosen = assets[offers]
    if request.borough is not None and len(chosen):
        chosen = chosen[chosen.geometry.intersects(units.to_crs(assets.crs).union_all())]
    points = chosen.to_crs(DISPLAY_CRS)
    columns = ["asset_id", "name", "categories", "communities", "capacity", "accepting_referrals"]
    columns += ["proposed"] if "proposed" in points.columns else []
    return pd.DataFrame(points[columns]).assign(lon=points.geometry.x.to_numpy(), lat=points.geometry.y.to_numpy())


def print_figure(dataset: Dataset, request: MapRequest, *, credits: Credits | None = None) -> go.Figure:
    """The dashboard's map figure for ``request``, dressed for print.

    Parameters
    ----------
    dataset
        The loaded data.
    request
        Category, community, metric, level, borough and print options.
    credits
        Attribution and data date (default: :func:`~coverage_map.outputs.attribution.credits_for`).
    """
    figures = _figures_module()
    info = metric_info(request.metric)
    if request.level not in dataset.levels:
        raise CoverageMapError(f"level '{request.level}' is not available; choose one of {', '.join(dataset.levels)}")
    credits = credits or credits_for(dataset)
    view = select_view(
        dataset, level=request.level, category=request.category, community=request.community, borough=request.borough
    )
    if view.empty:
        raise CoverageMapError("nothing to map: no units match the chosen level, category, community and borough")
    units = dataset.units_wgs84(request.level)
    units = units[units["area_id"].isin(view["area_id"])]
    geojson = units_geojson(units)
    scenario = "proposed" in dataset.inputs.assets.columns
    assets = _assets_for(dataset, request, units) if request.show_assets or scenario else None
    proposed = None
    if assets is not None and "proposed" in assets.columns:  # a scenario: proposed services drawn apart
        flags = assets["proposed"].fillna(False).astype(bool)
        proposed, assets = assets[flags], assets[~flags].drop(columns="proposed")
        if not request.show_assets:  # the real services hidden; the proposed ones are the point of the map
            assets = None
    figure = figures.map_figure(
        view,
        geojson,
        metric=request.metric,
        scheme=request.scheme,
        k=request.k,
        assets=assets,
        show_assets=request.show_assets,
        gaps_only=request.gaps_only,
    )
    frame = _Frame(request.page)
    title = request.title or default_title(dataset, request)
    subtitle = request.subtitle or default_subtitle(dataset, request, credits)
    _dress(figure, frame, title=title, subtitle=subtitle)
    center, zoom = fit_view(tuple(units.total_bounds), width=frame.map_w, height=frame.map_h)
    figure.update_layout(
        map={"center": center, "zoom": zoom, "domain": {"x": [0, frame.map_frac], "y": [0, 1]}, "style": "white-bg"}
    )
    outline = _outline_gaps(figure, categorical=bool(info.categorical))
    tier = view["tier"].astype("string")
    _gap_key(figure, frame, colour=outline, total=len(view),
             counts={name: int((tier == name).sum()) for name in ("severe", "moderate")})  # fmt: skip
    if info.categorical:
        _count_tiers(figure)
    notes = [
        "Outlined: gaps (severe or moderate), where people in need can reach well under the region's average "
        "provision per person, after sharing it with everyone else within reach (see the methods)."
    ]
    if bool(getattr(info, "from_referrals", False)):
        notes.append(SUPPRESSION_NOTE + ".")
    if proposed is not None and len(proposed):
        notes.append("Yellow discs in black rings: proposed services of a what-if scenario, not real ones.")
    _foot(figure, frame, credits.source_line(), " ".join(notes))
    if proposed is not None and len(proposed):  # first, so the area labels keep off their markers
        _add_proposed(figure, frame, proposed, center=center, zoom=zoom)
    if request.labels:
        _add_labels(figure, frame, view, units, center=center, zoom=zoom)
    return figure


def _add_proposed(
    figure: go.Figure, frame: _Frame, proposed: pd.DataFrame, *, center: Mapping[str, float], zoom: float
) -> None:
    """The proposed services' markers (after every other trace) and a label beside each: ``Proposed: name``."""
    for trace in _figures_module().proposed_traces(proposed):
        figure.add_trace(trace)
    x, y = project(proposed["lon"].to_numpy(dtype=float), proposed["lat"].to_numpy(dtype=float), center=center,
                   zoom=zoom, width=frame.map_w, height=frame.map_h)  # fmt: skip
    for name, px, py in zip(proposed["name"].astype(str), x, y, strict=True):
        figure.add_annotation(
            text=f"<b>Proposed: {_escape(name)}</b>",
            xref="paper",
            yref="paper",
            x=(px + 11) / frame.plot_w,
            y=1 - py / frame.plot_h,
            xanchor="left",
            yanchor="middle",
            showarrow=False,
            font={"size": 11, "color": _INK, "family": _FONT},
            bgcolor="rgba(255,255,255,0.85)",
            borderpad=1,
        )


def _dress(figure: go.Figure, frame: _Frame, *, title: str, subtitle: str) -> None:
    page = frame.page
    figure.update_layout(
        width=page.css_width,
        height=page.css_height,
        autosize=False,
        margin=dict(_MARGIN, pad=0),
        paper_bgcolor="white",
        plot_bgcolor="white",
        font={"family": _FONT, "color": _INK, "size": 12},
        title={
            "text": f"<b>{_escape(title)}</b>",
            "x": _MARGIN["l"] / page.css_width,
            "xanchor": "left",
            "y": 1 - 16 / page.css_height,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 24, "color": _INK, "family": _FONT},
            "subtitle": {
                "text": _wrap(_escape(subtitle), width_px=frame.plot_w, font_px=14),
                "font": {"size": 14, "color": _MUTED, "family": _FONT},
            },
        },
        showlegend=True,
    )
    # The side panel, top to bottom: gap key, class colours (the colourbar), asset symbols.
    x = frame.map_frac + 16 / frame.plot_w
    bar_top = 1 - 56 / frame.plot_h
    bar_len = 0.0
    for trace in figure.data:
        if getattr(trace, "type", "") == "choroplethmap" and getattr(trace, "showscale", None):
            ticks = len(trace.colorbar.ticktext or ()) or 5
            bar_len = min(0.1 + 0.075 * ticks, 0.62)
            trace.update(
                colorbar={
                    "x": x,
                    "xanchor": "left",
                    "y": bar_top,
                    "yanchor": "top",
                    "len": bar_len,
                    "lenmode": "fraction",
                    "thickness": 22,
                    "bgcolor": "rgba(255,255,255,0)",
                    "tickfont": {"size": 13, "family": _FONT},
                    "title": {"font": {"size": 14, "family": _FONT, "color": _INK}},
                }
            )
    figure.update_layout(
        legend={
            "orientation": "v",
            "x": x - 4 / frame.plot_w,
            "xanchor": "left",
            "y": bar_top - bar_len - 24 / frame.plot_h,
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0)",
            "borderwidth": 0,
            "font": {"size": 12, "family": _FONT, "color": _INK},
            "itemsizing": "constant",
            "title": {"text": "Organisations", "font": {"size": 13, "family": _FONT, "color": _INK}},
        },
    )


def _outline_gaps(figure: go.Figure, *, categorical: bool) -> str:
    """The colour gaps are outlined in: the dashboard's pink, or dark ink over the tiers' own pinks."""
    figures = _figures_module()
    pink = getattr(figures, "GAP_OUTLINE_COLOUR", "#ff2d87")
    if not categorical:
        return str(pink)
    line = figure.data[0].marker.line
    line.color = [_GAP_OUTLINE if colour == pink else colour for colour in line.color]
    return _GAP_OUTLINE


def _count_tiers(figure: go.Figure) -> None:
    """Each tier's legend label with how many units it colours: ``Moderate gap (17)``."""
    choropleth = figure.data[0]
    codes = pd.Series(list(choropleth.z), dtype="int64").value_counts()
    labels = list(choropleth.colorbar.ticktext)
    choropleth.colorbar.ticktext = [f"{label} ({int(codes.get(i, 0)):,})" for i, label in enumerate(labels)]


def _gap_key(figure: go.Figure, frame: _Frame, *, colour: str, counts: Mapping[str, int], total: int) -> None:
    """A legend key for the gap outline (the map's trace has no legend entry), counting severe and moderate units."""
    x0 = frame.map_frac + 16 / frame.plot_w
    top = 1 - 4 / frame.plot_h
    figure.add_shape(
        type="rect",
        xref="paper",
        yref="paper",
        x0=x0,
        x1=x0 + 26 / frame.plot_w,
        y0=top - 16 / frame.plot_h,
        y1=top,
        line={"color": colour, "width": 3},
        fillcolor="#f5f5f5",
    )
    gaps = sum(counts.values())
    figure.add_annotation(
        text=f"Gap: {gaps:,} of {total:,}<br>({counts['severe']:,} severe, {counts['moderate']:,} moderate)",
        xref="paper",
        yref="paper",
        x=x0 + 34 / frame.plot_w,
        y=top + 2 / frame.plot_h,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": 13, "color": _INK, "family": _FONT},
    )


def _foot(figure: go.Figure, frame: _Frame, source: str, notes: str) -> None:
    width = frame.page.css_width - _MARGIN["l"] - _MARGIN["r"]
    lines = [_wrap(_escape(notes), width_px=width, font_px=11), _wrap(_escape(source), width_px=width, font_px=11)]
    text = "<br>".join(line for line in lines if line)
    figure.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0,
        y=-14 / frame.plot_h,
        xanchor="left",
        yanchor="top",
        showarrow=False,
        align="left",
        font={"size": 11, "color": _MUTED, "family": _FONT},
    )


def _add_labels(
    figure: go.Figure,
    frame: _Frame,
    view: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    center: Mapping[str, float],
    zoom: float,
) -> None:
    ordered = ranked(view)  # the worst first: they win any overlap
    metric_units = units.set_index("area_id").to_crs("EPSG:27700")
    points = metric_units.geometry.representative_point().to_crs(DISPLAY_CRS)
    ordered = ordered[ordered["area_id"].isin(points.index)]
    lon = points.loc[ordered["area_id"]].x.to_numpy()
    lat = points.loc[ordered["area_id"]].y.to_numpy()
    x, y = project(lon, lat, center=center, zoom=zoom, width=frame.map_w, height=frame.map_h)
    candidates = list(zip(ordered["area_id"].astype(str), ordered["area_name"].astype(str), x, y, strict=True))
    # Keep labels off the organisation markers (9 px circles).
    markers: list[tuple[float, float, float, float]] = []
    for trace in figure.data:
        if getattr(trace, "type", "") == "scattermap" and trace.lon:
            mx, my = project(
                np.asarray(trace.lon, dtype=float),
                np.asarray(trace.lat, dtype=float),
                center=center,
                zoom=zoom,
                width=frame.map_w,
                height=frame.map_h,
            )
            markers.extend((px - 6, py - 6, px + 6, py + 6) for px, py in zip(mx, my, strict=True))
    for label in place_labels(candidates, width=frame.map_w, height=frame.map_h, font_px=11, keep_out=markers):
        figure.add_annotation(
            text=_escape(label.text),
            xref="paper",
            yref="paper",
            x=label.x / frame.plot_w,
            y=1 - label.y / frame.plot_h,
            xanchor="center",
            yanchor="middle",
            showarrow=False,
            font={"size": 11, "color": _INK, "family": _FONT},
            bgcolor="rgba(255,255,255,0.72)",
            borderpad=1,
        )


# --- writing files ----------------------------------------------------------------------------


def _format_of(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise CoverageMapError(f"unknown map format '{chosen or path.name}'; choose one of {', '.join(FORMATS)}")
    return chosen


def _opts(page: PageSize, fmt: str, dpi: float) -> dict[str, Any]:
    return {"format": fmt, "width": page.css_width, "height": page.css_height, "scale": page.scale(fmt, dpi)}


def _finish(data: bytes, fmt: str, request: MapRequest) -> bytes:
    if fmt == "png":
        return set_png_dpi(data, request.dpi)
    if fmt == "svg":
        return _svg_physical_size(data, request.page)
    return data


def write_maps(
    items: Sequence[tuple[go.Figure, MapRequest, Path, str]],
    *,
    browser: str | None = None,
) -> list[Exported]:
    """Render several print figures in one Chromium session and write them."""
    if not items:
        return []
    problems = [
        f"--dpi must be between 50 and 1200, not {request.dpi:g}"
        for _, request, _, _ in items
        if not 50 <= request.dpi <= 1200
    ]
    if problems:
        raise CoverageMapError(problems[0])
    started = time.perf_counter()
    images = render_images(
        [(figure, _opts(request.page, fmt, request.dpi)) for figure, request, _, fmt in items], browser=browser
    )
    seconds = (time.perf_counter() - started) / len(items)
    written = []
    for (_, request, path, fmt), data in zip(items, images, strict=True):
        data = _finish(data, fmt, request)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        pixels = png_info(data)[:2] if fmt == "png" else None
        written.append(Exported(path=path, format=fmt, bytes=len(data), seconds=seconds, pixels=pixels))
    return written


def export_map(
    dataset: Dataset, request: MapRequest, out: str | Path, *, fmt: str | None = None, browser: str | None = None
) -> Exported:
    """Render one map to ``out`` (PNG, SVG or PDF, from ``fmt`` or the file's extension)."""
    out = Path(out)
    chosen = _format_of(out, fmt)
    figure = print_figure(dataset, request)
    return write_maps([(figure, request, out, chosen)], browser=browser)[0]


def export_all_categories(
    dataset: Dataset,
    request: MapRequest,
    out_dir: str | Path,
    *,
    fmt: str = "png",
    browser: str | None = None,
    categories: Sequence[str] | None = None,
) -> list[Exported]:
    """One map per category (same community, metric, level and borough), for a slide deck.

    Every figure is built first, so a problem stops the run before the browser starts;
    then one Chromium session renders them all.
    """
    out_dir = Path(out_dir)
    chosen = _format_of(Path(f"x.{fmt}"), fmt)
    credits = credits_for(dataset)
    items = []
    chosen_categories = list(categories or dataset.categories)
    for category in each(chosen_categories, "drawing maps", total=len(chosen_categories)):
        one = replace(
            request,
            category=category,
            title=None if request.title is None else f"{request.title} — {display_name(category)}",
        )
        figure = print_figure(dataset, one, credits=credits)
        items.append((figure, one, out_dir / f"{_slug(category, request)}.{chosen}", chosen))
    return write_maps(items, browser=browser)


def _slug(category: str, request: MapRequest) -> str:
    parts = [category]
    if request.community != ALL:
        parts.append(request.community)
    parts.append(request.metric)
    if request.borough:
        parts.append(re.sub(r"[^a-z0-9]+", "-", request.borough.lower()).strip("-"))
    return "_".join(parts)
