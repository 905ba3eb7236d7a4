"""`twin audit RUN`: decisions of a written run with their provenance, filtered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin import engine
from twin.cli import app
from twin.scenario import apply_overrides, load_scenario

pytestmark = pytest.mark.integration

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    scenario = apply_overrides(
        load_scenario(SCENARIOS / "patterns_qpu_outage_evening_peak.yaml"),
        {"time.start": "2016-06-15T16:00:00", "time.duration": "4h",
         "control.ems.horizon": "4h", "pcc.outages": [],
         "faults": [{"kind": "service_outage", "service": "cloud_qpu", "start": "30min",
                     "duration": "2h"}]})
    result = engine.run(scenario, store=tmp_path_factory.mktemp("runs"))
    return result.path


def test_audit_lists_calls_with_provenance_and_filters(run_dir):
    out = CliRunner().invoke(app, ["audit", str(run_dir), "--json"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    calls = [r for r in rows if r["kind"] == "solver_call"]
    assert calls
    assert all(r["run_id"] == run_dir.name for r in rows)
    assert {r["task"] for r in calls} == {"dispatch", "ev_assignment"}
    assert all(r["call_id"] and r["solver"] and r["route"] for r in calls)
    fell = CliRunner().invoke(app, ["audit", str(run_dir), "--json", "--fell-back",
                                    "--task", "ev_assignment"])
    fell_rows = [json.loads(line) for line in fell.output.splitlines()]
    assert fell_rows
    assert all("service_outage" in r["detail"] for r in fell_rows)
    assert all(r["solver"] == "milp" and r["route"] == "local" for r in fell_rows)
    by_route = CliRunner().invoke(app, ["audit", str(run_dir), "--json", "--route", "to_qpu"])
    assert all(json.loads(line)["route"] == "to_qpu" for line in by_route.output.splitlines())
    text = CliRunner().invoke(app, ["audit", str(run_dir)])
    assert text.output.startswith(f"run {run_dir.name}:")


def test_audit_of_a_missing_run_exits_2(tmp_path):
    out = CliRunner().invoke(app, ["audit", str(tmp_path / "nope")])
    assert out.exit_code == 2
    assert "no such run folder" in out.output


def test_quality_command_against_the_fault_free_run(run_dir, tmp_path):
    """`twin quality RUN --baseline BASE`: calls matched by task and step; a run compared
    with itself lost nothing."""
    out = CliRunner().invoke(app, ["quality", str(run_dir), "--baseline", str(run_dir)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1].split()[:2] == ["task", "calls"]  # a header row
    first = lines[2].split()
    assert first[:2] == ["all", "tasks"]
    assert first[3] == "0"  # loss total
    assert first[4] == "0.000"  # mean loss [% of the baseline]
    assert "warning" not in out.output
    bad = CliRunner().invoke(app, ["quality", str(run_dir), "--baseline", str(tmp_path / "x")])
    assert bad.exit_code == 2
