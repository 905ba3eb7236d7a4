r"""Microgrid unit commitment over the look-ahead (``unit_commitment``).

On/off per generator per slot, with start-up costs, minimum up and down times (the
initial state's remaining ones included) and demand coverage: in a slot where the
forecast demand exceeds what the PCC can import (an island has none) plus the
batteries' reserve, the committed generators' capacity must cover the rest. The
continuous dispatch of each proposal (generator output, batteries, the rest of the
plan) is then solved by HiGHS in the EMS's dispatch problem with the commitment fixed:
a hybrid decomposition (binary part to any solver, continuous part to HiGHS).

Notes
-----
Variables :math:`u_{tg}` (free entries only: the initial state's remaining minimum
up/down time fixes some, which are constants). Objective, per slot ``t`` of length
``dt``, with price :math:`\pi_t` and the output :math:`\hat p_{tg}` a committed unit
would run at (the forecast demand within ``[p_min, p_max]`` when fuel is cheaper than
import, else ``p_min``):

.. math:: \sum_{t,g} dt\, \hat p_{tg} (f_g - \pi_t)\, u_{tg}
          + \sum_{t,g} S_g\, u_{tg} (1 - u_{t-1,g})

(quadratic start-up term, :math:`u_{-1} =` the initial state). Constraints:
coverage :math:`\sum_g a_g u_{tg} \ge r_t` in units of the smallest generator
(:math:`a_g = \lfloor P^{max}_g / P^{max}_{min} \rfloor`, :math:`r_t` the uncovered
demand rounded up, capped at what the units that may run can give); minimum up
:math:`u_{tg} - u_{t-1,g} \le u_{t+k,g}` for :math:`1 \le k < UT_g`; minimum down
:math:`u_{t-1,g} - u_{tg} + u_{t+k,g} \le 1` for :math:`1 \le k < DT_g`. Rows no 0/1
assignment can violate are left out (each costs slack qubits). In a time window that is
not the last, the coverage of its last slot is the largest requirement of the next
``max DT`` slots, so that keeping the units on is always a feasible continuation.

Public names: :class:`UnitCommitment`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from twin.control.formulations.base import BinaryModel, Formulation, PartSpec

if TYPE_CHECKING:
    from solvers import Problem
    from twin.control.problems import DispatchInputs

__all__ = ["UnitCommitment"]

_Term = Callable[[int, int], tuple[int | None, float]]
"""``term(t, g)``: u[t, g] as (free variable index, 0) or (None, known value; NaN when
undecided outside the part)."""


@dataclass(frozen=True)
class UnitCommitment(Formulation):
    """Generators' on/off schedule (see the module notes).

    Attributes
    ----------
    run_cost : numpy.ndarray, shape (T, G)
        Cost of a committed unit per slot (negative: cheaper than import). [EUR]
    startup_cost : numpy.ndarray, shape (G,)
        Cost of one start. [EUR]
    cap_units : numpy.ndarray of int, shape (G,)
        Capacity in units of the smallest generator. [-]
    required_units : numpy.ndarray of int, shape (T,)
        Capacity units the committed generators must give per slot. [-]
    min_up, min_down : numpy.ndarray of int, shape (G,)
        Minimum up and down time. [slots]
    on0 : numpy.ndarray of bool, shape (G,)
        State before the first slot.
    in_state0 : numpy.ndarray of int, shape (G,)
        Slots already spent in that state. [slots]
    gens : tuple of int
        The generators this (sub-)formulation decides.
    t0, t1 : int
        Its slots ``[t0, t1)``.
    fixed : numpy.ndarray of int, shape (T, G)
        Decided entries (0/1) of earlier parts, -1 where undecided.
    """

    decision: ClassVar[str] = "unit_commitment"
    run_cost: np.ndarray
    startup_cost: np.ndarray
    cap_units: np.ndarray
    required_units: np.ndarray
    min_up: np.ndarray
    min_down: np.ndarray
    on0: np.ndarray
    in_state0: np.ndarray
    gens: tuple[int, ...] = ()
    t0: int = 0
    t1: int = -1
    fixed: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.gens:
            object.__setattr__(self, "gens", tuple(range(self.run_cost.shape[1])))
        if self.t1 < 0:
            object.__setattr__(self, "t1", self.run_cost.shape[0])
        if self.fixed is None:
            object.__setattr__(self, "fixed", np.full(self.run_cost.shape, -1, np.int64))

    @property
    def n_slots(self) -> int:
        """Slots T."""
        return int(self.run_cost.shape[0])

    @property
    def n_assets(self) -> int:
        """Generators G."""
        return int(self.run_cost.shape[1])

    @classmethod
    def from_inputs(cls, inp: DispatchInputs, *, reserve_frac: float = 0.5
                    ) -> tuple[UnitCommitment, np.ndarray] | None:
        """The commitment of the plan's generators (None without any).

        ``reserve_frac`` of the batteries' power counts toward coverage. [-]
        """
        gen = inp.generator
        if gen is None or gen.p_max_kw.size == 0:
            return None
        t_len, dt = inp.n_slots, inp.dt_h
        base = np.asarray(inp.base_kw, float)
        price = np.asarray(inp.import_eur_per_kwh, float)
        fuel = np.asarray(gen.fuel_cost_eur_per_kwh, float)
        p_hat = np.where(fuel[None, :] < price[:, None],
                         np.clip(base[:, None], gen.p_min_kw[None, :], gen.p_max_kw[None, :]),
                         gen.p_min_kw[None, :])
        run_cost = dt * p_hat * (fuel[None, :] - price[:, None])
        unit = max(float(gen.p_max_kw.min()), 1e-6)
        cap = np.maximum(1, np.floor(gen.p_max_kw / unit + 1e-9)).astype(np.int64)
        lim = np.broadcast_to(np.asarray(inp.pcc_limit_kw, float), (t_len,))
        reserve = 0.0
        if inp.battery is not None and inp.battery.p_max_kw.size:
            reserve = reserve_frac * float(inp.battery.p_max_kw.sum())
        short = np.maximum(base - np.where(np.isfinite(lim), lim, np.inf) - reserve, 0.0)
        required = np.minimum(np.ceil(short / unit - 1e-9), cap.sum()).astype(np.int64)
        return cls(run_cost=run_cost, startup_cost=np.asarray(gen.startup_cost_eur, float),
                   cap_units=cap, required_units=required,
                   min_up=np.maximum(1, gen.min_up_slots).astype(np.int64),
                   min_down=np.maximum(1, gen.min_down_slots).astype(np.int64),
                   on0=np.asarray(gen.on0, bool),
                   in_state0=np.asarray(gen.slots_in_state0, np.int64)), np.arange(
                       gen.p_max_kw.size)

    # ----------------------------------------------------------------- model
    def _forced(self) -> np.ndarray:
        """Entries fixed by the initial state's remaining up/down time (-1: free)."""
        out = self.fixed.copy()
        for g in range(self.n_assets):
            need = self.min_up[g] if self.on0[g] else self.min_down[g]
            rest = int(max(0, need - self.in_state0[g]))
            for t in range(min(rest, self.n_slots)):
                if out[t, g] < 0:
                    out[t, g] = int(self.on0[g])
        return out

    def to_problem(self) -> Problem:
        """Commitment of ``gens`` over ``[t0, t1)`` (module notes): run and start-up
        costs, coverage rows, minimum up/down rows."""
        forced = self._forced()
        m = BinaryModel(f"{self.decision}[{self.t0}:{self.t1}]")
        index: dict[tuple[int, int], int] = {}
        for t in range(self.t0, self.t1):
            for g in self.gens:
                if forced[t, g] < 0:
                    index[t, g] = m.var(f"u_{t}_{g}", float(self.run_cost[t, g]))

        def term(t: int, g: int) -> tuple[int | None, float]:
            """(variable, constant) of u[t, g]: a free variable, or a known value."""
            if t < 0:
                return None, float(self.on0[g])
            if (t, g) in index:
                return index[t, g], 0.0
            if forced[t, g] >= 0:
                return None, float(forced[t, g])
            return None, math.nan  # outside this part and undecided

        self._startup_terms(m, term)
        self._coverage_rows(m, term)
        self._min_up_down_rows(m, term)
        return m.build()

    def _startup_terms(self, m: BinaryModel, term: _Term) -> None:
        """Start-up costs :math:`S_g u_t (1 - u_{t-1})`, and the run cost of units forced
        on in this part (constants)."""
        for t in range(self.t0, self.t1):
            for g in self.gens:
                cur, cur_c = term(t, g)
                prev, prev_c = term(t - 1, g)
                cur_c = 0.0 if math.isnan(cur_c) else cur_c
                prev_c = 0.0 if math.isnan(prev_c) else prev_c
                s = float(self.startup_cost[g])
                if cur is None:  # forced in this part: run cost and start-up are known
                    m.constant += float(self.run_cost[t, g]) * cur_c
                    if prev is None:
                        m.constant += s * cur_c * (1.0 - prev_c)
                    else:  # s c (1 - u_prev)
                        m.constant += s * cur_c
                        m.linear[prev] -= s * cur_c
                elif prev is None:  # s u (1 - c)
                    m.linear[cur] += s * (1.0 - prev_c)
                else:  # s u_t - s u_t u_{t-1}
                    m.linear[cur] += s
                    m.add_quad(cur, prev, -s)

    def _coverage_rows(self, m: BinaryModel, term: _Term) -> None:
        r""":math:`\sum_g a_g u_{tg} \ge r_t` per slot (module notes)."""
        look = int(self.min_down.max()) if self.t1 < self.n_slots else 1
        for t in range(self.t0, self.t1):
            need = float(self.required_units[t])
            if t == self.t1 - 1:  # the units on at the window's end must cover what
                # follows until a stopped unit may start again (later parts can then
                # always keep them on): the decomposition never runs into a dead end
                need = float(self.required_units[t:t + look].max())
            if need <= 0:
                continue
            coefs: dict[int, float] = {}
            for g in range(self.n_assets):
                var, const = term(t, g)
                if var is not None:
                    coefs[var] = float(self.cap_units[g])
                elif math.isnan(const) or const > 0:  # later parts' units: counted on
                    need -= float(self.cap_units[g]) * (1.0 if math.isnan(const) else const)
            # what the units that may run can give at most (a unit held off by its
            # minimum down time cannot help): the shortfall beyond it is shed, not infeasible
            need = min(need, sum(coefs.values()))
            m.add_row(coefs, need, math.inf, f"cover_{t}")

    def _min_up_down_rows(self, m: BinaryModel, term: _Term) -> None:
        """Minimum up and down times of this part's generators, including rows that
        start before the part but reach into it (a start or stop decided by an earlier
        part still binds slots here)."""
        for g in self.gens:
            lag = int(max(self.min_up[g], self.min_down[g]))
            for t in range(max(0, self.t0 - lag), self.t1):
                for k in range(1, int(self.min_up[g])):
                    self._row(m, term, [(t, g, 1.0), (t - 1, g, -1.0), (t + k, g, -1.0)],
                              0.0, f"up_{t}_{g}_{k}")
                for k in range(1, int(self.min_down[g])):
                    self._row(m, term, [(t - 1, g, 1.0), (t, g, -1.0), (t + k, g, 1.0)],
                              1.0, f"down_{t}_{g}_{k}")

    def _row(self, m: BinaryModel, term: _Term, parts: list[tuple[int, int, float]],
             upper: float, name: str) -> None:
        coefs: dict[int, float] = {}
        for t, g, c in parts:
            if t >= self.n_slots:
                return  # beyond the horizon: nothing to hold
            var, const = term(t, g)
            if var is None:
                if math.isnan(const):  # undecided, outside the part: a later part holds it
                    return
                upper -= c * const
            else:
                coefs[var] = coefs.get(var, 0.0) + c
        if not coefs:
            return
        m.add_row(coefs, -math.inf, upper, name)

    def interpret(self, x: np.ndarray) -> np.ndarray:
        """On/off (T, G) of this part's entries (and the forced ones); -1 elsewhere."""
        out = np.full((self.n_slots, self.n_assets), -1, np.int64)
        forced = self._forced()
        for t in range(self.t0, self.t1):
            for g in self.gens:
                if forced[t, g] >= 0:
                    out[t, g] = forced[t, g]
        for name, value in zip(self.to_problem().names, np.asarray(x, float), strict=True):
            _, t, g = name.split("_")
            out[int(t), int(g)] = int(value > 0.5)
        return out

    # --------------------------------------------------------- decomposition
    def empty_decision(self) -> np.ndarray:
        """Nothing decided: -1 everywhere."""
        return np.full((self.n_slots, self.n_assets), -1, np.int64)

    def part(self, spec: PartSpec, decided: np.ndarray) -> UnitCommitment:
        """Generators of ``spec`` over its window, earlier decisions fixed."""
        return replace(self, gens=spec.assets, t0=spec.t0, t1=spec.t1, fixed=decided.copy())

    def merge(self, decided: np.ndarray, spec: PartSpec, part_decision: np.ndarray) -> np.ndarray:
        """``decided`` with the part's entries."""
        out = decided.copy()
        mask = part_decision >= 0
        out[mask] = part_decision[mask]
        return out

    def decision_x(self, decision: np.ndarray) -> np.ndarray:
        """The full problem's x (free entries in name order)."""
        full = replace(self, gens=tuple(range(self.n_assets)), t0=0, t1=self.n_slots,
                       fixed=np.full(self.run_cost.shape, -1, np.int64))
        names = full.to_problem().names
        x = np.zeros(len(names))
        for i, name in enumerate(names):
            _, t, g = name.split("_")
            x[i] = float(decision[int(t), int(g)] == 1)
        return x
