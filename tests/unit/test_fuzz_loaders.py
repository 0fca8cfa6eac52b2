"""Fuzz every loader: whatever bytes a user hands us, the answer is a result or our own error.

Each example writes one file and loads it. The outcome must be either a clean
``(frame, problems)`` pair or a :class:`~coverage_map.errors.CoverageMapError` (including
:class:`~coverage_map.errors.ValidationError`): never another exception, and never a
hang. Every example runs under a watchdog (:data:`TIME_LIMIT` seconds, raised as a
failure) on top of hypothesis' own ``deadline``.

On top of "no traceback", each clean result is checked against the loaders' promises:
every problem names its file; a file with no fatal problem gives frames that honour
the contracts of :mod:`coverage_map.model`; and nothing is dropped silently (every row
``read_any`` saw is either in the result or named by a problem).

CI runs a fixed, derandomised number of examples (the ``ci`` profile). For a longer,
randomised hunt::

    COVERAGE_MAP_FUZZ=long COVERAGE_MAP_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/unit/test_fuzz_loaders.py

The session prints how many examples each test ran (and the file checks that each ran
at least :data:`MIN_SHARE` of its budget).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_map.config import METRIC_CRS
from coverage_map.errors import CoverageMapError, Problem
from coverage_map.ingest import (
    load_areas,
    load_assets,
    load_inputs,
    load_lookup,
    load_population,
    load_referrals,
    read_any,
)
from coverage_map.taxonomy import Taxonomy

# --------------------------------------------------------------------------- settings

#: Seconds one example may take before the watchdog fails it.
TIME_LIMIT = 8.0
#: Examples per test in CI (6 tests, 4,800 in all): the whole file takes about a minute on two cores.
CI_EXAMPLES = 800
#: Each test must have run at least this share of its budget (hypothesis may stop early
#: only when it has exhausted a strategy, which ours cannot).
MIN_SHARE = 0.9

settings.register_profile(
    "fuzz-ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=int(TIME_LIMIT * 1000 / 2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile(
    "fuzz-long",
    max_examples=int(os.environ.get("COVERAGE_MAP_FUZZ_EXAMPLES", "5000")),
    derandomize=False,
    database=None,
    deadline=int(TIME_LIMIT * 1000 / 2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz-long" if os.environ.get("COVERAGE_MAP_FUZZ") == "long" else "fuzz-ci")
BUDGET = FUZZ.max_examples

#: Examples run, by test name.
EXAMPLES: Counter[str] = Counter()
TAXONOMY = Taxonomy.builtin()
ROLES = ("areas", "lookup", "population", "assets", "referrals")

# --------------------------------------------------------------------------- seed files

X0, Y0 = 380_000.0, 390_000.0
AREA_IDS = ["E01000001", "E01000002", "E01000003"]


def _boxes() -> gpd.GeoDataFrame:
    shapes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)]
    return gpd.GeoDataFrame(
        {"area_id": AREA_IDS, "area_name": ["Ardwick", "Bradford", "Clayton"]}, geometry=shapes, crs=METRIC_CRS
    )


AREAS = _boxes().assign(_source_row=[1, 2, 3])[["area_id", "area_name", "geometry", "_source_row"]]

TEXT_SEEDS: dict[str, dict[str, bytes]] = {
    "areas": {
        ".csv": (
            "area_id,area_name,geometry\n"
            + "".join(f'{a},Area {a},"{shape.wkt}"\n' for a, shape in zip(AREA_IDS, _boxes().geometry, strict=True))
        ).encode(),
        ".geojson": _boxes().to_crs("EPSG:4326").to_json().encode(),
    },
    "lookup": {
        ".csv": (
            b"area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name\n"
            b"E01000001,N1,North,E08000003,Manchester\n"
            b"E01000002,N1,North,E08000003,Manchester\n"
            b"E01000003,N2,South,E08000003,Manchester\n"
        ),
        # an ONS statistical lookup (several output areas per LSOA); the ".ons" is dropped from the file name
        ".ons.csv": (
            b"oa21cd,lsoa21cd,lsoa21nm,msoa21cd,msoa21nm,lad22cd,lad22nm\n"
            b"E00000001,E01000001,Manchester 001A,E02000001,Manchester 001,E08000003,Manchester\n"
            b"E00000002,E01000001,Manchester 001A,E02000001,Manchester 001,E08000003,Manchester\n"
            b"E00000003,E01000002,Manchester 001B,E02000001,Manchester 001,E08000003,Manchester\n"
            b"E00000004,E01000003,Manchester 002A,E02000002,Manchester 002,E08000003,Manchester\n"
        ),
    },
    "population": {
        ".csv": (
            b'area_id,population,pop_BME,pop_older_people\nE01000001,"1,612",245,310\nE01000002,1498,102,\n'
            b"E01000003,1731,390,288\n"
        ),
    },
    "assets": {
        ".csv": (
            "asset_id,name,categories,communities,capacity,accepting_referrals,reach,latitude,longitude,last_checked\n"
            "A001,Memory Café,dementia;carers support,older people,12,yes,local,53.4785,-2.2299,2025-01-14\n"
            "A002,Wellbeing Walks,walking group;loneliness,,30,y,3 km,53.4812,-2.2311,2024-11-02\n"
            "A003,Citizens Advice,debt advice;housing,,,no,borough,53.4769,-2.2282,\n"
            "A004,Men's Shed,loneliness,men,5,1,citywide,,,\n"
        ).encode(),
    },
    "referrals": {
        ".csv": (
            b"referral_id,date,category,community,count,asset_id,origin_area_id,latitude,longitude,easting,northing\n"
            b"R0001,2025-01-06,dementia,,1,A001,E01000001,,,,\n"
            b"R0002,2025-01-09,mental health,BME,1,,,53.4801,-2.2350,,\n"
            b"R0003,2025-02,loneliness,older people,4,A002,E01000003,,,,\n"
            b"R0004,2024-12-31,housing,,2,,,,,381500,390500\n"
        ),
    },
}


def _point_layer(role: str) -> gpd.GeoDataFrame:
    frame = pd.read_csv(io.BytesIO(TEXT_SEEDS[role][".csv"]), dtype=str, keep_default_na=False)
    lat = pd.to_numeric(frame.get("latitude", pd.Series(dtype=str)), errors="coerce")
    lon = pd.to_numeric(frame.get("longitude", pd.Series(dtype=str)), errors="coerce")
    geometry = gpd.points_from_xy(lon.fillna(-2.23), lat.fillna(53.48))
    keep = [c for c in frame.columns if c not in ("latitude", "longitude", "easting", "northing")]
    return gpd.GeoDataFrame(frame[keep], geometry=geometry, crs="EPSG:4326")


def _binary_seeds() -> dict[str, dict[str, bytes]]:
    """Spatial seeds (GeoPackage, FlatGeobuf, GeoParquet, zipped shapefile), built once."""
    seeds: dict[str, dict[str, bytes]] = {"areas": {}, "assets": {}}
    folder = Path(tempfile.mkdtemp(prefix="fuzz-seeds-"))
    try:
        for role, frame in (("areas", _boxes()), ("assets", _point_layer("assets"))):
            # a shapefile truncates the assets' long column names (with a warning), so only areas get one
            for suffix in (".gpkg", ".fgb", ".parquet", ".zip") if role == "areas" else (".gpkg", ".fgb", ".parquet"):
                path = folder / f"{role}{suffix}"
                if suffix == ".parquet":
                    frame.to_parquet(path)
                elif suffix == ".zip":
                    shp = folder / role / f"{role}.shp"
                    shp.parent.mkdir()
                    frame.to_file(shp, engine="pyogrio")
                    with zipfile.ZipFile(path, "w") as archive:
                        for part in sorted(shp.parent.iterdir()):
                            archive.write(part, part.name)
                else:
                    options = {"SPATIAL_INDEX": "NO"} if suffix == ".fgb" else {}
                    frame.to_file(path, engine="pyogrio", layer_options=options)
                seeds[role][suffix] = path.read_bytes()
        seeds["assets"][".geojson"] = _point_layer("assets").to_json().encode()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return seeds


BINARY_SEEDS = _binary_seeds()
SEEDS: dict[str, dict[str, bytes]] = {
    role: {**TEXT_SEEDS.get(role, {}), **BINARY_SEEDS.get(role, {})} for role in ROLES
}
#: (role, suffix, bytes) of every seed, for the mutation strategy.
SEED_LIST = [(role, suffix, data) for role in ROLES for suffix, data in SEEDS[role].items()]


# --------------------------------------------------------------------------- the harness


class Hang(AssertionError):
    """One example took longer than TIME_LIMIT seconds."""


@contextlib.contextmanager
def watchdog(seconds: float = TIME_LIMIT) -> Iterator[None]:
    """Fail the example when it runs too long (SIGALRM interrupts Python code; faulthandler
    dumps the stacks and exits if C code hangs past three times the limit)."""
    import faulthandler

    def expire(signum: int, frame: object) -> None:
        raise Hang(f"one example took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 3, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per example (hypothesis reruns examples; tmp_path is per test)."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def file_name(role: str, suffix: str) -> str:
    return f"{role}{suffix.removeprefix('.ons')}"


def load(role: str, path: Path, *, crs: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Run the loader of ``role`` on ``path`` (the others get the three seed areas)."""
    if role == "areas":
        return load_areas(path, crs=crs)
    if role == "lookup":
        return load_lookup(path, AREAS)
    if role == "population":
        return load_population(path, AREAS, TAXONOMY)
    if role == "assets":
        return load_assets(path, TAXONOMY, crs=crs)
    return load_referrals(path, TAXONOMY, areas=AREAS, crs=crs)


