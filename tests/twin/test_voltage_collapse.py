"""Past voltage collapse a step is not converged, with either backend: Newton-Raphson
solutions on the lower branch of the PV curve (pandapower's warm start found 1e-5 pu)
are not operating points and must not be recorded as results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin import engine
from twin.grid import MIN_PLAUSIBLE_VM_PU
from twin.scenario import apply_overrides, load_scenario

TINY = Path(__file__).resolve().parent / "data" / "tiny_base.yaml"


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["lightsim2grid", "pandapower"])
def test_overloaded_feeder_records_collapse_as_not_converged(backend):
    """The tiny LV feeder with 40x its load on a winter day: the evening peak is past
    the nose of the PV curve. Every step recorded as converged is a plausible operating
    point; the others are NaN and each is a ``powerflow_not_converged`` event."""
    scenario = apply_overrides(load_scenario(TINY), {
        "grid.backend": backend, "profiles.load_scale": 40.0, "time.duration": "1d",
        "time.start": "2016-01-15T00:00:00"})
    out = engine.simulate(engine.build(scenario))
    converged = out.recording.converged
    vm = out.derived.vm_pu
    assert 0 < converged.sum() < converged.size  # the night converges, the peak does not
    assert np.nanmin(vm[converged]) >= MIN_PLAUSIBLE_VM_PU
    assert np.isnan(vm[~converged]).all()
    events = [e for e in out.recording.events if e["kind"] == "powerflow_not_converged"]
    assert len(events) == int((~converged).sum())
