"""The engine: a scenario in, a SimPy simulation over a pandapower grid, a run out.

:func:`build` turns a validated :class:`~twin.scenario.Scenario` into a ready
:class:`Simulation`: the network (with one element row per scenario asset), the
power-flow model, one SimPy process per asset family, the controller process and the
grid process, all stepping through :class:`~twin.clock.StepClock`'s phases. The grid
process (:class:`twin.gridsolver.GridSolver`, re-exported here) solves at each step's
SOLVE and again at every change of the network inside a step (faults, trips, the PCC
opening and closing, set points applied on arrival), so energies and costs integrate
over intervals of constant state (:class:`twin.recorder.Intervals`). One seeded
``numpy.random.Generator`` is created here and passed down explicitly.

:func:`simulate` runs it and returns a :class:`SimulationOutput` (recording, derived
grid results, KPIs) without writing anything; :func:`run` also writes the run folder
into the results store (atomically) and returns a :class:`RunResult`.

Public names: :func:`build`, :func:`simulate`, :func:`run`, :class:`Simulation`,
:class:`SimulationOutput`, :class:`RunResult`, :class:`GridSolver`, :func:`timeseries_series`,
:func:`memory_estimate`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin import checks
from twin.assets.base import FamilyContext, InjectionBuffer
from twin.assets.network import NetworkFamily
from twin.assets.registry import FAMILIES
from twin.clock import StepClock
from twin.control import ControlContext, build_controller
from twin.control.gateway import DirectGateway
from twin.errors import PowerFlowError, RunCancelledError, ScenarioError
from twin.faults import RunFaults, build_run_faults
from twin.grid import (
    DerivedResults,
    PowerFlowModel,
    build_network,
    profile_library,
)
from twin.gridsolver import grid_process
from twin.layout import run_files as run_layout_files
from twin.metrics import grid_kpis, merge_kpis
from twin.recorder import Recorder, Recording, Series, events_table, write_timeseries
from twin.scenario import Scenario, canonical_json, scenario_hash
from twin.store import run_id_for, write_run
from twin.store.manifest import provenance

if TYPE_CHECKING:
    import pandapower

logger = logging.getLogger(__name__)

@dataclass
class Simulation:
    """A built, not yet run, simulation.

    Attributes
    ----------
    scenario : Scenario
        The scenario.
    seed : int
        Seed of :attr:`rng`.
    net : pandapowerNet
        The network with the scenario's assets added.
    model : PowerFlowModel
        The power-flow model.
    env : simpy.Environment
        The environment.
    clock : StepClock
        The step clock.
    recorder : Recorder
        The recorder.
    families : dict
        ``"network"`` and each asset kind present -> its family.
    controller : object or None
        The controller (None when control is off).
    rng : numpy.random.Generator
        The run's one generator.
    """

    scenario: Scenario
    seed: int
    net: pandapower.pandapowerNet
    model: PowerFlowModel
    env: simpy.Environment
    clock: StepClock
    recorder: Recorder
    injections: InjectionBuffer
    families: dict[str, Any]
    controller: Any
    rng: np.random.Generator
    build_time_s: float = 0.0
    channel_counts: dict[int, int] = field(default_factory=dict)
    """Number of recorder channels of each family (keyed by ``id(family)``)."""
    extras: Any = None
    """Communication model and faults of the run (:class:`twin.faults.RunFaults`), or
    None when the scenario has neither."""


@dataclass(frozen=True)
class SimulationOutput:
    """What a finished simulation produced (nothing written yet).

    Attributes
    ----------
    recording : Recording
        Per-step arrays and events.
    derived : DerivedResults
        Grid results derived from the recorded voltages.
    kpis : dict
        KPI name -> value.
    stop_reason : str or None
        Why the run ended before its last step, if it did.
    timings : dict
        ``build_s``, ``simulate_s`` (the stepping loop), ``solve_s`` (inside the solver),
        ``derive_s``. [s]
    """

    recording: Recording
    derived: DerivedResults
    kpis: dict[str, Any]
    stop_reason: str | None
    timings: dict[str, float] = field(default_factory=dict)
    derived_intervals: DerivedResults | None = None
    """Grid results of every interval of ``recording.intervals``."""


@dataclass(frozen=True)
class RunResult:
    """A run written to the results store.

    Attributes
    ----------
    run_id : str
        Folder name, ``<scenario.name>-<hash[:10]>-s<seed>``.
    path : pathlib.Path
        The run folder.
    kpis : dict
        KPI name -> value (as in ``kpis.json``).
    stop_reason : str or None
        Why the run ended early, if it did.
    wall_time_s : float
        Wall time of the whole run, writing included. [s]
    """

    run_id: str
    path: Path
    kpis: dict[str, Any]
    stop_reason: str | None = None
    wall_time_s: float = 0.0


# ------------------------------------------------------------------------------ build


def build(
    scenario: Scenario,
    *,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Simulation:
    """Build the simulation of a scenario.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    seed : int, optional
        Overrides ``scenario.seed``.
    progress, cancel : callable, optional
        See :class:`~twin.clock.StepClock`.

    Raises
    ------
    ScenarioError
        For semantic problems (unknown SimBench code, bus not in the network, unknown
        profile, ...), one :class:`~twin.errors.Problem` each.
    PowerFlowError
        If the network cannot be set up for power flow.

    A run whose estimated memory (:func:`memory_estimate`) exceeds what the machine
    has available is refused with a :class:`ScenarioError` before its per-step arrays
    are allocated.
    """
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    net, library, families = _network_and_families(scenario)
    model = PowerFlowModel(
        net,
        backend=scenario.grid.backend,
        max_iteration=scenario.grid.max_iteration,
        tolerance_mva=scenario.grid.tolerance_mva,
    )
    checks.raise_if(_memory_problems(scenario, model, families["network"]))
    env = simpy.Environment()
    clock = StepClock(env, scenario.time.n_steps, scenario.time.step_s, progress=progress,
                      cancel=cancel)
    ctx = _family_context(scenario, model, library, seed)
    channel_counts = _start_families(env, clock, families, ctx)
    controller, extras = _start_control_and_grid(env, clock, ctx, families, seed)
    return Simulation(
        scenario=scenario, seed=seed, net=net, model=model, env=env, clock=clock,
        recorder=ctx.recorder, injections=ctx.injections, families=families,
        controller=controller, rng=ctx.rng, build_time_s=time.perf_counter() - started,
        channel_counts=channel_counts, extras=extras,
    )


def _family_context(scenario: Scenario, model: PowerFlowModel, library: Any,
                    seed: int) -> FamilyContext:
    """The run's one seeded generator, the injection buffer and the recorder, in the
    context every family is bound with."""
    n_steps, step_s = scenario.time.n_steps, scenario.time.step_s
    injections = InjectionBuffer(model)
    return FamilyContext(
        scenario=scenario,
        n_steps=n_steps,
        step_s=step_s,
        profile_offset_rows=checks.profile_offset_rows(scenario),
        rng=np.random.default_rng(seed),
        injections=injections,
        library=library,
        model=model,
        recorder=Recorder(n_steps, step_s, model, injections),
    )


def _start_control_and_grid(env: simpy.Environment, clock: StepClock, ctx: FamilyContext,
                            families: dict[str, Any], seed: int) -> tuple[Any, RunFaults | None]:
    """Build the comms model and faults, the controller and the grid process and start
    them in this order (after the families): the controller (when control is on), the
    grid process, then the comms and fault processes. Returns the controller (None when
    control is off) and the comms/faults extras (None without either)."""
    scenario = ctx.scenario
    extras = build_run_faults(
        scenario, env=env, seed=seed, recorder=ctx.recorder, net=ctx.model.net, model=ctx.model,
        injections=ctx.injections, families=families,
    )
    controller = build_controller(_control_context(ctx, families, extras, seed))
    if controller is not None:
        env.process(controller.run(env, clock))
    env.process(grid_process(env, clock, ctx.model, ctx.injections, ctx.recorder, scenario))
    if extras is not None:
        if extras.gateway is not None and not hasattr(controller, "gateway"):
            logger.warning("comms.enabled but the controller (mode %s) makes no solver calls",
                           scenario.control.mode)
        extras.start()  # comms and fault processes start after the controller and grid
    return controller, extras


def _memory_problems(scenario: Scenario, model: PowerFlowModel,
                     network: NetworkFamily) -> list[Any]:
    """A run that would not fit in the memory available, before it allocates its
    per-step arrays (:func:`twin.limits.check_run_memory`)."""
    from twin.limits import check_run_memory

    outputs = scenario.outputs
    groups = tuple(outputs.groups) if outputs.timeseries else ()
    return check_run_memory(memory_estimate(scenario, model, network), scenario.source, groups)


def memory_estimate(scenario: Scenario, model: PowerFlowModel,
                    network: NetworkFamily) -> Any:
    """The :class:`twin.limits.MemoryEstimate` of a scenario's run on its model."""
    from twin.limits import estimate_run_memory

    outputs = scenario.outputs
    n_elements = sum(network.n_rows.values())
    recorded = n_elements if outputs.timeseries and "element" in outputs.groups \
        else network.n_rows.get("sgen", 0)
    return estimate_run_memory(
        n_steps=scenario.time.n_steps, n_bus_internal=model.n_bus_internal,
        n_bus=len(model.bus_index), n_injections=model.n_injections,
        n_network_elements=n_elements, n_recorded_elements=recorded,
        n_lines=len(model.line_index), n_trafos=len(model.trafo_index),
        n_ext_grids=len(model.ext_grid_index), n_assets=len(scenario.assets),
    )


