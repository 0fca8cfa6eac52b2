"""The mapping step of "Use your own data": say which column is which, before saving.

When an uploaded file lacks a column coverage-map needs (the food banks have ``Name`` and
``Address`` but no ``categories``), a card shows one dropdown per field, pre-filled with the
best guess (:func:`coverage_map.ingest.mapping.guess_columns`), values for every row ("All rows
offer: Food & nutrition"), the file's labels that match no category with the nearest ones to
pick from, and a preview of five rows as they will be read. A lookup in its own words gets a
card for its area, neighbourhood and borough columns. The population box may hold several
files (age, ethnicity, carers...), joined on the area code: each gets its own card, as
``population``, ``population_2``... A population file laid out as a shipped census table is
recognised and needs no mapping. Each file is read once (:data:`SUMMARIES`), however often
another upload re-runs the step. The mapping is kept in the
``mapping-store`` (as :meth:`~coverage_map.ingest.mapping.Mappings.as_dict` writes it): "Check and
save my data" stores it with the dataset, and "Download mapping" writes the TOML file that
``coverage-map analyse --map FILE`` reads.

Pure helpers (:func:`file_summary`, :func:`render_step`, :func:`mapping_from_controls`,
:func:`preview_rows`, :func:`label_choices`) do the work; the callbacks only adapt them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html, no_update
from dash.development.base_component import Component

from coverage_map.errors import CoverageMapError
from coverage_map.ingest.census import matching_table
from coverage_map.ingest.mapping import (
    ROLE_FIELDS,
    WHOLE_FILE_FIELDS,
    ColumnMapping,
    guess_columns,
    mapping_toml,
    mappings_from_dict,
    missing_fields,
    preview,
    role_fields,
)
from coverage_map.ingest.readers import read_any
from coverage_map.ingest.upload_safety import UnsafeUploadError, extract_shapefile, path_inside, safe_filename
from coverage_map.taxonomy import Taxonomy, display_name, split_labels

from . import ids, uploads
from .context import services

#: Roles the mapping step reads (the population box may hold several files: ``population_2``...).
MAPPED_ROLES = ("areas", "lookup", "population", "assets", "referrals")
#: Summaries kept (each file is read once, however often another upload re-runs the step).
_CACHE_SIZE = 32
#: Distinct labels kept per column, for the labels that match no category.
_MAX_LABELS = 100
#: Columns whose labels are kept (the first ones of a wide file).
_MAX_LABEL_COLUMNS = 40
_TAXONOMY = Taxonomy.builtin()
_NONE = ""
_REACH_OPTIONS = [{"label": "from the file (default: local)", "value": _NONE}] + [
    {"label": word, "value": word} for word in ("local", "borough", "citywide")
]


def mapping_section() -> html.Div:
    """The mapping step's place in the upload tab: its stores, its cards, and the download button."""
    return html.Div(
        [
            dcc.Store(id=ids.MAPPING_STORE, data={}),
            dcc.Store(id=ids.MAPPING_FILES, data={}),
            html.Div(id=ids.MAPPING_PANEL),
            html.Div(
                [
                    dbc.Button(
                        "Download mapping (TOML)",
                        id=ids.MAPPING_DOWNLOAD_BUTTON,
                        color="secondary",
                        outline=True,
                        size="sm",
                    ),  # fmt: skip
                    html.Span(
                        " to use the same mapping on the command line: coverage-map analyse ... --map FILE",
                        className="small text-muted",
                    ),  # fmt: skip
                    dcc.Download(id=ids.MAPPING_DOWNLOAD),
                ],
                className="my-2",
            ),
        ]
    )


# --------------------------------------------------------------------------- pure helpers


def file_summary(frame: pd.DataFrame, role: str, filename: str) -> dict[str, Any]:
    """What the mapping step needs of one read file, as JSON: columns, five rows, guesses and labels."""
    columns = [str(column) for column in frame.columns if column != "_source_row"
               and not (hasattr(frame, "active_geometry_name") and column == frame.active_geometry_name)]  # fmt: skip
    head = frame.head(5)
    table = matching_table(frame) if _is_population(role) else None
    labels: dict[str, list[str]] = {}
    for column in columns[:_MAX_LABEL_COLUMNS]:
        cells = frame[column].dropna().astype(str).unique()[: _MAX_LABELS * 4]
        found = list(dict.fromkeys(label for cell in cells for label in split_labels(cell)))
        if found and len(found) <= _MAX_LABELS:
            labels[column] = found
    return {
        "role": role,
        "file": filename,
        "columns": columns,
        "rows": [["" if pd.isna(value) else str(value) for value in head[column]] for column in columns],
        "source_rows": [int(row) for row in head["_source_row"]],
        "geometry": hasattr(frame, "active_geometry_name"),
        "guess": {field: column for field, column in guess_columns(frame, role).items()},
        "missing": [] if table is not None else missing_fields(frame, role),
        "census": None if table is None else f"{table.name}: {table.description or table.layout}",
        "labels": labels,
    }


