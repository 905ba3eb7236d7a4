"""Run page: run a scenario into the results store, with progress in simulated days.

The run executes in a background thread (:class:`gui.jobs.RunJob`); the page polls it
once a second. Runs land in the same store as the CLI's (``runs/`` by default), under
the same run id, so a run made here is the run ``twin run`` would make.
"""

from __future__ import annotations

import uuid

import streamlit as st

from gui import common, jobs, settings
from gui import scenario_files as sf

st.title("Run")
folder = settings.scenarios_dir()
files = sf.list_scenario_files(folder)
EDITED = "Edited scenario (from the Scenario page)"

options = list(files)
if st.session_state.get("scenario_valid_text"):
    options.insert(0, EDITED)
if not options:
    st.info(f"No scenario files in `{folder}/`. Add one on the Scenario page.")
    st.stop()
if st.session_state.get("run_source") not in options:
    picked = st.session_state.get("scenario_file")
    st.session_state["run_source"] = picked if picked in options else (
        settings.DEFAULT_SCENARIO_FILE if settings.DEFAULT_SCENARIO_FILE in options
        else options[0])
choice = st.selectbox("Scenario", options, key="run_source")

if choice == EDITED:
    checked = sf.validate_text(st.session_state["scenario_valid_text"], folder,
                               source=str(folder / "editor.yaml"))
else:
    try:
        text = sf.read_scenario_text(folder, choice)
    except (OSError, sf.SaveError) as exc:
        st.error(f"Cannot read {choice}: {exc}")
        st.stop()
    checked = sf.validate_text(text, folder, source=str(folder / choice))
if not checked.ok:
    st.error(f"{choice} has problems; fix them on the Scenario page:\n\n"
             + "\n".join(f"- {p}" for p in checked.problems))
    st.stop()
scenario = checked.scenario
st.caption(f"**{scenario.name}**: {scenario.description.strip() or 'no description'}")
st.caption(f"{scenario.time.duration} from {scenario.time.start:%Y-%m-%d} in steps of "
           f"{scenario.time.step} ({scenario.time.n_steps} steps); store "
           f"`{settings.store_dir()}`.")

seed = st.number_input("Seed", min_value=0, value=int(scenario.seed), step=1, key="run_seed")
if "run_session_id" not in st.session_state:
    st.session_state["run_session_id"] = uuid.uuid4().hex
job_key = f"session::{st.session_state['run_session_id']}"
job = common.registry().get(st.session_state.get("run_job_key", ""))

existing = st.session_state.get("run_job_key") and job is not None and job.running
if st.button("Run", key="run_start", type="primary", disabled=bool(existing)):
    job = common.registry().start(job_key, jobs.RunJob(scenario, settings.store_dir(),
                                                       seed=int(seed), label=scenario.name))
    st.session_state["run_job_key"] = job_key


@st.fragment(run_every=1.0)
def _progress() -> None:
    current = common.registry().get(st.session_state.get("run_job_key", ""))
    if current is None:
        return
    common.show_job(current, cancel_key="run_cancel")
    if current.state == "done" and current.run_id:
        st.session_state["selected_run"] = current.run_id
        st.session_state.pop("results_run", None)
        st.page_link("gui/pages/results.py", label="See the results",
                     icon=":material/monitoring:")
    if not current.running and st.session_state.get("run_job_shown") != id(current):
        st.session_state["run_job_shown"] = id(current)
        st.rerun()


_progress()
