"""Registry: names, options, errors that list what exists, third-party entry points."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from dataclasses import dataclass
from typing import ClassVar

import pytest

import solvers.registry as registry
from solvers import (
    Problem,
    Result,
    SolverOptionError,
    Status,
    UnknownSolverError,
    available_solvers,
    compare,
    get_solver,
    registered_solvers,
)


def test_unknown_name_lists_the_registered_solvers() -> None:
    with pytest.raises(UnknownSolverError) as info:
        get_solver("cplex")
    text = str(info.value)
    assert "'cplex'" in text
    for name in ("milp", "qaoa", "exact", "annealing", "tabu", "hybrid", "lp-rounding"):
        assert name in text


def test_unknown_option_lists_the_accepted_options() -> None:
    with pytest.raises(SolverOptionError) as info:
        get_solver("milp", gap=0.1)
    assert "'gap'" in str(info.value)
    assert "mip_rel_gap" in str(info.value)
    assert "threads" in str(info.value)


def test_invalid_option_value_is_an_option_error() -> None:
    with pytest.raises(SolverOptionError, match="mip_rel_gap"):
        get_solver("milp", mip_rel_gap=2.0)
    with pytest.raises(SolverOptionError, match="optimizer"):
        get_solver("qaoa", optimizer="adam")


def test_options_and_descriptions_are_listed() -> None:
    infos = registered_solvers()
    assert infos["qaoa"].options["reps"] == 1
    assert infos["milp"].description
    assert set(available_solvers()) <= set(infos)


@dataclass(frozen=True)
class _Greedy:
    """Sets every variable to its lower bound (a plug-in for the test)."""

    name: ClassVar[str] = "lower-bound"
    note: str = ""

    def supports(self, problem: Problem) -> str | None:
        return None

    def solve(self, problem: Problem, *, time_limit=None, seed=None) -> Result:
        from solvers.result import result_from_x

        return result_from_x(problem, self.name, problem.lower)


def test_third_party_solver_through_the_entry_point_group(monkeypatch) -> None:
    module = types.ModuleType("gridtwin_plugin_demo")
    module.Factory = _Greedy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gridtwin_plugin_demo", module)
    ep = importlib.metadata.EntryPoint(name="lower-bound", value="gridtwin_plugin_demo:Factory",
                                       group=registry.ENTRY_POINT_GROUP)
    real = importlib.metadata.entry_points

    def fake_entry_points(**kw):
        found = list(real(**kw))
        if kw.get("group") == registry.ENTRY_POINT_GROUP:
            found.append(ep)
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.reload_entry_points()
    try:
        assert "lower-bound" in available_solvers()
        assert registered_solvers()["lower-bound"].source.startswith("entry point")
        solver = get_solver("lower-bound", note="x")
        problem = Problem(objective=[1.0, 2.0], upper=3.0)
        res = solver.solve(problem)
        assert res.status is Status.FEASIBLE
        assert res.objective == 0.0
        with pytest.raises(SolverOptionError, match="note"):
            get_solver("lower-bound", colour="red")
    finally:
        monkeypatch.undo()
        registry.reload_entry_points()
    assert "lower-bound" not in registered_solvers()


def test_compare_tabulates_against_the_reference() -> None:
    problem = Problem(objective=[-3.0, -2.0, -4.0], kinds="binary", upper=1.0,
                      constraints=[[2, 1, 3]], row_upper=[4], sense="minimize")
    rows = compare(problem, ["exact", "lp-rounding"], reference="milp", seed=0)
    assert [r["solver"] for r in rows] == ["milp", "exact", "lp-rounding"]
    assert rows[0]["objective"] == pytest.approx(-6.0)
    assert rows[1]["approximation_ratio"] == pytest.approx(1.0)
    assert 0 < rows[2]["approximation_ratio"] <= 1.0
