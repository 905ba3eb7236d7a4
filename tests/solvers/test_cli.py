"""``python -m solvers`` / ``twin solve``: solve an LP file, report, refuse bad input."""

from __future__ import annotations

import json

import pytest

from solvers.cli import main

LP = "maximize\n obj: 3 x + 2 y + 4 z\nsubject to\n cap: 2 x + y + 3 z <= 4\nbinary\n x y z\nend\n"


def test_solves_a_file_and_prints_json(tmp_path, capsys) -> None:
    path = tmp_path / "knap.lp"
    path.write_text(LP)
    assert main([str(path), "--solver", "exact", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(6.0)
    assert data["values"] == {"x": 0.0, "y": 1.0, "z": 1.0}


def test_options_are_parsed(tmp_path, capsys) -> None:
    path = tmp_path / "knap.lp"
    path.write_text(LP)
    assert main([str(path), "--solver", "milp", "--option", "relax=true"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["relaxation"] == ["yes"]
    assert rows["status"] == ["optimal"]


def test_text_report_has_headers_units_and_reads_like_numbers(capsys) -> None:
    """Regression: the report printed ``objective: 6.720000000000001`` and ``-0`` values;
    every table now has a header, diagnostics carry their unit, numbers are formatted."""
    import re
    from pathlib import Path

    lp = Path(__file__).resolve().parents[2] / "examples" / "problems" / "ev_slots.lp"
    assert main([str(lp), "--solver", "milp"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for header in (["result", "value", "unit"], ["diagnostic", "value", "unit"],
                   ["variable", "value"]):
        assert header in [line.split() for line in lines]
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.strip()}
    assert rows["objective"] == ["6.72"]
    assert rows["solve_time_s"][-1] == "s"
    assert rows["wall"][-1] == "s"  # "wall time ... s"
    assert not re.search(r"(?<![\w.])-0(?![.\d])", out)  # no -0
    for number in re.findall(r"\d[\d,]*\.\d+", out):  # no float noise (6.720000000000001)
        assert len(number.replace(",", "").replace(".", "").lstrip("0")) <= 6, number
    assert not re.search(r"e-1\d", out)  # no 1e-17 round-off
    values = [rows[n] for n in rows if n.startswith("ev") and n[2:3].isdigit()]
    assert values
    assert all(v in (["0"], ["1"]) for v in values)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--solver", "nope"], "unknown solver 'nope'"),
        (["--option", "bogus=1"], "no option 'bogus'"),
        (["--option", "novalue"], "expected key=value"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, needle) -> None:
    path = tmp_path / "knap.lp"
    path.write_text(LP)
    assert main([str(path), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1


def test_malformed_file_exits_2(tmp_path, capsys) -> None:
    path = tmp_path / "bad.lp"
    path.write_text("minimize\n obj: x +\nst\n c: x >= = 1\nend\n")
    assert main([str(path)]) == 2
    assert "malformed LP file" in capsys.readouterr().err


def test_twin_solve_is_registered_on_the_twin_app(tmp_path) -> None:
    from typer.testing import CliRunner

    from twin.cli import COMMAND_MODULES, app

    assert "solvers.cli" in COMMAND_MODULES
    path = tmp_path / "knap.lp"
    path.write_text(LP)
    runner = CliRunner()
    result = runner.invoke(app, ["solve", str(path), "--solver", "exact", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(6.0)
    bad = runner.invoke(app, ["solve", str(tmp_path / "missing.lp")])
    assert bad.exit_code == 2
    assert "no such LP file" in bad.output
