"""The command line end to end, on hand-built files and on the shipped demo data."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import handbuilt as hb
import pandas as pd
import pytest

from coverage_map.cli import main
from coverage_map.config import GEODATA_DIR


def _args(paths, **extra) -> list[str]:
    argv = []
    for role, path in paths.items():
        argv += [f"--{role}", str(path)]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv


@pytest.fixture
def files(tmp_path):
    return hb.write_files(tmp_path)


def test_analyse_writes_table_assets_and_rejected(files, tmp_path, capsys):
    out = tmp_path / "out" / "gaps.csv"
    assert main(["analyse", *_args(files), "--level", "neighbourhood", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"area_id": str})
    assert len(table) == 2 * 17 * 2  # N1, N2 x 17 categories x (all, bame)
    assert table.columns[:5].tolist() == ["area_id", "area_name", "level", "category", "community"]
    n1 = table[(table.area_id == "N1") & (table.category == "dementia") & (table.community == "all")].iloc[0]
    assert n1.referrals == 20 and n1.assets_reaching == 2
    assets = pd.read_csv(tmp_path / "out" / "gaps_assets.csv")
    assert set(assets.asset_id) == {"a1", "a2", "a3", "a4"}
    assert (tmp_path / "out" / "gaps_rejected.csv").exists()
    assert "Wrote" in capsys.readouterr().out


def test_analyse_suppresses_by_default_and_not_with_flag(files, tmp_path):
    out = tmp_path / "gaps.csv"
    main(["analyse", *_args(files), "--out", str(out)])
    table = pd.read_csv(out)
    c = table[(table.area_id == "C") & (table.category == "dementia") & (table.community == "all")].iloc[0]
    assert pd.isna(c.referrals) and bool(c.referrals_suppressed)
    raw = tmp_path / "raw.csv"
    main(["analyse", *_args(files), "--out", str(raw), "--no-suppress"])
    c = pd.read_csv(raw).query("area_id == 'C' and category == 'dementia' and community == 'all'").iloc[0]
    assert c.referrals == 3


def test_no_output_carries_referral_ids_or_coordinates(files, tmp_path):
    referrals = pd.read_csv(files["referrals"], dtype=str, keep_default_na=False)
    secrets = (
        set(referrals["referral_id"])
        | {v for v in referrals["latitude"] if v}
        | {v for v in referrals["longitude"] if v}
    )
    # Make one referral fall outside every area so that it is rejected and reported.
    referrals.loc[6, ["latitude", "longitude"]] = ["53.9000000", "-1.0000000"]
    secrets |= {"53.9000000", "-1.0000000", "53.9", "-1.0"}
    referrals.to_csv(files["referrals"], index=False)
    out = tmp_path / "gaps.csv"
    main(["analyse", *_args(files), "--out", str(out)])
    rejected = pd.read_csv(tmp_path / "gaps_rejected.csv")
    assert len(rejected[rejected.message.str.contains("outside every area")]) >= 1
    for path in tmp_path.glob("gaps*.csv"):
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert not re.search(rf"(?<![\d.]){re.escape(secret)}(?![\d])", text), (path.name, secret)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet"])
def test_spatial_output_formats(files, tmp_path, suffix):
    out = tmp_path / f"gaps{suffix}"
    assert main(["analyse", *_args(files), "--level", "borough", "--out", str(out)]) == 0
    frame = gpd.read_parquet(out) if suffix == ".parquet" else gpd.read_file(out)
    assert len(frame) == 2 * 17 * 2
    assert frame.geometry.notna().all()
    assert frame.crs is not None


def test_unknown_output_format_is_a_clear_error(files, tmp_path, capsys):
    assert main(["analyse", *_args(files), "--out", str(tmp_path / "gaps.xlsx")]) == 2
    assert "--out must end in one of" in capsys.readouterr().err


def test_level_without_lookup_is_a_clear_error(files, tmp_path, capsys):
    del files["lookup"]
    assert main(["analyse", *_args(files), "--level", "borough", "--out", str(tmp_path / "g.csv")]) == 2
    assert "needs a lookup" in capsys.readouterr().err


def test_validate_reports_every_problem_in_one_run(files, capsys):
    assets = pd.read_csv(files["assets"], dtype=str, keep_default_na=False)
    assets.loc[0, "latitude"] = "fifty-three"
    assets.loc[1, "categories"] = "dementai"
    assets.to_csv(files["assets"], index=False)
    main(["validate", *_args(files)])
    output = capsys.readouterr()
    text = output.out + output.err
    assert "row 2" in text and "latitude" in text
    assert "row 3" in text and "dementia" in text  # the closest known category is suggested


def test_validate_fatal_problems_exit_non_zero(files, capsys):
    files["population"].write_text("area_id,populaton\nA,1\n", encoding="utf-8")
    assert main(["validate", *_args(files)]) == 1
    assert "population" in capsys.readouterr().err


def test_demo_analysis_finds_the_deliberate_gaps(tmp_path):
    """`coverage-map analyse` on the demo data flags every documented gap (gaps.json `method_2`) at each level."""
    gaps = json.loads((GEODATA_DIR / "gaps.json").read_text(encoding="utf-8"))
    lookup = pd.read_csv(GEODATA_DIR / "lookup.csv", dtype=str)
    tables = {}
    for level in ("borough", "neighbourhood", "area"):
        out = tmp_path / f"{level}.csv"
        assert main(["analyse", "--level", level, "--out", str(out)]) == 0
        tables[level] = pd.read_csv(out, dtype={"area_id": str}, keep_default_na=False, na_values=[""])
    for entry in gaps["method_2"]:
        places = gaps[entry["gap"]]
        places = [places] if isinstance(places, str) else places
        column = "borough_id" if entry["gap"] == "no_dementia_borough" else "neighbourhood_id"
        for level in entry["levels"]:
            units = set(lookup.loc[lookup[column].isin(places), "area_id" if level == "area" else f"{level}_id"])
            table = tables[level]
            rows = table[table["area_id"].isin(units) & (table["community"] == entry["community"])]
            if entry["category"] is not None:
                rows = rows[rows["category"] == entry["category"]]
            assert len(rows) == len(units) * (1 if entry["category"] else 17)
            if entry["found_by"] == "tier":
                assert rows["tier"].isin(["severe", "moderate"]).all() and rows["gap"].all(), (entry, level)
                assert rows["gap_reasons"].str.contains("low_access").all()
            else:
                assert (rows["specific_access_per_10k"] == 0).all()
                reached = rows["access_per_10k"] > 0
                assert rows.loc[reached, "gap_reasons"].str.contains("no_specific_provision").all()
    for level, table in tables.items():
        share = table["gap"].mean()
        print(f"{level}: {share:.1%} of rows are gaps")
        assert 0 < share < 0.5  # a minority
    # The BAME-majority neighbourhood really is one.
    nbhd = tables["neighbourhood"]
    target = gaps["bame_majority_no_provision_neighbourhood"]
    bame_people = nbhd[nbhd.community == "bame"].drop_duplicates("area_id").set_index("area_id")
    assert bame_people.loc[target, "group_population"] > 0.5 * bame_people.loc[target, "population"]
    assets = pd.read_csv(tmp_path / "area_assets.csv")
    top = assets.iloc[0]
    assert top.asset_id == gaps["over_capacity_asset"]["asset_id"]
    assert bool(top.over_capacity) and top.pressure == pytest.approx(3.0, abs=0.4)


def test_export_commands_default_to_the_tier_metric(files, tmp_path, capsys):
    import shutil

    from coverage_map.cli import build_parser

    for command in ("export-map", "export-html"):
        args = build_parser().parse_args([command, "--out", "x"])
        assert args.metric == "tier"
    with pytest.raises(SystemExit):
        main(["export-map", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for metric in ("tier (gap severity, the default)", "access_ratio", "access_per_10k", "gap_score"):
        assert metric in help_text
    out = tmp_path / "map.html"
    assert main(["export-html", *_args(files), "--level", "area", "--categories", "dementia", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Gap severity" in text and "Moderate gap (1)" in text  # C, counted in the table of the hand-built data
    if shutil.which("chromium"):
        png = tmp_path / "map.png"
        assert main(["export-map", *_args(files), "--level", "area", "--category", "dementia", "--out", str(png),
                     "--dpi", "50"]) == 0  # fmt: skip
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "Wrote" in capsys.readouterr().out


def test_report_command_writes_tier_findings(files, tmp_path, capsys):
    out = tmp_path / "report.html"
    argv = ["report", *_args(files), "--level", "area", "--priorities", "dementia", "--no-maps", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 of 3 small areas has a severe or moderate dementia gap (0 severe, 1 moderate): Area C." in printed
    text = " ".join(out.read_text(encoding="utf-8").split())
    assert "Severity tiers" in text and "Luo &amp; Qi 2009" in text


def test_workspace_add_stores_the_demo_with_every_role(tmp_path, capsys):
    """The demo, IMD file included, goes into a workspace and comes back with the same roles."""
    assert main(["workspace", "add", "--workspace", str(tmp_path / "w.gpkg"), "--name", "demo"]) == 0
    assert "Added demo v1" in capsys.readouterr().out
    from coverage_map.store import open_workspace

    with open_workspace(str(tmp_path / "w.gpkg")) as workspace:
        assert workspace.load("demo", include_private=True).imd is not None


def test_gap_method_flags_are_checked_together_and_named():
    from coverage_map.cli import build_parser, method_from_args
    from coverage_map.errors import CoverageMapError
    from coverage_map.method import DEFAULT_METHOD

    assert method_from_args(build_parser().parse_args(["analyse", "--out", "x.csv"])) == DEFAULT_METHOD
    args = build_parser().parse_args(["analyse", "--out", "x.csv", "--fdr", "2", "--permutations", "5"])
    with pytest.raises(CoverageMapError, match=r"command line: --fdr must be .*; --permutations must be"):
        method_from_args(args)
