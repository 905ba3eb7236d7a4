"""Sensor faults: stale and missing measurements, and what the controller reads instead.

Public names: :class:`MeasurementGuard` (last good value or estimate, one ``control``
event per fault and asset), :class:`SensedFamily` (the controller's view of a family
whose measurements pass the guard), :data:`SENSED_FIELDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.comms.event import EventLog

__all__ = ["SENSED_FIELDS", "MeasurementGuard", "SensedFamily"]


@dataclass
class _Reading:
    value: float
    time_s: float


class MeasurementGuard:
    """Stale and missing measurements, and what the controller uses instead.

    The controller reads every asset measurement through :meth:`read`. While a
    ``sensor_stale`` fault is active the sensor repeats the value it had when the
    fault began (its timestamp stops); while ``sensor_missing`` is active there is no
    reading. In both cases the controller uses its last good value, or an estimate
    when it has none, and records a ``control`` event saying so (once per fault and
    asset).

    Parameters
    ----------
    events
        Where the ``control`` events go.
    """

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self.active: dict[str, str] = {}
        self._last: dict[str, _Reading] = {}
        self._announced: set[str] = set()

    def begin(self, asset: str, mode: str) -> None:
        """A sensor fault of ``mode`` (``stale`` or ``missing``) starts on ``asset``."""
        self.active[asset] = mode
        self._announced = {k for k in self._announced if not k.startswith(f"{asset}/")}

    def end(self, asset: str) -> None:
        """The sensor fault on ``asset`` ends."""
        self.active.pop(asset, None)
        self._announced = {k for k in self._announced if not k.startswith(f"{asset}/")}

    def read(self, asset: str, true_value: float, time_s: float,
             estimate: float | None = None, *, quantity: str = "value",
             ) -> tuple[float | None, str]:
        """The value the controller uses for ``asset`` now, and its quality.

        Parameters
        ----------
        asset
            Asset name.
        true_value
            What a healthy sensor would report. [the measurement's unit]
        time_s
            Now. [s]
        estimate
            The controller's own estimate (e.g. from its model), used when no good
            value was ever read.
        quantity
            Which measurement of the asset (``soc_frac``, ...); last values are kept
            per asset and quantity.

        Returns
        -------
        (value, quality)
            ``quality`` is ``"measured"``, ``"last_value"``, ``"estimate"`` or
            ``"none"`` (no value at all; ``value`` is None).
        """
        mode = self.active.get(asset)
        key = f"{asset}/{quantity}"
        if mode is None:
            self._last[key] = _Reading(float(true_value), time_s)
            return float(true_value), "measured"
        last = self._last.get(key)
        if last is not None:
            value, quality = last.value, "last_value"
            detail = f"its last value {last.value:.6g} from t={last.time_s:g} s"
        elif estimate is not None:
            value, quality, detail = float(estimate), "estimate", f"an estimate {estimate:.6g}"
        else:
            value, quality, detail = None, "none", "no value"
        if key not in self._announced:
            self._announced.add(key)
            self.events.emit(time_s, "control", "measurement_substituted", f"asset/{asset}",
                             f"{quantity} of {asset} is {mode}; the controller uses {detail}",
                             {"mode": mode, "quality": quality, "quantity": quantity,
                              "value": value, "age_s": None if last is None
                              else time_s - last.time_s})
        return value, quality


SENSED_FIELDS: dict[str, tuple[str, ...]] = {
    "battery": ("energy_mwh", "soc_frac"),
    "pv": ("available_p_mw",),
}
"""Per asset kind: the family attributes (per-asset arrays) that are measurements."""


class SensedFamily:
    """The controller's view of an asset family: measurements pass a
    :class:`MeasurementGuard`.

    Everything is delegated to the real family (commands, channels, KPIs, limits),
    except the measured arrays of :data:`SENSED_FIELDS` and the same fields of
    ``snapshot()``: for an asset with an active sensor fault they hold what the guard
    gives (last good value or estimate), so the controller plans on what it can know.
    The physics (the family's own state and limits) is untouched.
    """

    def __init__(self, family: Any, kind: str, guard: MeasurementGuard,
                 now: Callable[[], float]) -> None:
        self._family = family
        self._fields = SENSED_FIELDS[kind]
        self._guard = guard
        self._now = now

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._family, name)
        if name in self._fields:
            return self._read(name, value)
        return value

    def _read(self, name: str, values: Any) -> np.ndarray:
        out = np.array(values, dtype=float, copy=True)
        now = self._now()
        for j, asset in enumerate(self._family.names):
            got, _quality = self._guard.read(asset, float(out[j]), now, quantity=name)
            if got is not None:
                out[j] = got
        return out

    def snapshot(self) -> Any:
        """The family's snapshot with the measured fields guarded."""
        snap = self._family.snapshot()
        changes = {name: self._read(name, getattr(snap, name)) for name in self._fields
                   if hasattr(snap, name)}
        if not changes or not dataclasses.is_dataclass(snap):
            return snap
        return dataclasses.replace(snap, **changes)
