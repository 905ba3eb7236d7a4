"""Hypothesis fuzzing of the shipped scenarios (#16): mutated files (types, magnitudes,
deletions, duplications, nesting) give exit 0 or 2 from ``twin validate``, and for a
bounded subset from a short ``twin run``, never a traceback or ``internal error``; each
case within :data:`CASE_SECONDS` and the worker within :data:`MEMORY_LIMIT_BYTES`.

The CLI runs in one worker subprocess under ``RLIMIT_AS`` (tests/twin/bounded_cli_worker.py)
so that a mutation that would read, recurse or allocate without end kills the worker
there, which fails the example, instead of the test session. Example budgets are fixed
(:data:`VALIDATE_EXAMPLES`, :data:`RUN_EXAMPLES`; ``GRIDTWIN_FUZZ_EXAMPLES=2000`` for a
long local hunt); CI's hypothesis profile is derandomized, so CI draws the same
examples every time.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
FAST_TO_RUN = ("default.yaml", "cigre_lv_week.yaml", "microgrid_island_day.yaml",
               "patterns_storm_day.yaml", "ev_depot_week.yaml")
# Address space, not resident memory: a short run maps pandapower, lightsim2grid, HiGHS and
# BLAS thread buffers (well over 1.5 GiB of address space once an EMS scenario ran), and a
# native allocation refused by RLIMIT_AS aborts the worker instead of raising MemoryError.
# 4 GiB still stops any input that allocates without bound.
MEMORY_LIMIT_BYTES = 4 * 1024 * 1024 * 1024
CASE_SECONDS = 60
VALIDATE_EXAMPLES = int(os.environ.get("GRIDTWIN_FUZZ_EXAMPLES", "60"))
RUN_EXAMPLES = max(1, VALIDATE_EXAMPLES // 12)

HOSTILE = [True, False, None, "", "abc", 0, -1, 1, 10**19, 2**63, 10**25, 1e308, -1e308,
           float("nan"), float("inf"), "0s", "9" * 400 + "s", "1e999h", "x" * 300, [], {},
           [[[[1]]]], {"a": {"b": {"c": 1}}}, "/dev/zero", "../../etc/passwd"]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_scenario(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[str, str]:
    """(shipped file name, mutated YAML text)."""
    name = draw(st.sampled_from(names))
    data = yaml.safe_load((ROOT / "scenarios" / name).read_text())
    dup_text = ""
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(["type", "magnitude", "delete", "duplicate", "nest",
                                   "duplicate_key"]))
        if op == "type":
            parent[key] = copy.deepcopy(draw(st.sampled_from(HOSTILE)))
        elif op == "magnitude" and isinstance(value, int | float) and not isinstance(value, bool):
            factor = draw(st.sampled_from([-1, 0, 1e-15, 1e-6, 1e3, 1e6, 1e15, 1e300]))
            parent[key] = value * factor
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif op == "duplicate" and isinstance(value, list):
            parent[key] = value * draw(st.integers(2, 50))
        elif op == "nest":
            for _level in range(draw(st.integers(1, 60))):
                value = [value] if draw(st.booleans()) else {"k": value}
            parent[key] = value
        elif op == "duplicate_key" and len(path) == 1:
            dup_text = yaml.dump({key: value}, Dumper=_NoAliases, sort_keys=False)
    text = yaml.dump(data, Dumper=_NoAliases, sort_keys=False) + dup_text
    return name, text


class Worker:
    """The bounded CLI worker process (one per module)."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("bounded_cli_worker.py")),
             str(MEMORY_LIMIT_BYTES), str(CASE_SECONDS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def call(self, argv: list[str], files: dict[str, str]) -> dict:
        self.proc.stdin.write(json.dumps({"argv": argv, "files": files}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the worker died (memory limit or crash) on {argv}"
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):
    """A copy of scenarios/ and data/ (base: and trace paths resolve as shipped), and
    the worker."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    shutil.copytree(ROOT / "data", root / "data")
    worker = Worker(root)
    yield root, worker
    worker.close()


def _assert_clean(result: dict, text: str) -> None:
    shown = text if len(text) < 3000 else text[:3000] + "..."
    assert result["code"] in (0, 2), (result, shown)
    assert "Traceback" not in result["stderr"], (result, shown)
    assert "internal error" not in result["stderr"], (result, shown)
    assert result["seconds"] < CASE_SECONDS, (result, shown)


@settings(max_examples=VALIDATE_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=mutated_scenario(tuple(SHIPPED)))
def test_validate_of_a_mutated_scenario_exits_0_or_2(workspace, case) -> None:
    root, worker = workspace
    _name, text = case
    file = root / "scenarios" / "_fuzz.yaml"
    result = worker.call(["validate", str(file)], {str(file): text})
    if os.environ.get("GRIDTWIN_FUZZ_LOG"):
        with open(os.environ["GRIDTWIN_FUZZ_LOG"], "a") as log:
            log.write(json.dumps([result["code"], result["stderr"][:200]]) + "\n")
    _assert_clean(result, text)


@settings(max_examples=RUN_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=mutated_scenario(FAST_TO_RUN))
def test_short_run_of_a_mutated_scenario_exits_0_or_2_as_validate(workspace, case) -> None:
    """A two-hour run: exit 0 or 2, and exit 2 only for a file validate refuses too."""
    root, worker = workspace
    _name, text = case
    data = yaml.safe_load(text)
    if isinstance(data, dict) and isinstance(data.get("time"), dict):
        data["time"]["duration"] = "2h"  # short whatever the mutation did elsewhere
        text = yaml.dump(data, Dumper=_NoAliases, sort_keys=False)
    file = root / "scenarios" / "_fuzz_run.yaml"
    checked = worker.call(["validate", str(file)], {str(file): text})
    _assert_clean(checked, text)
    ran = worker.call(["run", str(file), "--out", str(root / "runs"), "--quiet"], {})
    _assert_clean(ran, text)
    if ran["code"] == 2:
        assert checked["code"] == 2, ("run refused what validate accepted", ran, text)
