"""Bad input in the app: a clear message in the page, nothing overwritten, app still works."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from gui import settings


def _scenario_page(app: AppTest) -> AppTest:
    app.run()
    app.switch_page("gui/pages/scenario.py").run()
    return app


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


def test_invalid_uploaded_file_is_refused_with_its_problems(app, app_env):
    _scenario_page(app)
    editor_before = app.text_area(key="scenario_yaml").value
    files_before = _snapshot(app_env["scenarios"])
    bad = b"name: broken\ngrid: {source: simbench, code: 1-LV-rural1--0-sw}\nassets: 7\n"
    app.file_uploader(key="scenario_upload").set_value(("bad.yaml", bad, "text/yaml")).run()
    assert not app.exception
    error = " ".join(e.value for e in app.error)
    assert "Upload refused" in error
    assert "assets" in error
    assert app.text_area(key="scenario_yaml").value == editor_before
    assert _snapshot(app_env["scenarios"]) == files_before
    # the app keeps working: a widget edit still validates
    app.text_input(key="param__time.duration").set_value("1d").run()
    assert not app.exception
    assert any("Valid scenario" in s.value for s in app.success)


def test_file_that_is_not_yaml_text_is_refused(app):
    _scenario_page(app)
    app.file_uploader(key="scenario_upload").set_value(
        ("binary.yaml", bytes(range(256)) * 4, "text/yaml")).run()
    assert not app.exception
    assert any("not UTF-8 text" in e.value for e in app.error)


def test_too_large_file_is_refused_before_it_is_read(app, app_env):
    _scenario_page(app)
    editor_before = app.text_area(key="scenario_yaml").value
    big = b"# padding\n" * (settings.MAX_UPLOAD_BYTES // 10 + 10)
    app.file_uploader(key="scenario_upload").set_value(("big.yaml", big, "text/yaml")).run()
    assert not app.exception
    assert any("the limit is" in e.value for e in app.error)
    assert app.text_area(key="scenario_yaml").value == editor_before


@pytest.mark.parametrize("name", ["../evil", "..\\evil.yaml", "/tmp/abs.yaml"])
def test_save_name_outside_the_scenarios_folder_is_refused(app, app_env, name):
    _scenario_page(app)
    outside_before = sorted(p.name for p in app_env["scenarios"].parent.iterdir())
    files_before = _snapshot(app_env["scenarios"])
    app.text_input(key="scenario_save_name").input(name).run()
    app.checkbox(key="scenario_overwrite").check().run()  # even when overwrite is allowed
    app.button(key="scenario_save").click().run()
    assert not app.exception
    assert any(e.value.startswith("Not saved") for e in app.error)
    assert _snapshot(app_env["scenarios"]) == files_before
    assert sorted(p.name for p in app_env["scenarios"].parent.iterdir()) == outside_before


def test_corrupted_run_folders_are_reported_and_the_rest_still_works(app, app_env,
                                                                     reference_store):
    runs = reference_store["runs"]
    store = app_env["store"]
    (store / runs[1].run_id / "kpis.json").write_text("{not json")
    parquet = store / runs[2].run_id / "timeseries.parquet"
    parquet.write_bytes(parquet.read_bytes()[:200])
    (store / "half-written").mkdir()  # no manifest: not a run, silently skipped
    app.run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "2 run folder(s)" in warning
    assert f"{runs[1].run_id}/kpis.json: corrupted" in warning
    assert "timeseries.parquet: corrupted" in warning
    options = app.selectbox(key="results_run").options
    assert len(options) == 1
    assert options[0].startswith(runs[0].run_id)
    assert app.metric  # the intact run still shows
    for page in ("compare", "sweeps", "run", "scenario"):
        app.switch_page(f"gui/pages/{page}.py").run()
        assert not app.exception
    # the damaged folders were left as they were (nothing overwritten or deleted)
    assert (store / runs[1].run_id / "kpis.json").read_text() == "{not json"
    assert len(parquet.read_bytes()) == 200


def test_corrupted_manifest_of_the_only_run_leaves_a_clear_message(app, app_env,
                                                                   reference_store):
    store = app_env["store"]
    for run in reference_store["runs"]:
        (store / run.run_id / "manifest.json").write_text(json.dumps([1, 2]))
    app.run()
    assert not app.exception
    assert any("manifest.json: corrupted (expected a JSON object)" in w.value
               for w in app.warning)


@pytest.mark.parametrize(("version", "words"), [(99, "format_version 99 is newer"),
                                                (0, "format_version is 0; this GridTwin"),
                                                (None, "written before format versions")])
def test_a_run_of_another_format_version_is_named_not_crashed_on(app, app_env,
                                                                 reference_store, version,
                                                                 words):
    import json

    run = reference_store["runs"][1]
    manifest_path = app_env["store"] / run.run_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if version is None:
        manifest.pop("format_version", None)
    else:
        manifest["format_version"] = version
    manifest_path.write_text(json.dumps(manifest))
    app.run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "another results format version" in warning
    assert words in warning
    assert run.run_id in warning
    assert run.run_id not in app.selectbox(key="results_run").options  # not shown
