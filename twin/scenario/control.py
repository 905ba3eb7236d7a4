"""The ``control:`` section: the controller mode and the optimising EMS's settings
(its solver tasks and the binary decisions it routes to QUBO solvers).

Public names: :class:`ControlSpec`, :class:`EmsSpec`, :class:`EmsTaskSpec`,
:class:`DecisionsSpec`, :class:`DecisionCompareSpec`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from twin.scenario.fields import MAX_POWER_KW, SpecModel, check_duration
from twin.simtime import parse_duration_s


class EmsTaskSpec(SpecModel):
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


class DecisionCompareSpec(SpecModel):
    """One solver that also solves every decision sub-problem (for the comparison)."""

    solver: str = Field(description="Registered solver name (qaoa, annealing, tabu, milp, ...).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Options passed to the solver (see `twin solvers`)."
    )
    max_calls: int | None = Field(
        None, ge=0, le=1_000_000, description="Solve only the first this many sub-problems "
        "of the run (a slow solver, e.g. QAOA under a device noise model); none: all."
    )


class DecisionsSpec(SpecModel):
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
    min_qubits: int = Field(
        0, ge=0, le=32, description="Smallest sub-problem the solver gets (its QUBO, "
        "slacks included): smaller parts are merged with the next one while the union fits "
        "max_qubits; a part still below it is decided by the fallback solver, counted under "
        "it (KPI decision_parts_below_min) and not compared. 0: no minimum. [-]"
    )
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

    @model_validator(mode="after")
    def _min_within_max(self) -> DecisionsSpec:
        if self.min_qubits > self.max_qubits:
            raise ValueError(f"min_qubits ({self.min_qubits}) must not exceed max_qubits "
                             f"({self.max_qubits})")
        return self


class EmsSpec(SpecModel):
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
        check_duration
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


class ControlSpec(SpecModel):
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
