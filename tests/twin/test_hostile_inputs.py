"""Crafted inputs of the hostile audit (#16): each is refused with exit code 2 and a line
naming the file and the field, in bounded time and memory.

Every reproducer is built by a fixture into a temporary folder. The CLI runs in ONE
subprocess per command group (startup is the slow part), under ``resource.setrlimit``
(address space :data:`MEMORY_LIMIT_BYTES`) with a per-case wall-clock alarm
(:data:`CASE_SECONDS`): a case that reads without end, recurses or expands an alias bomb
dies there (MemoryError, alarm) instead of passing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024
CASE_SECONDS = 20

GOOD = """\
name: ok
time: {duration: 1d, step: 15min}
grid: {source: simbench, code: 1-LV-rural1--0-sw}
assets:
  - {kind: battery, name: bat, bus: 3, capacity_kwh: 10, power_kw: 5}
"""
EMS = GOOD + "control: {mode: ems}\n"
NINES = "9" * 400

# A 907-byte-class YAML alias bomb: nine levels of nine references (9^9 leaves).
ALIAS_BOMB = "name: bomb\ngrid: {source: simbench, code: 1-LV-rural1--0-sw}\n" + "\n".join(
    ["description_a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"d{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
       for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"

_RUNNER = textwrap.dedent("""
    import json, resource, signal, sys, time
    limit = int(sys.argv[1]); seconds = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from typer.testing import CliRunner
    from twin.cli import app

    class Alarm(Exception):
        pass

    def on_alarm(signum, frame):
        raise Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    out = []
    for argv in json.loads(sys.stdin.read()):
        started = time.monotonic()
        signal.alarm(seconds)
        try:
            result = CliRunner().invoke(app, argv)
            code, stderr = result.exit_code, result.stderr
            error = repr(result.exception) if result.exit_code not in (0, 2) else ""
        except (Alarm, MemoryError) as exc:
            code, stderr, error = -1, "", repr(exc)
        finally:
            signal.alarm(0)
        out.append({"code": code, "stderr": stderr, "error": error,
                    "seconds": time.monotonic() - started})
    print(json.dumps(out))
