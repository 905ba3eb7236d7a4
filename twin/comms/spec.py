"""The ``comms:`` section of a scenario: its pydantic models (pure data; built into
runtime objects by :mod:`twin.comms.model`).

A scenario without ``comms:`` (or with ``enabled: false``) runs every solver call
directly, with no communication model. With ``enabled: true`` every solver call of the
controller crosses the modelled network to a modelled service, under a deadline, with
retries and a fallback chain.

The section ships a default topology, visible in the resolved scenario and addressable
by name in sweeps (``comms.links.backbone_qpu.latency.median_ms``):

- nodes ``gateway`` (the controller and the edge compute node), ``isp`` and ``cell``
  (two access networks), ``qpu_cloud``, ``hpc_cloud``, ``sim_cloud`` (cloud endpoints)
  and ``qpu_device`` (an on-device co-processor on a local bus);
- links ``fibre`` (gateway-isp), ``lte`` (gateway-cell, lossy, slower), ``cell_core``
  (cell-isp), ``backbone_qpu``, ``backbone_hpc``, ``backbone_sim`` (isp to each cloud)
  and ``local_bus`` (gateway-qpu_device);
- routes ``local``, ``to_qpu``, ``to_hpc``, ``to_sim``, ``to_device``; the cloud routes
  compute two paths (fibre first, LTE as backup);
- services ``edge``, ``cloud_qpu``, ``cloud_milp``, ``cloud_sim``, ``coprocessor`` (the
  presets of :mod:`twin.comms.presets`).

A task not listed under ``tasks`` gets the chain of the section's ``pattern`` (see
:func:`default_chain`).

Public names
------------
CommsSpec
    The section; its parts :class:`LinkSpec`, :class:`NodeSpec`, :class:`RouteSpec`,
    :class:`ServiceSpec`, :class:`TaskSpec`, :class:`StepSpec`, the latency specs.
default_chain
    The fallback chain of a pattern.
latency_model
    The runtime latency model of a latency spec.
with_link, replace_model
    Re-validated copies with fields changed (studies, tests).

Why ~620 lines: the section's parts (latency, outages, graph, services, tasks,
approval) and the default topology built from them are one schema; the defaults need
the models and the models' defaults need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.comms.latency import (
    ConstantLatency,
    LatencyModel,
    LognormalLatency,
    NormalLatency,
    load_trace,
)
from twin.comms.task import (
    PATTERNS,
    FallbackStep,
    HedgeStep,
    HybridStep,
    SolverStep,
    Step,
)
from twin.limits import StrictNumbers
from twin.simtime import parse_duration_s

if TYPE_CHECKING:  # the runtime parts need simpy and networkx; the schema does not

    from twin.comms.service import ServiceParams

__all__ = [
    "ApprovalSpec",
    "CommsSpec",
    "LinkSpec",
    "NodeSpec",
    "RouteSpec",
    "ServiceSpec",
    "StepSpec",
    "TaskSpec",
    "default_chain",
    "replace_model",
    "with_link",
]

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Spec(StrictNumbers):  # no boolean as a number, no inf/nan (twin.limits)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ----------------------------------------------------------------------- latency
class ConstantLatencySpec(_Spec):
    """A fixed delay."""

    kind: Literal["constant"] = "constant"
    value_ms: float = Field(ge=0, le=3.6e6, description="The delay. [ms]")


class NormalLatencySpec(_Spec):
    """A normal delay clipped at zero."""

    kind: Literal["normal"]
    mean_ms: float = Field(ge=0, le=3.6e6, description="Mean. [ms]")
    std_ms: float = Field(ge=0, le=3.6e6, description="Standard deviation. [ms]")


class LognormalLatencySpec(_Spec):
    """A lognormal delay given its median and 99th percentile (heavy right tail)."""

    kind: Literal["lognormal"]
    median_ms: float = Field(gt=0, le=3.6e6, description="Median. [ms]")
    p99_ms: float = Field(gt=0, le=3.6e7, description="99th percentile, >= median_ms. [ms]")

    @model_validator(mode="after")
    def _order(self) -> LognormalLatencySpec:
        if self.p99_ms < self.median_ms:
            raise ValueError(
                f"p99_ms ({self.p99_ms:g}) is below median_ms ({self.median_ms:g}); "
                "expected p99_ms >= median_ms"
            )
        return self


class TraceLatencySpec(_Spec):
    """An empirical trace: samples drawn with replacement from a CSV column."""

    kind: Literal["trace"]
    path: str = Field(description="CSV file: absolute, or relative to the scenario file's "
                      "folder (else to the working directory).")
    column: str | None = Field(None, description="Column; default the only one or latency_ms.")
    unit: Literal["ms", "s"] | None = Field(
        None, description="Unit of the column; default from its suffix (_ms or _s)."
    )


LatencySpec = Annotated[
    ConstantLatencySpec | NormalLatencySpec | LognormalLatencySpec | TraceLatencySpec,
    Field(discriminator="kind"),
]


def latency_model(spec: Any, base_dir: Path | None = None) -> LatencyModel:
    """The runtime latency model of a latency spec (trace paths looked up in
    ``base_dir`` first)."""
    return _latency(spec, base_dir)


def _latency(spec: Any, base_dir: Path | None = None) -> LatencyModel:
    if isinstance(spec, ConstantLatencySpec):
        return ConstantLatency(spec.value_ms)
    if isinstance(spec, NormalLatencySpec):
        return NormalLatency(spec.mean_ms, spec.std_ms)
    if isinstance(spec, LognormalLatencySpec):
        return LognormalLatency(spec.median_ms, spec.p99_ms)
    path = Path(spec.path)
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    return load_trace(path, column=spec.column, unit=spec.unit)


# ----------------------------------------------------------------------- outages
class WindowSpec(_Spec):
    """A scheduled outage window."""

    start: str = Field(description="Start since the scenario start, e.g. '18h'.")
    duration: str = Field(description="Length, e.g. '30min'.")

    @field_validator("start", "duration")
    @classmethod
    def _dur(cls, value: str) -> str:
        parse_duration_s(value)
        return value

    def as_pair(self) -> tuple[float, float]:
        """``(start_s, duration_s)``. [s]"""
        return float(parse_duration_s(self.start)), float(parse_duration_s(self.duration))


class _Reliability(_Spec):
    mtbf_h: float | None = Field(
        None, gt=0, le=1e7, description="Mean time between stochastic failures. [h]"
    )
    mttr_h: float | None = Field(
        None, gt=0, le=1e5, description="Mean time to repair a stochastic failure. [h]"
    )
    outages: tuple[WindowSpec, ...] = Field((), description="Scheduled outages.")

    @model_validator(mode="after")
    def _pair(self) -> Any:
        if (self.mtbf_h is None) != (self.mttr_h is None):
            raise ValueError("mtbf_h and mttr_h must be given together")
        return self

    def outage_kwargs(self) -> dict[str, Any]:
        """The outage fields as the runtime parameters take them (hours -> seconds)."""
        return {
            "mtbf_s": None if self.mtbf_h is None else self.mtbf_h * 3600.0,
            "mttr_s": None if self.mttr_h is None else self.mttr_h * 3600.0,
            "outage_windows": tuple(w.as_pair() for w in self.outages),
        }


# ----------------------------------------------------------------------- graph
class NodeSpec(_Spec):
    """A node of the communication graph."""

    name: str = Field(pattern=NAME, description="Unique node name.")
    kind: Literal["device", "gateway", "router", "cloud"] = Field(
        "router", description="Role: device, gateway (controller, edge), router, cloud."
    )


class LinkSpec(_Reliability):
    """A bidirectional link."""

    name: str = Field(pattern=NAME, description="Unique link name.")
    a: str = Field(description="One end (a node name).")
    b: str = Field(description="The other end (a node name).")
    latency: LatencySpec = Field(description="One-way delay distribution.")
    jitter_ms: float = Field(0.0, ge=0, le=1e5, description="Half-normal extra delay scale. [ms]")
    loss_prob: float = Field(0.0, ge=0, lt=1, description="Loss probability per transmission.")
    retransmit_timeout_ms: float = Field(
        200.0, gt=0, le=1e5, description="Wait before retransmitting a lost message. [ms]"
    )
    max_retransmissions: int = Field(3, ge=0, le=20, description="Link retransmissions.")
    bandwidth_mbps: float = Field(100.0, gt=0, le=1e6, description="Serialisation rate. [Mbit/s]")


class RouteSpec(_Spec):
    """A route from the caller's node to a service's node."""

    name: str = Field(pattern=NAME, description="Unique route name.")
    source: str = Field("gateway", description="Node of the caller.")
    target: str = Field(description="Node of the service.")
    max_paths: int = Field(2, ge=1, le=10, description="Candidate paths computed on the graph.")
    detection_s: float = Field(
        1.0, ge=0, le=3600, description="Time to notice a failed or repaired link. [s]"
    )


ServicePreset = Literal[
    "cloud_quantum", "edge_compute", "cloud_classical", "simulation", "on_device_quantum"
]
class ServiceSpec(_Reliability):
    """A solver service at a node: a preset, with any of its assumptions overridden."""

    name: str = Field(pattern=NAME, description="Unique service name.")
    preset: ServicePreset = Field(description="Kind of service and its default assumptions.")
    node: str = Field(description="Node hosting the service (one service per node).")
    solvers: tuple[str, ...] | None = Field(
        None, description="Solver names the service hosts; none: any."
    )
    connect_ms: float | None = Field(None, ge=0, le=1e6, description="Connection set-up. [ms]")
    auth_ms: float | None = Field(None, ge=0, le=1e6, description="Authentication. [ms]")
    queue: LatencySpec | None = Field(None, description="External queue wait distribution.")
    concurrency: int | None = Field(None, ge=1, le=1000, description="Jobs executing at once.")
    queue_capacity: int | None = Field(
        None, ge=1, le=100000, description="Our jobs admitted at once (back-pressure)."
    )
    max_execution_s: float | None = Field(
        None, gt=0, le=86400, description="The service stops longer jobs. [s]"
    )
    cost_per_job_eur: float | None = Field(None, ge=0, le=1e6, description="[EUR]")
    cost_per_shot_eur: float | None = Field(None, ge=0, le=1e3, description="[EUR]")
    cost_per_execution_s_eur: float | None = Field(None, ge=0, le=1e6, description="[EUR/s]")
    quota_jobs: int | None = Field(None, ge=0, description="Jobs allowed over the run.")
    rate_limit_per_s: float | None = Field(None, gt=0, le=1e6, description="Requests. [1/s]")
    power_w: float | None = Field(None, ge=0, le=1e7, description="Power while busy. [W]")

    def params(self, base_dir: Path | None = None) -> ServiceParams:
        """The runtime parameters: the preset with the fields given here."""
        over: dict[str, Any] = {"name": self.name, "node": self.node}
        for key in ("connect_ms", "auth_ms", "concurrency", "queue_capacity",
                    "max_execution_s", "cost_per_job_eur", "cost_per_shot_eur",
                    "cost_per_execution_s_eur", "quota_jobs", "rate_limit_per_s", "power_w"):
            value = getattr(self, key)
            if value is not None:
                over[key] = value
        if self.queue is not None:
            over["queue_wait"] = _latency(self.queue, base_dir)
        if self.solvers is not None:
            over["solvers"] = frozenset(self.solvers)
        over.update(self.outage_kwargs())
        from twin.comms.presets import PRESETS

        return PRESETS[self.preset](**over)


# ----------------------------------------------------------------------- tasks
class RemoteSpec(_Spec):
    """Where a step sends the problem."""

    solver: str = Field(description="Registered solver name.")
    route: str = Field(description="Route whose target hosts the service.")
    timeout_s: float | None = Field(None, gt=0, le=86400, description="Per-attempt. [s]")
    retries: int | None = Field(None, ge=0, le=20, description="Retries of this step.")


class StepSpec(_Spec):
    """One step of a fallback chain: exactly one of ``solver`` (with ``route``),
    ``hedge``, ``hybrid`` or ``fallback``."""

    solver: str | None = Field(None, description="Solve with this solver ...")
    route: str | None = Field(None, description="... at the service at the end of this route.")
    timeout_s: float | None = Field(None, gt=0, le=86400, description="Per-attempt. [s]")
    retries: int | None = Field(None, ge=0, le=20, description="Retries of this step.")
    hedge: tuple[RemoteSpec, ...] | None = Field(
        None, description="Send to all of these at once; take the best (or first) answer."
    )
    take: Literal["best", "first"] = Field("best", description="Hedging: which answer.")
    hybrid: RemoteSpec | None = Field(
        None, description="Edge pre-processing, targeted calls here, reconciliation."
    )
    preprocess_s: float = Field(0.05, ge=0, le=3600, description="Hybrid edge split. [s]")
    reconcile_s: float = Field(0.05, ge=0, le=3600, description="Hybrid edge merge. [s]")
    fallback: Literal["last_good_schedule", "rule_based"] | None = Field(
        None, description="A controller fallback (no solver)."
    )

    @model_validator(mode="after")
    def _one(self) -> StepSpec:
        given = [k for k in ("solver", "hedge", "hybrid", "fallback") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a step needs exactly one of solver (with route), hedge, hybrid or "
                f"fallback; got {given or 'none'}"
            )
        if self.solver is not None and self.route is None:
            raise ValueError("a solver step needs a route")
        if self.hedge is not None and len(self.hedge) < 2:
            raise ValueError("hedge needs at least 2 branches")
        return self

    def step(self) -> Step:
        """The runtime step."""
        if self.fallback is not None:
            return FallbackStep(self.fallback)
        if self.hedge is not None:
            return HedgeStep(tuple(_remote(r) for r in self.hedge), take=self.take)
        if self.hybrid is not None:
            return HybridStep(_remote(self.hybrid), preprocess_s=self.preprocess_s,
                              reconcile_s=self.reconcile_s)
        assert self.solver is not None
        assert self.route is not None
        return SolverStep(self.solver, self.route, timeout_s=self.timeout_s,
                          retries=self.retries)


def _remote(spec: RemoteSpec) -> SolverStep:
    return SolverStep(spec.solver, spec.route, timeout_s=spec.timeout_s, retries=spec.retries)


Pattern = Literal["cloud", "edge", "hybrid", "simulation-service", "on-device"]


class _TaskTiming(_Spec):
    deadline_s: float = Field(
        120.0, gt=0, le=86400, description="Time from a call's start by which an answer is "
        "needed. [s]"
    )
    timeout_s: float = Field(
        45.0, gt=0, le=86400, description="Per-attempt time-out; with the default deadline "
        "and one retry this leaves the edge fallback about 30 s. [s]"
    )
    retries: int = Field(1, ge=0, le=20, description="Retries per solver step.")
    backoff_s: float = Field(0.5, ge=0, le=3600, description="Wait before the first retry. [s]")
    backoff_factor: float = Field(2.0, ge=1, le=100, description="Growth of the wait.")
    request_bytes: int = Field(20_000, ge=0, le=10**9, description="Request size. [B]")
    response_bytes: int = Field(5_000, ge=0, le=10**9, description="Response size. [B]")


class TaskSpec(_TaskTiming):
    """A control task's own chain (overrides the pattern's default chain)."""

    pattern: Pattern | None = Field(None, description="Pattern label for KPIs.")
    chain: tuple[StepSpec, ...] = Field(min_length=1, description="Steps in order.")


def _default_nodes() -> tuple[NodeSpec, ...]:
    return (
        NodeSpec(name="gateway", kind="gateway"),
        NodeSpec(name="isp", kind="router"),
        NodeSpec(name="cell", kind="router"),
        NodeSpec(name="qpu_cloud", kind="cloud"),
        NodeSpec(name="hpc_cloud", kind="cloud"),
        NodeSpec(name="sim_cloud", kind="cloud"),
        NodeSpec(name="qpu_device", kind="device"),
    )


def _ln(median: float, p99: float) -> LognormalLatencySpec:
    return LognormalLatencySpec(kind="lognormal", median_ms=median, p99_ms=p99)


def _default_links() -> tuple[LinkSpec, ...]:
    return (
        LinkSpec(name="fibre", a="gateway", b="isp", latency=_ln(4.0, 20.0),
                 jitter_ms=1.0, bandwidth_mbps=100.0),
        LinkSpec(name="lte", a="gateway", b="cell", latency=_ln(35.0, 150.0),
                 jitter_ms=5.0, loss_prob=0.01, bandwidth_mbps=20.0),
        LinkSpec(name="cell_core", a="cell", b="isp", latency=_ln(10.0, 40.0),
                 bandwidth_mbps=1000.0),
        LinkSpec(name="backbone_qpu", a="isp", b="qpu_cloud", latency=_ln(25.0, 80.0),
                 bandwidth_mbps=1000.0),
        LinkSpec(name="backbone_hpc", a="isp", b="hpc_cloud", latency=_ln(15.0, 50.0),
                 bandwidth_mbps=1000.0),
        LinkSpec(name="backbone_sim", a="isp", b="sim_cloud", latency=_ln(20.0, 60.0),
                 bandwidth_mbps=1000.0),
        LinkSpec(name="local_bus", a="gateway", b="qpu_device",
                 latency=ConstantLatencySpec(value_ms=0.01), bandwidth_mbps=8000.0),
    )


def _default_routes() -> tuple[RouteSpec, ...]:
    return (
        RouteSpec(name="local", target="gateway"),
        RouteSpec(name="to_qpu", target="qpu_cloud"),
        RouteSpec(name="to_hpc", target="hpc_cloud"),
        RouteSpec(name="to_sim", target="sim_cloud"),
        RouteSpec(name="to_device", target="qpu_device"),
    )


def _default_services() -> tuple[ServiceSpec, ...]:
    return (
        ServiceSpec(name="edge", preset="edge_compute", node="gateway"),
        ServiceSpec(name="cloud_qpu", preset="cloud_quantum", node="qpu_cloud"),
        ServiceSpec(name="cloud_milp", preset="cloud_classical", node="hpc_cloud"),
        ServiceSpec(name="cloud_sim", preset="simulation", node="sim_cloud"),
        ServiceSpec(name="coprocessor", preset="on_device_quantum", node="qpu_device"),
    )


PATTERN_ROUTE: dict[str, str] = {
    "cloud": "to_qpu",
    "edge": "local",
    "hybrid": "to_qpu",
    "simulation-service": "to_sim",
    "on-device": "to_device",
}
"""Route of each pattern's primary solver step in the default topology."""


