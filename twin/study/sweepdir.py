"""The sweep directory: what ``twin sweep`` records and ``report``/``check`` read back.

``sweep.json`` holds the expanded sweep (:func:`sweep_record`), ``outcomes.jsonl`` one
line per run outcome; :func:`read_sweep_dir` and :func:`latest_outcomes` read them.

Public names: :data:`SWEEP_JSON`, :data:`OUTCOMES_JSONL`, :data:`SWEEP_LOCK`,
:func:`atomic_write_text`, :func:`sweep_record`, :class:`SweepDir`,
:func:`read_sweep_dir`, :func:`latest_outcomes`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.study.expand import PlannedRun, Sweep
from twin.study.schema import SweepInputError, SweepSpec

SWEEP_JSON = "sweep.json"
"""File in a sweep directory that records the expanded sweep."""
OUTCOMES_JSONL = "outcomes.jsonl"
"""File in a sweep directory with one line per finished, skipped or failed run."""
SWEEP_LOCK = ".sweep.lock"
"""Lock file of a sweep directory, held by the sweep that runs into it."""

# ------------------------------------------------------------------------ the sweep dir


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def sweep_record(sweep: Sweep, store: Path, sweep_dir: Path) -> dict[str, Any]:
    """The JSON record of a sweep that ``sweep.json`` holds."""
    try:
        store_ref = os.path.relpath(store.resolve(), sweep_dir.resolve())
    except ValueError:
        store_ref = str(store.resolve())
    return {
        "format": 1,
        "name": sweep.spec.name,
        "description": sweep.spec.description,
        "sweep_file": str(Path(sweep.file).resolve()),
        "scenario_file": str((Path(sweep.file).parent / sweep.spec.scenario).resolve()),
        "store": store_ref,
        "axes": [list(a) for a in sweep.axes],
        "spec": sweep.spec.model_dump(mode="json"),
        "runs": [
            {
                "index": r.index,
                "run_id": r.run_id,
                "params": r.params,
                "scenario_hash": r.scenario_hash,
                "seed": r.seed,
            }
            for r in sweep.runs
        ],
    }


@dataclass(frozen=True)
class SweepDir:
    """A sweep directory read back: the sweep, its store and its runs' outcomes.

    Attributes
    ----------
    path : pathlib.Path
        The sweep directory.
    record : dict
        Contents of ``sweep.json``.
    store : pathlib.Path
        The results store its runs are in.
    runs : tuple of PlannedRun
        The planned runs (without their resolved scenarios).
    spec : SweepSpec
        The sweep as written.
    """

    path: Path
    record: dict[str, Any]
    store: Path
    runs: tuple[PlannedRun, ...]
    spec: SweepSpec

    @property
    def axes(self) -> list[list[str]]:
        """Varied field paths grouped by axis."""
        return [list(a) for a in self.record["axes"]]


def read_sweep_dir(path: str | Path) -> SweepDir:
    """Read a sweep directory written by :func:`run_sweep`.

    Raises
    ------
    SweepInputError
        When it is not a sweep directory.
    """
    folder = Path(path)
    record_path = folder / SWEEP_JSON
    if not record_path.is_file():
        raise SweepInputError.single(
            str(folder), "", f"no {SWEEP_JSON}; expected a directory written by 'twin sweep'"
        )
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        spec = SweepSpec.model_validate(record["spec"])
        runs = tuple(
            PlannedRun(
                index=r["index"],
                params=r["params"],
                run_id=r["run_id"],
                scenario_hash=r["scenario_hash"],
                seed=r["seed"],
                scenario={},
            )
            for r in record["runs"]
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise SweepInputError.single(
            str(record_path), "", f"is not a valid sweep record ({exc})"
        ) from None
    store = Path(record["store"])
    if not store.is_absolute():
        store = (folder / store).resolve()
    return SweepDir(folder, record, store, runs, spec)


def latest_outcomes(sweep_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Run id -> the latest recorded outcome (from ``outcomes.jsonl``)."""
    result: dict[str, dict[str, Any]] = {}
    path = Path(sweep_dir) / OUTCOMES_JSONL
    if not path.is_file():
        return result
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if isinstance(item, dict) and "run_id" in item:
            result[item["run_id"]] = item
    return result
