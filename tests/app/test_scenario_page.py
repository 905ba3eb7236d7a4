"""AppTest of the Scenario page: widgets, YAML editor validation, upload, save."""

from __future__ import annotations

import yaml
from streamlit.testing.v1 import AppTest


def _open(app: AppTest) -> AppTest:
    app.run()
    app.switch_page("gui/pages/scenario.py").run()
    assert not app.exception
    return app


def test_picks_the_default_scenario_and_validates_it(app, app_env):
    _open(app)
    assert app.selectbox(key="scenario_file").value == "default.yaml"
    editor = app.text_area(key="scenario_yaml").value
    assert editor == (app_env["scenarios"] / "default.yaml").read_text()
    assert any("Valid scenario" in s.value for s in app.success)


def test_widget_edit_rewrites_the_yaml_and_keeps_the_header(app, app_env):
    _open(app)
    app.text_input(key="param__time.duration").set_value("2d").run()
    assert not app.exception
    text = app.text_area(key="scenario_yaml").value
    assert yaml.safe_load(text)["time"]["duration"] == "2d"
    assert text.startswith("# Default scenario")
    steps = 2 * 86400 // 900
    assert any(f"({steps} steps)" in s.value for s in app.success)
    # nothing was written: the file on disk is unchanged
    assert "duration: 3d" in (app_env["scenarios"] / "default.yaml").read_text()


def test_editor_reports_problems_with_field_paths_as_you_type(app):
    _open(app)
    text = app.text_area(key="scenario_yaml").value
    app.text_area(key="scenario_yaml").input(text.replace("duration: 3d",
                                                          "duration: 3 fortnights")).run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error)
    assert "time.duration" in errors
    app.text_area(key="scenario_yaml").input(text.replace("capacity_kwh: 20",
                                                          "capacity_kwh: -5")).run()
    errors = " ".join(e.value for e in app.error)
    assert "assets.1.capacity_kwh" in errors
    assert "time.duration" not in errors
    app.text_area(key="scenario_yaml").input("name: [unclosed").run()
    assert any("not valid YAML" in e.value for e in app.error)


def test_save_as_new_file_then_refuse_to_overwrite(app, app_env):
    _open(app)
    app.text_input(key="param__time.duration").set_value("1d").run()
    app.text_input(key="scenario_save_name").input("one_day").run()
    app.button(key="scenario_save").click().run()
    assert not app.exception
    saved = app_env["scenarios"] / "one_day.yaml"
    assert yaml.safe_load(saved.read_text())["time"]["duration"] == "1d"
    assert app.selectbox(key="scenario_file").value == "one_day.yaml"
    # the same name again, with other content, without ticking overwrite
    app.text_input(key="param__time.duration").set_value("2d").run()
    app.text_input(key="scenario_save_name").input("one_day.yaml").run()
    app.button(key="scenario_save").click().run()
    assert any("already exists" in e.value for e in app.error)
    assert yaml.safe_load(saved.read_text())["time"]["duration"] == "1d"
    app.checkbox(key="scenario_overwrite").check().run()
    app.button(key="scenario_save").click().run()
    assert yaml.safe_load(saved.read_text())["time"]["duration"] == "2d"


def test_valid_upload_loads_into_the_editor_without_saving(app, app_env):
    _open(app)
    data = yaml.safe_load((app_env["scenarios"] / "default.yaml").read_text())
    data["name"] = "uploaded"
    content = yaml.safe_dump(data).encode()
    before = sorted(p.name for p in app_env["scenarios"].iterdir())
    app.file_uploader(key="scenario_upload").set_value(
        ("mine.yaml", content, "application/x-yaml")).run()
    assert not app.exception
    assert yaml.safe_load(app.text_area(key="scenario_yaml").value)["name"] == "uploaded"
    assert app.text_input(key="scenario_save_name").value == "mine.yaml"
    assert sorted(p.name for p in app_env["scenarios"].iterdir()) == before