""")


def run_bounded(argvs: list[list[str]], cwd: Path) -> list[dict]:
    """Run ``twin <argv>`` for each argv in one memory-limited subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(MEMORY_LIMIT_BYTES), str(CASE_SECONDS)],
        input=json.dumps(argvs), capture_output=True, text=True, cwd=cwd, env=env,
        timeout=CASE_SECONDS * len(argvs) + 60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, str]]:
    """The audit's reproducers: case -> (file, field path named, words of the message).

    A field path of "" means the line is about the file as a whole.
    """
    d = tmp_path_factory.mktemp("hostile")
    cases: dict[str, tuple[Path, str, str]] = {}

    def add(case: str, text: str, field: str, words: str) -> None:
        cases[case] = (_write(d, f"{case}.yaml", text), field, words)

    add("time_duration_nines", GOOD.replace("duration: 1d", f"duration: {NINES}d"),
        "time.duration", "characters")
    add("time_step_nines", GOOD.replace("step: 15min", f"step: {NINES}s"),
        "time.step", "characters")
    add("time_duration_huge", GOOD.replace("duration: 1d", "duration: 99999999999999999999d"),
        "time.duration", "1000 years")
    add("outage_start_nines", GOOD + f"pcc: {{outages: [{{start: {NINES}s, duration: 1h}}]}}\n",
        "pcc.outages.0.start", "characters")
    add("fault_start_nines",
        GOOD + f"faults: [{{kind: battery_trip, asset: bat, start: {NINES}s, duration: 1h}}]\n",
        "faults.0.start", "characters")
    add("deferrable_duration_nines", GOOD.replace(
        "assets:\n", "assets:\n  - {kind: building, name: b, bus: 4, deferrable: "
        f"[{{power_kw: 2, duration: {NINES}h, earliest_h: 1, latest_end_h: 20}}]}}\n"),
        "assets.0.deferrable.0.duration", "characters")
    add("plan_step_zero", EMS.replace("{mode: ems}", "{mode: ems, ems: {plan_step: 0s}}"),
        "control.ems", "plan_step")
    add("seed_5000_digits", GOOD + "seed: " + "7" * 5000 + "\n", "seed", "5000 digits")
    add("seed_too_big", GOOD + "seed: 18446744073709551616\n", "seed", "less than")
    add("name_300_chars", GOOD.replace("name: ok", "name: " + "n" * 300), "name", "64")
    add("deep_description", GOOD + "description: " + "[" * 5000 + "]" * 5000 + "\n",
        "description", "nested")
    add("capacity_true", GOOD.replace("capacity_kwh: 10", "capacity_kwh: true"),
        "assets.0.capacity_kwh", "boolean")
    add("duplicate_key", GOOD + "name: other\n", "name", "duplicate key")
    add("alias_bomb", ALIAS_BOMB, "description_a", "aliases")
    add("duration_100000_parts", GOOD.replace("duration: 1d", "duration: " + "1s" * 100_000),
        "time.duration", "characters")
    add("threads_million",
        EMS.replace("{mode: ems}", "{mode: ems, ems: {dispatch: {options: {threads: 1000000}}}}"),
        "control.ems.dispatch.options", "threads")
    add("option_nan",
        EMS.replace("{mode: ems}", "{mode: ems, ems: {dispatch: {options: {x: .nan}}}}"),
        "control.ems.dispatch.options", "no option 'x'")
    add("mip_gap_inf",
        EMS.replace("{mode: ems}", "{mode: ems, ems: {dispatch: {options: {mip_rel_gap: .inf}}}}"),
        "control.ems.dispatch.options", "mip_rel_gap")
    add("qaoa_unknown_option", EMS.replace(
        "{mode: ems}", "{mode: ems, ems: {dispatch: {solver: qaoa, options: {rps: 2}}}}"),
        "control.ems.dispatch.options", "rps")
    add("solver_option_bool", EMS.replace(
        "{mode: ems}", "{mode: ems, ems: {dispatch: {solver: annealing, options: "
        "{num_reads: true}}}}"), "control.ems.dispatch.options.num_reads", "boolean")
    add("annealing_reads_1e12", EMS.replace(
        "{mode: ems}", "{mode: ems, ems: {dispatch: {solver: annealing, options: "
        "{num_reads: 1000000000000}}}}"), "control.ems.dispatch.options.num_reads", "from 1 to")
    add("qaoa_reps_10000", EMS.replace(
        "{mode: ems}", "{mode: ems, ems: {ev_assignment: {solver: qaoa, options: "
        "{reps: 10000}}}}"), "control.ems.ev_assignment.options.reps", "from 1 to 50")
    add("tabu_negative_timeout", EMS.replace(
        "{mode: ems}", "{mode: ems, ems: {dispatch: {solver: tabu, options: "
        "{timeout_ms: -5}}}}"), "control.ems.dispatch.options.timeout_ms", "from 1 to")
    add("threads_fraction",
        EMS.replace("{mode: ems}", "{mode: ems, ems: {dispatch: {options: {threads: 2.5}}}}"),
        "control.ems.dispatch.options", "whole number")
    add("fault_mtbf_true",
        GOOD + "faults: [{kind: battery_trip, asset: bat, mtbf_h: true, mttr_h: 1}]\n",
        "faults.0.mtbf_h", "boolean")
    add("comms_deadline_inf", GOOD + "comms: {enabled: true, deadline_s: .inf}\n",
        "comms.deadline_s", "finite")
    add("mtbf_tiny",
        GOOD + "faults: [{kind: battery_trip, asset: bat, mtbf_h: 1.0e-6, mttr_h: 1.0e-6}]\n",
        "faults.0.mtbf_h", "stochastic failures expected")
    many = ", ".join("{kind: battery_trip, asset: bat, mtbf_h: 0.001, mttr_h: 0.001}"
                     for _ in range(1000))
    add("mtbf_many", GOOD + f"faults: [{many}]\n", "faults.0.mtbf_h",
        "stochastic failures expected")
    # 5,000 such faults do not fit under the file-size cap (313 KiB): 4,000 do, and are
    # refused by the number of faults before any of them is simulated
    add("faults_4000", GOOD + f"faults: [{', '.join([many] * 4)}]\n", "faults", "1000")
    five = GOOD + f"faults: [{', '.join([many] * 5)}]\n"
    cases["faults_5000"] = (_write(d, "faults_5000.yaml", five), "", "KiB")
    # base: chains and special files
    add("base_dev_zero", "base: /dev/zero\nname: z\n", "base", "not a regular file")
    add("base_dev_urandom", "base: /dev/urandom\nname: z\n", "base", "not a regular file")
    fifo = d / "fifo.yaml"
    os.mkfifo(fifo)
    add("base_fifo", f"base: {fifo}\nname: z\n", "base", "not a regular file")
    cases["fifo_itself"] = (fifo, "", "not a regular file")
    cases["dev_zero_itself"] = (Path("/dev/zero"), "", "not a regular file")
    chain = d / "chain"
    chain.mkdir()
    _write(chain, "c1500.yaml", GOOD)
    for i in range(1499, 0, -1):
        _write(chain, f"c{i}.yaml", f"base: c{i + 1}.yaml\n")
    cases["base_chain_1500"] = (chain / "c1.yaml", "base", "chain")
    big = d / "keys_2_5m.yaml"
    with big.open("w") as handle:  # ~50 MB, 2.5 M keys
        for i in range(2_500_000):
            handle.write(f"k{i:07d}: {i:010d}\n")
    cases["file_50mb"] = (big, "", "KiB")
    # a latency trace of /dev/zero in a copy of the shipped trace scenario
    for base in ("patterns_qpu_outage_evening_peak.yaml", "microgrid_island_day.yaml"):
        _write(d, base, (ROOT / "scenarios" / base).read_text())
    shipped = (ROOT / "scenarios" / "patterns_latency_study_base.yaml").read_text()
    assert "../data/latency/wan_rtt_half_ms.csv" in shipped
    add("trace_dev_zero", shipped.replace("../data/latency/wan_rtt_half_ms.csv", "/dev/zero"),
        "comms.links.3.latency.path", "not a regular file")
    return cases


