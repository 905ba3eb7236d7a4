"""The contract every asset family follows, and the shared injection buffer.

An asset *family* is one SimPy process owning the state of all assets of one kind as
arrays (vectorised: one process for 100 PV systems costs what one costs). It writes
its grid injections into its slice of the :class:`InjectionBuffer`, exposes
:class:`Channel` s for the recorder, a ``snapshot()`` for controllers and, when it is
controllable, a ``command(...)`` method whose setpoints it applies within its own
physical limits at the ACT phase of each step.

Families add their element rows to the pandapower net with :func:`add_element_rows`
(one home for row registration; every family calls it from ``add_to_network``).

What a controller or the microgrid may read and command of a family is its public
interface, documented on each family class: ``snapshot()`` (a frozen copy of the state
now), ``command(...)``, and the read-only methods that report what the family will do
or offer: the command in force (``commanded_p_mw``, ``requested_p_kw``,
``hvac_request_kw``), what it will draw this step (``expected_p_kw``), forecasts over a
horizon (``forecast_p_mw``, ``forecast_available_p_mw``, ``forecast_plug_load_kw``) and
the flexible share a balancer may cut (``scale_flexible``). No other module reads a
family's underscore names.

Partial steps: a family integrates its state over the whole step at ACT. When set
points change inside a step whose ACT already ran (a controller's answer arriving at
``t``), the controller commands the family again and calls its partial-step hook
``act_from(offset_s)`` (offset of ``t`` from the step start): the family integrates
its state from the step start up to ``t`` with the set points in force so far, applies
the new commands from ``t`` to the step end, and writes its new injections (the power
it draws from ``t`` on); the engine then solves a new power-flow interval from ``t``.
Its per-step power channel becomes the step's time-weighted mean (mean x step is the
step's energy) and its energy KPIs integrate every segment. While a step runs past
such an instant, ``snapshot()`` reports the state at the present instant and the
limits over the rest of the step. Families with the hook: battery, generator (output
of running units; commitment stays per step), ev_fleet (:data:`PARTIAL_STEP_KINDS`).

Public names: :class:`InjectionBuffer`, :class:`FamilyContext`, :class:`Channel`,
:class:`AssetFamily`, :func:`add_element_rows`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.grid import PowerFlowModel
    from twin.profiles import ProfileLibrary
    from twin.recorder import Recorder
    from twin.scenario import Scenario

ProcessGen = Generator[Any, Any, None]

PARTIAL_STEP_KINDS = frozenset({"battery", "generator", "ev_fleet"})
"""Families that take new set points inside a step (``act_from``, see the module
notes); the others take them at the next step's ACT."""


class StepPosition:
    """Where a family is inside the current step: given the run's clock at ``run``,
    it tells how far into the step ACT-applied set points have run.

    ``offset_s()`` is the time since the step start when this step's ACT already ran
    and the present lies strictly inside the step, else None (before ACT, or at the
    step's own instant: the whole-step integration is the state).
    """

    def __init__(self) -> None:
        self._env: Any = None
        self._clock: Any = None
        self.acted_step = -1

    def start(self, env: Any, clock: Any) -> None:
        """Take the run's environment and clock (from the family's ``run``)."""
        self._env, self._clock = env, clock

    def offset_s(self) -> float | None:
        """Seconds since the step start, past this step's ACT; None otherwise."""
        clock = self._clock
        if clock is None or self.acted_step != clock.step:
            return None
        offset = float(self._env.now) - clock.step_start_s
        return offset if 0.0 < offset < clock.step_s else None

ELEMENT_CREATORS = {"load": "create_load", "sgen": "create_sgen", "storage": "create_storage"}
"""Element table -> the pandapower create function that adds one of its rows."""


