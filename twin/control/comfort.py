"""The EMS's comfort guard for buildings between plans.

The plan's HVAC power (hourly, on forecasts) is raised every grid step to the least
heating or cooling that keeps each zone inside its comfort band this step, computed by
the buildings' own ideal thermostat
(:func:`twin.assets.building.thermostat.ideal_hvac_kw`) with a small margin.

Public names: :class:`ComfortGuard`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.assets.building.thermostat import ideal_hvac_kw


class ComfortGuard:
    """Fast step for the zones of a building family (see the module notes).

    Parameters
    ----------
    step_s : int
        Grid step. [s]
    """

    def __init__(self, step_s: int) -> None:
        self.step_s = int(step_s)
        self._cache: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def guard(self, bld: Any, k: int, heat: np.ndarray, cool: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Fast step for the zones: never less HVAC than keeps the band this step.

        The ideal thermostat (:func:`twin.assets.building.thermostat.ideal_hvac_kw`, the
        function the buildings' own thermostat calls) with a small margin (0.05 K) gives
        the least heating or cooling that ends the step inside the band; the plan's
        power is raised to it when the plan (hourly, on forecasts) would let the zone
        drift out. The terms that do not depend on the zone state (band, weather and
        gains term, COP/EER) are computed once for the whole occupancy table
        (:meth:`_tables`), element by element as the per-step thermostat computes
        them.
        """
        t = self._tables(bld)
        kk = k % t["n"]
        state = bld.state
        free = (t["a00"] * state.t_air_c + t["a01"] * state.t_mass_c) + t["free_d"][kk]
        guard_heat, guard_cool = ideal_hvac_kw(
            free, t["gain"], t["lower"][kk], t["upper"][kk], t["cop"][kk], t["eer"][kk],
            t["can_heat"], t["can_cool"], t["p_max"],
        )
        heat = np.where(guard_cool > 0, 0.0, np.maximum(heat, guard_heat))
        cool = np.where(guard_heat > 0, 0.0, np.maximum(cool, guard_cool))
        return heat, cool

    def _tables(self, bld: Any) -> dict[str, Any]:
        """The comfort guard's state-independent terms for every row of the occupancy
        table (built on first use, again if the family's fleet, weather or table is
        replaced)."""
        fleet = bld.fleet
        key = (fleet, bld.occupied_table, bld.weather)
        cached = self._cache
        if cached is not None and all(a is b for a, b in zip(cached[0], key, strict=True)):
            return cached[1]
        margin_k = 0.05
        occ = np.asarray(bld.occupied_table, dtype=bool)  # (K, N)
        n_rows = occ.shape[0]
        model = fleet.model(self.step_s)
        t_out = np.broadcast_to(
            np.asarray(bld.weather.temp_air_c[:n_rows], dtype=float)[:, None], occ.shape)
        ghi = np.broadcast_to(
            np.asarray(bld.weather.ghi_w_per_m2[:n_rows], dtype=float)[:, None], occ.shape)
        d = np.stack([t_out, ghi, fleet.internal_gains_kw(occ)], axis=2)  # (K, N, 3)
        lower, upper = fleet.comfort_bounds(occ)
        cop, eer = fleet.cop_eer(np.ascontiguousarray(t_out))
        tables = {
            "n": n_rows,
            "a00": np.ascontiguousarray(model.a[:, 0, 0]),
            "a01": np.ascontiguousarray(model.a[:, 0, 1]),
            "free_d": (model.e[:, 0, :][None, :, :] * d).sum(axis=2),
            "gain": model.b[:, 0],
            "lower": lower + margin_k,
            "upper": upper - margin_k,
            "can_heat": fleet.can_heat,
            "can_cool": fleet.can_cool,
            "cop": cop,
            "eer": eer,
            "p_max": fleet.p_el_max_kw,
        }
        self._cache = (key, tables)
        return tables
