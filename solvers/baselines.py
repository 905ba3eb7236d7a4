"""Classical baselines that quantum results are reported against.

- ``exact``: vectorised enumeration of every assignment of a binary problem
  (up to ``max_variables``, default 24), constraints checked exactly; proves
  optimality or infeasibility.
- ``annealing``: simulated annealing (dwave-samplers) on the QUBO.
- ``tabu``: tabu search (dwave-samplers) on the QUBO.
- ``greedy``: steepest-descent bit flips from random starts on the QUBO
  (dwave-samplers' ``SteepestDescentSolver``).
- ``random``: uniform random assignments of the QUBO binaries at ``shots``
  samples (QAOA's zero-angle state; the baseline every sampler must beat).
- ``lp-rounding``: greedy rounding of the LP relaxation by diving (HiGHS):
  fix the integer variables closest to integrality, re-solve, repeat.

The QUBO samplers (``annealing``, ``tabu``, ``greedy``, ``random``) use the same QUBO as ``qaoa`` (:func:`solvers.qubo.to_qubo`,
automatic penalty) and the same honest evaluation
(:mod:`solvers.sampling`): samples are checked against the original
constraints, infeasible ones repaired by greedy bit flips or flagged. Their
diagnostics carry the quality keys of :mod:`solvers.metrics` (ratio, best-of-shots
ratio, probabilities of an optimal and a within-1 % sample, feasible share,
TTS99, the ``random_*`` baseline at equal shots) against the caller's
``reference_objective`` or, by default, ``milp``'s optimum; seeds of any size
work (folded into the samplers' ranges, :func:`solvers.sampling.fold_seed`).

All honour a wall-clock ``time_limit`` (option or ``solve`` argument) and a
``seed``; with a seed the result is reproducible bit for bit (for ``tabu`` as
long as the time limit does not cut a read short: its reads stop after
``num_restarts``, not after a timeout).

Public names: :class:`ExactSolver`, :class:`AnnealingSolver`,
:class:`TabuSolver`, :class:`GreedySolver`, :class:`RandomSolver`, :class:`LpRoundingSolver`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from solvers.problem import Problem, ProblemError, Status, VarKind
from solvers.qubo import qubo_support, to_qubo
from solvers.registry import register
from solvers.result import Result, result_from_x
from solvers.sampling import (
    SampleSet,
    evaluate_samples,
    fold_seed,
    resolve_reference,
    result_from_samples,
)

__all__ = [
    "AnnealingSolver",
    "ExactSolver",
    "GreedySolver",
    "LpRoundingSolver",
    "RandomSolver",
    "TabuSolver",
]

logger = logging.getLogger(__name__)

#: Low bits enumerated together in one block by ``exact``.
_EXACT_BLOCK_BITS = 16

#: Reads ``greedy`` runs between two looks at its deadline.
_GREEDY_CHUNK_READS = 1024


def _elapsed(t0: float) -> float:
    return time.perf_counter() - t0


def _limit(option: float | None, argument: float | None) -> float | None:
    limit = argument if argument is not None else option
    if limit is not None and not limit > 0:
        raise ValueError(f"time_limit must be > 0 seconds, got {limit!r}")
    return limit


def _unsupported(solver: str, problem: Problem, reason: str, t0: float) -> Result:
    return Result(Status.UNSUPPORTED, solver, message=reason, wall_time_s=_elapsed(t0),
                  problem=problem)


@register("exact", description="Exhaustive enumeration of a binary problem (proves optimality)")
@dataclass(frozen=True)
class ExactSolver:
    """Vectorised enumeration of all :math:`2^n` assignments of a binary problem.

    Parameters
    ----------
    max_variables : int
        Largest number of binaries accepted; above it the result is UNSUPPORTED.
    time_limit : float or None
        Default wall-clock limit. [s]

    Notes
    -----
    Assignments are enumerated in blocks of :math:`2^{16}` (the low bits); the
    objective and every row activity of a block are one matrix product, so
    24 binaries take seconds and little memory. Ties go to the assignment
    with the smallest index (bit ``i`` of the index is variable ``i``).
    """

    name: ClassVar[str] = "exact"
    max_variables: int = 24
    time_limit: float | None = None

    def supports(self, problem: Problem) -> str | None:
        """None when the problem is binary and small enough, else the reason."""
        if not problem.is_binary:
            cont = int((problem.kinds == VarKind.CONTINUOUS).sum())
            integer = int((problem.kinds == VarKind.INTEGER).sum())
            return (f"exact enumeration needs every variable to be binary ({cont} continuous, "
                    f"{integer} integer)")
        if problem.num_variables > self.max_variables:
            return (
                f"{problem.num_variables} binaries exceed max_variables={self.max_variables} "
                f"(2^{problem.num_variables} assignments)"
            )
        return None

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Enumerate; OPTIMAL or INFEASIBLE (proven), TIME_LIMIT with the best so far."""
        t0 = time.perf_counter()
        limit = _limit(self.time_limit, time_limit)
        reason = self.supports(problem)
        if reason is not None:
            return _unsupported(self.name, problem, reason, t0)
        tables = _enumeration_tables(problem)
        best_val, best_x = math.inf, None
        timed_out = False
        blocks = 1 << tables.hi_bits
        for h in range(blocks):
            found = _best_of_block(problem, tables, h)
            if found is not None and found[0] < best_val:
                best_val, best_x = found
            if limit is not None and _elapsed(t0) > limit and h + 1 < blocks:
                timed_out = True
                break
        diag: dict[str, Any] = {
            "enumerated": int((h + 1) << tables.lo_bits),
            "assignments": 1 << problem.num_variables,
        }
        if best_x is None:
            status = Status.TIME_LIMIT if timed_out else Status.INFEASIBLE
            diag["infeasible_proven"] = not timed_out
            return Result(status, self.name, wall_time_s=_elapsed(t0), diagnostics=diag,
                          message="no assignment satisfies the constraints" if not timed_out
                          else f"time limit of {limit} s reached before a feasible assignment",
                          problem=problem)
        return result_from_x(problem, self.name, best_x,
                             status=Status.TIME_LIMIT if timed_out else Status.OPTIMAL,
                             wall_time_s=_elapsed(t0), diagnostics=diag,
                             message=f"time limit of {limit} s reached" if timed_out else "")


