"""The heavy steps on dask, for referral histories too big for one machine's memory.

``coverage-map analyse --engine dask`` loads the small inputs (areas, lookup, groups,
population, practices...: every role and option of the :class:`~coverage_map.spec.InputSpec`)
as usual, then streams many referral files (and asset files) through a dask cluster:

* every referral file is one partition; it is validated by
  :func:`coverage_map.ingest.load_referrals` and located by the same join as the
  default engine (:func:`coverage_map.joins.prepare`'s referral step, so referrals with
  an ``origin_area_id`` never go through a geometric join, and a point on a shared
  boundary goes to the smallest area id);
* each partition is reduced to aggregated counts per small area × category ×
  community × asset × month, and the partitions are summed by a dask groupby with a
  tree reduction, so no worker, and not the client, ever holds every referral;
* the totals are valid aggregated referral counts (see :mod:`coverage_map.model`), so
  they feed the unchanged :func:`coverage_map.metrics.measure`, gaps and suppression
  code. Dates are kept to the month, which is all the analysis uses (the period is
  counted in whole months).

dask, distributed and dask-geopandas are an optional extra: ``pip install
coverage-map[dask]``. dask-geopandas registers GeoDataFrame partitions with dask (each
referral partition is a GeoDataFrame of origin points while it is being located).
"""

from __future__ import annotations

import glob
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .config import METRIC_CRS
from .errors import CoverageMapError, Problem, ValidationError
from .ingest.formats import TABLE_SUFFIXES
from .ingest.mapping import ColumnMapping
from .joins import Prepared, _locate_referrals, prepare
from .model import Inputs, SourceInfo
from .spec import InputSpec
from .taxonomy import Taxonomy

#: Columns of the aggregated referral counts the dask path hands to the metrics.
COUNT_KEYS = ["area_id", "category", "community", "asset_id", "date"]
_PARTITIONS_PER_REDUCTION = 8


def expand_paths(pattern: str | Path) -> list[str]:
    """The files a ``--referrals``/``--assets`` argument names: a file, a folder of Parquet files, or a glob."""
    text = str(pattern)
    path = Path(text)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
    elif any(char in text for char in "*?["):
        files = sorted(glob.glob(text))
    else:
        files = [text]
    if not files:
        raise CoverageMapError(f"no files match '{text}'; give a file, a folder of Parquet files or a glob")
    return files


