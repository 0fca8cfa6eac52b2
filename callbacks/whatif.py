"""The "What if" tab: place proposed services on the map, see what they change, and suggest sites.

The scenario lives in one store (``ids.WHATIF``, mirrored in the URL as ``whatif=``) as the
text of :mod:`coverage_map.scenario_text`, so a link reproduces it. Every view callback reads
that store and asks the registry for the data set with the proposed services added
(:meth:`callbacks.registry.Registry.get`), so the map, the Worst gaps table, the details and
the exports all follow it. This module holds the tab's layout, its callbacks (thin) and the
pure helpers behind them (tested without Dash).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import dash_bootstrap_components as dbc
import geopandas as gpd
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component

from coverage_map.access import origin_points
from coverage_map.config import GEODATA_DIR, METRIC_CRS
from coverage_map.dataset import Dataset
from coverage_map.demo.venues import CANDIDATES_FILE
from coverage_map.errors import CoverageMapError, Problem, ValidationError
from coverage_map.findings import LEVEL_WORDS
from coverage_map.ingest.candidates import load_candidates
from coverage_map.ingest.upload_safety import UnsafeUploadError, extract_shapefile, path_inside, safe_filename
from coverage_map.scenario import PROPOSED, ScenarioResult, TierMoves, tier_moves
from coverage_map.scenario_text import MAX_PROPOSED, Proposal, encode_scenario, parse_scenario, scenario_records
from coverage_map.suggest import SuggestionResult, default_capacity, round_people, suggest_sites, tier_sentence
from coverage_map.taxonomy import display_name

from . import ids
from .context import Services, services
from .job_view import job_panel
from .jobs import SUGGEST_KIND, SUGGEST_STAGES, background_options, start
from .registry import Loaded
from .uploads import decode_upload
from .views import drawn_level

#: The What if tab's id in the page's tabs (``?tab=whatif``).
WHATIF_TAB = "whatif"
#: The candidate layers "Suggest sites" and "Pick a candidate" choose from.
LAYERS = {"areas": "The small areas' centres", "demo": "Community venues (demo layer)", "upload": "My own file"}
#: The most candidate sites an uploaded file may hold (beyond the exact solver's 2,000, greedy is used).
MAX_UPLOADED_SITES = 5000
#: The capacity offered when no existing service of the need states one.
FALLBACK_CAPACITY = 10.0
#: Reach distances offered besides the method's catchment, in km.
OTHER_KM = (1.0, 5.0)


# --------------------------------------------------------------------------- layout


def whatif_stores() -> list[Component]:
    """The stores of the tab and the notice shown when a link's scenario cannot be used (in the page)."""
    return [
        dcc.Store(id=ids.WHATIF, data=None),
        dcc.Store(id=ids.WHATIF_CANDIDATES, data=None),
        dcc.Store(id=ids.WHATIF_SUGGESTED, data=None),
        dbc.Toast(
            id=ids.WHATIF_NOTICE, header="What if", icon="warning", is_open=False, dismissable=True,
            style={"position": "fixed", "top": "1rem", "right": "1rem", "zIndex": 1080, "maxWidth": "30rem"},
        ),
    ]  # fmt: skip


def whatif_tab() -> html.Div:
    """The tab's content: place and list proposed services (left), suggest sites (right)."""
    return html.Div(dbc.Row([dbc.Col(_place_column(), md=6), dbc.Col(_suggest_column(), md=6)], className="g-4 py-2"))


def _field(label: str, control: Component, control_id: str) -> html.Div:
    return html.Div([dbc.Label(label, html_for=control_id, className="fw-semibold small mb-1"), control],
                    className="mb-2")  # fmt: skip


