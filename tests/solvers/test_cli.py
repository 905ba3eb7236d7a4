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
    assert "relaxation: True" in out
    assert "status: optimal" in out


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
