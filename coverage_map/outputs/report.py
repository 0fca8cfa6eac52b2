"""The gap-analysis report: one HTML document (and optionally its PDF) a forum can present.

Contents: key findings in plain English (:mod:`coverage_map.findings`), for each priority
category/community a map of the gap tiers (drawn by :mod:`coverage_map.outputs.export_map`, so it
matches the dashboard, embedded as PNG so the HTML is one self-contained file) and the units
ranked by tier and unmet need (:func:`coverage_map.gaps.ranked`), access by deprivation when
IMD is given (:meth:`coverage_map.dataset.Dataset.equity`, with its chart), the organisations
over capacity, with a scenario a "What if" section (:mod:`coverage_map.outputs.whatif`), and a methods section (access, clusters and tiers in plain words with the
settings used, references, suppression, data sources and dates).

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
    in_sentence,
    key_findings,
    organisations,
    parse_priorities,
    resolve_borough,
    select_view,
)
from ..gaps import REASON_TEXT, TIER_LABELS, explain, ranked
from ..suppress import describe_count
from ..taxonomy import display_name
from .attribution import SUPPRESSION_NOTE, Credits, credits_for
from .figures import reasons_text
from .render import print_pdf

#: Rows in each ranked gap table.
TABLE_ROWS = 12
#: The tiers a ranked table lists (worst first): gaps, then the units to watch.
LISTED_TIERS = ("severe", "moderate", "watch")


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
    scenario: Dataset | None = None,
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
    scenario
        The same data with a scenario's proposed services added
        (:func:`coverage_map.scenario.with_proposed`): the report gains a "What if" section
        (:mod:`coverage_map.outputs.whatif`). Every other section is about the real services.
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
    images = (
        _maps(dataset, chosen, level=level, borough=borough, dpi=dpi, browser=browser, scenario=scenario)
        if maps
        else {}
    )
    document = render_html(
        dataset, chosen, findings, images=images, level=level, place=place, credits=credits, scenario=scenario
    )
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
    scenario: Dataset | None = None,
) -> dict[str, str]:
    """PNGs as data: URIs, rendered in one Chromium session: each priority's map (key: its slug),
    with IMD its access-by-deprivation chart (key: ``equity:<slug>``), and with a scenario its
    map after (key: :func:`~coverage_map.outputs.whatif.image_key`)."""
    from .export_map import MapRequest, print_figure
    from .figures import equity_figure
    from .render import render_images, set_png_dpi
    from .whatif import image_key

    credits = credits_for(dataset)
    jobs = []
    keys = []
    for priority in priorities:
        request = MapRequest(
            category=priority.category,
            community=priority.community,
            metric="tier",
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
        keys.append(priority.slug)
        if scenario is not None:
            jobs.append((print_figure(scenario, request, credits=credits), jobs[-1][1]))
            keys.append(image_key(priority))
        fairness = dataset.equity(priority.category, priority.community)
        if fairness is not None and len(fairness.deciles):
            chart = equity_figure(fairness.deciles, title=f"{priority.label}: access by deprivation", height=300)
            # Printed 180 mm wide, like the maps at the report's resolution.
            jobs.append((chart, {"format": "png", "width": 640, "height": 300, "scale": 180 / 25.4 * dpi / 640}))
            keys.append(f"equity:{priority.slug}")
    images = render_images(jobs, browser=browser)
    return {
        key: "data:image/png;base64," + base64.b64encode(set_png_dpi(image, dpi)).decode("ascii")
        for key, image in zip(keys, images, strict=True)
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
    scenario: Dataset | None = None,
) -> str:
    """The report as one HTML string (see the module docstring)."""
    from .whatif import CSS as WHATIF_CSS
    from .whatif import whatif_section

    where = place[1] if place else dataset.label
    threshold = dataset.analysis(level).threshold_km
    sections = [
        _cover(where, credits, priorities),
        _findings_section(findings),
        *(_priority_section(dataset, p, images.get(p.slug), level=level, place=place) for p in priorities),
        ""
        if scenario is None
        else whatif_section(dataset, scenario, priorities, images, level=level, borough=place[0] if place else None),
        _equity_section(dataset, priorities, images),
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
<style>{_CSS}{WHATIF_CSS if scenario is not None else ""}</style>
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
    tiers = view["tier"].astype("string").fillna("no_data")
    listed = ranked(view[tiers.isin(LISTED_TIERS).to_numpy()]).head(TABLE_ROWS)
    boroughs = dataset.borough_of(level)
    names = dict(zip(dataset.boroughs["borough_id"], dataset.boroughs["borough_name"], strict=True))
    one, many = LEVEL_WORDS.get(level, (level, f"{level}s"))
    rows = []
    for rank, row in enumerate(listed.itertuples(index=False), start=1):
        borough_name = names.get(boroughs.get(row.area_id), "")
        rows.append(
            "<tr>"
            f"<td class='num'>{rank}</td><td>{esc(row.area_name)}</td><td>{esc(borough_name)}</td>"
            f"<td class='tier'>{_tier_cell(row.tier)}</td><td class='num'>{_percent(row.access_ratio)}</td>"
            f"<td class='num'>{_people(row.need)}</td><td class='num'>{_people(row.unmet_need)}</td>"
            f"<td class='num'>{esc(_referrals(row.referrals, row.referrals_suppressed))}</td>"
            f"<td>{esc(reasons_text(row.gap_reasons))}</td>"
            "</tr>"
        )
    what = in_sentence(display_name(priority.category))
    if (tiers == "no_data").all():
        table = f"<p>No {esc(what)} service is listed in the directory, so gaps cannot be judged.</p>"
    elif not rows:
        table = f"<p>No {esc(one)} has a gap or is to watch.</p>"
    else:
        table = f"""<table>
