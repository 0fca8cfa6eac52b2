"""The page: controls, map, area details, gap table, organisations and upload panel.

Built once per :class:`~callbacks.context.Services` from its default data set; the
callbacks swap options when a visitor loads their own data. Every component id comes from
:mod:`callbacks.ids`.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html, no_update
from dash.development.base_component import Component

from coverage_map.config import SUPPRESS_MAX
from coverage_map.dataset import Dataset
from coverage_map.errors import KINDS, Problem, kinds_of
from coverage_map.method import GapMethod
from coverage_map.outputs.attribution import SUPPRESSION_NOTE, credits_for
from coverage_map.outputs.classes import METRICS, SCHEMES
from coverage_map.taxonomy import display_name

from . import gates, ids, whatif
from .about import about_tab
from .download_map import download_components
from .explain import ACCESS_TEXT, NO_IMD_NOTE, SIGNIFICANCE_TEXT, EquityView, KeyEntry, tier_colour, tier_key
from .job_view import job_panel, page_stores
from .mapping import mapping_section
from .opening import opening_echo, opening_parts
from .questions import answer_card, questions_section
from .settings import Settings
from .state import ALL, DEFAULT_METRIC, LEVEL_NAMES, Choices, ViewState, default_state
from .uploads import ALLOWED_SUFFIXES, DEFAULT_CHOICE, DEFAULT_NAME, REQUIRED, ROLE_NAMES, ROLES, SEVERAL
from .views import AreaDetails

PLACEHOLDER = "Click an area on the map, or a row of the gap table, to see its details here."
#: How often the dataset picker checks the workspace for datasets published elsewhere.
REFRESH_MS = 30_000


# --------------------------------------------------------------------------- options


def level_options(choices: Choices) -> list[dict[str, str]]:
    return [{"label": LEVEL_NAMES.get(level, level), "value": level} for level in choices.levels]


def category_options(choices: Choices) -> list[dict[str, str]]:
    return sorted(
        ({"label": display_name(c), "value": c} for c in choices.categories), key=lambda o: o["label"].lower()
    )


def community_options(choices: Choices) -> list[dict[str, str]]:
    return [{"label": "Everyone" if c == ALL else display_name(c), "value": c} for c in choices.communities]


def borough_options(dataset: Dataset, choices: Choices) -> list[dict[str, str]]:
    options = [{"label": "All boroughs", "value": ALL}]
    if len(choices.boroughs) > 1:
        boroughs = dataset.boroughs
        options += [
            {"label": str(name), "value": str(borough_id)}
            for borough_id, name in zip(boroughs["borough_id"], boroughs["borough_name"], strict=True)
        ]
    return options


def metric_options() -> list[dict[str, str]]:
    return [{"label": info.label, "value": key} for key, info in METRICS.items()]


def attribution_text(dataset: Dataset) -> str:
    credits = credits_for(dataset)
    return credits.source_line(extra=SUPPRESSION_NOTE)


# --------------------------------------------------------------------------- page


def build_layout(dataset: Dataset, settings: Settings) -> html.Div:
    """The whole page for ``dataset`` in its default view (the URL callback then applies the link)."""
    choices = Choices.of(dataset)
    state = default_state(choices)
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.URL_REQUEST),
            dcc.Store(id=ids.MAP_FIRST),
            dcc.Store(id=ids.DATA_TOKEN, storage_type="session"),
            dcc.Store(id=ids.UPLOAD_TOKEN, storage_type="session"),
            dcc.Store(id=ids.UPLOAD_SAVED),
            dcc.Store(id=ids.DATASET_VERSION),
            dcc.Interval(id=ids.DATASET_REFRESH, interval=REFRESH_MS),
            dcc.Store(id=ids.SELECTED_AREA, data=None),
            *page_stores(),
            *whatif.whatif_stores(),
            *gates.gate_stores(),
            _header(dataset),
            dbc.Alert(id=ids.SERVICE_NOTICE, is_open=False, color="danger", className="m-2"),
            dbc.Container(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [questions_section(), _controls(dataset, choices, state)],
                                xs=12,
                                lg=3,
                                xxl=2,
                                className="mb-3",
                            ),
                            dbc.Col(_map_card(), xs=12, lg=6, xxl=7, className="mb-3"),
                            dbc.Col(_details_card(), xs=12, lg=3, className="mb-3"),
                        ],
                        className="g-3",
                    ),
                    dbc.Row(dbc.Col(_tabs(settings, state, dataset.method)), className="mb-3"),
                    html.Footer(
                        attribution_text(dataset), id=ids.ATTRIBUTION, className="attribution small text-muted pb-3"
                    ),
                ],
                fluid=True,
                id=ids.MAIN,
            ),
        ]
    )


def _header(dataset: Dataset) -> html.Header:
    return html.Header(
        dbc.Container(
            [
                html.Div(
                    [
                        html.H1("Community support coverage", className="h4 mb-0"),
                        html.Div(
                            "Where support is, where the need is, and where the gaps are",
                            className="small opacity-75",
                        ),
                    ]
                ),
                html.Div(
                    [
                        html.Span(dataset.label, id=ids.DATASET_LABEL, className="me-2 small"),
                        dbc.Badge(
                            "Synthetic demo data",
                            id=ids.SYNTHETIC_BADGE,
                            color="warning",
                            text_color="dark",
                            className="fs-6",
                            style={} if dataset.synthetic else {"display": "none"},
                        ),
                    ],
                    className="d-flex align-items-center",
                ),
            ],
            fluid=True,
            className="d-flex justify-content-between align-items-center py-2",
        ),
        className="app-header mb-3",
    )


def _field(label: str, control: object, help_text: object = None, *, label_for: str | None = None) -> html.Div:
    children = [dbc.Label(label, html_for=label_for, className="fw-semibold small mb-1"), control]
    if help_text is not None:
        children.append(help_text)
    return html.Div(children, className="mb-3")


def _controls(dataset: Dataset, choices: Choices, state: ViewState) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                _field(
                    "Need",
                    dbc.Select(id=ids.CATEGORY, options=category_options(choices), value=state.category),
                    label_for=ids.CATEGORY,
                ),
                _field(
                    "Community",
                    dbc.Select(id=ids.COMMUNITY, options=community_options(choices), value=state.community),
                    label_for=ids.COMMUNITY,
                ),
                _field(
                    "Borough",
                    dbc.Select(id=ids.BOROUGH, options=borough_options(dataset, choices), value=state.borough),
                    label_for=ids.BOROUGH,
                ),
                _field(
                    "Show by",
                    dbc.RadioItems(id=ids.LEVEL, options=level_options(choices), value=state.level),
                ),
                _field(
                    "Colour areas by",
                    dbc.Select(id=ids.METRIC, options=metric_options(), value=state.metric),
                    html.Div(METRICS[state.metric].description, id=ids.METRIC_DESCRIPTION, className="form-text small"),
                    label_for=ids.METRIC,
                ),  # fmt: skip
                _field(
                    "Classes",
                    dbc.RadioItems(
                        id=ids.SCHEME,
                        options=[{"label": label, "value": key} for key, label in SCHEMES.items()],
                        value=state.scheme,
                    ),
                ),
                dbc.Switch(id=ids.SHOW_ASSETS, label="Show services on the map", value=state.show_assets),
                dbc.Switch(id=ids.GAPS_ONLY, label="Colour gaps only", value=state.gaps_only),
                html.Div(download_components(), id=ids.DOWNLOAD_MAP_SLOT, className="mt-2"),
                html.Div(
                    "The address bar always holds a link to exactly this view: copy it to share.",
                    className="form-text small mt-2",
                ),
            ]
        ),
        className="controls",
    )


def _map_card() -> dbc.Card:
    return dbc.Card(
        [
            # A determinate bar while a chosen saved dataset opens (callbacks.opening).
            *opening_parts(),
            # A spinner over the map when drawing it takes a while (an England-scale level, a dataset being
            # loaded); quick recolours finish before it would show. The old map stays visible under it.
            dcc.Loading(
                dcc.Graph(
                    id=ids.MAP,
                    className="map-graph",
                    config={"displaylogo": False, "scrollZoom": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                            "toImageButtonOptions": {"filename": "coverage-map"}},
                ),
                type="circle", delay_show=700, target_components=_MAP_FIGURE,
                overlay_style={"visibility": "visible", "opacity": 0.6},
            ),
            # What the map leaves out at national scale, and how to see it (callbacks.mapview.describe_map).
            html.Div(id=ids.MAP_NOTICE, className="map-notice d-none", role="status", **_LIVE_REGION),
            # The tiers in words, always visible (callbacks.mapview.describe_map adds the counts).
            html.Div(render_tier_key(tier_key(), DEFAULT_METRIC), id=ids.TIER_KEY, className="tier-key-box"),
        ],
        className="map-card h-100",
    )  # fmt: skip


def render_tier_key(entries: list[KeyEntry], metric: str) -> list[Component]:
    """The key under the map: each tier's swatch, label, count in the view and one-sentence meaning.

    Colour is never the only carrier: every swatch has its label beside it (and hovers name the tier).
    The heading and each count have ids (:func:`tier_key_counts` rewrites them alone on a change of need).
    """
    items = [
        html.Li(
            [
                html.Span(className="tier-swatch", style={"backgroundColor": entry.colour}, **_DECORATIVE),
                html.Span([html.Strong(entry.label),
                           html.Span(tier_count_text(entry), id=ids.tier_count(entry.tier), className="text-muted")],
                          className="tier-label"),
                html.Span(entry.meaning, className="tier-meaning"),
            ],
            className=f"tier-key-item tier-{entry.tier}",
        )
        for entry in entries
    ]  # fmt: skip
    children: list[Component] = [
        html.Div(tier_key_heading(entries), id=ids.TIER_KEY_HEADING, className="fw-semibold small mb-1"),
        html.Ul(items, className="tier-key list-unstyled small mb-0"),
        html.P([ACCESS_TEXT, " ", SIGNIFICANCE_TEXT], className="tier-meaning mb-0 mt-1"),
    ]
    if metric != "tier" and metric in METRICS:
        children.append(
            html.Div(f"The map is coloured by {METRICS[metric].label.lower()}: hover over an area for its gap severity.",
                     className="form-text small mt-1")
        )  # fmt: skip
    return children


def tier_key_heading(entries: list[KeyEntry]) -> str:
    """The key's heading: it says the counts are of the areas in view once there are counts."""
    return "Gap severity" + ("" if entries and entries[0].count is None else " (areas in this view)")


