"""The dispatch task: :func:`build_dispatch` (one MILP over the horizon: unit commitment,
batteries, EV charging, HVAC inside comfort bands, deferrable loads, the PCC and its limit)
and :func:`interpret_dispatch` (the result as a per-slot :class:`DispatchPlan`).

One function adds each family's variables and rows (PyPSA style) and returns its terms of
the PCC balance; :func:`build_dispatch` adds the balance last.

Public names: :func:`build_dispatch`, :func:`interpret_dispatch`, :class:`DispatchPlan`,
:class:`DispatchLayout`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from solvers import Problem, ProblemBuilder, Result, VarBlock
from solvers.builder import SparseTerm
from twin.control.problems.inputs import DispatchInputs, GeneratorInputs
from twin.control.problems.terms import (
    dense,
    diagonal,
    identity,
    index_range,
    slot_sum,
    step_back,
    storage_shift,
    subtract,
    zone_model_terms,
)


@dataclass
class DispatchLayout:
    """Where the dispatch problem's variable blocks lie: the PCC import and export and,
    by name (``bat_charge``, ``gen_on``, ``ev_charge``, ``hvac_heat``, ``run_start``, ...),
    each family's blocks."""

    imp: VarBlock
    exp: VarBlock
    blocks: dict[str, VarBlock] = field(default_factory=dict)


@dataclass(frozen=True)
class DispatchPlan:
    """A dispatch schedule, per slot (kW; generation positive, charging positive).

    Arrays have T rows; missing asset kinds give zero-width arrays.
    """

    import_kw: np.ndarray
    export_kw: np.ndarray
    battery_kw: np.ndarray
    generator_on: np.ndarray
    generator_kw: np.ndarray
    ev_kw: np.ndarray
    heat_kw: np.ndarray
    cool_kw: np.ndarray
    run_start: np.ndarray
    base_kw: np.ndarray
    objective_eur: float

    @property
    def exchange_kw(self) -> np.ndarray:
        """Planned PCC exchange (import positive). [kW]"""
        return self.import_kw - self.export_kw


def _add_storage_rows(
    b: ProblemBuilder, name: str, energy: VarBlock, charge: VarBlock, discharge: VarBlock,
    t_len: int, n: int, gain_in: np.ndarray, gain_out: np.ndarray, e0: np.ndarray,
) -> None:
    """Rows ``e_t - e_{t-1} - gain_in c_t + gain_out d_t = [t = 0] e0`` (order (t, unit))."""
    size = t_len * n
    rhs = np.zeros(size)
    rhs[:n] = e0
    b.add_constraints(
        [(energy, storage_shift(t_len, n)),
         (charge, diagonal(-np.tile(gain_in, t_len))),
         (discharge, diagonal(np.tile(gain_out, t_len)))],
        lower=rhs, upper=rhs, name=name,
    )


