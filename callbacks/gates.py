"""Gates: clientside callbacks that hold back server callbacks whose output nobody would see.

A change of need (or community, or level) used to send ten requests to the server, and
gunicorn's two workers answered them a pair at a time (then one thread each; four now, sharing two
cores), so the map waited behind panels the visitor was not looking at. Each gate is a few lines of JavaScript (``assets/gates.js``, not inline:
the page's Content-Security-Policy allows no inline script), run in the browser, that
copies what a server callback needs into a ``dcc.Store`` only when its answer can be seen or
has changed; the server callback listens to that store instead of the controls:

* **What if** (:data:`callbacks.ids.WHATIF_VIEW`): the tab's fields follow the view's need and
  its sentence follows need, community and level only while the What if tab is open (opening
  it brings them up to date);
* **the question's answer** (:data:`callbacks.ids.QUESTION_KEY`): it depends on the question
  in the URL alone, not on the rest of the URL, which changes with every control;
* **the details panel** (:data:`callbacks.ids.DETAILS_VIEW`): with no unit selected it shows the
  same hint whatever the controls say, so it is drawn again only when a unit is selected or
  the selection is cleared.

The server callbacks keep their own logic (and the tests that call it as plain functions).
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc
from dash.development.base_component import Component

from . import ids

#: The namespace of the gates' functions in ``assets/gates.js`` (the What if gate names the tab's
#: ``tab_id``, ``"whatif"``, as :func:`callbacks.layout._tabs` sets it).
NAMESPACE = "gates"


def gate_stores() -> list[Component]:
    """The stores the gates fill (in the page)."""
    return [dcc.Store(id=ids.WHATIF_VIEW, data=None), dcc.Store(id=ids.QUESTION_KEY, data=None),
            dcc.Store(id=ids.DETAILS_VIEW, data=None)]  # fmt: skip


clientside_callback(
    ClientsideFunction(NAMESPACE, "whatifView"),
    Output(ids.WHATIF_VIEW, "data"),
    Input(ids.TABS, "active_tab"),
    Input(ids.LEVEL, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.DATA_TOKEN, "data"),
    State(ids.WHATIF_VIEW, "data"),
)

clientside_callback(
    ClientsideFunction(NAMESPACE, "questionKey"),
    Output(ids.QUESTION_KEY, "data"),
    Input(ids.URL, "search"),
    State(ids.QUESTION_KEY, "data"),
)

clientside_callback(
    ClientsideFunction(NAMESPACE, "detailsView"),
    Output(ids.DETAILS_VIEW, "data"),
    Input(ids.SELECTED_AREA, "data"),
    Input(ids.LEVEL, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.COMMUNITY, "value"),
    Input(ids.METRIC, "value"),
    Input(ids.DATA_TOKEN, "data"),
    Input(ids.WHATIF, "data"),
    State(ids.DETAILS_VIEW, "data"),
    prevent_initial_call=True,
)