def tier_count_text(entry: KeyEntry) -> str:
    """One tier's count as the key shows it after its label (``" (1,234)"``; nothing when unknown)."""
    return "" if entry.count is None else f" ({entry.count:,})"


def tier_key_counts(entries: list[KeyEntry]) -> tuple[str, ...]:
    """The key's words that follow the need: its heading, then each tier's count, in ``entries``' order."""
    return (tier_key_heading(entries), *(tier_count_text(entry) for entry in entries))


#: The map's spinner waits on the figure only (Dash types this argument as a TypedDict keyed by id).
_MAP_FIGURE: Any = {ids.MAP: "figure"}
#: The details' scrolling region, named for screen readers.
_DETAILS_REGION: dict[str, Any] = {"aria-label": "Area details"}
#: The swatch repeats the label beside it: screen readers skip it.
_DECORATIVE: dict[str, Any] = {"aria-hidden": "true"}


def _details_card() -> html.Div:
    return html.Div(
        [
            answer_card(),
            dbc.Card(
                [
                    dbc.CardHeader("Area details", className="fw-semibold"),
                    # Focusable, so keyboard users can scroll it (WCAG 2.1.1; axe scrollable-region-focusable).
                    html.Div(
                        html.P(PLACEHOLDER, className="text-muted small"),
                        id=ids.AREA_DETAILS,
                        className="card-body details-body",
                        tabIndex="0",
                        role="region",
                        **_DETAILS_REGION,
                    ),
                ],  # fmt: skip
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Access by deprivation", className="fw-semibold"),
                    dbc.CardBody(_equity_body(), id=ids.EQUITY, className="py-2"),
                ],  # fmt: skip
                className="mt-3",
            ),
        ],
        className="details-column",
    )


