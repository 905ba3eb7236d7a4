"""The sweep report's numbers: round-off is no sensitivity, tables carry units, cells
print like the CLI's (no -0, integers as integers)."""

from __future__ import annotations

from types import SimpleNamespace

from twin.study.report import SweepTable, _fmt, markdown_summary, sensitivity


def _table() -> SweepTable:
    rows = []
    for i, (mode, seed) in enumerate([("a", 1), ("a", 2), ("b", 1), ("b", 2)]):
        same = 0.025060000000000002 if mode == "a" else 0.02506  # equal but for round-off
        rows.append({"run_id": f"r{i}", "index": i, "status": "complete",
                     "control.mode": mode, "seed": seed,
                     "energy_import_mwh": same * (1 + 1e-15 * seed),
                     "losses_mwh": 0.5 + (0.25 if mode == "b" else 0.0),
                     "violations_count": -0.0})
    return SweepTable(paths=("control.mode", "seed"),
                      kpi_names=("energy_import_mwh", "losses_mwh", "violations_count"),
                      rows=tuple(rows))


def test_round_off_is_no_spread_but_a_real_one_stays():
    table = _table()
    assert sensitivity(table, "energy_import_mwh", "control.mode") == 0.0
    assert sensitivity(table, "energy_import_mwh", "seed") == 0.0
    assert sensitivity(table, "losses_mwh", "control.mode") == 0.25
    assert sensitivity(table, "losses_mwh", "seed") == 0.0


def test_markdown_tables_have_units_and_clean_numbers(tmp_path):
    spec = SimpleNamespace(name="demo", description="", checks=[])
    sweep = SimpleNamespace(spec=spec, path=tmp_path, store=tmp_path)
    text = markdown_summary(sweep, _table(), [])
    assert "| KPI | unit | `control.mode` | `seed` |" in text
    assert "| losses_mwh | MWh | 0.25 | 0 |" in text
    assert "e-1" not in text  # no 1e-11 noise
    assert "-0" not in text.replace("|---", "")
    assert [_fmt(v) for v in (-0.0, 2.0, 0.0413151, 12345, None)] == \
        ["0", "2", "0.0413151", "12345", ""]
