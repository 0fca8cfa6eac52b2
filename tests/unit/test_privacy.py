"""Small-number suppression at every exit, formula-safe CSVs, and logs free of record-level data.

The hand-built data (see :mod:`handbuilt`) has area C with 3 dementia referrals (BAME
community; 1 in January, 2 in February), area A with 12 and area B with 8. Suppression
publishes C as "fewer than 8" and A and B as 10. Each exit is checked two ways:

* a hand-worked check that the small count never appears as a referral figure;
* *invariance*: two data sets whose true counts differ but publish the same (C: 3 or 6
  referrals, both "fewer than 8"; B: 8 or 11, both "10") must give byte-identical
  outputs. Any figure derived from a true count (a rate, a score, an over-capacity flag,
  an order) breaks this, so it catches leaks nobody thought to list.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import re
from pathlib import Path

import handbuilt
import numpy as np
import pandas as pd
import plotly
import pytest

from callbacks import layout
from callbacks.registry import Registry
from callbacks.settings import Settings
from callbacks.state import ViewState
from callbacks.views import area_details, build_map, gap_rows, organisation_rows, table_csv
from coverage_map import cli
from coverage_map.analysis import published_assets, published_table
from coverage_map.dataset import Dataset
from coverage_map.outputs import figures
from coverage_map.outputs.classes import METRICS
from coverage_map.outputs.tables import neutralise_formula, write_any
from coverage_map.spec import InputSpec

ROOT = Path(__file__).resolve().parents[2]
SMALL = {str(n) for n in range(1, 8)}


# --------------------------------------------------------------------------- data


def _inputs(*, c_last: int = 1, b_count: int = 8, a1_capacity: float = 2.0, a2_capacity: float = 3.0):
    """Hand-built inputs with C's last referral, B's count and two capacities adjustable.

    C's three referrals go to asset a1 (so a1 receives a small number too) and a2
    receives B's; with capacities 2 and 3 a month the true pressures cross 1 inside a
    suppression or rounding bucket, which is where derived figures would leak.
    """
    base = handbuilt.inputs()
    referrals = base.referrals.copy()
    c_rows = referrals.index[(referrals["origin_area_id"] == "C") & (referrals["category"] == "dementia")]
    referrals.loc[c_rows, "asset_id"] = "a1"
    referrals.loc[c_rows[-1], "count"] = c_last
    referrals.loc[(referrals["origin_area_id"] == "B") & (referrals["category"] == "dementia"), "count"] = b_count
    assets = base.assets.copy()
    assets.loc[assets["asset_id"] == "a1", "capacity"] = a1_capacity
    assets.loc[assets["asset_id"] == "a2", "capacity"] = a2_capacity
    return dataclasses.replace(base, referrals=referrals, assets=assets)


def _dataset(**changes: float) -> Dataset:
    return Dataset.from_inputs(_inputs(**changes), label="Hand-built")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base() -> Dataset:
    return _dataset()


VARIANTS = {
    "suppressed count 3 -> 6": {"c_last": 4},  # C: 1 + 1 + 4 = 6, still "fewer than 8"; a1 pressure 0.75 -> 1.5
    "rounded count 8 -> 9": {"b_count": 9},  # B: 9, still 10 (and N1, B1: 21, still 20); a2 pressure 1.33 -> 1.5
}


def _true_counts_differ(one: Dataset, other: Dataset) -> bool:
    return not one.analysis("area").table["referrals"].equals(other.analysis("area").table["referrals"])


# --------------------------------------------------------------------------- what each exit shows


def _registry(dataset: Dataset, tmp_path: Path) -> Registry:
    return Registry(dataset, Settings(data_dir=tmp_path))


def _json(value: object) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


def _dashboard_outputs(dataset: Dataset, tmp_path: Path) -> dict[str, str]:
    """Everything the dashboard sends for a range of views, as text."""
    registry = _registry(dataset, tmp_path)
    loaded = registry.get(None)
    out: dict[str, str] = {}
    for level in dataset.levels:
        for community in ("all", "bame"):
            for metric in METRICS:
                state = ViewState(level=level, category="dementia", community=community, metric=metric)
                out[f"map {level} {community} {metric}"] = build_map(registry, loaded, state, basemap=None).to_json()
            state = ViewState(level=level, category="dementia", community=community, metric="referrals_per_10k")
            out[f"gaps {level} {community}"] = _json(gap_rows(dataset, state))
            out[f"csv {level} {community}"] = table_csv(dataset, state)[1].decode("utf-8")
            for unit in dataset.units(level)["area_id"].astype(str):
                details = area_details(registry, loaded, state, unit)
                out[f"details {level} {community} {unit}"] = _json(layout.render_details(details))
    out["organisations"] = _json(organisation_rows(dataset, ViewState(level="area", category="dementia")))
    return out


def _file_outputs(dataset: Dataset) -> dict[str, str]:
    """The print map figures, the HTML export and the report, as text (random element ids removed)."""
    from coverage_map.findings import key_findings, parse_priorities
    from coverage_map.outputs.attribution import credits_for
    from coverage_map.outputs.export_map import MapRequest, print_figure
    from coverage_map.outputs.html_map import interactive_map
    from coverage_map.outputs.report import render_html

    out: dict[str, str] = {}
    for metric in ("tier", "referrals_per_10k", "pressure", "gap_score"):
        request = MapRequest(category="dementia", community="all", metric=metric, level="area", labels=True)
        out[f"print {metric}"] = print_figure(dataset, request).to_json()
        page = interactive_map(dataset, categories=["dementia"], metric=metric, level="area", inline=False)
        out[f"html {metric}"] = re.sub(r"_[0-9a-f]{32}", "_ID", page.get_root().render())
    priorities = parse_priorities(["dementia", "dementia/bame"], dataset)
    findings = key_findings(dataset, priorities, level="area")
    out["findings"] = _json([f.text for f in findings])
    out["report"] = render_html(
        dataset, priorities, findings, images={}, level="area", place=None, credits=credits_for(dataset)
    )
    return out


# --------------------------------------------------------------------------- invariance


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_published_tables_depend_only_on_published_counts(base: Dataset, variant: str) -> None:
    other = _dataset(**VARIANTS[variant])
    assert _true_counts_differ(base, other)
    for level in base.levels:
        pd.testing.assert_frame_equal(published_table(base.analysis(level)), published_table(other.analysis(level)))
    pd.testing.assert_frame_equal(published_assets(base.analysis("area")), published_assets(other.analysis("area")))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_dashboard_outputs_depend_only_on_published_counts(base: Dataset, variant: str, tmp_path: Path) -> None:
    other = _dataset(**VARIANTS[variant])
    first, second = _dashboard_outputs(base, tmp_path / "a"), _dashboard_outputs(other, tmp_path / "b")
    assert first.keys() == second.keys()
    for key in first:
        assert first[key] == second[key], key


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_exports_and_report_depend_only_on_published_counts(base: Dataset, variant: str) -> None:
    other = _dataset(**VARIANTS[variant])
    first, second = _file_outputs(base), _file_outputs(other)
    for key in first:
        assert first[key] == second[key], key


def test_over_capacity_comes_from_the_published_pressure(base: Dataset) -> None:
    """a1 gets 3 referrals in 2 months for 1 place a month: truly over, but the count is hidden."""
    other = _dataset(a1_capacity=1.0)
    true = other.analysis("area").assets.set_index("asset_id")
    assert bool(true.loc["a1", "over_capacity"]) and true.loc["a1", "referrals"] == 3
    published = published_assets(other.analysis("area")).set_index("asset_id")
    assert bool(published.loc["a1", "referrals_suppressed"])
    assert not bool(published.loc["a1", "over_capacity"]) and pd.isna(published.loc["a1", "pressure"])
    rows = {row["asset_id"]: row for row in organisation_rows(other, ViewState(level="area", category="dementia"))}
    assert rows["a1"]["referrals"] == "fewer than 8" and not rows["a1"]["over_capacity"]


def test_published_tier_comes_from_published_counts() -> None:
    """B sends 7 dementia referrals over 2 months (3.5 a month) against a capacity of 3: truly
    over capacity, which puts B on watch. Published, 7 is suppressed, so nothing may say "over
    capacity" (it would tell 7 from 1..5) and the published tier is the one access alone gives:
    B's dementia access is 1.35 times the region's average, so no gap.
    """
    dataset = _dataset(b_count=7)
    key = ("B", "dementia", "all")
    true = dataset.analysis("area").table.set_index(["area_id", "category", "community"]).loc[key]
    shown = published_table(dataset.analysis("area")).set_index(["area_id", "category", "community"]).loc[key]
    assert true["referrals"] == 7 and pd.isna(shown["referrals"])
    assert "over_capacity" in true["gap_reasons"] and true["tier"] == "watch"
    assert "over_capacity" not in shown["gap_reasons"] and shown["tier"] == "none"
    assert shown["access_ratio"] == pytest.approx(true["access_ratio"], abs=1e-3)


# --------------------------------------------------------------------------- hand-worked: 3 never shows


def _referral_cells(text: str) -> list[str]:
    """Every value that is shown as a referral count in CSV text."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return [row["referrals"] for row in rows if "referrals" in row]


