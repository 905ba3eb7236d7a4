"""PV systems added by a scenario (``kind: pv``): available power from a named
profile, curtailable by a controller.

Public names: :class:`PvFamily`, :class:`PvSnapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import Channel, FamilyContext, ProcessGen, add_element_rows
from twin.clock import Phase
from twin.profiles import resample_rows

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import PvAssetSpec


@dataclass(frozen=True)
class PvSnapshot:
    """What a controller may read of the PV systems at CONTROL.

    Attributes
    ----------
    names : tuple of str
        Asset names.
    bus : numpy.ndarray
        pandapower bus of each system.
    available_p_mw : numpy.ndarray
        Power the sun offers this step. [MW]
    """

    names: tuple[str, ...]
    bus: np.ndarray
    available_p_mw: np.ndarray


class PvFamily:
    """All ``pv`` assets of a scenario: one pandapower sgen row (type PV) each.

    A controller may cap the output for the current step with :meth:`command`; the cap
    holds for one step only.
    """

    kind: ClassVar[str] = "pv"

    def __init__(self, specs: list[PvAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.peak_mw = np.array([s.peak_kw / 1000.0 for s in specs])
        self.rows = rows
        n = len(specs)
        self.available_p_mw = np.zeros(n)
        self.p_mw = np.zeros(n)
        self.curtailed_p_mw = np.zeros(n)
        self._limit_p_mw = np.full(n, np.inf)
        self.tripped = np.zeros(n, dtype=bool)
        """Per system: tripped by a fault (offers and delivers nothing)."""

    @classmethod
    def add_to_network(cls, specs: list[PvAssetSpec], net: Any) -> PvFamily:
        """Add one sgen row per spec and build the family."""
        rows = add_element_rows(
            net,
            "sgen",
            [
                {"bus": s.bus, "p_mw": 0.0, "q_mvar": 0.0, "type": "PV", "name": f"asset/{s.name}"}
                for s in specs
            ],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Resolve the named profiles to a ``(n_steps, n)`` table of available power."""
        assert ctx.library is not None  # checks.py guarantees a library for PV assets
        table = np.empty((ctx.n_steps, len(self.specs)))
        for j, spec in enumerate(self.specs):
            profile = ctx.library.get("renewables", spec.profile)
            table[:, j] = resample_rows(profile, ctx.profile_offset_rows, ctx.n_steps, ctx.step_s)
        np.maximum(table, 0.0, out=table)
        self._available_table = table * self.peak_mw
        self._p_view, self._q_view = ctx.injections.rows("sgen", *self.rows)

    def forecast_available_p_mw(self, steps: np.ndarray) -> np.ndarray:
        """Available power of grid steps ``steps`` (perfect forecast from the profiles,
        trips not foreseen), shape ``(len(steps), n)``. [MW]"""
        return self._available_table[steps]

    def command(self, limit_p_mw: np.ndarray) -> None:
        """Cap each system's output for the current step. [MW]"""
        np.copyto(self._limit_p_mw, np.maximum(np.asarray(limit_p_mw, dtype=float), 0.0))

    def set_tripped(self, name: str, tripped: bool) -> None:
        """A fault trips system ``name`` off (or restores it) from the next step on:
        while tripped its inverter offers nothing, so available, delivered and
        curtailed power are all 0 (a trip is not curtailment)."""
        self.tripped[self.names.index(name)] = bool(tripped)

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """SENSE: the sun offers power (written uncurtailed); ACT: apply a cap if any."""
        while True:
            k = yield clock.wait(Phase.SENSE)
            np.copyto(self.available_p_mw, self._available_table[k])
            if self.tripped.any():
                self.available_p_mw[self.tripped] = 0.0
            np.copyto(self.p_mw, self.available_p_mw)
            self.curtailed_p_mw[:] = 0.0
            self._limit_p_mw[:] = np.inf
            self._p_view[:] = self.p_mw
            yield clock.wait(Phase.ACT)
            if self.tripped.any():  # also a trip that came after SENSE
                self.available_p_mw[self.tripped] = 0.0
            np.minimum(self.available_p_mw, self._limit_p_mw, out=self.p_mw)
            np.subtract(self.available_p_mw, self.p_mw, out=self.curtailed_p_mw)
            self._p_view[:] = self.p_mw

    def channels(self) -> list[Channel]:
        """Delivered, available and curtailed power of each system. [MW]"""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.p_mw),
            Channel("asset", "available_p_mw", "MW", entities, self.available_p_mw),
            Channel("asset", "curtailed_p_mw", "MW", entities, self.curtailed_p_mw),
        ]

    def snapshot(self) -> PvSnapshot:
        """Available power of the current step (valid from CONTROL on)."""
        return PvSnapshot(self.names, self.bus, self.available_p_mw.copy())

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Delivered, available and curtailed PV energy. [MWh]"""
        step_h = step_s / 3600.0
        return {
            "pv_energy_mwh": float(np.nansum(values[0]) * step_h),
            "pv_available_mwh": float(np.nansum(values[1]) * step_h),
            "pv_curtailed_mwh": float(np.nansum(values[2]) * step_h),
        }
