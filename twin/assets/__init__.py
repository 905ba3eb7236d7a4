"""Asset families: one module per family, each a SimPy process owning its state.

The kind -> family mapping lives in :mod:`twin.assets.registry`; the shared contract
(context, channels, injection buffer) in :mod:`twin.assets.base`.
"""

from __future__ import annotations
