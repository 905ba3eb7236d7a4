"""Import rules of the architecture, checked over the source tree's syntax (no imports run).

The rules (docs/contracts.md, "Dependencies point one way"):

1. No module reads another module's private names: no ``obj._name`` where ``_name`` is
   not defined in the reading module, no ``getattr(obj, "_name")`` likewise, no
   ``from module import _name``. Attribute access on ``self``/``cls`` is the module's
   own business. Private names of third-party libraries are listed, each with its
   reason, in :data:`THIRD_PARTY_PRIVATE`.
2. ``solvers/`` never imports ``twin``.
3. ``gui/`` and ``app.py`` never import pandapower, simpy, qiskit (any ``qiskit*``),
   lightsim2grid, the solvers' simulators or the grid adapter: the app reads the results
   store and calls ``twin``'s public API.
4. ``twin/assets/`` never imports the controllers or the engine; comms and faults never
   import the engine; the store never imports the engine.

:data:`KNOWN_VIOLATIONS` lists what the tree still breaks today; it may only shrink: a
listed violation that no longer occurs fails the test too, so whoever removes one also
deletes its line.

Also checked here: ``import twin`` stays light (a fresh interpreter loads none of the
engine's libraries), and the size rules: a module of ``twin/``, ``solvers/`` or ``gui/``
over 600 lines says why in its docstring (a line starting "Why"), a function over 80
lines is split, except what :data:`KNOWN_LONG_MODULES` and :data:`KNOWN_LONG_FUNCTIONS`
list (both may only shrink).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

THIRD_PARTY_PRIVATE: dict[str, str] = {
    "_ppc": "pandapower keeps its internal case (bus/branch arrays the power-flow model "
    "reuses between steps) only as net._ppc; lightsim2grid's own backend reads it too",
    "_pd2ppc_lookups": "pandapower's element-to-internal-index lookup has no public "
    "accessor",
    "_options": "pandapower stores the options of the last runpp (needed to reuse its "
    "internal case) only as net._options",
}
"""Private attributes of third-party objects the tree may read, with the reason."""

KNOWN_VIOLATIONS: set[str] = set()
"""Violations the tree still has; remove a line when its violation is gone."""


@dataclass(frozen=True)
class Rule:
    """Modules under ``where`` (path prefixes) must not import ``forbidden`` prefixes."""

    where: tuple[str, ...]
    forbidden: tuple[str, ...]


RULES = (
    Rule(("solvers/",), ("twin",)),
    Rule(
        ("gui/", "app.py"),
        (
            "pandapower",
            "simpy",
            "qiskit",
            "lightsim2grid",
            "solvers.qaoa",
            "solvers.statevector",
            "solvers.lpfile",
            "twin.grid",
            "twin.engine",
        ),
    ),
    Rule(("twin/assets/",), ("twin.control", "twin.engine", "twin.run")),
    Rule(("twin/comms/", "twin/faults"), ("twin.engine", "twin.run")),
    Rule(
        ("twin/store/",),
        ("twin.engine", "twin.run"),
    ),
)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _own_private_names(tree: ast.AST) -> set[str]:
    """Private names a module defines itself (functions, classes, attributes, names)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            name = node.attr
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        elif isinstance(node, ast.arg):
            name = node.arg
        else:
            continue
        if _is_private(name):
            names.add(name)
    return names


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return []


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".") or (
        prefix == "qiskit" and module.startswith("qiskit")
    )


