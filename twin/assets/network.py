"""The network's own loads, static generators and storage, driven by profiles.

:class:`NetworkFamily` owns the element rows that came with the network (scenario assets
add rows after them). With ``profiles.source: simbench`` each element follows the
absolute one-year profile simbench computes for it (``get_absolute_values``), exactly
what pandapower's ``run_timeseries`` would be fed, read for the simulated window only
(:func:`twin.profiles.simbench_element_window`); with ``constant`` the stored values
hold. ``load_scale``/``sgen_scale`` multiply, and ``load_noise_frac`` adds a seeded
multiplicative Gaussian noise to every load and step.

Public names: :class:`NetworkFamily`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import Channel, FamilyContext, ProcessGen
from twin.clock import Phase
from twin.grid import ELEMENT_TABLES
from twin.networks import cached_network
from twin.profiles import ELEMENT_PROFILE_COLUMNS, simbench_element_window

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock

logger = logging.getLogger(__name__)

PV_TYPES = ("pv",)
"""Lower-case prefixes of an sgen's ``type`` or ``profile`` that mark it as PV."""


class NetworkFamily:
    """The network's own driven elements (all rows present before assets are added).

    Parameters
    ----------
    net : pandapowerNet
        The network as loaded, before scenario assets add rows.
    """

    kind: ClassVar[str] = "network"

    def __init__(self, net: Any) -> None:
        self.names: tuple[str, ...] = ()
        self.n_rows = {table: len(net[table]) for table, _ in ELEMENT_TABLES}
        self.index = {table: net[table].index.to_numpy() for table, _ in ELEMENT_TABLES}
        sgen = net.sgen
        kinds = [
            f"{t} {p}".lower()
            for t, p in zip(
                sgen.get("type", [""] * len(sgen)), sgen.get("profile", [""] * len(sgen)), strict=True
            )
        ]
        self.sgen_is_pv = np.array(
            [any(word in text for word in PV_TYPES) for text in kinds], dtype=bool
        )
        scaling = sgen["scaling"].to_numpy(dtype=float) if "scaling" in sgen else np.ones(len(sgen))
        self.sgen_weight = scaling * sgen.in_service.to_numpy(dtype=bool)
        self._net = net
        self._tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._views: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._recorded: list[str] = []

    def bind(self, ctx: FamilyContext) -> None:
        """Precompute every step's injections of the network's elements."""
        scenario = ctx.scenario
        spec = scenario.profiles
        absolute: dict[tuple[str, str], np.ndarray] = {}
        if spec.source == "simbench":  # the simulated window only, already on the steps
            code = scenario.grid.code
            for table, column in ELEMENT_PROFILE_COLUMNS:
                if table == "gen" or not self.n_rows.get(table):
                    continue
                values = simbench_element_window(code, table, column, ctx.profile_offset_rows,
                                                 ctx.n_steps, ctx.step_s)
                if values is not None:
                    absolute[(table, column)] = values
            n_gen = len(cached_network(("simbench", code)).gen)
            if n_gen:
                logger.warning(
                    "%s: the network's %d voltage-controlled generators (gen) keep their "
                    "stored set points; their SimBench profiles are not applied",
                    code, n_gen,
                )
        for table, _sign in ELEMENT_TABLES:
            n = self.n_rows[table]
            if n == 0:
                continue
            frame = self._net[table]
            p_now = frame.p_mw.to_numpy(dtype=float)[:n]
            q_now = frame.q_mvar.to_numpy(dtype=float)[:n] if "q_mvar" in frame else np.zeros(n)
            p = self._profile(absolute, table, "p_mw", p_now, ctx)
            q = self._profile(absolute, table, "q_mvar", q_now, ctx)
            scale = {"load": spec.load_scale, "sgen": spec.sgen_scale}.get(table, 1.0)
            if scale != 1.0:
                p = p * scale
                q = q * scale
            if table == "load" and spec.load_noise_frac > 0:
                factor = 1.0 + spec.load_noise_frac * ctx.rng.standard_normal(p.shape)
                np.maximum(factor, 0.0, out=factor)
                p = p * factor
                q = q * factor
            self._tables[table] = (np.ascontiguousarray(p), np.ascontiguousarray(q))
            self._views[table] = ctx.injections.rows(table, 0, n)
        outputs = scenario.outputs
        keep_all = outputs.timeseries and "element" in outputs.groups
        # without the element output group only the sgens are recorded (the PV KPIs)
        self._recorded = [t for t in self._views if keep_all or t == "sgen"]

    def forecast_p_mw(self, steps: np.ndarray) -> dict[str, np.ndarray]:
        """Active power of the network's own elements at grid steps ``steps``, per
        element table with profiles: ``table -> (len(steps), n_rows)`` in pandapower's
        convention (the rows of the table before scenario assets), what the family
        writes at those steps. [MW]"""
        return {table: p[steps] for table, (p, _q) in self._tables.items()}

    def _profile(
        self,
        absolute: dict[tuple[str, str], np.ndarray],
        table: str,
        column: str,
        constant: np.ndarray,
        ctx: FamilyContext,
    ) -> np.ndarray:
        values = absolute.get((table, column))
        if values is None or values.ndim != 2 or values.shape[1] != len(constant):
            return np.broadcast_to(constant, (ctx.n_steps, len(constant))).copy()
        return values

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """Each step, at SENSE, write the step's element injections."""
        items = [(self._tables[t], self._views[t]) for t in self._tables]
        while True:
            k = yield clock.wait(Phase.SENSE)
            for (p, q), (p_view, q_view) in items:
                p_view[:] = p[k]
                q_view[:] = q[k]

    def channels(self) -> list[Channel]:
        """``p_mw`` of each network load, sgen and storage (group ``element``); only of
        the sgens when the scenario's ``outputs.groups`` leaves ``element`` out."""
        out = []
        for table in self._recorded:
            entities = tuple(f"{table}/{i}" for i in self.index[table][: self.n_rows[table]])
            out.append(Channel("element", "p_mw", "MW", entities, self._views[table][0]))
        return out

    def snapshot(self) -> None:
        """The network's elements expose no controllable state."""
        return None

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Energy of the network's own PV sgens (``values`` aligned with
        :meth:`channels`). [MWh]"""
        tables = list(self._recorded)
        if "sgen" not in tables:
            return {}
        sgen = values[tables.index("sgen")]
        weight = self.sgen_weight * self.sgen_is_pv
        pv = float(np.nansum(sgen * weight) * step_s / 3600.0)
        return {"pv_energy_mwh": pv, "pv_available_mwh": pv}
