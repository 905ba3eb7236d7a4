"""The quantum value page: a run without routed decisions gets a plain message."""

from __future__ import annotations


def test_value_page_on_runs_without_decisions_says_so(app, app_env) -> None:
    app.run()
    app.switch_page("gui/pages/value.py").run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "no routed decisions" in warning


def test_value_tables_print_numbers_as_a_person_reads_them() -> None:
    """The value page's tables (solver rows, system KPIs, break-even) go through one
    formatter: no raw floats, no round-off noise, no 'None' cells."""
    import pandas as pd

    from gui.common import readable_table

    table = pd.DataFrame({"expected_ratio": [0.6920000000000001, None],
                          "p_optimal": [2.13163e-17, 0.0273],
                          "calls": [11, 3], "solver": ["qaoa", "tabu"]})
    out = readable_table(table)
    assert out["expected_ratio"].tolist() == ["0.692", "n/a"]  # pandas holds None as NaN
    assert out["p_optimal"].tolist() == ["0", "0.0273"]
    assert out["calls"].tolist() == ["11", "3"]
    assert out["solver"].tolist() == ["qaoa", "tabu"]
    obj = pd.DataFrame({"x": [None, -0.0, 1.0]}, dtype=object)
    assert readable_table(obj)["x"].tolist() == ["-", "0", "1"]
