"""Scenario page: pick a scenario file, edit it with widgets or as YAML, upload, save.

The YAML editor holds the scenario being edited; the widgets edit the same text (the
file's top comment block is kept). Validation runs on every change. Saving writes a new
file in the scenarios folder, atomically, and never replaces a file unless asked.
"""

from __future__ import annotations

import streamlit as st

from gui import scenario_files as sf
from gui import settings

st.title("Scenario")
folder = settings.scenarios_dir()
files = sf.list_scenario_files(folder)

TEXT = "scenario_text"          # the edited YAML (kept across pages)
SOURCE = "scenario_source"      # the file the text was loaded from
EDITOR = "scenario_yaml"        # the editor widget


def _param_key(path: str) -> str:
    return f"param__{path}"


def _sync_widgets_from_text(text: str) -> None:
    """Set the parameter widgets' values from a (valid) scenario text."""
    checked = sf.validate_text(text, folder, source=str(folder / "editor.yaml"))
    if not checked.ok:
        return
    resolved = checked.scenario.model_dump(mode="json")
    for param in sf.main_parameters(checked.scenario):
        value = sf.get_dotted(resolved, param.path)
        if value is None:
            continue
        if param.kind == "int":
            value = int(value)
        elif param.kind == "float":
            value = float(value)
        else:
            value = str(value)
        st.session_state[_param_key(param.path)] = value


def _load_text(text: str, source: str) -> None:
    st.session_state[TEXT] = text
    st.session_state[EDITOR] = text
    st.session_state[SOURCE] = source
    _sync_widgets_from_text(text)


def _on_editor_change() -> None:
    st.session_state[TEXT] = st.session_state[EDITOR]
    _sync_widgets_from_text(st.session_state[TEXT])


def _on_param_change(path: str) -> None:
    text = st.session_state[TEXT]
    data = sf.parse_mapping(text)  # within twin.limits: no alias bomb reaches the dump
    if data is None:
        st.session_state["scenario_param_msg"] = "Fix the YAML first: widgets edit valid YAML."
        return
    if not sf.set_dotted(data, path, st.session_state[_param_key(path)]):
        st.session_state["scenario_param_msg"] = (
            f"{path} is inherited from the base file; edit it in the YAML editor.")
        return
    new_text = sf.dump_with_comments(data, text)
    st.session_state[TEXT] = new_text
    st.session_state[EDITOR] = new_text


def _on_pick() -> None:
    name = st.session_state["scenario_file"]
    try:
        _load_text(sf.read_scenario_text(folder, name), name)
    except (OSError, sf.SaveError) as exc:
        st.session_state["scenario_param_msg"] = f"Cannot read {name}: {exc}"


def _on_save() -> None:
    name = st.session_state.get("scenario_save_name", "")
    text = st.session_state[TEXT]
    checked = sf.validate_text(text, folder, source=name or "<editor>")
    if not checked.ok:
        st.session_state["scenario_save_msg"] = (
            "error", "Not saved: the scenario has problems (see above); fix them first.")
        return
    try:
        path = sf.save_scenario_text(folder, name, text,
                                     overwrite=st.session_state.get("scenario_overwrite", False))
    except sf.SaveError as exc:
        st.session_state["scenario_save_msg"] = ("error", f"Not saved: {exc}")
        return
    except OSError as exc:
        st.session_state["scenario_save_msg"] = ("error", f"Not saved: {exc}")
        return
    st.session_state["scenario_save_msg"] = ("success", f"Saved as {path.name}.")
    st.session_state["scenario_file"] = path.name
    st.session_state[SOURCE] = path.name
    st.session_state["scenario_overwrite"] = False


if not files and TEXT not in st.session_state:
    st.info(f"No scenario files in `{folder}/`; upload one below.")

# ------------------------------------------------------------------- pick / upload
left, right = st.columns([1, 1])
with left:
    if files:
        if st.session_state.get("scenario_file") not in files:
            preferred = settings.DEFAULT_SCENARIO_FILE
            st.session_state["scenario_file"] = preferred if preferred in files else files[0]
        st.selectbox("Scenario file", files, key="scenario_file", on_change=_on_pick)
        if TEXT not in st.session_state:
            _on_pick()
    if EDITOR not in st.session_state and TEXT in st.session_state:
        st.session_state[EDITOR] = st.session_state[TEXT]  # back from another page
        _sync_widgets_from_text(st.session_state[TEXT])
