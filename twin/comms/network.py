"""The communication network: a networkx graph of nodes and links, routes and failover.

Public names
------------
NodeParams, RouteParams, NetworkParams
    Frozen descriptions of nodes, routes and the whole network.
RouteState
    Mutable state of a route: its candidate paths and the one in use.
Transfer
    What happened to one message sent along a route.
Network
    The runtime network in a SimPy environment: sends messages, applies link faults,
    fails over between paths.

Notes
-----
**Routes.** A route joins a source node (where the caller runs) to a target node (where a
service runs). Its candidate paths are given explicitly or computed on the graph as the
``max_paths`` loop-free paths of least total nominal latency
(:func:`networkx.shortest_simple_paths`, weight = each link's ``latency.nominal_ms``).
A route whose source is its target has one empty path (a co-located service).

**Failover.** A route sends on its *active* path. When a link of the active path goes
down, nothing changes for ``detection_s`` (messages are dropped on the dead link); then
the route re-evaluates and takes the first path, in order of preference, whose links are
all up (``route_failover``). When a link comes back up, the route re-evaluates again after
``detection_s`` and returns to a preferred path if it is whole (``route_failback``). With
no whole path the route is ``unavailable`` and keeps its path (messages are dropped).
Re-evaluation is idempotent: a flap shorter than ``detection_s`` goes unnoticed.

**Messages** cross the links of the path one after another, each hop a SimPy timeout of
the time drawn by :func:`twin.comms.link.cross_link`; responses use the same path in
reverse.

Why ~630 lines: the link states, the routes over them and failover are one graph's
state (a link fault re-evaluates every route through it); the per-hop physics is in
:mod:`twin.comms.link`.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from itertools import islice, pairwise
from typing import Any, Literal

import networkx as nx
import numpy as np
import simpy

from twin.comms.event import EventLog
from twin.comms.link import LinkParams, LinkState, cross_link
from twin.comms.outage import stochastic_process, window_process

__all__ = [
    "Network",
    "NetworkParams",
    "NodeKind",
    "NodeParams",
    "RouteParams",
    "RouteState",
    "Transfer",
]

NodeKind = Literal["device", "gateway", "router", "cloud"]
"""``device``: a field device or on-device co-processor; ``gateway``: an edge gateway
(where the controller and edge compute run); ``router``: a transit node (ISP, cell
tower); ``cloud``: a cloud endpoint."""

_NODE_KINDS = ("device", "gateway", "router", "cloud")


@dataclass(frozen=True, slots=True)
class NodeParams:
    """A node of the communication graph."""

    name: str
    """Unique node name."""
    kind: NodeKind = "router"
    """Role of the node (see :data:`NodeKind`)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("node name must not be empty")
        if self.kind not in _NODE_KINDS:
            raise ValueError(
                f"node {self.name!r}: kind must be one of {list(_NODE_KINDS)}, "
                f"got {self.kind!r}"
            )