@dataclass(frozen=True)
class _EnumerationTables:
    """What every block of the exact enumeration shares: the ``2^lo_bits`` low-bit
    assignments ``zl`` with their objective part ``base`` and row activities ``act_l``,
    the objective ``c``/``q`` in minimisation form, the low/high cross term and the
    constraint matrix ``a`` (dense)."""

    lo_bits: int
    hi_bits: int
    zl: np.ndarray
    c: np.ndarray
    q: np.ndarray
    base: np.ndarray
    cross: np.ndarray
    a: np.ndarray
    act_l: np.ndarray | None
    fixed_lb: np.ndarray


def _enumeration_tables(problem: Problem) -> _EnumerationTables:
    """The block-independent tables of :class:`ExactSolver`'s enumeration."""
    n = problem.num_variables
    sign = problem.sense.sign
    lo_bits = min(n, _EXACT_BLOCK_BITS)
    idx = np.arange(1 << lo_bits, dtype=np.int64)
    zl = ((idx[:, None] >> np.arange(lo_bits)) & 1).astype(np.float64)
    c = sign * problem.objective
    q = sign * problem.quadratic_dense()
    lo, hi = slice(0, lo_bits), slice(lo_bits, n)
    base = sign * problem.constant + zl @ c[lo] + np.einsum("si,ij,sj->s", zl, q[lo, lo], zl)
    cross = q[lo, hi] + q[hi, lo].T  # (lo_bits, hi_bits)
    a = problem.constraints.toarray()
    act_l = zl @ a[:, lo].T if problem.num_constraints else None
    return _EnumerationTables(lo_bits, n - lo_bits, zl, c, q, base, cross, a, act_l,
                              problem.lower == problem.upper)