def build_dispatch(inp: DispatchInputs) -> tuple[Problem, DispatchLayout]:
    """The joint dispatch MILP.

    Notes
    -----
    Per slot ``t`` (length ``dt``): the PCC balance

    .. math:: g^{imp}_t - g^{exp}_t = base_t + \\sum_b (c_{bt} - d_{bt})
              - \\sum_g p_{gt} + \\sum_v (c_{vt} - d_{vt}) + \\sum_z (h_{zt} + k_{zt})
              + \\sum_r P_r \\sum_{\\tau = t-D_r+1}^{t} y_{r\\tau}

    with ``0 <= g <= limit``; batteries ``e_t = e_{t-1} + (eta_c c - d / eta_d) dt``
    within ``[e_min, e_max]`` and ``e_T >= e_0``; generators ``u p_min <= p <= u p_max``,
    start ``s_t >= u_t - u_{t-1}``, minimum up ``sum_{t-UT+1..t} s <= u_t``, minimum
    down ``sum_{t-DT+1..t} s <= 1 - u_{t-DT}`` and the initial state's remaining
    up/down time fixed; EVs ``0 <= c_{vt} <= P_v a_{vt}``, cumulative energy within the
    battery, ``sum_t eta c dt + unmet_v >= need_v``; zones ``x_t = A x_{t-1} + B (COP h - EER
    k)`` through the exact discrete two-node model (state variables, sparse) inside
    ``[lower - s^lo, upper + s^hi]``, ``h + k <= P``; runs start once
    (exactly once when due inside the horizon) in allowed slots. Objective: import cost
    minus export revenue, fuel and start-up cost, battery wear, V2G degradation and the
    priced penalties for unmet EV energy and comfort degree-hours.
    """
    t_len = inp.n_slots
    dt = inp.dt_h
    lim = np.minimum(np.broadcast_to(np.asarray(inp.pcc_limit_kw, dtype=float), (t_len,)), 1e7)
    b = ProblemBuilder("dispatch")
    imp = b.add_variables("import_kw", t_len, lower=0.0, upper=lim,
                          cost=inp.import_eur_per_kwh * dt)
    exp = b.add_variables("export_kw", t_len, lower=0.0, upper=lim,
                          cost=-inp.export_eur_per_kwh * dt)
    layout = DispatchLayout(imp, exp)
    eye = identity(t_len)
    # balance terms: sum of terms == base
    balance: list[tuple[VarBlock, SparseTerm]] = [(imp, eye), (exp, -eye)]
    for add in (_add_batteries, _add_generators, _add_evs, _add_zones, _add_runs):
        balance += add(b, inp, layout)
    b.add_constraints(balance, lower=inp.base_kw, upper=inp.base_kw, name="balance")
    return b.build(), layout


def _add_batteries(b: ProblemBuilder, inp: DispatchInputs, layout: DispatchLayout
                   ) -> list[tuple[VarBlock, SparseTerm]]:
    """Battery charge, discharge and stored energy (state variables), with the storage
    balance rows; the end of the horizon holds at least the energy now. Returns the
    PCC balance terms."""
    bat = inp.battery
    terms: list[tuple[VarBlock, SparseTerm]] = []
    if not (bat is not None and bat.e0_kwh.size):
        return terms
    t_len, dt = inp.n_slots, inp.dt_h
    nb = bat.e0_kwh.size
    ch = b.add_variables("bat_charge_kw", t_len * nb, upper=np.tile(bat.p_max_kw, t_len),
                         cost=inp.cycle_cost_eur_per_kwh * dt)
    dis = b.add_variables("bat_discharge_kw", t_len * nb, upper=np.tile(bat.p_max_kw, t_len),
                          cost=inp.cycle_cost_eur_per_kwh * dt)
    terms += [(ch, slot_sum(t_len, nb, -1.0)), (dis, slot_sum(t_len, nb, 1.0))]
    # stored energy as state variables: e_t = e_{t-1} + (eta_c c - d / eta_d) dt
    e_lo = np.minimum(bat.e_min_kwh, bat.e0_kwh)
    e_hi = np.maximum(bat.e_max_kwh, bat.e0_kwh)
    lo = np.tile(e_lo, t_len)
    lo[-nb:] = np.minimum(bat.e0_kwh, bat.e_max_kwh)  # end with at least what we had
    energy = b.add_variables("bat_energy_kwh", t_len * nb, lower=lo, upper=np.tile(e_hi, t_len))
    _add_storage_rows(b, "bat_energy", energy, ch, dis, t_len, nb,
                      bat.eta_charge * dt, dt / bat.eta_discharge, bat.e0_kwh)
    layout.blocks["bat_charge"] = ch
    layout.blocks["bat_discharge"] = dis
    return terms