@dataclass(frozen=True, slots=True)
class RouteParams:
    """A route from a caller's node to a service's node."""

    name: str
    """Unique route name (referred to by control tasks)."""
    source: str
    """Node where the caller runs."""
    target: str
    """Node where the service runs."""
    paths: tuple[tuple[str, ...], ...] | None = None
    """Candidate paths as node sequences, in order of preference; ``None``: compute."""
    max_paths: int = 3
    """Number of paths to compute when ``paths`` is ``None``."""
    detection_s: float = 1.0
    """Time to notice a failed or repaired link on the active path. [s]"""

    def __post_init__(self) -> None:
        where = f"route {self.name!r}"
        if not self.name:
            raise ValueError("route name must not be empty")
        if self.max_paths < 1:
            raise ValueError(f"{where}: max_paths must be >= 1, got {self.max_paths!r}")
        if not math.isfinite(self.detection_s) or self.detection_s < 0.0:
            raise ValueError(f"{where}: detection_s must be >= 0, got {self.detection_s!r}")
        if self.paths is not None:
            if len(self.paths) == 0:
                raise ValueError(f"{where}: paths must not be empty (or None to compute)")
            for i, path in enumerate(self.paths):
                if len(path) == 0 or path[0] != self.source or path[-1] != self.target:
                    raise ValueError(
                        f"{where}: paths[{i}] must run from {self.source!r} to "
                        f"{self.target!r}, got {list(path)}"
                    )


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """Nodes, links and routes; cross-references are checked on construction."""

    nodes: tuple[NodeParams, ...]
    """All nodes."""
    links: tuple[LinkParams, ...]
    """All links (at most one between two nodes)."""
    routes: tuple[RouteParams, ...] = ()
    """Routes callers may use."""

    def __post_init__(self) -> None:
        node_names = [node.name for node in self.nodes]
        _check_unique(node_names, "nodes")
        known = set(node_names)
        _check_unique([link.name for link in self.links], "links")
        pairs: set[frozenset[str]] = set()
        for i, link in enumerate(self.links):
            for end in ("node_a", "node_b"):
                if getattr(link, end) not in known:
                    raise ValueError(
                        f"links[{i}].{end}: unknown node {getattr(link, end)!r}; "
                        f"known nodes: {sorted(known)}"
                    )
            pair = frozenset((link.node_a, link.node_b))
            if pair in pairs:
                raise ValueError(
                    f"links[{i}]: a second link between {link.node_a!r} and "
                    f"{link.node_b!r}; route parallel links through distinct nodes"
                )
            pairs.add(pair)
        _check_unique([route.name for route in self.routes], "routes")
        for i, route in enumerate(self.routes):
            for end in ("source", "target"):
                if getattr(route, end) not in known:
                    raise ValueError(
                        f"routes[{i}].{end}: unknown node {getattr(route, end)!r}; "
                        f"known nodes: {sorted(known)}"
                    )
            for j, path in enumerate(route.paths or ()):
                for u, v in pairwise(path):
                    if frozenset((u, v)) not in pairs:
                        raise ValueError(
                            f"routes[{i}].paths[{j}]: no link between {u!r} and {v!r}"
                        )


