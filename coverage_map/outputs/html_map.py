"""A single self-contained interactive map (folium / Leaflet) a forum can email or host.

One layer per need category (radio buttons in the layer control: one visible at a time),
each a choropleth of the chosen metric with gap areas outlined thickly, the organisations
offering that category as clustered markers with popups, a legend that follows the
visible layer, and the source, attribution and suppression lines.

Self-contained means: no map tiles (a plain background), and Leaflet and
Leaflet.markercluster inlined from copies shipped in ``coverage_map/templates/vendor``
(folium would load them, jQuery, Bootstrap and Font Awesome from CDNs). The file opens
offline. Pass ``inline=False`` for a smaller file that loads folium's usual CDN links.

Every text taken from data (names, categories, reasons) is HTML-escaped here, including
the characters that would break out of the JavaScript template strings folium writes
popups into (`` ` ``, ``$``, ``\\``), so a name such as ``<img src=x onerror=alert(1)>``
shows as text. Referral figures are published (suppressed) ones.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ..config import DISPLAY_CRS
from ..dataset import Dataset
from ..errors import CoverageMapError
from ..findings import LEVEL_WORDS, resolve_borough, select_view
from ..gaps import TIER_LABELS
from ..geojson import units_geojson
from ..metrics import ALL
from ..suppress import describe_count
from ..taxonomy import display_name
from ..tiers import TIERS
from .attribution import SUPPRESSION_NOTE, credits_for

_VENDOR_JS = ("leaflet.js", "leaflet.markercluster.js")
_VENDOR_CSS = ("leaflet.css", "MarkerCluster.css", "MarkerCluster.Default.css")
#: folium writes popups as ``$(`<div>...</div>`)[0]`` (jQuery); this parses the same string
#: into an inert element without jQuery. Our content is escaped, so nothing in it runs.
_DOLLAR_SHIM = (
    "window.$ = window.$ || function (markup) {"
    " var holder = document.createElement('template'); holder.innerHTML = String(markup).trim();"
    " return [holder.content.firstElementChild]; };"
)
#: Each unit's tooltip and popup lines: (property, label); the tooltip shows the first four.
_FIELDS = (
    ("name", "Area"),
    ("value", "Value"),
    ("tier", "Gap severity"),
    ("access", "Access"),
    ("need", "People in need"),
    ("unmet", "Unmet need (people)"),
    ("why", "Why"),
    ("referrals", "Referrals"),
)
#: Gap outlines: the dashboard's pink over classes, dark ink over the tiers' own pinks (as in the print maps).
_PINK_OUTLINE, _INK_OUTLINE = "#ff2d87", "#111111"
_STATUS = (("accepting", "Accepting referrals", "#00a6ff"), ("not_accepting", "Not accepting referrals", "#ff8c00"),
           ("unknown", "Referral status unknown", "#ffffff"))  # fmt: skip


@dataclass(frozen=True)
class HtmlExport:
    """The file written and what is in it."""

    path: Path
    bytes: int
    seconds: float
    layers: tuple[str, ...]
    inline: bool


def esc(value: object) -> str:
    """Data text, safe as HTML *and* inside the JavaScript template strings folium writes."""
    if value is None or (not isinstance(value, (str, tuple, list)) and pd.isna(value)):
        return ""
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _vendor(name: str) -> str:
    return resources.files("coverage_map").joinpath("templates", "vendor", name).read_text(encoding="utf-8")


def interactive_map(
    dataset: Dataset,
    *,
    category: str | None = None,
    categories: Sequence[str] | None = None,
    community: str = ALL,
    metric: str = "tier",
    level: str = "neighbourhood",
    borough: str | None = None,
    inline: bool = True,
    scheme: str = "quantiles",
    k: int = 5,
    title: str | None = None,
) -> Any:
    """The folium map (see the module docstring); :func:`export_html` writes it.

    Parameters
    ----------
    dataset
        The loaded data.
    category
        The layer shown first (default: the first of ``categories``).
    categories
        One layer each (default: every category of the data set).
    community, metric, level, borough
        The same filters as the dashboard and ``export-map``.
    inline
        Inline Leaflet's JavaScript and CSS (no CDN); ``False`` keeps folium's CDN links.
    scheme, k
        Classification of the metric (see :func:`coverage_map.outputs.classes.classify`).
    title
        Heading over the map (default: metric and place).
    """
    import folium
    from folium.plugins import MarkerCluster

    from .classes import METRICS

    if metric not in METRICS:
        raise CoverageMapError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    layers = list(categories or dataset.categories)
    unknown = [c for c in [*layers, *([category] if category else [])] if c not in dataset.categories]
    if unknown:
        raise CoverageMapError(f"unknown categories: {', '.join(unknown)}")
    first = category or layers[0]
    if first not in layers:
        layers.insert(0, first)
    info = METRICS[metric]
    place = resolve_borough(dataset, borough)
    credits = credits_for(dataset)

    units = dataset.units_wgs84(level)
    views = {c: select_view(dataset, level=level, category=c, community=community, borough=borough) for c in layers}
    shown_ids = set(views[first]["area_id"].astype(str))
    units = units[units["area_id"].astype(str).isin(shown_ids)]
    if units.empty:
        raise CoverageMapError("nothing to map: no units match the chosen level, community and borough")
    geojson = units_geojson(units)
    west, south, east, north = (float(v) for v in units.total_bounds)

    fmap = folium.Map(
        tiles=None,
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=10,
        control_scale=True,
        prefer_canvas=False,
    )
    # Without a tile layer Leaflet has no zoom range, and the marker clusters need one.
    fmap.options.update({"maxZoom": 18, "minZoom": 6, "zoomSnap": 0.25})
    fmap.fit_bounds([[south, west], [north, east]])
    if inline:
        fmap.default_js = []
        fmap.default_css = []
        header = cast(Any, fmap.get_root()).header
        for name in _VENDOR_CSS:
            header.add_child(folium.Element(f"<style>{_vendor(name)}</style>"), name=f"inline_{name}")
        for name in _VENDOR_JS:
            script = _vendor(name).replace("</script", "<\\/script")
            header.add_child(folium.Element(f"<script>{script}</script>"), name=f"inline_{name}")
        header.add_child(folium.Element(f"<script>{_DOLLAR_SHIM}</script>"), name="dollar_shim")

    legends: dict[str, str] = {}
    for position, cat in enumerate(layers):
        view = views[cat]
        layer_name = esc(display_name(cat))
        group = folium.FeatureGroup(name=layer_name, overlay=False, show=(cat == first))
        collection = _features(view, geojson, metric=metric, scheme=scheme, k=k)
        legend_rows = collection.pop("legend")
        outline = collection.pop("outline")
        unit = LEVEL_WORDS.get(level, (level,))[0].capitalize()
        # The metric's own line is left out where it is the tier (shown anyway).
        shown = [(f, a) for f, a in _FIELDS if not (info.categorical and f == "value")]
        fields = [f for f, _ in shown]
        aliases = [unit if f == "name" else esc(info.label) if f == "value" else a for f, a in shown]
        folium.GeoJson(
            collection,
            name=f"{layer_name} areas",
            style_function=lambda feature: feature["properties"]["style"],
            highlight_function=lambda feature: {"weight": 4, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(fields=fields[:4], aliases=aliases[:4], sticky=True),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, max_width=360),
        ).add_to(group)
        cluster = MarkerCluster(name=f"{layer_name} organisations", options={"maxClusterRadius": 40})
        if inline:
            cluster.default_js = []
            cluster.default_css = []
        for marker in _asset_markers(dataset, cat, community=community, units=units):
            marker.add_to(cluster)
        cluster.add_to(group)
        group.add_to(fmap)
        legends[layer_name] = _legend_html(
            legend_rows,
            title=f"{display_name(cat)}: {info.label}",
            visible=(cat == first),
            position=position,
            outline=outline,
        )
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)

    description = str(info.description)
    if info.categorical:
        from .classes import tier_summary

        description = tier_summary(dataset.method.thresholds).rstrip(".")
    heading = title or (
        f"{info.label}"
        + (f" in {place[1]}" if place else "")
        + ("" if community == ALL else f" for {display_name(community)}")
    )
    by = LEVEL_WORDS.get(level, (level, level))[0]
    notes = [
        credits.source_line(),
        f"Areas are {by}s; thick outlines mark gaps (severe or moderate). Click an area for why.",
        f"{SUPPRESSION_NOTE}.",
    ]
    cast(Any, fmap.get_root()).html.add_child(
        folium.Element(
            _frame_html(
                heading=heading,
                description=description,
                legends=legends,
                notes=notes,
                map_name=fmap.get_name(),
            )
        )
    )
    return fmap


def export_html(dataset: Dataset, out: str | Path, **options: Any) -> HtmlExport:
    """Write :func:`interactive_map` to ``out`` as one HTML file."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CoverageMapError(f"--out must end in .html, not '{out.name}'")
    started = time.perf_counter()
    fmap = interactive_map(dataset, **options)
    text = fmap.get_root().render()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    layers = tuple(display_name(c) for c in (options.get("categories") or dataset.categories))
    return HtmlExport(
        path=out,
        bytes=out.stat().st_size,
        seconds=time.perf_counter() - started,
        layers=layers,
        inline=bool(options.get("inline", True)),
    )