<caption>The {len(rows)} {esc(many if len(rows) > 1 else one)} most in need of attention: severe and moderate gaps,
then those to watch, each by unmet need</caption>
<thead><tr><th>#</th><th>{esc(one.capitalize())}</th><th>Borough</th><th>Severity</th>
<th>Access (% of average)</th><th>People in need</th><th>Unmet need</th><th>Referrals</th>
<th class='why'>Why</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    counts = tiers.value_counts()
    tally = " · ".join(f"{_swatch(tier)}{esc(TIER_LABELS[tier])}: {int(counts.get(tier, 0)):,}" for tier in TIER_LABELS)
    figure = (
        f'<figure><img src="{image}" alt="{esc("Map of " + priority.label)}">'
        f"<figcaption>{esc(priority.label)}: gap severity by {esc(one)}. Outlined: severe or moderate gaps."
        "</figcaption></figure>"
        if image
        else ""
    )
    return f"""<section class="priority">
<h2>{esc(priority.label)}</h2>
{figure}
<p class="tally">{tally}</p>
{table}
</section>"""


def _equity_section(dataset: Dataset, priorities: Sequence[Priority], images: dict[str, str]) -> str:
    """Access by deprivation per priority (only when IMD is given): the sentence, CI, SII and the chart."""
    if not dataset.has_imd:
        return ""
    parts = []
    for priority in priorities:
        fairness = dataset.equity(priority.category, priority.community)
        parts.append(f"<h3>{esc(priority.label)}</h3>")
        if fairness is None:
            parts.append("<p>No service for this need is listed, so access by deprivation cannot be measured.</p>")
            continue
        ci, sii = fairness.concentration_index, fairness.slope_index
        parts.append(f"<p class='equity-sentence'>{esc(fairness.sentence)}</p>")
        parts.append(
            "<ul>"
            f"<li><b>Concentration index: {_signed(ci, 2)}</b>. {esc(_CI_TEXT)}</li>"
            f"<li><b>Slope index of inequality: {_signed(sii, 1)}{'' if pd.isna(sii) else ' per 10,000 in need'}"
            f"</b>. {esc(_SII_TEXT)}</li>"
            "</ul>"
        )
        chart = images.get(f"equity:{priority.slug}")
        if chart:
            parts.append(
                f'<figure class="chart"><img src="{chart}" alt="{esc("Access by deprivation: " + priority.label)}">'
                "<figcaption>Average access per 10,000 people in need in each tenth of small areas by deprivation "
                "(IMD), most deprived on the left.</figcaption></figure>"
            )
    body = "\n".join(parts)
    return f"""<section class="equity">
<h2>Access and deprivation</h2>
<p>Does provision follow need, or does it follow the inverse care law (the more deprived an area, the less support
it gets)? Access per person in need in each small area is compared across the Index of Multiple Deprivation,
weighting each area by its people in need.</p>
{body}
</section>"""


