"""Dispatchable generators (``kind: generator``): output limits, minimum up and down
times, start-up and fuel cost; grid-forming units balance an island.

Each generator is one pandapower sgen row. Without a command a unit stays in its state
(off unless ``initially_on``) at its minimum output; a controller commits and dispatches
it with :meth:`GeneratorFamily.command`; the microgrid balancer uses
:meth:`GeneratorFamily.start_for_island` and commands while islanded. An island black
start honours the minimum down time and the unit's ``startup_time`` (it runs, and can
form the island, only that long after the start, inside a step if need be). Every request is applied within
the unit's limits (:func:`generator_step`), so no schedule can break them.

Public names: :class:`GeneratorState`, :func:`generator_step`, :class:`GeneratorFamily`,
:class:`GeneratorSnapshot`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from twin.assets.base import (
    Channel,
    FamilyContext,
    ProcessGen,
    StepPosition,
    add_element_rows,
)
from twin.clock import Phase
from twin.simtime import parse_duration_s

if TYPE_CHECKING:
    import simpy

    from twin.clock import StepClock
    from twin.scenario import GeneratorAssetSpec

logger = logging.getLogger(__name__)


@dataclass
class GeneratorState:
    """Mutable state of N units.

    Attributes
    ----------
    on : numpy.ndarray
        Committed (running).
    steps_in_state : numpy.ndarray
        Steps since the last start or stop.
    p_kw : numpy.ndarray
        Output of the last step. [kW]
    starts : numpy.ndarray
        Number of starts so far.
    """

    on: np.ndarray
    steps_in_state: np.ndarray
    p_kw: np.ndarray
    starts: np.ndarray


def generator_step(
    state: GeneratorState,
    want_on: np.ndarray,
    p_request_kw: np.ndarray,
    p_min_kw: np.ndarray,
    p_max_kw: np.ndarray,
    min_up_steps: np.ndarray,
    min_down_steps: np.ndarray,
    available: np.ndarray | None = None,
) -> np.ndarray:
    """Commit and dispatch within the limits; update ``state``; return the output. [kW]

    Notes
    -----
    A running unit that has run fewer than ``min_up_steps`` stays on; a stopped unit that
    has been off fewer than ``min_down_steps`` stays off (unavailable units are forced
    off). A running unit produces ``clip(request, p_min, p_max)``.
    """
    avail = np.ones_like(state.on) if available is None else np.asarray(available, bool)
    want = np.asarray(want_on, dtype=bool)
    stay_on = state.on & (state.steps_in_state < min_up_steps)
    stay_off = ~state.on & (state.steps_in_state < min_down_steps)
    on = np.where(stay_on, True, np.where(stay_off, False, want)) & avail
    started = on & ~state.on
    changed = on != state.on
    state.steps_in_state = np.where(changed, 1, state.steps_in_state + 1)
    state.starts = state.starts + started
    state.on = on
    p = np.where(on, np.clip(np.nan_to_num(np.asarray(p_request_kw, float)), p_min_kw, p_max_kw),
                 0.0)
    state.p_kw = p
    return p


@dataclass(frozen=True)
class GeneratorSnapshot:
    """Units as a controller sees them at CONTROL.

    Attributes
    ----------
    names : tuple of str
    bus : numpy.ndarray
    on : numpy.ndarray
    steps_in_state : numpy.ndarray
    p_min_kw, p_max_kw : numpy.ndarray  [kW]
    min_up_s, min_down_s : numpy.ndarray  [s]
    startup_cost_eur : numpy.ndarray  [EUR]
    fuel_cost_eur_per_kwh : numpy.ndarray  [EUR/kWh]
    grid_forming : numpy.ndarray
    """

    names: tuple[str, ...]
    bus: np.ndarray
    on: np.ndarray
    steps_in_state: np.ndarray
    p_min_kw: np.ndarray
    p_max_kw: np.ndarray
    min_up_s: np.ndarray
    min_down_s: np.ndarray
    startup_cost_eur: np.ndarray
    fuel_cost_eur_per_kwh: np.ndarray
    grid_forming: np.ndarray


class GeneratorFamily:
    """All ``generator`` assets of a scenario: one sgen row each."""

    kind: ClassVar[str] = "generator"

    def __init__(self, specs: list[GeneratorAssetSpec], rows: tuple[int, int]) -> None:
        self.specs = list(specs)
        self.names = tuple(s.name for s in specs)
        self.rows = rows
        self.bus = np.array([s.bus for s in specs], dtype=np.int64)
        self.p_min_kw = np.array([s.p_min_kw for s in specs], float)
        self.p_max_kw = np.array([s.p_max_kw for s in specs], float)
        self.min_up_s = np.array([parse_duration_s(s.min_up) for s in specs], float)
        self.min_down_s = np.array([parse_duration_s(s.min_down) for s in specs], float)
        self.startup_s = np.array([parse_duration_s(s.startup_time) for s in specs], float)
        self.starting = np.zeros(len(specs), dtype=bool)
        """Per unit: black-started for an island, not running yet (``startup_time``)."""
        self.online_listeners: list[Any] = []
        """``listener()`` called when black-started units come online inside a run (the
        microgrid then makes them grid formers)."""
        self._env: Any = None
        self.startup_cost_eur = np.array([s.startup_cost_eur for s in specs], float)
        self.fuel_cost_eur_per_kwh = np.array([s.fuel_cost_eur_per_kwh for s in specs], float)
        self.grid_forming = np.array([s.grid_forming for s in specs], bool)
        n = len(specs)
        on0 = np.array([s.initially_on for s in specs], bool)
        self.state = GeneratorState(on0, np.full(n, 10**9), np.zeros(n), np.zeros(n, np.int64))
        self.p_mw = np.zeros(n)
        self.on_frac = np.zeros(n)
        self.tripped = np.zeros(n, dtype=bool)
        """Per unit: tripped by a fault (forced off, cannot start until restored)."""
        self.fuel_cost_eur = 0.0
        self.startup_cost_total_eur = 0.0
        self.energy_kwh = 0.0
        self._want_on: np.ndarray | None = None
        self._p_request: np.ndarray | None = None
        self.step_s = 900
        self.position = StepPosition()
        # partial steps (act_from): the running segment's start offset [s] and output
        # [kW]; kW s of the step's finished segments
        self._fresh = False
        self._seg_off = 0.0
        self._seg_p = np.zeros(n)
        self._done_kws = np.zeros(n)
        self._carried_kw = np.zeros(n)
        """Island slack carried on top of this step's output from the last solve on. [kW]"""

    @classmethod
    def add_to_network(cls, specs: list[GeneratorAssetSpec], net: Any) -> GeneratorFamily:
        """Add one sgen row per unit."""
        rows = add_element_rows(
            net, "sgen",
            [{"bus": s.bus, "p_mw": 0.0, "q_mvar": 0.0, "type": "generator",
              "name": f"asset/{s.name}"} for s in specs],
        )
        return cls(specs, rows)

    def bind(self, ctx: FamilyContext) -> None:
        """Take the step length and the injection rows."""
        self.step_s = ctx.step_s
        self.min_up_steps = np.ceil(self.min_up_s / ctx.step_s).astype(np.int64)
        self.min_down_steps = np.ceil(self.min_down_s / ctx.step_s).astype(np.int64)
        self._p_view, self._q_view = ctx.injections.rows("sgen", *self.rows)

    def command(self, want_on: np.ndarray | None, p_kw: np.ndarray | None = None) -> None:
        """Commitment and output requests until the next command (None: keep state)."""
        self._want_on = None if want_on is None else np.asarray(want_on, bool).copy()
        self._p_request = None if p_kw is None else np.asarray(p_kw, float).copy()
        self._fresh = True

    def requested_p_kw(self) -> np.ndarray:
        """The output request in force per unit: the last command's, else the minimum
        output (what ACT applies within the limits to running units). [kW]"""
        return self.p_min_kw if self._p_request is None else self._p_request

    def dispatch(self, want_on: np.ndarray, p_kw: np.ndarray) -> np.ndarray:
        """Apply a request for the current step within limits; account costs. [kW]"""
        before = self.state.starts.copy()
        p = generator_step(self.state, want_on, p_kw, self.p_min_kw, self.p_max_kw,
                           self.min_up_steps, self.min_down_steps,
                           available=~self.tripped if self.tripped.any() else None)
        self._account(p, self.state.starts - before)
        return p

    def _account(self, p: np.ndarray, new_starts: np.ndarray) -> None:
        dt_h = self.step_s / 3600.0
        self.energy_kwh += float(p.sum() * dt_h)
        self.fuel_cost_eur += float((p * self.fuel_cost_eur_per_kwh).sum() * dt_h)
        self.startup_cost_total_eur += float((new_starts * self.startup_cost_eur).sum())
        self.p_mw[:] = p / 1000.0
        self.on_frac[:] = self.state.on
        self._p_view[:] = self.p_mw
        self._carried_kw[:] = 0.0

    def carry_island_power(self, extra_kw: np.ndarray, remaining_s: float) -> None:
        """As an island's grid-forming unit, carry ``extra_kw`` (the island's slack) on
        top of this step's output from now to the step's end: energy and fuel move by
        the change against what was carried before (the microgrid keeps the total
        within ``[p_min, p_max]``). The power channel shows the total. [kW, s]"""
        extra = np.asarray(extra_kw, dtype=float)
        if np.array_equal(extra, self._carried_kw):
            return
        change_kwh = (extra - self._carried_kw) * (remaining_s / 3600.0)
        self.energy_kwh += float(change_kwh.sum())
        self.fuel_cost_eur += float((change_kwh * self.fuel_cost_eur_per_kwh).sum())
        self.p_mw[:] = (self.state.p_kw + extra) / 1000.0
        self._carried_kw[:] = extra

    def set_tripped(self, name: str, tripped: bool) -> None:
        """A fault trips unit ``name`` (or restores it). A tripped unit stops at once
        (output 0 from this step's ACT on, no fuel burnt, counted as a stop for its
        minimum down time) and neither a command nor an island black start can run it
        until it is restored; then it is an ordinary stopped unit."""
        j = self.names.index(name)
        self.tripped[j] = bool(tripped)
        if tripped and self.state.on[j]:
            on = self.state.on.copy()
            on[j] = False
            self.state.on = on
            steps = self.state.steps_in_state.copy()
            steps[j] = 0
            self.state.steps_in_state = steps

    def start_for_island(self, mask: np.ndarray) -> None:
        """Black-start stopped grid-forming units in ``mask`` for an island, those off
        for at least their minimum down time (the others stay off). A unit with a
        ``startup_time`` runs only that long after now (meanwhile it produces nothing
        and cannot form the island: :meth:`_online` brings it on, inside a step if need
        be); without one it runs at once. Started units then stay on for their minimum
        up time. The start and its cost count now."""
        start = (np.asarray(mask, bool) & ~self.state.on & ~self.starting & self.grid_forming
                 & ~self.tripped & (self.state.steps_in_state >= self.min_down_steps))
        if not start.any():
            return
        self.state.starts = self.state.starts + start
        self.startup_cost_total_eur += float((start * self.startup_cost_eur).sum())
        now = start & (self.startup_s <= 0.0)
        if now.any():
            self.state.on = self.state.on | now
            self.state.steps_in_state = np.where(now, 0, self.state.steps_in_state)
        later = start & ~now
        if later.any() and self._env is not None:
            self.starting = self.starting | later
            for delay in sorted(set(self.startup_s[later].tolist())):
                self._env.process(self._online(later & (self.startup_s == delay), delay))

    def _online(self, units: np.ndarray, delay_s: float) -> ProcessGen:
        """After ``delay_s`` the units run (at their requested output within limits from
        that instant to the step end, through :meth:`act_from`) and the listeners are
        told, so they can form the island."""
        yield self._env.timeout(delay_s)
        units = units & self.starting & ~self.tripped
        self.starting = self.starting & ~units
        if not units.any():
            return
        self.state.on = self.state.on | units
        self.state.steps_in_state = np.where(units, 0, self.state.steps_in_state)
        offset = self.position.offset_s()
        if offset is not None:  # inside a step whose ACT ran: run from now
            self._fresh = True
            self.act_from(offset)
        for listener in self.online_listeners:
            listener()

    def run(self, env: simpy.Environment, clock: StepClock) -> ProcessGen:
        """ACT: commit and dispatch (keep state and minimum output without a command)."""
        self.position.start(env, clock)
        self._env = env
        while True:
            k = yield clock.wait(Phase.ACT)
            self.position.acted_step = k
            self._fresh = False
            want = self.state.on if self._want_on is None else self._want_on
            self._seg_p = self.dispatch(want, self.requested_p_kw())
            self._seg_off = 0.0
            self._done_kws[:] = 0.0

    def act_from(self, offset_s: float) -> None:
        """Partial-step hook (:mod:`twin.assets.base`): running units produced their
        step's output up to ``offset_s``; the output requested since applies from there
        to the step end (within ``[p_min, p_max]``). Commitment (starts, stops, minimum
        up and down times) stays at step resolution: a unit starts or stops at the next
        step's ACT. Energy and fuel integrate both parts; the power channel becomes the
        step's mean. Without a command since ACT nothing changes."""
        if not self._fresh:
            return
        self._fresh = False
        on = self.state.on & ~self.tripped
        p = np.where(on, np.clip(np.nan_to_num(np.asarray(self.requested_p_kw(), float)),
                                 self.p_min_kw, self.p_max_kw), 0.0)
        self._done_kws += self._seg_p * (offset_s - self._seg_off)
        rest_h = (self.step_s - offset_s) / 3600.0  # the old output was booked to the step end
        delta = p - self._seg_p
        self.energy_kwh += float(delta.sum() * rest_h)
        self.fuel_cost_eur += float((delta * self.fuel_cost_eur_per_kwh).sum() * rest_h)
        self._seg_off, self._seg_p = float(offset_s), p
        self.state.p_kw = p
        self.p_mw[:] = (self._done_kws + p * (self.step_s - offset_s)) / self.step_s / 1000.0
        self._p_view[:] = p / 1000.0

    def snapshot(self) -> GeneratorSnapshot:
        """Commitment state and parameters."""
        s = self.state
        return GeneratorSnapshot(
            self.names, self.bus, s.on.copy(), s.steps_in_state.copy(), self.p_min_kw,
            self.p_max_kw, self.min_up_s, self.min_down_s, self.startup_cost_eur,
            self.fuel_cost_eur_per_kwh, self.grid_forming,
        )

    def channels(self) -> list[Channel]:
        """Output and commitment per unit. [MW, -]"""
        entities = tuple(f"asset/{n}" for n in self.names)
        return [
            Channel("asset", "p_mw", "MW", entities, self.p_mw),
            Channel("asset", "on_frac", "-", entities, self.on_frac),
        ]

    def kpis(self, values: list[np.ndarray], step_s: int) -> dict[str, float]:
        """Energy, fuel and start-up cost, starts."""
        return {
            "generator_energy_mwh": self.energy_kwh / 1000.0,
            "generator_fuel_cost_eur": self.fuel_cost_eur,
            "generator_startup_cost_eur": self.startup_cost_total_eur,
            "generator_starts": float(self.state.starts.sum()),
        }
