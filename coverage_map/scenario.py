"""What if we fund a service here? Proposed (hypothetical) services added to the real ones, before and after.

A scenario is a set of proposed services in the assets format (location, categories,
communities, capacity, reach). :func:`load_scenario` reads them from a file with the
assets file's own checks and row-numbered problems; :func:`proposed_assets` builds them
from plain records (a point clicked on a map). :func:`with_proposed` adds them to joined
inputs, flagged ``proposed``, and :func:`apply_scenario` analyses before and after.

Proposed services are never real ones: they carry ``proposed = True`` wherever they go
(the organisations table gains a ``proposed`` column), they exist only in the
:class:`~coverage_map.joins.Prepared` built here, and the workspace refuses an assets
file that marks any row as proposed (:func:`proposed_rows`).

The analysis after adding them is exactly the analysis of the real assets with the same
rows appended to the assets file (``tests/unit/test_scenario.py`` checks this).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .analysis import Analysis, analyse, published_table
from .config import DEFAULT_THRESHOLD_KM, METRIC_CRS
from .errors import CRSError, Problem, ValidationError
from .joins import Prepared, points_in_areas, prepare, reach_pairs
from .method import DEFAULT_METHOD, GapMethod
from .metrics import KEY
from .model import Inputs, SourceInfo, proposed_rows  # noqa: F401 - part of this module's API
from .taxonomy import Taxonomy

#: The flag column of proposed services.
PROPOSED = "proposed"
#: What problems name as the file when proposed services are typed in, not read from a file.
TYPED_IN = "proposed services"
#: The published columns that gain a ``_before`` twin, each placed after its counterpart.
BEFORE_COLUMNS = ("access_per_10k", "access_ratio", "tier")
#: The tiers that make a unit a gap.
GAP_TIERS = ("severe", "moderate")


@dataclass(frozen=True)
class ScenarioResult:
    """The analysis before and after adding proposed services, at one level.

    Attributes
    ----------
    before, after
        True (unsuppressed) analyses without and with the proposed services.
    proposed
        The proposed services as located: the assets columns, ``area_id`` and ``proposed``.
    prepared
        The joined inputs with the proposed services added (for maps and reports).
    """

    before: Analysis
    after: Analysis
    proposed: gpd.GeoDataFrame
    prepared: Prepared

    @property
    def table(self) -> pd.DataFrame:
        """The true table after, with ``access_per_10k_before``, ``access_ratio_before`` and ``tier_before``."""
        return _with_before(self.after.table, self.before.table)


def load_scenario(
    path: str | Path, taxonomy: Taxonomy, *, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read proposed services from a file in the assets format, with the assets file's checks.

    Every problem names the scenario file and its row, as for the assets file. The
    services come back flagged ``proposed``.

    Returns
    -------
    proposed, problems
        As :func:`coverage_map.ingest.assets.load_assets`, plus ``proposed = True``.
    """
    from .ingest.assets import load_assets

    frame, problems = load_assets(path, taxonomy, crs=crs)
    return _flagged(frame), problems


def proposed_assets(
    records: Iterable[Mapping[str, object]], taxonomy: Taxonomy, *, source: str = TYPED_IN
) -> gpd.GeoDataFrame:
    """Proposed services from plain records (e.g. a point clicked on the dashboard's map).

    Each record may give ``asset_id`` (default ``proposed-<n>``), ``name`` (default
    ``Proposed service <n>``), ``categories`` (or ``category``), ``communities`` (or
    ``community``; ``all`` or blank = open to all), ``capacity``, ``accepting_referrals``,
    ``reach``, and a location: ``lon``/``lat`` (or ``longitude``/``latitude``, WGS84) or
    ``x``/``y`` (or ``easting``/``northing``, British National Grid). Lists may be given
    as lists or as ``;``-separated text.

    Raises
    ------
    ValidationError
        Listing every problem (record ``n`` is row ``n``), as for the assets file.
    """
    from .ingest.assets import assets_from_table

    rows = [_record_row(record, n) for n, record in enumerate(records, start=1)]
    columns = sorted({column for row in rows for column in row}, key=_column_order)
    raw = pd.DataFrame({column: [row.get(column, "") for row in rows] for column in columns})
    raw["_source_row"] = np.arange(1, len(rows) + 1, dtype="int64")
    frame, problems = assets_from_table(raw, taxonomy, file=source)
    if not rows:
        problems = [Problem(source, "no proposed service was given")]
    fatal = [p for p in problems if p.fatal]
    rejected = [p for p in problems if not p.fatal and p.row is not None]
    if fatal or rejected:
        raise ValidationError([*fatal, *rejected], note="Fix the proposed services and try again.")
    return _flagged(frame)