def _features(view: pd.DataFrame, geojson: dict, *, metric: str, scheme: str, k: int) -> dict:
    """GeoJSON features with escaped display properties and a style per feature, plus legend rows.

    A categorical metric (the tier) takes the tiers' colours and labels, as in the dashboard and
    the print maps; any other is put in classes (:func:`~coverage_map.outputs.classes.classify`).
    """
    from .classes import METRICS, TIER_COLOURS, access_words, classify, format_value
    from .figures import NO_DATA_COLOUR, reasons_text

    info = METRICS[metric]
    tiers = view["tier"].astype("string").fillna("no_data")
    if info.categorical:
        colours = [TIER_COLOURS.get(str(tier), NO_DATA_COLOUR) for tier in tiers]
        counts = tiers.value_counts()
        legend = [
            (TIER_COLOURS.get(tier, NO_DATA_COLOUR), f"{TIER_LABELS[tier]} ({int(counts.get(tier, 0)):,})")
            for tier in TIERS
        ]
        outline = _INK_OUTLINE
    else:
        classes = classify(view[info.column], scheme=scheme, k=k, metric=metric)
        colours = [classes.colours[i] if i >= 0 else NO_DATA_COLOUR for i in classes.index.astype(int)]
        legend = list(zip(classes.colours, classes.labels, strict=True))
        if (classes.index < 0).any():
            legend.append((NO_DATA_COLOUR, "Suppressed or no data" if info.from_referrals else "No data"))
        outline = _PINK_OUTLINE
    shapes = {feature["id"]: feature["geometry"] for feature in geojson["features"]}
    features = []
    suppressed = view["referrals_suppressed"].fillna(False).astype(bool)
    for position, row in enumerate(view.itertuples(index=False)):
        area_id = str(row.area_id)
        if area_id not in shapes:
            continue
        value = getattr(row, info.column)
        value_text = (
            "suppressed (fewer than 8 referrals)"
            if info.from_referrals and bool(suppressed.iloc[position])
            else format_value(None if pd.isna(value) else value, metric)
        )
        gap = bool(row.gap)
        referrals = describe_count(
            None if pd.isna(row.referrals) else int(row.referrals), suppressed=bool(suppressed.iloc[position])
        )
        properties = {
            "name": row.area_name,
            "value": value_text,
            "tier": TIER_LABELS.get(str(tiers.iloc[position]), str(tiers.iloc[position])),
            "access": access_words(row.access_ratio),
            "need": _people(row.need),
            "unmet": _people(row.unmet_need),
            "why": reasons_text(row.gap_reasons),
            "referrals": referrals,
        }
        style = {
            "fillColor": colours[position],
            "fillOpacity": 0.85,
            "color": outline if gap else "#777777",
            "weight": 3.5 if gap else 0.6,
            "opacity": 1.0 if gap else 0.7,
        }
        features.append(
            {
                "type": "Feature",
                "id": area_id,
                "geometry": shapes[area_id],
                "properties": {**{key: esc(text) for key, text in properties.items()}, "style": style},
            }
        )
    return {"type": "FeatureCollection", "features": features, "legend": legend, "outline": outline}


