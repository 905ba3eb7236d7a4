"""Bad comms and fault input: `twin validate` / `twin run` exit 2 naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import app

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"

CASES = {
    "p99_below_median": ("""
comms:
  enabled: true
  links:
    - {name: fibre, a: gateway, b: isp, latency: {kind: lognormal, median_ms: 20, p99_ms: 5}}
""", "comms.links.0.latency: p99_ms (5) is below median_ms (20)"),
    "negative_mtbf": ("""
faults:
  - {kind: pv_trip, asset: pv_farm, mtbf_h: -3, mttr_h: 1}
""", "faults.0.mtbf_h: Input should be greater than 0"),
    "negative_link_mtbf": ("""
comms:
  enabled: true
  links:
    - {name: fibre, a: gateway, b: isp, latency: {kind: constant, value_ms: 3},
       mtbf_h: -1, mttr_h: 1}
""", "comms.links.0.mtbf_h: Input should be greater than 0"),
    "unknown_solver": ("""
comms:
  enabled: true
  tasks:
    dispatch:
      chain: [{solver: grover, route: to_qpu}]
""", "comms.tasks.dispatch.chain.0.solver: unknown solver 'grover'"),
    "unknown_route": ("""
comms:
  enabled: true
  tasks:
    dispatch:
      chain: [{hedge: [{solver: milp, route: local}, {solver: qaoa, route: to_mars}]}]
""", "comms.tasks.dispatch.chain.0.hedge.1.route: unknown route 'to_mars'"),
    "unknown_link": ("""
comms: {enabled: true}
faults:
  - {kind: link_down, link: carrier_pigeon, start: 1h, duration: 1h}
""", "faults.0.link: unknown link 'carrier_pigeon'"),
    "unknown_service": ("""
comms: {enabled: true}
faults:
  - {kind: service_outage, service: dwave_leap, start: 1h, duration: 1h}
""", "faults.0.service: unknown service 'dwave_leap'"),
    "unknown_asset": ("""
faults:
  - {kind: battery_trip, asset: flux_capacitor, start: 1h, duration: 1h}
""", "faults.0.asset: unknown asset 'flux_capacitor'"),
    "comms_fault_without_comms": ("""
faults:
  - {kind: queue_surge, service: cloud_qpu, extra_wait_s: 60, start: 1h, duration: 1h}
""", "faults.0.kind: a queue_surge fault needs the communication model"),
    "branch_outage_on_pandapower_backend": ("""
grid: {source: simbench, code: 1-LV-rural1--0-sw, backend: pandapower}
faults:
  - {kind: trafo_outage, element: 0, start: 1h, duration: 1h}
""", "faults.0.kind: a trafo_outage needs grid.backend 'lightsim2grid'"),
    "unknown_line": ("""
faults:
  - {kind: line_outage, element: 999, start: 1h, duration: 1h}
""", "faults.0.element: no line 999 in the network"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_naming_the_field(tmp_path, case):
    body, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(f"base: {SCENARIOS / 'default.yaml'}\nname: {case}\n{body}")
    args = ["validate", str(path)] + ([] if case == "unknown_line" else ["--quick"])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{path}: {expected}" in result.output
    assert "Traceback" not in result.output


def test_run_refuses_a_fault_on_a_missing_line(tmp_path):
    """`twin run` refuses the same input before simulating (exit 2, nothing written)."""
    body, expected = CASES["unknown_line"]
    path = tmp_path / "bad.yaml"
    path.write_text(f"base: {SCENARIOS / 'default.yaml'}\nname: bad\n{body}")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