def _network_and_families(
    scenario: Scenario,
) -> tuple[pandapower.pandapowerNet, Any, dict[str, Any]]:
    """Check the scenario, build its network and add one element row per asset.

    Returns the net, the SimBench profile library (None without one) and ``"network"``
    plus each asset kind present -> its family (not bound yet).
    """
    checks.raise_if(checks.check_scenario(scenario))
    try:
        net = build_network(scenario.grid)
    except PowerFlowError as exc:
        raise ScenarioError.single(scenario.source, "grid", str(exc)) from None
    code = checks.library_code(scenario)
    library = profile_library(code) if code is not None else None
    checks.raise_if(checks.check_against_network(scenario, net, library))
    families: dict[str, Any] = {"network": NetworkFamily(net)}
    for kind, family_cls in FAMILIES.items():
        specs = [a for a in scenario.assets if a.kind == kind]
        if specs:
            families[kind] = family_cls.add_to_network(specs, net)
    return net, library, families


def _start_families(
    env: simpy.Environment, clock: StepClock, families: dict[str, Any], ctx: FamilyContext
) -> dict[int, int]:
    """Bind every family, register its recorder channels and start its process.

    Returns the number of channels of each family, keyed by ``id(family)``.
    """
    channel_counts: dict[int, int] = {}
    for family in families.values():
        family.bind(ctx)
        channels = family.channels()
        channel_counts[id(family)] = len(channels)
        ctx.recorder.add_channels(channels)
        env.process(family.run(env, clock))
    return channel_counts


