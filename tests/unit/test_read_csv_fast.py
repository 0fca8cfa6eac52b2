"""The Arrow CSV path gives exactly what the exact (``csv`` module) reader gives: cells, row numbers, problems.

``read_any`` reads the plain lines of a CSV file with Arrow and the rest with Python's ``csv``
module (``coverage_map.ingest._csv``). These tests read the same bytes both ways
(``_read_csv(..., fast=False)`` is the exact reader alone) and require identical frames and
identical problem lists, on hand-picked tricky files and on generated ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_map.ingest import _csv, read_any
from coverage_map.ingest.readers import _read_csv


def _both(raw: bytes, folder: Path) -> tuple[pd.DataFrame, list, pd.DataFrame, list]:
    path = folder / "t.csv"
    path.write_bytes(raw)
    fast, fast_problems = _read_csv(path, str(path))
    exact, exact_problems = _read_csv(path, str(path), fast=False)
    return fast, fast_problems, exact, exact_problems


def _assert_same(raw: bytes, folder: Path) -> None:
    fast, fast_problems, exact, exact_problems = _both(raw, folder)
    assert fast_problems == exact_problems
    pd.testing.assert_frame_equal(fast, exact)


TRICKY = {
    "plain": b"id,name\n1,a\n2,b\n",
    "crlf": b"id,name\r\n1,a\r\n2,b\r\n",
    "lone carriage returns": b"id,name\r1,a\r\r2,b\r",
    "mixed line ends": b"id,name\r\n1,a\n\r2,b\r\n\n3,c",
    "blank lines and spaces": b"id,name\n\n1,a\n , \n   \n2,b\n\n",
    "quoted newline": b'id,name\n1,"a\nb"\n2,c\n3,"d\r\ne"\n',
    "quoted comma and quotes": b'id,name\n1,"Smith, J"\n2,"say ""hi"""\n3,x\n',
    "quote in the middle": b'id,name\n1,5" pipe\n2,a"b,"c\n',
    "malformed quoting": b'id,name\n1,"ab"c\n2,d\n',
    "unclosed quote": b'id,name\n1,"abc\n2,d\n',
    "ragged short": b"id,name,extra\n1,a\n2\n3,b,c\n",
    "ragged long": b"id,name\n1,a\n2,Smith, John\n3,c,,\n",
    "trailing empty columns": b"id,name,,\n1,a,,\n2\n",
    "quoted header": b'"id","name, full"\n1,a\n',
    "header only": b"id,name\n",
    "blank header": b"\nid,name\n1,a\n",
    "no final newline": b"id,name\n1,a\n2,b",
    "unicode whitespace rows": "id,name\n\u00a0,\u2003\n1,a\n\x1c,\x1f\n".encode(),
    "non-ascii": "id,name\n1,Café\n2,Zoë Łódź\n3,東京\n".encode(),
    "utf-8 bom": "id,name\r\n1,Café\r\n".encode("utf-8-sig"),
    "cp1252": "id,name\n1,Café Société £5\n".encode("cp1252"),
    "utf-16": 'id,name\n1,Zoë\n\n2,"x\ny"\n'.encode("utf-16"),
    "semicolons": b"id;name\n1;a\n",
    "duplicate header": b"id,name,ID\n1,a,2\n",
    "one column": b"id\n1\n\n2\n",
    "wkt": b'id,geometry\n1,POINT (383000 398000)\n2,not wkt\n3,\n4,"POINT (383001 398001)"\n',
    "nul late": b"id,name\n" + b"1,a\n" * 3000 + b"2,b\x00c\n",
}


@pytest.mark.parametrize("name", list(TRICKY))
def test_fast_path_matches_the_exact_reader_on_tricky_files(tmp_path: Path, name: str) -> None:
    _assert_same(TRICKY[name], tmp_path)


def test_row_numbers_stay_spreadsheet_rows_around_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'id,name\n1,a\n\n2,"two\nlines"\n3,c\n\r\n4,d\n')
    frame, problems = read_any(path)
    assert problems == []
    assert frame["id"].tolist() == ["1", "2", "3", "4"]
    assert frame["_source_row"].tolist() == [2, 4, 5, 7]


def test_plain_lines_are_read_by_arrow_and_only_the_rest_by_the_csv_module() -> None:
    """Row by row fall-back: a quoted cell or a short row does not send the whole file to the slow reader."""
    text = 'id,name\n1,a\n2,"b, c"\n3\n\n4,d\n'
    records = _csv.read_records(text)
    assert records.plain is not None
    assert records.plain_rows.tolist() == [2, 6]
    assert records.other_rows.tolist() == [3, 4, 5]
    assert records.others == [["2", "b, c"], ["3"], []]


def test_a_quoted_line_break_sends_the_file_to_the_exact_reader() -> None:
    records = _csv.read_records('id,name\n1,"a\nb"\n2,c\n')
    assert records.plain is None
    assert records.others == [["1", "a\nb"], ["2", "c"]]
    assert records.other_rows.tolist() == [2, 3]


# --------------------------------------------------------------------------- generated files

_CELL_CHARACTERS = st.sampled_from(
    ["a", "b", "7", " ", ",", '"', "\n", "\r", "\r\n", "\t", ";", "é", "\u00a0", "\x1c", "東", "'", "="]
)
_CELL = st.lists(_CELL_CHARACTERS, max_size=6).map("".join)
_ROW = st.lists(_CELL, min_size=0, max_size=5)


def _quoted(cell: str, style: str) -> str:
    if style == "raw":
        return cell
    if style == "always" or any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def _csv_files(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["id", "name", "", "Area", "x y", '"q"', "area"]), min_size=width,
                           max_size=width))  # fmt: skip
    rows = draw(st.lists(_ROW, max_size=12))
    style = draw(st.sampled_from(["minimal", "always", "raw"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(_quoted(cell, style) for cell in row) for row in [header, *rows]]
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_csv_files())
def test_fast_path_matches_the_exact_reader_on_generated_files(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _assert_same(raw, Path(folder))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=200).map(lambda body: b"id,name\n" + body))
def test_fast_path_matches_the_exact_reader_on_arbitrary_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _assert_same(raw, Path(folder))


def test_a_large_file_with_a_few_odd_rows_matches_the_exact_reader(tmp_path: Path) -> None:
    """Many plain lines (Arrow reads them in several blocks) with odd ones spread among them."""
    generator = np.random.default_rng(7)
    lines = [f"R{i},{generator.integers(0, 10**6)},cat{i % 17}" for i in range(60_000)]
    for position, odd in [(5, ""), (1_000, 'R,"quoted, cell",x'), (30_000, "short"), (59_998, " , , ")]:
        lines[position] = odd
    _assert_same(("id,value,category\n" + "\n".join(lines) + "\n").encode(), tmp_path)