def check_problems(problems: list[Problem], path: Path) -> None:
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, Problem), problem
        assert problem.file == str(path), problem
        assert problem.message.strip(), problem
        assert problem.row is None or (isinstance(problem.row, int) and problem.row >= 1), problem
        str(problem)  # renders


def check_contract(role: str, frame: pd.DataFrame, problems: list[Problem], path: Path, crs: str | None) -> None:
    """A usable result honours the column contracts, and drops no row silently."""
    if any(problem.fatal for problem in problems):
        return
    assert isinstance(frame, pd.DataFrame)
    assert "_source_row" in frame.columns or role in ("lookup", "population")
    if role in ("areas", "assets", "referrals"):
        assert isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.crs.equals(METRIC_CRS)
        shapes = frame.geometry.to_numpy()
        present = ~shapely.is_missing(shapes)
        assert np.isfinite(shapely.bounds(shapes[present])).all(), "non-finite coordinates in a usable result"
    if role == "areas":
        assert frame["area_id"].is_unique and (frame["area_id"] != "").all()
        assert set(shapely.get_type_id(frame.geometry.to_numpy())) <= {3, 6}
        assert shapely.is_valid(frame.geometry.to_numpy()).all()
    elif role == "lookup":
        assert list(frame["area_id"]) == AREA_IDS
    elif role == "population":
        assert list(frame["area_id"]) == AREA_IDS
        assert (frame["population"].dropna() >= 0).all()
    elif role == "assets":
        assert frame["asset_id"].is_unique
        assert all(len(labels) >= 1 for labels in frame["categories"])
        assert (frame["capacity"].dropna() >= 0).all()
        assert set(shapely.get_type_id(frame.geometry.to_numpy())) <= {0}
    elif role == "referrals":
        assert (frame["count"] >= 1).all()
        assert frame["date"].dropna().le(pd.Timestamp.today()).all()
    if role in ("assets", "referrals"):
        raw, _ = read_any(path, crs=crs)
        named = {problem.row for problem in problems if problem.row is not None}
        seen = set(raw["_source_row"]) if "_source_row" in raw.columns else set()
        missing = seen - set(frame["_source_row"]) - named
        assert not missing, f"rows dropped without a problem naming them: {sorted(missing)[:10]}"


