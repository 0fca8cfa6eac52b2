"""Every component id of the dashboard, in one place.

The page (:mod:`callbacks.layout`) and every callback's ``Input``, ``Output`` and ``State``
name components by these constants, so an id is spelt once. They are also the public
contract of the page: the browser tests, the URL and other engineers' code find
components by them.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------- stores and location

URL: Final = "url"
#: A URL the page asks the server to go to (a question's view): the controls follow it as they follow the
#: address bar (:func:`callbacks.controls.follow_url`).
URL_REQUEST: Final = "url-request"
#: The dataset the session looks at (:class:`callbacks.uploads.Choice` data; None = the default one).
DATA_TOKEN: Final = "data-token"
#: The session's owner token for its uploads (``sessionStorage`` only).
UPLOAD_TOKEN: Final = "upload-token"
UPLOAD_SAVED: Final = "upload-saved"
DATASET_VERSION: Final = "dataset-version"
DATASET_REFRESH: Final = "dataset-refresh"
SELECTED_AREA: Final = "selected-area"
#: The what-if scenario: its proposed services as text (:mod:`coverage_map.scenario_text`; None = none).
WHATIF: Final = "whatif"

# --------------------------------------------------------------------------- header and footer

DATASET_LABEL: Final = "dataset-label"
SYNTHETIC_BADGE: Final = "synthetic-badge"
ATTRIBUTION: Final = "attribution"

# --------------------------------------------------------------------------- controls

LEVEL: Final = "level-select"
CATEGORY: Final = "category-select"
COMMUNITY: Final = "community-select"
METRIC: Final = "metric-select"
METRIC_DESCRIPTION: Final = "metric-description"
BOROUGH: Final = "borough-select"
SCHEME: Final = "scheme-select"
SHOW_ASSETS: Final = "assets-toggle"
GAPS_ONLY: Final = "gaps-only-toggle"
TABS: Final = "tabs"
#: The gap table's "List every area" switch: every unit of the view with its tier, not only the gaps.
GAP_TABLE_ALL: Final = "gap-table-all"

#: Component id of each control, by the :class:`callbacks.state.ViewState` field it holds
#: (in the order of the URL callback's inputs and outputs).
CONTROL_IDS: Final = {
    "level": LEVEL,
    "category": CATEGORY,
    "community": COMMUNITY,
    "metric": METRIC,
    "borough": BOROUGH,
    "scheme": SCHEME,
    "show_assets": SHOW_ASSETS,
    "gaps_only": GAPS_ONLY,
    "area": SELECTED_AREA,
    "tab": TABS,
    "table_all": GAP_TABLE_ALL,
    "whatif": WHATIF,
}

# --------------------------------------------------------------------------- map and details

MAP: Final = "map"
#: Never written: the panels that follow the need (gap table, equity chart) take it as an input so that the
#: page asks for them only once the map's answer is in (Dash holds a callback while one that writes any of its
#: inputs is running), and the server works on the map alone first (:mod:`callbacks.mapview`).
MAP_FIRST: Final = "map-first"
MAP_NOTICE: Final = "map-notice"
AREA_DETAILS: Final = "area-details"
AREA_FRESHNESS: Final = "area-freshness"
#: The selected unit's tier, what it means and why (gap method 2).
AREA_TIER: Final = "area-tier"
#: "How sure are we": the unit's cluster test in one sentence.
AREA_CERTAINTY: Final = "area-certainty"
#: The always-visible key of the tiers under the map (swatch, label, meaning, units in the view).
TIER_KEY: Final = "tier-key"
#: The key's heading, and each tier's count in it: a change of need rewrites these words only (the key's
#: components stay mounted, so the page does not build its 30-odd components again on every change).
TIER_KEY_HEADING: Final = "tier-key-heading"


def tier_count(tier: str) -> str:
    """The id of ``tier``'s count in the key (``" (12)"``)."""
    return f"tier-count-{tier}"


#: Access by deprivation tenth for the need and community (needs IMD).
EQUITY: Final = "equity"
EQUITY_GRAPH: Final = "equity-graph"
EQUITY_SENTENCE: Final = "equity-sentence"
REFERRAL_TREND: Final = "referral-trend"

