"""One InputSpec for every entry point, and the loaders of its new roles (origins, travel times, IMD).

The same spec (the demo data, a hand-made groups file and practice-keyed referrals) goes
through the pandas command line, the dask engine, ``Dataset.from_spec`` and the workspace
(``workspace add``, then the stored dataset loaded or checked out and analysed); their
neighbourhood tables must be the same bytes. Before the spec, the dask engine ignored
``--groups`` and wrote another table.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import handbuilt
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from callbacks.settings import read_config, settings_from_args
from coverage_map.cli import build_parser, main
from coverage_map.config import DEMO_FILES, GEODATA_DIR, METRIC_CRS
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError, ValidationError
from coverage_map.outputs.tables import write_any
from coverage_map.spec import MAPPING_KEYS, InputSpec
from coverage_map.store import open_workspace

DEMO = {role: GEODATA_DIR / name for role, name in DEMO_FILES.items()}
TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _where(problems, file: Path) -> list[tuple[int | None, str | None]]:
    """(row, column) of each problem about ``file``, in order."""
    return [(problem.row, problem.column) for problem in problems if problem.file == str(file)]


# --------------------------------------------------------------------------- one spec, three routes


@pytest.fixture(scope="module")
def extra_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A groups file pairing the demo's neighbourhoods within each borough, and referrals partly keyed
    by GP practice (some practices placed by area, some by coordinates)."""
    folder = tmp_path_factory.mktemp("spec_inputs")
    lookup = pd.read_csv(DEMO["lookup"], dtype=str)
    neighbourhoods = lookup.drop_duplicates("neighbourhood_id")[["neighbourhood_id", "borough_id"]]
    pair = neighbourhoods.groupby("borough_id").cumcount() // 2
    group_id = neighbourhoods["borough_id"] + "-G" + pair.astype(str)
    pd.DataFrame({"nbhd_code": neighbourhoods["neighbourhood_id"], "neighbourhood_id": group_id,
                  "neighbourhood_name": "Group " + group_id}).to_csv(folder / "groups.csv", index=False)  # fmt: skip

    areas = lookup["area_id"].tolist()
    assets = pd.read_csv(DEMO["assets"], dtype=str)
    practices = pd.DataFrame({
        "practice_code": [f"P{n:05d}" for n in range(14)],
        "area_id": [areas[n * 150] for n in range(10)] + [""] * 4,
        "latitude": [""] * 10 + assets["latitude"].iloc[:4].tolist(),
        "longitude": [""] * 10 + assets["longitude"].iloc[:4].tolist(),
    })  # fmt: skip
    practices.to_csv(folder / "practices.csv", index=False)

    referrals = pd.read_csv(DEMO["referrals"], dtype=str, keep_default_na=False)
    keyed = (np.arange(len(referrals)) % 20 == 0) & referrals["origin_area_id"].ne("").to_numpy()
    codes = np.array([f"P{n % 14:05d}" for n in range(len(referrals))], dtype=object)
    referrals["origin_practice_code"] = np.where(keyed, codes, "")
    referrals.loc[keyed, "origin_area_id"] = ""
    referrals.to_csv(folder / "referrals.csv", index=False)
    return {"groups": folder / "groups.csv", "practices": folder / "practices.csv",
            "referrals": folder / "referrals.csv"}  # fmt: skip


@pytest.fixture(scope="module")
def spec_args(extra_inputs: dict[str, Path]) -> list[str]:
    return ["--areas", str(DEMO["areas"]), "--assets", str(DEMO["assets"]), "--lookup", str(DEMO["lookup"]),
            "--population", str(DEMO["population"]), "--referrals", str(extra_inputs["referrals"]),
            "--groups", str(extra_inputs["groups"]), "--practices", str(extra_inputs["practices"]),
            "--level", "neighbourhood"]  # fmt: skip


