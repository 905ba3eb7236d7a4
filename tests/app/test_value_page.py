"""The quantum value page: a run without routed decisions gets a plain message."""

from __future__ import annotations


def test_value_page_on_runs_without_decisions_says_so(app, app_env) -> None:
    app.run()
    app.switch_page("gui/pages/value.py").run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "no routed decisions" in warning