def _best_of_block(problem: Problem, tables: _EnumerationTables, h: int
                   ) -> tuple[float, np.ndarray] | None:
    """The best feasible assignment (minimisation-form value, x) among those whose high
    bits are ``h``, or None; ties go to the smallest low-bit index."""
    t = tables
    lo_bits, zl = t.lo_bits, t.zl
    hi = slice(lo_bits, lo_bits + t.hi_bits)
    tol = 1e-9
    zh = ((h >> np.arange(t.hi_bits)) & 1).astype(np.float64)
    vals = t.base + (t.c[hi] @ zh + zh @ t.q[hi, hi] @ zh) + zl @ (t.cross @ zh)
    ok = np.ones(vals.size, dtype=bool)
    if t.act_l is not None:
        act = t.act_l + t.a[:, hi] @ zh
        ok &= ((act >= problem.row_lower - tol) & (act <= problem.row_upper + tol)).all(1)
    if t.fixed_lb.any():
        full_ok = np.ones(vals.size, dtype=bool)
        for i in np.flatnonzero(t.fixed_lb):
            col = zl[:, i] if i < lo_bits else np.full(vals.size, zh[i - lo_bits])
            full_ok &= col == problem.lower[i]
        ok &= full_ok
    if not ok.any():
        return None
    masked = np.where(ok, vals, math.inf)
    k = int(np.argmin(masked))
    return float(masked[k]), np.concatenate([zl[k], zh])


def _bqm(qubo: Any) -> Any:
    import dimod

    return dimod.BinaryQuadraticModel(qubo.linear, qubo.quadratic, qubo.constant, "BINARY")


