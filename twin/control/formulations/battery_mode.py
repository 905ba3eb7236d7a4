r"""Battery mode per slot: charge, idle or discharge (``battery_mode``).

The site's batteries as one aggregate unit choose a mode per slot; the continuous
dispatch then runs with the mode fixed (charging or discharging power only, or
neither). What makes it non-convex: a wear cost on every change of direction between
consecutive slots (a quadratic term), on top of the stored-energy limits.

Notes
-----
Variables :math:`m_{tk}`, ``k`` in (charge, idle, discharge), one-hot per slot. The
stored energy in units of one slot at full power, :math:`q = P dt`, starts at
:math:`s_0 = \lfloor (e_0 - e_{min}) / q \rfloor` and must stay in
:math:`[0, \lfloor (e_{max} - e_{min}) / q \rfloor]`:

.. math:: -s_0 \le \sum_{\tau \le t} (m_{\tau c} - m_{\tau d}) \le S - s_0

(rows that cannot bind are left out). Objective: charging costs the import price,
discharging earns the price of the import it displaces (the export price for the part
above the forecast demand), a wear cost per kWh through the battery, a switching cost
``kappa`` for each charge-to-discharge or discharge-to-charge change
(:math:`\kappa (m_{tc} m_{t+1,d} + m_{td} m_{t+1,c})`), and the energy left at the end
of the horizon valued at the mean price.

Public names: :class:`BatteryModeSelection`.
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

__all__ = ["BatteryModeSelection"]

MODES = (1, 0, -1)
"""Mode values of the decision: charge, idle, discharge."""

_KEYS = ("c", "i", "d")


@dataclass(frozen=True)
class BatteryModeSelection(Formulation):
    """Charge / idle / discharge per slot (see the module notes).

    Attributes
    ----------
    mode_cost : numpy.ndarray, shape (T, 3)
        Cost of each mode per slot (charge, idle, discharge). [EUR]
    switch_cost : float
        Cost of a change of direction between consecutive slots. [EUR]
    s0_units, size_units : int
        Initial stored energy and usable capacity in slot-units. [-]
    end_value : float
        Value of one unit left at the end of the horizon. [EUR]
    t0, t1 : int
        Slots of this (sub-)formulation.
    fixed : numpy.ndarray of int, shape (T,)
        Decided modes of earlier parts (2 where undecided).
    """

    decision: ClassVar[str] = "battery_mode"
    mode_cost: np.ndarray
    switch_cost: float
    s0_units: int
    size_units: int
    end_value: float
    t0: int = 0
    t1: int = -1
    fixed: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.t1 < 0:
            object.__setattr__(self, "t1", self.mode_cost.shape[0])
        if self.fixed is None:
            object.__setattr__(self, "fixed", np.full(self.mode_cost.shape[0], 2, np.int64))

    @property
    def n_slots(self) -> int:
        """Slots T."""
        return int(self.mode_cost.shape[0])

    @property
    def n_assets(self) -> int:
        """One aggregate battery."""
        return 1

    @classmethod
    def from_inputs(cls, inp: DispatchInputs, *, switch_cost_eur: float = 0.5
                    ) -> tuple[BatteryModeSelection, np.ndarray] | None:
        """The aggregate of the plan's batteries (None without any)."""
        bat = inp.battery
        if bat is None or bat.p_max_kw.size == 0:
            return None
        dt = inp.dt_h
        p = float(bat.p_max_kw.sum())
        if p <= 0:
            return None
        q = p * dt
        price = np.asarray(inp.import_eur_per_kwh, float)
        base = np.maximum(np.asarray(inp.base_kw, float), 0.0)
        eta_c = float(np.mean(bat.eta_charge))
        eta_d = float(np.mean(bat.eta_discharge))
        wear = inp.cycle_cost_eur_per_kwh * q
        charge = price * q + wear
        displaced = np.minimum(base, p) * dt
        discharge = -(price * displaced + inp.export_eur_per_kwh * (q - displaced)) + wear
        cost = np.stack([charge, np.zeros_like(charge), discharge], axis=1)
        e0 = float(bat.e0_kwh.sum())
        e_min = float(bat.e_min_kwh.sum())
        e_max = float(bat.e_max_kwh.sum())
        s0 = int(max(0, math.floor((e0 - e_min) / q + 1e-9)))
        size = int(max(s0, math.floor((e_max - e_min) / q + 1e-9)))
        # a unit charged is worth its discharge at the mean price, net of losses
        end_value = float(price.mean()) * q * eta_c * eta_d
        return cls(mode_cost=cost, switch_cost=float(switch_cost_eur), s0_units=s0,
                   size_units=size, end_value=end_value), np.arange(bat.p_max_kw.size)

    # ----------------------------------------------------------------- model
    def _start_units(self) -> int:
        """Stored units at ``t0`` after the decided modes before it."""
        before = self.fixed[: self.t0]
        return int(self.s0_units + int((before == 1).sum()) - int((before == -1).sum()))

    def to_problem(self) -> Problem:
        """One-hot modes of ``[t0, t1)``, energy rows and switching cost."""
        m = BinaryModel(f"{self.decision}[{self.t0}:{self.t1}]")
        idx: dict[tuple[int, str], int] = {}
        last = self.t1 >= self.n_slots
        for t in range(self.t0, self.t1):
            for k, key in enumerate(_KEYS):
                cost = float(self.mode_cost[t, k])
                if last:  # energy left at the end of the horizon has a value
                    cost -= self.end_value * (1 if key == "c" else -1 if key == "d" else 0)
                idx[t, key] = m.var(f"m_{t}_{key}", cost)
            m.add_row({idx[t, key]: 1.0 for key in _KEYS}, 1.0, 1.0, f"one_{t}")
        k0 = self.t0 - 1
        if k0 >= 0 and self.fixed[k0] in (1, -1):  # the change at the boundary
            prev = "c" if self.fixed[k0] == 1 else "d"
            other = "d" if prev == "c" else "c"
            m.linear[idx[self.t0, other]] += self.switch_cost
        for t in range(self.t0, self.t1 - 1):
            m.add_quad(idx[t, "c"], idx[t + 1, "d"], self.switch_cost)
            m.add_quad(idx[t, "d"], idx[t + 1, "c"], self.switch_cost)
        s = self._start_units()
        cum: dict[int, float] = {}
        for t in range(self.t0, self.t1):
            cum[idx[t, "c"]] = 1.0
            cum[idx[t, "d"]] = -1.0
            m.add_row(dict(cum), float(-s), float(self.size_units - s), f"energy_{t}")
        return m.build()

    def interpret(self, x: np.ndarray) -> np.ndarray:
        """Mode per slot (1 charge, 0 idle, -1 discharge) of this part; 2 elsewhere."""
        out = self.fixed.copy()
        for name, value in zip(self.to_problem().names, np.asarray(x, float), strict=True):
            if value > 0.5:
                _, t, key = name.split("_")
                out[int(t)] = MODES[_KEYS.index(key)]
        return out

    # --------------------------------------------------------- decomposition
    def empty_decision(self) -> np.ndarray:
        """Nothing decided."""
        return np.full(self.n_slots, 2, np.int64)

    def part(self, spec: PartSpec, decided: np.ndarray) -> BatteryModeSelection:
        """The window of ``spec`` after the decided slots."""
        return replace(self, t0=spec.t0, t1=spec.t1, fixed=decided.copy())

    def merge(self, decided: np.ndarray, spec: PartSpec, part_decision: np.ndarray) -> np.ndarray:
        """``decided`` with the window's modes."""
        out = decided.copy()
        out[spec.t0:spec.t1] = part_decision[spec.t0:spec.t1]
        return out

    def decision_x(self, decision: np.ndarray) -> np.ndarray:
        """The full problem's x."""
        full = replace(self, t0=0, t1=self.n_slots, fixed=np.full(self.n_slots, 2, np.int64))
        names = full.to_problem().names
        x = np.zeros(len(names))
        for i, name in enumerate(names):
            _, t, key = name.split("_")
            x[i] = float(decision[int(t)] == MODES[_KEYS.index(key)])
        return x
