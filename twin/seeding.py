"""Named random streams: every stream of a run derived from its one seed by name.

A stream is ``numpy.random.SeedSequence(seed, spawn_key=key)`` where ``key`` holds one
integer per name part: a string part is its CRC-32 (UTF-8), an integer part (a call
number, a list index) is itself. Streams with different names are independent, and
adding a stream (a link, a fault, a call) never shifts the others' draws, which a
shared generator would.

The streams of a run: ``stream(seed, "comms", "link", name)`` (and ``"network"``,
``"link-fault"``, ``"service"``, ``"approval"``) in :mod:`twin.comms`;
``stream(seed, "fault", kind, target, index)`` for a stochastic fault
(:mod:`twin.faults`); ``stream_seed(seed, n)`` for the solver seed of the run's
``n``-th solver call (0-based; the direct and the comms gateways alike, so a call's
answer does not depend on the communication model).

It imports only numpy, so the schema, assets, comms, faults and control may all use it.

Public names: :func:`stream_key`, :func:`seed_sequence`, :func:`stream`,
:func:`stream_seed`.

Examples
--------
>>> a = stream(1, "comms", "link", "fibre").random()
>>> a == stream(1, "comms", "link", "fibre").random() != stream(1, "comms", "link", "lte").random()
True
>>> stream_seed(7, 0) == stream_seed(7, 0) != stream_seed(7, 1)
True
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["seed_sequence", "stream", "stream_key", "stream_seed"]


def stream_key(*names: str | int) -> tuple[int, ...]:
    """The ``spawn_key`` of a stream: CRC-32 of each string part, integers as they are.

    Raises
    ------
    ValueError
        For a negative integer part (a ``spawn_key`` entry must be >= 0).

    Examples
    --------
    >>> stream_key("fault", 3)
    (2681265827, 3)
    """
    key: list[int] = []
    for part in names:
        if isinstance(part, str):
            key.append(zlib.crc32(part.encode()))
        else:
            value = int(part)
            if value < 0:
                raise ValueError(f"stream name part {part!r}: integers must be >= 0")
            key.append(value)
    return tuple(key)


def seed_sequence(seed: int, *names: str | int) -> np.random.SeedSequence:
    """The :class:`numpy.random.SeedSequence` of the stream ``names`` of run ``seed``."""
    return np.random.SeedSequence(int(seed), spawn_key=stream_key(*names))


def stream(seed: int, *names: str | int) -> np.random.Generator:
    """A generator over the stream ``names`` of run ``seed``.

    With no names it is ``numpy.random.default_rng(seed)``.
    """
    return np.random.default_rng(seed_sequence(seed, *names))


def stream_seed(seed: int, *names: str | int) -> int:
    """One 32-bit integer seed from the stream ``names`` (for a solver's ``seed=``)."""
    return int(seed_sequence(seed, *names).generate_state(1, dtype=np.uint32)[0])
