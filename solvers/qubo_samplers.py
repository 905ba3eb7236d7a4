"""The QUBO samplers: classical baselines that sample the same QUBO as ``qaoa``.

- ``annealing``: simulated annealing (dwave-samplers) on the QUBO.
- ``tabu``: tabu search (dwave-samplers) on the QUBO.
- ``greedy``: steepest-descent bit flips from random starts on the QUBO
  (dwave-samplers' ``SteepestDescentSolver``).
- ``random``: uniform random assignments of the QUBO binaries at ``shots``
  samples (QAOA's zero-angle state; the baseline every sampler must beat).

They use the same QUBO as ``qaoa`` (:func:`solvers.qubo.to_qubo`, automatic penalty)
and the same honest evaluation (:mod:`solvers.sampling`): samples are checked against
the original constraints, infeasible ones repaired by greedy bit flips or flagged. Their
diagnostics carry the quality keys of :mod:`solvers.metrics` (ratio, best-of-shots
ratio, probabilities of an optimal and a within-1 % sample, feasible share, TTS99, the
``random_*`` baseline at equal shots) against the caller's ``reference_objective`` or,
by default, ``milp``'s optimum; seeds of any size work (folded into the samplers'
ranges, :func:`solvers.sampling.fold_seed`). Their shared options (``penalty``,
``repair``, ``max_variables``, ``time_limit``, ``reference_solver``) are fields of their
base, once. The time limit stops the reads (annealing between runs, tabu by its
per-read timeout, greedy between chunks of reads); evaluating the distinct samples
afterwards is not bounded by it.

Public names: :class:`AnnealingSolver`, :class:`TabuSolver`, :class:`GreedySolver`,
:class:`RandomSolver`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from solvers.baselines import elapsed_s, time_limit_s, unsupported_result
from solvers.problem import Problem, ProblemError
from solvers.qubo import qubo_support, to_qubo
from solvers.registry import register
from solvers.result import Result
from solvers.sampling import (
    SampleSet,
    evaluate_samples,
    fold_seed,
    resolve_reference,
    result_from_samples,
)

__all__ = ["AnnealingSolver", "GreedySolver", "RandomSolver", "TabuSolver"]

#: Reads ``greedy`` runs between two looks at its deadline.
_GREEDY_CHUNK_READS = 1024


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
        limit = time_limit_s(self.time_limit, time_limit)
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
            return unsupported_result(self.name, problem, reason or "unsupported", t0)
        wall = elapsed_s(t0)
        limit = time_limit_s(self.time_limit, time_limit)
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