# --------------------------------------------------------------------------- questions

#: The questions' section above the map (:mod:`callbacks.questions`).
QUESTIONS: Final = "questions"
#: Pattern-matching id type of each question's button: ``{"type": QUESTION_BUTTON, "key": key}``.
QUESTION_BUTTON: Final = "question-button"
#: The answer beside the map: its card, sentence and ranked list.
QUESTION_ANSWER: Final = "question-answer"
QUESTION_SENTENCE: Final = "question-sentence"
QUESTION_CLEAR: Final = "question-clear"
#: Pattern-matching id type of a unit in an answer's list (clicking selects it): ``{"type": ..., "area": id}``.
ANSWER_ITEM: Final = "answer-item"


def question_button(key: str) -> dict[str, str]:
    """The button asking question ``key`` (see :data:`coverage_map.questions.QUESTIONS`)."""
    return {"type": QUESTION_BUTTON, "key": key}


def answer_item(area_id: str) -> dict[str, str]:
    """The button of unit ``area_id`` in an answer's ranked list."""
    return {"type": ANSWER_ITEM, "area": area_id}


# --------------------------------------------------------------------------- map download

DOWNLOAD_MAP_SLOT: Final = "download-map-slot"
DOWNLOAD_MAP_FORMAT: Final = "download-map-format"
DOWNLOAD_MAP_BUTTON: Final = "download-map-button"
DOWNLOAD_MAP: Final = "download-map"
DOWNLOAD_MAP_ERROR: Final = "download-map-error"

# --------------------------------------------------------------------------- tables

GAP_TABLE: Final = "gap-table"
GAP_SUMMARY: Final = "gap-summary"
GAP_TABLE_DOWNLOAD: Final = "gap-table-download"
DOWNLOAD_TABLE_BUTTON: Final = "download-table-button"
ORG_TABLE: Final = "org-table"
ORG_SUMMARY: Final = "org-summary"

# --------------------------------------------------------------------------- uploads and datasets

DATASET_SELECT: Final = "dataset-select"
DATASET_PUBLISH: Final = "dataset-publish"
PUBLISH_STATUS: Final = "publish-status"
#: When the dataset shown was last synced from a live feed, and what changed (:mod:`callbacks.feeds`).
DATASET_SYNC: Final = "dataset-sync"
UPLOAD_NAME: Final = "upload-name"
UPLOAD_LOAD: Final = "upload-load"
UPLOAD_RESET: Final = "upload-reset"
UPLOAD_REPORT: Final = "upload-report"
UPLOAD_PROBLEMS: Final = "upload-problems"
UPLOAD_COUNTS: Final = "upload-counts"
UPLOAD_REJECTED_BUTTON: Final = "upload-rejected-button"
UPLOAD_REJECTED_DOWNLOAD: Final = "upload-rejected-download"

# --------------------------------------------------------------------------- failing safely

#: A banner over the page: the data cannot be reached, a request failed, a file was too large.
SERVICE_NOTICE: Final = "service-notice"
#: Everything that shows data (hidden while the data cannot be reached).
MAIN: Final = "main"


def upload_box(role: str) -> str:
    """The ``dcc.Upload`` of one input role (``areas``, ``assets``...)."""
    return f"upload-{role}"


def upload_status(role: str) -> str:
    """The line under an upload box saying whether its file was received or refused."""
    return f"upload-status-{role}"


# --------------------------------------------------------------------------- long work (callbacks/jobs.py)

#: A random id of this page load (made in the browser), naming its background jobs.
JOB_PAGE: Final = "job-page"
#: The background jobs of the page: saving an upload, drawing a map download, suggesting sites.
UPLOAD_JOB: Final = "upload"
MAP_JOB: Final = "download-map"
SUGGEST_JOB: Final = "suggest"


def job_progress(job: str) -> str:
    """The progress bar of ``job`` while it runs (empty otherwise)."""
    return f"job-{job}-progress"


def job_cancel(job: str) -> str:
    """The Cancel button of ``job``, shown only while it runs."""
    return f"job-{job}-cancel"


def job_running(job: str) -> str:
    """A store that is True while ``job`` runs (set by Dash's ``running=``)."""
    return f"job-{job}-running"


