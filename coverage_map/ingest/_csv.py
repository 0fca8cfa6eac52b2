"""A CSV file's records, row N always spreadsheet row N: Arrow reads the plain lines, Python's csv the rest.

Python's ``csv`` module is the exact reader: it numbers records as a spreadsheet does (a
blank line is a row, a quoted value may hold a line break) and reads a short or long row
as it is, for the caller to report. It also builds a Python list per record, which makes
a two-million-row referral file take many seconds. :func:`read_records` therefore sorts the
lines first, with numpy over the file's bytes:

* a **plain** line has no ``"``, exactly as many fields as the header and at least one
  printable character other than a comma, so it is one record that splits at its commas
  whatever the reader: Arrow reads all of them at once (quoting switched off, every column
  as text);
* every **other** line (the header, blank or ragged lines, lines with quotes) goes through
  the ``csv`` module, one record per line. If a quoted value runs over a line break (the
  records no longer match the lines) or the quoting is malformed, the whole file is read by
  the exact reader instead.

So both ways give the same cells, row numbers and problems (``tests/unit/test_read_csv_fast.py``
compares them on generated files).
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv

_COMMA, _QUOTE, _CR, _LF = 44, 34, 13, 10
#: Bytes looked at in one step when counting per line (the masks are a few times this).
_CHUNK_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Records:
    """A CSV file's records, split between the plain lines Arrow read and the others.

    Attributes
    ----------
    header
        The first record's cells as written (``None`` when the file has no record at all).
    plain
        The plain lines' cells, one text column per header column (``None`` when none).
    plain_rows
        Their spreadsheet rows (header = row 1), ascending.
    others
        Every other record after the header, as the ``csv`` module reads it.
    other_rows
        Their spreadsheet rows, ascending.
    """

    header: list[str] | None
    plain: pyarrow.Table | None
    plain_rows: np.ndarray
    others: list[list[str]]
    other_rows: np.ndarray

    def columns(self, width: int, keep: np.ndarray) -> tuple[list[pd.api.extensions.ExtensionArray], np.ndarray]:
        """The body as ``width`` text columns in row order, with the other records where ``keep`` is true.

        Other records are padded with ``""`` or cut to ``width`` cells. Returns the columns
        (pandas ``str`` arrays) and the spreadsheet row of each of their cells.
        """
        kept = [(record + [""] * width)[:width] for record, wanted in zip(self.others, keep, strict=True) if wanted]
        other_rows = self.other_rows[keep]
        if self.plain is None:
            values = list(zip(*kept, strict=True)) if kept else [()] * width
            return [pd.array(list(column), dtype="str") for column in values], other_rows
        if not kept:
            return [pd.array(column, dtype="str") for column in self.plain.columns], self.plain_rows
        rows = np.concatenate([self.plain_rows, other_rows])
        order = pyarrow.array(np.argsort(rows, kind="stable"))
        columns = []
        for position, column in enumerate(self.plain.columns):
            extra = pyarrow.array([record[position] for record in kept], type=pyarrow.large_string())
            merged = pyarrow.concat_arrays([*column.chunks, extra]).take(order)
            columns.append(pd.array(merged, dtype="str"))
        return columns, np.sort(rows)


def read_records(text: str, encoded: bytes | None = None, *, fast: bool = True) -> Records:
    """The records of a decoded CSV file.

    Parameters
    ----------
    text
        The file's text.
    encoded
        The same text as UTF-8 without a byte-order mark, when the file already is that
        (saves encoding it again); None to encode ``text``.
    fast
        Read the plain lines with Arrow; False reads every line with the exact reader.

    Raises
    ------
    csv.Error
        When the exact reader cannot read the file.
    """
    if fast and text and "\x00" not in text:
        records = _arrow_records(text.encode("utf-8") if encoded is None else encoded)
        if records is not None:
            return records
    return exact_records(text)


def exact_records(text: str) -> Records:
    """Every record through Python's ``csv`` module (raises ``csv.Error``)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    records = list(csv.reader(io.StringIO(text, newline="")))
    return Records(
        header=records[0] if records else None,
        plain=None,
        plain_rows=np.zeros(0, dtype="int64"),
        others=records[1:],
        other_rows=np.arange(2, len(records) + 1, dtype="int64"),
    )


