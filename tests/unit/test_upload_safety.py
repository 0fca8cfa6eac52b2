"""coverage_map.ingest.upload_safety: sizes, types by content, zip bombs and traversal, paths.

Hostile inputs are built by hand here (zip entries with ``..``, absolute names,
symlinks; a highly compressed member; EXE and PNG headers renamed ``.csv``).
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import handbuilt
import pytest

from coverage_map.ingest.upload_safety import (
    UnsafeUploadError,
    UploadLimits,
    check_content,
    check_file,
    check_size,
    check_zip,
    extract_shapefile,
    path_inside,
    safe_filename,
    sniff,
)

CSV = b"area_id,area_name\nA,Area A\n"
GEOJSON = json.dumps({"type": "FeatureCollection", "features": []}).encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture(scope="module")
def spatial_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real files of each spatial format, written by GDAL/pyarrow, as bytes."""
    folder = tmp_path_factory.mktemp("formats")
    areas = handbuilt.areas().drop(columns="_source_row")
    paths = {".gpkg": folder / "a.gpkg", ".fgb": folder / "a.fgb", ".parquet": folder / "a.parquet",
             ".geojson": folder / "a.geojson"}  # fmt: skip
    areas.to_file(paths[".gpkg"], driver="GPKG")
    areas.to_file(paths[".fgb"], driver="FlatGeobuf")
    areas.to_parquet(paths[".parquet"])
    areas.to_crs("EPSG:4326").to_file(paths[".geojson"], driver="GeoJSON")
    return {suffix: path.read_bytes() for suffix, path in paths.items()} | {".zip": shapefile_zip(folder)}


def shapefile_zip(folder: Path, *, prefix: str = "") -> bytes:
    shp = folder / "shp" / "areas.shp"
    shp.parent.mkdir(exist_ok=True)
    handbuilt.areas().drop(columns="_source_row").to_file(shp)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in sorted(shp.parent.iterdir()):
            archive.write(part, prefix + part.name)
        archive.writestr("README.txt", "not extracted")
    return buffer.getvalue()


def zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


# --------------------------------------------------------------------------- names and paths


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.csv", "x.csv"),
        ("/etc/shadow.csv", "shadow.csv"),
        ("C:\\Windows\\system32\\a.gpkg", "a.gpkg"),
        ("C:evil.csv", "evil.csv"),
        ("assets\x00.csv.exe", "assets.csv.exe"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("<script>alert(1)</script>.csv", "script_.csv"),  # "/" ends the folder part
        ("<b>x;rm -rf `y`.csv", "_b_x_rm -rf _y_.csv"),
        (".hidden.csv", "hidden.csv"),
    ],
)
def test_safe_filename_strips_folders_and_controls(given: object, expected: str) -> None:
    assert safe_filename(given) == expected


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("a" * 5000 + ".geojson")
    assert len(name) == 100 and name.endswith(".geojson")


def test_path_inside_refuses_anything_outside(tmp_path: Path) -> None:
    assert path_inside(tmp_path, "areas", "x.csv") == (tmp_path / "areas" / "x.csv").resolve()
    for hostile in ("../x.csv", "../../etc/passwd", "/etc/passwd", "a/../../b"):
        with pytest.raises(UnsafeUploadError, match="outside the data folder"):
            path_inside(tmp_path, hostile)
    with pytest.raises(UnsafeUploadError, match="NUL"):
        path_inside(tmp_path, "x\x00.csv")
    outside = tmp_path.parent / "outside-target"
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeUploadError, match="outside"):
        path_inside(tmp_path, "link", "x.csv")  # a symlink inside that points out


# --------------------------------------------------------------------------- size