def _control_context(
    ctx: FamilyContext, families: dict[str, Any], extras: RunFaults | None, seed: int
) -> ControlContext:
    """The controller's context: what it reads, and its gateway, comms model and faults.

    Without comms the gateway is a :class:`~twin.control.gateway.DirectGateway` seeded
    with the run's ``seed`` (as the comms gateway is); with ``comms.enabled`` it is the
    comms model's gateway. With sensor faults the controller reads the affected
    families through their sensed views.
    """
    scenario = ctx.scenario
    gateway = extras.gateway if extras is not None else None
    if gateway is None:
        gateway = DirectGateway(seed=seed, recorder=ctx.recorder)
    return ControlContext(
        scenario=scenario,
        families=extras.controller_families if extras is not None else families,
        injections=ctx.injections,
        model=ctx.model,
        recorder=ctx.recorder,
        rng=ctx.rng,
        n_steps=ctx.n_steps,
        step_s=ctx.step_s,
        gateway=gateway,
        comms=extras.comms if extras is not None else None,
        faults=extras.injector if extras is not None else None,
    )


# ---------------------------------------------------------------------------- simulate


def simulate(sim: Simulation) -> SimulationOutput:
    """Run a built simulation to its end (or its stop) and compute the KPIs.

    Raises
    ------
    RunCancelledError
        When the ``cancel`` callable returned True.
    """
    t0 = time.perf_counter()
    done = sim.clock.run()
    simulate_s = time.perf_counter() - t0
    if sim.clock.cancelled:
        raise RunCancelledError(f"run of '{sim.scenario.name}' cancelled after {done} steps")
    recording = sim.recorder.finish(done)
    t1 = time.perf_counter()
    iv = recording.intervals
    derived_iv = sim.model.derive(iv.v, iv.p_mw, iv.q_mvar)
    if iv.pcc_open.any():  # the upstream grid is disconnected: no exchange, by construction
        derived_iv.slack_p_mw[iv.pcc_open] = 0.0
        derived_iv.slack_q_mvar[iv.pcc_open] = 0.0
    derived = derived_iv if iv.fixed_step else _rows(derived_iv, iv.first)
    derive_s = time.perf_counter() - t1
    kpis = _one_unserved_figure(_kpis(sim, recording, derived_iv))
    return SimulationOutput(
        recording=recording,
        derived=derived,
        kpis=kpis,
        stop_reason=sim.clock.stop_reason,
        timings={
            "build_s": sim.build_time_s,
            "simulate_s": simulate_s,
            "solve_s": recording.solve_time_s,
            "derive_s": derive_s,
            # the controller's wall-clock figures (EMS solver calls): never KPIs
            **(sim.controller.timings() if hasattr(sim.controller, "timings") else {}),
        },
        derived_intervals=derived_iv,
    )


