"""The generated region as the tables that are written: ids, names, WGS84 coordinates and the gaps record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..config import DISPLAY_CRS
from ..errors import CoverageMapError
from .assets import Assets
from .catalogue import CATEGORIES
from .found import EXPECTED
from .gaps import MARGIN_M, Story, catchment_m, widest_catchment_m
from .geography import Region
from .naming import name_areas, name_assets, name_boroughs, name_neighbourhoods
from .population import People, imd_ranks, need_estimates
from .referrals import Referrals
from .scales import PERIOD_MONTHS, PERIOD_START, POPULATION_COMMUNITIES

# A fixed OSGB36 -> WGS84 Helmert pipeline (EPSG "OSGB36 to WGS 84 (6)", ~2 m): PROJ's
# default would switch to the OSTN15 grid where it is installed, and the shipped files
# must not depend on which PROJ grids a machine happens to have.
_BNG_TO_LONLAT = Transformer.from_pipeline(
    "+proj=pipeline +step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 "
    "+y_0=-100000 +ellps=airy +step +proj=push +v_3 +step +proj=cart +ellps=airy "
    "+step +proj=helmert +x=446.448 +y=-125.157 +z=542.06 +rx=0.15 +ry=0.247 +rz=0.842 "
    "+s=-20.489 +convention=position_vector +step +inv +proj=cart +ellps=WGS84 "
    "+step +proj=pop +v_3 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
)


@dataclass(frozen=True)
class DemoData:
    """The synthetic region exactly as :func:`write_demo` writes it.

    Attributes
    ----------
    areas
        ``area_id``, ``area_name``, geometry (EPSG:4326, coordinates rounded to 6 decimals).
    lookup
        ``area_id``, ``neighbourhood_id``, ``neighbourhood_name``, ``borough_id``, ``borough_name``.
    population
        ``area_id``, ``population``, ``pop_older_people``, ``pop_carers``, ``pop_bame``, then
        ``need_dementia``, ``need_mental_health``, ``need_carers_support`` (integers; see
        :data:`~.population.NEED_RECIPES`).
    assets
        ``asset_id``, ``name``, ``latitude``, ``longitude``, ``categories``, ``communities``,
        ``capacity``, ``accepting_referrals``, ``reach``, ``last_checked``, as written.
    referrals
        ``referral_id``, ``date``, ``category``, ``community``, ``origin_area_id``,
        ``latitude``, ``longitude``, ``asset_id``, as written.
    gaps
        The deliberate gaps, machine-readable (the content of ``gaps.json``).
    imd
        ``area_id``, ``imd_rank`` (1 = most deprived), ``imd_decile`` (1 = most deprived
        tenth): the synthetic deprivation as an Index of Multiple Deprivation file.
    """

    areas: gpd.GeoDataFrame
    lookup: pd.DataFrame
    population: pd.DataFrame
    assets: pd.DataFrame
    referrals: pd.DataFrame
    gaps: dict
    imd: pd.DataFrame


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid to WGS84 longitude and latitude, rounded to 6 decimals (about 10 cm)."""
    lon, lat = _BNG_TO_LONLAT.transform(x, y)
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def _to_lonlat(coords: np.ndarray) -> np.ndarray:
    """:func:`_lonlat` for a coordinate array, as :func:`shapely.transform` calls it."""
    lon, lat = _lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def assemble(seed: int, region: Region, people: People, story: Story, assets: Assets, referrals: Referrals) -> DemoData:
    """Name, number and sort everything, and convert to WGS84: the frames exactly as written."""
    rng = np.random.default_rng([seed, 1])  # naming draws must not shift the geography
    borough_names = name_boroughs(rng, len(region.centres))
    neighbourhood_names = name_neighbourhoods(rng, len(region.neighbourhood_borough))
    borough_ids = [f"XB{b + 1:02d}" for b in range(len(borough_names))]
    neighbourhood_ids = [f"XN{j + 1:04d}" for j in range(len(neighbourhood_names))]

    area_names = name_areas(region, borough_names)
    order = np.lexsort((np.array(area_names), region.borough))
    area_ids = np.empty(len(order), dtype=object)
    area_ids[order] = [f"X01{i + 1:06d}" for i in range(len(order))]

    lonlat_cells = shapely.transform(region.cells, _to_lonlat)
    if not shapely.is_valid(lonlat_cells).all():
        raise CoverageMapError("demo generator: rounding made an area invalid; try another seed")
    areas = gpd.GeoDataFrame(
        {"area_id": area_ids[order].astype(str), "area_name": np.array(area_names)[order]},
        geometry=lonlat_cells[order],
        crs=DISPLAY_CRS,
    ).reset_index(drop=True)
    nb, bo = region.neighbourhood[order], region.borough[order]
    lookup = pd.DataFrame(
        {
            "area_id": areas["area_id"].to_numpy(),
            "neighbourhood_id": np.array(neighbourhood_ids)[nb],
            "neighbourhood_name": np.array(neighbourhood_names)[nb],
            "borough_id": np.array(borough_ids)[bo],
            "borough_name": np.array(borough_names)[bo],
        }
    )
    population = pd.DataFrame(
        {
            "area_id": areas["area_id"].to_numpy(),
            "population": people.population[order],
            "pop_older_people": people.older[order],
            "pop_carers": people.carers[order],
            "pop_bame": people.bame[order],
            **{f"need_{category}": need[order] for category, need in need_estimates(people).items()},
        }
    )
    rank, decile = imd_ranks(people)
    imd = pd.DataFrame({"area_id": areas["area_id"].to_numpy(), "imd_rank": rank[order], "imd_decile": decile[order]})
    asset_frame, asset_ids = _asset_frame(rng, region, assets, area_ids, borough_names, neighbourhood_names)
    referral_frame = _referral_frame(rng, referrals, area_ids, asset_ids)
    over = assets.over_capacity
    gaps = {
        "seed": seed,
        "no_dementia_borough": borough_ids[story.no_dementia_borough],
        "no_carers_neighbourhoods": [neighbourhood_ids[j] for j in story.no_carers],
        "bame_majority_no_provision_neighbourhood": neighbourhood_ids[story.bame_gap],
        "over_capacity_asset": {
            "asset_id": asset_ids[over],
            "capacity": int(assets.capacity[over] or 0),
            "referrals_per_month": round(int((referrals.asset == over).sum()) / PERIOD_MONTHS),
        },
        "mental_health_hotspot_neighbourhoods": [neighbourhood_ids[j] for j in story.hotspots],
        "margin_km": MARGIN_M / 1000.0,
        "withheld_within_km": {
            label: round(((catchment_m(category) if category else widest_catchment_m()) + MARGIN_M) / 1000.0, 3)
            for label, category in (
                ("dementia", "dementia"),
                ("carers_support", "carers_support"),
                ("mental_health", "mental_health"),
                ("carers", None),
                ("bame", None),
            )
        },  # fmt: skip
        "method_2": [expected.as_json() for expected in EXPECTED],
    }
    return DemoData(
        areas=areas,
        lookup=lookup,
        population=population,
        assets=asset_frame,
        referrals=referral_frame,
        gaps=gaps,
        imd=imd,
    )


