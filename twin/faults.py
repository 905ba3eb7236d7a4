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

Public names
------------
FaultSpec, FaultsSpec
    The scenario models (``faults:`` is a list of fault specs).
check_fault_references
    Problems with names a fault refers to (links, services, assets).
check_grid_elements
    Problems with grid elements (line and trafo indices) a fault refers to.
FaultInjector
    Starts the fault processes in an environment and drives the targets.
GridFaultTarget, AssetFaultTarget
    What the engine gives the injector to change the grid and the assets.
PandapowerTopology
    A :class:`GridFaultTarget` over a pandapower net that tracks which loads are
    supplied and records :class:`~twin.reliability.Interruption` s.
MeasurementGuard
    Stale and missing measurements, and what the controller uses instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.comms.event import EventLog
from twin.errors import Problem
from twin.reliability import Interruption
from twin.seeding import stream
from twin.simtime import parse_duration_s

if TYPE_CHECKING:  # simpy only at run time: the scenario schema imports this module
    import simpy

    from twin.comms.spec import CommsModel

__all__ = [
    "FAULT_KINDS",
    "AssetFaultTarget",
    "ElementTrips",
    "FaultInjector",
    "FaultSpec",
    "FaultsSpec",
    "GridFaultTarget",
    "MeasurementGuard",
    "PandapowerTopology",
    "RunFaults",
    "SensedFamily",
    "build_run_faults",
    "check_fault_references",
    "check_grid_elements",
]