@contextmanager
def cluster_client(scheduler: str | None = None, **local: Any) -> Iterator[Any]:
    """A dask.distributed client: on ``scheduler`` (an address) or on a new ``LocalCluster``.

    ``local`` is passed to :class:`distributed.LocalCluster` (for example
    ``processes=False`` or ``n_workers=1``). Both are closed on exit.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise CoverageMapError("the dask engine needs the 'dask' extra: pip install 'coverage-map[dask]'") from error
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    options = {"dashboard_address": None, **local}
    with LocalCluster(**options) as cluster, Client(cluster) as client:
        yield client


def prepare_distributed(spec: InputSpec, *, client: Any) -> Prepared:
    """Load, validate and join like :func:`coverage_map.joins.prepare`, with referrals on dask.

    Parameters
    ----------
    spec
        The inputs and every load option, as for the default engine. In addition,
        ``spec.assets`` may be a folder of asset files or a glob (several files are
        loaded in parallel and an ``asset_id`` repeated across files is fatal, as within
        one file), and ``spec.referrals`` a folder of Parquet files or a glob (each file
        a partition).
    client
        A :class:`distributed.Client` (see :func:`cluster_client`).

    Returns
    -------
    Prepared
        As from the default engine, except that ``referrals`` holds aggregated counts
        (one row per area × category × community × asset × month); every figure the
        analysis computes from them is the same.

    Raises
    ------
    ValidationError
        When any file has a fatal problem (all problems of all files are listed).
    """
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401  (registers GeoDataFrame partitions with dask)

    from .ingest import load_assets, load_inputs, load_practices

    asset_files = expand_paths(spec.assets)
    several = len(asset_files) > 1
    # Travel times name assets: with several asset files they are checked once all are loaded.
    inputs = load_inputs(**{**spec.load_arguments(), "assets": asset_files[0], "referrals": None,
                            **({"travel_times": None} if several else {})})  # fmt: skip
    if several:
        inputs = _with_assets(inputs, client.gather(client.map(load_assets, asset_files, taxonomy=inputs.taxonomy,
                                                               crs=spec.crs, mapping=spec.mappings.get("assets"))),
                               asset_files)  # fmt: skip
        if spec.travel_times is not None:
            inputs = _with_travel_times(inputs, spec.travel_times)
    if spec.referrals is None:
        return prepare(inputs)

    referrals = spec.referrals
    files = expand_paths(referrals)
    areas_future = client.scatter(inputs.areas, broadcast=True)
    practices = None
    if spec.practices is not None:
        # Already checked (and its problems kept) by load_inputs; loaded again for the workers.
        practices = client.scatter(load_practices(spec.practices, areas=inputs.areas, crs=spec.crs)[0], broadcast=True)
    # One task per file, kept on the workers; only the small aggregates and problems travel.
    parts = client.map(
        _referral_part, files, taxonomy=inputs.taxonomy, areas=areas_future, crs=spec.crs, practices=practices,
        practices_file=str(spec.practices) if spec.practices is not None else None,
        mapping=spec.mappings.get("referrals"),
    )  # fmt: skip
    counts = dd.from_delayed(client.map(operator.itemgetter(0), parts), meta=_count_meta(), verify_meta=False)
    # The sums are spread over several output partitions (hashed by key) once there are many
    # files, so no single worker holds every total; the client gathers them at the end.
    totals = counts.groupby(COUNT_KEYS, dropna=False).agg(
        {"count": "sum"}, split_every=_PARTITIONS_PER_REDUCTION, split_out=reduction_partitions(len(files)),
        shuffle_method="tasks",
    )  # fmt: skip
    totals = totals.compute()
    problem_lists = client.gather(client.map(operator.itemgetter(1), parts))
    row_counts = client.gather(client.map(operator.itemgetter(2), parts))
    del parts
    problems = [problem for found in problem_lists for problem in found]
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ValidationError(fatal + [problem for problem in problems if not problem.fatal])
    located = _as_referrals(totals.reset_index())
    source = SourceInfo("referrals", str(referrals), int(sum(row_counts)))
    prepared = prepare(inputs)
    return replace(
        prepared,
        inputs=replace(prepared.inputs, sources=(*prepared.inputs.sources, source)),
        referrals=located,
        problems=(*prepared.problems, *problems),
    )


def reduction_partitions(files: int) -> int:
    """Output partitions of the summing step: one per ``_PARTITIONS_PER_REDUCTION`` files, at least one."""
    return max(1, files // _PARTITIONS_PER_REDUCTION)


def _referral_part(
    path: str, taxonomy: Taxonomy, areas: gpd.GeoDataFrame, *, crs: str | None = None,
    practices: pd.DataFrame | None = None, practices_file: str | None = None, mapping: ColumnMapping | None = None,
) -> tuple[pd.DataFrame, list[Problem], int]:  # fmt: skip
    """One partition: validate, locate (the default engine's join) and aggregate."""
    from .ingest import load_referrals

    frame, problems = load_referrals(path, taxonomy, areas=areas, crs=crs, practices=practices,
                                     practices_file=practices_file, mapping=mapping)  # fmt: skip
    if any(problem.fatal for problem in problems):
        return _count_meta(), problems, 0
    empty_assets = gpd.GeoDataFrame({"asset_id": pd.Series([], dtype="str")}, geometry=[], crs=METRIC_CRS)
    part = Inputs(areas=areas, assets=empty_assets, taxonomy=taxonomy, referrals=frame,
                  sources=(SourceInfo("referrals", path, len(frame)),))  # fmt: skip
    located, join_problems = _locate_referrals(part)
    month = pd.to_datetime(located["date"]).dt.to_period("M").dt.to_timestamp()
    counts = located.assign(date=month).groupby(COUNT_KEYS, dropna=False, sort=False)["count"].sum()
    return _normalise(counts.reset_index()), [*problems, *join_problems], len(frame)


def _count_meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_id": pd.Series([], dtype="string"),
            "category": pd.Series([], dtype="string"),
            "community": pd.Series([], dtype="string"),
            "asset_id": pd.Series([], dtype="string"),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "count": pd.Series([], dtype="int64"),
        }
    )


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {"area_id": "string", "category": "string", "community": "string", "asset_id": "string",
         "date": "datetime64[ns]", "count": "int64"}
    )[list(_count_meta().columns)]  # fmt: skip


def _as_referrals(totals: pd.DataFrame) -> pd.DataFrame:
    """Aggregated counts in the column order of :attr:`Prepared.referrals`."""
    frame = _normalise(totals).sort_values(COUNT_KEYS, kind="stable").reset_index(drop=True)
    return frame[["area_id", "category", "community", "count", "date", "asset_id"]]


def _with_travel_times(inputs: Inputs, path: str | Path) -> Inputs:
    """The travel times checked against the assets of every asset file."""
    from .ingest.travel_times import load_travel_times

    frame, problems = load_travel_times(path, areas=inputs.areas, assets=inputs.assets)
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ValidationError(fatal + [problem for problem in problems if not problem.fatal])
    source = SourceInfo("travel_times", str(path), len(frame))
    return replace(inputs, travel_times=frame, problems=(*inputs.problems, *problems),
                   sources=(*inputs.sources, source))  # fmt: skip


def _with_assets(inputs: Inputs, loaded: Sequence[tuple[gpd.GeoDataFrame, list[Problem]]], files: list[str]) -> Inputs:
    """Replace the assets by those of every file, failing on fatal problems and repeated ids."""
    problems = [problem for _, found in loaded for problem in found]
    frames = [frame for frame, _ in loaded]
    assets = pd.concat(frames, ignore_index=True) if frames else inputs.assets
    repeated = assets.loc[assets["asset_id"].duplicated(keep=False), "asset_id"].unique()
    problems += [
        Problem(", ".join(files), f"asset_id '{asset_id}' appears in more than one asset file; ids must be unique",
                column="asset_id", value=str(asset_id))
        for asset_id in repeated
    ]  # fmt: skip
    fatal = [problem for problem in problems if problem.fatal]
    if fatal:
        raise ValidationError(fatal)
    kept = [problem for problem in inputs.problems if problem.file != files[0]]
    return replace(
        inputs,
        assets=gpd.GeoDataFrame(assets, geometry="geometry", crs=METRIC_CRS),
        problems=(*kept, *problems),
    )
