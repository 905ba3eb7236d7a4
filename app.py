"""GridTwin's Streamlit app: ``streamlit run app.py``.

Thin entry point: it declares the pages (``gui/pages/``: Home at ``/``, then
``/results``, ``/scenario``, ``/run``, ``/compare``, ``/sweeps`` and ``/value``) and, on first start, runs the
built-in default scenario when the results store has no run of it, so a new user sees
results at once. Paths: ``GRIDTWIN_STORE`` (default ``runs``), ``GRIDTWIN_SCENARIOS``
(default ``scenarios``); ``GRIDTWIN_AUTORUN=0`` turns the first-start run off.
"""

from __future__ import annotations

import streamlit as st

from gui.common import ensure_default_run, value_page_path

st.set_page_config(page_title="GridTwin", page_icon=":material/bolt:", layout="wide")
# one upload limit, stated once: each uploader's label names gui.settings.MAX_UPLOAD_BYTES
# (twin.limits.MAX_FILE_BYTES); Streamlit's own "1MB per file" line would be a second
st.html("<style>[data-testid='stFileUploaderDropzoneInstructions']{display: none}</style>")

PAGES = [
    st.Page("gui/pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("gui/pages/results.py", title="Results", icon=":material/monitoring:",
            url_path="results"),
    st.Page("gui/pages/scenario.py", title="Scenario", icon=":material/edit_document:",
            url_path="scenario"),
    st.Page("gui/pages/run.py", title="Run", icon=":material/play_arrow:", url_path="run"),
    st.Page("gui/pages/compare.py", title="Compare", icon=":material/compare_arrows:",
            url_path="compare"),
    st.Page("gui/pages/sweeps.py", title="Sweeps", icon=":material/grid_on:",
            url_path="sweeps"),
]
if value_page_path() is not None:  # the quantum value page (quantum-twin's)
    PAGES.append(st.Page(value_page_path(), title="Quantum value", icon=":material/science:",
                         url_path="value"))

page = st.navigation(PAGES)
ensure_default_run()
page.run()
