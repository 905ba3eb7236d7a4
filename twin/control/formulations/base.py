"""What every QUBO-sized decision formulation shares: the binary model and the protocol.

A formulation is one class in the converter style of qiskit-optimization: built from
the twin's state (the EMS's :class:`twin.control.problems.DispatchInputs`), it turns
that state into a constrained binary :class:`solvers.Problem` (:meth:`Formulation.to_problem`)
and maps an answer back to a decision (:meth:`Formulation.interpret`). The
constraints stay constraints in the Problem: solvers that need a QUBO (QAOA, annealing,
tabu) turn them into penalties through qiskit-optimization's ``QuadraticProgramToQubo``
(:func:`solvers.qubo.to_qubo`), so the same Problem also goes to ``milp`` as the
reference.

Decomposition is sequential: :meth:`Formulation.part` builds the sub-formulation of a
window of slots and a cluster of assets given what earlier parts decided (their
decisions carry state across the window boundary: generator on-times, running loads,
stored energy), so the recombined decision is feasible for the full problem.

Public names: :class:`BinaryModel`, :class:`Formulation`, :class:`PartSpec`,
:class:`PartQueue`, :func:`merged`, :data:`DECISION_TYPES`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from solvers import Problem

__all__ = ["DECISION_TYPES", "BinaryModel", "Formulation", "PartQueue", "PartSpec",
           "merged"]

DECISION_TYPES: tuple[str, ...] = (
    "unit_commitment", "ev_chargers", "deferrable_loads", "battery_mode",
)
"""Decision types a scenario can route to solvers (``control.ems.decisions.types``)."""


class BinaryModel:
    """Named binaries with a linear + quadratic objective and linear rows.

    A small builder for the formulations; :meth:`build` makes the
    :class:`solvers.Problem` (all variables binary, minimisation).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.names: list[str] = []
        self.linear: list[float] = []
        self.quad: dict[tuple[int, int], float] = {}
        self.rows: list[tuple[dict[int, float], float, float, str]] = []
        self.constant = 0.0

    def var(self, name: str, cost: float = 0.0) -> int:
        """Add a binary; return its index."""
        self.names.append(name)
        self.linear.append(float(cost))
        return len(self.names) - 1

    def add_quad(self, i: int, j: int, coef: float) -> None:
        """Add ``coef * x_i * x_j`` to the objective."""
        key = (min(i, j), max(i, j))
        self.quad[key] = self.quad.get(key, 0.0) + float(coef)

    def add_row(self, coefs: dict[int, float], lower: float, upper: float, name: str) -> bool:
        """Add ``lower <= sum coefs x <= upper`` unless no 0/1 assignment can violate it.

        Returns True when the row was kept. Redundant rows are left out: each kept
        inequality costs slack qubits in the QUBO.
        """
        coefs = {i: c for i, c in coefs.items() if c != 0.0}
        if not coefs:
            return False
        lo = sum(min(c, 0.0) for c in coefs.values())
        hi = sum(max(c, 0.0) for c in coefs.values())
        if lo >= lower - 1e-9 and hi <= upper + 1e-9:
            return False
        self.rows.append((coefs, float(lower), float(upper), name))
        return True

    def build(self) -> Problem:
        """The binary Problem (minimise)."""
        from solvers import Problem

        n = len(self.names)
        q = None
        if self.quad:
            keys = list(self.quad)
            q = sp.coo_array(([self.quad[k] for k in keys],
                              ([k[0] for k in keys], [k[1] for k in keys])), shape=(n, n))
        a = None
        lo = hi = np.zeros(0)
        if self.rows:
            data, ri, ci = [], [], []
            for r, (coefs, _l, _u, _n) in enumerate(self.rows):
                for i, c in coefs.items():
                    data.append(c)
                    ri.append(r)
                    ci.append(i)
            a = sp.coo_array((data, (ri, ci)), shape=(len(self.rows), n))
            lo = np.array([r[1] for r in self.rows])
            hi = np.array([r[2] for r in self.rows])
        return Problem(
            objective=np.asarray(self.linear, float), kinds="binary", lower=0.0, upper=1.0,
            names=self.names, quadratic=q, constant=self.constant, constraints=a,
            row_lower=lo, row_upper=hi, row_names=[r[3] for r in self.rows] or None,
            name=self.name,
        )


@dataclass(frozen=True)
class PartSpec:
    """One sub-problem of a decomposition: slots ``[t0, t1)`` and the assets it decides."""

    t0: int
    t1: int
    assets: tuple[int, ...]
    last_window: bool


