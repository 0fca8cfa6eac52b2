"""The settings of the gap method, in one place: catchments, tier thresholds and the Gi* test.

Every figure the method produces can be reproduced from these values (see ``docs/method.md``).
"""

from __future__ import annotations

import math
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
