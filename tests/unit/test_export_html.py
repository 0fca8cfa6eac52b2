"""The interactive HTML map: layers, escaping, self-containment, and a real-browser check that nothing runs."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import handbuilt
import pytest

from coverage_map.dataset import Dataset
from coverage_map.outputs.html_map import esc, export_html
from coverage_map.taxonomy import display_name

EVIL = '<img src=x onerror="window.__xss=1">${window.__xss=2}`<script>window.__xss=3</script>'


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    inputs = handbuilt.inputs()
    assets = inputs.assets.copy()
    assets.loc[0, "name"] = EVIL  # a1, the dementia café in area A
    areas = inputs.areas.copy()
    areas.loc[2, "area_name"] = "<b>Area</b> C & co"
    dataset = Dataset.from_inputs(replace(inputs, assets=assets, areas=areas))
    out = tmp_path_factory.mktemp("html") / "map.html"
    result = export_html(dataset, out, category="dementia", level="area")
    return result, out.read_text(encoding="utf-8"), dataset


def test_one_layer_per_category(exported):
    result, text, dataset = exported
    assert len(result.layers) == len(dataset.categories)
    for category in dataset.categories:
        assert f'"{esc(display_name(category))}"' in text  # the layer control's entry
    assert "L.control.layers" in text
    assert text.count("L.markerClusterGroup(") == len(dataset.categories)


def test_data_text_is_escaped(exported):
    _, text, _ = exported
    assert "<img src=x" not in text
    assert "<script>window.__xss" not in text
    assert "${window.__xss" not in text
    assert esc(EVIL) in text
    # folium writes GeoJSON with "&" as \\u0026: the tooltip receives the escaped entity text
    assert "<b>Area</b>" not in text
    assert "\\u0026lt;b\\u0026gt;Area\\u0026lt;/b\\u0026gt; C \\u0026amp; co" in text


def test_self_contained_and_attributed(exported):
    result, text, _ = exported
    assert result.inline
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=[\"']https?:", text)
    assert "tile.openstreetmap" not in text
    assert "Referral counts of 1–7 are suppressed" in text
    assert "Source: data supplied by the user" in text


def test_gap_areas_are_styled_thick(exported, tmp_path):
    _, text, dataset = exported
    # area C is the dementia gap: by tier (the default) an ink outline over the tiers' pinks, 3.5 px
    assert '"color": "#111111"' in text and '"weight": 3.5' in text
    assert '"color": "#ff2d87"' not in text
    # over classes of another metric, the dashboard's pink
    other = export_html(dataset, tmp_path / "score.html", categories=["dementia"], metric="gap_score", level="area")
    assert '"color": "#ff2d87"' in other.path.read_text(encoding="utf-8")


def test_colours_legend_and_popups_follow_the_tiers(exported):
    from coverage_map.outputs.classes import TIER_COLOURS

    _, text, dataset = exported
    table = dataset.table("area")
    rows = table[(table["category"] == "dementia") & (table["community"] == "all")]
    counts = rows["tier"].value_counts()
    labels = {"severe": "Severe gap", "moderate": "Moderate gap", "watch": "Watch", "none": "No gap",
              "no_data": "Not in the directory"}  # fmt: skip
    position = dataset.categories.index("dementia")
    legend = text.split(f'data-layer="{position}"')[1].split("</div></div>")[0]
    for tier, label in labels.items():
        assert f"{label} ({counts.get(tier, 0)})" in legend
    # each unit: fill by tier, and the tier, access, need and reasons in words for the tooltip and popup
    import json

    shown = [json.loads(match) for match in re.findall(r'"properties": (\{"access".*?"why": "[^"]*"\})', text)]
    first = dataset.categories.index("dementia") * len(rows)  # the layers come in the categories' order
    by_name = {html.unescape(p["name"]): p for p in shown[first : first + len(rows)]}
    for row in rows.itertuples():
        properties = by_name[html.unescape(esc(row.area_name))]
        assert properties["tier"] == properties["value"] == labels[row.tier]
        assert html.unescape(properties["access"]) == f"{float(row.access_ratio):.0%} of the region's average"
        assert properties["need"] == f"{float(row.need):,.0f}"
        assert properties["unmet"] == f"{float(row.unmet_need):,.0f}"
        assert properties["style"]["fillColor"] == TIER_COLOURS[row.tier]
    assert by_name["<b>Area</b> C & co"]["why"] == "low access for the need"
    assert "bindPopup" in text and "bindTooltip" in text
    assert "Severe gap: access under 50% of the region" in text


PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var out = {markers: 0, popup: ""};
    var map = null;
    for (var key in window) {
      var value = window[key];
      if (value instanceof L.Map) { map = value; }
    }
    for (var key in window) {
      var value = window[key];
      if (value instanceof L.CircleMarker && value.getPopup()) {
        out.markers += 1;
        var content = value.getPopup().getContent();
        var text = content.textContent || String(content);
        if (text.indexOf("onerror") >= 0) {
          L.popup().setLatLng(value.getLatLng()).setContent(content).openOn(map);
          var shown = document.querySelector(".leaflet-popup-content");
          out.popup = shown ? shown.textContent : "";
          out.images = shown ? shown.querySelectorAll("img").length : -1;
        }
      }
    }
    out.xss = window.__xss === undefined ? "none" : String(window.__xss);
    var probe = document.createElement("pre");
    probe.id = "probe";
    probe.textContent = JSON.stringify(out);
    document.body.appendChild(probe);
  }, 300);
});
</script>
"""


@pytest.mark.browser
def test_nothing_runs_in_a_real_browser(exported, tmp_path: Path):
    import json

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("no Chromium")
    _, text, _ = exported
    page = tmp_path / "probe.html"
    page.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert match, result.stderr[-2000:]
    probe = json.loads(html.unescape(match.group(1)))
    assert probe["xss"] == "none"
    assert probe["markers"] >= 2  # dementia: a1 and a2 (other layers add theirs)
    assert probe["images"] == 0
    assert EVIL in probe["popup"]  # shown as text, exactly as it is in the data
