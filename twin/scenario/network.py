"""The ``grid:`` and ``profiles:`` sections: which network, which power-flow backend, and
how the network's own loads and generators vary in time.

Public names: :data:`GridSpec` (discriminated on ``source``), :class:`SimbenchGridSpec`,
:class:`PandapowerGridSpec`, :class:`FileGridSpec`, :data:`PandapowerNetworkName`,
:class:`ProfilesSpec`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twin.scenario.fields import SpecModel


class _GridCommon(SpecModel):
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


class ProfilesSpec(SpecModel):
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
