"""Dashboard settings, read once at start-up from the environment, a TOML file or the command line.

The config file (``coverage-map serve --config FILE`` or ``COVERAGE_MAP_CONFIG=FILE``)
names the data files relative to itself. ``[data]`` holds an
:class:`~coverage_map.spec.InputSpec` (every input role and load option, named as on the
command line with ``_`` for ``-``; an unknown key is an error) plus ``label`` and
``threshold_km``::

    [data]
    areas = "lsoa.gpkg"            # required with assets
    assets = "assets.csv"
    lookup = "lookup.csv"
    population = "population.csv"
    referrals = "referrals.csv"
    practices = "epraccur.csv"     # for referrals keyed by origin_practice_code
    groups = "groups.csv"          # wards -> neighbourhoods, with an ONS lookup
    taxonomy = "taxonomy.toml"     # optional vocabulary extension
    origins = "centroids.csv"      # origins, travel_times, imd: optional per-area tables
    area_id_col = "LSOA21CD"       # optional overrides, as on the command line
    area_name_col = "LSOA21NM"
    crs = "EPSG:27700"
    neighbourhood_col = "wd22cd:wd22nm"   # also borough_col, lookup_area_col
    label = "Greater Manchester"
    threshold_km = 2.0

    [map]
    basemap = "white-bg"           # or "carto-positron", or "https://tiles.example/{z}/{x}/{y}.png"
    max_units = 5000               # more units than this: drawn one borough at a time
    max_services = 2000            # more service points than this: shown once a borough is chosen
    max_table_rows = 2000          # rows the gap and organisations tables list (downloads hold all)

    [method]                       # gap method 2 (docs/method.md); every key optional
    catchment_km = 3.0             # catchment of local services
    catchment_minutes = 15.0       # the catchment in minutes, with travel times
    severe_below = 0.5             # access ratio under which a cold spot is a severe gap
    moderate_below = 0.8           # ... a moderate gap (or watch, outside a cold spot)
    fdr = 0.05                     # false-discovery rate of a cold spot (Benjamini-Hochberg)
    permutations = 999             # Gi* permutations
    seed = 12345                   # their seed, so results repeat

    [server]
    max_upload_mb = 50             # per file
    max_upload_total_mb = 100      # per upload (all files together)
    workspace = "workspace.gpkg"   # optional: where uploads are saved (default: the environment's)

The gap method's flags of ``coverage-map serve`` (``--catchment-km``, ``--severe-below``...) win
over ``[method]`` where they differ from their defaults. Environment variables win over the file: ``COVERAGE_MAP_BASEMAP``,
``COVERAGE_MAP_DATA_DIR`` (scratch folder for uploads, default ``instance/uploads``),
``COVERAGE_MAP_MAX_UPLOAD_MB`` and ``COVERAGE_MAP_MAX_UPLOAD_TOTAL_MB``. Uploads are saved in
the dataset workspace (:func:`coverage_map.store.open_workspace`: ``COVERAGE_MAP_DATABASE_URL``
or ``workspace.gpkg`` in ``COVERAGE_MAP_DATA_DIR``) unless ``workspace`` names another.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coverage_map.config import (
    DEFAULT_THRESHOLD_KM,
    MAP_ASSET_LIMIT,
    MAP_UNIT_LIMIT,
    PROJECT_DIR,
    TABLE_ROW_LIMIT,
)
from coverage_map.dataset import Dataset
from coverage_map.errors import CoverageMapError
from coverage_map.ingest.upload_safety import UploadLimits
from coverage_map.method import DEFAULT_METHOD, METHOD_KEYS, GapMethod, flag_name, method_from_mapping
from coverage_map.spec import FILE_ROLES, OPTION_KEYS, InputSpec, mappings_from_args

#: ``[data]`` keys that are the dashboard's own, not part of the input spec.
DATA_SETTINGS = ("label", "threshold_km", "keep_raw_uploads")
#: Input roles that, named on the command line, replace the config file's inputs.
_DATA_ROLES = ("areas", "lookup", "population", "assets", "referrals")
CONFIG_ENV = "COVERAGE_MAP_CONFIG"
BASEMAP_ENV = "COVERAGE_MAP_BASEMAP"
DATA_DIR_ENV = "COVERAGE_MAP_DATA_DIR"
MAX_UPLOAD_ENV = "COVERAGE_MAP_MAX_UPLOAD_MB"
MAX_UPLOAD_TOTAL_ENV = "COVERAGE_MAP_MAX_UPLOAD_TOTAL_MB"
DEFAULT_DATA_DIR = PROJECT_DIR / "instance" / "uploads"
DEFAULT_MAX_UPLOAD_MB = 50.0
DEFAULT_MAX_UPLOAD_TOTAL_MB = 100.0


@dataclass(frozen=True)
class Settings:
    """Everything the dashboard reads at start-up. Immutable: shared safely by every request."""

    #: The inputs to show; None = the synthetic demo data.
    data_spec: InputSpec | None = None
    label: str | None = None
    threshold_km: float = DEFAULT_THRESHOLD_KM
    basemap: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    max_upload_total_bytes: int = int(DEFAULT_MAX_UPLOAD_TOTAL_MB * 1024 * 1024)
    #: Workspace URL or GeoPackage path for uploads; None = the environment's (``open_workspace()``).
    workspace: str | None = None
    #: The most units one map draws (more: a coarser level until a borough is chosen).
    map_max_units: int = MAP_UNIT_LIMIT
    #: The most service points one map draws (more: none until a borough is chosen).
    map_max_services: int = MAP_ASSET_LIMIT
    #: The most rows the gap and organisations tables send to the browser (the download has all).
    table_max_rows: int = TABLE_ROW_LIMIT
    #: How access, clusters and tiers are computed (``[method]``, or ``serve``'s flags).
    method: GapMethod = DEFAULT_METHOD
    #: Keep uploaded referral files as they came (``[data] keep_raw_uploads``); by default only
    #: the columns the analysis reads are stored (no referral ids, no other column).
    keep_raw_uploads: bool = False

    @property
    def uses_demo(self) -> bool:
        return self.data_spec is None or self.data_spec.is_demo

    @property
    def upload_limits(self) -> UploadLimits:
        """Per-file and per-upload limits (a zip may unpack to 10 times the per-file limit)."""
        return UploadLimits.from_sizes(self.max_upload_bytes, self.max_upload_total_bytes)

    @property
    def max_request_bytes(self) -> int:
        """Flask's ``MAX_CONTENT_LENGTH``: one whole upload, base64-encoded (4/3), plus 1 MB of JSON."""
        return self.upload_limits.per_upload * 4 // 3 + 2**20

    def load_dataset(self) -> Dataset:
        """The data set these settings name (the synthetic demo when none is named)."""
        spec = InputSpec.demo() if self.data_spec is None else self.data_spec
        if self.uses_demo:
            return Dataset.from_spec(spec, label=self.label or "Synthetic demo region", synthetic=True,
                                     threshold_km=self.threshold_km, method=self.method)  # fmt: skip
        return Dataset.from_spec(spec, label=self.label or "Your data", threshold_km=self.threshold_km,
                                 method=self.method)  # fmt: skip


