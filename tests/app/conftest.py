"""Fixtures of the app tests: a results store with real runs, isolated app settings.

The store is made once per test session by running the built-in default scenario (and
two variants of it, for the Compare and Sweeps pages) with the real twin; no result is
fabricated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session", autouse=True)
def _no_app_writes_outside_tmp(tmp_path_factory: pytest.TempPathFactory):
    """Session baseline for the app's settings: a private store, auto-run off.

    Tests set their own values with ``monkeypatch``; when one ends, its values are
    undone and a page rerun that Streamlit finishes later sees this baseline instead of
    the defaults, which would start the default scenario into the checkout's ``runs/``.
    """
    base = tmp_path_factory.mktemp("app_baseline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDTWIN_STORE", str(base / "runs"))
        mp.setenv("GRIDTWIN_SWEEPS", str(base / "sweeps"))
        mp.setenv("GRIDTWIN_SCENARIOS", str(SCENARIOS))
        mp.setenv("GRIDTWIN_AUTORUN", "0")
        yield


@pytest.fixture(scope="session")
def reference_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A store with three real runs of the default scenario.

    Runs: the default as written (seed from the file), the same with seed + 1, and the
    same with ``profiles.load_scale`` 1.3: three runs whose seed and load scale vary.
    """
    import twin
    from twin.scenario import apply_overrides

    store = tmp_path_factory.mktemp("store")
    default = twin.load_scenario(SCENARIOS / "default.yaml")
    runs = [
        twin.run(default, store=store),
        twin.run(default, store=store, seed=default.seed + 1),
        twin.run(apply_overrides(default, {"profiles.load_scale": 1.3}), store=store),
    ]
    return {"store": store, "runs": runs, "default": default}


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            reference_store: dict[str, object]) -> dict[str, Path]:
    """Point the app at a private copy of the reference store and of scenarios/."""
    store = tmp_path / "runs"
    shutil.copytree(reference_store["store"], store)
    scenarios = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, scenarios)
    monkeypatch.setenv("GRIDTWIN_STORE", str(store))
    monkeypatch.setenv("GRIDTWIN_SCENARIOS", str(scenarios))
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "1")
    monkeypatch.setenv("GRIDTWIN_SWEEPS", str(tmp_path / "sweeps"))
    return {"store": store, "scenarios": scenarios, "sweeps": tmp_path / "sweeps"}


def _open_tab(at, label: str):
    at.session_state["tab"] = label
    return at.run()


@pytest.fixture
def open_tab():
    """``open_tab(at, label)``: open a tab of the Results page (its tabs are lazy: only
    the open one renders) and rerun; returns the AppTest."""
    return _open_tab


@pytest.fixture
def app(app_env: dict[str, Path]):
    """An AppTest of app.py on its Results page (``/results``), not yet run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page("gui/pages/results.py")
    return at


@pytest.fixture
def home(app_env: dict[str, Path]):
    """An AppTest of app.py on its landing page (``/``), not yet run."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=120)


@pytest.fixture(scope="session")
def calls_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A store with one real run that makes solver calls over the modelled comms
    (the quantum-service outage scenario: QAOA on a cloud QPU, MILP at the edge, EVs,
    a diesel generator, faults)."""
    import twin

    store = tmp_path_factory.mktemp("calls_store")
    scenario = twin.load_scenario(SCENARIOS / "patterns_qpu_outage_evening_peak.yaml")
    return {"store": store, "run": twin.run(scenario, store=store)}


@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The CI smoke sweep (control mode x seed, four short runs), run for real."""
    from twin.study import load_sweep, run_sweep

    root = tmp_path_factory.mktemp("sweep")
    sweep = load_sweep(SCENARIOS / "sweeps" / "ci_smoke.yaml")
    report = run_sweep(sweep, store=root / "runs", sweep_dir=root / "sweeps" / "ci_smoke")
    return {"root": root, "sweep": sweep, "report": report}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Mark a test whose call failed (the browser tests then save a screenshot)."""
    report = yield
    if report.when == "call" and report.failed:
        item.rep_call_failed = True
    return report