def test_area_c_reads_fewer_than_8_at_every_dashboard_exit(base: Dataset, tmp_path: Path) -> None:
    registry = _registry(base, tmp_path)
    loaded = registry.get(None)
    state = ViewState(level="area", category="dementia", community="bame", metric="referrals_per_10k", area="C")
    figure = build_map(registry, loaded, state, basemap=None)
    hover = dict(zip(figure.data[0].locations, figure.data[0].customdata, strict=True))
    assert hover["C"][0] == "suppressed (fewer than 8 referrals)"
    assert hover["C"][4] == "fewer than 8"
    assert all(values[4] not in SMALL for values in hover.values())
    details = area_details(registry, loaded, state, "C")
    assert details is not None and details.metric_text.startswith("suppressed")
    trend = details.trend
    assert trend is not None and list(trend.data[0].y) == [0, 0]  # Jan 1, Feb 2: both hidden
    assert not SMALL & {str(v) for v in trend.data[0].customdata}
    for level in base.levels:
        view = ViewState(level=level, category="dementia", community="bame")
        cells = _referral_cells(table_csv(base, view)[1].decode())
        assert cells and not SMALL & set(cells)
        assert all(int(cell) % 5 == 0 for cell in cells if cell)
    c_csv = {row["area_id"]: row for row in csv.DictReader(io.StringIO(
        table_csv(base, ViewState(level="area", category="dementia", community="bame"))[1].decode()))}  # fmt: skip
    assert c_csv["C"]["referrals"] == "" and c_csv["C"]["referrals_per_10k"] == "" and c_csv["C"]["pressure"] == ""
    organisations = organisation_rows(base, ViewState(level="area", category="dementia"))
    assert {row["asset_id"]: row["referrals"] for row in organisations}["a1"] == "fewer than 8"


