"""Directories as they are: postcodes without coordinates, duplicate service ids, HSDS 1.x packages,
and values such as 'none'. Postcode files are small hand-typed copies of the ONS Postcode Directory
and Code-Point Open layouts; expected points come from the files (or from geopandas' own reprojection).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from coverage_map.cli import main
from coverage_map.errors import CoverageMapError
from coverage_map.ingest.oruk import import_services, read_oruk, summary_lines
from coverage_map.ingest.oruk.postcodes import normalise_postcode, read_postcodes


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def onspd(tmp_path):
    # ONSPD columns (a few of them): pcd (7-character), pcds (with a space), lat, long, oseast1m, osnrth1m.
    # "BL1 9ZZ" has no grid reference (lat 99.999999), as terminated or new postcodes can.
    return _write(
        tmp_path / "ONSPD_NOV_2024_UK.csv",
        """
pcd,pcd8,pcds,dointr,doterm,oseast1m,osnrth1m,lat,long
BL1 1AA,BL1  1AA,BL1 1AA,198001,,371800,409200,53.578700,-2.429000
M1  1AE,M1   1AE,M1 1AE,198001,,384500,398000,53.479000,-2.237000
BL1 9ZZ,BL1  9ZZ,BL1 9ZZ,202401,,,,99.999999,0.000000
""",
    )


def _service(sid, locations, **extra):
    return {
        "id": sid,
        "name": f"Service {sid}",
        "status": extra.pop("status", "active"),
        "taxonomy_terms": [{"name": "Dementia"}],
        "service_at_locations": [
            {
                "location": {
                    "id": lid,
                    **({"latitude": lat, "longitude": lon} if lat is not ... else {}),
                    "addresses": [{"postal_code": postcode}] if postcode else [],
                }
            }
            for lid, lat, lon, postcode in locations
        ],
        **extra,
    }


def test_read_onspd_and_code_point(onspd, tmp_path):
    index = read_postcodes(onspd)
    assert len(index) == 2  # BL1 9ZZ has no grid reference
    assert index.locate("bl11aa") == (53.5787, -2.429)
    assert index.locate(" M1 1AE ") == (53.479, -2.237)
    assert index.locate("BL1 9ZZ") is None
    # Code-Point Open: no header; postcode, quality, easting, northing, country... (one file per area)
    folder = tmp_path / "codepo" / "Data" / "CSV"
    folder.mkdir(parents=True)
    _write(
        folder / "bl.csv", '"BL1 1AA",10,371800,409200,"E92000001","E19000001","E18000002","","E08000001","E05000650"'
    )
    _write(
        folder / "m.csv",
        '"M1 1AE",10,384500,398000,"E92000001","E19000001","E18000002","","E08000003","E05011362"\n'
        '"M1 9ZZ",90,0,0,"E92000001","","","","",""',
    )
    points = read_postcodes(folder)
    assert len(points) == 2  # M1 9ZZ has no coordinates (0, 0)
    expected = gpd.GeoSeries([shapely.Point(371800, 409200)], crs=27700).to_crs(4326).iloc[0]
    latitude, longitude = points.locate("BL1 1AA")  # type: ignore[misc]
    assert (latitude, longitude) == pytest.approx((expected.y, expected.x), abs=1e-9)
    assert normalise_postcode("m1 1ae") == "M11AE"
    with pytest.raises(CoverageMapError, match="no postcode column"):
        read_postcodes(_write(tmp_path / "bad.csv", "a,b,c\n1,2,3"))


def test_locations_placed_from_postcodes_and_the_rest_counted(onspd):
    services = [
        _service("S1", [("L1", None, None, "BL1 1AA")]),  # placed
        _service("S2", [("L2", "none", "none", "m1 1ae")]),  # 'none' = no value; placed
        _service("S3", [("L3", "", "", "ZZ9 9ZZ")]),  # postcode not in the file
        _service("S4", [("L4", ..., ..., "")]),  # nothing at all
        _service("S5", [("L5", 53.5, -2.4, "M1 1AE")]),  # has coordinates: the postcode is not used
    ]
    result = import_services(services, postcodes=onspd, source="api")
    placed = result.assets.set_index("service_id")
    assert (placed.loc["S1", "latitude"], placed.loc["S1", "longitude"]) == (53.5787, -2.429)
    assert (placed.loc["S2", "latitude"], placed.loc["S5", "latitude"]) == (53.479, 53.5)
    assert result.located_from_postcode == 2
    assert result.unplaced == {"postcode not in the postcode file": 1, "no coordinates and no postcode": 1}
    reasons = result.rejected.set_index("service_id").reason
    assert "postcode 'ZZ9 9ZZ' is not in" in reasons["S3"]
    lines = "\n".join(summary_lines(result))
    assert "2 service locations without coordinates placed from their postcode" in lines
    assert "2 service locations without coordinates could not be placed" in lines
    assert "postcode not in the postcode file: 1" in lines


def test_without_a_postcode_file_the_message_says_what_to_do():
    result = import_services([_service("S1", [("L1", "null", "null", "BL1 1AA")])])
    reason = result.rejected.reason.iloc[0]
    assert "given as 'null', which means no value" in reason and "--postcodes" in reason
    assert result.unplaced == {"no postcode file given": 1}


def test_a_value_like_none_is_explained():
    result = import_services([_service("S1", [("L1", "none", 53.1, "")], status="None")])
    messages = " ".join(p.message for p in result.problems)
    assert "latitude is 'none', which means no value was given" in messages
    # status 'None' means no status: the service is treated as one without a status (kept)
    assert "status 'None' means no status was given" in messages


def test_duplicate_service_ids_keep_the_first_and_report_the_rest():
    services = [
        _service("S1", [("L1", 53.5, -2.4, "")]),
        _service("S2", [("L2", 53.6, -2.5, "")]),
        {**_service("S1", [("L9", 53.7, -2.6, "")]), "name": "A second S1"},
        {**_service("S1", [("L8", 53.8, -2.7, "")]), "name": "A third S1"},
    ]
    result = import_services(services, source="dir.json")
    assert result.assets.asset_id.tolist() == ["S1@L1", "S2@L2"]
    duplicates = result.rejected[result.rejected.field == "id"]
    assert duplicates.name.tolist() == ["A second S1", "A third S1"]
    assert duplicates.row.tolist() == [3, 4]
    assert all("the first, row 1, is kept" in reason for reason in duplicates.reason)
    warnings = [p for p in result.problems if "appears more than once" in p.message]
    assert len(warnings) == 2 and not any(p.fatal for p in warnings)


def test_hsds_1_package_with_taxonomy_ids_services_taxonomy_and_postcodes(tmp_path, onspd):
    package = tmp_path / "hsds1"
    package.mkdir()
    _write(
        package / "services.csv",
        'id,name,status,taxonomy_ids\nS1,Memory cafe,active,"T1,T9"\nS2,Carers group,active,\nS1,Again,active,T1',
    )
    _write(package / "taxonomy.csv", "id,name,parent_id,parent_name,vocabulary\nT1,Dementia,,,\nT2,Carers,,,")
    _write(package / "services_taxonomy.csv", "id,service_id,taxonomy_id,taxonomy_detail\nST1,S2,T2,")
    _write(package / "services_at_location.csv", "id,service_id,location_id\nSL1,S1,L1\nSL2,S2,L2")
    _write(package / "locations.csv", "id,name\nL1,Library\nL2,Hall")  # HSDS 1.x: no coordinates columns
    _write(
        package / "physical_addresses.csv",
        "id,location_id,address_1,city,postal_code\nA1,L1,1 High St,Bolton,BL1 1AA\nA2,L2,2 Low St,Manchester,M1 1AE",
    )
    result = read_oruk(package, postcodes=onspd)
    assets = result.assets.set_index("service_id")
    assert assets.loc["S1", "categories"] == "dementia"  # taxonomy_ids T1 -> Dementia
    assert assets.loc["S2", "categories"] == "carers_support"  # services_taxonomy T2 -> Carers
    assert (assets.loc["S2", "latitude"], assets.loc["S2", "longitude"]) == (53.479, -2.237)
    assert result.located_from_postcode == 2
    assert result.unmapped.code.tolist() == ["T9"]  # an id the package does not define
    duplicate = result.rejected[result.rejected.field == "id"]
    assert duplicate.row.tolist() == [4] and duplicate.name.tolist() == ["Again"]


def test_cli_import_oruk_with_postcodes(tmp_path, onspd, capsys):
    source = tmp_path / "dir.json"
    source.write_text(
        json.dumps([_service("S1", [("L1", None, None, "BL1 1AA")]), _service("S2", [("L2", None, None, "XX1 1XX")])]),
        encoding="utf-8",
    )
    out = tmp_path / "assets.csv"
    assert main(["import-oruk", str(source), "--out", str(out), "--postcodes", str(onspd)]) == 0
    printed = capsys.readouterr().out
    assert "1 service locations without coordinates placed from their postcode" in printed
    assert "postcode not in the postcode file: 1" in printed
    assert out.read_text(encoding="utf-8").count("S1@L1") == 1
