"""The shipped quantum scenario gives QAOA the workload it is meant to test.

quantum_microgrid_day must route constrained sub-problems of 12 to 24 qubits (its
min_qubits / max_qubits) from at least two decision types to QAOA, and every one of
them must also be solved by noisy QAOA, annealing, tabu, uniform random sampling and
milp on the same problem. The default run checks the golden run's events (its first
plan, pinned bit for bit by test_golden.py, which re-runs it); the slow test runs the
whole scenario and writes its value report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import twin

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "quantum_microgrid_day.yaml"
GOLDEN = ROOT / "tests" / "data" / "golden" / "quantum_microgrid_day"
COMPARED = {"qaoa_noisy", "annealing", "tabu", "random", "milp"}


def _rows(events: pd.DataFrame, kind: str) -> pd.DataFrame:
    return pd.DataFrame([json.loads(d) for d in
                         events.loc[events["kind"].astype(str) == kind, "data"]])


def check_workload(events: pd.DataFrame) -> pd.DataFrame:
    """Assert the workload invariants on a run's events; return the routed rows."""
    spec = twin.load_scenario(SCENARIO).control.ems.decisions
    assert 12 <= spec.min_qubits <= spec.max_qubits <= 24
    compare = _rows(events, "solver_compare")
    routed = compare[compare["solver"] == "called"]
    assert not routed.empty
    assert set(routed["solver_name"]) == {"qaoa"}, "a fallback answered a routed call"
    assert routed["qubits"].between(spec.min_qubits, spec.max_qubits).all(), (
        sorted(routed["qubits"]))
    assert routed["n_constraints"].gt(0).all(), "every sub-problem has constraints"
    assert routed["decision"].nunique() >= 2
    for call_id, group in compare.groupby("call_id"):
        assert set(group["solver"]) >= COMPARED, (call_id, sorted(group["solver"]))
        noisy = group[group["solver"] == "qaoa_noisy"].iloc[0]
        assert noisy["noise"] == "FakeTorino"
        assert noisy["status"] in ("optimal", "feasible")
        assert noisy["expected_objective_source"] == "noisy samples of the final run"
        ideal = group[group["solver"] == "called"].iloc[0]
        assert ideal["normalised_expected_ratio"] is not None
        assert ideal["normalised_expected_ratio"] <= 1.0
    small = _rows(events, "decision_small_part")
    if not small.empty:  # parts QAOA did not get: below the minimum, decided by milp
        assert (small["qubits"] < spec.min_qubits).all()
        assert set(small["solver"]) == {"milp"}
    return routed


@pytest.mark.integration
def test_golden_run_gives_qaoa_constrained_12_to_24_qubit_problems() -> None:
    events = pd.read_parquet(GOLDEN / "events.parquet")
    routed = check_workload(events)
    kpis = json.loads((GOLDEN / "kpis.json").read_text())
    assert kpis["decision_qubits_min"] == routed["qubits"].min()
    assert kpis["decision_qubits_max"] == routed["qubits"].max()
    assert kpis["solver_errors"] == 0


@pytest.mark.slow
@pytest.mark.integration
def test_full_scenario_workload_and_value_report(tmp_path: Path) -> None:
    """The whole shipped day (minutes: noisy QAOA on every sub-problem)."""
    from twin.value import write_report

    result = twin.run(twin.load_scenario(SCENARIO), store=tmp_path)
    events = pd.read_parquet(Path(result.path) / "events.parquet")
    routed = check_workload(events)
    report = write_report(result.path)
    sizes = report["sizes"]
    assert sum(sizes["routed_qubits"].values()) == routed["call_id"].nunique()
    assert min(int(q) for q in sizes["routed_qubits"]) >= 12
    assert max(int(q) for q in sizes["routed_qubits"]) <= 24
    text = (Path(result.path) / "value.md").read_text()
    assert "## Sub-problem sizes" in text
    assert "qaoa_noisy" in text
