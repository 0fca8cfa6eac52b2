"""The dashboard's view state and its URL: pure functions, tested without Dash.

Every selection lives in the URL query string, so a link reproduces the view::

    ?level=neighbourhood&category=dementia&community=all&metric=tier
     &borough=all&scheme=quantiles&assets=1&gaps=0&area=N01&tab=gaps&table=all&question=dementia
     &whatif=dementia.all.14.3km@-2.23010,53.51012

``table=all`` lists every unit of the view in the gap table (its tier in words), not only the gaps.

``question`` is the commissioner's question being answered (:mod:`coverage_map.questions`):
asking one sets the view through the URL; changing the need, community or level afterwards
leaves the question's view, so the question is dropped.

Unknown or invalid values fall back to the defaults (a stale link still opens); a what-if
scenario the data set cannot read is dropped (the What if tab says so). Uploaded data is
never named in the URL: it is private to the session that uploaded it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

from coverage_map.outputs.classes import METRICS, SCHEMES
from coverage_map.questions import BY_KEY as QUESTIONS_BY_KEY
from coverage_map.questions import QuestionView
from coverage_map.scenario_text import canonical_scenario

from . import ids
from .ids import CONTROL_IDS

ALL = "all"
TABS = ("gaps", "organisations", "whatif", "upload", "about")
LEVEL_NAMES = {"area": "Small area", "neighbourhood": "Neighbourhood", "borough": "Borough"}
PREFERRED_CATEGORY = "dementia"
#: The measure the map opens on: gap severity (the tiers of gap method 2, coloured by category).
DEFAULT_METRIC = "tier"

#: URL parameter of each control, by the :class:`ViewState` field it holds.
URL_KEYS = {
    "level": "level", "category": "category", "community": "community", "metric": "metric",
    "borough": "borough", "scheme": "scheme", "show_assets": "assets", "gaps_only": "gaps",
    "area": "area", "tab": "tab", "table_all": "table", "question": "question", "whatif": "whatif",
}  # fmt: skip
#: Changing one of these redraws the map's geometry; the rest only recolour it.
GEOMETRY_FIELDS = ("level", "borough")
#: Changing one of these leaves the view a question set up, so the question is dropped.
QUESTION_FIELDS = ("level", "category", "community")


@dataclass(frozen=True)
class Choices:
    """What one data set allows in each control (ids, in display order)."""

    levels: tuple[str, ...]
    categories: tuple[str, ...]
    communities: tuple[str, ...]
    boroughs: tuple[str, ...]

    @classmethod
    def of(cls, dataset: object) -> Choices:
        """The choices of a :class:`coverage_map.dataset.Dataset`."""
        boroughs = dataset.boroughs["borough_id"].astype(str).tolist()  # type: ignore[attr-defined]
        return cls(
            levels=tuple(dataset.levels),  # type: ignore[attr-defined]
            categories=tuple(dataset.categories),  # type: ignore[attr-defined]
            communities=tuple(dataset.communities),  # type: ignore[attr-defined]
            boroughs=(ALL, *boroughs) if "neighbourhood" in dataset.levels else (ALL,),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class ViewState:
    """One user's view: what the controls show and which unit is selected."""

    level: str
    category: str
    community: str = ALL
    metric: str = DEFAULT_METRIC
    borough: str = ALL
    scheme: str = "quantiles"
    show_assets: bool = True
    gaps_only: bool = False
    area: str | None = None
    tab: str = "gaps"
    #: The gap table lists every unit of the view (with its tier), not only the severe and moderate gaps.
    table_all: bool = False
    #: The question answered (a key of :data:`coverage_map.questions.QUESTIONS`), or None.
    question: str | None = None
    #: The what-if scenario's proposed services as canonical text (:mod:`coverage_map.scenario_text`).
    whatif: str | None = None


