"""Fault injection: the ``faults:`` section of a scenario and the processes that run it.

Every fault is scheduled (``start`` and ``duration``) or stochastic (``mtbf_h`` and
``mttr_h``: exponential up and down times from the fault's own seeded stream). Every
fault start and end, and every reaction, is an event for ``events.parquet``.

Fault kinds
-----------
grid
    ``line_outage``, ``trafo_outage`` (``element``: pandapower index; a topology
    change: loads cut off from every external grid lose supply, recorded as
    interruptions for the IEEE 1366 indices and unserved energy);
    ``generator_trip``, ``pv_trip``, ``battery_trip`` (``asset``: a scenario asset of
    that kind; it produces or absorbs nothing until restored).
comms
    ``link_down``, ``latency_spike`` (``extra_ms``), ``loss_burst`` (``loss_prob``)
    on a link of ``comms.links``.
service
    ``service_outage``, ``queue_surge`` (``extra_wait_s``) on a service of
    ``comms.services``.
sensor
    ``sensor_stale`` (the measurement freezes), ``sensor_missing`` (no measurement) of
    an asset: the controller uses its last good value, or an estimate, and says so
    (:class:`MeasurementGuard`).
solver
    ``solver_error`` (jobs fail), ``solver_timeout`` (jobs run ``slowdown_factor``
    times longer and hit the time-out) at a service.

Layout (one module per sub-domain)
----------------------------------
schema      the ``faults:`` models (pure pydantic; the scenario schema imports it)
checks      names and grid elements faults refer to (``check_fault_references``,
            ``check_grid_elements``)
topology    grid-side targets: ``PandapowerTopology`` (branch outages, supply
            tracking, interruptions), ``ElementTrips`` (asset trips on the power-flow
            model's ``tripped`` mask)
sensors     ``MeasurementGuard`` (stale/missing measurements) and ``SensedFamily``
            (the controller's view of a family through the guard)
injector    ``FaultInjector``: one process per fault driving the targets it is given
            (``GridFaultTarget``, ``AssetFaultTarget``, the comms model, the guard)
wiring      ``build_run_faults`` / ``RunFaults``: a run's comms gateway and faults,
            built for the engine before the controller and started after it

What it may import
------------------
numpy, pydantic, pandapower (topology, lazily), :mod:`twin.errors`,
:mod:`twin.simtime`, :mod:`twin.seeding`, :mod:`twin.reliability`, and the public API
of :mod:`twin.comms` (``EventLog``, the outage processes, ``CommsModel`` and, in
``wiring``, ``CommsGateway``; comms never imports faults). Never the engine, the
controllers or an asset family: the engine hands the injector its targets. The package
imports simpy only at run time (``schema`` must stay light for the scenario schema).

Public names are re-exported here: :data:`FaultSpec`, :data:`FaultsSpec`,
:data:`FAULT_KINDS`, :func:`check_fault_references`, :func:`check_grid_elements`,
:class:`FaultInjector`, :class:`GridFaultTarget`, :class:`AssetFaultTarget`,
:func:`availability`, :class:`PandapowerTopology`, :class:`ElementTrips`,
:class:`MeasurementGuard`, :class:`SensedFamily`, :class:`RunFaults`,
:func:`build_run_faults`.
"""

from __future__ import annotations

from twin.faults.checks import check_fault_references, check_grid_elements
from twin.faults.injector import (
    AssetFaultTarget,
    FaultInjector,
    GridFaultTarget,
    availability,
)
from twin.faults.schema import (
    FAULT_KINDS,
    AssetTripFault,
    FaultSpec,
    FaultsSpec,
    GridBranchFault,
    LinkFault,
    SensorFault,
    ServiceFault,
)
from twin.faults.sensors import MeasurementGuard, SensedFamily
from twin.faults.topology import ElementTrips, PandapowerTopology
from twin.faults.wiring import RunFaults, build_run_faults

__all__ = [
    "FAULT_KINDS",
    "AssetFaultTarget",
    "AssetTripFault",
    "ElementTrips",
    "FaultInjector",
    "FaultSpec",
    "FaultsSpec",
    "GridBranchFault",
    "GridFaultTarget",
    "LinkFault",
    "MeasurementGuard",
    "PandapowerTopology",
    "RunFaults",
    "SensedFamily",
    "SensorFault",
    "ServiceFault",
    "availability",
    "build_run_faults",
    "check_fault_references",
    "check_grid_elements",
]
