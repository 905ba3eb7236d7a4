"""Quantum value page: what QAOA did for a run's routed decisions, against a baseline.

Reads the run's ``value.json`` when ``twin value`` wrote one (the same baseline), else
computes the report (:func:`twin.value.value_report`) for the picked runs without
writing anything.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from gui import common
from gui.common import readable_table as readable

st.title("Quantum value")
listing = common.store_listing()
common.show_damaged(listing)
runs = [m for m in listing.runs if m.events_path is not None]
if not runs:
    st.info("No run yet. Run a scenario with routed decisions, e.g. "
            "`twin run scenarios/quantum_microgrid_day.yaml`.")
    st.stop()
by_id = {m.run_id: m for m in runs}
ids = list(by_id)
run_id = st.selectbox("Run (routed decisions)", ids, key="value_run",
                      format_func=lambda r: common.run_label(by_id[r]))
base_options = ["(none)", *[r for r in ids if r != run_id]]
base_id = st.selectbox("Classical baseline (same scenario and seed, decisions by milp)",
                       base_options, key="value_baseline")
meta = by_id[run_id]
saved = meta.path / "value.json"
report = None
if saved.is_file():
    candidate = json.loads(saved.read_text())
    want = None if base_id == "(none)" else base_id
    if candidate.get("baseline") == want:
        report = candidate
if report is None:
    from twin.errors import TwinError
    from twin.value import value_report

    try:
        report = value_report(meta.path, None if base_id == "(none)" else by_id[base_id].path)
    except TwinError as exc:
        st.warning(str(exc))
        st.stop()

st.subheader("In plain words")
for line in report["statements"] or ["(nothing to state)"]:
    st.markdown(f"- {line}")

sizes = report.get("sizes")
if sizes:
    st.subheader("Sub-problem sizes")
    st.caption(f"The routed solver got {sizes['routed']['n']} sub-problems from "
               f"{', '.join(sizes['routed_types'])}; below min_qubits (decided by the "
               f"fallback): {sizes['below_min'] or 'none'}")
    st.bar_chart(pd.Series(sizes["routed_qubits"], name="sub-problems"),
                 x_label="qubits", y_label="sub-problems")

for kind, entry in report["decisions"].items():
    st.subheader(kind.replace("_", " "))
    q = entry["qubits"]
    st.caption(f"{entry['subproblems']} sub-problems, qubits {q['min']:.0f} to {q['max']:.0f} "
               f"(median {q['median']:.0f}); answered by {entry['answered_by']}")
    table = pd.DataFrame(entry["solvers"]).T
    table = table.drop(columns=["statuses"], errors="ignore")
    st.dataframe(readable(table), key=f"value_table_{kind}")

st.subheader("Routed calls")
st.json(report["calls"], expanded=False)
if report["system"]:
    st.subheader("System KPIs against the baseline")
    st.dataframe(readable(pd.DataFrame(report["system"]).T), key="value_system")
st.subheader("Break-even")
be = dict(report["break_even"])
method = be.pop("method", "")
st.dataframe(readable(pd.Series(be, name="value").to_frame()), key="value_break_even")
st.caption(" ".join(method.split()))
