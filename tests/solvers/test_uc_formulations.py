"""``scheduling_96_tight`` is ``scheduling_96`` in the three-binary UC formulation.

Equal optima are shown without solving either MIP to optimality: every feasible
point of the loose model lifts (``v = max(du, 0)``, ``w = max(-du, 0)``) to a
feasible point of the tight one with the same objective, and the loose columns of
every feasible tight point are feasible for the loose model with the same objective.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from solvers import Status, get_solver

_spec = importlib.util.spec_from_file_location(
    "field_instances", Path(__file__).with_name("field_instances.py"))
fi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fi)  # type: ignore[union-attr]

UNITS, EVS, STEPS = 4, 3, 96


def _lift(loose_x: np.ndarray) -> np.ndarray:
    """A loose point with start-up and shut-down columns appended."""
    u = loose_x[: STEPS * UNITS].reshape(STEPS, UNITS)
    du = np.diff(u, axis=0, prepend=0.0)  # units are off before the horizon
    return np.concatenate([loose_x, np.maximum(du, 0).ravel(), np.maximum(-du, 0).ravel()])


def test_same_data_and_loose_columns_are_a_prefix() -> None:
    loose = fi.scheduling_96(UNITS, EVS, seed=1)
    tight = fi.scheduling_96_tight(UNITS, EVS, seed=1)
    n = loose.num_variables
    assert tight.names[:n] == loose.names
    assert np.array_equal(tight.kinds[:n], loose.kinds)
    assert np.array_equal(tight.objective[:n], loose.objective)
    assert not tight.objective[n:].any()
    assert tight.num_variables == n + 2 * STEPS * UNITS
    assert (tight.kinds[n:] == 2).all()


def test_loose_solution_lifts_to_a_tight_one_with_the_same_objective() -> None:
    loose = fi.scheduling_96(UNITS, EVS, seed=1)
    tight = fi.scheduling_96_tight(UNITS, EVS, seed=1)
    res = get_solver("milp", mip_rel_gap=0.05).solve(loose, time_limit=30.0, seed=0)
    assert res.x is not None
    lifted = _lift(res.x)
    assert tight.violation(lifted) <= 1e-6
    assert tight.evaluate(lifted) == pytest.approx(loose.evaluate(res.x), rel=1e-12)


def test_tight_solution_projects_to_a_loose_one_with_the_same_objective() -> None:
    loose = fi.scheduling_96(UNITS, EVS, seed=1)
    tight = fi.scheduling_96_tight(UNITS, EVS, seed=1)
    res = get_solver("milp", mip_rel_gap=0.05).solve(tight, time_limit=30.0, seed=0)
    assert res.x is not None
    head = res.x[: loose.num_variables]
    assert loose.violation(head) <= 1e-5
    assert loose.evaluate(head) == pytest.approx(tight.evaluate(res.x), rel=1e-12)


def test_start_in_the_last_step_is_forbidden_in_both() -> None:
    # the loose rule u[T-1] - u[T-2] <= 0 is v[T-1] = 0 in the tight model
    tight = fi.scheduling_96_tight(UNITS, EVS, seed=1)
    v_last = [tight.index(f"v_start[{STEPS - 1},{g}]") for g in range(UNITS)]
    assert (tight.upper[v_last] == 0).all()


def test_tight_relaxation_is_at_least_the_loose_one() -> None:
    loose = fi.scheduling_96(UNITS, EVS, seed=1)
    tight = fi.scheduling_96_tight(UNITS, EVS, seed=1)
    lp = get_solver("milp", relax=True)
    a, b = lp.solve(loose), lp.solve(tight)
    assert a.status is b.status is Status.OPTIMAL
    assert b.objective >= a.objective - 1e-6


def test_min_up_steps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_up_steps"):
        fi.scheduling_96_tight(2, 1, min_up_steps=0)
