"""Streamlit glue the pages share: cached queries, the job registry, the default run.

Public names: :func:`registry`, :func:`store_listing`, :func:`cached_aggregate`,
:func:`cached_catalogue`, :func:`cached_snapshot`, :func:`cached_events`,
:func:`cached_layout`, :func:`wall_clock_calls`, :func:`solver_calls_of`,
:func:`ensure_default_run`, :func:`show_job`,
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


def wall_clock_calls(run_dir: Path) -> list[dict[str, Any]]:
    """The per-call wall-clock rows of a run folder's ``wall_clock.json`` (``[]`` when
    it has none or it does not parse: they are measurements, not results)."""
    path = run_dir / "wall_clock.json"
    try:
        rows = json.loads(path.read_text()).get("calls", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def solver_calls_of(meta: store.RunMeta) -> pd.DataFrame:
    """A run's solver calls (:func:`gui.charts.solver_calls`) with the measured solve
    wall time of each joined from ``wall_clock.json``."""
    from gui import charts

    calls = charts.solver_calls(cached_events(meta.events_path))
    return charts.add_wall_times(calls, wall_clock_calls(meta.path)) if not calls.empty \
        else calls


@st.cache_data(show_spinner="Reading the network layout...", max_entries=16)
def _layout(path: str, mtime: float, scenario_json: str) -> network.Layout:
    return network.layout_for_run(Path(path), json.loads(scenario_json))


def cached_layout(meta: store.RunMeta) -> network.Layout:
    """The network map layout of a run (its ``layout.json``), cached per run folder."""
    return _layout(str(meta.path), _mtime(meta.path / "layout.json"),
                   json.dumps(meta.scenario, sort_keys=True))


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
    """Warnings for the store's run folders that cannot be shown: one for folders of
    another results format version (naming the version and what to do), one for
    damaged folders."""
    versions = {n: r for n, r in listing.damaged.items() if "format_version" in r}
    damaged = {n: r for n, r in listing.damaged.items() if n not in versions}
    if versions:
        lines = "\n".join(f"- `{name}`: {reason.rpartition('manifest.json: ')[2]}"
                          for name, reason in versions.items())
        st.warning(f"{len(versions)} run folder(s) were written in another results "
                   f"format version and are not shown:\n{lines}",
                   icon=":material/history:")
    if damaged:
        lines = "\n".join(f"- `{name}`: {reason}" for name, reason in damaged.items())
        st.warning(f"{len(damaged)} run folder(s) in the store are damaged and "
                   f"are not shown:\n{lines}")


def run_label(meta: store.RunMeta) -> str:
    """How a run is named in pickers: id and when it was made."""
    when = meta.started_at[:16].replace("T", " ")
    return f"{meta.run_id} ({when})" if when else meta.run_id


def landscape_from(stored: Path | None, upload: Any) -> tuple[Any, str]:
    """The QAOA p=1 landscape of an uploaded LP file (preferred) or a stored one.

    Computed by :func:`twin.landscape.qaoa_landscape` (cached per file content).
    Returns ``(figure, caption)`` or ``(None, message)`` saying what is wrong.
    """
    from gui.charts import qaoa_landscape_figure
    from twin.landscape import LandscapeError, qaoa_landscape

    if upload is not None:
        if upload.size > settings.MAX_UPLOAD_BYTES:
            return None, (f"{upload.name} is {upload.size / 1024:.0f} KiB; the limit is "
                          f"{settings.MAX_UPLOAD_BYTES // 1024} KiB")
        label, content = upload.name, upload.getvalue()
    elif stored is not None:
        label, content = stored.name, stored.read_bytes()
    else:
        return None, "Choose a stored problem or upload an LP file first."
    try:
        landscape = qaoa_landscape(content)
    except LandscapeError as exc:
        return None, f"{label}: {exc}"
    return qaoa_landscape_figure(landscape), (
        f"{label}: {landscape.n_variables} variables, {landscape.n_constraints} "
        "constraints.")


def value_page_path() -> str | None:
    """The quantum value page (``gui/pages/value.py``) when it exists, else None."""
    path = Path(__file__).resolve().parent / "pages" / "value.py"
    return "gui/pages/value.py" if path.is_file() else None


def headline_run(listing: store.StoreListing, job: jobs.RunJob | None
                 ) -> store.RunMeta | None:
    """The run the landing page shows: the default job's run, else the newest run of the
    default scenario, else the newest run; None for an empty store."""
    by_id = {meta.run_id: meta for meta in listing.runs}
    if job is not None and job.run_id in by_id:
        return by_id[job.run_id]
    defaults = [m for m in listing.runs if m.scenario_name == "default"]
    if defaults:
        return defaults[0]
    return listing.runs[0] if listing.runs else None


def network_map_figure(meta: store.RunMeta, time_s: int, title: str | None = None
                       ) -> tuple[Any, str]:
    """The network map of a run at one time: ``(figure, "")`` or ``(None, why not)``."""
    from gui.charts import network_map

    try:
        layout = cached_layout(meta)
    except Exception as exc:  # old run whose grid cannot be rebuilt (moved file...)
        return None, (f"The network map needs the run's layout.json or its grid "
                      f"({type(exc).__name__}: {exc}).")
    values = (cached_snapshot(meta.timeseries_path, time_s)
              if meta.timeseries_path is not None else pd.DataFrame(
                  columns=["entity", "quantity", "value"]))
    outputs = meta.scenario.get("outputs", {})
    band = tuple(outputs.get("voltage_band_pu", (0.95, 1.05)))
    limit = float(outputs.get("loading_limit_percent", 100.0))
    when = pd.Timestamp(meta.sim_start) + pd.Timedelta(seconds=int(time_s))
    return network_map(layout, values, band, limit,
                       title or f"Network at {when:%Y-%m-%d %H:%M}"), ""


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``table`` as a person reads it (:func:`twin.tables.format_number`:
    no raw floats or round-off noise, integers as integers, ``-`` for a missing value);
    text stays text."""
    from twin.tables import format_number

    return table.map(lambda v: v if isinstance(v, str) else format_number(v))