def _arrow_records(data: bytes) -> Records | None:
    """Plain lines through Arrow, the rest through ``csv`` line by line; None when the lines are not the records."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = _line_starts(buffer)
    commas, quoted, printable = _line_counts(buffer, starts)
    ends = np.append(starts[1:], len(buffer))
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        header = next(csv.reader([_line(data, starts[0], ends[0])], strict=True))
    except (csv.Error, StopIteration):
        return None
    plain = (commas == len(header) - 1) & ~quoted & printable
    plain[0] = False
    other_lines = np.flatnonzero(~plain)[1:]
    lines = [_line(data, starts[i], ends[i]) for i in other_lines.tolist()]
    try:
        # strict: a quoted value still open at the end raises instead of being closed quietly.
        others = list(csv.reader(lines, strict=True))
    except csv.Error:
        return None
    if len(others) != len(lines):  # a quoted value ran over a line break: the exact reader numbers those
        return None
    plain_lines = np.flatnonzero(plain)
    table = _arrow_table(buffer, starts, plain, len(header)) if len(plain_lines) else None
    if table is not None and table.num_rows != len(plain_lines):
        return None
    return Records(
        header=header,
        plain=table,
        plain_rows=plain_lines.astype("int64") + 1,
        others=others,
        other_rows=other_lines.astype("int64") + 1,
    )


def _line_starts(buffer: np.ndarray) -> np.ndarray:
    """Where each line starts: after ``\\r\\n``, a lone ``\\r`` or a lone ``\\n`` (as ``newline=""`` splits)."""
    returns = np.flatnonzero(buffer == _CR)
    feeds = np.flatnonzero(buffer == _LF)
    lone_feeds = feeds[(feeds == 0) | (buffer[np.maximum(feeds - 1, 0)] != _CR)]
    after_return = returns + 1
    pairs = after_return < len(buffer)
    after_return[pairs] += buffer[after_return[pairs]] == _LF
    starts = np.concatenate([[0], np.sort(np.concatenate([after_return, lone_feeds + 1]))])
    return starts[starts < len(buffer)]  # a final line break opens no further line


def _line_counts(buffer: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: its commas, whether it holds a ``"``, and whether it has a printable character other than a comma.

    Such a character (printable ASCII) survives stripping, so the line cannot be blank. The
    file is taken a few megabytes at a time so that the masks stay small.
    """
    commas = np.zeros(len(starts), dtype=np.int64)
    quoted = np.zeros(len(starts), dtype=bool)
    printable = np.zeros(len(starts), dtype=bool)
    bounds = np.append(starts, len(buffer))
    first = 0
    while first < len(starts):
        last = max(int(np.searchsorted(bounds, bounds[first] + _CHUNK_BYTES, side="right")) - 1, first + 1)
        chunk = buffer[bounds[first] : bounds[last]]
        offsets = starts[first:last] - bounds[first]
        is_comma = chunk == _COMMA
        commas[first:last] = np.add.reduceat(is_comma.view(np.uint8), offsets, dtype=np.int64)
        quoted[first:last] = np.logical_or.reduceat(chunk == _QUOTE, offsets)
        printable[first:last] = np.logical_or.reduceat((chunk > 32) & (chunk < 127) & ~is_comma, offsets)
        first = last
    return commas, quoted, printable


def _line(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("utf-8").rstrip("\r\n")


def _arrow_table(buffer: np.ndarray, starts: np.ndarray, plain: np.ndarray, width: int) -> pyarrow.Table | None:
    """The plain lines (each with exactly ``width`` fields and no quote) read by Arrow, every column as text."""
    lengths = np.diff(np.append(starts, len(buffer)))
    if plain[1:].all():
        body = pyarrow.py_buffer(buffer[starts[1] :])
    else:
        body = pyarrow.py_buffer(buffer[np.repeat(plain, lengths)].tobytes())
    names = [f"f{position}" for position in range(width)]
    try:
        return pyarrow.csv.read_csv(
            pyarrow.BufferReader(body),
            read_options=pyarrow.csv.ReadOptions(column_names=names),
            parse_options=pyarrow.csv.ParseOptions(
                quote_char=False, escape_char=False, double_quote=False, ignore_empty_lines=False
            ),
            convert_options=pyarrow.csv.ConvertOptions(
                column_types=dict.fromkeys(names, pyarrow.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pyarrow.ArrowException:
        return None