#: What the hidden equity chart holds before the first need is chosen.
EMPTY_FIGURE: dict[str, Any] = {"data": [], "layout": {}}
#: The sentence under the equity chart, and the note that stands in for it without IMD.
_EQUITY_SENTENCE_CLASS = "small mb-0"
_EQUITY_NOTE_CLASS = "text-muted small mb-0"
_HIDDEN_STYLE = {"display": "none"}


def _equity_body() -> list[object]:
    """The equity panel's parts, drawn once: the chart (hidden until there is one) and its sentence.

    The callback then updates their properties (:func:`equity_outputs`) rather than mounting a new
    chart on every change of need, which would cost the browser a whole new plot each time.
    """
    return [
        dcc.Graph(
            figure=EMPTY_FIGURE,
            config={"displayModeBar": False},
            className="equity-graph",
            id=ids.EQUITY_GRAPH,
            style=_HIDDEN_STYLE,
        ),
        html.P(NO_IMD_NOTE, className=_EQUITY_NOTE_CLASS, id=ids.EQUITY_SENTENCE),
    ]


def equity_outputs(view: EquityView) -> tuple[object, dict[str, str], str, str]:
    """The equity panel's chart figure, chart style, sentence and sentence class for ``view``.

    Without a chart (no IMD file, or nothing to compare) the chart is hidden and keeps its
    old figure (``no_update``), and the sentence says why.
    """
    if not view.available or view.figure is None:
        css = _EQUITY_NOTE_CLASS if not view.available else _EQUITY_SENTENCE_CLASS
        return no_update, _HIDDEN_STYLE, view.sentence, css
    return view.figure, {}, view.sentence, _EQUITY_SENTENCE_CLASS


