"""Grid-side fault targets: branch outages with supply tracking, and element trips.

Public names: :class:`PandapowerTopology` (a
:class:`~twin.faults.injector.GridFaultTarget` that records
:class:`~twin.reliability.Interruption` s), :class:`ElementTrips` (an
:class:`~twin.faults.injector.AssetFaultTarget` over the power-flow model's
``tripped`` mask), :data:`TRIP_TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from twin.comms.event import EventLog
from twin.reliability import Interruption

__all__ = ["TRIP_TABLE", "ElementTrips", "PandapowerTopology"]


class PandapowerTopology:
    """Branch outages on a pandapower net, with supply tracking for reliability.

    Parameters
    ----------
    net
        The network; its ``line``/``trafo`` ``in_service`` columns are changed.
    events
        Where ``grid`` events (supply lost, restored) go.
    customers_per_load
        Customers behind each load element (a ``customers`` column of ``net.load``
        overrides it per load). [-]
    on_change
        Called after every topology change (e.g. to rebuild the power-flow model).
    load_p_mw
        Returns the current active power of every load (element order); default the
        net's ``p_mw * scaling``. [MW]
    switch
        Switches the branch in the power-flow model (e.g.
        :meth:`twin.grid.PowerFlowModel.set_branch_in_service`, which also sets the
        net's ``in_service``); default: only the net's column is set.
    dark_buses
        Returns the pandapower indices of the buses not energised now (e.g.
        :meth:`twin.grid.PowerFlowModel.unenergised_buses`: the power flow's own
        knowledge, islands formed by a grid-forming unit counting as energised);
        default: ``pandapower.topology.unsupplied_buses`` (no external grid reached).

    Notes
    -----
    A load is *supplied* when its bus is energised (``dark_buses``). A load that loses
    supply starts an :class:`~twin.reliability.Interruption`; it ends when supply
    returns (or at :meth:`close`). With the power-flow model's buses the indices count
    exactly the loads metering counts as not served (dark), whatever made them dark:
    a branch fault, an upstream outage without a grid former, a former lost.
    """

    def __init__(
        self,
        net: Any,
        events: EventLog,
        *,
        customers_per_load: int = 1,
        on_change: Callable[[], None] | None = None,
        load_p_mw: Callable[[], np.ndarray] | None = None,
        switch: Callable[[str, int, bool], Any] | None = None,
        dark_buses: Callable[[], np.ndarray] | None = None,
    ) -> None:
        self.switch = switch
        self._dark_buses = dark_buses
        self._load_bus = net.load["bus"].to_numpy(dtype=np.int64)
        self._load_on = net.load["in_service"].to_numpy(dtype=bool)
        self._load_index = net.load.index.to_numpy()
        self.net = net
        self.events = events
        self.customers_per_load = int(customers_per_load)
        self.on_change = on_change
        self._load_p_mw = load_p_mw
        self.interruptions: list[Interruption] = []
        self._open: dict[int, tuple[float, float, str]] = {}
        self._cause = ""
        self._switching = False

    @property
    def customers_served(self) -> int:
        """Total customers of the grid. [-]"""
        return int(self._customers().sum())

    def _customers(self) -> np.ndarray:
        load = self.net.load
        if "customers" in load:
            return load["customers"].fillna(self.customers_per_load).to_numpy(dtype=int)
        return np.full(len(load), self.customers_per_load, dtype=int)

    def _p_mw(self) -> np.ndarray:
        if self._load_p_mw is not None:
            return np.asarray(self._load_p_mw(), dtype=float)
        load = self.net.load
        scaling = load["scaling"].to_numpy(float) if "scaling" in load else 1.0
        return load["p_mw"].to_numpy(float) * scaling

    def unsupplied_loads(self) -> set[int]:
        """Indices of loads not supplied now (on buses not energised)."""
        if self._dark_buses is not None:
            dark = np.asarray(self._dark_buses())
            if not dark.size:
                return set()
            mask = np.isin(self._load_bus, dark) & self._load_on
            return {int(i) for i in self._load_index[mask]}
        from pandapower.topology import unsupplied_buses

        buses = unsupplied_buses(self.net)
        load = self.net.load
        mask = load["bus"].isin(buses) & load["in_service"].astype(bool)
        return {int(i) for i in load.index[mask]}

    def set_branch_in_service(self, table: str, index: int, in_service: bool,
                              time_s: float) -> None:
        """Switch a branch and update which loads are supplied. [s]"""
        self._cause = f"{table}/{index}"
        self._switching = True
        try:
            if self.switch is not None:
                self.switch(table, index, bool(in_service))
            else:
                self.net[table].loc[index, "in_service"] = bool(in_service)
        finally:
            self._switching = False
        self.update(time_s)
        if self.on_change is not None:
            self.on_change()

    def changed(self, reason: str, time_s: float) -> None:
        """The power-flow model changed (a listener of
        :attr:`twin.grid.PowerFlowModel.change_listeners`): the PCC opened or closed,
        the grid formers changed, or a branch is being switched; update supply. [s]"""
        if not self._switching:
            self._cause = reason
        self.update(time_s)

    def update(self, time_s: float) -> None:
        """Recompute supply now; open and close interruptions. [s]"""
        now_out = self.unsupplied_loads()
        if not now_out and not self._open:
            return  # nothing dark before or now (the usual case): nothing to do
        p = self._p_mw()
        positions = {idx: pos for pos, idx in enumerate(self.net.load.index)}
        customers = self._customers()
        for idx in sorted(now_out - set(self._open)):
            pos = positions[idx]
            self._open[idx] = (time_s, float(p[pos]), self._cause)
            self.events.emit(time_s, "grid", "supply_lost", f"load/{idx}",
                             f"load {idx} lost supply ({self._cause})",
                             {"customers": int(customers[pos]), "p_mw": float(p[pos]),
                              "cause": self._cause})
        for idx in sorted(set(self._open) - now_out):
            self._close(idx, time_s, customers[positions[idx]])
            self.events.emit(time_s, "grid", "supply_restored", f"load/{idx}",
                             f"load {idx} supplied again", {"cause": self._cause})

    def _close(self, idx: int, time_s: float, customers: int) -> None:
        start_s, p_mw, cause = self._open.pop(idx)
        self.interruptions.append(Interruption(f"load/{idx}", start_s, time_s,
                                               int(customers), p_mw, cause))

    def close(self, time_s: float) -> None:
        """End every open interruption at the run's end. [s]"""
        positions = {idx: pos for pos, idx in enumerate(self.net.load.index)}
        customers = self._customers()
        for idx in sorted(self._open):
            self._close(idx, time_s, customers[positions[idx]])


TRIP_TABLE: dict[str, str] = {"pv": "sgen", "generator": "sgen", "battery": "storage", "ev_fleet": "load",
               "load": "load"}


class ElementTrips:
    """An :class:`AssetFaultTarget` over the power-flow model's ``tripped`` mask.

    A tripped asset's grid element injects nothing from the next power flow on (its
    row of the injection buffer is zeroed at the solve). A family that implements
    ``set_tripped(name, tripped)`` is told as well, so its own state can follow;
    otherwise its channels keep showing what it would have done.

    Parameters
    ----------
    model
        The :class:`twin.grid.PowerFlowModel`.
    families
        Asset kind -> family (with ``names`` and ``rows``).
    """

    def __init__(self, model: Any, families: Mapping[str, Any]) -> None:
        self.model = model
        self._where: dict[str, tuple[int, Any]] = {}
        for kind, family in families.items():
            table = TRIP_TABLE.get(kind)
            names = getattr(family, "names", None)
            rows = getattr(family, "rows", None)
            if table is None or names is None or rows is None:
                continue
            base = model.element_slices[table].start + int(rows[0])
            for j, name in enumerate(names):
                self._where[str(name)] = (base + j, family)

    def set_tripped(self, asset: str, tripped: bool) -> None:
        """Trip or restore an asset's grid element."""
        try:
            position, family = self._where[asset]
        except KeyError:
            raise KeyError(f"no grid element for asset {asset!r}") from None
        self.model.set_tripped(position, bool(tripped))
        hook = getattr(family, "set_tripped", None)
        if callable(hook):
            hook(asset, bool(tripped))
