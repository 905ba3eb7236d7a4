"""Named random streams (twin.seeding): one derivation for every stream of a run."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from twin.seeding import seed_sequence, stream, stream_key, stream_seed


def test_streams_are_reproducible_and_independent_by_name():
    """Same seed and name: the same draws; another name or seed: other draws."""
    a = stream(3, "comms", "link", "fibre").random(4)
    np.testing.assert_array_equal(a, stream(3, "comms", "link", "fibre").random(4))
    assert not np.array_equal(a, stream(3, "comms", "link", "lte").random(4))
    assert not np.array_equal(a, stream(4, "comms", "link", "fibre").random(4))


def test_a_stream_keeps_its_draws_whatever_else_is_drawn():
    """Drawing from one stream does not move another (unlike one shared generator)."""
    alone = stream(9, "fault", "line_outage", "line/1", 0).random(3)
    busy = stream(9, "fault", "line_outage", "line/2", 1)
    busy.random(1000)
    np.testing.assert_array_equal(alone, stream(9, "fault", "line_outage", "line/1", 0).random(3))


def test_names_map_to_crc32_and_integers_and_no_names_is_default_rng():
    """The key the stored runs were made with: CRC-32 per string part, integers as given;
    a run's main generator is ``stream(seed)`` = ``default_rng(seed)``."""
    assert stream_key("fault", "pv_trip", 2) == (zlib.crc32(b"fault"), zlib.crc32(b"pv_trip"), 2)
    assert seed_sequence(5, 7).spawn_key == (7,)
    assert stream(5).random() == np.random.default_rng(5).random()
    seq = np.random.SeedSequence(11, spawn_key=(4,))
    assert stream_seed(11, 4) == int(seq.generate_state(1, dtype=np.uint32)[0])
    with pytest.raises(ValueError, match="must be >= 0"):
        stream_key(-1)
