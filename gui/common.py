"""Streamlit glue the pages share: cached queries, the job registry, the default run.

Public names: :func:`registry`, :func:`store_listing`, :func:`cached_aggregate`,
:func:`cached_catalogue`, :func:`cached_snapshot`, :func:`cached_events`,
:func:`cached_layout`, :func:`ensure_default_run`, :func:`show_job`,
:func:`show_damaged`, :func:`run_label`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gui import jobs, network, series, settings, store
from gui.scenario_files import validate_text

logger = logging.getLogger(__name__)


@st.cache_resource
def registry() -> jobs.JobRegistry:
    """The process-wide registry of runs started from the app."""
    return jobs.JobRegistry()


def _mtime(path: Path | None) -> float:
    try:
        return path.stat().st_mtime if path is not None else 0.0
    except OSError:
        return 0.0


def store_listing() -> store.StoreListing:
    """The runs of the configured store (read fresh: manifests are small)."""
    return store.list_store_runs(settings.store_dir())


@st.cache_data(show_spinner=False, max_entries=64)
def _aggregate(path: str, mtime: float, t0_s: int, t1_s: int, bucket_s: int) -> pd.DataFrame:
    return series.aggregate_window(Path(path), t0_s, t1_s, bucket_s)


def cached_aggregate(path: Path, t0_s: int, t1_s: int, bucket_s: int) -> pd.DataFrame:
    """:func:`gui.series.aggregate_window`, cached per file version, window and bucket."""
    return _aggregate(str(path), _mtime(path), int(t0_s), int(t1_s), int(bucket_s))


@st.cache_data(show_spinner=False, max_entries=32)
def _catalogue(path: str, mtime: float) -> pd.DataFrame:
    return series.catalogue(Path(path))


def cached_catalogue(path: Path) -> pd.DataFrame:
    """:func:`gui.series.catalogue`, cached per file version."""
    return _catalogue(str(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _snapshot(path: str, mtime: float, time_s: int) -> pd.DataFrame:
    return series.snapshot(Path(path), time_s, ("vm_pu", "loading_percent"))


def cached_snapshot(path: Path, time_s: int) -> pd.DataFrame:
    """Bus voltages and branch loadings at one time, cached."""
    return _snapshot(str(path), _mtime(path), int(time_s))


@st.cache_data(show_spinner=False, max_entries=32)
def _events(path: str, mtime: float) -> pd.DataFrame:
    return series.expand_event_data(series.read_events(Path(path)))


def cached_events(path: Path | None) -> pd.DataFrame:
    """A run's events with their ``data`` expanded into ``data.*`` columns, cached."""
    if path is None:
        return series.expand_event_data(series.read_events(None))
    return _events(str(path), _mtime(path))


@st.cache_data(show_spinner="Laying out the network...", max_entries=16)
def _layout(grid_json: str) -> network.Layout:
    from twin.scenario import Scenario

    grid = Scenario.model_fields["grid"]
    from pydantic import TypeAdapter

    spec = TypeAdapter(grid.annotation).validate_python(json.loads(grid_json))
    return network.layout_for_grid(spec)


def cached_layout(scenario: dict[str, Any]) -> network.Layout:
    """The network map layout of a run's grid (from the manifest's scenario), cached."""
    return _layout(json.dumps(scenario.get("grid", {}), sort_keys=True))


def default_job_key() -> str:
    """Registry key of the default-scenario job for the configured store."""
    return f"default::{settings.store_dir().resolve()}"


def ensure_default_run() -> jobs.RunJob | None:
    """Start running the default scenario when the store has no run of it.

    Returns the job (running or finished in this process) or None when the run is
    already in the store, auto-run is off, or the default scenario cannot be loaded
    (then the reason is logged and the pages work with what the store has).
    """
    if not settings.autorun_enabled():
        return None
    key = default_job_key()
    job = registry().get(key)
    if job is not None:
        return job
    path = settings.default_scenario_path()
    if not path.is_file():
        return None
    checked = validate_text(path.read_text(encoding="utf-8"), path.parent, source=str(path))
    if not checked.ok:
        logger.warning("default scenario %s is invalid: %s", path, checked.problems)
        return None
    if store.find_run(settings.store_dir(), store.expected_run_id(checked.scenario)):
        return None
    logger.info("store %s has no run of %s: running it", settings.store_dir(), path)
    return registry().start(key, jobs.RunJob(checked.scenario, settings.store_dir(),
                                             label=f"default scenario ({path.name})"))


def show_job(job: jobs.RunJob, *, cancel_key: str | None = None) -> None:
    """Progress bar in simulated days, and a cancel button when ``cancel_key`` is given."""
    if job.running:
        st.progress(job.fraction_done, text=f"Running {job.label}: {job.progress_text()}")
        if cancel_key is not None and st.button("Cancel run", key=cancel_key):
            job.cancel()
            st.info("Cancelling: the run stops at its next step; nothing is written.")
    elif job.state == "done":
        st.success(f"{job.label}: finished in {job.wall_time_s:.1f} s as run `{job.run_id}`.")
    elif job.state == "cancelled":
        st.warning(f"{job.label}: cancelled after {job.days_done:.1f} simulated days; "
                   "nothing was written to the store.")
    elif job.state == "failed":
        st.error(f"{job.label} failed: {job.error}")


def show_damaged(listing: store.StoreListing) -> None:
    """One warning listing the damaged run folders of the store, if any."""
    if listing.damaged:
        lines = "\n".join(f"- `{name}`: {reason}" for name, reason in listing.damaged.items())
        st.warning(f"{len(listing.damaged)} run folder(s) in the store are damaged and "
                   f"are not shown:\n{lines}")


def run_label(meta: store.RunMeta) -> str:
    """How a run is named in pickers: id and when it was made."""
    when = meta.started_at[:16].replace("T", " ")
    return f"{meta.run_id} ({when})" if when else meta.run_id


def landscape_from(stored: Path | None, upload: Any) -> tuple[Any, str]:
    """The QAOA p=1 landscape of an uploaded LP file (preferred) or a stored one.

    Returns ``(figure, caption)`` or ``(None, message)`` saying what is wrong.
    """
    import tempfile

    from gui.charts import qaoa_landscape

    if upload is not None:
        if upload.size > settings.MAX_UPLOAD_BYTES:
            return None, (f"{upload.name} is {upload.size / 1024:.0f} KiB; the limit is "
                          f"{settings.MAX_UPLOAD_BYTES // 1024} KiB")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "uploaded.lp"
            path.write_bytes(upload.getvalue())
            return _landscape(path, upload.name, qaoa_landscape)
    if stored is not None:
        return _landscape(stored, stored.name, qaoa_landscape)
    return None, "Choose a stored problem or upload an LP file first."


def _landscape(path: Path, label: str, build: Any) -> tuple[Any, str]:
    from solvers.lpfile import read_lp

    try:
        problem = read_lp(path)
    except Exception as exc:  # HiGHS's parser reports bad files in several ways
        return None, f"{label} is not a readable LP file ({type(exc).__name__}: {exc})"
    n_variables = int(problem.num_variables)
    if n_variables > 20:
        return None, (f"{label} has {n_variables} variables; the exact landscape is drawn "
                      "for at most 20 binaries")
    figure = build(problem)
    if figure is None:
        return None, (f"{label}: QAOA does not support this problem (binary or small "
                      "integer variables only)")
    return figure, f"{label}: {n_variables} variables, {problem.num_constraints} constraints."
