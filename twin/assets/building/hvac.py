"""Efficiency curves of the HVAC units: heating COP and cooling EER against the
outdoor temperature, as pure functions (scalars or arrays, units in the names).

Public names: :func:`heating_cop`, :func:`cooling_eer` (of an :class:`HvacParams`),
:func:`air_source_cop`, :func:`air_cooled_eer` (the vectorised curves with their
parameters as arrays, which :meth:`BuildingFleet.cop_eer` uses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.assets.building.params import HvacParams

KELVIN = 273.15
"""0 degC in kelvin. [K]"""


def heating_cop(t_out_c: np.ndarray | float, hvac: HvacParams) -> np.ndarray:
    """Heating coefficient of performance of an air-source heat pump.

    Parameters
    ----------
    t_out_c : array_like
        Outdoor (source) air temperature. [degC]
    hvac : HvacParams
        The unit (heating curve, correction, clips).

    Returns
    -------
    numpy.ndarray
        Heat delivered per electrical energy. [-]

    Notes
    -----
    The regression of Ruhnau et al. [1]_ for air-source heat pumps,

    .. math:: COP = f (6.08 - 0.09 \\Delta T + 0.0005 \\Delta T^2), \\quad
              \\Delta T = T_{sink} - T_{out}, \\quad
              T_{sink} = T_{sink,0} + s\\, T_{out}

    with a floor-heating curve (``T_sink,0 = 30 degC``, ``s = -0.5``) and the field
    correction ``f = 0.85`` of [1]_ by default, ``Delta T`` floored at 15 K (the
    regression's data range starts there) and the result clipped to
    ``[cop_min, cop_max]``. At -5/+2/+10 degC outdoors it gives about 2.9/3.4/4.1.

    References
    ----------
    .. [1] O. Ruhnau, L. Hirth, A. Praktiknjo, "Time series of heat demand and heat
       pump efficiency for energy system modeling", Scientific Data 6, 189 (2019).

    Examples
    --------
    >>> from twin.assets.building.params import HvacParams
    >>> hp = HvacParams(mode="heat_pump", p_el_max_kw=3.0)
    >>> round(float(heating_cop(2.0, hp)), 2)
    3.41
    """
    return air_source_cop(
        np.asarray(t_out_c, dtype=float), hvac.sink_c_at_0c, hvac.sink_slope,
        hvac.cop_correction_frac, hvac.cop_min, hvac.cop_max,
    )


def air_source_cop(
    t_out_c: np.ndarray, sink_c_at_0c: np.ndarray | float, sink_slope: np.ndarray | float,
    correction: np.ndarray | float, cop_min: np.ndarray | float, cop_max: np.ndarray | float,
) -> np.ndarray:
    """Vectorised kernel of :func:`heating_cop` (parameters broadcast with ``t_out_c``)."""
    t_sink = sink_c_at_0c + sink_slope * t_out_c
    delta_k = np.maximum(t_sink - t_out_c, 15.0)
    cop = correction * (6.08 - 0.09 * delta_k + 0.0005 * delta_k**2)
    return np.clip(cop, cop_min, cop_max)


def cooling_eer(t_out_c: np.ndarray | float, hvac: HvacParams) -> np.ndarray:
    """Cooling energy efficiency ratio of an air-cooled chiller.

    Parameters
    ----------
    t_out_c : array_like
        Outdoor air temperature (condenser side). [degC]
    hvac : HvacParams
        The unit.

    Returns
    -------
    numpy.ndarray
        Heat removed per electrical energy. [-]

    Notes
    -----
    A fixed fraction ``eta`` of the Carnot refrigeration EER between the chilled-water
    temperature and a condensing temperature ``approach`` above outdoor air:

    .. math:: EER = \\eta \\frac{T_{cw} + 273.15}{(T_{out} + a) - T_{cw}}

    with ``eta = 0.4``, ``T_cw = 7 degC`` and ``a = 10 K`` by default (assumptions in
    the range of air-cooled chillers: about 3.0 at 35 degC and 4.0 at 25 degC), the
    temperature lift floored at 5 K and the result clipped to ``[cop_min, cop_max]``.

    Examples
    --------
    >>> from twin.assets.building.params import HvacParams
    >>> ch = HvacParams(mode="chiller", p_el_max_kw=10.0)
    >>> round(float(cooling_eer(35.0, ch)), 2)
    2.95
    """
    return air_cooled_eer(
        np.asarray(t_out_c, dtype=float), hvac.t_chilled_water_c, hvac.condenser_approach_k,
        hvac.carnot_frac_cooling, hvac.cop_min, hvac.cop_max,
    )


def air_cooled_eer(
    t_out_c: np.ndarray, t_chilled_water_c: np.ndarray | float, approach_k: np.ndarray | float,
    carnot_frac: np.ndarray | float, cop_min: np.ndarray | float, cop_max: np.ndarray | float,
) -> np.ndarray:
    """Vectorised kernel of :func:`cooling_eer` (parameters broadcast with ``t_out_c``)."""
    lift_k = np.maximum(t_out_c + approach_k - t_chilled_water_c, 5.0)
    eer = carnot_frac * (t_chilled_water_c + KELVIN) / lift_k
    return np.clip(eer, cop_min, cop_max)