#: ``aria-live`` is a wildcard property Dash's typed keyword arguments do not list.
_LIVE_REGION: dict[str, Any] = {"aria-live": "polite"}


_NUMBER = {"filter": "agNumberColumnFilter", "type": "rightAligned"}


def gap_columns() -> list[dict[str, object]]:
    return [
        {"field": "rank", "headerName": "#", "width": 70, "filter": False},
        {"field": "area_name", "headerName": "Area", "minWidth": 180, "flex": 2},
        {"field": "tier_label", "headerName": "Severity", "width": 140, "comparator": {"function": "bySeverity"},
         "headerTooltip": "Severe: under half the region's average access, in a significant cluster of low access"},
        {"field": "access_ratio", "headerName": "Access (% of average)", "width": 180, **_NUMBER,
         "headerTooltip": "Provision within reach per person in need, as a share of the region's average"},
        {"field": "need", "headerName": "People in need", "width": 150, **_NUMBER},
        {"field": "unmet_need", "headerName": "Unmet need", "width": 130, **_NUMBER,
         "headerTooltip": "People in need the shortfall against the region's average leaves unserved"},
        {"field": "gap_reasons", "headerName": "Why", "minWidth": 220, "flex": 2},
        {"field": "borough_name", "headerName": "Borough", "minWidth": 120, "flex": 1},
    ]  # fmt: skip


def organisation_columns() -> list[dict[str, object]]:
    return [
        {"field": "name", "headerName": "Organisation", "minWidth": 220, "flex": 2},
        {"field": "borough_name", "headerName": "Borough", "minWidth": 120, "flex": 1},
        {"field": "neighbourhood_name", "headerName": "Neighbourhood", "minWidth": 140, "flex": 1},
        {"field": "categories", "headerName": "Offers", "minWidth": 220, "flex": 2},
        {"field": "communities", "headerName": "For", "minWidth": 120, "flex": 1},
        {"field": "capacity", "headerName": "Capacity / month", "width": 150, **_NUMBER},
        {"field": "referrals", "headerName": "Referrals", "width": 120},
        {"field": "referrals_per_month", "headerName": "Referrals / month", "width": 150, **_NUMBER},
        {"field": "pressure", "headerName": "Pressure", "width": 120, **_NUMBER, "sort": "desc"},
        {"field": "accepting_referrals", "headerName": "Accepting", "width": 120},
        {
            "field": "verified",
            "headerName": "Last verified",
            "width": 210,
            "headerTooltip": "When the directory entry was last checked; flagged when over 12 months ago",
        },
    ]


