"""The ``pcc:`` section: the point of common coupling's tariff, power limit and upstream
outages.

Public names: :class:`PccSpec`, :class:`TariffPeriodSpec`, :class:`OutageSpec`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from twin.scenario.fields import MAX_POWER_KW, SpecModel, check_duration


class TariffPeriodSpec(SpecModel):
    """A time-of-use period: the price from ``from_h`` until the next period starts."""

    from_h: float = Field(ge=0, lt=24, description="Start, hour of day. [h]")
    import_eur_per_kwh: float = Field(ge=-10, le=100, description="Import price. [EUR/kWh]")


class OutageSpec(SpecModel):
    """A time the upstream grid is lost (the network behind the PCC islands)."""

    start: str = Field(description="Start, since the scenario start, e.g. '1d 10h'.")
    duration: str = Field(description="Length, e.g. '3h'.")

    _check = field_validator("start", "duration")(check_duration)


class PccSpec(SpecModel):
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
    shed_priority: dict[str, int] = Field(
        default_factory=dict,
        description="Which loads an island keeps longest when its grid-forming units "
        "cannot carry it (islands of pcc.outages and of branch faults alike): key "
        "'load/<pandapower index>' or an asset name (EV fleet, building, load), value "
        "0-1000, higher is kept longer; unlisted loads 0. Flexible loads (EV charging, "
        "HVAC) are cut first, then loads by increasing priority, in proportion within "
        "one priority.",
    )
    island_overload: Literal["shed", "dark"] = Field(
        "shed", description="What an island does when its grid-forming units cannot "
        "carry it: 'shed' load by shed_priority, 'dark' (no load shedding scheme: the "
        "island collapses and stays dark until the network or its formers change).",
    )

    @field_validator("shed_priority")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        for key, priority in value.items():
            if not 0 <= priority <= 1000:
                raise ValueError(f"priority of {key!r} must be 0-1000, got {priority}")
        return value
