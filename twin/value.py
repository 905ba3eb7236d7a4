r"""The quantum value report of a run: ``twin value RUN [--baseline RUN]``.

It answers the planner's question for one run (whose EMS routed binary decisions to a
solver, ``control.ems.decisions``) against a baseline run of the same scenario and seed
solved classically (the decisions by ``milp``):

- the size distribution of the sub-problems the routed solver got (qubits, slack
  binaries included; count per size and decision type) and of the parts below
  ``min_qubits`` that the fallback decided;
- per decision type: how many sub-problems, their size distribution (qubits and
  binaries), the recombined decisions' gap to the full ``milp`` optimum;
- per solver on the same sub-problems (events ``solver_compare``): mean result ratio
  (the project's convention, :func:`solvers.metrics.approximation_ratio`: 1 optimal),
  mean objective gap to ``milp`` (:math:`(f - f^*) / \max(1, |f^*|)`), mean
  expected-objective ratio and normalised expected ratio
  (:func:`twin.control.formulations.router.normalised_ratio`: 1 optimal, 0 uniform
  random guessing), probability of sampling an optimum and the uniform random
  baseline's at equal shots, feasible-sample share, TTS99 in shots, in modelled QPU time
  (QAOA) and in this machine's wall clock (every solver, from ``wall_clock.json``),
  modelled QPU time and cost, statuses;
- the routed calls: who answered (fallback answers counted under the solver that
  produced them), deadline misses, solver errors;
- system KPI deltas against the baseline (cost, PCC import, unmet EV energy, comfort
  violations, unserved energy, voltage and loading violations);
- plain statements where quantum adds nothing, and break-even figures (see
  :func:`break_even`).

Written as ``value.md`` and ``value.json`` into the run folder.

Public names: :func:`value_report`, :func:`render_markdown`, :func:`write_report`,
:func:`break_even`, :func:`two_qubit_break_even`, :data:`SYSTEM_KPIS`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SYSTEM_KPIS", "break_even", "render_markdown", "two_qubit_break_even",
           "value_report", "write_report"]

SYSTEM_KPIS: tuple[tuple[str, str], ...] = (
    ("energy_cost_eur", "cost [EUR]"),
    ("pcc_import_mwh", "PCC import [MWh]"),
    ("ev_unmet_at_departure_mwh", "unmet EV energy [MWh]"),
    ("building_comfort_violation_kh", "comfort violations [Kh]"),
    ("unserved_energy_kwh", "unserved energy [kWh]"),
    ("voltage_violation_bus_steps", "voltage violations [bus-steps]"),
    ("line_overload_steps", "line overloads [steps]"),
    ("trafo_overload_steps", "trafo overloads [steps]"),
)
"""System KPIs compared with the baseline (name, label); missing ones are skipped."""


def _read_run(path: Path) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any], dict[str, Any]]:
    from twin.store import open_run

    data = open_run(path)
    events = data.events
    wall_file = data.path / "wall_clock.json"
    wall = json.loads(wall_file.read_text()) if wall_file.is_file() else {}
    return data.kpis, events, wall, data.manifest


def _rows(events: pd.DataFrame, kind: str) -> pd.DataFrame:
    mask = events["kind"].astype(str) == kind
    rows = [json.loads(d) for d in events.loc[mask, "data"]]
    return pd.DataFrame(rows)


def _dist(values: pd.Series) -> dict[str, float | None]:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {"n": int(v.size), "min": float(v.min()), "median": float(v.median()),
            "max": float(v.max())}


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    if column not in frame:
        return None
    v = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(v.mean()) if not v.empty else None


def _median_finite(values: list[float]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else None


def value_report(run: str | Path, baseline: str | Path | None = None) -> dict[str, Any]:
    """The report as a JSON-safe mapping (see the module notes).

    Raises
    ------
    twin.errors.ResultsError
        When a folder is not a run, or the run has no routed decisions (no
        ``solver_compare`` events).
    """
    kpis, events, wall, manifest = _read_run(Path(run))
    compare = _rows(events, "solver_compare")
    if compare.empty:
        from twin.errors import ResultsError

        raise ResultsError(f"{run}: the run has no routed decisions (control.ems.decisions); "
                          "expected a run of a scenario with decisions.types")
    decomposition = _rows(events, "decomposition")
    timing = pd.DataFrame(wall.get("compare_solves", []))
    called_solver = manifest.get("scenario", {}).get("control", {}).get("ems", {}).get(
        "decisions", {}).get("solver", "qaoa")
    report: dict[str, Any] = {"run": manifest.get("run_id"), "scenario":
                              manifest.get("scenario_name"), "routed_solver": called_solver,
                              "decisions": {}, "system": {}, "statements": []}
    for kind, group in compare.groupby("decision"):
        report["decisions"][str(kind)] = _decision_entry(
            str(kind), group, decomposition, timing, called_solver)
    report["sizes"] = _size_distribution(compare, _rows(events, "decision_small_part"))
    report["calls"] = _calls_summary(events, list(report["decisions"]), kpis)
    if baseline is not None:
        base_kpis, _e, _w, base_manifest = _read_run(Path(baseline))
        report["baseline"] = base_manifest.get("run_id")
        report["system"] = _system_deltas(kpis, base_kpis)
    report["break_even"] = break_even(report)
    report["break_even"]["two_qubit_error"] = two_qubit_break_even(compare)
    report["statements"] = _statements(report)
    return report


def _decision_entry(kind: str, group: pd.DataFrame, decomposition: pd.DataFrame,
                    timing: pd.DataFrame, called_solver: str) -> dict[str, Any]:
    """One decision type: sub-problem sizes, recombination gap, who answered, and every
    solver's figures on its sub-problems."""
    first = group.drop_duplicates("call_id")
    entry: dict[str, Any] = {
        "subproblems": int(first.shape[0]),
        "qubits": _dist(first["qubits"]),
        "binaries": _dist(first["n_binary"]),
        "solvers": {},
    }
    if not decomposition.empty:
        dec = decomposition[decomposition["decision"] == kind]
        entry["gap_to_full_milp"] = _dist(dec["gap"]) if "gap" in dec else None
        entry["recombined_infeasible"] = int((~dec["feasible"].astype(bool)).sum())
    called = group[group["solver"] == "called"]
    entry["answered_by"] = {str(k): int(v) for k, v in
                            called["solver_name"].value_counts().sort_index().items()}
    for label, rows in group.groupby("solver"):
        name = f"{called_solver} (routed)" if label == "called" else str(label)
        entry["solvers"][name] = _solver_entry(rows, str(label), kind, timing)
    return entry


