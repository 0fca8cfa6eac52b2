"""Read-only data shared by every request: the default data set and workspace datasets.

Only immutable, derived data is memoised here (data sets, simplified boundaries, asset
points). Nothing about a visitor's view is stored on the server: that lives in the
browser (URL and ``dcc.Store``). A dataset chosen from the workspace
(:class:`callbacks.uploads.Choice`) is loaded by whichever worker first needs it and kept
per (name, version); versions never change, and who may see them is re-checked whenever
the workspace's version token changes (something was added, published or removed).

A what-if scenario (the ``whatif`` store, :mod:`coverage_map.scenario_text`) gives a derived
data set: the base one with the proposed services added (:meth:`Dataset.with_proposed`),
kept per (base, scenario) for the few most recently used scenarios. It depends only on the
data and the scenario text, never on who asks, like everything else here.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from coverage_map.config import DISPLAY_CRS
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.joins import JOIN_STEPS
from coverage_map.model import Inputs
from coverage_map.progress import stages
from coverage_map.scenario import proposed_assets
from coverage_map.scenario_text import SOURCE, encode_scenario, parse_scenario, scenario_records
from coverage_map.store import DatasetNotFoundError, Workspace, WorkspaceUnavailable, open_workspace

from . import uploads
from .explain import EquityView, equity_view
from .load_board import LoadBoard
from .settings import Settings
from .state import Choices, default_state

DEFAULT_KEY = "default"
_LOG = logging.getLogger(__name__)
#: What a visitor is told when the workspace's database cannot be reached (never its address or error).
UNAVAILABLE_TEXT = (
    "Your data cannot be reached just now (the dataset store is not answering), so nothing is shown. "
    "Reload the page in a minute or two."
)


#: What a visitor is told when the server has no room left to save what they sent.
DISK_FULL_TEXT = (
    "The server has no room left to save your data just now (its disk is full), so nothing was saved. "
    "Try again later, or tell whoever runs this dashboard."
)
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL


#: The last stage of opening a dataset: the first map's analysis.
ANALYSING = "working out access and gaps"
_OPENING = {"areas": "reading the areas", "lookup": "reading the lookup", "practices": "reading the GP practices",
            "assets": "reading the services", "population": "reading the population",
            "referrals": "reading the referrals", "area tables": "reading origins, travel times and IMD"}  # fmt: skip


def opening_text(role: str) -> str:
    """The stage that reads ``role``'s file, in words."""
    return _OPENING.get(role, f"reading the {role}")


def _report(board: LoadBoard, key: str, done: int, total: int, what: str) -> None:
    board.report(key, done, total, what[:1].upper() + what[1:])


class DataUnavailable(Exception):  # noqa: N818 - reads as what happened, like DatasetNotFound
    """The dataset a session chose cannot be loaded because the workspace cannot be reached.

    Raised instead of quietly showing the default data, which a visitor would take for their own.
    """


def visitor_message(error: BaseException) -> str:
    """What a visitor may be told about ``error``: the workspace's own words for mistakes in the
    request (a bad name, a refused file), a generic sentence for an outage (whose message names
    the database) or a full disk."""
    if disk_full(error):
        return DISK_FULL_TEXT
    if isinstance(error, (WorkspaceUnavailable, DataUnavailable, sa.exc.SQLAlchemyError, OSError)):
        return UNAVAILABLE_TEXT
    return str(error)


def disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it came from, says the disk (or the database's storage) is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL or getattr(error, "sqlstate", None) == "53100":
            return True  # SQLite's "database or disk is full"; PostgreSQL's disk_full
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


@dataclass(frozen=True)
class Loaded:
    """A data set and the key its derived data is cached under."""

    key: str
    dataset: Dataset
    uploaded: bool
    #: For a what-if scenario: the data set without its proposed services (None otherwise).
    base: Loaded | None = None


class Registry:
    """The default data set and workspace datasets by (name, version), plus memoised boundaries
    and asset points (all read-only)."""

    def __init__(
        self, default: Dataset, settings: Settings, *, max_uploaded: int = 4, workspace: Workspace | None = None,
        max_scenarios: int = 4, loads: LoadBoard | None = None,
    ) -> None:  # fmt: skip
        self.default = default
        self.settings = settings
        self._max_uploaded = max_uploaded
        self._uploaded: OrderedDict[str, Dataset] = OrderedDict()
        self._max_scenarios = max_scenarios
        self._scenarios: OrderedDict[str, Dataset] = OrderedDict()
        self._derived: dict[tuple[str, ...], object] = {}
        self._lock = threading.RLock()
        self._loading: dict[str, threading.Lock] = {}
        self._workspace = workspace
        self._generation: str | None = None
        self._visible: set[tuple[str, str | None]] = set()
        self._loads = loads

    @property
    def workspace(self) -> Workspace:
        """The workspace uploads are saved to, opened on first use (so after gunicorn forks)."""
        with self._lock:
            if self._workspace is None:
                self._workspace = open_workspace(
                    self.settings.workspace, keep_raw_uploads=self.settings.keep_raw_uploads
                )
            return self._workspace

    def get(self, token: object, whatif: object = None) -> Loaded:
        """The dataset a ``data-token`` store names; the default one when it names none, or one
        that this session may not (or no longer) see.

        With ``whatif`` (a scenario's text), that dataset with the scenario's proposed services
        added (:meth:`scenario`); the dataset without them when the scenario cannot be used
        (:func:`callbacks.whatif.scenario_notice` tells the visitor why).
        """
        base = self._base(token)
        if not isinstance(whatif, str) or not whatif.strip():
            return base
        try:
            return self.scenario(base, whatif)
        except CoverageMapError as error:
            _LOG.info("showing the data without the what-if scenario: %s", error)
            return base

    def scenario(self, base: Loaded, whatif: str) -> Loaded:
        """``base`` with the proposed services of ``whatif`` added, built once per scenario.

        Its key is ``<base key>|whatif:<digest>``, so everything memoised per data set (asset
        points, boundaries, equity) is kept apart from the base's.

        Raises
        ------
        ValidationError
            The text names needs or communities the data set lacks, is malformed, or places a
            service outside every area.
        """
        dataset = base.dataset
        proposals = parse_scenario(whatif, categories=dataset.categories, communities=dataset.communities)
        canonical = encode_scenario(proposals)
        if not canonical:
            return base
        key = f"{base.key}|whatif:{hashlib.sha1(canonical.encode()).hexdigest()[:12]}"
        with self._lock:
            if key in self._scenarios:
                self._scenarios.move_to_end(key)
                return Loaded(key, self._scenarios[key], uploaded=base.uploaded, base=base)
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # the map, tables and details ask at once: one of them builds it
            with self._lock:
                if key in self._scenarios:
                    return Loaded(key, self._scenarios[key], uploaded=base.uploaded, base=base)
            proposed = proposed_assets(scenario_records(proposals), dataset.inputs.taxonomy, source=SOURCE)
            derived = dataset.with_proposed(proposed, source=SOURCE)
            with self._lock:
                self._scenarios[key] = derived
                while len(self._scenarios) > self._max_scenarios:
                    old, _ = self._scenarios.popitem(last=False)
                    self._derived = {k: v for k, v in self._derived.items() if k[0] != old}
                    self._loading.pop(old, None)
            return Loaded(key, derived, uploaded=base.uploaded, base=base)

    def _base(self, token: object) -> Loaded:
        choice = uploads.Choice.parse(token)
        if choice is None:
            return Loaded(DEFAULT_KEY, self.default, uploaded=False)
        try:
            return Loaded(choice.key, self.dataset(choice), uploaded=True)
        except DatasetNotFoundError:
            # Removed, or never this session's: the picker says so and shows the default data.
            return Loaded(DEFAULT_KEY, self.default, uploaded=False)
        except (CoverageMapError, sa.exc.SQLAlchemyError, OSError) as error:
            # An outage: show nothing rather than the default data, which would pass for the visitor's own.
            _LOG.warning("a workspace dataset cannot be loaded: %s", type(error).__name__)
            raise DataUnavailable(UNAVAILABLE_TEXT) from error

    def dataset(self, choice: uploads.Choice) -> Dataset:
        """The :class:`Dataset` of a workspace version, if ``choice.owner`` may see it.

        Raises
        ------
        DatasetNotFoundError
            The version does not exist, or is another session's private dataset.
        """
        workspace = self.workspace
        self._check_visible(workspace, choice)
        with self._lock:
            if choice.key in self._uploaded:
                self._uploaded.move_to_end(choice.key)
                return self._uploaded[choice.key]
            gate = self._loading.setdefault(choice.key, threading.Lock())
        with gate:  # one thread loads a version; others wait for it
            with self._lock:
                if choice.key in self._uploaded:
                    return self._uploaded[choice.key]
            dataset = self._open(workspace, choice)
            self.remember(choice.key, dataset)
            return dataset

    def may_see(self, choice: uploads.Choice) -> bool:
        """Whether ``choice.owner`` may see that version (checked once per workspace change, like :meth:`dataset`)."""
        try:
            self._check_visible(self.workspace, choice)
        except (CoverageMapError, sa.exc.SQLAlchemyError, OSError):  # not theirs, removed, or an outage
            return False
        return True

    def _check_visible(self, workspace: Workspace, choice: uploads.Choice) -> None:
        """Raise :class:`DatasetNotFoundError` unless ``choice.owner`` may see that version."""
        generation = workspace.version_token()
        owner = None if choice.owner is None else hashlib.sha256(choice.owner.encode()).hexdigest()
        with self._lock:
            if generation != self._generation:  # something was added, published or removed
                self._generation = generation
                self._visible.clear()
            if (choice.key, owner) in self._visible:
                return
        try:
            workspace.ref(choice.name, choice.version, owner=choice.owner, private=choice.private)
        except CoverageMapError:
            if not self._exists(workspace, choice):  # removed: free its memory
                self._forget(choice.key)
            raise
        with self._lock:
            self._visible.add((choice.key, owner))

    def loaded(self, key: str) -> bool:
        """Whether this process holds the dataset ``key`` already."""
        with self._lock:
            return key in self._uploaded

    def _open(self, workspace: Workspace, choice: uploads.Choice) -> Dataset:
        """Load and join a workspace version, reporting each stage on the load board (:mod:`callbacks.load_board`)."""
        board = self.loads
        spec = workspace.spec(choice.name, choice.version, owner=choice.owner, private=choice.private)
        steps = [*(opening_text(role) for role in spec.reading_steps()), *JOIN_STEPS, ANALYSING]
        listener = functools.partial(_report, board, choice.key)
        try:
            with stages(
                f"Opening {choice.name} v{choice.version}", steps, enabled=False, listener=listener
            ) as progress:
                inputs = workspace.load(choice.name, choice.version, owner=choice.owner, private=choice.private,
                                        on_file=lambda role: progress.next(opening_text(role)))  # fmt: skip
                dataset = Dataset.from_inputs(inputs, label=f"{choice.name} v{choice.version}",
                                              threshold_km=self.default.threshold_km, method=self.default.method,
                                              on_step=progress.next)  # fmt: skip
                progress.next(ANALYSING)
                dataset.analysis(default_state(Choices.of(dataset)).level)  # the first map's, while the bar shows
        finally:
            board.finish(choice.key)
        return dataset

    @property
    def loads(self) -> LoadBoard:
        """Where this process reports how far it is in opening a dataset (shared with the host's workers)."""
        with self._lock:
            if self._loads is None:
                self._loads = LoadBoard.shared()
            return self._loads

    def adopt(self, choice: uploads.Choice, inputs: Inputs) -> Dataset:
        """The :class:`Dataset` of a version just saved from ``inputs`` (joined here, kept, not loaded again)."""
        dataset = Dataset.from_inputs(inputs, label=f"{choice.name} v{choice.version}",
                                      threshold_km=self.default.threshold_km, method=self.default.method)  # fmt: skip
        self.remember(choice.key, dataset)
        return dataset

    def remember(self, key: str, dataset: Dataset) -> None:
        """Keep a freshly loaded dataset (the least recently used one is dropped when full)."""
        with self._lock:
            self._uploaded[key] = dataset
            self._uploaded.move_to_end(key)
            while len(self._uploaded) > self._max_uploaded:
                old, _ = self._uploaded.popitem(last=False)
                self._derived = {k: v for k, v in self._derived.items() if k[0] != old}

    @staticmethod
    def _exists(workspace: Workspace, choice: uploads.Choice) -> bool:
        try:
            workspace.ref(choice.name, choice.version, owner=choice.owner, include_private=True,
                          private=choice.private)  # fmt: skip
        except CoverageMapError:
            return False
        return True

    def _forget(self, key: str) -> None:
        with self._lock:
            self._uploaded.pop(key, None)
            self._derived = {k: v for k, v in self._derived.items() if k[0] != key}

    def _memo(self, key: tuple[str, ...], build):
        with self._lock:
            if key in self._derived:
                return self._derived[key]
        value = build()
        with self._lock:
            return self._derived.setdefault(key, value)

    def asset_points(self, loaded: Loaded) -> pd.DataFrame:
        """Every located asset with lon/lat, its borough and whether it is a proposed one, for the map."""

        def build() -> pd.DataFrame:
            dataset = loaded.dataset
            assets = dataset.prepared.assets
            points = assets.to_crs(DISPLAY_CRS)
            borough = assets["area_id"].map(dataset.borough_of("area")) if "neighbourhood" in dataset.levels else None
            frame = pd.DataFrame(
                {
                    "asset_id": assets["asset_id"].astype(str).to_numpy(),
                    "name": assets["name"].to_numpy(),
                    "categories": assets["categories"].to_numpy(),
                    "communities": assets["communities"].to_numpy(),
                    "capacity": assets["capacity"].to_numpy(),
                    "accepting_referrals": assets["accepting_referrals"].to_numpy(),
                    "lon": points.geometry.x.to_numpy(),
                    "lat": points.geometry.y.to_numpy(),
                    "borough_id": borough.astype(str).to_numpy() if borough is not None else "",
                    # a what-if scenario's proposed services, drawn apart from the real ones
                    "proposed": assets["proposed"].to_numpy(dtype=bool)
                    if "proposed" in assets
                    else np.zeros(len(assets), dtype=bool),
                }
            )
            return frame

        return self._memo((loaded.key, "assets"), build)

    def offers(self, loaded: Loaded, category: str, community: str) -> np.ndarray:
        """Per row of :meth:`asset_points`: does the asset offer ``category`` (and list
        ``community``, unless everyone)? Each label's mask is worked out once."""
        points = self.asset_points(loaded)
        dataset = loaded.dataset
        if category not in dataset.categories or community not in dataset.communities:
            return np.zeros(len(points), dtype=bool)  # never memoise labels a request made up

        def lists(column: str, label: str) -> np.ndarray:
            return self._memo(  # type: ignore[no-any-return]
                (loaded.key, "offers", column, label),
                lambda: points[column].map(lambda labels: label in labels).astype(bool).to_numpy(),
            )

        mask = lists("categories", category)
        if community != "all":
            mask = mask & lists("communities", community)
        return mask

    def members(self, loaded: Loaded, level: str) -> pd.Series:
        """Small area id -> unit id at ``level``."""

        def build() -> pd.Series:
            membership = loaded.dataset.prepared.membership
            column = "area_id" if level == "area" else f"{level}_id"
            units = membership["area_id"] if level == "area" else membership[column]
            return pd.Series(units.astype(str).to_numpy(), index=membership["area_id"].astype(str).to_numpy())

        return self._memo((loaded.key, "members", level), build)

    def equity_view(self, loaded: Loaded, category: str, community: str) -> EquityView:
        """:func:`callbacks.explain.equity_view`, chart included, built once per need and community."""
        dataset = loaded.dataset
        if category not in dataset.categories or community not in dataset.communities:
            return equity_view(dataset, category, community)  # never memoise labels a request made up
        return self._memo(  # type: ignore[no-any-return]
            (loaded.key, "equity", category, community), lambda: equity_view(dataset, category, community)
        )
