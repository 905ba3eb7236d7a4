"""Scenario files for the app: list, validate text, check uploads, save safely.

Everything here is pure (no Streamlit), so the pages stay thin and the rules are tested
directly.

Public names: :class:`Validation`, :func:`list_scenario_files`, :func:`read_scenario_text`,
:func:`validate_text`, :func:`check_upload`, :func:`safe_scenario_path`,
:func:`save_scenario_text`, :func:`main_parameters`, :func:`get_dotted`,
:func:`set_dotted`, :func:`leading_comments`, :func:`dump_with_comments`,
:func:`data_roots`, :func:`confinement_problems`, :func:`parse_mapping`,
:class:`SaveError`.

Uploads and editor texts are parsed within :mod:`twin.limits` (size, aliases, depth),
validated by the same schema and :func:`twin.checks.check_scenario` as ``twin validate``,
and every file they name must lie in the project's data folders (:func:`data_roots`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import twin.scenario as tsc
from twin import checks, limits
from twin.errors import Problem, ScenarioError, clip

logger = logging.getLogger(__name__)

SCENARIO_SUFFIXES = (".yaml", ".yml")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class SaveError(ValueError):
    """A scenario could not be saved; the message says why and what to do."""


@dataclass(frozen=True)
class Validation:
    """The outcome of validating a scenario text.

    Attributes
    ----------
    scenario : twin.scenario.Scenario or None
        The validated scenario, or None when the text is invalid.
    problems : list of str
        One line per defect: field path and what is expected.
    data : dict or None
        The parsed YAML mapping as written (``base:`` not resolved), when it parsed.
    """

    scenario: Any = None
    problems: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when the text is a valid scenario."""
        return self.scenario is not None


def list_scenario_files(folder: Path) -> list[str]:
    """File names of the scenario files directly inside ``folder``, sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.suffix in SCENARIO_SUFFIXES
    )


def read_scenario_text(folder: Path, name: str) -> str:
    """The text of scenario file ``name`` inside ``folder`` (name confined to it).

    Raises
    ------
    SaveError
        For a bad name, or a file that is not a regular file within
        :data:`twin.limits.MAX_FILE_BYTES`.
    """
    try:  # a regular file within the size cap (no FIFO, no device)
        return limits.read_text_file(safe_scenario_path(folder, name), "scenario YAML file")
    except limits.InputRefused as exc:
        raise SaveError(f"{name} {exc.message}") from None


def _format_problem(problem: Any) -> str:
    path = getattr(problem, "path", None) or getattr(problem, "field", "")
    return f"{path}: {problem.message}" if path else problem.message


def validate_text(text: str, folder: Path, source: str = "<editor>") -> Validation:
    """Parse and validate a scenario given as YAML text.

    A ``base:`` key is resolved against ``folder`` (the scenarios folder), loading the
    base file with :func:`twin.load_scenario`.

    Parameters
    ----------
    text : str
        The YAML text.
    folder : pathlib.Path
        The scenarios folder ``base:`` paths are relative to.
    source : str
        Name used in the messages.

    Returns
    -------
    Validation
        The scenario, or the problems (never raises for bad input).
    """
    try:
        data = limits.parse_yaml(text)
    except limits.InputRefused as exc:
        return Validation(problems=[_format_problem(exc)])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or "syntax error"
        return Validation(problems=[f"not valid YAML{where}: {reason}"])
    if data is None:
        return Validation(problems=["the file is empty; expected a mapping with at least "
                                    "'name' and 'grid'"])
    if not isinstance(data, dict):
        return Validation(problems=[f"the file holds a {type(data).__name__}; expected a "
                                    "YAML mapping of scenario sections"])
    try:
        return _validate_mapping(data, folder, source)
    except Exception as exc:  # a crafted text must never reach the page as a traceback
        logger.exception("validating %s failed unexpectedly", source)
        return Validation(problems=[clip(f"could not be validated ({type(exc).__name__}: "
                                         f"{exc}); expected a valid scenario")], data=data)


def _validate_mapping(data: dict[str, Any], folder: Path, source: str) -> Validation:
    resolved = dict(data)
    base_ref = resolved.pop("base", None)
    if base_ref is not None:
        if not isinstance(base_ref, str):
            return Validation(problems=["base: expected the file name of a scenario"],
                              data=data)
        try:
            base_path = safe_scenario_path(folder, base_ref)
            base = tsc.load_scenario(base_path)
        except SaveError as exc:
            return Validation(problems=[f"base: {exc}"], data=data)
        except ScenarioError as exc:
            return Validation(
                problems=[f"base {base_ref}: {_format_problem(p)}" for p in exc.problems],
                data=data,
            )
        resolved = tsc.deep_merge(base.model_dump(mode="json"), resolved)
    try:
        scenario = tsc.scenario_from_dict(resolved, source)
    except ScenarioError as exc:
        return Validation(problems=[_format_problem(p) for p in exc.problems], data=data)
    found = confinement_problems(scenario, data_roots(folder))
    if not found:
        found = checks.check_scenario(scenario)
    if found:
        return Validation(problems=[_format_problem(p) for p in found], data=data)
    return Validation(scenario=scenario, data=data)


def data_roots(folder: Path) -> tuple[Path, ...]:
    """The folders a scenario from the app may name files in: the scenarios folder, the
    project's ``data/`` folder next to it, and the data pvlib ships (weather files)."""
    import pvlib

    folder = Path(folder).resolve()
    return (folder, folder.parent / "data", Path(pvlib.__file__).resolve().parent / "data")


