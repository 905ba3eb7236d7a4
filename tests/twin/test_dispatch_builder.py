"""The dispatch problem, built by :class:`solvers.ProblemBuilder` from
:class:`solvers.builder.SparseTerm` triplets (names built once), is exactly the problem
the validating path makes from the same terms as scipy matrices: same names, bounds,
costs and constraint matrix, bit for bit (so plans do not change with the fast path)."""

from __future__ import annotations

import numpy as np
import pytest


def _inputs(t_len: int, n_ev: int, seed: int):
    from twin.assets.building import BuildingFleet, building_preset
    from twin.control.problems import (
        BatteryInputs,
        BuildingInputs,
        DispatchInputs,
        EvInputs,
        GeneratorInputs,
        RunInputs,
    )

    rng = np.random.default_rng(seed)
    fleet = BuildingFleet([building_preset("office"), building_preset("residential")])
    model = fleet.model(3600)
    d = np.zeros((t_len, 2, 3))
    d[:, :, 0] = rng.uniform(-5, 32, (t_len, 1))
    d[:, :, 2] = rng.uniform(0, 10, (t_len, 2))
    drive = np.einsum("nij,tnj->tni", model.e, d)
    cop, eer = fleet.cop_eer(d[:, 0, 0])
    avail = np.clip(rng.uniform(-0.5, 1.5, (t_len, n_ev)), 0, 1)
    return DispatchInputs(
        dt_h=1.0, base_kw=rng.uniform(10, 30, t_len),
        import_eur_per_kwh=rng.uniform(0.1, 0.5, t_len), export_eur_per_kwh=0.05,
        pcc_limit_kw=rng.uniform(60, 90, t_len),
        battery=BatteryInputs(np.array([40.0]), np.array([10.0]), np.array([90.0]),
                              np.array([20.0]), np.array([0.95]), np.array([0.9])),
        generator=GeneratorInputs(np.array([True, False]), np.array([1, 9]),
                                  np.array([10.0, 5.0]), np.array([40.0, 20.0]),
                                  np.array([3, 1]), np.array([2, 3]), np.array([5.0, 1.0]),
                                  np.array([0.3, 0.4])),
        ev=EvInputs(avail, rng.choice([11.0, 22.0], n_ev), np.full(n_ev, 0.9),
                    rng.uniform(0, 30, n_ev), rng.uniform(10, 50, n_ev),
                    rng.uniform(5, 20, n_ev), rng.random(n_ev) < 0.5, np.full(n_ev, 0.05)),
        building=BuildingInputs(model.a, model.b, drive, np.array([[24.0, 24.0], [20.0, 21.0]]),
                                cop, eer, np.full((t_len, 2), 20.0), np.full((t_len, 2), 25.0),
                                np.array([30.0, 8.0])),
        runs=RunInputs(rng.random((2, t_len)) < 0.7, np.array([True, False]), np.array([2, 3]),
                       np.array([6.0, 2.0])),
    )


@pytest.mark.parametrize(("t_len", "n_ev", "seed"), [(12, 2, 0), (24, 7, 1), (24, 0, 2), (6, 3, 3)])
def test_sparse_terms_make_the_validated_problem(monkeypatch: pytest.MonkeyPatch, t_len: int,
                                                 n_ev: int, seed: int) -> None:
    """The dispatch problem built by ``solvers.ProblemBuilder`` from ``SparseTerm``
    triplets (the fast path: no scipy object per term, Problem.from_trusted) is, field by
    field and bit for bit, the problem the same calls with every term as a scipy matrix
    make through the validating ``Problem(...)`` constructor."""
    from solvers import Problem, ProblemBuilder
    from solvers.builder import SparseTerm
    from twin.control import problems

    calls: list[tuple[str, tuple, dict]] = []
    original_vars, original_rows = ProblemBuilder.add_variables, ProblemBuilder.add_constraints

    def add_variables(self, *args, **kwargs):
        calls.append(("add_variables", args, kwargs))
        return original_vars(self, *args, **kwargs)

    def add_constraints(self, terms, **kwargs):
        terms = list(terms)
        calls.append(("add_constraints", (terms,), kwargs))
        return original_rows(self, terms, **kwargs)

    monkeypatch.setattr(ProblemBuilder, "add_variables", add_variables)
    monkeypatch.setattr(ProblemBuilder, "add_constraints", add_constraints)
    for _ in range(2):  # second time through the name caches
        calls.clear()
        fast, _layout = problems.build_dispatch(_inputs(t_len, n_ev, seed))
        monkeypatch.undo()
        replay = ProblemBuilder("dispatch")
        sparse_terms = 0
        for method, args, kwargs in calls:
            if method == "add_variables":
                replay.add_variables(*args, **kwargs)
                continue
            terms = []
            for block, mat in args[0]:
                sparse_terms += isinstance(mat, SparseTerm)
                terms.append((block, mat.to_scipy() if isinstance(mat, SparseTerm) else mat))
            replay.add_constraints(terms, **kwargs)
        assert sparse_terms > 10
        built = replay.build()
        slow = Problem(
            objective=built.objective, lower=built.lower, upper=built.upper,
            kinds=built.kinds, names=list(built.names), constraints=built.constraints.copy(),
            row_lower=built.row_lower, row_upper=built.row_upper,
            row_names=list(built.row_names), name=built.name,
        )
        for other in (built, slow):
            assert fast.names == other.names
            assert fast.row_names == other.row_names
            for name in ("objective", "lower", "upper", "kinds", "row_lower", "row_upper"):
                assert np.array_equal(getattr(fast, name), getattr(other, name)), name
            a, b = fast.constraints, other.constraints
            assert np.array_equal(a.indptr, b.indptr)
            assert np.array_equal(a.indices, b.indices)
            assert np.array_equal(a.data, b.data)
        monkeypatch.setattr(ProblemBuilder, "add_variables", add_variables)
        monkeypatch.setattr(ProblemBuilder, "add_constraints", add_constraints)


def test_run_power_rows_match_the_window_loop() -> None:
    """The balance rows' deferrable-run terms (built vectorised): -P_r in slot t for
    every start tau with tau <= t < tau + D_r, as the per-start loop writes them."""
    from twin.control import problems

    inp = _inputs(12, 2, 0)
    problem, layout = problems.build_dispatch(inp)
    runs = inp.runs
    t_len, nr = 12, runs.p_kw.size
    expected = np.zeros((t_len, nr * t_len))
    for r in range(nr):
        for tau in range(t_len):
            expected[tau : min(t_len, tau + int(runs.duration_slots[r])), r * t_len + tau] = -runs.p_kw[r]
    rows = [i for i, name in enumerate(problem.row_names) if name.startswith("balance[")]
    y = layout.blocks["run_start"]
    got = problem.constraints.toarray()[rows][:, y.start : y.start + y.size]
    assert np.array_equal(got, expected)