def _place_column() -> list[Component]:
    return [
        html.H2("Proposed services", className="h6"),
        html.P(
            "What if a new service opened here? Proposed services are hypothetical: they are added to the real "
            "ones for the map, the tables and the details, and labelled proposed everywhere.",
            className="small text-muted",
        ),
        dbc.Switch(
            id=ids.WHATIF_PLACE, label="Place a proposed service by clicking the map", value=False, className="mb-2"
        ),
        dbc.Row(
            [
                dbc.Col(_field("Need", dbc.Select(id=ids.WHATIF_CATEGORY, size="sm"), ids.WHATIF_CATEGORY), sm=6),
                dbc.Col(_field("For", dbc.Select(id=ids.WHATIF_COMMUNITY, size="sm"), ids.WHATIF_COMMUNITY), sm=6),
                dbc.Col(
                    _field(
                        "Capacity (places a month)",
                        dbc.Input(id=ids.WHATIF_CAPACITY, type="number", min=0, step=1, size="sm"),
                        ids.WHATIF_CAPACITY,
                    ),
                    sm=6,
                ),
                dbc.Col(_field("Reach", dbc.Select(id=ids.WHATIF_REACH, size="sm"), ids.WHATIF_REACH), sm=6),
            ],
            className="g-2",
        ),
        html.Div(id=ids.WHATIF_PLACED, className="small text-success mb-2", role="status"),
        _field(
            "Or pick a candidate site (from the layer chosen under Suggest sites)",
            dbc.InputGroup(
                [
                    dbc.Select(id=ids.WHATIF_PICK, size="sm"),
                    dbc.Button("Add", id=ids.WHATIF_PICK_ADD, size="sm", color="secondary"),
                ],
                size="sm",
            ),
            ids.WHATIF_PICK,
        ),
        html.Div(id=ids.WHATIF_LIST, className="small mt-2"),
        dbc.Button("Clear", id=ids.WHATIF_CLEAR, size="sm", color="secondary", outline=True, className="mb-2"),
        dcc.Loading(html.Div(id=ids.WHATIF_SUMMARY, className="small", role="status"), type="dot"),
    ]


def _suggest_column() -> list[Component]:
    return [
        html.H2("Suggest sites", className="h6"),
        html.P(
            "Where should new services of the need above go? The sites that bring the most people in need within "
            "reach of a service (the maximal covering location problem, counting the services already there "
            "and the proposed ones).",
            className="small text-muted",
        ),
        dbc.Row(
            [
                dbc.Col(
                    _field(
                        "How many (1–10)",
                        dbc.Input(id=ids.WHATIF_K, type="number", min=1, max=10, step=1, value=3, size="sm"),
                        ids.WHATIF_K,
                    ),
                    sm=4,
                ),
                dbc.Col(
                    _field(
                        "Candidate sites",
                        dbc.RadioItems(id=ids.WHATIF_LAYER, value="areas", options=[]),
                        ids.WHATIF_LAYER,
                    ),
                    sm=8,
                ),
            ],
            className="g-2",
        ),
        dcc.Upload(
            id=ids.WHATIF_UPLOAD,
            children=html.Div(["Drop a point file of candidate sites here, or ", html.A("choose one")]),
            className="upload-box small mb-1",
            multiple=False,
        ),
        html.Div(id=ids.WHATIF_UPLOAD_STATUS, className="small mb-2"),
        dbc.Button("Suggest", id=ids.WHATIF_SUGGEST, size="sm", color="primary", className="mb-2"),
        job_panel(ids.SUGGEST_JOB),  # the solve's progress bar and Cancel, while it runs
        html.Div(id=ids.WHATIF_RESULT, className="small"),
        dbc.Button(
            "Add these to the scenario",
            id=ids.WHATIF_ADD_SUGGESTED,
            size="sm",
            color="secondary",
            disabled=True,
            className="mt-2",
        ),
    ]


# --------------------------------------------------------------------------- pure helpers


def current_proposals(dataset: Dataset, whatif: object) -> list[Proposal]:
    """The scenario's proposals, or none when the text is blank or the data set cannot read it."""
    if not isinstance(whatif, str) or not whatif.strip():
        return []
    try:
        return list(parse_scenario(whatif, categories=dataset.categories, communities=dataset.communities))
    except ValidationError:
        return []


def need_capacity(dataset: Dataset, category: str) -> float:
    """The default capacity of a proposed service: the median stated capacity of the need's services."""
    median = default_capacity(dataset.prepared, category) if category in dataset.categories else math.nan
    return round(median, 1) if math.isfinite(median) else FALLBACK_CAPACITY


def catchment_km(dataset: Dataset, category: str) -> float:
    """The access method's catchment for the need, in km (the taxonomy's, else the method's)."""
    return float(dataset.inputs.taxonomy.catchment_km.get(category, dataset.method.catchment_km))


def reach_options(dataset: Dataset, category: str) -> list[dict[str, str]]:
    """The reaches offered: the catchment (first, the default), other distances, the borough, the region."""
    km = catchment_km(dataset, category)
    options = [{"label": f"Within {km:g} km (the method's catchment)", "value": f"{km:g}km"}]
    options += [{"label": f"Within {other:g} km", "value": f"{other:g}km"} for other in OTHER_KM if other != km]
    options.append({"label": "Its own small area only", "value": "local"})
    if "neighbourhood" in dataset.levels:
        options.append({"label": "Its whole borough", "value": "borough"})
    options.append({"label": "The whole region", "value": "citywide"})
    return options


