"""The RC thermal model of a zone (3R2C, 2R2C without the air-outdoor conductance):
continuous matrices, the exact discrete model and one step of it, as pure functions.

Public names: :data:`STATE_NAMES`, :data:`DISTURBANCE_NAMES`,
:func:`continuous_matrices`, :class:`ThermalStateSpace` (the linear model a MILP/LP
uses), :func:`discretise`, :func:`rc_step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from twin.assets.building.params import ThermalParams, require

STATE_NAMES = ("t_air_c", "t_mass_c")
"""Order of the state vector."""
DISTURBANCE_NAMES = ("t_out_c", "ghi_w_per_m2", "q_internal_kw")
"""Order of the disturbance vector."""


def continuous_matrices(thermal: ThermalParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous-time state-space matrices of the RC thermal zone.

    Parameters
    ----------
    thermal : ThermalParams
        The zone.

    Returns
    -------
    a : numpy.ndarray
        State matrix, shape (2, 2). [1/h]
    b : numpy.ndarray
        Input vector for the HVAC thermal power, shape (2,). [K/(kWh)]
    e : numpy.ndarray
        Disturbance matrix, shape (2, 3), columns ``DISTURBANCE_NAMES``.
        [1/h, K m2/(kWh)... per unit of each disturbance per hour]

    Notes
    -----
    Two nodes: the indoor air (with furnishings) at :math:`T_a` and the building
    envelope/mass at :math:`T_m`, with three conductances (a 3R2C network; with
    :math:`H_{ao}=0` it is the 2R2C "TiTe" model of Bacher and Madsen [1]_):

    .. math::

        C_a \\dot T_a &= H_{am}(T_m - T_a) + H_{ao}(T_o - T_a)
                        + f_i \\Phi_{int} + f_s A_{sol} I + \\Phi_{hvac} \\\\
        C_m \\dot T_m &= H_{am}(T_a - T_m) + H_{mo}(T_o - T_m)
                        + (1 - f_i) \\Phi_{int} + (1 - f_s) A_{sol} I

    :math:`C` heat capacities [kWh/K], :math:`H` conductances [kW/K] (:math:`R=1/H`),
    :math:`T_o` outdoor temperature, :math:`I` global horizontal irradiance [kW/m2]
    on the effective aperture :math:`A_{sol}`, :math:`\\Phi_{int}` internal gains and
    :math:`\\Phi_{hvac}` HVAC heat [kW]. In matrix form
    :math:`\\dot x = A x + B \\Phi_{hvac} + E d` with :math:`x = (T_a, T_m)` and
    :math:`d = (T_o, I_{W/m2}, \\Phi_{int})`. The node layout follows the ISO 13790
    simple hourly method [2]_ (mass node coupled to the air node through the internal
    surfaces) reduced to two capacities.

    References
    ----------
    .. [1] P. Bacher, H. Madsen, "Identifying suitable models for the heat dynamics of
       buildings", Energy and Buildings 43(7), 1511-1522 (2011).
    .. [2] ISO 13790:2008, Energy performance of buildings -- Calculation of energy use
       for space heating and cooling, section C.2 (5R1C simple hourly method).
    """
    ca, cm = thermal.c_air_kwh_per_k, thermal.c_mass_kwh_per_k
    ham, hmo, hao = thermal.h_air_mass_kw_per_k, thermal.h_mass_out_kw_per_k, thermal.h_air_out_kw_per_k
    fs, fi, asol = thermal.solar_frac_air, thermal.internal_frac_air, thermal.solar_aperture_m2
    a = np.array([[-(ham + hao) / ca, ham / ca], [ham / cm, -(ham + hmo) / cm]])
    b = np.array([1.0 / ca, 0.0])
    e = np.array(
        [
            [hao / ca, fs * asol / 1000.0 / ca, fi / ca],
            [hmo / cm, (1.0 - fs) * asol / 1000.0 / cm, (1.0 - fi) / cm],
        ]
    )
    return a, b, e


