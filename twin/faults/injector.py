"""The fault injector: one SimPy process per fault, driving the targets it is given.

Public names: :class:`FaultInjector`, :class:`GridFaultTarget`,
:class:`AssetFaultTarget` (what the injector changes), :func:`availability`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from twin.comms.event import EventLog
from twin.faults.schema import AssetTripFault, GridBranchFault, LinkFault, SensorFault
from twin.faults.sensors import MeasurementGuard
from twin.seeding import stream
from twin.simtime import parse_duration_s

if TYPE_CHECKING:  # simpy only at run time
    import simpy

    from twin.comms.model import CommsModel

__all__ = ["AssetFaultTarget", "FaultInjector", "GridFaultTarget", "availability"]

logger = logging.getLogger(__name__)


@runtime_checkable
class GridFaultTarget(Protocol):
    """What the injector changes for a grid branch fault."""

    def set_branch_in_service(self, table: str, index: int, in_service: bool,
                              time_s: float) -> None:
        """Put a line or trafo out of (or back in) service at ``time_s``. [s]"""
        ...


@runtime_checkable
class AssetFaultTarget(Protocol):
    """What the injector changes for an asset trip."""

    def set_tripped(self, asset: str, tripped: bool) -> None:
        """Trip an asset (it produces and absorbs nothing) or restore it."""
        ...


@dataclass
class FaultInjector:
    """Starts the scenario's faults in an environment and drives their targets.

    Parameters
    ----------
    env
        The environment.
    faults
        The ``faults:`` section.
    seed
        Run seed; each stochastic fault draws from its own named stream
        ``twin.seeding.stream(seed, "fault", kind, target, index)``.
    events
        Where fault events go.
    comms
        The communication model (for link, service and solver faults).
    grid
        The grid target (for line and trafo outages).
    assets
        The asset target (for trips).
    sensors
        The measurement guard (for sensor faults); one is made if not given.
    """

    env: simpy.Environment
    faults: tuple[Any, ...]
    seed: int
    events: EventLog
    comms: CommsModel | None = None
    grid: GridFaultTarget | None = None
    assets: AssetFaultTarget | None = None
    sensors: MeasurementGuard | None = None
    processes: list[simpy.Process] = field(default_factory=list)
    active: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sensors is None:
            self.sensors = MeasurementGuard(self.events)

    def start(self) -> None:
        """Start one process per fault."""
        from twin.comms.outage import stochastic_process, window_process

        for index, fault in enumerate(self.faults):
            begin, end = self._guarded(fault, *self._actions(index, fault))
            if fault.mtbf_h is not None:
                rng = stream(self.seed, "fault", fault.kind, fault.label, index)
                proc = stochastic_process(self.env, rng, fault.mtbf_h * 3600.0,
                                          fault.mttr_h * 3600.0,
                                          lambda repair_s, b=begin: b(repair_s), end)
            else:
                start_s = float(parse_duration_s(fault.start))
                duration_s = float(parse_duration_s(fault.duration))
                proc = window_process(self.env, start_s, duration_s,
                                      lambda b=begin, d=duration_s: b(d), end)
            self.processes.append(self.env.process(proc))

    def _guarded(self, fault: Any, begin: Callable[[float], None], end: Callable[[], None],
                 ) -> tuple[Callable[[float], None], Callable[[], None]]:
        """Wrap a fault's actions: an error applying it is an event, not a crash."""

        def report(stage: str, exc: Exception) -> None:
            logger.warning("%s of %s on %s failed: %r", stage, fault.kind, fault.label, exc)
            self.events.emit(self.env.now, "fault", "fault_not_applied", fault.label,
                             f"{fault.kind} on {fault.label} could not be applied at its "
                             f"{stage}: {type(exc).__name__}: {exc}",
                             {"fault": fault.kind, "stage": stage})

        def safe_begin(repair_s: float) -> None:
            try:
                begin(repair_s)
            except Exception as exc:  # a fault must never stop the twin
                report("start", exc)

        def safe_end() -> None:
            try:
                end()
            except Exception as exc:  # a fault must never stop the twin
                report("end", exc)

        return safe_begin, safe_end

    def _emit(self, kind: str, fault: Any, message: str, data: Mapping[str, Any]) -> None:
        self.events.emit(self.env.now, "fault", kind, fault.label, message, dict(data))

    def _actions(self, index: int, fault: Any) -> tuple[Callable[[float], None],
                                                        Callable[[], None]]:
        kind = fault.kind
        if isinstance(fault, GridBranchFault):
            table = "line" if kind == "line_outage" else "trafo"

            def begin(repair_s: float) -> None:
                self._emit(f"{kind}_start", fault, f"{fault.label} out of service",
                           {"repair_s": repair_s})
                if self.grid is None:
                    logger.warning("no grid target: %s has no effect", fault.label)
                    return
                self.grid.set_branch_in_service(table, fault.element, False, self.env.now)

            def end() -> None:
                self._emit(f"{kind}_end", fault, f"{fault.label} back in service", {})
                if self.grid is not None:
                    self.grid.set_branch_in_service(table, fault.element, True, self.env.now)

            return begin, end
        if isinstance(fault, AssetTripFault):
            def begin(repair_s: float) -> None:
                self._emit(f"{kind}_start", fault, f"{fault.asset} tripped",
                           {"repair_s": repair_s})
                if self.assets is not None:
                    self.assets.set_tripped(fault.asset, True)

            def end() -> None:
                self._emit(f"{kind}_end", fault, f"{fault.asset} restored", {})
                if self.assets is not None:
                    self.assets.set_tripped(fault.asset, False)

            return begin, end
        if isinstance(fault, SensorFault):
            mode = "stale" if kind == "sensor_stale" else "missing"
            guard = self.sensors
            assert guard is not None

            def begin(repair_s: float) -> None:
                self._emit(f"{kind}_start", fault, f"measurement of {fault.asset} {mode}",
                           {"repair_s": repair_s})
                guard.begin(fault.asset, mode)

            def end() -> None:
                self._emit(f"{kind}_end", fault, f"measurement of {fault.asset} healthy", {})
                guard.end(fault.asset)

            return begin, end
        return self._comms_actions(fault)

    def _comms_actions(self, fault: Any) -> tuple[Callable[[float], None],
                                                  Callable[[], None]]:
        if self.comms is None:
            raise ValueError(f"a {fault.kind} fault needs the communication model")
        kind = fault.kind
        if isinstance(fault, LinkFault):
            net = self.comms.network
            name = fault.link
            if kind == "link_down":
                return (lambda r: net.link_down(name, reason="injected", repair_s=r),
                        lambda: net.link_up(name, reason="injected"))
            if kind == "latency_spike":
                extra = float(fault.extra_ms)
                return (lambda r: net.begin_latency_spike(name, extra, reason="injected"),
                        lambda: net.end_latency_spike(name, extra, reason="injected"))
            loss = float(fault.loss_prob)
            return (lambda r: net.begin_loss_burst(name, loss, reason="injected"),
                    lambda: net.end_loss_burst(name, loss, reason="injected"))
        service = self.comms.services[fault.service]
        if kind == "service_outage":
            return (lambda r: service.outage_begin(reason="injected", repair_s=r),
                    lambda: service.outage_end(reason="injected"))
        if kind == "queue_surge":
            extra_s = float(fault.extra_wait_s)
            return (lambda r: service.surge_begin(extra_s), lambda: service.surge_end(extra_s))
        if kind == "solver_error":
            return (lambda r: service.solver_error_begin(), service.solver_error_end)
        factor = float(fault.slowdown_factor)
        return (lambda r: service.slowdown_begin(factor), lambda: service.slowdown_end(factor))


def availability(mtbf_h: float, mttr_h: float) -> float:
    """Long-run availability ``MTBF / (MTBF + MTTR)`` of a stochastic fault. [-]

    Examples
    --------
    >>> availability(99.0, 1.0)
    0.99
    """
    if not (math.isfinite(mtbf_h) and math.isfinite(mttr_h)) or mtbf_h <= 0 or mttr_h <= 0:
        raise ValueError("mtbf_h and mttr_h must be finite and > 0")
    return mtbf_h / (mtbf_h + mttr_h)