def with_proposed(prepared: Prepared, proposed: gpd.GeoDataFrame, *, source: str = TYPED_IN) -> Prepared:
    """The joined inputs with proposed services added after the real assets, flagged ``proposed``.

    Only the assets and their reach are joined again; areas, levels and referrals are
    shared with ``prepared`` (which is left as it is).

    Raises
    ------
    ValidationError
        A proposed service outside every area, or whose ``asset_id`` is already taken
        (by a real asset or another proposed one), each named by its row.
    """
    if proposed.crs is None:
        raise CRSError(f"proposed services have no CRS; set one (e.g. .set_crs('{METRIC_CRS}')) first")
    proposed = _flagged(proposed.to_crs(METRIC_CRS))
    located = proposed.copy()
    located["area_id"] = points_in_areas(located.geometry, prepared.inputs.areas)
    _check_proposed(located, prepared, source)
    real = _flagged(prepared.assets, value=False)
    assets = gpd.GeoDataFrame(pd.concat([real, located[real.columns.intersection(located.columns)]],
                                        ignore_index=True), geometry="geometry", crs=real.crs)  # fmt: skip
    given = _flagged(prepared.inputs.assets, value=False)
    inputs_assets = gpd.GeoDataFrame(
        pd.concat([given, proposed[given.columns.intersection(proposed.columns)]], ignore_index=True),
        geometry="geometry",
        crs=given.crs,
    )
    pairs, problems = reach_pairs(located, prepared.units["area"], prepared.membership)
    local_reach = pd.concat([prepared.local_reach, pairs], ignore_index=True).drop_duplicates()
    local_reach = local_reach.sort_values(["asset_id", "area_id"], kind="stable").reset_index(drop=True)
    inputs = dataclasses.replace(
        prepared.inputs,
        assets=inputs_assets,
        sources=(*prepared.inputs.sources, SourceInfo("scenario", source, len(proposed))),
    )
    return Prepared(
        inputs=inputs,
        membership=prepared.membership,
        units=prepared.units,
        assets=assets,
        referrals=prepared.referrals,
        local_reach=local_reach,
        citywide=(*prepared.citywide, *located.loc[located["reach"] == "citywide", "asset_id"].astype(str)),
        problems=(*prepared.problems, *problems),
    )


def apply_scenario(
    data: Inputs | Prepared,
    proposed: gpd.GeoDataFrame,
    *,
    level: str = "area",
    threshold_km: float = DEFAULT_THRESHOLD_KM,
    method: GapMethod = DEFAULT_METHOD,
    source: str = TYPED_IN,
) -> ScenarioResult:
    """The analysis before and after adding ``proposed`` services (see :func:`coverage_map.analysis.analyse`).

    Parameters
    ----------
    data
        The real inputs, validated or already joined (a ``Prepared`` keeps its memoised
        analysis, so "before" is not computed again).
    proposed
        Proposed services (:func:`load_scenario`, :func:`proposed_assets`).
    level, threshold_km, method
        As for :func:`~coverage_map.analysis.analyse`.
    source
        What problems name as the scenario's file.
    """
    prepared = data if isinstance(data, Prepared) else prepare(data)
    after_prepared = with_proposed(prepared, proposed, source=source)
    before = analyse(prepared, level=level, threshold_km=threshold_km, method=method)
    after = analyse(after_prepared, level=level, threshold_km=threshold_km, method=method)
    located = after_prepared.assets[after_prepared.assets[PROPOSED].to_numpy(dtype=bool)].reset_index(drop=True)
    return ScenarioResult(before=before, after=after, proposed=located, prepared=after_prepared)


def scenario_table(result: ScenarioResult, *, suppress: bool = True) -> pd.DataFrame:
    """The published table after, with ``access_per_10k_before``, ``access_ratio_before`` and ``tier_before``.

    Both sides are published tables (:func:`~coverage_map.analysis.published_table`), so the
    tier before is suppression-safe too.
    """
    return _with_before(
        published_table(result.after, suppress=suppress), published_table(result.before, suppress=suppress)
    )


@dataclass(frozen=True)
class TierMoves:
    """How one map (a category and community at one level) changes with the proposed services.

    Attributes
    ----------
    moves
        ``tier_before``, ``tier``, ``units``: how many units went from one tier to another
        (published tiers; units that stayed put included).
    leave_severe
        Units that were severe before and are not after (some may be moderate).
    leave_moderate
        Units that were moderate before and are no gap after.
    enter_severe
        Units that were not severe before and are after.
    enter_gap
        Units that were not a gap before and are one after. New provision raises the
        region's average, so places it does not reach can fall below it, and the clusters
        of low access (Gi*) are tested again.
    need_in_gaps_before, need_in_gaps_after
        People in need living in gap units (severe or moderate), before and after.
    """

    moves: pd.DataFrame
    leave_severe: int
    leave_moderate: int
    enter_severe: int
    enter_gap: int
    need_in_gaps_before: float
    need_in_gaps_after: float

    @property
    def need_in_gaps_change(self) -> float:
        return self.need_in_gaps_after - self.need_in_gaps_before


