"""The pandapower power-flow adapter: map injections, solve, derive results.

The twin keeps pandapower's names and sign convention (``p_mw``, ``q_mvar``, ``vm_pu``,
``loading_percent``; loads and storage positive when consuming, static generators
positive when producing).

:class:`PowerFlowModel` takes the internal model pandapower itself builds for a net
(its "ppci": admittance matrices, bus types, fused buses behind closed bus-bus switches,
lines cut by open switches) and solves it step by step with a pluggable backend:

- ``lightsim2grid``: lightsim2grid's Newton-Raphson (KLU) called directly on that model,
  the same solver pandapower calls when it uses lightsim2grid, without pandapower's
  per-call overhead; the previous step's voltages are the start point.
- ``pandapower``: pandapower's own ``runpp`` (Newton-Raphson, pandapower's solver) on the
  net each step. Slow; the reference.

Derived quantities (line/trafo loadings, slack power, losses) come from the complex bus
voltages with pandapower's own formulas, vectorised over all recorded steps at the end
(:meth:`PowerFlowModel.derive`), or for one step on demand; the slack power of one step
or many is :meth:`PowerFlowModel.slack_s_mva`, the one formula the PCC meter also uses.

Where networks come from (SimBench, pandapower's examples, files, the disk cache) is
:mod:`twin.networks`; the profiles and their resampling are :mod:`twin.profiles`. This
module re-exports their public names (``build_network``, ``simbench_codes``,
``cache_dir``, ``ProfileLibrary``, ``profile_library``, ``simbench_element_profiles``,
``resample_rows``, ``SIMBENCH_STEP_S``, ``SIMBENCH_YEAR``) for existing callers.

Why about 1,170 lines, one class: :class:`PowerFlowModel` holds the internal model,
the stepping, the topology changes (branch outages, islands, grid formers and their
limits) and the derivation from voltages in one place because all of them read and
write the same internal-index arrays (bus order, branch stamps, slack rows). Splitting
it means first giving those arrays a public home of their own; that is the next
refactor of this module, not done yet.

Public names: :class:`PowerFlowModel`, :class:`SolveOutcome`, :class:`DerivedResults`,
:data:`ELEMENT_TABLES`, :data:`MIN_PLAUSIBLE_VM_PU`, and the re-exports above.

Imports: numpy, scipy, pandapower, lightsim2grid, :mod:`twin.networks`,
:mod:`twin.profiles`, :mod:`twin.errors`; never the engine, assets or control.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from twin.errors import PowerFlowError
from twin.island_flow import (
    LIMIT_TOLERANCE_MW,
    MAX_PASSES,
    IslandCapability,
    curtail,
    former_limits_injection,
    shed_by_rank,
)
from twin.networks import (
    build_network,
    cache_dir,
    import_pandapower_quietly,
    simbench_codes,
)
from twin.profiles import (
    SIMBENCH_STEP_S,
    SIMBENCH_YEAR,
    ProfileLibrary,
    profile_library,
    resample_rows,
    simbench_element_profiles,
)

if TYPE_CHECKING:
    import pandapower as pp_types

__all__ = [
    "ELEMENT_TABLES",
    "MIN_PLAUSIBLE_VM_PU",
    "SIMBENCH_STEP_S",
    "SIMBENCH_YEAR",
    "DerivedResults",
    "PowerFlowModel",
    "ProfileLibrary",
    "SolveOutcome",
    "build_network",
    "cache_dir",
    "profile_library",
    "resample_rows",
    "simbench_codes",
    "simbench_element_profiles",
]

logger = logging.getLogger(__name__)

ELEMENT_TABLES: tuple[tuple[str, float], ...] = (("load", -1.0), ("sgen", 1.0), ("storage", -1.0))
"""Element tables the twin drives, with the sign that turns their ``p_mw`` into a bus
injection (generation positive)."""

DERIVE_CHUNK_BYTES = 4 * 1024 * 1024
"""Complex branch currents :meth:`PowerFlowModel.derive` holds at once (its other
temporaries are a small multiple of them). [bytes]"""
ADMITTANCE_CACHE_SIZE = 64
"""Sets of switched-off branches whose admittance matrices are kept
(:meth:`PowerFlowModel.set_branch_in_service`). [-]"""

MIN_PLAUSIBLE_VM_PU = 0.3
"""Lowest bus voltage of a solution the twin accepts as an operating point. [pu]
Newton-Raphson can also converge to the lower (unstable) branch of the PV curve past
voltage collapse (pandapower's warm start found 1e-5 pu there); such a step counts as
not converged, with either backend."""


@dataclass(frozen=True, slots=True)
class SolveOutcome:
    """Result of one power-flow solve.

    Attributes
    ----------
    converged : bool
        Whether Newton-Raphson met the tolerance.
    iterations : int
        Newton-Raphson iterations used.
    """

    converged: bool
    iterations: int


@dataclass(frozen=True)
class DerivedResults:
    """Grid results derived from recorded voltages, one row per step.

    All arrays have shape ``(n_steps, n)``; steps whose voltages are NaN (not
    converged) give NaN.

    Attributes
    ----------
    vm_pu : numpy.ndarray
        Voltage magnitude per pandapower bus (``bus_index`` order). [pu]
    va_degree : numpy.ndarray
        Voltage angle per pandapower bus. [degree]
    line_loading_percent, line_i_ka, line_pl_mw : numpy.ndarray
        Per line: loading [%], max of from/to current [kA], active losses [MW].
    trafo_loading_percent, trafo_pl_mw : numpy.ndarray
        Per transformer: loading [%], active losses [MW].
    slack_p_mw, slack_q_mvar : numpy.ndarray
        Power drawn from the upstream grid per ext_grid (import positive). [MW, Mvar]
    losses_p_mw : numpy.ndarray
        Total active losses (branches and shunts), shape ``(n_steps,)``. [MW]
    """

    vm_pu: np.ndarray
    va_degree: np.ndarray
    line_loading_percent: np.ndarray
    line_i_ka: np.ndarray
    line_pl_mw: np.ndarray
    trafo_loading_percent: np.ndarray
    trafo_pl_mw: np.ndarray
    slack_p_mw: np.ndarray
    slack_q_mvar: np.ndarray
    losses_p_mw: np.ndarray


class PowerFlowModel:
    """Fixed-topology AC power flow of a pandapower net, solved step by step.

    Parameters
    ----------
    net : pandapowerNet
        The network, with every element the twin will drive already added. It is not
        modified except by the ``pandapower`` backend, which writes injections into it.
    backend : {"lightsim2grid", "pandapower"}
        Which Newton-Raphson implementation solves each step.
    max_iteration : int
        Newton-Raphson iteration limit.
    tolerance_mva : float
        Mismatch tolerance, used as pandapower uses it. [MVA]

    Notes
    -----
    Injections are given per element table (``ELEMENT_TABLES``) in pandapower's
    convention (``p_mw``, ``q_mvar``; the ``scaling`` column and ``in_service`` apply as
    in pandapower). The complex bus injection is ``S = S_const + C @ (p + j q) / sn_mva``
    where ``C`` holds sign x scaling of each in-service element at its internal bus and
    ``S_const`` the injections the twin does not drive (``gen`` set points).
    """

    def __init__(
        self,
        net: pp_types.pandapowerNet,
        *,
        backend: str = "lightsim2grid",
        max_iteration: int = 10,
        tolerance_mva: float = 1e-8,
    ) -> None:
        self.net = net
        self.backend = backend
        self.max_iteration = int(max_iteration)
        self.tolerance_mva = float(tolerance_mva)
        self._ybus_ref_rows: tuple[Any, Any, Any] | None = None
        """``(ybus, ref, ybus[ref, :])`` of :meth:`_ybus_ref_times`."""
        self._build()
        self._n_solves = 0
        self._segments: list[tuple[int, Any, Any, Any]] = []
        self._branch_out: set[int] = set()
        self._admittance_cache: dict[frozenset[int], tuple[Any, ...]] = {}
        self.isolated = np.zeros(0, dtype=np.int64)
        """Internal buses cut off from every slack bus by branch outages."""
        self._live_mask: tuple[np.ndarray, np.ndarray] | None = None
        """``isolated`` and the mask of the other buses (for :meth:`_plausible`)."""
        self.tripped = np.zeros(self.n_injections, dtype=bool)
        """Per driven element: tripped by a fault (injects nothing while True); change
        it with :meth:`set_tripped` so listeners hear of it."""
        self.change_listeners: list[Any] = []
        """``listener(reason)`` called after every change of the network's state made
        through this model (branch switching, trips): the engine solves again then."""
        self._supplied_cache: tuple[np.ndarray, np.ndarray] | None = None
        self.pcc_open = False
        """The upstream grid is disconnected (:meth:`set_pcc_open`): the external grids
        are no slack; islands are solved with a grid-forming unit as their slack."""
        self.island_p_mw = 0.0
        """Active power the grid-forming units supplied, as island slacks, beyond their
        own set points in the last solve (losses and mismatch of islands). [MW]"""
        self._former_buses = np.zeros(0, dtype=np.int64)
        self._former_at: dict[int, tuple[int, ...]] = {}
        """Internal bus of the grid formers -> their driven elements there, in the order
        given (the first is the reference; they share the slack within their limits)."""
        self._islands: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                  np.ndarray]] = []
        is_load = np.zeros(self.n_injections, dtype=bool)
        is_load[self.element_slices["load"]] = True
        is_sgen = np.zeros(self.n_injections, dtype=bool)
        is_sgen[self.element_slices["sgen"]] = True
        self.island_capability = IslandCapability.unlimited(self.n_injections, is_load, is_sgen)
        """What the islands' forming units can carry and what may be shed or curtailed
        (:mod:`twin.island_flow`); set by the microgrid."""
        self.island_dp_mw: np.ndarray | None = None
        """Per driven element, after a solve with islands: what the grid carried beyond
        the given injections (the forming units' slack on their own element, load shed
        and generation curtailed as negative changes); None without islands. [MW]"""
        self.island_dq_mvar: np.ndarray | None = None
        """The same for reactive power. [Mvar]"""
        self.island_shed_mw = 0.0
        """Load shed in the islands in the last solve (consumption, >= 0). [MW]"""
        self.island_carriers: list[Any] = []
        """``carrier(dp_mw, remaining_s)`` called by the engine after every solve with
        islands (and the first solve after): the forming units' families book the
        power they carried until the step's end (state of charge, fuel)."""
        self._labels: np.ndarray | None = None
        self._base_pv_all, self._base_pq_all = self.pv.copy(), self.pq.copy()

    # ---- set-up -------------------------------------------------------------------

    def _build(self) -> None:
        """Read pandapower's internal model of the net (one set-up power flow) into
        the arrays the stepping and the derivation use."""
        pp = import_pandapower_quietly()
        net = self.net
        self._check_supported(net)
        for table, _sign in ELEMENT_TABLES:
            for col in ("min_p_mw", "max_p_mw", "min_q_mvar", "max_q_mvar"):
                if col in net[table].columns and net[table][col].dtype == object:
                    net[table][col] = net[table][col].astype(float)
        saved = self._setup_run(pp, net)
        internal = net._ppc["internal"]
        lookup = np.asarray(net._pd2ppc_lookups["bus"], dtype=np.int64)
        self._read_matrices(internal, net)
        self._map_buses(net, lookup)
        self._map_branches(internal, net)
        cols = self._map_injections(net, lookup)
        self._split_injections(internal, cols)
        if saved is not None:
            self._restore_driven(net, saved)
        self._map_ext_grids(net, lookup)
        self._set_up_backend(pp, net, saved)

    def _read_matrices(self, internal: Any, net: Any) -> None:
        """Admittance matrices, bus types and the bus and branch columns the twin uses."""
        self.sn_mva = float(internal["baseMVA"])
        self.ybus = sp.csc_matrix(internal["Ybus"])
        self.ybus.sum_duplicates()
        self.yf = sp.csr_matrix(internal["Yf"])
        self.yt = sp.csr_matrix(internal["Yt"])
        self.ref = np.asarray(internal["ref"], dtype=np.int32)
        self.pv = np.asarray(internal["pv"], dtype=np.int32)
        self.pq = np.asarray(internal["pq"], dtype=np.int32)
        from pandapower.pypower.idx_brch import F_BUS, T_BUS
        from pandapower.pypower.idx_bus import BASE_KV, GS, SL_FAC

        bus = internal["bus"]
        branch = internal["branch"]
        self.n_bus_internal = bus.shape[0]
        self.slack_weights = bus[:, SL_FAC].real.astype(np.float64)
        self.distributed_slack = bool(net._options.get("distributed_slack", False))
        self._base_kv = bus[:, BASE_KV].real.astype(np.float64)
        self._gs_mw = bus[:, GS].real.astype(np.float64)
        self._from_bus = branch[:, F_BUS].real.astype(np.int64)
        self._to_bus = branch[:, T_BUS].real.astype(np.int64)

    def _map_buses(self, net: Any, lookup: np.ndarray) -> None:
        """pandapower bus -> internal bus (fused buses share one; isolated ones none)."""
        self.bus_index = net.bus.index.to_numpy()
        bus_pos = lookup[self.bus_index]
        self._bus_valid = (bus_pos >= 0) & (bus_pos < self.n_bus_internal)
        self._bus_pos = np.where(self._bus_valid, bus_pos, 0)

    def _map_branches(self, internal: Any, net: Any) -> None:
        """pandapower line and trafo -> internal branch, with their ratings."""
        # ppc branch -> ppci branch (out-of-service branches are not in ppci)
        branch_is = np.asarray(internal["branch_is"], dtype=bool)
        ppci_branch = np.cumsum(branch_is) - 1
        lookups = net._pd2ppc_lookups["branch"]
        self.line_index = net.line.index.to_numpy()
        self.trafo_index = net.trafo.index.to_numpy()
        self._line_branch, self._line_valid = self._branch_map(lookups, "line", branch_is, ppci_branch)
        self._trafo_branch, self._trafo_valid = self._branch_map(
            lookups, "trafo", branch_is, ppci_branch
        )
        line = net.line
        self._line_imax_ka = (line.max_i_ka * line.df * line.parallel).to_numpy(dtype=float)
        trafo = net.trafo
        self._trafo_vn_kv = np.stack(
            [trafo.vn_hv_kv.to_numpy(dtype=float), trafo.vn_lv_kv.to_numpy(dtype=float)], axis=1
        )
        self._trafo_sn_mva = trafo.sn_mva.to_numpy(dtype=float)
        self._trafo_div = (trafo.parallel * trafo.df).to_numpy(dtype=float)

    def _map_injections(self, net: Any, lookup: np.ndarray) -> list[np.ndarray]:
        """Driven elements (:data:`ELEMENT_TABLES` order) -> internal bus and weight;
        returns the element column of each table (for :meth:`_split_injections`)."""
        # element injections -> internal bus injections
        cols: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        self.element_slices: dict[str, slice] = {}
        self.element_index: dict[str, np.ndarray] = {}
        self.element_bus: dict[str, np.ndarray] = {}
        start = 0
        for table, sign in ELEMENT_TABLES:
            frame = net[table]
            n = len(frame)
            self.element_slices[table] = slice(start, start + n)
            self.element_index[table] = frame.index.to_numpy()
            pp_bus = frame.bus.to_numpy(dtype=np.int64)
            self.element_bus[table] = pp_bus
            pos = lookup[pp_bus] if n else np.zeros(0, dtype=np.int64)
            ok = (pos >= 0) & (pos < self.n_bus_internal) & frame.in_service.to_numpy(dtype=bool)
            scaling = frame.scaling.to_numpy(dtype=float) if "scaling" in frame else np.ones(n)
            rows.append(np.where(ok, pos, 0))
            cols.append(np.arange(start, start + n))
            weights.append(np.where(ok, sign * scaling, 0.0))
            start += n
        self.n_injections = start
        self._inj_bus = np.concatenate(rows)
        self._inj_weight = np.concatenate(weights)
        self.injection_weight = self._inj_weight
        """Per driven element: sign x scaling (0 when out of service or isolated); the
        element's contribution to its bus injection is ``injection_weight * p_mw``."""
        self.injection_bus = np.concatenate(
            [self.element_bus[table] for table, _sign in ELEMENT_TABLES]
        ).astype(np.int64)
        """Per driven element: its pandapower bus index."""
        self.c_matrix = sp.csr_matrix(
            (self._inj_weight, (self._inj_bus, np.concatenate(cols))),
            shape=(self.n_bus_internal, self.n_injections),
        )
        return cols

    def _split_injections(self, internal: Any, cols: list[np.ndarray]) -> None:
        """The element incidence matrix, the injections the twin does not drive
        (``s_const``), the elements at each slack bus and the start voltages."""
        p0, q0 = self.element_values()
        s_elements = self.c_matrix @ (p0 + 1j * q0) / self.sn_mva
        self.s_const = np.asarray(internal["Sbus"], dtype=complex) - s_elements
        self.s_const[self.ref] = 0.0
        self._slack_elements = [
            np.flatnonzero(self._inj_bus == r) for r in self.ref
        ]
        self.v_start = np.asarray(internal["V"], dtype=complex).copy()
        self.v = self.v_start.copy()

    def _map_ext_grids(self, net: Any, lookup: np.ndarray) -> None:
        """Each ext_grid's position among the slack buses."""
        ext = net.ext_grid
        self.ext_grid_index = ext.index.to_numpy()
        ext_pos = lookup[ext.bus.to_numpy(dtype=np.int64)]
        self._ext_ref = np.array([int(np.flatnonzero(self.ref == p)[0]) for p in ext_pos])

    def _set_up_backend(self, pp: Any, net: Any, saved: dict[str, tuple[Any, Any]] | None
                        ) -> None:
        """The Newton-Raphson solver of the backend (lightsim2grid's, or pandapower's
        runpp with its recycled internal model)."""
        # pandapower's recycling keeps the internal model of the last full run and only
        # refreshes the PQ injections; the full run below fixes the options it keeps.
        self._recycle: dict[str, bool] | None = None
        if self.backend == "pandapower":
            zeroed = self._zero_driven(net) if saved is not None else None
            try:
                pp.runpp(
                    net, algorithm="nr", lightsim2grid=False, numba=False,
                    max_iteration=self.max_iteration, tolerance_mva=self.tolerance_mva,
                    init="results",
                )
            finally:
                if zeroed is not None:
                    self._restore_driven(net, zeroed)
            self._recycle = {"trafo": False, "gen": False, "bus_pq": True}
            # voltages only: the twin derives branch results itself (see derive)
            net._options["only_v_results"] = True
        if self.backend == "lightsim2grid":
            from lightsim2grid.algorithm import NR_KLU, NRSing_KLU

            self._solver = NR_KLU() if self.distributed_slack else NRSing_KLU()
        elif self.backend != "pandapower":
            raise PowerFlowError(f"unknown power-flow backend '{self.backend}'")

    def _setup_run(self, pp: Any, net: Any) -> dict[str, tuple[Any, Any]] | None:
        """Run pandapower once on the net to build its internal model and the start point.

        The driven elements' values are replaced every step; the run only has to reach
        an operating point. Tried in turn: the stored values (warm start), the stored
        values from a flat start, then the driven elements at zero (pandapower's
        default start, then a flat one). A run is accepted only when it converged to a
        plausible operating point (finite, no bus below :data:`MIN_PLAUSIBLE_VM_PU`):
        with no load at all, ``V = 0`` at every PQ bus also solves the power-flow
        equations, and pandapower's flat start finds it on SimBench's LV feeders
        (min |V| 5e-11 pu), which as the start point of every step made every step
        fail.

        Returns
        -------
        dict or None
            The driven values saved when the accepted run had them at zero (to be
            restored by the caller once the model is read), else None.

        Raises
        ------
        PowerFlowError
            When even the run with the driven elements at zero fails.
        """
        attempts = (
            ({"max_iteration": 30}, False),
            ({"init": "flat", "max_iteration": 50}, False),
            ({"max_iteration": 50}, True),
            ({"init": "flat", "max_iteration": 50}, True),
        )
        reason = ""
        for options, zeroed in attempts:
            saved = self._zero_driven(net) if zeroed else None
            try:
                pp.runpp(net, numba=False, lightsim2grid=False, **options)
            except Exception as exc:
                reason = str(exc)
            else:
                vm = np.abs(np.asarray(net._ppc["internal"]["V"], dtype=complex))
                if np.isfinite(vm).all() and (vm.size == 0 or vm.min() >= MIN_PLAUSIBLE_VM_PU):
                    return saved
                reason = (f"it converged to an implausible point (min |V| {vm.min():.3g} pu, "
                          f"below {MIN_PLAUSIBLE_VM_PU} pu)")
            if saved is not None:
                self._restore_driven(net, saved)
        raise PowerFlowError(
            "the network's power flow does not converge even with its loads, "
            f"generators and storage at zero, so the twin cannot set it up: {reason}"
        )

    @staticmethod
    def _zero_driven(net: Any) -> dict[str, tuple[Any, Any]]:
        saved = {}
        for table, _sign in ELEMENT_TABLES:
            if len(net[table]):
                saved[table] = (net[table]["p_mw"].copy(), net[table]["q_mvar"].copy())
                net[table]["p_mw"] = 0.0
                net[table]["q_mvar"] = 0.0
        return saved

    @staticmethod
    def _restore_driven(net: Any, saved: dict[str, tuple[Any, Any]]) -> None:
        for table, (p, q) in saved.items():
            net[table]["p_mw"] = p
            net[table]["q_mvar"] = q

    @staticmethod
    def _check_supported(net: Any) -> None:
        unsupported = []
        for table in ("ward", "xward", "motor", "asymmetric_load", "trafo3w", "impedance", "dcline"):
            if table in net and len(net[table]):
                unsupported.append(table)
        load = net.load
        for col in ("const_z_percent", "const_i_percent", "const_z_p_percent",
                    "const_i_p_percent", "const_z_q_percent", "const_i_q_percent"):
            if col in load and len(load) and float(np.nan_to_num(load[col].to_numpy(float)).sum()):
                unsupported.append(f"voltage-dependent loads ({col})")
        if len(net.ext_grid) == 0:
            unsupported.append("a network without ext_grid")
        if unsupported:
            raise PowerFlowError(
                "the network holds elements the twin does not model yet: " + ", ".join(unsupported)
            )

    @staticmethod
    def _branch_map(
        lookups: dict[str, tuple[int, int]], table: str, branch_is: np.ndarray, ppci: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if table not in lookups:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        f, t = lookups[table]
        valid = branch_is[f:t]
        return np.where(valid, ppci[f:t], 0), valid

    def element_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Current ``p_mw`` and ``q_mvar`` of all driven elements, as stored in the net."""
        p = np.zeros(self.n_injections)
        q = np.zeros(self.n_injections)
        for table, _sign in ELEMENT_TABLES:
            sl = self.element_slices[table]
            frame = self.net[table]
            p[sl] = frame.p_mw.to_numpy(dtype=float)
            q[sl] = frame.q_mvar.to_numpy(dtype=float) if "q_mvar" in frame else 0.0
        return p, q

    # ---- topology changes (faults) --------------------------------------------------

    def set_branch_in_service(self, table: str, index: int, in_service: bool) -> np.ndarray:
        """Take a line or trafo out of service (a fault) or put it back: a topology change.

        The admittance matrices are rebuilt with the branch's status switched (pandapower's
        ``makeYbus`` on the internal model, so buses keep their internal positions and the
        recorded arrays their shapes). Buses cut off from every slack bus are dropped from
        the Newton-Raphson bus sets and get zero voltage (not energised); when supply
        returns they restart from the set-up voltages. Results of a run that switched are
        derived segment by segment with the matrices in force at each step.

        Parameters
        ----------
        table : {"line", "trafo"}
            Branch table.
        index : int
            pandapower index of the branch.
        in_service : bool
            New status.

        Returns
        -------
        numpy.ndarray
            pandapower indices of the buses not energised now.

        Raises
        ------
        KeyError
            For a branch the network does not have.
        PowerFlowError
            With the ``pandapower`` backend (it rebuilds its own model from the net; this
            method supports the ``lightsim2grid`` backend).
        """
        pos, mapping, valid = self._branch_position(table, index)
        frame = self.net[table]
        frame.at[index, "in_service"] = bool(in_service)  # .at: a scalar write, not .loc's
        if not valid[pos]:
            logger.warning("%s %s is not in the power-flow model; nothing to switch", table, index)
            return self.bus_index[~self._energised_pd()]
        self._keep_base_model()
        branch_pos = int(mapping[pos])
        if in_service:
            self._branch_out.discard(branch_pos)
        else:
            self._branch_out.add(branch_pos)
        branch = self._rebuild_admittances()
        self._label_islands(branch)
        self._replan_supply()
        if self.backend == "lightsim2grid":
            self._solver.reset()
        self._segments.append((self._n_solves, self.yf, self.yt, self.ybus))
        self._changed(f"{table}/{index} {'in' if in_service else 'out of'} service")
        return self.bus_index[~self._energised_pd()]

    def _branch_position(self, table: str, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Check a branch switch request; return the branch's row in its table and that
        table's internal-branch mapping and validity arrays."""
        if table not in ("line", "trafo"):
            raise ValueError(f"table must be 'line' or 'trafo', got {table!r}")
        frame = self.net[table]
        if index not in frame.index:
            raise KeyError(f"no {table} {index} in the network")
        if self.backend != "lightsim2grid":
            raise PowerFlowError("branch outages need grid.backend 'lightsim2grid'")
        pos = int(np.flatnonzero(frame.index.to_numpy() == index)[0])
        if table == "line":
            return pos, self._line_branch, self._line_valid
        return pos, self._trafo_branch, self._trafo_valid

    def _keep_base_model(self) -> None:
        """Before the first switch: keep the internal bus/branch arrays as built and open
        the first matrix segment (step 0, the matrices of the intact network)."""
        if self._segments:
            return
        internal = self.net._ppc["internal"]
        self._base_bus = np.array(internal["bus"], copy=True)
        self._base_branch = np.array(internal["branch"], copy=True)
        self._segments.append((0, self.yf, self.yt, self.ybus))

    def _rebuild_admittances(self) -> np.ndarray:
        """Rebuild Ybus/Yf/Yt with every branch in ``_branch_out`` switched off
        (pandapower's ``makeYbus``); return the internal branch array used.

        The matrices of each set of switched-off branches are built once and kept (at
        most :data:`ADMITTANCE_CACHE_SIZE` sets, the oldest dropped): a branch that
        fails and is repaired again and again switches between a few states, and the
        same state gives the same matrices bit for bit. They are never modified in
        place (the derivation keeps them per segment too)."""
        from pandapower.pypower.idx_brch import BR_STATUS
        from pandapower.pypower.makeYbus import makeYbus

        key = frozenset(self._branch_out)
        cache = self._admittance_cache
        hit = cache.get(key)
        if hit is not None:
            self.ybus, self.yf, self.yt, branch = hit
            return branch
        branch = self._base_branch.copy()
        if self._branch_out:
            branch[sorted(self._branch_out), BR_STATUS] = 0
        ybus, yf, yt = makeYbus(self.sn_mva, self._base_bus, branch)
        self.ybus = sp.csc_matrix(ybus)
        self.ybus.sum_duplicates()
        self.yf = sp.csr_matrix(yf)
        self.yt = sp.csr_matrix(yt)
        if len(cache) >= ADMITTANCE_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = (self.ybus, self.yf, self.yt, branch)
        return branch

    def _label_islands(self, branch: np.ndarray) -> None:
        """Label each internal bus with its connected component over the branches in
        service in ``branch``."""
        from pandapower.pypower.idx_brch import BR_STATUS
        from scipy.sparse.csgraph import connected_components

        on = branch[:, BR_STATUS].real > 0
        n = self.n_bus_internal
        adjacency = sp.coo_matrix(
            (np.ones(int(on.sum())), (self._from_bus[on], self._to_bus[on])), shape=(n, n)
        )
        _count, labels = connected_components(adjacency, directed=False)
        self._labels = labels

    # ---- islands ------------------------------------------------------------------

    def set_pcc_open(self, is_open: bool) -> None:
        """Open (the upstream grid is lost: islanding) or close (resynchronisation) the
        PCC. While open the external grids are no slack and import nothing: every part
        of the network is an island, solved with a grid-forming unit
        (:meth:`set_grid_formers`) as its slack, or dark without one."""
        if bool(is_open) == self.pcc_open:
            return
        if self.backend != "lightsim2grid":
            raise PowerFlowError("islands need grid.backend 'lightsim2grid'")
        self.pcc_open = bool(is_open)
        self._replan_supply()
        self._solver.reset()
        self._changed("pcc open: islanded" if is_open else "pcc closed: resynchronised")

    def set_grid_formers(self, positions: np.ndarray) -> None:
        """Driven elements (element order) that can form an island now: a battery
        inverter or a running grid-forming generator. Each island (a part of the network
        cut off from the external grids, or all of it while the PCC is open) with one is
        solved with the first such unit's bus as its slack; an island without one is
        dark (nothing flows, its load is unserved)."""
        positions = np.asarray(positions, dtype=np.int64)
        buses = np.unique(self._inj_bus[positions])
        grouped: dict[int, list[int]] = {}
        for pos in positions.tolist():
            grouped.setdefault(int(self._inj_bus[pos]), []).append(int(pos))
        at = {bus: tuple(group) for bus, group in grouped.items()}
        if np.array_equal(buses, self._former_buses) and at == self._former_at:
            return
        self._former_buses = buses
        self._former_at = at
        if self.pcc_open or self.isolated.size or self._islands:
            self._replan_supply()
            self._changed("grid formers changed")

    def _replan_supply(self) -> None:
        """Which buses the external grids supply, which form islands (with their slack
        bus) and which are dark, for the current branches, PCC and grid formers."""
        n = self.n_bus_internal
        labels = self._labels
        if labels is None:
            from scipy.sparse.csgraph import connected_components

            adjacency = sp.coo_matrix(
                (np.ones(self._from_bus.size), (self._from_bus, self._to_bus)), shape=(n, n))
            _count, labels = connected_components(adjacency, directed=False)
            self._labels = labels
        if self.pcc_open:
            main = np.zeros(n, dtype=bool)
        else:
            main = np.isin(labels, labels[self.ref])
        live = main.copy()
        islands = []
        for bus in self._former_buses.tolist():
            if live[bus]:
                continue
            members = np.flatnonzero(labels == labels[bus])
            local_ref = int(np.searchsorted(members, bus))
            in_island = np.zeros(n, dtype=bool)
            in_island[members] = True
            pv = self._base_pv_all[in_island[self._base_pv_all]]
            pv = np.searchsorted(members, pv[pv != bus]).astype(np.int32)
            others = np.setdiff1d(np.arange(members.size), np.append(pv, local_ref))
            elements = np.flatnonzero(in_island[self._inj_bus] & (self._inj_weight != 0.0))
            islands.append((local_ref, members, pv, others.astype(np.int32),
                            np.array(self._former_at.get(bus, ()), dtype=np.int64), elements))
            live[members] = True
        self._islands = islands
        self.pv = self._base_pv_all[main[self._base_pv_all]].astype(np.int32)
        self.pq = self._base_pq_all[main[self._base_pq_all]].astype(np.int32)
        v = self.v.copy()
        back = live & (np.abs(v) == 0.0)
        v[back] = self.v_start[back]
        v[~live] = 0.0
        self.v = v
        self.isolated = np.flatnonzero(~live)

    def _solve_islands(self, s_bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray
                       ) -> tuple[bool, int]:
        """Solve each formed island with its grid-forming unit's bus as slack (1 pu at
        its last angle), the unit within its capability (:mod:`twin.island_flow`):
        beyond it load is shed or generation curtailed and the island solved again, or
        the island goes dark (until the network or its formers change). Sets
        :attr:`island_p_mw`, :attr:`island_dp_mw`, :attr:`island_dq_mvar` and
        :attr:`island_shed_mw`. Returns (converged, iterations)."""
        iterations = 0
        extra = 0.0
        v = self.v.copy()
        dp = np.zeros(self.n_injections)
        dq = np.zeros(self.n_injections)
        p_now, q_now = p_mw.copy(), q_mvar.copy()
        dark: list[int] = []
        for i, island in enumerate(self._islands):
            ok, its, sol, slack = self._solve_one_island(island, v, s_bus, p_now, q_now)
            iterations += its
            if not ok:
                return False, iterations
            members, formers, elements = island[1], island[4], island[5]
            if sol is None:  # its units cannot carry it: the island goes dark
                dark.append(i)
                p_now[elements] = p_mw[elements]
                q_now[elements] = q_mvar[elements]
                v[members] = 0.0
                continue
            v[members] = sol
            extra += slack.real
            if formers.size:
                dp[formers] += self._share_slack(formers, p_now, slack.real)
                dq[formers[0]] += slack.imag / self._inj_weight[formers[0]]
        if dark:
            gone = np.concatenate([self._islands[i][1] for i in dark])
            self._islands = [isl for i, isl in enumerate(self._islands) if i not in dark]
            self.isolated = np.union1d(self.isolated, gone)
        self.v = v
        self.island_p_mw = extra
        cut = p_now - p_mw
        self.island_shed_mw = float((self._inj_weight * cut)[self._inj_weight < 0].sum())
        self.island_dp_mw = dp + cut
        self.island_dq_mvar = dq + (q_now - q_mvar)
        return True, iterations

    def _share_slack(self, formers: np.ndarray, p_mw: np.ndarray, slack_mw: float
                     ) -> np.ndarray:
        """The slack ``slack_mw`` shared by the forming units of one bus: in their
        order, each up to its limit; what is left (round-off) on the first. Returns
        each unit's change of its own power (element convention). [MW]"""
        cap = self.island_capability
        weight = self._inj_weight[formers]
        unit = weight * p_mw[formers]
        lo, hi = former_limits_injection(weight, cap.p_min_mw[formers], cap.p_max_mw[formers])
        room = (hi - unit) if slack_mw > 0 else (unit - lo)
        room = np.clip(np.nan_to_num(room, posinf=np.inf), 0.0, None)
        take = np.zeros(formers.size)
        left = abs(slack_mw)
        for j in range(formers.size):
            take[j] = min(left, room[j])
            left -= take[j]
        take[0] += left
        return np.sign(slack_mw) * take / weight

    def _solve_one_island(
        self, island: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        v: np.ndarray, s_bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray,
    ) -> tuple[bool, int, np.ndarray | None, complex]:
        """One island within its forming unit's capability; ``p_mw`` and ``q_mvar``
        are cut in place (load shed, generation curtailed). Returns (converged,
        iterations, the island's voltages or None when it goes dark, the unit's slack
        power [MW + j Mvar])."""
        from lightsim2grid.algorithm import NRSing_KLU

        local_ref, members, pv, pq, formers, elements = island
        cap = self.island_capability
        y = self.ybus[members][:, members].tocsc()
        start = v[members].copy()
        start[np.abs(start) == 0.0] = self.v_start[members][np.abs(start) == 0.0]
        # the forming unit holds 1 pu at the angle it had (transformer phase shifts
        # stay where they were; a flat angle would start NR far from the solution)
        start[local_ref] = np.exp(1j * np.angle(start[local_ref]))
        weights = np.zeros(members.size)
        weights[local_ref] = 1.0
        s_island = s_bus[members].copy()
        weight = self._inj_weight
        local = np.searchsorted(members, self._inj_bus[elements])
        unit_lo, unit_hi = former_limits_injection(weight[formers], cap.p_min_mw[formers],
                                                   cap.p_max_mw[formers])
        lo, hi = float(np.sum(unit_lo)), float(np.sum(unit_hi))  # the units of the bus
        iterations = 0
        sol, slack = start, 0j
        for _pass in range(MAX_PASSES):
            solver = NRSing_KLU()
            solver.solve(y, start, s_island, np.array([local_ref], dtype=np.int32),
                         weights, pv, pq, self.max_iteration, self.tolerance_mva)
            iterations += solver.get_nb_iter()
            if not solver.converged():
                return False, iterations, None, 0j
            sol = solver.get_V().copy()  # a view of the solver's memory otherwise
            vm = np.abs(sol)
            if not np.isfinite(vm).all() or float(vm.min()) < MIN_PLAUSIBLE_VM_PU:
                return False, iterations, None, 0j
            s_calc = sol[local_ref] * np.conj((y @ sol)[local_ref])
            slack = complex(s_calc - s_island[local_ref]) * self.sn_mva
            unit = float((weight[formers] * p_mw[formers]).sum()) + slack.real
            if lo - LIMIT_TOLERANCE_MW <= unit <= hi + LIMIT_TOLERANCE_MW:
                break
            if cap.go_dark:
                return True, iterations, None, 0j
            before_p, before_q = p_mw[elements], q_mvar[elements]
            if unit > hi:
                need = unit - hi
                done = shed_by_rank(p_mw, q_mvar, weight, cap.shed_rank, elements, cap.ranks,
                                    need)
            else:
                need = lo - unit
                done = curtail(p_mw, q_mvar, weight, cap.curtailable, elements, need)
            if done < need - LIMIT_TOLERANCE_MW:  # nothing left to cut: dark
                return True, iterations, None, 0j
            change = weight[elements] * ((p_mw[elements] - before_p)
                                         + 1j * (q_mvar[elements] - before_q)) / self.sn_mva
            s_island = s_island + (np.bincount(local, change.real, members.size)
                                   + 1j * np.bincount(local, change.imag, members.size))
            start = sol
        return True, iterations, sol, slack

    def _changed(self, reason: str) -> None:
        for listener in self.change_listeners:
            listener(reason)

    def set_tripped(self, position: int, tripped: bool) -> None:
        """Trip (or restore) driven element ``position`` (element order): it injects
        nothing from the next power flow on, which the listeners are told to run."""
        if bool(self.tripped[position]) != bool(tripped):
            self.tripped[position] = bool(tripped)
            self._changed("trip" if tripped else "restore")

    def element_supplied(self) -> np.ndarray:
        """Per driven element: True when its bus is energised now (connected to a slack
        bus); elements on buses cut off by branch outages are not supplied."""
        cached = self._supplied_cache
        if cached is None or cached[0] is not self.isolated:
            live = np.ones(self.n_bus_internal, dtype=bool)
            live[self.isolated] = False
            cached = self._supplied_cache = (self.isolated, live[self._inj_bus])
        return cached[1]

    def unenergised_buses(self) -> np.ndarray:
        """pandapower indices of the buses not energised now (cut off from every
        slack: no external grid and no grid-forming unit reaches them; reliability
        counts their loads as interrupted)."""
        if not self.isolated.size and self._bus_valid.all():
            return self.bus_index[:0]
        return self.bus_index[~self._energised_pd()]

    def _energised_pd(self) -> np.ndarray:
        """Per pandapower bus (``bus_index`` order): True when energised now."""
        live = np.ones(self.n_bus_internal, dtype=bool)
        live[self.isolated] = False
        return self._bus_valid & live[self._bus_pos]

    # ---- stepping -----------------------------------------------------------------

    def solve(self, p_mw: np.ndarray, q_mvar: np.ndarray) -> SolveOutcome:
        """Solve one step for element injections ``p_mw``, ``q_mvar`` (element order).

        On success ``self.v`` holds the new complex voltages (internal bus order); on
        failure ``self.v`` keeps the last converged voltages (the next start point).
        Elements marked in :attr:`tripped` are zeroed in ``p_mw`` and ``q_mvar`` in
        place (a tripped unit injects nothing, and the recorded injections say so).
        """
        self._n_solves += 1
        self.island_p_mw = 0.0
        self.island_dp_mw = self.island_dq_mvar = None
        self.island_shed_mw = 0.0
        if self.tripped.any():
            p_mw[self.tripped] = 0.0
            q_mvar[self.tripped] = 0.0
        if self.backend == "lightsim2grid":
            # bus injections: each element adds weight * (p + jq) at its internal bus
            # (bincount is several times faster than a sparse product at this size)
            w = self._inj_weight * (1.0 / self.sn_mva)
            n = self.n_bus_internal
            s_bus = self.s_const + (
                np.bincount(self._inj_bus, w * p_mw, n)
                + 1j * np.bincount(self._inj_bus, w * q_mvar, n)
            )
            if self.pcc_open or self._islands:
                return self._solve_with_islands(s_bus, p_mw, q_mvar)
            solver = self._solver
            iterations = 0
            # warm start from the last step; after a failure, once more from the set-up
            # solution (a warm start near voltage collapse may not come back by itself)
            for start in (self.v, self.v_start):
                solver.solve(
                    self.ybus, start.copy(), s_bus, self.ref, self.slack_weights, self.pv,
                    self.pq, self.max_iteration, self.tolerance_mva,
                )
                iterations += solver.get_nb_iter()
                if solver.converged():
                    v = solver.get_V()
                    if self._plausible(v):
                        self.v = v
                        return SolveOutcome(True, iterations)
                solver.reset()
                if start is self.v_start:
                    break
            return SolveOutcome(False, iterations)
        return self._solve_pandapower(p_mw, q_mvar)

    def _solve_with_islands(self, s_bus: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray
                            ) -> SolveOutcome:
        """The part the external grids supply (none while the PCC is open), then each
        formed island with its grid-forming unit as slack."""
        iterations = 0
        self.island_p_mw = 0.0
        if not self.pcc_open:
            solver = self._solver
            solver.solve(self.ybus, self.v.copy(), s_bus, self.ref, self.slack_weights,
                         self.pv, self.pq, self.max_iteration, self.tolerance_mva)
            iterations += solver.get_nb_iter()
            if not solver.converged() or not self._plausible(solver.get_V()):
                solver.reset()
                return SolveOutcome(False, iterations)
            self.v = solver.get_V()
        ok, more = self._solve_islands(s_bus, p_mw, q_mvar)
        return SolveOutcome(ok, iterations + more)

    def _solve_pandapower(self, p_mw: np.ndarray, q_mvar: np.ndarray) -> SolveOutcome:
        pp = import_pandapower_quietly()
        net = self.net
        for table, _sign in ELEMENT_TABLES:
            sl = self.element_slices[table]
            if sl.stop > sl.start:
                net[table]["p_mw"] = p_mw[sl]
                net[table]["q_mvar"] = q_mvar[sl]
        iterations = 0
        # warm start from the last step; when that fails or lands on the lower branch
        # of the PV curve, once more from a flat start (as the lightsim2grid path)
        for init in ("results", "flat"):
            try:
                pp.runpp(
                    net, algorithm="nr", lightsim2grid=False, numba=False,
                    max_iteration=self.max_iteration, tolerance_mva=self.tolerance_mva,
                    init=init, recycle=self._recycle,
                )
            except Exception as exc:
                logger.debug("pandapower runpp (init=%s) failed: %s", init, exc)
                iterations += self.max_iteration
                continue
            internal = net._ppc["internal"]
            v = np.asarray(internal["V"], dtype=complex)
            iterations += int(net._ppc.get("iterations", 0) or 0)
            if v.shape == self.v.shape and self._plausible(v):
                self.v = v.copy()
                return SolveOutcome(True, iterations)
        return SolveOutcome(False, iterations)

    def _plausible(self, v: np.ndarray) -> bool:
        """Whether a Newton-Raphson solution is an operating point: finite, and no
        energised bus below :data:`MIN_PLAUSIBLE_VM_PU` (a solution there is on the
        lower, unstable branch of the PV curve, past voltage collapse)."""
        vm = np.abs(v)
        if not np.isfinite(vm).all():
            return False
        cached = self._live_mask
        if cached is None or cached[0] is not self.isolated or cached[1].size != vm.size:
            # buses not isolated by the topology, rebuilt when the topology changes
            live0 = np.ones(vm.size, dtype=bool)
            live0[self.isolated] = False
            cached = self._live_mask = (self.isolated, live0)
        live = cached[1] & (vm > 0.0)  # and not left out by the solver (isolated in its model)
        return not live.any() or float(vm[live].min()) >= MIN_PLAUSIBLE_VM_PU

    def reset(self) -> None:
        """Forget the warm start (back to the set-up solution)."""
        self.v = self.v_start.copy()

    # ---- derived results ----------------------------------------------------------

    def derive(self, v: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray) -> DerivedResults:
        """Derive grid results from complex voltages, for many steps at once.

        Rows are steps from step 0. After topology changes
        (:meth:`set_branch_in_service`) each run of steps is derived with the
        admittance matrices in force then; otherwise see :meth:`_derive_fixed`. Rows
        go through in chunks of :meth:`derive_chunk_rows` into arrays allocated once,
        so the branch-flow temporaries stay bounded whatever the horizon (each row's
        results do not depend on the chunking).
        """
        v = np.atleast_2d(v)
        p_mw, q_mvar = np.atleast_2d(p_mw), np.atleast_2d(q_mvar)
        n = v.shape[0]
        if len(self._segments) < 2 or n < 2:
            segments = [(0, n, self.yf, self.yt, self.ybus)]
        else:
            starts = [s[0] for s in self._segments] + [n]
            segments = [(min(start, n), min(stop, n), yf, yt, ybus)
                        for (start, yf, yt, ybus), stop
                        in zip(self._segments, starts[1:], strict=True)]
        chunk = self.derive_chunk_rows()
        current = (self.yf, self.yt, self.ybus)
        fields: dict[str, np.ndarray] = {}
        try:
            for start, stop, yf, yt, ybus in segments:
                self.yf, self.yt, self.ybus = yf, yt, ybus
                for a in range(start, stop, chunk):
                    b = min(stop, a + chunk)
                    part = self._derive_fixed(v[a:b], p_mw[a:b], q_mvar[a:b])
                    for name in DerivedResults.__dataclass_fields__:
                        values = getattr(part, name)
                        if name not in fields:
                            fields[name] = np.empty((n, *values.shape[1:]), values.dtype)
                        fields[name][a:b] = values
        finally:
            self.yf, self.yt, self.ybus = current
        if not fields:  # no rows
            return self._derive_fixed(v, p_mw, q_mvar)
        dark = fields["vm_pu"] == 0.0  # not energised (a dark island): no voltage
        if dark.any():
            fields["vm_pu"][dark] = np.nan
            fields["va_degree"][dark] = np.nan
        return DerivedResults(**fields)

    def derive_chunk_rows(self) -> int:
        """Rows :meth:`derive` takes at once: about :data:`DERIVE_CHUNK_BYTES` of
        complex branch currents."""
        per_row = 16 * max(1, self.yf.shape[0] + self.v.size)
        return max(1, DERIVE_CHUNK_BYTES // per_row)

    def _derive_fixed(
        self, v: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray
    ) -> DerivedResults:
        """Derive grid results from complex voltages, for many steps at once.

        Parameters
        ----------
        v : numpy.ndarray
            ``(n_steps, n_bus_internal)`` complex voltages. [pu]
        p_mw, q_mvar : numpy.ndarray
            ``(n_steps, n_injections)`` element injections used for those steps.

        Notes
        -----
        Branch currents follow pandapower's ``_get_branch_flows``:
        ``S_f = V_f conj(Y_f V) S_base``, ``I_f = |S_f| / (|V_f| V_base sqrt(3))``;
        line loading is ``max(I_f, I_t) / (I_max df parallel)``; transformer loading is
        ``max_side(I V_n sqrt(3) / S_n) / (parallel df)`` (pandapower's "current" rule).
        """
        v = np.atleast_2d(v)
        base = self.sn_mva
        i_f_pu = (self.yf @ v.T).T
        i_t_pu = (self.yt @ v.T).T
        v_f = v[:, self._from_bus]
        v_t = v[:, self._to_bus]
        s_f = v_f * np.conj(i_f_pu) * base
        s_t = v_t * np.conj(i_t_pu) * base
        sqrt3 = np.sqrt(3.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            i_f = np.abs(s_f) / (np.abs(v_f) * self._base_kv[self._from_bus]) / sqrt3
            i_t = np.abs(s_t) / (np.abs(v_t) * self._base_kv[self._to_bus]) / sqrt3
        pl = (s_f + s_t).real

        lb, lv = self._line_branch, self._line_valid
        line_i = np.where(lv, np.maximum(i_f[:, lb], i_t[:, lb]), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            line_loading = np.where(self._line_imax_ka > 0, line_i / self._line_imax_ka, np.inf) * 100
        line_pl = np.where(lv, pl[:, lb], 0.0)

        tb, tv = self._trafo_branch, self._trafo_valid
        hv = i_f[:, tb] * self._trafo_vn_kv[:, 0] * sqrt3 / self._trafo_sn_mva * 100.0
        lvs = i_t[:, tb] * self._trafo_vn_kv[:, 1] * sqrt3 / self._trafo_sn_mva * 100.0
        trafo_loading = np.where(tv, np.maximum(hv, lvs) / self._trafo_div, 0.0)
        trafo_pl = np.where(tv, pl[:, tb], 0.0)

        vm_int = np.abs(v)
        vm = np.where(self._bus_valid, vm_int[:, self._bus_pos], np.nan)
        va = np.where(self._bus_valid, np.degrees(np.angle(v[:, self._bus_pos])), np.nan)

        slack_ext = self.slack_s_mva(v, p_mw, q_mvar)

        branch_losses = pl.sum(axis=1)
        shunt_losses = (vm_int**2 * self._gs_mw).sum(axis=1)
        return DerivedResults(
            vm_pu=vm,
            va_degree=va,
            line_loading_percent=line_loading,
            line_i_ka=line_i,
            line_pl_mw=line_pl,
            trafo_loading_percent=trafo_loading,
            trafo_pl_mw=trafo_pl,
            slack_p_mw=slack_ext.real,
            slack_q_mvar=slack_ext.imag,
            losses_p_mw=branch_losses + shunt_losses,
        )

    def slack_s_mva(self, v: np.ndarray, p_mw: np.ndarray, q_mvar: np.ndarray) -> np.ndarray:
        """Complex power drawn from each external grid, for one step or many.

        Parameters
        ----------
        v : numpy.ndarray
            Complex bus voltages, ``(n_bus_internal,)`` for one step or
            ``(n_steps, n_bus_internal)``, solved with the admittance matrix in force
            now. [pu]
        p_mw, q_mvar : numpy.ndarray
            Element injections of those steps, ``(n_injections,)`` or
            ``(n_steps, n_injections)``. [MW, Mvar]

        Returns
        -------
        numpy.ndarray
            ``(..., n_ext_grid)`` complex power per ext_grid (``ext_grid_index`` order),
            import positive. [MVA]

        Notes
        -----
        The slack-bus injection ``S_ref = V_ref conj(Y_ref V) S_base`` minus the driven
        elements at the slack bus (``injection_weight (p + j q)`` of the elements there),
        taken at the ext_grids' buses. The one slack formula of the twin: the PCC meter
        (:class:`twin.microgrid.Microgrid`) and :meth:`derive` both use it.
        """
        s_ref = v[..., self.ref] * np.conj(self._ybus_ref_times(v)) * self.sn_mva
        s_el = (p_mw + 1j * q_mvar) * self._inj_weight
        slack = np.empty((*v.shape[:-1], len(self.ref)), dtype=complex)
        for k, elements in enumerate(self._slack_elements):
            slack[..., k] = s_ref[..., k] - s_el[..., elements].sum(axis=-1)
        return slack[..., self._ext_ref]

    def _ybus_ref_times(self, v: np.ndarray) -> np.ndarray:
        """``Y_bus[ref, :] @ v`` per step (``v`` one step or ``(n_steps, n_bus)``); the
        slack rows of ``Y_bus`` are sliced again only when the matrix is replaced (a
        topology change, or :meth:`derive` going through the segments)."""
        cached = self._ybus_ref_rows
        if cached is None or cached[0] is not self.ybus or cached[1] is not self.ref:
            cached = self._ybus_ref_rows = (self.ybus, self.ref, self.ybus[self.ref, :])
        rows = cached[2]
        return rows @ v if v.ndim == 1 else (rows @ v.T).T

    def vm_pu_now(self) -> np.ndarray:
        """Voltage magnitude per pandapower bus at the last solved step. [pu]"""
        return np.where(self._bus_valid, np.abs(self.v)[self._bus_pos], np.nan)