def _add_generators(b: ProblemBuilder, inp: DispatchInputs, layout: DispatchLayout
                    ) -> list[tuple[VarBlock, SparseTerm]]:
    """Generator commitment, start-up and output with the output limits, start-up rows and
    minimum up and down times (:func:`_add_min_up_down_rows`). Returns the PCC balance
    terms."""
    gen = inp.generator
    terms: list[tuple[VarBlock, SparseTerm]] = []
    if not (gen is not None and gen.p_max_kw.size):
        return terms
    t_len, dt = inp.n_slots, inp.dt_h
    ng = gen.p_max_kw.size
    u_lo = np.zeros((t_len, ng))
    u_hi = np.ones((t_len, ng))
    for g in range(ng):
        if gen.on0[g]:
            rest = int(max(0, gen.min_up_slots[g] - gen.slots_in_state0[g]))
            u_lo[:rest, g] = 1.0
        else:
            rest = int(max(0, gen.min_down_slots[g] - gen.slots_in_state0[g]))
            u_hi[:rest, g] = 0.0
    u = b.add_variables("gen_on", t_len * ng, kind="binary", lower=u_lo.reshape(-1),
                        upper=u_hi.reshape(-1))
    s = b.add_variables("gen_start", t_len * ng, kind="binary",
                        cost=np.tile(gen.startup_cost_eur, t_len))
    p = b.add_variables("gen_kw", t_len * ng, upper=np.tile(gen.p_max_kw, t_len),
                        cost=np.tile(gen.fuel_cost_eur_per_kwh * dt, t_len))
    big = identity(t_len * ng)
    b.add_constraints([(p, big), (u, diagonal(-np.tile(gen.p_max_kw, t_len)))], upper=0.0,
                      name="gen_max")
    b.add_constraints([(p, big), (u, diagonal(-np.tile(gen.p_min_kw, t_len)))], lower=0.0,
                      name="gen_min")
    # s_t - u_t + u_{t-1} >= 0 ; u_{-1} = on0
    shift = step_back(t_len, ng)
    start_rhs = np.zeros(t_len * ng)
    start_rhs[:ng] = -gen.on0.astype(float)
    b.add_constraints([(s, big), (u, subtract(shift, big))], lower=start_rhs,
                      name="gen_startup")
    _add_min_up_down_rows(b, gen, u, s, t_len)
    terms.append((p, slot_sum(t_len, ng, 1.0)))
    layout.blocks.update(gen_on=u, gen_start=s, gen_kw=p)
    return terms


def _add_min_up_down_rows(b: ProblemBuilder, gen: GeneratorInputs, u: VarBlock, s: VarBlock,
                          t_len: int) -> None:
    """Minimum up time ``sum_{t-UT+1..t} s <= u_t`` and minimum down time
    ``sum_{t-DT+1..t} s <= 1 - u_{t-DT}`` rows of the units with times over one slot."""
    ng = gen.p_max_kw.size
    up_rows, dn_rows = [], []
    for g in range(ng):
        ut, dtn = int(gen.min_up_slots[g]), int(gen.min_down_slots[g])
        for t in range(t_len):
            if ut > 1:
                window = np.zeros((t_len, ng))
                window[max(0, t - ut + 1) : t + 1, g] = 1.0
                ucoef = np.zeros((t_len, ng))
                ucoef[t, g] = -1.0
                up_rows.append((window.reshape(-1), ucoef.reshape(-1), 0.0))
            if dtn > 1 and t - dtn >= 0:
                window = np.zeros((t_len, ng))
                window[t - dtn + 1 : t + 1, g] = 1.0
                ucoef = np.zeros((t_len, ng))
                ucoef[t - dtn, g] = 1.0
                dn_rows.append((window.reshape(-1), ucoef.reshape(-1), 1.0))
    for name, rows in (("gen_min_up", up_rows), ("gen_min_down", dn_rows)):
        if rows:
            b.add_constraints(
                [(s, dense(np.array([r[0] for r in rows]))),
                 (u, dense(np.array([r[1] for r in rows])))],
                upper=np.array([r[2] for r in rows]), name=name,
            )


