"""PV AC power from weather: a fixed-tilt system through a PVWatts-style pvlib chain.

Public names: :class:`PvSystemParams`, :func:`pv_ac_power_kw`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.weather.steps import Weather


@dataclass(frozen=True, slots=True)
class PvSystemParams:
    """A fixed-tilt PV system for the PVWatts-style chain of :func:`pv_ac_power_kw`."""

    p_dc_kw: float
    """DC nameplate power at standard test conditions (1000 W/m2, 25 degC). [kW]"""
    tilt_deg: float = 30.0
    """Surface tilt from horizontal. [deg]"""
    azimuth_deg: float = 180.0
    """Surface azimuth, clockwise from north (180 = south). [deg]"""
    gamma_pdc_per_c: float = -0.0037
    """Temperature coefficient of DC power (PVWatts v5 "standard" module). [1/degC]"""
    losses_frac: float = 0.14
    """DC system losses: soiling, shading, wiring, mismatch, ... (PVWatts default). [-]"""
    p_ac_max_kw: float | None = None
    """Inverter AC rating; ``None`` means ``p_dc_kw / 1.2`` (DC/AC ratio 1.2). [kW]"""
    eta_inverter_frac: float = 0.96
    """Nominal inverter efficiency (PVWatts v5 default). [-]"""
    albedo_frac: float = 0.2
    """Ground reflectance. [-]"""

    def __post_init__(self) -> None:
        if not self.p_dc_kw > 0:
            raise ValueError(f"p_dc_kw must be positive, got {self.p_dc_kw}")
        if not 0.0 <= self.tilt_deg <= 90.0:
            raise ValueError(f"tilt_deg must be in [0, 90], got {self.tilt_deg}")
        if not 0.0 <= self.azimuth_deg <= 360.0:
            raise ValueError(f"azimuth_deg must be in [0, 360], got {self.azimuth_deg}")
        if not 0.0 <= self.losses_frac < 1.0:
            raise ValueError(f"losses_frac must be in [0, 1), got {self.losses_frac}")
        if self.p_ac_max_kw is not None and not self.p_ac_max_kw > 0:
            raise ValueError(f"p_ac_max_kw must be positive, got {self.p_ac_max_kw}")
        if not 0.0 < self.eta_inverter_frac <= 1.0:
            raise ValueError(
                f"eta_inverter_frac must be in (0, 1], got {self.eta_inverter_frac}"
            )
        if not 0.0 <= self.albedo_frac <= 1.0:
            raise ValueError(f"albedo_frac must be in [0, 1], got {self.albedo_frac}")

    @property
    def inverter_ac_kw(self) -> float:
        """Inverter AC rating actually used. [kW]"""
        return self.p_ac_max_kw if self.p_ac_max_kw is not None else self.p_dc_kw / 1.2


def pv_ac_power_kw(weather: Weather, params: PvSystemParams) -> np.ndarray:
    """PV AC power per step from weather (PVWatts-style chain through pvlib).

    Parameters
    ----------
    weather : Weather
        Step-mean weather on the twin's grid.
    params : PvSystemParams
        The PV system.

    Returns
    -------
    numpy.ndarray
        AC power fed in, one value per step, in ``[0, inverter_ac_kw]``. [kW]

    Notes
    -----
    Solar position at each step's midpoint (``pvlib.solarposition``, NREL SPA numpy);
    plane-of-array irradiance by the Hay-Davies transposition
    (``pvlib.irradiance.get_total_irradiance``); reflection losses on the direct beam
    by the physical IAM model (``pvlib.iam.physical``); cell temperature by the SAPM
    model for an open-rack glass/polymer module (``pvlib.temperature.sapm_cell``); DC
    power by PVWatts,

    .. math:: P_{dc} = \\frac{E_{eff}}{1000} P_{dc0} (1 + \\gamma (T_{cell} - 25))
              (1 - L)

    with ``L`` the lumped system losses; AC power by the PVWatts inverter model
    (``pvlib.inverter.pvwatts``) rated ``inverter_ac_kw``, clipped at it.

    References
    ----------
    .. [1] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014.
    .. [2] W. F. Holmgren, C. W. Hansen, M. A. Mikofski, "pvlib python: a python
       package for modeling solar energy systems", JOSS 3(29), 884, 2018.
    """
    mid_times = weather.times + pd.Timedelta(seconds=weather.step_s / 2)
    poa, effective = _plane_of_array_w_per_m2(weather, params, mid_times)
    temp_cell = _cell_temperature_c(weather, poa["poa_global"].fillna(0.0), mid_times)
    return _ac_power_kw(effective, temp_cell, params)


def _plane_of_array_w_per_m2(
    weather: Weather, params: PvSystemParams, mid_times: pd.DatetimeIndex
) -> tuple[pd.DataFrame, pd.Series]:
    """Plane-of-array irradiance (Hay-Davies) at the step midpoints, and the effective
    irradiance after the physical IAM's reflection losses on the beam. [W/m2]"""
    import pvlib

    site = weather.site
    solpos = pvlib.solarposition.get_solarposition(
        mid_times, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m
    )
    dni_extra = pvlib.irradiance.get_extra_radiation(mid_times)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=params.tilt_deg,
        surface_azimuth=params.azimuth_deg,
        solar_zenith=solpos["apparent_zenith"],
        solar_azimuth=solpos["azimuth"],
        dni=pd.Series(weather.dni_w_per_m2, index=mid_times),
        ghi=pd.Series(weather.ghi_w_per_m2, index=mid_times),
        dhi=pd.Series(weather.dhi_w_per_m2, index=mid_times),
        dni_extra=dni_extra,
        albedo=params.albedo_frac,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(
        params.tilt_deg, params.azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"]
    )
    iam = pvlib.iam.physical(aoi)
    effective = (
        poa["poa_direct"].fillna(0.0) * np.nan_to_num(iam) + poa["poa_diffuse"].fillna(0.0)
    ).clip(lower=0.0)
    return poa, effective


def _cell_temperature_c(
    weather: Weather, poa_global_w_per_m2: pd.Series, mid_times: pd.DatetimeIndex
) -> pd.Series:
    """Cell temperature by the SAPM model, open-rack glass/polymer module. [degC]"""
    import pvlib

    coeffs = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    return pvlib.temperature.sapm_cell(
        poa_global_w_per_m2,
        pd.Series(weather.temp_air_c, index=mid_times),
        pd.Series(weather.wind_speed_m_per_s, index=mid_times),
        **coeffs,
    )


def _ac_power_kw(
    effective_w_per_m2: pd.Series, temp_cell_c: pd.Series, params: PvSystemParams
) -> np.ndarray:
    """PVWatts DC power after the lumped losses, then the PVWatts inverter, clipped at
    its AC rating. [kW]"""
    import pvlib

    p_dc_w = pvlib.pvsystem.pvwatts_dc(
        effective_w_per_m2, temp_cell_c, params.p_dc_kw * 1000.0, params.gamma_pdc_per_c
    ) * (1.0 - params.losses_frac)
    p_dc_w = np.clip(np.asarray(p_dc_w, dtype=float), 0.0, None)
    pdc0_inverter_w = params.inverter_ac_kw * 1000.0 / params.eta_inverter_frac
    p_ac_w = pvlib.inverter.pvwatts(p_dc_w, pdc0_inverter_w, params.eta_inverter_frac)
    p_ac_kw = np.clip(np.asarray(p_ac_w, dtype=float) / 1000.0, 0.0, params.inverter_ac_kw)
    return np.nan_to_num(p_ac_kw)
