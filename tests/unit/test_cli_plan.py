"""The command line for planning new services: ``analyse/report --scenario`` and ``suggest`` (docs/plan.md)."""

from __future__ import annotations

import handbuilt as hb
import pandas as pd
import pytest

from coverage_map.cli import build_parser, main


def _args(paths) -> list[str]:
    return [arg for role, path in paths.items() for arg in (f"--{role}", str(path))]


@pytest.fixture
def files(tmp_path):
    return hb.write_files(tmp_path)


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "extra.csv"
    pd.DataFrame(
        {
            "asset_id": ["p1"],
            "name": ["New Memory Café"],
            "categories": ["dementia"],
            "capacity": ["10"],
            "easting": [hb.X0 + 2500],
            "northing": [hb.Y0 + 500],
        }
    ).to_csv(path, index=False)
    return path


def test_analyse_with_a_scenario_writes_the_before_columns_and_labels_proposed_services(
    files, scenario, tmp_path, capsys
):
    out = tmp_path / "after.csv"
    assert main(["analyse", *_args(files), "--scenario", str(scenario), "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"area_id": str})
    c = table[(table.area_id == "C") & (table.category == "dementia") & (table.community == "all")].iloc[0]
    assert (c.tier_before, c.tier) == ("moderate", "watch")  # worked by hand in tests/unit/test_scenario.py
    assert c.access_per_10k > c.access_per_10k_before
    assets = pd.read_csv(tmp_path / "after_assets.csv").set_index("asset_id")
    assert assets.loc["p1", "proposed"] and not assets.loc["a1", "proposed"]
    assert "1 proposed service(s) from" in capsys.readouterr().out


def test_a_bad_scenario_row_stops_analyse_naming_the_file_and_row(files, scenario, tmp_path, capsys):
    bad = pd.read_csv(scenario, dtype=str).assign(categories="knitting")
    bad.to_csv(scenario, index=False)
    assert main(["analyse", *_args(files), "--scenario", str(scenario), "--out", str(tmp_path / "x.csv")]) == 2
    error = capsys.readouterr().err
    assert f"{scenario}, row 2, column 'categories': unknown category 'knitting'" in error
    assert not (tmp_path / "x.csv").exists()


def test_suggest_writes_the_sites_and_a_scenario_that_analyse_reads_back(files, tmp_path, capsys):
    candidates = tmp_path / "sites.csv"
    pd.DataFrame(
        {"id": ["L", "C"], "name": ["Library", "Chapel"], "easting": [hb.X0 + 500, hb.X0 + 2500],
         "northing": [hb.Y0 + 500, hb.Y0 + 500]}
    ).to_csv(candidates, index=False)  # fmt: skip
    out = tmp_path / "suggestions.csv"
    argv = ["suggest", *_args(files), "--category", "dementia", "--candidates", str(candidates), "--k", "1",
            "--catchment-km", "1.2", "--capacity", "10", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    # a1 (A) and a2 (borough B1) cover A and B within 1.2 km: only the chapel brings C's 2,000 within reach.
    assert "1 new dementia service at Chapel would bring 2,000 people in need within 1.2 km of support" in printed
    assert "solved exactly (spopt MCLP, CBC)" in printed
    sites = pd.read_csv(out)
    assert sites[["site_id", "site_name", "rank", "need_covered", "total_need_covered"]].values.tolist() == [
        ["C", "Chapel", 1, 2000.0, 2000.0]
    ]
    assert sites.loc[0, "leave_moderate"] == 1 and sites.loc[0, "need_in_gaps_after"] == 0.0
    scenario = tmp_path / "suggestions_scenario.csv"
    again = tmp_path / "again.csv"
    assert main(["analyse", *_args(files), "--scenario", str(scenario), "--out", str(again)]) == 0
    assets = pd.read_csv(tmp_path / "again_assets.csv").set_index("asset_id")
    assert assets.loc["proposed:C", "proposed"] and assets.loc["proposed:C", "reach"] == "1.2 km"


def test_suggest_errors_are_clear(files, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["suggest", *_args(files), "--category", "dementia", "--k", "9", "--out", str(out)]) == 2
    assert "k = 9 is more than the 3 candidate sites inside the region" in capsys.readouterr().err
    assert main(["suggest", *_args(files), "--category", "dementia", "--community", "x", "--out", str(out)]) == 2
    assert "unknown community 'x'" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"name": ["Library"], "latitude": [53.4], "longitude": [-2.2]}).to_csv(bad, index=False)
    argv = ["suggest", *_args(files), "--category", "dementia", "--candidates", str(bad), "--out", str(out)]
    assert main(argv) == 2
    assert "cannot find the site id column" in capsys.readouterr().err


def test_suggest_is_its_own_module_and_every_scenario_flag_is_there():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps sub-parsers here
    assert commands["suggest"].get_default("handler").__module__ == "coverage_map.commands.suggest"
    for name in ("analyse", "report", "export-map"):
        assert "--scenario" in commands[name]._option_string_actions


def test_report_with_a_scenario_has_a_what_if_section(files, scenario, tmp_path):
    out = tmp_path / "report.html"
    argv = ["report", *_args(files), "--level", "area", "--priorities", "dementia", "--no-maps",
            "--scenario", str(scenario), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = " ".join(out.read_text(encoding="utf-8").split())
    assert "What if: proposed services" in text
    assert "New Memory Café <span class='proposed'>proposed</span>" in text
    # Moderate: 1 before (Area C), 0 after; people in need living in a gap: 2,000 before, 0 after.
    assert "<tr><td>Moderate gap</td><td class='num'>1</td><td class='num'>0</td></tr>" in text
    assert "severe or moderate gap: 2,000 before, 0 after" in text


def test_the_print_map_draws_proposed_services_apart_with_a_label():
    from coverage_map.dataset import Dataset
    from coverage_map.outputs.export_map import MapRequest, print_figure
    from coverage_map.scenario import proposed_assets, with_proposed

    dataset = Dataset.from_inputs(hb.inputs())
    cafe = proposed_assets([{"name": "New Memory Café", "category": "dementia", "x": hb.X0 + 2500, "y": hb.Y0 + 500}],
                           dataset.inputs.taxonomy)  # fmt: skip
    after = Dataset(with_proposed(dataset.prepared, cafe))
    request = MapRequest(category="dementia", level="area")
    before_figure, figure = print_figure(dataset, request), print_figure(after, request)
    # The map's own traces keep their indices and hold the real services only; the proposed one comes after.
    assert len(figure.data) == len(before_figure.data) + 2
    real = [trace for trace in figure.data[3:6]]
    assert sum(len(trace.lon) for trace in real) == sum(len(trace.lon) for trace in before_figure.data[3:6]) == 2
    assert figure.data[-1].name == "Proposed service (what if) (1)" and len(figure.data[-1].lon) == 1
    assert any("Proposed: New Memory Café" in (note.text or "") for note in figure.layout.annotations)
