"""Name -> solver registry, the :class:`Solver` protocol and the plug-in entry points.

Built-in backends register themselves with the :func:`register` decorator when
:mod:`solvers` is imported; third-party packages add solvers through the
entry-point group ``gridtwin.solvers`` (``name = "package.module:Factory"``),
loaded on the first registry query. A backend whose optional dependency is
missing still registers and reports itself unavailable with an install hint.

Public names: :class:`Solver`, :func:`register`, :func:`get_solver`,
:func:`available_solvers`, :func:`registered_solvers`, :class:`SolverInfo`,
:class:`UnknownSolverError`, :class:`SolverOptionError`,
:class:`SolverUnavailableError`, :data:`ENTRY_POINT_GROUP`.

Examples
--------
>>> from solvers import get_solver
>>> solver = get_solver("milp", mip_rel_gap=1e-6)
>>> solver.name
'milp'
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from solvers.problem import Problem
    from solvers.result import Result

__all__ = [
    "ENTRY_POINT_GROUP",
    "Solver",
    "SolverInfo",
    "SolverOptionError",
    "SolverUnavailableError",
    "UnknownSolverError",
    "available_solvers",
    "get_solver",
    "register",
    "registered_solvers",
]

logger = logging.getLogger(__name__)

#: Entry-point group through which other distributions add solvers.
ENTRY_POINT_GROUP = "gridtwin.solvers"


@runtime_checkable
class Solver(Protocol):
    """What every solver provides (no inheritance needed).

    ``supports(problem)`` returns None when the solver accepts the problem,
    otherwise the reason it does not. ``solve`` never raises for an
    infeasible, unsupported or too-large problem: the :class:`Result` says so.
    """

    name: str

    def supports(self, problem: Problem) -> str | None:
        """None when supported, else the reason."""
        ...

    def solve(
        self, problem: Problem, *, time_limit: float | None = None, seed: int | None = None
    ) -> Result:
        """Solve ``problem`` within ``time_limit`` [s] using ``seed``."""
        ...


class UnknownSolverError(KeyError):
    """No solver is registered under the requested name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SolverOptionError(TypeError):
    """An option not accepted by the solver, or an invalid option value."""


class SolverUnavailableError(RuntimeError):
    """The solver is registered but its optional dependency is not installed."""


@dataclass(frozen=True)
class SolverInfo:
    """Registry entry of one solver.

    Attributes
    ----------
    name : str
        Registered name.
    factory : callable
        Builds the solver from keyword options.
    requires : tuple of str
        Importable modules the backend needs.
    install_hint : str
        How to install what is missing.
    description : str
        One line on what the solver does.
    source : str
        ``"builtin"`` or the entry point that added it.
    """

    name: str
    factory: Callable[..., Any]
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    description: str = ""
    source: str = "builtin"

    @property
    def missing(self) -> tuple[str, ...]:
        """Required modules that cannot be imported here."""
        return tuple(m for m in self.requires if importlib.util.find_spec(m) is None)

    @property
    def available(self) -> bool:
        """True when all required modules are importable."""
        return not self.missing

    @property
    def reason(self) -> str | None:
        """Why the solver is unavailable (with the install hint), or None."""
        miss = self.missing
        if not miss:
            return None
        hint = f"; install with: {self.install_hint}" if self.install_hint else ""
        return f"solver {self.name!r} needs {', '.join(miss)}{hint}"

    @property
    def options(self) -> dict[str, Any]:
        """Accepted options and their defaults."""
        return _options_of(self.factory)


_REGISTRY: dict[str, SolverInfo] = {}
_ENTRY_POINTS_LOADED = False


def _options_of(factory: Callable[..., Any]) -> dict[str, Any]:
    if dataclasses.is_dataclass(factory):
        out = {}
        for f in dataclasses.fields(factory):
            if not f.init or f.name.startswith("_"):
                continue
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
            else:
                out[f.name] = None
        return out
    sig = inspect.signature(factory)
    return {
        p.name: (None if p.default is inspect.Parameter.empty else p.default)
        for p in sig.parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def register(
    name: str,
    *,
    requires: Sequence[str] = (),
    install_hint: str = "",
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class/factory decorator that registers a solver under ``name``.

    Parameters
    ----------
    name : str
        Registry name (``get_solver(name)``).
    requires : sequence of str
        Modules the backend imports lazily; when one is missing the solver
        stays registered but unavailable.
    install_hint : str
        Shown when a required module is missing.
    description : str
        One line for listings (default: first docstring line).
    """

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        doc = (inspect.getdoc(factory) or "").strip().splitlines()
        info = SolverInfo(
            name=name,
            factory=factory,
            requires=tuple(requires),
            install_hint=install_hint,
            description=description or (doc[0] if doc else ""),
        )
        old = _REGISTRY.get(name)
        if old is not None and old.factory is not factory:
            raise ValueError(f"a solver named {name!r} is already registered ({old.factory!r})")
        _REGISTRY[name] = info
        return factory

    return decorate


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY and _REGISTRY[ep.name].source == "builtin":
            # Built-ins are listed as entry points too; the import already registered them.
            continue
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plug-in must not break the registry
            logger.warning("cannot load solver entry point %s: %s", ep.value, exc)
            continue
        if ep.name in _REGISTRY:
            if _REGISTRY[ep.name].factory is not factory:
                logger.warning("solver %r from %s ignored: name taken", ep.name, ep.value)
            continue
        doc = (inspect.getdoc(factory) or "").strip().splitlines()
        _REGISTRY[ep.name] = SolverInfo(
            name=ep.name,
            factory=factory,
            requires=tuple(getattr(factory, "requires", ())),
            install_hint=str(getattr(factory, "install_hint", "")),
            description=doc[0] if doc else "",
            source=f"entry point {ep.value}",
        )


def reload_entry_points() -> None:
    """Re-scan the ``gridtwin.solvers`` entry points (after installing a plug-in)."""
    global _ENTRY_POINTS_LOADED
    _ENTRY_POINTS_LOADED = False
    _load_entry_points()


def registered_solvers() -> dict[str, SolverInfo]:
    """Every registered solver, available or not, by name."""
    _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def available_solvers() -> tuple[str, ...]:
    """Names of the solvers whose dependencies are installed."""
    return tuple(name for name, info in registered_solvers().items() if info.available)


def get_solver(name: str, **options: Any) -> Solver:
    """Build the solver registered as ``name`` with ``options``.

    Raises
    ------
    UnknownSolverError
        No such name (the message lists the registered names).
    SolverOptionError
        An option the solver does not accept (the message lists those it does).
    SolverUnavailableError
        The solver's optional dependency is missing (with an install hint).
    """
    infos = registered_solvers()
    info = infos.get(name)
    if info is None:
        raise UnknownSolverError(
            f"unknown solver {name!r}; registered solvers: {', '.join(infos) or 'none'}"
        )
    accepted = info.options
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SolverOptionError(
            f"solver {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"options: {', '.join(sorted(accepted)) or 'none'}"
        )
    if not info.available:
        raise SolverUnavailableError(info.reason)
    try:
        return info.factory(**options)  # type: ignore[no-any-return]
    except (TypeError, ValueError) as exc:
        raise SolverOptionError(f"solver {name!r}: {exc}") from exc
