"""The rule-based thermostat (the reference HVAC controller, no look-ahead) as pure
functions: ideal (ISO 13790 "ideal heating/cooling"), hysteresis, proportional.

:func:`ideal_hvac_kw` is the one ideal-thermostat decision: the family's default
HVAC (:func:`thermostat_setpoints`) and the EMS comfort guard
(:mod:`twin.control.ems`) both call it.

Public names: :data:`ThermostatKind`, :class:`ThermostatParams`,
:class:`ThermostatState`, :func:`thermostat_setpoints`, :func:`free_air_temperature_c`,
:func:`ideal_hvac_kw`, :func:`hysteresis_hvac_kw`, :func:`proportional_hvac_kw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from twin.assets.building.params import require

if TYPE_CHECKING:
    from twin.assets.building.fleet import BuildingFleet, BuildingState

ThermostatKind = Literal["ideal", "hysteresis", "proportional"]
"""Thermostat kinds (their rules: :class:`ThermostatParams`)."""

@dataclass(frozen=True, slots=True)
class ThermostatParams:
    r"""Rule-based thermostat acting on the air temperature (no look-ahead).

    Notes
    -----
    The comfort band in force now is :math:`[T_{lo}, T_{hi}]` and :math:`m` the margin.

    - Ideal (default): the heat that brings the air temperature at the end of the step
      exactly to :math:`T_{lo} + m` if it would otherwise end below it, or to
      :math:`T_{hi} - m` if above, from the exact discrete model
      (:math:`T_a^{+} = (A_d x)_0 + (E_d d)_0 + B_{d,0} \\Phi`), converted to
      electrical power with the step's COP/EER and clipped by :meth:`BuildingFleet.step`.
      This is the "ideal heating/cooling" of ISO 13790 and stands for a modulating
      unit whose fast inner loop holds the setpoint. It does not look ahead, so it
      misses the band when it jumps (set-back recovery) or capacity runs out: that is
      what an optimising controller can improve on by pre-heating or pre-cooling.
    - Hysteresis: heating switches on when :math:`T_a < T_{lo} + m` and off when
      :math:`T_a > T_{lo} + m + \delta`; cooling on when :math:`T_a > T_{hi} - m`,
      off when :math:`T_a < T_{hi} - m - \delta`; running units draw
      ``p_el_max_kw``. At steps of several minutes and more this overshoots.
    - Proportional: heating power
      ``p_max * clip((T_lo + m + delta - T_a) / delta, 0, 1)`` and symmetrically for
      cooling.
    """

    kind: ThermostatKind = "ideal"
    """``"ideal"`` (modulating unit holding the band edge, ISO 13790 style),
    ``"hysteresis"`` (on/off at full power) or ``"proportional"``."""
    margin_k: float = 0.3
    """Distance inside the comfort band the thermostat aims for (ideal) or where
    heating (cooling) switches on (hysteresis, proportional). [K]"""
    deadband_k: float = 1.0
    """Hysteresis width: heating switches off ``margin + deadband`` above the lower
    bound (cooling below the upper bound). Also the proportional band. [K]"""

    def __post_init__(self) -> None:
        require(
            self.kind in ("ideal", "hysteresis", "proportional"),
            f"kind must be 'ideal', 'hysteresis' or 'proportional', got {self.kind!r}",
        )
        require(self.margin_k >= 0, f"margin_k must be >= 0, got {self.margin_k}")
        require(self.deadband_k > 0, f"deadband_k must be positive, got {self.deadband_k}")


@dataclass
class ThermostatState:
    """Which units are currently running (the hysteresis memory), shape (N,)."""

    heating_on: np.ndarray
    """Heating running after the last decision."""
    cooling_on: np.ndarray
    """Cooling running after the last decision."""

    @classmethod
    def off(cls, n: int) -> ThermostatState:
        """All units off."""
        return cls(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))


def thermostat_setpoints(
    fleet: BuildingFleet,
    building_state: BuildingState,
    thermostat_state: ThermostatState,
    occupied: np.ndarray,
    t_out_c: float | np.ndarray,
    ghi_w_per_m2: float | np.ndarray,
    step_s: int,
    params: ThermostatParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Rule-based HVAC requests from the current state; updates the memory.

    Parameters
    ----------
    fleet : BuildingFleet
        The zones.
    building_state : BuildingState
        Current temperatures.
    thermostat_state : ThermostatState
        Updated in place (hysteresis memory; also set by the other kinds).
    occupied : numpy.ndarray
        Occupancy per zone now, boolean shape (N,).
    t_out_c, ghi_w_per_m2 : float or numpy.ndarray
        Outdoor temperature [degC] and irradiance [W/m2] of the coming step (used by
        the ``"ideal"`` kind only: a room sensor plus an outdoor sensor).
    step_s : int
        Step length. [s]
    params : ThermostatParams, optional
        Defaults to ``ThermostatParams()`` (ideal).

    Returns
    -------
    p_heat_el_kw, p_cool_el_kw : numpy.ndarray
        Requests for :meth:`BuildingFleet.step`, shape (N,). [kW]

    Notes
    -----
    The three kinds' rules are in :class:`ThermostatParams`. Heating wins if both would
    run.
    """
    p = params or ThermostatParams()
    occ = np.asarray(occupied, dtype=bool)
    lower, upper = fleet.comfort_bounds(occ)
    t = building_state.t_air_c
    if p.kind == "ideal":
        heat, cool = _ideal_request_kw(fleet, building_state, occ, lower + p.margin_k,
                                       upper - p.margin_k, t_out_c, ghi_w_per_m2, step_s)
    elif p.kind == "hysteresis":
        heat, cool = hysteresis_hvac_kw(t, lower, upper, thermostat_state.heating_on,
                                        thermostat_state.cooling_on, p.margin_k, p.deadband_k,
                                        fleet.can_heat, fleet.can_cool, fleet.p_el_max_kw)
    else:
        heat, cool = proportional_hvac_kw(t, lower, upper, p.margin_k, p.deadband_k,
                                          fleet.can_heat, fleet.can_cool, fleet.p_el_max_kw)
    thermostat_state.heating_on = heat > 0
    thermostat_state.cooling_on = cool > 0
    return heat, cool


