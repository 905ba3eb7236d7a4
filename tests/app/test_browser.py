"""End-to-end: every page of the app in a real browser (Playwright driving Debian's chromium).

Each test loads a page by its URL (``/``, ``/results``, ``/scenario``, ``/run``,
``/compare``, ``/sweeps``), clicks its main controls, asserts that the named charts and
cards are there with data and that no exception box is shown, and saves a screenshot
under ``test-artifacts/`` (git-ignored). The store holds real runs: the default scenario
at two seeds and the storm day (another date, another duration), so Compare can be asked
to compare mismatched runs. One test starts on an empty store, as a new user would: the
app runs the default scenario itself.

The tests need ``/usr/bin/chromium`` (``.ci/run`` installs it with apt-get as root); they
skip when it is missing and never install anything themselves.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 2200}

pytestmark = pytest.mark.browser


def _chromium() -> Path:
    """Debian's chromium; the test skips without it (``.ci/run`` installs it)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium "
                    "(`apt-get install chromium`, as .ci/run does in CI)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s} s")


def serve(store: Path, log_path: Path, *, autorun: bool, sweeps: Path | None = None
          ) -> Iterator[dict[str, Any]]:
    """Serve app.py on a free port against ``store``; yields url, process and log path."""
    port = _free_port()
    env = {**os.environ, "GRIDTWIN_STORE": str(store),
           "GRIDTWIN_SCENARIOS": str(ROOT / "scenarios"),
           "GRIDTWIN_SWEEPS": str(sweeps or store.parent / "sweeps"),
           "GRIDTWIN_AUTORUN": "1" if autorun else "0"}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, 60)
        yield {"url": url, "store": store, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Real runs: default (seeds 1 and 2) and the storm day (other date and duration)."""
    import twin

    store = tmp_path_factory.mktemp("browser") / "runs"
    default = twin.load_scenario(ROOT / "scenarios" / "default.yaml")
    storm = twin.load_scenario(ROOT / "scenarios" / "patterns_storm_day.yaml")
    runs = {"default": twin.run(default, store=store),
            "default_s2": twin.run(default, store=store, seed=default.seed + 1),
            "storm": twin.run(storm, store=store)}
    return {"store": store, "runs": runs}


@pytest.fixture(scope="module")
def served(browser_store: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):
    _chromium()
    pytest.importorskip("playwright.sync_api")
    log = tmp_path_factory.mktemp("browser_log") / "streamlit.log"
    yield from serve(browser_store["store"], log, autorun=False)


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, served, request):
    """A fresh 1400 px page; on failure a screenshot and the server log tail."""
    ARTIFACTS.mkdir(exist_ok=True)
    tab = browser.new_page(viewport=VIEWPORT)
    try:
        yield tab
    finally:
        if getattr(request.node, "rep_call_failed", False):
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}_failure.png"))
        tab.close()


def open_page(page, served: dict[str, Any], path: str) -> None:
    """Load a page by URL and wait until the app has drawn it (its title is there)."""
    page.goto(served["url"] + path, wait_until="domcontentloaded")
    page.get_by_test_id("stHeading").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")


def plotly_traces(page, name_contains: str) -> list[dict[str, Any]]:
    """The traces (name, number of points) of the plotly charts whose title contains
    the text, read from the live chart objects in the browser."""
    return page.evaluate(
        """(needle) => Array.from(document.querySelectorAll('.js-plotly-plot'))
            .filter(el => ((el.layout && el.layout.title && (el.layout.title.text
                            || el.layout.title)) || '').toString().includes(needle))
            .flatMap(el => el.data.map(t => {
                const a = t.x || t.z || t.y || t.base || [];
                const n = (a && a.length !== undefined) ? a.length : (a && a.bdata ? 1 : 0);
                return {name: t.name || '', n: n, type: t.type || 'scatter'};
            }))""",
        name_contains)


def wait_chart(page, title: str, timeout_ms: int = 60_000) -> list[dict[str, Any]]:
    """Wait for a chart with ``title`` to carry data; returns its traces."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        traces = plotly_traces(page, title)
        if traces and any((t["n"] or 0) > 0 for t in traces):
            return traces
        page.wait_for_timeout(250)
    raise AssertionError(f"no chart titled {title!r} with data on {page.url}")


def assert_clean(page) -> None:
    assert not page.get_by_test_id("stException").count(), page.get_by_test_id(
        "stException").first.inner_text()
    text = page.inner_text("body")
    assert "Traceback" not in text
    assert "Page not found" not in text


def shoot(page, name: str) -> None:
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"app_{name}.png"), full_page=True)