def test_size_limits_have_clear_messages() -> None:
    with pytest.raises(UnsafeUploadError, match=r"'big.csv' \(2 MB\) is larger than the 1 MB limit per file"):
        check_size("big.csv", 2 * 2**20, limit=2**20)
    with pytest.raises(UnsafeUploadError, match="the files together .* limit per upload"):
        check_size("upload", 3 * 2**20, limit=2**20, what="upload")
    with pytest.raises(UnsafeUploadError, match="'e.csv' is empty"):
        check_size("e.csv", 0, limit=10)
    check_size("ok.csv", 10, limit=10)  # exactly the limit is fine


# --------------------------------------------------------------------------- type by content


def test_each_format_is_recognised_by_its_bytes(spatial_files: dict[str, bytes]) -> None:
    assert sniff(spatial_files[".gpkg"]) == "gpkg"
    assert sniff(spatial_files[".fgb"]) == "fgb"
    assert sniff(spatial_files[".parquet"]) == "parquet"
    assert sniff(spatial_files[".geojson"]) == "json"
    assert sniff(spatial_files[".zip"]) == "zip"
    assert sniff(CSV) == "csv" and sniff("a;b\n1;2\n".encode("utf-16")) == "csv"
    assert sniff(b"just some words\n") is None and sniff(EXE) is None
    for suffix, data in spatial_files.items():
        assert check_content(f"x{suffix}", data) == suffix
    assert check_content("areas.JSON", GEOJSON) == ".json"
    assert check_content("a.geoparquet", spatial_files[".parquet"]) == ".geoparquet"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("assets.csv", EXE, "'assets.csv' is named like a CSV file but its content is a Windows program"),
        ("assets.csv", PNG, "'assets.csv' is named like a CSV file but its content is a PNG image"),
        ("areas.gpkg", CSV, "'areas.gpkg' is named like a GeoPackage .* but its content is a CSV file"),
        ("areas.geojson", b'["no", "type"]', "'areas.geojson' is named like a GeoJSON/JSON file"),
        ("areas.geojson", b'{"kind": "x"}', "its content is text that is neither CSV nor JSON"),
        ("a.parquet", b"PAR1 not really", "'a.parquet' is named like a .*Parquet"),
        ("a.fgb", CSV, "'a.fgb' is named like a FlatGeobuf file but its content is a CSV file"),
        ("a.zip", b"PK\x05\x06" + b"\x00" * 18, "an empty zip file"),
        ("../../evil.csv", GEOJSON, "'evil.csv' is named like a CSV file but its content is a GeoJSON"),
        ("payload.exe", EXE, "'payload.exe' is not a supported file type"),
        ("noextension", CSV, "is not a supported file type"),
    ],
)
def test_a_mismatch_is_refused_naming_the_file(name: str, data: bytes, message: str) -> None:
    with pytest.raises(UnsafeUploadError, match=message):
        check_content(name, data)


def test_gpkg_that_is_a_renamed_csv_is_refused_by_check_file(spatial_files: dict[str, bytes]) -> None:
    limits = UploadLimits(per_file=2**20)
    assert check_file("a.gpkg", spatial_files[".gpkg"], limits=limits) == ".gpkg"
    with pytest.raises(UnsafeUploadError, match="larger than"):
        check_file("a.gpkg", spatial_files[".gpkg"], limits=UploadLimits(per_file=100))
    with pytest.raises(UnsafeUploadError, match="not SQLite|GeoPackage"):
        check_file("a.gpkg", CSV, limits=limits)


# --------------------------------------------------------------------------- zips


def test_a_good_zipped_shapefile_extracts_only_its_parts(spatial_files: dict[str, bytes], tmp_path: Path) -> None:
    plan = check_zip(spatial_files[".zip"], name="areas.zip")
    assert set(plan.members) >= {".shp", ".shx", ".dbf", ".prj"}
    shp = extract_shapefile(spatial_files[".zip"], tmp_path / "out", "my areas", name="areas.zip")
    assert shp == (tmp_path / "out" / "my areas.shp").resolve()
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == set(plan.members)  # README.txt left behind
    frame = gpd.read_file(shp)
    assert frame["area_id"].tolist() == ["A", "B", "C"]


