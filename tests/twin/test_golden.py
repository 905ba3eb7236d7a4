"""Golden runs: every shipped scenario, compared bit for bit with a checked-in run.

This pins the twin's behaviour. A change that is meant to be behaviour-neutral (a
refactor, a speed-up) must leave every case identical; a change that is meant to alter
results regenerates the expectations deliberately, in its own commit, with

    python -m pytest tests/twin/test_golden.py --update-golden

and says in its message which scenarios moved and why.

What is compared, per scenario (``tests/data/golden/<case>/``):

- ``timeseries.parquet``: every row and value, exactly;
- ``events.parquet``: every row, exactly, after wall-clock figures are taken out (the
  ``*_wall_s`` and ``*_cpu_s`` fields of ``data`` and the "16.9 ms" solve times in call
  messages: they measure this machine, not the twin);
- ``kpis.json``: every KPI exactly, without the wall-clock ones (``*solve_time*``).

Short horizons are used where a full run would make the suite slow or the files large
(``simbench_year`` runs its first week, ``quantum_microgrid_day`` its first plan).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import twin
from twin.scenario import apply_overrides

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
GOLDEN = ROOT / "tests" / "data" / "golden"

QUANTUM_SHORT: dict[str, object] = {
    "time.duration": "30min",
    "control.ems.horizon": "3h",
    "control.ems.decisions.compare.qaoa_noisy.options.shots": 16,
}
"""quantum_microgrid_day's first plan over a 3 h look-ahead, noisy QAOA at 16 shots: the
whole day runs for minutes (noisy QAOA on every sub-problem); tests/twin/
test_quantum_scenario.py runs it in full (slow)."""

OVERRIDES: dict[str, dict[str, object]] = {
    "simbench_year": {"time.duration": "7d"},
    "quantum_microgrid_day": QUANTUM_SHORT,
}
"""Scenario stem -> overrides that keep the case short."""

CASES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))

_WALL_KPI = re.compile(r"solve_time|wall|cpu_s")
_WALL_KEY = re.compile(r"wall|cpu_s")
_WALL_MSG = re.compile(r"\d+(?:\.\d+)? ms\b")


def normalise_kpis(kpis: dict[str, object]) -> dict[str, object]:
    """KPIs without the wall-clock ones, NaN written as the string 'nan'."""
    out: dict[str, object] = {}
    for key in sorted(kpis):
        if _WALL_KPI.search(key):
            continue
        value = kpis[key]
        if isinstance(value, float) and math.isnan(value):
            value = "nan"
        out[key] = value
    return out


def normalise_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events without wall-clock fields (in ``data``) and wall times in messages."""
    events = events.copy()
    if "message" in events:
        events["message"] = events["message"].astype(str).str.replace(
            _WALL_MSG, "<wall> ms", regex=True
        )
    if "data" in events:

        def _strip(text: str) -> str:
            data = json.loads(text)
            return json.dumps(
                {k: v for k, v in data.items() if not _WALL_KEY.search(k)},
                sort_keys=True,
            )

        events["data"] = events["data"].astype(str).map(_strip)
    for column in events.columns:
        if isinstance(events[column].dtype, pd.CategoricalDtype):
            events[column] = events[column].astype(str)
    return events.reset_index(drop=True)


def normalise_timeseries(table: pd.DataFrame) -> pd.DataFrame:
    """The long table with categorical columns as plain strings (storage-neutral)."""
    table = table.copy()
    for column in table.columns:
        if isinstance(table[column].dtype, pd.CategoricalDtype):
            table[column] = table[column].astype(str)
    return table.reset_index(drop=True)


def _run_case(case: str, store: Path) -> Path:
    scenario = twin.load_scenario(SCENARIOS / f"{case}.yaml")
    if case in OVERRIDES:
        scenario = apply_overrides(scenario, OVERRIDES[case])
    return twin.run(scenario, store=store).path


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES)
def test_run_equals_golden(
    case: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = _run_case(case, tmp_path)
    timeseries = normalise_timeseries(pd.read_parquet(run / "timeseries.parquet"))
    events = normalise_events(pd.read_parquet(run / "events.parquet"))
    kpis = normalise_kpis(json.loads((run / "kpis.json").read_text()))

    reference = _fixed_step_reference()
    if case not in reference.MOVED:  # fixed-step is the special case of the event loop
        moved = reference.differences(case, timeseries, events, kpis, tmp_path)
        assert not moved, f"{case} differs from the fixed-step reference: {moved}"

    golden = GOLDEN / case
    if request.config.getoption("--update-golden"):
        golden.mkdir(parents=True, exist_ok=True)
        timeseries.to_parquet(golden / "timeseries.parquet", index=False)
        events.to_parquet(golden / "events.parquet", index=False)
        (golden / "kpis.json").write_text(json.dumps(kpis, indent=1, sort_keys=True))
        pytest.skip(f"golden run of {case} written")

    assert golden.is_dir(), (
        f"no golden run for {case}: run pytest {__file__} --update-golden"
    )
    want_kpis = json.loads((golden / "kpis.json").read_text())
    assert set(kpis) == set(want_kpis), (
        f"{case}: KPI names changed: new {sorted(set(kpis) - set(want_kpis))}, "
        f"gone {sorted(set(want_kpis) - set(kpis))}"
    )
    changed = {
        k: (want_kpis.get(k), kpis.get(k))
        for k in sorted(set(want_kpis) | set(kpis))
        if want_kpis.get(k) != kpis.get(k)
    }
    assert not changed, f"{case}: KPIs moved (golden, now): {changed}"
    pd.testing.assert_frame_equal(
        events, pd.read_parquet(golden / "events.parquet"), check_exact=True
    )
    pd.testing.assert_frame_equal(
        timeseries, pd.read_parquet(golden / "timeseries.parquet"), check_exact=True
    )


def _fixed_step_reference():  # the fixed-step reference helper, loaded by path
    import importlib.util

    path = Path(__file__).with_name("fixed_step_reference.py")
    spec = importlib.util.spec_from_file_location("fixed_step_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_normalisation_keeps_what_the_twin_decides() -> None:
    """The normaliser removes wall-clock figures only, never a simulated quantity."""
    events = pd.DataFrame(
        {
            "time_s": [900.0, 1800.0],
            "category": ["call", "call"],
            "kind": ["solved", "solved"],
            "entity": ["ems", "ems"],
            "message": [
                "dispatch call dispatch#1: milp optimal (630 vars, 16.9 ms, ratio 1.0)",
                "link latency 0.25 s",
            ],
            "data": [
                json.dumps({"solve_wall_s": 0.0169, "x_solve_cpu_s": 0.03, "latency_s": 0.25}),
                json.dumps({"objective": 1.5}),
            ],
        }
    )
    out = normalise_events(events)
    assert out["message"].tolist() == [
        "dispatch call dispatch#1: milp optimal (630 vars, <wall> ms, ratio 1.0)",
        "link latency 0.25 s",
    ]
    assert json.loads(out["data"][0]) == {"latency_s": 0.25}
    assert normalise_kpis({"ems_solve_time_s": 1.0, "cost_eur": 2.5}) == {
        "cost_eur": 2.5
    }
