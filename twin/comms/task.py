"""Control tasks: what a solver call may try, in which order, under which deadline.

Public names
------------
SolverStep
    Solve with a named solver at the service at the end of a named route.
HedgeStep
    Send the same problem along several solver steps at once; take the best (or the
    first) answer that arrives before the deadline.
HybridStep
    Pre-process at the edge, send targeted sub-problems to a (cloud) solver, reconcile at
    the edge.
FallbackStep
    A non-solver fallback the controller provides: ``last_good_schedule`` or
    ``rule_based``.
Step
    Union of the four.
ControlTask
    A named task: its fallback chain, deadline, time-out, retries and back-off.
Pattern, PATTERNS
    The five integration patterns planners weigh (a label for KPIs).
FALLBACK_NAMES
    The non-solver fallbacks.

Notes
-----
Times are relative to the start of the call. The *deadline* bounds the whole call: no
solver attempt outlives it, and once it has passed the remaining solver steps are
skipped (reason ``deadline``) and the first :class:`FallbackStep` answers. The
*time-out* bounds one attempt (capped by what is left of the deadline). After a failed
attempt the step is retried up to ``retries`` times, waiting
``backoff_s * backoff_factor**k`` before retry ``k + 1``, if the deadline leaves room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FALLBACK_NAMES",
    "PATTERNS",
    "ControlTask",
    "FallbackStep",
    "HedgeStep",
    "HybridStep",
    "Pattern",
    "SolverStep",
    "Step",
]

Pattern = Literal["cloud", "edge", "hybrid", "simulation-service", "on-device"]
"""The five integration patterns: a quantum service in the cloud; local simulation or a
classical substitute at the edge; edge pre-processing with targeted cloud calls and
reconciliation at the edge; a hosted simulator; a future on-device co-processor."""
PATTERNS: tuple[str, ...] = ("cloud", "edge", "hybrid", "simulation-service", "on-device")

FallbackName = Literal["last_good_schedule", "rule_based"]
FALLBACK_NAMES: tuple[str, ...] = ("last_good_schedule", "rule_based")


def _positive_or_none(where: str, name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value <= 0.0):
        raise ValueError(f"{where}{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class SolverStep:
    """Solve with ``solver`` at the service at the end of ``route``.

    Examples
    --------
    >>> SolverStep("qaoa", "to_qpu_cloud").label
    'qaoa@to_qpu_cloud'
    """

    solver: str
    """Solver name (a key of the solvers given to the caller)."""
    route: str
    """Route name; its target node hosts the service."""
    timeout_s: float | None = None
    """Per-attempt time-out; ``None``: the task's. [s]"""
    retries: int | None = None
    """Retries after a failed attempt; ``None``: the task's. [-]"""
    time_limit_s: float | None = None
    """Passed to ``solver.solve(time_limit=...)``; ``None``: no limit. [s]"""

    def __post_init__(self) -> None:
        self.validate("")

    def validate(self, where: str) -> None:
        """Check values; ``where`` prefixes messages (e.g. ``"chain[0]."``)."""
        if not self.solver:
            raise ValueError(f"{where}solver must not be empty")
        if not self.route:
            raise ValueError(f"{where}route must not be empty")
        _positive_or_none(where, "timeout_s", self.timeout_s)
        _positive_or_none(where, "time_limit_s", self.time_limit_s)
        if self.retries is not None and self.retries < 0:
            raise ValueError(f"{where}retries must be >= 0, got {self.retries!r}")

    @property
    def label(self) -> str:
        """``solver@route``."""
        return f"{self.solver}@{self.route}"


@dataclass(frozen=True, slots=True)
class HedgeStep:
    """Send the problem along every branch at once.

    ``take="best"`` waits for every branch (each bounded by the deadline) and uses the
    best objective among the answers (by the task's ``sense``; ties go to the earlier
    branch); ``take="first"`` uses the first answer and cancels the other branches.
    """

    branches: tuple[SolverStep, ...]
    """Two or more solver steps."""
    take: Literal["best", "first"] = "best"
    """Which answer to use."""

    def __post_init__(self) -> None:
        if len(self.branches) < 2:
            raise ValueError("branches must hold at least 2 solver steps")
        if self.take not in ("best", "first"):
            raise ValueError(f"take must be 'best' or 'first', got {self.take!r}")
        for i, branch in enumerate(self.branches):
            if not isinstance(branch, SolverStep):
                raise ValueError(f"branches[{i}] must be a SolverStep, got {branch!r}")

    @property
    def label(self) -> str:
        """``hedge(a|b)``."""
        return "hedge(" + "|".join(branch.label for branch in self.branches) + ")"