def run_one(test: str, role: str, suffix: str, data: bytes, *, crs: str | None = None) -> None:
    """Write ``data`` as the ``role`` file and load it: a result or our own error, quickly."""
    EXAMPLES[test] += 1
    with scratch() as folder:
        path = folder / file_name(role, suffix)
        path.write_bytes(data)
        with watchdog():
            try:
                frame, problems = load(role, path, crs=crs)
            except CoverageMapError:
                return
        check_problems(problems, path)
        check_contract(role, frame, problems, path, crs)


# --------------------------------------------------------------------------- strategies

INTERESTING = [
    b"", b",", b";", b"\t", b'"', b'""', b"\n", b"\r\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9",
    b"NaN", b"nan", b"inf", b"-inf", b"1e308", b"1e999", b"-0", b"9" * 40, b"0x1F", b"1,234", b"N/A", b"#N/A",
    b"-", b"Total", b"=SUM(A1:A9)", b"53\xc2\xb028'50\"N", b"{", b"}", b"[", b"]", b"null", b":", b"\\",
    b"POINT EMPTY", b"POLYGON ((0 0, 1 1, 0 0))", b"GEOMETRYCOLLECTION EMPTY", b"\xf0\x9f\x92\xa9", b"\x1a",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, roles: tuple[str, ...] = ROLES) -> tuple[str, str, bytes]:
    """A valid seed file with a few byte-level edits: flip, insert, delete, duplicate, truncate."""
    role, suffix, data = draw(st.sampled_from([seed for seed in SEED_LIST if seed[0] in roles]))
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "token", "delete", "duplicate", "truncate"]))
        at = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if kind == "flip" and buffer:
            buffer[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "token":
            buffer[at:at] = draw(st.sampled_from(INTERESTING))
        elif kind == "delete":
            del buffer[at : at + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 256))]
        elif kind == "truncate":
            del buffer[at:]
    return role, suffix, bytes(buffer)


