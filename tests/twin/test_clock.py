"""The step clock runs the phases of every step in order, stops and cancels cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import simpy

from twin.clock import Phase, StepClock


def test_phases_run_in_order_each_step() -> None:
    env = simpy.Environment()
    clock = StepClock(env, n_steps=3, step_s=60)
    log: list[tuple[int, int, str]] = []

    def waiter(name: str, phases: list[Phase]):
        while True:
            for phase in phases:
                k = yield clock.wait(phase)
                log.append((k, env.now, f"{name}:{phase.name}"))

    # registered in an order unlike the phase order
    env.process(waiter("grid", [Phase.SOLVE]))
    env.process(waiter("ctrl", [Phase.CONTROL]))
    env.process(waiter("pv", [Phase.SENSE, Phase.ACT]))
    assert clock.run() == 3
    expected = []
    for k in range(3):
        expected += [(k, 60 * k, "pv:SENSE"), (k, 60 * k, "ctrl:CONTROL"), (k, 60 * k, "pv:ACT"),
                     (k, 60 * k, "grid:SOLVE")]
    assert log == expected


def test_stop_ends_after_the_current_step() -> None:
    env = simpy.Environment()
    clock = StepClock(env, n_steps=10, step_s=1)

    def stopper():
        while True:
            k = yield clock.wait(Phase.SOLVE)
            if k == 4:
                clock.stop("enough")

    env.process(stopper())
    assert clock.run() == 5
    assert clock.stop_reason == "enough"


def test_progress_and_cancel() -> None:
    env = simpy.Environment()
    seen: list[tuple[int, int]] = []
    clock = StepClock(env, n_steps=1000, step_s=1, progress=lambda d, t: seen.append((d, t)),
                      cancel=lambda: len(seen) >= 3)
    done = clock.run()
    assert clock.cancelled
    assert done == 15
    assert seen == [(5, 1000), (10, 1000), (15, 1000)]


def test_cancelled_run_writes_nothing(tiny_grid: Path, tmp_path: Path) -> None:
    import twin
    from twin.errors import RunCancelledError
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict({
        "name": "cancel", "time": {"duration": "7d"},
        "grid": {"source": "file", "path": str(tiny_grid)}, "profiles": {"source": "constant"},
    })
    calls = []
    with pytest.raises(RunCancelledError):
        twin.run(scenario, store=tmp_path / "store", cancel=lambda: calls.append(1) or len(calls) > 2)
    assert not (tmp_path / "store").exists() or twin.list_runs(tmp_path / "store") == []
    progress: list[int] = []
    result = twin.run(scenario, store=tmp_path / "store", progress=lambda d, t: progress.append(d))
    assert progress[-1] == 672
    assert progress == sorted(progress)
    assert result.kpis["n_steps"] == 672