def _solver_entry(rows: pd.DataFrame, label: str, kind: str,
                  timing: pd.DataFrame) -> dict[str, Any]:
    """One solver's figures over the sub-problems of one decision type."""
    tts_wall = []
    if not timing.empty and label != "called":
        t = timing[(timing["solver"] == label) & (timing["decision"] == kind)]
        tts_wall = [float(x) if x is not None else math.inf for x in t["tts99_wall_s"]]
    statuses = {str(k): int(v) for k, v in rows["status"].value_counts().items()}
    objective = pd.to_numeric(rows.get("objective", pd.Series(dtype=float)), errors="coerce")
    reference = pd.to_numeric(rows.get("reference_objective", pd.Series(dtype=float)),
                              errors="coerce")
    gap = ((objective - reference) / np.maximum(1.0, reference.abs())).dropna()
    return {
        "n": int(rows.shape[0]),
        "statuses": statuses,
        "result_ratio_mean": _mean(rows, "ratio"),
        "gap_to_milp_mean": float(gap.mean()) if not gap.empty else None,
        "expected_ratio_mean": _mean(rows, "expected_ratio"),
        "normalised_expected_ratio_mean": _mean(rows, "normalised_expected_ratio"),
        "p_optimal_mean": _mean(rows, "p_optimal"),
        "feasible_share_mean": _mean(rows, "feasible_share"),
        "random_best_ratio_mean": _mean(rows, "random_best_ratio"),
        "random_p_optimal_mean": _mean(rows, "random_p_optimal"),
        "tts99_shots_median": _median_finite(
            [float(x) for x in pd.to_numeric(rows["tts99_shots"], errors="coerce")
             .fillna(math.inf)] if "tts99_shots" in rows else []),
        "tts99_qpu_s_median": _median_finite(
            [float(x) for x in rows["tts99_qpu_s"]] if "tts99_qpu_s" in rows else []),
        "tts99_wall_s_median": _median_finite(tts_wall),
        "qpu_billed_time_s_total": float(pd.to_numeric(
            rows.get("qpu_billed_time_s", pd.Series(dtype=float)),
            errors="coerce").fillna(0).sum()),
        "qpu_cost_total": float(pd.to_numeric(
            rows.get("qpu_cost", pd.Series(dtype=float)), errors="coerce").fillna(0).sum()),
    }