COLUMN_NAMES = [
    "area_id", "area_name", "geometry", "wkt", "neighbourhood_id", "neighbourhood_name", "borough_id",
    "borough_name", "population", "pop_BME", "pop_older people", "pop_unknown", "asset_id", "name", "categories",
    "communities", "capacity", "accepting_referrals", "reach", "latitude", "longitude", "lat", "lon", "easting",
    "northing", "referral_id", "date", "category", "community", "count", "origin_area_id", "origin_practice_code",
    "postcode", "lsoa21cd", "lsoa21nm", "msoa21cd", "lad22cd", "lad22nm", "wd22cd", " Area ID ", "AREA_ID", "",
    "Unnamed: 0", "_source_row", "pop_", "pop_pop_bame",
]  # fmt: skip
CELL_TOKENS = [
    "", " ", "E01000001", "E01000002", " e01000003 ", "E08000003", "N1", "A001", "dementia", "loneliness;housing",
    "demntia", "older people", "BME", "unknown folk", "12", "-3", "0", "1.5", "1,612", "1,2,3", "1e308", "1e999",
    "-1e999", "NaN", "nan", "inf", "-Infinity", "N/A", "#N/A", "-", "Total", "yes", "no", "maybe", "TRUE", "local",
    "3 km", "0km", "citywide", "53.48", "-2.23", "-2.23", "53.48", "383000", "398000", "9" * 30, "53°28'50\"N",
    "2025-01-06", "2025-02", "2099-01-01", "03/14/2026", "2025-02-30", "2025-01-06T10:00:00+01:00", "0000-00",
    "9999-12-31", "POINT (383000 398000)", "POINT (nan nan)", "POINT EMPTY", "POLYGON EMPTY",
    "POLYGON ((380000 390000, 381000 390000, 381000 391000, 380000 391000, 380000 390000))",
    "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "POINT Z (1 2 3)", "GEOMETRYCOLLECTION (POINT (1 2))",
    "LINESTRING (0 0, 1e308 1e308)", "POINT (1e400 0)", "=HYPERLINK(\"x\")", "\ufeff", "\x00", "a\nb", 'say "hi"',
    "\u202e", "é£", "\U0001f4a9", "M13 9UJ",
]  # fmt: skip


@st.composite
def structured_csv(draw: st.DrawFn) -> bytes:
    """A CSV with a random header and random cells, delimiters, quoting and encoding."""
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMN_NAMES), st.text(max_size=12)), min_size=0, max_size=9))
    cell = st.one_of(st.sampled_from(CELL_TOKENS), st.text(max_size=20), st.integers().map(str), st.floats().map(str))
    width = draw(st.integers(0, len(header) + 2))
    records = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 1), max_size=8))
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    out = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(out, delimiter=delimiter, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
        writer.writerow(header)
        writer.writerows(records)
    else:  # hand-joined: unbalanced quotes and stray delimiters stay as they are
        newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        out.write(newline.join(delimiter.join(row) for row in [header, *records]))
    text = out.getvalue()
    if draw(st.booleans()):
        text = "\ufeff" + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "cp1252", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def _numbers() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.sampled_from([0, -2.23, 53.48, 383000.0, 1e308, -1e308, 5e-324]),
    )


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), _numbers(), st.text(max_size=10), st.sampled_from(CELL_TOKENS))
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
        max_leaves=12,
    )


def _positions(depth: int) -> st.SearchStrategy[object]:
    position = st.lists(_numbers(), min_size=0, max_size=4)
    strategy: st.SearchStrategy[object] = position
    for _ in range(depth):
        strategy = st.lists(strategy, min_size=0, max_size=5)
    return strategy


