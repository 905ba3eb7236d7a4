"""Generators: output stays within [p_min, p_max] when on and 0 when off, minimum up
and down times hold for any command sequence, starts are counted and charged, and a
minimum above the maximum is refused naming the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner


@settings(max_examples=200, deadline=None)
@given(
    wants=st.lists(st.booleans(), min_size=1, max_size=60),
    requests=st.lists(st.floats(-100, 500, allow_nan=False), min_size=60, max_size=60),
    p_min=st.floats(0, 50),
    span=st.floats(0, 100),
    up=st.integers(1, 8),
    down=st.integers(1, 8),
    on0=st.booleans(),
)
def test_limits_and_min_up_down_hold_for_any_commands(
    wants: list[bool], requests: list[float], p_min: float, span: float, up: int, down: int,
    on0: bool,
) -> None:
    from twin.assets.generator import GeneratorState, generator_step

    one = lambda x: np.array([x])  # noqa: E731
    state = GeneratorState(one(on0), one(10**6), one(0.0), one(0))
    history = []
    for want, request in zip(wants, requests, strict=False):
        p = generator_step(state, one(want), one(request), one(p_min), one(p_min + span),
                           one(up), one(down))
        history.append(bool(state.on[0]))
        if state.on[0]:
            assert p_min - 1e-12 <= p[0] <= p_min + span + 1e-12
        else:
            assert p[0] == 0.0
    # every run of "on" after a start lasts >= up steps unless the horizon ends first;
    # every run of "off" after a stop lasts >= down steps likewise
    runs: list[tuple[bool, int]] = []
    for on in history:
        if runs and runs[-1][0] == on:
            runs[-1] = (on, runs[-1][1] + 1)
        else:
            runs.append((on, 1))
    for i, (on, length) in enumerate(runs):
        first_and_inherited = i == 0
        last = i == len(runs) - 1
        if first_and_inherited or last:
            continue
        assert length >= (up if on else down)
    starts = sum(1 for a, b in zip([on0, *history[:-1]], history, strict=True) if b and not a)
    assert state.starts[0] == starts


def test_family_accounts_fuel_and_startups() -> None:
    """Fuel cost is energy times price; each start costs its start-up cost once."""
    from twin.assets.generator import GeneratorFamily
    from twin.scenario import GeneratorAssetSpec

    spec = GeneratorAssetSpec(kind="generator", name="g", bus=0, p_min_kw=10, p_max_kw=50,
                              min_up="30min", min_down="30min", startup_cost_eur=7,
                              fuel_cost_eur_per_kwh=0.3)
    fam = GeneratorFamily([spec], (0, 1))
    fam.step_s = 900
    fam.min_up_steps = np.array([2])
    fam.min_down_steps = np.array([2])
    fam._p_view = np.zeros(1)
    pattern = [(True, 40.0), (False, 0.0), (False, 0.0), (True, 100.0), (True, 5.0)]
    for want, p in pattern:
        fam.dispatch(np.array([want]), np.array([p]))
    # on at 40; asked off but held on by min up, at p_min 10; off; asked on but held off
    # by min down; on again at p_min 10 (request 5 raised to the minimum)
    energy_kwh = (40 + 10 + 0 + 0 + 10) * 0.25
    assert fam.energy_kwh == pytest.approx(energy_kwh)
    assert fam.fuel_cost_eur == pytest.approx(energy_kwh * 0.3)
    assert fam.startup_cost_total_eur == pytest.approx(14.0)


def test_min_above_max_exits_2_naming_the_field(tmp_path: Path, tiny_grid: Path) -> None:
    from twin.cli import app

    file = tmp_path / "gen.yaml"
    file.write_text(
        f"name: g\ngrid: {{source: file, path: {tiny_grid}}}\nprofiles: {{source: constant}}\n"
        "assets:\n  - {kind: generator, name: diesel, bus: 1, p_min_kw: 60, p_max_kw: 40}\n"
    )
    result = CliRunner().invoke(app, ["run", str(file), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert ": assets.0.p_max_kw: " in line
    assert "p_min_kw 60.0 is above p_max_kw 40.0" in line


@pytest.mark.parametrize(
    "asset",
    [
        "{kind: generator, name: diesel, bus: 7, p_min_kw: 5, p_max_kw: 40}",
        "{kind: ev_fleet, name: evs, bus: 7}",
        "{kind: building, name: office, bus: 7}",
    ],
)
def test_smart_asset_on_missing_bus_exits_2(tmp_path: Path, tiny_grid: Path, asset: str) -> None:
    from twin.cli import app

    file = tmp_path / "bus.yaml"
    file.write_text(
        f"name: g\ngrid: {{source: file, path: {tiny_grid}}}\nprofiles: {{source: constant}}\n"
        f"assets:\n  - {asset}\n"
    )
    result = CliRunner().invoke(app, ["run", str(file), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert ": assets.0.bus: " in line
    assert "bus 7 is not in the network" in line
