"""The CI smoke sweep's gates catch a self-consumption controller that makes things worse.

``ci_smoke`` once passed its gates while the self-consumption battery raised the grid
import (0.0251 -> 0.0271 MWh): charging from its own bus's PV surplus in the morning,
which the rest of the feeder was consuming. The controller now charges only from the
feeder's surplus, and the sweep gates the import too. Both halves are checked here on
real runs: the shipped controller passes every gate with the import unchanged, and the
old bus-only rule (restored for the test) fails the import gate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin
from twin.control.rule import SelfConsumptionController
from twin.scenario import Scenario
from twin.study import load_sweep, run_sweep
from twin.study.gates import evaluate_sweep_dir

ROOT = Path(__file__).resolve().parents[2]


def _run_and_gate(tmp_path: Path) -> dict[str, str]:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "ci_smoke.yaml")
    store = tmp_path / "runs"
    for planned in sweep.runs:  # in this process, so a patched controller is used
        twin.run(Scenario.model_validate(planned.scenario), store=store, seed=planned.seed)
    run_sweep(sweep, store=store, sweep_dir=tmp_path / "sweep")  # all present: recorded
    return {result.name: result.status for result in evaluate_sweep_dir(tmp_path / "sweep")}


def _old_bus_rule(self: SelfConsumptionController, consumption_mw: np.ndarray) -> np.ndarray:
    per_bus = np.bincount(self._inj_bus, weights=consumption_mw, minlength=self._n_bus)
    return -per_bus[self.battery.bus] * self._bus_share


def test_shipped_controller_passes_every_gate_without_raising_import(tmp_path):
    results = _run_and_gate(tmp_path)
    assert "the battery does not raise import" in results
    assert set(results.values()) == {"passed"}, results


def test_a_controller_that_raises_import_fails_the_gate(tmp_path, monkeypatch):
    monkeypatch.setattr(SelfConsumptionController, "setpoints", _old_bus_rule)
    results = _run_and_gate(tmp_path)
    assert results["the battery does not raise import"] == "failed"
    assert results["the battery does not raise export"] == "passed"  # the old gates passed


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("GRIDTWIN_AUTORUN", "0")
