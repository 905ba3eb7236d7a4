"""What an island's grid-forming unit cannot carry: load shed by priority, generation
curtailed, or the island dark.

An island (the network while the PCC is open, or a part cut off by branch faults) is
solved with its grid-forming unit as slack (:class:`twin.grid.PowerFlowModel`). The
unit's power is its set point plus the slack; it must stay within the unit's
capability for the step (a battery's charge and discharge limits, which include its
energy, a running generator's ``[p_min, p_max]``). When the island needs more than
that, load is shed (lowest rank first, in proportion within a rank: see
:func:`shed_by_rank`) and the island solved again; when it would have the unit absorb
more than it can, generation is curtailed (:func:`curtail`). What cannot be balanced
either way, or every overload with ``pcc.island_overload: dark``, takes the island
dark.

Public names: :class:`IslandCapability`, :func:`shed_by_rank`, :func:`curtail`,
:func:`former_limits_injection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["IslandCapability", "curtail", "former_limits_injection", "shed_by_rank"]

LIMIT_TOLERANCE_MW = 1e-9
"""A forming unit's power may exceed its limit by this much (solver round-off). [MW]"""

MAX_PASSES = 8
"""Solves of one island at most (the first, then after each shed or curtailment)."""


@dataclass
class IslandCapability:
    """What the islands' grid-forming units can carry and what may be cut, per driven
    element (element order of :class:`twin.grid.PowerFlowModel`).

    Attributes
    ----------
    p_min_mw, p_max_mw : numpy.ndarray
        Range of each grid-forming element's own power in pandapower's convention
        (storage positive charging, sgen positive generating) this step; -inf/+inf
        where not limited. [MW]
    shed_rank : numpy.ndarray
        Order in which loads are shed (lowest first, in proportion within one rank);
        ``inf`` for elements that cannot be shed.
    curtailable : numpy.ndarray
        Elements whose generation may be curtailed (PV, static generators).
    go_dark : bool
        True: an island its units cannot carry goes dark instead of shedding.
    """

    p_min_mw: np.ndarray
    p_max_mw: np.ndarray
    shed_rank: np.ndarray
    curtailable: np.ndarray
    go_dark: bool = False
    ranks: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ranks = np.unique(self.shed_rank[np.isfinite(self.shed_rank)])

    @classmethod
    def unlimited(cls, n: int, load: np.ndarray, sgen: np.ndarray) -> IslandCapability:
        """No limits; every load sheddable at one rank, every sgen curtailable."""
        return cls(np.full(n, -np.inf), np.full(n, np.inf),
                   np.where(load, 0.0, np.inf), sgen.copy())

    def set_ranks(self, shed_rank: np.ndarray) -> None:
        """New shedding order (see :attr:`shed_rank`)."""
        self.shed_rank = np.asarray(shed_rank, float).copy()
        self.ranks = np.unique(self.shed_rank[np.isfinite(self.shed_rank)])


def former_limits_injection(weight: np.ndarray, p_min_mw: np.ndarray, p_max_mw: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Forming elements' ranges as bus injection (generation positive). [MW]

    Examples
    --------
    >>> lo, hi = former_limits_injection(np.array([-1.0]), np.array([-0.04]), np.array([0.01]))
    >>> lo.tolist(), hi.tolist()  # a storage row (charging positive): -10 kW to +40 kW
    ([-0.01], [0.04])
    """
    with np.errstate(invalid="ignore"):
        a, b = weight * p_min_mw, weight * p_max_mw
    return np.minimum(a, b), np.maximum(a, b)


def shed_by_rank(p_mw: np.ndarray, q_mvar: np.ndarray, weight: np.ndarray,
                 rank: np.ndarray, elements: np.ndarray, ranks: np.ndarray,
                 need_mw: float) -> float:
    """Shed ``need_mw`` of consumption from the loads among ``elements``.

    Ranks in increasing order; within one rank each load gives the same share of
    its consumption (active and reactive alike). Changes ``p_mw`` and ``q_mvar`` in
    place; returns the consumption shed (less than ``need_mw`` when the loads run
    out). [MW]

    Examples
    --------
    >>> p = np.array([0.010, 0.030, 0.020]); q = np.zeros(3); w = -np.ones(3)
    >>> rank = np.array([0.0, 1.0, 1.0])
    >>> round(shed_by_rank(p, q, w, rank, np.arange(3), np.array([0.0, 1.0]), 0.035), 12)
    0.035
    >>> np.round(p, 12).tolist()  # rank 0 fully, then half of each rank-1 load
    [0.0, 0.015, 0.01]
    """
    left = need_mw
    for r in ranks.tolist():
        if left <= 0.0:
            break
        rows = elements[rank[elements] == r]
        consumption = np.clip(-weight[rows] * p_mw[rows], 0.0, None)
        total = float(consumption.sum())
        if total <= 0.0:
            continue
        take = min(left, total)
        keep = 1.0 - take / total
        on = consumption > 0.0
        p_mw[rows[on]] *= keep
        q_mvar[rows[on]] *= keep
        left -= take
    return need_mw - max(left, 0.0)


def curtail(p_mw: np.ndarray, q_mvar: np.ndarray, weight: np.ndarray,
            curtailable: np.ndarray, elements: np.ndarray, need_mw: float) -> float:
    """Curtail ``need_mw`` of generation from the curtailable elements among
    ``elements``, each by the same share. In place; returns what was curtailed. [MW]"""
    rows = elements[curtailable[elements]]
    generation = np.clip(weight[rows] * p_mw[rows], 0.0, None)
    total = float(generation.sum())
    if total <= 0.0 or need_mw <= 0.0:
        return 0.0
    take = min(need_mw, total)
    keep = 1.0 - take / total
    on = generation > 0.0
    p_mw[rows[on]] *= keep
    q_mvar[rows[on]] *= keep
    return take