def confinement_problems(scenario: Any, roots: typing.Iterable[Path]) -> list[Problem]:
    """Problems for every file the scenario names outside ``roots``.

    The app runs on a server: a scenario typed into the editor or uploaded must not make
    the run read server files (``grid.path: /etc/...``, a trace of ``/dev/zero``). Each
    file is resolved as the run resolves it (:func:`twin.scenario.file_references`),
    symbolic links followed, and must lie inside one of ``roots``.
    """
    roots = [Path(r).resolve() for r in roots]
    problems = []
    for ref in tsc.file_references(scenario):
        path = ref.path.resolve()
        if not any(path.is_relative_to(root) for root in roots):
            problems.append(Problem(
                scenario.source, ref.field, f"{ref.given!r} is outside the project's data "
                "folders; expected a file in the scenarios folder, data/ or a weather file "
                "pvlib ships"))
    return problems


def parse_mapping(text: str) -> dict[str, Any] | None:
    """The YAML mapping of ``text`` parsed within :mod:`twin.limits`, or None when it is
    not YAML, hits a limit (aliases, depth, size) or is not a mapping."""
    try:
        data = limits.parse_yaml(text)
    except (yaml.YAMLError, limits.InputRefused):
        return None
    return data if isinstance(data, dict) else None


def check_upload(name: str, size_bytes: int, read: typing.Callable[[], bytes],
                 folder: Path, max_bytes: int) -> tuple[str | None, Validation]:
    """Check an uploaded scenario file before anything uses it.

    The size is checked before the content is read; the content must be UTF-8 YAML
    that validates as a scenario.

    Parameters
    ----------
    name : str
        The uploaded file's name.
    size_bytes : int
        Its size as the browser reported it. [bytes]
    read : callable
        Returns the content (called only when the size is acceptable).
    folder : pathlib.Path
        The scenarios folder (for ``base:``).
    max_bytes : int
        Largest accepted size. [bytes]

    Returns
    -------
    tuple
        ``(text, validation)``; ``text`` is None when the file was refused before
        validation (too large, not text).
    """
    if size_bytes > max_bytes:
        return None, Validation(problems=[
            f"{name} is {size_bytes / 1024:.0f} KiB; the limit is {max_bytes / 1024:.0f} KiB "
            "(scenario files are a few kB)"])
    if Path(name).suffix.lower() not in SCENARIO_SUFFIXES:
        return None, Validation(problems=[f"{name}: expected a .yaml or .yml file"])
    content = read()
    if len(content) > max_bytes:
        return None, Validation(problems=[
            f"{name} is {len(content) / 1024:.0f} KiB; the limit is {max_bytes / 1024:.0f} KiB"])
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None, Validation(problems=[f"{name} is not UTF-8 text; expected a YAML file"])
    return text, validate_text(text, folder, source=name)


def safe_scenario_path(folder: Path, name: str) -> Path:
    """The path of scenario file ``name`` inside ``folder``, refusing anything else.

    Parameters
    ----------
    folder : pathlib.Path
        The scenarios folder.
    name : str
        A plain file name (letters, digits, ``_ . -``), with or without ``.yaml``.

    Raises
    ------
    SaveError
        For an empty name, a path (``/``, ``\\``, ``..``), other characters, or a name
        that would leave the folder.
    """
    name = name.strip()
    if not name:
        raise SaveError("the name is empty; expected a file name such as my_scenario.yaml")
    if "/" in name or "\\" in name or ".." in name:
        raise SaveError(f"'{name}' is a path; expected a plain file name inside "
                        f"{folder}/ (no '/', '\\' or '..')")
    if not _NAME_RE.match(name):
        raise SaveError(f"'{name}' has characters that are not allowed; use letters, "
                        "digits, '_', '-' and '.' (at most 80), starting with a letter or digit")
    if Path(name).suffix not in SCENARIO_SUFFIXES:
        name = f"{name}.yaml"
    path = (folder / name).resolve()
    if path.parent != folder.resolve():
        raise SaveError(f"'{name}' would leave the scenarios folder {folder}/")
    return path


