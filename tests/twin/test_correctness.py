"""The twin's power flow equals pandapower's own ``run_timeseries``.

With control off and no scenario assets, one SimBench week (672 quarter hours of
1-LV-rural1--0-sw, the network's own loads and PV following SimBench's profiles) gives
the same bus voltages and line loadings as pandapower's ``run_timeseries`` fed with the
same absolute profiles through ``simbench.apply_const_controllers``: within 1e-6 pu and
1e-4 percentage points, for both power-flow backends.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

CODE = "1-LV-rural1--0-sw"
N_STEPS = 7 * 96


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """pandapower's run_timeseries over the first week of 2016 (its defaults)."""
    import simbench
    from pandapower.timeseries import OutputWriter, run_timeseries

    from twin.grid import build_network
    from twin.scenario import SimbenchGridSpec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the same SimBench net as simbench.get_simbench_net(CODE), from the twin's cache
        net = build_network(SimbenchGridSpec(code=CODE))
        values = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        # the week only: the same values, and pandas looks them up faster in a short frame
        values = {key: frame.iloc[:N_STEPS] for key, frame in values.items()}
        simbench.apply_const_controllers(net, values)
        writer = OutputWriter(net, range(N_STEPS), output_path=None)
        writer.log_variable("res_bus", "vm_pu")
        writer.log_variable("res_line", "loading_percent")
        writer.log_variable("res_trafo", "loading_percent")
        run_timeseries(net, time_steps=range(N_STEPS), verbose=False)
    out = writer.output
    return {
        "bus": net.bus.index.to_numpy(),
        "vm_pu": out["res_bus.vm_pu"].to_numpy(),
        "line_loading_percent": out["res_line.loading_percent"].to_numpy(),
        "trafo_loading_percent": out["res_trafo.loading_percent"].to_numpy(),
    }


@pytest.mark.parametrize("backend", ["lightsim2grid", "pandapower"])
def test_week_matches_pandapower_run_timeseries(
    backend: str, reference: dict[str, np.ndarray]
) -> None:
    from twin.engine import build, simulate
    from twin.scenario import scenario_from_dict

    scenario = scenario_from_dict(
        {
            "name": "week",
            "time": {"start": "2016-01-01T00:00:00", "duration": "7d", "step": "15min"},
            "grid": {"source": "simbench", "code": CODE, "backend": backend},
            "control": {"mode": "off"},
        }
    )
    sim = build(scenario)
    out = simulate(sim)
    derived = out.derived
    assert out.recording.converged.all()
    np.testing.assert_array_equal(sim.model.bus_index, reference["bus"])
    assert derived.vm_pu.shape == reference["vm_pu"].shape == (N_STEPS, len(reference["bus"]))
    assert np.max(np.abs(derived.vm_pu - reference["vm_pu"])) <= 1e-6
    assert (
        np.max(np.abs(derived.line_loading_percent - reference["line_loading_percent"])) <= 1e-4
    )
    assert (
        np.max(np.abs(derived.trafo_loading_percent - reference["trafo_loading_percent"]))
        <= 1e-4
    )
    # the profiles really vary over the week: the comparison is not of one repeated state
    assert np.ptp(reference["vm_pu"], axis=0).max() > 1e-3
