"""The runtime communication model of one run, built from the ``comms:`` section.

:func:`build_comms` turns a :class:`~twin.comms.spec.CommsSpec` into a
:class:`CommsModel` in a SimPy environment: the network (links, routes; one named
random stream per link), the services (one stream each), and the control tasks of the
section (:meth:`CommsModel.task`).

Public names: :class:`CommsModel`, :func:`build_comms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twin.comms.event import EventLog
from twin.comms.spec import CommsSpec, default_chain, latency_model
from twin.comms.task import ControlTask
from twin.seeding import stream

if TYPE_CHECKING:
    import simpy

    from solvers.registry import Solver
    from twin.comms.call import Caller
    from twin.comms.network import Network
    from twin.comms.service import Service

__all__ = ["CommsModel", "build_comms"]


@dataclass
class CommsModel:
    """The runtime communication model of one run."""

    env: simpy.Environment
    """The environment."""
    spec: CommsSpec
    """The section it was built from."""
    events: EventLog
    """Where its events go."""
    network: Network
    """The network."""
    services: dict[str, Service]
    """Services by name."""
    seed: int
    """Run seed."""

    def caller(self, solvers: dict[str, Solver], tasks: list[ControlTask]) -> Caller:
        """A caller over this model (validates the tasks)."""
        from twin.comms.call import Caller

        return Caller(self.env, self.network, list(self.services.values()), solvers, tasks,
                      self.events, seed=self.seed)

    def start(self) -> None:
        """Start the declared outages (scheduled and stochastic) of the network and of
        every service. Call once, before running the environment."""
        self.network.start()
        for service in self.services.values():
            service.start()

    def task(self, name: str, solver: str) -> ControlTask:
        """The control task for ``name``: its own chain, or the pattern's default."""
        spec = self.spec
        own = spec.tasks.get(name)
        timing = own if own is not None else spec
        if own is not None:
            chain = tuple(step.step() for step in own.chain)
            pattern = own.pattern
        else:
            chain = default_chain(spec.pattern, solver, spec.edge_solver)
            pattern = spec.pattern
        return ControlTask(
            name, chain=chain, deadline_s=timing.deadline_s, timeout_s=timing.timeout_s,
            retries=timing.retries, backoff_s=timing.backoff_s,
            backoff_factor=timing.backoff_factor, pattern=pattern,
            request_bytes=timing.request_bytes, response_bytes=timing.response_bytes,
        )


def build_comms(
    env: simpy.Environment, spec: CommsSpec, seed: int, events: EventLog | None = None,
    *, start: bool = True, base_dir: Path | None = None,
) -> CommsModel:
    """Build the network and services of a ``comms:`` section in an environment.

    Parameters
    ----------
    env
        The run's environment (time in seconds).
    spec
        The section.
    seed
        Run seed; every link and service draws from its own named stream.
    events
        Event log (a new one by default).
    start
        Start the declared outages (scheduled and stochastic) now.
    base_dir
        Folder relative trace paths are looked up in first (the scenario's).

    Raises
    ------
    ValueError
        A trace file cannot be read, or a route has no path; the message names it.
    """
    from twin.comms.link import LinkParams
    from twin.comms.network import Network, NetworkParams, NodeParams, RouteParams
    from twin.comms.service import Service

    events = events if events is not None else EventLog()
    nodes = tuple(NodeParams(n.name, n.kind) for n in spec.nodes)
    links = []
    for i, link in enumerate(spec.links):
        try:
            latency = latency_model(link.latency, base_dir)
        except ValueError as exc:
            raise ValueError(f"comms.links.{i}.latency: {exc}") from None
        links.append(LinkParams(
            link.name, link.a, link.b, latency, jitter_ms=link.jitter_ms,
            loss_prob=link.loss_prob, retransmit_timeout_ms=link.retransmit_timeout_ms,
            max_retransmissions=link.max_retransmissions,
            bandwidth_mbps=link.bandwidth_mbps, **link.outage_kwargs(),
        ))
    routes = tuple(RouteParams(r.name, r.source, r.target, max_paths=r.max_paths,
                               detection_s=r.detection_s) for r in spec.routes)
    network = Network(
        env, NetworkParams(nodes, tuple(links), routes), stream(seed, "comms", "network"),
        events,
        link_rngs={link.name: stream(seed, "comms", "link", link.name) for link in links},
        fault_rngs={link.name: stream(seed, "comms", "link-fault", link.name)
                    for link in links},
    )
    services: dict[str, Service] = {}
    for i, service_spec in enumerate(spec.services):
        try:
            params = service_spec.params(base_dir)
        except ValueError as exc:
            raise ValueError(f"comms.services.{i}: {exc}") from None
        services[params.name] = Service(env, params, stream(seed, "comms", "service",
                                                               params.name), events)
    model = CommsModel(env, spec, events, network, services, int(seed))
    if start:
        model.start()
    return model
