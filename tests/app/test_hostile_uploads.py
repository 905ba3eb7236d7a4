"""Crafted uploads of the hostile audit (#16): every one is "Upload refused: <reason>"
naming the field, in bounded time, nothing loaded into the editor; files a scenario
names must lie in the project's data folders (the app runs on a server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
name: up
time: {duration: 1d, step: 15min}
grid: {source: simbench, code: 1-LV-rural1--0-sw}
assets:
  - {kind: battery, name: bat, bus: 3, capacity_kwh: 10, power_kw: 5}
"""
EMS = GOOD + "control: {mode: ems}\n"
ALIAS_BOMB = "name: bomb\ngrid: {source: simbench, code: 1-LV-rural1--0-sw}\n" + "\n".join(
    ["description_a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"d{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
       for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"
TRACE_SCENARIO = (ROOT / "scenarios" / "patterns_latency_study_base.yaml").read_text()
SERVER_FILE = "/etc/hostname" if Path("/etc/hostname").is_file() else "/etc/passwd"

UPLOADS = {
    # case: (file text, field the refusal names)
    "deep_nesting": (GOOD + "description: " + "[" * 5000 + "]" * 5000 + "\n", "description"),
    "int_5000_digits": (GOOD + "seed: " + "7" * 5000 + "\n", "seed"),
    "duration_overflow": (GOOD.replace("duration: 1d", "duration: " + "9" * 400 + "d"),
                          "time.duration"),
    "plan_step_zero": (EMS.replace("{mode: ems}", "{mode: ems, ems: {plan_step: 0s}}"),
                       "control.ems"),
    "alias_bomb": (ALIAS_BOMB, "description_a"),
    "capacity_true": (GOOD.replace("capacity_kwh: 10", "capacity_kwh: true"),
                      "assets.0.capacity_kwh"),
    "trace_dev_zero": (TRACE_SCENARIO.replace("../data/latency/wan_rtt_half_ms.csv",
                                              "/dev/zero"), "comms.links.3.latency.path"),
    "trace_server_file": (TRACE_SCENARIO.replace("../data/latency/wan_rtt_half_ms.csv",
                                                 SERVER_FILE), "comms.links.3.latency.path"),
    "grid_path_server_file": (GOOD.replace("{source: simbench, code: 1-LV-rural1--0-sw}",
                                           f"{{source: file, path: {SERVER_FILE}}}")
                              .replace("assets:\n  - {kind: battery, name: bat, bus: 3, "
                                       "capacity_kwh: 10, power_kw: 5}\n", "")
                              + "profiles: {source: constant}\n", "grid.path"),
    "weather_server_file": (GOOD.replace("assets:\n", f"weather: {{file: {SERVER_FILE}}}\n"
                                         "assets:\n  - {kind: building, name: b, bus: 4}\n"),
                            "weather.file"),
    "sessions_server_file": (GOOD.replace(
        "assets:\n", f"assets:\n  - {{kind: ev_fleet, name: ev, bus: 4, sessions_file: "
        f"{SERVER_FILE}}}\n"), "assets.0.sessions_file"),
}


def _scenario_page(app: AppTest) -> AppTest:
    app.run()
    app.switch_page("gui/pages/scenario.py").run()
    return app


@pytest.mark.parametrize("case", sorted(UPLOADS))
def test_crafted_upload_is_refused_in_bounded_time(app, app_env, case):
    text, field = UPLOADS[case]
    _scenario_page(app)
    editor_before = app.text_area(key="scenario_yaml").value
    started = time.monotonic()
    app.file_uploader(key="scenario_upload").set_value(
        (f"{case}.yaml", text.encode(), "text/yaml")).run(timeout=30)
    elapsed = time.monotonic() - started
    assert not app.exception, app.exception
    errors = [e.value for e in app.error]
    refused = [e for e in errors if e.startswith("Upload refused")]
    assert refused, errors
    assert f"- {field}" in refused[0], refused[0]
    assert app.text_area(key="scenario_yaml").value == editor_before
    assert elapsed < 30


def test_editor_shows_a_dev_zero_trace_as_invalid(tmp_path):
    from gui.scenario_files import validate_text

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for name in ("patterns_qpu_outage_evening_peak.yaml", "microgrid_island_day.yaml"):
        (scenarios / name).write_text((ROOT / "scenarios" / name).read_text())
    shipped = validate_text(TRACE_SCENARIO, scenarios, source=str(scenarios / "x.yaml"))
    assert not shipped.ok  # ../data/ holds no trace in this copy: refused, not crashed
    assert any("comms.links.3.latency.path" in p for p in shipped.problems)
    (tmp_path / "data" / "latency").mkdir(parents=True)
    trace = ROOT / "data" / "latency" / "wan_rtt_half_ms.csv"
    (tmp_path / "data" / "latency" / trace.name).write_text(trace.read_text())
    assert validate_text(TRACE_SCENARIO, scenarios, source=str(scenarios / "x.yaml")).ok
    zero = validate_text(TRACE_SCENARIO.replace("../data/latency/wan_rtt_half_ms.csv",
                                                "/dev/zero"), scenarios,
                         source=str(scenarios / "x.yaml"))
    assert not zero.ok
    assert any(p.startswith("comms.links.3.latency.path") for p in zero.problems)


def test_upload_checks_hold_under_a_memory_limit(tmp_path):
    """check_upload, which the page calls, refuses the alias bomb and deep nesting under
    RLIMIT_AS 1 GiB within seconds (the bomb used to hang the server in model_dump)."""
    code = (
        "import json, resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pathlib import Path\n"
        "from gui import settings\n"
        "from gui.scenario_files import check_upload\n"
        "out = {}\n"
        "for name, text in json.loads(sys.stdin.read()).items():\n"
        "    t = time.monotonic()\n"
        "    data = text.encode()\n"
        "    _, v = check_upload(name + '.yaml', len(data), lambda: data, Path(sys.argv[1]),\n"
        "                        settings.MAX_UPLOAD_BYTES)\n"
        "    out[name] = [v.ok, v.problems, time.monotonic() - t]\n"
        "print(json.dumps(out))\n"
    )
    cases = {k: UPLOADS[k][0] for k in ("alias_bomb", "deep_nesting", "int_5000_digits")}
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "scenarios")],
                          input=json.dumps(cases), capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (ok, problems, seconds) in result.items():
        assert not ok, name
        assert problems[0].startswith(UPLOADS[name][1]), (name, problems)
        assert seconds < 10, (name, seconds)
