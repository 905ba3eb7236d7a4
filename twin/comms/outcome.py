"""What a call produces: :class:`CallOutcome` and its :class:`AttemptRecord` s.

Plain frozen records (no simpy, no network): the caller (:mod:`twin.comms.call`) makes
them, the gateway turns them into call records and the KPIs (:mod:`twin.comms.kpi`)
read them.

Public names: :class:`CallOutcome`, :class:`AttemptRecord`, :data:`FAILURE_REASONS`,
:func:`status_name`, :func:`is_answer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from twin.comms.event import EventRecord

__all__ = ["FAILURE_REASONS", "AttemptRecord", "CallOutcome", "is_answer", "status_name"]

FAILURE_REASONS = (
    "timeout",
    "deadline",
    "link_down",
    "packet_loss",
    "service_outage",
    "rate_limited",
    "quota_exceeded",
    "queue_full",
    "solver_error",
    "solver_timeout",
    "cancelled",
    "hybrid_error",
    "unavailable",
)
"""Transport and service reasons; a solver's own non-usable status gives
``solver_<status>`` (e.g. ``solver_infeasible``) and is not retried."""



def status_name(result: Any) -> str:
    """Lower-case name of a Result's status (``"optimal"``, ``"infeasible"``, ...)."""
    status = getattr(result, "status", None)
    name = getattr(status, "name", None)
    if name is None:
        name = getattr(status, "value", status)
    return str(name).lower()


def is_answer(result: Any) -> bool:
    """True for a Result with status optimal or feasible and a finite objective."""
    if result is None or status_name(result) not in ("optimal", "feasible"):
        return False
    objective = getattr(result, "objective", None)
    return isinstance(objective, int | float) and math.isfinite(objective)


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt of one solver step (or the edge work of a hybrid step)."""

    call_id: str
    """Call this attempt belongs to."""
    attempt: int
    """Index of the attempt within the call (0-based, in start order)."""
    step: str
    """Label of the step (``qaoa@to_qpu_cloud``)."""
    solver: str
    """Solver name (``<hybrid-edge>`` for a hybrid step's edge work)."""
    route: str
    """Route name."""
    path: str
    """Nodes travelled, joined by ``-``."""
    start_s: float
    """Start. [s]"""
    end_s: float
    """When the caller was done with it. [s]"""
    connect_s: float
    """Connection and authentication. [s]"""
    serialisation_s: float
    """Request serialisation over all hops. [s]"""
    network_s: float
    """Request propagation, jitter, spikes, retransmissions. [s]"""
    queue_s: float
    """Queue wait at the service. [s]"""
    execution_s: float
    """Service busy time (booked). [s]"""
    return_s: float
    """Response serialisation and network time. [s]"""
    retransmissions: int
    """Link-layer retransmissions, both ways."""
    outcome: str
    """``ok`` or a failure reason."""
    cost_eur: float
    """Cost booked by the service. [EUR]"""
    energy_j: float
    """Compute energy (device power x busy time). [J]"""
    objective: float | None
    """Objective of the answer, if any."""
    status: str | None
    """Solver status name, if the solver answered."""

    @property
    def latency_s(self) -> float:
        """``end_s - start_s``. [s]"""
        return self.end_s - self.start_s

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields and ``latency_s``."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["latency_s"] = self.latency_s
        return data


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call produced, and how."""

    call_id: str
    """``task#n``."""
    task: str
    """Task name."""
    pattern: str | None
    """Integration pattern of the task."""
    start_s: float
    """Start. [s]"""
    end_s: float
    """Answer in hand. [s]"""
    deadline_at_s: float
    """Absolute deadline. [s]"""
    status: Literal["solved", "fallback", "failed"]
    """``solved``: a solver answered; ``fallback``: a non-solver fallback answered;
    ``failed``: nothing answered."""
    used_step: str | None
    """Label of the step whose answer is used."""
    used_index: int | None
    """Index of that step in the chain."""
    solver: str | None
    """Solver of the answer (``hybrid`` plus remote solver for hybrid steps)."""
    route: str | None
    """Route of the answer."""
    result: Any
    """The solver's Result, when ``status == "solved"``."""
    fallback_value: Any
    """What the non-solver fallback returned, when ``status == "fallback"``."""
    attempts: tuple[AttemptRecord, ...]
    """Every attempt, in start order."""
    fallback_reasons: tuple[tuple[str, str], ...]
    """``(step label, reason)`` for every step given up, in order."""
    cost_eur: float
    """Cost of all attempts. [EUR]"""
    energy_j: float
    """Compute energy of all attempts. [J]"""
    deadline_met: bool
    """A solver answer was in hand at or before the deadline."""
    deadline_elapsed: bool
    """The deadline passed while solver steps were in play."""
    events: tuple[EventRecord, ...]
    """Events emitted during the call."""

    @property
    def latency_s(self) -> float:
        """``end_s - start_s``. [s]"""
        return self.end_s - self.start_s

    @property
    def used_attempt(self) -> AttemptRecord | None:
        """The attempt whose answer is used (the hedging winner, the last sub-call of a
        hybrid step), or ``None`` for a fallback."""
        if self.status != "solved":
            return None
        for attempt in reversed(self.attempts):
            if attempt.outcome == "ok" and attempt.step == self._answer_step:
                return attempt
        return None

    @property
    def _answer_step(self) -> str | None:
        for kind, value in ((e["kind"], e["data"]) for e in self.events):
            if kind == "hedge_winner":
                return str(value.get("branch"))
        if self.used_step is not None and self.used_step.startswith("hybrid("):
            return self.used_step[len("hybrid(") : -1]
        return self.used_step