def unit_point(dataset: Dataset, level: str, unit_id: str) -> tuple[float, float, str] | None:
    """Longitude, latitude and name of a unit's representative point (a point inside it); None if unknown."""
    units = dataset.units(level)
    match = units[units["area_id"].astype(str) == str(unit_id)]
    if match.empty:
        return None
    point = gpd.GeoSeries([match.geometry.iloc[0].representative_point()], crs=units.crs).to_crs("EPSG:4326").iloc[0]
    return float(point.x), float(point.y), str(match["area_name"].iloc[0])


@dataclass(frozen=True)
class Fields:
    """The What if tab's fields for a new proposed service."""

    category: str
    community: str
    capacity: float
    reach: str

    @classmethod
    def of(cls, dataset: Dataset, category: object, community: object, capacity: object, reach: object) -> Fields:
        """The fields as given, each falling back to its default when missing or not valid for ``dataset``."""
        need = str(category) if category in dataset.categories else dataset.categories[0]
        group = str(community) if community in dataset.communities else "all"
        try:
            places = float(capacity)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            places = math.nan
        if not (math.isfinite(places) and places >= 0):
            places = need_capacity(dataset, need)
        values = [option["value"] for option in reach_options(dataset, need)]
        return cls(need, group, places, str(reach) if reach in values else values[0])

    def proposal(self, lon: float, lat: float, name: str = "") -> Proposal:
        return Proposal.of(category=self.category, community=self.community, capacity=self.capacity,
                           reach=self.reach, lon=lon, lat=lat, name=name)  # fmt: skip


@dataclass(frozen=True)
class Edit:
    """What an edit of the scenario gives: the new text (None: leave it) and a message."""

    whatif: str | None
    message: str = ""


def added(proposals: Sequence[Proposal], new: Sequence[Proposal]) -> Edit:
    """``proposals`` and ``new`` together, refused when that is more than a scenario holds."""
    if len(proposals) + len(new) > MAX_PROPOSED:
        return Edit(None, f"A scenario holds at most {MAX_PROPOSED} proposed services; remove some first.")
    return Edit(encode_scenario([*proposals, *new]))


def place_from_click(
    dataset: Dataset, proposals: Sequence[Proposal], click_data: dict | None, fields: Fields, *, level: str
) -> Edit:
    """A map click (a unit of the map drawn at ``level``) adds a proposed service at the unit's representative
    point, named for the need and the unit."""
    unit = next((str(p["location"]) for p in (click_data or {}).get("points", [])
                 if p.get("location") is not None and p.get("curveNumber", 0) == 0), None)  # fmt: skip
    found = unit_point(dataset, level, unit) if unit is not None else None
    if found is None:
        return Edit(None)
    lon, lat, name = found
    edit = added(proposals, [fields.proposal(lon, lat, f"{display_name(fields.category)} service in {name}")])
    return edit if edit.whatif is None else replace(edit, message=f"Proposed service placed in {name}.")


def removed(proposals: Sequence[Proposal], index: object) -> Edit:
    """The scenario without its ``index``-th proposal."""
    if not isinstance(index, int) or not 0 <= index < len(proposals):
        return Edit(None)
    return Edit(encode_scenario([p for i, p in enumerate(proposals) if i != index]))


def moves_of(loaded: Loaded, level: str, category: str, community: str) -> TierMoves | None:
    """The tier moves of the view's need and community at ``level``, over the whole region (None: no scenario)."""
    if loaded.base is None or level not in loaded.dataset.levels:
        return None
    after = loaded.dataset
    proposed = after.prepared.assets[after.prepared.assets[PROPOSED].to_numpy(dtype=bool)].reset_index(drop=True)
    result = ScenarioResult(before=loaded.base.dataset.analysis(level), after=after.analysis(level),
                            proposed=proposed, prepared=after.prepared)  # fmt: skip
    return tier_moves(result, category, community)


def moves_sentence(moves: TierMoves, count: int, level: str) -> str:
    """``With 2 proposed services, 9 small areas leave the severe tier and 4 the moderate; ...``, with the
    caveat when units enter a gap tier (:func:`coverage_map.suggest.tier_sentence`)."""
    services = f"{count} proposed service{'s' if count != 1 else ''}"
    return f"With {services}, {tier_sentence(moves, units=LEVEL_WORDS.get(level, (level, f'{level}s')))}"