def _check_unique(names: list[str], field_name: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{field_name}[{i}]: duplicate name {name!r}")
        seen.add(name)


@dataclass(slots=True)
class RouteState:
    """Mutable state of one route."""

    paths: tuple[tuple[str, ...], ...]
    """Candidate paths (node sequences), in order of preference."""
    path_links: tuple[tuple[str, ...], ...]
    """Link names along each candidate path."""
    active: int = 0
    """Index of the path in use."""
    available: bool = True
    """False when the last re-evaluation found no whole path."""
    failovers: int = 0
    """Path changes so far."""

    @property
    def active_path(self) -> tuple[str, ...]:
        """Node sequence of the path in use."""
        return self.paths[self.active]


@dataclass(slots=True)
class Transfer:
    """What happened to one message sent along a route."""

    route: str
    """Route name."""
    path: tuple[str, ...]
    """Node sequence travelled (in travel order)."""
    delivered: bool = True
    """False when the message was dropped."""
    serialisation_s: float = 0.0
    """Serialisation time over all hops. [s]"""
    network_s: float = 0.0
    """Propagation, jitter, spikes and retransmission waits over all hops. [s]"""
    retransmissions: int = 0
    """Link-layer retransmissions over all hops."""
    drop_reason: str | None = None
    """``"link_down"`` or ``"packet_loss"`` when dropped."""
    dropped_at: str | None = None
    """Link where the message was dropped."""


@dataclass(slots=True)
class _LinkEntry:
    params: LinkParams
    state: LinkState = field(default_factory=LinkState)


class Network:
    """The communication network running in a SimPy environment.

    Parameters
    ----------
    env
        The simulation environment (time in seconds).
    params
        Nodes, links and routes.
    rng
        Generator for message draws; stochastic link failures use generators spawned
        from it at construction, one per link, so failure times do not depend on traffic.
    events
        Where fault and reaction events go.
    link_rngs
        Optional generator per link name for that link's message draws (loss, latency,
        jitter), so one link's draws do not depend on traffic over the others.
    fault_rngs
        Optional generator per link name for its stochastic failures (instead of the
        ones spawned from ``rng``), so adding a link does not shift the others' streams.

    Raises
    ------
    ValueError
        If a route's target cannot be reached from its source.
    """

    def __init__(
        self,
        env: simpy.Environment,
        params: NetworkParams,
        rng: np.random.Generator,
        events: EventLog,
        *,
        link_rngs: Mapping[str, np.random.Generator] | None = None,
        fault_rngs: Mapping[str, np.random.Generator] | None = None,
    ) -> None:
        self.env = env
        self.params = params
        self.events = events
        self.graph = nx.Graph()
        for node in params.nodes:
            self.graph.add_node(node.name, kind=node.kind)
        self._links: dict[str, _LinkEntry] = {}
        for link in params.links:
            self.graph.add_edge(
                link.node_a, link.node_b, name=link.name, weight=link.latency.nominal_ms
            )
            self._links[link.name] = _LinkEntry(link)
        self._fault_rngs = dict(
            zip(self._links, rng.spawn(len(self._links)), strict=True)
        )
        self._fault_rngs.update(fault_rngs or {})
        self._rng = rng
        self._link_rngs = dict(link_rngs or {})
        self.routes: dict[str, RouteParams] = {route.name: route for route in params.routes}
        self.route_states: dict[str, RouteState] = {
            route.name: self._resolve(route) for route in params.routes
        }
        self._started = False

    # ------------------------------------------------------------------ set-up
    def _resolve(self, route: RouteParams) -> RouteState:
        if route.source == route.target:
            paths: tuple[tuple[str, ...], ...] = ((route.source,),)
        elif route.paths is not None:
            paths = route.paths
        else:
            try:
                found = nx.shortest_simple_paths(
                    self.graph, route.source, route.target, weight="weight"
                )
                paths = tuple(tuple(p) for p in islice(found, route.max_paths))
            except nx.NetworkXNoPath:
                paths = ()
            if not paths:
                raise ValueError(
                    f"route {route.name!r}: no path from {route.source!r} to "
                    f"{route.target!r} in the network graph"
                )
        path_links = tuple(
            tuple(self.graph.edges[u, v]["name"] for u, v in pairwise(p))
            for p in paths
        )
        return RouteState(paths=paths, path_links=path_links)

    def start(self) -> None:
        """Start the scheduled and stochastic outages declared in the link params.

        Call once, before running the environment.
        """
        if self._started:
            raise RuntimeError("Network.start() called twice")
        self._started = True
        for name, entry in self._links.items():
            for start_s, duration_s in entry.params.outage_windows:
                self.schedule_link_down(name, start_s, duration_s, reason="scheduled")
            if entry.params.mtbf_s is not None and entry.params.mttr_s is not None:
                self.start_stochastic_link_down(
                    name, entry.params.mtbf_s, entry.params.mttr_s, rng=self._fault_rngs[name]
                )

    # ------------------------------------------------------------------ queries
    def link_params(self, name: str) -> LinkParams:
        """Parameters of a link (``KeyError`` naming the link if unknown)."""
        return self._entry(name).params

    def link_state(self, name: str) -> LinkState:
        """Mutable state of a link."""
        return self._entry(name).state

    def fault_rng(self, name: str) -> np.random.Generator:
        """The generator reserved for stochastic faults on a link."""
        self._entry(name)
        return self._fault_rngs[name]

    def _entry(self, name: str) -> _LinkEntry:
        try:
            return self._links[name]
        except KeyError:
            raise KeyError(f"unknown link {name!r}; known links: {sorted(self._links)}") from None

    def route_state(self, route: str) -> RouteState:
        """Mutable state of a route (``KeyError`` naming the route if unknown)."""
        try:
            return self.route_states[route]
        except KeyError:
            raise KeyError(
                f"unknown route {route!r}; known routes: {sorted(self.route_states)}"
            ) from None

    def active_path(self, route: str) -> tuple[str, ...]:
        """Node sequence the route currently sends on."""
        return self.route_state(route).active_path

    # ------------------------------------------------------------------ messages
    def transfer(
        self, route: str, payload_bytes: int, *, reverse: bool = False
    ) -> Generator[simpy.Event, Any, Transfer]:
        """SimPy process body: send one message along a route's active path.

        Parameters
        ----------
        route
            Route name.
        payload_bytes
            Message size. [B]
        reverse
            Travel from the target back to the source (a response).

        Returns
        -------
        Transfer
            Times and, if dropped, where and why. The path is fixed when sending starts.
        """
        state = self.route_state(route)
        links = state.path_links[state.active]
        path = state.active_path
        if reverse:
            links = links[::-1]
            path = path[::-1]
        record = Transfer(route=route, path=path)
        for name in links:
            entry = self._links[name]
            hop = cross_link(
                entry.params, entry.state, self._link_rngs.get(name, self._rng), payload_bytes
            )
            record.serialisation_s += hop.serialisation_s
            record.network_s += hop.network_s
            record.retransmissions += hop.retransmissions
            spent_s = hop.serialisation_s + hop.network_s
            if spent_s > 0.0:
                yield self.env.timeout(spent_s)
            if not hop.delivered:
                record.delivered = False
                record.drop_reason = hop.drop_reason
                record.dropped_at = name
                return record
        return record

    # ------------------------------------------------------------------ faults
    def link_down(self, name: str, *, reason: str = "fault", repair_s: float | None = None) -> None:
        """Take a link down now (outages nest: each needs its :meth:`link_up`)."""
        state = self._entry(name).state
        state.down_count += 1
        if state.down_count == 1:
            state.down_since_s = self.env.now
            self.events.emit(
                self.env.now,
                "fault",
                "link_down",
                name,
                f"link {name} down ({reason})",
                {"reason": reason, "repair_s": repair_s},
            )
            self._link_changed(name, went_down=True)

    def link_up(self, name: str, *, reason: str = "fault") -> None:
        """End one outage of a link; the link is up when no outage remains."""
        state = self._entry(name).state
        if state.down_count == 0:
            raise RuntimeError(f"link {name!r} is not down")
        state.down_count -= 1
        if state.down_count == 0:
            down_s = self.env.now - (state.down_since_s or 0.0)
            state.down_since_s = None
            self.events.emit(
                self.env.now,
                "fault",
                "link_up",
                name,
                f"link {name} up after {down_s:.3f} s ({reason})",
                {"reason": reason, "down_s": down_s},
            )
            self._link_changed(name, went_down=False)

    def schedule_link_down(
        self, name: str, start_s: float, duration_s: float, *, reason: str = "scheduled"
    ) -> simpy.Process:
        """Fault: link down from ``start_s`` for ``duration_s``. [s]"""
        self._entry(name)
        return self.env.process(
            window_process(
                self.env,
                start_s,
                duration_s,
                lambda: self.link_down(name, reason=reason, repair_s=duration_s),
                lambda: self.link_up(name, reason=reason),
            )
        )

    def start_stochastic_link_down(
        self,
        name: str,
        mtbf_s: float,
        mttr_s: float,
        *,
        rng: np.random.Generator | None = None,
    ) -> simpy.Process:
        """Fault: exponential failures (mean ``mtbf_s``) and repairs (mean ``mttr_s``)."""
        self._entry(name)
        return self.env.process(
            stochastic_process(
                self.env,
                rng if rng is not None else self._fault_rngs[name],
                mtbf_s,
                mttr_s,
                lambda repair_s: self.link_down(name, reason="stochastic", repair_s=repair_s),
                lambda: self.link_up(name, reason="stochastic"),
            )
        )

    def begin_latency_spike(self, name: str, extra_ms: float, *, reason: str = "fault") -> None:
        """Add ``extra_ms`` to every crossing of a link until :meth:`end_latency_spike`."""
        self._entry(name).state.spikes_ms.append(extra_ms)
        self.events.emit(
            self.env.now,
            "fault",
            "latency_spike_start",
            name,
            f"latency spike on {name}: +{extra_ms:g} ms ({reason})",
            {"extra_ms": extra_ms, "reason": reason},
        )

    def end_latency_spike(self, name: str, extra_ms: float, *, reason: str = "fault") -> None:
        """End a latency spike begun with the same ``extra_ms``."""
        self._entry(name).state.spikes_ms.remove(extra_ms)
        self.events.emit(
            self.env.now,
            "fault",
            "latency_spike_end",
            name,
            f"latency spike on {name} over ({reason})",
            {"extra_ms": extra_ms, "reason": reason},
        )

    def begin_loss_burst(self, name: str, loss_prob: float, *, reason: str = "fault") -> None:
        """Raise a link's loss probability to at least ``loss_prob`` until the end."""
        self._entry(name).state.bursts.append(loss_prob)
        self.events.emit(
            self.env.now,
            "fault",
            "loss_burst_start",
            name,
            f"loss burst on {name}: p={loss_prob:g} ({reason})",
            {"loss_prob": loss_prob, "reason": reason},
        )

    def end_loss_burst(self, name: str, loss_prob: float, *, reason: str = "fault") -> None:
        """End a loss burst begun with the same ``loss_prob``."""
        self._entry(name).state.bursts.remove(loss_prob)
        self.events.emit(
            self.env.now,
            "fault",
            "loss_burst_end",
            name,
            f"loss burst on {name} over ({reason})",
            {"loss_prob": loss_prob, "reason": reason},
        )

    def schedule_latency_spike(
        self, name: str, start_s: float, duration_s: float, extra_ms: float
    ) -> simpy.Process:
        """Fault: ``+extra_ms`` on every crossing of a link during a window. [s], [ms]"""
        self._entry(name)
        if not math.isfinite(extra_ms) or extra_ms <= 0.0:
            raise ValueError(f"extra_ms must be > 0, got {extra_ms!r}")
        return self.env.process(
            window_process(
                self.env,
                start_s,
                duration_s,
                lambda: self.begin_latency_spike(name, extra_ms),
                lambda: self.end_latency_spike(name, extra_ms),
            )
        )

    def schedule_loss_burst(
        self, name: str, start_s: float, duration_s: float, loss_prob: float
    ) -> simpy.Process:
        """Fault: loss probability at least ``loss_prob`` on a link during a window."""
        self._entry(name)
        if not 0.0 < loss_prob <= 1.0:
            raise ValueError(f"loss_prob must be in (0, 1], got {loss_prob!r}")
        return self.env.process(
            window_process(
                self.env,
                start_s,
                duration_s,
                lambda: self.begin_loss_burst(name, loss_prob),
                lambda: self.end_loss_burst(name, loss_prob),
            )
        )

    # ------------------------------------------------------------------ failover
    def _link_changed(self, name: str, *, went_down: bool) -> None:
        for route_name, state in self.route_states.items():
            if went_down:
                concerned = name in state.path_links[state.active]
            else:
                concerned = not state.available or any(
                    name in links for links in state.path_links[: state.active]
                )
            if not concerned:
                continue
            delay_s = self.routes[route_name].detection_s
            if delay_s == 0.0:
                self._reevaluate(route_name)
            else:
                self.env.process(self._reevaluate_later(route_name, delay_s))

    def _reevaluate_later(
        self, route: str, delay_s: float
    ) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay_s)
        self._reevaluate(route)

    def _whole(self, links: tuple[str, ...]) -> bool:
        return all(self._links[name].state.up for name in links)

    def _reevaluate(self, route: str) -> None:
        state = self.route_states[route]
        best = next(
            (i for i, links in enumerate(state.path_links) if self._whole(links)), None
        )
        now = self.env.now
        if best is None:
            if state.available:
                state.available = False
                self.events.emit(
                    now,
                    "route",
                    "route_unavailable",
                    route,
                    f"route {route}: no whole path; messages are dropped",
                    {"path": "-".join(state.active_path)},
                )
            return
        was_available = state.available
        state.available = True
        if best != state.active:
            kind = "route_failover" if best > state.active else "route_failback"
            old = "-".join(state.active_path)
            state.active = best
            state.failovers += 1
            self.events.emit(
                now,
                "route",
                kind,
                route,
                f"route {route}: switched from {old} to {'-'.join(state.active_path)}",
                {"from_path": old, "to_path": "-".join(state.active_path), "path_index": best},
            )
        elif not was_available:
            self.events.emit(
                now,
                "route",
                "route_restored",
                route,
                f"route {route}: path {'-'.join(state.active_path)} whole again",
                {"path": "-".join(state.active_path), "path_index": best},
            )
