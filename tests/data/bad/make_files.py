"""Write the malformed files of the catalogue (catalogue.toml) into this folder.

The text files are written byte for byte as a council or NHS export would have them
(encodings, BOMs, line endings); the spatial ones with geopandas/pyogrio. Run it again
after adding a case: ``.venv/bin/python tests/data/bad/make_files.py``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
X0, Y0 = 383_000.0, 398_000.0  # central Manchester, British National Grid
IDS = ["E01000001", "E01000002", "E01000003"]


def boxes(crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    shapes = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)]
    frame = gpd.GeoDataFrame({"area_id": IDS, "area_name": ["Ardwick", "Bradford", "Clayton"]}, geometry=shapes)
    return frame.set_crs("EPSG:27700").to_crs(crs)


def text(name: str, body: str, encoding: str = "utf-8", newline: str = "\n") -> None:
    (HERE / name).write_bytes(body.replace("\n", newline).encode(encoding))


def geojson(name: str, features: list[dict], **extra: object) -> None:
    document = {"type": "FeatureCollection", **extra, "features": features}
    (HERE / name).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def feature(area_id: str, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": {"area_id": area_id, "area_name": area_id}, "geometry": geometry}


def square(x: float, y: float, size: float, z: float | None = None) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    if z is not None:
        ring = [[*point, z] for point in ring]
    return {"type": "Polygon", "coordinates": [ring]}


ASSET_HEADER = "asset_id,name,categories,capacity,accepting_referrals,latitude,longitude\n"
REFERRAL_HEADER = "referral_id,date,category,community,count,origin_area_id\n"
LOOKUP_HEADER = "area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name\n"


def main() -> None:
    # ------------------------------------------------------------------ the good areas the others are checked against
    geojson("_areas.geojson", json.loads(boxes("EPSG:4326").to_json())["features"])

    # ------------------------------------------------------------------ assets
    text("assets_bng_in_latlon.csv", ASSET_HEADER
         + "A1,Memory Cafe,dementia,10,yes,53.4808,-2.2426\n"
         + "A2,Walking Group,physical activity,5,yes,398250,383420\n"
         + "A3,Debt Advice,debt advice,,no,53.4790,-2.2400\n")  # fmt: skip
    text("assets_latlon_swapped.csv", ASSET_HEADER + "A1,Memory Cafe,dementia,10,yes,-2.2426,53.4808\n")
    text("assets_dms.csv", ASSET_HEADER + 'A1,Memory Cafe,dementia,10,yes,"53°28\'50""N","2°14\'33""W"\n')
    text("assets_postcodes_only.csv", "asset_id,name,categories,postcode\nA1,Memory Cafe,dementia,M13 9UJ\n")
    text("assets_zero_zero.csv", ASSET_HEADER
         + "A1,Memory Cafe,dementia,10,yes,53.4808,-2.2426\nA2,Walking Group,physical activity,5,yes,0,0\n")  # fmt: skip
    text("assets_nan_coordinates.csv", ASSET_HEADER + "A1,Memory Cafe,dementia,10,yes,NaN,NaN\n")
    text("assets_negative_capacity.csv", ASSET_HEADER + "A1,Memory Cafe,dementia,-3,yes,53.4808,-2.2426\n")
    text("assets_category_misspelt.csv", ASSET_HEADER + "A1,Memory Cafe,demntia,10,yes,53.4808,-2.2426\n")
    text("assets_unknown_community.csv", "asset_id,name,categories,communities,latitude,longitude\n"
         "A1,Memory Cafe,dementia,retired sailors,53.4808,-2.2426\n")  # fmt: skip
    text("assets_na_cells.csv", ASSET_HEADER
         + "A1,Memory Cafe,dementia,N/A,yes,53.4808,-2.2426\nA2,Walking Group,physical activity,-,yes,53.48,-2.24\n"
         + "A3,Debt Advice,debt advice,#N/A,yes,53.48,-2.24\n")  # fmt: skip
    text("assets_boolean_variants.csv", ASSET_HEADER
         + "A1,Memory Cafe,dementia,10,Yes,53.4808,-2.2426\nA2,Walking Group,physical activity,5,TRUE,53.48,-2.24\n"
         + "A3,Debt Advice,debt advice,,0,53.48,-2.24\nA4,Food Bank,food,,maybe,53.48,-2.24\n")  # fmt: skip
    text(
        "assets_duplicate_ids.csv",
        ASSET_HEADER
        + "A1,Memory Cafe,dementia,10,yes,53.4808,-2.2426\nA1,Walking Group,physical activity,5,yes,53.48,-2.24\n",
    )
    text("assets_excel_bom.csv", ASSET_HEADER + "A1,Memory Café,dementia,10,yes,53.4808,-2.2426\n",
         encoding="utf-8-sig", newline="\r\n")  # fmt: skip
    text("assets_cp1252.csv", ASSET_HEADER + "A1,Café Société £5 lunch,food,10,yes,53.4808,-2.2426\n",
         encoding="cp1252", newline="\r\n")  # fmt: skip
    text("assets_semicolon.csv", ASSET_HEADER.replace(",", ";") + "A1;Memory Cafe;dementia;10;yes;53,4808;-2,2426\n")
    text("assets_total_row.csv", ASSET_HEADER
         + "A1,Memory Cafe,dementia,10,yes,53.4808,-2.2426\nA2,Walking Group,physical activity,5,yes,53.48,-2.24\n"
         + "Total,,,15,,,\n")  # fmt: skip
    text("assets_merged_header.csv", "Community asset register 2025,,,,,,\n" + ASSET_HEADER
         + "A1,Memory Cafe,dementia,10,yes,53.4808,-2.2426\n")  # fmt: skip
    text("assets_html_error_page.csv", "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
         "<body><h1>Internal Server Error</h1><p>The server encountered an error.</p></body></html>\n")  # fmt: skip
    text("assets_xlsx_renamed.csv", "")
    with zipfile.ZipFile(HERE / "assets_xlsx_renamed.csv", "w") as archive:  # what an .xlsx is inside
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    text("assets_spaces_in_codes.csv", ASSET_HEADER + " A1 ,  Memory Cafe ,dementia , 10 , yes , 53.4808 , -2.2426 \n")
    asset_points = gpd.GeoDataFrame(
        {"asset_id": ["A1", "A2"], "name": ["Memory Cafe", "Walking Group"],
         "categories": ["dementia", "physical activity"]},
        geometry=[shapely.Point(-2.2426, 53.4808, 40.0), shapely.Point(-2.24, 53.48, 38.0)], crs="EPSG:4326",
    )  # fmt: skip
    (HERE / "assets_3d.geojson").write_text(asset_points.to_json() + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ areas
    geojson("areas_points.geojson", [feature(a, {"type": "Point", "coordinates": [-2.24 + i / 100, 53.48]})
                                     for i, a in enumerate(IDS)])  # fmt: skip
    geojson("areas_empty_geometry.geojson", [
        feature("E01000001", square(-2.25, 53.47, 0.01)),
        feature("E01000002", None),
        feature("E01000003", {"type": "Polygon", "coordinates": []}),
    ])  # fmt: skip
    geojson("areas_geometrycollection.geojson", [
        feature("E01000001", {"type": "GeometryCollection", "geometries": [
            square(-2.25, 53.47, 0.01), {"type": "LineString", "coordinates": [[-2.25, 53.47], [-2.24, 53.48]]}]}),
        feature("E01000002", {"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [-2.23, 53.47]}]}),
    ])  # fmt: skip
    geojson("areas_3d.geojson", [feature("E01000001", square(-2.25, 53.47, 0.01, z=55.0))])
    geojson("areas_duplicate_codes.geojson", [
        feature("E01000001", square(-2.25, 53.47, 0.01)),
        feature("E01000002", square(-2.24, 53.47, 0.01)),
        feature("E01000001", square(-2.23, 53.47, 0.01)),
    ])  # fmt: skip
    # the crs member says British National Grid, the coordinates are longitude/latitude
    geojson("areas_crs_says_bng_coords_are_degrees.geojson",
            [feature("E01000001", square(-2.25, 53.47, 0.01)), feature("E01000002", square(-2.24, 53.47, 0.01))],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}})  # fmt: skip
    # no crs member (so WGS84 by the GeoJSON standard), the coordinates are British National Grid metres
    geojson(
        "areas_bng_coords_without_crs.geojson",
        [feature("E01000001", square(X0, Y0, 1000)), feature("E01000002", square(X0 + 1000, Y0, 1000))],
    )
    (HERE / "areas_html.geojson").write_text("<html><body><h1>404 Not Found</h1></body></html>\n", encoding="utf-8")
    # a shapefile without its .prj
    shp_folder = HERE / "_shp"
    shp_folder.mkdir(exist_ok=True)
    boxes().to_file(shp_folder / "areas_no_prj.shp", engine="pyogrio")
    for part in shp_folder.iterdir():
        if part.suffix != ".prj" and part.suffix != ".cpg":
            part.replace(HERE / part.name)
        else:
            part.unlink()
    shp_folder.rmdir()
    # a zip holding the attribute table only
    with zipfile.ZipFile(HERE / "areas_zip_without_shp.zip", "w") as archive:
        archive.writestr("areas.dbf", (HERE / "areas_no_prj.dbf").read_bytes())
        archive.writestr("areas.csv", "area_id,area_name\nE01000001,Ardwick\n")
    # a GeoPackage with two layers
    two = HERE / "areas_two_layers.gpkg"
    two.unlink(missing_ok=True)
    boxes().to_file(two, layer="lsoa_2021", engine="pyogrio")
    boxes().iloc[:1].to_file(two, layer="lsoa_2011", engine="pyogrio")

    # ------------------------------------------------------------------ lookup
    text("lookup_area_is_its_own_parent.csv", LOOKUP_HEADER
         + "E01000001,E01000002,Ardwick and Bradford,E08000003,Manchester\n"
         + "E01000002,N1,North,E08000003,Manchester\n"
         + "E01000003,N1,North,E08000003,Manchester\n")  # fmt: skip
    text("lookup_neighbourhood_in_two_boroughs.csv", LOOKUP_HEADER
         + "E01000001,N1,North,E08000003,Manchester\nE01000002,N1,North,E08000001,Bolton\n"
         + "E01000003,N2,South,E08000003,Manchester\n")  # fmt: skip
    text("lookup_area_in_two_neighbourhoods.csv", LOOKUP_HEADER
         + "E01000001,N1,North,E08000003,Manchester\nE01000002,N1,North,E08000003,Manchester\n"
         + "E01000003,N2,South,E08000003,Manchester\nE01000001,N2,South,E08000003,Manchester\n")  # fmt: skip
    text("lookup_orphans.csv", LOOKUP_HEADER
         + "E01000001,N1,North,E08000003,Manchester\nE01000002,N1,North,E08000003,Manchester\n"
         + "E01099999,N2,South,E08000003,Manchester\n")  # fmt: skip
    text("lookup_lowercase_codes.csv", LOOKUP_HEADER
         + "E01000001,N1,North,E08000003,Manchester\ne01000002,N1,North,E08000003,Manchester\n"
         + "E01000003,N2,South,E08000003,Manchester\n")  # fmt: skip

    # ------------------------------------------------------------------ population
    text("population_thousands_unquoted.csv", "area_id,population,pop_older_people\n"
         "E01000001,1,612,310\nE01000002,1498,102\nE01000003,1731,288\n")  # fmt: skip
    text("population_thousands_quoted.csv", "area_id,population,pop_older_people\n"
         'E01000001,"1,612",310\nE01000002,"1,498",102\nE01000003,1731,288\n')  # fmt: skip
    text("population_na_cells.csv", "area_id,population,pop_older_people\n"
         "E01000001,1612,N/A\nE01000002,#N/A,102\nE01000003,1731,288\n")  # fmt: skip
    text("population_total_row.csv", "area_id,population\nE01000001,1612\nE01000002,1498\nE01000003,1731\n"
         "Total,4841\n")  # fmt: skip
    text("population_unknown_community.csv", "area_id,population,pop_retired sailors\nE01000001,1612,3\n")

    # ------------------------------------------------------------------ referrals
    text("referrals_count_zero_or_decimal.csv", REFERRAL_HEADER
         + "R1,2025-01-06,dementia,,1,E01000001\nR2,2025-01-07,dementia,,0,E01000001\n"
         + "R3,2025-01-08,dementia,,1.5,E01000002\n")  # fmt: skip
    text("referrals_future_date.csv", REFERRAL_HEADER + "R1,2025-01-06,dementia,,1,E01000001\n"
         "R2,2999-01-07,dementia,,1,E01000001\n")  # fmt: skip
    text(
        "referrals_iso_date_with_time_zone.csv",
        REFERRAL_HEADER
        + "R1,2025-01-06T10:30:00+01:00,dementia,,1,E01000001\nR2,2025-01-07T09:00:00Z,dementia,,1,E01000002\n",
    )
    text("referrals_us_dates.csv", REFERRAL_HEADER + "R1,03/14/2025,dementia,,1,E01000001\n")
    text("referrals_unknown_community.csv", REFERRAL_HEADER + "R1,2025-01-06,dementia,retired sailors,1,E01000001\n")
    text("referrals_category_misspelt.csv", REFERRAL_HEADER + "R1,2025-01-06,mental helth,,1,E01000001\n")
    text("referrals_postcodes_only.csv", "referral_id,date,category,postcode\nR1,2025-01-06,dementia,M13 9UJ\n")
    text("referrals_lowercase_area.csv", REFERRAL_HEADER + "R1,2025-01-06,dementia,,1,e01000001\n")


if __name__ == "__main__":
    main()
