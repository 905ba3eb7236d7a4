"""Links of the communication network: parameters, state and the crossing of one hop.

Public names
------------
LinkParams
    Frozen description of a link (latency model, jitter, loss, retransmission,
    bandwidth, outages).
LinkState
    Mutable state: up/down, active latency spikes and loss bursts, counters.
HopOutcome
    What happened to one message on one hop.
cross_link
    Draw the outcome of one message crossing one link.

Notes
-----
A message of ``B`` bytes crossing a link that is up takes

.. math:: t = \\sum_{k=0}^{r} \\frac{8 B}{10^6 \\, bw} + r \\, t_{rto}
          + d + |J| + s

where ``r`` is the number of link-layer retransmissions (each attempt is lost
independently with probability ``p_loss``; after a loss the sender waits the
retransmission timeout ``t_rto`` and sends again, at most ``max_retransmissions``
times), ``bw`` the bandwidth [Mbit/s], ``d`` a draw of the latency model,
``J ~ N(0, jitter_ms^2)`` (half-normal jitter: queueing only ever adds delay) and ``s``
the extra delay of active latency spikes. Store-and-forward: every hop serialises the
whole message. A message reaching a link that is down, or lost ``max_retransmissions
+ 1`` times, is dropped; the sender only learns of it through its own timeout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from twin.comms.latency import LatencyModel

__all__ = ["HopOutcome", "LinkParams", "LinkState", "check_mtbf_mttr", "cross_link"]


def check_mtbf_mttr(mtbf_s: float | None, mttr_s: float | None, where: str) -> None:
    """Validate an optional MTBF/MTTR pair (both set or both unset, both > 0).

    Parameters
    ----------
    mtbf_s, mttr_s
        Mean time between failures and mean time to repair. [s]
    where
        Prefix naming the owner in messages (e.g. ``"link 'fibre'"``).
    """
    for name, value in (("mtbf_s", mtbf_s), ("mttr_s", mttr_s)):
        if value is not None and (not math.isfinite(value) or value <= 0.0):
            raise ValueError(f"{where}: {name} must be a finite number > 0, got {value!r}")
    if (mtbf_s is None) != (mttr_s is None):
        raise ValueError(f"{where}: mtbf_s and mttr_s must be given together")


def check_windows(windows: tuple[tuple[float, float], ...], where: str) -> None:
    """Validate scheduled ``(start_s, duration_s)`` windows (start >= 0, duration > 0)."""
    for i, window in enumerate(windows):
        if len(window) != 2:
            raise ValueError(f"{where}: outage_windows[{i}] must be (start_s, duration_s)")
        start_s, duration_s = window
        if not math.isfinite(start_s) or start_s < 0.0:
            raise ValueError(f"{where}: outage_windows[{i}].start_s must be >= 0")
        if not math.isfinite(duration_s) or duration_s <= 0.0:
            raise ValueError(f"{where}: outage_windows[{i}].duration_s must be > 0")


@dataclass(frozen=True, slots=True)
class LinkParams:
    """One bidirectional link between two nodes.

    Examples
    --------
    >>> from twin.comms.latency import ConstantLatency
    >>> LinkParams("fibre", "gateway", "isp", ConstantLatency(2.0)).bandwidth_mbps
    100.0
    """

    name: str
    """Unique link name."""
    node_a: str
    """One end (a node name)."""
    node_b: str
    """The other end (a node name)."""
    latency: LatencyModel
    """One-way delay of a crossing (propagation and processing). [ms]"""
    jitter_ms: float = 0.0
    """Scale of the half-normal extra delay. [ms]"""
    loss_prob: float = 0.0
    """Probability that one transmission attempt is lost. [-], in [0, 1)"""
    retransmit_timeout_ms: float = 200.0
    """Wait before a lost transmission is sent again. [ms]"""
    max_retransmissions: int = 3
    """Link-layer retransmissions before the message is dropped. [-]"""
    bandwidth_mbps: float = 100.0
    """Serialisation rate. [Mbit/s]"""
    mtbf_s: float | None = None
    """Mean time between stochastic failures (exponential); ``None``: none. [s]"""
    mttr_s: float | None = None
    """Mean time to repair a stochastic failure (exponential). [s]"""
    outage_windows: tuple[tuple[float, float], ...] = ()
    """Scheduled outages as ``(start_s, duration_s)`` pairs. [s]"""

    def __post_init__(self) -> None:
        where = f"link {self.name!r}"
        if not self.name:
            raise ValueError("link name must not be empty")
        if self.node_a == self.node_b:
            raise ValueError(f"{where}: node_a and node_b must differ, both {self.node_a!r}")
        if not isinstance(self.latency, LatencyModel):
            raise ValueError(f"{where}: latency must be a latency model, got {self.latency!r}")
        if not math.isfinite(self.jitter_ms) or self.jitter_ms < 0.0:
            raise ValueError(f"{where}: jitter_ms must be >= 0, got {self.jitter_ms!r}")
        if not 0.0 <= self.loss_prob < 1.0:
            raise ValueError(f"{where}: loss_prob must be in [0, 1), got {self.loss_prob!r}")
        if not math.isfinite(self.retransmit_timeout_ms) or self.retransmit_timeout_ms <= 0:
            raise ValueError(
                f"{where}: retransmit_timeout_ms must be > 0, got "
                f"{self.retransmit_timeout_ms!r}"
            )
        if self.max_retransmissions < 0:
            raise ValueError(
                f"{where}: max_retransmissions must be >= 0, got {self.max_retransmissions!r}"
            )
        if not math.isfinite(self.bandwidth_mbps) or self.bandwidth_mbps <= 0.0:
            raise ValueError(
                f"{where}: bandwidth_mbps must be > 0, got {self.bandwidth_mbps!r}"
            )
        check_mtbf_mttr(self.mtbf_s, self.mttr_s, where)
        check_windows(self.outage_windows, where)


@dataclass(slots=True)
class LinkState:
    """Mutable state of one link during a run."""

    down_count: int = 0
    """Number of active outages (overlapping windows add up)."""
    down_since_s: float | None = None
    """Time the current outage began. [s]"""
    spikes_ms: list[float] = field(default_factory=list)
    """Extra delays of the active latency spikes. [ms]"""
    bursts: list[float] = field(default_factory=list)
    """Loss probabilities of the active loss bursts. [-]"""
    messages: int = 0
    """Messages that reached this link."""
    dropped: int = 0
    """Messages dropped on this link (down or lost too often)."""
    retransmissions: int = 0
    """Link-layer retransmissions so far."""

    @property
    def up(self) -> bool:
        """True when no outage is active."""
        return self.down_count == 0

    def loss_prob(self, params: LinkParams) -> float:
        """Loss probability in force: the largest of the base value and active bursts."""
        return max(params.loss_prob, *self.bursts) if self.bursts else params.loss_prob


@dataclass(slots=True)
class HopOutcome:
    """What happened to one message on one hop."""

    delivered: bool
    """False when the message was dropped on this hop."""
    serialisation_s: float
    """Time putting bits on the wire, all attempts. [s]"""
    network_s: float
    """Propagation, jitter, spikes and retransmission waits. [s]"""
    retransmissions: int
    """Retransmissions on this hop."""
    drop_reason: str | None = None
    """``"link_down"`` or ``"packet_loss"`` when dropped."""


def cross_link(
    params: LinkParams, state: LinkState, rng: np.random.Generator, payload_bytes: int
) -> HopOutcome:
    """Draw the outcome of one message entering a link now.

    Parameters
    ----------
    params, state
        The link.
    rng
        Generator for loss, latency and jitter draws.
    payload_bytes
        Message size. [B]

    Returns
    -------
    HopOutcome
        Times spent on the hop (up to the drop, if dropped) and the drop reason.
    """
    state.messages += 1
    if not state.up:
        state.dropped += 1
        return HopOutcome(False, 0.0, 0.0, 0, "link_down")
    serialisation_s = payload_bytes * 8.0 / (params.bandwidth_mbps * 1e6)
    loss_prob = state.loss_prob(params)
    attempts = 1
    if loss_prob > 0.0:
        while rng.random() < loss_prob:
            if attempts > params.max_retransmissions:
                state.dropped += 1
                state.retransmissions += attempts - 1
                return HopOutcome(
                    False,
                    attempts * serialisation_s,
                    attempts * params.retransmit_timeout_ms / 1000.0,
                    attempts - 1,
                    "packet_loss",
                )
            attempts += 1
    retransmissions = attempts - 1
    state.retransmissions += retransmissions
    delay_ms = params.latency.sample_ms(rng)
    if params.jitter_ms > 0.0:
        delay_ms += abs(float(rng.normal(0.0, params.jitter_ms)))
    if state.spikes_ms:
        delay_ms += sum(state.spikes_ms)
    network_s = delay_ms / 1000.0 + retransmissions * params.retransmit_timeout_ms / 1000.0
    return HopOutcome(True, attempts * serialisation_s, network_s, retransmissions)
