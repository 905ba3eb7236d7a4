"""The point of common coupling (PCC): tariff, limit, upstream outages and islanding.

When the upstream grid is lost (``pcc.outages``) the network behind the PCC islands. The
islands are found from the topology with ``pandapower.topology`` (networkx): buses that
can still reach an external grid stay supplied, the others form islands. In each island
the grid-forming units (batteries, grid-forming generators) must balance demand and
supply; flexible loads (EV charging, HVAC) are cut first, and what is still missing is
shed from the other loads and counted as unserved energy. Surplus is absorbed by
batteries, then generators go to their minimum, then PV is curtailed.

Islands are power flows: while the PCC is open (``pcc.outages``, opened and closed at
their exact times by the engine) the external grids are no slack and exchange nothing
(by construction); each island is solved with a grid-forming unit (a battery inverter
not tripped, or a running grid-forming generator; :meth:`Microgrid.grid_formers`) as
its slack bus at 1 pu, and an island without one is dark (its load unserved). The
balancer matches the island's injections at each step, so the forming unit's slack
carries the island's losses (and any mismatch inside a step), recorded per interval as
``island_p_mw``; ``island_slack_max_kw`` is the largest such power.

Public names: :func:`tariff_series`, :func:`outage_mask`, :func:`supplied_buses`,
:func:`island_balance`, :class:`IslandDispatch`, :class:`Microgrid`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.simtime import parse_duration_s

if TYPE_CHECKING:
    from twin.scenario import PccSpec, Scenario

logger = logging.getLogger(__name__)


def tariff_series(pcc: PccSpec, start: Any, n_steps: int, step_s: int) -> np.ndarray:
    """Import price of every step from the time-of-use periods. [EUR/kWh]

    Examples
    --------
    >>> from twin.scenario import PccSpec
    >>> tariff_series(PccSpec(), "2016-01-04", 4, 6 * 3600).tolist()
    [0.2, 0.2, 0.3, 0.4]
    """
    times = pd.Timestamp(start) + pd.to_timedelta(np.arange(n_steps) * step_s, unit="s")
    hour = np.asarray(times.hour + times.minute / 60.0)
    periods = sorted(pcc.tariff, key=lambda p: p.from_h)
    if not periods:
        return np.zeros(n_steps)
    price = np.full(n_steps, periods[-1].import_eur_per_kwh)  # before the first: wraps
    for p in periods:
        price = np.where(hour >= p.from_h, p.import_eur_per_kwh, price)
    return price


def outage_mask(pcc: PccSpec, n_steps: int, step_s: int) -> np.ndarray:
    """Steps during which the upstream grid is lost (any overlap counts)."""
    mask = np.zeros(n_steps, dtype=bool)
    for outage in pcc.outages:
        begin = parse_duration_s(outage.start)
        end = begin + parse_duration_s(outage.duration)
        k0 = begin // step_s
        k1 = -(-end // step_s)
        mask[max(k0, 0) : min(k1, n_steps)] = True
    return mask


def supplied_buses(net: Any, upstream: bool) -> tuple[set[int], list[set[int]]]:
    """Buses supplied from an external grid, and the islands, from the topology.

    Parameters
    ----------
    net : pandapowerNet
        The network (switch states respected).
    upstream : bool
        Whether the upstream grid is there; when False every bus is in an island.

    Returns
    -------
    supplied : set of int
        Buses connected to an in-service external grid (empty without upstream).
    islands : list of set of int
        Connected groups of buses without an external grid.
    """
    import pandapower.topology as top

    graph = top.create_nxgraph(net, respect_switches=True)
    slack_buses = set(net.ext_grid.bus[net.ext_grid.in_service].tolist()) if upstream else set()
    supplied: set[int] = set()
    islands: list[set[int]] = []
    for component in top.connected_components(graph):
        group = {int(b) for b in component}
        if group & slack_buses:
            supplied |= group
        else:
            islands.append(group)
    return supplied, islands


@dataclass(frozen=True)
class IslandDispatch:
    """How one island is balanced in one step (all powers in kW, generation positive).

    Attributes
    ----------
    battery_kw : numpy.ndarray
        Battery power (positive charging).
    generator_kw : numpy.ndarray
        Generator output.
    flexible_cut_kw : float
        Flexible load (EV charging, HVAC) not served this step (deferred).
    shed_kw : float
        Inflexible load shed (unserved).
    curtailed_kw : float
        PV curtailed.
    """

    battery_kw: np.ndarray
    generator_kw: np.ndarray
    flexible_cut_kw: float
    shed_kw: float
    curtailed_kw: float


def island_balance(
    fixed_demand_kw: float,
    flexible_demand_kw: float,
    pv_kw: float,
    battery_kw: np.ndarray,
    battery_charge_max_kw: np.ndarray,
    battery_discharge_max_kw: np.ndarray,
    generator_kw: np.ndarray,
    generator_min_kw: np.ndarray,
    generator_max_kw: np.ndarray,
) -> IslandDispatch:
    """Balance one island: batteries and generators follow, then loads are cut.

    Parameters
    ----------
    fixed_demand_kw, flexible_demand_kw : float
        Inflexible and flexible (EV, HVAC) demand wanted this step. [kW]
    pv_kw : float
        Uncontrolled generation available (PV, static generators). [kW]
    battery_kw : numpy.ndarray
        Planned battery power (positive charging). [kW]
    battery_charge_max_kw, battery_discharge_max_kw : numpy.ndarray
        Feasible battery power this step (both >= 0). [kW]
    generator_kw : numpy.ndarray
        Planned output of running grid-forming generators (0 for the others). [kW]
    generator_min_kw, generator_max_kw : numpy.ndarray
        Their limits this step (0 for units that cannot run). [kW]

    Returns
    -------
    IslandDispatch

    Notes
    -----
    With ``B`` the batteries' and ``G`` the generators' feasible range, the mismatch
    ``m = demand - pv + sum(battery) - sum(generator)`` is moved onto the units
    (batteries first, then generators within [min, max], when short; generators down
    first, then batteries charging, when in surplus). What remains short is cut from flexible, then
    fixed demand; what remains in surplus is curtailed from PV. Hence the shed load is
    exactly ``max(0, fixed + flexible - pv - sum(discharge_max) - sum(gen_max))`` minus
    the flexible part: nothing that could have been served is shed.
    """
    bat = np.asarray(battery_kw, float).copy()
    gen = np.asarray(generator_kw, float).copy()
    ch_max = np.asarray(battery_charge_max_kw, float)
    dis_max = np.asarray(battery_discharge_max_kw, float)
    g_min = np.asarray(generator_min_kw, float)
    g_max = np.asarray(generator_max_kw, float)
    bat = np.clip(bat, -dis_max, ch_max)
    gen = np.clip(gen, g_min, g_max)
    mismatch = fixed_demand_kw + flexible_demand_kw - pv_kw + bat.sum() - gen.sum()

    def move(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, amount: float) -> float:
        """Shift ``values`` by ``amount`` in total within [lo, hi], proportionally to room."""
        room = (hi - values) if amount > 0 else (values - lo)
        total = room.sum()
        if total <= 0 or amount == 0:
            return amount
        take = min(abs(amount), total)
        values += np.sign(amount) * room * (take / total)
        return amount - np.sign(amount) * take

    if mismatch > 0:  # short: batteries (no fuel) first, then more generation
        mismatch = -move(bat, -dis_max, ch_max, -mismatch)
        mismatch = move(gen, g_min, g_max, mismatch)
    elif mismatch < 0:  # surplus: generators down first, then more charging
        mismatch = move(gen, g_min, g_max, mismatch)
        mismatch = -move(bat, -dis_max, ch_max, -mismatch)
    flexible_cut = shed = curtailed = 0.0
    if mismatch > 1e-9:
        flexible_cut = min(mismatch, flexible_demand_kw)
        shed = min(mismatch - flexible_cut, fixed_demand_kw)
    elif mismatch < -1e-9:
        curtailed = min(-mismatch, pv_kw)
    return IslandDispatch(bat, gen, float(flexible_cut), float(shed), float(curtailed))


class Microgrid:
    """PCC metering, islanding and island balancing for a run (owned by a controller).

    Parameters
    ----------
    ctx : twin.control.ControlContext
        The controller's context (scenario, families, injections, model, recorder).
    """

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        scenario: Scenario = ctx.scenario
        self.step_s = int(ctx.step_s)
        self.n_steps = int(ctx.n_steps)
        pcc = scenario.pcc
        self.pcc = pcc
        margin = 3 * 86400 // self.step_s
        self.import_price = tariff_series(pcc, scenario.time.start, self.n_steps + margin, self.step_s)
        self.export_price = float(pcc.export_eur_per_kwh)
        self.limit_kw = pcc.limit_kw
        self.outage = outage_mask(pcc, self.n_steps, self.step_s)
        model = ctx.model
        self._weight = np.asarray(model.injection_weight, float)
        self._bus = np.asarray(model.injection_bus, np.int64)
        self.families = ctx.families
        slices = model.element_slices
        self._slices = slices
        self._own_rows: dict[str, np.ndarray] = {}
        n = model.n_injections
        flexible = np.zeros(n, bool)
        for kind in ("ev_fleet", "building"):
            fam = self.families.get(kind)
            if fam is not None:
                base = slices["load"].start
                flexible[base + fam.rows[0] : base + fam.rows[1]] = True
        self._flexible = flexible
        self._is_load = np.zeros(n, bool)
        self._is_load[slices["load"]] = True
        self._is_sgen = np.zeros(n, bool)
        self._is_sgen[slices["sgen"]] = True
        gen = self.families.get("generator")
        self._is_gen = np.zeros(n, bool)
        if gen is not None:
            base = slices["sgen"].start
            self._is_gen[base + gen.rows[0] : base + gen.rows[1]] = True
        self._is_storage = np.zeros(n, bool)
        self._is_storage[slices["storage"]] = True
        # KPI accumulators
        self.import_kwh = 0.0
        self.export_kwh = 0.0
        self.energy_cost_eur = 0.0
        self.unserved_kwh = 0.0
        self.flexible_cut_kwh = 0.0
        self.island_curtailed_kwh = 0.0
        self.island_steps = 0
        self.peak_import_kw = 0.0
        self.pcc_violation_kwh = 0.0
        self.island_slack_max_kw = 0.0
        self._islanded_now = False
        self._islands: list[set[int]] | None = None

    def islanded(self, k: int) -> bool:
        """Whether step ``k`` is in an upstream outage."""
        return bool(self.outage[k]) if k < self.outage.size else False

    def price(self, k0: int, n: int) -> np.ndarray:
        """Import prices of steps ``k0 .. k0+n-1`` (wrapping past the end). [EUR/kWh]"""
        idx = np.arange(k0, k0 + n) % self.import_price.size
        return self.import_price[idx]

    def balance(self, k: int, env_now: float) -> None:
        """At CONTROL, after the controller's commands: balance islands for step ``k``
        (while the PCC is open, :attr:`twin.grid.PowerFlowModel.pcc_open`), and tell the
        power-flow model which units can form an island (:meth:`grid_formers`)."""
        try:
            self._balance(k, env_now)
        finally:
            self.ctx.model.set_grid_formers(self.grid_formers())

    def grid_formers(self) -> np.ndarray:
        """Driven-element positions of the units that can form an island now: batteries
        not tripped and running grid-forming generators."""
        out = []
        slices = self._slices
        bat = self.families.get("battery")
        if bat is not None:
            base = slices["storage"].start + bat.rows[0]
            out.append(base + np.flatnonzero(~np.asarray(bat.tripped, bool)))
        gen = self.families.get("generator")
        if gen is not None:
            base = slices["sgen"].start + gen.rows[0]
            out.append(base + np.flatnonzero(np.asarray(gen.grid_forming, bool)
                                             & np.asarray(gen.state.on, bool)))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _balance(self, k: int, env_now: float) -> bool:
        islanded = bool(self.ctx.model.pcc_open)
        if islanded != self._islanded_now:
            self._islanded_now = islanded
            kind = "islanded" if islanded else "reconnected"
            self.ctx.recorder.event(env_now, "grid", kind, "pcc",
                                    f"upstream grid {'lost: network islands' if islanded else 'back: reconnected'}",
                                    {"step": k})
        if not islanded:
            return False
        self.island_steps += 1
        if self._islands is None:
            _, self._islands = supplied_buses(self.ctx.model.net, upstream=False)
        inj = self.ctx.injections
        bat = self.families.get("battery")
        gen = self.families.get("generator")
        ev = self.families.get("ev_fleet")
        bld = self.families.get("building")
        dt_h = self.step_s / 3600.0
        for island in self._islands:
            in_island = np.isin(self._bus, list(island))
            consumption_kw = -self._weight * inj.p_mw * 1000.0  # load positive
            base = self._slices["load"].start
            for fam in (ev, bld):  # flexible rows: what their commands will draw
                if fam is not None:
                    consumption_kw[base + fam.rows[0] : base + fam.rows[1]] = fam.expected_p_kw()
            fixed = float(consumption_kw[in_island & self._is_load & ~self._flexible].sum())
            flexible = float(consumption_kw[in_island & self._flexible].sum())
            pv = float(-consumption_kw[in_island & self._is_sgen & ~self._is_gen].sum())
            if bat is not None:
                b_in = np.isin(bat.bus, list(island))
                snap = bat.snapshot()
                ch_max = np.where(b_in, snap.p_charge_max_mw * 1000.0, 0.0)
                dis_max = np.where(b_in, snap.p_discharge_max_mw * 1000.0, 0.0)
                b_plan = np.where(b_in, bat.commanded_p_mw() * 1000.0, 0.0)
                battery_forms = bool((b_in & ~bat.tripped).any())  # a tripped one cannot
            else:
                ch_max = dis_max = b_plan = np.zeros(0)
                battery_forms = False
            if gen is not None:
                g_in = np.isin(gen.bus, list(island)) & gen.grid_forming
                running = gen.state.on & g_in
                running_max = float(gen.p_max_kw[running].sum())
                short = fixed + flexible - pv - float(dis_max.sum()) - running_max
                if short > 0 or not (running.any() or battery_forms):
                    gen.start_for_island(g_in & (gen.p_max_kw > 0))
                on = gen.state.on & g_in
                g_min = np.where(on, gen.p_min_kw, 0.0)
                g_max = np.where(on, gen.p_max_kw, 0.0)
                g_plan = np.where(on, gen.requested_p_kw(), 0.0)
            else:
                g_min = g_max = g_plan = np.zeros(0)
                on = np.zeros(0, dtype=bool)
            has_former = battery_forms or bool(on.any())
            if has_former:
                result = island_balance(fixed, flexible, pv, b_plan, ch_max, dis_max, g_plan,
                                        g_min, g_max)
            else:  # nothing can form the island: it goes dark
                result = IslandDispatch(b_plan, g_plan, flexible, fixed, pv)
            if bat is not None:
                b_new = np.where(np.isin(bat.bus, list(island)), result.battery_kw / 1000.0,
                                 bat.commanded_p_mw())
                bat.command(b_new)
            if gen is not None:
                gen.command(gen.state.on, np.where(on, result.generator_kw, gen.p_min_kw))
            if result.flexible_cut_kw > 0:
                share = 1.0 - result.flexible_cut_kw / max(flexible, 1e-12)
                self._scale_flexible(ev, bld, island, share)
            if result.shed_kw > 0:
                rows = in_island & self._is_load & ~self._flexible
                factor = 1.0 - result.shed_kw / max(fixed, 1e-12)
                inj.p_mw[rows] *= factor
                inj.q_mvar[rows] *= factor
                self.unserved_kwh += result.shed_kw * dt_h
                self.ctx.recorder.event(env_now, "grid", "load_shed", "pcc",
                                        f"island short of {result.shed_kw:.1f} kW: load shed",
                                        {"step": k, "shed_kw": result.shed_kw})
            if result.curtailed_kw > 0:
                pv_rows = in_island & self._is_sgen & ~self._is_gen
                total = float((inj.p_mw[pv_rows]).sum())
                if total > 0:
                    inj.p_mw[pv_rows] *= 1.0 - result.curtailed_kw / 1000.0 / total
                pvf = self.families.get("pv")
                if pvf is not None:
                    snap = pvf.snapshot()
                    frac = 1.0 - result.curtailed_kw / max(pv, 1e-12)
                    pvf.command(snap.available_p_mw * max(frac, 0.0))
                self.island_curtailed_kwh += result.curtailed_kw * dt_h
            self.flexible_cut_kwh += result.flexible_cut_kw * dt_h
        return True

    def _scale_flexible(self, ev: Any, bld: Any, island: set[int], share: float) -> None:
        """Flexible families in ``island`` serve only ``share`` of their request."""
        share = max(share, 0.0)
        for fam in (ev, bld):
            if fam is not None:
                fam.scale_flexible(island, share)

    def meter_intervals(self, steps: np.ndarray, duration_s: np.ndarray,
                        slack_p_mw: np.ndarray, pcc_open: np.ndarray,
                        island_p_mw: np.ndarray | None = None) -> None:
        """Bill the PCC from the run's power flows: every interval of constant network
        state (:class:`twin.recorder.Intervals`), its exchange with the upstream grid
        (``slack_p_mw``, per external grid, import positive) over its duration, at the
        tariff of its step. Nothing is billed while the PCC is open (islanded): the
        exchange there is zero by construction (:meth:`twin.grid.PowerFlowModel.set_pcc_open`);
        ``island_slack_max_kw`` is the largest power a grid-forming unit supplied as an
        island's slack.

        Parameters
        ----------
        steps, duration_s, pcc_open : numpy.ndarray
            Per interval: its step, length [s] and whether the PCC was open.
        island_p_mw : numpy.ndarray, optional
            Per interval: power the grid-forming units supplied as island slacks. [MW]
        slack_p_mw : numpy.ndarray
            ``(n_intervals, n_ext_grid)`` exchange per external grid; NaN rows (power
            flow not converged) count as zero. [MW]
        """
        export_price = self.export_price
        limit = self.limit_kw
        island = np.zeros(len(steps)) if island_p_mw is None else island_p_mw
        self.island_slack_max_kw = max(self.island_slack_max_kw,
                                       float(np.abs(island).max(initial=0.0)) * 1000.0)
        for k, dur, row, is_open in zip(steps.tolist(), duration_s.tolist(), slack_p_mw,
                                        pcc_open.tolist(), strict=True):
            slack_kw = float(np.nansum(row)) * 1000.0
            dt_h = dur / 3600.0
            if is_open:
                continue
            if slack_kw >= 0:
                self.import_kwh += slack_kw * dt_h
                self.energy_cost_eur += slack_kw * dt_h * float(self.import_price[k])
            else:
                self.export_kwh += -slack_kw * dt_h
                self.energy_cost_eur -= -slack_kw * dt_h * export_price
            if dur > 0:
                self.peak_import_kw = max(self.peak_import_kw, slack_kw)
            if limit is not None and abs(slack_kw) > limit:
                self.pcc_violation_kwh += (abs(slack_kw) - limit) * dt_h

    def kpis(self) -> dict[str, float]:
        """PCC and islanding KPIs, with the total energy cost (grid, fuel, start-ups)."""
        gen = self.families.get("generator")
        fuel = gen.fuel_cost_eur + gen.startup_cost_total_eur if gen is not None else 0.0
        return {
            "pcc_import_mwh": self.import_kwh / 1000.0,
            "pcc_export_mwh": self.export_kwh / 1000.0,
            "pcc_peak_import_kw": self.peak_import_kw,
            "pcc_limit_violation_kwh": self.pcc_violation_kwh,
            "grid_energy_cost_eur": self.energy_cost_eur,
            "energy_cost_eur": self.energy_cost_eur + fuel,
            "unserved_energy_kwh": self.unserved_kwh,
            "island_flexible_cut_kwh": self.flexible_cut_kwh,
            "island_curtailed_kwh": self.island_curtailed_kwh,
            "island_hours": self.island_steps * self.step_s / 3600.0,
            "island_slack_max_kw": self.island_slack_max_kw,
        }