def cards(page) -> list[str]:
    return page.get_by_test_id("stMetric").all_inner_texts()


def test_home_explains_and_shows_the_default_run_headline(page, served):
    open_page(page, served, "/")
    page.get_by_text("GridTwin is a digital twin").first.wait_for(timeout=30_000)
    page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
    texts = cards(page)
    assert len(texts) == 4
    labels = [t.splitlines()[0] for t in texts]
    assert labels[:2] == ["Energy import", "PV energy"]
    assert "Lowest bus voltage" in labels
    assert all("n/a" not in t for t in texts)
    network = wait_chart(page, "Network at")
    assert any(t["name"] == "PV" for t in network)  # asset icons
    assert any(t["name"] == "Battery" for t in network)
    balance = wait_chart(page, "Power balance, first day")
    assert {"Grid import", "Network loads"} <= {t["name"] for t in balance}
    for label in ("Pick a scenario", "Run it", "Compare runs"):
        assert page.get_by_role("link", name=label).first.is_visible()
    assert_clean(page)
    shoot(page, "home")
    page.get_by_role("link", name="Compare runs").first.click()
    page.wait_for_url("**/compare", timeout=30_000)
    page.get_by_role("heading", name="Compare runs").first.wait_for(timeout=30_000)


def test_results_by_url_draws_every_tab(page, served, browser_store):
    open_page(page, served, "/results")
    page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
    balance = wait_chart(page, "Power balance")
    assert {"Grid import", "Network loads", "Battery charging"} <= {
        t["name"] for t in balance}
    shoot(page, "results_power")
    for tab, title in (("Storage & EVs", "state of charge"),
                       ("Grid", "Bus voltage"), ("Grid", "Voltage profile"),
                       ("Grid", "Line and transformer loading"),
                       ("Network map", "Network at")):
        page.get_by_role("tab", name=tab).click()
        wait_chart(page, title)
        shoot(page, f"results_{tab.split()[0].lower()}")
    assert_clean(page)
    # lazy tabs: the open tab is in the address, so a tab is reachable by its URL
    open_page(page, served, "/results?tab=Grid")
    wait_chart(page, "Bus voltage")
    assert not plotly_traces(page, "Power balance")  # only the open tab was drawn
    assert_clean(page)


def test_results_events_after_switching_runs(page, served, browser_store):
    open_page(page, served, "/results")
    storm = browser_store["runs"]["storm"].run_id
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=storm).first.click()
    page.wait_for_function(
        "() => document.body.innerText.includes('Scenario patterns_storm_day')",
        timeout=60_000)
    page.wait_for_load_state("networkidle")
    unserved = next(t for t in cards(page) if t.startswith("Unserved energy"))
    ens = browser_store["runs"]["storm"].kpis["reliability_energy_not_supplied_mwh"]
    assert f"{ens * 1000:.3g}" in unserved
    page.get_by_role("tab", name="Events").click()
    events = wait_chart(page, "Events")
    assert any(t["type"] == "bar" for t in events)  # outages as bars
    assert_clean(page)
    shoot(page, "results_events_storm")
    page.get_by_role("tab", name="Storage & EVs").click()
    soc = wait_chart(page, "state of charge")
    assert any("EV fleet" in t["name"] for t in soc)
    ev = wait_chart(page, "EV charging")
    assert any("energy requested" in t["name"] for t in ev)
    shoot(page, "results_storage_storm")
    page.get_by_role("tab", name="Solvers").click()
    wait_chart(page, "vs time to answer")
    assert_clean(page)
    shoot(page, "results_solvers_storm")


def test_compare_warns_on_mismatched_runs(page, served, browser_store):
    """The newest two runs (storm day, default) are preselected: a warning, not a crash."""
    open_page(page, served, "/compare")
    page.get_by_text("not like for like").first.wait_for(timeout=60_000)
    warning = page.get_by_test_id("stAlert").first.inner_text()
    assert "starts" in warning
    assert "covers" in warning
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    wait_chart(page, "Cost per query vs time to answer")  # calls next to a run without
    overlay = wait_chart(page, "")
    assert overlay
    page.get_by_text("Align by time since each run's start").first.click()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)
    assert_clean(page)
    shoot(page, "compare_mismatch")


