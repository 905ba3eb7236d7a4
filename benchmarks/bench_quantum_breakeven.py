"""Break-even two-qubit error rate of noisy QAOA on the twin's own decision sub-problems.

One run of ``scenarios/quantum_microgrid_day.yaml``'s first plan (30 minutes of
simulated time, a look-ahead of ``--horizon``): the routed decisions go to ideal QAOA,
and every sub-problem QAOA gets is also solved by QAOA under the FakeTorino noise model
with its calibrated two-qubit gate errors scaled by each of ``--scales``
(``two_qubit_error_scale``; same angles as the ideal search, since
``noise_maxiter`` is 0), by simulated annealing and by uniform random sampling, all on
the same sub-problems (events ``solver_compare``).

The figure compared is the normalised expected ratio
(:func:`twin.control.formulations.router.normalised_ratio`): the share of the way from
uniform random guessing (0) to the optimum (1) that a solver's mean penalised objective
covers. Per scale the mean over the sub-problems is plotted against the circuits' mean
two-qubit error rate (``two_qubit_error_mean``, use-weighted over each transpiled
circuit's two-qubit gates); the break-even error rates are where that curve, linearly
interpolated between the measured scales, falls to 0 (no better than uniform random
guessing at equal shots) and to annealing's mean (the classical heuristic)
(:func:`twin.value.two_qubit_break_even`). A crossing outside the measured range is
reported as such, never extrapolated.

    python benchmarks/bench_quantum_breakeven.py            # writes a Markdown table
    python benchmarks/bench_quantum_breakeven.py --scales 0 1 4 --horizon 3h
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from twin.value import two_qubit_break_even

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "quantum_microgrid_day.yaml"


def run(scales: list[float], horizon: str, shots: int, device: str) -> pd.DataFrame:
    """The solver_compare rows of one first-plan run with a noisy entry per scale."""
    import twin
    from twin.scenario import apply_overrides

    scenario = twin.load_scenario(SCENARIO)
    compare = {
        f"noisy_x{scale:g}": {"solver": "qaoa", "options": {
            "reps": 1, "shots": shots, "noise": device, "noise_maxiter": 0,
            "two_qubit_error_scale": float(scale)}}
        for scale in scales
    }
    compare["annealing"] = {"solver": "annealing", "options": {"num_reads": 20}}
    compare["random"] = {"solver": "random", "options": {"shots": shots}}
    scenario = apply_overrides(scenario, {
        "time.duration": "30min",
        "control.ems.horizon": horizon,
        "control.ems.decisions.options": {"reps": 1, "shots": shots, "maxiter": 20},
        "control.ems.decisions.compare": compare,
    })
    with tempfile.TemporaryDirectory() as store:
        result = twin.run(scenario, store=store)
        events = pd.read_parquet(Path(result.path) / "events.parquet")
    rows = [json.loads(d) for d in events.loc[events["kind"] == "solver_compare", "data"]]
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame, scales: list[float]) -> dict[str, object]:
    """Per scale: mean two-qubit error, normalised expected ratio, result ratio, P(opt)."""
    out: dict[str, object] = {"sub_problems": int(rows["call_id"].nunique()),
                              "qubits": sorted(int(q) for q in
                                               rows.drop_duplicates("call_id")["qubits"])}
    table = []
    for scale in scales:
        r = rows[rows["solver"] == f"noisy_x{scale:g}"]
        table.append({
            "scale": scale,
            "two_qubit_error_mean": float(r["two_qubit_error_mean"].mean()),
            "normalised_expected_ratio": float(r["normalised_expected_ratio"].mean()),
            "result_ratio": float(r["ratio"].mean()),
            "p_optimal": float(r["p_optimal"].mean()),
        })
    out["noisy"] = table
    for label, key in (("ideal", "called"), ("annealing", "annealing"), ("random", "random")):
        r = rows[rows["solver"] == key]
        out[label] = {"normalised_expected_ratio": float(r["normalised_expected_ratio"].mean()),
                      "result_ratio": float(r["ratio"].mean()),
                      "p_optimal": float(r["p_optimal"].mean())}
    out["break_even"] = two_qubit_break_even(rows)
    return out


def markdown(summary: dict[str, object], args: argparse.Namespace, wall_s: float) -> str:
    """The result as a Markdown section."""
    lines = [
        f"Command: `python benchmarks/bench_quantum_breakeven.py --scales "
        f"{' '.join(f'{s:g}' for s in args.scales)} --horizon {args.horizon} --shots "
        f"{args.shots}` ({wall_s:.0f} s wall, load {os.getloadavg()[0]:.1f}).",
        "",
        f"{summary['sub_problems']} sub-problems of the first plan, qubits "
        f"{summary['qubits']}; {args.device}, {args.shots} shots, reps 1, angles of the ideal "
        "search (noise_maxiter 0).",
        "",
        "| two-qubit error scale | mean two-qubit error | normalised expected ratio | "
        "result ratio | P(opt) per shot |",
        "|---|---|---|---|---|",
    ]
    for t in summary["noisy"]:  # type: ignore[attr-defined]
        lines.append(f"| {t['scale']:g} | {t['two_qubit_error_mean']:.3e} | "
                     f"{t['normalised_expected_ratio']:.4f} | {t['result_ratio']:.4f} | "
                     f"{t['p_optimal']:.4f} |")
    for label in ("ideal", "annealing", "random"):
        s = summary[label]
        lines.append(f"| {label} | - | {s['normalised_expected_ratio']:.4f} | "  # type: ignore[index]
                     f"{s['result_ratio']:.4f} | {s['p_optimal']:.4f} |")  # type: ignore[index]
    lines.append("")
    for label, v in summary["break_even"]["vs"].items():  # type: ignore[index]
        rate = v["two_qubit_error"]
        lines.append(f"- Noisy QAOA's normalised expected ratio falls to {label}'s "
                     f"({v['level']:.4f}) at a mean two-qubit error of "
                     + (f"{rate:.3e} (interpolated)." if rate is not None
                        else f"- ({v['how']})."))
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run, print the Markdown section (and ``--json`` the summary)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 3.0, 10.0])
    parser.add_argument("--horizon", default="3h")
    parser.add_argument("--shots", type=int, default=64)
    parser.add_argument("--device", default="FakeTorino")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = run(sorted(args.scales), args.horizon, args.shots, args.device)
    summary = summarise(rows, sorted(args.scales))
    text = markdown(summary, args, time.perf_counter() - t0)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
