"""The files a scenario makes a run read, resolved as the run resolves them.

Public names: :class:`FileReference`, :func:`file_references`, :func:`walk_models`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from twin.scenario.model import Scenario
from twin.scenario.network import FileGridSpec


@dataclass(frozen=True)
class FileReference:
    """A file a scenario makes the run read, resolved as the run resolves it.

    Attributes
    ----------
    field : str
        Dotted field path (``grid.path``, ``assets.2.sessions_file``,
        ``comms.links.0.latency.path``).
    given : str
        The value as written.
    path : pathlib.Path
        The file the run reads.
    """

    field: str
    given: str
    path: Path


def walk_models(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every sub-model of ``value`` with its dotted path (tuples by index)."""
    if isinstance(value, BaseModel):
        yield prefix, value
        for name in type(value).model_fields:
            yield from walk_models(getattr(value, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from walk_models(item, f"{prefix}.{i}")


def file_references(scenario: Scenario) -> list[FileReference]:
    """The files a run of ``scenario`` reads besides the scenario itself.

    The network file (``grid.path``), the weather file when there are buildings (a
    relative name not found next to the scenario is a file shipped in ``pvlib/data``),
    EV session files and latency traces of an enabled ``comms`` section, each resolved
    as the run resolves it. Used by ``twin validate`` (every file must be a regular file
    within :data:`twin.limits.MAX_FILE_BYTES`) and by the app (every file must lie in the
    project's data folders).
    """
    source = scenario.source
    base_dir = Path(source).parent if source != "<scenario>" else Path()
    refs: list[FileReference] = []

    def near(given: str) -> Path:
        path = Path(given)
        return path if path.is_absolute() else base_dir / path

    if isinstance(scenario.grid, FileGridSpec):
        refs.append(FileReference("grid.path", scenario.grid.path, near(scenario.grid.path)))
    for i, asset in enumerate(scenario.assets):
        sessions = getattr(asset, "sessions_file", None)
        if sessions is not None:
            refs.append(FileReference(f"assets.{i}.sessions_file", sessions, near(sessions)))
    if any(asset.kind == "building" for asset in scenario.assets):
        given = scenario.weather.file
        path = near(given)
        if not Path(given).is_absolute() and not path.exists():
            from twin.weather import WeatherFileError, pvlib_weather_file

            with contextlib.suppress(WeatherFileError, FileNotFoundError, ValueError):
                path = pvlib_weather_file(given)  # else not shipped: the check names it
        refs.append(FileReference("weather.file", given, path))
    if scenario.comms is not None and scenario.comms.enabled:
        from twin.comms.spec import TraceLatencySpec

        for where, spec in walk_models(scenario.comms, "comms"):
            if isinstance(spec, TraceLatencySpec):
                path = Path(spec.path)
                if not path.is_absolute() and (base_dir / path).exists():
                    path = base_dir / path
                refs.append(FileReference(f"{where}.path", spec.path, path))
    return refs