def read_config(path: str | Path) -> dict[str, object]:
    """Settings keyword arguments from a TOML config file (paths made relative to the file)."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CoverageMapError(f"{path}: cannot read the dashboard config file: {exc}") from exc
    base = path.resolve().parent
    data = _table(document, "data", path)
    result: dict[str, object] = {}
    inputs = {key: value for key, value in data.items() if key not in DATA_SETTINGS}
    if any(value not in (None, "") for value in inputs.values()):
        try:
            result["data_spec"] = InputSpec.from_mapping(inputs, base_dir=base)
        except CoverageMapError as error:
            raise CoverageMapError(f"{path}: [data]: {error} (or name no inputs, for the demo data)") from error
    if data.get("label"):
        result["label"] = str(data["label"])
    if "threshold_km" in data:
        result["threshold_km"] = _positive(data["threshold_km"], "[data] threshold_km", path)
    if "keep_raw_uploads" in data:
        if not isinstance(data["keep_raw_uploads"], bool):
            raise CoverageMapError(f"{path}: [data] keep_raw_uploads must be true or false")
        result["keep_raw_uploads"] = data["keep_raw_uploads"]
    map_table = _table(document, "map", path)
    basemap = map_table.get("basemap")
    if basemap:
        result["basemap"] = str(basemap)
    for key, field_name in (("max_units", "map_max_units"), ("max_services", "map_max_services"),
                            ("max_table_rows", "table_max_rows")):  # fmt: skip
        if key in map_table:
            result[field_name] = int(_positive(map_table[key], f"[map] {key}", path))
    method = _table(document, "method", path)
    if method:
        result["method"] = method_from_mapping(method, where=f"{path}: [method]")
    server = _table(document, "server", path)
    if "max_upload_mb" in server:
        result["max_upload_bytes"] = int(_positive(server["max_upload_mb"], "[server] max_upload_mb", path) * 2**20)
    if "max_upload_total_mb" in server:
        total = _positive(server["max_upload_total_mb"], "[server] max_upload_total_mb", path)
        result["max_upload_total_bytes"] = int(total * 2**20)
    if server.get("workspace"):
        workspace = str(server["workspace"])
        result["workspace"] = workspace if "://" in workspace else str((base / workspace).resolve())
    if server.get("data_dir"):
        result["data_dir"] = (base / str(server["data_dir"])).resolve()
    return result


#: ``[method]`` keys: positive numbers, shares, whole numbers.
def _table(document: Mapping[str, object], name: str, path: Path) -> Mapping[str, object]:
    table = document.get(name, {})
    if not isinstance(table, Mapping):
        raise CoverageMapError(f"{path}: [{name}] must be a table")
    return table


def _positive(value: object, what: str, path: Path | str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0:
        raise CoverageMapError(f"{path}: {what} must be a positive number, not {value!r}")
    return number


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``COVERAGE_MAP_CONFIG`` (if set) and the other environment variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config = environ.get(CONFIG_ENV, "").strip()
    if config:
        values.update(read_config(config))
    values.update({key: value for key, value in overrides.items() if value is not None})
    _apply_env(values, environ)
    return Settings(**values)  # type: ignore[arg-type]


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for ``coverage-map serve``: ``--config``, then data arguments, then the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config = getattr(args, "config", None) or environ.get(CONFIG_ENV, "").strip() or None
    if config:
        values.update(read_config(config))
    spec = _spec_from_args(args, values.get("data_spec"))  # type: ignore[arg-type]
    if spec is not None:
        values["data_spec"] = spec
    method = _method_from_args(args, values.get("method", DEFAULT_METHOD))  # type: ignore[arg-type]
    if method != DEFAULT_METHOD:
        values["method"] = method
    _apply_env(values, environ)
    return Settings(**values)  # type: ignore[arg-type]


def _method_from_args(args: argparse.Namespace, config: GapMethod) -> GapMethod:
    """``config`` (``[method]``, or the default) with every gap-method flag given on the command line."""
    given = {key: getattr(args, key) for key in METHOD_KEYS if getattr(args, key, None) is not None}
    if not given:
        return config
    return method_from_mapping(given, where="coverage-map serve", base=config, spell=flag_name)


def _spec_from_args(args: argparse.Namespace, config: InputSpec | None) -> InputSpec | None:
    """The inputs of ``serve``: named data files replace the config's; other inputs and options apply to them.

    With neither data files nor a config, other inputs (``--groups``...) apply to the demo data.
    """
    given = {name: getattr(args, name, None) for name in (*FILE_ROLES, *OPTION_KEYS)}
    given = {name: value for name, value in given.items() if value is not None and value != ""}
    mappings = mappings_from_args(args)
    if any(role in given for role in _DATA_ROLES) or ((given or mappings) and config is None):
        return InputSpec.from_args(args)
    if config is not None and (given or mappings):
        overrides: dict[str, Any] = {name: Path(str(value)) if name in FILE_ROLES else str(value)
                                     for name, value in given.items()}  # fmt: skip
        return dataclasses.replace(config, **overrides, mappings=config.mappings.merged(mappings))
    return config


def _apply_env(values: dict[str, object], environ: Mapping[str, str]) -> None:
    if environ.get(BASEMAP_ENV, "").strip():
        values["basemap"] = environ[BASEMAP_ENV].strip()
    if environ.get(DATA_DIR_ENV, "").strip():
        values["data_dir"] = Path(environ[DATA_DIR_ENV].strip()).resolve()
    if environ.get(MAX_UPLOAD_ENV, "").strip():
        values["max_upload_bytes"] = int(_positive(environ[MAX_UPLOAD_ENV], MAX_UPLOAD_ENV, "environment") * 2**20)
    if environ.get(MAX_UPLOAD_TOTAL_ENV, "").strip():
        total = _positive(environ[MAX_UPLOAD_TOTAL_ENV], MAX_UPLOAD_TOTAL_ENV, "environment")
        values["max_upload_total_bytes"] = int(total * 2**20)
