"""Which rows of each input file were read, used and rejected: the report ``validate`` prints, per file.

The dashboard shows it after an upload ("assets.csv: 60 read, 45 used, 15 rejected") with the
rejected rows as a table and a CSV. Rows of private files (referrals) are reported by row number,
column and reason only: their values never leave the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .errors import Problem, problems_frame
from .joins import Prepared

#: Roles whose values are personal data: never shown or downloaded, even for a rejected row.
PRIVATE_ROLES = ("referrals", "practices")
#: Roles whose harmonised frame keeps one record per source row (its ``_source_row``).
_ONE_TO_ONE = ("areas", "assets", "referrals")


@dataclass(frozen=True)
class FileCount:
    """Rows of one input file: ``read`` = ``used`` + ``rejected``."""

    role: str
    file: str
    read: int
    used: int
    rejected: int

    def __str__(self) -> str:
        text = f"{self.file}: {self.read:,} read, {self.used:,} used"
        return text + (f", {self.rejected:,} rejected" if self.rejected else "")


def file_counts(prepared: Prepared) -> list[FileCount]:
    """Rows read, used and rejected of every input file, in reading order.

    A row is rejected when a problem names it and the analysis does not use it: rejected while
    loading (a bad category, coordinates missing) or by the join (outside every area). A repaired
    row (a geometry made valid) is used. For files whose records are aggregated (population,
    lookup) every row a problem names counts as rejected.
    """
    inputs = prepared.inputs
    joined = prepared.problems[len(inputs.problems) :]  # what the join added
    counts = []
    for source in inputs.sources:
        files = _files_of(source.path)
        rows = {problem.row for problem in prepared.problems if problem.row is not None and problem.file in files}
        kept = _kept_rows(prepared, source.role, joined, files)
        if kept is None:
            rejected, used = len(rows), source.rows
        else:
            rejected, used = len(rows - kept), len(kept)
        counts.append(FileCount(source.role, _shown(source.path), used + rejected, used, rejected))
    return counts


def _files_of(path: str) -> set[str]:
    """The file names a source stands for (several population files are joined with ``" + "``)."""
    return {path, *path.split(" + ")}


def _shown(path: str) -> str:
    return " + ".join(Path(part.replace("\\", "/")).name for part in path.split(" + "))


def _kept_rows(prepared: Prepared, role: str, joined: Sequence[Problem], files: set[str]) -> set[int] | None:
    """Source rows the analysis uses, or None when the role's frame does not keep one record per row."""
    frame = getattr(prepared.inputs, role, None)
    if role not in _ONE_TO_ONE or not isinstance(frame, pd.DataFrame) or "_source_row" not in frame:
        return None
    dropped = {problem.row for problem in joined if problem.file in files and problem.row is not None}
    return {int(row) for row in frame["_source_row"]} - dropped


def private_files(prepared: Prepared) -> set[str]:
    """Paths of the inputs whose values must never be shown (:data:`PRIVATE_ROLES`)."""
    return {
        name for source in prepared.inputs.sources if source.role in PRIVATE_ROLES for name in _files_of(source.path)
    }


def redacted(problems: Iterable[Problem], private: set[str]) -> list[Problem]:
    """``problems`` with the value of every problem in a ``private`` file removed (row, column and reason stay)."""
    return [replace(problem, value=None) if problem.file in private else problem for problem in problems]


def rejected_frame(prepared: Prepared) -> pd.DataFrame:
    """Every problem of a prepared data set as ``validate --rejected`` writes it, private values removed,
    each file named by its base name (never a server path)."""
    problems = redacted(prepared.problems, private_files(prepared))
    frame = problems_frame(problems)
    frame["file"] = [_shown(str(file)) for file in frame["file"]]
    return frame