@dataclass(frozen=True)
class ThermalStateSpace:
    """Exact discrete-time linear model of N zones for one step length.

    ``x[k+1] = a @ x[k] + b * q_hvac_kw[k] + e @ d[k]`` per zone, with
    ``x = (t_air_c, t_mass_c)`` and ``d = (t_out_c, ghi_w_per_m2, q_internal_kw)``
    held constant over the step (zero-order hold). With the HVAC electrical powers
    of a MILP, ``q_hvac_kw[k] = cop[k] * p_heat_kw[k] - eer[k] * p_cool_kw[k]`` where
    ``cop``/``eer`` come from the outdoor temperature forecast
    (:meth:`BuildingFleet.cop_eer`), which keeps the model linear.
    """

    step_s: int
    """Step length the matrices are for. [s]"""
    a: np.ndarray
    """State transition, shape (N, 2, 2). [-]"""
    b: np.ndarray
    """HVAC thermal power input, shape (N, 2). [K/kW]"""
    e: np.ndarray
    """Disturbance input, shape (N, 2, 3), columns ``DISTURBANCE_NAMES``. [K per unit]"""

    @property
    def n_zones(self) -> int:
        """Number of zones N."""
        return int(self.a.shape[0])

    def predict(self, x0: np.ndarray, q_hvac_kw: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Roll the model forward.

        Parameters
        ----------
        x0 : numpy.ndarray
            Initial state, shape (N, 2). [degC]
        q_hvac_kw : numpy.ndarray
            HVAC thermal power, shape (T, N). [kW]
        d : numpy.ndarray
            Disturbances, shape (T, N, 3) or (T, 3) (same for all zones).

        Returns
        -------
        numpy.ndarray
            States after each step, shape (T, N, 2). [degC]
        """
        q = np.asarray(q_hvac_kw, dtype=float)
        d = np.asarray(d, dtype=float)
        if d.ndim == 2:
            d = np.broadcast_to(d[:, None, :], (d.shape[0], self.n_zones, 3))
        x = np.array(x0, dtype=float)
        out = np.empty((q.shape[0], self.n_zones, 2))
        for k in range(q.shape[0]):
            x = (
                np.einsum("nij,nj->ni", self.a, x)
                + self.b * q[k][:, None]
                + np.einsum("nij,nj->ni", self.e, d[k])
            )
            out[k] = x
        return out


def discretise(thermal: Sequence[ThermalParams], step_s: int) -> ThermalStateSpace:
    """Exact zero-order-hold discretisation of N zones.

    Parameters
    ----------
    thermal : sequence of ThermalParams
        The zones.
    step_s : int
        Step length. [s]

    Returns
    -------
    ThermalStateSpace

    Notes
    -----
    With inputs held over the step, the exact solution of
    :math:`\\dot x = A x + [B\\ E] u` is :math:`x_{k+1} = A_d x_k + [B_d\\ E_d] u_k`
    with

    .. math:: \\exp\\left(\\begin{bmatrix} A & [B\\ E] \\\\ 0 & 0 \\end{bmatrix}
              \\Delta t\\right) = \\begin{bmatrix} A_d & [B_d\\ E_d] \\\\ 0 & I
              \\end{bmatrix}

    (Van Loan's block matrix exponential), computed batched with
    ``scipy.linalg.expm``. It matches the analytic step response for any step length.

    Examples
    --------
    >>> from twin.assets.building.presets import BUILDING_TYPES
    >>> ss = discretise([BUILDING_TYPES["office"].thermal], 3600)
    >>> ss.a.shape, ss.b.shape, ss.e.shape
    ((1, 2, 2), (1, 2), (1, 2, 3))
    """
    require(int(step_s) > 0, f"step_s must be positive, got {step_s}")
    n = len(thermal)
    dt_h = int(step_s) / 3600.0
    m = np.zeros((n, 6, 6))
    for i, th in enumerate(thermal):
        a, b, e = continuous_matrices(th)
        m[i, :2, :2] = a
        m[i, :2, 2] = b
        m[i, :2, 3:] = e
    phi = scipy.linalg.expm(m * dt_h) if n else m
    return ThermalStateSpace(
        step_s=int(step_s), a=phi[:, :2, :2].copy(), b=phi[:, :2, 2].copy(), e=phi[:, :2, 3:].copy()
    )



def rc_step(
    model: ThermalStateSpace,
    t_air_c: np.ndarray,
    t_mass_c: np.ndarray,
    q_hvac_kw: np.ndarray,
    t_out_c: float | np.ndarray,
    ghi_w_per_m2: float | np.ndarray,
    q_internal_kw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the exact discrete model for N zones.

    Parameters
    ----------
    model : ThermalStateSpace
        The zones' discrete model at the step length (:func:`discretise`).
    t_air_c, t_mass_c : numpy.ndarray
        Air and mass temperature at the start of the step, shape (N,). [degC]
    q_hvac_kw : numpy.ndarray
        HVAC heat delivered to each zone over the step (cooling negative). [kW]
    t_out_c : float or numpy.ndarray
        Outdoor temperature, step mean. [degC]
    ghi_w_per_m2 : float or numpy.ndarray
        Global horizontal irradiance, step mean. [W/m2]
    q_internal_kw : numpy.ndarray
        Internal gains over the step, shape (N,). [kW]

    Returns
    -------
    t_air_c, t_mass_c : numpy.ndarray
        Temperatures at the end of the step, shape (N,). [degC]

    Notes
    -----
    ``x+ = A_d x + B_d q_hvac + E_d d`` with ``x = (T_air, T_mass)`` and
    ``d = (T_out, GHI, q_internal)`` held over the step (:class:`ThermalStateSpace`).

    Examples
    --------
    >>> from twin.assets.building.presets import BUILDING_TYPES
    >>> ss = discretise([BUILDING_TYPES["office"].thermal], 3600)
    >>> t_air, t_mass = rc_step(ss, np.array([20.0]), np.array([20.0]), np.zeros(1), 20.0,
    ...                         0.0, np.zeros(1))
    >>> round(float(t_air[0]), 9), round(float(t_mass[0]), 9)  # at rest with 20 degC outside
    (20.0, 20.0)
    """
    n = model.n_zones
    # the state and disturbances as (N, 2) and (N, 3) columns: the arrays np.stack
    # makes, filled column by column (fewer numpy calls)
    x = np.empty((n, 2))
    x[:, 0] = t_air_c
    x[:, 1] = t_mass_c
    d = np.empty((n, 3))
    d[:, 0] = t_out_c
    d[:, 1] = ghi_w_per_m2
    d[:, 2] = q_internal_kw
    x_new = (np.einsum("nij,nj->ni", model.a, x) + model.b * q_hvac_kw[:, None]
             + np.einsum("nij,nj->ni", model.e, d))
    return x_new[:, 0].copy(), x_new[:, 1].copy()
