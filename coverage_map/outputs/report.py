"""The gap-analysis report: one HTML document (and optionally its PDF) a forum can present.

Contents: key findings in plain English (:mod:`coverage_map.findings`), a map for each
priority category/community (drawn by :mod:`coverage_map.outputs.export_map`, so it matches the
dashboard, embedded as PNG so the HTML is one self-contained file), ranked gap tables,
the organisations over capacity, and a methods section (metrics, threshold, gap score,
suppression, data sources and dates).

Every text taken from data is HTML-escaped; every referral figure is the published
(suppressed) one. The PDF is printed by headless Chromium.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from ..dataset import Dataset
from ..errors import CoverageMapError
from ..findings import (
    LEVEL_WORDS,
    Finding,
    Priority,
    key_findings,
    organisations,
    parse_priorities,
    resolve_borough,
    select_view,
)
from ..gaps import REASON_LABELS, REASON_TEXT, WEIGHTS
from ..suppress import describe_count
from ..taxonomy import display_name
from .attribution import SUPPRESSION_NOTE, Credits, credits_for
from .render import print_pdf

#: Rows in each ranked gap table.
TABLE_ROWS = 12


@dataclass(frozen=True)
class ReportResult:
    """What was written, what it says, and how long it took."""

    html: Path
    pdf: Path | None
    findings: tuple[Finding, ...]
    priorities: tuple[Priority, ...]
    seconds: float


def esc(value: object) -> str:
    if value is None or (not isinstance(value, (str, tuple, list)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def write_report(
    dataset: Dataset,
    out: str | Path,
    *,
    pdf: str | Path | None = None,
    priorities: Sequence[str] | str | None = None,
    level: str = "neighbourhood",
    borough: str | None = None,
    maps: bool = True,
    dpi: float = 150,
    browser: str | None = None,
    today: date | str | None = None,
) -> ReportResult:
    """Write the report as HTML (and PDF when ``pdf`` is given).

    Parameters
    ----------
    dataset
        The loaded data.
    out
        The HTML file to write.
    pdf
        Also print the report to this PDF file with headless Chromium.
    priorities
        ``category[/community]`` items (list or comma-separated); default
        :data:`~coverage_map.findings.DEFAULT_PRIORITIES`.
    level
        Units the findings and tables count (``neighbourhood`` by default).
    borough
        Limit everything to one borough (id or name).
    maps
        Draw the priority maps (needs Chromium); ``False`` for a text-only report.
    dpi
        Resolution of the embedded maps.
    browser
        Chromium executable (default: found as for ``export-map``).
    today
        The date the directory's freshness is judged at (default: the day it runs).
    """
    started = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CoverageMapError(f"--out must end in .html, not '{out.name}'")
    if pdf is not None and Path(pdf).suffix.lower() != ".pdf":
        raise CoverageMapError(f"--pdf must end in .pdf, not '{Path(pdf).name}'")
    if level not in dataset.levels:
        raise CoverageMapError(f"level '{level}' is not available; choose one of {', '.join(dataset.levels)}")
    chosen = parse_priorities(priorities, dataset)
    if not chosen:
        raise CoverageMapError("no priorities to report on: give --priorities category[/community],...")
    place = resolve_borough(dataset, borough)
    credits = credits_for(dataset)
    findings = key_findings(dataset, chosen, level=level, borough=borough, today=today)
    images = _maps(dataset, chosen, level=level, borough=borough, dpi=dpi, browser=browser) if maps else {}
    document = render_html(dataset, chosen, findings, images=images, level=level, place=place, credits=credits)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    pdf_path = None
    if pdf is not None:
        pdf_path = print_pdf(out, Path(pdf), browser=browser)
    return ReportResult(
        html=out,
        pdf=pdf_path,
        findings=tuple(findings),
        priorities=tuple(chosen),
        seconds=time.perf_counter() - started,
    )


def _maps(
    dataset: Dataset,
    priorities: Sequence[Priority],
    *,
    level: str,
    borough: str | None,
    dpi: float,
    browser: str | None,
) -> dict[str, str]:
    """One PNG (as a data: URI) per priority, rendered in one Chromium session."""
    from .export_map import MapRequest, print_figure
    from .render import render_images, set_png_dpi

    credits = credits_for(dataset)
    jobs = []
    for priority in priorities:
        request = MapRequest(
            category=priority.category,
            community=priority.community,
            level=level,
            borough=borough,
            size="a4",
            dpi=dpi,
            labels=True,
        )
        figure = print_figure(dataset, request, credits=credits)
        page = request.page
        jobs.append(
            (
                figure,
                {"format": "png", "width": page.css_width, "height": page.css_height, "scale": page.scale("png", dpi)},
            )
        )
    images = render_images(jobs, browser=browser)
    return {
        priority.slug: "data:image/png;base64," + base64.b64encode(set_png_dpi(image, dpi)).decode("ascii")
        for priority, image in zip(priorities, images, strict=True)
    }


# --- the document --------------------------------------------------------------------------


def render_html(
    dataset: Dataset,
    priorities: Sequence[Priority],
    findings: Sequence[Finding],
    *,
    images: dict[str, str],
    level: str,
    place: tuple[str, str] | None,
    credits: Credits,
) -> str:
    """The report as one HTML string (see the module docstring)."""
    where = place[1] if place else dataset.label
    threshold = dataset.analysis(level).threshold_km
    sections = [
        _cover(where, credits, priorities),
        _findings_section(findings),
        *(_priority_section(dataset, p, images.get(p.slug), level=level, place=place) for p in priorities),
        _capacity_section(dataset, place),
        _methods_section(dataset, credits, threshold=threshold, level=level),
    ]
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(f"Gap analysis: {where}")}</title>
<style>{_CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""


def _cover(where: str, credits: Credits, priorities: Sequence[Priority]) -> str:
    focus = ", ".join(p.label for p in priorities)
    date = f"<p class='meta'>Data: {esc(credits.data_date)}</p>" if credits.data_date else ""
    return f"""<header>