def save_scenario_text(folder: Path, name: str, text: str, *, overwrite: bool = False) -> Path:
    """Write a scenario text as ``folder/name``, atomically, never overwriting unasked.

    Raises
    ------
    SaveError
        For a bad name (see :func:`safe_scenario_path`) or an existing file when
        ``overwrite`` is False.
    """
    path = safe_scenario_path(folder, name)
    if path.exists() and not overwrite:
        raise SaveError(f"{path.name} already exists; tick 'overwrite' to replace it, "
                        "or choose another name")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ---------------------------------------------------------------- parameter widgets

@dataclass(frozen=True)
class Parameter:
    """A scenario field the Scenario page edits with a widget.

    Attributes
    ----------
    path : str
        Dotted field path (``time.duration``, ``assets.0.capacity_kwh``).
    label : str
        Widget label (with unit).
    kind : str
        ``"int"``, ``"float"``, ``"text"`` or ``"choice"``.
    options : tuple
        The choices of a ``"choice"`` parameter.
    """

    path: str
    label: str
    kind: str
    options: tuple[str, ...] = ()


def _literal_options(model: type, field_name: str) -> tuple[str, ...]:
    annotation = model.model_fields[field_name].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return ()


_TOP_PARAMETERS: tuple[tuple[str, str, str, type | None, str], ...] = (
    ("seed", "Seed", "int", None, ""),
    ("time.duration", "Duration (e.g. 1d, 7d, 1y)", "text", None, ""),
    ("time.step", "Grid step (e.g. 15min)", "text", None, ""),
    ("profiles.load_scale", "Load scale [-]", "float", None, ""),
    ("profiles.sgen_scale", "Generation scale [-]", "float", None, ""),
    ("grid.backend", "Power-flow backend", "choice", tsc.PandapowerGridSpec, "backend"),
    ("control.mode", "Control mode", "choice", tsc.ControlSpec, "mode"),
)
_ASSET_NUMBER = re.compile(r".*_(kw|kwh|kwp|frac|c|kw_per_ev|count)$")


def main_parameters(scenario: Any) -> list[Parameter]:
    """The fields the Scenario page offers as widgets for this scenario.

    Top-level fields (seed, horizon, scales, backend, control mode) and, per asset, its
    numeric fields with a unit in their name (``*_kw``, ``*_kwh``, ``*_frac``...).
    """
    params: list[Parameter] = []
    for path, label, kind, model, field_name in _TOP_PARAMETERS:
        options: tuple[str, ...] = ()
        if kind == "choice" and model is not None:
            try:
                options = _literal_options(model, field_name)
            except KeyError:
                options = ()
            if not options:
                kind = "text"
        params.append(Parameter(path, label, kind, options))
    for index, asset in enumerate(getattr(scenario, "assets", ())):
        dumped = asset.model_dump(mode="json")
        for key, value in dumped.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if key == "bus" or not _ASSET_NUMBER.match(key):
                continue
            kind = "int" if isinstance(value, int) and not key.endswith("_frac") else "float"
            params.append(Parameter(f"assets.{index}.{key}",
                                    f"{dumped.get('name', index)}: {key}", kind))
    return params


def get_dotted(data: Any, path: str) -> Any:
    """Value at a dotted path in nested dicts/lists, or None when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list | tuple) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def set_dotted(data: dict[str, Any], path: str, value: Any) -> bool:
    """Set a dotted path in the written YAML mapping, creating missing sections.

    List items must exist already (an asset inherited from ``base:`` cannot be edited
    field by field in the child file). Returns False when the path could not be set.
    """
    parts = path.split(".")
    current: Any = data
    for part in parts[:-1]:
        if isinstance(current, dict):
            if not isinstance(current.get(part), dict | list):
                if part == "assets":
                    return False
                current[part] = {}
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False
    if not isinstance(current, dict):
        return False
    current[parts[-1]] = value
    return True


def leading_comments(text: str) -> str:
    """The comment block at the top of a YAML text (the scenario's documentation)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or (not line.strip() and lines):
            lines.append(line)
        else:
            break
    return "\n".join(lines).rstrip() + ("\n" if lines else "")


def dump_with_comments(data: dict[str, Any], original_text: str) -> str:
    """YAML of ``data`` with the original file's top comment block kept."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return leading_comments(original_text) + body
