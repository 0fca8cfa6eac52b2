"""A scenario's proposed services as one line of text, so a link can carry it.

Each proposed service is ``<need>.<community>.<capacity>.<reach>@<longitude>,<latitude>``,
optionally followed by ``,<name>``; services are joined by ``;``::

    dementia.all.30.3km@-2.23010,53.51012;carers_support.carers.20.borough@-2.30100,53.49000,Old Library

* need and community are labels of the data set (``all``: open to everyone);
* capacity is places a month (a number of at least 0, one decimal at most);
* reach is a distance (``3km``), ``local``, ``borough`` or ``citywide``;
* longitude and latitude are WGS84 degrees, kept to 5 decimals (about 1 m);
* the name, when given, is what the service is called (``;`` is not allowed in it).

:func:`parse_scenario` reads the text, checks it against the data set's needs and
communities and lists every problem at once; :func:`encode_scenario` writes the canonical
text (parse then encode gives the same text back). :func:`scenario_records` turns the
services into records for :func:`coverage_map.scenario.proposed_assets`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import Problem, ValidationError
from .taxonomy import display_name

#: What problems name as the file.
SOURCE = "the scenario in the link"
#: The most proposed services one scenario holds (a link must stay short, and each one is analysed).
MAX_PROPOSED = 20
#: The reaches given in words (a distance is ``<km>km``).
REACH_WORDS = ("local", "borough", "citywide")
#: The longest distance a proposed service may reach, in km.
MAX_REACH_KM = 100.0
#: The largest capacity a proposed service may have, in places a month.
MAX_CAPACITY = 99_999.0
#: The longest name kept.
MAX_NAME = 80

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_ENTRY = re.compile(
    rf"(?P<category>[A-Za-z0-9_-]+)\.(?P<community>[A-Za-z0-9_-]+)\.(?P<capacity>{_NUMBER})"
    rf"\.(?P<reach>{_NUMBER}km|[a-z]+)@(?P<lon>-?{_NUMBER}),(?P<lat>-?{_NUMBER})(?:,(?P<name>.*))?"
)
_FORM = "<need>.<community>.<capacity>.<reach>@<longitude>,<latitude>"


@dataclass(frozen=True)
class Proposal:
    """One proposed service as a link carries it.

    Attributes
    ----------
    category, community
        Its need, and the community it is for (``all``: open to everyone).
    capacity
        Places a month.
    reach
        ``<km>km``, ``local``, ``borough`` or ``citywide``.
    lon, lat
        Where it is, in WGS84 degrees (5 decimals).
    name
        What it is called ("" for the default name, see :func:`scenario_records`).
    """

    category: str
    community: str
    capacity: float
    reach: str
    lon: float
    lat: float
    name: str = ""

    @classmethod
    def of(
        cls,
        *,
        category: str,
        community: str | None,
        capacity: float,
        reach: str | float,
        lon: float,
        lat: float,
        name: str = "",
    ) -> Proposal:
        """A proposal in canonical form: numbers rounded, reach as text, name cleaned."""
        return cls(
            category=category,
            community=community or "all",
            capacity=round(float(capacity), 1),
            reach=reach_text(reach),
            lon=round(float(lon), 5),
            lat=round(float(lat), 5),
            name=clean_name(name),
        )

    @property
    def text(self) -> str:
        """The proposal as one entry of the scenario text."""
        entry = f"{self.category}.{self.community}.{self.capacity:g}.{self.reach}@{self.lon:.5f},{self.lat:.5f}"
        return f"{entry},{self.name}" if self.name else entry


def reach_text(reach: str | float) -> str:
    """A reach as the text carries it: a number of km -> ``3km``; words as they are (lower case)."""
    if isinstance(reach, (int, float)):
        return f"{float(reach):g}km"
    text = str(reach).strip().lower().replace(" ", "")
    match = re.fullmatch(rf"({_NUMBER})km", text)
    return f"{float(match.group(1)):g}km" if match else text


def clean_name(name: object) -> str:
    """A name a link can carry: no ``;``, no control characters, single spaces, at most :data:`MAX_NAME` characters."""
    text = "".join(" " if ch == ";" or not ch.isprintable() else ch for ch in str(name or ""))
    return " ".join(text.split())[:MAX_NAME].strip()


def encode_scenario(proposals: Iterable[Proposal]) -> str:
    """The canonical text of ``proposals`` ("" for none)."""
    return ";".join(proposal.text for proposal in proposals)


def parse_scenario(text: str | None, *, categories: Sequence[str], communities: Sequence[str]) -> tuple[Proposal, ...]:
    """The proposed services ``text`` describes, checked against the data set's needs and communities.

    Parameters
    ----------
    text
        The scenario text (see the module docstring); None or blank: no proposed service.
    categories, communities
        The labels the data set knows (``communities`` includes ``all``).

    Raises
    ------
    ValidationError
        Every problem at once, each naming the entry (``row``) and the part that is wrong.
    """
    entries = [entry.strip() for entry in (text or "").split(";")]
    entries = [entry for entry in entries if entry]
    problems: list[Problem] = []
    if len(entries) > MAX_PROPOSED:
        problems.append(
            Problem(SOURCE, f"a scenario holds at most {MAX_PROPOSED} proposed services", value=str(len(entries)))
        )
    proposals = []
    for n, entry in enumerate(entries, start=1):
        proposal = _entry(entry, n, categories, communities, problems)
        if proposal is not None:
            proposals.append(proposal)
    if problems:
        raise ValidationError(problems, note="The scenario was left out.")
    return tuple(proposals)


def canonical_scenario(text: str | None, *, categories: Sequence[str], communities: Sequence[str]) -> str | None:
    """The canonical text of a scenario, or None when it is blank or has any problem."""
    try:
        proposals = parse_scenario(text, categories=categories, communities=communities)
    except ValidationError:
        return None
    return encode_scenario(proposals) or None


def scenario_records(proposals: Iterable[Proposal]) -> list[dict[str, object]]:
    """Records for :func:`coverage_map.scenario.proposed_assets`: ids ``proposed-<n>`` and, where a
    proposal has no name, ``<Need> service <n>``."""
    records: list[dict[str, object]] = []
    for n, proposal in enumerate(proposals, start=1):
        km = re.fullmatch(rf"({_NUMBER})km", proposal.reach)
        records.append(
            {
                "asset_id": f"proposed-{n}",
                "name": proposal.name or f"{display_name(proposal.category)} service {n}",
                "category": proposal.category,
                "community": "" if proposal.community == "all" else proposal.community,
                "capacity": proposal.capacity,
                "accepting_referrals": "true",
                "reach": f"{km.group(1)} km" if km else proposal.reach,
                "lon": proposal.lon,
                "lat": proposal.lat,
            }
        )
    return records


def _entry(
    entry: str, n: int, categories: Sequence[str], communities: Sequence[str], problems: list[Problem]
) -> Proposal | None:
    match = _ENTRY.fullmatch(entry)
    if match is None:
        problems.append(Problem(SOURCE, f"a proposed service must read {_FORM}", row=n, value=entry[:120]))
        return None
    found = len(problems)

    def bad(column: str, message: str, value: str) -> None:
        problems.append(Problem(SOURCE, message, row=n, column=column, value=value))

    category, community = match["category"], match["community"]
    if category not in categories:
        bad("need", f"unknown need; the data set has {', '.join(categories)}", category)
    if community not in communities:
        bad("community", f"unknown community; the data set has {', '.join(communities)}", community)
    capacity = float(match["capacity"])
    if not capacity <= MAX_CAPACITY:
        bad("capacity", f"the capacity must be at most {MAX_CAPACITY:,.0f} places a month", match["capacity"])
    reach = match["reach"]
    if reach.endswith("km"):
        km = float(reach[:-2])
        if not (0 < km <= MAX_REACH_KM):
            bad("reach", f"a reach in km must be more than 0 and at most {MAX_REACH_KM:g}", reach)
    elif reach not in REACH_WORDS:
        bad("reach", "the reach must be a distance such as 3km, or local, borough or citywide", reach)
    lon, lat = float(match["lon"]), float(match["lat"])
    if not (math.isfinite(lon) and -180 <= lon <= 180 and math.isfinite(lat) and -90 <= lat <= 90):
        bad("location", "the longitude must be within ±180 and the latitude within ±90", f"{lon},{lat}")
    if len(problems) > found:
        return None
    return Proposal.of(category=category, community=community, capacity=capacity, reach=reach, lon=lon, lat=lat,
                       name=match["name"] or "")  # fmt: skip


__all__ = [
    "MAX_PROPOSED",
    "Proposal",
    "canonical_scenario",
    "clean_name",
    "encode_scenario",
    "parse_scenario",
    "reach_text",
    "scenario_records",
]