_CI_TEXT = (
    "How far access per person in need leans towards the less deprived (positive) or the more deprived "
    "(negative), from −1 to 1; 0 means it is shared equally."
)
_SII_TEXT = (
    "The modelled difference in access per 10,000 people in need between the least and the most deprived ends "
    "of the region (positive: the less deprived have more)."
)


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
    from .classes import METRICS, tier_rules

    method = dataset.method
    thresholds = method.thresholds
    metrics = "\n".join(
        f"<dt>{esc(info.label)}</dt><dd>{esc(info.description[:1].upper() + info.description[1:])}.</dd>"
        for info in METRICS.values()
    )
    every = pd.Series({"gap_reasons": ";".join(REASON_TEXT)})
    sentences = explain(every, threshold_km=threshold, category_label="Matching", group_label=None,
                        thresholds=thresholds)  # fmt: skip
    reasons = "\n".join(
        f"<li><b>{esc(reasons_text(key))}</b>: {esc(text)}</li>"
        for key, text in zip(REASON_TEXT, sentences, strict=False)
    )
    rules = tier_rules(thresholds)
    tiers = "\n".join(
        f"<tr><td>{_swatch(tier)}{esc(TIER_LABELS[tier])}</td><td>{esc(_sentence(rules[tier]))}</td></tr>"
        for tier in TIER_LABELS
    )
    analysis = dataset.analysis(level)
    many = LEVEL_WORDS.get(level, (level, level))[1]
    catchment = (
        f"{method.catchment_minutes:g} minutes' travel (from the travel times supplied)"
        if getattr(dataset.inputs, "travel_times", None) is not None
        else f"{method.catchment_km:g} km in a straight line"
    )
    islands = f" {len(analysis.islands):,} {esc(many)} touch no other and were not tested." if analysis.islands else ""
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
<p>Findings and tables count {esc(many)}. Provision is matched by need category and, for a community, only
organisations that serve that community or everyone count.</p>
<h3>How much provision people in need can reach</h3>
<p>For each small area we add up the services of the category its people can reach, each shared among everybody
else in need who can reach the same service: the enhanced two-step floating catchment area method (E2SFCA; Luo &amp;
Qi 2009). Nearer services count more: a service's weight falls along a Gaussian curve from 1 at the area's centre
to 0 at the edge of its catchment, {esc(catchment)} unless the taxonomy or the service sets its own (Dai 2010).
Services with a stated capacity count by their monthly places, others as one each; services not accepting referrals
count for nothing. Each area's access is then compared with the region's average: an access ratio of 1 is
average, 0.5 half of it. Neighbourhoods and boroughs take the average of their small areas weighted by need.
People in need are those the population file estimates for the need (its need_ columns); without an estimate,
everyone in the group counts.</p>
{_need_sources(dataset)}
<h3>Clusters of low access</h3>
<p>Whether low access clusters is tested with the Getis-Ord Gi* statistic (Ord &amp; Getis 1995) on the access
ratio of each of the {esc(many)} with its neighbours (those sharing a border or a corner). Its significance comes
from {method.permutations:,} random permutations (seed {method.seed}), and the false-discovery rate across all the
{esc(many)} of a map is held at {thresholds.q:.0%} with the Benjamini-Hochberg procedure (Benjamini &amp; Hochberg
1995). A unit in a significant cluster of low access is a cold spot.{islands}</p>
<h3>Severity tiers</h3>
<table class="tiers">
<thead><tr><th>Tier</th><th>When</th></tr></thead>
<tbody>
{tiers}
</tbody>
</table>
<p>A gap is a severe or moderate unit. Units are ranked by tier, then by unmet need: the people in need times the
shortfall against the region's average (1 minus the access ratio, from 0 at or above the average to 1 with no
access), that is, how many people in need lack the access the average would give them.</p>
<h3>Why a unit is flagged</h3>
<ul>
{reasons}
</ul>
<p>"Within reach" in the findings means within {threshold:g} km in a straight line of the small area's centre.</p>
<h3>Metrics</h3>
<dl>
{metrics}
</dl>
<h3>How fresh the directory is</h3>
<p>{esc(_FRESHNESS_NOTE)}</p>
<h3>Small numbers</h3>
<p>{esc(SUPPRESSION_NOTE)}. Rates are worked out from the published counts, so they cannot reveal a suppressed
count.</p>
<h3>References</h3>
<ul class="references">
{_REFERENCES}
</ul>
<h3>Data sources</h3>
<table>
<thead><tr><th>Input</th><th>File</th><th>Rows</th><th>Date</th><th>Attribution</th></tr></thead>
<tbody>
{sources}
</tbody>
</table>
<p class="meta">{esc(credits.source_line())}</p>
</section>"""


def _need_sources(dataset: Dataset) -> str:
    """How each need_ column was estimated, from the metadata ``coverage-map need`` wrote beside the population."""
    from ..need import read_need_metadata

    population = next((s.path for s in dataset.inputs.sources if s.role == "population"), None)
    records = read_need_metadata(population) if population else ()
    if not records:
        return ""
    items = "\n".join(
        f"<li><b>{esc(r.column)}</b>: {esc(r.formula)}. Source: {esc(r.source)} ({esc(r.year)}).</li>" for r in records
    )
    return f'<h4>How need was estimated</h4>\n<ul class="need-sources">\n{items}\n</ul>'


_REFERENCES = "\n".join(
    f"<li>{html.escape(text, quote=False)}</li>"
    for text in (
        "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful "
        "approach to multiple testing. Journal of the Royal Statistical Society B 57(1), 289–300.",
        "Dai, D. (2010). Black residential segregation, disparities in spatial access to health care facilities, "
        "and late-stage breast cancer diagnosis in metropolitan Detroit. Health & Place 16(5), 1038–1052.",
        "Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method for measuring "
        "spatial accessibility to primary care physicians. Health & Place 15(4), 1100–1107.",
        "Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues and an "
        "application. Geographical Analysis 27(4), 286–306.",
    )
)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _swatch(tier: str) -> str:
    """A small square in the tier's map colour."""
    from .classes import TIER_COLOURS
    from .figures import NO_DATA_COLOUR

    colour = TIER_COLOURS.get(str(tier), NO_DATA_COLOUR)
    return f"<span class='swatch' style='background:{esc(colour)}'></span>"


