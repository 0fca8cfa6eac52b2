"""A catalogue of malformed real-world files, and the message each one must get.

``tests/data/bad/catalogue.toml`` lists each file with its role, its outcome and the
problems it must produce (message fragment, row, column, fatal). Every case is loaded
with the loader of its role; lookup, population and referrals are checked against
``_areas.geojson`` (three LSOAs, E01000001-3). ``make_files.py`` writes the files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from coverage_map.errors import Problem
from coverage_map.ingest import load_areas, load_assets, load_lookup, load_population, load_referrals
from coverage_map.taxonomy import Taxonomy

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CATALOGUE: list[dict[str, Any]] = tomllib.loads((BAD / "catalogue.toml").read_text(encoding="utf-8"))["case"]
OUTCOMES = ("fatal", "rows rejected", "loads, with notice", "loads")
TAXONOMY = Taxonomy.builtin()
#: Referral columns whose values are private: a problem about them never shows the value.
PRIVATE_COLUMNS = {"referral_id", "date", "origin_area_id", "latitude", "longitude", "easting", "northing"}


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    frame, problems = load_areas(BAD / "_areas.geojson")
    assert problems == []
    assert list(frame["area_id"]) == ["E01000001", "E01000002", "E01000003"]
    return frame


def load(role: str, path: Path, areas: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    if role == "areas":
        return load_areas(path)
    if role == "assets":
        return load_assets(path, TAXONOMY)
    if role == "lookup":
        return load_lookup(path, areas)
    if role == "population":
        return load_population(path, areas, TAXONOMY)
    assert role == "referrals", role
    return load_referrals(path, TAXONOMY, areas=areas)


def matches(problem: Problem, expected: dict[str, Any]) -> bool:
    return (
        expected["message"].casefold() in problem.message.casefold()
        and problem.row == (expected["row"] or None)
        and problem.column == (expected["column"] or None)
        and problem.fatal is expected["fatal"]
    )


def test_the_catalogue_is_complete() -> None:
    """At least 30 cases, each file present, each valid, and no file left out of the catalogue."""
    assert len(CATALOGUE) >= 30
    names = [case["file"] for case in CATALOGUE]
    assert len(names) == len(set(names)), "a file is listed twice"
    for case in CATALOGUE:
        assert (BAD / case["file"]).is_file(), case["file"]
        assert case["role"] in ("areas", "assets", "lookup", "population", "referrals"), case
        assert case["outcome"] in OUTCOMES, case
        assert case["about"].strip(), case
        for expected in case["expect"]:
            assert set(expected) == {"message", "row", "column", "fatal"}, (case["file"], expected)
        if case["outcome"] == "loads":
            assert case["expect"] == [], case["file"]
        else:
            assert case["expect"], case["file"]
    sidecars = {".dbf", ".shx", ".cpg", ".prj", ".toml", ".py"}
    on_disk = {p.name for p in BAD.iterdir() if p.is_file() and not p.name.startswith("_") and p.suffix not in sidecars}
    assert on_disk == set(names), f"files without a catalogue entry: {sorted(on_disk - set(names))}"


@pytest.mark.parametrize("case", CATALOGUE, ids=[case["file"] for case in CATALOGUE])
def test_bad_file_gets_its_message(case: dict[str, Any], areas: gpd.GeoDataFrame) -> None:
    path = BAD / case["file"]
    frame, problems = load(case["role"], path, areas)

    shown = "\n".join(f"  {problem} [fatal={problem.fatal}]" for problem in problems) or "  (none)"
    for expected in case["expect"]:
        assert any(matches(problem, expected) for problem in problems), f"{expected} not among:\n{shown}"
    # Every problem names the file, and the row and column when it is about one.
    for problem in problems:
        text = str(problem)
        assert problem.file == str(path) and text.startswith(str(path)), text
        if problem.row is not None:
            assert f", row {problem.row}" in text, text
        if problem.column is not None:
            assert f"column '{problem.column}'" in text, text
    # No fatal problem that the catalogue does not expect.
    for problem in problems:
        if problem.fatal:
            assert any(matches(problem, expected) for expected in case["expect"]), f"unexpected: {problem}"

    fatal = any(problem.fatal for problem in problems)
    if case["outcome"] == "fatal":
        assert fatal
    else:
        assert not fatal, shown
        assert len(frame) > 0
    if case["outcome"] == "rows rejected":
        assert any(problem.row is not None for problem in problems), shown
    elif case["outcome"] == "loads, with notice":
        assert problems, shown
    elif case["outcome"] == "loads":
        assert problems == [], shown

    if case["role"] == "referrals":
        for problem in problems:
            if problem.column in PRIVATE_COLUMNS:
                assert problem.value is None, f"a private value is shown: {problem}"
