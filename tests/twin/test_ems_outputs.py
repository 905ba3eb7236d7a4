"""What an EMS run leaves in its folder beyond the tables: the problems of its quantum
solver calls as CPLEX-LP (``problems/<call_id>.lp``, read by the app's QAOA landscape),
and KPIs that are always present (null when there is nothing to report) so a sweep
can gate on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_qaoa_calls_store_their_problems_as_lp(tmp_path: Path) -> None:
    """qaoa_vs_milp_ev (first 12 h): every stored problem names a QAOA call of the
    call table and reads back into a Problem whose optimum is the call's reference."""
    pytest.importorskip("qiskit_aer")
    from solvers import get_solver
    from solvers.lpfile import read_lp
    from twin.control.calls import calls_table
    from twin.control.ems import MAX_STORED_PROBLEMS
    from twin.engine import run
    from twin.scenario import apply_overrides, load_scenario
    from twin.store import open_run

    scenario = apply_overrides(load_scenario(ROOT / "scenarios" / "qaoa_vs_milp_ev.yaml"),
                               {"time.duration": "12h"})
    result = run(scenario, store=tmp_path / "runs")
    files = sorted((result.path / "problems").glob("*.lp"))
    table = calls_table(open_run(result.path).events).set_index("call_id")
    qaoa_calls = table[table.solver_requested == "qaoa"]
    assert 0 < len(files) <= MAX_STORED_PROBLEMS
    assert len(files) == min(len(qaoa_calls), MAX_STORED_PROBLEMS)
    milp = get_solver("milp")
    for file in files:
        call = table.loc[file.stem]
        assert call.solver_requested == "qaoa"
        problem = read_lp(file)
        assert problem.is_binary
        assert problem.num_variables == call.n_variables <= 8
        optimum = milp.solve(problem).objective
        assert optimum == pytest.approx(call.reference_objective, rel=1e-9, abs=1e-9)


def test_dispatch_only_run_stores_no_problems(tmp_path: Path, tiny_grid: Path) -> None:
    """A MILP dispatch with continuous variables is no quantum call: no ``problems/``."""
    from twin.engine import run
    from twin.scenario import scenario_from_dict

    data = {
        "name": "noq", "seed": 2, "time": {"duration": "3h", "step": "30min"},
        "grid": {"source": "file", "path": str(tiny_grid)}, "profiles": {"source": "constant"},
        "assets": [{"kind": "building", "name": "b", "bus": 1, "building_type": "office"}],
        "control": {"mode": "ems", "ems": {"horizon": "4h"}},
    }
    result = run(scenario_from_dict(data), store=tmp_path / "runs")
    assert not (result.path / "problems").exists()


def test_ems_ratio_kpis_are_written_as_null_without_reference(tmp_path: Path,
                                                              tiny_grid: Path) -> None:
    """No call asked for a reference optimum: the ratio KPIs are still in kpis.json,
    as null; the rule-based controller (no solver calls) does not write them."""
    from twin.engine import run
    from twin.scenario import apply_overrides, scenario_from_dict

    data = {
        "name": "nullkpi", "seed": 2, "time": {"duration": "3h", "step": "30min"},
        "grid": {"source": "file", "path": str(tiny_grid)}, "profiles": {"source": "constant"},
        "assets": [{"kind": "building", "name": "b", "bus": 1, "building_type": "office"}],
        "control": {"mode": "ems", "ems": {"horizon": "4h"}},
    }
    scenario = scenario_from_dict(data)
    result = run(scenario, store=tmp_path / "runs")
    kpis = json.loads((result.path / "kpis.json").read_text())
    for name in ("ems_approximation_ratio_mean", "ems_approximation_ratio_min"):
        assert name in kpis, name
        assert kpis[name] is None, name
    assert kpis["ems_calls"] > 0
    rule = run(apply_overrides(scenario, {"control.mode": "rule_based"}), store=tmp_path / "runs")
    assert "ems_approximation_ratio_mean" not in json.loads((rule.path / "kpis.json").read_text())
