"""The fixed-step reference: shipped scenarios as the fixed-step twin ran them before the
event-driven loop (issue 12), fingerprinted from the golden files of commit 5219e29
(before the controller process;
the fixed-step scenarios matched the golden of 09fe615 through the metering and island
steps, see their commits).

``tests/data/golden_fixed_step.json`` holds, per scenario, the KPIs of that golden run
and SHA-256 digests of its normalised ``timeseries.parquet`` and ``events.parquet``.
A scenario in which nothing changes the network inside a step and no solver call takes
simulated time must still give exactly these: the same rows, the same events and every
KPI that existed then with the same value (KPIs added since, e.g. ``uncontrolled_s``,
are new names, not changed values). :data:`MOVED` lists the scenarios that are meant to
differ, with the reason. ``python tests/twin/fixed_step_reference.py`` re-fingerprints the
reference from the golden files as they are (after a deliberate change of a fixed-step
scenario).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "golden_fixed_step.json"

MOVED: dict[str, str] = {
    "patterns_latency_study_base": "comms: the EMS re-plans in its own process and runs "
    "every step (it skipped the step after every delayed call)",
    "patterns_qpu_outage_evening_peak": "comms: the EMS runs every step (as above)",
    "patterns_storm_day": "comms: the EMS runs every step (as above)",
    "quantum_microgrid_day": "added after the event loop (routed decisions, #13): it has no "
    "fixed-step run to match",
    "microgrid_island_day": "islands (#12): the grid-forming unit carries the island's "
    "slack as its own power (its state of charge and fuel move), within its limits",
    "qaoa_vs_milp_ev": "zero-time calls no longer yield to the clock: every EV assignment of "
    "a re-plan is applied in its own step",
}
"""Scenario -> why its run is meant to differ from the fixed-step reference."""


def table_digest(frame: pd.DataFrame) -> str:
    """SHA-256 over a normalised table's columns (names, numeric bytes, strings)."""
    h = hashlib.sha256()
    for col in frame.columns:
        h.update(col.encode())
        values = frame[col]
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            h.update("\x1f".join(values.astype(str).tolist()).encode())
    return h.hexdigest()


def differences(case: str, timeseries: pd.DataFrame, events: pd.DataFrame,
                kpis: dict[str, object], folder: Path) -> list[str]:
    """What differs from the fixed-step reference of ``case`` (empty: nothing).

    The tables go through parquet in ``folder`` first, as the golden files did."""
    want = json.loads(REFERENCE.read_text())[case]
    timeseries.to_parquet(folder / "ts.parquet", index=False)
    events.to_parquet(folder / "ev.parquet", index=False)
    out = []
    if table_digest(pd.read_parquet(folder / "ts.parquet")) != want["timeseries_sha256"]:
        out.append("timeseries.parquet")
    if table_digest(pd.read_parquet(folder / "ev.parquet")) != want["events_sha256"]:
        out.append("events.parquet")
    for key, value in want["kpis"].items():
        if kpis.get(key) != value:
            out.append(f"kpi {key}: {value} -> {kpis.get(key)}")
    return out


def fingerprint(golden: Path) -> dict[str, dict[str, object]]:
    """The reference entries of every case in a golden folder (``tests/data/golden``)."""
    out: dict[str, dict[str, object]] = {}
    for case in sorted(p.name for p in golden.iterdir() if p.is_dir()):
        folder = golden / case
        out[case] = {
            "kpis": json.loads((folder / "kpis.json").read_text()),
            "timeseries_sha256": table_digest(pd.read_parquet(folder / "timeseries.parquet")),
            "events_sha256": table_digest(pd.read_parquet(folder / "events.parquet")),
        }
    return out


if __name__ == "__main__":  # re-fingerprint from the golden files as they are now
    REFERENCE.write_text(json.dumps(fingerprint(REFERENCE.parent / "golden"), indent=1,
                                    sort_keys=True))
