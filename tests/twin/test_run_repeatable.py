"""`twin run` twice on every shipped EMS and comms scenario: byte-identical results.

The run folder's results (``kpis.json``, ``events.parquet``, ``timeseries.parquet``)
hold only what the twin decides; wall-clock figures (solve times, CPU times) go to the
manifest's ``timings_s`` and ``wall_clock.json``. Scenarios longer than a day run their
first day (a ``base:`` file that sets ``time.duration``; quantum_microgrid_day its first
plan with 16 noisy shots), so the suite stays short;
what is compared is still every byte of the three files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import twin
from twin.cli import app
from twin.control.calls import calls_table

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
RESULT_FILES = ("kpis.json", "events.parquet", "timeseries.parquet")
MAX_DURATION = "1d"


def _ems_or_comms(path: Path) -> bool:
    scenario = twin.load_scenario(path)
    return scenario.control.mode == "ems" or scenario.comms is not None


CASES = sorted(p.stem for p in SCENARIOS.glob("*.yaml") if _ems_or_comms(p))


QUICK: dict[str, str] = {
    "quantum_microgrid_day": (
        "time: {duration: 30min}\ncontrol: {ems: {horizon: 3h, decisions: {compare: "
        "{qaoa_noisy: {options: {shots: 16}}}}}}\n"),
}
"""Cuts of scenarios whose full run takes minutes (noisy QAOA on every sub-problem)."""


def _file_for(case: str, folder: Path) -> Path:
    """The shipped file, or a one-day cut of it when it runs longer."""
    source = SCENARIOS / f"{case}.yaml"
    if case in QUICK:
        cut = folder / f"{case}.yaml"
        cut.write_text(f"base: {source}\n{QUICK[case]}")
        return cut
    scenario = twin.load_scenario(source)
    if scenario.time.duration_s <= 86400:
        return source
    cut = folder / f"{case}.yaml"
    cut.write_text(f"base: {source}\ntime: {{duration: {MAX_DURATION}}}\n")
    return cut


def test_cases_cover_ems_and_comms() -> None:
    """The selection is not empty and holds both kinds (an EMS-only and a comms run)."""
    assert "qaoa_vs_milp_ev" in CASES
    assert "patterns_qpu_outage_evening_peak" in CASES


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES)
def test_twin_run_twice_gives_identical_result_files(case: str, tmp_path: Path) -> None:
    file = _file_for(case, tmp_path)
    folders = []
    for store in ("a", "b"):
        result = CliRunner().invoke(
            app, ["run", str(file), "--out", str(tmp_path / store), "--quiet"]
        )
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        folders.append(Path(result.stdout.strip().splitlines()[-1]))
    a, b = folders
    assert a.name == b.name
    for name in RESULT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{case}: {name} differs"
    kpis = json.loads((a / "kpis.json").read_text())
    assert not [k for k in kpis if "solve_time" in k or "wall" in k]
    manifest = json.loads((a / "manifest.json").read_text())
    if "ems_calls_solve_s" in manifest["timings_s"]:  # the wall clock went here instead
        assert manifest["timings_s"]["ems_calls_solve_s"] > 0.0
        wall = json.loads((a / "wall_clock.json").read_text())
        assert len(wall["calls"]) == kpis["ems_calls"]
    # every call QAOA answered left its OpenQASM 3 under circuits/ (identical too)

    calls = calls_table(pd.read_parquet(a / "events.parquet"))
    quantum = sorted(calls.call_id[calls.solver_used == "qaoa"])
    stored = sorted(p.stem for p in (a / "circuits").glob("*.qasm"))
    assert stored == quantum
    for call_id in quantum:
        text = (a / "circuits" / f"{call_id}.qasm").read_text()
        assert text.startswith("OPENQASM 3")
        assert text == (b / "circuits" / f"{call_id}.qasm").read_text()