def test_a_shapefile_in_a_subfolder_is_fine(tmp_path: Path) -> None:
    data = shapefile_zip(tmp_path, prefix="boundaries/")
    assert check_zip(data).members[".shp"] == "boundaries/areas.shp"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../../evil.shp", "climbs out with '..'"),
        ("boundaries/../../../etc/cron.d/x.shp", "climbs out"),
        ("..\\..\\evil.shp", "climbs out"),
        ("/etc/passwd", "absolute path"),
        ("\\\\server\\share\\x.shp", "absolute path"),
        ("C:/Windows/x.shp", "absolute path"),
    ],
)
def test_traversal_members_are_refused(member: str, message: str, tmp_path: Path) -> None:
    data = zip_with([("areas.shp", b"x" * 10), (member, b"x")])
    with pytest.raises(UnsafeUploadError, match=message):
        check_zip(data, name="areas.zip")
    with pytest.raises(UnsafeUploadError):
        extract_shapefile(data, tmp_path / "out", "areas", name="areas.zip")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil.shp").exists()


def test_symlink_members_are_refused() -> None:
    link = zipfile.ZipInfo("areas.dbf")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = zip_with([("areas.shp", b"x"), (link, b"/etc/passwd")])
    with pytest.raises(UnsafeUploadError, match="symbolic link"):
        check_zip(data, name="a.zip")


def test_zip_bombs_are_refused_before_extraction(tmp_path: Path) -> None:
    bomb = zip_with([("areas.shp", b"x"), ("areas.dbf", b"\x00" * (20 * 2**20))])  # ~20 MB -> ~20 KB
    with pytest.raises(UnsafeUploadError, match="compressed .* to 1, like a zip bomb"):
        check_zip(bomb, name="bomb.zip")
    too_big = UploadLimits(unzipped=2**20, zip_ratio=10**9)
    with pytest.raises(UnsafeUploadError, match="would unpack to 20 MB, more than the 1 MB allowed"):
        check_zip(bomb, name="bomb.zip", limits=too_big)
    many = zip_with([("areas.shp", b"x")] + [(f"f{n}.txt", b"x") for n in range(100)])
    with pytest.raises(UnsafeUploadError, match="holds 101 entries"):
        check_zip(many, name="many.zip")
    with pytest.raises(UnsafeUploadError):
        extract_shapefile(bomb, tmp_path / "out", "areas", name="bomb.zip")
    assert not (tmp_path / "out").exists()


def test_total_unpacked_size_is_limited(tmp_path: Path) -> None:
    data = zip_with([("areas.shp", b"a" * 5000), ("areas.dbf", b"b" * 5000)])
    limits = UploadLimits(unzipped=8000)
    with pytest.raises(UnsafeUploadError, match="would unpack to"):
        extract_shapefile(data, tmp_path / "out", "areas", limits=limits)
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_zips_without_exactly_one_shapefile_are_refused() -> None:
    with pytest.raises(UnsafeUploadError, match="exactly one shapefile .* found none"):
        check_zip(zip_with([("readme.txt", b"x")]), name="a.zip")
    with pytest.raises(UnsafeUploadError, match="found a.shp, b.shp"):
        check_zip(zip_with([("a.shp", b"x"), ("b.shp", b"x")]), name="a.zip")
    with pytest.raises(UnsafeUploadError, match="cannot be opened as a zip"):
        check_zip(b"PK\x03\x04 broken", name="a.zip")
    assert check_zip(zip_with([("a.shp", b"x"), ("__MACOSX/._a.shp", b"x")])).members == {".shp": "a.shp"}


def test_encrypted_members_are_refused() -> None:
    data = bytearray(zip_with([("a.shp", b"x")]))
    # Set the "encrypted" flag bit in both the local and the central directory headers.
    data[6] |= 0x1
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1
    with pytest.raises(UnsafeUploadError, match="encrypted"):
        check_zip(bytes(data), name="a.zip")
