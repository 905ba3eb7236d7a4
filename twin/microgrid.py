"""The point of common coupling (PCC): tariff, limit, upstream outages and islanding.

When the upstream grid is lost (``pcc.outages``) the network behind the PCC islands. The
islands are found from the topology with ``pandapower.topology`` (networkx): buses that
can still reach an external grid stay supplied, the others form islands. In each island
the grid-forming units (batteries, grid-forming generators) must balance demand and
supply; flexible loads (EV charging, HVAC) are deferred first; what is still missing is
shed by the power flow at the forming units' limits (below). Surplus is absorbed by
batteries, then generators go to their minimum, then PV is curtailed.

Islands are power flows: while the PCC is open (``pcc.outages``, opened and closed at
their exact times by the engine) the external grids are no slack and exchange nothing
(by construction); each island is solved with a grid-forming unit (a battery inverter
not tripped, or a running grid-forming generator; :meth:`Microgrid.grid_formers`) as
its slack bus at 1 pu, and an island without one is dark (its load unserved). The
balancer matches the island's injections at each step, so the forming unit's slack
carries the island's losses (and any mismatch inside a step, or a whole island cut off
by a branch fault). The slack is the forming units' own power (:meth:`Microgrid.carry`:
their state of charge and fuel follow it), within the capability this module gives the
power flow each step (:meth:`Microgrid._former_limits`); beyond it the power flow sheds
load in the order of ``pcc.shed_priority`` or the island goes dark
(:mod:`twin.island_flow`), and the shed load is unserved energy, interval by interval.
``island_slack_max_kw`` is the largest slack.

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


def _shift_within(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, amount: float) -> float:
    """Shift ``values`` by ``amount`` in total within [lo, hi], in proportion to each
    one's room (in place); returns what could not be shifted."""
    room = (hi - values) if amount > 0 else (values - lo)
    total = room.sum()
    if total <= 0 or amount == 0:
        return amount
    take = min(abs(amount), total)
    values += np.sign(amount) * room * (take / total)
    return amount - np.sign(amount) * take


