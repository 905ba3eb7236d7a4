r"""Start-slot assignment under a shared capacity: EV charger slots and deferrable loads.

Both decisions pick, for each asset, one start slot (or "not in this horizon") so that
what runs at the same time stays within a capacity per slot:

- :class:`EvChargerAssignment` (``ev_chargers``): each plugged vehicle that needs
  energy gets a charger from its start slot for as many slots as its energy needs at
  full power, before its departure; the depot has ``chargers`` shared chargers and the
  transformer headroom (PCC limit minus the forecast base load) caps how many charge at
  once; priced by the energy's time-of-use cost, a lateness cost and the unmet-energy
  penalty of a vehicle left without a slot before its departure;
- :class:`DeferrableLoadStarts` (``deferrable_loads``): each pending appliance run picks
  its start slot among the allowed ones under a peak limit on their summed power.

Notes
-----
Variables :math:`x_{r\tau} \in \{0,1\}` (asset ``r`` starts at slot ``tau``, allowed
starts only) and :math:`z_r` (not in this horizon). One-hot per asset and capacity per
slot:

.. math:: \sum_\tau x_{r\tau} + z_r = 1, \qquad
          \sum_r w_r \sum_{\tau = t - d_r + 1}^{t} x_{r\tau} \le C_t - O_t

with integer weights ``w`` and capacities ``C`` (chargers, or power in units of the
smallest appliance), durations ``d`` in slots and ``O`` the occupancy of starts decided
by earlier parts. Objective: :math:`\sum c_{r\tau} x_{r\tau} + \sum c^z_r z_r`. In a
window that is not the last, :math:`z_r` means "later" and costs the cheapest allowed
start after the window (an optimistic look-ahead); in the last window (and in the full
problem) it means "not in the horizon" at the asset's deferral cost.

Public names: :class:`StartSlotFormulation`, :class:`EvChargerAssignment`,
:class:`DeferrableLoadStarts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from twin.control.formulations.base import BinaryModel, Formulation, PartSpec

if TYPE_CHECKING:
    from solvers import Problem
    from twin.control.problems import DispatchInputs

__all__ = ["DeferrableLoadStarts", "EvChargerAssignment", "StartSlotFormulation"]

UNDECIDED = -2
"""Decision value of an asset no part has decided yet."""

NOT_STARTED = -1
"""Decision value of an asset without a start in the horizon."""


@dataclass(frozen=True)
class StartSlotFormulation(Formulation):
    """Start slots under a per-slot capacity (see the module notes).

    Attributes
    ----------
    allowed : numpy.ndarray of bool, shape (R, T)
        Allowed start slots.
    duration : numpy.ndarray of int, shape (R,)
        Slots an asset occupies from its start. [slots]
    weight : numpy.ndarray of int, shape (R,)
        Capacity units an asset uses while it runs. [-]
    capacity : numpy.ndarray of int, shape (T,)
        Capacity units per slot. [-]
    start_cost : numpy.ndarray, shape (R, T)
        Cost of each start. [EUR]
    defer_cost : numpy.ndarray, shape (R,)
        Cost of no start in the horizon. [EUR]
    assets : tuple of int
        The assets this (sub-)formulation decides; all for the full problem.
    t0, t1 : int
        Slots ``[t0, t1)`` whose starts this (sub-)formulation decides.
    last_window : bool
        Whether ``z`` means "not in the horizon" (True) or "later".
    occupied : numpy.ndarray of int, shape (T,)
        Capacity already used by starts decided earlier. [-]
    """

    decision: ClassVar[str] = "start_slots"
    allowed: np.ndarray
    duration: np.ndarray
    weight: np.ndarray
    capacity: np.ndarray
    start_cost: np.ndarray
    defer_cost: np.ndarray
    assets: tuple[int, ...] = ()
    t0: int = 0
    t1: int = -1
    last_window: bool = True
    occupied: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.assets:
            object.__setattr__(self, "assets", tuple(range(self.allowed.shape[0])))
        if self.t1 < 0:
            object.__setattr__(self, "t1", self.allowed.shape[1])
        if self.occupied is None:
            object.__setattr__(self, "occupied", np.zeros(self.allowed.shape[1], np.int64))

    @property
    def n_slots(self) -> int:
        """Slots T of the full problem."""
        return int(self.allowed.shape[1])

    @property
    def n_assets(self) -> int:
        """Assets R of the full problem."""
        return int(self.allowed.shape[0])

    # ----------------------------------------------------------------- model
    def _later_cost(self, r: int) -> float:
        if self.last_window:
            return float(self.defer_cost[r])
        after = np.flatnonzero(self.allowed[r, self.t1:]) + self.t1
        if after.size == 0:
            return float(self.defer_cost[r])
        return float(min(self.start_cost[r, after].min(), self.defer_cost[r]))

    def _layout(self) -> list[tuple[int, list[int]]]:
        """(asset, its allowed starts in the window) for assets with a variable."""
        out = []
        for r in self.assets:
            starts = [int(t) for t in np.flatnonzero(self.allowed[r, self.t0:self.t1]) + self.t0]
            if starts or self.last_window:
                out.append((r, starts))
        return out

    def to_problem(self) -> Problem:
        """One-hot start (or later) per asset and the capacity rows (module notes)."""
        m = BinaryModel(f"{self.decision}[{self.t0}:{self.t1}]")
        load: dict[int, dict[int, float]] = {}
        for r, starts in self._layout():
            onehot: dict[int, float] = {}
            for tau in starts:
                i = m.var(f"x_{r}_{tau}", float(self.start_cost[r, tau]))
                onehot[i] = 1.0
                for t in range(tau, min(self.n_slots, tau + int(self.duration[r]))):
                    load.setdefault(t, {})[i] = float(self.weight[r])
            z = m.var(f"z_{r}", self._later_cost(r))
            onehot[z] = 1.0
            m.add_row(onehot, 1.0, 1.0, f"one_{r}")
        for t in sorted(load):
            left = max(0.0, float(self.capacity[t] - self.occupied[t]))
            m.add_row(load[t], -math.inf, left, f"cap_{t}")
        return m.build()

    def interpret(self, x: np.ndarray) -> np.ndarray:
        """Start slot per decided asset of this part: (R,), ``-2`` outside it,
        ``-1`` for "not in the horizon", ``-2`` for "later" (a later part decides)."""
        out = np.full(self.n_assets, UNDECIDED, np.int64)
        problem_names = self.to_problem().names
        x = np.asarray(x, float)
        for name, value in zip(problem_names, x, strict=True):
            if value < 0.5:
                continue
            parts = name.split("_")
            r = int(parts[1])
            if parts[0] == "x":
                out[r] = int(parts[2])
            else:
                out[r] = NOT_STARTED if self.last_window else UNDECIDED
        return out

    # --------------------------------------------------------- decomposition
    def empty_decision(self) -> np.ndarray:
        """All assets undecided."""
        return np.full(self.n_assets, UNDECIDED, np.int64)

    def occupancy(self, decided: np.ndarray) -> np.ndarray:
        """Capacity units used per slot by the decided starts. [-]"""
        occ = np.zeros(self.n_slots, np.int64)
        for r, tau in enumerate(decided):
            if tau >= 0:
                occ[tau:min(self.n_slots, tau + int(self.duration[r]))] += int(self.weight[r])
        return occ

    def part(self, spec: PartSpec, decided: np.ndarray) -> StartSlotFormulation:
        """The assets of ``spec`` still undecided, starts in ``[t0, t1)``, capacity left."""
        assets = tuple(r for r in spec.assets if decided[r] == UNDECIDED)
        return replace(self, assets=assets, t0=spec.t0, t1=spec.t1,
                       last_window=spec.last_window, occupied=self.occupancy(decided))

    def merge(self, decided: np.ndarray, spec: PartSpec, part_decision: np.ndarray) -> np.ndarray:
        """Write the part's starts (and final deferrals) into ``decided``."""
        out = decided.copy()
        mask = part_decision != UNDECIDED
        out[mask] = part_decision[mask]
        return out

    def finish(self, decided: np.ndarray) -> np.ndarray:
        """Assets still undecided after the last part: not started."""
        return np.where(decided == UNDECIDED, NOT_STARTED, decided)

    def decision_x(self, decision: np.ndarray) -> np.ndarray:
        """The full problem's x of a full decision."""
        full = replace(self, assets=tuple(range(self.n_assets)), t0=0, t1=self.n_slots,
                       last_window=True, occupied=np.zeros(self.n_slots, np.int64))
        names = full.to_problem().names
        decision = self.finish(decision)
        x = np.zeros(len(names))
        for i, name in enumerate(names):
            parts = name.split("_")
            r = int(parts[1])
            if parts[0] == "x":
                x[i] = float(decision[r] == int(parts[2]))
            else:
                x[i] = float(decision[r] == NOT_STARTED)
        return x


