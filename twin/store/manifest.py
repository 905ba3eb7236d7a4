"""Provenance a run's manifest records: the package versions and the source tree.

Public names: :data:`VERSIONED_PACKAGES`, :func:`package_versions`, :func:`git_state`,
:func:`provenance`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

VERSIONED_PACKAGES = (
    "gridtwin",
    "numpy",
    "pandas",
    "pyarrow",
    "simpy",
    "pandapower",
    "simbench",
    "lightsim2grid",
    "pydantic",
    "scipy",
    "highspy",
    "qiskit",
    "qiskit-aer",
    "qiskit-optimization",
    "qiskit-ibm-runtime",
    "dwave-samplers",
    "duckdb",
)
"""Packages whose versions go into every manifest (the solver stack included); those not
installed are left out."""

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed version of each of :data:`VERSIONED_PACKAGES` (read once a process)."""
    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _git(*args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=_SOURCE_ROOT, capture_output=True, text=True, timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_state() -> tuple[str | None, bool | None]:
    """The commit of the GridTwin source tree and whether tracked files differ from it.

    Returns
    -------
    (str or None, bool or None)
        The 40-hex commit and the dirty flag; (None, None) outside a git checkout.
    """
    head = _git("rev-parse", "HEAD")
    commit = head.stdout.strip() if head is not None and head.returncode == 0 else ""
    if len(commit) != 40:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return commit, dirty


def provenance() -> dict[str, Any]:
    """The manifest fields that say what produced a run: ``versions``,
    ``gridtwin_version``, ``git_commit`` and ``git_dirty``."""
    versions = package_versions()
    commit, dirty = git_state()
    return {
        "versions": dict(versions),
        "gridtwin_version": versions.get("gridtwin", "unknown"),
        "git_commit": commit,
        "git_dirty": dirty,
    }
