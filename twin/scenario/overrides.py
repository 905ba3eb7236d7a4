"""Dotted-path overrides of a validated scenario (``--set``, sweeps, the app's editor).

Public names: :func:`apply_overrides`.
"""

from __future__ import annotations

import copy
from typing import Any

from twin.errors import Problem, ScenarioError
from twin.scenario.loading import scenario_from_dict
from twin.scenario.model import Scenario


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
