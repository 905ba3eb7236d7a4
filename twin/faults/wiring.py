"""The comms model and faults of one run, built for the engine: :func:`build_run_faults`.

Public names: :class:`RunFaults`, :func:`build_run_faults`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.comms.event import EventLog
from twin.faults.injector import FaultInjector
from twin.faults.schema import SensorFault
from twin.faults.sensors import SENSED_FIELDS, MeasurementGuard, SensedFamily
from twin.faults.topology import ElementTrips, PandapowerTopology

if TYPE_CHECKING:
    import simpy

    from twin.comms.model import CommsModel

__all__ = ["RunFaults", "build_run_faults"]


@dataclass
class RunFaults:
    """The communication model and the faults of one run (:func:`build_run_faults`).

    Built before the controller, so the engine can hand the controller its gateway,
    the comms model, the injector and the sensed family views in its
    :class:`twin.control.ControlContext`; :meth:`start` then starts the comms model's
    and the faults' processes once the controller and grid processes exist.
    """

    events: EventLog
    """Fault, grid and control events (echoed to the recorder)."""
    injector: FaultInjector
    """The faults (their processes run after :meth:`start`)."""
    topology: PandapowerTopology
    """Supply tracking for the reliability indices."""
    sensors: MeasurementGuard
    """Stale and missing measurements."""
    gateway: Any = None
    """The :class:`twin.comms.gateway.CommsGateway`, when ``comms.enabled``."""
    controller_families: dict[str, Any] = field(default_factory=dict)
    """Asset kind -> what the controller reads: the family itself, or its
    :class:`SensedFamily` view when one of its assets has a sensor fault."""

    @property
    def comms(self) -> CommsModel | None:
        """The runtime communication model (None without ``comms.enabled``)."""
        return self.gateway.model if self.gateway is not None else None

    def start(self) -> None:
        """Start the comms model's declared outages, then one process per fault."""
        if self.gateway is not None:
            self.gateway.start()
        self.injector.start()

    def kpis(self, end_s: float) -> dict[str, float | None]:
        """Reliability (IEEE 1366), fault counts and comms KPIs at the run's end. [s]"""
        from twin.reliability import reliability_indices

        self.topology.close(end_s)
        out: dict[str, float | None] = {}
        served = self.topology.customers_served
        if served > 0:
            for key, value in reliability_indices(self.topology.interruptions, served).items():
                out[f"reliability_{key}"] = value
        starts = [e for e in self.events.records if e["category"] == "fault"
                  and (e["kind"].endswith("_start") or e["kind"] == "link_down")]
        out["faults_started"] = float(len(starts))
        if self.gateway is not None:
            starts_comms = [e for e in self.gateway.events.records if e["category"] == "fault"
                            and (e["kind"].endswith("_start") or e["kind"] == "link_down")]
            out["faults_started"] = float(len(starts) + len(starts_comms))
            out.update(self.gateway.kpis())
        return out


def build_run_faults(
    scenario: Any,
    *,
    env: simpy.Environment,
    seed: int,
    recorder: Any,
    net: Any,
    model: Any,
    injections: Any,
    families: Mapping[str, Any],
) -> RunFaults | None:
    """The communication model and the faults of a scenario, built but not started.

    Without ``comms.enabled`` and without faults it returns None (the run is exactly
    the run without this module). Otherwise: with ``comms.enabled`` a
    :class:`~twin.comms.gateway.CommsGateway` (every solver call of the controller
    crosses the modelled network); grid branch faults switch the power-flow model
    (:meth:`twin.grid.PowerFlowModel.set_branch_in_service`); asset trips zero the
    asset's grid element (:class:`ElementTrips`); families of assets with sensor
    faults are seen by the controller through a :class:`SensedFamily`
    (:attr:`RunFaults.controller_families`; ``families`` itself is not changed).
    Nothing runs until :meth:`RunFaults.start`.

    Raises
    ------
    twin.errors.ScenarioError
        When the ``comms:`` section cannot be built (a trace file, a route), naming
        the field.
    """
    comms = getattr(scenario, "comms", None)
    enabled = comms is not None and comms.enabled
    if not enabled and not scenario.faults:
        return None

    def sink(record: dict[str, Any]) -> None:
        recorder.event(record["time_s"], record["category"], record["kind"],
                       record["entity"], record["message"], record["data"])

    events = EventLog(sink)
    gateway = _comms_gateway(scenario, env, seed, recorder) if enabled else None
    load_slice = model.element_slices["load"]
    topology = PandapowerTopology(
        net, events, switch=model.set_branch_in_service,
        load_p_mw=lambda: np.asarray(injections.p_mw[load_slice], dtype=float),
        dark_buses=model.unenergised_buses,
    )
    if scenario.faults:  # supply follows every change of the model (formers, PCC) too
        model.change_listeners.append(lambda reason: topology.changed(reason, float(env.now)))
    sensors = MeasurementGuard(events)
    injector = FaultInjector(
        env, tuple(scenario.faults), seed, events,
        comms=gateway.model if gateway is not None else None,
        grid=topology, assets=ElementTrips(model, families), sensors=sensors,
    )
    sensed = {f.asset for f in scenario.faults if isinstance(f, SensorFault)}
    viewed = dict(families)
    for kind, family in families.items():
        if kind in SENSED_FIELDS and sensed & set(getattr(family, "names", ())):
            viewed[kind] = SensedFamily(family, kind, sensors, lambda: float(env.now))
    return RunFaults(events, injector, topology, sensors, gateway, viewed)


def _comms_gateway(scenario: Any, env: simpy.Environment, seed: int, recorder: Any) -> Any:
    """The run's :class:`~twin.comms.gateway.CommsGateway` (not started)."""
    from pathlib import Path

    from twin.comms.gateway import CommsGateway
    from twin.errors import ScenarioError

    source = getattr(scenario, "source", "<scenario>")
    base_dir = Path(source).parent if source != "<scenario>" else None
    try:
        return CommsGateway(env, scenario.comms, seed, recorder, base_dir=base_dir,
                            start=False)
    except ValueError as exc:
        path, _, message = str(exc).partition(": ")
        if not path.startswith("comms"):
            path, message = "comms", str(exc)
        raise ScenarioError.single(source, path, message) from None
