"""Reading scenario files: YAML within the input limits, the ``base:`` chain merged
file over file, and validation with one error line per field.

Public names: :func:`load_scenario`, :func:`scenario_from_dict`, :func:`deep_merge`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.errors import Problem, ScenarioError
from twin.limits import (
    MAX_BASE_CHAIN,
    InputRefused,
    check_regular_file,
    load_yaml_file,
    short_repr,
)
from twin.scenario.model import Scenario, attach_source
from twin.scenario.network import FileGridSpec


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
    attach_source(scenario, source)
    if isinstance(scenario.grid, FileGridSpec) and source != "<scenario>":
        grid_path = Path(scenario.grid.path)
        if not grid_path.is_absolute():
            resolved = (Path(source).parent / grid_path).resolve()
            grid = scenario.grid.model_copy(update={"path": str(resolved)})
            scenario = scenario.model_copy(update={"grid": grid})
            attach_source(scenario, source)
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
