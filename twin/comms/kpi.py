"""Per-call KPIs of the communication model: latency split, percentiles, deadline
misses, fallbacks by reason, cost, compute energy, and quality lost to fallbacks.

Each call becomes one flat row (:func:`call_row`); the KPIs are computed from rows, so
they work the same on live :class:`~twin.comms.outcome.CallOutcome` objects and on rows
read back from a run's ``events.parquet``.

Public names
------------
percentile
    Percentile with linear interpolation between order statistics (numpy's default).
call_row
    One call as a flat dict of scalars.
call_kpis
    The KPI dict of a set of calls (overall and per pattern).
quality_lost
    Objective lost to faults and fallbacks against a fault-free run of the same calls.
LATENCY_PARTS
    The components the latency is split into.

Notes
-----
**Latency split.** A call's latency is split into the phases of the attempt whose
answer is used: ``connect`` (session set-up), ``serialisation`` (request bits on the
wire, all hops), ``network`` (request propagation, jitter, spikes, retransmission
waits), ``queue``, ``execution`` and ``return`` (the response, serialisation and
network). ``lost_s`` is the rest: time spent on failed attempts, back-off waits and
edge work of hybrid steps before the answer. For a call answered by a non-solver
fallback every second is ``lost_s``. The parts add up to the latency.

**Fallback rate by reason.** A call *falls back* when the first step of its chain
gave no answer; its reason is the first step's failure reason. The rate is the number
of such calls over all calls.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from twin.comms.outcome import CallOutcome

__all__ = ["LATENCY_PARTS", "call_kpis", "call_row", "percentile", "quality_lost"]

LATENCY_PARTS: tuple[str, ...] = (
    "connect_s", "serialisation_s", "network_s", "queue_s", "execution_s", "return_s",
    "lost_s",
)
"""Components of a call's latency (see the module notes). [s]"""


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile, linear interpolation between order statistics.

    Parameters
    ----------
    values
        Samples (e.g. latencies). [any unit]
    q
        Percentile in [0, 100].

    Returns
    -------
    float or None
        With sorted samples ``x_0 <= ... <= x_{n-1}``, position ``h = (n - 1) q / 100``
        and ``x_floor(h) + (h - floor(h)) (x_ceil(h) - x_floor(h))``; None if empty.

    Examples
    --------
    >>> percentile(range(1, 11), 50)
    5.5
    >>> round(percentile(range(1, 11), 95), 6)
    9.55
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q!r}")
    data = sorted(float(v) for v in values)
    if not data:
        return None
    h = (len(data) - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (h - lo) * (data[hi] - data[lo])


def call_row(outcome: CallOutcome) -> dict[str, Any]:
    """One call as a flat row of scalars (the per-call table).

    Parameters
    ----------
    outcome
        A finished call.

    Returns
    -------
    dict
        ``call_id, task, pattern, status, used_step, solver, route, start_s, end_s,
        latency_s``, the :data:`LATENCY_PARTS`, ``attempts, retransmissions,
        deadline_met, deadline_missed, fell_back, fallback_reason, reasons, cost_eur,
        energy_j, objective``.
    """
    used = outcome.used_attempt
    parts = dict.fromkeys(LATENCY_PARTS, 0.0)
    if used is not None:
        for name in LATENCY_PARTS[:-1]:
            parts[name] = float(getattr(used, name))
    parts["lost_s"] = max(0.0, outcome.latency_s - sum(parts.values()))
    chain_first = outcome.used_index != 0 or outcome.status != "solved"
    first_reason = outcome.fallback_reasons[0][1] if outcome.fallback_reasons else None
    objective = getattr(outcome.result, "objective", None) if outcome.result is not None else None
    return {
        "call_id": outcome.call_id,
        "task": outcome.task,
        "pattern": outcome.pattern,
        "status": outcome.status,
        "used_step": outcome.used_step,
        "solver": outcome.solver,
        "route": outcome.route,
        "start_s": outcome.start_s,
        "end_s": outcome.end_s,
        "latency_s": outcome.latency_s,
        **parts,
        "attempts": len(outcome.attempts),
        "retransmissions": sum(a.retransmissions for a in outcome.attempts),
        "deadline_met": outcome.deadline_met,
        "deadline_missed": not outcome.deadline_met,
        "fell_back": bool(chain_first),
        "fallback_reason": first_reason if chain_first else None,
        "reasons": ";".join(f"{step}:{reason}" for step, reason in outcome.fallback_reasons),
        "cost_eur": outcome.cost_eur,
        "energy_j": outcome.energy_j,
        "objective": float(objective) if isinstance(objective, int | float) else None,
    }


def _group_kpis(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    n = len(rows)
    latencies = [float(r["latency_s"]) for r in rows]
    out: dict[str, float | None] = {
        "calls": float(n),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "latency_p99_s": percentile(latencies, 99),
        "latency_mean_s": float(np.mean(latencies)) if n else None,
    }
    for part in LATENCY_PARTS:
        out[f"mean_{part}"] = float(np.mean([float(r[part]) for r in rows])) if n else None
    misses = sum(1 for r in rows if r["deadline_missed"])
    fell = sum(1 for r in rows if r["fell_back"])
    total_cost = float(sum(float(r["cost_eur"]) for r in rows))
    total_energy = float(sum(float(r["energy_j"]) for r in rows))
    out.update({
        "deadline_miss_rate": misses / n if n else None,
        "fallback_rate": fell / n if n else None,
        "solved_rate": sum(1 for r in rows if r["status"] == "solved") / n if n else None,
        "cost_total_eur": total_cost,
        "cost_per_query_eur": total_cost / n if n else None,
        "energy_total_j": total_energy,
        "energy_per_call_j": total_energy / n if n else None,
    })
    reasons = Counter(str(r["fallback_reason"]) for r in rows if r["fell_back"])
    for reason, count in sorted(reasons.items()):
        out[f"fallback_rate_{reason}"] = count / n
    return out


def call_kpis(rows: Iterable[Mapping[str, Any] | CallOutcome]) -> dict[str, float | None]:
    """KPIs of a set of calls, overall and per integration pattern.

    Parameters
    ----------
    rows
        Rows from :func:`call_row` (or outcomes, converted).

    Returns
    -------
    dict
        Flat, names with units: ``calls``, ``latency_p50_s``/``p95``/``p99``,
        ``mean_<part>`` for each :data:`LATENCY_PARTS`, ``deadline_miss_rate``,
        ``fallback_rate`` and ``fallback_rate_<reason>``, ``cost_total_eur``,
        ``cost_per_query_eur``, ``energy_total_j``, ``energy_per_call_j``; then the
        same prefixed ``<pattern>.`` for each pattern present.

    Examples
    --------
    >>> rows = [dict(latency_s=1.0, deadline_missed=False, fell_back=False,
    ...              fallback_reason=None, status="solved", cost_eur=0.6, energy_j=10.0,
    ...              pattern="cloud", **dict.fromkeys(LATENCY_PARTS, 0.0)),
    ...         dict(latency_s=3.0, deadline_missed=True, fell_back=True,
    ...              fallback_reason="timeout", status="solved", cost_eur=0.0,
    ...              energy_j=0.0, pattern="cloud", **dict.fromkeys(LATENCY_PARTS, 0.0))]
    >>> k = call_kpis(rows)
    >>> k["cost_per_query_eur"], k["deadline_miss_rate"], k["fallback_rate_timeout"]
    (0.3, 0.5, 0.5)
    """
    table = [call_row(r) if isinstance(r, CallOutcome) else r for r in rows]
    out = _group_kpis(table)
    patterns = sorted({str(r.get("pattern")) for r in table if r.get("pattern")})
    for pattern in patterns:
        group = [r for r in table if r.get("pattern") == pattern]
        for key, value in _group_kpis(group).items():
            out[f"{pattern}.{key}"] = value
    return out


def quality_lost(
    rows: Iterable[Mapping[str, Any]],
    baseline: Iterable[Mapping[str, Any]],
    *,
    sense: str = "min",
) -> dict[str, float | None]:
    """Objective lost to faults and fallbacks, call by call, against a fault-free run.

    Calls are matched by ``call_id`` (the same scenario and seed make the same calls at
    the same times, and solver seeds depend on the call number only).

    Parameters
    ----------
    rows
        Per-call rows of the run with faults.
    baseline
        Per-call rows of the same run without faults.
    sense
        ``"min"`` (lower is better) or ``"max"``.

    Returns
    -------
    dict
        ``quality_calls_compared``; ``quality_loss_total`` (sum over matched calls
        with an objective in both runs of the objective worsening, in the problem's
        units); ``quality_loss_mean`` (per such call); ``quality_loss_mean_frac``
        (mean of ``loss / |baseline objective|`` over calls with a non-zero baseline);
        ``quality_calls_unanswered`` (calls answered in the baseline by a solver but
        by a non-solver fallback, or not at all, with faults).

    Examples
    --------
    >>> base = [{"call_id": "d#1", "objective": 10.0}, {"call_id": "d#2", "objective": 8.0}]
    >>> run = [{"call_id": "d#1", "objective": 12.0}, {"call_id": "d#2", "objective": None}]
    >>> q = quality_lost(run, base)
    >>> q["quality_loss_total"], q["quality_loss_mean_frac"], q["quality_calls_unanswered"]
    (2.0, 0.2, 1.0)
    """
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    sign = 1.0 if sense == "min" else -1.0
    base = {r["call_id"]: r.get("objective") for r in baseline}
    losses: list[float] = []
    fracs: list[float] = []
    unanswered = 0
    for row in rows:
        if row["call_id"] not in base:
            continue
        ref, got = base[row["call_id"]], row.get("objective")
        if ref is None:
            continue
        if got is None:
            unanswered += 1
            continue
        loss = sign * (float(got) - float(ref))
        losses.append(loss)
        if float(ref) != 0.0:
            fracs.append(loss / abs(float(ref)))
    return {
        "quality_calls_compared": float(len(losses)),
        "quality_loss_total": float(sum(losses)),
        "quality_loss_mean": float(np.mean(losses)) if losses else None,
        "quality_loss_mean_frac": float(np.mean(fracs)) if fracs else None,
        "quality_calls_unanswered": float(unanswered),
    }
