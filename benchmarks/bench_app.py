"""Benchmark: how fast the landing page and the Results page of a full-year run render.

Makes (or reuses) a real full-year run of the default scenario (2016-01-01, 366 days
at 15 min: 35,136 steps) in a benchmark store, then renders the app's Results page
with Streamlit's AppTest in this process:

- first load (cold: DuckDB aggregates the year, the network layout is built);
- repeated loads (warm: the cached aggregates are reused), the number the issue's
  "< 3 s after the first load" is about;
- a zoom to one week (a new window: a new DuckDB aggregation) and the same zoom again;
- a move of the network map's time slider;
- in Debian's chromium (Playwright), against a warm ``streamlit run`` server: the
  landing page's first meaningful paint (its 4 KPI cards, network map and power
  balance drawn) and the Results page's (cards and power balance of the year run),
  median of ``--repeats`` fresh page loads (skipped without /usr/bin/chromium).

Usage::

    python benchmarks/bench_app.py [--store /tmp/gridtwin-bench-store] [--repeats 5]

Prints a markdown table (paste into benchmarks/results/app.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout: gui/ and app.py live here
logger = logging.getLogger("bench_app")


def year_run(store: Path, grid_code: str | None = None) -> tuple[str, float | None]:
    """The full-year run's id, making it when the store lacks it (and its wall time)."""
    import twin
    from gui.store import expected_run_id, find_run
    from twin.scenario import apply_overrides

    base = twin.load_scenario(ROOT / "scenarios" / "default.yaml")
    overrides = {"name": "default-year", "time.start": "2016-01-01T00:00:00",
                 "time.duration": "366d"}
    if grid_code:
        overrides.update({"name": f"year-{grid_code}", "grid.code": grid_code,
                          "assets.pv_farm.profile": "PV3"})
    scenario = apply_overrides(base, overrides)
    run_id = expected_run_id(scenario)
    if find_run(store, run_id):
        return run_id, None
    t0 = time.perf_counter()
    result = twin.run(scenario, store=store)
    return result.run_id, time.perf_counter() - t0