def _ideal_request_kw(
    fleet: BuildingFleet, building_state: BuildingState, occ: np.ndarray,
    target_low_c: np.ndarray, target_high_c: np.ndarray, t_out_c: float | np.ndarray,
    ghi_w_per_m2: float | np.ndarray, step_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The ideal thermostat's electrical requests: the free-running air temperature at
    the end of the step from the exact discrete model, then :func:`ideal_hvac_kw` with
    the step's COP/EER. [kW]"""
    t_out = np.broadcast_to(np.asarray(t_out_c, dtype=float), (fleet.n,))
    ghi = np.broadcast_to(np.asarray(ghi_w_per_m2, dtype=float), (fleet.n,))
    model = fleet.model(step_s)
    free = free_air_temperature_c(model.a, model.e, building_state.t_air_c,
                                  building_state.t_mass_c, t_out, ghi,
                                  fleet.internal_gains_kw(occ))
    cop, eer = fleet.step_cop_eer(t_out)
    return ideal_hvac_kw(free, model.b[:, 0], target_low_c, target_high_c, cop, eer,
                         fleet.can_heat, fleet.can_cool, fleet.p_el_max_kw)


def free_air_temperature_c(
    a: np.ndarray,
    e: np.ndarray,
    t_air_c: np.ndarray,
    t_mass_c: np.ndarray,
    t_out_c: np.ndarray,
    ghi_w_per_m2: np.ndarray,
    q_internal_kw: np.ndarray,
) -> np.ndarray:
    """Air temperature at the end of a step without HVAC, per zone. [degC]

    Parameters
    ----------
    a, e : numpy.ndarray
        The discrete model's state transition (N, 2, 2) and disturbance input (N, 2, 3)
        (:class:`~twin.assets.building.rc.ThermalStateSpace`).
    t_air_c, t_mass_c : numpy.ndarray
        Temperatures now, shape (N,). [degC]
    t_out_c, ghi_w_per_m2, q_internal_kw : numpy.ndarray
        The step's outdoor temperature [degC], irradiance [W/m2] and internal gains
        [kW], shape (N,).

    Notes
    -----
    ``(A_d x)_0 + (E_d d)_0``: the air row of :func:`~twin.assets.building.rc.rc_step`
    with ``q_hvac = 0``.
    """
    x = np.stack([t_air_c, t_mass_c], axis=1)
    d = np.stack([t_out_c, ghi_w_per_m2, q_internal_kw], axis=1)
    return (a[:, 0, :] * x).sum(axis=1) + (e[:, 0, :] * d).sum(axis=1)


def ideal_hvac_kw(
    t_free_air_c: np.ndarray,
    air_gain_k_per_kw: np.ndarray,
    target_lower_c: np.ndarray,
    target_upper_c: np.ndarray,
    cop: np.ndarray,
    eer: np.ndarray,
    can_heat: np.ndarray,
    can_cool: np.ndarray,
    p_el_max_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The ideal thermostat: the least HVAC power that ends the step at the target.

    Parameters
    ----------
    t_free_air_c : numpy.ndarray
        Air temperature the zone would reach at the end of the step without HVAC
        (:func:`free_air_temperature_c`), shape (N,). [degC]
    air_gain_k_per_kw : numpy.ndarray
        Rise of that temperature per kW of HVAC heat over the step (``B_d[0]``). [K/kW]
    target_lower_c, target_upper_c : numpy.ndarray
        Where the step should end at least / at most (band edge plus / minus the
        margin). [degC]
    cop, eer : numpy.ndarray
        The step's heating COP and cooling EER (0 or less: the unit cannot). [-]
    can_heat, can_cool : numpy.ndarray
        What each unit can do, boolean.
    p_el_max_kw : numpy.ndarray
        Electrical power limit. [kW]

    Returns
    -------
    p_heat_el_kw, p_cool_el_kw : numpy.ndarray
        Electrical requests, shape (N,). [kW]

    Notes
    -----
    Heat ``q = max((T_lo - T_free) / g, 0)`` (cooling ``max((T_free - T_hi) / g, 0)``)
    converted with the COP (EER) and capped at ``p_el_max_kw``; heating wins if both
    would run. The family's default HVAC (:func:`thermostat_setpoints`) and the EMS
    comfort guard call this one function.

    Examples
    --------
    >>> one = lambda x: np.array([x])
    >>> ideal_hvac_kw(one(19.0), one(0.5), one(20.0), one(26.0), one(4.0), one(3.0),
    ...               one(True), one(True), one(10.0))
    (array([0.5]), array([0.]))
    """
    # np.clip(x, 0.0, None) is np.maximum(x, 0.0) in numpy, without its wrapper
    q_heat = np.maximum((target_lower_c - t_free_air_c) / air_gain_k_per_kw, 0.0)
    q_cool = np.maximum((t_free_air_c - target_upper_c) / air_gain_k_per_kw, 0.0)
    heat = np.where(can_heat & (cop > 0), q_heat / np.where(cop > 0, cop, 1.0), 0.0)
    cool = np.where(can_cool & (eer > 0) & (heat == 0), q_cool / np.where(eer > 0, eer, 1.0),
                    0.0)
    return np.minimum(heat, p_el_max_kw), np.minimum(cool, p_el_max_kw)


def hysteresis_hvac_kw(
    t_air_c: np.ndarray,
    lower_c: np.ndarray,
    upper_c: np.ndarray,
    heating_on: np.ndarray,
    cooling_on: np.ndarray,
    margin_k: float,
    deadband_k: float,
    can_heat: np.ndarray,
    can_cool: np.ndarray,
    p_el_max_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """On/off thermostat with a dead band: full power while on. [kW]

    Heating switches on below ``lower + margin`` and off above
    ``lower + margin + deadband`` (cooling symmetrically at the upper edge), from the
    units' state ``heating_on``/``cooling_on``; heating wins if both would run.
    """
    heat_on = np.where(heating_on, t_air_c <= lower_c + margin_k + deadband_k,
                       t_air_c < lower_c + margin_k)
    cool_on = np.where(cooling_on, t_air_c >= upper_c - margin_k - deadband_k,
                       t_air_c > upper_c - margin_k)
    heat_on &= can_heat
    cool_on &= can_cool & ~heat_on
    return np.where(heat_on, p_el_max_kw, 0.0), np.where(cool_on, p_el_max_kw, 0.0)


def proportional_hvac_kw(
    t_air_c: np.ndarray,
    lower_c: np.ndarray,
    upper_c: np.ndarray,
    margin_k: float,
    deadband_k: float,
    can_heat: np.ndarray,
    can_cool: np.ndarray,
    p_el_max_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Proportional thermostat: ``p_max * clip((T_lo + m + delta - T) / delta, 0, 1)``
    for heating, symmetrically for cooling; heating wins if both would run. [kW]"""
    heat_frac = np.clip((lower_c + margin_k + deadband_k - t_air_c) / deadband_k, 0.0, 1.0) * can_heat
    cool_frac = np.clip((t_air_c - (upper_c - margin_k - deadband_k)) / deadband_k, 0.0, 1.0) * can_cool
    cool_frac = np.where(heat_frac > 0, 0.0, cool_frac)
    return heat_frac * p_el_max_kw, cool_frac * p_el_max_kw
