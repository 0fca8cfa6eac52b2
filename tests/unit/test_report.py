"""The gap-analysis report: HTML and PDF opened back, findings against the table, escaping, suppression."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import handbuilt
import pytest

from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.outputs.report import write_report

EVIL = "<script>alert(1)</script> Carers & Dementia Hub"


def _dataset() -> Dataset:
    inputs = handbuilt.inputs()
    assets = inputs.assets.copy()
    assets.loc[1, "name"] = EVIL  # a2: 8 referrals over 2 months against 2 places a month -> over capacity
    assets.loc[1, "capacity"] = 2.0
    return Dataset.from_inputs(replace(inputs, assets=assets), label="Test <region>")


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
    gaps = int(dementia["gap"].sum())
    findings = {(f.key, f.community): f for f in result.findings}
    assert findings[("gaps", "all")].count == gaps
    assert set(findings[("gaps", "all")].ids) == set(dementia.loc[dementia["gap"], "area_id"])
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
        "Methods",
        "Data sources",
        "Small numbers",
    ):
        assert f">{heading}</h" in text
    assert text.count('src="data:image/png;base64,') == 2
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
    assert len(reader.pages) >= 4  # cover + findings, two priorities, capacity, methods
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
