"""KPI gates: absolute and relative checks, aggregates, errors, JUnit XML, `twin check`."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.study import (
    CheckSpec,
    LocalExecutor,
    PlannedRun,
    SweepInputError,
    load_sweep,
    run_sweep,
)
from twin.study.gates import evaluate, junit_xml


def _runs() -> list[PlannedRun]:
    """mode x seed, plus a zipped battery (capacity, power) pair per run."""
    runs = []
    i = 0
    for mode in ("off", "smart"):
        for seed in (1, 2):
            runs.append(PlannedRun(i, {"mode": mode, "seed": seed}, f"r-{mode}-{seed}",
                                   "h", seed, {}))
            i += 1
    return runs


AXES = [["mode"], ["seed"]]
BASELINES = {"plain": {"mode": "off"}}
# import: smart saves 10% on seed 1 and costs 5% more on seed 2
KPIS = {
    "r-off-1": {"imp": 10.0, "viol": 0.0},
    "r-off-2": {"imp": 20.0, "viol": 3.0},
    "r-smart-1": {"imp": 9.0, "viol": 0.0},
    "r-smart-2": {"imp": 21.0, "viol": 1.0},
}


def _check(**kw: object) -> CheckSpec:
    return CheckSpec.model_validate(kw)


def test_absolute_check_lists_the_runs_out_of_bounds() -> None:
    [ok] = evaluate([_check(kpi="imp", max=25)], _runs(), AXES, BASELINES, KPIS)
    assert ok.status == "passed"
    [bad] = evaluate([_check(kpi="imp", max=15)], _runs(), AXES, BASELINES, KPIS)
    assert bad.status == "failed"
    assert "2 of 4 runs out of bounds" in bad.message
    assert {v.target for v in bad.values if not v.passed} == {"r-off-2", "r-smart-2"}


def test_relative_check_compares_each_run_with_its_own_baseline() -> None:
    [res] = evaluate(
        [_check(kpi="imp", relative_to="plain", max=1.0)], _runs(), AXES, BASELINES, KPIS
    )
    # only the smart runs are compared (a baseline against itself says nothing),
    # each against the 'off' run of the same seed
    ratios = {v.target: (v.value, v.baseline_value) for v in res.values}
    assert ratios == {"r-smart-1": (pytest.approx(0.9), 10.0),
                      "r-smart-2": (pytest.approx(1.05), 20.0)}
    assert res.status == "failed"
    assert "r-smart-2" in res.message
    [diff] = evaluate(
        [_check(kpi="viol", relative_to="plain", compare="difference", max=0)],
        _runs(), AXES, BASELINES, KPIS,
    )
    assert diff.status == "passed"
    assert {v.value for v in diff.values} == {0.0, -2.0}


def test_aggregate_and_where() -> None:
    [mean] = evaluate(
        [_check(kpi="imp", relative_to="plain", aggregate="mean", max=1.0)],
        _runs(), AXES, BASELINES, KPIS,
    )
    assert mean.status == "passed"  # (0.9 + 1.05) / 2 = 0.975
    assert mean.values[0].value == pytest.approx(0.975)
    [only_seed_2] = evaluate(
        [_check(kpi="imp", max=20.5, where={"seed": 2, "mode": ["off"]})],
        _runs(), AXES, BASELINES, KPIS,
    )
    assert only_seed_2.status == "passed"
    assert [v.target for v in only_seed_2.values] == ["r-off-2"]


def test_missing_runs_null_kpis_and_zero_baselines_are_errors() -> None:
    kpis = {k: dict(v) for k, v in KPIS.items() if k != "r-off-2"}
    kpis["r-smart-1"]["viol"] = None
    results = evaluate(
        [
            _check(kpi="imp", max=100),
            _check(kpi="viol", max=100),
        ],
        _runs(), AXES, BASELINES, kpis, failures={"r-off-2": "ValueError: boom"},
    )
    assert [r.status for r in results] == ["error", "error"]
    assert "r-off-2" in results[0].message
    assert "ValueError: boom" in results[0].message
    assert "viol is null" in results[1].message
    # r-off-1 has viol = 0: the ratio of r-smart-1 to it is undefined
    [zero] = evaluate([_check(kpi="viol", relative_to="plain", max=2)],
                      _runs(), AXES, BASELINES, KPIS)
    assert zero.status == "error"
    assert "ratio is undefined" in zero.message


def test_unknown_kpi_is_bad_input() -> None:
    with pytest.raises(SweepInputError, match=r"checks\.0\.kpi: unknown KPI 'impp'"):
        evaluate([_check(kpi="impp", max=1)], _runs(), AXES, BASELINES, KPIS)


def test_junit_xml_has_one_testcase_per_check() -> None:
    results = evaluate(
        [_check(kpi="imp", max=25, name="import cap"), _check(kpi="imp", max=15)],
        _runs(), AXES, BASELINES, KPIS,
    )
    root = ET.fromstring(junit_xml(results, "demo"))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["import cap", "check 1: imp <= 15"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert "r-off-2" in failure.get("message", "")


BASE = (Path(__file__).parent / "data" / "tiny_base.yaml").read_text()


def test_twin_check_on_real_runs_exits_1_on_failure_and_writes_junit(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "sweep.yaml").write_text(textwrap.dedent("""\
        name: gated
        scenario: base.yaml
        vary:
          grid:
            control.mode: ["off", self_consumption]
            seed: [1, 2]
        baselines:
          uncontrolled: {control.mode: "off"}
        checks:
          - {name: no line overload, kpi: max_line_loading_percent, max: 100}
          - {name: battery cuts export, kpi: energy_export_mwh, relative_to: uncontrolled,
             compare: difference, max: 0}
          - {name: impossible, kpi: energy_import_mwh, max: -1}
        """))
    sweep = load_sweep(tmp_path / "sweep.yaml")
    run_sweep(sweep, store=tmp_path / "runs", sweep_dir=tmp_path / "sw", executor=LocalExecutor(2))
    result = CliRunner().invoke(app, ["check", str(tmp_path / "sw")])
    assert result.exit_code == 1, result.output
    assert "PASSED  no line overload" in result.output
    assert "PASSED  battery cuts export" in result.output
    assert "FAILED  impossible" in result.output
    root = ET.parse(tmp_path / "sw" / "checks.junit.xml").getroot()
    assert root.get("failures") == "1"
    assert root.get("tests") == "3"

    report = CliRunner().invoke(app, ["report", str(tmp_path / "sw"), "--cdn"])
    assert report.exit_code == 0, report.output
    summary = (tmp_path / "sw" / "summary.md").read_text()
    assert "### Checks: 2 of 3 passed" in summary
    assert "❌ failed" in summary
    for run in sweep.runs:
        assert run.run_id in summary
    page = (tmp_path / "sw" / "report.html").read_text()
    assert "plotly" in page
    assert "energy_export_mwh by control.mode" in page

    # a check edited to a KPI that no run reports is bad input
    record = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    record["spec"]["checks"][0]["kpi"] = "max_line_loadin_percent"
    (tmp_path / "sw" / "sweep.json").write_text(json.dumps(record))
    bad = CliRunner().invoke(app, ["check", str(tmp_path / "sw")])
    assert bad.exit_code == 2
    assert "unknown KPI 'max_line_loadin_percent'" in bad.output