def _slot_costs(price: np.ndarray, dt_h: float, p_kw: np.ndarray,
                duration: np.ndarray) -> np.ndarray:
    """Time-of-use cost of each start: p dt sum of the prices over the run. [EUR]"""
    t_len = price.size
    out = np.zeros((p_kw.size, t_len))
    for r in range(p_kw.size):
        for t in range(t_len):
            idx = np.minimum(np.arange(t, t + int(duration[r])), t_len - 1)
            out[r, t] = float(p_kw[r]) * dt_h * float(price[idx].sum())
    return out


class EvChargerAssignment(StartSlotFormulation):
    """Vehicles to shared charger slots (``ev_chargers``; see the module notes)."""

    decision: ClassVar[str] = "ev_chargers"

    @classmethod
    def from_inputs(cls, inp: DispatchInputs, *, chargers: int,
                    lateness_eur_per_kwh_slot: float = 0.005
                    ) -> tuple[EvChargerAssignment, np.ndarray] | None:
        """The assignment of the plan's plugged vehicles that need energy.

        Returns the formulation and the vehicle indices (into ``inp.ev``) it decides,
        or None without such vehicles.
        """
        ev = inp.ev
        if ev is None or ev.p_max_kw.size == 0:
            return None
        dt = inp.dt_h
        want = np.where(ev.need_kwh > 1e-6, ev.need_kwh, ev.room_kwh)
        idx = np.flatnonzero((want > 0.05 * ev.p_max_kw * dt) & (ev.available[0] > 0.999))
        if idx.size == 0:
            return None
        t_len = inp.n_slots
        p = ev.p_max_kw[idx]
        energy = p * ev.efficiency[idx] * dt
        duration = np.clip(np.ceil(want[idx] / np.maximum(energy, 1e-9) - 1e-9), 1, t_len).astype(
            np.int64)
        avail = ev.available[:, idx] > 0.999  # (T, V) plugged for the whole slot
        due = ev.need_kwh[idx] > 1e-6
        allowed = np.zeros((idx.size, t_len), bool)
        for j in range(idx.size):
            for t in range(t_len):
                stop = t + int(duration[j])
                if due[j]:
                    allowed[j, t] = stop <= t_len and bool(avail[t:stop, j].all())
                else:
                    allowed[j, t] = bool(avail[t:min(stop, t_len), j].all())
        price = np.asarray(inp.import_eur_per_kwh, float)
        cost = _slot_costs(price, dt, p, duration)
        cost += lateness_eur_per_kwh_slot * (p * dt)[:, None] * np.arange(t_len)[None, :]
        defer = np.where(due, inp.unmet_ev_penalty_eur_per_kwh * ev.need_kwh[idx],
                         p * dt * duration * float(price.max()))
        lim = np.broadcast_to(np.asarray(inp.pcc_limit_kw, float), (t_len,))
        headroom = lim - np.maximum(np.asarray(inp.base_kw, float), 0.0)
        by_trafo = np.where(np.isfinite(headroom),
                            np.floor(np.maximum(headroom, 0.0) / max(float(p.max()), 1e-9)),
                            chargers)
        capacity = np.minimum(by_trafo, chargers).astype(np.int64)
        return cls(allowed=allowed, duration=duration, weight=np.ones(idx.size, np.int64),
                   capacity=capacity, start_cost=cost, defer_cost=defer), idx


