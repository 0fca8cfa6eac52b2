"""Gap method 2 on real Greater Manchester data (../shared/realdata); skipped when absent.

The inputs (``tests/gm_realdata.py``): 1,702 LSOA 2021, the ONS lookup, Census 2021 population and
1,469 real service points. The old method (a rank quota of 20% plus "far" and "no provision")
flagged 98.5% of these LSOA rows, its flag was spatially random (median Moran's I -0.02) and it
called 77% of the LSOAs whose GP practice is under 1 km away a GP-access gap. These tests pin down
the behaviour that replaced it. Moran's I and the contiguity are worked out with esda and
libpysal directly, the GP distances with plain geopandas: never with the code under test.
"""

from __future__ import annotations

import warnings

import gm_realdata
import numpy as np
import pandas as pd
import pytest

from coverage_map.analysis import analyse
from coverage_map.ingest import load_inputs
from coverage_map.joins import prepare
from coverage_map.significance import queen_weights

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def gm(realdata, tmp_path_factory):
    files = gm_realdata.write_inputs(realdata, tmp_path_factory.mktemp("gm_gap_method"))
    prepared = prepare(
        load_inputs(areas=files.areas, lookup=files.lookup, population=files.population, assets=files.assets)
    )
    return {"prepared": prepared, "lsoas": analyse(prepared, level="area").table, "realdata": realdata}


def _libpysal_queen(units):
    from libpysal.weights import Queen

    frame = units[["area_id", "geometry"]].copy()
    frame["area_id"] = frame["area_id"].astype(str)
    with warnings.catch_warnings():  # islands and separate parts are expected
        warnings.simplefilter("ignore")
        return Queen.from_dataframe(frame, ids="area_id")


def test_gaps_are_a_minority_of_rows(gm):
    table = gm["lsoas"]
    assert table["area_id"].nunique() == 1702
    assert table["gap"].mean() < 0.5
    judged = table["tier"] != "no_data"  # categories with no service in the directory are never gaps
    assert 0 < judged.mean() < 1
    assert table.loc[judged, "gap"].mean() < 0.5
    community = table["community"] != "all"
    assert table.loc[community, "gap"].mean() < 0.5  # the old method: 100% of community rows
    assert set(table.loc[table["gap"], "tier"]) == {"severe", "moderate"}


def test_the_gap_flag_is_spatially_clustered(gm):
    """On every category x community map where the flag varies: Moran's I > 0.2 with p < 0.05 (esda)."""
    from esda.moran import Moran

    table = gm["lsoas"]
    weights = _libpysal_queen(gm["prepared"].units["area"])
    order = pd.Index(weights.id_order)
    tested = 0
    for (category, community), rows in table.groupby(["category", "community"]):
        flag = rows.set_index("area_id")["gap"].astype(float).reindex(order)
        if flag.nunique() < 2:
            continue
        np.random.seed(12345)
        moran = Moran(flag.to_numpy(), weights, permutations=999)
        assert moran.I > 0.2 and moran.p_sim < 0.05, (category, community, moran.I, moran.p_sim)
        tested += 1
    assert tested >= 8  # at least every category the real services cover, for `all`


def test_few_lsoas_with_a_gp_under_1_km_are_gp_access_gaps(gm):
    nearest = gm_realdata.nearest_gp_km(gm["realdata"])
    near = nearest.index[nearest < 1.0]
    assert len(near) > 1000  # most of GM: 1,301 of 1,702
    table = gm["lsoas"]
    gp = table[(table["category"] == gm_realdata.GP_CATEGORY) & table["area_id"].isin(near)]
    by_group = gp.groupby("community")["gap"].mean()
    assert by_group["all"] < 0.10
    # Community rows weigh the same services against the group's own spread (older people live
    # further out than everyone else), so a little more of them fall short; still few.
    assert (by_group < 0.15).all(), by_group.to_dict()


@pytest.mark.parametrize("level", ["area", "neighbourhood"])
def test_queen_contiguity_is_libpysals(gm, level):
    units = gm["prepared"].units[level]
    ours = queen_weights(units)
    theirs = _libpysal_queen(units)
    assert list(ours.ids) == list(theirs.id_order)
    assert (ours.neighbours != (theirs.sparse != 0).astype(float)).nnz == 0
    assert ours.islands == tuple(theirs.islands) == ()
