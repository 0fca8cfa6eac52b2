"""The settings of the gap method, in one place: catchments, tier thresholds and the Gi* test.

Every figure the method produces can be reproduced from these values (see ``docs/method.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .errors import CoverageMapError
from .tiers import DEFAULT_THRESHOLDS, TierThresholds

# The same defaults as coverage_map.access and coverage_map.significance (a test checks they agree),
# kept here so that the command line can show them without importing pysal.
DEFAULT_CATCHMENT_KM = 3.0
DEFAULT_CATCHMENT_MINUTES = 15.0
GI_PERMUTATIONS = 999
GI_SEED = 12345


@dataclass(frozen=True)
class GapMethod:
    """How access, significance and tiers are computed.

    Attributes
    ----------
    catchment_km
        Catchment ``d0`` of local services, in km (a taxonomy's ``[catchment_km]`` wins for
        the categories it names; a service with a numeric reach uses its own).
    catchment_minutes
        The catchment in minutes, used instead when travel times are given.
    thresholds
        Tier cut-offs: ``severe_below`` and ``moderate_below`` (shares of the regional
        average) and ``q`` (the false-discovery rate of a cold spot).
    permutations, seed
        Of Gi*'s conditional randomisation.
    as_of
        The date directory entries are judged stale against (last verified more than 12
        months before it). None: the data's own date, the latest referral date, else the
        latest ``last_checked`` date; never the day the analysis runs, so results repeat.
    """

    catchment_km: float = DEFAULT_CATCHMENT_KM
    catchment_minutes: float = DEFAULT_CATCHMENT_MINUTES
    thresholds: TierThresholds = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    permutations: int = GI_PERMUTATIONS
    seed: int = GI_SEED
    as_of: date | None = None

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be a positive number, not {value}"
            for name, value in (("catchment_km", self.catchment_km), ("catchment_minutes", self.catchment_minutes))
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0)
        ]
        if not (isinstance(self.permutations, int) and 99 <= self.permutations <= 99_999):
            problems.append(f"permutations must be a whole number from 99 to 99,999, not {self.permutations}")
        if problems:
            raise CoverageMapError("; ".join(problems))


DEFAULT_METHOD = GapMethod()


METHOD_KEYS = ("catchment_km", "catchment_minutes", "severe_below", "moderate_below", "fdr", "permutations", "seed")


def method_from_mapping(
    values: Mapping[str, object], *, where: str = "[method]", base: GapMethod = DEFAULT_METHOD,
    spell: Callable[[str], str] = str,
) -> GapMethod:  # fmt: skip
    """A :class:`~coverage_map.method.GapMethod` from ``[method]`` keys (:data:`METHOD_KEYS`; the rest from ``base``).

    Every problem is collected, each naming its key (as ``spell`` writes it) and value, and raised once.

    Raises
    ------
    CoverageMapError
        An unknown key, a value of the wrong kind or out of range, or thresholds out of order.
    """
    problems = [f"unknown key '{key}' (allowed: {', '.join(METHOD_KEYS)})" for key in values if key not in METHOD_KEYS]
    numbers: dict[str, float | int] = {}
    for key in METHOD_KEYS:
        if key not in values:
            continue
        value = values[key]
        if key in ("permutations", "seed"):
            low, high = (99, 99_999) if key == "permutations" else (0, 2**32 - 1)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{spell(key)} must be a whole number from {low:,} to {high:,}, not {value!r}")
                continue
            numbers[key] = value
            continue
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")
        upper = 1.0 if key == "fdr" else float("inf")
        if not 0 < number < upper or number == float("inf"):
            allowed = "a number between 0 and 1" if key == "fdr" else "a positive number"
            problems.append(f"{spell(key)} must be {allowed}, not {value!r}")
            continue
        numbers[key] = number
    limits = base.thresholds
    severe = numbers.get("severe_below", limits.severe_below)
    moderate = numbers.get("moderate_below", limits.moderate_below)
    if "severe_below" in numbers or "moderate_below" in numbers:
        if not severe <= moderate:
            problems.append(
                f"{spell('severe_below')} ({severe:g}) must not be above {spell('moderate_below')} ({moderate:g})"
            )
    if problems:
        raise CoverageMapError(f"{where}: " + "; ".join(problems))
    thresholds = TierThresholds(severe_below=severe, moderate_below=moderate, q=numbers.get("fdr", limits.q))
    return GapMethod(
        catchment_km=numbers.get("catchment_km", base.catchment_km),
        catchment_minutes=numbers.get("catchment_minutes", base.catchment_minutes),
        thresholds=thresholds,
        permutations=int(numbers.get("permutations", base.permutations)),
        seed=int(numbers.get("seed", base.seed)),
    )


def flag_name(key: str) -> str:
    """The command-line flag of a :data:`METHOD_KEYS` key: ``catchment_km`` -> ``--catchment-km``."""
    return "--" + key.replace("_", "-")
