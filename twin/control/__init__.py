"""Controllers, chosen by ``scenario.control.mode`` through :data:`CONTROLLERS`, and
the solver-call interface they use.

A controller is an object with a SimPy process ``run(env, clock)``; it wakes at
:attr:`twin.clock.Phase.CONTROL` each step, reads family snapshots and the injection
buffer, and sends setpoints with the families' ``command(...)`` methods (which apply
them within their own limits at ACT). The engine builds it from one
:class:`ControlContext`: what it reads (families, injections, grid model), where its
events go, and what it is wired to (its solver gateway, the comms model, the fault
injector); nothing is patched in afterwards.

What lives here
---------------
__init__    :class:`ControlContext`, :data:`CONTROLLERS`, :func:`build_controller`,
            :class:`Controller`
calls       the solver-call interface (``SolverGateway``, ``CallRecord``, ``CallLog``,
            ``SolverPool``, ``calls_table``): what comms implements
gateway     ``DirectGateway``: solves at once, no comms model
plan_inputs the plan inputs read from the families' public interfaces, per family
problems    the EMS's problem builders and interpreters (dispatch, EV assignment)
ems         the rolling-horizon EMS and the rule-based reference
rule        the ``self_consumption`` controller

What it may import
------------------
:mod:`solvers`, the assets' public interfaces (snapshots, commands, ``twin.assets.base``),
:mod:`twin.clock`, :mod:`twin.microgrid`, :mod:`twin.simtime`, :mod:`twin.seeding`, and,
for typing, the grid model, recorder, scenario, comms model and fault injector it is
handed. Never the engine. ``calls`` imports nothing of the twin, so comms can
implement it without depending on the controllers.

Add a mode by writing a factory ``(ControlContext) -> controller`` in its own module and
adding it to :data:`CONTROLLERS` (and the mode to ``ControlSpec.mode`` in
:mod:`twin.scenario`). Modes whose factory is missing or whose optional module fails to
import are refused with a clear message.

Public names: :class:`ControlContext`, :data:`CONTROLLERS`, :func:`build_controller`,
:class:`Controller`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import simpy

    from twin.assets.base import InjectionBuffer, ProcessGen
    from twin.clock import StepClock
    from twin.comms.model import CommsModel
    from twin.control.calls import SolverGateway
    from twin.faults import FaultInjector
    from twin.grid import PowerFlowModel
    from twin.recorder import Recorder
    from twin.scenario import Scenario


@dataclass(frozen=True)
class ControlContext:
    """What a controller gets when it is built.

    Attributes
    ----------
    scenario : Scenario
        The validated scenario (``scenario.control`` holds the controller's options).
    families : dict
        Asset kind -> family (only kinds present in the scenario), plus ``"network"``:
        what the controller reads and commands. A family with an active sensor fault
        is there as its :class:`twin.faults.SensedFamily` view.
    injections : InjectionBuffer
        The injection arrays (loads, sgens, storage of the whole grid, this step).
    model : PowerFlowModel
        The grid model (element buses and weights; last solved voltages in ``model.v``).
    recorder : Recorder
        Where control events go.
    rng : numpy.random.Generator
        The run's generator.
    n_steps, step_s : int
        Number of steps and their length. [-, s]
    gateway : SolverGateway or None
        How solver calls travel: the engine passes a
        :class:`~twin.control.gateway.DirectGateway`, or the comms model's
        :class:`~twin.comms.gateway.CommsGateway` with ``comms.enabled``. None (a
        context built by hand): a controller that calls solvers makes a
        ``DirectGateway``.
    comms : CommsModel or None
        The run's communication model (links, routes, services), with
        ``comms.enabled``.
    faults : FaultInjector or None
        The run's fault injector, when the scenario has faults or comms.
    """

    scenario: Scenario
    families: dict[str, Any]
    injections: InjectionBuffer
    model: PowerFlowModel
    recorder: Recorder
    rng: np.random.Generator
    n_steps: int
    step_s: int
    gateway: SolverGateway | None = None
    comms: CommsModel | None = None
    faults: FaultInjector | None = None


class Controller(Protocol):
    """A controller process."""

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """The SimPy process (waits for ``Phase.CONTROL`` each step)."""
        ...


ControllerFactory = Callable[[ControlContext], Controller | None]


def _lazy(module: str, name: str) -> ControllerFactory:
    def factory(ctx: ControlContext) -> Controller | None:
        return getattr(importlib.import_module(module), name)(ctx)

    return factory


CONTROLLERS: dict[str, ControllerFactory] = {
    "off": lambda ctx: None,
    "self_consumption": _lazy("twin.control.rule", "SelfConsumptionController"),
    "rule_based": _lazy("twin.control.ems", "RuleBasedController"),
    "ems": _lazy("twin.control.ems", "EmsController"),
}
"""Control mode -> controller factory. ``off`` has no controller: batteries idle and PV
runs uncurtailed."""


def build_controller(ctx: ControlContext) -> Controller | None:
    """The controller the scenario's ``control.mode`` names (None for ``off``).

    Raises
    ------
    KeyError
        For a mode with no factory (lists the known modes).
    """
    mode = ctx.scenario.control.mode
    try:
        factory = CONTROLLERS[mode]
    except KeyError:
        raise KeyError(f"no controller for mode '{mode}'; known: {sorted(CONTROLLERS)}") from None
    return factory(ctx)
