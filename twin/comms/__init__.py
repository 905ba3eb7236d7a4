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
service     the five kinds of service and their presets
task        control tasks: solver steps, hedging, hybrid steps, fallbacks
call        the caller running a task's fallback chain
spec        the ``comms:`` section of a scenario and its build into runtime objects
kpi         per-call KPIs: latency split, percentiles, misses, fallbacks, cost, energy
gateway     :class:`CommsGateway`, the solver-call seam of the controller

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
    "HybridStep": "task", "SolverStep": "task", "AttemptRecord": "call",
    "CallOutcome": "call", "Caller": "call", "EventLog": "event", "Network": "network",
    "NetworkParams": "network", "Service": "service", "ServiceParams": "service",
}


def __getattr__(name: str) -> object:
    """Import public names lazily: ``import twin.comms.spec`` (the scenario schema)
    must not pull in simpy or networkx."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"twin.comms.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'twin.comms' has no attribute {name!r}")