def _units_follow(mismatch: float, bat: np.ndarray, ch_max: np.ndarray, dis_max: np.ndarray,
                  gen: np.ndarray, g_min: np.ndarray, g_max: np.ndarray) -> float:
    """Move ``mismatch`` (short positive) onto the units in place: when short the
    batteries (no fuel) discharge first, then generators rise; in surplus generators
    fall first, then batteries charge. Returns what is left."""
    if mismatch > 0:
        mismatch = -_shift_within(bat, -dis_max, ch_max, -mismatch)
        mismatch = _shift_within(gen, g_min, g_max, mismatch)
    elif mismatch < 0:
        mismatch = _shift_within(gen, g_min, g_max, mismatch)
        mismatch = -_shift_within(bat, -dis_max, ch_max, -mismatch)
    return mismatch


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
    (:func:`_units_follow`). What remains short is cut from flexible, then fixed
    demand; what remains in surplus is curtailed from PV. Hence the shed load is
    exactly ``max(0, fixed + flexible - pv - sum(discharge_max) - sum(gen_max))`` minus
    the flexible part: nothing that could have been served is shed.
    """
    ch_max = np.asarray(battery_charge_max_kw, float)
    dis_max = np.asarray(battery_discharge_max_kw, float)
    g_min = np.asarray(generator_min_kw, float)
    g_max = np.asarray(generator_max_kw, float)
    bat = np.clip(np.asarray(battery_kw, float), -dis_max, ch_max)
    gen = np.clip(np.asarray(generator_kw, float), g_min, g_max)
    mismatch = fixed_demand_kw + flexible_demand_kw - pv_kw + bat.sum() - gen.sum()
    mismatch = _units_follow(mismatch, bat, ch_max, dis_max, gen, g_min, g_max)
    flexible_cut = shed = curtailed = 0.0
    if mismatch > 1e-9:
        flexible_cut = min(mismatch, flexible_demand_kw)
        shed = min(mismatch - flexible_cut, fixed_demand_kw)
    elif mismatch < -1e-9:
        curtailed = min(-mismatch, pv_kw)
    return IslandDispatch(bat, gen, float(flexible_cut), float(shed), float(curtailed))


@dataclass(frozen=True)
class _IslandView:
    """One island's demand, supply and units as the balancer sees them (kW)."""

    buses: list[int]
    in_island: np.ndarray
    fixed_kw: float
    flexible_kw: float
    pv_kw: float
    bat_in: np.ndarray
    ch_max_kw: np.ndarray
    dis_max_kw: np.ndarray
    bat_plan_kw: np.ndarray
    battery_forms: bool


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
        cap = model.island_capability  # what islands may shed and curtail
        cap.set_ranks(self._shed_ranks(scenario))
        cap.curtailable = self._is_sgen & ~self._is_gen
        self._curtailable = cap.curtailable.copy()
        self._curtailed_in_force_kw = 0.0
        cap.go_dark = pcc.island_overload == "dark"
        model.island_carriers.append(self.carry)
        if gen is not None:  # a black-started generator forms the island once it runs
            gen.online_listeners.append(self._unit_online)

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
        power-flow model which units can form an island (:meth:`grid_formers`) and
        what they can carry this step (:meth:`_former_limits`)."""
        try:
            self._balance(k, env_now)
        finally:
            self.ctx.model.set_grid_formers(self.grid_formers())
            self._former_limits()

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

    def _unit_online(self) -> None:
        """A black-started generator runs now: it joins the grid formers (with its
        limits), and the power flow solves again at this instant."""
        self._former_limits()
        self.ctx.model.set_grid_formers(self.grid_formers())

    def _former_limits(self) -> None:
        """The forming units' capability this step (element convention, MW): a
        battery's charge and discharge limits (its energy included; 0 when tripped),
        a running generator's ``[p_min, p_max]`` (0 when stopped)."""
        cap = self.ctx.model.island_capability
        bat = self.families.get("battery")
        if bat is not None:
            rows = slice(self._slices["storage"].start + bat.rows[0],
                         self._slices["storage"].start + bat.rows[1])
            snap = bat.snapshot()
            cap.p_min_mw[rows] = -snap.p_discharge_max_mw
            cap.p_max_mw[rows] = snap.p_charge_max_mw
        gen = self.families.get("generator")
        if gen is not None:
            rows = slice(self._slices["sgen"].start + gen.rows[0],
                         self._slices["sgen"].start + gen.rows[1])
            on = np.asarray(gen.state.on, bool)
            cap.p_min_mw[rows] = np.where(on, gen.p_min_kw, 0.0) / 1000.0
            cap.p_max_mw[rows] = np.where(on, gen.p_max_kw, 0.0) / 1000.0

    def _shed_ranks(self, scenario: Scenario) -> np.ndarray:
        """Per driven element: the order an island sheds it in (``pcc.shed_priority``;
        flexible loads first at -1, loads by priority, ``inf`` for non-loads)."""
        model = self.ctx.model
        rank = np.full(model.n_injections, np.inf)
        loads = self._slices["load"]
        rank[loads] = 0.0
        names = model.net.load["name"].astype(str).tolist() if "name" in model.net.load else []
        index = model.element_index["load"].tolist()
        priority = dict(scenario.pcc.shed_priority)
        for j, (idx, name) in enumerate(zip(index, names or [""] * len(index), strict=True)):
            asset = name.removeprefix("asset/") if name.startswith("asset/") else None
            value = priority.get(f"load/{idx}", priority.get(asset, 0) if asset else 0)
            rank[loads.start + j] = float(value)
        rank[self._flexible] = -1.0
        return rank

    def carry(self, dp_mw: np.ndarray | None, remaining_s: float) -> None:
        """After a solve with islands (:attr:`twin.grid.PowerFlowModel.island_carriers`):
        the forming units book the slack they carry until the step's end (state of
        charge, fuel), and PV the power flow curtailed at the units' limits counts in
        ``island_curtailed_kwh`` (booked to the step's end, corrected at the next
        solve); ``None``: nothing carried any more."""
        slices = self._slices
        curtailed_kw = 0.0 if dp_mw is None else float(
            -(self._weight * dp_mw)[self._curtailable].sum()) * 1000.0
        if remaining_s >= self.step_s:  # a step's first solve: nothing booked yet
            self._curtailed_in_force_kw = 0.0
        self.island_curtailed_kwh += (curtailed_kw - self._curtailed_in_force_kw) * (
            remaining_s / 3600.0)
        self._curtailed_in_force_kw = curtailed_kw
        bat = self.families.get("battery")
        if bat is not None:
            a = slices["storage"].start + bat.rows[0]
            b = slices["storage"].start + bat.rows[1]
            bat.carry_island_power(np.zeros(b - a) if dp_mw is None else dp_mw[a:b], remaining_s)
        gen = self.families.get("generator")
        if gen is not None:
            a = slices["sgen"].start + gen.rows[0]
            b = slices["sgen"].start + gen.rows[1]
            gen.carry_island_power(np.zeros(b - a) if dp_mw is None else dp_mw[a:b] * 1000.0,
                                   remaining_s)

    def _balance(self, k: int, env_now: float) -> bool:
        """Balance every island of an open PCC for step ``k``; False when connected."""
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
        consumption_kw = self._consumption_kw()
        for island in self._islands:
            view = self._island_view(sorted(island), consumption_kw)
            on, g_min, g_max, g_plan = self._island_generators(view)
            if view.battery_forms or bool(on.any()):
                result = island_balance(view.fixed_kw, view.flexible_kw, view.pv_kw,
                                        view.bat_plan_kw, view.ch_max_kw, view.dis_max_kw,
                                        g_plan, g_min, g_max)
            else:  # nothing can form the island: it goes dark (the power flow says so)
                result = IslandDispatch(view.bat_plan_kw, g_plan, 0.0, 0.0, 0.0)
            self._apply_dispatch(view, result, on, k, env_now)
        return True

    def _consumption_kw(self) -> np.ndarray:
        """Per driven element: what it will consume this step (load positive); the
        flexible rows at what their commands will draw. [kW]"""
        consumption_kw = -self._weight * self.ctx.injections.p_mw * 1000.0
        base = self._slices["load"].start
        for kind in ("ev_fleet", "building"):
            fam = self.families.get(kind)
            if fam is not None:
                consumption_kw[base + fam.rows[0] : base + fam.rows[1]] = fam.expected_p_kw()
        return consumption_kw

    def _island_view(self, buses: list[int], consumption_kw: np.ndarray) -> _IslandView:
        """Demand, PV and the batteries' range in one island."""
        in_island = np.isin(self._bus, buses)
        fixed = float(consumption_kw[in_island & self._is_load & ~self._flexible].sum())
        flexible = float(consumption_kw[in_island & self._flexible].sum())
        pv = float(-consumption_kw[in_island & self._is_sgen & ~self._is_gen].sum())
        bat = self.families.get("battery")
        if bat is None:
            empty = np.zeros(0)
            return _IslandView(buses, in_island, fixed, flexible, pv, np.zeros(0, bool),
                               empty, empty, empty, False)
        b_in = np.isin(bat.bus, buses)
        snap = bat.snapshot()
        return _IslandView(
            buses, in_island, fixed, flexible, pv, b_in,
            np.where(b_in, snap.p_charge_max_mw * 1000.0, 0.0),
            np.where(b_in, snap.p_discharge_max_mw * 1000.0, 0.0),
            np.where(b_in, bat.commanded_p_mw() * 1000.0, 0.0),
            bool((b_in & ~bat.tripped).any()),  # a tripped battery cannot form it
        )

    def _island_generators(self, view: _IslandView
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The island's grid-forming generators: start stopped ones when the running
        units and batteries fall short or nothing forms the island; returns which run
        and their minimum, maximum and planned output. [-, kW, kW, kW]"""
        gen = self.families.get("generator")
        if gen is None:
            empty = np.zeros(0)
            return np.zeros(0, dtype=bool), empty, empty, empty
        g_in = np.isin(gen.bus, view.buses) & gen.grid_forming
        running = gen.state.on & g_in
        short = (view.fixed_kw + view.flexible_kw - view.pv_kw - float(view.dis_max_kw.sum())
                 - float(gen.p_max_kw[running].sum()))
        if short > 0 or not (running.any() or view.battery_forms):
            gen.start_for_island(g_in & (gen.p_max_kw > 0))
        on = gen.state.on & g_in
        return (on, np.where(on, gen.p_min_kw, 0.0), np.where(on, gen.p_max_kw, 0.0),
                np.where(on, gen.requested_p_kw(), 0.0))

    def _apply_dispatch(self, view: _IslandView, result: IslandDispatch, on: np.ndarray,
                        k: int, env_now: float) -> None:
        """Command the island's units, defer flexible load and curtail PV; fixed load
        the units cannot serve is left to the power flow, which sheds it by priority
        at the forming units' limits (:mod:`twin.island_flow`)."""
        bat = self.families.get("battery")
        gen = self.families.get("generator")
        dt_h = self.step_s / 3600.0
        if bat is not None:
            bat.command(np.where(view.bat_in, result.battery_kw / 1000.0, bat.commanded_p_mw()))
        if gen is not None:
            gen.command(gen.state.on, np.where(on, result.generator_kw, gen.p_min_kw))
        if result.flexible_cut_kw > 0:
            share = 1.0 - result.flexible_cut_kw / max(view.flexible_kw, 1e-12)
            self._scale_flexible(set(view.buses), share)
        if result.shed_kw > 0:
            self.ctx.recorder.event(env_now, "grid", "load_shed", "pcc",
                                    f"island short of {result.shed_kw:.1f} kW: load shed",
                                    {"step": k, "shed_kw": result.shed_kw})
        if result.curtailed_kw > 0:
            self._curtail_pv(view, result.curtailed_kw)
            self.island_curtailed_kwh += result.curtailed_kw * dt_h
        self.flexible_cut_kwh += result.flexible_cut_kw * dt_h

    def _curtail_pv(self, view: _IslandView, curtailed_kw: float) -> None:
        """Curtail ``curtailed_kw`` of the island's PV this step. [kW]"""
        inj = self.ctx.injections
        pv_rows = view.in_island & self._is_sgen & ~self._is_gen
        total = float((inj.p_mw[pv_rows]).sum())
        if total > 0:
            inj.p_mw[pv_rows] *= 1.0 - curtailed_kw / 1000.0 / total
        pvf = self.families.get("pv")
        if pvf is not None:
            snap = pvf.snapshot()
            frac = 1.0 - curtailed_kw / max(view.pv_kw, 1e-12)
            pvf.command(snap.available_p_mw * max(frac, 0.0))

    def _scale_flexible(self, island: set[int], share: float) -> None:
        """Flexible families in ``island`` serve only ``share`` of their request."""
        share = max(share, 0.0)
        for kind in ("ev_fleet", "building"):
            fam = self.families.get(kind)
            if fam is not None:
                fam.scale_flexible(island, share)

    def meter_intervals(self, steps: np.ndarray, duration_s: np.ndarray,
                        slack_p_mw: np.ndarray, pcc_open: np.ndarray,
                        island_p_mw: np.ndarray | None = None,
                        unserved_mw: np.ndarray | None = None) -> None:
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
            Per interval: power the grid-forming units supplied as island slacks
            (part of their own recorded power). [MW]
        unserved_mw : numpy.ndarray, optional
            Per interval: load not served (dark buses, load shed in islands); its
            integral is ``unserved_energy_kwh``. [MW]
        slack_p_mw : numpy.ndarray
            ``(n_intervals, n_ext_grid)`` exchange per external grid; NaN rows (power
            flow not converged) count as zero. [MW]
        """
        export_price = self.export_price
        limit = self.limit_kw
        island = np.zeros(len(steps)) if island_p_mw is None else island_p_mw
        if unserved_mw is not None:
            self.unserved_kwh = float((unserved_mw * duration_s).sum()) / 3.6
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