def _is_population(role: str) -> bool:
    return role_fields(role) == ROLE_FIELDS["population"]


def _frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The five stored rows as a frame the core's :func:`~coverage_map.ingest.mapping.preview` reads."""
    frame = pd.DataFrame(dict(zip(summary["columns"], summary["rows"], strict=True)), dtype="string")
    frame["_source_row"] = summary["source_rows"]
    return frame


def needs_step(summary: Mapping[str, Any]) -> bool:
    """Whether a file needs the mapping step: a field is missing, or its labels match no category."""
    return bool(summary["missing"]) or bool(label_choices(summary, summary["guess"].get(_label_field(summary))))


def _label_field(summary: Mapping[str, Any]) -> str:
    return "category" if summary["role"] == "referrals" else "categories"


def label_choices(summary: Mapping[str, Any], column: object) -> dict[str, list[str]]:
    """The labels of ``column`` that match no category, each with the nearest categories (closest first)."""
    if not isinstance(column, str) or summary["role"] not in ("assets", "referrals"):
        return {}
    vocabulary = _TAXONOMY.categories
    return {label: vocabulary.nearest(label) for label in summary["labels"].get(column, [])
            if vocabulary.resolve(label) is None}  # fmt: skip


def mapping_from_controls(
    columns: Sequence[tuple[Mapping[str, str], object]],
    values: Sequence[tuple[Mapping[str, str], object]],
    labels: Sequence[tuple[Mapping[str, str], object]],
) -> dict[str, dict[str, dict[str, str]]]:
    """The mapping-store data from the step's controls: ``(id, value)`` pairs of each kind of control.

    A column left at its file's own name (or at none) is not stored; a list of values (several
    categories) is joined with ``;``.
    """
    result: dict[str, dict[str, dict[str, str]]] = {}
    for control, value in columns:
        if isinstance(value, str) and value and value != control["field"]:
            result.setdefault(control["role"], {}).setdefault("columns", {})[control["field"]] = value
    for control, value in values:
        text = ";".join(str(item) for item in value) if isinstance(value, list) else str(value or "").strip()
        if text:
            result.setdefault(control["role"], {}).setdefault("values", {})[control["field"]] = text
    for control, value in labels:
        if isinstance(value, str) and value:
            result.setdefault(control["role"], {}).setdefault("labels", {})[control["label"]] = value
    return result


def preview_rows(summary: Mapping[str, Any], store: Mapping[str, Any]) -> pd.DataFrame:
    """The first five rows as they will be read with the stored mapping."""
    mapping = _role_mapping(store, summary["role"])
    try:
        return preview(_frame(summary), mapping, summary["role"])
    except (CoverageMapError, KeyError, ValueError):
        return pd.DataFrame()


def _role_mapping(store: Mapping[str, Any], role: str) -> ColumnMapping | None:
    try:
        return mappings_from_dict(store or {}).get(role)
    except CoverageMapError:
        return None