logger = logging.getLogger(__name__)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Timing(_Spec):
    start: str | None = Field(None, description="Start since the scenario start ('18h').")
    duration: str | None = Field(None, description="Length of a scheduled fault ('30min').")
    mtbf_h: float | None = Field(
        None, gt=0, le=1e7, description="Stochastic: mean time between failures. [h]"
    )
    mttr_h: float | None = Field(
        None, gt=0, le=1e5, description="Stochastic: mean time to repair. [h]"
    )

    @field_validator("start", "duration")
    @classmethod
    def _dur(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _mode(self) -> Any:
        scheduled = self.start is not None or self.duration is not None
        stochastic = self.mtbf_h is not None or self.mttr_h is not None
        if scheduled == stochastic:
            raise ValueError(
                "a fault is either scheduled (start and duration) or stochastic "
                "(mtbf_h and mttr_h); give one pair"
            )
        if scheduled and (self.start is None or self.duration is None):
            raise ValueError("a scheduled fault needs both start and duration")
        if stochastic and (self.mtbf_h is None or self.mttr_h is None):
            raise ValueError("a stochastic fault needs both mtbf_h and mttr_h")
        if self.duration is not None and parse_duration_s(self.duration) <= 0:
            raise ValueError("duration must be longer than 0 s")
        return self

    @property
    def label(self) -> str:
        """Name of the fault's target, for events."""
        raise NotImplementedError


class GridBranchFault(_Timing):
    """A line or transformer out of service: a topology change."""

    kind: Literal["line_outage", "trafo_outage"]
    element: int = Field(ge=0, description="pandapower index of the line or trafo.")

    @property
    def label(self) -> str:
        """``line/<index>`` or ``trafo/<index>``."""
        return f"{self.kind.split('_')[0]}/{self.element}"


class AssetTripFault(_Timing):
    """A generator, PV system or battery trips off."""

    kind: Literal["generator_trip", "pv_trip", "battery_trip"]
    asset: str = Field(description="Name of a scenario asset of that kind.")

    @property
    def label(self) -> str:
        """``asset/<name>``."""
        return f"asset/{self.asset}"


class LinkFault(_Timing):
    """A link goes down, slows down or loses messages."""

    kind: Literal["link_down", "latency_spike", "loss_burst"]
    link: str = Field(description="Name of a link in comms.links.")
    extra_ms: float | None = Field(
        None, gt=0, le=3.6e6, description="latency_spike: added delay per crossing. [ms]"
    )
    loss_prob: float | None = Field(
        None, gt=0, le=1, description="loss_burst: loss probability per transmission."
    )

    @model_validator(mode="after")
    def _needs(self) -> LinkFault:
        if self.kind == "latency_spike" and self.extra_ms is None:
            raise ValueError("latency_spike needs extra_ms")
        if self.kind == "loss_burst" and self.loss_prob is None:
            raise ValueError("loss_burst needs loss_prob")
        return self

    @property
    def label(self) -> str:
        """The link name."""
        return self.link


class ServiceFault(_Timing):
    """A service outage, queue surge, or solver error or time-out at a service."""

    kind: Literal["service_outage", "queue_surge", "solver_error", "solver_timeout"]
    service: str = Field(description="Name of a service in comms.services.")
    extra_wait_s: float | None = Field(
        None, gt=0, le=86400, description="queue_surge: added queue wait. [s]"
    )
    slowdown_factor: float | None = Field(
        None, gt=1, le=1e6, description="solver_timeout: execution time multiplier."
    )

    @model_validator(mode="after")
    def _needs(self) -> ServiceFault:
        if self.kind == "queue_surge" and self.extra_wait_s is None:
            raise ValueError("queue_surge needs extra_wait_s")
        if self.kind == "solver_timeout" and self.slowdown_factor is None:
            raise ValueError("solver_timeout needs slowdown_factor")
        return self

    @property
    def label(self) -> str:
        """The service name."""
        return self.service


class SensorFault(_Timing):
    """An asset's measurement freezes (stale) or stops (missing)."""

    kind: Literal["sensor_stale", "sensor_missing"]
    asset: str = Field(description="Name of the scenario asset whose measurement fails.")

    @property
    def label(self) -> str:
        """``asset/<name>``."""
        return f"asset/{self.asset}"


FaultSpec = Annotated[
    GridBranchFault | AssetTripFault | LinkFault | ServiceFault | SensorFault,
    Field(discriminator="kind"),
]
"""One fault of the ``faults:`` list, discriminated on ``kind``."""

FaultsSpec = tuple[FaultSpec, ...]
"""The ``faults:`` section: a list of faults."""

FAULT_KINDS: tuple[str, ...] = (
    "line_outage", "trafo_outage", "generator_trip", "pv_trip", "battery_trip",
    "link_down", "latency_spike", "loss_burst", "service_outage", "queue_surge",
    "solver_error", "solver_timeout", "sensor_stale", "sensor_missing",
)

_TRIP_ASSET_KIND = {"generator_trip": "generator", "pv_trip": "pv", "battery_trip": "battery"}


# ----------------------------------------------------------------------- checks
def check_fault_references(scenario: Any, source: str | None = None) -> list[Problem]:
    """Problems with the names faults refer to (links, services, assets), and with the
    cross-references of the ``comms:`` section (:meth:`CommsSpec.problems`).

    Parameters
    ----------
    scenario
        A :class:`twin.scenario.Scenario` (with ``faults``, ``comms``, ``assets``).
    source
        File name for the problems (default ``scenario.source``).

    Returns
    -------
    list of Problem
        One per fault naming something that does not exist, with the field path
        (``faults.2.link``) and the names that do.
    """
    file = source or getattr(scenario, "source", "<scenario>")
    problems: list[Problem] = []
    comms = getattr(scenario, "comms", None)
    if comms is not None:
        problems.extend(Problem(file, path, message) for path, message in comms.problems())
    links = {link.name for link in comms.links} if comms is not None else set()
    services = {s.name for s in comms.services} if comms is not None else set()
    assets = {a.name: a.kind for a in getattr(scenario, "assets", ())}
    for i, fault in enumerate(getattr(scenario, "faults", ())):
        where = f"faults.{i}"
        if isinstance(fault, LinkFault | ServiceFault):
            field_name, known = ("link", links) if isinstance(fault, LinkFault) else (
                "service", services)
            name = getattr(fault, field_name)
            if comms is None or not comms.enabled:
                problems.append(Problem(file, f"{where}.kind", f"a {fault.kind} fault needs "
                                        "the communication model; set comms.enabled: true"))
            elif name not in known:
                problems.append(Problem(file, f"{where}.{field_name}", f"unknown "
                                        f"{field_name} '{name}'; expected one of "
                                        f"{sorted(known)}"))
        elif isinstance(fault, GridBranchFault):
            backend = getattr(getattr(scenario, "grid", None), "backend", "lightsim2grid")
            if backend != "lightsim2grid":
                problems.append(Problem(file, f"{where}.kind", f"a {fault.kind} needs "
                                        "grid.backend 'lightsim2grid' (the power-flow "
                                        f"model switches branches there); got '{backend}'"))
        elif isinstance(fault, AssetTripFault | SensorFault):
            want = _TRIP_ASSET_KIND.get(fault.kind)
            if fault.asset not in assets:
                problems.append(Problem(file, f"{where}.asset", f"unknown asset "
                                        f"'{fault.asset}'; expected one of {sorted(assets)}"))
            elif want is not None and assets[fault.asset] != want:
                problems.append(Problem(file, f"{where}.asset", f"asset '{fault.asset}' is "
                                        f"a {assets[fault.asset]}; {fault.kind} needs a "
                                        f"{want}"))
    return problems


def check_grid_elements(faults: Iterable[Any], net: Any, source: str) -> list[Problem]:
    """Problems with line and trafo indices that the network does not have."""
    problems: list[Problem] = []
    for i, fault in enumerate(faults):
        if isinstance(fault, GridBranchFault):
            table = "line" if fault.kind == "line_outage" else "trafo"
            index = net[table].index
            if fault.element not in index:
                shown = list(index[:10]) + (["..."] if len(index) > 10 else [])
                problems.append(Problem(source, f"faults.{i}.element", f"no {table} "
                                        f"{fault.element} in the network; it has "
                                        f"{len(index)} ({shown})"))
    return problems


# ----------------------------------------------------------------------- targets
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


class PandapowerTopology:
    """Branch outages on a pandapower net, with supply tracking for reliability.

    Parameters
    ----------
    net
        The network; its ``line``/``trafo`` ``in_service`` columns are changed.
    events
        Where ``grid`` events (supply lost, restored) go.
    customers_per_load
        Customers behind each load element (a ``customers`` column of ``net.load``
        overrides it per load). [-]
    on_change
        Called after every topology change (e.g. to rebuild the power-flow model).
    load_p_mw
        Returns the current active power of every load (element order); default the
        net's ``p_mw * scaling``. [MW]
    switch
        Switches the branch in the power-flow model (e.g.
        :meth:`twin.grid.PowerFlowModel.set_branch_in_service`, which also sets the
        net's ``in_service``); default: only the net's column is set.

    Notes
    -----
    A load is *supplied* when its bus is connected to an in-service external grid
    (``pandapower.topology.unsupplied_buses``). A load that loses supply starts an
    :class:`~twin.reliability.Interruption`; it ends when supply returns (or at
    :meth:`close`).
    """

    def __init__(
        self,
        net: Any,
        events: EventLog,
        *,
        customers_per_load: int = 1,
        on_change: Callable[[], None] | None = None,
        load_p_mw: Callable[[], np.ndarray] | None = None,
        switch: Callable[[str, int, bool], Any] | None = None,
    ) -> None:
        self.switch = switch
        self.net = net
        self.events = events
        self.customers_per_load = int(customers_per_load)
        self.on_change = on_change
        self._load_p_mw = load_p_mw
        self.interruptions: list[Interruption] = []
        self._open: dict[int, tuple[float, float, str]] = {}
        self._cause = ""

    @property
    def customers_served(self) -> int:
        """Total customers of the grid. [-]"""
        return int(self._customers().sum())

    def _customers(self) -> np.ndarray:
        load = self.net.load
        if "customers" in load:
            return load["customers"].fillna(self.customers_per_load).to_numpy(dtype=int)
        return np.full(len(load), self.customers_per_load, dtype=int)

    def _p_mw(self) -> np.ndarray:
        if self._load_p_mw is not None:
            return np.asarray(self._load_p_mw(), dtype=float)
        load = self.net.load
        scaling = load["scaling"].to_numpy(float) if "scaling" in load else 1.0
        return load["p_mw"].to_numpy(float) * scaling

    def unsupplied_loads(self) -> set[int]:
        """Indices of loads not connected to an external grid now."""
        from pandapower.topology import unsupplied_buses

        buses = unsupplied_buses(self.net)
        load = self.net.load
        mask = load["bus"].isin(buses) & load["in_service"].astype(bool)
        return {int(i) for i in load.index[mask]}

    def set_branch_in_service(self, table: str, index: int, in_service: bool,
                              time_s: float) -> None:
        """Switch a branch and update which loads are supplied. [s]"""
        if self.switch is not None:
            self.switch(table, index, bool(in_service))
        else:
            self.net[table].loc[index, "in_service"] = bool(in_service)
        self._cause = f"{table}/{index}"
        self.update(time_s)
        if self.on_change is not None:
            self.on_change()

    def update(self, time_s: float) -> None:
        """Recompute supply now; open and close interruptions. [s]"""
        now_out = self.unsupplied_loads()
        p = self._p_mw()
        positions = {idx: pos for pos, idx in enumerate(self.net.load.index)}
        customers = self._customers()
        for idx in sorted(now_out - set(self._open)):
            pos = positions[idx]
            self._open[idx] = (time_s, float(p[pos]), self._cause)
            self.events.emit(time_s, "grid", "supply_lost", f"load/{idx}",
                             f"load {idx} lost supply ({self._cause})",
                             {"customers": int(customers[pos]), "p_mw": float(p[pos]),
                              "cause": self._cause})
        for idx in sorted(set(self._open) - now_out):
            self._close(idx, time_s, customers[positions[idx]])
            self.events.emit(time_s, "grid", "supply_restored", f"load/{idx}",
                             f"load {idx} supplied again", {"cause": self._cause})

    def _close(self, idx: int, time_s: float, customers: int) -> None:
        start_s, p_mw, cause = self._open.pop(idx)
        self.interruptions.append(Interruption(f"load/{idx}", start_s, time_s,
                                               int(customers), p_mw, cause))

    def close(self, time_s: float) -> None:
        """End every open interruption at the run's end. [s]"""
        positions = {idx: pos for pos, idx in enumerate(self.net.load.index)}
        customers = self._customers()
        for idx in sorted(self._open):
            self._close(idx, time_s, customers[positions[idx]])


@dataclass
class _Reading:
    value: float
    time_s: float


class MeasurementGuard:
    """Stale and missing measurements, and what the controller uses instead.

    The controller reads every asset measurement through :meth:`read`. While a
    ``sensor_stale`` fault is active the sensor repeats the value it had when the
    fault began (its timestamp stops); while ``sensor_missing`` is active there is no
    reading. In both cases the controller uses its last good value, or an estimate
    when it has none, and records a ``control`` event saying so (once per fault and
    asset).

    Parameters
    ----------
    events
        Where the ``control`` events go.
    """

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self.active: dict[str, str] = {}
        self._last: dict[str, _Reading] = {}
        self._announced: set[str] = set()

    def begin(self, asset: str, mode: str) -> None:
        """A sensor fault of ``mode`` (``stale`` or ``missing``) starts on ``asset``."""
        self.active[asset] = mode
        self._announced = {k for k in self._announced if not k.startswith(f"{asset}/")}

    def end(self, asset: str) -> None:
        """The sensor fault on ``asset`` ends."""
        self.active.pop(asset, None)
        self._announced = {k for k in self._announced if not k.startswith(f"{asset}/")}

    def read(self, asset: str, true_value: float, time_s: float,
             estimate: float | None = None, *, quantity: str = "value",
             ) -> tuple[float | None, str]:
        """The value the controller uses for ``asset`` now, and its quality.

        Parameters
        ----------
        asset
            Asset name.
        true_value
            What a healthy sensor would report. [the measurement's unit]
        time_s
            Now. [s]
        estimate
            The controller's own estimate (e.g. from its model), used when no good
            value was ever read.
        quantity
            Which measurement of the asset (``soc_frac``, ...); last values are kept
            per asset and quantity.

        Returns
        -------
        (value, quality)
            ``quality`` is ``"measured"``, ``"last_value"``, ``"estimate"`` or
            ``"none"`` (no value at all; ``value`` is None).
        """
        mode = self.active.get(asset)
        key = f"{asset}/{quantity}"
        if mode is None:
            self._last[key] = _Reading(float(true_value), time_s)
            return float(true_value), "measured"
        last = self._last.get(key)
        if last is not None:
            value, quality = last.value, "last_value"
            detail = f"its last value {last.value:.6g} from t={last.time_s:g} s"
        elif estimate is not None:
            value, quality, detail = float(estimate), "estimate", f"an estimate {estimate:.6g}"
        else:
            value, quality, detail = None, "none", "no value"
        if key not in self._announced:
            self._announced.add(key)
            self.events.emit(time_s, "control", "measurement_substituted", f"asset/{asset}",
                             f"{quantity} of {asset} is {mode}; the controller uses {detail}",
                             {"mode": mode, "quality": quality, "quantity": quantity,
                              "value": value, "age_s": None if last is None
                              else time_s - last.time_s})
        return value, quality


# ----------------------------------------------------------------------- injector
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


# ----------------------------------------------------------------------- a run
_TRIP_TABLE = {"pv": "sgen", "generator": "sgen", "battery": "storage", "ev_fleet": "load",
               "load": "load"}


class ElementTrips:
    """An :class:`AssetFaultTarget` over the power-flow model's ``tripped`` mask.

    A tripped asset's grid element injects nothing from the next power flow on (its
    row of the injection buffer is zeroed at the solve). A family that implements
    ``set_tripped(name, tripped)`` is told as well, so its own state can follow;
    otherwise its channels keep showing what it would have done.

    Parameters
    ----------
    model
        The :class:`twin.grid.PowerFlowModel`.
    families
        Asset kind -> family (with ``names`` and ``rows``).
    """

    def __init__(self, model: Any, families: Mapping[str, Any]) -> None:
        self.model = model
        self._where: dict[str, tuple[int, Any]] = {}
        for kind, family in families.items():
            table = _TRIP_TABLE.get(kind)
            names = getattr(family, "names", None)
            rows = getattr(family, "rows", None)
            if table is None or names is None or rows is None:
                continue
            base = model.element_slices[table].start + int(rows[0])
            for j, name in enumerate(names):
                self._where[str(name)] = (base + j, family)

    def set_tripped(self, asset: str, tripped: bool) -> None:
        """Trip or restore an asset's grid element."""
        try:
            position, family = self._where[asset]
        except KeyError:
            raise KeyError(f"no grid element for asset {asset!r}") from None
        self.model.set_tripped(position, bool(tripped))
        hook = getattr(family, "set_tripped", None)
        if callable(hook):
            hook(asset, bool(tripped))


_SENSED: dict[str, tuple[str, ...]] = {
    "battery": ("energy_mwh", "soc_frac"),
    "pv": ("available_p_mw",),
}
"""Per asset kind: the family attributes (per-asset arrays) that are measurements."""


class SensedFamily:
    """The controller's view of an asset family: measurements pass a
    :class:`MeasurementGuard`.

    Everything is delegated to the real family (commands, channels, KPIs, limits),
    except the measured arrays of :data:`_SENSED` and the same fields of
    ``snapshot()``: for an asset with an active sensor fault they hold what the guard
    gives (last good value or estimate), so the controller plans on what it can know.
    The physics (the family's own state and limits) is untouched.
    """

    def __init__(self, family: Any, kind: str, guard: MeasurementGuard,
                 now: Callable[[], float]) -> None:
        self._family = family
        self._fields = _SENSED[kind]
        self._guard = guard
        self._now = now

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._family, name)
        if name in self._fields:
            return self._read(name, value)
        return value

    def _read(self, name: str, values: Any) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        now = self._now()
        for j, asset in enumerate(self._family.names):
            got, _quality = self._guard.read(asset, float(out[j]), now, quantity=name)
            if got is not None:
                out[j] = got
        return out

    def snapshot(self) -> Any:
        """The family's snapshot with the measured fields guarded."""
        import dataclasses

        snap = self._family.snapshot()
        changes = {name: self._read(name, getattr(snap, name)) for name in self._fields
                   if hasattr(snap, name)}
        if not changes or not dataclasses.is_dataclass(snap):
            return snap
        return dataclasses.replace(snap, **changes)


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
    )
    sensors = MeasurementGuard(events)
    injector = FaultInjector(
        env, tuple(scenario.faults), seed, events,
        comms=gateway.model if gateway is not None else None,
        grid=topology, assets=ElementTrips(model, families), sensors=sensors,
    )
    sensed = {f.asset for f in scenario.faults if isinstance(f, SensorFault)}
    viewed = dict(families)
    for kind, family in families.items():
        if kind in _SENSED and sensed & set(getattr(family, "names", ())):
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
