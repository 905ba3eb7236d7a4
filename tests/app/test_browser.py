"""End-to-end: the app in a real browser (Playwright driving Debian's chromium).

Starts ``streamlit run app.py`` on a free port with an empty results store, as a new
user would; the app runs the default scenario itself, and the test waits for the KPI
cards and a chart, then saves a screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _chromium() -> Path:
    """Debian's chromium, installed with apt-get when missing and we are root."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True,
                       timeout=300, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env,
                       capture_output=True, timeout=600, check=False)
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing and could not be installed "
                    "(apt-get install chromium needs root and Debian's package index)")
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


@pytest.fixture
def served_app(tmp_path: Path):
    """The app served on 127.0.0.1 with an empty store (first start)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    port = _free_port()
    env = {**os.environ, "GRIDTWIN_STORE": str(tmp_path / "runs"),
           "GRIDTWIN_SCENARIOS": str(ROOT / "scenarios"), "GRIDTWIN_AUTORUN": "1"}
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, 60)
        yield {"url": url, "chromium": chromium, "sync_api": sync_api,
               "store": tmp_path / "runs", "log": tmp_path / "streamlit.log"}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_new_user_sees_the_default_run_in_a_real_browser(served_app):
    sync_api = served_app["sync_api"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(served_app["chromium"]),
                                             args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            page.goto(served_app["url"], wait_until="domcontentloaded")
            # the app runs the default scenario itself, then shows its KPI cards
            metric = page.get_by_test_id("stMetric").first
            metric.wait_for(timeout=120_000)
            assert "Energy import" in page.get_by_test_id("stMetric").all_inner_texts()[0]
            page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
            assert page.get_by_text("Power balance").first.is_visible()
            assert not page.get_by_test_id("stException").count()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "app_results.png"), full_page=False)
            # the run is in the store the CLI uses
            runs = [p.name for p in served_app["store"].iterdir()
                    if (p / "manifest.json").exists()]
            assert len(runs) == 1
            assert runs[0].startswith("default-")
            # the Scenario page validates the default file
            page.get_by_role("link", name="Scenario").first.click()
            page.get_by_text("Valid scenario").first.wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "app_scenario.png"))
            # the Run page runs it again with another seed; the progress polls by itself
            page.get_by_role("link", name="Run").first.click()
            seed = page.get_by_label("Seed")
            seed.fill("2")
            seed.press("Enter")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("finished in").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "app_run.png"))
            runs = [p.name for p in served_app["store"].iterdir()
                    if (p / "manifest.json").exists()]
            assert sorted(r[-3:] for r in runs) == ["-s1", "-s2"]
            assert not page.get_by_test_id("stException").count()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "app_failure.png"))
            log = served_app["log"].read_text()[-3000:]
            raise AssertionError(f"browser test failed; screenshot test-artifacts/"
                                 f"app_failure.png; streamlit log tail:\n{log}") from None
        finally:
            browser.close()