def tier_moves(result: ScenarioResult, category: str, community: str = "all") -> TierMoves:
    """The tier changes of one category and community (from the published tables)."""
    table = scenario_table(result)
    rows = table[(table["category"] == category) & (table["community"] == community)]
    before = rows["tier_before"].astype("string").fillna("no_data")
    after = rows["tier"].astype("string").fillna("no_data")
    need = pd.to_numeric(rows["need"]).astype(float).fillna(0.0)
    moves = (
        pd.DataFrame({"tier_before": before.to_numpy(), "tier": after.to_numpy()})
        .value_counts()
        .rename("units")
        .reset_index()
        .sort_values(["tier_before", "tier"], kind="stable")
        .reset_index(drop=True)
    )
    was_gap, is_gap = before.isin(GAP_TIERS), after.isin(GAP_TIERS)
    return TierMoves(
        moves=moves,
        leave_severe=int(((before == "severe") & (after != "severe")).sum()),
        leave_moderate=int(((before == "moderate") & ~is_gap).sum()),
        enter_severe=int(((before != "severe") & (after == "severe")).sum()),
        enter_gap=int((~was_gap & is_gap).sum()),
        need_in_gaps_before=float(need[was_gap.to_numpy(dtype=bool)].sum()),
        need_in_gaps_after=float(need[is_gap.to_numpy(dtype=bool)].sum()),
    )


# --- helpers ---------------------------------------------------------------------------------


def _flagged(frame: gpd.GeoDataFrame, *, value: bool = True) -> gpd.GeoDataFrame:
    """``frame`` with its ``proposed`` column set to ``value`` (real assets: False, whatever a file said)."""
    return frame.assign(**{PROPOSED: np.full(len(frame), value, dtype=bool)})


def _with_before(after: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    keyed = before[[*KEY, *BEFORE_COLUMNS]].astype({key: "string" for key in KEY})
    keyed = keyed.rename(columns={column: f"{column}_before" for column in BEFORE_COLUMNS})
    merged = after.astype({key: "string" for key in KEY}).merge(keyed, on=KEY, how="left", validate="one_to_one")
    order: list[str] = []
    for column in after.columns:
        order.append(column)
        if column in BEFORE_COLUMNS:
            order.append(f"{column}_before")
    return merged[order]


def _check_proposed(located: gpd.GeoDataFrame, prepared: Prepared, source: str) -> None:
    rows = located["_source_row"].to_numpy() if "_source_row" in located else np.arange(1, len(located) + 1)
    ids = located["asset_id"].astype(str).to_numpy()
    taken = set(prepared.assets["asset_id"].astype(str)) | set(prepared.inputs.assets["asset_id"].astype(str))
    problems = [
        Problem(source, "this proposed service lies outside every area", row=int(row), column="geometry",
                value=f"{point.x:.0f}, {point.y:.0f} (EPSG:27700)")
        for row, point, outside in zip(rows, located.geometry, located["area_id"].isna(), strict=True)
        if outside
    ]  # fmt: skip
    seen: set[str] = set()
    for row, asset_id in zip(rows, ids, strict=True):
        if asset_id in taken or asset_id in seen:
            problems.append(
                Problem(
                    source,
                    "this asset_id is already taken; give each proposed service an id of its own",
                    row=int(row),
                    column="asset_id",
                    value=asset_id,
                )  # fmt: skip
            )
        seen.add(asset_id)
    if problems:
        raise ValidationError(problems, note="Nothing was analysed.")


def _record_row(record: Mapping[str, object], n: int) -> dict[str, str]:
    """One record as the text cells of an assets-file row."""
    aliases = {"category": "categories", "community": "communities", "lon": "longitude", "lng": "longitude",
               "lat": "latitude", "x": "easting", "y": "northing"}  # fmt: skip
    row: dict[str, str] = {"asset_id": f"proposed-{n}", "name": f"Proposed service {n}"}
    for key, value in record.items():
        column = aliases.get(str(key), str(key))
        row[column] = _cell(value)
    if row.get("communities", "").strip().lower() == "all":
        row["communities"] = ""
    return row


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ";".join(str(item) for item in value)
    return str(value)


def _column_order(column: str) -> tuple[int, str]:
    first = ("asset_id", "name", "categories", "communities", "capacity", "accepting_referrals", "reach")
    return (first.index(column), "") if column in first else (len(first), column)


__all__: Sequence[str] = (
    "PROPOSED",
    "ScenarioResult",
    "TierMoves",
    "apply_scenario",
    "load_scenario",
    "proposed_assets",
    "proposed_rows",
    "scenario_table",
    "tier_moves",
    "with_proposed",
)