def _people(value: object) -> str:
    """A count of people in need as text (``no data`` when unknown)."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "no data"
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def _asset_markers(dataset: Dataset, category: str, *, community: str, units: Any) -> list[Any]:
    import folium

    assets = dataset.inputs.assets
    offers = assets["categories"].map(lambda cats: category in cats).astype(bool)
    if community != ALL:
        offers &= assets["communities"].map(lambda groups: community in groups).astype(bool)
    chosen = assets[offers]
    if len(chosen):
        chosen = chosen[chosen.geometry.intersects(units.to_crs(assets.crs).union_all())]
    points = chosen.to_crs(DISPLAY_CRS)
    published = dataset.assets_table().set_index("asset_id")
    markers = []
    for row, point in zip(points.itertuples(index=False), points.geometry, strict=True):
        accepting = row.accepting_referrals
        status = "unknown" if pd.isna(accepting) else ("accepting" if bool(accepting) else "not_accepting")
        label, colour = next((text, fill) for key, text, fill in _STATUS if key == status)
        lines = [
            f"<b>{esc(row.name)}</b>",
            f"Offers: {esc(', '.join(display_name(c) for c in row.categories))}",
            f"For: {esc(', '.join(display_name(c) for c in row.communities) or 'everyone')}",
            f"Capacity: {'not stated' if pd.isna(row.capacity) else f'{float(row.capacity):,.0f} a month'}",
            f"Referrals: {esc(label.lower())}",
        ]
        if row.asset_id in published.index:
            record = published.loc[row.asset_id]
            count = None if pd.isna(record["referrals"]) else int(record["referrals"])
            lines.append(
                f"Referrals received: {esc(describe_count(count, suppressed=bool(record['referrals_suppressed'])))}"
            )
            if bool(record["over_capacity"]):
                lines.append("<b>Over capacity</b>")
        markers.append(
            folium.CircleMarker(
                location=[point.y, point.x],
                radius=6,
                color="#333333",
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.95,
                popup=folium.Popup("<br>".join(lines), max_width=320, parse_html=False),
                tooltip=None,
            )
        )
    return markers


def _legend_html(
    rows: Sequence[tuple[str, str]], *, title: str, visible: bool, position: int, outline: str = _PINK_OUTLINE
) -> str:
    items = "".join(
        f'<div class="cm-row"><span class="cm-swatch" style="background:{esc(colour)}"></span>{esc(label)}</div>'
        for colour, label in rows
    )
    items += (
        f'<div class="cm-row"><span class="cm-swatch" style="background:#eee;border:3px solid {esc(outline)}">'
        "</span>Gap (severe or moderate)</div>"
    )
    items += "".join(
        f'<div class="cm-row"><span class="cm-dot" style="background:{fill}"></span>{esc(text)}</div>'
        for _, text, fill in _STATUS
    )
    style = "" if visible else ' style="display:none"'
    return f'<div class="cm-legend" data-layer="{position}"{style}><b>{esc(title)}</b>{items}</div>'


def _frame_html(*, heading: str, description: str, legends: dict[str, str], notes: Sequence[str], map_name: str) -> str:
    by_name = json.dumps({name: index for index, name in enumerate(legends)}).replace("</", "<\\/")
    return f"""