def layer_sites(dataset: Dataset, layer: object, uploaded: object) -> gpd.GeoDataFrame | None:
    """The candidate sites of a layer (``site_id``, ``site_name``, points in EPSG:27700); None: the small areas'
    origin points, which :func:`coverage_map.suggest.suggest_sites` uses by default."""
    if layer == "demo":
        candidates, _ = load_candidates(GEODATA_DIR / CANDIDATES_FILE)
        return candidates
    if layer == "upload":
        rows = uploaded if isinstance(uploaded, list) else []
        frame = pd.DataFrame(rows, columns=["site_id", "site_name", "x", "y"])
        return gpd.GeoDataFrame(frame[["site_id", "site_name"]].astype(str),
                                geometry=gpd.points_from_xy(frame["x"].astype(float), frame["y"].astype(float)),
                                crs=METRIC_CRS)  # fmt: skip
    return None


def area_sites(dataset: Dataset) -> gpd.GeoDataFrame:
    """The small areas' origin points as candidate sites (as :func:`coverage_map.suggest.suggest_sites` makes them)."""
    areas = dataset.units("area")
    xy, _ = origin_points(areas, getattr(dataset.inputs, "origins", None))
    return gpd.GeoDataFrame({"site_id": areas["area_id"].astype(str).to_numpy(),
                             "site_name": areas["area_name"].astype(str).to_numpy()},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC_CRS)  # fmt: skip


def layers_available(dataset: Dataset) -> list[dict[str, str]]:
    """The candidate layers offered for ``dataset`` (the demo layer only on the synthetic demo data)."""
    keys = ["areas", "demo", "upload"] if dataset.synthetic and (GEODATA_DIR / CANDIDATES_FILE).exists() else \
        ["areas", "upload"]  # fmt: skip
    return [{"label": LAYERS[key], "value": key} for key in keys]


def site_proposals(sites: gpd.GeoDataFrame, fields: Fields) -> list[Proposal]:
    """Candidate sites (EPSG:27700) as proposals with the tab's fields, each named for its site."""
    points = sites.to_crs("EPSG:4326")
    return [fields.proposal(float(p.x), float(p.y), str(name))
            for p, name in zip(points.geometry, sites["site_name"], strict=True)]  # fmt: skip


def suggestion_proposals(result: SuggestionResult, fields: Fields) -> list[Proposal]:
    """The suggested sites as proposals reaching the catchment they were chosen with."""
    capacity = result.capacity if math.isfinite(result.capacity) else fields.capacity
    return [Proposal.of(category=result.category, community=result.community, capacity=capacity,
                        reach=result.catchment_km, lon=row.longitude, lat=row.latitude, name=str(row.site_name))
            for row in result.sites.itertuples(index=False)]  # fmt: skip


def read_candidates(
    contents: object, filename: object, folder: Path, *, limits: object
) -> tuple[list[list[object]], list[Problem]]:
    """An uploaded candidate file as ``[site_id, site_name, x, y]`` rows (EPSG:27700), after the upload checks,
    and the rows it rejected (each problem named by the file's own name, row and column).

    Raises
    ------
    CoverageMapError
        The file is refused (size, type, zip), or has fatal problems or no usable site: every
        problem listed with the file's own name, row and column.
    """
    data = decode_upload(contents, filename, limits=limits)  # type: ignore[arg-type]
    shown = safe_filename(filename)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="candidates-", dir=folder) as scratch:
        if shown.lower().endswith(".zip"):
            path = extract_shapefile(data, Path(scratch), shown[: -len(".zip")], name=filename, limits=limits)  # type: ignore[arg-type]
        else:
            path = path_inside(scratch, shown)
            path.write_bytes(data)
        candidates, problems = load_candidates(path)
    problems = [replace(problem, file=shown) for problem in problems]
    if any(problem.fatal for problem in problems) or candidates.empty:
        raise ValidationError(problems or [], note="No candidate site was read.")
    if len(candidates) > MAX_UPLOADED_SITES:
        raise CoverageMapError(f"{shown} has {len(candidates):,} sites; at most {MAX_UPLOADED_SITES:,} are taken")
    rows = [
        [str(i), str(n), round(float(p.x), 1), round(float(p.y), 1)]
        for i, n, p in zip(candidates["site_id"], candidates["site_name"], candidates.geometry, strict=True)
    ]
    return rows, problems


# --------------------------------------------------------------------------- rendering