def test_cli_outputs_are_suppressed_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = handbuilt.write_files(tmp_path)
    out = tmp_path / "out" / "gaps.csv"
    args = [f"--{role}={path}" for role, path in paths.items()]
    assert cli.main(["analyse", *args, "--level", "area", f"--out={out}"]) == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    c = table[(table["area_id"] == "C") & (table["category"] == "dementia")]
    assert set(c["referrals"]) == {""} and set(c["referrals_suppressed"]) == {"True"}
    assert not SMALL & set(table["referrals"])
    assets = pd.read_csv(out.with_name("gaps_assets.csv"), dtype=str, keep_default_na=False)
    assert not SMALL & set(assets["referrals"])
    assert "SECRET-REF" not in capsys.readouterr().out


def test_trend_hides_a_second_month_when_one_alone_is_suppressed() -> None:
    """Jan 20, Feb 3, Mar 15 and a published total of 40 (38 true): Feb = 40 - 20 - 15 = 5, near enough.

    So Mar (the smallest other non-zero month) is hidden too.
    """
    months = pd.period_range("2026-01", "2026-03", freq="M")
    figure = figures.referral_trend_figure(pd.Series([20, 3, 15], index=months))
    bars = figure.data[0]
    assert list(bars.y) == [20, 0, 0]
    assert list(bars.customdata) == ["20", "fewer than 8", "suppressed (protects a small month)"]
    assert list(figure.data[1].x) == ["Feb 2026", "Mar 2026"]
    shown = [str(v) for trace in figure.data for key in ("y", "customdata", "text") for v in (trace[key] or [])]
    assert "15" not in shown
    # Two months suppressed already protect each other; a zero month reveals nothing.
    figure = figures.referral_trend_figure(pd.Series([20, 3, 2], index=months))
    assert list(figure.data[0].y) == [20, 0, 0] and list(figure.data[1].x) == ["Feb 2026", "Mar 2026"]
    figure = figures.referral_trend_figure(pd.Series([0, 3, 0], index=months))
    assert list(figure.data[0].customdata) == ["0", "fewer than 8", "0"]
    # Without a published total nothing more is hidden.
    figure = figures.referral_trend_figure(pd.Series([20, 3, 15], index=months), protect_total=False)
    assert list(figure.data[0].y) == [20, 0, 15]


