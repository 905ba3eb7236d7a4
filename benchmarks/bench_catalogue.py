"""Benchmark: a KPI query over 1,000 runs with the DuckDB catalogue.

The 1,000 run folders are real-format runs made by replication: a few real twin runs
(the default scenario, short, different seeds and control modes) are run into a
temporary store, then each is copied many times under new run ids, with its
``manifest.json`` (run id, seed, scenario hash) rewritten and its ``kpis.json`` values
scaled by random factors, so the catalogue reads 1,000 distinct manifests, KPI files and
Parquet files of the real layout and size.

Measured (median of ``--repeat``; each a fresh :class:`~twin.store.catalogue.Catalogue`, so
DuckDB reads the files every time):

- ``cold_open_plus_kpi_query``: the first query on a store: no index yet, so every
  ``manifest.json`` and ``kpis.json`` is read and parsed, and the index is written;
- ``open``: creating the catalogue with its index current (views over the store);
- ``kpi_query``: a KPI filter and sort over all runs;
- ``join_query``: KPIs joined with the manifests, grouped by seed parity;
- ``open_plus_kpi_query``: what one ``twin query`` costs apart from Python start-up;
- ``cli``: the whole ``twin query "..."`` command in a fresh process.

Usage::

    python benchmarks/bench_catalogue.py [--runs 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

import twin
from twin.scenario import apply_overrides
from twin.store.catalogue import Catalogue

ROOT = Path(__file__).resolve().parents[1]
KPI_QUERY = (
    "SELECT run_id, energy_import_mwh, max_line_loading_percent FROM kpis "
    "WHERE max_line_loading_percent > 20 ORDER BY energy_import_mwh DESC LIMIT 10"
)
JOIN_QUERY = (
    "SELECT r.seed % 2 AS parity, count(*), avg(k.energy_import_mwh), "
    "max(k.max_trafo_loading_percent) FROM runs r JOIN kpis k USING (run_id) GROUP BY 1"
)


def make_store(store: Path, n_runs: int, seed: int = 0) -> int:
    """Run a few real runs into ``store`` and replicate them to ``n_runs`` folders."""
    base = twin.load_scenario(ROOT / "scenarios" / "default.yaml")
    templates = []
    for mode in ("off", "self_consumption"):
        for run_seed in (1, 2):
            scenario = apply_overrides(base, {"time.duration": "1d", "control.mode": mode,
                                              "seed": run_seed})
            templates.append(twin.run(scenario, store=store, seed=run_seed).path)
    rng = random.Random(seed)
    made = len(templates)
    i = 0
    while made < n_runs:
        template = templates[i % len(templates)]
        i += 1
        manifest = json.loads((template / "manifest.json").read_text())
        kpis = json.loads((template / "kpis.json").read_text())
        new_seed = 1000 + i
        digest = hashlib.sha256(f"{manifest['scenario_hash']}-{i}".encode()).hexdigest()
        run_id = f"{manifest['scenario_name']}-{digest[:10]}-s{new_seed}"
        folder = store / run_id
        shutil.copytree(template, folder)
        manifest.update(run_id=run_id, seed=new_seed, scenario_hash=digest)
        manifest["scenario"]["seed"] = new_seed
        for name, value in kpis.items():
            if isinstance(value, float):
                kpis[name] = value * rng.uniform(0.5, 1.5)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
        (folder / "kpis.json").write_text(json.dumps(kpis, indent=1))
        made += 1
    return len(templates)


def _median_time(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    try:
        store = tmp / "runs"
        real = make_store(store, args.runs)
        n_dirs = sum(1 for p in store.iterdir() if not p.name.startswith("."))
        size_mb = sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 1e6

        def open_only() -> None:
            Catalogue(store).close()

        def open_and_query() -> None:
            with Catalogue(store) as cat:
                rows = cat.query(KPI_QUERY).rows
                assert len(rows) == 10

        def cold_open_and_query() -> None:
            shutil.rmtree(store / ".catalogue", ignore_errors=True)
            open_and_query()

        cold = _median_time(cold_open_and_query, args.repeat)
        cat = Catalogue(store)
        assert cat.query("SELECT count(*) FROM kpis").rows[0][0] == args.runs
        assert cat.query("SELECT count(*) FROM runs").rows[0][0] == args.runs
        results = {
            "cold_open_plus_kpi_query": cold,
            "open": _median_time(open_only, args.repeat),
            "kpi_query": _median_time(lambda: cat.query(KPI_QUERY), args.repeat),
            "join_query": _median_time(lambda: cat.query(JOIN_QUERY), args.repeat),
            "open_plus_kpi_query": _median_time(open_and_query, args.repeat),
        }
        cat.close()
        cli = [sys.executable, "-c", "import sys; from twin.cli import main; "
               "sys.argv[0] = 'twin'; main()", "query", "--store", str(store), KPI_QUERY]
        results["cli"] = _median_time(
            lambda: subprocess.run(cli, check=True, capture_output=True), args.repeat
        )
        out = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                       f"Python {platform.python_version()}, duckdb {duckdb.__version__}",
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "runs": args.runs,
            "real_runs_replicated": real,
            "store_mb": round(size_mb, 1),
            "run_dirs": n_dirs,
            "median_s": {k: round(v[0], 3) for k, v in results.items()},
            "all_s": {k: [round(x, 3) for x in v[1]] for k, v in results.items()},
        }
        print(json.dumps(out, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
