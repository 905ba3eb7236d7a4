"""The five service presets, each with its default assumptions stated in its docstring.

:func:`cloud_quantum_service`, :func:`edge_compute_node`,
:func:`cloud_classical_solver`, :func:`simulation_service`, :func:`on_device_qpu`
return a :class:`~twin.comms.service.ServiceParams`; keyword arguments override any
field. The ``comms:`` section's ``preset`` names them (:data:`PRESETS`).

Public names: the five presets, :data:`PRESETS`, :data:`ON_DEVICE_CAPEX_EUR`,
:data:`ON_DEVICE_LIFETIME_S`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from twin.comms.execution import ClassicalExecution, QpuExecution, StatevectorExecution
from twin.comms.latency import LognormalLatency
from twin.comms.service import ServiceParams

__all__ = [
    "ON_DEVICE_CAPEX_EUR",
    "ON_DEVICE_LIFETIME_S",
    "PRESETS",
    "cloud_classical_solver",
    "cloud_quantum_service",
    "edge_compute_node",
    "on_device_qpu",
    "simulation_service",
]


def cloud_quantum_service(name: str = "cloud_qpu", node: str = "qpu_cloud",
                          **overrides: Any) -> ServiceParams:
    """A cloud quantum service (a superconducting QPU behind a job API).

    Default assumptions (stated, not measured; override any field):

    - session: TLS connect 100 ms, token authentication 250 ms, session 1 h;
    - queue: lognormal external wait, median 30 s, p99 10 min (shared public device);
      one job executes at a time; at most 10 of our jobs admitted;
    - execution: :class:`QpuExecution`, 1 s per job plus the solver's modelled QPU time
      of its final sampling job (else 250 us a shot, i.e. ~4,000 shots/s with reset
      and readout); billed shots: the final job's shots;
    - price: 0.30 EUR per job and 0.00035 EUR per shot (the form of public per-task
      plus per-shot price lists in 2024-2025);
    - rate limit 5 requests/s (burst 5); the service stops jobs after 1 h;
    - power 25 kW while busy (cryostat, compressors and control electronics).
    """
    base = ServiceParams(
        name=name,
        node=node,
        kind="cloud_quantum",
        execution=QpuExecution(job_overhead_s=1.0, shot_time_s=250e-6),
        connect_ms=100.0,
        auth_ms=250.0,
        session_ttl_s=3600.0,
        queue_wait=LognormalLatency(median_ms=30_000.0, p99_ms=600_000.0),
        concurrency=1,
        queue_capacity=10,
        max_execution_s=3600.0,
        cost_per_job_eur=0.30,
        cost_per_shot_eur=0.00035,
        rate_limit_per_s=5.0,
        rate_limit_burst=5,
        power_w=25_000.0,
        request_overhead_bytes=20_000,
    )
    return replace(base, **overrides)


def edge_compute_node(name: str = "edge", node: str = "gateway",
                      **overrides: Any) -> ServiceParams:
    """An edge compute node at the gateway: local solvers, no queue, no session.

    Default assumptions: an industrial edge PC at a quarter of this machine's speed for
    statevector simulation (:class:`StatevectorExecution` with ``speed_factor=0.25``,
    used for ``qaoa``) and half its speed for classical solvers
    (:class:`ClassicalExecution` with ``speed_factor=0.5``, used for everything else);
    one job at a time; 30 W while busy; no price per job (owned hardware).
    """
    base = ServiceParams(
        name=name,
        node=node,
        kind="edge_compute",
        execution=ClassicalExecution(speed_factor=0.5),
        execution_by_solver={"qaoa": StatevectorExecution(speed_factor=0.25)},
        concurrency=1,
        power_w=30.0,
    )
    return replace(base, **overrides)


def cloud_classical_solver(name: str = "cloud_milp", node: str = "hpc_cloud",
                           **overrides: Any) -> ServiceParams:
    """A cloud classical optimisation service (MILP as a service).

    Default assumptions: connect 100 ms, authentication 200 ms, session 1 h; a short
    lognormal queue (median 0.5 s, p99 5 s) and 4 jobs in parallel; twice this machine's
    speed (:class:`ClassicalExecution` with ``speed_factor=2``); 0.01 EUR a job plus
    0.0005 EUR per second (about 1.80 EUR an hour of a large VM); 300 W while busy.
    """
    base = ServiceParams(
        name=name,
        node=node,
        kind="cloud_classical",
        execution=ClassicalExecution(speed_factor=2.0),
        connect_ms=100.0,
        auth_ms=200.0,
        session_ttl_s=3600.0,
        queue_wait=LognormalLatency(median_ms=500.0, p99_ms=5_000.0),
        concurrency=4,
        queue_capacity=50,
        max_execution_s=3600.0,
        cost_per_job_eur=0.01,
        cost_per_execution_s_eur=0.0005,
        power_w=300.0,
    )
    return replace(base, **overrides)


def simulation_service(name: str = "cloud_sim", node: str = "sim_cloud",
                       **overrides: Any) -> ServiceParams:
    """A hosted quantum-circuit simulator (statevector on a GPU server).

    Default assumptions: connect 100 ms, authentication 200 ms, session 1 h; lognormal
    queue, median 2 s, p99 60 s; 2 jobs in parallel; four times this machine's
    statevector speed (:class:`StatevectorExecution` with ``speed_factor=4``);
    0.0025 EUR per second (about 9 EUR an hour of a GPU instance); 700 W while busy.
    """
    base = ServiceParams(
        name=name,
        node=node,
        kind="simulation",
        execution=StatevectorExecution(speed_factor=4.0),
        connect_ms=100.0,
        auth_ms=200.0,
        session_ttl_s=3600.0,
        queue_wait=LognormalLatency(median_ms=2_000.0, p99_ms=60_000.0),
        concurrency=2,
        queue_capacity=20,
        max_execution_s=3600.0,
        cost_per_execution_s_eur=0.0025,
        power_w=700.0,
        request_overhead_bytes=20_000,
    )
    return replace(base, **overrides)


ON_DEVICE_CAPEX_EUR = 10_000_000.0
"""Assumed purchase price of an on-device quantum co-processor. [EUR]"""
ON_DEVICE_LIFETIME_S = 5 * 365.25 * 86_400.0
"""Assumed write-off period. [s]"""


def on_device_qpu(name: str = "coprocessor", node: str = "qpu_device",
                  **overrides: Any) -> ServiceParams:
    """A future on-device quantum co-processor next to the controller.

    Default assumptions (a projection, not a product): reached over a local bus (the
    link, not this service, carries the microseconds); no session, no queue; 10 ms
    per-job set-up and 10 us a shot (fast reset and readout); the hardware's price
    written off over its life, ``ON_DEVICE_CAPEX_EUR / ON_DEVICE_LIFETIME_S`` =
    0.063 EUR per busy second; 15 kW while busy (a compact cryostat).
    """
    base = ServiceParams(
        name=name,
        node=node,
        kind="on_device_quantum",
        execution=QpuExecution(job_overhead_s=0.01, shot_time_s=10e-6),
        concurrency=1,
        cost_per_execution_s_eur=ON_DEVICE_CAPEX_EUR / ON_DEVICE_LIFETIME_S,
        power_w=15_000.0,
    )
    return replace(base, **overrides)


PRESETS: dict[str, Callable[..., ServiceParams]] = {
    "cloud_quantum": cloud_quantum_service,
    "edge_compute": edge_compute_node,
    "cloud_classical": cloud_classical_solver,
    "simulation": simulation_service,
    "on_device_quantum": on_device_qpu,
}
"""``comms.services[].preset`` -> preset function."""