def _records(sampleset: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct samples (columns in variable order 0..k-1) and their counts."""
    order = np.argsort(np.asarray(list(sampleset.variables), dtype=np.int64))
    raw = np.asarray(sampleset.record.sample)[:, order].astype(np.float64)
    occ = np.asarray(sampleset.record.num_occurrences, dtype=np.int64)
    uniq, inverse = _unique_rows(raw)
    counts = np.zeros(uniq.shape[0], dtype=np.int64)
    np.add.at(counts, inverse.reshape(-1), occ)
    return uniq.reshape(-1, k), counts


def _unique_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(bits, axis=0, return_inverse=True)`` of 0/1 rows, through one integer
    key per row (column 0 most significant, so the keys sort as the rows do) when the
    rows fit 63 bits: a 1-D sort instead of a lexicographic one over the columns."""
    n = bits.shape[1]
    if not 0 < n <= 63 or not np.isin(bits, (0.0, 1.0)).all():
        return np.unique(bits, axis=0, return_inverse=True)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    keys = (bits.astype(np.int64) << shifts).sum(axis=1)
    uniq_keys, inverse = np.unique(keys, return_inverse=True)
    return ((uniq_keys[:, None] >> shifts) & 1).astype(np.float64), inverse


@dataclass(frozen=True, kw_only=True)
class _QuboSamplerBase:
    """Shared flow and options of the QUBO samplers (QUBO, sample, evaluate).

    Parameters
    ----------
    penalty : float or None
        QUBO penalty (None: qiskit-optimization's automatic rule, see
        :mod:`solvers.qubo`).
    repair : bool
        Repair infeasible samples by greedy bit flips when none is feasible.
    max_variables : int
        Largest QUBO accepted. [binaries]
    time_limit : float or None
        Default wall-clock limit. [s]
    reference_solver : str or None
        Solver computing the reference optimum for the quality diagnostics when
        ``solve`` is not given ``reference_objective`` (None: no quality keys).
    """

    name: ClassVar[str]
    penalty: float | None = None
    repair: bool = True
    max_variables: int = 5000
    time_limit: float | None = None
    reference_solver: str | None = "milp"

    def supports(self, problem: Problem) -> str | None:
        """None when the problem converts to a small enough QUBO, else the reason."""
        reason = qubo_support(problem)
        if reason is not None:
            return reason
        return None

    def _sample(self, bqm: Any, seed: int | None, deadline: float | None) -> tuple[Any, bool]:
        raise NotImplementedError

    def sample(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> tuple[SampleSet | None, dict[str, Any], str | None, bool]:
        """Samples of ``problem`` (None with a reason when unsupported).

        ``diag["expected_objective"]`` is the mean penalised QUBO objective of the
        reads in the problem's sense (the sampler's "final state").
        """
        t0 = time.perf_counter()
        limit = _limit(self.time_limit, time_limit)
        reason = self.supports(problem)
        if reason is not None:
            return None, {}, reason, False
        try:
            qubo = to_qubo(problem, self.penalty)
        except ProblemError as exc:
            return None, {}, str(exc), False
        if qubo.num_variables > self.max_variables:
            return None, {}, (
                f"the QUBO has {qubo.num_variables} binaries, more than "
                f"max_variables={self.max_variables}"
            ), False
        deadline = None if limit is None else t0 + limit
        sampleset, timed_out = self._sample(_bqm(qubo), seed, deadline)
        z, counts = _records(sampleset, qubo.num_variables)
        samples = evaluate_samples(problem, z, counts, qubo=qubo, repair=self.repair)
        expected = float(qubo.sign * (qubo.evaluate(z) @ counts) / max(1, int(counts.sum())))
        diag = {"qubo_variables": qubo.num_variables, "penalty": qubo.penalty,
                "inequality_penalty": qubo.inequality_penalty,
                "reads": int(counts.sum()), "shots": int(counts.sum()), "seed": seed,
                "expected_objective": expected}
        return samples, diag, None, timed_out

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None,
        reference_objective: float | None = None,
    ) -> Result:
        """Best feasible sample (FEASIBLE), or INFEASIBLE (unproven) / UNSUPPORTED.

        ``reference_objective`` (else ``reference_solver``'s optimum) gives the
        quality keys of :mod:`solvers.metrics`; the reference's own time is
        ``diagnostics["reference_wall_s"]``, not part of ``wall_time_s``.
        """
        t0 = time.perf_counter()
        samples, diag, reason, timed_out = self.sample(problem, time_limit=time_limit, seed=seed)
        if samples is None:
            return _unsupported(self.name, problem, reason or "unsupported", t0)
        wall = _elapsed(t0)
        limit = _limit(self.time_limit, time_limit)
        ref, ref_info = resolve_reference(problem, reference_objective, self.reference_solver,
                                          None if limit is None else t0 + limit)
        diag.update(ref_info)
        return result_from_samples(problem, self.name, samples, wall_time_s=wall,
                                   diagnostics=diag, timed_out=timed_out,
                                   reference_objective=ref,
                                   expected_objective=diag.get("expected_objective"),
                                   seed=seed)


@register("annealing", requires=("dwave.samplers", "dimod"),
          install_hint="pip install 'gridtwin[quantum]'",
          description="Simulated annealing on the QUBO (dwave-samplers)")
@dataclass(frozen=True)
class AnnealingSolver(_QuboSamplerBase):
    """Simulated annealing on the problem's QUBO (``dwave.samplers``).

    Parameters
    ----------
    num_reads : int
        Independent annealing runs.
    num_sweeps : int
        Sweeps per run.
    penalty, repair, max_variables, time_limit, reference_solver
        The options every QUBO sampler shares (``_QuboSamplerBase``); reads stop
        between runs when the time limit is reached.
    """

    name: ClassVar[str] = "annealing"
    num_reads: int = 100
    num_sweeps: int = 1000

    def __post_init__(self) -> None:
        if self.num_reads < 1 or self.num_sweeps < 1:
            raise ValueError("num_reads and num_sweeps must be >= 1")

    def _sample(self, bqm: Any, seed: int | None, deadline: float | None) -> tuple[Any, bool]:
        from dwave.samplers import SimulatedAnnealingSampler

        hit = [False]

        def interrupt() -> bool:
            if deadline is not None and time.perf_counter() > deadline:
                hit[0] = True
                return True
            return False

        ss = SimulatedAnnealingSampler().sample(
            bqm, num_reads=self.num_reads, num_sweeps=self.num_sweeps,
            # SimulatedAnnealingSampler refuses seeds >= 2**31 (its message says 2**32)
            seed=fold_seed(seed, 31), interrupt_function=interrupt,
        )
        return ss, hit[0]


@register("tabu", requires=("dwave.samplers", "dimod"),
          install_hint="pip install 'gridtwin[quantum]'",
          description="Tabu search on the QUBO (dwave-samplers)")
@dataclass(frozen=True)
class TabuSolver(_QuboSamplerBase):
    """Multistart tabu search on the problem's QUBO (``dwave.samplers``).

    Parameters
    ----------
    num_reads : int
        Independent tabu searches.
    num_restarts : int
        Restarts per read (bounds the work, so results are reproducible).
    timeout_ms : int
        Safety cap per read; the time limit is also spread over the reads. [ms]
    penalty, repair, max_variables, time_limit, reference_solver
        The options every QUBO sampler shares (``_QuboSamplerBase``).
    """

    name: ClassVar[str] = "tabu"
    num_reads: int = 10
    num_restarts: int = 10
    timeout_ms: int = 2000

    def __post_init__(self) -> None:
        if self.num_reads < 1 or self.num_restarts < 0 or self.timeout_ms < 1:
            raise ValueError("num_reads >= 1, num_restarts >= 0 and timeout_ms >= 1 needed")

    def _sample(self, bqm: Any, seed: int | None, deadline: float | None) -> tuple[Any, bool]:
        from dwave.samplers import TabuSampler

        timeout = self.timeout_ms
        if deadline is not None:
            left_ms = max(1, int((deadline - time.perf_counter()) * 1000 / self.num_reads))
            timeout = min(timeout, left_ms)
        t_start = time.perf_counter()
        ss = TabuSampler().sample(
            bqm, num_reads=self.num_reads, num_restarts=self.num_restarts, timeout=timeout,
            # TabuSampler takes 0 .. 2**32 - 1; the modulo is the long-standing fold
            # (kept so that results for every seed stay as they were)
            seed=None if seed is None else int(seed) % (2**32),
        )
        cut = (time.perf_counter() - t_start) * 1000 >= 0.95 * timeout * self.num_reads
        return ss, bool(deadline is not None and cut and timeout < self.timeout_ms)


@register("greedy", requires=("dwave.samplers", "dimod"),
          install_hint="pip install 'gridtwin[quantum]'",
          description="Steepest-descent bit flips from random starts on the QUBO (dwave-samplers)")
@dataclass(frozen=True)
class GreedySolver(_QuboSamplerBase):
    """Greedy descent on the problem's QUBO: ``num_reads`` random starts, steepest flips.

    Each read starts from a uniformly random assignment of the QUBO binaries and
    flips the single bit that lowers the QUBO objective most until no flip does
    (``dwave.samplers.SteepestDescentSolver``): the classical local-search floor.

    Parameters
    ----------
    num_reads : int
        Random starts (= shots).
    penalty, repair, max_variables, time_limit, reference_solver
        The options every QUBO sampler shares (``_QuboSamplerBase``).
    """

    name: ClassVar[str] = "greedy"
    num_reads: int = 100

    def __post_init__(self) -> None:
        if self.num_reads < 1:
            raise ValueError("num_reads must be >= 1")

    def _sample(self, bqm: Any, seed: int | None, deadline: float | None) -> tuple[Any, bool]:
        from dwave.samplers import SteepestDescentSolver

        solver = SteepestDescentSolver()
        if deadline is None:
            return solver.sample(bqm, num_reads=self.num_reads, seed=fold_seed(seed, 32)), False
        return self._descend_until(solver, bqm, fold_seed(seed, 32), deadline)

    def _descend_until(self, solver: Any, bqm: Any, seed: int, deadline: float
                       ) -> tuple[Any, bool]:
        """The same reads as one ``sample`` call (the solver's own random starts for
        ``seed``, each descent deterministic), run in chunks and stopped between chunks
        at ``deadline``; True when reads were left out."""
        import dimod

        starts = solver.parse_initial_states(bqm, num_reads=self.num_reads,
                                             seed=seed).initial_states
        states, labels = starts.record.sample, list(starts.variables)
        parts = []
        for first in range(0, len(states), _GREEDY_CHUNK_READS):
            parts.append(solver.sample(
                bqm, initial_states=(states[first : first + _GREEDY_CHUNK_READS], labels),
                initial_states_generator="none"))
            if time.perf_counter() > deadline and first + _GREEDY_CHUNK_READS < len(states):
                return dimod.concatenate(parts), True
        return dimod.concatenate(parts), False


@register("random", requires=("dimod",), install_hint="pip install 'gridtwin[quantum]'",
          description="Uniform random sampling of the QUBO binaries (the baseline at equal shots)")
@dataclass(frozen=True)
class RandomSolver(_QuboSamplerBase):
    """Uniform random assignments of the QUBO binaries, evaluated like every sampler.

    The measurement distribution of QAOA at zero angles (the uniform
    superposition): what a quantum sampler has to beat at equal ``shots``.

    Parameters
    ----------
    shots : int
        Samples drawn.
    penalty, repair, max_variables, time_limit, reference_solver
        The options every QUBO sampler shares (``_QuboSamplerBase``).
    """

    name: ClassVar[str] = "random"
    shots: int = 1024

    def __post_init__(self) -> None:
        if self.shots < 1:
            raise ValueError("shots must be >= 1")

    def _sample(self, bqm: Any, seed: int | None, deadline: float | None) -> tuple[Any, bool]:
        import dimod

        rng = np.random.default_rng(fold_seed(seed, 63))
        variables = sorted(bqm.variables)
        bits = rng.integers(0, 2, size=(int(self.shots), len(variables)), dtype=np.int8)
        return dimod.SampleSet.from_samples_bqm((bits, variables), bqm), False


@register("lp-rounding", requires=("highspy",), install_hint="pip install highspy",
          description="Greedy rounding of the LP relaxation by diving (HiGHS)")
@dataclass(frozen=True)
class LpRoundingSolver:
    """Greedy rounding of the LP relaxation (diving heuristic on HiGHS).

    Parameters
    ----------
    fix_fraction : float
        Share of the still-free integer variables fixed per dive step (the
        ones closest to an integer first; at least one). [-]
    max_backtracks : int
        Times a rounding that made the LP infeasible is flipped to the
        other side before giving up.
    time_limit : float or None
        Default wall-clock limit. [s]

    Notes
    -----
    Each step solves the LP relaxation with the fixed variables' bounds
    collapsed, rounds the integer variables whose values are integral within
    1e-6 and fixes them, then rounds and fixes the ``fix_fraction`` least
    fractional others. A problem whose relaxation is infeasible is reported
    INFEASIBLE (proven); a dive that ends infeasible is INFEASIBLE, unproven.
    """

    name: ClassVar[str] = "lp-rounding"
    fix_fraction: float = 0.2
    max_backtracks: int = 20
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fix_fraction <= 1:
            raise ValueError(f"fix_fraction must be in (0, 1], got {self.fix_fraction!r}")

    def supports(self, problem: Problem) -> str | None:
        """None when HiGHS can solve the relaxation, else the reason."""
        from solvers.milp import MilpSolver

        return MilpSolver(relax=True).supports(problem)

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Dive from the LP relaxation to an integral assignment."""
        from solvers.milp import MilpSolver

        t0 = time.perf_counter()
        limit = _limit(self.time_limit, time_limit)
        reason = self.supports(problem)
        if reason is not None:
            return _unsupported(self.name, problem, reason, t0)
        lp = MilpSolver(relax=True)
        integral = problem.kinds != VarKind.CONTINUOUS
        lower, upper = problem.lower.copy(), problem.upper.copy()
        steps = backtracks = 0
        diag: dict[str, Any] = {}
        last_fixed: tuple[int, float] | None = None
        res_x_prev = np.zeros(problem.num_variables)

        def left() -> float | None:
            return None if limit is None else limit - _elapsed(t0)

        while True:
            remaining = left()
            if remaining is not None and remaining <= 0:
                return Result(Status.TIME_LIMIT, self.name, wall_time_s=_elapsed(t0),
                              diagnostics={**diag, "dive_steps": steps},
                              message=f"time limit of {limit} s reached while diving",
                              problem=problem)
            sub = problem.replace(lower=lower, upper=upper)
            res = lp.solve(sub, time_limit=remaining, seed=seed)
            steps += 1
            if steps == 1:
                diag["relaxation_objective"] = res.objective
            if res.status is Status.TIME_LIMIT:
                continue
            if res.status is not Status.OPTIMAL or res.x is None:
                if steps == 1:
                    return Result(res.status, self.name, wall_time_s=_elapsed(t0),
                                  diagnostics={**diag, "dive_steps": steps,
                                               "infeasible_proven": True},
                                  message=f"LP relaxation: {res.message or res.status.value}",
                                  problem=problem)
                if backtracks < self.max_backtracks and last_fixed is not None:
                    backtracks += 1
                    i, other = _other_side(last_fixed, res_x_prev)
                    if problem.lower[i] <= other <= problem.upper[i]:
                        lower[i] = upper[i] = other
                        last_fixed = None
                        continue
                return Result(Status.INFEASIBLE, self.name, wall_time_s=_elapsed(t0),
                              diagnostics={**diag, "dive_steps": steps,
                                           "backtracks": backtracks,
                                           "infeasible_proven": False},
                              message="the dive ended in an infeasible LP; "
                                      "infeasibility is not proven", problem=problem)
            x = np.asarray(res.x)
            last_fixed = self._fix_step(problem, x, integral, lower, upper)
            if last_fixed is None:
                diag.update({"dive_steps": steps, "backtracks": backtracks})
                return result_from_x(problem, self.name, x, status=Status.FEASIBLE,
                                     wall_time_s=_elapsed(t0), diagnostics=diag)
            res_x_prev = x

    def _fix_step(self, problem: Problem, x: np.ndarray, integral: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray) -> tuple[int, float] | None:
        """One dive step on the bounds (in place): fix every free integer variable the LP
        already has integral, then the ``fix_fraction`` closest to integrality. Returns
        the most fractional pick (for one backtrack), or None when none was left free."""
        frac = np.abs(x - np.round(x))
        free = integral & (lower < upper)
        done = free & (frac <= 1e-6)
        lower[done] = upper[done] = np.round(x[done])
        free &= ~done
        if not free.any():
            return None
        cand = np.flatnonzero(free)
        k = max(1, int(self.fix_fraction * cand.size))
        pick = cand[np.argsort(frac[cand], kind="stable")[:k]]
        vals = np.clip(np.round(x[pick]), problem.lower[pick], problem.upper[pick])
        lower[pick] = upper[pick] = vals
        return int(pick[-1]), float(vals[-1])


def _other_side(last_fixed: tuple[int, float], x_before: np.ndarray) -> tuple[int, float]:
    """The backtrack of a dive: the variable fixed last and the integer on the other side
    of the LP value it was rounded from."""
    i, v = last_fixed
    return i, (v + 1.0 if x_before[i] > v else v - 1.0)