with right:
    uploaded = st.file_uploader(
        f"Upload a scenario file (.yaml, at most {settings.MAX_UPLOAD_BYTES // 1024} KiB)",
        type=["yaml", "yml"], key="scenario_upload", max_upload_size=1)
    if uploaded is not None:
        upload_id = f"{uploaded.name}:{uploaded.size}:{getattr(uploaded, 'file_id', '')}"
        text, checked = sf.check_upload(uploaded.name, uploaded.size, uploaded.getvalue,
                                        folder, settings.MAX_UPLOAD_BYTES)
        if not checked.ok:
            st.error(f"Upload refused: {uploaded.name} is not a usable scenario. Nothing "
                     "was loaded or written.\n\n" + "\n".join(f"- {p}" for p in checked.problems))
        elif st.session_state.get("scenario_upload_seen") != upload_id:
            st.session_state["scenario_upload_seen"] = upload_id
            _load_text(text, f"upload:{uploaded.name}")
            st.session_state["scenario_save_name"] = uploaded.name
            st.success(f"Loaded {uploaded.name} into the editor (not saved yet: choose a "
                       "name below and save).")

source = st.session_state.get(SOURCE, "")
st.caption(f"Editing: **{source or 'new scenario'}**")
text = st.session_state.get(TEXT, "")
checked = sf.validate_text(text, folder, source=str(folder / "editor.yaml"))

# --------------------------------------------------------------------- parameters
message = st.session_state.pop("scenario_param_msg", None)
if message:
    st.warning(message)
if checked.ok:
    params = sf.main_parameters(checked.scenario)
    top = [p for p in params if not p.path.startswith("assets.")]
    assets = [p for p in params if p.path.startswith("assets.")]
    with st.expander("Main parameters", expanded=True):
        columns = st.columns(4)
        for index, param in enumerate(top):
            with columns[index % 4]:
                key = _param_key(param.path)
                if param.kind == "choice":
                    st.selectbox(param.label, param.options, key=key,
                                 on_change=_on_param_change, args=(param.path,))
                elif param.kind == "int":
                    st.number_input(param.label, key=key, step=1, min_value=0,
                                    on_change=_on_param_change, args=(param.path,))
                elif param.kind == "float":
                    st.number_input(param.label, key=key, min_value=0.0, format="%g",
                                    on_change=_on_param_change, args=(param.path,))
                else:
                    st.text_input(param.label, key=key, on_change=_on_param_change,
                                  args=(param.path,))
        if assets:
            st.markdown("**Assets**")
            columns = st.columns(4)
            for index, param in enumerate(assets):
                with columns[index % 4]:
                    st.number_input(param.label, key=_param_key(param.path), format="%g",
                                    on_change=_on_param_change, args=(param.path,),
                                    **({"step": 1} if param.kind == "int" else {}))

# ------------------------------------------------------------------------- editor
st.text_area("Scenario YAML", key=EDITOR, height=420, on_change=_on_editor_change,
             help="The whole file. Validated on every change (Ctrl+Enter or click "
                  "outside to apply).")
if checked.ok:
    scenario = checked.scenario
    st.success(f"Valid scenario **{scenario.name}**: {scenario.time.duration} in steps of "
               f"{scenario.time.step} ({scenario.time.n_steps} steps), "
               f"{len(scenario.assets)} assets, control {scenario.control.mode}.")
    st.session_state["scenario_valid_text"] = text
else:
    st.error("The scenario has problems:\n\n" + "\n".join(f"- {p}" for p in checked.problems))
    st.session_state.pop("scenario_valid_text", None)

# --------------------------------------------------------------------------- save
st.subheader("Save as a new file")
columns = st.columns([2, 1, 1])
columns[0].text_input(f"File name in `{folder}/`", key="scenario_save_name",
                      placeholder="my_scenario.yaml")
columns[1].checkbox("Overwrite if it exists", key="scenario_overwrite")
columns[2].button("Save", key="scenario_save", on_click=_on_save, type="primary")
saved = st.session_state.pop("scenario_save_msg", None)
if saved:
    (st.success if saved[0] == "success" else st.error)(saved[1])
