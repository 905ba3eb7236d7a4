"""Rule-based self-consumption: batteries soak up local surplus and cover local deficit,
PV is curtailed only to respect an export limit.

Public names: :class:`SelfConsumptionController`.

Notes
-----
Each step at CONTROL, with ``L`` the net consumption the batteries see (loads minus
generation, measured from this step's injections before the batteries act):

- ``scope: bus``: ``L_b`` is the net consumption at each battery's own bus; batteries
  sharing a bus split it in proportion to their power rating. The batteries together
  never charge more than the whole feeder's surplus (``max(-L, 0)``) nor discharge more
  than its deficit (``max(L, 0)``): a surplus at the battery's bus that the rest of the
  feeder consumes is not surplus, and charging from it would only raise the import from
  upstream (it did: ``ci_smoke`` imported 0.0251 -> 0.0271 MWh with the battery before
  this limit).
- ``scope: grid``: ``L`` is the whole grid's net consumption, shared between all
  batteries in proportion to their power rating.

A battery's setpoint is ``-L`` clipped to its feasible range (charge surplus, discharge
to cover deficit). With ``export_limit_kw`` set, the remaining export beyond the limit
is curtailed from the scenario's PV assets in proportion to their available power.
Losses are not part of ``L`` (the controller acts on injections, not on a measurement
of the slack).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from twin.clock import Phase

if TYPE_CHECKING:
    import simpy

    from twin.assets.base import ProcessGen
    from twin.clock import StepClock
    from twin.control import ControlContext

logger = logging.getLogger(__name__)


def _room(wanted_mw: float, room_mw: float) -> float:
    """Factor that scales ``wanted_mw`` down to ``room_mw`` (1 when it fits). [-]"""
    return 1.0 if wanted_mw <= room_mw else (room_mw / wanted_mw if wanted_mw > 0 else 0.0)


class SelfConsumptionController:
    """The ``self_consumption`` control mode (see the module notes)."""

    def __init__(self, ctx: ControlContext) -> None:
        self.ctx = ctx
        spec = ctx.scenario.control
        self.scope = spec.scope
        self.export_limit_mw = (
            None if spec.export_limit_kw is None else spec.export_limit_kw / 1000.0
        )
        self._curtailing = False
        self.battery = ctx.families.get("battery")
        self.pv = ctx.families.get("pv")
        model = ctx.model
        # consumption of each element = -weight * p; batteries themselves excluded
        self._weight = -np.asarray(model.injection_weight, dtype=float).copy()
        if self.battery is not None:
            base = model.element_slices["storage"].start
            start, stop = self.battery.rows
            self._weight[base + start : base + stop] = 0.0
        buses = np.asarray(model.injection_bus, dtype=np.int64)
        self._n_bus = int(max(buses.max(initial=0), model.bus_index.max(initial=0))) + 1
        self._inj_bus = buses
        if self.battery is not None:
            bat_bus = self.battery.bus
            power = self.battery.params.power_mw
            same_bus = np.bincount(bat_bus, weights=power, minlength=self._n_bus)
            self._bus_share = power / same_bus[bat_bus]
            self._grid_share = power / power.sum()

    def setpoints(self, consumption_mw: np.ndarray) -> np.ndarray:
        """Battery setpoints for per-element consumption (see module notes). [MW]"""
        assert self.battery is not None
        if self.scope != "bus":
            return -consumption_mw.sum() * self._grid_share
        per_bus = np.bincount(self._inj_bus, weights=consumption_mw, minlength=self._n_bus)
        wanted = -per_bus[self.battery.bus] * self._bus_share
        # never charge from the upstream grid nor discharge into it: a bus surplus the
        # rest of the feeder consumes is not surplus (it would raise the import)
        feeder_mw = float(consumption_mw.sum())
        charge = np.clip(wanted, 0.0, None)
        discharge = np.clip(-wanted, 0.0, None)
        charge *= _room(charge.sum(), max(-feeder_mw, 0.0))
        discharge *= _room(discharge.sum(), max(feeder_mw, 0.0))
        return charge - discharge

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """Each step at CONTROL: battery setpoints, then PV caps for the export limit."""
        injections = self.ctx.injections
        while True:
            yield clock.wait(Phase.CONTROL)
            consumption = self._weight * injections.p_mw
            net_mw = float(consumption.sum())
            if self.battery is not None:
                snap = self.battery.snapshot()
                p_set = np.clip(
                    self.setpoints(consumption), -snap.p_discharge_max_mw, snap.p_charge_max_mw
                )
                self.battery.command(p_set)
                net_mw += float(p_set.sum())
            if self.export_limit_mw is not None and self.pv is not None:
                excess = -net_mw - self.export_limit_mw
                cut_mw = 0.0
                if excess > 0:
                    available = self.pv.snapshot().available_p_mw
                    total = available.sum()
                    if total > 0:
                        cut = np.minimum(available, excess * available / total)
                        self.pv.command(available - cut)
                        cut_mw = float(cut.sum())
                self._curtailment_event(env.now, cut_mw)

    def _curtailment_event(self, time_s: float, cut_mw: float) -> None:
        """Record when curtailment for the export limit starts and ends (not each step)."""
        active = cut_mw > 0
        if active == self._curtailing:
            return
        self._curtailing = active
        limit_kw = self.export_limit_mw * 1000.0 if self.export_limit_mw is not None else None
        if active:
            message = (f"PV curtailed by {cut_mw * 1000:.1f} kW to keep export under "
                       f"{limit_kw:.1f} kW.")
        else:
            message = "PV curtailment for the export limit ended."
        self.ctx.recorder.event(
            time_s, "control", "curtailment_start" if active else "curtailment_end",
            "control/self_consumption", message,
            {"curtailed_kw": cut_mw * 1000.0, "export_limit_kw": limit_kw},
        )
