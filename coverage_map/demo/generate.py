"""The generator in one call: geography, people, gaps, assets, referrals, then the tables."""

from __future__ import annotations

import numpy as np

from .assets import make_assets
from .gaps import choose_gaps
from .geography import build_region
from .population import populate
from .referrals import fit_capacities, make_referrals
from .scales import DEFAULT_SEED, scale_spec
from .tables import DemoData, assemble


def generate_demo(*, seed: int = DEFAULT_SEED, scale: str = "demo") -> DemoData:
    """Generate the synthetic city region for ``seed``.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical frames.
    scale
        Size of the region: ``"demo"`` (10 boroughs, 68 neighbourhoods, about 1,700
        small areas, 1,500 assets, 50,000 referrals) or ``"england"`` (300 boroughs,
        1,350 neighbourhoods, 33,755 small areas, 100,000 assets, 2 million referrals;
        town centres scattered over the whole outline, for benchmarks).

    Returns
    -------
    DemoData
        The frames as written to disk, and the deliberate gaps. Each is kept clear of any
        provision of its kind whose catchment would reach it (within the 3 km catchment plus
        :data:`~.gaps.MARGIN_M` of its small areas' origin points, or a radius service's own
        radius plus that margin), so gap method 2 finds it:

        * ``no_dementia_borough``: no dementia asset sits in or reaches the borough;
        * ``no_carers_neighbourhoods``: no carers' support, and nothing listing carers,
          sits in or reaches these neighbourhoods;
        * ``bame_majority_no_provision_neighbourhood``: more than half its people are
          BAME, yet no asset listing BAME communities sits in or reaches it;
        * ``over_capacity_asset``: receives three times its monthly capacity;
        * ``mental_health_hotspot_neighbourhoods``: deprived inner neighbourhoods with
          high mental-health referral rates and no local or radius mental-health
          provision within reach (only borough-wide and city-wide services reach them).

        ``gaps["method_2"]`` lists the rows an analysis must flag (:data:`~.found.EXPECTED`).

    Raises
    ------
    CoverageMapError
        For an unknown ``scale``.
    """
    spec = scale_spec(scale)
    rng = np.random.default_rng(seed)
    region = build_region(rng, spec)
    people = populate(rng, spec, region)
    story = choose_gaps(rng, spec, region, people)
    assets = make_assets(rng, spec, region, people, story)
    referrals = make_referrals(rng, spec, region, people, story, assets)
    assets = fit_capacities(assets, referrals)
    return assemble(seed, region, people, story, assets, referrals)
