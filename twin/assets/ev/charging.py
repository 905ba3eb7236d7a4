"""EV charging physics as a pure function: requests applied within the charger,
battery and plug-in limits, with the per-vehicle state it acts on.

Public names: :class:`EvFleetState`, :func:`ev_step`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EvFleetState:
    """Mutable per-vehicle state of all fleets (arrays over all vehicles).

    Attributes
    ----------
    plugged : numpy.ndarray
        Vehicle is at its charger.
    e_kwh : numpy.ndarray
        Energy in the battery. [kWh]
    session : numpy.ndarray
        Index of the current session (-1 when away).
    p_kw : numpy.ndarray
        Charging power of the last step (negative when discharging). [kW]
    """

    plugged: np.ndarray
    e_kwh: np.ndarray
    session: np.ndarray
    p_kw: np.ndarray


def ev_step(
    p_request_kw: np.ndarray,
    plugged: np.ndarray,
    e_kwh: np.ndarray,
    capacity_kwh: np.ndarray,
    charger_kw: np.ndarray,
    efficiency: np.ndarray,
    v2g: np.ndarray,
    step_s: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply charging requests within the physical limits; return power and new energy.

    Parameters
    ----------
    p_request_kw : numpy.ndarray
        Requested grid-side power per vehicle (charging positive). [kW]
    plugged : numpy.ndarray
        Whether each vehicle is plugged in.
    e_kwh, capacity_kwh : numpy.ndarray
        Stored energy and battery size. [kWh]
    charger_kw, efficiency : numpy.ndarray
        Charger limit [kW] and one-way efficiency [-] (grid to battery; the same on
        discharge, battery to grid).
    v2g : numpy.ndarray
        Whether each vehicle may discharge.
    step_s : int
        Step length. [s]

    Returns
    -------
    p_kw, e_new_kwh : numpy.ndarray
        Grid-side power applied [kW] and energy after the step [kWh].

    Notes
    -----
    ``p = clip(request, -P_dis, P_ch)`` with
    ``P_ch = min(P_charger, (E_cap - E) / (eta dt))`` and
    ``P_dis = min(P_charger, E eta / dt)`` for V2G vehicles (0 otherwise), and 0 when
    unplugged; ``E+ = E + eta p dt`` when charging, ``E + p dt / eta`` when discharging,
    so ``0 <= E+ <= E_cap`` always.
    """
    dt_h = step_s / 3600.0
    request = np.asarray(p_request_kw, dtype=float)
    if not np.isfinite(request).all():  # nan_to_num only when needed (same values)
        request = np.nan_to_num(request)
    p_ch = np.minimum(charger_kw, np.maximum(capacity_kwh - e_kwh, 0.0) / (efficiency * dt_h))
    p_dis = np.where(v2g, np.minimum(charger_kw, np.maximum(e_kwh, 0.0) * efficiency / dt_h), 0.0)
    # ndarray.clip is np.clip without its dispatch wrapper (same ufunc, same values)
    p = np.where(plugged, request.clip(-p_dis, p_ch), 0.0)
    e_new = e_kwh + np.where(p >= 0, efficiency * p, p / efficiency) * dt_h
    return p, np.asarray(e_new).clip(0.0, capacity_kwh)