def test_pandas_dask_dataset_and_workspace_write_the_same_bytes(
    spec_args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("dask_geopandas")
    import coverage_map.engine_dask as engine

    real = engine.cluster_client
    monkeypatch.setattr(engine, "cluster_client", lambda scheduler=None: real(scheduler, processes=False, n_workers=1))
    pandas_out, dask_out, dataset_out = tmp_path / "pandas.csv", tmp_path / "dask.csv", tmp_path / "dataset.csv"
    assert main(["analyse", *spec_args, "--out", str(pandas_out)]) == 0
    assert main(["analyse", *spec_args, "--engine", "dask", "--out", str(dask_out)]) == 0
    args = build_parser().parse_args(["analyse", *spec_args, "--out", str(dataset_out)])
    dataset = Dataset.from_spec(InputSpec.from_args(args))
    write_any(dataset.table("neighbourhood"), dataset_out)

    # The workspace: `workspace add` stores the spec; its dataset, loaded or checked out, is analysed.
    workspace_url, inputs = str(tmp_path / "workspace.gpkg"), spec_args[: spec_args.index("--level")]
    assert main(["workspace", "add", "--workspace", workspace_url, "--name", "spec", *inputs]) == 0
    stored_out, checkout_out = tmp_path / "stored.csv", tmp_path / "checkout.csv"
    with open_workspace(workspace_url, data_dir=tmp_path) as workspace:
        stored = workspace.spec("spec", include_private=True)
        write_any(Dataset.from_inputs(workspace.load("spec", include_private=True)).table("neighbourhood"), stored_out)
        with workspace.checkout("spec", include_private=True) as copy:
            flags = [f"--{key.replace('_', '-')}={value}" for key, value in copy.to_mapping().items()]
            assert main(["analyse", *flags, "--level", "neighbourhood", "--out", str(checkout_out)]) == 0
    given = InputSpec.from_args(args)
    assert stored == dataclasses.replace(given, **{role: Path(path.name) for role, path in given.files().items()})

    expected = pandas_out.read_bytes()
    assert dask_out.read_bytes() == expected
    assert dataset_out.read_bytes() == expected
    assert stored_out.read_bytes() == expected
    assert checkout_out.read_bytes() == expected
    assert (tmp_path / "checkout_assets.csv").read_bytes() == (tmp_path / "pandas_assets.csv").read_bytes()
    assert (tmp_path / "dask_assets.csv").read_bytes() == (tmp_path / "pandas_assets.csv").read_bytes()
    # The groups were used: the demo's 68 neighbourhoods paired within boroughs make 36 groups.
    table = pd.read_csv(pandas_out, dtype=str)
    assert table["area_id"].nunique() == 36 and table["area_id"].str.contains("-G").all()
    # The practice-keyed referrals were placed, not rejected, by both engines.
    rejected = pd.read_csv(tmp_path / "pandas_rejected.csv", dtype=str)
    assert not rejected["message"].str.contains("practice").any()


# --------------------------------------------------------------------------- constructors


def test_from_args_uses_the_demo_files_with_other_inputs_applied(extra_inputs: dict[str, Path]) -> None:
    args = build_parser().parse_args(["validate", "--groups", str(extra_inputs["groups"]), "--crs", "EPSG:27700",
                                      "--borough-col", "borough_id:borough_name"])  # fmt: skip
    spec = InputSpec.from_args(args)
    assert spec.areas == DEMO["areas"] and spec.referrals == DEMO["referrals"] and spec.is_demo
    assert spec.groups == extra_inputs["groups"] and spec.crs == "EPSG:27700"
    assert spec.lookup_levels == {"borough": "borough_id:borough_name"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--areas", "a.gpkg"], "missing required input: --assets"),
     (["--lookup", "l.csv"], "give both --areas and --assets, or neither")],
)  # fmt: skip
def test_from_args_needs_areas_and_assets_together(argv: list[str], message: str) -> None:
    with pytest.raises(CoverageMapError, match=message):
        InputSpec.from_args(build_parser().parse_args(["validate", *argv]))


def test_new_input_flags_are_accepted_by_every_command() -> None:
    flags = ["--origins", "o.csv", "--travel-times", "t.csv", "--imd", "i.csv"]
    for command in (["analyse", "--out", "x.csv"], ["validate"], ["export-map", "--out", "m.png"],
                    ["export-html", "--out", "m.html"], ["report", "--out", "r.html"], ["serve"]):  # fmt: skip
        args = build_parser().parse_args([*command, *flags])
        spec = InputSpec.from_args(args)
        assert (spec.origins, spec.travel_times, spec.imd) == (Path("o.csv"), Path("t.csv"), Path("i.csv"))