def violations_in(source: str, relpath: str) -> set[str]:
    """The rule violations of one module's source, as ``"path: kind detail"`` lines."""
    tree = ast.parse(source)
    own = _own_private_names(tree)
    found: set[str] = set()
    rules = [r for r in RULES if any(relpath.startswith(w) for w in r.where)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if node.attr in own or node.attr in THIRD_PARTY_PRIVATE:
                continue
            found.add(f"{relpath}: private-attr {ast.unparse(base)}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
            and node.args[1].value not in own
        ):
            found.add(
                f"{relpath}: private-getattr "
                f"{ast.unparse(node.args[0])}.{node.args[1].value}"
            )
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if _is_private(alias.name):
                    found.add(f"{relpath}: private-import {node.module}.{alias.name}")
        for module in _imported_modules(node):
            for rule in rules:
                for prefix in rule.forbidden:
                    if _matches(module, prefix):
                        found.add(f"{relpath}: forbidden-import {prefix}")
    return found


def tree_violations(root: Path) -> set[str]:
    """All violations of the project's source tree (twin/, solvers/, gui/, app.py)."""
    files = [p for d in ("twin", "solvers", "gui") for p in (root / d).rglob("*.py")]
    files.append(root / "app.py")
    found: set[str] = set()
    for path in files:
        if path.is_file():
            relpath = path.relative_to(root).as_posix()
            found |= violations_in(path.read_text(encoding="utf-8"), relpath)
    return found


def test_tree_keeps_the_import_rules() -> None:
    found = tree_violations(ROOT)
    new = sorted(found - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not new, "new architecture violations:\n" + "\n".join(new)
    assert not gone, (
        "fixed violations still listed in KNOWN_VIOLATIONS (delete these lines):\n"
        + "\n".join(gone)
    )


SYNTHETIC = {
    "twin/assets/fake.py": """
        import twin.engine
        from twin.assets.load import _add_rows
        def f(battery, self):
            return battery._setpoint_mw + getattr(battery, "_p_request") + self._x
    """,
    "solvers/fake.py": "from twin.scenario import Scenario\n",
    "gui/fake.py": "def page():\n    import pandapower as pp\n    import qiskit_aer\n",
    "twin/fake_ok.py": """
        class A:
            def __init__(self):
                self._x = 1
            def same(self, other):
                return other._x + self._x
        def use(net):
            return net._ppc
    """,
}


@pytest.mark.parametrize(
    ("relpath", "expected"),
    [
        (
            "twin/assets/fake.py",
            {
                "twin/assets/fake.py: forbidden-import twin.engine",
                "twin/assets/fake.py: private-import twin.assets.load._add_rows",
                "twin/assets/fake.py: private-attr battery._setpoint_mw",
                "twin/assets/fake.py: private-getattr battery._p_request",
            },
        ),
        ("solvers/fake.py", {"solvers/fake.py: forbidden-import twin"}),
        (
            "gui/fake.py",
            {
                "gui/fake.py: forbidden-import pandapower",
                "gui/fake.py: forbidden-import qiskit",
            },
        ),
        ("twin/fake_ok.py", set()),
    ],
)
def test_checker_catches_a_synthetic_violation(
    relpath: str, expected: set[str]
) -> None:
    assert violations_in(textwrap.dedent(SYNTHETIC[relpath]), relpath) == expected


def test_checker_fails_the_tree_when_a_module_breaks_a_rule(tmp_path: Path) -> None:
    """A synthetic tree: the same check as the real one reports the added module."""
    for relpath in ("twin/__init__.py", "solvers/__init__.py", "app.py"):
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text("")
    assert tree_violations(tmp_path) == set()
    (tmp_path / "solvers" / "bad.py").write_text("import twin.engine\n")
    assert tree_violations(tmp_path) == {"solvers/bad.py: forbidden-import twin"}


HEAVY_LIBRARIES = ("pandapower", "lightsim2grid", "qiskit", "simpy", "pandas", "scipy")
"""Libraries a bare ``import twin`` must not load (they cost seconds and belong to runs)."""


@pytest.mark.parametrize(
    ("statement", "heavy"),
    [
        ("import twin", HEAVY_LIBRARIES),
        ("import twin.store", ("pandapower", "lightsim2grid", "qiskit", "simpy")),
        ("import twin.scenario", ("pandapower", "lightsim2grid", "qiskit", "simpy")),
        ("from twin import ScenarioError, TwinError", HEAVY_LIBRARIES),
    ],
)
def test_importing_the_package_stays_light(statement: str, heavy: tuple[str, ...]) -> None:
    """``import twin`` (and so every ``import twin.<module>``, which runs the package's
    ``__init__`` first) loads neither the engine's libraries nor the solvers' simulators:
    the app's pages and the CLI's quick commands stay fast. Checked in a fresh
    interpreter; the public names still resolve on first use."""
    import subprocess
    import sys

    probe = (
        f"{statement}\nimport sys\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules "
        "or any(k.startswith(m + '.') for k in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, check=True, timeout=120)
    assert out.stdout.strip() == "", f"{statement!r} loaded {out.stdout.strip()}"


def test_lazy_public_names_resolve_to_their_modules() -> None:
    """Each public name of ``twin`` is the object its module defines."""
    import twin
    import twin.engine
    import twin.scenario
    import twin.store

    assert twin.run is twin.engine.run
    assert twin.RunResult is twin.engine.RunResult
    assert twin.Scenario is twin.scenario.Scenario
    assert twin.load_scenario is twin.scenario.load_scenario
    assert twin.open_run is twin.store.open_run
    assert twin.list_runs is twin.store.list_runs
    assert set(twin.__all__) <= set(dir(twin))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        twin.nope  # noqa: B018


# --------------------------------------------------------------------------- sizes

MAX_MODULE_LINES = 600
"""A module longer than this states why in its docstring, on a line starting "Why"."""

MAX_FUNCTION_LINES = 80
"""A function (or method) longer than this, docstring included, is split where its
pieces have names of their own, or listed in :data:`KNOWN_LONG_FUNCTIONS`."""

KNOWN_LONG_MODULES: set[str] = set()
"""Modules over :data:`MAX_MODULE_LINES` lines whose docstring does not yet say why;
the list may only shrink (split the module or add its "Why" line, then delete it here)."""

KNOWN_LONG_FUNCTIONS: set[str] = set()
"""Functions over :data:`MAX_FUNCTION_LINES` lines; the list may only shrink."""


def _qualified_functions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Every function and method of a module with its dotted name (``Class.method``,
    ``outer.inner``)."""
    found: list[tuple[str, ast.AST]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def size_violations_in(source: str, relpath: str) -> set[str]:
    """The size-rule violations of one module: ``"path: module N lines, no Why"`` and
    ``"path: qualname N lines"`` lines."""
    tree = ast.parse(source)
    found: set[str] = set()
    n_lines = len(source.splitlines())
    doc = ast.get_docstring(tree) or ""
    if n_lines > MAX_MODULE_LINES and not any(
        line.strip().startswith("Why") for line in doc.splitlines()
    ):
        found.add(f"{relpath}: module")
    for name, node in _qualified_functions(tree):
        if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:  # type: ignore[attr-defined]
            found.add(f"{relpath}: {name}")
    return found


def tree_size_violations(root: Path) -> set[str]:
    """Size-rule violations of twin/, solvers/ and gui/."""
    found: set[str] = set()
    for path in sorted(p for d in ("twin", "solvers", "gui") for p in (root / d).rglob("*.py")):
        found |= size_violations_in(path.read_text(encoding="utf-8"),
                                    path.relative_to(root).as_posix())
    return found


def test_tree_keeps_the_size_rules() -> None:
    """No module over 600 lines without a stated reason, no function over 80 lines,
    except the listed ones; a listed item that now fits fails too (delete its line)."""
    known = {f"{m}: module" for m in KNOWN_LONG_MODULES} | KNOWN_LONG_FUNCTIONS
    found = tree_size_violations(ROOT)
    new = sorted(found - known)
    gone = sorted(known - found)
    assert not new, ("modules over 600 lines need a 'Why' line in their docstring; "
                     "functions over 80 lines need splitting:\n" + "\n".join(new))
    assert not gone, "these now fit; delete them from the lists:\n" + "\n".join(gone)


def _synthetic_module(n_lines: int, docstring: str, function_lines: int) -> str:
    """A module of exactly ``n_lines`` lines with one function of ``function_lines``."""
    head = [f'"""{docstring}"""', "", "", "def f(x):"]
    head += [f"    x = x + {i}" for i in range(function_lines - 2)] + ["    return x", ""]
    text = "\n".join(head) + "\n"
    pad = n_lines - len(text.splitlines())
    assert pad >= 0
    return text + "".join(f"Y{i} = {i}\n" for i in range(pad))


@pytest.mark.parametrize(
    ("n_lines", "docstring", "function_lines", "expected"),
    [
        (601, "A module.", 10, {"twin/fake.py: module"}),
        (601, "A module.\n\nWhy one module: it is one state machine.", 10, set()),
        (600, "A module.", 10, set()),
        (200, "A module.", 81, {"twin/fake.py: f"}),
        (200, "A module.", 80, set()),
        (700, "A module.", 90, {"twin/fake.py: module", "twin/fake.py: f"}),
    ],
)
def test_size_rule_catches_a_synthetic_module(
    n_lines: int, docstring: str, function_lines: int, expected: set[str]
) -> None:
    source = _synthetic_module(n_lines, docstring, function_lines)
    assert len(source.splitlines()) == n_lines
    assert size_violations_in(source, "twin/fake.py") == expected


def test_size_rule_names_methods_and_fails_the_tree(tmp_path: Path) -> None:
    """A long method is reported by its class; a synthetic tree with one fails."""
    method = "\n".join(["class A:", "    def m(self):"] + ["        pass"] * 80) + "\n"
    assert size_violations_in(method, "solvers/fake.py") == {"solvers/fake.py: A.m"}
    (tmp_path / "solvers").mkdir()
    (tmp_path / "solvers" / "fake.py").write_text(method)
    assert tree_size_violations(tmp_path) == {"solvers/fake.py: A.m"}