def render_step(summary: Mapping[str, Any], store: object = None) -> Component:
    """The card of one file: a dropdown per field, whole-file values, unmatched labels and the preview.

    Each control starts at what ``store`` (the mapping made so far) holds for it, else at the
    best guess: another file arriving re-draws the cards without undoing the choices made.
    """
    role, file = summary["role"], summary["file"]
    made = _made(store, role)
    if summary["census"] is not None:
        return dbc.Alert(f"{file}: recognised as the census table {summary['census']}; it is converted to the "
                         "population columns as it is read.", color="info", className="small")  # fmt: skip
    options = [{"label": "(none)", "value": _NONE}] + [{"label": c, "value": c} for c in summary["columns"]]
    controls = []
    for field in role_fields(role):
        control_id = {"type": ids.MAP_COLUMN, "role": role, "field": field.name}
        label = field.label + (" (required)" if field.required else "")
        chosen = made["columns"].get(field.name)
        value = chosen if chosen in summary["columns"] else summary["guess"].get(field.name) or _NONE
        controls.append(dbc.Col(html.Div([
            dbc.Label(label, html_for=_dom_id(control_id), className="small mb-0"),
            dbc.Select(id=control_id, options=options, value=value, size="sm"),
        ]), xs=12, md=6, lg=4, className="mb-2"))  # fmt: skip
    missing = ", ".join(summary["missing"]) or "none"
    return dbc.Card(
        dbc.CardBody(
            [
                html.H6(f"{uploads.role_name(role)}: {file}", className="mb-1"),
                html.P(
                    f"Say which column is which (not found as they are: {missing}). The best guesses are filled in.",
                    className="small mb-2",
                ),  # fmt: skip
                dbc.Row(controls, className="g-2"),
                *_whole_file_controls(role, made["values"]),
                html.Div(id={"type": ids.MAP_LABELS, "role": role}),
                html.Div("Preview: the first five rows as they will be read", className="small fw-semibold mt-2"),
                html.Div(id={"type": ids.MAP_PREVIEW, "role": role}, className="table-responsive"),
            ]
        ),
        className="mb-2 mapping-step",
    )


def _dom_id(control_id: Mapping[str, str]) -> str:
    """The DOM id Dash gives a pattern-matching id (its keys sorted, as compact JSON)."""
    return json.dumps(dict(sorted(control_id.items())), separators=(",", ":"))


def _made(store: object, role: str) -> dict[str, dict[str, str]]:
    """The columns, values and labels the stored mapping holds for ``role`` (empty parts when none)."""
    entry = store.get(role) if isinstance(store, Mapping) else None
    entry = entry if isinstance(entry, Mapping) else {}
    parts = {part: entry.get(part) for part in ("columns", "values", "labels")}
    return {part: {str(k): str(v) for k, v in table.items()} if isinstance(table, Mapping) else {}
            for part, table in parts.items()}  # fmt: skip


def _whole_file_controls(role: str, made: Mapping[str, str] | None = None) -> list[Component]:
    fields = WHOLE_FILE_FIELDS.get(role, ())
    if role != "assets" or not fields:
        return []
    made = made or {}
    categories = [{"label": display_name(label), "value": label} for label in _TAXONOMY.categories.labels]
    communities = [{"label": display_name(label), "value": label} for label in _TAXONOMY.communities.labels]
    ticked = {field: list(split_labels(made.get(field, ""))) for field in ("categories", "communities")}
    reach = made.get("reach", _NONE) if made.get("reach", _NONE) in {o["value"] for o in _REACH_OPTIONS} else _NONE
    controls = {
        "categories": ("All rows offer (none ticked: the file's column)",
                       dbc.Checklist(id=_value_id("categories"), options=categories, value=ticked["categories"],
                                     inline=True, className="small")),
        "communities": ("All rows are for (none ticked: the file's column, or everyone)",
                        dbc.Checklist(id=_value_id("communities"), options=communities, value=ticked["communities"],
                                      inline=True, className="small")),
        "reach": ("All rows reach", dbc.Select(id=_value_id("reach"), options=_REACH_OPTIONS, value=reach, size="sm")),
        "capacity": ("All rows take (referrals a month)", dbc.Input(id=_value_id("capacity"), type="number", min=0,
                                                                    size="sm", placeholder="from the file",
                                                                    value=made.get("capacity"))),
    }  # fmt: skip
    columns = [dbc.Col(html.Div([_value_label(field, label), control]),
                       xs=12, lg=12 if field in ("categories", "communities") else 6, className="mb-2")
               for field, (label, control) in controls.items()]  # fmt: skip
    return [html.Div("The same for every row of the file:", className="small fw-semibold mt-2"),
            dbc.Row(columns, className="g-2")]  # fmt: skip


def _value_id(field: str) -> dict[str, str]:
    return {"type": ids.MAP_VALUE, "role": "assets", "field": field}


def _value_label(field: str, text: str) -> Component:
    """A whole-file control's label: a ``<label for>`` of a single control; a heading over a list of checkboxes
    (each of which has its own label)."""
    if field in ("categories", "communities"):
        return html.Div(text, className="small mb-0 fw-semibold")
    return dbc.Label(text, html_for=_dom_id(_value_id(field)), className="small mb-0 fw-semibold")


