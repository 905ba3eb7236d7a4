"""PV AC power from a typical year (twin.weather.pv): the PVWatts-style chain gives a
plausible yield, respects the inverter and the night, and scales with the system."""

from __future__ import annotations

import numpy as np
import pytest

from twin.weather import (
    PvSystemParams,
    load_weather,
    pv_ac_power_kw,
    pvlib_weather_file,
)

STEP_S = 3600


@pytest.fixture(scope="module")
def greensboro():
    """A year of Greensboro NC TMY3 weather (pvlib's shipped file) in hourly steps."""
    return load_weather(pvlib_weather_file("723170TYA.CSV"), "2015-01-01", 365 * 86400, STEP_S)


def test_annual_yield_is_a_pvwatts_figure_and_power_stays_within_the_inverter(
    greensboro,
) -> None:
    """1 kWp south at 30 deg in Greensboro (36 N) makes 1,200-1,500 kWh a year (PVWatts
    gives about 1,350 kWh/kWp AC there); power is never negative nor above the inverter's
    AC rating, and is zero whenever no irradiance reaches the ground."""
    params = PvSystemParams(p_dc_kw=1.0)
    p_kw = pv_ac_power_kw(greensboro, params)
    assert p_kw.shape == (greensboro.n_steps,)
    assert np.all(p_kw >= 0.0)
    assert p_kw.max() <= params.inverter_ac_kw
    yield_kwh = float(p_kw.sum()) * STEP_S / 3600.0
    assert 1200.0 < yield_kwh < 1500.0
    dark = (greensboro.ghi_w_per_m2 == 0) & (greensboro.dni_w_per_m2 == 0) & (
        greensboro.dhi_w_per_m2 == 0
    )
    assert dark.sum() > 3000
    assert np.all(p_kw[dark] == 0.0)


def test_tilt_toward_the_sun_and_size_scale_the_output(greensboro) -> None:
    """At 36 N a south tilt of 30 deg beats a flat roof and a north-facing one over a
    year; doubling the DC and AC ratings doubles the power at every step."""
    south = pv_ac_power_kw(greensboro, PvSystemParams(p_dc_kw=1.0)).sum()
    flat = pv_ac_power_kw(greensboro, PvSystemParams(p_dc_kw=1.0, tilt_deg=0.0)).sum()
    north = pv_ac_power_kw(greensboro, PvSystemParams(p_dc_kw=1.0, azimuth_deg=0.0)).sum()
    assert south > flat > north
    one = pv_ac_power_kw(greensboro, PvSystemParams(p_dc_kw=1.0, p_ac_max_kw=1.0))
    two = pv_ac_power_kw(greensboro, PvSystemParams(p_dc_kw=2.0, p_ac_max_kw=2.0))
    np.testing.assert_allclose(two, 2.0 * one, rtol=1e-9, atol=1e-12)


def test_bad_system_parameters_are_refused() -> None:
    """A system with no power or a tilt past vertical is refused when it is made."""
    with pytest.raises(ValueError, match="p_dc_kw"):
        PvSystemParams(p_dc_kw=0.0)
    with pytest.raises(ValueError, match="tilt_deg"):
        PvSystemParams(p_dc_kw=1.0, tilt_deg=95.0)
