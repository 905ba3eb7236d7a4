"""The communication model: links, routes, solver services and the caller.

Every solver call the controller makes can cross a modelled network (links with
latency, jitter, loss, bandwidth and outages; routes with failover) to a modelled
service (session overhead, queue, execution time, cost, quotas, outages), under a
deadline, with retries, a fallback chain and hedging. All of it runs in simulated
time and is seeded.

Submodules
----------
latency     latency distributions (constant, normal, lognormal from median/p99, trace)
link        link parameters and the crossing of one hop
outage      scheduled windows and MTBF/MTTR failure processes
network     the networkx graph, routes and failover
execution   modelled busy time of a solved problem
service     a solver service: admission, queue, execution, outages
presets     the five service presets and their stated assumptions
task        control tasks: solver steps, hedging, hybrid steps, fallbacks
outcome     what a call produced: ``CallOutcome``, ``AttemptRecord``, failure reasons
call        the caller running a task's fallback chain
spec        the ``comms:`` section of a scenario (pure pydantic; the schema imports it)
model       the runtime model built from the section (``build_comms``, ``CommsModel``)
kpi         per-call KPIs: latency split, percentiles, misses, fallbacks, cost, energy
gateway     :class:`CommsGateway`, the controller's solver calls over the model
event       the event log every part writes to

What it may import
------------------
numpy, simpy, networkx, pydantic, :mod:`solvers` (the ``Solver`` protocol and the
registry), :mod:`twin.seeding`, :mod:`twin.simtime`, :mod:`twin.limits` (bounded
trace reading), and of the controller only its
solver-call interface :mod:`twin.control.calls` (the gateway implements it). Never the
engine, the faults (faults drive comms through its public methods), an asset family or
the grid. ``spec`` stays light (no simpy, no networkx) for the scenario schema; the
package's names are imported lazily below for the same reason.

Event kinds (``events.parquet``)
--------------------------------
fault:   link_down, link_up, latency_spike_start/_end, loss_burst_start/_end,
         service_outage_start/_end, queue_surge_start/_end, solver_error_start/_end,
         solver_timeout_start/_end
route:   route_failover, route_failback, route_unavailable, route_restored
service: job_rejected, job_aborted, solver_error, solver_timeout
call:    attempt, retry, fallback, hedge_winner, deadline_missed, call
"""

from __future__ import annotations

__all__ = [
    "PATTERNS",
    "AttemptRecord",
    "CallOutcome",
    "Caller",
    "ControlTask",
    "EventLog",
    "FallbackStep",
    "HedgeStep",
    "HybridStep",
    "Network",
    "NetworkParams",
    "Service",
    "ServiceParams",
    "SolverStep",
]

_HOMES = {
    "PATTERNS": "task", "ControlTask": "task", "FallbackStep": "task", "HedgeStep": "task",
    "HybridStep": "task", "SolverStep": "task", "AttemptRecord": "outcome",
    "CallOutcome": "outcome", "Caller": "call", "EventLog": "event", "Network": "network",
    "NetworkParams": "network", "Service": "service", "ServiceParams": "service",
}


def __getattr__(name: str) -> object:
    """Import public names lazily: ``import twin.comms.spec`` (the scenario schema)
    must not pull in simpy or networkx."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"twin.comms.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'twin.comms' has no attribute {name!r}")