def _asset_frame(
    rng: np.random.Generator,
    region: Region,
    assets: Assets,
    area_ids: np.ndarray,
    borough_names: Sequence[str],
    neighbourhood_names: Sequence[str],
) -> tuple[pd.DataFrame, list[str]]:
    """The assets table, sorted by area then name, with ids in that order."""
    names = name_assets(rng, region, assets, borough_names, neighbourhood_names)
    lon, lat = _lonlat(assets.x, assets.y)
    order = np.lexsort((np.array(names), area_ids[assets.area].astype(str)))
    ids_by_asset = np.empty(len(order), dtype=object)
    ids_by_asset[order] = [f"XA{i + 1:04d}" for i in range(len(order))]
    frame = pd.DataFrame(
        {
            "asset_id": ids_by_asset[order].astype(str),
            "name": np.array(names)[order],
            "latitude": lat[order],
            "longitude": lon[order],
            "categories": [";".join(assets.categories[i]) for i in order],
            "communities": [";".join(assets.communities[i]) or None for i in order],
            "capacity": pd.array([assets.capacity[i] for i in order], dtype="Int64"),
            "accepting_referrals": np.where(assets.accepting[order], "true", "false"),
            "reach": [assets.reach[i] for i in order],
            "last_checked": [assets.last_checked[i] for i in order],
        }
    )
    return frame, [str(v) for v in ids_by_asset]


def _referral_frame(
    rng: np.random.Generator, referrals: Referrals, area_ids: np.ndarray, asset_ids: Sequence[str]
) -> pd.DataFrame:
    """The referrals table, in date order, half located by area id and half by coordinates."""
    order = np.lexsort((rng.permutation(len(referrals.day)), referrals.day))
    start = np.datetime64(PERIOD_START.isoformat())
    # Format each calendar day once, not once per referral (millions at national scale).
    day_text = (start + np.arange(int(referrals.day.max()) + 1).astype("timedelta64[D]")).astype(str)
    dates = day_text[referrals.day[order]]
    lon, lat = _lonlat(referrals.x[order], referrals.y[order])
    by_area = referrals.by_area[order]
    community = referrals.community[order]
    asset = referrals.asset[order]
    labels = np.array([*POPULATION_COMMUNITIES, ""])
    ids = np.array([*asset_ids, ""])
    frame = pd.DataFrame(
        {
            "referral_id": np.char.add("XR", np.char.zfill(np.arange(1, len(order) + 1).astype(str), 6)),
            "date": dates,
            "category": np.array(CATEGORIES)[referrals.category[order]],
            "community": labels[community],
            "origin_area_id": np.where(by_area, area_ids[referrals.area[order]].astype(str), ""),
            "latitude": lat,
            "longitude": lon,
            "asset_id": ids[asset],
        }
    )
    for column in ("community", "origin_area_id", "asset_id"):
        frame[column] = frame[column].mask(frame[column] == "")
    return frame