GEOMETRY_TYPES = [
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
    "Circle", "", "point", None, 7,
]  # fmt: skip


@st.composite
def geojson_geometry(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(GEOMETRY_TYPES))
    if kind == "GeometryCollection" and draw(st.booleans()):
        return {"type": kind, "geometries": draw(st.lists(geojson_geometry(), max_size=3))}
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
    coordinates = draw(st.one_of(_positions(depth.get(kind, 1) if isinstance(kind, str) else 1), _json_values()))
    if kind == "Polygon" and draw(st.booleans()):
        # a closed ring, so the geometry is at least plausible
        x, y = draw(_numbers()), draw(_numbers())
        size = draw(st.sampled_from([0.01, 1, 1000, 1e300]))
        coordinates = [[[x, y], [x, y + size], [x + size, y + size], [x, y]]]
    geometry: dict[str, object] = {"type": kind, "coordinates": coordinates}
    if draw(st.booleans()):
        del geometry["coordinates"]
        geometry.update(
            draw(st.dictionaries(st.sampled_from(["coordinates", "geometries", "bbox", "crs"]), _json_values()))
        )
    return draw(st.one_of(st.just(geometry), st.none(), _json_values())) if draw(st.integers(0, 9)) == 0 else geometry


@st.composite
def geojson_document(draw: st.DrawFn) -> bytes:
    """Random GeoJSON: wrong types, missing keys, nested garbage, NaN and huge numbers, deep nesting."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        depth = draw(st.sampled_from([10, 100, 1000, 20_000]))
        opener = draw(st.sampled_from(["[", '{"a":', '{"type":"FeatureCollection","features":[']))
        closer = {"[": "]", '{"a":': "}"}.get(opener, "]}")
        return (opener * depth + "1" + closer * depth).encode()
    if choice == 1:
        return json.dumps(draw(_json_values())).encode()
    properties = st.dictionaries(
        st.one_of(st.sampled_from(COLUMN_NAMES), st.text(max_size=8)),
        st.one_of(st.sampled_from(CELL_TOKENS), _json_values()),
        max_size=6,
    )
    feature = st.fixed_dictionaries(
        {"type": st.sampled_from(["Feature", "Feature", "feature", "Point", 1])},
        optional={
            "geometry": geojson_geometry(),
            "properties": st.one_of(properties, _json_values()),
            "id": _json_values(),
        },
    )
    document: dict[str, object] = {
        "type": draw(st.sampled_from(["FeatureCollection", "FeatureCollection", "Feature", "Topology", None])),
        "features": draw(st.one_of(st.lists(feature, max_size=6), _json_values())),
    }
    if draw(st.booleans()):
        document["crs"] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
                        {"type": "name", "properties": {"name": "EPSG:999999"}},
                        {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                        {"type": "link", "properties": {"href": "http://example.invalid/crs"}},
                    ]
                ),
                _json_values(),
            )
        )
    return json.dumps(document, allow_nan=True).encode()


SUFFIXES = [".csv", ".geojson", ".json", ".gpkg", ".zip", ".fgb", ".parquet", ".geoparquet", ".shp"]


# --------------------------------------------------------------------------- the tests


def _role_test(role: str) -> Callable[..., None]:
    @FUZZ
    @given(
        case=st.one_of(
            mutated((role,)),
            structured_csv().map(lambda data: (role, ".csv", data)),
            geojson_document().map(lambda data: (role, ".geojson", data)),
            st.tuples(st.just(role), st.sampled_from(SUFFIXES), st.binary(max_size=512)),
        ),
        crs=st.sampled_from([None, None, METRIC_CRS, "EPSG:4326"]),
    )
    def fuzz(case: tuple[str, str, bytes], crs: str | None) -> None:
        _, suffix, data = case
        run_one(f"test_fuzz_{role}", role, suffix, data, crs=crs if role in ("areas", "assets", "referrals") else None)

    fuzz.__name__ = f"test_fuzz_{role}"
    return fuzz


test_fuzz_areas = _role_test("areas")
test_fuzz_lookup = _role_test("lookup")
test_fuzz_population = _role_test("population")
test_fuzz_assets = _role_test("assets")
test_fuzz_referrals = _role_test("referrals")


@FUZZ
@given(
    role=st.sampled_from(ROLES),
    case=st.one_of(
        mutated(),
        structured_csv().map(lambda data: ("", ".csv", data)),
        geojson_document().map(lambda data: ("", ".geojson", data)),
        st.tuples(st.just(""), st.sampled_from(SUFFIXES), st.binary(max_size=512)),
    ),
)
def test_fuzz_load_inputs(role: str, case: tuple[str, str, bytes]) -> None:
    """One fuzzed file among valid ones: load_inputs returns Inputs or raises our own error."""
    EXAMPLES["test_fuzz_load_inputs"] += 1
    _, suffix, data = case
    with scratch() as folder:
        paths = {
            "areas": folder / "areas.geojson",
            "lookup": folder / "lookup.csv",
            "population": folder / "population.csv",
            "assets": folder / "assets.csv",
            "referrals": folder / "referrals.csv",
        }
        paths["areas"].write_bytes(SEEDS["areas"][".geojson"])
        for name in ("lookup", "population", "assets", "referrals"):
            paths[name].write_bytes(SEEDS[name][".csv"])
        paths[role] = folder / f"fuzzed-{role}{suffix.removeprefix('.ons')}"
        paths[role].write_bytes(data)
        with watchdog():
            try:
                inputs = load_inputs(
                    areas=paths["areas"], assets=paths["assets"], lookup=paths["lookup"],
                    population=paths["population"], referrals=paths["referrals"],
                )  # fmt: skip
            except CoverageMapError:
                return
        assert all(isinstance(problem, Problem) for problem in inputs.problems)
        assert not any(problem.fatal for problem in inputs.problems)
        assert inputs.areas["area_id"].is_unique


@pytest.fixture(scope="module", autouse=True)
def _report_examples(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many examples ran (whatever -s says), and check each test ran its budget."""
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    if not EXAMPLES:
        return
    line = (
        f"fuzz: {sum(EXAMPLES.values())} examples in {elapsed:.1f} s ("
        + ", ".join(f"{name.removeprefix('test_fuzz_')} {count}" for name, count in sorted(EXAMPLES.items()))
        + f"; budget {BUDGET} each, profile {'long' if FUZZ.max_examples != CI_EXAMPLES else 'ci'})"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    # Output is captured during teardown; step outside the capture so the line always shows.
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)
        else:
            print(line)


