"""Scenario files: the pydantic schema, loading with ``base:`` includes, overrides.

A scenario is pure data, validated on load. Every model forbids unknown keys and is
frozen. Units live in field names (``capacity_kwh``, ``power_kw``); durations are strings
("15min", "7d").

Public names: :class:`Scenario` and its sections (:class:`TimeSpec`, the grid specs,
:class:`ProfilesSpec`, the asset specs, :class:`ControlSpec`, :class:`OutputsSpec`),
:data:`AssetSpec`, :func:`load_scenario`, :func:`scenario_from_dict`,
:func:`apply_overrides`, :func:`deep_merge`, :func:`scenario_hash`, :func:`json_schema`,
:class:`FileReference`, :func:`file_references`, :func:`walk_models`.

Adding an asset kind
--------------------
Write a spec model below with ``kind: Literal["<kind>"]``, add it to the
:data:`AssetSpec` union, and map the kind to its family class in
``twin/assets/registry.py``. Nothing else changes.

Adding a top-level section
--------------------------
Write a model for it and add one field to :class:`Scenario` with a default, so that
older files stay valid. Regenerate ``scenarios/schema.json`` with ``twin schema``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.comms.spec import CommsSpec
from twin.errors import Problem, ScenarioError
from twin.faults import FaultSpec
from twin.limits import (
    MAX_BASE_CHAIN,
    MAX_SEED,
    InputRefused,
    StrictNumbers,
    check_regular_file,
    load_yaml_file,
    short_repr,
)
from twin.simtime import parse_duration_s

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MAX_NAME_CHARS = 64
"""Longest scenario or asset name (a run id holds the name; file names end at 255)."""
MAX_ITEMS = 1000
"""Most assets, and most faults, in one scenario."""
MAX_DURATION_S = 10 * 366 * 86400
"""Longest horizon a scenario may ask for (about ten years). [s]"""
MAX_STEPS = 2_000_000
"""Most grid steps in one run (a year at 15 s)."""
MAX_POWER_KW = 1.0e6
"""Largest power of one asset (1 GW): anything bigger is a typo on a distribution grid. [kW]"""
MAX_ENERGY_KWH = 1.0e7
"""Largest energy capacity of one asset (10 GWh). [kWh]"""


class _Spec(StrictNumbers):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _duration(value: str) -> str:
    parse_duration_s(value)
    return value


class TimeSpec(_Spec):
    """Simulated horizon: when it starts, how long it lasts, how often the grid steps."""

    start: dt.datetime = Field(
        dt.datetime(2016, 1, 1),
        description="Calendar time of simulated second 0 (ISO 8601). SimBench profiles "
        "cover the year 2016.",
    )
    duration: str = Field(
        "1d", description="Length of the run, e.g. '1d', '7d', '1y'. [duration string]"
    )
    step: str = Field(
        "15min", description="Grid step: the power flow runs once per step. [duration string]"
    )

    _check_duration = field_validator("duration")(_duration)

    @field_validator("start")
    @classmethod
    def _calendar(cls, value: dt.datetime) -> dt.datetime:
        if not 1900 <= value.year <= 2200:
            raise ValueError(f"year {value.year} is out of range; expected 1900 to 2200")
        return value

    @field_validator("step")
    @classmethod
    def _step(cls, value: str, info: ValidationInfo) -> str:
        step_s = parse_duration_s(value)
        if step_s < 1:
            raise ValueError("step must be at least 1 s")
        duration = info.data.get("duration")
        if duration is None:
            return value
        duration_s = parse_duration_s(duration)
        if duration_s < step_s:
            raise ValueError(f"step {value} is longer than duration {duration}")
        if duration_s % step_s:
            raise ValueError(
                f"step {value} does not divide duration {duration}; "
                "expected a step that fits a whole number of times into the duration"
            )
        if duration_s // step_s > MAX_STEPS:
            raise ValueError(
                f"{duration_s // step_s} steps is too many; expected at most {MAX_STEPS}"
            )
        return value

    @field_validator("duration")
    @classmethod
    def _not_absurd(cls, value: str) -> str:
        if parse_duration_s(value) > MAX_DURATION_S:
            raise ValueError(f"duration {value} is absurd; expected at most 10 years")
        return value

    @property
    def duration_s(self) -> int:
        """Length of the run. [s]"""
        return parse_duration_s(self.duration)

    @property
    def step_s(self) -> int:
        """Grid step. [s]"""
        return parse_duration_s(self.step)

    @property
    def n_steps(self) -> int:
        """Number of grid steps in the run."""
        return self.duration_s // self.step_s


class _GridCommon(_Spec):
    backend: Literal["lightsim2grid", "pandapower"] = Field(
        "lightsim2grid",
        description="Power-flow backend: 'lightsim2grid' (its Newton-Raphson in C++, fast) "
        "or 'pandapower' (pandapower's own runpp each step, slow, the reference).",
    )
    on_nonconvergence: Literal["continue", "stop"] = Field(
        "continue",
        description="What a step whose power flow does not converge does: record an event "
        "and go on ('continue'), or record it and end the run early ('stop').",
    )
    max_iteration: int = Field(10, ge=1, le=100, description="Newton-Raphson iterations.")
    tolerance_mva: float = Field(
        1e-8, gt=0, le=1e-2, description="Newton-Raphson mismatch tolerance. [MVA]"
    )


class SimbenchGridSpec(_GridCommon):
    """A SimBench network, with its one-year 15-minute profiles (shipped by simbench)."""

    source: Literal["simbench"] = "simbench"
    code: str = Field(description="SimBench code, e.g. '1-LV-rural1--0-sw'.")


PandapowerNetworkName = Literal["cigre_lv", "cigre_mv", "cigre_mv_pv_wind", "mv_oberrhein"]


class PandapowerGridSpec(_GridCommon):
    """A network built into pandapower (pandapower.networks)."""

    source: Literal["pandapower"]
    network: PandapowerNetworkName = Field(
        description="Name of the built-in network: cigre_lv, cigre_mv, cigre_mv_pv_wind "
        "(CIGRE MV with PV and wind), mv_oberrhein."
    )


class FileGridSpec(_GridCommon):
    """A pandapower network stored as JSON (e.g. under data/)."""

    source: Literal["file"]
    path: str = Field(
        description="Path of a pandapower JSON file, relative to the scenario file."
    )


GridSpec = Annotated[
    SimbenchGridSpec | PandapowerGridSpec | FileGridSpec, Field(discriminator="source")
]


class ProfilesSpec(_Spec):
    """How the network's own loads and static generators vary in time."""

    source: Literal["simbench", "constant"] = Field(
        "simbench",
        description="'simbench': each load and sgen of a SimBench net follows its own "
        "profile; 'constant': they keep the values stored in the network.",
    )
    library: str | None = Field(
        None,
        description="SimBench code whose relative profiles the assets' named profiles "
        "come from; defaults to the grid's own code when the grid is SimBench.",
    )
    load_scale: float = Field(1.0, ge=0, le=100, description="Factor on all network loads.")
    sgen_scale: float = Field(
        1.0, ge=0, le=100, description="Factor on all network static generators."
    )
    load_noise_frac: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Standard deviation of a multiplicative Gaussian noise on every load "
        "and step (drawn from the run's seeded generator; 0 is deterministic). [fraction]",
    )


