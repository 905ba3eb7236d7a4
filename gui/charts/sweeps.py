"""Sweeps: flattened scenario parameters, which of them vary across runs, and whether a
parameter is a category (the seed) or a number line.

Public names: :func:`flatten`, :func:`varying_parameters`, :func:`is_categorical`,
:data:`CATEGORICAL_PARAMETERS`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists as dotted paths to scalars (lists by index, or by item name)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            label = value.get("name", index) if isinstance(value, dict) else index
            out.update(flatten(value, f"{prefix}{label}."))
    else:
        out[prefix.rstrip(".")] = data
    return out


def varying_parameters(rows: list[dict[str, Any]]) -> list[str]:
    """Dotted parameters whose value differs between runs (the swept ones)."""
    if len(rows) < 2:
        return []
    keys = sorted(set().union(*rows))
    varying = []
    for key in keys:
        values = {repr(row.get(key)) for row in rows}
        if len(values) > 1:
            varying.append(key)
    return varying


CATEGORICAL_PARAMETERS = ("seed", "mode", "solver", "pattern", "scope", "source", "kind",
                          "route", "name", "code", "network", "profile", "backend")
"""Parameter names whose values are labels, not quantities (a seed is not a number line)."""


def is_categorical(parameter: str, values: pd.Series) -> bool:
    """Whether a swept parameter is a category: its last name part is a label
    (:data:`CATEGORICAL_PARAMETERS`, e.g. the seed) or its values are not all numbers.

    Examples
    --------
    >>> is_categorical("seed", pd.Series([1, 2])), is_categorical("assets.0.peak_kw",
    ...                                                             pd.Series([10, 20]))
    (True, False)
    """
    last = parameter.split(".")[-1]
    if last in CATEGORICAL_PARAMETERS or any(last.endswith(f"_{w}") for w in
                                             CATEGORICAL_PARAMETERS):
        return True
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.isna().any()) or values.map(lambda v: isinstance(v, bool)).any()