def test_every_fuzz_test_ran_its_budget(record_property: Callable[[str, object], None]) -> None:
    """Runs after the fuzz tests in file order: each one that ran did its full number of examples."""
    for name, count in EXAMPLES.items():
        assert count >= MIN_SHARE * BUDGET, f"{name} ran only {count} of {BUDGET} examples"
    record_property("fuzz_examples", dict(EXAMPLES))  # in the JUnit XML report too
    print(f"fuzz examples: {dict(EXAMPLES)}")


# --------------------------------------------------------------------------- regressions
# The minimal inputs the fuzzer found; each failed with a library traceback before the fix.


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_regression_flatgeobuf_without_a_layer(tmp_path: Path) -> None:
    """``fgb\\x03``: GDAL opens it with no layer at all; pyogrio then raised IndexError."""
    path = _write(tmp_path, "areas.fgb", b"fgb\x03")
    frame, problems = load_areas(path)
    assert frame.empty
    [problem] = problems
    assert problem.fatal and problem.file == str(path)
    assert "holds no data layer" in problem.message


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "LineString", "coordinates": [[0.0, 0.0]]},  # GEOS: "point array must contain 0 or >1 elements"
        {"type": "Polygon", "coordinates": [[[-2.2, 53.4], [-2.3, 53.4], [-2.3, 53.5], [-2.2, 53.41]]]},  # not closed
    ],
    ids=["line-with-one-point", "unclosed-ring"],
)
def test_regression_malformed_geojson_geometry(tmp_path: Path, geometry: dict[str, object]) -> None:
    """One malformed geometry made shapely raise GEOSException for the whole file."""
    good = {"type": "Polygon", "coordinates": [[[-2.2, 53.4], [-2.3, 53.4], [-2.3, 53.5], [-2.2, 53.4]]]}
    features = [
        {"type": "Feature", "properties": {"asset_id": "A1", "name": "n", "categories": "dementia"}, "geometry": good},
        {
            "type": "Feature",
            "properties": {"asset_id": "A2", "name": "n", "categories": "dementia"},
            "geometry": geometry,
        },
        {"type": "Feature", "properties": {"asset_id": "A3", "name": "n", "categories": "dementia"}, "geometry": None},
    ]
    path = _write(tmp_path, "layer.geojson", json.dumps({"type": "FeatureCollection", "features": features}).encode())
    frame, problems = read_any(path)
    assert list(frame["_source_row"]) == [1, 3]  # the malformed feature is left out, the null one kept
    malformed = [problem for problem in problems if problem.row is not None]
    assert [(p.row, p.column, p.fatal) for p in malformed] == [(2, "geometry", False)]
    assert "malformed" in malformed[0].message
    # areas cannot lose a row, so for them it is fatal
    _, area_problems = load_areas(path)
    assert any(p.fatal and p.row == 2 and "malformed" in p.message for p in area_problems)
    # assets reject that row and go on
    _, asset_problems = load_assets(path, TAXONOMY)
    assert any(not p.fatal and p.row == 2 and "malformed" in p.message for p in asset_problems)


