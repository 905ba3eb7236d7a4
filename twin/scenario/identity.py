"""What identifies a resolved scenario: its canonical JSON and its hash (the run id and
a sweep's resume key are built on them).

Public names: :func:`canonical_json`, :func:`scenario_hash`.
"""

from __future__ import annotations

import hashlib
import json

from twin.scenario.model import Scenario


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
