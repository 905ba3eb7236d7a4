"""The planner's Streamlit app: pages and the pure helpers they are built from.

The package never imports simpy, pandapower or qiskit: it reads the results store
(DuckDB/pyarrow over the files ``docs/contracts.md`` defines) and calls ``twin``'s
public API.

Modules: :mod:`gui.settings` (paths and limits), :mod:`gui.scenario_files` (listing,
validating, uploading and saving scenario files), :mod:`gui.store` (the run store, read
defensively), :mod:`gui.series` (DuckDB aggregation and downsampling),
:mod:`gui.charts` (plotly figures), :mod:`gui.network` (bus/line layout for the map),
:mod:`gui.jobs` (runs in a background thread with progress and cancel),
:mod:`gui.common` (Streamlit glue shared by the pages), ``gui/pages/*`` (the pages).
"""
