r"""Modelled QPU time and cost of a variational run: every circuit evaluation billed.

A variational algorithm (QAOA) on a real device runs one job per optimiser
evaluation, each of ``shots`` shots, plus the final sampling job. This module
prices that whole loop:

.. math::

    t_\mathrm{QPU} = E \cdot S \cdot (t_\mathrm{circuit} + t_\mathrm{rep}), \qquad
    t_\mathrm{billed} = t_\mathrm{QPU} + \begin{cases}
        E \cdot t_\mathrm{job} & \text{per-job billing} \\
        t_\mathrm{session} + E \cdot t_\mathrm{job,session} & \text{session billing}
    \end{cases}, \qquad
    \mathrm{cost} = t_\mathrm{billed} \cdot c_\mathrm{s} + N_\mathrm{jobs} \cdot c_\mathrm{job}

with :math:`E` the circuit evaluations billed (optimiser evaluations on the
quantum state plus the final sampling run; the classical p = 1 closed-form grid
search is pre-processing and not billed), :math:`S` the shots and
:math:`t_\mathrm{circuit}` the scheduled duration of the transpiled circuit
from the device's gate times (``QuantumCircuit.estimate_duration(target)`` on a
qiskit-ibm-runtime fake backend's ``Target``), or, without a device, the depth
model ``d2 * gate_2q_s + (depth - d2) * gate_1q_s + readout_s``.

Defaults (:data:`DEFAULT_QPU_COSTS`; every one overridable): IBM Heron-like gate
times ``gate_1q_s = 32e-9``, ``gate_2q_s = 68e-9``, ``readout_s = 1.56e-6``;
``rep_delay_s = 250e-6`` (IBM's default repetition delay); ``job_overhead_s = 2.0``
(an assumption: job submission, compilation and result transfer, no queue);
``session_overhead_s = 5.0`` and ``job_overhead_in_session_s = 0.2`` (assumptions
for a reserved session: one set-up, then cheap jobs); ``price_per_qpu_s = 1.60``
(IBM Quantum Platform pay-as-you-go list price, USD 96 per QPU minute, 2024) and
``price_per_job = 0.0``; ``billing = "job"``.

Public names: :data:`DEFAULT_QPU_COSTS`, :func:`qpu_costs`, :func:`circuit_duration_s`,
:func:`loop_cost`.

Examples
--------
>>> out = loop_cost(evaluations=10, shots=1000, circuit_s=1e-6,
...                 costs=qpu_costs({"rep_delay_s": 0.0, "job_overhead_s": 1.0}))
>>> round(out["qpu_loop_time_s"], 6), round(out["qpu_billed_time_s"], 6)
(0.01, 10.01)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_QPU_COSTS", "circuit_duration_s", "loop_cost", "qpu_costs"]

logger = logging.getLogger(__name__)

#: Constants of the QPU time and cost model (module docstring). Units in the names.
DEFAULT_QPU_COSTS: Mapping[str, Any] = {
    "gate_1q_s": 32e-9,
    "gate_2q_s": 68e-9,
    "readout_s": 1.56e-6,
    "rep_delay_s": 250e-6,
    "job_overhead_s": 2.0,
    "session_overhead_s": 5.0,
    "job_overhead_in_session_s": 0.2,
    "price_per_qpu_s": 1.60,
    "price_per_job": 0.0,
    "billing": "job",
}

_BILLING = ("job", "session")


def qpu_costs(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:data:`DEFAULT_QPU_COSTS` with ``overrides`` applied and checked.

    Raises
    ------
    ValueError
        An unknown key, a negative or non-finite number, or an unknown billing mode.
    """
    out = dict(DEFAULT_QPU_COSTS)
    extra = set(overrides or {}) - set(out)
    if extra:
        raise ValueError(f"QPU cost keys {sorted(extra)} unknown; known: {list(out)}")
    out.update(overrides or {})
    for key, value in out.items():
        if key == "billing":
            if value not in _BILLING:
                raise ValueError(f"billing must be one of {_BILLING}, got {value!r}")
            continue
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"QPU cost {key} must be a finite number >= 0, got {value!r}")
    return out


def circuit_duration_s(circuit: Any, target: Any = None,
                       costs: Mapping[str, Any] = DEFAULT_QPU_COSTS) -> tuple[float, str]:
    """Duration of one shot of ``circuit`` [s] and how it was found.

    From the device ``target``'s gate durations when given (``"device target"``),
    else the depth model of the module docstring (``"depth model"``).
    """
    if target is not None:
        try:
            return float(circuit.estimate_duration(target, unit="s")), "device target"
        except Exception as exc:  # durations missing for some gate
            logger.debug("estimate_duration failed (%s); using the depth model", exc)
    depth = int(circuit.depth())
    d2 = int(circuit.depth(lambda inst: inst.operation.num_qubits == 2))
    return (d2 * costs["gate_2q_s"] + (depth - d2) * costs["gate_1q_s"] + costs["readout_s"],
            "depth model")


def loop_cost(*, evaluations: int, shots: int, circuit_s: float,
              costs: Mapping[str, Any] = DEFAULT_QPU_COSTS) -> dict[str, Any]:
    """QPU time and cost of ``evaluations`` jobs of ``shots`` shots each (module docstring).

    Returns
    -------
    dict
        ``qpu_jobs``, ``qpu_loop_time_s`` (shots only), ``qpu_overhead_s``,
        ``qpu_billed_time_s`` (the two together), ``qpu_cost`` [USD by default],
        ``qpu_billing``.
    """
    e = int(evaluations)
    shot_time = e * int(shots) * (float(circuit_s) + costs["rep_delay_s"])
    if costs["billing"] == "session":
        overhead = costs["session_overhead_s"] + e * costs["job_overhead_in_session_s"]
    else:
        overhead = e * costs["job_overhead_s"]
    billed = shot_time + overhead
    return {
        "qpu_jobs": e,
        "qpu_loop_time_s": shot_time,
        "qpu_overhead_s": overhead,
        "qpu_billed_time_s": billed,
        "qpu_cost": billed * costs["price_per_qpu_s"] + e * costs["price_per_job"],
        "qpu_billing": costs["billing"],
    }