class LoadAssetSpec(_Spec):
    """An extra consumer at a bus, following a named profile (or constant)."""

    kind: Literal["load"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    peak_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Power at profile value 1. [kW]")
    profile: str | None = Field(
        None, description="SimBench load profile, e.g. 'H0-A'; none means constant."
    )
    power_factor: float = Field(
        0.95, gt=0, le=1, description="Inductive power factor (q = p tan(acos(pf)))."
    )


class PvAssetSpec(_Spec):
    """A PV system at a bus: available power from a named profile, curtailable."""

    kind: Literal["pv"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    peak_kw: float = Field(
        gt=0, le=MAX_POWER_KW, description="Power at profile value 1 (kWp). [kW]"
    )
    profile: str = Field(description="SimBench renewables profile, e.g. 'PV3'.")


class BatteryAssetSpec(_Spec):
    """A battery at a bus with efficiencies, power and energy limits, self-discharge."""

    kind: Literal["battery"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the asset connects to.")
    capacity_kwh: float = Field(
        gt=0, le=MAX_ENERGY_KWH, description="Usable energy capacity. [kWh]"
    )
    power_kw: float = Field(
        gt=0, le=MAX_POWER_KW, description="Charge and discharge power limit (grid side). [kW]"
    )
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="Grid to cell. [fraction]")
    discharge_efficiency: float = Field(
        0.95, gt=0, le=1, description="Cell to grid. [fraction]"
    )
    soc_min_frac: float = Field(0.1, ge=0, lt=1, description="Lowest state of charge.")
    soc_max_frac: float = Field(0.9, gt=0, le=1, description="Highest state of charge.")
    soc_initial_frac: float = Field(0.5, ge=0, le=1, description="State of charge at t=0.")
    self_discharge_frac_per_day: float = Field(
        0.0, ge=0, le=0.5, description="Share of stored energy lost per day. [1/d]"
    )

    @model_validator(mode="after")
    def _soc_bounds(self) -> BatteryAssetSpec:
        if self.soc_min_frac >= self.soc_max_frac:
            raise ValueError("soc_min_frac must be below soc_max_frac")
        if not self.soc_min_frac <= self.soc_initial_frac <= self.soc_max_frac:
            raise ValueError("soc_initial_frac must lie between soc_min_frac and soc_max_frac")
        return self


class EvFleetAssetSpec(_Spec):
    """Electric vehicles charging at one site (one bus): sessions drawn or replayed.

    Sessions are drawn per day from seeded distributions for the site type and weekday
    (see :mod:`twin.assets.ev`), or replayed from a CSV file with columns ``vehicle``,
    ``arrival`` and ``departure`` (durations since the scenario start, e.g. "7h30min",
    or seconds), ``arrival_soc_frac`` and optionally ``capacity_kwh``.
    """

    kind: Literal["ev_fleet"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the chargers connect to.")
    site: Literal["home", "workplace", "depot"] = Field(
        "workplace", description="Site type: sets when vehicles arrive and leave."
    )
    vehicles: int = Field(10, ge=1, le=5000, description="Number of vehicles (one charger each).")
    charger_kw: float = Field(
        11.0, gt=0, le=1000, description="Charger power limit (AC up to 22, DC above). [kW]"
    )
    capacity_kwh: float = Field(60.0, gt=0, le=2000, description="Battery size. [kWh]")
    charge_efficiency: float = Field(0.92, gt=0, le=1, description="Grid to battery. [fraction]")
    target_soc_frac: float = Field(
        0.9, gt=0, le=1, description="State of charge wanted at departure. [fraction]"
    )
    early_departure_prob: float = Field(
        0.0, ge=0, le=1,
        description="Chance that a vehicle leaves earlier than announced (up to 2 h). [-]",
    )
    v2g: bool = Field(False, description="Vehicles may discharge into the grid.")
    v2g_degradation_eur_per_kwh: float = Field(
        0.05, ge=0, le=10, description="Battery wear cost of energy discharged. [EUR/kWh]"
    )
    sessions_file: str | None = Field(
        None, description="CSV of sessions to replay instead of drawing them (relative to "
        "the scenario file)."
    )


class DeferrableRunSpec(_Spec):
    """An appliance run that must happen every day inside a time window."""

    power_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Power while running. [kW]")
    duration: str = Field(description="Run length, e.g. '2h'. [duration string]")
    earliest_h: float = Field(ge=0, le=24, description="Earliest start, hour of day. [h]")
    latest_end_h: float = Field(gt=0, le=24, description="Latest end, hour of day. [h]")

    _check_duration = field_validator("duration")(_duration)

    @model_validator(mode="after")
    def _window(self) -> DeferrableRunSpec:
        if self.latest_end_h - self.earliest_h < parse_duration_s(self.duration) / 3600.0:
            raise ValueError(
                "window from earliest_h to latest_end_h is shorter than duration; expected "
                "earliest_h + duration <= latest_end_h"
            )
        return self


class BuildingAssetSpec(_Spec):
    """A building: one RC thermal zone, HVAC, occupancy, comfort bands, deferrable loads.

    Parameters default to the preset of ``building_type`` (see
    ``twin.assets.building.BUILDING_TYPES``); outdoor conditions come from ``weather``.
    """

    kind: Literal["building"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the building connects to.")
    building_type: Literal["residential", "office", "retail"] = Field(
        "office", description="Preset for the thermal zone, HVAC, occupancy and gains."
    )
    scale: float = Field(
        1.0, gt=0, le=100,
        description="Size relative to the preset (floor area, capacities, conductances, "
        "gains and HVAC power scale together). [-]",
    )
    hvac_kw: float | None = Field(
        None, gt=0, le=MAX_POWER_KW, description="HVAC electrical power limit (default: "
        "preset x scale). [kW]"
    )
    comfort_band_c: tuple[float, float] | None = Field(
        None, description="Comfort band while occupied, [lower, upper] (default: preset). [degC]"
    )
    setback_band_c: tuple[float, float] | None = Field(
        None, description="Band while unoccupied, [lower, upper] (default: preset). [degC]"
    )
    initial_temp_c: float = Field(22.0, ge=-20, le=50, description="Air and mass at t=0. [degC]")
    deferrable: tuple[DeferrableRunSpec, ...] = Field(
        (), description="Appliance runs due every day inside their window."
    )

    @field_validator("comfort_band_c", "setback_band_c")
    @classmethod
    def _band(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(
                f"band [{value[0]}, {value[1]}] is inverted or empty; expected [lower, upper] "
                "with lower < upper"
            )
        return value


class GeneratorAssetSpec(_Spec):
    """A dispatchable generator (diesel, gas engine, CHP) with unit-commitment limits."""

    kind: Literal["generator"]
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Unique asset name.")
    bus: int = Field(ge=0, description="pandapower bus index the generator connects to.")
    p_min_kw: float = Field(ge=0, le=MAX_POWER_KW, description="Lowest output when on. [kW]")
    p_max_kw: float = Field(gt=0, le=MAX_POWER_KW, description="Highest output. [kW]")
    min_up: str = Field("1h", description="Minimum time on once started. [duration string]")
    min_down: str = Field("1h", description="Minimum time off once stopped. [duration string]")
    startup_cost_eur: float = Field(5.0, ge=0, le=1e6, description="Cost of a start. [EUR]")
    fuel_cost_eur_per_kwh: float = Field(
        0.30, ge=0, le=100, description="Fuel cost of energy produced. [EUR/kWh]"
    )
    grid_forming: bool = Field(
        True, description="Can form an island (set voltage and balance) when islanded."
    )
    initially_on: bool = Field(False, description="Running at t=0.")

    _check_up = field_validator("min_up", "min_down")(_duration)

    @field_validator("p_max_kw")
    @classmethod
    def _limits(cls, value: float, info: ValidationInfo) -> float:
        p_min = info.data.get("p_min_kw")
        if p_min is not None and p_min > value:
            raise ValueError(
                f"p_min_kw {p_min} is above p_max_kw {value}; expected p_min_kw <= p_max_kw"
            )
        return value


AssetSpec = Annotated[
    LoadAssetSpec
    | PvAssetSpec
    | BatteryAssetSpec
    | EvFleetAssetSpec
    | BuildingAssetSpec
    | GeneratorAssetSpec,
    Field(discriminator="kind"),
]
"""Union of all asset specs, discriminated on ``kind``."""


class EmsTaskSpec(_Spec):
    """Which solver a control task of the EMS uses, and how."""

    solver: str = Field("milp", description="Registered solver name: milp, qaoa, hybrid, "
                        "exact, annealing, tabu, ...")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Options passed to the solver (see `twin solvers`)."
    )
    fallback: str | None = Field(
        "milp", description="Solver used when the named one refuses the problem (too large, "
        "not binary) or returns no solution; none: keep the last good schedule."
    )
    reference: bool = Field(
        False, description="Also solve every call with MILP to record the optimum and the "
        "approximation ratio (not charged to the call)."
    )
    time_limit_s: float | None = Field(
        None, gt=0, le=3600, description="Solver time limit per call. [s]"
    )
    max_binaries: int = Field(
        12, ge=1, le=64, description="Largest sub-problem (binary variables) a decomposed "
        "task sends to the solver (the qubit budget)."
    )


class DecisionCompareSpec(_Spec):
    """One solver that also solves every decision sub-problem (for the comparison)."""

    solver: str = Field(description="Registered solver name (qaoa, annealing, tabu, milp, ...).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Options passed to the solver (see `twin solvers`)."
    )
    max_calls: int | None = Field(
        None, ge=0, le=1_000_000, description="Solve only the first this many sub-problems "
        "of the run (a slow solver, e.g. QAOA under a device noise model); none: all."
    )


class DecisionsSpec(_Spec):
    """QUBO-sized binary decisions the EMS routes to a solver before each dispatch
    (twin.control.formulations); the decided binaries are fixed in the dispatch MILP,
    whose continuous part HiGHS solves."""

    types: list[Literal["unit_commitment", "ev_chargers", "deferrable_loads",
                        "battery_mode"]] = Field(
        default_factory=list, max_length=4,
        description="Decision types to route (none: the dispatch MILP decides everything).",
    )
    solver: str = Field("qaoa", description="Solver of the decision sub-problems.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options of that solver.")
    fallback: str | None = Field(
        "milp", description="Solver used when the named one refuses a sub-problem or "
        "returns no solution (counted under the fallback, never the named solver)."
    )
    reference: bool = Field(
        True, description="Solve every sub-problem and every full decision problem with "
        "milp too (the optimum the ratios and gaps are measured against)."
    )
    time_limit_s: float | None = Field(None, gt=0, le=3600,
                                       description="Solver time limit per call. [s]")
    max_qubits: int = Field(24, ge=1, le=32, description="Qubit budget of one sub-problem "
                            "(its QUBO, slack binaries included). [-]")
    decompose: bool = Field(
        True, description="Split a decision into time windows and asset clusters that fit "
        "max_qubits; off: each decision is one problem (a solver refuses what does not fit)."
    )
    window_slots: int | None = Field(
        None, ge=1, le=400, description="Largest time window of a sub-problem. [slots]"
    )
    penalty: float | None = Field(
        None, gt=0, le=1e9, description="QUBO penalty of the constraints (none: "
        "qiskit-optimization's automatic rule). [objective units]"
    )
    ev_chargers: int = Field(4, ge=1, le=1000,
                             description="Shared chargers of the EV decision. [-]")
    deferrable_peak_kw: float | None = Field(
        None, gt=0, le=MAX_POWER_KW, description="Peak limit of the deferrable loads "
        "(none: the PCC headroom over the forecast base load). [kW]"
    )
    switch_cost_eur: float = Field(
        0.5, ge=0, le=1e4, description="Cost of a battery change of direction. [EUR]"
    )
    compare: dict[str, DecisionCompareSpec] = Field(
        default_factory=dict, max_length=12,
        description="Label -> solver: each also solves every sub-problem (events "
        "'solver_compare'; uniform random sampling is always added as 'random').",
    )
    random_shots: int = Field(512, ge=1, le=1_000_000,
                              description="Shots of the uniform random baseline. [-]")


class EmsSpec(_Spec):
    """The rolling-horizon energy-management controller (``control.mode: ems``)."""

    plan_step: str = Field("1h", description="Time resolution of the plan. [duration string]")
    horizon: str = Field("24h", description="How far each plan looks ahead. [duration string]")
    replan_every: str = Field("1h", description="Time between plans. [duration string]")
    dispatch: EmsTaskSpec = Field(
        default_factory=EmsTaskSpec,
        description="The joint schedule (unit commitment, batteries, EVs, HVAC, deferrable "
        "loads, PCC): a MILP.",
    )
    ev_charging: Literal["joint", "slot_assignment"] = Field(
        "joint", description="'joint': EV charging is part of the dispatch MILP; "
        "'slot_assignment': each plan slot decides which vehicles charge at full power, "
        "a binary problem per slot solved by the ev_assignment task (fits a qubit budget)."
    )
    ev_departure_margin: str = Field(
        "2h", description="The EMS plans each vehicle to be charged this long before its "
        "announced departure (a hedge against early leavers). [duration string]"
    )
    ev_assignment: EmsTaskSpec = Field(
        default_factory=EmsTaskSpec, description="Solver of the per-slot EV assignment."
    )
    late_answers: Literal["drop", "apply_if_valid"] = Field(
        "drop", description="A dispatch answer that arrives past its deadline (the comms "
        "task's deadline_s) is recorded as late and 'drop'ped, or applied when its schedule "
        "still covers the present ('apply_if_valid')."
    )
    comfort_margin_k: float = Field(
        0.3, ge=0, le=3, description="The plan keeps zones this far inside their comfort "
        "band (room for what happens within a plan slot). [K]"
    )
    comfort_penalty_eur_per_kh: float = Field(
        10.0, ge=0, le=1e4, description="Price of one degree-hour outside the band. [EUR/Kh]"
    )
    unmet_ev_penalty_eur_per_kwh: float = Field(
        2.0, ge=0, le=1e4, description="Price of EV energy missing at departure. [EUR/kWh]"
    )
    battery_cycle_cost_eur_per_kwh: float = Field(
        0.01, ge=0, le=10, description="Wear cost of battery throughput. [EUR/kWh]"
    )
    decisions: DecisionsSpec = Field(
        default_factory=DecisionsSpec, description="Binary decisions routed to a solver "
        "(QAOA and its baselines) before each dispatch."
    )

    _check = field_validator("plan_step", "horizon", "replan_every", "ev_departure_margin")(
        _duration
    )

    @model_validator(mode="after")
    def _steps(self) -> EmsSpec:
        plan = parse_duration_s(self.plan_step)
        if plan < 1:
            raise ValueError(f"plan_step {self.plan_step} is zero; expected at least 1 s, "
                             "e.g. '15min' or '1h'")
        if parse_duration_s(self.replan_every) < 1:
            raise ValueError(f"replan_every {self.replan_every} is zero; expected at least "
                             "1 s, e.g. '1h'")
        if parse_duration_s(self.horizon) < plan:
            raise ValueError("horizon is shorter than plan_step; expected horizon >= plan_step")
        if parse_duration_s(self.horizon) // plan > 400:
            raise ValueError("horizon / plan_step is above 400 slots; expected a coarser plan")
        return self


class TariffPeriodSpec(_Spec):
    """A time-of-use period: the price from ``from_h`` until the next period starts."""

    from_h: float = Field(ge=0, lt=24, description="Start, hour of day. [h]")
    import_eur_per_kwh: float = Field(ge=-10, le=100, description="Import price. [EUR/kWh]")


class OutageSpec(_Spec):
    """A time the upstream grid is lost (the network behind the PCC islands)."""

    start: str = Field(description="Start, since the scenario start, e.g. '1d 10h'.")
    duration: str = Field(description="Length, e.g. '3h'.")

    _check = field_validator("start", "duration")(_duration)


class PccSpec(_Spec):
    """The point of common coupling: prices, power limit and upstream outages."""

    tariff: tuple[TariffPeriodSpec, ...] = Field(
        (
            TariffPeriodSpec(from_h=0, import_eur_per_kwh=0.20),
            TariffPeriodSpec(from_h=7, import_eur_per_kwh=0.30),
            TariffPeriodSpec(from_h=17, import_eur_per_kwh=0.40),
            TariffPeriodSpec(from_h=21, import_eur_per_kwh=0.20),
        ),
        description="Time-of-use import prices by hour of day.",
    )
    export_eur_per_kwh: float = Field(0.08, ge=-10, le=100, description="Export price. [EUR/kWh]")
    limit_kw: float | None = Field(
        None, gt=0, le=MAX_POWER_KW,
        description="Largest import or export through the PCC (transformer limit); none: "
        "unlimited. [kW]",
    )
    outages: tuple[OutageSpec, ...] = Field(
        (), description="Upstream grid outages: the network islands."
    )


class WeatherSpec(_Spec):
    """Outdoor weather for buildings: a typical-year file read through pvlib."""

    file: str = Field(
        "723170TYA.CSV", description="A TMY3 CSV, TMY2 .tm2 or EPW file: a path relative to "
        "the scenario file, or the name of a file shipped in pvlib/data."
    )


class ControlSpec(_Spec):
    """The energy-management controller (rule-based in this version)."""

    mode: Literal["off", "self_consumption", "rule_based", "ems"] = Field(
        "off",
        description="'off': batteries idle, PV uncurtailed; 'self_consumption': batteries "
        "absorb surplus and cover deficit (see scope), PV curtailed above export_limit_kw; "
        "'rule_based': plug-and-charge EVs, thermostats, batteries on self-consumption, "
        "generators as island backup, with PCC metering and islanding; "
        "'ems': the rolling-horizon optimising controller (see ems).",
    )
    ems: EmsSpec = Field(
        default_factory=EmsSpec, description="Settings of the optimising controller (mode ems)."
    )
    scope: Literal["bus", "grid"] = Field(
        "bus",
        description="What a battery balances: the net load at its own bus, or the whole "
        "grid's exchange (shared between batteries in proportion to power_kw).",
    )
    export_limit_kw: float | None = Field(
        None,
        ge=0,
        le=MAX_POWER_KW,
        description="Largest export to the upstream grid; the controller curtails the "
        "scenario's PV assets to keep under it (none: no limit). [kW]",
    )


TimeseriesGroup = Literal["bus", "line", "trafo", "grid", "element", "asset"]


class OutputsSpec(_Spec):
    """What a run records and the limits KPIs are measured against."""

    timeseries: bool = Field(True, description="Write timeseries.parquet.")
    groups: tuple[TimeseriesGroup, ...] = Field(
        ("bus", "line", "trafo", "grid", "element", "asset"),
        description="Which entity groups go into timeseries.parquet: bus voltages, line "
        "and trafo loadings, grid totals, the network's own loads/sgens, scenario assets.",
    )
    voltage_band_pu: tuple[float, float] = Field(
        (0.95, 1.05), description="Allowed bus voltage band for KPIs. [pu]"
    )
    loading_limit_percent: float = Field(
        100.0, gt=0, le=1000, description="Line/trafo loading counted as overload. [%]"
    )

    @field_validator("voltage_band_pu")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low < high < 2:
            raise ValueError("expected [low, high] with 0 < low < high < 2")
        return value


class Scenario(_Spec):
    """A complete scenario: what grid, which assets, what control, over what horizon."""

    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_CHARS,
                      description="Short name, used in run ids.")
    description: str = Field("", description="What the scenario shows.")
    seed: int = Field(0, ge=0, lt=MAX_SEED + 1, description="Seed of the run's random generator.")
    time: TimeSpec = Field(default_factory=TimeSpec)
    grid: GridSpec
    profiles: ProfilesSpec = Field(default_factory=ProfilesSpec)
    assets: tuple[AssetSpec, ...] = Field(
        (), max_length=MAX_ITEMS, description="Assets the scenario adds."
    )
    control: ControlSpec = Field(default_factory=ControlSpec)
    pcc: PccSpec = Field(
        default_factory=PccSpec, description="Point of common coupling: tariff, limit, outages."
    )
    weather: WeatherSpec = Field(
        default_factory=WeatherSpec, description="Outdoor weather (used by buildings)."
    )
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    comms: CommsSpec | None = Field(
        None, description="Communication model of solver calls (twin.comms.spec); none: "
        "solver calls are direct."
    )
    faults: tuple[FaultSpec, ...] = Field(
        (), max_length=MAX_ITEMS, description="Injected faults: grid, comms, service, sensor, solver (twin.faults)."
    )

    _source: str = PrivateAttr("<scenario>")

    @field_validator("assets")
    @classmethod
    def _unique_names(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        seen: set[str] = set()
        for asset in value:
            if asset.name in seen:
                raise ValueError(f"asset name '{asset.name}' is used twice; names must be unique")
            seen.add(asset.name)
        return value

    @property
    def source(self) -> str:
        """The file the scenario was loaded from ("<scenario>" if built in code)."""
        return self._source


# --------------------------------------------------------------------------- loading


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    data = load_yaml_file(path, label, "scenario YAML file")
    return _check_mapping(data, label)


def _check_mapping(data: Any, label: str) -> dict[str, Any]:
    if data is None:
        raise ScenarioError.single(label, "", "is empty; expected a YAML mapping with at least "
                                   "'name' and 'grid'")
    if not isinstance(data, dict):
        raise ScenarioError.single(
            label, "", f"holds a {type(data).__name__}, expected a YAML mapping of sections"
        )
    return data


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` merged over ``base``: mappings merge key by key, anything else
    (lists, scalars) is replaced by a copy of the override.

    This is how a scenario file applies over its ``base:`` file; the app's editor
    resolves uploads the same way.

    Examples
    --------
    >>> deep_merge({"time": {"step": "15min", "duration": "1d"}, "assets": [1]},
    ...            {"time": {"duration": "2d"}, "assets": [2]})
    {'time': {'step': '15min', 'duration': '2d'}, 'assets': [2]}
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(override)


def _resolve_raw(path: Path, label: str) -> dict[str, Any]:
    """Read a file and merge it over its ``base:`` chain (dicts merge, lists replace).

    The chain is walked in a loop (no recursion), at most
    :data:`twin.limits.MAX_BASE_CHAIN` files long, each file read within the limits of
    :mod:`twin.limits`.
    """
    top = label
    layers: list[dict[str, Any]] = []
    seen: set[Path] = set()
    while True:
        resolved = path.resolve()
        if resolved in seen:
            raise ScenarioError.single(label, "base", "includes itself (a cycle of base: files)")
        seen.add(resolved)
        data = _read_yaml(path, label)
        base_ref = data.pop("base", None)
        layers.append(data)
        if base_ref is None:
            break
        if not isinstance(base_ref, str):
            raise ScenarioError.single(label, "base", "expected the path of a scenario file")
        if len(layers) >= MAX_BASE_CHAIN:
            raise ScenarioError.single(
                top, "base", f"the chain of base: files is longer than {MAX_BASE_CHAIN} "
                f"(at {label}); expected a short chain of includes"
            )
        base_path = path.parent / base_ref
        try:
            check_regular_file(base_path, "scenario YAML file")
        except InputRefused as exc:
            raise ScenarioError.single(label, "base", f"{base_ref}: {exc.message}") from None
        path, label = base_path, str(base_path)
    merged = layers.pop()
    while layers:
        merged = deep_merge(merged, layers.pop())
    return merged


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted path of a pydantic error location, without union tags it inserted."""
    parts: list[str] = []
    current = data
    for item in loc:
        if isinstance(current, dict) and item in current:
            parts.append(str(item))
            current = current[item]
        elif isinstance(current, list | tuple) and isinstance(item, int):
            parts.append(str(item))
            current = current[item] if item < len(current) else None
        elif isinstance(current, dict) and isinstance(item, str) and item not in current:
            # either a union tag inserted by pydantic or a missing / unknown key
            if any(isinstance(v, str) and v == item for v in current.values()):
                continue
            parts.append(item)
            current = None
        else:
            parts.append(str(item))
            current = None
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key; check the spelling against scenarios/schema.json"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        return f"unknown kind; expected one of {expected}"
    if kind == "union_tag_not_found":
        return f"missing discriminator; expected field '{error['ctx']['discriminator']}'"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    got = error.get("input")
    if kind not in {"value_error", "assertion_error"} and not isinstance(got, dict | list):
        msg = f"{msg} (got {short_repr(got)})"
    return msg


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a plain mapping as a scenario.

    Parameters
    ----------
    data : dict
        The scenario as parsed from YAML (``base:`` already resolved).
    source : str
        Name used in error messages (usually the file path).

    Raises
    ------
    ScenarioError
        One problem per invalid field, naming ``source``, the field path and the fix.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(source, _field_path(tuple(err["loc"]), data), _message(err))
            for err in exc.errors()
        ]
        raise ScenarioError(problems) from None
    scenario._source = source
    if isinstance(scenario.grid, FileGridSpec) and source != "<scenario>":
        grid_path = Path(scenario.grid.path)
        if not grid_path.is_absolute():
            resolved = (Path(source).parent / grid_path).resolve()
            grid = scenario.grid.model_copy(update={"path": str(resolved)})
            scenario = scenario.model_copy(update={"grid": grid})
            scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load, resolve (``base:`` includes) and validate a scenario file.

    Parameters
    ----------
    path : str or pathlib.Path
        A YAML scenario file.

    Returns
    -------
    Scenario
        The validated, frozen scenario. Checks that need the network (bus indices,
        profile names) run when the run is built, or with ``twin validate``.

    Raises
    ------
    ScenarioError
        For a missing, empty, non-YAML or invalid file: one line per problem.
    """
    label = str(path)
    data = _resolve_raw(Path(path), label)
    return scenario_from_dict(data, label)


# ------------------------------------------------------------------------- overrides


def _set_dotted(data: Any, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    current = data
    walked: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(walked) or "<top level>"
        if isinstance(current, dict):
            if part not in current:
                raise KeyError(
                    f"'{part}' does not exist at {where}; expected one of: "
                    f"{', '.join(sorted(map(str, current)))}"
                )
            if last:
                current[part] = value
            else:
                current = current[part]
        elif isinstance(current, list):
            index = None
            if part.lstrip("-").isdigit():
                index = int(part)
                if not -len(current) <= index < len(current):
                    raise KeyError(
                        f"index {index} is out of range at {where} ({len(current)} items)"
                    )
            else:
                names = [item.get("name") for item in current if isinstance(item, dict)]
                if part in names:
                    index = names.index(part)
                else:
                    raise KeyError(
                        f"'{part}' names no item at {where}; expected an index or one of: "
                        f"{', '.join(str(n) for n in names)}"
                    )
            if last:
                current[index] = value
            else:
                current = current[index]
        else:
            raise KeyError(f"{where} is a value, not a section; '{part}' cannot be set")
        walked.append(part)


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Return a new scenario with dotted-path overrides applied, re-validated.

    Parameters
    ----------
    scenario : Scenario
        The scenario to start from.
    overrides : dict
        Dotted field paths to new values, e.g. ``{"assets.0.capacity_kwh": 80,
        "grid.backend": "pandapower", "assets.bat1.power_kw": 10}``. A list item can be
        addressed by index or by its ``name``. Only existing fields can be set; fields left
        at their default count as existing.

    Raises
    ------
    ScenarioError
        For a path that does not exist (naming the part that is wrong and what exists
        there) or a value that fails validation.
    """
    data = scenario.model_dump(mode="json")
    problems: list[Problem] = []
    for dotted, value in overrides.items():
        try:
            _set_dotted(data, dotted, copy.deepcopy(value))
        except KeyError as exc:
            problems.append(Problem(scenario.source, dotted, str(exc.args[0])))
    if problems:
        raise ScenarioError(problems)
    return scenario_from_dict(data, scenario.source)


# ------------------------------------------------------------------ file references


@dataclass(frozen=True)
class FileReference:
    """A file a scenario makes the run read, resolved as the run resolves it.

    Attributes
    ----------
    field : str
        Dotted field path (``grid.path``, ``assets.2.sessions_file``,
        ``comms.links.0.latency.path``).
    given : str
        The value as written.
    path : pathlib.Path
        The file the run reads.
    """

    field: str
    given: str
    path: Path


def walk_models(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every sub-model of ``value`` with its dotted path (tuples by index)."""
    if isinstance(value, BaseModel):
        yield prefix, value
        for name in type(value).model_fields:
            yield from walk_models(getattr(value, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from walk_models(item, f"{prefix}.{i}")


def file_references(scenario: Scenario) -> list[FileReference]:
    """The files a run of ``scenario`` reads besides the scenario itself.

    The network file (``grid.path``), the weather file when there are buildings (a
    relative name not found next to the scenario is a file shipped in ``pvlib/data``),
    EV session files and latency traces of an enabled ``comms`` section, each resolved
    as the run resolves it. Used by ``twin validate`` (every file must be a regular file
    within :data:`twin.limits.MAX_FILE_BYTES`) and by the app (every file must lie in the
    project's data folders).
    """
    source = scenario.source
    base_dir = Path(source).parent if source != "<scenario>" else Path()
    refs: list[FileReference] = []

    def near(given: str) -> Path:
        path = Path(given)
        return path if path.is_absolute() else base_dir / path

    if isinstance(scenario.grid, FileGridSpec):
        refs.append(FileReference("grid.path", scenario.grid.path, near(scenario.grid.path)))
    for i, asset in enumerate(scenario.assets):
        sessions = getattr(asset, "sessions_file", None)
        if sessions is not None:
            refs.append(FileReference(f"assets.{i}.sessions_file", sessions, near(sessions)))
    if any(asset.kind == "building" for asset in scenario.assets):
        given = scenario.weather.file
        path = near(given)
        if not Path(given).is_absolute() and not path.exists():
            from twin.weather import WeatherFileError, pvlib_weather_file

            with contextlib.suppress(WeatherFileError, FileNotFoundError, ValueError):
                path = pvlib_weather_file(given)  # else not shipped: the check names it
        refs.append(FileReference("weather.file", given, path))
    if scenario.comms is not None and scenario.comms.enabled:
        from twin.comms.spec import TraceLatencySpec

        for where, spec in walk_models(scenario.comms, "comms"):
            if isinstance(spec, TraceLatencySpec):
                path = Path(spec.path)
                if not path.is_absolute() and (base_dir / path).exists():
                    path = base_dir / path
                refs.append(FileReference(f"{where}.path", spec.path, path))
    return refs


# ---------------------------------------------------------------------- hash, schema


def canonical_json(scenario: Scenario, *, include_seed: bool = False) -> str:
    """Canonical JSON of a resolved scenario (sorted keys, no whitespace)."""
    data = scenario.model_dump(mode="json")
    if not include_seed:
        data.pop("seed", None)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the canonical resolved scenario, seed EXCLUDED.

    Two runs of the same scenario with different seeds share this hash; a sweep keys a
    finished run by ``(scenario_hash, seed)``.
    """
    return hashlib.sha256(canonical_json(scenario).encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what ``twin schema`` writes)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "GridTwin scenario"
    return schema


def is_finite_number(value: float) -> bool:
    """True when ``value`` is a finite float (helper for checks on raw numbers)."""
    return math.isfinite(value)
