/* Recolour the map without re-tiling it.
 *
 * A change of need, community or measure reaches the map as a Patch of its colours (callbacks/mapview.py).
 * Plotly then hands MapLibre the whole GeoJSON again (choroplethmap's _update calls source.setData), MapLibre
 * re-tiles every polygon (about 370 ms at small-area level on a 2-core machine, for colours only), and plotly
 * removes and re-adds every trace's layers, so MapLibre reloads the service points as well.
 *
 * This wraps plotly's map traces so that:
 * - when a choropleth's polygons are the very same objects as last time (a recolour: plotly's own feature
 *   list, same length, same geometry objects), the new fill colour, opacity and outline of each polygon go to
 *   MapLibre as feature state (setFeatureState: no re-tiling), and the layers paint "feature state, else the
 *   feature's own property". Feature state needs numeric feature ids and plotly's are the area codes, which
 *   MapLibre drops, so MapLibre is given a copy of the features numbered by position; plotly's own features,
 *   hover and clicks are untouched. Any other change (new polygons, a new level or borough) takes plotly's own
 *   path, after clearing the old feature state;
 * - a trace's layers stay where they are unless a trace drawn before it had to be re-added (plotly re-adds
 *   them all to keep their order; a recolour does not change it);
 * - the service points, and a blank trace (the selected unit's outline when none is selected), are not handed
 *   over again when they are what MapLibre already has.
 * The first map, drawn before this hook was in place, is numbered once the map is idle.
 *
 * It relies on plotly.js internals (the traces' update/_update, sourceId(s), layerList, belowLookup, the
 * subplot's updateData and setOptions); when they are missing it does nothing and plotly repaints as before.
 * tests/browser/test_map_recolour.py checks that a recolour takes this path, that the colours and outlines
 * MapLibre paints are plotly's, and that the layers keep their order.
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

  function belowOf(trace) {
    var lookup = trace.subplot && trace.subplot.belowLookup;
    return lookup ? lookup["trace-" + trace.uid] : trace.below;
  }

  /* May this trace keep its layers where they are? Not if a trace before it in this update re-added its own
   * (they would now be on top of ours), nor if its "below" changed. */
  function mayStay(trace, below) {
    return !trace.subplot.__layersMoved && trace.__below !== undefined && below === trace.__below;
  }

  function patchChoropleth(proto) {
    if (proto.__coverageMapRecolour || typeof proto._update !== "function") return;
    var original = proto._update;
    proto._update = function (opts) {
      var map = this.subplot && this.subplot.map;
      if (!map || !opts || !opts.geojson || !map.getSource(this.sourceId) || !this.layerList) {
        this.subplot.__layersMoved = true;
        return original.call(this, opts);
      }
      var below = belowOf(this);
      var features = opts.geojson.features;
      var stated = withStatefulPaint(opts, opts.geojson);
      var stay = mayStay(this, below);
      if (!features) {
        // plotly's blank GeoJSON (a trace with nothing to draw): once MapLibre has it, skip handing it over.
        if (stay && this.__blank) {
          this.__setOptions(stated);
        } else {
          this.subplot.__layersMoved = true;
          original.call(this, opts);
          this.__blank = true;
          this.__polygons = null;
          this.__below = below;
        }
        return undefined;
      }
      this.__blank = false;
      if (stay && this.__polygons && samePolygons(this.__polygons, features)) {
        for (var i = 0; i < features.length; i++) {
          var properties = features[i].properties, state = {};
          for (var k = 0; k < KEYS.length; k++) {
            if (properties[KEYS[k]] !== undefined) state[KEYS[k]] = properties[KEYS[k]];
          }
          map.setFeatureState({source: this.sourceId, id: i}, state);
        }
        this.__setOptions(stated);
        this.__recolours = (this.__recolours || 0) + 1;
        return undefined;
      }
      map.removeFeatureState({source: this.sourceId});
      var numbered = features.map(function (feature, index) {
        return {type: "Feature", id: index, geometry: feature.geometry, properties: feature.properties};
      });
      stated.geojson = {type: "FeatureCollection", features: numbered};
      this.subplot.__layersMoved = true;
      var result = original.call(this, stated);
      this.__polygons = features.map(function (feature) { return feature.geometry; });
      this.__below = below;
      this.__redraws = (this.__redraws || 0) + 1;
      return result;
    };
    /* The layers' layout and paint, as plotly's own _update sets them after handing over the data. */
    proto.__setOptions = function (stated) {
      for (var n = 0; n < this.layerList.length; n++) {
        var part = stated[this.layerList[n][0]];
        this.subplot.setOptions(this.layerList[n][1], "setLayoutProperty", part.layout);
        if (part.layout.visibility === "visible") {
          this.subplot.setOptions(this.layerList[n][1], "setPaintProperty", part.paint);
        }
      }
    };
    proto.__coverageMapRecolour = true;
  }

  /* A scattermap trace (the service points) keeps its layers unless an earlier trace moved, and its sources
   * are not handed over again when their data is what MapLibre already has. */
  function patchPoints(proto, source) {
    if (!proto.__coverageMapPoints && typeof proto.update === "function") {
      var update = proto.update;
      proto.update = function (calcTrace) {
        var below = belowOf(this);
        var map = this.subplot && this.subplot.map;
        var present = map && this.layerIds && this.layerIds.circle && map.getLayer(this.layerIds.circle);
        if (present && !this.isHidden && mayStay(this, below)) this.below = below;
        var readd = this.below !== below;
        var result = update.call(this, calcTrace);
        if (readd) this.subplot.__layersMoved = true;
        this.__below = below;
        return result;
      };
      proto.__coverageMapPoints = true;
    }
    var sourceProto = Object.getPrototypeOf(source);
    if (!sourceProto.__coverageMapPoints && typeof sourceProto.setData === "function") {
      var setData = sourceProto.setData;
      sourceProto.setData = function (data) {
        // plotly names a scattermap trace's sources source-<uid>-circle, -symbol, -line, -fill; a
        // choropleth's is source-<uid>, handled above.
        var points = /^source-[^-]+-(circle|symbol|line|fill)$/.test(this.id || "") && data &&
          !(data.features && data.features.length > 20000);
        var key = points ? JSON.stringify(data) : null;
        if (key !== null && key === this.__lastData) return this;
        this.__lastData = key;
        return setData.apply(this, arguments);
      };
      sourceProto.__coverageMapPoints = true;
    }
  }

  function install(graph) {
    var subplot = graph._fullLayout && graph._fullLayout.map && graph._fullLayout.map._subplot;
    if (!subplot || !subplot.traceHash || !subplot.map) return;
    if (!subplot.__coverageMapHooked && typeof subplot.updateData === "function") {
      var updateData = subplot.updateData;
      subplot.updateData = function () {
        this.__layersMoved = false;
        return updateData.apply(this, arguments);
      };
      subplot.__coverageMapHooked = true;
    }
    var map = subplot.map;
    Object.keys(subplot.traceHash).forEach(function (uid) {
      var trace = subplot.traceHash[uid];
      if (!trace) return;
      if (trace.type === "scattermap" && trace.sourceIds) {
        var source = map.getSource(trace.sourceIds.circle);
        if (source) patchPoints(Object.getPrototypeOf(trace), source);
        return;
      }
      if (trace.type !== "choroplethmap") return;
      patchChoropleth(Object.getPrototypeOf(trace));
      if (!trace.__polygons && !trace.__blank && !trace.__numbering) {
        // Drawn before the hook: number its features once the map has finished drawing them (now, if it
        // already has), so that re-tiling them does not hold up the first map.
        var timer = null;
        var number = function () {
          trace.__numbering = false;
          map.off("idle", number);
          clearTimeout(timer);
          var full = (graph._fullData || []).filter(function (t) { return t.uid === uid; })[0];
          // Outside plotly's update its layers are where they belong (plotly re-adds them only when their
          // "below" changes), so this hands MapLibre the numbered features and leaves the layers in place.
          if (!trace.__polygons && !trace.__blank && full && full._opts) trace._update(full._opts);
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
