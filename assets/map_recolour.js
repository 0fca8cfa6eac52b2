/* Recolour the map without re-tiling it.
 *
 * A change of need, community or measure reaches the map as a Patch of its colours (callbacks/mapview.py);
 * plotly then hands MapLibre the whole GeoJSON again (choroplethmap's _update calls source.setData), and
 * MapLibre re-tiles every polygon: about 370 ms of the repaint at small-area level, for colours only.
 *
 * This wraps the choroplethmap trace's _update so that when the polygons are the very same objects as last
 * time (a recolour: plotly's own feature list, same length, same geometry objects), the new fill colour,
 * opacity and outline of each polygon go to MapLibre as feature state (setFeatureState: no re-tiling), and the
 * layers paint "feature state, else the feature's own property". Feature state needs numeric feature ids and
 * plotly's are the area codes, which MapLibre drops, so MapLibre is given a copy of the features numbered by
 * position; plotly's own features, hover and clicks are untouched. Any other change (new polygons, a new
 * level or borough, layers moved) takes plotly's own path, after clearing the old feature state. The first map
 * drawn before this hook was in place is numbered once the map is idle.
 *
 * It relies on plotly.js internals (the trace object's _update, sourceId, layerList, subplot.setOptions);
 * when they are missing it does nothing and plotly repaints as before. tests/browser/test_map_recolour.py
 * checks that a recolour takes this path and that the colours drawn are the figure's.
 */
(function () {
  "use strict";
  var KEYS = ["fc", "mo", "mo2", "mlc", "mlw"];

  function stateful(paint) {
    var out = {};
    Object.keys(paint || {}).forEach(function (name) {
      var value = paint[name];
      if (value && value.type === "identity" && KEYS.indexOf(value.property) >= 0) {
        out[name] = ["coalesce", ["feature-state", value.property], ["get", value.property]];
      } else {
        out[name] = value;
      }
    });
    return out;
  }

  function withStatefulPaint(opts, geojson) {
    var out = {geojson: geojson};
    Object.keys(opts).forEach(function (key) {
      if (key !== "geojson") {
        out[key] = opts[key] && opts[key].paint ? {layout: opts[key].layout, paint: stateful(opts[key].paint)} : opts[key];
      }
    });
    return out;
  }

  function samePolygons(before, features) {
    if (!before || before.length !== features.length) return false;
    for (var i = 0; i < features.length; i++) {
      if (before[i] !== features[i].geometry) return false;
    }
    return true;
  }

  function patchTrace(proto) {
    if (proto.__coverageMapRecolour || typeof proto._update !== "function") return;
    var original = proto._update;
    proto._update = function (opts) {
      var map = this.subplot && this.subplot.map;
      var features = opts && opts.geojson && opts.geojson.features;
      if (!map || !features || !map.getSource(this.sourceId) || !this.layerList) {
        return original.call(this, opts);
      }
      // plotly resets this.below to null before each update when traces share a "below", to re-add their
      // layers in order; a recolour leaves the layers where they are, so compare with the last one drawn.
      var below = this.subplot.belowLookup ? this.subplot.belowLookup["trace-" + this.uid] : this.below;
      var stated = withStatefulPaint(opts, opts.geojson);
      if (this.__polygons && below === this.__below && samePolygons(this.__polygons, features)) {
        for (var i = 0; i < features.length; i++) {
          var properties = features[i].properties, state = {};
          for (var k = 0; k < KEYS.length; k++) {
            if (properties[KEYS[k]] !== undefined) state[KEYS[k]] = properties[KEYS[k]];
          }
          map.setFeatureState({source: this.sourceId, id: i}, state);
        }
        for (var n = 0; n < this.layerList.length; n++) {
          var part = stated[this.layerList[n][0]];
          this.subplot.setOptions(this.layerList[n][1], "setLayoutProperty", part.layout);
          if (part.layout.visibility === "visible") {
            this.subplot.setOptions(this.layerList[n][1], "setPaintProperty", part.paint);
          }
        }
        this.__recolours = (this.__recolours || 0) + 1;
        return undefined;
      }
      map.removeFeatureState({source: this.sourceId});
      var numbered = features.map(function (feature, index) {
        return {type: "Feature", id: index, geometry: feature.geometry, properties: feature.properties};
      });
      stated.geojson = {type: "FeatureCollection", features: numbered};
      var result = original.call(this, stated);
      this.__polygons = features.map(function (feature) { return feature.geometry; });
      this.__below = below;
      this.__redraws = (this.__redraws || 0) + 1;
      return result;
    };
    proto.__coverageMapRecolour = true;
  }

  function install(graph) {
    var subplot = graph._fullLayout && graph._fullLayout.map && graph._fullLayout.map._subplot;
    if (!subplot || !subplot.traceHash) return;
    Object.keys(subplot.traceHash).forEach(function (uid) {
      var trace = subplot.traceHash[uid];
      if (!trace || trace.type !== "choroplethmap") return;
      patchTrace(Object.getPrototypeOf(trace));
      if (!trace.__polygons && !trace.__numbering && subplot.map) {
        // Drawn before the hook: number its features once the map has finished drawing them (now, if it
        // already has), so that re-tiling them does not hold up the first map.
        var map = subplot.map, timer = null;
        var number = function () {
          trace.__numbering = false;
          map.off("idle", number);
          clearTimeout(timer);
          var full = (graph._fullData || []).filter(function (t) { return t.uid === uid; })[0];
          if (!trace.__polygons && full && full._opts) trace._update(full._opts);
        };
        trace.__numbering = true;
        if (map.loaded() && !map.isMoving()) {
          timer = setTimeout(number, 0);
        } else {
          map.on("idle", number);
          timer = setTimeout(number, 5000);
        }
      }
    });
  }

  function hook() {
    var graph = document.querySelector("#map .js-plotly-plot");
    if (!graph || typeof graph.on !== "function" || graph.__coverageMapHooked) return;
    graph.__coverageMapHooked = true;
    graph.on("plotly_afterplot", function () { install(graph); });
    install(graph);
  }

  new MutationObserver(hook).observe(document.documentElement, {childList: true, subtree: true});
})();