def _assert_refused(case: str, result: dict, file: Path, field: str, words: str) -> None:
    assert result["code"] == 2, (case, result)
    assert result["seconds"] < CASE_SECONDS, (case, result["seconds"])
    stderr = result["stderr"]
    assert "Traceback" not in stderr, (case, stderr)
    assert "internal error" not in stderr, (case, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, case
    assert all(len(line) < len(str(file)) + 1100 for line in lines), (case, max(map(len, lines)))
    prefix = f"{file}: {field}" if field else f"{file}: "
    matching = [line for line in lines if line.startswith(prefix)
                and (not field or line[len(prefix)] in ":.")]
    assert matching, (case, prefix, lines)
    assert any(words.lower() in line.lower() for line in matching), (case, words, matching)


def test_validate_refuses_every_crafted_file(hostile: dict, tmp_path: Path) -> None:
    names = sorted(hostile)
    results = run_bounded([["validate", str(hostile[n][0])] for n in names], tmp_path)
    for name, result in zip(names, results, strict=True):
        file, field, words = hostile[name]
        _assert_refused(name, result, file, field, words)


RUN_SUBSET = ("plan_step_zero", "trace_dev_zero", "threads_million", "mtbf_tiny",
              "name_300_chars", "base_dev_zero", "time_duration_nines", "option_nan")


def test_run_refuses_what_validate_refuses(hostile: dict, tmp_path: Path) -> None:
    store = tmp_path / "runs"
    results = run_bounded(
        [["run", str(hostile[n][0]), "--out", str(store)] for n in RUN_SUBSET], tmp_path)
    for name, result in zip(RUN_SUBSET, results, strict=True):
        file, field, words = hostile[name]
        _assert_refused(name, result, file, field, words)
    assert not store.exists() or not any(store.iterdir())


def test_seed_option_bounded_like_the_schema(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    results = run_bounded([["run", str(good), "--seed", str(2**64), "--out", str(tmp_path)],
                           ["run", str(good), "--seed", str(2**63), "--out", str(tmp_path)]],
                          tmp_path)
    for result in results:
        assert result["code"] == 2, result
        assert "--seed" in result["stderr"], result
    assert not any(p.is_dir() for p in tmp_path.iterdir())


@pytest.fixture
def sweep_cases(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """A sweep whose scenario is the alias bomb, and a 5 x 100 grid."""
    _write(tmp_path, "bomb.yaml", ALIAS_BOMB)
    _write(tmp_path, "good.yaml", GOOD)
    bomb = _write(tmp_path, "sweep_bomb.yaml",
                  "name: bomb\nscenario: bomb.yaml\nvary:\n  grid:\n    seed: [0, 1]\n")
    axes = ["seed", "profiles.load_scale", "profiles.sgen_scale", "assets.0.power_kw",
            "assets.0.capacity_kwh"]
    grid = "".join(f"    {a}: [{', '.join(str(v + 1) for v in range(100))}]\n" for a in axes)
    huge = _write(tmp_path, "sweep_grid.yaml",
                  f"name: huge\nscenario: good.yaml\nvary:\n  grid:\n{grid}")
    return {"alias_bomb_scenario": (bomb, "scenario", "aliases"),
            "grid_5x100": (huge, "vary.grid.seed", "1e+10 runs")}


def test_sweep_refuses_alias_bomb_and_huge_grid(sweep_cases: dict, tmp_path: Path) -> None:
    names = sorted(sweep_cases)
    results = run_bounded(
        [["sweep", str(sweep_cases[n][0]), "--dry-run", "--store", str(tmp_path / "runs")]
         for n in names], tmp_path)
    for name, result in zip(names, results, strict=True):
        file, field, words = sweep_cases[name]
        _assert_refused(name, result, file, field, words)


def test_problem_lines_are_cut_whatever_the_echoed_value() -> None:
    from twin.errors import MAX_MESSAGE_CHARS, Problem

    line = str(Problem("f.yaml", "time.duration", "bad: " + "1s" * 300_000))
    assert len(line) <= len("f.yaml: time.duration: ") + MAX_MESSAGE_CHARS
    assert line.endswith("(cut, 600005 characters)")