def render_list(proposals: Sequence[Proposal]) -> list[Component]:
    """The proposed services, each with a Remove button (text only, never HTML)."""
    if not proposals:
        return [html.P("No proposed services yet.", className="text-muted mb-1")]
    items = []
    for index, proposal in enumerate(proposals):
        name = scenario_records([proposal])[0]["name"] if not proposal.name else proposal.name
        who = "everyone" if proposal.community == "all" else display_name(proposal.community)
        reach = proposal.reach.replace("km", " km") if proposal.reach.endswith("km") else proposal.reach
        items.append(
            html.Li(
                [
                    html.Span("proposed", className="badge text-bg-warning me-1"),
                    html.Strong(str(name)),
                    html.Span(
                        f" · {display_name(proposal.category)} for {who} · {proposal.capacity:g} places a "
                        f"month · reach {reach}",
                        className="text-muted",
                    ),
                    dbc.Button(
                        "Remove",
                        id={"type": ids.WHATIF_REMOVE, "index": index},
                        size="sm",
                        color="link",
                        className="py-0",
                    ),
                ],
                className="mb-1",
            )
        )
    return [html.Ul(items, className="list-unstyled mb-1")]


def render_suggestion(result: SuggestionResult) -> list[Component]:
    """The suggested sites (site, rank, need covered), the summary sentence and the solver's note."""
    rows = [html.Tr([html.Td(str(row.site_name)), html.Td(str(row.rank), className="text-end"),
                     html.Td(round_people(float(row.need_covered)), className="text-end")])
            for row in result.sites.itertuples(index=False)]  # fmt: skip
    note = result.solver_note or f"Solved exactly ({result.solver.removeprefix('exact ').strip('()')})."
    parts: list[Component] = [
        dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th("Site"),
                            html.Th("Rank", className="text-end"),
                            html.Th("Need covered", className="text-end"),
                        ]
                    )
                ),
                html.Tbody(rows),
            ],
            size="sm",
            className="mb-1",
        ),
        html.P(result.summary + ".", className="mb-1"),
        html.P(note[:1].upper() + note[1:], className="text-muted mb-1"),
    ]
    if result.problems:
        parts.append(html.P(f"{len(result.problems):,} candidate sites lie outside the region and were left out.",
                            className="text-muted mb-1"))  # fmt: skip
    return parts


# --------------------------------------------------------------------------- callbacks


@callback(
    Output(ids.WHATIF_CATEGORY, "options"),
    Output(ids.WHATIF_CATEGORY, "value"),
    Output(ids.WHATIF_COMMUNITY, "options"),
    Output(ids.WHATIF_COMMUNITY, "value"),
    Output(ids.WHATIF_LAYER, "options"),
    Input(ids.WHATIF_VIEW, "data"),
    prevent_initial_call=True,
)
def follow_view(view: dict[str, str | None] | None) -> tuple[object, ...]:
    """The fields' choices for the data set, the need defaulting to the view's (everyone: open to all).

    ``view`` is filled by the gate :data:`callbacks.ids.WHATIF_VIEW` (:mod:`callbacks.gates`) only
    while the tab is open, so changing the view elsewhere costs no request.
    """
    if not view:
        return (no_update,) * 5
    return view_fields(services(), view.get("category"), view.get("token"))


def view_fields(app: Services, category: str | None, token: str | None) -> tuple[object, ...]:
    """What :func:`follow_view` returns for the view's need on the session's data set."""
    dataset = app.registry.get(token).dataset
    needs = sorted(({"label": display_name(c), "value": c} for c in dataset.categories),
                   key=lambda option: option["label"].lower())  # fmt: skip
    groups = [{"label": "Everyone (open to all)" if c == "all" else display_name(c), "value": c}
              for c in dataset.communities]  # fmt: skip
    need = category if category in dataset.categories else dataset.categories[0]
    return needs, need, groups, "all", layers_available(dataset)


