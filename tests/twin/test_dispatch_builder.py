"""The dispatch problem's term builder (triplets, names built once) makes exactly the
problem :class:`solvers.ProblemBuilder` makes from the same terms: same names, bounds,
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
def test_term_builder_matches_problem_builder(monkeypatch: pytest.MonkeyPatch, t_len: int,
                                              n_ev: int, seed: int) -> None:
    from twin.control import problems

    built = []
    original = problems._TermBuilder.build

    def build_both(self: problems._TermBuilder):
        fast = original(self)
        built.append((fast, self.via_problem_builder()))
        return fast

    monkeypatch.setattr(problems._TermBuilder, "build", build_both)
    for _ in range(2):  # second time through the name caches
        problems.build_dispatch(_inputs(t_len, n_ev, seed))
    for fast, slow in built:
        assert fast.names == slow.names
        assert fast.row_names == slow.row_names
        for name in ("objective", "lower", "upper", "kinds", "row_lower", "row_upper"):
            assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
        a, b = fast.constraints, slow.constraints
        assert np.array_equal(a.indptr, b.indptr)
        assert np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)


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