def _grid(grid_id: str, columns: list[dict[str, object]], **extra: object) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
        # Cells take the keyboard focus (arrow keys move through the table, the map's text alternative), and
        # every column is drawn, so a narrow screen's header row still holds its column headers (axe).
        dashGridOptions={"animateRows": False, "suppressColumnVirtualisation": True},
        style={"height": "460px", "width": "100%"},
        className="ag-theme-quartz",
        **extra,
    )  # fmt: skip


def _tabs(settings: Settings, state: ViewState, method: GapMethod) -> dbc.Tabs:
    return dbc.Tabs(
        [
            dbc.Tab(_gap_tab(state), label="Worst gaps", tab_id="gaps"),
            dbc.Tab(_organisations_tab(), label="Organisations", tab_id="organisations"),
            dbc.Tab(whatif.whatif_tab(), label="What if", tab_id=whatif.WHATIF_TAB),
            dbc.Tab(_upload_tab(settings), label="Use your own data", tab_id="upload"),
            dbc.Tab(about_tab(method), label="About the measures", tab_id="about"),
        ],
        id=ids.TABS,
        active_tab=state.tab,
        className="mb-2",
    )


def _gap_tab(state: ViewState) -> html.Div:
    # The table stands in for the map (WCAG 1.1.1): "List every area" lists every unit with its tier in words.
    # Enter or Space on a cell selects its unit, as a click does (assets/dashAgGridFunctions.js).
    every = dbc.Switch(id=ids.GAP_TABLE_ALL, label="List every area", value=state.table_all, className="mb-0 small")
    download = dbc.Button("Download table (CSV)", id=ids.DOWNLOAD_TABLE_BUTTON, color="primary", size="sm",
                          outline=True)  # fmt: skip
    keys = {"cellKeyDown": ["selectOnKey(params, setGridProps)"]}
    return html.Div(
        [
            html.Div(
                [
                    html.Div(id=ids.GAP_SUMMARY, className="small"),
                    html.Div(
                        [every, download, dcc.Loading(dcc.Download(id=ids.GAP_TABLE_DOWNLOAD), type="dot")],
                        className="d-flex flex-wrap align-items-center gap-2",
                    ),
                ],
                className="d-flex flex-wrap justify-content-between align-items-center py-2 gap-2",
            ),
            _grid(ids.GAP_TABLE, gap_columns(), getRowId="params.data.area_id", eventListeners=keys),
        ]
    )


def _organisations_tab() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Span("Highlighted rows are over capacity: ", className="fw-semibold"),
                    "they receive more referrals a month than the capacity they state. ",
                    f"Referral counts of 1–{SUPPRESS_MAX} are shown as 'fewer than {SUPPRESS_MAX + 1}'.",
                    html.Span(id=ids.ORG_SUMMARY, className="ms-1"),
                ],
                className="small py-2",
            ),
            _grid(
                ids.ORG_TABLE,
                organisation_columns(),
                getRowId="params.data.asset_id",
                rowClassRules={
                    "over-capacity": {"function": "params.data.over_capacity"},
                    "stale-record": {"function": "params.data.stale"},
                },
            ),
        ]
    )


