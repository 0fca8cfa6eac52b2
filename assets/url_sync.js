/* The URL follows the controls, in the browser (callbacks/controls.py).
 *
 * A change of control writes the URL here, with no request to the server, so the map, the gap table and the
 * other panels are asked for at once instead of waiting behind a round trip that can only rewrite the URL.
 * The other direction (page load, back and forward, a question asked, another data set) stays on the server,
 * where the link is checked against the data set: callbacks.controls.follow_url.
 *
 * This is the control-change branch of callbacks.state.sync_url, word for word, and its query string is
 * callbacks.state.to_query's (tests/browser/test_url_sync.py holds the two to the same answers):
 * - the question in the URL stays until the level, need or community changes;
 * - changing the level or the borough clears the selected unit, which belongs to the old map;
 * - when the controls already say what the URL says (the server has just set them from it), nothing moves. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  urlSync: {
    /* Python's urllib.parse.quote_plus with safe=",;@" (what to_query's urlencode does to each key and value). */
    quotePlus: function (text) {
      return encodeURIComponent(String(text))
        .replace(/[!'()*]/g, function (c) { return "%" + c.charCodeAt(0).toString(16).toUpperCase(); })
        .replace(/%20/g, "+").replace(/%2C/g, ",").replace(/%3B/g, ";").replace(/%40/g, "@");
    },

    /* callbacks.state.to_query for a view given as an object with ViewState's field names. */
    toQuery: function (state) {
      var q = window.dash_clientside.urlSync.quotePlus;
      var params = [
        ["level", state.level], ["category", state.category], ["community", state.community],
        ["metric", state.metric], ["borough", state.borough], ["scheme", state.scheme],
        ["assets", state.show_assets ? "1" : "0"], ["gaps", state.gaps_only ? "1" : "0"]
      ];
      if (state.area) { params.push(["area", state.area]); }
      if (state.tab !== "gaps") { params.push(["tab", state.tab]); }
      if (state.table_all) { params.push(["table", "all"]); }
      if (state.question) { params.push(["question", state.question]); }
      if (state.whatif) { params.push(["whatif", state.whatif]); }
      return "?" + params.map(function (p) { return q(p[0]) + "=" + q(p[1]); }).join("&");
    },

    /* callbacks.state.question_of, without the check against the known questions (the server has checked the
     * URL's question when it set it). */
    questionOf: function (search) {
      var values = new URLSearchParams((search || "").replace(/^\?/, "")).getAll("question");
      return values.length ? values[values.length - 1] || null : null;
    },

    /* The decision for controls ``values`` (callbacks.ids.CONTROL_IDS order: level, category, community,
     * metric, borough, scheme, show_assets, gaps_only, area, tab, table_all, whatif) after the components
     * ``fired`` changed, with the URL now at ``search``: [new search or null, clear the unit?]. */
    decide: function (fired, values, search) {
      var sync = window.dash_clientside.urlSync;
      var text = function (v) { return typeof v === "string" && v ? v : null; };
      var state = {
        level: String(values[0]), category: String(values[1]), community: String(values[2] || "all"),
        metric: String(values[3]), borough: String(values[4] || "all"), scheme: String(values[5]),
        show_assets: Boolean(values[6]), gaps_only: Boolean(values[7]), area: text(values[8]),
        tab: String(values[9] || "gaps"), table_all: Boolean(values[10]), whatif: text(values[11]),
        question: sync.questionOf(search)
      };
      if (sync.toQuery(state) === (search || "")) { return [null, false]; }
      var has = function (id) { return fired.indexOf(id) !== -1; };
      if (has("level-select") || has("category-select") || has("community-select")) { state.question = null; }
      var moved = has("level-select") || has("borough-select");
      var clear = moved && state.area !== null;
      if (clear) { state.area = null; }
      return [sync.toQuery(state), clear];
    },

    /* The clientside callback: the URL's search, and the selected unit when it is cleared. */
    fromControls: function () {
      var noUpdate = window.dash_clientside.no_update;
      var args = Array.prototype.slice.call(arguments);
      var search = args.pop();
      var triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) {
        return t.prop_id.split(".")[0];
      });
      var decision = window.dash_clientside.urlSync.decide(triggered, args, search);
      return [decision[0] === null ? noUpdate : decision[0], decision[1] ? null : noUpdate];
    }
  }
});