class DeferrableLoadStarts(StartSlotFormulation):
    """Start slots of deferrable appliance runs under a peak limit (``deferrable_loads``)."""

    decision: ClassVar[str] = "deferrable_loads"

    @classmethod
    def from_inputs(cls, inp: DispatchInputs, *, peak_kw: float | None = None,
                    must_penalty_eur_per_kwh: float = 2.0
                    ) -> tuple[DeferrableLoadStarts, np.ndarray] | None:
        """The starts of the plan's pending runs with an allowed start in the horizon.

        The peak limit is ``peak_kw`` when given, else the PCC headroom over the
        forecast base load (no limit rows without either). Power is counted in units
        of the smallest run's power (rounded), so the capacity rows are integer.
        """
        runs = inp.runs
        if runs is None or runs.p_kw.size == 0:
            return None
        idx = np.flatnonzero(runs.allowed.any(axis=1))
        if idx.size == 0:
            return None
        t_len = inp.n_slots
        p = np.asarray(runs.p_kw, float)[idx]
        unit = max(float(p.min()), 1e-6)
        weight = np.maximum(1, np.round(p / unit)).astype(np.int64)
        duration = np.clip(runs.duration_slots[idx], 1, t_len).astype(np.int64)
        if peak_kw is not None:
            limit = np.full(t_len, float(peak_kw))
        else:
            lim = np.broadcast_to(np.asarray(inp.pcc_limit_kw, float), (t_len,))
            limit = lim - np.maximum(np.asarray(inp.base_kw, float), 0.0)
        big = int(weight.sum())
        capacity = np.where(np.isfinite(limit), np.floor(np.maximum(limit, 0.0) / unit),
                            big).astype(np.int64)
        price = np.asarray(inp.import_eur_per_kwh, float)
        cost = _slot_costs(price, inp.dt_h, p, duration)
        energy = p * inp.dt_h * duration
        must = runs.must[idx]
        defer = np.where(must, must_penalty_eur_per_kwh * energy, energy * float(price.mean()))
        return cls(allowed=runs.allowed[idx].astype(bool), duration=duration, weight=weight,
                   capacity=capacity, start_cost=cost, defer_cost=defer), idx