def _kpis(sim: Simulation, recording: Recording, derived_iv: DerivedResults) -> dict[str, Any]:
    """The run's KPIs: PCC billing metered over the intervals, then the grid KPIs, every
    family's, the controller's and the comms/faults' ones, in that order."""
    iv, outputs = recording.intervals, sim.scenario.outputs
    microgrid = getattr(sim.controller, "microgrid", None)
    if microgrid is not None:  # PCC billing from the same power flows as the grid KPIs
        microgrid.meter_intervals(iv.step, iv.duration_s, derived_iv.slack_p_mw, iv.pcc_open,
                                  iv.island_p_mw, iv.unserved_mw)
    kpis = grid_kpis(recording, derived_iv, injection_weight=sim.model.injection_weight,
                     element_slices=sim.model.element_slices,
                     voltage_band_pu=outputs.voltage_band_pu,
                     loading_limit_percent=outputs.loading_limit_percent)
    parts = []
    position = 0
    for family in sim.families.values():
        n = sim.channel_counts[id(family)]
        values = [s.values for s in recording.channels[position : position + n]]
        position += n
        if hasattr(family, "kpis"):
            parts.append(family.kpis(values, recording.step_s))
    if sim.controller is not None and hasattr(sim.controller, "kpis"):
        parts.append(sim.controller.kpis())  # PCC cost, islanding, solver calls (EMS)
    kpis = merge_kpis(kpis, parts)
    if sim.extras is not None:
        kpis = {**kpis, **sim.extras.kpis(float(recording.n_steps * recording.step_s))}
    return kpis


def _rows(derived: DerivedResults, rows: np.ndarray) -> DerivedResults:
    """The derived results of some interval rows (each step's first interval)."""
    return DerivedResults(**{name: getattr(derived, name)[rows]
                             for name in DerivedResults.__dataclass_fields__})


def _one_unserved_figure(kpis: dict[str, Any]) -> dict[str, Any]:
    """One unserved-energy figure: load on buses without supply plus load shed in
    islands (both per interval, from the power flows: ``load_unserved_mwh``), in
    ``unserved_energy_kwh`` and, with reliability indices, in
    ``reliability_energy_not_supplied_mwh``."""
    dark_mwh = float(kpis.get("load_unserved_mwh") or 0.0)
    if dark_mwh == 0.0 and "reliability_energy_not_supplied_mwh" not in kpis:
        return kpis  # nothing went dark and no reliability indices: figures as they are
    out = dict(kpis)
    total_kwh = dark_mwh * 1000.0
    out["unserved_energy_kwh"] = total_kwh
    if "reliability_energy_not_supplied_mwh" in out:
        out["reliability_energy_not_supplied_mwh"] = total_kwh / 1000.0
    return out


def _step_means(out: SimulationOutput, values: np.ndarray) -> np.ndarray:
    """Per step: the time-weighted mean of an interval series over the step (the
    step's only value when it has one interval), so ``mean * step_h`` is its energy."""
    iv = out.recording.intervals
    if iv is None or iv.fixed_step:
        return values
    weights = iv.duration_s if values.ndim == 1 else iv.duration_s[:, None]
    with np.errstate(invalid="ignore"):
        summed = np.add.reduceat(np.nan_to_num(values) * weights, iv.first, axis=0)
    return summed / out.recording.step_s