def _upload_tab(settings: Settings) -> html.Div:
    limit = settings.max_upload_bytes / 2**20
    total = settings.max_upload_total_bytes / 2**20
    boxes = []
    for role in ROLES:
        required = role in REQUIRED
        boxes.append(
            dbc.Col(
                dcc.Upload(
                    html.Div(
                        [
                            html.Div(ROLE_NAMES[role], className="fw-semibold"),
                            html.Div("required" if required else "optional", className="small text-muted"),
                            html.Div(
                                "Drop one file or several at once (age, ethnicity, carers...: joined on the area "
                                "code) here, or click to choose"
                                if role == SEVERAL
                                else "Drop a file here or click to choose",
                                className="small",
                            ),
                            html.Div(id=ids.upload_status(role), className="small upload-status mt-1"),
                        ]
                    ),
                    id=ids.upload_box(role),
                    accept=",".join(ALLOWED_SUFFIXES),
                    multiple=role == SEVERAL,
                    className="upload-box",
                    className_active="upload-box upload-box-active",
                ),
                xs=12,
                md=6,
                xl=True,
                className="mb-2",
            )  # fmt: skip
        )
    return html.Div(
        [
            _field(
                "Dataset shown",
                dbc.InputGroup(
                    [
                        dbc.Select(id=ids.DATASET_SELECT, options=[], value=DEFAULT_CHOICE),
                        dbc.Button(
                            "Publish",
                            id=ids.DATASET_PUBLISH,
                            color="primary",
                            outline=True,
                            disabled=True,
                            title="Let everyone using this dashboard choose this dataset",
                        ),
                    ],
                    size="sm",
                ),
                html.Div(
                    [
                        html.Div(
                            "Published datasets, and your own private ones. Yours stay private to this "
                            "browser tab until you publish them.",
                            className="form-text small",
                        ),
                        html.Div(id=ids.PUBLISH_STATUS, className="mt-1"),
                        html.Div(id=ids.DATASET_SYNC, className="form-text small"),
                        opening_echo(),  # the opening bar again, beside the picker that started it
                    ]
                ),
                label_for=ids.DATASET_SELECT,
            ),
            html.P(
                [
                    "Upload your own files: the same ones the command line takes (see the data format guide). "
                    "They are checked before anything is saved: every problem is listed with its file, row and "
                    "column. A saved dataset is private to this browser tab until you publish it. ",
                    f"Each file may be up to {limit:g} MB, {total:g} MB together. Accepted: "
                    f"{', '.join(ALLOWED_SUFFIXES)} (zip a shapefile with its .dbf, .shx and .prj).",
                ],
                className="small py-2 mb-1",
            ),
            dbc.Row(boxes, className="g-2"),
            mapping_section(),
            html.Div(
                [
                    dbc.Label("Name", html_for=ids.UPLOAD_NAME, className="small mb-0 me-2"),
                    dbc.Input(
                        id=ids.UPLOAD_NAME,
                        placeholder=DEFAULT_NAME,
                        value=DEFAULT_NAME,
                        maxLength=100,
                        size="sm",
                        className="me-2",
                        style={"maxWidth": "16rem"},
                    ),
                    dbc.Button("Check and save my data", id=ids.UPLOAD_LOAD, color="primary", className="me-2"),
                    dbc.Button("Back to the default data", id=ids.UPLOAD_RESET, color="secondary", outline=True),
                ],
                className="my-2 d-flex align-items-center",
            ),
            job_panel(ids.UPLOAD_JOB, cancel_label="Cancel"),  # the save's progress bar while it runs
            html.Div(id=ids.UPLOAD_REPORT),
            dbc.Button(
                "Download rejected rows (CSV)",
                id=ids.UPLOAD_REJECTED_BUTTON,
                color="secondary",
                outline=True,
                size="sm",
                className="mt-1",
            ),  # fmt: skip
            dcc.Download(id=ids.UPLOAD_REJECTED_DOWNLOAD),
        ]
    )


