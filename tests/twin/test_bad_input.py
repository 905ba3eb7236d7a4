"""Bad scenario files: exit code 2, one line per problem naming file, field path and what
is expected; never a traceback. Driven through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

GOOD = """\
name: ok
time: {duration: 1d, step: 15min}
grid: {source: simbench, code: 1-LV-rural1--0-sw}
assets:
  - {kind: battery, name: bat, bus: 3, capacity_kwh: 10, power_kw: 5}
"""

CASES = {
    # case: (file text, [(field path, words the message must contain), ...])
    "unknown_key": (GOOD + "colour: blue\n", [("colour", "unknown key")]),
    "unknown_nested_key": (
        GOOD.replace("power_kw: 5", "power_kw: 5, capacity_kw: 3"),
        [("assets.0.capacity_kw", "unknown key")],
    ),
    "wrong_type": (GOOD.replace("power_kw: 5", "power_kw: lots"), [("assets.0.power_kw", "number")]),
    "negative_capacity": (
        GOOD.replace("capacity_kwh: 10", "capacity_kwh: -10"),
        [("assets.0.capacity_kwh", "greater than 0")],
    ),
    "bus_not_in_network": (GOOD.replace("bus: 3", "bus: 999"), [("assets.0.bus", "not in the network")]),
    "unknown_simbench_code": (
        GOOD.replace("1-LV-rural1--0-sw", "1-LV-nowhere--0-sw"),
        [("grid.code", "unknown SimBench code")],
    ),
    "step_not_dividing": (GOOD.replace("step: 15min", "step: 7min"), [("time.step", "does not divide")]),
    "absurd_power": (GOOD.replace("power_kw: 5", "power_kw: 5e12"), [("assets.0.power_kw", "less than")]),
    "absurd_duration": (GOOD.replace("duration: 1d", "duration: 500y"), [("time.duration", "absurd")]),
    "two_problems": (
        GOOD.replace("capacity_kwh: 10", "capacity_kwh: -1") + "colour: blue\n",
        [("assets.0.capacity_kwh", "greater than 0"), ("colour", "unknown key")],
    ),
    "deadline_zero": (
        GOOD + "comms: {enabled: true, deadline_s: 0}\n",
        [("comms.deadline_s", "greater than 0")],
    ),
    "deadline_past_the_horizon": (
        GOOD.replace("duration: 1d", "duration: 1h") + "comms: {enabled: true, deadline_s: 7200}\n",
        [("comms.deadline_s", "longer than the run")],
    ),
    "link_latency_past_the_horizon": (
        GOOD.replace("duration: 1d", "duration: 1h") + "comms:\n  enabled: true\n  links:\n"
        "    - {name: slow, a: gateway, b: isp, latency: {kind: lognormal, median_ms: 60000, "
        "p99_ms: 7200000}}\n",
        [("comms.links.0.latency", "longer than the run")],
    ),
    "constant_link_latency_past_the_horizon": (
        GOOD.replace("duration: 1d", "duration: 30min") + "comms:\n  enabled: true\n  links:\n"
        "    - {name: slow, a: gateway, b: isp, latency: {kind: constant, value_ms: 2000000}}\n",
        [("comms.links.0.latency", "longer than the run")],
    ),
    "service_queue_past_the_horizon": (
        GOOD.replace("duration: 1d", "duration: 1h") + "comms:\n  enabled: true\n  services:\n"
        "    - {name: q, preset: cloud_quantum, node: qpu_cloud, queue: {kind: normal, mean_ms: "
        "3000000, std_ms: 500000}}\n",
        [("comms.services.0.queue", "longer than the run")],
    ),
    "chain_leaving_no_schedule": (
        GOOD + "control: {mode: ems}\ncomms:\n  enabled: true\n  tasks:\n    dispatch:\n"
        "      chain: [{solver: milp, route: local}, {fallback: last_good_schedule}]\n",
        [("comms.tasks.dispatch.chain", "can leave no schedule")],
    ),
    "empty_file": ("", [("", "empty")]),
    "not_yaml": ("name: [unclosed\n  grid: {{{\n", [("", "not valid YAML")]),
    "yaml_not_mapping": ("- just\n- a list\n", [("", "expected a YAML mapping")]),
}


def _check_lines(stderr: str, file: Path, expected: list[tuple[str, str]]) -> None:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == len(expected), stderr
    for (path, words), line in zip(sorted(expected), sorted(lines), strict=True):
        assert line.startswith(f"{file}: "), line
        if path:
            assert f": {path}: " in line, line
        assert words.lower() in line.lower(), line


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_exits_2_with_one_line_per_problem(
    case: str, command: str, tmp_path: Path
) -> None:
    from twin.cli import app

    text, expected = CASES[case]
    file = tmp_path / f"{case}.yaml"
    file.write_text(text)
    args = [command, str(file)] + (["--out", str(tmp_path / "runs")] if command == "run" else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    _check_lines(result.stderr, file, expected)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_file(tmp_path: Path) -> None:
    from twin.cli import app

    file = tmp_path / "nope.yaml"
    result = CliRunner().invoke(app, ["run", str(file)])
    assert result.exit_code == 2
    _check_lines(result.stderr, file, [("", "file not found")])


def test_binary_file(tmp_path: Path) -> None:
    from twin.cli import app

    file = tmp_path / "grid.yaml"
    file.write_bytes(bytes(range(256)) * 4)
    result = CliRunner().invoke(app, ["validate", str(file)])
    assert result.exit_code == 2
    _check_lines(result.stderr, file, [("", "")])


def test_validate_reports_every_file(tmp_path: Path) -> None:
    """Good files print 'ok', each bad file its own lines, exit 2 overall."""
    from twin.cli import app

    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASES["negative_capacity"][0])
    result = CliRunner().invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    _check_lines(result.stderr, bad, CASES["negative_capacity"][1])


def test_console_script_bad_input_without_traceback(tmp_path: Path) -> None:
    """The installed entry point (a real process) behaves the same."""
    file = tmp_path / "bad.yaml"
    file.write_text(CASES["two_problems"][0])
    proc = subprocess.run(
        [sys.executable, "-c", "from twin.cli import main; main()", "run", str(file)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 2
    _check_lines(proc.stderr, file, CASES["two_problems"][1])
    assert proc.stdout == ""


def test_a_latency_trace_with_a_sample_past_the_horizon_exits_2(tmp_path: Path) -> None:
    """A link replaying a trace whose longest delay (2 h) exceeds the 1 h run: exit 2
    naming the link's latency field; in a 1-day run the trace is not refused."""
    from twin.cli import app

    (tmp_path / "trace.csv").write_text("latency_ms\n12\n30\n7200000\n")
    text = GOOD.replace("duration: 1d", "duration: 1h") + (
        "comms:\n  enabled: true\n  links:\n    - {name: slow, a: gateway, b: isp, "
        "latency: {kind: trace, path: trace.csv}}\n")
    file = tmp_path / "trace_past_horizon.yaml"
    file.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(file)])
    assert result.exit_code == 2, result.output
    _check_lines(result.stderr, file, [("comms.links.0.latency", "longest sample")])
    file.write_text(text.replace("duration: 1h", "duration: 1d"))
    assert "comms.links.0.latency" not in CliRunner().invoke(app, ["validate", str(file)]).stderr