def _size_distribution(compare: pd.DataFrame, small: pd.DataFrame) -> dict[str, Any]:
    """Qubits of every sub-problem the routed solver got (count per size, per decision
    type), and the parts below ``min_qubits`` that the fallback decided instead."""
    first = compare.drop_duplicates("call_id")
    counts = {str(int(q)): int(n) for q, n in first["qubits"].value_counts().sort_index()
              .items()}
    types = sorted(str(k) for k in first["decision"].unique())
    out: dict[str, Any] = {"routed_qubits": counts, "routed_types": types,
                           "routed": _dist(first["qubits"]), "below_min": {}}
    if not small.empty:
        out["below_min"] = {str(int(q)): int(n) for q, n in
                            small["qubits"].value_counts().sort_index().items()}
    return out


def _calls_summary(events: pd.DataFrame, kinds: list[str], kpis: dict[str, Any]
                   ) -> dict[str, Any]:
    """The routed calls: who answered, fallbacks, deadline misses, solver errors."""
    from twin.control.calls import calls_table

    calls = calls_table(events)
    routed = calls[calls["task"].isin(kinds)]
    deadline = routed.get("x_deadline_met")
    return {
        "n": int(routed.shape[0]),
        "answered_by": {str(k): int(v) for k, v in
                        routed["solver_used"].fillna("none").value_counts().items()},
        "fallbacks": int(routed["fallback"].notna().sum()),
        "deadline_misses": int((deadline == False).sum()) if deadline is not None else 0,  # noqa: E712
        "solver_errors": kpis.get("solver_errors"),
    }


