"""Small optimisation instances from the field, for solver tests and benchmarks.

Kept next to the tests (the twin's own problem builders live in ``twin/control``):
the benchmarks load this module by path.

- :func:`ev_charging`: EVs choosing charging slots against a price curve,
  energy target as a hard equality (``soft=False``) or as a quadratic
  unmet-energy penalty (``soft=True``, unconstrained QUBO), plus a penalty on
  simultaneous charging (shared transformer).
- :func:`battery_slots`: a battery choosing charge and discharge slots for
  arbitrage, energy-neutral over the horizon.
- :func:`unit_commitment_binary`: on/off of units per step with a demand
  constraint and start-up costs (pure binary).
- :func:`unit_commitment_mixed`: the same with continuous dispatch
  ``p[t, g]`` (for ``milp`` and ``hybrid``).
- :func:`scheduling_96`: a 96-step (15 min) dispatch of several units, a
  battery and an EV fleet: several thousand variables (for ``milp`` benchmarks).
- :func:`scheduling_96_tight`: the same schedule in the three-binary
  (on / start-up / shut-down) unit-commitment formulation with Rajan-Takriti
  minimum up time: same data (:func:`scheduling_data`), same optimum.

All are deterministic functions of their arguments and ``seed``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from solvers import Problem, ProblemBuilder


def _prices(steps: int, rng: np.random.Generator) -> np.ndarray:
    """A day-shaped price curve with noise, rounded to whole EUR/MWh. [EUR/MWh]"""
    hours = np.linspace(0, 24, steps, endpoint=False)
    base = 60 + 25 * np.sin((hours - 9) / 24 * 2 * np.pi) + 15 * np.sin((hours - 18) / 12 * np.pi)
    return np.round(base + rng.normal(0, 5, steps))


def ev_charging(
    num_evs: int, slots: int, *, soft: bool = True, seed: int = 0
) -> Problem:
    """EV slot selection: ``num_evs * slots`` binaries ``u[e, t]``.

    Each EV needs ``k_e`` slots (about a third of the window); cost is the
    slot price (scaled to about 1-10) plus ``overlap`` for every pair of EVs
    charging in the same slot. ``soft=True`` adds ``w (sum_t u[e,t] - k_e)^2``
    to the objective instead of the equality constraint.
    """
    rng = np.random.default_rng(seed)
    price = _prices(slots, rng) / 10.0
    need = np.maximum(1, np.round(slots / 3 + rng.integers(-1, 2, num_evs))).astype(int)
    b = ProblemBuilder(f"ev-{num_evs}x{slots}{'-soft' if soft else ''}")
    u = b.add_variables("u", (num_evs, slots), kind="binary", cost=np.tile(price, (num_evs, 1)))
    n = num_evs * slots
    idx = u.indices
    quad = sp.lil_array((n, n))
    overlap = float(np.round(price.mean()))
    for e1 in range(num_evs):
        for e2 in range(e1 + 1, num_evs):
            for t in range(slots):
                quad[idx[e1, t], idx[e2, t]] += overlap
    if soft:
        w = float(np.ceil(price.max()))
        lin = np.zeros(n)
        for e in range(num_evs):
            cols = idx[e]
            lin[cols] += w * (1 - 2 * need[e])
            for a in range(slots):
                for c in range(a + 1, slots):
                    quad[cols[a], cols[c]] += 2 * w
            b.constant += w * need[e] ** 2
        b.add_quadratic(u, u, sp.csr_array(quad))
        prob = b.build()
        return prob.replace(objective=prob.objective + lin)
    b.add_quadratic(u, u, sp.csr_array(quad))
    b.add_constraints([(u, np.kron(np.eye(num_evs), np.ones((1, slots))))], lower=need,
                      upper=need, name="energy")
    return b.build()


def battery_slots(slots: int, cycles: int = 2, *, seed: int = 0) -> Problem:
    """Battery arbitrage: ``2 * slots`` binaries (charge ``c[t]``, discharge ``d[t]``).

    Exactly ``cycles`` charge and ``cycles`` discharge slots (energy-neutral);
    charging and discharging in the same slot costs a large penalty term.
    """
    rng = np.random.default_rng(seed)
    price = _prices(slots, rng) / 10.0
    b = ProblemBuilder(f"battery-{slots}")
    c = b.add_variables("c", slots, kind="binary", cost=price)
    d = b.add_variables("d", slots, kind="binary", cost=-0.9 * price)  # 90 % round trip
    b.add_quadratic(c, d, np.eye(slots) * float(np.ceil(price.max() * 2)))
    b.add_constraints([(c, np.ones((1, slots)))], lower=cycles, upper=cycles, name="charge")
    b.add_constraints([(d, np.ones((1, slots)))], lower=cycles, upper=cycles, name="discharge")
    return b.build()


def _units(num_units: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    pmax = rng.integers(1, 5, num_units).astype(float)  # [MW]
    marginal = np.round(rng.uniform(20, 60, num_units))  # [EUR/MWh]
    noload = np.round(rng.uniform(5, 20, num_units))  # [EUR/h]
    startup = np.round(rng.uniform(5, 30, num_units))  # [EUR]
    return pmax, marginal, noload, startup


def unit_commitment_binary(num_units: int, steps: int, *, seed: int = 0) -> Problem:
    """Pure binary unit commitment: ``u[t, g]`` on/off, capacity covers demand.

    Cost per step: ``(noload + marginal * pmax) / 10`` for each unit on, plus
    ``startup / 10`` when a unit turns on (quadratic ``u[t,g] (1 - u[t-1,g])``).
    """
    rng = np.random.default_rng(seed)
    pmax, marginal, noload, startup = _units(num_units, rng)
    demand = np.round(rng.uniform(0.3, 0.6, steps) * pmax.sum())
    b = ProblemBuilder(f"uc-{num_units}x{steps}")
    on_cost = np.round((noload + marginal * pmax) / 10)
    su = np.round(startup / 10)
    cost = np.tile(on_cost, (steps, 1)) + np.vstack([su, np.zeros((steps - 1, num_units))])
    cost[1:] += su  # the +su of u[t] (1 - u[t-1]) for t >= 1
    u = b.add_variables("u", (steps, num_units), kind="binary", cost=cost)
    if steps > 1:
        prev = sp.csr_array(np.eye(steps * num_units, k=-num_units))  # u[t] x u[t-1]
        b.add_quadratic(u, u, -prev.multiply(np.tile(su, steps)[:, None]))
    b.add_constraints([(u, np.kron(np.eye(steps), pmax[None, :]))], lower=demand, name="demand")
    return b.build()


def unit_commitment_mixed(num_units: int, steps: int, *, seed: int = 0) -> Problem:
    """Unit commitment with continuous dispatch ``p[t, g]`` in ``[0.2 pmax u, pmax u]``."""
    rng = np.random.default_rng(seed)
    pmax, marginal, noload, startup = _units(num_units, rng)
    demand = np.round(rng.uniform(0.3, 0.6, steps) * pmax.sum(), 1)
    b = ProblemBuilder(f"uc-mixed-{num_units}x{steps}")
    u = b.add_variables("u", (steps, num_units), kind="binary",
                        cost=np.tile(noload + startup / steps, (steps, 1)))
    p = b.add_variables("p_mw", (steps, num_units), upper=np.tile(pmax, (steps, 1)),
                        cost=np.tile(marginal, (steps, 1)))
    k = steps * num_units
    b.add_constraints([(p, np.kron(np.eye(steps), np.ones((1, num_units))))], lower=demand,
                      upper=demand, name="balance")
    b.add_constraints([(p, sp.eye_array(k)), (u, -sp.diags_array(np.tile(pmax, steps)))],
                      upper=0.0, name="max")
    b.add_constraints([(p, sp.eye_array(k)), (u, -sp.diags_array(0.2 * np.tile(pmax, steps)))],
                      lower=0.0, name="min")
    return b.build()


class SchedulingData(NamedTuple):
    """The data of the 96-step schedules (shared by the loose and the tight model).

    Attributes
    ----------
    steps : int
        Number of steps.
    dt_h : float
        Step length. [h]
    pmax_mw, marginal_eur_per_mwh, noload_eur_per_h : numpy.ndarray
        Per unit: rated power [MW], marginal cost [EUR/MWh], no-load cost [EUR/h].
    load_mw : numpy.ndarray
        Demand per step. [MW]
    ev_need_mwh, ev_pmax_mw : numpy.ndarray
        Per EV group: energy to deliver over the day [MWh], charging limit [MW].
    """

    steps: int
    dt_h: float
    pmax_mw: np.ndarray
    marginal_eur_per_mwh: np.ndarray
    noload_eur_per_h: np.ndarray
    load_mw: np.ndarray
    ev_need_mwh: np.ndarray
    ev_pmax_mw: np.ndarray


def scheduling_data(num_units: int = 10, num_evs: int = 10, *, seed: int = 0) -> SchedulingData:
    """Units, load and EV groups of :func:`scheduling_96` / :func:`scheduling_96_tight`."""
    rng = np.random.default_rng(seed)
    steps, dt_h = 96, 0.25
    pmax = rng.uniform(0.5, 3.0, num_units)  # [MW]
    marginal = rng.uniform(20, 80, num_units)  # [EUR/MWh]
    noload = rng.uniform(2, 10, num_units)  # [EUR/h]
    hours = np.arange(steps) * dt_h
    load = 0.35 * pmax.sum() * (1 + 0.4 * np.sin((hours - 8) / 24 * 2 * np.pi))  # [MW]
    ev_need = rng.uniform(0.3, 1.5, num_evs)  # [MWh]
    ev_pmax = np.full(num_evs, 0.011 * 10)  # [MW] (aggregated charger groups)
    return SchedulingData(steps, dt_h, pmax, marginal, noload, load, ev_need, ev_pmax)


def _dispatch_part(b: ProblemBuilder, d: SchedulingData, u: Any) -> tuple[Any, ...]:
    """Power, battery and EV variables with balance, output-limit, SOC and EV-energy rows."""
    steps, dt_h = d.steps, d.dt_h
    num_units, num_evs = d.pmax_mw.size, d.ev_need_mwh.size
    pmax, marginal, load = d.pmax_mw, d.marginal_eur_per_mwh, d.load_mw
    p = b.add_variables("p_mw", (steps, num_units), upper=np.tile(pmax, (steps, 1)),
                        cost=np.tile(marginal * dt_h, (steps, 1)))
    ch = b.add_variables("bat_charge_mw", steps, upper=1.0)
    dis = b.add_variables("bat_discharge_mw", steps, upper=1.0)
    soc = b.add_variables("bat_soc_mwh", steps, lower=0.2, upper=2.0)
    ev = b.add_variables("ev_mw", (steps, num_evs), upper=np.tile(d.ev_pmax_mw, (steps, 1)))
    k = steps * num_units
    eye_t = sp.eye_array(steps)
    b.add_constraints(
        [(p, sp.kron(eye_t, np.ones((1, num_units)))), (dis, eye_t), (ch, -eye_t),
         (ev, -sp.kron(eye_t, np.ones((1, num_evs))))],
        lower=load, upper=load, name="balance",
    )
    b.add_constraints([(p, sp.eye_array(k)), (u, -sp.diags_array(np.tile(pmax, steps)))],
                      upper=0.0, name="pmax")
    b.add_constraints([(p, sp.eye_array(k)), (u, -sp.diags_array(0.3 * np.tile(pmax, steps)))],
                      lower=0.0, name="pmin")
    # soc[t] = soc[t-1] + dt (0.95 ch - dis / 0.95), soc[-1] = 1.0 MWh
    diff = sp.eye_array(steps) - sp.eye_array(steps, k=-1)
    rhs = np.zeros(steps)
    rhs[0] = 1.0
    b.add_constraints([(soc, diff), (ch, -0.95 * dt_h * eye_t), (dis, dt_h / 0.95 * eye_t)],
                      lower=rhs, upper=rhs, name="soc")
    b.add_constraints([(ev, sp.kron(np.ones((1, steps)) * dt_h, sp.eye_array(num_evs)))],
                      lower=d.ev_need_mwh, upper=d.ev_need_mwh, name="ev_energy")
    return p, ch, dis, soc, ev


def scheduling_96(num_units: int = 10, num_evs: int = 10, *, seed: int = 0) -> Problem:
    """A 96-step (15 min) dispatch: units (on/off + power), a battery, EV charging.

    Variables per step: ``u`` and ``p_mw`` per unit, battery charge/discharge
    power and state of charge, EV charging power per EV: with the defaults
    96 * (2 * 10 + 3 + 10) = 3,168 variables, 960 binaries. Minimum up time of
    2 steps as ``u[t] - u[t-1] <= u[t+1]`` (units off before the horizon; no
    start in the last step). :func:`scheduling_96_tight` is the same model in
    the textbook unit-commitment formulation.
    """
    d = scheduling_data(num_units, num_evs, seed=seed)
    steps = d.steps
    b = ProblemBuilder("scheduling-96")
    u = b.add_variables("u", (steps, num_units), kind="binary",
                        cost=np.tile(d.noload_eur_per_h * d.dt_h, (steps, 1)))
    _dispatch_part(b, d, u)
    # minimum up time of 2 steps: u[t] - u[t-1] <= u[t+1]
    up = (sp.kron(sp.eye_array(steps, k=0) - sp.eye_array(steps, k=-1)
                  - sp.eye_array(steps, k=1), sp.eye_array(num_units)))
    b.add_constraints([(u, up)], upper=0.0, name="min_up")
    return b.build()


def scheduling_96_tight(
    num_units: int = 10, num_evs: int = 10, *, seed: int = 0, min_up_steps: int = 2
) -> Problem:
    """:func:`scheduling_96` in the three-binary unit-commitment formulation.

    Same data (:func:`scheduling_data`), same costs, same dispatch rows; the
    commitment is modelled with on ``u[t, g]``, start-up ``v[t, g]`` and
    shut-down ``w[t, g]`` binaries:

    - logical linking ``u[t] - u[t-1] = v[t] - w[t]`` (``u[-1] = 0``: units are
      off before the horizon, as in the loose model);
    - minimum up time as Rajan and Takriti's start-up windows
      ``sum(v[t - UT + 1 .. t]) <= u[t]`` (the convex hull of the min-up
      polytope), ``UT = min_up_steps``;
    - no start in the last ``UT - 1`` steps (``v`` fixed to 0 there), the
      loose model's horizon-end rule, so that with ``min_up_steps=2`` both
      models have the same feasible ``(u, p, ...)`` and the same optimum.

    Columns: those of :func:`scheduling_96` in the same order, then ``v`` and
    ``w``: 3,168 + 2 * 960 = 5,088 variables (2,880 binaries) with the defaults.
    The model has no start-up costs and no minimum down time (none in the data).
    """
    if min_up_steps < 1:
        raise ValueError(f"min_up_steps must be >= 1, got {min_up_steps!r}")
    d = scheduling_data(num_units, num_evs, seed=seed)
    steps, ut = d.steps, int(min_up_steps)
    b = ProblemBuilder("scheduling-96-tight")
    u = b.add_variables("u", (steps, num_units), kind="binary",
                        cost=np.tile(d.noload_eur_per_h * d.dt_h, (steps, 1)))
    _dispatch_part(b, d, u)
    v_upper = np.ones((steps, num_units))
    v_upper[steps - ut + 1:] = 0.0  # no start the loose model forbids at the horizon end
    v = b.add_variables("v_start", (steps, num_units), kind="binary", upper=v_upper)
    w = b.add_variables("w_stop", (steps, num_units), kind="binary")
    eye_g = sp.eye_array(num_units)
    eye_k = sp.eye_array(steps * num_units)
    diff = sp.kron(sp.eye_array(steps) - sp.eye_array(steps, k=-1), eye_g)
    b.add_constraints([(u, diff), (v, -eye_k), (w, eye_k)], lower=0.0, upper=0.0,
                      name="logic")
    # start-up window: v[t - UT + 1] + ... + v[t] - u[t] <= 0
    window = sum(sp.eye_array(steps, k=-i) for i in range(ut))
    b.add_constraints([(v, sp.kron(window, eye_g)), (u, -eye_k)], upper=0.0, name="min_up")
    return b.build()
