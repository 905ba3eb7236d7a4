"""Input limits: bounded reading and parsing of the files a user hands the twin.

Every scenario, ``base:``, sweep and latency-trace file goes through here, from the CLI
and from the app, so that a crafted file is refused in bounded time and memory with one
line naming the file, the field and what is expected (exit code 2), instead of reading
without end, recursing until the stack runs out or expanding an alias bomb.

The limits, stated once:

- :data:`MAX_FILE_BYTES`: largest scenario or sweep file read (and largest app upload);
  :data:`MAX_DATA_FILE_BYTES`: largest data file a scenario names;
- only regular files are read (no devices such as ``/dev/zero``, no FIFOs, no sockets),
  checked before the file is opened, and never more than the cap is read;
- YAML: aliases and anchors refused (``&a`` / ``*a``, the alias bomb), duplicate keys an
  error, nesting at most :data:`MAX_DEPTH`, at most :data:`MAX_NODES` values, integers of
  at most :data:`MAX_INT_DIGITS` digits;
- a ``base:`` chain at most :data:`MAX_BASE_CHAIN` files long;
- seeds at most :data:`MAX_SEED`;
- a sweep expands to at most :data:`MAX_SWEEP_RUNS` runs;
- stochastic faults and comms failures expect at most :data:`MAX_EXPECTED_FAILURES`
  failures over a run's horizon;
- error lines at most :data:`twin.errors.MAX_MESSAGE_CHARS` characters;
- a run's estimated memory at most what the machine has available
  (:func:`estimate_run_memory`, :func:`check_run_memory`, checked by
  :func:`twin.engine.build` before the run allocates its per-step arrays).

Public names: the limits above, :class:`InputRefused`, :class:`StrictNumbers`,
:func:`read_text_file`, :func:`check_regular_file`, :func:`parse_yaml`,
:func:`load_yaml_file`, :func:`short_repr`, :func:`check_sweep_size`,
:func:`available_memory_bytes`, :class:`MemoryEstimate`, :func:`estimate_run_memory`,
:func:`check_run_memory`, :data:`RUN_FIXED_BYTES`, :data:`ASSET_BYTES_PER_STEP`.
"""

from __future__ import annotations

import math
import os
import stat
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, model_validator

from twin.errors import Problem, ScenarioError

MAX_FILE_BYTES = 256 * 1024
"""Largest scenario, sweep or trace file read, and largest app upload (the shipped
scenario files are under 5 kB). [bytes]"""
MAX_DATA_FILE_BYTES = 64 * 1024 * 1024
"""Largest data file a scenario names (network JSON, weather, EV sessions, latency
trace): checked before it is opened. [bytes]"""
MAX_DEPTH = 40
"""Deepest nesting of mappings and lists in a YAML file."""
MAX_NODES = 50_000
"""Most values (keys, scalars, lists, mappings) in one YAML file."""
MAX_INT_DIGITS = 30
"""Longest integer literal in a YAML file (2^63 has 19 digits)."""
MAX_BASE_CHAIN = 16
"""Longest chain of ``base:`` files."""
MAX_SEED = 2**63 - 1
"""Largest seed of a run (scenario field ``seed`` and ``twin run --seed``)."""
MAX_SWEEP_RUNS = 10_000
"""Most runs one sweep file may expand to."""
MAX_EXPECTED_FAILURES = 20_000
"""Most stochastic failures (faults and comms outages) a run may expect over its horizon."""

SOLVER_OPTION_RANGES: dict[str, tuple[float, float]] = {
    "num_reads": (1, 100_000),
    "num_sweeps": (1, 10_000_000),
    "num_restarts": (0, 10_000),
    "timeout_ms": (1, 3_600_000),
    "max_variables": (1, 100_000),
    "candidates": (1, 10_000),
    "fix_fraction": (0.0, 1.0),
    "max_backtracks": (0, 10_000),
    "mip_rel_gap": (0.0, 1.0),
    "primal_feasibility_tolerance": (1e-12, 0.1),
    "reps": (1, 50),
    "maxiter": (0, 10_000),
    "noise_maxiter": (0, 10_000),
    "two_qubit_error_scale": (0.0, 100.0),
    "shots": (1, 10_000_000),
    "max_qubits": (1, 32),
    "optimization_level": (0, 3),
    "threads": (1, 256),
}
"""Inclusive range of every numeric solver option a scenario may set: what a run can
carry out in bounded time and memory (``num_reads: 1e12`` or ``reps: 10000`` would not
finish; ``max_qubits`` above 32 cannot be simulated in 24 GiB)."""