def timeseries_series(sim: Simulation, out: SimulationOutput) -> list[Series]:
    """The blocks of ``timeseries.parquet`` selected by ``outputs.groups``."""
    groups = set(sim.scenario.outputs.groups)
    model = sim.model
    derived = out.derived
    rec = out.recording
    blocks: list[Series] = []
    if "bus" in groups:
        ids = tuple(f"bus/{i}" for i in model.bus_index)
        blocks.append(Series("bus", "vm_pu", "pu", ids, derived.vm_pu))
    if "line" in groups and len(model.line_index):
        ids = tuple(f"line/{i}" for i in model.line_index)
        blocks.append(Series("line", "loading_percent", "%", ids, derived.line_loading_percent))
    if "trafo" in groups and len(model.trafo_index):
        ids = tuple(f"trafo/{i}" for i in model.trafo_index)
        blocks.append(
            Series("trafo", "loading_percent", "%", ids, derived.trafo_loading_percent)
        )
    if "grid" in groups:
        # grid totals: each step's time-weighted mean over its intervals (mean * step_h
        # is the step's energy); bus, line and trafo rows are the profile-boundary state
        iv = rec.intervals
        whole = out.derived_intervals if out.derived_intervals is not None else derived
        p_rows = iv.p_mw if iv is not None and out.derived_intervals is not None else rec.p_mw
        flows = model.injection_weight * p_rows
        sl = model.element_slices
        totals = {
            "import_p_mw": whole.slack_p_mw.sum(axis=1),
            "losses_p_mw": whole.losses_p_mw,
            "load_p_mw": -flows[:, sl["load"]].sum(axis=1),
            "generation_p_mw": flows[:, sl["sgen"]].sum(axis=1),
            "storage_p_mw": -flows[:, sl["storage"]].sum(axis=1),
        }
        for quantity, values in totals.items():
            values = _step_means(out, values)
            blocks.append(Series("grid", quantity, "MW", ("grid/total",), values[:, None]))
        blocks.append(
            Series("grid", "converged", "1", ("grid/total",), rec.converged.astype(float)[:, None])
        )
    blocks.extend(s for s in rec.channels if s.group in groups)
    return blocks


# ------------------------------------------------------------------------------- run


def run(
    scenario: Scenario,
    *,
    store: str | Path = "runs",
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> RunResult:
    """Run a scenario and write its run folder into the results store.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`twin.load_scenario`).
    store : str or pathlib.Path
        Results store folder.
    seed : int, optional
        Overrides ``scenario.seed``.
    progress : callable, optional
        ``progress(done_steps, total_steps)``.
    cancel : callable, optional
        ``cancel() -> bool``; True stops the run with :class:`RunCancelledError` and
        nothing is written.

    Returns
    -------
    RunResult
        The run's id, folder and KPIs.
    """
    started_at = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    sim = build(scenario, seed=seed, progress=progress, cancel=cancel)
    out = simulate(sim)
    digest = scenario_hash(scenario)
    run_id = run_id_for(scenario.name, digest, seed)
    recording = out.recording
    blocks = timeseries_series(sim, out) if scenario.outputs.timeseries else []

    def ts(path: Path) -> None:  # streamed one row group at a time, not built whole
        write_timeseries(path, recording.time_s, blocks)

    events = events_table(recording.events)
    wall = time.perf_counter() - t0
    manifest = _manifest(sim, out, run_id=run_id, digest=digest, seed=seed,
                         started_at=started_at, wall_s=wall)
    extra_files = getattr(sim.controller, "extra_files", None)  # e.g. problems/*.lp
    files = {**(extra_files() if extra_files is not None else {}),
             **run_layout_files(sim.net, scenario)}  # layout.json: the app's network map
    path = write_run(store, run_id, manifest=manifest, kpis=out.kpis, timeseries=ts, events=events,
                     extra_files=files)
    logger.info("run %s written to %s in %.2f s", run_id, path, wall)
    return RunResult(
        run_id=run_id, path=path, kpis=out.kpis, stop_reason=out.stop_reason, wall_time_s=wall
    )


def _manifest(sim: Simulation, out: SimulationOutput, *, run_id: str, digest: str, seed: int,
              started_at: dt.datetime, wall_s: float) -> dict[str, Any]:
    """``manifest.json`` of a run (columns in ``docs/contracts.md``)."""
    import json

    scenario, recording = sim.scenario, out.recording
    resolved = scenario.model_copy(update={"seed": seed})
    return {
        "run_id": run_id,
        "scenario_name": scenario.name,
        "scenario_file": scenario.source,
        "scenario": json.loads(canonical_json(resolved, include_seed=True)),
        "scenario_hash": digest,
        "seed": seed,
        **provenance(),
        "started_at": started_at.isoformat(),
        "wall_time_s": wall_s,
        "n_steps": recording.n_steps,
        "n_steps_planned": scenario.time.n_steps,
        "step_s": recording.step_s,
        "sim_start": scenario.time.start.isoformat(),
        "stop_reason": out.stop_reason,
        "backend": scenario.grid.backend,
        "timings_s": out.timings,
    }