def _system_deltas(kpis: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """:data:`SYSTEM_KPIS` of the run against the baseline's."""
    out: dict[str, Any] = {}
    for key, label in SYSTEM_KPIS:
        a, b = kpis.get(key), base.get(key)
        if isinstance(a, int | float) and isinstance(b, int | float):
            out[key] = {"label": label, "run": a, "baseline": b, "delta": float(a) - float(b)}
    return out


def _crossing(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float | None, str]:
    """First ``x`` where the piecewise-linear ``y(x)`` (``x`` ascending) falls to
    ``level``; None with the reason when it does not within the measured range."""
    if y[0] <= level:
        return None, f"already at or below it at the lowest error measured ({x[0]:.3g})"
    for i in range(1, x.size):
        if y[i] <= level:
            t = (y[i - 1] - level) / (y[i - 1] - y[i])
            return float(x[i - 1] + t * (x[i] - x[i - 1])), "interpolated"
    return None, f"still above it at the highest error measured ({x[-1]:.3g})"


def two_qubit_break_even(compare: pd.DataFrame) -> dict[str, Any] | None:
    """The two-qubit error rate at which noisy QAOA falls to random guessing and to each
    classical heuristic, from comparison solvers that ran QAOA under device noise at
    several ``two_qubit_error_scale`` values on the same sub-problems.

    Per noisy label: the mean over sub-problems of ``two_qubit_error_mean`` (x) and of
    ``normalised_expected_ratio`` (y); the break-even rates are where y, linearly
    interpolated between the measured points, falls to 0 (uniform random guessing, its
    exact mean) and to the mean normalised expected ratio each other sampler measured:
    the ``random`` solver (uniform QUBO bits at its shots: 0 plus shot noise) and the
    heuristics (annealing, tabu, greedy when present). None with fewer than two noisy
    labels.
    """
    if "two_qubit_error_mean" not in compare or "normalised_expected_ratio" not in compare:
        return None
    noisy = compare[compare["two_qubit_error_mean"].notna()
                    & compare["normalised_expected_ratio"].notna()]
    points = noisy.groupby("solver")[["two_qubit_error_mean", "normalised_expected_ratio"]] \
        .mean().sort_values("two_qubit_error_mean")
    if points.shape[0] < 2:
        return None
    x = points["two_qubit_error_mean"].to_numpy(float)
    y = points["normalised_expected_ratio"].to_numpy(float)
    out: dict[str, Any] = {
        "points": [{"solver": str(k), "two_qubit_error_mean": float(r.two_qubit_error_mean),
                    "normalised_expected_ratio": float(r.normalised_expected_ratio)}
                   for k, r in points.iterrows()],
        "vs": {},
    }
    levels = {"random guessing": 0.0}
    for label in ("random", "annealing", "tabu", "greedy"):  # measured at their shots
        rows = compare[compare["solver"] == label]
        value = _mean(rows, "normalised_expected_ratio")
        if value is not None:
            levels[label] = value
    for label, level in levels.items():
        rate, how = _crossing(x, y, level)
        out["vs"][label] = {"level": level, "two_qubit_error": rate, "how": how}
    return out


def break_even(report: dict[str, Any]) -> dict[str, Any]:
    """Break-even figures of the routed QAOA against ``milp`` on this run, and how.

    - cost per job: the system cost QAOA's decisions saved against the baseline (a
      saving is a negative cost delta) divided by the billed QPU jobs; 0 when they saved
      nothing (no price makes a solver that does not improve the KPIs worth paying);
    - QPU latency: QAOA matches ``milp`` on latency when its modelled QPU time per call
      is at most ``milp``'s wall time per call; the ratio of the two is given (the QPU
      time model's constants are solvers.qpu's, overridable with ``qpu_costs``);
    - two-qubit error rate: when the run compares QAOA under device noise at several
      ``two_qubit_error_scale`` values (``benchmarks/bench_quantum_breakeven.py``), the
      rate at which its normalised expected ratio falls to random guessing and to each
      classical heuristic (:func:`two_qubit_break_even`); otherwise only the noisy runs'
      result ratio against the ideal ones on the same sub-problems.
    """
    out: dict[str, Any] = {}
    cost = report.get("system", {}).get("energy_cost_eur")
    qaoa_time = milp_time = 0.0
    n_qaoa = n_milp = 0
    jobs = 0.0
    noisy, ideal = [], []
    for entry in report["decisions"].values():
        for name, s in entry["solvers"].items():
            if name.endswith("(routed)"):
                qaoa_time += s["qpu_billed_time_s_total"]
                n_qaoa += s["n"]
                ideal.append(s["result_ratio_mean"])
            elif name == "milp" and s["tts99_wall_s_median"] is not None:
                milp_time += s["tts99_wall_s_median"] * s["n"]
                n_milp += s["n"]
            elif "noisy" in name:
                noisy.append(s["result_ratio_mean"])
        jobs += entry["subproblems"]
    saving = -cost["delta"] if cost is not None else None
    out["cost_per_job_eur"] = (max(saving, 0.0) / jobs + 0.0 if saving is not None and jobs
                               else None)
    out["qpu_time_per_call_s"] = qaoa_time / n_qaoa if n_qaoa else None
    out["milp_wall_per_call_s"] = milp_time / n_milp if n_milp else None
    if out["qpu_time_per_call_s"] and out["milp_wall_per_call_s"]:
        out["qpu_latency_factor_needed"] = out["milp_wall_per_call_s"] / out["qpu_time_per_call_s"]
    ideal_v = [x for x in ideal if x is not None]
    noisy_v = [x for x in noisy if x is not None]
    out["ideal_ratio_mean"] = float(np.mean(ideal_v)) if ideal_v else None
    out["noisy_ratio_mean"] = float(np.mean(noisy_v)) if noisy_v else None
    out["method"] = break_even.__doc__.split("\n\n", 1)[1].strip() if break_even.__doc__ else ""
    return out


def _statements(report: dict[str, Any]) -> list[str]:
    out = []
    for kind, entry in report["decisions"].items():
        solvers = entry["solvers"]
        routed = next((s for n, s in solvers.items() if n.endswith("(routed)")), None)
        if routed is None:
            continue
        best_classical = max((s["result_ratio_mean"] or 0.0 for n, s in solvers.items()
                              if not n.endswith("(routed)") and "qaoa" not in n), default=0.0)
        rnd = solvers.get("random", {}).get("result_ratio_mean")
        if (routed["result_ratio_mean"] or 0.0) <= best_classical + 1e-9:
            out.append(f"{kind}: quantum adds nothing here: the routed QAOA's mean ratio "
                       f"{routed['result_ratio_mean']:.3f} is matched by a classical solver "
                       f"({best_classical:.3f})"
                       + (f"; uniform random sampling at equal shots reaches {rnd:.3f}"
                          if rnd is not None else "") + ".")
    for s in report.get("system", {}).values():
        if abs(s["delta"]) <= 1e-9:
            out.append(f"{s['label']}: identical to the classical baseline.")
        elif s["delta"] > 0:
            out.append(f"{s['label']}: worse than the classical baseline by {s['delta']:.4g}.")
        else:
            out.append(f"{s['label']}: better than the classical baseline by {-s['delta']:.4g}.")
    be = report.get("break_even", {})
    if be.get("cost_per_job_eur") == 0.0:
        out.append("Break-even cost per QPU job: 0 (the decisions saved nothing against the "
                   "baseline, so any price per job is a loss).")
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.4g}"
    return str(value)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown (``value.md``)."""
    lines = [f"# Quantum value report: {report['scenario']}", "",
             f"Run `{report['run']}`" + (f", baseline `{report['baseline']}`"
                                          if report.get("baseline") else ", no baseline") + ".",
             ""]
    sizes = report.get("sizes")
    if sizes:
        lines += ["## Sub-problem sizes", "",
                  f"The routed solver got {sizes['routed']['n']} sub-problems of "
                  f"{_fmt(sizes['routed']['min'])} to {_fmt(sizes['routed']['max'])} qubits "
                  f"from {len(sizes['routed_types'])} decision types "
                  f"({', '.join(sizes['routed_types'])}); count per size (qubits: count) "
                  f"{sizes['routed_qubits']}; below min_qubits, decided by the fallback "
                  f"and not compared: {sizes['below_min'] or 'none'}.", ""]
    for kind, entry in report["decisions"].items():
        q, b = entry["qubits"], entry["binaries"]
        lines += [f"## {kind}", "",
                  f"{entry['subproblems']} sub-problems; qubits min/median/max "
                  f"{_fmt(q['min'])}/{_fmt(q['median'])}/{_fmt(q['max'])}; binaries "
                  f"{_fmt(b['min'])}/{_fmt(b['median'])}/{_fmt(b['max'])}; answered by "
                  f"{entry['answered_by']}.", ""]
        gap = entry.get("gap_to_full_milp")
        if gap:
            lines += [f"Recombined decisions: gap to the full milp optimum median "
                      f"{_fmt(gap['median'])}, max {_fmt(gap['max'])}; infeasible "
                      f"{entry.get('recombined_infeasible', 0)}.", ""]
        lines += ["| solver | n | result ratio | gap to milp | expected ratio | "
                  "normalised expected ratio | P(opt) | random P(opt) at equal shots | "
                  "feasible share | TTS99 [shots] | "
                  "TTS99 QPU [s] | TTS99 wall [s] | QPU time [s] | QPU cost | statuses |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, s in entry["solvers"].items():
            lines.append(
                f"| {name} | {s['n']} | {_fmt(s['result_ratio_mean'])} | "
                f"{_fmt(s.get('gap_to_milp_mean'))} | "
                f"{_fmt(s['expected_ratio_mean'])} | "
                f"{_fmt(s.get('normalised_expected_ratio_mean'))} | "
                f"{_fmt(s['p_optimal_mean'])} | {_fmt(s.get('random_p_optimal_mean'))} | "
                f"{_fmt(s['feasible_share_mean'])} | {_fmt(s.get('tts99_shots_median'))} | "
                f"{_fmt(s['tts99_qpu_s_median'])} | "
                f"{_fmt(s['tts99_wall_s_median'])} | {_fmt(s['qpu_billed_time_s_total'])} | "
                f"{_fmt(s['qpu_cost_total'])} | {s['statuses']} |")
        lines.append("")
    c = report["calls"]
    lines += ["## Routed calls", "",
              f"{c['n']} calls, answered by {c['answered_by']}; fallbacks {c['fallbacks']}, "
              f"deadline misses {c['deadline_misses']}, solver errors "
              f"{_fmt(c['solver_errors'])}.", ""]
    if report["system"]:
        lines += ["## System KPIs against the classical baseline", "",
                  "| KPI | run | baseline | delta |", "|---|---|---|---|"]
        for s in report["system"].values():
            lines.append(f"| {s['label']} | {_fmt(s['run'])} | {_fmt(s['baseline'])} | "
                         f"{_fmt(s['delta'])} |")
        lines.append("")
    be = report["break_even"]
    lines += ["## Break-even", "",
              f"- cost per QPU job at which QAOA would match milp: {_fmt(be['cost_per_job_eur'])} "
              "EUR",
              f"- modelled QPU time per call {_fmt(be['qpu_time_per_call_s'])} s against milp's "
              f"{_fmt(be['milp_wall_per_call_s'])} s wall: the QPU would need to be "
              f"{_fmt(be.get('qpu_latency_factor_needed'))} x its modelled time",
              f"- ideal QAOA ratio {_fmt(be['ideal_ratio_mean'])}, noisy "
              f"{_fmt(be['noisy_ratio_mean'])}",
              ]
    error = be.get("two_qubit_error")
    if error:
        for label, v in error["vs"].items():
            lines.append(f"- two-qubit error rate at which noisy QAOA's normalised expected "
                         f"ratio falls to {label} ({_fmt(v['level'])}): "
                         f"{_fmt(v['two_qubit_error'])} ({v['how']})")
    lines += ["", "How: " + " ".join(be["method"].split()), "", "## In plain words", ""]
    lines += [f"- {s}" for s in report["statements"]] or ["- (nothing to state)"]
    return "\n".join(lines) + "\n"


def write_report(run: str | Path, baseline: str | Path | None = None) -> dict[str, Any]:
    """Compute the report and write ``value.md`` and ``value.json`` into the run folder."""
    report = value_report(run, baseline)
    folder = Path(run)
    (folder / "value.json").write_text(json.dumps(report, indent=1, sort_keys=True,
                                                  default=_json) + "\n")
    (folder / "value.md").write_text(render_markdown(report))
    return report


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