def _tier_cell(tier: object) -> str:
    return f"{_swatch(str(tier))}{esc(TIER_LABELS.get(str(tier), str(tier)))}"


def _percent(ratio: object) -> str:
    return "" if pd.isna(ratio) else f"{float(ratio):.0%}"  # type: ignore[arg-type]


def _people(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _signed(value: float, places: int) -> str:
    """``+0.12``, ``−0.12`` (a real minus sign), or ``not defined``."""
    if pd.isna(value):
        return "not defined"
    text = f"{abs(value):.{places}f}"
    return text if float(text) == 0 else ("+" if value > 0 else "−") + text


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
figure.chart img { border: none; }
.swatch { display: inline-block; width: 3.2mm; height: 3.2mm; margin-right: 1.2mm; vertical-align: -0.4mm;
          border: 0.2mm solid #8a8a8a; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.tally { font-size: 9pt; color: #1f2933; }
td.tier { white-space: nowrap; }
th.why { width: 27%; }
h3 { break-after: avoid; }
figure, .equity ul { break-inside: avoid; }
.equity-sentence { font-size: 11.5pt; font-weight: bold; }
section.equity { break-before: page; }
.references li { margin: 1mm 0; }
table { width: 100%; border-collapse: collapse; font-size: 8.5pt; margin: 2mm 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 1mm; }
th, td { border-bottom: 1px solid #d9dee3; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f2f4f6; }
td.num { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
dt { font-weight: bold; margin-top: 1.5mm; }
dd { margin-left: 5mm; }
"""
