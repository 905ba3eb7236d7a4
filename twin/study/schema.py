"""The sweep file's schema: what a sweep varies, fixes and gates on (pydantic).

A sweep file names a base scenario, fixed overrides (``set``), the fields that vary
(``vary.grid``: a Cartesian product; ``vary.zip``: lists walked in step) and optional
KPI ``checks``, absolute or relative to a named ``baselines`` run of the same sweep
(:mod:`twin.study` shows a whole file).

Public names: :class:`SweepInputError`, :class:`VarySpec`, :class:`CheckSpec`,
:class:`SweepSpec`, :data:`Scalar`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.errors import Problem, TwinError
from twin.scenario import NAME_PATTERN

Scalar = str | int | float | bool | None


class SweepInputError(TwinError):
    """A sweep file or sweep option is invalid; nothing was started.

    ``str(error)`` gives one line per problem (file, field path, what is expected), which
    the CLI prints before exiting with code 2.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, path: str, message: str) -> SweepInputError:
        """Build an error holding one problem."""
        return cls([Problem(file, path, message)])


# ----------------------------------------------------------------------- the sweep file


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VarySpec(_Spec):
    """What varies: a grid product and zipped groups, over dotted field paths."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Field path -> list of values; every combination is one run "
        "(Cartesian product, first path outermost).",
    )
    zip: dict[str, list[Any]] | list[dict[str, list[Any]]] = Field(
        default_factory=list,
        description="One group (field path -> list) or a list of groups; the lists of a "
        "group have equal length and are walked in step; groups combine with the grid "
        "as a product.",
    )

    def zip_groups(self) -> list[dict[str, list[Any]]]:
        """The zipped groups as a list (a single mapping is one group)."""
        if isinstance(self.zip, dict):
            return [self.zip] if self.zip else []
        return list(self.zip)


class CheckSpec(_Spec):
    """One KPI gate, absolute or relative to a named baseline run."""

    name: str | None = Field(None, description="Name shown in reports and JUnit XML.")
    kpi: str = Field(description="KPI name as in kpis.json, e.g. 'max_line_loading_percent'.")
    min: float | None = Field(None, description="Lowest allowed value (or ratio/difference).")
    max: float | None = Field(None, description="Highest allowed value (or ratio/difference).")
    relative_to: str | None = Field(
        None,
        description="Name of a baseline (see 'baselines'): each run is compared with its "
        "baseline run, the run that differs from it only in the baseline's fields.",
    )
    compare: Literal["ratio", "difference"] = Field(
        "ratio", description="With relative_to: value / baseline or value - baseline."
    )
    aggregate: Literal["each", "mean", "min", "max"] = Field(
        "each",
        description="'each': every run must pass; otherwise the mean/min/max over the "
        "runs the check selects must.",
    )
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="Field path -> value (or list of values): the check applies to "
        "runs whose varied fields match.",
    )

    @model_validator(mode="after")
    def _need_bound(self) -> CheckSpec:
        if self.min is None and self.max is None:
            raise ValueError(f"check on '{self.kpi}' has neither 'min' nor 'max'")
        return self

    def label(self, index: int) -> str:
        """The check's display name (its ``name`` or one built from its fields)."""
        if self.name:
            return self.name
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        what = self.kpi
        if self.relative_to:
            what = f"{self.kpi} {self.compare} to {self.relative_to}"
        if self.aggregate != "each":
            what = f"{self.aggregate} {what}"
        return f"check {index}: {what} {' and '.join(bounds)}"


class SweepSpec(_Spec):
    """A sweep file, as written (see the module docstring)."""

    name: str = Field(pattern=NAME_PATTERN, description="Short name of the sweep.")
    description: str = Field("", description="What the sweep studies.")
    scenario: str = Field(description="Base scenario file, relative to the sweep file.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Field path -> value applied to every run."
    )
    vary: VarySpec = Field(description="The fields that vary.")
    baselines: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Baseline name -> {varied field path: value}: the run a relative "
        "check compares with, per combination of the other varied fields.",
    )
    checks: list[CheckSpec] = Field(default_factory=list, description="KPI gates.")