def render_details(details: AreaDetails | None) -> list[object]:
    """The area-details panel for one unit (all text is rendered as text, never as HTML)."""
    if details is None:
        return [html.P(PLACEHOLDER, className="text-muted small")]
    where = " · ".join(part for part in (details.level, details.borough) if part)
    heading = [
        html.H2(details.name, className="h5 mb-0"),
        html.Div(where, className="small text-muted mb-2"),
    ]
    status = _tier_status(details)
    facts = _method_facts(details)
    if details.metric_label not in _SHOWN_MEASURES:
        facts.insert(0, html.Li([f"{details.metric_label}: ", html.Strong(details.metric_text)]))
    if details.population is not None:
        facts.append(html.Li(["Population: ", html.Strong(f"{details.population:,.0f}")]))
    for label, people in details.groups:
        facts.append(html.Li(f"{label}: {people:,.0f}", className="ms-3"))
    sections: list[object] = [*heading, status, html.Ul(facts, className="list-unstyled small mb-2")]

    sections.append(html.H3(f"Provision per 10,000 people ({details.community_label})", className="h6 mt-2"))
    rows = []
    for line in details.provision:
        here = "none" if (line.here is None or line.assets_reaching == 0) else f"{line.here:.1f}"
        average = "–" if line.average is None else f"{line.average:.1f}"
        below = (
            line.here is None or line.assets_reaching == 0 or (line.average is not None and line.here < line.average)
        )
        rows.append(
            html.Tr(
                [html.Td(line.label), html.Td(here, className="text-end" + (" text-danger fw-semibold" if below else "")),
                 html.Td(average, className="text-end text-muted")],
                className="table-active" if line.selected else None,
            )
        )  # fmt: skip
    sections.append(
        dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th("Need"),
                            html.Th("Here", className="text-end"),
                            html.Th("City avg", className="text-end"),
                        ]
                    )
                ),
                html.Tbody(rows),
            ],
            size="sm",
            className="small provision-table mb-2",
        )  # fmt: skip
    )
    sections.append(
        html.H3(f"{details.category_label} services reaching it ({len(details.assets)})", className="h6 mt-2")
    )
    if details.assets:
        sections.append(
            html.Ul(
                [
                    html.Li(
                        [
                            html.Strong(asset.name),
                            html.Br(),
                            html.Span(
                                f"Reach: {asset.reach} · accepting referrals: {asset.accepting}"
                                + (" · based here" if asset.located_here else ""),
                                className="text-muted",
                            ),
                            *(
                                [
                                    html.Br(),
                                    html.Span(
                                        f"Provision last verified: {asset.verified}",
                                        className="text-warning-emphasis" if asset.stale else "text-muted",
                                    ),
                                ]
                                if asset.verified
                                else []
                            ),
                        ],
                        className="mb-1",
                    )
                    for asset in details.assets
                ],
                className="list-unstyled small mb-1",
            )  # fmt: skip
        )
    else:
        sections.append(html.P("None.", className="small text-danger mb-1"))
    sections.append(
        html.P(f"{details.assets_total} services of any kind reach this area.", className="small text-muted")
    )
    if details.freshness is not None and details.freshness.total:
        fresh = details.freshness
        sections.append(
            html.P(
                [f"Directory freshness: {fresh.sentence('services reaching this area')}",
                 " A gap here may be a data gap." if fresh.not_recent else ""],
                className="small " + ("text-warning-emphasis" if fresh.not_recent else "text-muted"),
                id=ids.AREA_FRESHNESS,
            )
        )  # fmt: skip
    if details.trend is not None:
        sections.append(
            dcc.Graph(figure=details.trend, config={"displayModeBar": False}, className="trend-graph",
                      id=ids.REFERRAL_TREND)
        )  # fmt: skip
        sections.append(
            html.P(f"Months with 1–{SUPPRESS_MAX} referrals are shown as <{SUPPRESS_MAX + 1}; others are rounded "
                   "to the nearest 5.", className="small text-muted")
        )  # fmt: skip
    return sections


#: Measures the details always show, so the selected one is not repeated.
_SHOWN_MEASURES = {METRICS[key].label for key in ("tier", "access_ratio", "access_per_10k")}
#: Alert colour of each tier in the details panel.
_TIER_ALERT = {"severe": "danger", "moderate": "warning", "watch": "info", "none": "success", "no_data": "secondary"}


