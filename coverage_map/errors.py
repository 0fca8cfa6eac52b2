"""One exception family for the whole package, and the problem records it carries.

Validation collects every problem first and raises once, so a user fixing a file sees
the whole list in one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import pandas as pd


class CoverageMapError(ValueError):
    """Base class of every error coverage-map raises on purpose."""


class CRSError(CoverageMapError):
    """A layer has no CRS, or one that cannot be used."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input.

    ``row`` is the spreadsheet row for CSV files (the header is row 1, so the first
    record is row 2) and the 1-based feature number for spatial files; ``None`` when
    the problem is about the whole file or a whole column.
    ``fatal`` problems stop the analysis; the others reject a single row, which is
    reported (never silently dropped) and written to ``<out>_rejected.csv``.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    fatal: bool = True

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value: {self.value!r})"
        return text


class ValidationError(CoverageMapError):
    """Raised once, listing every problem found across the inputs (fatal ones first)."""

    def __init__(self, problems: Sequence[Problem], *, note: str | None = None):
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = [f"{count:,} problem{'s' if count != 1 else ''} found in the input files:"]
        lines += summary_lines(self.problems)
        if note:
            lines.append(note)
        super().__init__("\n".join(lines))


#: Problems listed one by one in a message; the rest are counted by kind (all are in ``problems``).
LISTED = 50
#: Kinds of problem counted after the listed ones, at most.
KINDS = 20


@dataclass(frozen=True)
class Kind:
    """Problems of one kind: the same file, column and reason, with how many and their row range."""

    file: str
    column: str | None
    message: str
    count: int
    first_row: int | None
    last_row: int | None

    def __str__(self) -> str:
        where = self.file + (f", column '{self.column}'" if self.column is not None else "")
        if self.first_row is None or self.last_row is None:
            rows = ""
        elif self.first_row == self.last_row:
            rows = f" (row {self.first_row:,})"
        else:
            rows = f" (rows {self.first_row:,} to {self.last_row:,})"
        return f"{self.count:,} × {where}: {self.message}{rows}"


def kinds_of(problems: Iterable[Problem]) -> list[Kind]:
    """``problems`` counted by file, column and reason, the most common kind first."""
    groups: dict[tuple[str, str | None, str], list[int | None]] = {}
    for problem in problems:
        groups.setdefault((problem.file, problem.column, problem.message), []).append(problem.row)
    kinds = []
    for (file, column, message), rows in groups.items():
        numbers = [row for row in rows if row is not None]
        kinds.append(Kind(file, column, message, len(rows), min(numbers, default=None), max(numbers, default=None)))
    return sorted(kinds, key=lambda kind: -kind.count)


def summary_lines(problems: Sequence[Problem], *, listed: int = LISTED, kinds: int = KINDS) -> list[str]:
    """Lines for a message: the first ``listed`` problems, then the rest counted by file, column and reason.

    A file with every date written 01/02/2025 gives two million identical problems; printing
    them all would bury the one line that matters. The full list stays on the exception
    (and the command line writes it to a CSV file).
    """
    lines = [f"  - {problem}" for problem in problems[:listed]]
    rest = problems[listed:]
    if not rest:
        return lines
    counted = kinds_of(rest)
    lines.append(f"  ... and {len(rest):,} more:")
    lines += [f"  - {kind}" for kind in counted[:kinds]]
    if len(counted) > kinds:
        others = sum(kind.count for kind in counted[kinds:])
        lines.append(f"  - {others:,} more of {len(counted) - kinds:,} other kinds")
    return lines


def raise_if_fatal(problems: Iterable[Problem]) -> None:
    """Raise one :class:`ValidationError` listing every fatal problem, if there are any."""
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ValidationError(fatal)


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a table with columns file, row, column, value, message, fatal."""
    columns = ["file", "row", "column", "value", "message", "fatal"]
    records = [asdict(problem) for problem in problems]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({"row": "Int64"})