@dataclass(frozen=True, slots=True)
class HybridStep:
    """Edge pre-processing, targeted calls, reconciliation at the edge.

    The caller's ``hybrid`` plan splits the problem (at the edge, ``preprocess_s`` of
    modelled time), sends each sub-problem to ``remote`` in parallel (each with the
    step's retries), then merges the answers (at the edge, ``reconcile_s``). Any failed
    sub-call fails the step.
    """

    remote: SolverStep
    """Where the targeted sub-problems go (typically qaoa on the cloud QPU)."""
    preprocess_s: float = 0.05
    """Modelled edge time to split the problem. [s]"""
    reconcile_s: float = 0.05
    """Modelled edge time to merge the answers. [s]"""
    edge_power_w: float = 30.0
    """Power of the edge device while pre-processing and reconciling. [W]"""

    def __post_init__(self) -> None:
        for name in ("preprocess_s", "reconcile_s", "edge_power_w"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0.0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def label(self) -> str:
        """``hybrid(solver@route)``."""
        return f"hybrid({self.remote.label})"


@dataclass(frozen=True, slots=True)
class FallbackStep:
    """A non-solver fallback provided by the controller at call time."""

    name: FallbackName
    """``last_good_schedule`` or ``rule_based``."""

    def __post_init__(self) -> None:
        if self.name not in FALLBACK_NAMES:
            raise ValueError(
                f"name must be one of {list(FALLBACK_NAMES)}, got {self.name!r}"
            )

    @property
    def label(self) -> str:
        """The fallback name."""
        return self.name


Step = SolverStep | HedgeStep | HybridStep | FallbackStep


@dataclass(frozen=True, slots=True)
class ControlTask:
    """One kind of solver call the controller makes, with its fallback chain.

    Examples
    --------
    >>> task = ControlTask(
    ...     "dispatch",
    ...     chain=(SolverStep("qaoa", "to_qpu_cloud", timeout_s=120.0),
    ...            SolverStep("milp", "local"),
    ...            FallbackStep("last_good_schedule"), FallbackStep("rule_based")),
    ...     deadline_s=300.0, timeout_s=60.0, retries=1)
    >>> [step.label for step in task.chain]
    ['qaoa@to_qpu_cloud', 'milp@local', 'last_good_schedule', 'rule_based']
    """

    name: str
    """Task name (e.g. ``dispatch``)."""
    chain: tuple[Step, ...]
    """Steps in order; the first that answers is used."""
    deadline_s: float
    """Time from the call's start by which an answer is needed. [s]"""
    timeout_s: float
    """Default per-attempt time-out. [s]"""
    retries: int = 0
    """Default retries per solver step. [-]"""
    backoff_s: float = 0.5
    """Wait before the first retry. [s]"""
    backoff_factor: float = 2.0
    """Growth of the wait with each retry. [-]"""
    pattern: Pattern | None = None
    """Integration pattern this task stands for (a label for KPIs)."""
    request_bytes: int = 10_000
    """Size of a request (the problem). [B]"""
    response_bytes: int = 5_000
    """Size of a response (the solution). [B]"""
    sense: Literal["min", "max"] = "min"
    """Objective sense, to pick the best hedged answer."""

    def __post_init__(self) -> None:
        where = f"task {self.name!r}: "
        if not self.name:
            raise ValueError("task name must not be empty")
        if len(self.chain) == 0:
            raise ValueError(f"{where}chain must not be empty")
        for name in ("deadline_s", "timeout_s"):
            _positive_or_none(where, name, getattr(self, name))
        if self.retries < 0:
            raise ValueError(f"{where}retries must be >= 0, got {self.retries!r}")
        if not math.isfinite(self.backoff_s) or self.backoff_s < 0.0:
            raise ValueError(f"{where}backoff_s must be >= 0, got {self.backoff_s!r}")
        if not math.isfinite(self.backoff_factor) or self.backoff_factor < 1.0:
            raise ValueError(
                f"{where}backoff_factor must be >= 1, got {self.backoff_factor!r}"
            )
        if self.pattern is not None and self.pattern not in PATTERNS:
            raise ValueError(
                f"{where}pattern must be one of {list(PATTERNS)}, got {self.pattern!r}"
            )
        if self.request_bytes < 0 or self.response_bytes < 0:
            raise ValueError(f"{where}request_bytes and response_bytes must be >= 0")
        if self.sense not in ("min", "max"):
            raise ValueError(f"{where}sense must be 'min' or 'max', got {self.sense!r}")
        for i, step in enumerate(self.chain):
            if not isinstance(step, SolverStep | HedgeStep | HybridStep | FallbackStep):
                raise ValueError(f"{where}chain[{i}] must be a step, got {step!r}")

    def solver_steps(self) -> list[tuple[str, SolverStep]]:
        """Every solver step with its field path (``chain[0].branches[1]``, ...)."""
        found: list[tuple[str, SolverStep]] = []
        for i, step in enumerate(self.chain):
            if isinstance(step, SolverStep):
                found.append((f"chain[{i}]", step))
            elif isinstance(step, HedgeStep):
                found.extend(
                    (f"chain[{i}].branches[{j}]", branch)
                    for j, branch in enumerate(step.branches)
                )
            elif isinstance(step, HybridStep):
                found.append((f"chain[{i}].remote", step.remote))
        return found