def render_labels(summary: Mapping[str, Any], column: object, store: object = None) -> list[Component]:
    """The labels of the category column that match no category, each with a dropdown of the nearest ones.

    Each starts at the category ``store`` gives it (the mapping made so far), else the nearest.
    """
    choices = label_choices(summary, column)
    made = _made(store, summary["role"])["labels"]
    if not choices:
        return []
    all_labels = list(_TAXONOMY.categories.labels)
    rows = []
    for label, nearest in choices.items():
        order = [*nearest, *(item for item in all_labels if item not in nearest)]
        control_id = {"type": ids.MAP_LABEL, "role": summary["role"], "label": label}
        rows.append(dbc.Col(html.Div([
            dbc.Label(f"'{label}' means", html_for=_dom_id(control_id), className="small mb-0"),
            dbc.Select(id=control_id, options=[{"label": "(leave it: the row is rejected)", "value": _NONE}]
                       + [{"label": display_name(item), "value": item} for item in order],
                       value=made.get(label, nearest[0] if nearest else _NONE), size="sm"),
        ]), xs=12, md=6, lg=4, className="mb-2"))  # fmt: skip
    return [html.Div(f"Labels in '{column}' that match no category: pick what each means (the nearest first).",
                     className="small fw-semibold mt-2"), dbc.Row(rows, className="g-2")]  # fmt: skip


def render_preview(frame: pd.DataFrame) -> Component:
    if frame.empty:
        return html.Div("(nothing to show yet)", className="small text-muted")
    head = html.Thead(html.Tr([html.Th(column) for column in frame.columns]))
    body = html.Tbody([html.Tr([html.Td(str(value)) for value in row]) for row in frame.itertuples(index=False)])
    return dbc.Table([head, body], size="sm", bordered=True, className="small mb-0 mapping-preview")