<p class="kicker">Community support gap analysis</p>
<h1>{esc(where)}</h1>
<p class="lead">Where community support is, where the need is, and where the gaps are.
Priorities: {esc(focus)}.</p>
{date}
<p class="meta">{"<br>".join(esc(line) for line in credits.attribution)}</p>
</header>"""


def _findings_section(findings: Sequence[Finding]) -> str:
    items = "\n".join(f"<li>{esc(finding.text)}</li>" for finding in findings)
    return f"""<section class="findings">
<h2>Key findings</h2>
<ul>
{items}
</ul>
</section>"""


def _priority_section(
    dataset: Dataset, priority: Priority, image: str | None, *, level: str, place: tuple[str, str] | None
) -> str:
    view = select_view(
        dataset,
        level=level,
        category=priority.category,
        community=priority.community,
        borough=place[0] if place else None,
    )
    ranked = view[view["gap"]].sort_values(["gap_score", "area_id"], ascending=[False, True]).head(TABLE_ROWS)
    boroughs = dataset.borough_of(level)
    names = dict(zip(dataset.boroughs["borough_id"], dataset.boroughs["borough_name"], strict=True))
    one = LEVEL_WORDS.get(level, (level,))[0]
    rows = []
    for rank, row in enumerate(ranked.itertuples(index=False), start=1):
        borough_name = names.get(boroughs.get(row.area_id), "")
        reasons = ", ".join(REASON_LABELS.get(part, part) for part in str(row.gap_reasons or "").split(";") if part)
        rows.append(
            "<tr>"
            f"<td class='num'>{rank}</td><td>{esc(row.area_name)}</td><td>{esc(borough_name)}</td>"
            f"<td class='num'>{row.gap_score:.2f}</td>"
            f"<td class='num'>{_km(row.nearest_km)}</td><td class='num'>{_share(row.share_within_km)}</td>"
            f"<td class='num'>{_rate(row.provision_per_10k)}</td>"
            f"<td class='num'>{esc(_referrals(row.referrals, row.referrals_suppressed))}</td>"
            f"<td>{esc(reasons)}</td>"
            "</tr>"
        )
    table = (
        "<p>No gaps found.</p>"
        if not rows
        else f"""<table>
<caption>The worst {len(rows)} {esc(one)} gaps, by gap score</caption>
<thead><tr><th>#</th><th>{esc(one.capitalize())}</th><th>Borough</th><th>Gap score</th><th>Nearest</th>
<th>People within reach</th><th>Provision per 10k</th><th>Referrals</th><th>Why it is a gap</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    )
    figure = (
        f'<figure><img src="{image}" alt="{esc("Map of " + priority.label)}">'
        f"<figcaption>{esc(priority.label)}: gap score by {esc(one)}. Areas outlined in pink are gaps."
        "</figcaption></figure>"
        if image
        else ""
    )
    return f"""<section class="priority">
<h2>{esc(priority.label)}</h2>
{figure}
{table}
</section>"""


_FRESHNESS_NOTE = (
    "Where the organisations' records say when they were last verified, the key findings count those verified "
    "over 12 months before the report was written. Such provision may have closed or changed, and a service "
    "missing from an out-of-date directory makes a gap that is not real: check old records before acting on a gap."
)