# --------------------------------------------------------------------------- CSV formula injection

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_write_any_neutralises_every_formula_start(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": HOSTILE + ["-1.5", "fine"], "number": np.arange(8) - 3})
    write_any(frame, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = [row["name"] for row in rows]
    assert names[:6] == ["'" + value for value in HOSTILE]
    assert names[6:] == ["-1.5", "fine"]  # a plain number stays a number
    assert [row["number"] for row in rows] == [str(n) for n in range(-3, 5)]
    assert neutralise_formula("=1") == "'=1" and neutralise_formula(3) == 3


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row(tmp_path: Path) -> None:
    """Unquoted, ``ok<CR>=1+1`` reads in a spreadsheet as a row ``ok`` and a row with the formula ``=1+1``."""
    write_any(pd.DataFrame({"name": ["ok\r=1+1", "fine"], "n": [1, 2]}), tmp_path / "out.csv")
    raw = (tmp_path / "out.csv").read_bytes()
    assert b'"ok\r=1+1"' in raw
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["ok\r=1+1", "fine"]
    # Every line break outside quotes is a row break: a bare CR never stands alone.
    outside = re.sub(rb'"(?:[^"]|"")*"', b"", raw)
    assert outside.count(b"\r") == outside.count(b"\r\n") == 3


def _hostile_dataset() -> Dataset:
    base = handbuilt.inputs()
    areas = base.areas.copy()
    areas["area_name"] = HOSTILE[:3]
    assets = base.assets.copy()
    assets["name"] = HOSTILE[3:] + ["=cmd|' /C calc'!A0"]
    lookup = base.lookup.copy()
    lookup["borough_name"] = ["@evil", "@evil", "-evil"]
    return Dataset.from_inputs(dataclasses.replace(base, areas=areas, assets=assets, lookup=lookup))


def _assert_no_formula_cell(text: str) -> None:
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-[^0-9.]", cell), cell


def test_dashboard_csv_download_neutralises_formulas() -> None:
    dataset = _hostile_dataset()
    for level in dataset.levels:
        name, content = table_csv(dataset, ViewState(level=level, category="dementia"))
        text = content.decode("utf-8")
        _assert_no_formula_cell(text)
        if level == "area":
            assert "'=HYPERLINK" in text and "'+1+2" in text


def test_cli_csv_outputs_neutralise_formulas(tmp_path: Path) -> None:
    paths = handbuilt.write_files(tmp_path)
    assets = pd.read_csv(paths["assets"], dtype=str, keep_default_na=False)
    assets["name"] = HOSTILE[:4]
    assets.to_csv(paths["assets"], index=False)  # an input file: the hostile content is the point
    with open(paths["referrals"], "a", encoding="utf-8") as handle:
        handle.write("SECRET-REF-99,2026-02-01,dementia,,A,,,,=1+1\n")  # rejected: count is a formula
    out = tmp_path / "out" / "gaps.csv"
    args = [f"--{role}={path}" for role, path in paths.items()]
    assert cli.main(["analyse", *args, "--level", "area", f"--out={out}"]) == 0
    written = sorted(out.parent.glob("*.csv"))
    assert {p.name for p in written} == {"gaps.csv", "gaps_assets.csv", "gaps_rejected.csv"}
    for path in written:
        _assert_no_formula_cell(path.read_text(encoding="utf-8"))
    assert "'=HYPERLINK" in (out.parent / "gaps_assets.csv").read_text(encoding="utf-8")
    assert "'=1+1" in (out.parent / "gaps_rejected.csv").read_text(encoding="utf-8")


def test_every_csv_writer_goes_through_write_any() -> None:
    """No module writes CSV itself: ``to_csv``/``csv.writer`` live only in :func:`coverage_map.outputs.tables.write_any`.

    ``coverage_map/demo/write.py`` and ``coverage_map/demo/venues.py`` write the synthetic demo's *input*
    files from generated values (no visitor or user text), with their own number format; they are the
    exceptions.
    """
    allowed = {Path("coverage_map/outputs/tables.py"), Path("coverage_map/demo/write.py"),
               Path("coverage_map/demo/venues.py")}  # fmt: skip
    offenders = []
    for folder in ("coverage_map", "callbacks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if re.search(r"\.to_csv\(|csv\.(writer|DictWriter)\(", text) and path.relative_to(ROOT) not in allowed:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


# --------------------------------------------------------------------------- logs

SECRETS = re.compile(r"SECRET-REF-\d+|53\.40742|-2\.26320|2026-0[12]-\d\d")


def test_loading_and_validation_log_no_record_level_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = handbuilt.write_files(tmp_path)
    with open(paths["referrals"], "a", encoding="utf-8") as handle:
        handle.write("SECRET-REF-1,2026-02-11,dementia,bame,C,,,,1\n")  # repeated id
        handle.write("SECRET-REF-90,2026-99-11,dementia,,,53.4074252x,-2.2632027,,1\n")  # bad date and latitude
        handle.write("SECRET-REF-91,2026-02-03,dementia,,,91.4074252,-2.2632027,,1\n")  # latitude out of range
        handle.write("SECRET-REF-92,2026-02-04,dementia,,ZZZ,,,,1\n")  # unknown area
    caplog.set_level(logging.DEBUG)
    args = [f"--{role}={path}" for role, path in paths.items()]
    assert cli.main(["validate", *args]) == 0
    out = tmp_path / "out" / "gaps.csv"
    assert cli.main(["analyse", *args, f"--out={out}"]) == 0
    dataset = Dataset.from_spec(InputSpec.from_mapping(paths))
    problems = [str(p) for p in dataset.analysis("area").problems]
    captured = capsys.readouterr()
    text = "\n".join([captured.out, captured.err, caplog.text, *problems,
                      (out.parent / "gaps_rejected.csv").read_text(encoding="utf-8")])  # fmt: skip
    assert "rejected" in text and "row" in text  # the problems were reported...
    assert not SECRETS.findall(text)  # ...without ids, coordinates or dates


def test_gunicorn_access_log_holds_no_record_level_data(tmp_path: Path) -> None:
    """A short session against gunicorn (as deployed): its access and error logs stay clean."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    paths = handbuilt.write_files(tmp_path)
    config = tmp_path / "dashboard.toml"
    config.write_text("[data]\n" + "".join(f'{role} = "{path.name}"\n' for role, path in paths.items()),
                      encoding="utf-8")  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = dict(os.environ, COVERAGE_MAP_CONFIG=str(config), COVERAGE_MAP_DATA_DIR=str(tmp_path / "uploads"))
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
               "--access-logfile", str(log), "--error-logfile", str(log), "--log-level", "debug",
               "callbacks.wsgi:server"]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base_url + "/_dash-layout", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        urllib.request.urlopen(base_url + "/?level=area&category=dementia&area=C", timeout=10).read()
        body = json.dumps({
            "output": "area-details.children", "outputs": {"id": "area-details", "property": "children"},
            # The details panel listens to the gate's store (callbacks/gates.py), which the page fills with the view.
            "inputs": [{"id": "details-view", "property": "data", "value": {
                "area": "C", "level": "area", "category": "dementia", "community": "bame",
                "metric": "referrals_per_10k", "token": None, "whatif": None}}],
            "changedPropIds": ["details-view.data"], "state": [],
        }).encode()  # fmt: skip
        request = urllib.request.Request(base_url + "/_dash-update-component", data=body,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        answer = urllib.request.urlopen(request, timeout=20).read().decode()
        assert "fewer than 8" in answer or "suppressed" in answer
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert "/_dash-update-component" in text  # the access log was written
    assert not SECRETS.findall(text)