def job_cancelled(job: str) -> str:
    """A store holding the number (its button's clicks) of the last run of ``job`` the visitor cancelled."""
    return f"job-{job}-cancelled"


def job_status(job: str) -> str:
    """What happened to ``job`` when it ended without its own answer: cancelled, or stopped."""
    return f"job-{job}-status"


# --------------------------------------------------------------------------- the mapping step (callbacks/mapping.py)

#: The mapping the visitor made, as :meth:`coverage_map.ingest.mapping.Mappings.as_dict` writes it.
MAPPING_STORE: Final = "mapping-store"
#: What the mapping step knows of each uploaded file (columns, five rows, guesses), by role.
MAPPING_FILES: Final = "mapping-files"
MAPPING_PANEL: Final = "mapping-panel"
MAPPING_DOWNLOAD_BUTTON: Final = "mapping-download-button"
MAPPING_DOWNLOAD: Final = "mapping-download"
#: Pattern-matching id types of the mapping step's controls (``{"type": ..., "role": ..., ...}``).
MAP_COLUMN: Final = "map-column"
MAP_VALUE: Final = "map-value"
MAP_LABEL: Final = "map-label"
MAP_PREVIEW: Final = "map-preview"
MAP_LABELS: Final = "map-labels"


# --------------------------------------------------------------------------- the What if tab (callbacks/whatif.py)

#: Says when the scenario in a link could not be used (a toast, seen from any tab).
WHATIF_NOTICE: Final = "whatif-notice"
WHATIF_PLACE: Final = "whatif-place"
WHATIF_PLACED: Final = "whatif-placed"
WHATIF_CATEGORY: Final = "whatif-category"
WHATIF_COMMUNITY: Final = "whatif-community"
WHATIF_CAPACITY: Final = "whatif-capacity"
WHATIF_REACH: Final = "whatif-reach"
WHATIF_LIST: Final = "whatif-list"
WHATIF_CLEAR: Final = "whatif-clear"
WHATIF_SUMMARY: Final = "whatif-summary"
#: Pattern-matching id type of each proposed service's remove button (``{"type": ..., "index": n}``).
WHATIF_REMOVE: Final = "whatif-remove"
WHATIF_K: Final = "whatif-k"
WHATIF_LAYER: Final = "whatif-layer"
WHATIF_UPLOAD: Final = "whatif-upload"
WHATIF_UPLOAD_STATUS: Final = "whatif-upload-status"
#: Candidate sites uploaded by the visitor (``site_id``, ``site_name``, ``x``, ``y`` in EPSG:27700).
WHATIF_CANDIDATES: Final = "whatif-candidates"
WHATIF_SUGGEST: Final = "whatif-suggest"
WHATIF_RESULT: Final = "whatif-result"
#: The suggested sites as scenario text, ready to add.
WHATIF_SUGGESTED: Final = "whatif-suggested"
WHATIF_ADD_SUGGESTED: Final = "whatif-add-suggested"
WHATIF_PICK: Final = "whatif-pick"
WHATIF_PICK_ADD: Final = "whatif-pick-add"


# --------------------------------------------------------------------------- gates (callbacks/gates.py)

#: What the What if tab's server callbacks need (level, need, community, data token), filled only while it is open.
WHATIF_VIEW: Final = "whatif-view"
#: The question the URL names ("" for none), changed only when that question changes.
QUESTION_KEY: Final = "question-key"
#: What the details panel needs (the selected unit and the view), filled only when a unit is or was selected.
DETAILS_VIEW: Final = "details-view"


# --------------------------------------------------------------------------- opening a saved dataset (callbacks/opening.py)

#: The progress bar while a chosen dataset opens.
OPENING_VIEW: Final = "opening-view"
#: The same bar beside the dataset picker (a visual copy: the live region is the one above the map).
OPENING_ECHO: Final = "opening-echo"
#: Polls the load board (:mod:`callbacks.load_board`) while the chosen dataset opens.
OPENING_POLL: Final = "opening-poll"
#: What the poll waits for: ``{"key": dataset key, "at": server time armed, "ticks": polls since}``.
OPENING_ARMED: Final = "opening-armed"