<style>
  .leaflet-container {{ background: #ffffff; font-family: "Liberation Sans", Arial, Helvetica, sans-serif; }}
  .cm-panel {{ position: absolute; z-index: 1000; background: rgba(255,255,255,0.94); padding: 8px 12px;
               border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 13px/1.4 "Liberation Sans", Arial, sans-serif; color: #1f2933; }}
  .cm-title {{ top: 10px; left: 54px; max-width: 46%; }}
  .cm-title h1 {{ font-size: 18px; margin: 0 0 2px 0; }}
  .cm-legends {{ bottom: 30px; right: 10px; max-width: 260px; }}
  .cm-notes {{ bottom: 58px; left: 10px; max-width: 48%; font-size: 11px; color: #52606d; }}
  .cm-row {{ display: flex; align-items: center; gap: 6px; margin-top: 3px; }}
  .cm-swatch {{ display: inline-block; width: 22px; height: 14px; box-sizing: border-box; }}
  .cm-dot {{ display: inline-block; width: 12px; height: 12px; border-radius: 50%; border: 1px solid #333; margin: 0 5px; }}
  .leaflet-control-layers-expanded {{ max-height: 55vh; overflow-y: auto; }}
</style>
<div class="cm-panel cm-title"><h1>{esc(heading)}</h1><div>{esc(description[:1].upper() + description[1:])}.</div></div>
<div class="cm-panel cm-legends">{"".join(legends.values())}</div>
<div class="cm-panel cm-notes">{"<br>".join(esc(note) for note in notes)}</div>
<script>
  document.addEventListener("DOMContentLoaded", function () {{
    var layers = {by_name};
    var map = window["{map_name}"];
    if (!map) {{ return; }}
    map.on("baselayerchange", function (event) {{
      var wanted = layers[event.name];
      document.querySelectorAll(".cm-legend").forEach(function (legend) {{
        legend.style.display = String(legend.dataset.layer) === String(wanted) ? "" : "none";
      }});
    }});
  }});
</script>
"""