def timed(action) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/gridtwin-bench-store"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--grid-code", default=None,
                        help="SimBench code of another grid (default: the default "
                        "scenario's 15-bus LV feeder), e.g. 1-MV-rural--0-sw")
    parser.add_argument("--make-run-only", action="store_true",
                        help="only make the full-year run (used in a subprocess)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.store.mkdir(parents=True, exist_ok=True)
    if args.make_run_only:
        run_id, run_wall_s = year_run(args.store, args.grid_code)
        print(f"{run_id} {run_wall_s or 0.0}")
        return
    # make the run in another process so that this one starts cold (no network, no
    # profiles, no DuckDB cache in memory), as the app does after a restart
    made = subprocess.run([sys.executable, __file__, "--store", str(args.store),
                           "--make-run-only",
                           *(["--grid-code", args.grid_code] if args.grid_code else [])],
                          capture_output=True, text=True, check=True)
    run_id, wall = made.stdout.split()[-2:]
    run_wall_s = float(wall) or None

    os.environ["GRIDTWIN_STORE"] = str(args.store)
    os.environ["GRIDTWIN_SCENARIOS"] = str(ROOT / "scenarios")
    os.environ["GRIDTWIN_AUTORUN"] = "0"
    import duckdb
    import pyarrow.parquet as pq
    import streamlit
    from streamlit.testing.v1 import AppTest

    ts = args.store / run_id / "timeseries.parquet"
    rows = pq.ParquetFile(ts).metadata.num_rows
    with duckdb.connect() as con:
        n_series = con.execute("SELECT count(*) FROM (SELECT DISTINCT entity, quantity "
                               "FROM read_parquet(?))", [str(ts)]).fetchone()[0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.switch_page("gui/pages/results.py")  # the landing page is "/"; Results is /results

    def render() -> None:
        at.run()
        assert not at.exception, at.exception
        assert at.metric
        assert at.get("plotly_chart")

    at.session_state["results_run"] = run_id  # open the page on this run directly
    first_s = timed(render)
    assert at.selectbox(key="results_run").value == run_id
    warm = [timed(render) for _ in range(args.repeats)]
    start, _ = at.slider(key="results_window").value
    week = (start + dt.timedelta(days=180), start + dt.timedelta(days=187))

    def zoom() -> None:
        at.slider(key="results_window").set_value(week)
        render()

    zoom_s = timed(zoom)
    zoom_again = [timed(render) for _ in range(args.repeats)]

    at.session_state["tab"] = "Network map"  # the Results tabs are lazy: open the map
    render()

    def move_map() -> None:
        at.slider(key="results_map_time").set_value(week[0] + dt.timedelta(hours=12))
        render()

    map_s = timed(move_map)
    command = " ".join(["python benchmarks/bench_app.py", f"--repeats {args.repeats}",
                        *([f"--grid-code {args.grid_code}"] if args.grid_code else [])])
    print(f"| command | `{command}` |")
    print(f"| machine | {platform.machine()}, {os.cpu_count()} cores shared, "
          f"{platform.python_implementation()} {platform.python_version()} |")
    print(f"| versions | streamlit {streamlit.__version__}, duckdb {duckdb.__version__} |")
    print(f"| load average at start (1 min) | {os.getloadavg()[0]:.1f} |")
    print(f"| run | `{run_id}`: {rows:,} timeseries rows ({n_series} series), "
          f"{ts.stat().st_size / 1e6:.1f} MB parquet"
          + (f", made in {run_wall_s:.1f} s |" if run_wall_s else " (reused) |"))
    print(f"| first load (cold: imports, grid layout, DuckDB over the year) | {first_s:.2f} s |")
    print(f"| warm reload, median / max of {args.repeats} | {statistics.median(warm):.2f} s / "
          f"{max(warm):.2f} s |")
    print(f"| zoom to one week (new aggregation) | {zoom_s:.2f} s |")
    print(f"| same week again, median / max | {statistics.median(zoom_again):.2f} s / "
          f"{max(zoom_again):.2f} s |")
    print(f"| move the network-map time slider | {map_s:.2f} s |")
    for label, times_s in browser_paints(args.store, run_id, args.repeats).items():
        print(f"| {label}, median / max of {len(times_s)} | "
              f"{statistics.median(times_s):.2f} s / {max(times_s):.2f} s |")


def browser_paints(store: Path, run_id: str, repeats: int) -> dict[str, list[float]]:
    """Seconds from navigation to the first meaningful paint, per page, in chromium.

    A ``streamlit run`` server on ``store`` is warmed by one load of each page; then each
    page is loaded ``repeats`` times in a fresh tab and timed until its KPI cards and its
    named charts hold data. The store's newest run is what /results opens on.
    """
    import socket
    import urllib.request

    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not chromium.exists():
        return {}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GRIDTWIN_STORE": str(store), "GRIDTWIN_AUTORUN": "0",
           "GRIDTWIN_SCENARIOS": str(ROOT / "scenarios")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    pages = {"landing page / (4 cards, map, power balance)":
             ("/", ["Network at", "Power balance, first day"]),
             "Results /results of the year run (cards, power balance)":
             ("/results", ["Power balance"])}
    script = """(titles) => titles.every(t => Array.from(
        document.querySelectorAll('.js-plotly-plot')).some(el => el.data && el.data.length
        && ((el.layout.title && (el.layout.title.text || el.layout.title)) || '')
        .toString().includes(t))) && document.querySelectorAll(
        '[data-testid=stMetric]').length >= 4"""
    out: dict[str, list[float]] = {}
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium),
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"])
            for label, (path, titles) in pages.items():
                samples = []
                for attempt in range(repeats + 1):  # the first load warms the server
                    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                    t0 = time.perf_counter()
                    tab.goto(url + path, wait_until="commit")
                    tab.wait_for_function(script, arg=titles, timeout=120_000)
                    if attempt:
                        samples.append(time.perf_counter() - t0)
                    tab.close()
                out[label] = samples
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    return out


if __name__ == "__main__":
    main()
