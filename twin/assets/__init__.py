"""Asset families: one module (or package) per family, each a SimPy process owning the
state of all assets of its kind as arrays.

- :mod:`twin.assets.base`: the contract every family follows (:class:`AssetFamily`,
  :class:`FamilyContext`, :class:`Channel`, the shared :class:`InjectionBuffer`) and
  :func:`add_element_rows`, the one home of pandapower row registration;
- :mod:`twin.assets.registry`: scenario ``kind`` -> family class;
- families: :mod:`~twin.assets.network` (the network's own elements),
  :mod:`~twin.assets.load`, :mod:`~twin.assets.pv`, :mod:`~twin.assets.battery`,
  :mod:`~twin.assets.generator`, :mod:`~twin.assets.ev` (package: sessions, charging,
  family) and :mod:`~twin.assets.building` (package: parameters, presets, RC model,
  HVAC curves, fleet, thermostat, deferrable loads, KPIs, family).

Each family's public methods and snapshot fields are what controllers and the
microgrid may read and command (commanded power, current request, forecasts over a
horizon, flexible share); see :mod:`twin.assets.base` and ``docs/contracts.md``.
Physics are pure functions with units in their parameter names (``battery_step``,
``ev_step``, ``generator_step``, ``rc_step``, ``ideal_hvac_kw``, ...).

Imports: numpy, scipy, pandas, pandapower (row creation), :mod:`twin.clock`,
:mod:`twin.simtime`, :mod:`twin.errors`, :mod:`twin.profiles`, :mod:`twin.grid`
(element tables), :mod:`twin.weather`, :mod:`twin.scenario` (types). Assets never
import the engine, the controllers (:mod:`twin.control`) or each other's internals.
"""

from __future__ import annotations
