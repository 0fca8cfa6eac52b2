/* The map first (callbacks/mapview.py): the page asks for the panels that follow the need (the gap table and
 * the equity chart) only once the map has been drawn, so the server and the browser work on the map alone.
 *
 * ``settled`` is the clientside callback that writes callbacks.ids.MAP_FIRST after each new map figure. Dash
 * holds any callback with an input that a running callback (or one it sets off) may write, so the gap table
 * and the equity chart, which take MAP_FIRST as an input, wait until this promise resolves: when MapLibre has
 * drawn the new map, or after MAX_WAIT_MS whatever happens. It never writes a value (no_update), so it never
 * sets them off by itself. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  mapOrder: {
    MAX_WAIT_MS: 1500,
    settled: function () {
      var noUpdate = window.dash_clientside.no_update;
      var wait = window.dash_clientside.mapOrder.MAX_WAIT_MS;
      return new Promise(function (resolve) {
        var finished = false;
        var finish = function () { if (!finished) { finished = true; resolve(noUpdate); } };
        setTimeout(finish, wait);
        /* Dash hands the figure to plotly after this callback starts: look for the map on the next frame. */
        requestAnimationFrame(function () {
          var graph = document.querySelector("#map .js-plotly-plot");
          var layout = graph && graph._fullLayout;
          var subplot = layout && layout.map && layout.map._subplot;
          if (!subplot || !subplot.map) { finish(); return; }
          subplot.map.once("idle", finish);
          subplot.map.triggerRepaint();
        });
      });
    }
  }
});
