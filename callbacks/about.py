"""The "About the measures" tab: what each measure means and how the gap tiers are drawn."""

from __future__ import annotations

from dash import html

from coverage_map.method import GapMethod
from coverage_map.outputs.attribution import SUPPRESSION_NOTE
from coverage_map.outputs.classes import METRICS


def about_tab(method: GapMethod) -> html.Div:
    """The \"About the measures\" tab: each measure in a sentence, and how the tiers are drawn."""
    items = []
    for info in METRICS.values():
        items += [html.Dt(info.label), html.Dd(info.description[:1].upper() + info.description[1:] + ".")]
    limits = method.thresholds
    return html.Div(
        [
            html.Dl(items, className="small mt-2"),
            html.P(
                "Access counts the provision (places per month, nearer ones counting more) each person in need can "
                "reach once everyone else who can reach the same services is counted too, and compares it with the "
                f"region's average. Gap severity: a severe gap has under {limits.severe_below:.0%} of the average "
                "inside a significant cluster of low access; a moderate gap has under "
                f"{limits.severe_below:.0%} of it, or under {limits.moderate_below:.0%} inside such a cluster; "
                f"'watch' is {limits.severe_below:.0%}-{limits.moderate_below:.0%} of it or another warning sign. "
                "A cluster is significant when it would arise by chance less than "
                f"{limits.q:.0%} of the time after allowing for testing every area (Getis-Ord Gi*). "
                "Where the directory lists no service of a kind at all, nothing is counted as a gap. "
                "Darker colours are always worse. The method is described in full in docs/method.md.",
                className="small",
            ),
            html.P(
                "Classes (for measures other than gap severity): quantiles put the same number of areas in each "
                "class; natural breaks (Fisher–Jenks) make the classes as alike inside, and as different from each "
                "other, as possible. The legend gives the classes' fit (goodness of variance fit, 0 to 1): the share "
                "of the differences between areas that the classes keep.",
                className="small",
            ),
            html.P(SUPPRESSION_NOTE + ".", className="small"),
        ]
    )


# --------------------------------------------------------------------------- details
