"""Zero latency is the fixed-step loop (issue 12): every shipped comms scenario, run with
every modelled time of its communication model set to zero and without comms outages,
gives the results of the same scenario with direct solver calls (comms disabled), bit
for bit.

What "every time set to zero" covers: each link's latency (constant 0), jitter, loss and
stochastic failures; the request and response sizes (no serialisation time); each
service's connection and authentication, queue wait and execution time (the presets'
execution models become a zero fixed time). The comms outages and degradations of the
scenario (``link_down``, ``latency_spike``, ``loss_burst``, ``service_outage``,
``queue_surge``, ``solver_error``, ``solver_timeout``) are removed; its grid,
asset and sensor faults stay in both runs.

Compared: every KPI both runs have, the power flows of every interval (start times,
injections, voltages, convergence), every family channel and every event outside the
comms model's own categories. What differs, by construction: the comms run has the
``comms.*`` KPIs (calls, latency percentiles, cost and energy per query, ...) and the
``call``/``attempt``/``route``/``link``/``service`` events of its calls; the direct run
has none of these. A scenario left with no fault at all also has, in the comms run only,
``faults_started`` and the ``reliability_*`` indices (the fault model exists with comms;
without comms and faults it is not built): no interruption, and the energy not supplied
is the direct run's unserved energy (island shedding), the one unserved figure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMS_FAULTS = frozenset({"link_down", "latency_spike", "loss_burst", "service_outage",
                          "queue_surge", "solver_error", "solver_timeout"})
COMMS_EVENT_CATEGORIES = frozenset({"call", "route", "link", "service"})


def _comms_scenarios() -> list[str]:
    from twin import load_scenario

    out = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        if scenario.comms is not None and scenario.comms.enabled:
            out.append(path.stem)
    return out


def _zero_times(sim) -> None:
    """Set every modelled time of the run's communication model to zero."""
    from twin.comms.execution import FixedExecution
    from twin.comms.latency import ConstantLatency

    comms = sim.extras.comms
    for entry in comms.network._links.values():
        entry.params = dataclasses.replace(
            entry.params, latency=ConstantLatency(0.0), jitter_ms=0.0, loss_prob=0.0,
            mtbf_s=None, mttr_s=None)
    for service in comms.services.values():
        service.params = dataclasses.replace(
            service.params, connect_ms=0.0, auth_ms=0.0, queue_wait=None,
            execution=FixedExecution(0.0), execution_by_solver={}, request_overhead_bytes=0)
    task = comms.task
    comms.task = lambda name, solver: dataclasses.replace(
        task(name, solver), request_bytes=0, response_bytes=0)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@pytest.mark.integration
@pytest.mark.parametrize("case", _comms_scenarios())
def test_zero_latency_comms_run_equals_the_direct_run(case: str) -> None:
    from twin import load_scenario
    from twin.engine import build, simulate

    scenario = load_scenario(ROOT / "scenarios" / f"{case}.yaml")
    faults = tuple(f for f in scenario.faults if f.kind not in COMMS_FAULTS)
    zero = scenario.model_copy(update={"faults": faults})
    direct = zero.model_copy(
        update={"comms": zero.comms.model_copy(update={"enabled": False})})
    sim = build(zero)
    _zero_times(sim)
    out = simulate(sim)
    ref = simulate(build(direct))

    calls = [e for e in out.recording.events if e["kind"] == "call"]
    assert calls, "the comms run made its calls through the comms model"
    assert all(e["data"]["latency_s"] == 0.0 for e in calls)

    k, r = out.kpis, ref.kpis
    assert set(r) <= set(k)
    extra = {name for name in set(k) - set(r) if not name.startswith("comms.")}
    if extra:  # no fault at all: the direct run has no fault model, hence no indices
        assert not faults
        assert extra <= {"faults_started"} | {n for n in k if n.startswith("reliability_")}
        ens = "reliability_energy_not_supplied_mwh"
        assert k[ens] * 1000.0 == pytest.approx(r["unserved_energy_kwh"], abs=1e-12)
        assert all(k[name] in (0.0, None) for name in extra - {ens}), {n: k[n] for n in extra}
    moved = {name: (k[name], r[name]) for name in r if k[name] != r[name]
             and not (k[name] != k[name] and r[name] != r[name])}  # NaN == NaN here
    assert not moved, f"{case}: KPIs differ (zero-latency comms, direct): {moved}"

    a, b = out.recording.intervals, ref.recording.intervals
    for name in ("start_s", "duration_s", "p_mw", "q_mvar", "v", "converged", "unserved_mw",
                 "pcc_open", "island_p_mw"):
        assert _same(getattr(a, name), getattr(b, name)), f"{case}: intervals.{name}"
    assert len(out.recording.channels) == len(ref.recording.channels)
    for s, t in zip(out.recording.channels, ref.recording.channels, strict=True):
        assert (s.entities, s.quantity) == (t.entities, t.quantity)
        assert _same(s.values, t.values), f"{case}: channel {s.quantity} {s.entities}"

    def grid_events(o):
        return [(e["time_s"], e["category"], e["kind"], e["entity"], e["message"])
                for e in o.recording.events if e["category"] not in COMMS_EVENT_CATEGORIES]

    assert grid_events(out) == grid_events(ref)
