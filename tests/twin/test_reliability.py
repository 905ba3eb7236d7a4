"""IEEE 1366 indices and energy not supplied, hand-checked."""

from __future__ import annotations

import pytest

from twin.reliability import Interruption, reliability_indices


def test_ieee1366_hand_checked():
    """1,000 customers; 100 out for 60 min, 200 for 30 min, 50 for 2 min (momentary).

    SAIFI = (100 + 200) / 1000 = 0.3; SAIDI = (100*60 + 200*30) / 1000 = 12 min;
    CAIDI = 12 / 0.3 = 40 min; MAIFI = 50 / 1000 = 0.05;
    ENS = 0.5 MW * 1 h + 0.2 MW * 0.5 h + 0.1 MW * 2/60 h = 0.6 + 0.1/30 MWh.
    """
    events = [
        Interruption("load/0", 0.0, 3600.0, 100, p_mw=0.5),
        Interruption("load/1", 600.0, 2400.0, 200, p_mw=0.2),
        Interruption("load/2", 0.0, 120.0, 50, p_mw=0.1),
    ]
    k = reliability_indices(events, 1000)
    assert k["saifi"] == pytest.approx(0.3)
    assert k["saidi_min"] == pytest.approx(12.0)
    assert k["caidi_min"] == pytest.approx(40.0)
    assert k["maifi"] == pytest.approx(0.05)
    assert k["customers_interrupted"] == 300
    assert k["energy_not_supplied_mwh"] == pytest.approx(0.6 + 0.1 / 30)


def test_exactly_five_minutes_is_momentary():
    """IEEE 1366-2012: sustained means longer than 5 min."""
    k = reliability_indices([Interruption("load/0", 0.0, 300.0, 10)], 100)
    assert k["saifi"] == 0.0
    assert k["maifi"] == pytest.approx(0.1)
    assert k["caidi_min"] is None


def test_no_interruptions_and_bad_input():
    k = reliability_indices([], 10)
    assert k["saifi"] == 0.0
    assert k["saidi_min"] == 0.0
    assert k["energy_not_supplied_mwh"] == 0.0
    with pytest.raises(ValueError, match="customers_served"):
        reliability_indices([], 0)
    with pytest.raises(ValueError, match="before start_s"):
        Interruption("x", 10.0, 5.0, 1)
