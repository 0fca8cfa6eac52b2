/* Gates (callbacks/gates.py): clientside callbacks that hold back server callbacks whose output nobody would
 * see. Each copies what a server callback needs into a dcc.Store only when its answer can be seen or has
 * changed, so a change of need sends the server the requests for what is on screen and no others. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  gates: {
    /* The What if tab's view (level, need, community, data token), only while that tab is open. */
    whatifView: function (tab, level, category, community, token, previous) {
      var noUpdate = window.dash_clientside.no_update;
      if (tab !== "whatif") { return noUpdate; }
      var view = { level: level, category: category, community: community, token: token };
      var same = previous && Object.keys(view).every(function (key) { return previous[key] === view[key]; });
      return same ? noUpdate : view;
    },
    /* The question the URL names ("" for none), only when it changes. */
    questionKey: function (search, previous) {
      var keys = new URLSearchParams((search || "").replace(/^\?/, "")).getAll("question");
      var key = keys.length ? keys[keys.length - 1] : "";
      return key === previous ? window.dash_clientside.no_update : key;
    },
    /* The details panel's view, only when a unit is selected or was until now. */
    detailsView: function (area, level, category, community, metric, token, whatif, previous) {
      if (!area && !(previous && previous.area)) { return window.dash_clientside.no_update; }
      return { area: area || null, level: level, category: category, community: community, metric: metric,
               token: token, whatif: whatif };
    }
  }
});
