"""What-if studies: sweeps over scenario fields, KPI gates, reports, their commands.

A sweep file names a base scenario, fixed overrides (``set``), the fields that vary
(``vary.grid``: a Cartesian product; ``vary.zip``: lists walked in step) and optional
KPI ``checks``, absolute or relative to a named ``baselines`` run of the same sweep:

.. code-block:: yaml

    name: battery_size                # used for the default sweep directory
    scenario: ../ci_small.yaml        # base scenario, relative to this file
    set: {time.duration: 6h}          # fixed overrides for every run (optional)
    vary:
      grid:                           # product: 2 x 3 = 6 combinations
        control.mode: ["off", self_consumption]
        seed: [0, 1, 2]
      zip:                            # walked in step (one group, or a list of groups)
        assets.bat1.capacity_kwh: [10, 20]
        assets.bat1.power_kw: [5, 10]
    baselines:
      uncontrolled: {control.mode: "off"}
    checks:
      - kpi: max_line_loading_percent
        max: 100
      - kpi: energy_import_mwh
        relative_to: uncontrolled     # each run against its baseline run (same seed...)
        compare: ratio                # or difference
        max: 1.0

What lives where:

- :mod:`twin.study.schema`: the sweep file's pydantic models and :class:`SweepInputError`;
- :mod:`twin.study.expand`: validation and expansion into planned runs;
- :mod:`twin.study.preflight`: one-step runs that refuse what the schema cannot see;
- :mod:`twin.study.executors`: local worker processes and Dask;
- :mod:`twin.study.sweepdir`: the sweep directory (``sweep.json``, ``outcomes.jsonl``);
- :mod:`twin.study.sweep`: :func:`run_sweep` (lock, resume, record);
- :mod:`twin.study.gates`: KPI checks and JUnit XML; :mod:`twin.study.report`: HTML and
  Markdown reports; :mod:`twin.study.cli`: the ``sweep``, ``runs``, ``query``,
  ``report`` and ``check`` commands.

Imports: the scenario schema (:mod:`twin.scenario`), the store (:mod:`twin.store`; its
catalogue for gates and reports), and the engine only through ``twin.run`` where a run
executes (the preflight and the executors). The store and the app's pages read sweep
directories through :mod:`twin.study.sweepdir`.
"""

from __future__ import annotations

from twin.study.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    RunOutcome,
    connect_dask,
)
from twin.study.expand import PlannedRun, Sweep, expand, load_sweep
from twin.study.preflight import preflight
from twin.study.schema import CheckSpec, SweepInputError, SweepSpec, VarySpec
from twin.study.sweep import SweepReport, is_complete, run_sweep
from twin.study.sweepdir import SweepDir, latest_outcomes, read_sweep_dir

__all__ = [
    "CheckSpec",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "PlannedRun",
    "RunOutcome",
    "Sweep",
    "SweepDir",
    "SweepInputError",
    "SweepReport",
    "SweepSpec",
    "VarySpec",
    "connect_dask",
    "expand",
    "is_complete",
    "latest_outcomes",
    "load_sweep",
    "preflight",
    "read_sweep_dir",
    "run_sweep",
]