def default_chain(pattern: str, solver: str, edge_solver: str | None) -> tuple[Step, ...]:
    """The fallback chain a pattern gives a task.

    Parameters
    ----------
    pattern
        One of :data:`~twin.comms.task.PATTERNS`.
    solver
        The solver the controller asks for (e.g. ``qaoa``).
    edge_solver
        The classical substitute at the edge (e.g. ``milp``); None: none.

    Returns
    -------
    tuple
        ``solver`` on the pattern's route (a hybrid step for ``hybrid``), then
        ``edge_solver`` at the edge (unless it is the same step), then
        ``last_good_schedule``, then ``rule_based``.

    Examples
    --------
    >>> [s.label for s in default_chain("cloud", "qaoa", "milp")]
    ['qaoa@to_qpu', 'milp@local', 'last_good_schedule', 'rule_based']
    >>> [s.label for s in default_chain("hybrid", "qaoa", "milp")][:2]
    ['hybrid(qaoa@to_qpu)', 'milp@local']
    """
    if pattern not in PATTERN_ROUTE:
        raise ValueError(f"pattern must be one of {list(PATTERNS)}, got {pattern!r}")
    first: Step = SolverStep(solver, PATTERN_ROUTE[pattern])
    if pattern == "hybrid":
        first = HybridStep(SolverStep(solver, "to_qpu"))
    steps: list[Step] = [first]
    if edge_solver is not None and not (pattern == "edge" and edge_solver == solver):
        steps.append(SolverStep(edge_solver, "local"))
    steps += [FallbackStep("last_good_schedule"), FallbackStep("rule_based")]
    return tuple(steps)


