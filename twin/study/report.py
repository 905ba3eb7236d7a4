"""Sweep reports: an HTML page (plotly) and a Markdown summary fit for a CI job summary.

Both show the runs with their varied values and KPIs, the sensitivity of each KPI to
each varied field (the spread of the KPI's mean over that field's values, and box plots
in the HTML), and the checks with their outcome.

Public names: :class:`SweepTable`, :func:`sweep_table`, :func:`sensitivity`,
:func:`markdown_summary`, :func:`html_report`, :func:`write_report`.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solvers.numbers import format_number, unit_of
from twin.study.gates import CheckResult, evaluate_sweep_dir
from twin.study.schema import SweepInputError
from twin.study.sweepdir import SweepDir, latest_outcomes, read_sweep_dir

logger = logging.getLogger(__name__)

MAX_TABLE_ROWS = 60
"""Rows of the run table shown in the Markdown summary (the HTML shows all)."""
MAX_PLOTTED_KPIS = 8
"""KPIs with sensitivity plots (checked KPIs first, then the most varying)."""


@dataclass(frozen=True)
class SweepTable:
    """A sweep's runs with their varied values, status and KPIs.

    Attributes
    ----------
    paths : tuple of str
        Varied field paths (columns).
    kpi_names : tuple of str
        KPI columns, checked KPIs first.
    rows : tuple of dict
        One per run: ``run_id``, ``index``, ``status``, every path and every KPI.
    """

    paths: tuple[str, ...]
    kpi_names: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]


def sweep_table(sweep: SweepDir) -> SweepTable:
    """Collect the sweep's runs, their status and KPIs from the store."""
    from twin.store.catalogue import Catalogue

    with Catalogue(sweep.store) as catalogue:
        kpis = catalogue.kpis_of([r.run_id for r in sweep.runs])
    outcomes = latest_outcomes(sweep.path)
    checked = [c.kpi for c in sweep.spec.checks]
    names = sorted({k for v in kpis.values() for k in v})
    ordered = list(dict.fromkeys([k for k in checked if k in names] + names))
    rows = []
    for run in sweep.runs:
        if run.run_id in kpis:
            status = "complete"
        else:
            status = outcomes.get(run.run_id, {}).get("status", "not run")
            status = "not run" if status in ("done", "skipped") else status
        row: dict[str, Any] = {"run_id": run.run_id, "index": run.index, "status": status}
        row.update(run.params)
        row.update(kpis.get(run.run_id, {}))
        rows.append(row)
    paths = tuple(p for axis in sweep.axes for p in axis)
    return SweepTable(paths, tuple(ordered), tuple(rows))


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value


def sensitivity(table: SweepTable, kpi: str, path: str) -> float | None:
    """Spread of a KPI's mean over the values of one varied field.

    The runs are grouped by the field's value; the result is the largest group mean
    minus the smallest (in the KPI's unit). None when fewer than two groups have values.
    """
    groups: dict[str, list[float]] = {}
    for row in table.rows:
        value = row.get(kpi)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            groups.setdefault(_key(row.get(path)), []).append(float(value))
    means = [math.fsum(v) / len(v) for v in groups.values() if v]
    if len(means) < 2:
        return None
    spread = max(means) - min(means)
    # equal KPIs averaged in another order differ by round-off (1.99e-11): no spread
    return 0.0 if spread <= _ROUND_OFF * max(abs(m) for m in means) else spread


_ROUND_OFF = 1e-9
"""A spread below this share of the KPI's magnitude is float round-off. [-]"""


