"""Building KPIs over recorded series: comfort violation, energy, peak demand.

Public names: :func:`comfort_violation_kh`, :func:`energy_kwh`, :func:`peak_kw`.
"""

from __future__ import annotations

import numpy as np


def comfort_violation_kh(t_air_c: np.ndarray, lower_c: np.ndarray, upper_c: np.ndarray, step_s: int) -> np.ndarray:
    """Comfort violation in degree-hours per zone.

    Parameters
    ----------
    t_air_c : numpy.ndarray
        Air temperature series, shape (T, N) (or (T,)). [degC]
    lower_c, upper_c : numpy.ndarray
        Comfort bounds, broadcastable to ``t_air_c``. [degC]
    step_s : int
        Step length; every sample stands for one step. [s]

    Returns
    -------
    numpy.ndarray
        :math:`\\sum_k (\\max(0, T_{lo} - T_k) + \\max(0, T_k - T_{hi}))\\,\\Delta t`,
        shape (N,) (or scalar). [K h]

    Examples
    --------
    >>> float(comfort_violation_kh(np.array([19.0, 21.0, 27.0]), 20.0, 26.0, 1800))
    1.0
    """
    t = np.asarray(t_air_c, dtype=float)
    # np.clip(x, 0, None) is np.maximum(x, 0) in numpy, without its wrapper
    excess = np.maximum(np.asarray(lower_c) - t, 0) + np.maximum(t - np.asarray(upper_c), 0)
    return excess.sum(axis=0) * int(step_s) / 3600.0


def energy_kwh(p_kw: np.ndarray, step_s: int) -> np.ndarray:
    """Energy of a mean-power series, summed over time (axis 0). [kWh]"""
    return np.asarray(p_kw, dtype=float).sum(axis=0) * int(step_s) / 3600.0


def peak_kw(p_kw: np.ndarray) -> float:
    """Peak demand of a power series, summed over zones first if 2-D. [kW]"""
    p = np.asarray(p_kw, dtype=float)
    total = p.sum(axis=1) if p.ndim == 2 else p
    return float(total.max()) if total.size else 0.0
