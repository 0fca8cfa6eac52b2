"""The report's "What if" section: gap tiers before and after adding proposed services.

``coverage-map report --scenario FILE`` builds a second data set with the scenario's
proposed services (:mod:`coverage_map.scenario`) and passes it to
:func:`coverage_map.outputs.report.write_report`, which calls this module for the section:
the proposed services listed (each labelled "proposed"), then for each priority the tier
counts before and after, the people in need living in gap units, and the maps before and
after side by side (the after map draws the proposed services with their own marker).
Every figure comes from the published tables, as in the rest of the report.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from ..dataset import Dataset
from ..findings import LEVEL_WORDS, Priority, select_view
from ..gaps import TIER_LABELS
from ..taxonomy import display_name

#: The tiers that make a unit a gap.
GAP_TIERS = ("severe", "moderate")


def image_key(priority: Priority) -> str:
    """The key of a priority's after map among the report's images."""
    return f"whatif:{priority.slug}"


def proposed_services(after: Dataset) -> pd.DataFrame:
    """The proposed services of a scenario data set (the organisations table's rows marked ``proposed``)."""
    table = after.assets_table()
    if "proposed" not in table.columns:
        return table.iloc[0:0]
    return table[table["proposed"].to_numpy(dtype=bool)].reset_index(drop=True)


def whatif_section(
    before: Dataset,
    after: Dataset,
    priorities: Sequence[Priority],
    images: dict[str, str],
    *,
    level: str,
    borough: str | None,
) -> str:
    """The section as HTML (every text from data escaped)."""
    proposed = proposed_services(after)
    rows = "\n".join(
        "<tr>"
        f"<td>{_esc(row.name)} <span class='proposed'>proposed</span></td><td>{_esc(row.area_name)}</td>"
        f"<td>{_esc(row.borough_name)}</td><td>{_esc(_labels(row.categories))}</td>"
        f"<td>{_esc(_labels(row.communities) or 'everyone')}</td>"
        f"<td class='num'>{'not stated' if pd.isna(row.capacity) else f'{float(row.capacity):,.0f}'}</td>"
        f"<td>{_esc(row.reach)}</td>"
        "</tr>"
        for row in proposed.itertuples(index=False)
    )
    parts = [
        f"""<p>The results with {len(proposed):,} proposed service{"s" if len(proposed) != 1 else ""} added to the
real ones. Proposed services are hypothetical: they are not in the directory, and every other section of this report
is about the real services only.</p>
<table>
<thead><tr><th>Proposed service</th><th>Small area</th><th>Borough</th><th>Offers</th><th>For</th>
<th>Capacity a month</th><th>Reach</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
    ]
    for priority in priorities:
        parts.append(_priority_part(before, after, priority, images, level=level, borough=borough))
    body = "\n".join(parts)
    return f"""<section class="whatif">
<h2>What if: proposed services</h2>
{body}
</section>"""


def _priority_part(
    before: Dataset,
    after: Dataset,
    priority: Priority,
    images: dict[str, str],
    *,
    level: str,
    borough: str | None,
) -> str:
    old = select_view(before, level=level, category=priority.category, community=priority.community, borough=borough)
    new = select_view(after, level=level, category=priority.category, community=priority.community, borough=borough)
    old_tiers = old["tier"].astype("string").fillna("no_data")
    new_tiers = new["tier"].astype("string").fillna("no_data")
    one, many = LEVEL_WORDS.get(level, (level, f"{level}s"))
    counts = "\n".join(
        f"<tr><td>{_esc(TIER_LABELS[tier])}</td><td class='num'>{int((old_tiers == tier).sum()):,}</td>"
        f"<td class='num'>{int((new_tiers == tier).sum()):,}</td></tr>"
        for tier in TIER_LABELS
    )
    need_before = _need_in_gaps(old, old_tiers)
    need_after = _need_in_gaps(new, new_tiers)
    before_map, after_map = images.get(priority.slug), images.get(image_key(priority))
    maps = (
        f"""<div class="pair">
<figure><img src="{before_map}" alt="{_esc("Before: " + priority.label)}"><figcaption>Before</figcaption></figure>
<figure><img src="{after_map}" alt="{_esc("After: " + priority.label)}"><figcaption>After (proposed services:
yellow discs in black rings)</figcaption></figure>
</div>"""
        if before_map and after_map
        else ""
    )
    return f"""<h3>{_esc(priority.label)}</h3>
{maps}
<table class="tiers">
<thead><tr><th>Tier ({_esc(many)})</th><th>Before</th><th>After</th></tr></thead>
<tbody>
{counts}
</tbody>
</table>
<p>People in need living in a {_esc(one)} with a severe or moderate gap: {need_before:,.0f} before, {need_after:,.0f}
after. New provision raises the region's average, so a {_esc(one)} the proposed services do not reach can fall
below it.</p>"""


def _need_in_gaps(view: pd.DataFrame, tiers: pd.Series) -> float:
    need = pd.to_numeric(view["need"]).astype(float).fillna(0.0)
    return float(need[tiers.isin(GAP_TIERS).to_numpy(dtype=bool)].sum())


def _labels(text: object) -> str:
    return ", ".join(display_name(item) for item in str(text).split(";") if item and item != "nan")


def _esc(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    return html.escape(str(value), quote=True)


CSS = """
section.whatif { break-before: page; }
.proposed { display: inline-block; padding: 0 1.2mm; border: 0.3mm solid #000; background: #f0e442;
            font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.04em; }
.pair { display: flex; gap: 3mm; }
.pair figure { flex: 1 1 0; }
"""