def test_from_mapping_reads_paths_relative_to_base_dir_and_round_trips(tmp_path: Path) -> None:
    spec = InputSpec.from_mapping(
        {"areas": "a.gpkg", "assets": "/data/assets.csv", "travel_times": "tt.csv", "crs": "EPSG:27700",
         "lookup_levels": {"neighbourhood": ["wd22cd", "wd22nm"], "area": "lsoa21cd"}},
        base_dir=tmp_path,
    )  # fmt: skip
    assert spec.areas == tmp_path / "a.gpkg" and spec.assets == Path("/data/assets.csv")
    assert spec.travel_times == tmp_path / "tt.csv"
    assert spec.lookup_levels == {"area": "lsoa21cd", "neighbourhood": "wd22cd:wd22nm"}
    assert InputSpec.from_mapping(spec.to_mapping()) == spec
    assert spec.to_mapping()["neighbourhood_col"] == "wd22cd:wd22nm"


def test_from_mapping_lists_every_error_at_once() -> None:
    with pytest.raises(CoverageMapError) as raised:
        InputSpec.from_mapping({"areas": 3, "referals": "r.csv", "crs": 27700, "lookup_levels": {"ward": "wd22cd"}})
    message = str(raised.value)
    assert "unknown key 'referals'" in message
    assert "the allowed keys are " + ", ".join(MAPPING_KEYS) in message
    assert "'areas' must be a file path, not 3" in message
    assert "'crs' must be text, not 27700" in message
    assert "unknown lookup level 'ward'" in message
    assert "'areas' and 'assets' are required" in message


# --------------------------------------------------------------------------- the new loaders


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return handbuilt.write_files(tmp_path)


def _lonlat(x: float, y: float) -> tuple[str, str]:
    lon, lat = TO_LONLAT.transform(x, y)
    return f"{lat:.7f}", f"{lon:.7f}"


def test_origins_keep_good_rows_and_report_bad_ones_by_row_and_column(files: dict[str, Path], tmp_path: Path) -> None:
    lat, lon = _lonlat(handbuilt.X0 + 500, handbuilt.Y0 + 500)  # the middle of box A
    path = tmp_path / "origins.csv"
    path.write_text(
        "area_id,latitude,longitude\n"
        f"A,{lat},{lon}\n"  # row 2: kept
        "B,,\n"  # row 3: no location
        f",{lat},{lon}\n"  # row 4: blank area id
        f"Z,{lat},{lon}\n"  # row 5: not an area
        f"C,abc,{lon}\n",  # row 6: latitude not a number
        encoding="utf-8",
    )
    inputs = InputSpec.from_mapping({**files, "origins": path}).load()
    assert inputs.origins is not None and list(inputs.origins["area_id"]) == ["A"]
    assert inputs.origins.crs == METRIC_CRS
    point = inputs.origins.geometry.iloc[0]
    assert point.x == pytest.approx(handbuilt.X0 + 500, abs=0.01) and point.y == pytest.approx(
        handbuilt.Y0 + 500, abs=0.01
    )
    assert _where(inputs.problems, path) == [(None, None), (3, None), (4, "area_id"), (5, "area_id"), (6, "latitude")]
    missing = next(p for p in inputs.problems if p.file == str(path) and p.row is None)
    assert "2 areas" in missing.message and "'B', 'C'" in missing.message and not missing.fatal


def test_origins_from_ons_x_y_columns_and_fatal_problems(files: dict[str, Path], tmp_path: Path) -> None:
    good = tmp_path / "centroids.csv"
    good.write_text(f"LSOA21CD,x,y\nA,{handbuilt.X0 + 10},{handbuilt.Y0 + 20}\n", encoding="utf-8")
    origins = InputSpec.from_mapping({**files, "origins": good}).load().origins
    assert origins is not None and (origins.geometry.x.iloc[0], origins.geometry.y.iloc[0]) == (
        handbuilt.X0 + 10, handbuilt.Y0 + 20)  # fmt: skip
    bad = tmp_path / "bad_origins.csv"
    bad.write_text(f"area_id,easting,northing\nA,{handbuilt.X0},{handbuilt.Y0}\nA,{handbuilt.X0},{handbuilt.Y0}\n",
                   encoding="utf-8")  # fmt: skip
    with pytest.raises(ValidationError) as raised:
        InputSpec.from_mapping({**files, "origins": bad}).load()
    assert [(p.row, p.column) for p in raised.value.problems if p.file == str(bad) and p.fatal] == [
        (2, "area_id"), (3, "area_id")]  # fmt: skip
    assert "duplicate area id 'A'" in str(raised.value)


