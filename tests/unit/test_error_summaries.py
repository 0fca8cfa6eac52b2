"""A file with thousands of bad rows gives a short message and a complete CSV, never a flood or a loss.

Every rejected row is still reported with file, row, column and reason (in the exception's
``problems`` and in ``<out>_rejected.csv``); what a person reads lists the first 50 and
counts the rest by kind.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.config import DEMO_FILES, GEODATA_DIR
from coverage_map.errors import LISTED, Problem, ValidationError, summary_lines

SLASHES = "date is written with slashes"


def _problems(count: int, message: str, column: str = "date", first_row: int = 2) -> list[Problem]:
    return [Problem("r.csv", message, row=first_row + i, column=column, fatal=False) for i in range(count)]


def test_up_to_fifty_problems_are_all_listed_one_by_one() -> None:
    problems = _problems(LISTED, "bad date")
    lines = summary_lines(problems)
    assert lines == [f"  - {problem}" for problem in problems]


def test_beyond_fifty_the_rest_are_counted_by_file_column_and_reason_with_their_rows() -> None:
    problems = _problems(70, "bad date") + _problems(30, "unknown category", column="category", first_row=500)
    lines = summary_lines(problems)
    assert lines[:LISTED] == [f"  - {problem}" for problem in problems[:LISTED]]
    assert lines[LISTED:] == [
        "  ... and 50 more:",
        "  - 30 × r.csv, column 'category': unknown category (rows 500 to 529)",
        "  - 20 × r.csv, column 'date': bad date (rows 52 to 71)",
    ]


def test_kinds_beyond_the_limit_are_counted_together() -> None:
    problems = _problems(LISTED, "filler") + [
        Problem("r.csv", f"reason {i}", row=100 + i, column="x", fatal=False) for i in range(5)
    ]
    lines = summary_lines(problems, kinds=3)
    assert lines[LISTED + 1 :] == [
        "  - 1 × r.csv, column 'x': reason 0 (row 100)",
        "  - 1 × r.csv, column 'x': reason 1 (row 101)",
        "  - 1 × r.csv, column 'x': reason 2 (row 102)",
        "  - 2 more of 2 other kinds",
    ]


def test_the_exception_keeps_every_problem_while_its_message_stays_short() -> None:
    problems = _problems(10_000, "bad date")
    error = ValidationError(problems)
    assert error.problems == problems
    assert str(error).count("\n") == LISTED + 2  # header, 50 problems, "... and N more:", one kind
    assert "10,000 problems found" in str(error)
    assert "9,950 × r.csv, column 'date': bad date (rows 52 to 10,001)" in str(error)


@pytest.fixture
def all_bad_referrals(tmp_path: Path) -> Path:
    """120 referrals, each dated with slashes: every row rejected, so the analysis cannot run."""
    areas = pd.read_csv(GEODATA_DIR / DEMO_FILES["lookup"], dtype=str)["area_id"]
    frame = pd.DataFrame({
        "date": ["05/01/2025"] * 120, "category": ["dementia"] * 120, "origin_area_id": areas.iloc[:120].tolist(),
    })  # fmt: skip
    path = tmp_path / "referrals.csv"
    frame.to_csv(path, index=False)
    return path


def _inputs(referrals: Path) -> list[str]:
    return ["--areas", str(GEODATA_DIR / DEMO_FILES["areas"]), "--assets", str(GEODATA_DIR / DEMO_FILES["assets"]),
            "--lookup", str(GEODATA_DIR / DEMO_FILES["lookup"]), "--referrals", str(referrals)]  # fmt: skip


def test_analyse_that_cannot_run_writes_every_problem_to_the_rejected_file(
    all_bad_referrals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "gaps.csv"
    assert main(["analyse", *_inputs(all_bad_referrals), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    rejected = out.with_name("gaps_rejected.csv")
    assert err.count("\n") < LISTED + 10
    assert "121 problems found" in err
    assert f"71 × {all_bad_referrals}, column 'date': {SLASHES}" in err
    assert f"every problem is listed in {rejected}" in err
    assert not out.exists()
    listed = pd.read_csv(rejected)
    assert len(listed) == 121
    by_row = listed.dropna(subset=["row"])
    assert sorted(by_row["row"].astype(int)) == list(range(2, 122))  # CSV rows 2..121: every record
    assert by_row["message"].str.startswith(SLASHES).all() and (by_row["column"] == "date").all()
    assert listed["fatal"].sum() == 1  # "every row was rejected"


def test_validate_summarises_and_writes_every_problem_with_rejected(
    all_bad_referrals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", *_inputs(all_bad_referrals)]) == 1
    err = capsys.readouterr().err
    assert "... and 71 more:" in err and "listed with --rejected FILE" in err
    target = tmp_path / "problems.csv"
    assert main(["validate", *_inputs(all_bad_referrals), "--rejected", str(target)]) == 1
    assert f"listed in {target}" in capsys.readouterr().err
    assert len(pd.read_csv(target)) == 121


def test_the_upload_report_counts_the_rows_beyond_its_table_by_kind() -> None:
    from callbacks.layout import render_problems

    rows = [{"file": "referrals.csv", "row": 2 + i, "column": "date", "value": "", "message": "bad date"}
            for i in range(520)] + [{"file": "assets.csv", "row": None, "column": "", "value": "", "message": "no ids"}]  # fmt: skip
    alert = render_problems(rows, limit=500)
    text = str(alert.to_plotly_json())
    assert "... and 21 more:" in text
    assert "20 × referrals.csv, column 'date': bad date (rows 502 to 521)" in text
    assert "1 × assets.csv: no ids" in text
    table_rows = alert.children[1].children[1].children
    assert len(table_rows) == 500