def _tier_status(details: AreaDetails) -> dbc.Alert:
    """The unit's tier for the need and community, what it means, and why (every reason that applies)."""
    what = f"{details.category_label.lower()} ({details.community_label})"
    children: list[object] = [
        html.Div(
            [html.Span(className="tier-swatch", style={"backgroundColor": tier_colour(details.tier)}),
             html.Strong(f"{details.tier_label} for {what}")],
            className="d-flex align-items-center gap-2",
        ),
        html.Div(details.tier_text, className="mt-1"),
    ]  # fmt: skip
    if details.reasons:
        children.append(html.Ul([html.Li(reason) for reason in details.reasons], className="mb-0 mt-1 ps-3"))
    return dbc.Alert(children, color=_TIER_ALERT.get(details.tier, "secondary"), className="py-2 small",
                     id=ids.AREA_TIER)  # fmt: skip


def _method_facts(details: AreaDetails) -> list[Component]:
    """Need, access per 10,000 in need, access against the average, specific access and how sure we are."""
    if details.tier == "no_data":
        return []
    need = "unknown" if details.need is None else f"{details.need:,.0f}"
    per_10k = "unknown" if details.access_per_10k is None else f"{details.access_per_10k:,.1f}"
    facts: list[Component] = [
        html.Li(["People in need: ", html.Strong(need),
                 "" if details.need_estimated else html.Span(" (the population: no need estimate given)",
                                                             className="text-muted")]),
        html.Li(["Access per 10,000 in need: ", html.Strong(per_10k)]),
        html.Li(["Access: ", html.Strong(details.access_text), html.Div(ACCESS_TEXT, className="tier-meaning")]),
    ]  # fmt: skip
    if details.specific_access_per_10k is not None:
        facts.append(html.Li([f"Access to services made for {details.community_label}: ",
                              html.Strong(f"{details.specific_access_per_10k:,.1f}"), " per 10,000 in need"]))  # fmt: skip
    if details.certainty:
        facts.append(html.Li(["How sure are we? ", details.certainty, html.Div(SIGNIFICANCE_TEXT, className="tier-meaning")],
                             id=ids.AREA_CERTAINTY))  # fmt: skip
    return facts


def render_problems(
    rows: list[dict[str, object]], *, limit: int = 500, heading: str | None = None, color: str = "danger"
) -> dbc.Alert:
    """The validation report: one table row per problem (file, row, column, value, message)."""
    body = [
        html.Tr([html.Td(str(r["file"])), html.Td("" if r["row"] is None else str(r["row"])),
                 html.Td(str(r["column"])), html.Td(str(r["value"])), html.Td(str(r["message"]))])
        for r in rows[:limit]
    ]  # fmt: skip
    more = []
    if len(rows) > limit:  # the rest counted by kind, so no rejected row goes unmentioned
        kinds = kinds_of(
            Problem(str(r["file"]), str(r["message"]), row=r["row"], column=str(r["column"]) or None)  # type: ignore[arg-type]
            for r in rows[limit:]
        )
        more = [html.P(f"... and {len(rows) - limit:,} more:", className="mb-1 mt-2"),
                html.Ul([html.Li(str(kind)) for kind in kinds[:KINDS]]
                        + ([html.Li(f"{sum(k.count for k in kinds[KINDS:]):,} more of {len(kinds) - KINDS:,} other kinds")]
                           if len(kinds) > KINDS else []), className="small mb-0")]  # fmt: skip
    count = len(rows)
    return dbc.Alert(
        [
            html.Strong(heading or f"{count} problem{'s' if count != 1 else ''} found: nothing was loaded. "
                                   "Fix these and upload the files again."),
            dbc.Table(
                [html.Thead(html.Tr([html.Th("File"), html.Th("Row"), html.Th("Column"), html.Th("Value"),
                                     html.Th("Problem")])), html.Tbody(body)],
                size="sm", bordered=True, className="small mt-2 mb-0 bg-white problems-table", id=ids.UPLOAD_PROBLEMS,
            ),
            *more,
        ],
        color=color,
    )  # fmt: skip