def test_travel_times_reject_bad_rows_with_file_row_and_column(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "travel.csv"
    path.write_text(
        "area_id,asset_id,minutes\n"
        "A,a1,5\n"  # row 2: kept
        "A,a2,-1\n"  # row 3: negative
        "B,a9,4\n"  # row 4: unknown asset
        "Q,a1,3\n"  # row 5: unknown area
        "C,a3,ten\n"  # row 6: not a number
        "C,a3,\n"  # row 7: blank
        "B,a2,7.5\n",  # row 8: kept
        encoding="utf-8",
    )
    inputs = InputSpec.from_mapping({**files, "travel_times": path}).load()
    expected = pd.DataFrame({"area_id": ["A", "B"], "asset_id": ["a1", "a2"], "minutes": [5.0, 7.5]}).astype(
        {"area_id": "str", "asset_id": "str"})  # fmt: skip
    assert inputs.travel_times is not None
    pd.testing.assert_frame_equal(inputs.travel_times.reset_index(drop=True), expected)
    assert _where(inputs.problems, path) == [(3, "minutes"), (4, "asset_id"), (5, "area_id"), (6, "minutes"),
                                             (7, "minutes")]  # fmt: skip
    assert [p.value for p in inputs.problems if p.file == str(path)] == ["-1", "a9", "Q", "ten", None]


def test_travel_times_repeated_pair_is_fatal(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "travel.csv"
    path.write_text("area_id,asset_id,minutes\nA,a1,5\nA,a1,6\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="duplicate area_id, asset_id pair 'A, a1'"):
        InputSpec.from_mapping({**files, "travel_times": path}).load()


IMD_HEADER = ("LSOA code (2011),LSOA name (2011),Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),"
              "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs),Income Rank "
              "(where 1 is most deprived)\n")  # fmt: skip


def test_imd_reads_the_published_headers_and_reports_bad_rows(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "imd.csv"
    path.write_text(
        IMD_HEADER
        + "A,Area A,100,1,7\n"  # row 2: kept
        + "B,Area B,0,2,7\n"  # row 3: rank 0
        + "C,Area C,2500.5,11,7\n"  # row 4: rank not whole, decile 11
        + "Z,Elsewhere,5,1,7\n",  # row 5: another area, ignored
        encoding="utf-8",
    )
    inputs = InputSpec.from_mapping({**files, "imd": path}).load()
    assert inputs.imd is not None
    assert inputs.imd.to_dict("list") == {"area_id": ["A"], "imd_rank": [100], "imd_decile": [1]}
    rank = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
    decile = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"
    assert _where(inputs.problems, path) == [(None, None), (3, rank), (4, rank), (4, decile), (5, "LSOA code (2011)")]
    messages = [p.message for p in inputs.problems if p.file == str(path)]
    assert messages[1:4] == ["the IMD rank must be 1 or more", "the IMD rank must be a whole number",
                             "the IMD decile must be from 1 to 10"]  # fmt: skip


def test_imd_short_headers_and_codes_of_another_census(files: dict[str, Path], tmp_path: Path) -> None:
    short = tmp_path / "imd.csv"
    short.write_text("area_id,imd_rank,imd_decile\nA,10,1\nB,20000,7\nC,32844,10\n", encoding="utf-8")
    imd = InputSpec.from_mapping({**files, "imd": short}).load().imd
    assert imd is not None and imd["imd_decile"].tolist() == [1, 7, 10] and imd["imd_rank"].dtype == "int64"
    other = tmp_path / "imd2011.csv"
    other.write_text(IMD_HEADER + "E01004766,Bolton 005A,7694,3,1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="another census year"):
        InputSpec.from_mapping({**files, "imd": other}).load()


def test_imd_of_greater_manchester_matches_its_2011_lsoas(realdata: Path) -> None:
    areas = realdata / "boundaries" / "gm_lsoa11_merged.geojson"
    imd_file = realdata / "imd" / "gm_lsoa11_imd2019_ranks_deciles.csv"
    from coverage_map.ingest import load_areas
    from coverage_map.ingest.imd import load_imd

    area_frame, _ = load_areas(areas)
    imd, problems = load_imd(imd_file, areas=area_frame)
    published = pd.read_csv(imd_file, dtype=str)
    assert len(imd) == len(published) and not [p for p in problems if p.fatal]
    assert imd["imd_decile"].between(1, 10).all() and (imd["imd_rank"] >= 1).all()


def test_population_need_columns(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "population.csv"
    path.write_text("area_id,population,pop_bame,need_Dementia\nA,1000,100,12\nB,3000,0,-3\nC,2000,500,\n",
                    encoding="utf-8")  # fmt: skip
    inputs = InputSpec.from_mapping({**files, "population": path}).load()
    assert inputs.population is not None and inputs.need_labels == ("dementia",)
    assert inputs.population["need_dementia"].dtype == "float64"
    values = inputs.population.set_index("area_id")["need_dementia"]
    assert values["A"] == 12.0 and np.isnan(values["C"])
    assert [(p.row, p.column) for p in inputs.problems if p.file == str(path) and p.row == 3] == [(3, "need_Dementia")]

    unknown = tmp_path / "population_unknown.csv"
    unknown.write_text("area_id,population,need_wellbeing_walks\nA,1,1\nB,1,1\nC,1,1\n", encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        InputSpec.from_mapping({**files, "population": unknown}).load()
    problem = next(p for p in raised.value.problems if p.file == str(unknown))
    assert problem.column == "need_wellbeing_walks" and "Known categories: " in problem.message
    assert "dementia" in problem.message


# --------------------------------------------------------------------------- the dashboard


def test_dashboard_config_names_groups_and_practices(files: dict[str, Path], tmp_path: Path) -> None:
    pd.DataFrame({"code": ["A", "B", "C"], "neighbourhood_id": ["G1", "G2", "G3"],
                  "neighbourhood_name": ["One", "Two", "Three"]}).to_csv(tmp_path / "groups.csv", index=False)  # fmt: skip
    pd.DataFrame({"practice_code": ["P1"], "area_id": ["C"]}).to_csv(tmp_path / "practices.csv", index=False)
    referrals = pd.read_csv(files["referrals"], dtype=str, keep_default_na=False).assign(origin_practice_code="")
    extra = {column: "" for column in referrals.columns} | {"referral_id": "R-P1", "category": "dementia",
                                                            "origin_practice_code": "P1", "count": "1"}  # fmt: skip
    pd.concat([referrals, pd.DataFrame([extra])]).to_csv(tmp_path / "referrals_p.csv", index=False)
    config = tmp_path / "dashboard.toml"
    config.write_text(
        "[data]\n"
        + "".join(f'{role} = "{path.name}"\n' for role, path in files.items() if role != "referrals")
        + 'referrals = "referrals_p.csv"\ngroups = "groups.csv"\npractices = "practices.csv"\nlabel = "Hand"\n',
        encoding="utf-8",
    )
    values = read_config(config)
    spec = values["data_spec"]
    assert isinstance(spec, InputSpec) and spec.groups == tmp_path / "groups.csv"
    assert spec.practices == tmp_path / "practices.csv"
    args = argparse.Namespace(config=config)
    dataset = settings_from_args(args, environ={}).load_dataset()
    assert dataset.label == "Hand"
    assert sorted(dataset.units("neighbourhood")["area_id"]) == ["G1", "G2", "G3"]
    placed = dataset.prepared.referrals
    by_practice = Dataset.from_spec(InputSpec.from_mapping(files)).prepared.referrals
    in_c = int(placed.loc[placed["area_id"] == "C", "count"].sum())
    assert in_c == int(by_practice.loc[by_practice["area_id"] == "C", "count"].sum()) + 1


def test_dashboard_config_rejects_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "dashboard.toml"
    config.write_text('[data]\nareas = "a.gpkg"\nassets = "b.csv"\ngroup = "g.csv"\n', encoding="utf-8")
    with pytest.raises(CoverageMapError, match="unknown key 'group'; the allowed keys are areas, "):
        read_config(config)


def test_serve_arguments_apply_to_the_config_inputs(files: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "dashboard.toml"
    config.write_text("[data]\n" + "".join(f'{role} = "{path.name}"\n' for role, path in files.items()),
                      encoding="utf-8")  # fmt: skip
    args = build_parser().parse_args(["serve", "--config", str(config), "--imd", "imd.csv", "--crs", "EPSG:27700"])
    spec = settings_from_args(args, environ={}).data_spec
    assert spec is not None and spec.areas == files["areas"] and spec.imd == Path("imd.csv")
    assert spec.crs == "EPSG:27700"