class ApprovalSpec(_Spec):
    """Human-in-the-loop gate: large set-point jumps wait for an operator.

    A solver answer whose largest change of any decision variable against the last
    answer the controller adopted for the same task exceeds ``hold_above_change`` is
    held for an operator. The operator answers after a delay drawn from ``delay``
    (seeded) and approves with probability ``approve_prob``; no answer within
    ``timeout_s`` counts as a rejection. A rejected answer is not used: the controller
    keeps its last good plan. Every request and decision is an event.
    """

    enabled: bool = Field(False, description="Hold large changes for operator approval.")
    hold_above_change: float = Field(
        50.0, gt=0, le=1e9, description="Largest change of one decision variable "
        "(in the problem's own units, e.g. kW) that passes without approval."
    )
    tasks: tuple[str, ...] | None = Field(
        None, description="Tasks the gate applies to; none: all."
    )
    delay: LatencySpec = Field(
        default_factory=lambda: LognormalLatencySpec(kind="lognormal", median_ms=120_000.0,
                                                     p99_ms=900_000.0),
        description="Operator response time distribution. [ms]",
    )
    approve_prob: float = Field(1.0, ge=0, le=1, description="Chance the operator approves.")
    timeout_s: float = Field(
        1800.0, gt=0, le=86400, description="No decision within this counts as rejected. [s]"
    )