def read_upload(contents: object, filename: object, role: str) -> pd.DataFrame:
    """An uploaded file, checked as every upload is and read as the loaders read it (in a scratch folder)."""
    settings = services().settings
    data = uploads.decode_upload(contents, filename, limits=settings.upload_limits)
    root = Path(settings.data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="mapping-", dir=root))
    try:
        name = safe_filename(filename)
        if name.lower().endswith(".zip"):
            path = extract_shapefile(data, scratch, name[: -len(".zip")], name=filename,
                                     limits=settings.upload_limits)  # fmt: skip
        else:
            path = path_inside(scratch, name)
            path.write_bytes(data)
        frame, problems = read_any(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if any(problem.fatal for problem in problems):
        raise CoverageMapError("; ".join(problem.message for problem in problems if problem.fatal))
    return frame


class SummaryCache:
    """Each uploaded file's summary, so that a file is read once, not again whenever another file arrives.

    Keyed by the SHA-256 of the upload as it arrived (its data URL), its role and its safe file
    name: the same bytes give the same summary, and a changed file a new key. Nothing of the
    upload is kept on disk (the scratch copy is removed once read), only the summary, for the
    last :data:`_CACHE_SIZE` files. A file that cannot be read is remembered as such.
    """

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self.reads = 0
        self._entries: OrderedDict[tuple[str, str, str], dict[str, Any] | None] = OrderedDict()
        self._lock = threading.Lock()

    def summary(self, contents: str, filename: object, role: str) -> dict[str, Any] | None:
        """The summary of one uploaded file (None: it cannot be read; the save step says why)."""
        name = safe_filename(filename)
        key = (hashlib.sha256(contents.encode("utf-8", "surrogatepass")).hexdigest(), role, name)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        try:
            self.reads += 1
            found: dict[str, Any] | None = file_summary(read_upload(contents, filename, role), role, name)
        except (UnsafeUploadError, CoverageMapError):
            found = None
        with self._lock:
            self._entries[key] = found
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found


#: The process's summaries (read-only results of reading a file, keyed by its content: no visitor's state).
SUMMARIES = SummaryCache()


def summaries(contents: Mapping[str, object], filenames: Mapping[str, object]) -> dict[str, dict[str, Any]]:
    """The summary of every uploaded file of a mapped role that can be read (the rest are the save step's).

    Keyed by role; several population files are ``population``, ``population_2``... Each file is
    read once (:data:`SUMMARIES`).
    """
    found: dict[str, dict[str, Any]] = {}
    for role in MAPPED_ROLES:
        for key, item, name in uploads.role_files(role, contents.get(role), filenames.get(role)):
            if not isinstance(item, str):
                continue
            try:
                summary = SUMMARIES.summary(item, name, key)
            except OSError:
                continue
            if summary is not None:
                found[key] = summary
    return found


# --------------------------------------------------------------------------- callbacks


@callback(
    Output(ids.MAPPING_FILES, "data"),
    Output(ids.MAPPING_PANEL, "children"),
    *[Input(ids.upload_box(role), "contents") for role in MAPPED_ROLES],
    *[State(ids.upload_box(role), "filename") for role in MAPPED_ROLES],
    State(ids.MAPPING_STORE, "data"),
    prevent_initial_call=True,
)
def show_mapping(*values: object) -> tuple[object, object]:
    """Read each uploaded file once and show the mapping step for those that need it, keeping the choices made."""
    contents = dict(zip(MAPPED_ROLES, values[: len(MAPPED_ROLES)], strict=True))
    filenames = dict(zip(MAPPED_ROLES, values[len(MAPPED_ROLES) : 2 * len(MAPPED_ROLES)], strict=True))
    store = values[2 * len(MAPPED_ROLES)] if len(values) > 2 * len(MAPPED_ROLES) else None
    found = summaries(contents, filenames)
    cards = [render_step(summary, store) for summary in found.values() if summary["census"] or needs_step(summary)]
    return found, cards


@callback(
    Output({"type": ids.MAP_LABELS, "role": MATCH}, "children"),
    Input({"type": ids.MAP_COLUMN, "role": MATCH, "field": ALL}, "value"),
    State({"type": ids.MAP_COLUMN, "role": MATCH, "field": ALL}, "id"),
    State(ids.MAPPING_FILES, "data"),
    State(ids.MAPPING_STORE, "data"),
)
def show_labels(values: list[object], controls: list[dict[str, str]], files: object, store: object = None) -> object:
    """The unmatched labels of the column chosen for the categories (referrals: the category)."""
    if not controls or not isinstance(files, Mapping) or controls[0]["role"] not in files:
        return no_update
    summary = files[controls[0]["role"]]
    chosen = dict(zip((control["field"] for control in controls), values, strict=True))
    return render_labels(summary, chosen.get(_label_field(summary)), store)


@callback(
    Output(ids.MAPPING_STORE, "data"),
    Output({"type": ids.MAP_PREVIEW, "role": ALL}, "children"),
    Input({"type": ids.MAP_COLUMN, "role": ALL, "field": ALL}, "value"),
    Input({"type": ids.MAP_VALUE, "role": ALL, "field": ALL}, "value"),
    Input({"type": ids.MAP_LABEL, "role": ALL, "label": ALL}, "value"),
    State({"type": ids.MAP_COLUMN, "role": ALL, "field": ALL}, "id"),
    State({"type": ids.MAP_VALUE, "role": ALL, "field": ALL}, "id"),
    State({"type": ids.MAP_LABEL, "role": ALL, "label": ALL}, "id"),
    State({"type": ids.MAP_PREVIEW, "role": ALL}, "id"),
    State(ids.MAPPING_FILES, "data"),
)
def update_mapping(
    column_values: list[object], set_values: list[object], label_values: list[object],
    column_ids: list[dict[str, str]], value_ids: list[dict[str, str]], label_ids: list[dict[str, str]],
    preview_ids: list[dict[str, str]], files: object,
) -> tuple[object, list[object]]:  # fmt: skip
    """The mapping made so far, and each file's preview with it."""
    store = mapping_from_controls(
        list(zip(column_ids, column_values, strict=True)),
        list(zip(value_ids, set_values, strict=True)),
        list(zip(label_ids, label_values, strict=True)),
    )
    summaries_by_role = files if isinstance(files, Mapping) else {}
    previews: list[object] = [render_preview(preview_rows(summaries_by_role[item["role"]], store))
                if item["role"] in summaries_by_role else "" for item in preview_ids]  # fmt: skip
    return store, previews


@callback(
    Output(ids.MAPPING_DOWNLOAD, "data"),
    Input(ids.MAPPING_DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.MAPPING_STORE, "data"),
    prevent_initial_call=True,
)
def download_mapping(clicks: object, store: object) -> object:
    """The mapping as the TOML file ``coverage-map ... --map FILE`` reads."""
    return dcc.send_string(mapping_text(store), "coverage-map-mapping.toml")


def mapping_text(store: object) -> str:
    """The stored mapping as TOML (an empty mapping gives a file with only its comment)."""
    try:
        mappings = mappings_from_dict(store if isinstance(store, Mapping) else {})
    except CoverageMapError:
        mappings = mappings_from_dict({})
    return mapping_toml(mappings)