def _capacity_section(dataset: Dataset, place: tuple[str, str] | None) -> str:
    assets = organisations(dataset, borough=place[0] if place else None)
    over = assets[assets["over_capacity"]]
    rows = []
    for row in over.itertuples(index=False):
        categories = ", ".join(display_name(c) for c in str(row.categories).split(";") if c)
        rows.append(
            "<tr>"
            f"<td>{esc(row.name)}</td><td>{esc(row.neighbourhood_name)}</td><td>{esc(row.borough_name)}</td>"
            f"<td>{esc(categories)}</td>"
            f"<td class='num'>{'' if pd.isna(row.capacity) else f'{float(row.capacity):,.0f}'}</td>"
            f"<td class='num'>{esc(_referrals(row.referrals, row.referrals_suppressed))}</td>"
            f"<td class='num'>{'' if pd.isna(row.pressure) else f'{float(row.pressure):.2f}'}</td>"
            "</tr>"
        )
    if not rows:
        table = "<p>No organisation is over capacity.</p>"
    else:
        table = f"""<table>
<thead><tr><th>Organisation</th><th>Neighbourhood</th><th>Borough</th><th>Offers</th><th>Capacity a month</th>
<th>Referrals (period)</th><th>Pressure</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    return f"""<section class="capacity">
<h2>Organisations over capacity</h2>
<p>Organisations receiving more referrals a month than the capacity they state (pressure above 1).</p>
{table}
</section>"""


def _methods_section(dataset: Dataset, credits: Credits, *, threshold: float, level: str) -> str:
    from .classes import METRICS

    metrics = "\n".join(
        f"<dt>{esc(info.label)}</dt><dd>{esc(info.description[:1].upper() + info.description[1:])}.</dd>"
        for info in METRICS.values()
    )
    weights = ", ".join(f"{name} {weight:g}" for name, weight in WEIGHTS.items())
    reasons = "\n".join(
        f"<li><b>{esc(REASON_LABELS[key])}</b>: "
        f"{esc(text.format(category='the category', category_cap='The category', for_group='', threshold=threshold))}"
        "</li>"
        for key, text in REASON_TEXT.items()
    )
    sources = (
        "\n".join(
            f"<tr><td>{esc(s.role)}</td><td>{esc(Path(s.path).name)}</td><td class='num'>{s.rows:,}</td>"
            f"<td>{esc(s.date or 'not stated')}</td><td>{esc(s.attribution or '')}</td></tr>"
            for s in dataset.inputs.sources
        )
        or "<tr><td colspan='5'>Inputs supplied directly (no files recorded).</td></tr>"
    )
    return f"""<section class="methods">
<h2>Methods</h2>
<p>Findings and tables count {esc(LEVEL_WORDS.get(level, (level, level))[1])}. Provision is matched by need category
and, for a community, only organisations that say they serve that community count. Distances are straight lines from
the centre of each small area; "within reach" means within {threshold:g} km.</p>
<h3>Metrics</h3>
<dl>
{metrics}
</dl>
<h3>Gaps and the gap score</h3>
<p>An area is a gap when any of these holds:</p>
<ul>
{reasons}
</ul>
<p>The gap score (0 = no gap, 1 = worst) weighs coverage, distance, provision per person and demand
({esc(weights)}).</p>
<h3>How fresh the directory is</h3>
<p>{esc(_FRESHNESS_NOTE)}</p>
<h3>Small numbers</h3>
<p>{esc(SUPPRESSION_NOTE)}. Rates are worked out from the published counts, so they cannot reveal a suppressed
count.</p>
<h3>Data sources</h3>
<table>
<thead><tr><th>Input</th><th>File</th><th>Rows</th><th>Date</th><th>Attribution</th></tr></thead>
<tbody>
{sources}
</tbody>
</table>
<p class="meta">{esc(credits.source_line())}</p>
</section>"""


def _km(value: object) -> str:
    return "none" if pd.isna(value) else f"{float(value):.1f} km"  # type: ignore[arg-type]


def _share(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.0%}"  # type: ignore[arg-type]


def _rate(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1f}"  # type: ignore[arg-type]


def _referrals(count: object, suppressed: object) -> str:
    return describe_count(None if pd.isna(count) else int(float(str(count))), suppressed=bool(suppressed))


_CSS = """
@page { size: A4 portrait; margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "Liberation Sans", Arial, Helvetica, sans-serif; color: #1f2933; max-width: 190mm;
       margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 24pt; margin: 2mm 0 3mm 0; }
h2 { font-size: 15pt; margin: 6mm 0 2mm 0; border-bottom: 2px solid #ff2d87; padding-bottom: 1mm; }
h3 { font-size: 11.5pt; margin: 4mm 0 1mm 0; }
.kicker { text-transform: uppercase; letter-spacing: 0.08em; color: #52606d; margin: 0; font-size: 9pt; }
.lead { font-size: 12pt; }
.meta { color: #52606d; font-size: 8.5pt; }
.findings ul { padding-left: 5mm; }
.findings li { margin: 1.5mm 0; font-size: 11pt; }
section.priority { break-before: page; }
section.capacity { break-before: page; }
section.methods { break-before: page; }
figure { margin: 0 0 3mm 0; }
figure img { width: 100%; height: auto; border: 1px solid #d9dee3; }
figcaption { font-size: 8.5pt; color: #52606d; }
table { width: 100%; border-collapse: collapse; font-size: 8.5pt; margin: 2mm 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 1mm; }
th, td { border-bottom: 1px solid #d9dee3; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f2f4f6; }
td.num { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
dt { font-weight: bold; margin-top: 1.5mm; }
dd { margin-left: 5mm; }
"""
