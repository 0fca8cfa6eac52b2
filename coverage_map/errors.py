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

    def __init__(self, problems: Sequence[Problem]):
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} found in the input files:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


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