def test_regression_damaged_geopackage_header_is_a_notice(tmp_path: Path) -> None:
    """A GeoPackage whose application id is damaged: GDAL's warning came from list_layers,
    outside the warning capture, and escaped as an unraisable exception (with warnings as
    errors) or as stderr noise. Now it is a notice."""
    data = bytearray(SEEDS["areas"][".gpkg"])
    data[68:72] = b"\x00\x00\x00\x00"  # SQLite header: application_id ('GPKG')
    path = _write(tmp_path, "areas.gpkg", bytes(data))
    frame, problems = load_areas(path)
    assert len(frame) == 3
    assert [problem.fatal for problem in problems] == [False]
    assert "bad application_id" in problems[0].message and problems[0].row is None


def test_regression_long_whitespace_cell_is_not_slow(tmp_path: Path) -> None:
    """The degrees-minutes-seconds pattern once backtracked for seconds on a long cell of spaces."""
    cell = "1" + " " * 20_000 + "x"
    path = _write(
        tmp_path, "assets.csv", f"asset_id,name,categories,latitude,longitude\nA1,n,dementia,{cell},1\n".encode()
    )
    started = time.perf_counter()
    _, problems = load_assets(path, TAXONOMY)
    assert time.perf_counter() - started < 2.0
    assert any(p.row == 2 and p.column == "latitude" and "not a number" in p.message for p in problems)


def test_regression_geojson_property_holding_a_list(tmp_path: Path) -> None:
    """``{"lsoa21cd": []}``: a JSON array as a property reached the loaders as a list and
    raised ``TypeError: unhashable type: 'list'`` while choosing the area id column."""
    feature = {"type": "Feature", "properties": {"lsoa21cd": []}}
    path = _write(tmp_path, "areas.geojson", json.dumps({"type": "FeatureCollection", "features": [feature]}).encode())
    frame, problems = load_areas(path)
    assert frame.empty
    assert [(p.row, p.column, p.fatal) for p in problems] == [(1, "geometry", True), (1, "lsoa21cd", True)]
    # a list of labels reads as the ';'-separated text the loaders expect
    labels = {"asset_id": "A1", "name": "Memory Cafe", "categories": ["dementia", "carers support"]}
    point = {"type": "Point", "coordinates": [-2.24, 53.48]}
    document = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": labels, "geometry": point}]}
    assets, problems = load_assets(_write(tmp_path, "assets.geojson", json.dumps(document).encode()), TAXONOMY)
    assert problems == []
    assert assets["categories"].iloc[0] == ("dementia", "carers_support")


def test_regression_wkt_number_beyond_float_range(tmp_path: Path) -> None:
    """``POLYGON 1e999((...))`` in a WKT column: GEOS's overflow escaped as a numpy
    RuntimeWarning (an error under ``-W error``, noise on stderr otherwise)."""
    text = (
        "area_id,geometry\n"
        'E1,"POLYGON 1e999((381000 390000, 381000 391000, 380000 391000, 380000 390000, 381000 390000))"\n'
        'E2,"POLYGON ((381000 390000, 381000 391000, 380000 391000, 380000 390000, 381000 390000))"\n'
    )
    path = _write(tmp_path, "areas.csv", text.encode())
    frame, problems = read_any(path, crs=METRIC_CRS)
    assert list(frame["_source_row"]) == [3]
    assert [(p.row, p.column, p.fatal) for p in problems] == [(2, "geometry", False)]
    assert "not valid WKT" in problems[0].message
