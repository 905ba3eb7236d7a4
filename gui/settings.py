"""Where the app finds scenarios and runs, and the limits it enforces.

Public names: :func:`store_dir`, :func:`scenarios_dir`, :func:`sweeps_dir`, :func:`default_scenario_path`,
:data:`MAX_UPLOAD_BYTES`, :data:`MAX_POINTS_PER_SERIES`, :data:`HEATMAP_MAX_COLUMNS`.

Paths come from environment variables so that tests and deployments can point the app
elsewhere; the defaults are the CLI's (``runs/`` and ``scenarios/`` in the working
directory).
"""

from __future__ import annotations

import os
from pathlib import Path

from twin.limits import MAX_FILE_BYTES

STORE_ENV = "GRIDTWIN_STORE"
"""Environment variable naming the results store folder (default ``runs``)."""
SCENARIOS_ENV = "GRIDTWIN_SCENARIOS"
"""Environment variable naming the scenarios folder (default ``scenarios``)."""
SWEEPS_ENV = "GRIDTWIN_SWEEPS"
"""Environment variable naming the folder of sweep directories (default ``sweeps``)."""
AUTORUN_ENV = "GRIDTWIN_AUTORUN"
"""Set to ``0`` to stop the app from running the default scenario on first start."""
DEFAULT_SCENARIO_FILE = "default.yaml"
"""The built-in scenario the app shows a new user."""

MAX_UPLOAD_BYTES = MAX_FILE_BYTES
"""Largest scenario file the app accepts from an upload: the CLI's limit
(:data:`twin.limits.MAX_FILE_BYTES`; scenario files are a few kB). [bytes]"""
MAX_POINTS_PER_SERIES = 600
"""Time buckets per chart: longer windows are aggregated (mean, min, max per bucket)."""
HEATMAP_MAX_COLUMNS = 300
"""Time buckets of the bus-by-time voltage heat map."""


def store_dir() -> Path:
    """The results store the app reads and writes (same default as the CLI: ``runs``)."""
    return Path(os.environ.get(STORE_ENV, "runs"))


def scenarios_dir() -> Path:
    """The folder of scenario files the Scenario page lists and saves into."""
    return Path(os.environ.get(SCENARIOS_ENV, "scenarios"))


def sweeps_dir() -> Path:
    """The folder ``twin sweep`` records sweeps in (one sub-folder per sweep)."""
    return Path(os.environ.get(SWEEPS_ENV, "sweeps"))


def default_scenario_path() -> Path:
    """The built-in default scenario file."""
    return scenarios_dir() / DEFAULT_SCENARIO_FILE


def autorun_enabled() -> bool:
    """Whether the app runs the default scenario itself when the store has no run of it."""
    return os.environ.get(AUTORUN_ENV, "1") not in {"0", "false", "no"}