def default_state(choices: Choices) -> ViewState:
    """The opening view: neighbourhoods, dementia if the data has it, everyone, gap severity."""
    level = "neighbourhood" if "neighbourhood" in choices.levels else choices.levels[0]
    category = PREFERRED_CATEGORY if PREFERRED_CATEGORY in choices.categories else choices.categories[0]
    return ViewState(level=level, category=category)


def validated(state: ViewState, choices: Choices) -> ViewState:
    """``state`` with every value the data set does not allow replaced by its default."""
    default = default_state(choices)
    return ViewState(
        level=state.level if state.level in choices.levels else default.level,
        category=state.category if state.category in choices.categories else default.category,
        community=state.community if state.community in choices.communities else default.community,
        metric=state.metric if state.metric in METRICS else default.metric,
        borough=state.borough if state.borough in choices.boroughs else default.borough,
        scheme=state.scheme if state.scheme in SCHEMES else default.scheme,
        show_assets=bool(state.show_assets),
        gaps_only=bool(state.gaps_only),
        area=state.area if isinstance(state.area, str) and state.area else None,
        tab=state.tab if state.tab in TABS else default.tab,
        table_all=bool(state.table_all),
        question=state.question if state.question in QUESTIONS_BY_KEY else None,
        whatif=canonical_scenario(state.whatif, categories=choices.categories, communities=choices.communities)
        if isinstance(state.whatif, str)
        else None,
    )


def question_state(current: ViewState, key: str, view: QuestionView) -> ViewState:
    """The view answering question ``key``: its level, need, community, measure, switches and table, over
    the whole region (no borough, no unit selected); the classes stay as they were."""
    return replace(current, level=view.level, category=view.category, community=view.community,
                   metric=view.metric, borough=ALL, show_assets=view.show_assets, gaps_only=view.gaps_only,
                   area=None, tab=view.tab, question=key)  # fmt: skip


def parse_query(search: str | None, choices: Choices) -> ViewState:
    """The view a URL query string (``?level=...``) describes, validated against ``choices``."""
    params = {key: values[-1] for key, values in parse_qs((search or "").lstrip("?")).items() if values}
    default = default_state(choices)

    def flag(key: str, fallback: bool) -> bool:
        value = params.get(key)
        if value is None:
            return fallback
        return value.strip().lower() in ("1", "true", "yes", "on")

    state = ViewState(
        level=params.get("level", default.level),
        category=params.get("category", default.category),
        community=params.get("community", default.community),
        metric=params.get("metric", default.metric),
        borough=params.get("borough", default.borough),
        scheme=params.get("scheme", default.scheme),
        show_assets=flag("assets", default.show_assets),
        gaps_only=flag("gaps", default.gaps_only),
        area=params.get("area") or None,
        tab=params.get("tab", default.tab),
        table_all=params.get("table", "").strip().lower() == "all",
        question=params.get("question") or None,
        whatif=params.get("whatif") or None,
    )
    return validated(state, choices)


def to_query(state: ViewState) -> str:
    """The URL query string (with the leading ``?``) for ``state``."""
    params: list[tuple[str, str]] = [
        ("level", state.level),
        ("category", state.category),
        ("community", state.community),
        ("metric", state.metric),
        ("borough", state.borough),
        ("scheme", state.scheme),
        ("assets", "1" if state.show_assets else "0"),
        ("gaps", "1" if state.gaps_only else "0"),
    ]
    if state.area:
        params.append(("area", state.area))
    if state.tab != "gaps":
        params.append(("tab", state.tab))
    if state.table_all:
        params.append(("table", "all"))
    if state.question:
        params.append(("question", state.question))
    if state.whatif:
        params.append(("whatif", state.whatif))
    return "?" + urlencode(params, safe=",;@")


@dataclass(frozen=True)
class UrlSync:
    """What the URL callback should do: set the URL, set the controls, or both (None = leave)."""

    search: str | None
    state: ViewState | None


