"""A power flow that does not converge is an event, never a crash; the scenario says
whether the run goes on or stops.

The three-bus grid gets a 2 MW household-profile load at its end: around the day's peaks
the feeder is past its voltage-collapse point and Newton-Raphson cannot converge; at
night it converges again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _scenario(grid: Path, mode: str):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict(
        {
            "name": f"collapse-{mode}",
            "time": {"start": "2016-06-01T00:00:00", "duration": "1d", "step": "15min"},
            "grid": {"source": "file", "path": str(grid), "on_nonconvergence": mode},
            "profiles": {"source": "constant", "library": "1-LV-rural1--0-sw"},
            "assets": [{"kind": "load", "name": "huge", "bus": 2, "peak_kw": 2000,
                        "profile": "H0-A"}],
        }
    )


def test_continue_records_each_failed_step_and_goes_on(tiny_grid: Path, tmp_path: Path) -> None:
    import twin

    result = twin.run(_scenario(tiny_grid, "continue"), store=tmp_path)
    data = twin.open_run(result.path)
    events = data.events
    failed = events[events.kind == "powerflow_not_converged"]
    n_failed = result.kpis["nonconverged_steps"]
    assert 0 < n_failed < 96
    assert len(failed) == n_failed
    assert (failed.category == "grid").all()
    assert result.kpis["n_steps"] == 96
    assert result.stop_reason is None
    steps = [json.loads(d)["step"] for d in failed.data]
    np.testing.assert_array_equal(failed.time_s.to_numpy(), np.array(steps) * 900.0)
    # failed steps have no voltages; the others do, including steps after a failure
    ts = data.timeseries
    vm = ts[(ts.entity == "bus/2") & (ts.quantity == "vm_pu")].set_index("time_s")["value"]
    failed_times = set(failed.time_s.astype(int))
    assert vm[list(failed_times)].isna().all()
    ok = vm.drop(index=list(failed_times))
    assert ok.notna().all()
    assert len(ok) == 96 - n_failed
    assert (ok.index > min(failed_times)).any()  # converged again after a failure
    assert data.manifest["stop_reason"] is None


def test_stop_ends_the_run_at_the_first_failure(tiny_grid: Path, tmp_path: Path) -> None:
    import twin

    cont = twin.run(_scenario(tiny_grid, "continue"), store=tmp_path / "a")
    first = int(
        twin.open_run(cont.path).events.query("kind == 'powerflow_not_converged'").time_s.min()
    )
    result = twin.run(_scenario(tiny_grid, "stop"), store=tmp_path / "b")
    assert result.stop_reason is not None
    assert "did not converge" in result.stop_reason
    data = twin.open_run(result.path)
    assert data.manifest["n_steps"] == first // 900 + 1 < data.manifest["n_steps_planned"]
    assert result.kpis["nonconverged_steps"] == 1
    assert len(data.events) == 1
    assert data.events.time_s[0] == first


@pytest.mark.parametrize("backend", ["lightsim2grid", "pandapower"])
def test_setup_survives_assets_that_do_not_converge_at_peak(tiny_grid: Path, backend: str) -> None:
    """The model is built even when the stored (peak) values would not converge."""
    from twin.engine import build
    from twin.scenario import apply_overrides

    scenario = apply_overrides(_scenario(tiny_grid, "continue"), {"grid.backend": backend})
    sim = build(scenario)
    assert sim.model.backend == backend
    # the net keeps the asset's stored value (not the zeros used during set-up)
    assert sim.net.load.p_mw.iloc[-1] == pytest.approx(2.0)
