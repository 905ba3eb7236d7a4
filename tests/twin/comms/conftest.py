"""Fixtures for the communication model: a small network, services and fake solvers.

The fake solvers really return a Result-like object (status, objective,
diagnostics), so the caller's logic is exercised end to end; only their answers are
fixed, which keeps the expected values hand-checkable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import simpy

from twin.comms.call import Caller
from twin.comms.event import EventLog
from twin.comms.execution import FixedExecution
from twin.comms.latency import ConstantLatency
from twin.comms.link import LinkParams
from twin.comms.network import Network, NetworkParams, NodeParams, RouteParams
from twin.comms.service import Service, ServiceParams
from twin.comms.task import ControlTask


@dataclass
class FakeSolver:
    """Returns a fixed objective; counts calls; can be told to raise."""

    objective: float
    status: str = "optimal"
    diagnostics: dict[str, Any] = field(default_factory=dict)
    raises: bool = False
    calls: int = 0
    seeds: list[int | None] = field(default_factory=list)
    name: str = "fake"

    def supports(self, problem: Any) -> str | None:
        return None

    def solve(self, problem: Any, *, time_limit: float | None = None,
              seed: int | None = None) -> Any:
        self.calls += 1
        self.seeds.append(seed)
        if self.raises:
            raise RuntimeError("boom")
        return SimpleNamespace(status=self.status, objective=self.objective,
                               diagnostics=dict(self.diagnostics), wall_time_s=0.0,
                               values={})


@dataclass
class Rig:
    """A network gateway - isp - cloud (two paths via isp or via cell) with services."""

    env: simpy.Environment
    log: EventLog
    network: Network
    services: dict[str, Service]
    solvers: dict[str, FakeSolver]
    caller: Caller

    def run_call(self, task: str, *, at_s: float = 0.0,
                 fallbacks: dict[str, Callable[[Any], Any]] | None = None,
                 hybrid: Any = None, until: float | None = None) -> Any:
        out: list[Any] = []

        def proc() -> Any:
            if at_s > self.env.now:
                yield self.env.timeout(at_s - self.env.now)
            outcome = yield from self.caller.call(
                task, "problem",
                fallbacks=fallbacks if fallbacks is not None else {
                    "last_good_schedule": lambda p: None,
                    "rule_based": lambda p: "rules"},
                hybrid=hybrid)
            out.append(outcome)

        done = self.env.process(proc())
        self.env.run(until=done if until is None else until)
        return out[0]

    def kinds(self, category: str | None = None) -> list[str]:
        return [e["kind"] for e in self.log.records
                if category is None or e["category"] == category]


def _cloud(**kw: Any) -> ServiceParams:
    base: dict[str, Any] = {
        "name": "qpu", "node": "cloud", "kind": "cloud_quantum",
        "execution": FixedExecution(2.0), "queue_wait": ConstantLatency(1000.0),
        "cost_per_job_eur": 0.5, "cost_per_shot_eur": 0.001, "power_w": 1000.0}
    base.update(kw)
    return ServiceParams(**base)


def _edge(**kw: Any) -> ServiceParams:
    base: dict[str, Any] = {
        "name": "edge", "node": "gateway", "kind": "edge_compute",
        "execution": FixedExecution(0.5), "power_w": 20.0}
    base.update(kw)
    return ServiceParams(**base)


@pytest.fixture
def make_rig() -> Callable[..., Rig]:
    """Factory: ``make_rig(tasks, cloud={...}, edge={...}, links={...}, seed=0)``."""

    def build(tasks: list[ControlTask], *, cloud: dict[str, Any] | None = None,
              edge: dict[str, Any] | None = None,
              links: dict[str, dict[str, Any]] | None = None,
              solvers: dict[str, FakeSolver] | None = None,
              detection_s: float = 1.0, seed: int = 0) -> Rig:
        env = simpy.Environment()
        log = EventLog()
        nodes = (NodeParams("gateway", "gateway"), NodeParams("isp", "router"),
                 NodeParams("cell", "router"), NodeParams("cloud", "cloud"))
        link_kw = {name: {} for name in ("fibre", "backbone", "lte", "cell_bb")}
        for name, kw in (links or {}).items():
            link_kw[name].update(kw)
        lat = {"fibre": 5.0, "backbone": 20.0, "lte": 40.0, "cell_bb": 30.0}
        ends = {"fibre": ("gateway", "isp"), "backbone": ("isp", "cloud"),
                "lte": ("gateway", "cell"), "cell_bb": ("cell", "cloud")}
        link_params = tuple(
            LinkParams(name, *ends[name], **{"latency": ConstantLatency(lat[name]),
                                              **link_kw[name]})
            for name in ("fibre", "backbone", "lte", "cell_bb"))
        routes = (RouteParams("to_cloud", "gateway", "cloud", detection_s=detection_s),
                  RouteParams("local", "gateway", "gateway"))
        ss = np.random.SeedSequence(seed)
        net_seq, *svc_seqs = ss.spawn(3)
        network = Network(env, NetworkParams(nodes, link_params, routes),
                          np.random.default_rng(net_seq), log)
        services = {
            "qpu": Service(env, _cloud(**(cloud or {})), np.random.default_rng(svc_seqs[0]), log),
            "edge": Service(env, _edge(**(edge or {})), np.random.default_rng(svc_seqs[1]), log),
        }
        solvers = solvers or {"qaoa": FakeSolver(-10.0, diagnostics={"shots": 100.0}),
                              "milp": FakeSolver(-12.0)}
        caller = Caller(env, network, list(services.values()), solvers, tasks, log, seed=seed)
        network.start()
        for service in services.values():
            service.start()
        return Rig(env, log, network, services, solvers, caller)

    return build


@pytest.fixture
def fake_solver() -> type[FakeSolver]:
    """The :class:`FakeSolver` class."""
    return FakeSolver
