"""ONS-style lookups and groups files load without renaming; ONS boundary files too.

The areas are four 1 km boxes in a row, with LSOA-style codes::

    +-----------+-----------+-----------+-----------+
    | E01000001 | E01000002 | E01000003 | E01000004 |
    +-----------+-----------+-----------+-----------+

In the hand-built lookups below, LSOAs 1 and 2 form MSOA E02000001 (ward W1) in borough
E08000001 (Bolton); LSOAs 3 and 4 form MSOA E02000002 (ward W2) in E08000002 (Bury).
Each expected table is written out by hand.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coverage_map.cli import main
from coverage_map.config import METRIC_CRS, UNASSIGNED_ID, UNASSIGNED_NAME
from coverage_map.errors import Problem, ValidationError
from coverage_map.ingest import load_areas, load_inputs, load_lookup

X0, Y0 = 380_000.0, 390_000.0
LSOAS = ["E01000001", "E01000002", "E01000003", "E01000004"]

STATISTICAL = (
    "oa21cd,lsoa21cd,lsoa21nm,msoa21cd,msoa21nm,lad22cd,lad22nm\n"
    "E00000001,E01000001,Bolton 001A,E02000001,Bolton 001,E08000001,Bolton\n"
    "E00000002,E01000001,Bolton 001A,E02000001,Bolton 001,E08000001,Bolton\n"
    "E00000003,E01000002,Bolton 001B,E02000001,Bolton 001,E08000001,Bolton\n"
    "E00000004,E01000003,Bury 001A,E02000002,Bury 001,E08000002,Bury\n"
    "E00000005,E01000003,Bury 001A,E02000002,Bury 001,E08000002,Bury\n"
    "E00000006,E01000003,Bury 001A,E02000002,Bury 001,E08000002,Bury\n"
    "E00000007,E01000004,Bury 001B,E02000002,Bury 001,E08000002,Bury\n"
)
WARDS = (
    "lsoa21cd,lsoa21nm,wd22cd,wd22nm,lad22cd,lad22nm\n"
    "E01000001,Bolton 001A,E05000001,Ward One,E08000001,Bolton\n"
    "E01000002,Bolton 001B,E05000001,Ward One,E08000001,Bolton\n"
    "E01000003,Bury 001A,E05000002,Ward Two,E08000002,Bury\n"
    "E01000004,Bury 001B,E05000003,Ward Three,E08000002,Bury\n"
)
BY_MSOA = {
    "area_id": LSOAS,
    "neighbourhood_id": ["E02000001", "E02000001", "E02000002", "E02000002"],
    "neighbourhood_name": ["Bolton 001", "Bolton 001", "Bury 001", "Bury 001"],
    "borough_id": ["E08000001", "E08000001", "E08000002", "E08000002"],
    "borough_name": ["Bolton", "Bolton", "Bury", "Bury"],
}


def box(i: int) -> shapely.Polygon:
    return shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def areas_path(tmp_path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "LSOA21CD": LSOAS,
            "LSOA21NM": ["Bolton 001A", "Bolton 001B", "Bury 001A", "Bury 001B"],
        },
        geometry=[box(i) for i in range(4)],
        crs=METRIC_CRS,
    )
    path = tmp_path / "lsoa.geojson"
    frame.to_crs("EPSG:4326").to_file(path, engine="pyogrio")
    return path


@pytest.fixture
def areas(areas_path: Path) -> gpd.GeoDataFrame:
    frame, problems = load_areas(areas_path)
    assert problems == []
    return frame


def described(
    problems: list[Problem],
) -> list[tuple[str, int | None, str | None, str | None, bool]]:
    return [(Path(p.file).name, p.row, p.column, p.value, p.fatal) for p in problems]


# =========================================================================== one-step lookups


def test_output_area_lookup_collapses_to_one_row_per_area_with_msoa_neighbourhoods(tmp_path, areas):
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", STATISTICAL), areas)
    assert problems == []
    assert lookup.to_dict("list") == BY_MSOA


def test_ward_lookup_gives_ward_neighbourhoods_by_default(tmp_path, areas):
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", WARDS), areas)
    assert problems == []
    assert list(lookup["neighbourhood_id"]) == [
        "E05000001",
        "E05000001",
        "E05000002",
        "E05000003",
    ]
    assert list(lookup["neighbourhood_name"]) == [
        "Ward One",
        "Ward One",
        "Ward Two",
        "Ward Three",
    ]
    assert list(lookup["borough_name"]) == ["Bolton", "Bolton", "Bury", "Bury"]


def test_column_matching_ignores_case_and_the_area_column_is_found_by_its_values(tmp_path, areas):
    # Upper-case ONS headers, the area codes in an oddly named column, and columns in any order.
    text = "LAD22CD,LAD22NM,MSOA21CD,MSOA21NM,small area\n" + "".join(
        f"{b},{bn},{m},{mn},{a}\n"
        for a, m, mn, b, bn in zip(
            LSOAS,
            BY_MSOA["neighbourhood_id"],
            BY_MSOA["neighbourhood_name"],
            BY_MSOA["borough_id"],
            BY_MSOA["borough_name"],
            strict=True,
        )
    )
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    assert problems == []
    assert lookup.to_dict("list") == BY_MSOA


def test_levels_can_be_named_as_strings_or_pairs(tmp_path, areas):
    path = write(tmp_path / "lookup.csv", STATISTICAL)
    lookup, problems = load_lookup(
        path,
        areas,
        lookup_levels={
            "neighbourhood": "msoa21cd:msoa21nm",
            "borough": ("LAD22CD", None),
        },
    )
    assert problems == []
    assert lookup.to_dict("list") == BY_MSOA  # the borough name comes from lad22nm beside lad22cd
    # The borough as neighbourhood, and a name column of our choosing.
    lookup, problems = load_lookup(path, areas, lookup_levels={"neighbourhood": "lad22cd:lsoa21nm"})
    # Names differ within one id: the first is kept, each other name reported once.
    assert [(p.row, p.column, p.value) for p in problems] == [
        (4, "lsoa21nm", "Bolton 001B"),
        (8, "lsoa21nm", "Bury 001B"),
    ]
    assert list(lookup["neighbourhood_id"]) == BY_MSOA["borough_id"]
    assert list(lookup["neighbourhood_name"]) == [
        "Bolton 001A",
        "Bolton 001A",
        "Bury 001A",
        "Bury 001A",
    ]


def test_plain_lookup_with_levels_uses_the_named_columns(tmp_path, areas):
    text = "area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name,pcn\n" + "".join(
        f"{a},N{i // 2},Hood {i // 2},B1,One,P{i}\n" for i, a in enumerate(LSOAS)
    )
    lookup, problems = load_lookup(
        write(tmp_path / "lookup.csv", text),
        areas,
        lookup_levels={"neighbourhood": "pcn"},
    )
    assert problems == []
    assert list(lookup["neighbourhood_id"]) == ["P0", "P1", "P2", "P3"]
    assert list(lookup["neighbourhood_name"]) == [
        "P0",
        "P1",
        "P2",
        "P3",
    ]  # no name column: the id
    assert list(lookup["borough_id"]) == ["B1"] * 4


def test_msoa_areas_need_a_neighbourhood_column_and_can_be_their_own(tmp_path):
    frame = gpd.GeoDataFrame(
        {"MSOA21CD": ["E02000001", "E02000002"]},
        geometry=[box(0), box(1)],
        crs=METRIC_CRS,
    )
    frame.to_file(tmp_path / "msoa.gpkg", engine="pyogrio")
    msoas, _ = load_areas(tmp_path / "msoa.gpkg")
    path = write(tmp_path / "lookup.csv", STATISTICAL)
    _, problems = load_lookup(path, msoas)
    [problem] = problems
    assert problem.fatal and "cannot find a neighbourhood column" in problem.message
    assert "--neighbourhood-col msoa21cd" in problem.message
    lookup, problems = load_lookup(path, msoas, lookup_levels={"neighbourhood": "msoa21cd"})
    assert problems == []
    assert lookup.to_dict("list") == {
        "area_id": ["E02000001", "E02000002"],
        "neighbourhood_id": ["E02000001", "E02000002"],
        "neighbourhood_name": ["Bolton 001", "Bury 001"],
        "borough_id": ["E08000001", "E08000002"],
        "borough_name": ["Bolton", "Bury"],
    }


def test_lookup_for_other_areas_is_fatal_with_examples(tmp_path, areas):
    text = "lsoa11cd,lsoa11nm,lad19cd\nE01999991,Old 001A,E08000001\n"
    _, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    [problem] = problems
    assert problem.fatal and problem.row is None
    assert "none of the lookup's columns holds the areas' ids such as 'E01000001'" in problem.message
    assert "lsoa11cd 'E01999991'" in problem.message and "--lookup-area-col" in problem.message


def test_lookup_area_column_can_be_named(tmp_path, areas):
    lookup, problems = load_lookup(
        write(tmp_path / "lookup.csv", STATISTICAL),
        areas,
        lookup_levels={"area": "lsoa21cd"},
    )
    assert problems == [] and lookup.to_dict("list") == BY_MSOA


def test_missing_borough_column_and_misspelt_levels_are_fatal(tmp_path, areas):
    text = "lsoa21cd,msoa21cd\n" + "".join(f"{a},M\n" for a in LSOAS)
    _, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    [problem] = problems
    assert problem.fatal and "cannot find the borough column" in problem.message and "--borough-col" in problem.message

    path = write(tmp_path / "stat.csv", STATISTICAL)
    _, problems = load_lookup(path, areas, lookup_levels={"borough": "lad_22_cd:lad22name"})
    assert [(p.column, p.fatal) for p in problems] == [
        ("lad_22_cd", True),
        ("lad22name", True),
    ]
    assert "found 'lad22cd'" in problems[0].message and "(given as the borough column (--borough-col))" in (
        problems[0].message
    )
    _, problems = load_lookup(path, areas, lookup_levels={"ward": "wd22cd"})
    [problem] = problems
    assert problem.fatal and "unknown lookup level 'ward'" in problem.message


def test_area_in_two_neighbourhoods_is_fatal_naming_rows(tmp_path, areas):
    text = STATISTICAL.replace(
        "E00000006,E01000003,Bury 001A,E02000002",
        "E00000006,E01000003,Bury 001A,E02000003",
    )
    _, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    [problem] = [p for p in problems if p.fatal]
    assert (problem.row, problem.column, problem.value) == (7, "lsoa21cd", "E01000003")
    assert "neighbourhood 'E02000002', borough 'E08000002' (rows 5, 6)" in problem.message
    assert "neighbourhood 'E02000003', borough 'E08000002' (row 7)" in problem.message


def test_neighbourhood_in_two_boroughs_is_fatal(tmp_path, areas):
    text = WARDS.replace(
        "E01000002,Bolton 001B,E05000001,Ward One,E08000001",
        "E01000002,Bolton 001B,E05000001,Ward One,E08000002",
    )
    _, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    fatal = [p for p in problems if p.fatal]
    assert [(p.row, p.column, p.value) for p in fatal] == [(3, "wd22cd", "E05000001")]
    assert "'E08000001' (area E01000001), 'E08000002' (area E01000002)" in fatal[0].message


def test_missing_and_unknown_areas_are_reported_once_each(tmp_path, areas):
    lines = STATISTICAL.splitlines(keepends=True)
    # Drop LSOA 4; add two OAs of an LSOA outside the areas file.
    text = "".join(lines[:-1]) + "E00000008,E01000009,Elsewhere,E02000002,Bury 001,E08000002,Bury\n" * 2
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    assert list(lookup["neighbourhood_id"]) == [
        "E02000001",
        "E02000001",
        "E02000002",
        UNASSIGNED_ID,
    ]
    assert list(lookup["borough_name"])[-1] == UNASSIGNED_NAME
    assert described(problems) == [
        ("lookup.csv", None, "lsoa21cd", "E01000004", False),
        ("lookup.csv", 8, "lsoa21cd", "E01000009", False),
    ]
    assert problems[1].message == "this area is not in the areas file; ignored (2 rows)"


def test_many_unknown_areas_are_summarised(tmp_path, areas):
    extra = "".join(f"E00100{i:03d},E01100{i:03d},X,E02000001,Bolton 001,E08000001,Bolton\n" for i in range(30))
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", STATISTICAL + extra), areas)
    assert lookup.to_dict("list") == BY_MSOA
    [problem] = problems
    assert not problem.fatal and problem.row is None
    assert problem.message.startswith("30 areas in column 'lsoa21cd' are not in the areas file (e.g. 'E01100000'")


def test_blank_codes_reject_rows_and_blank_names_default_to_ids(tmp_path, areas):
    text = WARDS.replace("Ward Three,E08000002,Bury", ",E08000002,Bury") + ",,E05000009,Ward Nine,E08000002,Bury\n"
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    assert described(problems) == [("lookup.csv", 6, "lsoa21cd", None, False)]
    assert list(lookup["neighbourhood_name"])[-1] == "E05000003"


def test_plain_lookups_keep_their_behaviour(tmp_path, areas):
    text = (
        "area_id,neighbourhood_id,neighbourhood_name,borough_id,borough_name\n"
        + "".join(f"{a},N1,North,B1,One\n" for a in LSOAS)
        + "E01000001,N1,North,B1,One\n"
    )
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", text), areas)
    assert list(lookup["neighbourhood_id"]) == ["N1"] * 4
    # The plain format still reports an exact repeat row by row.
    assert [(p.row, p.fatal) for p in problems] == [(6, False)]


# =========================================================================== two-step lookups


def test_groups_file_maps_wards_to_neighbourhoods(tmp_path, areas):
    groups = write(
        tmp_path / "groups.csv",
        "wd22cd,neighbourhood_id,neighbourhood_name\nE05000001,NB1,Bolton West\nE05000002,NB2,Bury\n"
        "E05000003,NB2,Bury\n",
    )
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", WARDS), areas, groups=groups)
    assert problems == []
    assert lookup.to_dict("list") == {
        "area_id": LSOAS,
        "neighbourhood_id": ["NB1", "NB1", "NB2", "NB2"],
        "neighbourhood_name": ["Bolton West", "Bolton West", "Bury", "Bury"],
        "borough_id": ["E08000001", "E08000001", "E08000002", "E08000002"],
        "borough_name": ["Bolton", "Bolton", "Bury", "Bury"],
    }


def test_groups_key_is_matched_by_value_and_may_be_an_area_code(tmp_path, areas):
    # The key column is called "LSOA code" and holds area codes; the OA lookup has no wards.
    groups = write(
        tmp_path / "groups.csv",
        "LSOA code,hood,hood name\nE01000001,P1,PCN 1\nE01000002,P1,PCN 1\nE01000003,P2,PCN 2\nE01000004,P3,PCN 3\n",
    )
    lookup, problems = load_lookup(
        write(tmp_path / "lookup.csv", STATISTICAL), areas, groups=groups,
        lookup_levels={"neighbourhood": "hood:hood name"},
    )  # fmt: skip
    assert problems == []
    assert list(lookup["neighbourhood_id"]) == ["P1", "P1", "P2", "P3"]
    assert list(lookup["neighbourhood_name"]) == ["PCN 1", "PCN 1", "PCN 2", "PCN 3"]
    assert list(lookup["borough_id"]) == BY_MSOA["borough_id"]


def test_groups_problems(tmp_path, areas):
    groups = write(
        tmp_path / "groups.csv",
        "ward,neighbourhood_id,neighbourhood_name\n"
        "E05000001,NB1,Bolton West\n"  # row 2
        "E05000001,NB1,Bolton West\n"  # row 3: exact repeat, ignored
        "E05000002,NB2,Bury\n"  # row 4
        "E05000009,NB2,Bury\n"  # row 5: not in the lookup, ignored
        "E05000002,NB3,Elsewhere\n"  # row 6: ward in two neighbourhoods, fatal
        ",NB4,\n",  # row 7: blank key
    )
    _, problems = load_lookup(write(tmp_path / "lookup.csv", WARDS), areas, groups=groups)
    assert described(problems) == [
        # ward E05000003 has no group: its LSOA goes to UNASSIGNED
        ("groups.csv", None, "ward", "E05000003", False),
        ("lookup.csv", None, "lsoa21cd", "E01000004", False),
        ("groups.csv", 3, "ward", "E05000001", False),
        ("groups.csv", 5, "ward", "E05000009", False),
        ("groups.csv", 6, "ward", "E05000002", True),
        ("groups.csv", 7, "ward", None, False),
    ]
    messages = [p.message for p in problems]
    assert "has no neighbourhood in the groups file" in messages[0]
    assert "same neighbourhood as row 2" in messages[2]
    assert "not in the lookup's column 'wd22cd'" in messages[3]
    assert messages[4].startswith("ward 'E05000002' is in more than one neighbourhood: 'NB2' (row 4), 'NB3' (row 6)")


def test_groups_neighbourhood_across_boroughs_is_fatal_on_the_groups_file(tmp_path, areas):
    groups = write(
        tmp_path / "groups.csv",
        "wd22cd,neighbourhood_id\nE05000001,NB1\nE05000002,NB1\nE05000003,NB2\n",
    )
    _, problems = load_lookup(write(tmp_path / "lookup.csv", WARDS), areas, groups=groups)
    [problem] = problems
    assert described([problem]) == [("groups.csv", 2, "neighbourhood_id", "NB1", True)]
    assert "'E08000001' (areas E01000001, E01000002), 'E08000002' (area E01000003)" in problem.message


def test_unusable_groups_files_are_fatal(tmp_path, areas):
    lookup = write(tmp_path / "lookup.csv", WARDS)
    no_id = write(tmp_path / "a.csv", "wd22cd,neighbourhood\nE05000001,NB1\n")
    _, problems = load_lookup(lookup, areas, groups=no_id)
    assert described(problems) == [("a.csv", None, "neighbourhood_id", None, True)]
    assert "found 'neighbourhood'" in problems[0].message
    no_key = write(tmp_path / "b.csv", "ward,neighbourhood_id\nW1,NB1\n")
    _, problems = load_lookup(lookup, areas, groups=no_key)
    [problem] = problems
    assert problem.fatal and "none of the groups file's key columns ('ward') matches" in problem.message


def test_load_inputs_with_levels_groups_and_their_errors(tmp_path, areas_path):
    assets = write(
        tmp_path / "assets.csv",
        f"asset_id,name,categories,easting,northing\na1,A,dementia,{X0 + 10},{Y0 + 10}\n",
    )
    groups = write(
        tmp_path / "groups.csv",
        "wd22cd,neighbourhood_id\nE05000001,NB1\nE05000002,NB2\nE05000003,NB2\n",
    )
    inputs = load_inputs(
        areas=areas_path,
        assets=assets,
        lookup=write(tmp_path / "lookup.csv", WARDS),
        groups=groups,
    )
    assert list(inputs.lookup["neighbourhood_id"]) == ["NB1", "NB1", "NB2", "NB2"]
    assert [(s.role, s.rows) for s in inputs.sources] == [
        ("areas", 4),
        ("lookup", 4),
        ("groups", 3),
        ("assets", 1),
    ]
    with pytest.raises(ValidationError, match="needs a lookup"):
        load_inputs(areas=areas_path, assets=assets, groups=groups)


def test_cli_neighbourhood_and_borough_columns(tmp_path, areas_path, capsys):
    assets = write(
        tmp_path / "assets.csv",
        "asset_id,name,categories,easting,northing\n"
        f"a1,A,dementia,{X0 + 10},{Y0 + 10}\n"
        f"a2,B,dementia,{X0 + 3010},{Y0 + 10}\n"
        f"a3,C,dementia,{X0 + 3020},{Y0 + 10}\n",
    )
    lookup = write(tmp_path / "lookup.csv", STATISTICAL)
    out = tmp_path / "out.csv"
    argv = [
        "--areas",
        str(areas_path),
        "--assets",
        str(assets),
        "--lookup",
        str(lookup),
    ]
    assert main(["analyse", *argv, "--level", "neighbourhood", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"area_id": str}).query("category == 'dementia' and community == 'all'")
    assert dict(zip(table["area_id"], table["assets_in_area"], strict=True)) == {
        "E02000001": 1,
        "E02000002": 2,
    }
    assert main(["analyse", *argv, "--level", "neighbourhood", "--neighbourhood-col", "lad22cd:lad22nm",
                 "--borough-col", "lad22cd", "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(out, dtype={"area_id": str}).query("category == 'dementia' and community == 'all'")
    assert dict(zip(table["area_name"], table["assets_in_area"], strict=True)) == {
        "Bolton": 1,
        "Bury": 2,
    }
    assert main(["validate", *argv, "--lookup-area-col", "oa21cd"]) == 1  # OA codes are not the areas
    assert "E01000001" in capsys.readouterr().err


# =========================================================================== real ONS files


@pytest.mark.realdata
def test_real_2013_wards_load_with_wd13_columns(realdata):
    wards, problems = load_areas(realdata / "boundaries" / "wards" / "E08000001.json")
    assert problems == []
    raw = gpd.read_file(realdata / "boundaries" / "wards" / "E08000001.json")
    assert raw["WD13NMW"].isna().all()  # the Welsh name column is null: not chosen
    assert list(wards["area_id"]) == list(raw["WD13CD"]) and list(wards["area_name"]) == list(raw["WD13NM"])


@pytest.mark.realdata
def test_real_2011_msoas_load_and_invalid_ones_are_repaired(realdata):
    repaired = []
    total = 0
    for path in sorted((realdata / "boundaries" / "msoa_2011").glob("E08*.json")):
        msoas, problems = load_areas(path)
        raw = gpd.read_file(path)
        assert list(msoas["area_id"]) == list(raw["MSOA11CD"]) and list(msoas["area_name"]) == list(raw["MSOA11NM"])
        assert not any(p.fatal for p in problems)
        repaired += [str(msoas.loc[msoas["_source_row"] == p.row, "area_id"].iloc[0]) for p in problems]
        total += len(msoas)
    assert total == 346  # SOURCES.md
    assert sorted(repaired) == ["E02000995", "E02001017", "E02001281"]


@pytest.mark.realdata
def test_real_lookups_load_without_renaming(realdata, tmp_path):
    areas, _ = load_areas(realdata / "boundaries" / "tdl_2021" / "lsoa21_gm_lsoa_super_generalised.geojson")
    statistical = realdata / "lookups" / "gm_2021_statistical_lookup.csv"
    lookup, problems = load_lookup(statistical, areas)
    assert problems == []
    raw = pd.read_csv(statistical, dtype=str)
    expected = raw.drop_duplicates("lsoa21cd").set_index("lsoa21cd").loc[list(areas["area_id"])]
    assert list(lookup["neighbourhood_id"]) == list(expected["msoa21cd"])
    assert list(lookup["borough_name"]) == list(expected["lad22nm"])
    assert lookup["neighbourhood_id"].nunique() == 353 and lookup["borough_id"].nunique() == 10

    # Two steps: LSOA -> ward (best fit) -> our own neighbourhoods of wards.
    admin = pd.read_csv(realdata / "lookups" / "gm_2021_administrative_lookup.csv", dtype=str)
    admin["neighbourhood_id"] = admin["lad22cd"] + "-" + (admin.groupby("lad22cd").cumcount() // 5).astype(str)
    groups = admin[["wd22cd", "neighbourhood_id"]]
    out = tmp_path / "groups.csv"
    groups.to_csv(out, index=False)
    best_fit = realdata / "lookups" / "gm_2021_lsoa_to_ward_best-fit_lookup.csv"
    lookup, problems = load_lookup(best_fit, areas, groups=out)
    assert problems == []
    wards = pd.read_csv(best_fit, dtype=str).merge(groups, on="wd22cd").set_index("lsoa21cd")
    assert list(lookup["neighbourhood_id"]) == list(wards.loc[list(areas["area_id"]), "neighbourhood_id"])


@pytest.mark.realdata
def test_real_2011_lsoas_against_the_2021_lookup_report_the_changed_codes(realdata):
    areas, _ = load_areas(realdata / "boundaries" / "gm_lsoa11_merged.geojson")
    lookup, problems = load_lookup(realdata / "lookups" / "gm_2021_statistical_lookup.csv", areas)
    codes21 = set(pd.read_csv(realdata / "lookups" / "gm_2021_statistical_lookup.csv", dtype=str)["lsoa21cd"])
    gone = sorted(set(areas["area_id"]) - codes21)
    assert gone  # some LSOAs were split or merged in 2021
    assert sorted(lookup.loc[lookup["neighbourhood_id"] == UNASSIGNED_ID, "area_id"]) == gone
    missing = [p for p in problems if p.row is None and p.value is not None]
    assert sorted(p.value for p in missing) == gone and not any(p.fatal for p in problems)


def test_documented_ons_and_groups_examples_load(tmp_path):
    from test_loaders import documented_examples

    [statistical] = documented_examples("ONS lookups")
    [groups] = documented_examples("Two-step lookups (groups)")
    codes = ["E01004771", "E01004770"]
    frame = gpd.GeoDataFrame({"area_id": codes}, geometry=[box(0), box(1)], crs=METRIC_CRS)
    frame.to_file(tmp_path / "areas.gpkg", engine="pyogrio")
    areas, _ = load_areas(tmp_path / "areas.gpkg")
    lookup, problems = load_lookup(write(tmp_path / "lookup.csv", statistical), areas)
    assert problems == [] and list(lookup["neighbourhood_name"]) == ["Bolton 003", "Bolton 003"]

    wards = "lsoa21cd,wd22cd,lad22cd\nE01004771,E05000650,E08000001\nE01004770,E05000655,E08000001\n"
    lookup, problems = load_lookup(
        write(tmp_path / "wards.csv", wards), areas, groups=write(tmp_path / "g.csv", groups)
    )
    # E05000651 is in the groups example but not in this two-row lookup: reported, ignored.
    assert [(p.value, p.fatal) for p in problems] == [("E05000651", False)]
    assert list(lookup["neighbourhood_name"]) == ["Bolton North", "Bolton South"]