@callback(
    Output(ids.WHATIF_CAPACITY, "value"),
    Output(ids.WHATIF_REACH, "options"),
    Output(ids.WHATIF_REACH, "value"),
    Input(ids.WHATIF_CATEGORY, "value"),
    State(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def need_defaults(category: str | None, token: str | None) -> tuple[object, ...]:
    """Capacity and reach for the need: the median capacity of its services, the method's catchment."""
    dataset = services().registry.get(token).dataset
    if category not in dataset.categories:
        return no_update, no_update, no_update
    options = reach_options(dataset, category)
    return need_capacity(dataset, category), options, options[0]["value"]


@callback(
    Output(ids.WHATIF, "data", allow_duplicate=True),
    Output(ids.WHATIF_PLACED, "children"),
    Input(ids.MAP, "clickData"),
    Input({"type": ids.WHATIF_REMOVE, "index": ALL}, "n_clicks"),
    Input(ids.WHATIF_CLEAR, "n_clicks"),
    Input(ids.WHATIF_ADD_SUGGESTED, "n_clicks"),
    Input(ids.WHATIF_PICK_ADD, "n_clicks"),
    State(ids.WHATIF_PLACE, "value"),
    State(ids.WHATIF, "data"),
    State(ids.WHATIF_CATEGORY, "value"),
    State(ids.WHATIF_COMMUNITY, "value"),
    State(ids.WHATIF_CAPACITY, "value"),
    State(ids.WHATIF_REACH, "value"),
    State(ids.LEVEL, "value"),
    State(ids.BOROUGH, "value"),
    State(ids.WHATIF_SUGGESTED, "data"),
    State(ids.WHATIF_PICK, "value"),
    State(ids.WHATIF_LAYER, "value"),
    State(ids.WHATIF_CANDIDATES, "data"),
    State(ids.DATA_TOKEN, "data"),
    prevent_initial_call=True,
)
def edit_scenario(
    click_data: dict | None, remove_clicks: list, clear: int | None, add_suggested: int | None, pick_add: int | None,
    place: bool, whatif: str | None, category: str, community: str, capacity: object, reach: str, level: str,
    borough: str | None, suggested: str | None, pick: str | None, layer: str | None, uploaded: object,
    token: str | None,
) -> tuple[object, object]:  # fmt: skip
    """Add (map click in place mode, a picked candidate, the suggested sites), remove or clear proposed services."""
    fired = ctx.triggered_id
    value = ctx.triggered[0].get("value") if ctx.triggered else None
    edit = scenario_edit(services(), fired, value, click_data=click_data, place=bool(place), whatif=whatif,
                         fields=(category, community, capacity, reach), level=level, borough=borough,
                         suggested=suggested, pick=pick, layer=layer, uploaded=uploaded, token=token)  # fmt: skip
    return (no_update if edit.whatif is None else edit.whatif or None), edit.message


def scenario_edit(
    app: Services, fired: object, value: object, *, click_data: dict | None, place: bool, whatif: str | None,
    fields: tuple[object, object, object, object], level: str, borough: str | None = None,
    suggested: str | None = None, pick: str | None = None, layer: str | None = None, uploaded: object = None,
    token: str | None = None,
) -> Edit:  # fmt: skip
    """What :func:`edit_scenario` does after ``fired`` (a component id, or a remove button's dict id) changed
    to ``value``. ``Edit.whatif`` "" clears the scenario; None leaves it."""
    from .state import ALL as ALL_BOROUGHS
    from .state import ViewState

    dataset = app.registry.get(token).dataset
    proposals = current_proposals(dataset, whatif)
    chosen = Fields.of(dataset, *fields)
    if isinstance(fired, dict) and fired.get("type") == ids.WHATIF_REMOVE:
        return removed(proposals, fired.get("index")) if value else Edit(None)
    if fired == ids.WHATIF_CLEAR:
        return Edit("", "")
    if fired == ids.MAP:
        if not place or level not in dataset.levels:
            return Edit(None, "")
        state = ViewState(level=level, category=chosen.category, borough=borough or ALL_BOROUGHS)
        return place_from_click(dataset, proposals, click_data,
                                chosen, level=drawn_level(dataset, state, max_units=app.settings.map_max_units))  # fmt: skip
    if fired == ids.WHATIF_ADD_SUGGESTED:
        new = current_proposals(dataset, suggested)
        edit = added(proposals, new)
        return edit if edit.whatif is None else replace(edit, message=f"{len(new)} suggested sites added.")
    if fired == ids.WHATIF_PICK_ADD and pick:
        sites = layer_sites(dataset, layer, uploaded)
        sites = area_sites(dataset) if sites is None else sites
        match = sites[sites["site_id"].astype(str) == str(pick)]
        if match.empty:
            return Edit(None, "That site is not in the chosen layer.")
        edit = added(proposals, site_proposals(match.head(1), chosen))
        name = str(match["site_name"].iloc[0])
        return edit if edit.whatif is None else replace(edit, message=f"Proposed service placed at {name}.")
    return Edit(None)


@callback(
    Output(ids.WHATIF_LIST, "children"),
    Output(ids.WHATIF_SUMMARY, "children"),
    Input(ids.WHATIF, "data"),
    Input(ids.WHATIF_VIEW, "data"),
    prevent_initial_call=True,
)
def describe_scenario(whatif: str | None, view: dict[str, str | None] | None) -> tuple[object, object]:
    """The proposed services, and what they change for the view's need and community (one sentence).

    Drawn while the tab is open (``view``, from the gate :data:`callbacks.ids.WHATIF_VIEW`); opening
    the tab draws it for the view of that moment.
    """
    if not view:
        return no_update, no_update
    return scenario_outputs(services(), whatif, str(view.get("level")), str(view.get("category")),
                            view.get("community") or "all", view.get("token"))  # fmt: skip


def scenario_outputs(
    app: Services, whatif: str | None, level: str, category: str, community: str, token: str | None
) -> tuple[list[Component], str]:
    """What :func:`describe_scenario` shows."""
    loaded = app.registry.get(token, whatif)
    proposals = current_proposals(loaded.dataset, whatif)
    if loaded.base is None or category not in loaded.dataset.categories:
        return render_list(proposals if loaded.base is not None else []), ""
    moves = moves_of(loaded, level, category, community)
    if moves is None:
        return render_list(proposals), ""
    who = "everyone" if community == "all" else display_name(community)
    return render_list(proposals), f"{display_name(category)} for {who}: {moves_sentence(moves, len(proposals), level)}"


@callback(
    Output(ids.WHATIF_NOTICE, "children"),
    Output(ids.WHATIF_NOTICE, "is_open"),
    Input(ids.URL, "href"),
    State(ids.DATA_TOKEN, "data"),
)
def scenario_notice(href: str | None, token: str | None) -> tuple[object, object]:
    """Say why the scenario in a link was left out (see :func:`notice_text`).

    It reads ``href``, not ``search``: the URL callback rewrites ``search`` on page load, dropping a
    scenario it cannot read, and Dash would only show this callback the rewritten one.
    """
    search = urlparse(href or "").query
    text = notice_text(services(), search, token)
    if text is None:
        return no_update, no_update
    return text, bool(text)


def notice_text(app: Services, search: str | None, token: str | None) -> str | None:
    """The notice for the URL's ``whatif`` (None: the URL has none, leave the notice; "": it is fine)."""
    from urllib.parse import parse_qs

    values = parse_qs((search or "").lstrip("?")).get("whatif")
    if not values:
        return None
    try:
        app.registry.scenario(app.registry.get(token), values[-1])
    except CoverageMapError as error:
        problems = getattr(error, "problems", None)
        lines = [str(p) for p in problems][:5] if problems else [str(error)]
        return "The what-if scenario in the link was left out: " + "; ".join(lines)
    return ""


@callback(
    Output(ids.WHATIF_CANDIDATES, "data"),
    Output(ids.WHATIF_UPLOAD_STATUS, "children"),
    Output(ids.WHATIF_LAYER, "value"),
    Input(ids.WHATIF_UPLOAD, "contents"),
    State(ids.WHATIF_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def upload_candidates(contents: object, filename: object) -> tuple[object, object, object]:
    """Read an uploaded candidate file (the upload checks, then :func:`load_candidates`); list every problem."""
    settings = services().settings
    try:
        rows, problems = read_candidates(contents, filename, settings.data_dir, limits=settings.upload_limits)
    except ValidationError as error:
        return None, html.Ul([html.Li(str(p)) for p in error.problems[:20]], className="text-danger mb-0"), no_update
    except (CoverageMapError, UnsafeUploadError) as error:
        return None, html.Span(f"Refused: {error}", className="text-danger"), no_update
    status: list[Component] = [
        html.Span(f"{len(rows):,} candidate sites read from {safe_filename(filename)}.", className="text-success")
    ]
    if problems:
        status.append(html.Ul([html.Li(f"Left out: {p}") for p in problems[:20]], className="text-danger mb-0"))
    return rows, status, "upload"


@callback(
    Output(ids.WHATIF_PICK, "options"),
    Input(ids.WHATIF_LAYER, "value"),
    Input(ids.WHATIF_CANDIDATES, "data"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.TABS, "active_tab"),
)
def pick_options(layer: str | None, uploaded: object, token: str | None, tab: str | None) -> object:
    """The chosen layer's sites, by name, listed only while the What if tab is open (see :func:`pick_outputs`)."""
    return pick_outputs(services(), layer, uploaded, token, tab)


def pick_outputs(app: Services, layer: str | None, uploaded: object, token: str | None, tab: str | None) -> object:
    """What :func:`pick_options` returns: nothing new while another tab is open (every small area of England is
    33,755 sites, 1.7 s a time under load); opening the What if tab lists the current data set's."""
    if tab != WHATIF_TAB:
        return no_update
    dataset = app.registry.get(token).dataset
    sites = layer_sites(dataset, layer, uploaded)
    sites = area_sites(dataset) if sites is None else sites
    ordered = sites.sort_values("site_name", kind="stable")
    return [{"label": str(name), "value": str(site)} for site, name in zip(ordered["site_id"], ordered["site_name"],
                                                                          strict=True)]  # fmt: skip


@callback(
    Output(ids.WHATIF_RESULT, "children"),
    Output(ids.WHATIF_SUGGESTED, "data"),
    Output(ids.WHATIF_ADD_SUGGESTED, "disabled"),
    Input(ids.WHATIF_SUGGEST, "n_clicks"),
    State(ids.WHATIF_K, "value"),
    State(ids.WHATIF_LAYER, "value"),
    State(ids.WHATIF_CANDIDATES, "data"),
    State(ids.WHATIF_CATEGORY, "value"),
    State(ids.WHATIF_COMMUNITY, "value"),
    State(ids.WHATIF_CAPACITY, "value"),
    State(ids.WHATIF_REACH, "value"),
    State(ids.DATA_TOKEN, "data"),
    State(ids.WHATIF, "data"),
    State(ids.JOB_PAGE, "data"),
    prevent_initial_call=True,
    **background_options(SUGGEST_KIND, disable=[ids.WHATIF_SUGGEST], clear=[(ids.WHATIF_RESULT, "children")]),
)
def suggest(
    set_progress: Callable[[object], None] | None, clicks: int | None, k: object, layer: str | None,
    uploaded: object, category: str, community: str, capacity: object, reach: str, token: str | None,
    whatif: str | None = None, page: str | None = None,
) -> tuple[object, object, object]:  # fmt: skip
    """Run the site suggestion for the tab's need and community (a background job; ``set_progress``: its bar)."""
    if not clicks:
        return no_update, no_update, no_update
    with start(SUGGEST_KIND.name, "Suggesting sites", set_progress, page, clicks) as job:
        with job.stages(SUGGEST_STAGES) as stages:
            return suggestion_outputs(services(), k, layer, uploaded, (category, community, capacity, reach), token,
                                      whatif, on_stage=stages.next)  # fmt: skip


def suggestion_outputs(
    app: Services, k: object, layer: str | None, uploaded: object, fields: tuple[object, object, object, object],
    token: str | None, whatif: str | None = None, on_stage: Callable[[str], None] = lambda what: None,
) -> tuple[object, object, object]:  # fmt: skip
    """What :func:`suggest` returns: the result (or the problem), the sites as scenario text, the Add button
    (``on_stage`` hears each of :data:`~callbacks.jobs.SUGGEST_STAGES` as it starts)."""
    on_stage(SUGGEST_STAGES[0])
    loaded = app.registry.get(token, whatif)
    dataset = loaded.dataset
    chosen = Fields.of(dataset, *fields)
    try:
        count = int(k)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 10:
        return html.P("Choose between 1 and 10 sites.", className="text-danger"), None, True
    if layer == "upload" and not uploaded:
        return html.P("Upload a file of candidate sites first.", className="text-danger"), None, True
    km = float(chosen.reach[:-2]) if chosen.reach.endswith("km") else None
    try:
        on_stage(SUGGEST_STAGES[1])
        candidates = layer_sites(dataset, layer, uploaded)
        on_stage(SUGGEST_STAGES[2])
        result = suggest_sites(dataset.prepared, category=chosen.category, community=chosen.community, k=count,
                               candidates=candidates, catchment_km=km,
                               capacity=chosen.capacity, method=dataset.method)  # fmt: skip
    except CoverageMapError as error:
        message = str(error)
        return html.P(message[:1].upper() + message[1:], className="text-danger"), None, True
    on_stage(SUGGEST_STAGES[3])
    text = encode_scenario(suggestion_proposals(result, chosen))
    return render_suggestion(result), text, False


__all__ = [
    "Edit",
    "Fields",
    "moves_sentence",
    "notice_text",
    "scenario_edit",
    "scenario_outputs",
    "suggestion_outputs",
    "whatif_stores",
    "whatif_tab",
]