def _add_evs(b: ProblemBuilder, inp: DispatchInputs, layout: DispatchLayout
             ) -> list[tuple[VarBlock, SparseTerm]]:
    """Plugged vehicles' charging, V2G discharge, energy and unmet energy, with the storage
    rows and the need-by-departure rows. Returns the PCC balance terms."""
    ev = inp.ev
    terms: list[tuple[VarBlock, SparseTerm]] = []
    if not (ev is not None and ev.p_max_kw.size):
        return terms
    t_len, dt = inp.n_slots, inp.dt_h
    nv = ev.p_max_kw.size
    c_up = ev.available * ev.p_max_kw[None, :]
    c = b.add_variables("ev_charge_kw", t_len * nv, upper=c_up.reshape(-1))
    d_up = c_up * ev.v2g[None, :]
    d = b.add_variables("ev_discharge_kw", t_len * nv, upper=d_up.reshape(-1),
                        cost=np.tile(ev.degradation_eur_per_kwh * dt, t_len))
    unmet = b.add_variables("ev_unmet_kwh", nv, upper=ev.need_kwh,
                            cost=inp.unmet_ev_penalty_eur_per_kwh)
    energy = b.add_variables("ev_energy_kwh", t_len * nv, lower=0.0,
                             upper=np.tile(ev.e0_kwh + ev.room_kwh, t_len))
    _add_storage_rows(b, "ev_energy", energy, c, d, t_len, nv, ev.efficiency * dt,
                      dt / ev.efficiency, ev.e0_kwh)
    last = SparseTerm(index_range(nv), np.arange((t_len - 1) * nv, t_len * nv), np.ones(nv),
                (nv, t_len * nv))
    b.add_constraints([(energy, last), (unmet, identity(nv))],
                      lower=ev.e0_kwh + ev.need_kwh, name="ev_need")
    terms += [(c, slot_sum(t_len, nv, -1.0)), (d, slot_sum(t_len, nv, 1.0))]
    layout.blocks.update(ev_charge=c, ev_discharge=d, ev_unmet=unmet)
    return terms


def _add_zones(b: ProblemBuilder, inp: DispatchInputs, layout: DispatchLayout
               ) -> list[tuple[VarBlock, SparseTerm]]:
    """HVAC heating and cooling, zone temperatures (the exact discrete model as rows) and
    comfort slacks, with the HVAC limit and the comfort rows. Returns the PCC balance
    terms."""
    bl = inp.building
    terms: list[tuple[VarBlock, SparseTerm]] = []
    if not (bl is not None and bl.p_max_kw.size):
        return terms
    t_len, dt = inp.n_slots, inp.dt_h
    nz = bl.p_max_kw.size
    size = t_len * nz  # flattened (t, z)
    h = b.add_variables("hvac_heat_kw", size,
                        upper=(np.broadcast_to(bl.p_max_kw, (t_len, nz)) * (bl.cop > 0)).reshape(-1))
    k = b.add_variables("hvac_cool_kw", size,
                        upper=(np.broadcast_to(bl.p_max_kw, (t_len, nz)) * (bl.eer > 0)).reshape(-1))
    ta = b.add_variables("t_air_c", size, lower=-math.inf)
    tm = b.add_variables("t_mass_c", size, lower=-math.inf)
    pen = inp.comfort_penalty_eur_per_kh * dt
    s_lo = b.add_variables("comfort_below_k", size, cost=pen)
    s_hi = b.add_variables("comfort_above_k", size, cost=pen)
    big = identity(size)
    b.add_constraints([(h, big), (k, big)], upper=np.tile(bl.p_max_kw, t_len), name="hvac_max")
    # x[t] = A x[t-1] + B (COP h[t] - EER k[t]) + drive[t], x[-1] = x0
    cop, eer = bl.cop.reshape(-1), bl.eer.reshape(-1)
    zone_terms = zone_model_terms(t_len, np.ascontiguousarray(bl.a, dtype=np.float64).tobytes(), nz)
    for row, name in ((0, "air"), (1, "mass")):
        own_term, other_term = zone_terms[row]
        gain = np.tile(bl.b[:, row], t_len)
        rhs = bl.drive[:, :, row].reshape(-1).copy()
        rhs[:nz] += bl.a[:, row, 0] * bl.x0[:, 0] + bl.a[:, row, 1] * bl.x0[:, 1]
        own, other = (ta, tm) if row == 0 else (tm, ta)
        b.add_constraints(
            [(own, own_term), (other, other_term),
             (h, diagonal(-gain * cop)), (k, diagonal(gain * eer))],
            lower=rhs, upper=rhs, name=f"zone_{name}",
        )
    b.add_constraints([(ta, big), (s_lo, big)], lower=bl.lower_c.reshape(-1), name="comfort_lower")
    b.add_constraints([(ta, big), (s_hi, -big)], upper=bl.upper_c.reshape(-1), name="comfort_upper")
    per_slot = slot_sum(t_len, nz, -1.0)
    terms += [(h, per_slot), (k, per_slot)]
    layout.blocks.update(hvac_heat=h, hvac_cool=k, comfort_below=s_lo, comfort_above=s_hi,
                         t_air=ta)
    return terms


