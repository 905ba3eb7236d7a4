"""CPLEX-LP file input and output for :class:`~solvers.problem.Problem`, through HiGHS.

Parsing and writing are HiGHS's own LP reader and writer (``Highs.readModel`` /
``Highs.writeModel``); this module only moves arrays between HiGHS and a
:class:`Problem`. Conventions:

- Names: CPLEX-LP names cannot contain ``[``, ``]`` or spaces. On writing,
  ``[`` and ``]`` become ``(`` and ``)`` and a first-line comment
  ``\\ gridtwin-names: brackets`` records it, so reading our own file restores
  the names exactly; files from elsewhere keep their names as written.
- Ranged rows ``lo <= a x <= hi``: HiGHS writes them as two rows ``<name>lo``
  (``>=``) and ``<name>up`` (``<=``); reading merges such a pair (same
  coefficients) back into one ranged row ``<name>``.
- Integer variables with bounds ``[0, 1]`` are written in the ``binary``
  section by HiGHS and read back as binary.
- Objective constant and quadratic objective (``[ ... ]/2``) are kept.

Public names: :func:`read_lp`, :func:`write_lp`.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem, ProblemError, Sense, VarKind

if TYPE_CHECKING:
    import highspy

__all__ = ["read_lp", "write_lp"]

logger = logging.getLogger(__name__)

_NAMES_MARKER = "\\ gridtwin-names: brackets"


def _highs_quiet_with_log(log_path: str) -> highspy.Highs:
    from solvers.milp import new_highs

    h = new_highs()
    h.setOptionValue("log_file", log_path)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", True)
    return h


def write_lp(problem: Problem, path: str | os.PathLike[str]) -> None:
    """Write ``problem`` to ``path`` in CPLEX-LP format (HiGHS's writer).

    Parameters
    ----------
    problem : Problem
        The problem to write.
    path : str or path-like
        Destination file; should end in ``.lp``.

    Raises
    ------
    ProblemError
        When a name contains a space, or HiGHS refuses to write the model.
    """
    import highspy

    from solvers.milp import highs_hessian, new_highs, new_highs_lp, pass_to_highs

    target = Path(path)
    bracketed = _checked_lp_names(problem, target)

    def lp_name(s: str) -> str:
        return s.replace("[", "(").replace("]", ")") if bracketed else s

    h = new_highs()
    lp = new_highs_lp(
        cost=problem.objective, lower=problem.lower, upper=problem.upper,
        row_lower=problem.row_lower, row_upper=problem.row_upper,
        matrix=sp.csc_array(problem.constraints),
        integrality=problem.kinds != VarKind.CONTINUOUS, offset=problem.constant,
        maximize=problem.sense is not Sense.MINIMIZE,
    )
    lp.col_names_ = [lp_name(s) for s in problem.names]
    lp.row_names_ = [lp_name(s) for s in problem.row_names]
    hessian = highs_hessian(problem.quadratic) if problem.quadratic is not None else None
    if pass_to_highs(h, lp, hessian) == highspy.HighsStatus.kError:
        raise ProblemError(f"{target}: HiGHS rejected the model")
    text = _highs_lp_text(h, target)
    if bracketed:
        text = f"{_NAMES_MARKER}\n{text}"
    target.write_text(text)


def _checked_lp_names(problem: Problem, target: Path) -> bool:
    """Refuse a file name without ``.lp`` and names an LP file cannot hold (empty or
    with white space); return whether brackets must be written as parentheses."""
    if target.suffix.lower() != ".lp":
        raise ProblemError(f"{target}: an LP file name must end in '.lp'")
    for label, names in (("variable", problem.names), ("constraint", problem.row_names)):
        bad = next((s for s in names if not s or any(ch.isspace() for ch in s)), None)
        if bad is not None:
            raise ProblemError(f"{label} name {bad!r} cannot be written to an LP file")
    return any("[" in s or "]" in s for s in (*problem.names, *problem.row_names))


def _highs_lp_text(h: highspy.Highs, target: Path) -> str:
    """The loaded model as HiGHS writes it in LP format (through a temporary file)."""
    import highspy

    with tempfile.TemporaryDirectory() as tmp:
        tmp_lp = str(Path(tmp) / "model.lp")
        status = h.writeModel(tmp_lp)
        if status == highspy.HighsStatus.kError:
            raise ProblemError(f"{target}: HiGHS could not write the LP file")
        return Path(tmp_lp).read_text()


def read_lp(path: str | os.PathLike[str]) -> Problem:
    """Read a CPLEX-LP file with HiGHS's parser.

    Parameters
    ----------
    path : str or path-like
        The ``.lp`` file.

    Returns
    -------
    Problem
        The problem, named after the file stem.

    Raises
    ------
    ProblemError
        When the file is missing or HiGHS cannot parse it (the message quotes
        HiGHS's error lines).
    """
    import highspy

    source = Path(path)
    model = _parse(source)
    lp = model.lp_
    n, m = int(lp.num_col_), int(lp.num_row_)
    lower = np.asarray(lp.col_lower_, dtype=np.float64)
    upper = np.asarray(lp.col_upper_, dtype=np.float64)
    kinds = _kinds(lp, lower, upper)
    a = lp.a_matrix_
    if a.format_ == highspy.MatrixFormat.kRowwise:
        mat = sp.csr_array((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                           shape=(m, n))
    else:
        mat = sp.csc_array((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                           shape=(m, n)).tocsr()
    names = list(lp.col_names_) or [f"x{i}" for i in range(n)]
    row_names = list(lp.row_names_) or [f"c{i}" for i in range(m)]
    mat, row_lower, row_upper, row_names = _merge_ranged_rows(
        mat, np.asarray(lp.row_lower_, dtype=np.float64),
        np.asarray(lp.row_upper_, dtype=np.float64), row_names)
    with source.open() as fh:
        first = fh.readline().strip()
    if first == _NAMES_MARKER:
        names = [s.replace("(", "[").replace(")", "]") for s in names]
        row_names = [s.replace("(", "[").replace(")", "]") for s in row_names]
    sense = Sense.MAXIMIZE if lp.sense_ == highspy.ObjSense.kMaximize else Sense.MINIMIZE
    return Problem(
        objective=np.asarray(lp.col_cost_, dtype=np.float64),
        lower=lower,
        upper=upper,
        kinds=kinds,
        names=names,
        quadratic=_quadratic(model, n),
        constant=float(lp.offset_),
        sense=sense,
        constraints=mat,
        row_lower=row_lower,
        row_upper=row_upper,
        row_names=row_names,
        name=source.stem,
    )


def _parse(source: Path) -> Any:
    """HiGHS's model of the LP file (ProblemError quoting HiGHS's errors when it fails)."""
    import highspy

    if not source.is_file():
        raise ProblemError(f"{source}: no such LP file")
    if source.suffix.lower() != ".lp":
        raise ProblemError(f"{source}: an LP file name must end in '.lp'")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = str(Path(tmp) / "highs.log")
        h = _highs_quiet_with_log(log_path)
        status = h.readModel(str(source))
        h.setOptionValue("output_flag", False)
        log = Path(log_path).read_text() if Path(log_path).exists() else ""
    if status == highspy.HighsStatus.kError:
        lines = [ln.strip() for ln in log.splitlines() if "ERROR" in ln or "rror" in ln]
        detail = "; ".join(lines[:3]) or "HiGHS could not parse it"
        raise ProblemError(f"{source}: malformed LP file: {detail}")
    return h.getModel()


def _kinds(lp: Any, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Variable kinds from HiGHS's integrality (integers within [0, 1] are binary)."""
    import highspy

    kinds = np.zeros(int(lp.num_col_), dtype=np.int8)
    integrality = list(lp.integrality_)
    if integrality:
        is_int = np.array([v == highspy.HighsVarType.kInteger for v in integrality], dtype=bool)
        kinds[is_int] = VarKind.INTEGER
        kinds[is_int & (lower >= 0) & (upper <= 1)] = VarKind.BINARY
    return kinds


def _quadratic(model: Any, n: int) -> sp.csr_array | None:
    """HiGHS's Hessian (lower triangle, column-wise) as our upper-triangular objective part."""
    hess = model.hessian_
    if not (int(hess.dim_) > 0 and len(hess.value_)):
        return None
    hm = sp.csc_array((np.asarray(hess.value_), np.asarray(hess.index_),
                       np.asarray(hess.start_)), shape=(n, n))
    # lower triangle column-wise -> our upper triangle (transpose), diagonal halved
    q = sp.csr_array(hm.T)
    return q - sp.diags_array(q.diagonal() / 2.0)


def _merge_ranged_rows(mat: sp.csr_array, row_lower: np.ndarray, row_upper: np.ndarray,
                       row_names: list[str]) -> tuple[sp.csr_array, np.ndarray, np.ndarray,
                                                      list[str]]:
    """Merge HiGHS's split ranged rows ``<name>lo`` / ``<name>up`` back into one row."""
    m = len(row_names)
    keep = np.ones(m, dtype=bool)
    index = {s: i for i, s in enumerate(row_names)}
    for i, s in enumerate(row_names):
        if not s.endswith("lo") or len(s) <= 2:
            continue
        j = index.get(s[:-2] + "up")
        if j is None or not keep[j]:
            continue
        if (math.isinf(row_upper[i]) and math.isinf(row_lower[j])
                and (mat[[i]] != mat[[j]]).nnz == 0):
            row_upper[i] = row_upper[j]
            row_names[i] = s[:-2]
            keep[j] = False
    if not keep.all():
        mat = mat[np.flatnonzero(keep)]
        row_lower, row_upper = row_lower[keep], row_upper[keep]
        row_names = [s for s, k in zip(row_names, keep, strict=True) if k]
    return mat, row_lower, row_upper, row_names
