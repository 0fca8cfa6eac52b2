"""Importing Open Referral UK / HSDS directories: JSON, CSV data packages and a live API.

Expected values are read off the hand-written fixtures in tests/data/oruk/ (see the comments
next to each assertion), never produced by the importer itself.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.errors import CoverageMapError, ValidationError
from coverage_map.ingest.oruk import (
    ASSET_COLUMNS,
    DEFAULT_MAPPING,
    OrukMapping,
    fetch_oruk,
    import_services,
    read_oruk,
    stale_assets,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "oruk"
SERVICES_JSON = DATA / "services.json"
PACKAGE = DATA / "package"
API = DATA / "api"


def _by_id(assets: pd.DataFrame) -> dict[str, pd.Series]:
    return {row.asset_id: row for _, row in assets.iterrows()}


# --------------------------------------------------------------------------- JSON


@pytest.fixture(scope="module")
def from_json():
    return read_oruk(SERVICES_JSON)


def test_json_service_at_three_locations_becomes_three_points(from_json):
    assets = from_json.assets
    s1 = assets[assets.service_id == "S1"]
    assert sorted(s1.asset_id) == ["S1@L1", "S1@L2", "S1@L3"]
    assert set(s1.name) == {"Memory Cafe"}
    # L3 gives its coordinates as text: "53.45", "-2.2"
    l3 = s1.set_index("location_id").loc["L3"]
    assert (l3.latitude, l3.longitude) == (53.45, -2.2)
    assert l3.geometry.x == -2.2 and l3.geometry.y == 53.45
    assert s1.set_index("location_id").loc["L1", "postcode"] == "M2 5PD"


def test_json_imports_exactly_the_usable_service_locations(from_json):
    # S1 x3, S2@L4, S4@L8 (L6 and L7 are unusable), S7@L11 (L10 is swapped); S3 unmapped,
    # S5 inactive, S6 no location.
    assert sorted(from_json.assets.asset_id) == ["S1@L1", "S1@L2", "S1@L3", "S2@L4", "S4@L8", "S7@L11"]
    assert list(from_json.assets.columns) == [*ASSET_COLUMNS, "geometry"]
    assert from_json.assets.crs.to_epsg() == 4326
    assert from_json.services == 7
    assert set(from_json.assets.source) == {str(SERVICES_JSON)}


def test_json_terms_eligibility_and_attributes_are_mapped(from_json):
    assets = _by_id(from_json.assets)
    # Attribute "Dementia" (LGA Services) -> category; "Carers" in the LGA Circumstances
    # taxonomy is an eligibility term -> community only, never the carers_support category.
    assert assets["S1@L1"].categories == "dementia"
    assert assets["S1@L1"].communities == "carers"
    # taxonomy_terms "Counselling" (mapping file) and eligibilitys "Older people".
    assert assets["S2@L4"].categories == "mental_health"
    assert assets["S2@L4"].communities == "older_people"
    # "Walking group" is not in the mapping file: built-in synonym of physical_activity.
    assert assets["S4@L8"].categories == "physical_activity"
    # ORUK v1 service_taxonomys "Welfare benefits".
    assert assets["S7@L11"].categories == "debt_benefits_advice"
    assert assets["S7@L11"].communities == ""
    assert (from_json.assets.reach == "local").all()


def test_json_organization_and_freshness(from_json):
    assets = _by_id(from_json.assets)
    assert assets["S1@L1"].organization == "Age Friendly Trust"
    assert assets["S2@L4"].organization == "O2"  # only organization_id given
    # S1: assured 2024-01-10 is later than last_modified 2023-06-01T10:00:00Z
    assert assets["S1@L1"].last_checked == "2024-01-10"
    # S2: only last_modified, a timestamp with milliseconds
    assert assets["S2@L4"].last_checked == "2025-02-01"
    # S4: assured_date "not a date" is reported and ignored
    assert assets["S4@L8"].last_checked == ""
    bad_date = [p for p in from_json.problems if p.column == "assured_date"]
    assert len(bad_date) == 1 and bad_date[0].value == "not a date" and "S4" in bad_date[0].message


def test_json_invalid_coordinates_are_reported_and_listed(from_json):
    rejected = from_json.rejected
    l6 = rejected[rejected.location_id == "L6"]
    assert l6.iloc[0].service_id == "S4" and l6.iloc[0].field == "latitude" and l6.iloc[0].value == "100"
    l7 = rejected[rejected.location_id == "L7"]
    assert l7.iloc[0].field == "longitude" and "missing" in l7.iloc[0].reason
    messages = [str(p) for p in from_json.problems]
    assert any("S4" in m and "L6" in m and "latitude 100 is outside -90..90" in m for m in messages)
    # JSON problems name the file and the record number of the service in the list (S4 is 4th).
    problem = next(p for p in from_json.problems if p.column == "latitude" and "L6" in p.message)
    assert problem.file == str(SERVICES_JSON) and problem.row == 4 and not problem.fatal


def test_json_points_outside_great_britain(from_json):
    # L11 (Paris) is imported with a warning; L10 (-2.24, 53.48) has latitude and longitude
    # swapped and is rejected, as the asset loader would reject it.
    assert "S7@L11" in set(from_json.assets.asset_id)
    warning = next(p for p in from_json.problems if "L11" in p.message)
    assert "outside Great Britain" in warning.message and not warning.fatal
    assert "L11" not in set(from_json.rejected.location_id)
    swapped = from_json.rejected.set_index("location_id").loc["L10"]
    assert "swapped" in swapped.reason and swapped.value == "-2.24, 53.48"


def test_json_rejections_are_listed_not_dropped(from_json):
    rejected = from_json.rejected.set_index("service_id")
    assert "no taxonomy term" in rejected.loc["S3", "reason"] and rejected.loc["S3", "value"] == "Bicycle repair"
    assert rejected.loc["S5", "field"] == "status" and rejected.loc["S5", "value"] == "inactive"
    assert rejected.loc["S6", "field"] == "service_at_locations"
    # every rejected row is also a non-fatal problem
    assert len(from_json.rejected) == sum("not imported" in p.message for p in from_json.problems)


def test_unmapped_terms_are_counted_per_service(from_json):
    unmapped = from_json.unmapped
    # "Bicycle repair" is carried by S3 and S4; nothing else is unknown.
    assert unmapped.to_dict("records") == [
        {
            "term": "Bicycle repair",
            "code": "BR-9",
            "taxonomy": "Local",
            "value": "",
            "field": "taxonomy_terms",
            "services": 2,
        }
    ]


def test_user_mapping_maps_by_code_and_can_silence_terms(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[options]\nstatuses = []\n\n[categories]\n"Local:BR-9" = "physical_activity"\n'
        '"Lunch clubs" = ["loneliness_isolation", "food"]\n',
        encoding="utf-8",
    )
    result = read_oruk(SERVICES_JSON, mapping=mapping)
    assets = _by_id(result.assets)
    assert assets["S3@L5"].categories == "physical_activity"
    # statuses = [] keeps the inactive S5; "food" is a synonym of food_nutrition
    assert assets["S5@L9"].categories == "loneliness_isolation;food_nutrition"
    assert result.unmapped.empty
    # The file extends the shipped mapping: "Counselling" still maps.
    assert assets["S2@L4"].categories == "mental_health"
    replaced = tmp_path / "replace.toml"
    replaced.write_text('mode = "replace"\n[categories]\n"Local:BR-9" = "physical_activity"\n', encoding="utf-8")
    result = read_oruk(SERVICES_JSON, mapping=replaced)
    # Only built-in synonyms besides: "Counselling" and "Welfare benefits" are now unmapped,
    # "Dementia" is still a synonym; inactive S5's "Lunch clubs" is not counted.
    assert result.unmapped.term.tolist() == ["Counselling", "Welfare benefits"]
    # Replacing also drops the shipped eligibility_taxonomies, so "Carers" (LGA Circumstances)
    # is now a service term and the built-in synonyms give it a category as well.
    assert _by_id(result.assets)["S1@L1"].categories == "dementia;carers_support"


def test_mapping_without_builtin_synonyms_reports_more_unmapped(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('mode = "replace"\n[options]\nbuiltin_synonyms = false\n', encoding="utf-8")
    result = read_oruk(SERVICES_JSON, mapping=mapping)
    assert result.assets.empty
    assert {"Dementia", "Walking group", "Bicycle repair"} <= set(result.unmapped.term)


def test_bad_mapping_lists_every_problem(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[options]\nreach = "everywhere"\nsurprise = 1\n\n[categories]\n"Walks" = "walkies"\n'
        '\n[communities]\n"Elders" = 3\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        OrukMapping.from_toml(mapping)
    columns = {p.column for p in caught.value.problems}
    assert columns == {"[options] reach", "[options] surprise", "[categories] Walks", "[communities] Elders"}
    assert "walkies" in str(caught.value)


def test_shipped_mapping_is_valid_and_documented():
    mapping = OrukMapping.from_toml()
    assert mapping.path == str(DEFAULT_MAPPING)
    assert mapping.categories["mental_health"] == ("mental_health",)
    assert mapping.communities["carers"] == ("carers",)
    text = (Path(__file__).resolve().parents[2] / "docs" / "oruk.md").read_text(encoding="utf-8")
    assert "oruk_mapping.toml" in text and "[categories]" in text


# --------------------------------------------------------------------------- CSV package


@pytest.fixture(scope="module")
def from_package():
    return read_oruk(PACKAGE)


def test_package_service_at_three_locations(from_package):
    assets = from_package.assets
    assert sorted(assets.asset_id) == ["P1@LA", "P1@LB", "P1@LC"]
    assert set(assets.service_id) == {"P1"}
    assert set(assets.categories) == {"carers_support"}  # "Support for carers" (LGA Services)
    assert set(assets.communities) == {"carers"}  # "Carers" (LGA Circumstances)
    assert set(assets.organization) == {"Bolton Carers Trust"}
    assert set(assets.last_checked) == {"2023-11-30"}  # later than last_modified 2022-01-01
    la = assets.set_index("location_id").loc["LA"]
    assert (la.latitude, la.longitude, la.location_name) == (53.5787, -2.4290, "Town Hall")


def test_package_problems_name_file_row_and_field(from_package):
    problems = {(Path(p.file).name, p.row, p.column): p for p in from_package.problems}
    # LD (locations.csv row 5) has blank coordinates: both fields reported
    assert "latitude is missing" in problems[("locations.csv", 5, "latitude")].message
    assert "longitude is missing" in problems[("locations.csv", 5, "longitude")].message
    # service_at_location.csv row 7 links P3 to LX, which does not exist
    assert problems[("service_at_location.csv", 7, "location_id")].value == "LX"
    # attributes.csv row 6 refers to a taxonomy term that is not in taxonomy_terms.csv
    assert problems[("attributes.csv", 6, "taxonomy_term_id")].value == "TT-MISSING"
    # P3 (services.csv row 4) has only "Digital inclusion"
    assert "P3" in problems[("services.csv", 4, "taxonomy_terms")].message
    assert from_package.unmapped.term.tolist() == ["Digital inclusion"]


def test_package_missing_required_files_are_listed_together(tmp_path):
    (tmp_path / "services.csv").write_text("id,name\nX,Y\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_oruk(tmp_path)
    names = sorted(Path(p.file).name for p in caught.value.problems)
    assert names == ["locations.csv", "service_at_location.csv"]


def test_package_missing_columns_and_garbage_bytes(tmp_path):
    (tmp_path / "services.csv").write_text("id,title\nX,Y\n", encoding="utf-8")
    (tmp_path / "locations.csv").write_bytes(b"\x00\x01\xff\xfe garbage \x00")
    (tmp_path / "service_at_location.csv").write_text("service_id,location_id\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_oruk(tmp_path)
    text = str(caught.value)
    assert "services.csv, row 1, column 'name': required column is missing" in text
    assert "locations.csv" in text and "binary" in text


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[{"id": "S1", "name": ', "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8"),
        (b"", "empty"),
        (b'{"hello": "world"}', "expected a list of ORUK services"),
        (b"42", "expected a list of ORUK services"),
    ],
)
def test_bad_json_is_a_clear_error(tmp_path, content, expected):
    path = tmp_path / "directory.json"
    path.write_bytes(content)
    with pytest.raises(CoverageMapError, match=expected):
        read_oruk(path)


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(CoverageMapError, match="not found"):
        read_oruk(tmp_path / "nowhere.json")


def test_non_object_records_are_reported():
    result = import_services(
        [
            {
                "id": "A",
                "name": "A",
                "taxonomy_terms": [{"term": "Music"}],
                "service_at_locations": [{"location": {"id": "L", "latitude": 53.5, "longitude": -2.2}}],
            },
            "oops",
        ]
    )
    assert result.assets.asset_id.tolist() == ["A@L"]
    assert any(p.row == 2 and "not a service object" in p.message for p in result.problems)


def test_duplicate_link_and_null_island():
    location = {"id": "L", "latitude": 53.5, "longitude": -2.2}
    result = import_services(
        [
            {
                "id": "A",
                "name": "A",
                "taxonomy_terms": [{"term": "Music"}],
                "service_at_locations": [{"location": location}, {"location": location}],
            },
            {
                "id": "B",
                "name": "B",
                "taxonomy_terms": [{"term": "Music"}],
                "service_at_locations": [{"location": {"id": "Z", "latitude": 0, "longitude": 0}}],
            },
        ]
    )
    assert result.assets.asset_id.tolist() == ["A@L"]
    reasons = result.rejected.set_index("service_id").reason
    assert "more than once" in reasons["A"] and "both 0" in reasons["B"]


# --------------------------------------------------------------------------- freshness


def test_stale_assets_over_twelve_months():
    assets = pd.DataFrame({"last_checked": ["2024-06-29", "2024-06-30", "2025-06-01", "", None, "garbage"]})
    stale = stale_assets(assets, today=date(2025, 6, 30))
    # 2024-06-29 is over 12 months before 2025-06-30; 2024-06-30 is exactly 12 months.
    assert stale.tolist() == [True, False, False, True, True, True]
    assert stale.dtype == bool and stale.index.equals(assets.index)
    known = stale_assets(assets, today="2025-06-30", unknown_is_stale=False)
    assert known.tolist() == [True, False, False, False, False, False]
    six = stale_assets(assets, today=pd.Timestamp("2025-06-30"), months=6)
    assert six.tolist()[:3] == [True, True, False]


def test_stale_assets_accepts_datetimes_and_needs_the_column():
    assets = pd.DataFrame({"last_checked": pd.to_datetime(["2020-01-01", "2025-01-01", None])})
    assert stale_assets(assets, today="2025-06-30").tolist() == [True, False, True]
    with pytest.raises(CoverageMapError, match="last_checked"):
        stale_assets(pd.DataFrame({"x": [1]}), today="2025-01-01")


def test_stale_assets_on_imported_directory(from_json):
    stale = stale_assets(from_json.assets, today=date(2025, 6, 30))
    by_id = dict(zip(from_json.assets.asset_id, stale, strict=True))
    # S1 checked 2024-01-10 (stale), S2 2025-02-01 (fresh), S4 unknown (stale)
    assert by_id["S1@L1"] and not by_id["S2@L4"] and by_id["S4@L8"]


# --------------------------------------------------------------------------- HTTP


class _Recorded(BaseHTTPRequestHandler):
    """Serves the recorded pages in tests/data/oruk/api/ by path and page number."""

    requests: ClassVar[list[str]] = []
    delay = 0.0

    def do_GET(self) -> None:  # http.server's naming
        type(self).requests.append(self.path)
        if self.delay:
            time.sleep(self.delay)  # longer than the client waits, which has hung up by now
            return
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        root, _, rest = parts.path.strip("/").partition("/")
        if rest == "services":
            name = f"{root}_page{query.get('page', '1')}.json"
        elif rest.startswith("services/"):
            name = f"{root}_service_{rest.removeprefix('services/')}.json"
        else:
            name = ""
        path = API / name
        if root == "broken" or not name or not path.is_file():
            self.send_response(500 if root == "broken" else 404)
            self.end_headers()
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # silences the test log
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorded.requests = []
    _Recorded.delay = 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_hsds_pages_and_service_details(server):
    services, problems = fetch_oruk(f"{server}/hsds", per_page=2, timeout=5)
    assert [s["id"] for s in services] == ["H1", "H2", "H3"]
    assert problems == []
    # H3 was listed without service_at_locations, so its detail was fetched.
    assert services[2]["service_at_locations"][0]["location"]["id"] == "HL4"
    assert _Recorded.requests == [
        "/hsds/services?page=1&per_page=2",
        "/hsds/services?page=2&per_page=2",
        "/hsds/services/H3",
    ]
    result = import_services(services, source=f"{server}/hsds")
    assert sorted(result.assets.asset_id) == ["H1@HL1", "H2@HL2", "H2@HL3", "H3@HL4"]
    by_id = _by_id(result.assets)
    assert by_id["H1@HL1"].categories == "peer_support" and by_id["H1@HL1"].communities == "men"
    assert by_id["H3@HL4"].categories == "food_nutrition" and by_id["H3@HL4"].last_checked == "2024-12-24"


def test_fetch_oruk_v1_pages_by_total_pages(server):
    services, problems = fetch_oruk(f"{server}/v1/services/", per_page=1, details=False)
    assert [s["id"] for s in services] == ["V1", "V2"] and problems == []
    assert len(_Recorded.requests) == 2


def test_fetch_stops_at_page_limit_and_says_so(server):
    services, problems = fetch_oruk(f"{server}/v1", max_pages=1)
    assert [s["id"] for s in services] == ["V1"]
    assert len(problems) == 1 and "stopped after 1 pages" in problems[0].message


def test_fetch_errors_are_clear(server):
    with pytest.raises(CoverageMapError, match="HTTP 500"):
        fetch_oruk(f"{server}/broken")
    with pytest.raises(CoverageMapError, match="HTTP 404"):
        fetch_oruk(f"{server}/nothing")
    with pytest.raises(CoverageMapError, match="not an http"):
        fetch_oruk("file:///etc/passwd")


def test_fetch_times_out(server):
    _Recorded.delay = 1.0
    with pytest.raises(CoverageMapError, match="no answer within|timed out"):
        fetch_oruk(f"{server}/hsds", timeout=0.2)


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_geopackage(tmp_path, capsys):
    out = tmp_path / "assets.gpkg"
    rejected = tmp_path / "rejected.csv"
    assert main(["import-oruk", str(SERVICES_JSON), "--out", str(out), "--rejected", str(rejected)]) == 0
    assets = gpd.read_file(out)
    assert sorted(assets.asset_id) == ["S1@L1", "S1@L2", "S1@L3", "S2@L4", "S4@L8", "S7@L11"]
    assert assets.crs.to_epsg() == 4326
    assert {"service_id", "organization", "last_checked", "source", "categories", "communities"} <= set(assets)
    np.testing.assert_allclose(assets.set_index("asset_id").loc["S1@L1", "geometry"].coords[0], (-2.2426, 53.4808))
    listed = pd.read_csv(rejected, dtype=str, keep_default_na=False)
    assert {"L6", "L7"} <= set(listed.location_id) and {"S3", "S5", "S6"} <= set(listed.service_id)
    printed = capsys.readouterr().out
    assert "latitude 100 is outside -90..90" in printed and "Bicycle repair" in printed
    assert (tmp_path / "assets_unmapped_terms.csv").exists()


def test_cli_csv_output_and_package(tmp_path):
    out = tmp_path / "assets.csv"
    assert main(["import-oruk", str(PACKAGE), "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype=str)
    assert sorted(table.asset_id) == ["P1@LA", "P1@LB", "P1@LC"]
    assert {"latitude", "longitude"} <= set(table.columns)
    assert (tmp_path / "assets_rejected.csv").exists()


def test_cli_fetches_a_url(server, tmp_path):
    out = tmp_path / "assets.geojson"
    assert main(["import-oruk", "--url", f"{server}/v1", "--out", str(out)]) == 0
    assert sorted(gpd.read_file(out).asset_id) == ["V1@VL1", "V2@VL2"]


def test_cli_bad_input_is_a_message_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["import-oruk", str(bad), "--out", str(tmp_path / "a.gpkg")]) == 2
    assert "coverage-map:" in capsys.readouterr().err
    assert main(["import-oruk", "--out", str(tmp_path / "a.gpkg")]) == 2
    assert main(["import-oruk", str(bad), "--out", str(tmp_path / "a.txt")]) == 2


# --------------------------------------------------------------------------- real example


@pytest.mark.realdata
def test_shipped_hsds_example_reports_invalid_coordinates(realdata, tmp_path, capsys):
    folder = realdata / "hsds_example"
    for source, file in (
        (folder, folder / "locations.csv"),
        (folder / "service_full.json", folder / "service_full.json"),
    ):
        result = read_oruk(source)
        assert result.assets.empty
        problem = next(p for p in result.problems if p.column == "latitude")
        assert problem.file == str(file)
        assert "ac148810-d857-441c-9679-408f346de14b" in problem.message
        assert "3a19ff88-4620-4d17-9830-ac1d859eb5d5" in problem.message
        assert problem.value == "100" and "outside -90..90" in problem.message
    out = tmp_path / "example.gpkg"
    assert main(["import-oruk", str(folder), "--out", str(out)]) == 1
    assert not out.exists()
    listed = pd.read_csv(tmp_path / "example_rejected.csv", dtype=str)
    assert "3a19ff88-4620-4d17-9830-ac1d859eb5d5" in set(listed.location_id)
    assert "latitude 100" in capsys.readouterr().out


def test_fixture_json_is_valid_json():
    # Guards the hand-written fixtures themselves.
    for path in [SERVICES_JSON, *API.glob("*.json")]:
        json.loads(path.read_text(encoding="utf-8"))