def test_scenario_page_validates_the_default_file(page, served):
    open_page(page, served, "/scenario")
    page.get_by_text("Valid scenario").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    # the upload limit is one number, stated once (the uploader's label)
    text = page.inner_text("body")
    assert "at most 256 KiB" in text
    assert "1MB per file" not in text
    assert_clean(page)
    shoot(page, "scenario")


def test_sweeps_page_shows_runs_of_one_scenario(page, served):
    open_page(page, served, "/sweeps")
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    wait_chart(page, "")
    assert_clean(page)
    shoot(page, "sweeps")


def test_new_user_sees_the_default_run_in_a_real_browser(browser, tmp_path):
    """Empty store: the app runs the default scenario, Home shows it, Run runs it again."""
    ARTIFACTS.mkdir(exist_ok=True)
    store = tmp_path / "runs"
    server = serve(store, tmp_path / "streamlit.log", autorun=True)
    served_app = next(server)
    tab = browser.new_page(viewport=VIEWPORT)
    try:
        tab.goto(served_app["url"], wait_until="domcontentloaded")
        tab.get_by_test_id("stMetric").first.wait_for(timeout=120_000)
        assert "Energy import" in cards(tab)[0]
        wait_chart(tab, "Power balance")
        assert_clean(tab)
        runs = [p.name for p in store.iterdir() if (p / "manifest.json").exists()]
        assert len(runs) == 1
        assert runs[0].startswith("default-")
        tab.goto(served_app["url"] + "/run", wait_until="domcontentloaded")
        seed = tab.get_by_label("Seed")
        seed.wait_for(timeout=30_000)
        seed.fill("2")
        seed.press("Enter")
        tab.get_by_role("button", name="Run", exact=True).click()
        tab.get_by_text("finished in").first.wait_for(timeout=120_000)
        shoot(tab, "run")
        runs = [p.name for p in store.iterdir() if (p / "manifest.json").exists()]
        assert sorted(r[-3:] for r in runs) == ["-s1", "-s2"]
        assert_clean(tab)
    except Exception:
        tab.screenshot(path=str(ARTIFACTS / "app_first_start_failure.png"))
        log = served_app["log"].read_text()[-3000:]
        raise AssertionError(f"browser test failed; screenshot in test-artifacts/; "
                             f"streamlit log tail:\n{log}") from None
    finally:
        tab.close()
        server.close()


def test_value_page_shows_what_qaoa_did_for_a_quantum_run(browser, tmp_path):
    """The quantum value page by URL on a real run with routed QAOA decisions: the plain
    statements and one table per decision kind, no exception."""
    pytest.importorskip("solvers.qaoa")
    import twin

    ARTIFACTS.mkdir(exist_ok=True)
    store = tmp_path / "runs"
    run = twin.run(twin.load_scenario(ROOT / "scenarios" / "quantum_microgrid_day.yaml"),
                   store=store)
    server = serve(store, tmp_path / "streamlit.log", autorun=False)
    served_app = next(server)
    tab = browser.new_page(viewport=VIEWPORT)
    try:
        open_page(tab, served_app, "/value")
        tab.get_by_text("In plain words").first.wait_for(timeout=120_000)
        assert "no routed decisions" not in tab.inner_text("body")  # the only run: QAOA
        kinds = {c["decision"] for c in _routed_calls(run.path)}
        for kind in kinds:  # one section per routed decision kind
            tab.get_by_role("heading", name=kind.replace("_", " ")).first.wait_for(
                timeout=30_000)
        tab.get_by_test_id("stDataFrame").nth(len(kinds) - 1).wait_for(timeout=60_000)
        assert_clean(tab)
        shoot(tab, "value")
    finally:
        tab.close()
        server.close()


def _routed_calls(run_dir: Path) -> list[dict[str, Any]]:
    import json

    import pandas as pd

    events = pd.read_parquet(run_dir / "events.parquet")
    rows = [json.loads(d) for d in events["data"].astype(str) if d.startswith("{")]
    return [r for r in rows if isinstance(r.get("decision"), str)]


def test_run_folders_carry_the_layout_the_map_is_drawn_from(browser_store):
    """The map's source: every run folder has layout.json with each asset at its bus."""
    run = browser_store["runs"]["default"]
    layout = json.loads((run.path / "layout.json").read_text())
    assert {a["name"]: a["bus"] for a in layout["assets"]} == {"pv_farm": 13,
                                                               "home_battery": 13}
    buses = {b["bus"] for b in layout["buses"]}
    assert all({br["from_bus"], br["to_bus"]} <= buses for br in layout["branches"])
