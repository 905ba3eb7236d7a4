"""Benchmark: the cost of event-driven stepping on a storm-day-like SimBench year.

The LV SimBench year (``1-LV-rural1--0-sw``, 35,136 quarter hours, control off) run
twice in one process, side by side:

- **fixed-step**: no faults: one power flow per step;
- **events**: two lines failing at random (MTBF ``--mtbf-h``, MTTR ``--mttr-h``,
  seeded): every failure and repair lands at a random instant inside a step, switches
  the branch (new admittance matrix), re-solves the power flow at that instant and
  splits the step into intervals; loads cut off count as unserved, interruptions go
  into the reliability indices.

Reported: wall time of ``simulate`` (the stepping loop plus derivation and KPIs), the
number of fault events and of extra intervals, and the overhead of the event run over
the fixed-step run. Best of ``--repeat`` runs each (the machine is shared: state the
load). Usage::

    python benchmarks/bench_events.py                 # full year
    python benchmarks/bench_events.py --days 30 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

CODE = "1-LV-rural1--0-sw"


def _scenario(days: int, faults: list[dict]):
    from twin.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "bench-events",
        "seed": 11,
        "time": {"start": "2016-01-01T00:00:00", "duration": f"{days}d", "step": "15min"},
        "grid": {"source": "simbench", "code": CODE, "backend": "lightsim2grid"},
        "control": {"mode": "off"},
        "faults": faults,
    })


def _one(scenario) -> dict[str, float]:
    from twin.engine import build, simulate

    t0 = time.perf_counter()
    sim = build(scenario)
    t1 = time.perf_counter()
    out = simulate(sim)
    t2 = time.perf_counter()
    iv = out.recording.intervals
    events = [e for e in out.recording.events if e["category"] == "fault"]
    return {"build_s": t1 - t0, "simulate_s": t2 - t1, "solve_s": out.timings["solve_s"],
            "intervals": iv.n, "steps": out.recording.n_steps, "fault_events": len(events),
            "unserved_mwh": float(out.kpis.get("load_unserved_mwh") or 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mtbf-h", type=float, default=175.0)
    parser.add_argument("--mttr-h", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    faults = [{"kind": "line_outage", "element": e, "mtbf_h": args.mtbf_h,
               "mttr_h": args.mttr_h} for e in (1, 6)]
    fixed = _scenario(args.days, [])
    evented = _scenario(args.days, faults)
    _one(_scenario(1, []))  # warm the caches (SimBench net, profiles)
    runs: dict[str, list[dict[str, float]]] = {"fixed": [], "events": []}
    for _ in range(args.repeat):  # interleaved, so both see the same load
        runs["fixed"].append(_one(fixed))
        runs["events"].append(_one(evented))
    best = {k: min(v, key=lambda r: r["simulate_s"]) for k, v in runs.items()}
    overhead = best["events"]["simulate_s"] / best["fixed"]["simulate_s"] - 1.0
    result = {"code": CODE, "days": args.days, "load_average": os.getloadavg(),
              "best": best, "runs": runs, "event_overhead": overhead}
    f, e = best["fixed"], best["events"]
    print(f"fixed-step: simulate {f['simulate_s']:.2f} s ({f['intervals']} intervals)")
    print(f"events:     simulate {e['simulate_s']:.2f} s ({e['intervals']} intervals, "
          f"{e['fault_events']} fault events, {e['intervals'] - e['steps']} extra solves)")
    print(f"event overhead: {100 * overhead:.1f} % (load average {os.getloadavg()})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
