"""Setting up the power-flow model: the start point every step begins from is an
operating point, even when the network as loaded (a large asset at its peak) does not
converge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twin
from twin.grid import MIN_PLAUSIBLE_VM_PU
from twin.scenario import apply_overrides

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.integration
def test_start_point_is_an_operating_point_when_the_stored_values_do_not_converge() -> None:
    """The default LV feeder with a 1 MW load asset (stored at its 1 MW peak, which does
    not converge; its profile asks 140-510 kW over the first six hours, which the feeder
    carries: 600 kW converge). The set-up falls back to the driven elements at zero and
    must not keep pandapower's degenerate flat-start answer (V = 0 at every PQ bus,
    min |V| 5e-11 pu, a solution of the zero-load equations): from that start point every
    step failed, even at 140 kW. Now every step converges."""
    from twin.engine import build, simulate

    scenario = apply_overrides(twin.load_scenario(SCENARIOS / "default.yaml"), {
        "time.duration": "6h",
        "assets": [{"kind": "load", "name": "big", "bus": 13, "peak_kw": 1000,
                    "profile": "L2-A"}],
    })
    sim = build(scenario)
    assert float(np.abs(sim.model.v_start).min()) >= MIN_PLAUSIBLE_VM_PU
    out = simulate(sim)
    asked_kw = sim.families["load"].forecast_p_mw(np.arange(out.recording.n_steps)) * 1000.0
    assert asked_kw.min() > 100.0
    assert out.recording.converged.all()
    # the stored 1 MW peak stays in the net (the set-up zeroed it only for its run)
    assert float(sim.net.load.p_mw.iloc[-1]) == pytest.approx(1.0)