def add_element_rows(net: Any, table: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Append element rows to ``net[table]`` with pandapower's create functions.

    Parameters
    ----------
    net : pandapowerNet
        The network, before the power-flow model is built.
    table : {"load", "sgen", "storage"}
        Element table (:data:`ELEMENT_CREATORS`).
    rows : list of dict
        Keyword arguments of one ``pandapower.create_<table>`` call each.

    Returns
    -------
    (int, int)
        Positional ``(start, stop)`` of the new rows in ``net[table]``: the family's
        slice of the :class:`InjectionBuffer` table (``InjectionBuffer.rows``).
    """
    import pandapower as pp

    create = getattr(pp, ELEMENT_CREATORS[table])
    start = len(net[table])
    for row in rows:
        create(net, **row)
    return start, len(net[table])


class InjectionBuffer:
    """Element injections of the whole grid in pandapower's convention, one array each.

    Attributes
    ----------
    p_mw, q_mvar : numpy.ndarray
        Active and reactive power of every driven element (load, sgen, storage rows in
        :data:`twin.grid.ELEMENT_TABLES` order); loads and storage positive when
        consuming, sgens positive when producing. [MW, Mvar]
    """

    def __init__(self, model: PowerFlowModel) -> None:
        self.p_mw = np.zeros(model.n_injections)
        self.q_mvar = np.zeros(model.n_injections)
        self._slices = model.element_slices

    def rows(self, table: str, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Writable views ``(p_mw, q_mvar)`` on rows ``start:stop`` of element ``table``."""
        base = self._slices[table].start
        sl = slice(base + start, base + stop)
        return self.p_mw[sl], self.q_mvar[sl]


@dataclass(frozen=True)
class FamilyContext:
    """What a family gets from the engine when it is built.

    Attributes
    ----------
    scenario : Scenario
        The validated scenario.
    n_steps, step_s : int
        Number of grid steps and their length. [-, s]
    profile_offset_rows : int
        Row of the SimBench profile year at simulated second 0 (quarter hours).
    rng : numpy.random.Generator
        The run's one seeded generator; families draw from it in a fixed order.
    injections : InjectionBuffer
        Shared injection arrays.
    library : ProfileLibrary or None
        Named relative profiles (SimBench), when the scenario has a library.
    model : PowerFlowModel
        The grid model (element positions, network tables).
    recorder : Recorder
        Where events go (``recorder.event(...)``).
    """

    scenario: Scenario
    n_steps: int
    step_s: int
    profile_offset_rows: int
    rng: np.random.Generator
    injections: InjectionBuffer
    library: ProfileLibrary | None
    model: PowerFlowModel
    recorder: Recorder


@dataclass(frozen=True)
class Channel:
    """One recorded quantity of a family: a live array the recorder copies each step.

    Attributes
    ----------
    group : str
        Output group ("element" for the network's own elements, "asset" for scenario
        assets); ``outputs.groups`` selects groups.
    quantity, unit : str
        Name (with its unit, e.g. "p_mw") and unit label (e.g. "MW").
    entities : tuple of str
        Entity id per column, e.g. "asset/pv_school" or "load/3".
    source : numpy.ndarray
        1-D array updated in place by the family; its value at the RECORD phase is stored.
    """

    group: str
    quantity: str
    unit: str
    entities: tuple[str, ...]
    source: np.ndarray


class AssetFamily(Protocol):
    """What the engine needs from an asset family."""

    kind: ClassVar[str]
    names: tuple[str, ...]

    @classmethod
    def add_to_network(cls, specs: list[Any], net: Any) -> AssetFamily:
        """Create the family from its scenario specs and add its element rows to the
        pandapower ``net`` (before the power-flow model is built)."""
        ...

    def bind(self, ctx: FamilyContext) -> None:
        """Take the injection rows, profiles and random draws the run gives."""
        ...

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """The family's SimPy process."""
        ...

    def channels(self) -> list[Channel]:
        """Quantities to record."""
        ...

    def snapshot(self) -> Any:
        """A frozen copy of the state a controller may read."""
        ...
