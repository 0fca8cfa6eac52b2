"""The map and chart figures: classes, legend labels, escaping, gap outline and suppression."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings

import geopandas as gpd
import handbuilt
import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
import shapely

from coverage_map.dataset import Dataset
from coverage_map.geojson import SharedGeoJSON, geojson_bounds, share_geojson, subset_geojson, units_geojson
from coverage_map.outputs import figures
from coverage_map.outputs.classes import METRICS, classify, fisher_jenks_bins, goodness_of_variance_fit

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    inputs = handbuilt.inputs()
    areas = inputs.areas.copy()
    areas.loc[areas["area_id"] == "A", "area_name"] = HOSTILE
    assets = inputs.assets.copy()
    assets.loc[assets["asset_id"] == "a1", "name"] = "<b>Memory</b> & Café"
    return Dataset.from_inputs(dataclasses.replace(inputs, areas=areas, assets=assets), label="Hand")


@pytest.fixture(scope="module")
def geojson(dataset: Dataset) -> dict:
    return units_geojson(dataset.units_wgs84("area"))


def view_of(dataset: Dataset, category: str = "dementia", community: str = "all", level: str = "area") -> pd.DataFrame:
    table = dataset.table(level)
    return table[(table["category"] == category) & (table["community"] == community)].reset_index(drop=True)


def asset_frame(dataset: Dataset) -> pd.DataFrame:
    points = dataset.inputs.assets.to_crs("EPSG:4326")
    return pd.DataFrame(points.drop(columns="geometry")).assign(lon=points.geometry.x, lat=points.geometry.y)


# --------------------------------------------------------------------------- classify


def test_quantiles_put_equal_counts_in_each_class_with_unit_labels() -> None:
    values = pd.Series([float(v) for v in range(1, 11)])
    classes = classify(values, scheme="quantiles", k=5, metric="nearest_km")
    # 20th, 40th... percentiles of 1..10 by linear interpolation: 1 + 0.2 * 9 = 2.8, 4.6, 6.4, 8.2, 10
    assert classes.breaks == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    assert classes.index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert classes.labels == ["1.0 – 2.8 km", "2.8 – 4.6 km", "4.6 – 6.4 km", "6.4 – 8.2 km", "8.2 – 10.0 km"]
    assert len(classes.colours) == 5


def test_missing_values_are_no_data() -> None:
    values = pd.Series([0.1, None, 0.9, np.nan], dtype="Float64")
    classes = classify(values, k=2)
    assert classes.index.tolist() == [0, -1, 1, -1]


def test_fewer_distinct_values_than_classes_makes_fewer_classes_without_warning() -> None:
    classes = classify(pd.Series([0.0, 0.0, 0.0, 1.0, 1.0]), k=5)
    assert len(classes.breaks) == 2
    assert classes.index.tolist() == [0, 0, 0, 1, 1]
    skewed = classify(pd.Series([0.0] * 100 + [1.0, 2.0, 3.0, 4.0, 5.0]), k=5)
    assert len(skewed.breaks) == len(set(skewed.breaks)) < 5


def test_single_value_and_all_missing() -> None:
    assert classify(pd.Series([3.0, 3.0])).labels == ["3.00"]
    empty = classify(pd.Series([np.nan, np.nan]))
    assert empty.breaks == [] and empty.index.tolist() == [-1, -1]


def test_natural_breaks_find_obvious_groups_deterministically() -> None:
    values = pd.Series([1.0, 1.1, 1.2, 10.0, 10.1, 20.0, 20.2])
    first = classify(values, scheme="natural_breaks", k=3, metric="provision_per_10k")
    again = classify(values, scheme="natural_breaks", k=3, metric="provision_per_10k")
    assert first.breaks == pytest.approx([1.2, 10.1, 20.2])
    assert (first.breaks, first.labels, first.index.tolist()) == (again.breaks, again.labels, again.index.tolist())
    assert first.labels[0].endswith("per 10k")


def test_share_labels_are_percentages() -> None:
    classes = classify(pd.Series([0.0, 0.5, 1.0]), k=2, metric="share_within_km")
    assert classes.labels == ["0% – 50%", "50% – 100%"]


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_darker_is_worse_in_both_directions() -> None:
    worse_high = classify(pd.Series([1.0, 2.0, 3.0]), k=3, metric="nearest_km").colours
    worse_low = classify(pd.Series([1.0, 2.0, 3.0]), k=3, metric="provision_per_10k").colours
    assert _luminance(worse_high[0]) > _luminance(worse_high[-1])  # far (high) is dark
    assert _luminance(worse_low[0]) < _luminance(worse_low[-1])  # low provision is dark


def test_unknown_scheme_or_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        classify(pd.Series([1.0]), scheme="equal")
    with pytest.raises(ValueError, match="metric"):
        classify(pd.Series([1.0]), metric="nope")


def test_metrics_table_is_complete() -> None:
    assert set(METRICS) == {
        "tier", "access_ratio", "access_per_10k", "gap_score", "provision_per_10k", "nearest_km", "share_within_km",
        "referrals_per_10k", "pressure",
    }  # fmt: skip
    assert {k for k, m in METRICS.items() if m.from_referrals} == {"referrals_per_10k", "pressure"}
    assert {k for k, m in METRICS.items() if m.categorical} == {"tier"}
    # the shortfall is worse when high; access is worse when low
    assert METRICS["gap_score"].higher_is_worse and not METRICS["access_ratio"].higher_is_worse


def test_gap_score_is_the_shortfall_against_the_average(dataset: Dataset) -> None:
    # gap method 2: gap_score = 1 - min(access_ratio, 1), within [0, 1], empty where the category is not listed
    table = dataset.table("area")
    listed = table[table["tier"] != "no_data"]
    ratio = listed["access_ratio"].astype(float)
    known = ratio.notna() & (listed["need"].astype(float) > 0)
    expected = (1 - ratio[known].clip(upper=1)).round(3)
    assert listed.loc[known, "gap_score"].astype(float).to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-3)
    assert listed["gap_score"].dropna().between(0, 1).all()
    assert table.loc[table["tier"] == "no_data", "gap_score"].isna().all()


def test_tier_map_is_coloured_by_category_with_labels(dataset: Dataset, geojson: dict) -> None:
    from coverage_map.outputs.classes import TIER_COLOURS

    view = view_of(dataset)  # dementia, all: A and B have no gap, C is a moderate gap
    figure = figures.map_figure(view, geojson, metric="tier")
    choropleth = figure.data[figures.CHOROPLETH]
    assert list(choropleth.colorbar.ticktext) == [
        "Not in the directory", "No gap", "Watch", "Moderate gap", "Severe gap",
    ]  # fmt: skip
    bands = [colour for position, colour in choropleth.colorscale[::2]]
    assert bands == [figures.NO_DATA_COLOUR, *(TIER_COLOURS[t] for t in ("none", "watch", "moderate", "severe"))]
    assert dict(zip(view["area_id"], choropleth.z, strict=True)) == {"A": 1, "B": 1, "C": 3}
    hover = {row[0] for row in choropleth.customdata}
    assert hover == {"No gap", "Moderate gap"}
    # a category no service lists: every unit is "not in the directory"
    housing = figures.map_figure(view_of(dataset, "housing"), geojson, metric="tier").data[0]
    assert list(housing.z) == [0, 0, 0]


def test_equity_figure_draws_one_bar_per_decile() -> None:
    deciles = pd.DataFrame({"imd_decile": [1, 5, 10], "need": [10.0, 20, 10], "need_share": [0.25, 0.5, 0.25],
                            "mean_access": [1.5, 2.0, 3.0]})  # fmt: skip
    figure = figures.equity_figure(deciles, title="Dementia <b>x</b>")
    (bar,) = figure.data
    assert list(bar.x) == ["1 (most deprived)", "5", "10 (least deprived)"]
    assert list(bar.y) == [1.5, 2.0, 3.0]
    assert "<b>x</b>" not in figure.layout.title.text and "&lt;b&gt;x&lt;/b&gt;" in figure.layout.title.text
    assert "25% of the need" in bar.customdata[0]


# --------------------------------------------------------------------------- geometry


def test_units_geojson_ids_rounding_and_simplification() -> None:
    # A 1 km box with 400 collinear-ish vertices along its edges: simplification drops them.
    ring = [(380_000 + x, 390_000) for x in np.linspace(0, 1000, 200)] + [
        (381_000, 391_000), (380_000, 391_000)
    ]  # fmt: skip
    units = gpd.GeoDataFrame(
        {"area_id": ["P", "Q"], "area_name": ["P", "Q"]},
        geometry=[shapely.Polygon(ring), shapely.box(381_000, 390_000, 382_000, 391_000)],
        crs="EPSG:27700",
    )
    collection = units_geojson(units, tolerance_m=25, precision=5)
    assert [f["id"] for f in collection["features"]] == ["P", "Q"]
    coords = collection["features"][0]["geometry"]["coordinates"][0]
    assert len(coords) < 10
    for lon, lat in coords:
        assert round(lon, 5) == lon and round(lat, 5) == lat
        assert -3 < lon < -1 and 53 < lat < 54


def test_units_geojson_refuses_duplicate_ids_and_missing_crs() -> None:
    box = shapely.box(0, 0, 1, 1)
    duplicated = gpd.GeoDataFrame({"area_id": ["X", "X"], "area_name": ["a", "b"]}, geometry=[box, box],
                                  crs="EPSG:27700")  # fmt: skip
    with pytest.raises(ValueError, match="unique"):
        units_geojson(duplicated)
    with pytest.raises(ValueError, match="CRS"):
        units_geojson(gpd.GeoDataFrame({"area_id": ["X"]}, geometry=[box]))


def test_fit_view_centres_on_bounds() -> None:
    centre, zoom = figures.fit_view((-2.4, 53.3, -2.0, 53.6))
    assert centre == pytest.approx({"lon": -2.2, "lat": 53.45})
    assert 8 < zoom < 11


# --------------------------------------------------------------------------- the map


def test_map_has_legend_with_real_breaks_and_no_data(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset)
    figure = figures.map_figure(view, geojson, metric="gap_score", k=5)
    choropleth = figure.data[figures.CHOROPLETH]
    classes = classify(view["gap_score"], k=5)
    assert list(choropleth.colorbar.ticktext) == ["No data", *classes.labels]
    assert choropleth.featureidkey == "id"
    assert list(choropleth.locations) == view["area_id"].tolist()
    ids = [f["id"] for f in choropleth.geojson["features"]]
    assert len(ids) == len(set(ids))
    assert figure.layout.map.style == "white-bg"


def test_legend_names_the_classes_and_their_fit(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset)
    figure = figures.map_figure(view, geojson, metric="access_ratio", scheme="natural_breaks", k=5)
    fit = classify(view["access_ratio"], scheme="natural_breaks", k=5, metric="access_ratio").fit
    assert fit is not None and 0 < fit <= 1
    assert f"Natural breaks, fit {fit:.2f}" in figure.data[figures.CHOROPLETH].colorbar.title.text
    tiers = figures.map_figure(view, geojson, metric="tier")
    assert "fit" not in tiers.data[figures.CHOROPLETH].colorbar.title.text


def test_map_figure_passes_plotly_validation(dataset: Dataset, geojson: dict) -> None:
    # map_figure skips plotly's slow per-element validation; this checks every property once.
    figure = figures.map_figure(
        view_of(dataset),
        geojson,
        metric="pressure",
        assets=asset_frame(dataset),
        gaps_only=True,
        title="t",
        subtitle="s",
        selected="A",
        basemap="https://x/{z}/{x}/{y}.png",
    )
    import plotly.graph_objects as go

    validated = go.Figure(figure.to_dict())
    assert len(validated.data) == 6 and validated.data[0].type == "choroplethmap"


def test_gaps_get_a_thick_outline(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset)
    figure = figures.map_figure(view, geojson, metric="gap_score")
    line = figure.data[0].marker.line
    for gap, width, colour in zip(view["gap"], line.width, line.color, strict=True):
        assert (width > 1.5) == bool(gap)
        assert (colour == figures.GAP_OUTLINE_COLOUR) == bool(gap)
    assert view["gap"].any() and not view["gap"].all()


def test_gaps_only_pales_the_rest(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset)
    figure = figures.map_figure(view, geojson, metric="gap_score", gaps_only=True)
    choropleth = figure.data[0]
    assert list(choropleth.colorbar.ticktext)[:2] == ["No data", "Not a gap"]
    for gap, code in zip(view["gap"], choropleth.z, strict=True):
        assert (code == 1) == (not gap)


def test_hover_text_is_escaped(dataset: Dataset, geojson: dict) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score", assets=asset_frame(dataset))
    text = pio.to_json(figure)
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<img" not in text and "\\u003cimg" not in text
    hovers = [t for trace in figure.data[figures.ASSETS_FIRST :] for t in trace.text]
    assert any("&lt;b&gt;Memory&lt;/b&gt; &amp; Café" in t for t in hovers)


def test_suppressed_referrals_read_fewer_than_8(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset, community="bame")
    # Area C has 1 + 1 + 1 = 3 BAME dementia referrals: suppressed.
    figure = figures.map_figure(view, geojson, metric="referrals_per_10k")
    by_area = dict(zip(figure.data[0].locations, figure.data[0].customdata, strict=True))
    assert by_area["C"][4] == "fewer than 8"
    assert by_area["C"][0].startswith("suppressed")
    assert "Suppressed or no data" in figure.data[0].colorbar.ticktext


def test_no_record_level_referral_data_in_the_figure(dataset: Dataset, geojson: dict) -> None:
    view = view_of(dataset)
    figure = figures.map_figure(view, geojson, metric="referrals_per_10k", assets=asset_frame(dataset))
    text = pio.to_json(figure)
    assert not re.search(r"2026-0[12]-\d\d", text)  # no referral dates
    by_area = dict(zip(figure.data[0].locations, figure.data[0].customdata, strict=True))
    assert by_area["A"][4] == "10"  # 12 true dementia referrals from A are published rounded to 10
    assert "12" not in [cell for row in figure.data[0].customdata for cell in row]


def test_asset_points_by_referral_status(dataset: Dataset, geojson: dict) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score", assets=asset_frame(dataset))
    accepting, not_accepting, unknown = figure.data[figures.ASSETS_FIRST : figures.ASSETS_FIRST + 3]
    assert len(accepting.lon) == 2 and len(not_accepting.lon) == 1 and len(unknown.lon) == 1
    assert "Capacity: 10 referrals a month" in "".join(accepting.text)
    assert "not stated" in not_accepting.text[0]
    hidden = figures.map_figure(view_of(dataset), geojson, metric="gap_score", assets=None)
    assert len(hidden.data) == len(figure.data)  # trace indices never change
    assert all(len(trace.lon) == 0 for trace in hidden.data[figures.HALO :])


def test_selected_unit_is_outlined(dataset: Dataset, geojson: dict) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score", selected="B")
    selected = figure.data[figures.SELECTED]
    assert list(selected.locations) == ["B"]
    assert [f["id"] for f in selected.geojson["features"]] == ["B"]
    nothing = figures.map_figure(view_of(dataset), geojson, metric="gap_score", selected="nope")
    assert list(nothing.data[figures.SELECTED].locations) == []


def test_selected_unit_outlined_from_other_boundaries(dataset: Dataset, geojson: dict) -> None:
    # A neighbourhood map with a small area selected (national scale): its outline comes from the small areas.
    neighbourhoods = units_geojson(dataset.units("neighbourhood"))
    figure = figures.map_figure(view_of(dataset, level="neighbourhood"), neighbourhoods, metric="gap_score",
                                selected="C", selected_geojson=subset_geojson(geojson, ["C"]))  # fmt: skip
    selected = figure.data[figures.SELECTED]
    assert list(selected.locations) == ["C"]
    assert selected.geojson["features"][0]["geometry"] == geojson["features"][2]["geometry"]
    assert list(figure.data[figures.CHOROPLETH].locations) == ["N1", "N2"]


@pytest.mark.parametrize(
    ("basemap", "style", "layers"),
    [
        (None, "white-bg", 0),
        ("carto-positron", "carto-positron", 0),
        ("https://t.example/{z}/{x}/{y}.png", "white-bg", 1),
    ],
)
def test_basemap_setting(dataset: Dataset, geojson: dict, basemap: str | None, style: str, layers: int) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score", basemap=basemap)
    assert figure.layout.map.style == style
    assert len(figure.layout.map.layers) == layers


def test_recolour_values_leave_out_geometry(dataset: Dataset, geojson: dict) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score")
    values = figures.recolour_patch_values(figure)
    assert "geojson" not in values[figures.CHOROPLETH] and "locations" not in values[figures.CHOROPLETH]
    assert "z" in values[figures.CHOROPLETH] and "customdata" in values[figures.CHOROPLETH]


def test_title_is_escaped(dataset: Dataset, geojson: dict) -> None:
    figure = figures.map_figure(view_of(dataset), geojson, metric="gap_score", title="A & <B>", subtitle="<i>x</i>")
    assert figure.layout.title.text == "A &amp; &lt;B&gt;"
    assert figure.layout.title.subtitle.text == "&lt;i&gt;x&lt;/i&gt;"


# --------------------------------------------------------------------------- shared boundaries


def test_shared_geojson_serialises_as_the_plain_one_and_cannot_change(geojson: dict) -> None:
    import copy

    shared = share_geojson(geojson)
    assert json.dumps(shared) == json.dumps(geojson)
    assert copy.deepcopy(shared) is shared and copy.copy(shared) is shared  # immutable: copies are itself
    assert share_geojson(shared) is shared
    for change in (lambda: shared.__setitem__("type", "x"), lambda: shared["features"][0].pop("id"),
                   lambda: shared["features"][0]["geometry"].update(type="Point"), shared.clear):  # fmt: skip
        with pytest.raises(TypeError, match="read-only"):
            change()
    with pytest.raises((TypeError, AttributeError)):
        shared["features"][0]["geometry"]["coordinates"][0].append((0.0, 0.0))  # type: ignore[union-attr]
    assert json.dumps(shared) == json.dumps(geojson)


def test_shared_subsets_and_bounds_match_the_plain_ones(geojson: dict) -> None:
    shared = share_geojson(geojson)
    for ids in (["A"], ["B", "C"], ["A", "B", "C"], [], ["nope"]):
        plain_subset = subset_geojson(geojson, ids)
        shared_subset = subset_geojson(shared, ids)
        assert isinstance(shared_subset, SharedGeoJSON)
        assert json.dumps(shared_subset) == json.dumps(plain_subset)
        assert geojson_bounds(shared_subset) == geojson_bounds(plain_subset)
    # Worked out by hand from the coordinates themselves.
    lons = [c[0] for f in geojson["features"] for ring in f["geometry"]["coordinates"] for c in ring]
    lats = [c[1] for f in geojson["features"] for ring in f["geometry"]["coordinates"] for c in ring]
    assert geojson_bounds(shared) == (min(lons), min(lats), max(lons), max(lats))


def test_map_on_shared_boundaries_is_the_map_on_plain_ones(dataset: Dataset, geojson: dict) -> None:
    options = {
        "metric": "pressure",
        "assets": asset_frame(dataset),
        "gaps_only": True,
        "title": "t",
        "subtitle": "s",
        "selected": "A",
        "uirevision": "r",
    }
    plain = figures.map_figure(view_of(dataset), geojson, **options)
    shared = figures.map_figure(view_of(dataset), share_geojson(geojson), validate=False, **options)
    assert json.loads(pio.to_json(shared, validate=False)) == json.loads(pio.to_json(plain))
    as_dict = figures.map_figure_dict(view_of(dataset), share_geojson(geojson), **options)
    assert json.loads(pio.to_json(as_dict)) == json.loads(pio.to_json(plain))
    assert plain.layout.uirevision == "r"


def test_unvalidated_map_passes_plotly_validation(dataset: Dataset, geojson: dict) -> None:
    import plotly.graph_objects as go

    figure = figures.map_figure(view_of(dataset), share_geojson(geojson), metric="nearest_km",
                                assets=asset_frame(dataset), selected="B", title="t", validate=False)  # fmt: skip
    validated = go.Figure(figure.to_dict())
    assert json.loads(validated.to_json()) == json.loads(pio.to_json(figure, validate=False))


# --------------------------------------------------------------------------- trend


def test_referral_trend_is_suppressed() -> None:
    months = pd.period_range("2026-01", "2026-05", freq="M")
    monthly = pd.Series([0, 3, 12, 8, 7], index=months)
    figure = figures.referral_trend_figure(monthly)
    bars = figure.data[0]
    assert list(bars.y) == [0, 0, 10, 10, 0]
    assert list(bars.customdata) == ["0", "fewer than 8", "10", "10", "fewer than 8"]
    assert list(figure.data[1].x) == ["Feb 2026", "May 2026"]
    numbers = [value for trace in figure.to_plotly_json()["data"] for key in ("y", "customdata", "text")
               for value in (trace.get(key) or [])]  # fmt: skip
    for raw in (12, 3, 7, 8, "12", "3", "7", "8"):
        assert raw not in numbers
    assert "12" not in json.dumps(figure.to_plotly_json()["data"], default=str)


@pytest.mark.parametrize(
    "values",
    [
        [0.8, 0.8, 0.8, 0.963, 0.32, 1.0],  # gap scores of one borough's neighbourhoods
        [0.0, 0.0, 0.0, 0.076, 0.322, 0.0],  # shares within 2 km, same borough
    ],
)
def test_natural_breaks_terminate_where_mapclassify_jenks_caspall_cycles(values):
    # mapclassify.JenksCaspall never returns on these (a class empties and its median is NaN);
    # ours must, with classes that cover every value in increasing order.
    classes = classify(pd.Series(values), scheme="natural_breaks", metric="gap_score")
    assert classes.breaks == sorted(classes.breaks)
    assert classes.breaks[-1] == max(values)
    assert (classes.index >= 0).all()


def test_natural_breaks_are_the_fisher_jenks_optimum_on_mapclassifys_example():
    import mapclassify

    # mapclassify's own example (California employment density, 58 counties): its FisherJenks
    # bounds, checked against the values mapclassify's documentation prints for k=5.
    values = mapclassify.load_example()
    documented = [75.29, 192.05, 370.5, 722.85, 4111.45]
    classes = classify(pd.Series(values), scheme="natural_breaks", metric="provision_per_10k")
    assert classes.breaks == pytest.approx(documented)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed. Using slow pure python version."
        assert classes.breaks == pytest.approx(list(mapclassify.FisherJenks(values, k=5).bins))
    # The fit the optimum reaches, against Jenks-Caspall's (the method natural breaks used before).
    assert classes.fit == pytest.approx(0.998, abs=5e-4)
    caspall = mapclassify.JenksCaspall(values, k=5)
    assert goodness_of_variance_fit(values, caspall.yb) == pytest.approx(0.283, abs=5e-4)


def test_fisher_jenks_matches_mapclassify_on_random_data():
    import mapclassify

    rng = np.random.default_rng(3)
    for _ in range(12):
        values = np.round(rng.exponential(2, int(rng.integers(10, 120))), int(rng.integers(0, 3)))
        k = int(rng.integers(2, 7))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = mapclassify.FisherJenks(values, k=k).bins
        assert np.allclose(fisher_jenks_bins(values, k), expected)


def test_goodness_of_variance_fit_by_hand():
    # two classes {0, 2} and {10}: within 2, total 56 (mean 4: 16 + 4 + 36) -> 1 - 2/56
    assert goodness_of_variance_fit(np.array([0.0, 2.0, 10.0]), np.array([0, 0, 1])) == pytest.approx(1 - 2 / 56)
    assert goodness_of_variance_fit(np.array([3.0, 3.0]), np.array([0, 0])) is None
    assert classify(pd.Series([1.0, 2.0, 3.0, 4.0]), k=4, metric="gap_score").fit == pytest.approx(1.0)


def test_gap_reasons_read_as_the_one_table_of_labels() -> None:
    assert figures.reasons_text("no_provision;far") == "no provision reaches it, provision is far"
    assert figures.reasons_text("unmet_demand") == "referrals but no provision"
    assert figures.reasons_text("") == "none" and figures.reasons_text(None) == "none"


@pytest.mark.parametrize("metric", ["tier", "access_ratio", "nearest_km", "access_per_10k", "share_within_km"])
@pytest.mark.parametrize("arrow", [False, True])
def test_format_values_words_a_column_as_format_value_words_each_value(metric: str, arrow: bool) -> None:
    from coverage_map.outputs.classes import format_value, format_values

    raw: list[object] = (["severe", None, "none", "no_data", "watch", "moderate"] if metric == "tier"
                         else [0.0, 0.004, 1.23456, None, 12.5, 99.95, 100.0, 123456.7, float("nan"), -3.2])  # fmt: skip
    dtype = ("string[pyarrow]" if metric == "tier" else "double[pyarrow]") if arrow else None
    values = pd.Series(raw, dtype=dtype)
    assert format_values(values, metric) == [format_value(v, metric) for v in values]
    assert format_values(values.iloc[:0], metric) == []