def sync_url(triggered: Iterable[str], search: str | None, controls: ViewState, choices: Choices) -> UrlSync:
    """Decide how the URL and the controls follow each other.

    Parameters
    ----------
    triggered
        Component ids that fired the callback (empty on page load).
    search
        The URL's current query string.
    controls
        The view the controls currently show.
    choices
        What the current data set allows.

    Returns
    -------
    UrlSync
        On page load, browser navigation or a change of data set, the controls follow the
        URL (validated); otherwise the URL follows the controls. The page runs that second branch itself
        (``assets/url_sync.js``, without validation: the controls only offer what the data set has), and
        ``tests/browser/test_url_sync.py`` holds it to this function's answers. Changing the level or the
        borough clears the selected unit, which belongs to the old map; changing the data set
        clears the unit and the what-if scenario, which belong to the old data. The question in
        the URL stays until the level, need or community changes (:data:`QUESTION_FIELDS`).
    """
    fired = set(triggered)
    if not fired or ids.URL in fired or ids.DATA_TOKEN in fired:
        state = parse_query(search, choices)
        if ids.DATA_TOKEN in fired and ids.URL not in fired:
            state = validated(replace(controls, area=None, whatif=None), choices)
        canonical = to_query(state)
        return UrlSync(search=canonical if canonical != (search or "") else None, state=state)
    state = replace(controls, question=_kept_question(fired, search, controls))
    moved = {CONTROL_IDS[field] for field in GEOMETRY_FIELDS} & fired
    if moved and state.area is not None:
        state = replace(state, area=None)
        state = validated(state, choices)
        return UrlSync(search=to_query(state), state=state)
    state = validated(state, choices)
    return UrlSync(search=to_query(state), state=None)


def _kept_question(fired: set[str], search: str | None, controls: ViewState) -> str | None:
    """The question of the URL ``search``, unless a control that leaves its view fired."""
    if controls.question is not None:
        return controls.question
    if {CONTROL_IDS[field] for field in QUESTION_FIELDS} & fired:
        return None
    return question_of(search)


def question_of(search: str | None) -> str | None:
    """The question a URL query string names (None: none, or an unknown key)."""
    values = parse_qs((search or "").lstrip("?")).get("question")
    key = values[-1] if values else None
    return key if key in QUESTIONS_BY_KEY else None


def state_from_controls(values: Sequence[object]) -> ViewState:
    """A :class:`ViewState` from control values in :data:`callbacks.ids.CONTROL_IDS` order (controls missing
    at the end, such as the what-if scenario for a caller that predates it, take their defaults)."""
    if len(values) > len(CONTROL_IDS):
        raise ValueError(f"{len(values)} control values for {len(CONTROL_IDS)} controls")
    fields: dict[str, object] = {"table_all": False, "whatif": None, **dict(zip(CONTROL_IDS, values, strict=False))}
    return ViewState(
        level=str(fields["level"]),
        category=str(fields["category"]),
        community=str(fields["community"] or ALL),
        metric=str(fields["metric"]),
        borough=str(fields["borough"] or ALL),
        scheme=str(fields["scheme"]),
        show_assets=bool(fields["show_assets"]),
        gaps_only=bool(fields["gaps_only"]),
        area=fields["area"] if isinstance(fields["area"], str) and fields["area"] else None,
        tab=str(fields["tab"] or "gaps"),
        table_all=bool(fields["table_all"]),
        whatif=fields["whatif"] if isinstance(fields["whatif"], str) and fields["whatif"] else None,
    )


def control_values(state: ViewState) -> list[object]:
    """Control values in :data:`callbacks.ids.CONTROL_IDS` order."""
    return [getattr(state, field) for field in CONTROL_IDS]


def selection_from_event(triggered: Iterable[str], click_data: dict | None, cell: dict | None) -> str | None:
    """The unit a map click or a gap-table click selects (None when neither names one)."""
    fired = set(triggered)
    if ids.GAP_TABLE in fired and cell:
        row_id = cell.get("rowId")
        return str(row_id) if row_id else None
    if ids.MAP in fired and click_data:
        for point in click_data.get("points", []):
            location = point.get("location")
            if location is not None and point.get("curveNumber", 0) == 0:
                return str(location)
    return None
