"""Where the twin's networks come from: SimBench codes, pandapower's example networks
and pandapower JSON files, loaded once per process and cached on disk.

Public names: :func:`build_network`, :func:`simbench_codes`, :func:`cache_dir`,
:func:`disk_cached`, :func:`cached_network`, :func:`load_simbench_net`,
:func:`import_pandapower_quietly`.

Imports: pandapower, simbench (lazily), :mod:`twin.errors`.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import PowerFlowError

if TYPE_CHECKING:
    import pandapower as pp_types

    from twin.scenario import GridSpec

logger = logging.getLogger(__name__)


def import_pandapower_quietly() -> Any:
    """``import pandapower`` with its import-time warnings silenced and its logger at
    ERROR (it logs every numba and lightsim2grid fallback)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower

        logging.getLogger("pandapower").setLevel(logging.ERROR)
    return pandapower


def cache_dir() -> Path | None:
    """Folder of the on-disk cache (``$GRIDTWIN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/gridtwin``, else ``~/.cache/gridtwin``); None when set to ``off``."""
    env = os.environ.get("GRIDTWIN_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in {"", "off", "0", "none"} else Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gridtwin"


def disk_cached(name: str, build: Any) -> Any:
    """``build()``, through a pickle file in :func:`cache_dir` keyed by ``name`` and the
    simbench, pandapower and pandas versions.

    simbench parses CSV files for every net (3 to 15 s, more on a busy machine) and
    importing it costs seconds more; a pickled net loads in about 0.1 s. A file that
    cannot be read is rebuilt; a cache that cannot be written is skipped.
    """
    import importlib.metadata
    import pickle

    folder = cache_dir()
    if folder is None:
        return build()
    versions = "-".join(
        importlib.metadata.version(p) for p in ("simbench", "pandapower", "pandas")
    )
    path = folder / f"{name}-{versions}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except Exception as exc:  # a truncated or stale file: rebuild it
            logger.info("cache file %s unreadable (%s); rebuilding", path, exc)
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:
        logger.info("cannot write cache file %s: %s", path, exc)
    return value


@functools.cache
def simbench_codes() -> frozenset[str]:
    """All SimBench codes the installed simbench package knows."""

    def build() -> frozenset[str]:
        import simbench

        return frozenset(simbench.collect_all_simbench_codes())

    return disk_cached("simbench-codes", build)


def load_simbench_net(code: str) -> Any:
    """A SimBench net with its profiles (``simbench.get_simbench_net``), disk-cached."""

    def build() -> Any:
        import simbench

        return simbench.get_simbench_net(code)

    import_pandapower_quietly()
    return disk_cached(f"simbench-{code}", build)


@functools.cache
def cached_network(key: tuple[str, str]) -> Any:
    """The network ``key = (source, name)`` ("simbench", code), ("pandapower", name) or
    ("file", path), loaded once per process; callers copy it before changing it."""
    source, name = key
    pp = import_pandapower_quietly()
    if source == "simbench":
        return load_simbench_net(name)
    if source == "pandapower":
        import pandapower.networks as pn

        builders = {
            "cigre_lv": pn.create_cigre_network_lv,
            "cigre_mv": pn.create_cigre_network_mv,
            "cigre_mv_pv_wind": functools.partial(pn.create_cigre_network_mv, with_der="pv_wind"),
            "mv_oberrhein": pn.mv_oberrhein,
        }
        return builders[name]()
    return pp.from_json(name)


def build_network(spec: GridSpec) -> pp_types.pandapowerNet:
    """Build (a private copy of) the pandapower network a grid spec names.

    Networks are cached per process (a SimBench net takes seconds to load); each call
    returns a deep copy the caller may change.

    Raises
    ------
    PowerFlowError
        If the network cannot be loaded (unknown code, unreadable file).
    """
    if spec.source == "simbench":
        if spec.code not in simbench_codes():
            raise PowerFlowError(f"unknown SimBench code '{spec.code}'")
        key = ("simbench", spec.code)
    elif spec.source == "pandapower":
        key = ("pandapower", spec.network)
    else:
        path = Path(spec.path)
        if not path.is_file():
            raise PowerFlowError(f"network file '{spec.path}' not found")
        key = ("file", str(path.resolve()))
    try:
        net = cached_network(key)
    except Exception as exc:  # pandapower/simbench raise many types for a bad input
        raise PowerFlowError(f"cannot load network {key[1]!r}: {exc}") from None
    return copy.deepcopy(net)