def _add_runs(b: ProblemBuilder, inp: DispatchInputs, layout: DispatchLayout
              ) -> list[tuple[VarBlock, SparseTerm]]:
    """Deferrable run starts (once, exactly once when due) and their power in each slot.
    Returns the PCC balance terms."""
    runs = inp.runs
    terms: list[tuple[VarBlock, SparseTerm]] = []
    if not (runs is not None and runs.p_kw.size):
        return terms
    t_len = inp.n_slots
    nr = runs.p_kw.size
    y = b.add_variables("run_start", nr * t_len, kind="binary",
                        upper=runs.allowed.astype(float).reshape(-1))
    rows = slot_sum(nr, t_len, 1.0)
    b.add_constraints([(y, rows)], lower=runs.must.astype(float), upper=1.0, name="run_once")
    # power in slot t: sum_r P_r sum_{tau in (t-D_r, t]} y[r, tau]  -> (t, (r, tau))
    # entry (t, (r, tau)) is -P_r where tau <= t < tau + D_r (vectorised assignment)
    lag = index_range(t_len)[:, None] - index_range(t_len)[None, :]  # t - tau
    dur = runs.duration_slots.astype(np.int64)
    on = (lag[None, :, :] >= 0) & (lag[None, :, :] < dur[:, None, None])  # (r, t, tau)
    mat = np.where(on, -np.asarray(runs.p_kw, dtype=float)[:, None, None], 0.0)
    terms.append((y, dense(mat.transpose(1, 0, 2).reshape(t_len, nr * t_len))))
    layout.blocks["run_start"] = y
    return terms


def interpret_dispatch(result: Result, layout: DispatchLayout, inp: DispatchInputs) -> DispatchPlan:
    """Turn a dispatch result into a :class:`DispatchPlan` (per slot, kW)."""
    x = result.x
    assert x is not None
    t_len = inp.n_slots

    def get(name: str, width: int) -> np.ndarray:
        block = layout.blocks.get(name)
        return block.values(x).reshape(t_len, width) if block is not None else np.zeros((t_len, width))

    nb = inp.battery.e0_kwh.size if inp.battery is not None else 0
    ng = inp.generator.p_max_kw.size if inp.generator is not None else 0
    nv = inp.ev.p_max_kw.size if inp.ev is not None else 0
    nz = inp.building.p_max_kw.size if inp.building is not None else 0
    nr = inp.runs.p_kw.size if inp.runs is not None else 0
    run = layout.blocks.get("run_start")
    return DispatchPlan(
        import_kw=layout.imp.values(x),
        export_kw=layout.exp.values(x),
        battery_kw=get("bat_charge", nb) - get("bat_discharge", nb),
        generator_on=get("gen_on", ng) > 0.5,
        generator_kw=get("gen_kw", ng),
        ev_kw=get("ev_charge", nv) - get("ev_discharge", nv),
        heat_kw=get("hvac_heat", nz),
        cool_kw=get("hvac_cool", nz),
        run_start=(run.values(x).reshape(nr, t_len) > 0.5) if run is not None
        else np.zeros((nr, t_len), bool),
        base_kw=inp.base_kw,
        objective_eur=float(result.objective or 0.0),
    )
