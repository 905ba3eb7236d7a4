"""The top-level :class:`Scenario` model, its small sections (``time:``, ``weather:``,
``outputs:``) and the JSON Schema of scenario files.

Public names: :class:`Scenario`, :class:`TimeSpec`, :class:`WeatherSpec`,
:class:`OutputsSpec`, :data:`TimeseriesGroup`, :func:`attach_source`, :func:`json_schema`.

Adding a top-level section: write a model for it (in its own module when it is more than
a few fields) and add one field to :class:`Scenario` with a default, so that older files
stay valid. Regenerate ``scenarios/schema.json`` with ``twin schema``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from twin.comms.spec import CommsSpec
from twin.faults import FaultSpec
from twin.limits import MAX_SEED
from twin.scenario.assets import AssetSpec
from twin.scenario.control import ControlSpec
from twin.scenario.fields import (
    MAX_DURATION_S,
    MAX_ITEMS,
    MAX_NAME_CHARS,
    MAX_STEPS,
    NAME_PATTERN,
    SpecModel,
    check_duration,
)
from twin.scenario.network import GridSpec, ProfilesSpec
from twin.scenario.pcc import PccSpec
from twin.simtime import parse_duration_s


class TimeSpec(SpecModel):
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

    _check_duration = field_validator("duration")(check_duration)

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


class WeatherSpec(SpecModel):
    """Outdoor weather for buildings: a typical-year file read through pvlib."""

    file: str = Field(
        "723170TYA.CSV", description="A TMY3 CSV, TMY2 .tm2 or EPW file: a path relative to "
        "the scenario file, or the name of a file shipped in pvlib/data."
    )


TimeseriesGroup = Literal["bus", "line", "trafo", "grid", "element", "asset"]


class OutputsSpec(SpecModel):
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


class Scenario(SpecModel):
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


def attach_source(scenario: Scenario, source: str) -> Scenario:
    """Record the file ``scenario`` was read from (its :attr:`Scenario.source`, used in
    error messages and to resolve relative paths); returns ``scenario``."""
    scenario._source = source
    return scenario


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what ``twin schema`` writes)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "GridTwin scenario"
    return schema
