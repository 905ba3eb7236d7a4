"""Extra consumers added by a scenario (``kind: load``), following named profiles.

Public names: :class:`LoadFamily`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import Channel, FamilyContext, ProcessGen, add_element_rows
from twin.clock import Phase
from twin.profiles import resample_rows

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import LoadAssetSpec



class LoadFamily:
    """All ``load`` assets of a scenario: one pandapower load row each.

    Parameters
    ----------
    specs : list of LoadAssetSpec
        The scenario's load assets, in file order.
    rows : tuple of int
        Positional ``(start, stop)`` of their rows in ``net.load``.
    """

    kind: ClassVar[str] = "load"

    def __init__(self, specs: list[LoadAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.peak_mw = np.array([s.peak_kw / 1000.0 for s in specs])
        self.q_per_p = np.array([math.tan(math.acos(s.power_factor)) for s in specs])
        self.rows = rows
        self.p_mw = np.zeros(len(specs))
        self.q_mvar = np.zeros(len(specs))

    @classmethod
    def add_to_network(cls, specs: list[LoadAssetSpec], net: Any) -> LoadFamily:
        """Add one load row per spec (at peak power) and build the family."""
        rows = add_element_rows(
            net,
            "load",
            [
                {
                    "bus": s.bus,
                    "p_mw": s.peak_kw / 1000.0,
                    "q_mvar": s.peak_kw / 1000.0 * math.tan(math.acos(s.power_factor)),
                    "name": f"asset/{s.name}",
                }
                for s in specs
            ],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Resolve profiles to a ``(n_steps, n)`` table of active power."""
        relative = np.ones((ctx.n_steps, len(self.specs)))
        for j, spec in enumerate(self.specs):
            if spec.profile is not None:
                assert ctx.library is not None  # checks.py guarantees a library
                profile = ctx.library.get("load", spec.profile)
                relative[:, j] = resample_rows(
                    profile, ctx.profile_offset_rows, ctx.n_steps, ctx.step_s
                )
        self._p_table = relative * self.peak_mw
        self._p_view, self._q_view = ctx.injections.rows("load", *self.rows)

    def forecast_p_mw(self, steps: np.ndarray) -> np.ndarray:
        """Active power of grid steps ``steps`` (perfect forecast from the profiles),
        shape ``(len(steps), n)``: what the family writes at those steps. [MW]"""
        return self._p_table[steps]

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """Each step, at SENSE, write the step's power."""
        while True:
            k = yield clock.wait(Phase.SENSE)
            np.copyto(self.p_mw, self._p_table[k])
            np.multiply(self.p_mw, self.q_per_p, out=self.q_mvar)
            self._p_view[:] = self.p_mw
            self._q_view[:] = self.q_mvar

    def channels(self) -> list[Channel]:
        """Active power of each load asset. [MW]"""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [Channel("asset", "p_mw", "MW", entities, self.p_mw)]

    def snapshot(self) -> dict[str, np.ndarray]:
        """Bus and current power of each load asset."""
        return {"bus": self.bus.copy(), "p_mw": self.p_mw.copy()}

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Energy the load assets consumed. [MWh]"""
        return {"asset_load_energy_mwh": float(np.nansum(values[0]) * step_s / 3600.0)}
