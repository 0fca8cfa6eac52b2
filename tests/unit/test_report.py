"""The gap-analysis report: HTML and PDF opened back, findings against the table, escaping, suppression."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import handbuilt
import pandas as pd
import pytest

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.outputs.report import write_report

EVIL = "<script>alert(1)</script> Carers & Dementia Hub"
#: Deprivation: C the most deprived tenth, B the fifth, A the least deprived.
IMD = pd.DataFrame({"area_id": ["A", "B", "C"], "imd_rank": [30_000, 15_000, 100], "imd_decile": [10, 5, 1]})


def _dataset(**changes: object) -> Dataset:
    inputs = handbuilt.inputs()
    assets = inputs.assets.copy()
    assets.loc[1, "name"] = EVIL  # a2: 8 referrals over 2 months against 2 places a month -> over capacity
    assets.loc[1, "capacity"] = 2.0
    return Dataset.from_inputs(replace(inputs, assets=assets, imd=IMD), label="Test <region>", **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("chromium") is None:
        pytest.skip("no Chromium to render with")
    folder = tmp_path_factory.mktemp("report")
    result = write_report(
        _dataset(),
        folder / "report.html",
        pdf=folder / "report.pdf",
        priorities="dementia,dementia/bame",
        level="area",
        dpi=60,
    )
    return result, (folder / "report.html").read_text(encoding="utf-8")


def test_findings_are_in_the_report_and_match_the_table(report):
    result, text = report
    table = _dataset().table("area")
    dementia = table[(table["category"] == "dementia") & (table["community"] == "all")]
    gaps = int(dementia["tier"].isin(["severe", "moderate"]).sum())
    findings = {(f.key, f.community): f for f in result.findings}
    assert findings[("gaps", "all")].count == gaps
    assert set(findings[("gaps", "all")].ids) == set(
        dementia.loc[dementia["tier"].isin(["severe", "moderate"]), "area_id"]
    )
    assert findings[("gaps", "all")].total == len(dementia) == 3
    over = findings[("over_capacity", None)]
    assert over.count == 1 and over.ids == ("a2",)
    for finding in result.findings:
        assert html.escape(finding.text, quote=True) in text


def test_sections_and_maps(report):
    _, text = report
    for heading in (
        "Key findings",
        "Dementia",
        "Dementia for BAME communities",
        "Organisations over capacity",
        "Access and deprivation",
        "Methods",
        "Severity tiers",
        "References",
        "Data sources",
        "Small numbers",
    ):
        assert f">{heading}</h" in text
    # a map per priority, and an access-by-deprivation chart per priority (both have need in two tenths)
    assert text.count('src="data:image/png;base64,') == 4
    assert text.count('alt="Access by deprivation: ') == 2
    assert "Synthetic" not in text  # not the demo: no demo attribution


def test_data_text_is_escaped(report):
    _, text = report
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Carers &amp; Dementia Hub" in text
    assert "Test &lt;region&gt;" in text


def test_referral_counts_are_suppressed(report):
    _, text = report
    # area C's dementia referrals for BAME communities: 3 in truth, published as "fewer than 8"
    row = re.search(
        r"<tr><td class='num'>\d+</td><td>Area C</td>.*?</tr>", text.split("Dementia for BAME")[1], re.DOTALL
    )
    assert row and "fewer than 8" in row.group(0)
    assert "Referral counts of 1–7 are suppressed and others rounded to the nearest 5" in text


def test_pdf_has_pages_and_the_title(report):
    from pypdf import PdfReader

    result, _ = report
    reader = PdfReader(result.pdf)
    assert len(reader.pages) >= 5  # cover + findings, two priorities, equity, capacity, methods
    text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Test <region>" in text
    assert "Key findings" in text and "Methods" in text
    assert "<script>alert(1)</script> Carers & Dementia Hub" in " ".join(text.split())


def test_text_only_report_needs_no_browser(tmp_path: Path):
    result = write_report(_dataset(), tmp_path / "r.html", maps=False, level="neighbourhood")
    text = result.html.read_text(encoding="utf-8")
    assert "data:image/png" not in text
    assert "Key findings" in text


def test_bad_arguments(tmp_path: Path):
    with pytest.raises(CoverageMapError, match="must end in .html"):
        write_report(_dataset(), tmp_path / "r.txt", maps=False)
    with pytest.raises(CoverageMapError, match="unknown category"):
        write_report(_dataset(), tmp_path / "r.html", maps=False, priorities="knitting")


def test_report_says_how_fresh_the_directory_is(tmp_path: Path):
    inputs = handbuilt.inputs()
    dated = replace(inputs, assets=inputs.assets.assign(last_checked=["2024-01-01", "2026-05-01", "", "2023-02-02"]))
    result = write_report(Dataset.from_inputs(dated), tmp_path / "r.html", maps=False, level="area", today="2026-06-30")
    text = " ".join(result.html.read_text(encoding="utf-8").split())
    # a1 and a4 are over 12 months old, a3 has no date, a2 is recent.
    assert "<li>2 of 4 organisations were last verified over 12 months ago (1 more has no verification date)" in text
    assert "How fresh the directory is" in text
    assert [f.key for f in result.findings].count("stale_directory") == 1


def _ranked_rows(text: str, heading: str) -> list[list[str]]:
    """The cells of the ranked table after ``<h2>heading</h2>``, tags removed."""
    section = text.split(f"<h2>{heading}</h2>")[1].split("</section>")[0]
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in rows]  # fmt: skip


def test_ranked_table_lists_gaps_then_watch_with_tier_access_and_need(tmp_path: Path):
    dataset = _dataset()
    result = write_report(dataset, tmp_path / "r.html", maps=False, level="area", priorities="dementia,dementia/bame")
    text = result.html.read_text(encoding="utf-8")
    table = dataset.table("area")
    for heading, community in (("Dementia", "all"), ("Dementia for BAME communities", "bame")):
        rows = table[(table["category"] == "dementia") & (table["community"] == community)]
        listed = rows[rows["tier"].isin(["severe", "moderate", "watch"])].copy()
        listed["order"] = listed["tier"].map({"severe": 0, "moderate": 1, "watch": 2})
        listed = listed.assign(unmet=-listed["unmet_need"].astype(float)).sort_values(["order", "unmet", "area_id"])
        labels = {"severe": "Severe gap", "moderate": "Moderate gap", "watch": "Watch"}
        expected = [
            [str(rank), row.area_name, row.tier, f"{float(row.access_ratio) * 100:.0f}%",
             f"{float(row.need):,.0f}", f"{float(row.unmet_need):,.0f}"]
            for rank, row in enumerate(listed.itertuples(), start=1)
        ]  # fmt: skip
        cells = _ranked_rows(text, heading)
        shown = [[c[0], c[1], c[3], c[4], c[5], c[6]] for c in cells]
        assert shown == [[*e[:2], labels[e[2]], *e[3:]] for e in expected]
    # With a2 down to 2 places a month, nothing is a dementia gap; two areas are to watch. C first, with
    # the larger unmet need: its access is 50-80% of the region's average. Then B, whose access is above
    # the average but where a2 takes more referrals than its places.
    first, second = _ranked_rows(text, "Dementia")
    assert first[1] == "Area C" and first[3] == "Watch" and "low access for the need" in first[8]
    assert 50 <= int(first[4].rstrip("%")) < 80
    assert second[1] == "Area B" and second[3] == "Watch" and second[8] == "over capacity"
    tally = text.split("<h2>Dementia</h2>")[1].split("<table>")[0]
    assert "Moderate gap: 0" in tally and "Watch: 2" in tally and "No gap: 1" in tally
    assert "Not in the directory: 0" in tally


def test_equity_section_explains_the_indices(tmp_path: Path):
    dataset = _dataset()
    result = write_report(dataset, tmp_path / "r.html", maps=False, level="area", priorities="dementia")
    text = " ".join(html.unescape(result.html.read_text(encoding="utf-8")).split())
    # independent route: one area per tenth, so the tenths' averages are C's and A's own access
    table = dataset.table("area")
    rows = table[(table["category"] == "dementia") & (table["community"] == "all")].set_index("area_id")
    most, least = float(rows.loc["C", "access_per_10k"]), float(rows.loc["A", "access_per_10k"])
    change = most / least - 1
    assert change < -0.05
    assert f"People in the most deprived tenth have {abs(change):.0%} less dementia support per person in need" in text
    fairness = dataset.equity("dementia")
    assert fairness is not None and fairness.concentration_index > 0  # access leans to the less deprived
    assert f"Concentration index: +{fairness.concentration_index:.2f}" in text
    assert "How far access per person in need leans towards the less deprived (positive)" in text
    assert f"Slope index of inequality: +{fairness.slope_index:.1f} per 10,000 in need" in text
    assert "between the least and the most deprived ends of the region" in text
    # without IMD, no such section
    plain = Dataset.from_inputs(handbuilt.inputs())
    other = write_report(plain, tmp_path / "p.html", maps=False, level="area", priorities="dementia")
    assert "Access and deprivation" not in other.html.read_text(encoding="utf-8")


def test_methods_state_the_method_and_the_thresholds_used(tmp_path: Path):
    from coverage_map.method import GapMethod
    from coverage_map.tiers import TierThresholds

    method = GapMethod(catchment_km=4.5, thresholds=TierThresholds(0.4, 0.7, 0.1), permutations=499, seed=7)
    result = write_report(_dataset(method=method), tmp_path / "r.html", maps=False, level="area")
    methods = " ".join(html.unescape(result.html.read_text(encoding="utf-8").split("<h2>Methods</h2>")[1]).split())
    for phrase in (
        "enhanced two-step floating catchment area method (E2SFCA; Luo & Qi 2009)",
        "Gaussian curve",
        "4.5 km in a straight line",
        "(Dai 2010)",
        "Getis-Ord Gi* statistic (Ord & Getis 1995)",
        "499 random permutations (seed 7)",
        "held at 10% with the Benjamini-Hochberg procedure (Benjamini & Hochberg 1995)",
        "Access under 40% of the region's average, inside a significant cluster of low access",
        "or under 70% inside a significant cluster of low access",
        "Access 40%–70% of the region's average",
        "Luo, W. & Qi, Y. (2009)",
        "Dai, D. (2010)",
        "Ord, J. K. & Getis, A. (1995)",
        "Benjamini, Y. & Hochberg, Y. (1995)",
    ):
        assert phrase in methods, phrase
    assert "weighs coverage, distance" not in methods  # the retired weighted score
