"""The ``faults:`` section of a scenario: one pydantic model per fault family.

Every fault is scheduled (``start`` and ``duration``) or stochastic (``mtbf_h`` and
``mttr_h``). Pure data: imports pydantic and :mod:`twin.simtime` only, so the scenario
schema can import it without simpy or the grid.

Public names: :data:`FaultSpec`, :data:`FaultsSpec`, :data:`FAULT_KINDS`,
:data:`TRIP_ASSET_KIND`, :class:`GridBranchFault`, :class:`AssetTripFault`,
:class:`LinkFault`, :class:`ServiceFault`, :class:`SensorFault`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from twin.limits import StrictNumbers
from twin.simtime import parse_duration_s

__all__ = [
    "FAULT_KINDS",
    "TRIP_ASSET_KIND",
    "AssetTripFault",
    "FaultSpec",
    "FaultsSpec",
    "GridBranchFault",
    "LinkFault",
    "SensorFault",
    "ServiceFault",
]


class _Spec(StrictNumbers):  # no boolean as a number, no inf/nan (twin.limits)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Timing(_Spec):
    start: str | None = Field(None, description="Start since the scenario start ('18h').")
    duration: str | None = Field(None, description="Length of a scheduled fault ('30min').")
    mtbf_h: float | None = Field(
        None, gt=0, le=1e7, description="Stochastic: mean time between failures. [h]"
    )
    mttr_h: float | None = Field(
        None, gt=0, le=1e5, description="Stochastic: mean time to repair. [h]"
    )

    @field_validator("start", "duration")
    @classmethod
    def _dur(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _mode(self) -> Any:
        scheduled = self.start is not None or self.duration is not None
        stochastic = self.mtbf_h is not None or self.mttr_h is not None
        if scheduled == stochastic:
            raise ValueError(
                "a fault is either scheduled (start and duration) or stochastic "
                "(mtbf_h and mttr_h); give one pair"
            )
        if scheduled and (self.start is None or self.duration is None):
            raise ValueError("a scheduled fault needs both start and duration")
        if stochastic and (self.mtbf_h is None or self.mttr_h is None):
            raise ValueError("a stochastic fault needs both mtbf_h and mttr_h")
        if self.duration is not None and parse_duration_s(self.duration) <= 0:
            raise ValueError("duration must be longer than 0 s")
        return self

    @property
    def label(self) -> str:
        """Name of the fault's target, for events."""
        raise NotImplementedError


class GridBranchFault(_Timing):
    """A line or transformer out of service: a topology change."""

    kind: Literal["line_outage", "trafo_outage"]
    element: int = Field(ge=0, description="pandapower index of the line or trafo.")

    @property
    def label(self) -> str:
        """``line/<index>`` or ``trafo/<index>``."""
        return f"{self.kind.split('_')[0]}/{self.element}"


class AssetTripFault(_Timing):
    """A generator, PV system or battery trips off."""

    kind: Literal["generator_trip", "pv_trip", "battery_trip"]
    asset: str = Field(description="Name of a scenario asset of that kind.")

    @property
    def label(self) -> str:
        """``asset/<name>``."""
        return f"asset/{self.asset}"


class LinkFault(_Timing):
    """A link goes down, slows down or loses messages."""

    kind: Literal["link_down", "latency_spike", "loss_burst"]
    link: str = Field(description="Name of a link in comms.links.")
    extra_ms: float | None = Field(
        None, gt=0, le=3.6e6, description="latency_spike: added delay per crossing. [ms]"
    )
    loss_prob: float | None = Field(
        None, gt=0, le=1, description="loss_burst: loss probability per transmission."
    )

    @model_validator(mode="after")
    def _needs(self) -> LinkFault:
        if self.kind == "latency_spike" and self.extra_ms is None:
            raise ValueError("latency_spike needs extra_ms")
        if self.kind == "loss_burst" and self.loss_prob is None:
            raise ValueError("loss_burst needs loss_prob")
        return self

    @property
    def label(self) -> str:
        """The link name."""
        return self.link


class ServiceFault(_Timing):
    """A service outage, queue surge, or solver error or time-out at a service."""

    kind: Literal["service_outage", "queue_surge", "solver_error", "solver_timeout"]
    service: str = Field(description="Name of a service in comms.services.")
    extra_wait_s: float | None = Field(
        None, gt=0, le=86400, description="queue_surge: added queue wait. [s]"
    )
    slowdown_factor: float | None = Field(
        None, gt=1, le=1e6, description="solver_timeout: execution time multiplier."
    )

    @model_validator(mode="after")
    def _needs(self) -> ServiceFault:
        if self.kind == "queue_surge" and self.extra_wait_s is None:
            raise ValueError("queue_surge needs extra_wait_s")
        if self.kind == "solver_timeout" and self.slowdown_factor is None:
            raise ValueError("solver_timeout needs slowdown_factor")
        return self

    @property
    def label(self) -> str:
        """The service name."""
        return self.service


class SensorFault(_Timing):
    """An asset's measurement freezes (stale) or stops (missing)."""

    kind: Literal["sensor_stale", "sensor_missing"]
    asset: str = Field(description="Name of the scenario asset whose measurement fails.")

    @property
    def label(self) -> str:
        """``asset/<name>``."""
        return f"asset/{self.asset}"


FaultSpec = Annotated[
    GridBranchFault | AssetTripFault | LinkFault | ServiceFault | SensorFault,
    Field(discriminator="kind"),
]
"""One fault of the ``faults:`` list, discriminated on ``kind``."""

FaultsSpec = tuple[FaultSpec, ...]
"""The ``faults:`` section: a list of faults."""

FAULT_KINDS: tuple[str, ...] = (
    "line_outage", "trafo_outage", "generator_trip", "pv_trip", "battery_trip",
    "link_down", "latency_spike", "loss_burst", "service_outage", "queue_surge",
    "solver_error", "solver_timeout", "sensor_stale", "sensor_missing",
)

TRIP_ASSET_KIND: dict[str, str] = {"generator_trip": "generator", "pv_trip": "pv", "battery_trip": "battery"}

"""Asset trip fault kind -> the asset kind it needs."""
