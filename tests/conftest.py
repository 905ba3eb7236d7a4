"""Shared fixtures: a seeded generator, a tiny network file, a finished real run.

- ``rng``: a fresh ``numpy.random.Generator`` (seed 12345) per test.
- ``tiny_grid``: path of a three-bus 0.4 kV pandapower network saved as JSON (an
  external grid at bus 0, two 200 m cables to buses 1 and 2, a 10 kW load at bus 2 and
  a 5 kW static generator at bus 1), for scenarios with ``grid.source: file``.
- ``run_dir``: the folder of a finished real run (the default scenario shortened to one
  day, seed 1), made once per session with the real twin. Read it; do not modify it.

Hypothesis: with ``CI`` set, the ``ci`` profile (derandomized, no example database).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI (CI=true) draws the same hypothesis examples on every run, so a red run can be
# replayed; local runs keep drawing new ones (and replay their own failures from
# .hypothesis/), which is where new counterexamples come from.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden``: rewrite tests/data/golden/ from the current code."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden runs (tests/data/golden/) instead of comparing",
    )
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator (seed 12345)."""
    return np.random.default_rng(12345)


def make_tiny_net():
    """The three-bus network of the ``tiny_grid`` fixture, built in code."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=1.0)
    buses = [pp.create_bus(net, vn_kv=0.4, name=f"bus {i}") for i in range(3)]
    pp.create_ext_grid(net, buses[0], vm_pu=1.0)
    for a, b in ((0, 1), (1, 2)):
        pp.create_line_from_parameters(
            net, buses[a], buses[b], length_km=0.2, r_ohm_per_km=0.206, x_ohm_per_km=0.08,
            c_nf_per_km=261.0, max_i_ka=0.27,
        )
    pp.create_load(net, buses[2], p_mw=0.010, q_mvar=0.002)
    pp.create_sgen(net, buses[1], p_mw=0.005, q_mvar=0.0, type="PV")
    return net


@pytest.fixture(scope="session")
def tiny_grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the three-bus network as a pandapower JSON file."""
    import pandapower as pp

    path = tmp_path_factory.mktemp("grid") / "tiny.json"
    pp.to_json(make_tiny_net(), str(path))
    return path


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished real run: the default scenario over one day, seed 1."""
    import twin
    from twin.scenario import apply_overrides

    scenario = apply_overrides(
        twin.load_scenario(SCENARIOS / "default.yaml"), {"time.duration": "1d"}
    )
    store = tmp_path_factory.mktemp("store")
    return twin.run(scenario, store=store, seed=1).path