def _fmt(value: Any) -> str:
    """A cell: numbers by :func:`solvers.numbers.format_number` (no -0, no 1e-17 noise,
    integers as integers), parameters' integers (seeds) without separators."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _plotted_kpis(table: SweepTable, sweep: SweepDir) -> list[str]:
    checked = [c.kpi for c in sweep.spec.checks if c.kpi in table.kpi_names]
    spread = []
    for kpi in table.kpi_names:
        best = max(
            (s for p in table.paths if (s := sensitivity(table, kpi, p)) is not None),
            default=0.0,
        )
        if best > 0:
            spread.append((best, kpi))
    rest = [k for _, k in sorted(spread, reverse=True) if k not in checked]
    return list(dict.fromkeys(checked + rest))[:MAX_PLOTTED_KPIS]


def _status_icon(status: str) -> str:
    return {"passed": "✅ passed", "failed": "❌ failed", "error": "⚠️ error"}.get(status, status)


def markdown_summary(
    sweep: SweepDir, table: SweepTable, results: Sequence[CheckResult]
) -> str:
    """A Markdown summary: counts, checks, sensitivity, and the run table."""
    complete = sum(1 for r in table.rows if r["status"] == "complete")
    failed = [r for r in table.rows if r["status"] == "failed"]
    lines = [f"## What-if sweep `{sweep.spec.name}`", ""]
    if sweep.spec.description:
        lines += [sweep.spec.description.strip(), ""]
    lines.append(
        f"{len(table.rows)} runs, {complete} complete, {len(failed)} failed, "
        f"{len(table.rows) - complete - len(failed)} not run. "
        f"Varied: {', '.join(f'`{p}`' for p in table.paths)}."
    )
    lines.append("")
    if results:
        n_pass = sum(1 for r in results if r.passed)
        lines += [f"### Checks: {n_pass} of {len(results)} passed", ""]
        lines += ["| check | result | detail |", "|---|---|---|"]
        for r in results:
            detail = r.message.replace("|", "\\|")
            lines.append(f"| {r.name} | {_status_icon(r.status)} | {detail} |")
        lines.append("")
    if failed:
        outcomes = latest_outcomes(sweep.path)
        lines += ["### Failed runs", ""]
        for row in failed:
            err = outcomes.get(row["run_id"], {}).get("error") or ""
            lines.append(f"- `{row['run_id']}`: {err}")
        lines.append("")
    plotted = _plotted_kpis(table, sweep)
    if plotted and table.paths:
        lines += ["### Sensitivity (spread of the KPI's mean across each field's values)", ""]
        lines.append("| KPI | unit | " + " | ".join(f"`{p}`" for p in table.paths) + " |")
        lines.append("|---" * (len(table.paths) + 2) + "|")
        for kpi in plotted:
            cells = [_fmt(sensitivity(table, kpi, p)) for p in table.paths]
            lines.append(f"| {kpi} | {unit_of(kpi)} | " + " | ".join(cells) + " |")
        lines.append("")
    shown = plotted or list(table.kpi_names[:6])
    lines += ["### Runs", ""]
    header = ["run", *table.paths, "status", *shown]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---" * len(header) + "|")
    for row in table.rows[:MAX_TABLE_ROWS]:
        cells = [f"`{row['run_id']}`", *(_fmt(row.get(p)) for p in table.paths), row["status"]]
        cells += [_fmt(row.get(k)) for k in shown]
        lines.append("| " + " | ".join(cells) + " |")
    if len(table.rows) > MAX_TABLE_ROWS:
        lines.append(f"\n({len(table.rows) - MAX_TABLE_ROWS} more runs in report.html)")
    lines.append("")
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    def cell(value: Any) -> str:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return f"<td class='{'num' if number else 'txt'}'>{html.escape(_fmt(value))}</td>"

    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return (f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}"
            "</tbody></table></div>")


def _figures(table: SweepTable, kpis: Sequence[str], include_plotlyjs: str | bool) -> list[str]:
    import plotly.graph_objects as go

    parts = []
    first = True
    paths = list(table.paths)
    for kpi in kpis:
        for path in paths:
            if sensitivity(table, kpi, path) is None:
                continue
            others = [p for p in paths if p != path]
            xs, ys, texts = [], [], []
            for row in table.rows:
                value = row.get(kpi)
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                xs.append(_fmt(row.get(path)))
                ys.append(value)
                texts.append(
                    row["run_id"] + "<br>" + "<br>".join(f"{p}={row.get(p)}" for p in others)
                )
            fewest = min(xs.count(x) for x in set(xs)) if xs else 0
            few = fewest < 5  # a box of 2 points says nothing: show the points only
            fig = go.Figure(
                go.Box(
                    x=xs, y=ys, boxpoints="all", jitter=0.3, pointpos=0, text=texts,
                    hovertemplate="%{x}: %{y}<br>%{text}<extra></extra>", name=kpi,
                    **({"fillcolor": "rgba(0,0,0,0)", "line": {"width": 0}} if few else {}),
                )
            )
            fig.update_layout(
                title=f"{kpi} by {path}" + (" (each point a run)" if few else ""),
                xaxis_title=path, yaxis_title=kpi,
                height=360, margin={"l": 60, "r": 20, "t": 50, "b": 50}, showlegend=False,
            )
            fig.update_xaxes(type="category")
            parts.append(
                fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs if first else False)
            )
            first = False
    return parts


def html_report(
    sweep: SweepDir,
    table: SweepTable,
    results: Sequence[CheckResult],
    *,
    include_plotlyjs: str | bool = True,
) -> str:
    """A self-contained HTML report (plotly.js inline unless ``include_plotlyjs='cdn'``)."""
    title = f"What-if sweep {sweep.spec.name}"
    checks_html = ""
    if results:
        checks_html = "<h2>Checks</h2>" + _html_table(
            ["check", "result", "detail"],
            [[r.name, r.status.upper(), r.message] for r in results],
        )
    plotted = _plotted_kpis(table, sweep)
    sens_html = ""
    if plotted and table.paths:
        sens_html = "<h2>Sensitivity</h2><p>Spread of each KPI's mean across the values of " \
            "each varied field (KPI units).</p>" + _html_table(
                ["KPI", "unit", *table.paths],
                [[k, unit_of(k), *(sensitivity(table, k, p) for p in table.paths)]
                 for k in plotted],
            )
    figures = _figures(table, plotted, include_plotlyjs)
    runs_html = "<h2>Runs</h2>" + _html_table(
        ["run", *table.paths, "status", *table.kpi_names],
        [
            [r["run_id"], *(r.get(p) for p in table.paths), r["status"],
             *(r.get(k) for k in table.kpi_names)]
            for r in table.rows
        ],
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}"
        ".scroll{max-width:100%;overflow-x:auto;margin-bottom:1.5em}"
        "table{border-collapse:collapse;font-size:13px;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
        "th{background:#f3f3f3}td.num{text-align:right}"
        ".passed{color:#176f2c}.failed{color:#b00020}.error{color:#a15c00}"
        ".plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr))}"
    )
    complete = sum(1 for r in table.rows if r["status"] == "complete")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(sweep.spec.description)}</p>"
        f"<p>{len(table.rows)} runs, {complete} complete; store: "
        f"<code>{html.escape(str(sweep.store))}</code></p>"
        f"{checks_html}{sens_html}<div class='plots'>{''.join(figures)}</div>{runs_html}"
        "</body></html>\n"
    )


def write_report(
    sweep_dir: str | Path,
    *,
    html_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    include_plotlyjs: str | bool = True,
) -> tuple[Path, Path, list[CheckResult]]:
    """Write ``report.html`` and ``summary.md`` for a sweep directory.

    Parameters
    ----------
    sweep_dir : str or pathlib.Path
        A directory written by ``twin sweep``.
    html_path, markdown_path : path, optional
        Where to write; default inside the sweep directory.
    include_plotlyjs : bool or "cdn"
        Inline plotly.js (the page works offline) or load it from the CDN (smaller).

    Returns
    -------
    (html path, markdown path, check results)
    """
    sweep = read_sweep_dir(sweep_dir)
    table = sweep_table(sweep)
    try:
        results = evaluate_sweep_dir(sweep)
    except SweepInputError as exc:
        logger.warning("checks not evaluated: %s", exc)
        results = []
    html_out = Path(html_path) if html_path else sweep.path / "report.html"
    md_out = Path(markdown_path) if markdown_path else sweep.path / "summary.md"
    html_out.write_text(
        html_report(sweep, table, results, include_plotlyjs=include_plotlyjs), encoding="utf-8"
    )
    md_out.write_text(markdown_summary(sweep, table, results), encoding="utf-8")
    return html_out, md_out, results
