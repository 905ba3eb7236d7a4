"""Scenario files: the pydantic schema, loading with ``base:`` includes, overrides.

A scenario is pure data, validated on load. Every model forbids unknown keys and is
frozen. Units live in field names (``capacity_kwh``, ``power_kw``); durations are strings
("15min", "7d").

What lives where
----------------
``fields``      the base model of every section (:class:`~twin.scenario.fields.SpecModel`),
                the duration check, name pattern and size bounds
``model``       :class:`Scenario` and its small sections (``time:``, ``weather:``,
                ``outputs:``); :func:`json_schema`
``network``     ``grid:`` (:data:`~twin.scenario.network.GridSpec` and its three sources)
                and ``profiles:``
``assets``      one spec per asset kind and the :data:`~twin.scenario.assets.AssetSpec` union
``control``     ``control:``: the mode, the EMS, its solver tasks and routed decisions
``pcc``         ``pcc:``: tariff, PCC limit, upstream outages
``loading``     :func:`load_scenario` (YAML within the input limits, the ``base:`` chain),
                :func:`scenario_from_dict` (one error line per field), :func:`deep_merge`
``overrides``   :func:`apply_overrides` (dotted paths)
``references``  :func:`file_references` (the files a run reads), :func:`walk_models`
``identity``    :func:`canonical_json`, :func:`scenario_hash`

The package root re-exports the names the rest of the tree uses; everything else is
imported from its module. The schema sections import only pydantic, :mod:`twin.limits`,
:mod:`twin.simtime` and the comms/faults schema models (``twin.comms.spec``,
``twin.faults``); nothing here imports the engine, the grid, assets or controllers.

Adding an asset kind
--------------------
Write a spec model in :mod:`twin.scenario.assets` with ``kind: Literal["<kind>"]``, add
it to the ``AssetSpec`` union, and map the kind to its family class in
``twin/assets/registry.py``. Nothing else changes.

Adding a top-level section
--------------------------
Write a model for it and add one field to :class:`Scenario` with a default, so that
older files stay valid. Regenerate ``scenarios/schema.json`` with ``twin schema``.
"""

from __future__ import annotations

from twin.scenario.assets import (
    BatteryAssetSpec,
    BuildingAssetSpec,
    EvFleetAssetSpec,
    GeneratorAssetSpec,
    LoadAssetSpec,
    PvAssetSpec,
)
from twin.scenario.control import ControlSpec, DecisionsSpec
from twin.scenario.fields import NAME_PATTERN
from twin.scenario.identity import canonical_json, scenario_hash
from twin.scenario.loading import deep_merge, load_scenario, scenario_from_dict
from twin.scenario.model import Scenario, json_schema
from twin.scenario.network import GridSpec, PandapowerGridSpec, SimbenchGridSpec
from twin.scenario.overrides import apply_overrides
from twin.scenario.pcc import PccSpec
from twin.scenario.references import FileReference, file_references, walk_models

__all__ = [
    "NAME_PATTERN",
    "BatteryAssetSpec",
    "BuildingAssetSpec",
    "ControlSpec",
    "DecisionsSpec",
    "EvFleetAssetSpec",
    "FileReference",
    "GeneratorAssetSpec",
    "GridSpec",
    "LoadAssetSpec",
    "PandapowerGridSpec",
    "PccSpec",
    "PvAssetSpec",
    "Scenario",
    "SimbenchGridSpec",
    "apply_overrides",
    "canonical_json",
    "deep_merge",
    "file_references",
    "json_schema",
    "load_scenario",
    "scenario_from_dict",
    "scenario_hash",
    "walk_models",
]
