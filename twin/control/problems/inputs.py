"""What one dispatch plan is built from: per-family input arrays in kW / kWh / EUR per
slot (filled by :mod:`twin.control.plan_inputs` from the families' public interfaces).

Public names: :class:`DispatchInputs`, :class:`BatteryInputs`, :class:`GeneratorInputs`,
:class:`EvInputs`, :class:`BuildingInputs`, :class:`RunInputs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatteryInputs:
    """Batteries for the plan (kW, kWh). Arrays of shape (B,)."""

    e0_kwh: np.ndarray
    e_min_kwh: np.ndarray
    e_max_kwh: np.ndarray
    p_max_kw: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray


@dataclass(frozen=True)
class GeneratorInputs:
    """Generators for the plan; arrays of shape (G,). Up/down times in slots."""

    on0: np.ndarray
    slots_in_state0: np.ndarray
    p_min_kw: np.ndarray
    p_max_kw: np.ndarray
    min_up_slots: np.ndarray
    min_down_slots: np.ndarray
    startup_cost_eur: np.ndarray
    fuel_cost_eur_per_kwh: np.ndarray


@dataclass(frozen=True)
class EvInputs:
    """Plugged vehicles for the plan; arrays of shape (V,), ``available`` (T, V).

    ``available[t, v]`` is the share of slot ``t`` the vehicle is plugged in (0 after its
    departure); ``need_kwh`` is what it still needs by departure (0 if departure lies
    beyond the horizon: no requirement yet); ``room_kwh`` the free battery capacity.
    """

    available: np.ndarray
    p_max_kw: np.ndarray
    efficiency: np.ndarray
    need_kwh: np.ndarray
    room_kwh: np.ndarray
    e0_kwh: np.ndarray
    v2g: np.ndarray
    degradation_eur_per_kwh: np.ndarray


@dataclass(frozen=True)
class BuildingInputs:
    """Zones for the plan, as the exact discrete model at the slot length.

    ``a`` (N, 2, 2), ``b`` (N, 2): state transition and HVAC heat input of
    ``x = (T_air, T_mass)``; ``drive`` (T, N, 2): the disturbances' contribution
    ``E d_t`` per slot (forecast weather and internal gains); ``x0`` (N, 2) the state
    now; ``cop``/``eer`` (T, N); ``lower``/``upper`` (T, N) comfort bounds on the air
    temperature at slot ends; ``p_max_kw`` (N,).
    """

    a: np.ndarray
    b: np.ndarray
    drive: np.ndarray
    x0: np.ndarray
    cop: np.ndarray
    eer: np.ndarray
    lower_c: np.ndarray
    upper_c: np.ndarray
    p_max_kw: np.ndarray

    def air_temperature_c(self, heat_kw: np.ndarray, cool_kw: np.ndarray) -> np.ndarray:
        """Air temperature at slot ends for HVAC powers (T, N) (the plan's model). [degC]"""
        x = self.x0.copy()
        out = np.empty(heat_kw.shape)
        for t in range(heat_kw.shape[0]):
            q = self.cop[t] * heat_kw[t] - self.eer[t] * cool_kw[t]
            x = np.einsum("nij,nj->ni", self.a, x) + self.b * q[:, None] + self.drive[t]
            out[t] = x[:, 0]
        return out


@dataclass(frozen=True)
class RunInputs:
    """Deferrable runs not yet started: ``allowed`` (R, T) start slots, ``must`` (R,)
    whether the run has to start inside the horizon, ``duration_slots`` (R,), power (R,)."""

    allowed: np.ndarray
    must: np.ndarray
    duration_slots: np.ndarray
    p_kw: np.ndarray


@dataclass(frozen=True)
class DispatchInputs:
    """Everything the dispatch problem needs, in kW / kWh / EUR per slot.

    Attributes
    ----------
    dt_h : float
        Slot length. [h]
    base_kw : numpy.ndarray
        Forecast uncontrolled net demand per slot (loads minus PV). [kW]
    import_eur_per_kwh : numpy.ndarray
        Import price per slot. [EUR/kWh]
    export_eur_per_kwh : float
        Export price. [EUR/kWh]
    pcc_limit_kw : float or numpy.ndarray
        PCC limit, per slot or for all (inf for none). [kW]
    comfort_penalty_eur_per_kh, unmet_ev_penalty_eur_per_kwh, cycle_cost_eur_per_kwh : float
        Priced penalties. [EUR/Kh, EUR/kWh, EUR/kWh]
    """

    dt_h: float
    base_kw: np.ndarray
    import_eur_per_kwh: np.ndarray
    export_eur_per_kwh: float
    pcc_limit_kw: float | np.ndarray = math.inf
    comfort_penalty_eur_per_kh: float = 2.0
    unmet_ev_penalty_eur_per_kwh: float = 2.0
    cycle_cost_eur_per_kwh: float = 0.01
    battery: BatteryInputs | None = None
    generator: GeneratorInputs | None = None
    ev: EvInputs | None = None
    building: BuildingInputs | None = None
    runs: RunInputs | None = None

    @property
    def n_slots(self) -> int:
        """Number of plan slots T."""
        return int(self.base_kw.size)