class Formulation(ABC):
    """A decision of the twin as a constrained binary problem (see the module notes).

    Subclasses set :attr:`decision`, hold their instance data, and implement
    :meth:`to_problem`, :meth:`interpret`, :meth:`part`, :meth:`empty_decision`,
    :meth:`merge` and :meth:`decision_x`.
    """

    decision: ClassVar[str]
    n_slots: int
    n_assets: int

    @abstractmethod
    def to_problem(self) -> Problem:
        """The constrained binary problem of this (sub-)formulation."""

    @abstractmethod
    def interpret(self, x: np.ndarray) -> Any:
        """The decision of an assignment of :meth:`to_problem`'s variables."""

    @abstractmethod
    def part(self, spec: PartSpec, decided: Any) -> Formulation:
        """The sub-formulation of ``spec`` given the decision so far (full-size)."""

    @abstractmethod
    def empty_decision(self) -> Any:
        """The full-size decision before any part is decided."""

    @abstractmethod
    def merge(self, decided: Any, spec: PartSpec, part_decision: Any) -> Any:
        """``decided`` with a part's decision written in (a new object)."""

    @abstractmethod
    def decision_x(self, decision: Any) -> np.ndarray:
        """The full problem's variable values of a full-size decision."""

    # ----------------------------------------------------------------- sizing
    def qubits(self, penalty: float | None = None) -> int:
        """Binaries of the QUBO of :meth:`to_problem` (slacks included)."""
        from solvers.qubo import to_qubo

        problem = self.to_problem()
        if problem.num_variables == 0:
            return 0
        return int(to_qubo(problem, penalty).num_variables)

    def plan_parts(self, window: int, cluster: int) -> list[PartSpec]:
        """Windows of at most ``window`` slots (in time order) times clusters of at most
        ``cluster`` assets: the order parts are solved in.

        The windows (and clusters) are balanced: as few as ``window`` allows, of equal
        length to within one slot (12 slots at ``window`` 5 are 4 + 4 + 4, not
        5 + 5 + 2), so no part is left much smaller than the others.
        """
        window = max(1, int(window))
        cluster = max(1, int(cluster))
        specs = []
        for t0, t1 in _balanced(self.n_slots, window):
            for a0, a1 in _balanced(max(1, self.n_assets), cluster):
                assets = tuple(range(a0, min(a1, self.n_assets)))
                specs.append(PartSpec(t0, t1, assets, t1 >= self.n_slots))
        return specs

    def decompose(self, max_qubits: int, penalty: float | None = None,
                  max_window: int | None = None) -> list[PartSpec]:
        """The largest windows and clusters whose first sub-problems fit ``max_qubits``.

        Windows shrink first (down to one slot), then clusters; the first window's
        parts are sized with the initial state (later windows are checked again when
        they are built: a part above the limit is refused then, never cut silently).
        """
        window = min(self.n_slots, max_window or self.n_slots)
        cluster = max(1, self.n_assets)
        while True:
            specs = self.plan_parts(window, cluster)
            first = [s for s in specs if s.t0 == 0]
            decided = self.empty_decision()
            fits = True
            for spec in first:
                if self.part(spec, decided).qubits(penalty) > max_qubits:
                    fits = False
                    break
            if fits:
                return specs
            if window > 1:
                window = max(1, window // 2) if window > 3 else window - 1
            elif cluster > 1:
                cluster = max(1, cluster // 2) if cluster > 3 else cluster - 1
            else:
                return specs  # even one slot of one asset is too big: caller refuses


class PartQueue:
    """The parts of a decomposition in solving order. A part whose QUBO, built with what
    is decided so far, is above ``max_qubits`` keeps its longest leading window that fits
    and hands the remaining slots on to the next window (else it is split in asset
    halves); a part of one slot and one asset that is still too big is returned
    as it is (the solver refuses it, naming the size). A part whose QUBO is below
    ``min_qubits`` is merged with the next one (:func:`merged`) while the union fits
    ``max_qubits``; one still below it (the whole decision is that small, or no
    neighbour fits) is returned as it is and the caller decides where it goes.

    Parameters
    ----------
    formulation : Formulation
        The full formulation.
    specs : list of PartSpec
        The initial parts (:meth:`Formulation.decompose`).
    max_qubits : int
        Qubit budget. [-]
    penalty : float, optional
        QUBO penalty (None: automatic).
    split : bool
        False: never split or merge (decomposition off).
    min_qubits : int
        Smallest QUBO a part should have; smaller parts are merged with their
        successor while the union fits. [qubits]
    """

    def __init__(self, formulation: Formulation, specs: list[PartSpec], max_qubits: int,
                 penalty: float | None = None, split: bool = True,
                 min_qubits: int = 0) -> None:
        self.formulation = formulation
        self.pending = list(specs)
        self.max_qubits = int(max_qubits)
        self.min_qubits = int(min_qubits)
        self.penalty = penalty
        self.split = split
        self.count = 0

    def _build(self, spec: PartSpec, decided: Any) -> tuple[Formulation, Problem, int]:
        sub = self.formulation.part(spec, decided)
        problem = sub.to_problem()
        return sub, problem, sub.qubits(self.penalty) if problem.num_variables else 0

    def _peel(self, spec: PartSpec, decided: Any
              ) -> tuple[PartSpec, tuple[Formulation, Problem, int]] | None:
        """The longest leading window of ``spec`` that fits ``max_qubits``, its remaining
        slots put in front of the queue (joined to the next window of the same assets);
        None when not even its first slot fits."""
        n_slots = self.formulation.n_slots
        for length in range(spec.t1 - spec.t0 - 1, 0, -1):
            cut = spec.t0 + length
            head = PartSpec(spec.t0, cut, spec.assets, cut >= n_slots)
            built = self._build(head, decided)
            if built[2] <= self.max_qubits:
                tail = PartSpec(cut, spec.t1, spec.assets, spec.last_window)
                joined = merged(tail, self.pending[0]) if self.pending else None
                if joined is not None:
                    self.pending[0] = joined
                else:
                    self.pending.insert(0, tail)
                return head, built
        return None

    def next(self, decided: Any) -> tuple[PartSpec, Formulation, Problem, int] | None:
        """The next part given ``decided``: (spec, sub-formulation, problem, qubits)."""
        f = self.formulation
        while self.pending:
            spec = self.pending.pop(0)
            sub, problem, qubits = self._build(spec, decided)
            if self.split and qubits > self.max_qubits:
                head = self._peel(spec, decided)
                if head is not None:
                    spec, (sub, problem, qubits) = head
                else:
                    halves = _halves(spec, f.n_slots)
                    if halves:
                        self.pending[:0] = halves
                        continue
            while self.split and 0 < qubits < self.min_qubits and self.pending:
                union = merged(spec, self.pending[0])
                if union is None:
                    break
                bigger = self._build(union, decided)
                if bigger[2] > self.max_qubits:
                    break
                self.pending.pop(0)
                spec, (sub, problem, qubits) = union, bigger
            self.count += 1
            return spec, sub, problem, qubits
        return None


def _balanced(n: int, most: int) -> list[tuple[int, int]]:
    """``[0, n)`` cut into ``ceil(n / most)`` consecutive ranges of near-equal length."""
    if n <= 0:
        return [(0, 0)]
    count = -(-n // max(1, most))
    edges = [round(i * n / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count)]


def merged(first: PartSpec, second: PartSpec) -> PartSpec | None:
    """One part covering two neighbours: consecutive windows of the same assets, or two
    clusters of the same window; None when they are neither."""
    if first.assets == second.assets and first.t1 == second.t0:
        return PartSpec(first.t0, second.t1, first.assets, second.last_window)
    if (first.t0, first.t1) == (second.t0, second.t1) and not set(first.assets) & set(
            second.assets):
        return PartSpec(first.t0, first.t1, tuple(sorted(first.assets + second.assets)),
                        first.last_window)
    return None


def _halves(spec: PartSpec, n_slots: int) -> list[PartSpec]:
    if spec.t1 - spec.t0 > 1:
        mid = (spec.t0 + spec.t1) // 2
        return [PartSpec(spec.t0, mid, spec.assets, mid >= n_slots),
                PartSpec(mid, spec.t1, spec.assets, spec.t1 >= n_slots)]
    if len(spec.assets) > 1:
        mid = len(spec.assets) // 2
        return [PartSpec(spec.t0, spec.t1, spec.assets[:mid], spec.last_window),
                PartSpec(spec.t0, spec.t1, spec.assets[mid:], spec.last_window)]
    return []


def finite_penalty(value: float | None) -> float | None:
    """``value`` if it is a finite positive number or None; else ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"penalty must be a finite number > 0 (or null), got {value!r}")
    return float(value)
