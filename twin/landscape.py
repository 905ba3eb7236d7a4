"""The QAOA p=1 energy landscape of a stored problem, computed once and cached.

The app shows, for an LP file a run stored under ``problems/`` (or one a user uploads),
the expected objective of the p=1 QAOA state over a grid of (gamma, beta). The app does
not import the solvers' quantum code: it calls :func:`qaoa_landscape` with the file's
bytes, and the result is cached per content (the same file is computed once a process).

Public names: :class:`Landscape`, :class:`LandscapeError`, :data:`MAX_LANDSCAPE_BINARIES`,
:func:`qaoa_landscape`.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from twin.errors import TwinError

MAX_LANDSCAPE_BINARIES = 20
"""Largest problem whose exact landscape is drawn (statevector of 2^20 amplitudes)."""


class LandscapeError(TwinError):
    """The landscape cannot be computed; the message says why (unreadable, too large...)."""


@dataclass(frozen=True)
class Landscape:
    """Expected objective over (gamma, beta).

    Attributes
    ----------
    gammas_rad, betas_rad : tuple of float
        Grid axes. [rad]
    values : tuple of tuple of float
        ``values[i][j]`` at ``betas_rad[i]``, ``gammas_rad[j]``.
    n_variables, n_constraints : int
        Size of the problem.
    """

    gammas_rad: tuple[float, ...]
    betas_rad: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]
    n_variables: int
    n_constraints: int


@functools.lru_cache(maxsize=32)
def _compute(digest: str, content: bytes, n_gamma: int, n_beta: int) -> Landscape:
    import numpy as np

    try:
        from solvers.lpfile import read_lp
        from solvers.qaoa import expectation
    except ImportError as exc:
        raise LandscapeError("the QAOA solver is not installed "
                             "(pip install -e '.[quantum]')") from exc
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "problem.lp"
        path.write_bytes(content)
        try:
            problem = read_lp(path)
        except Exception as exc:  # HiGHS's parser reports bad files in several ways
            raise LandscapeError(f"not a readable LP file ({type(exc).__name__}: {exc})"
                                 ) from None
    n_variables = int(problem.num_variables)
    if n_variables > MAX_LANDSCAPE_BINARIES:
        raise LandscapeError(f"{n_variables} variables; the exact landscape is drawn for "
                             f"at most {MAX_LANDSCAPE_BINARIES} binaries")
    gammas = np.linspace(0.0, np.pi, n_gamma)
    betas = np.linspace(0.0, np.pi / 2, n_beta)
    try:
        values = [[float(expectation(problem, [g], [b])) for g in gammas] for b in betas]
    except Exception as exc:  # unsupported problem (continuous variables, too large)
        raise LandscapeError("QAOA does not support this problem (binary or small integer "
                             f"variables only: {type(exc).__name__})") from None
    return Landscape(tuple(float(g) for g in gammas), tuple(float(b) for b in betas),
                     tuple(tuple(row) for row in values), n_variables,
                     int(problem.num_constraints))


def qaoa_landscape(content: bytes, n_gamma: int = 21, n_beta: int = 21) -> Landscape:
    """The p=1 landscape of an LP file's problem (exact statevector), cached by content.

    Parameters
    ----------
    content : bytes
        The LP file.
    n_gamma, n_beta : int
        Grid points over gamma in [0, pi] and beta in [0, pi/2]. [-]

    Raises
    ------
    LandscapeError
        Unreadable file, too many variables, unsupported variables, QAOA missing.
    """
    digest = hashlib.sha256(content).hexdigest()
    return _compute(digest, content, int(n_gamma), int(n_beta))