class InputRefused(ValueError):
    """A file or value refused by a limit: ``field`` is the dotted path ("" for the file)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ------------------------------------------------------------------------ reading


def check_regular_file(path: str | Path, what: str = "file",
                       max_bytes: int = MAX_FILE_BYTES) -> Path:
    """Refuse anything but an existing regular file of at most ``max_bytes``
    (default :data:`MAX_FILE_BYTES`).

    Only ``stat`` is called (nothing is opened), so a FIFO or a device never blocks.

    Raises
    ------
    InputRefused
        Not found, a directory, a device / FIFO / socket, or too large.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputRefused(f"file not found; expected a {what}") from None
    except OSError as exc:
        raise InputRefused(f"cannot be read ({exc.strerror}); expected a {what}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputRefused(f"is a directory; expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputRefused(
            f"is not a regular file (a device, FIFO or socket); expected a {what}"
        )
    if info.st_size > max_bytes:
        raise InputRefused(_too_big(info.st_size, what, max_bytes))
    return path


def _too_big(size: int, what: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    return (f"is {size / 1024:.0f} KiB; expected a {what} of at most "
            f"{max_bytes // 1024} KiB")


def read_text_file(path: str | Path, what: str = "file",
                   max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``
    (default :data:`MAX_FILE_BYTES`).

    The file is checked with :func:`check_regular_file`, opened non-blocking and checked
    again on the open descriptor (a file swapped for a FIFO in between is refused), and
    at most the cap plus one byte is read.

    Raises
    ------
    InputRefused
        See :func:`check_regular_file`; also for text that is not UTF-8.
    """
    path = check_regular_file(path, what, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputRefused(f"cannot be read ({exc.strerror}); expected a {what}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputRefused(f"is not a regular file; expected a {what}")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputRefused(f"cannot be read ({exc.strerror}); expected a {what}") from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise InputRefused(_too_big(size, what, max_bytes))
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise InputRefused(f"is not UTF-8 text; expected a {what}") from None


# ------------------------------------------------------------------------ parsing


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the limits of this module, applied while composing
    (before any value is built) so that nothing grows past them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._where: list[str] = []
        self._nodes = 0

    def _field(self) -> str:
        return ".".join(self._where)

    def _refuse(self, message: str, mark: Any) -> typing.NoReturn:
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputRefused(message + line, self._field())

    def compose_node(self, parent: Any, index: Any) -> Any:
        pushed = False
        if isinstance(parent, yaml.MappingNode):
            self._where.append(str(index.value) if isinstance(index, yaml.ScalarNode)
                               else "<key>")
            pushed = True
        elif isinstance(parent, yaml.SequenceNode):
            self._where.append(str(len(parent.value)))
            pushed = True
        try:
            return self._compose_bounded(parent, index)
        finally:
            if pushed:
                self._where.pop()

    def _compose_bounded(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            self._refuse("YAML anchors and aliases (&name, *name) are not accepted; "
                         "expected the values written out", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            self._refuse(f"more than {MAX_NODES} values in one file; expected a scenario "
                         "of a few hundred", event.start_mark)
        if len(self._where) > MAX_DEPTH:
            self._refuse(f"nested more than {MAX_DEPTH} levels deep; expected the "
                         "scenario's sections", event.start_mark)
        if (isinstance(event, yaml.ScalarEvent) and event.implicit[0]
                and len(event.value) > MAX_INT_DIGITS
                and event.value.lstrip("+-").replace("_", "").isdigit()):
            self._refuse(f"an integer of {len(event.value)} digits; expected at most "
                         f"{MAX_INT_DIGITS}", event.start_mark)
        return super().compose_node(parent, index)

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode):
                ident = (key.tag, key.value)
                if ident in seen:
                    self._where.append(key.value)
                    self._refuse("duplicate key; expected each key once per section",
                                 key.start_mark)
                seen.add(ident)
        return node


def parse_yaml(text: str) -> Any:
    """Parse YAML text under this module's limits (aliases, depth, size, integers).

    Raises
    ------
    InputRefused
        For a limit, naming the field path where it was hit (and the line).
    yaml.YAMLError
        For text that is not YAML.
    """
    if len(text) > MAX_FILE_BYTES:
        raise InputRefused(_too_big(len(text.encode("utf-8", "replace")), "YAML text"))
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_error_line(exc: yaml.YAMLError) -> str:
    """'is not valid YAML at line L, column C (reason)' for a parser error."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    reason = getattr(exc, "problem", None)
    return f"is not valid YAML{where}" + (f" ({reason})" if reason else "")


def load_yaml_file(path: str | Path, label: str, what: str) -> Any:
    """Read and parse a YAML file within the limits; errors as :class:`ScenarioError`.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    label : str
        The file's name in error lines.
    what : str
        What the file should be ("scenario YAML file"), for the messages.
    """
    try:
        return parse_yaml(read_text_file(path, what))
    except InputRefused as exc:
        raise ScenarioError.single(label, exc.field, exc.message) from None
    except yaml.YAMLError as exc:
        raise ScenarioError.single(
            label, "", f"{yaml_error_line(exc)}; expected a YAML mapping"
        ) from None


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` that never fails or grows: huge integers and long texts shortened."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    try:
        text = repr(value)
    except Exception:  # a repr that fails must not hide the real message
        return f"<{type(value).__name__}>"
    if len(text) > limit:
        return f"{text[: limit - 20]}... ({len(text)} characters)"
    return text


# ------------------------------------------------------------------ strict numbers


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | dict):
        return True  # a nested model checks its own fields
    origin = typing.get_origin(annotation)
    if origin is dict or origin is typing.Literal:
        return True  # a Literal refuses a boolean itself
    return any(_admits_bool(arg) for arg in typing.get_args(annotation)
               if not isinstance(arg, str | int | float))


class _Boolean:
    """Stands for a boolean given where a number or text is expected: no pydantic type
    accepts it, so the field's own error names the field (and shows ``true``)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"{str(self.value).lower()}, a boolean"


class StrictNumbers(BaseModel):
    """Base of the scenario's models: a YAML ``true``/``false`` is not a number.

    pydantic's lax mode reads ``capacity_kwh: true`` as 1 kWh; this refuses a boolean
    (also inside a list such as ``comfort_band_c``) wherever the field's type has no
    ``bool`` in it, through the field's own type error. Infinite and NaN floats are
    refused by the models' config (``allow_inf_nan=False``).
    """

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        changed: dict[str, Any] | None = None
        for key, value in data.items():
            is_list = isinstance(value, list | tuple)
            if not (isinstance(value, bool)
                    or (is_list and any(isinstance(v, bool) for v in value))):
                continue
            field = cls.model_fields.get(key) if isinstance(key, str) else None
            if field is None or _admits_bool(field.annotation):
                continue
            changed = dict(data) if changed is None else changed
            changed[key] = ([_Boolean(v) if isinstance(v, bool) else v for v in value]
                            if is_list else _Boolean(value))
        return data if changed is None else changed


# ------------------------------------------------------------------------- sweeps


def check_sweep_size(axes: list[tuple[str, int]], label: str) -> list[Problem]:
    """The problem of a sweep whose expansion would exceed :data:`MAX_SWEEP_RUNS` runs.

    Parameters
    ----------
    axes : list of (str, int)
        Field path of each axis (``vary.grid.<path>``, ``vary.zip.<group>``) and its
        number of values.
    label : str
        The sweep file, for the error line.

    Returns
    -------
    list of Problem
        Empty, or one problem naming the longest axis and the estimated number of runs
        (computed from the lengths, before anything is expanded).
    """
    total = math.prod(n for _name, n in axes)
    if not axes or total <= MAX_SWEEP_RUNS:
        return []
    longest = max(axes, key=lambda axis: axis[1])[0]
    shape = " x ".join(str(n) for _name, n in axes)
    return [Problem(
        label, longest, f"the sweep would expand to {shape} = {total:.3g} runs; expected at "
        f"most {MAX_SWEEP_RUNS} (fewer values or fewer axes)"
    )]


def load_yaml_mapping(path: str | Path, label: str, what: str) -> dict[str, Any]:
    """:func:`load_yaml_file` for a file that must hold a mapping (a sweep file)."""
    data = load_yaml_file(path, label, what)
    if not isinstance(data, dict):
        raise ScenarioError.single(label, "", f"holds a {type(data).__name__}; expected a "
                                   f"YAML mapping ({what})")
    return data


# ---------------------------------------------------------------- memory of a run

RUN_FIXED_BYTES = 256 * 1024 * 1024
"""Working memory of a run on top of its per-step arrays: the derivation's chunk of
branch currents and its temporaries, the timeseries writer's row group and Parquet
encoder, the KPIs' temporaries. [bytes]"""
ASSET_BYTES_PER_STEP = 160
"""Per scenario asset and step: its family's channels and precomputed profiles. [bytes]"""


def available_memory_bytes() -> int:
    """Memory this process may still take: the least of the machine's available memory
    (``MemAvailable``), the cgroup's limit less its usage, and the address-space limit
    (``RLIMIT_AS``) less the address space in use. [bytes]"""
    bounds: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    bounds.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            bounds.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status", encoding="ascii") as handle:
                size = next((int(line.split()[1]) * 1024 for line in handle
                             if line.startswith("VmSize:")), 0)
            bounds.append(max(0, soft - size))
    except (ImportError, OSError, ValueError):
        pass
    return min(bounds) if bounds else 2**62


class MemoryEstimate(typing.NamedTuple):
    """What a run will hold in memory beyond what the process holds already.

    Attributes
    ----------
    n_steps : int
        Steps of the run.
    per_step : dict
        Part -> bytes a step: ``recorder`` (voltages and injections of every power
        flow), ``profiles`` (the network's precomputed injections), ``derived`` (grid
        results the KPIs read), ``element`` (the network's own element channels: the
        ``element`` output group), ``assets`` (asset channels and profiles).
    fixed_bytes : int
        Working memory not proportional to the steps (:data:`RUN_FIXED_BYTES`).
    """

    n_steps: int
    per_step: dict[str, int]
    fixed_bytes: int

    @property
    def total_bytes(self) -> int:
        """Estimated bytes of the whole run."""
        return self.fixed_bytes + self.n_steps * sum(self.per_step.values())

    def droppable_bytes(self) -> dict[str, int]:
        """Output group -> bytes dropping it from ``outputs.groups`` saves."""
        return {"element": self.n_steps * self.per_step["element"]}


def estimate_run_memory(
    *,
    n_steps: int,
    n_bus_internal: int,
    n_bus: int,
    n_injections: int,
    n_network_elements: int,
    n_recorded_elements: int,
    n_lines: int,
    n_trafos: int,
    n_ext_grids: int,
    n_assets: int,
) -> MemoryEstimate:
    """Estimate a run's memory from the grid's size, its steps and its recorded channels.

    ``n_recorded_elements`` is how many of the network's ``n_network_elements`` have a
    recorded ``p_mw`` channel (all with the ``element`` output group, only the sgens
    without it).
    """
    per_step = {
        # complex voltage, p and q per interval, plus the interval's scalars
        "recorder": 16 * n_bus_internal + 16 * n_injections + 48,
        "profiles": 16 * n_network_elements,
        # vm and va; line loading, current, losses; trafo loading, losses; slack p, q;
        # the KPIs' copies of the voltages and the injections
        "derived": 24 * n_bus + 32 * n_lines + 24 * n_trafos + 16 * n_ext_grids
        + 8 * n_injections + 8,
        "element": 8 * n_recorded_elements,
        "assets": ASSET_BYTES_PER_STEP * n_assets,
    }
    return MemoryEstimate(int(n_steps), per_step, RUN_FIXED_BYTES)


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_run_memory(
    estimate: MemoryEstimate, file: str, groups: tuple[str, ...], available: int | None = None
) -> list[Problem]:
    """Refuse a run whose estimated memory exceeds what the machine has available.

    Returns one problem naming the estimate, what is available, and what to change:
    the output groups to drop from ``outputs.groups`` when that makes the run fit, else
    the horizon or the step.
    """
    free = available_memory_bytes() if available is None else int(available)
    need = estimate.total_bytes
    if need <= free:
        return []
    per_step = sum(estimate.per_step.values())
    parts = ", ".join(f"{name} {value / 1024:.1f}" for name, value in estimate.per_step.items()
                      if value)
    what = (f"the run needs an estimated {_gib(need)} ({estimate.n_steps:,} steps x "
            f"{per_step / 1024:.1f} kB a step: {parts} kB; plus {_gib(estimate.fixed_bytes)} "
            f"working memory) but {_gib(free)} is available")
    drops = {g: b for g, b in estimate.droppable_bytes().items() if g in groups and b}
    saved = sum(drops.values())
    if drops and need - saved <= free:
        names = ", ".join(f"'{g}' (saves {_gib(b)})" for g, b in drops.items())
        return [Problem(file, "outputs.groups", f"{what}; expected outputs.groups without "
                        f"{names}, or a shorter time.duration")]
    hint = (f" (dropping {', '.join(repr(g) for g in drops)} from outputs.groups saves only "
            f"{_gib(saved)})") if drops else ""
    fit = max(1, int((free - estimate.fixed_bytes) // max(per_step, 1)))
    return [Problem(file, "time.duration", f"{what}; expected at most about {fit:,} steps "
                    f"(a shorter time.duration or a longer time.step){hint}")]
