"""The EV assignment task: which vehicles charge at full power in the coming slot, a
small binary quadratic problem (a QUBO) that fits a qubit budget.

Public names: :func:`build_ev_assignment`, :func:`interpret_ev_assignment`,
:func:`split_vehicles` (decomposes larger fleets).
"""

from __future__ import annotations

import numpy as np

from solvers import Problem, Result


def split_vehicles(order: np.ndarray, max_binaries: int) -> list[np.ndarray]:
    """Split vehicle indices (most urgent first) into groups of at most ``max_binaries``."""
    return [order[i : i + max_binaries] for i in range(0, len(order), max_binaries)]


def build_ev_assignment(
    p_kw: np.ndarray, weight: np.ndarray, target_kw: float, penalty_per_kw2: float
) -> Problem:
    """Which vehicles charge at full power in the coming slot: a QUBO.

    Parameters
    ----------
    p_kw : numpy.ndarray
        Power each vehicle would draw if chosen, shape (V,). [kW]
    weight : numpy.ndarray
        Value of charging each vehicle now (urgency and the dispatch plan's share),
        shape (V,), >= 0. [-]
    target_kw : float
        Power the dispatch plan gives this group of vehicles in the slot. [kW]
    penalty_per_kw2 : float
        Weight of the squared deviation from ``target_kw``. [1/kW2]

    Returns
    -------
    solvers.Problem
        Binary, unconstrained, quadratic:

        .. math:: \\min_x \\sum_v w_v (1 - x_v) + \\lambda (\\sum_v P_v x_v - P^*)^2

        (non-negative, 0 only when every weighted vehicle charges at exactly the target).
    """
    v = p_kw.size
    lam = penalty_per_kw2
    linear = -weight + lam * (p_kw**2 - 2.0 * target_kw * p_kw)
    quad = np.zeros((v, v))
    iu = np.triu_indices(v, 1)
    quad[iu] = 2.0 * lam * np.outer(p_kw, p_kw)[iu]
    constant = float(weight.sum() + lam * target_kw**2)
    return Problem(objective=linear, kinds="binary", upper=1.0, quadratic=quad,
                   constant=constant, names=[f"charge[{i}]" for i in range(v)],
                   name="ev_assignment")


def interpret_ev_assignment(result: Result) -> np.ndarray:
    """Boolean choice per vehicle of the group (all False without a solution)."""
    if result.x is None:
        n = result.problem.num_variables if result.problem is not None else 0
        return np.zeros(n, bool)
    return np.asarray(result.x) > 0.5
