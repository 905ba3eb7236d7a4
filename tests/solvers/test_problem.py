"""Problem / Result: construction from arrays, validation, conversions, LP files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from solvers import (
    Problem,
    ProblemBuilder,
    ProblemError,
    Sense,
    Status,
    VarKind,
    get_solver,
    problem_from_quadratic_program,
    problem_to_quadratic_program,
    read_lp,
    write_lp,
)


def _toy() -> Problem:
    b = ProblemBuilder("toy", sense="max")
    p = b.add_variables("p_mw", 3, lower=-1.0, upper=2.0, cost=[1.0, 2.0, 3.0])
    u = b.add_variables("u", 3, kind="binary", cost=0.5)
    k = b.add_variables("k", 2, kind="integer", lower=-3, upper=7, cost=-1)
    f = b.add_variables("free", 1, lower=-math.inf, upper=math.inf, cost=0.0)
    b.add_constraints([(p, np.ones((1, 3)))], lower=2.5, upper=4, name="demand")
    b.add_constraints([(p, np.eye(3)), (u, -2.0 * np.eye(3))], upper=0.0, name="on")
    b.add_constraints([(k, np.ones((1, 2)))], lower=3, upper=3, name="eq")
    b.add_constraints([(f, np.ones((1, 1))), (k, np.ones((1, 2)))], lower=-5, name="lo")
    b.add_quadratic(u, u, -np.triu(np.ones((3, 3))))
    b.constant = 4.5
    return b.build()


def test_builder_names_shapes_and_values() -> None:
    prob = _toy()
    assert prob.num_variables == 9
    assert prob.num_constraints == 6
    assert prob.names[0] == "p_mw[0]"
    assert prob.names[-1] == "free[0]"
    assert prob.row_names[:2] == ("demand[0]", "on[0]")
    assert prob.kinds[3] == VarKind.BINARY
    assert prob.kinds[6] == VarKind.INTEGER
    assert prob.sense is Sense.MAXIMIZE
    x = np.array([1.5, 0, 1.5, 1, 0, 1, 1, 2, 0.0])
    # 1.5 + 4.5 + 0.5*2 - (1 + 2) + 4.5 - (u0^2 + u2^2 + u0*u2) = 8.5 - 3
    assert prob.evaluate(x) == pytest.approx(5.5)
    assert prob.is_feasible(x)
    x[1] = 1.0  # p_mw[1] > 0 while u[1] = 0 violates "on[1]" by 1
    assert prob.violation(x) == pytest.approx(1.0)


def test_large_problem_builds_from_arrays() -> None:
    """A 10,000-variable schedule builds without per-element Python work."""
    b = ProblemBuilder("big")
    p = b.add_variables("p_mw", (1000, 10), upper=1.0, cost=np.linspace(1, 2, 10000).reshape(1000, 10))
    u = b.add_variables("u", (1000, 10), kind="binary")
    b.add_constraints([(p, sp.kron(sp.eye_array(1000), np.ones((1, 10))))], lower=3.0,
                      name="demand")
    b.add_constraints([(p, sp.eye_array(10000)), (u, -sp.eye_array(10000))], upper=0.0,
                      name="on")
    prob = b.build()
    assert prob.num_variables == 20000
    assert prob.num_constraints == 11000
    assert prob.constraints.nnz == 30000


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"objective": [1.0, math.nan]}, "objective: NaN"),
        ({"objective": [1.0, math.inf]}, "objective: NaN or infinite"),
        ({"objective": [1.0, 2.0], "lower": [0.0, 3.0], "upper": [1.0, 2.0]},
         "lower 3.0 is above upper 2.0"),
        ({"objective": [1.0, 2.0], "lower": [0.0, 0.0, 0.0]}, "lower: expected 2 values"),
        ({"objective": [1.0, 2.0], "constraints": [[1.0, 2.0, 3.0]]}, "expected a matrix with 2"),
        ({"objective": [1.0, 2.0], "constraints": [[1.0, math.nan]], "row_upper": 1.0},
         "constraints: NaN"),
        ({"objective": [1.0, 2.0], "constraints": [[1.0, 1.0]], "row_lower": [2.0],
          "row_upper": [1.0]}, "row_lower 2.0 is above row_upper 1.0"),
        ({"objective": [1.0, 2.0], "quadratic": [[1.0, math.inf], [0, 0]]}, "quadratic"),
        ({"objective": [1.0, 2.0], "quadratic": np.ones((3, 3))}, "expected shape (2, 2)"),
        ({"objective": [1.0, 2.0], "names": ["a", "a"]}, "duplicate name 'a'"),
        ({"objective": [1.0], "kinds": "binary", "upper": 2.0}, "within [0, 1]"),
        ({"objective": [1.0], "kinds": "boolean"}, "unknown variable kind"),
        ({"objective": [1.0], "sense": "up"}, "unknown sense"),
    ],
)
def test_bad_input_is_refused_with_the_cause(kwargs: dict, needle: str) -> None:
    with pytest.raises(ProblemError) as info:
        Problem(**kwargs)
    assert needle in str(info.value)


def _trusted_args(seed: int) -> dict:
    """Arrays as a builder makes them: a COO-built CSR with duplicates, unsorted."""
    rng = np.random.default_rng(seed)
    n, m = 40, 25
    kinds = rng.integers(0, 3, n).astype(np.int8)
    lower = np.where(kinds == 2, 0.0, rng.uniform(-5, 0, n))
    upper = np.where(kinds == 2, 1.0, rng.uniform(0, 5, n))
    upper[(kinds != 2) & (rng.random(n) < 0.2)] = math.inf
    lower[(kinds == 0) & (rng.random(n) < 0.2)] = -math.inf
    rows = rng.integers(0, m, 200)
    cols = rng.integers(0, n, 200)
    a = sp.csr_array((rng.normal(size=200), (rows, cols)), shape=(m, n))
    row_lower = rng.uniform(-10, 0, m)
    row_upper = row_lower + rng.uniform(0, 3, m)
    row_lower[::4] = -math.inf
    row_upper[1::5] = math.inf
    return {
        "objective": rng.normal(size=n), "lower": lower, "upper": upper, "kinds": kinds,
        "names": tuple(f"x[{i}]" for i in range(n)), "constraints": a,
        "row_lower": row_lower, "row_upper": row_upper,
        "row_names": tuple(f"r[{i}]" for i in range(m)), "name": "t", "constant": 1.5,
        "sense": "max",
    }


def _copy_args(args: dict) -> dict:
    return {k: v.copy() if hasattr(v, "copy") and not isinstance(v, str) else v
            for k, v in args.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_from_trusted_makes_the_validated_problem(seed: int) -> None:
    """The fast path for builders gives a problem equal to ``Problem(...)``, field by field."""
    args = _trusted_args(seed)
    slow = Problem(**_copy_args(args))
    fast = Problem.from_trusted(**_copy_args(args))
    assert fast.names == slow.names
    assert isinstance(fast.names, tuple)
    assert fast.row_names == slow.row_names
    assert isinstance(fast.row_names, tuple)
    for name in ("objective", "lower", "upper", "kinds", "row_lower", "row_upper"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype, name
        assert np.array_equal(a, b), name
        assert not a.flags.writeable, name
    a, b = fast.constraints, slow.constraints
    assert a.format == b.format == "csr"
    assert a.shape == b.shape
    assert a.has_canonical_format
    assert b.has_canonical_format
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)
    assert (fast.quadratic, fast.constant, fast.sense, fast.name) == (
        slow.quadratic, slow.constant, slow.sense, slow.name)
    x = np.clip(np.zeros(40), slow.lower, slow.upper)
    assert fast.evaluate(x) == slow.evaluate(x)
    assert fast.violation(x) == slow.violation(x)
    assert fast.index("x[7]") == 7


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"objective": np.full(40, math.nan)}, "objective: NaN"),
        ({"lower": np.full(40, 9.0)}, "above upper"),
        ({"upper": np.full(40, math.nan)}, "upper: NaN"),
        ({"row_lower": np.full(25, 99.0)}, "above row_upper"),
        ({"kinds": np.full(40, 3, dtype=np.int8)}, "codes must be 0, 1 or 2"),
        ({"kinds": np.full(40, 2, dtype=np.int8), "lower": np.full(40, -1.0)}, "within [0, 1]"),
        ({"objective": np.zeros(40, dtype=np.float32)}, "objective: expected 40 values of float64"),
        ({"lower": np.zeros(39)}, "lower: expected 40 values"),
        ({"names": tuple(f"x{i}" for i in range(39))}, "expected 40 variable"),
        ({"names": [f"x{i}" for i in range(40)]}, "expected tuples"),
        ({"constraints": sp.csr_array(np.ones((25, 41)))}, "shape (25, 40)"),
        ({"constraints": sp.csr_array(np.full((25, 40), math.nan))}, "constraints: NaN"),
    ],
)
def test_from_trusted_still_refuses_bad_values(change: dict, needle: str) -> None:
    args = {**_trusted_args(0), **change}
    with pytest.raises(ProblemError) as info:
        Problem.from_trusted(**args)
    assert needle in str(info.value)


def test_builder_refuses_mismatched_blocks() -> None:
    b = ProblemBuilder()
    p = b.add_variables("p", 3)
    with pytest.raises(ProblemError, match="must have 3 columns"):
        b.add_constraints([(p, np.ones((1, 2)))], upper=1.0)
    with pytest.raises(ProblemError, match="already exists"):
        b.add_variables("p", 2)


def test_problem_is_immutable() -> None:
    prob = _toy()
    with pytest.raises(ValueError, match="read-only"):
        prob.objective[0] = 5.0
    with pytest.raises(AttributeError):
        prob.name = "other"  # type: ignore[misc]


def test_quadratic_program_round_trip_keeps_everything() -> None:
    pytest.importorskip("qiskit_optimization")
    prob = _toy()
    qp = problem_to_quadratic_program(prob)
    assert qp.get_num_vars() == prob.num_variables
    back = problem_from_quadratic_program(qp)
    assert back.same_as(prob)


def test_from_quadratic_program_refuses_quadratic_constraints() -> None:
    qiskit_opt = pytest.importorskip("qiskit_optimization")
    qp = qiskit_opt.QuadraticProgram("q")
    qp.binary_var("x")
    qp.binary_var("y")
    qp.quadratic_constraint(quadratic={("x", "y"): 1.0}, sense="<=", rhs=0, name="xy")
    with pytest.raises(ProblemError, match="quadratic constraints"):
        problem_from_quadratic_program(qp)


def test_lp_file_round_trip(tmp_path) -> None:
    prob = _toy()
    path = tmp_path / "toy.lp"
    write_lp(prob, path)
    text = path.read_text()
    assert "p_mw(0)" in text  # LP names cannot hold brackets
    back = read_lp(path)
    assert back.same_as(prob.replace(name="toy"))
    # and the file solves to the same optimum
    r1, r2 = get_solver("milp").solve(prob), get_solver("milp").solve(back)
    assert r1.status is r2.status is Status.OPTIMAL
    assert r1.objective == pytest.approx(r2.objective)


def test_lp_file_from_elsewhere_is_read(tmp_path) -> None:
    path = tmp_path / "knap.lp"
    path.write_text(
        "\\ a small knapsack\nmaximize\n obj: 3 x + 2 y + 4 z\nsubject to\n"
        " cap: 2 x + y + 3 z <= 4\nbinary\n x y z\nend\n"
    )
    prob = read_lp(path)
    assert prob.names == ("x", "y", "z")
    assert prob.sense is Sense.MAXIMIZE
    assert prob.is_binary
    res = get_solver("milp").solve(prob)
    assert res.objective == pytest.approx(6.0)  # y + z


@pytest.mark.parametrize(
    "text",
    [
        "min\n obj: 3 x +\nst\n c1: x + y >= = 2\nend\n",
        "minimize\n obj: x\nsubject to\n c: x <= foo\nend\n",
        "this is not an lp file\n",
    ],
)
def test_malformed_lp_file_names_the_cause(tmp_path, text: str) -> None:
    path = tmp_path / "bad.lp"
    path.write_text(text)
    with pytest.raises(ProblemError) as info:
        read_lp(path)
    assert "bad.lp" in str(info.value)
    assert "malformed" in str(info.value) or "LP" in str(info.value)


def test_missing_lp_file(tmp_path) -> None:
    with pytest.raises(ProblemError, match="no such LP file"):
        read_lp(tmp_path / "nope.lp")


def test_result_to_dict_is_json() -> None:
    res = get_solver("milp").solve(_toy())
    data = res.to_dict()
    text = json.dumps(data)
    assert '"status": "optimal"' in text
    assert data["values"]["k[0]"] in (3.0, 4.0, 5.0, 6.0, 7.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0)
    assert res.value("u[0]") == res.values["u[0]"]
