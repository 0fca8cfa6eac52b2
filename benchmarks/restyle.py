"""The floor under a repaint: plotly's own restyle of the map, with no server and no other panel (printed).

Starts the dashboard as ``dashboard.py`` does (gunicorn, two workers, ``--preload``), opens the
demo's small areas in headless Chromium and, on the page, restyles the map's choropleth trace in
turn: its colours (``z``, what a need change sends), its outlines (per-area arrays, or one width
and colour for all) and its hover data (``customdata``). For each it prints the time from the
restyle call to plotly's promise and to MapLibre's next ``idle`` (the map drawn).

Run::

    .venv/bin/python benchmarks/restyle.py [--level area|neighbourhood] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from dashboard import first_map, free_port, make_driver, start_server

RESTYLE = """
const [kind, done] = [arguments[0], arguments[arguments.length - 1]];
const g = document.querySelector('#map .js-plotly-plot');
const map = g._fullLayout.map._subplot.map;
const trace = g.data[0];
const updates = {
  z: () => ({z: [trace.z.map(v => (v + 1) % 5)]}),
  'outline arrays': () => ({'marker.line.width': [trace.locations.map((_, i) => (i % 7 ? 0.3 : 2))],
                            'marker.line.color': [trace.locations.map((_, i) => (i % 7 ? '#fff' : '#e0218a'))]}),
  'outline scalar': () => ({'marker.line.width': 0.3, 'marker.line.color': '#fff'}),
  customdata: () => ({customdata: [trace.customdata.map(row => row.slice())]}),
};
const t0 = performance.now();
Plotly.restyle(g, updates[kind](), [0]).then(() => {
  const plotly = performance.now() - t0;
  map.once('idle', () => done([plotly, performance.now() - t0, trace.locations.length]));
  map.triggerRepaint();
});
"""
KINDS = ("z", "outline scalar", "z", "outline arrays", "z", "customdata")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=("area", "neighbourhood"), default="area")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every kind of restyle")
    args = parser.parse_args()
    server = start_server(free_port(), 2, 1, config=None, preload=True)
    driver = make_driver()
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        first_map(driver, f"http://127.0.0.1:{server.port}/?level={args.level}&category=dementia")
        time.sleep(3)  # the other panels settle
        units = 0
        for _ in range(args.repeat):
            for kind in KINDS:
                plotly_ms, idle_ms, units = driver.execute_async_script(RESTYLE, kind)
                times[kind].append(idle_ms)
                print(f"  {kind:<15} plotly {plotly_ms:5.0f} ms, map drawn {idle_ms:5.0f} ms")
                time.sleep(0.5)
    finally:
        driver.quit()
        server.process.terminate()
    print(f"\n{args.level} level ({units} units), restyle -> map drawn, median (min-max) of each kind:")
    for kind, values in times.items():
        print(f"  {kind:<15} {statistics.median(values):5.0f} ms ({min(values):.0f}-{max(values):.0f})")


if __name__ == "__main__":
    main()
