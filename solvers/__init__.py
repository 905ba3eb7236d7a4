"""Interchangeable optimisation back ends for GridTwin, independent of ``twin``.

One solver-neutral :class:`Problem` goes to any registered solver:

- ``milp``: HiGHS MILP/LP/QP (:mod:`solvers.milp`);
- ``qaoa``: QAOA from qiskit-optimization on qiskit-aer, ideal or with a device
  noise model (:mod:`solvers.qaoa`);
- ``hybrid``: a QUBO sampler proposes the binaries, HiGHS solves the rest
  (:mod:`solvers.hybrid`);
- ``exact``, ``lp-rounding``: classical baselines (:mod:`solvers.baselines`);
- ``annealing``, ``tabu``, ``greedy``, ``random``: the QUBO samplers
  (:mod:`solvers.qubo_samplers`).

Sampling solvers report the same quality figures (:mod:`solvers.metrics`: one
approximation ratio convention, best-of-shots ratio, probabilities of an optimal
and a within-1 % sample, feasible share, TTS99 and a uniform random baseline at
equal shots) against a reference optimum; :mod:`solvers.qpu` models the QPU time
and cost of the whole variational loop.

Converters are free functions (qiskit-optimization's translators style), not
methods on :class:`Problem`: :func:`read_lp` / :func:`write_lp` (CPLEX-LP through
HiGHS, :mod:`solvers.lpfile`), :func:`problem_to_quadratic_program` /
:func:`problem_from_quadratic_program` and ``solvers.qubo.to_qubo`` (:mod:`solvers.qubo`).
Problems also come from CPLEX-LP files (:func:`read_lp`, HiGHS's parser);
``python -m solvers FILE.lp --solver NAME [--option k=v] [--json]`` solves one
(:mod:`solvers.cli`, whose ``register(app)`` gives ``twin solve``). Third-party
solvers join through the entry-point group ``gridtwin.solvers``.

Importing :mod:`solvers` is light: qiskit, qiskit-aer and dwave-samplers are
imported inside the backends when they first solve.

Public names: :class:`Problem`, :class:`ProblemBuilder`, :class:`VarBlock`, :class:`SparseTerm`,
:class:`Result`, :class:`Status`, :class:`Sense`, :class:`VarKind`,
:class:`ProblemError`, :class:`Solver`, :func:`register`, :func:`get_solver`,
:func:`available_solvers`, :func:`registered_solvers`,
:func:`approximation_ratio`, :func:`compare`, :func:`read_lp`, :func:`write_lp`,
:func:`problem_to_quadratic_program`, :func:`problem_from_quadratic_program`, and the
registry errors.

Examples
--------
>>> import numpy as np
>>> from solvers import Problem, get_solver
>>> problem = Problem(objective=[-1.0, -2.0], kinds="binary", upper=1.0,
...                   constraints=[[1.0, 1.0]], row_upper=[1.0])
>>> result = get_solver("milp").solve(problem)
>>> result.status.value, result.objective, result.values["x1"]
('optimal', -2.0, 1.0)
"""

from __future__ import annotations

from solvers.builder import ProblemBuilder, SparseTerm, VarBlock
from solvers.compare import approximation_ratio, compare
from solvers.lpfile import read_lp, write_lp
from solvers.problem import Problem, ProblemError, Sense, Status, VarKind
from solvers.qubo import problem_from_quadratic_program, problem_to_quadratic_program
from solvers.registry import (
    Solver,
    SolverInfo,
    SolverOptionError,
    SolverUnavailableError,
    UnknownSolverError,
    available_solvers,
    get_solver,
    register,
    registered_solvers,
)
from solvers.result import Result

__all__ = [
    "Problem",
    "ProblemBuilder",
    "ProblemError",
    "Result",
    "Sense",
    "Solver",
    "SolverInfo",
    "SolverOptionError",
    "SolverUnavailableError",
    "SparseTerm",
    "Status",
    "UnknownSolverError",
    "VarBlock",
    "VarKind",
    "approximation_ratio",
    "available_solvers",
    "compare",
    "get_solver",
    "problem_from_quadratic_program",
    "problem_to_quadratic_program",
    "read_lp",
    "register",
    "registered_solvers",
    "write_lp",
]

# Built-in backends register themselves on import (their heavy dependencies are
# imported lazily, on first solve).
from solvers import baselines, hybrid, milp, qaoa, qubo_samplers  # noqa: F401  isort: skip