class CommsSpec(_TaskTiming):
    """The communication model: topology, services, and how control tasks call solvers.

    Timing fields (``deadline_s``, ``timeout_s``, ``retries``, ...) apply to tasks that
    take the pattern's default chain.
    """

    enabled: bool = Field(
        False, description="Model the communication (else solver calls are direct)."
    )
    pattern: Pattern = Field(
        "cloud", description="Integration pattern of tasks without their own chain: cloud, "
        "edge, hybrid, simulation-service, on-device."
    )
    edge_solver: str | None = Field(
        "milp", description="Classical substitute at the edge in the default chains."
    )
    nodes: tuple[NodeSpec, ...] = Field(default_factory=_default_nodes)
    links: tuple[LinkSpec, ...] = Field(default_factory=_default_links)
    routes: tuple[RouteSpec, ...] = Field(default_factory=_default_routes)
    services: tuple[ServiceSpec, ...] = Field(default_factory=_default_services)
    tasks: dict[str, TaskSpec] = Field(
        default_factory=dict, description="Chains per control task (dispatch, ...)."
    )
    approval: ApprovalSpec = Field(
        default_factory=ApprovalSpec, description="Human-in-the-loop gate for large changes."
    )

    def problems(self) -> list[tuple[str, str]]:
        """Cross-references that do not resolve, as ``(field path, message)`` pairs.

        Names used twice; links, routes and services on unknown nodes; task chains
        naming an unknown route or an unregistered solver. Paths start at ``comms``.
        """
        problems: list[tuple[str, str]] = []
        for kind, items in (("nodes", self.nodes), ("links", self.links),
                            ("routes", self.routes), ("services", self.services)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.name in seen:
                    problems.append((f"comms.{kind}.{i}.name", f"'{item.name}' is used twice"))
                seen.add(item.name)
        nodes = {n.name for n in self.nodes}
        for i, link in enumerate(self.links):
            for end in ("a", "b"):
                if getattr(link, end) not in nodes:
                    problems.append((f"comms.links.{i}.{end}", f"unknown node "
                                     f"'{getattr(link, end)}'; expected one of {sorted(nodes)}"))
        for i, route in enumerate(self.routes):
            for end in ("source", "target"):
                if getattr(route, end) not in nodes:
                    problems.append((f"comms.routes.{i}.{end}", f"unknown node "
                                     f"'{getattr(route, end)}'; expected one of {sorted(nodes)}"))
        for i, service in enumerate(self.services):
            if service.node not in nodes:
                problems.append((f"comms.services.{i}.node", f"unknown node '{service.node}'; "
                                 f"expected one of {sorted(nodes)}"))
        routes = {r.name for r in self.routes}
        known_solvers = _registered_solvers()
        for name, task in self.tasks.items():
            for j, step in enumerate(task.chain):
                remotes: list[tuple[str, Any]] = []
                if step.solver is not None:
                    remotes.append((f"comms.tasks.{name}.chain.{j}", step))
                for k, branch in enumerate(step.hedge or ()):
                    remotes.append((f"comms.tasks.{name}.chain.{j}.hedge.{k}", branch))
                if step.hybrid is not None:
                    remotes.append((f"comms.tasks.{name}.chain.{j}.hybrid", step.hybrid))
                for where, remote in remotes:
                    if remote.route not in routes:
                        problems.append((f"{where}.route", f"unknown route '{remote.route}'; "
                                         f"expected one of {sorted(routes)}"))
                    if known_solvers is not None and remote.solver not in known_solvers:
                        problems.append((f"{where}.solver", f"unknown solver "
                                         f"'{remote.solver}'; expected one of "
                                         f"{sorted(known_solvers)}"))
        if (self.edge_solver is not None and known_solvers is not None
                and self.edge_solver not in known_solvers):
            problems.append(("comms.edge_solver", f"unknown solver '{self.edge_solver}'; "
                             f"expected one of {sorted(known_solvers)}"))
        if self.enabled and "local" not in routes:
            problems.append(("comms.routes", "the default chains need a route named 'local'"))
        return problems


def _registered_solvers() -> set[str] | None:
    """Names of registered solvers, or None if the registry cannot be read."""
    try:
        from solvers import registered_solvers
    except Exception:  # the solvers package is optional for validation
        return None
    return set(registered_solvers())


def with_link(spec: CommsSpec, name: str, **changes: Any) -> CommsSpec:
    """A copy of ``spec`` with one link's fields changed (for studies and tests)."""
    links = tuple(replace_model(link, **changes) if link.name == name else link
                  for link in spec.links)
    return spec.model_copy(update={"links": links})


def replace_model(model: BaseModel, **changes: Any) -> Any:
    """Re-validated copy of a frozen pydantic model with fields changed."""
    data = model.model_dump()
    data.update(changes)
    return type(model).model_validate(data)

