"""The import graph between skmoe's modules: layering and no cycles.

Every module of skmoe is parsed with ``ast`` (nothing is imported), and every
``import`` / ``from ... import`` statement, at module level or inside a
function, absolute or relative, that names a skmoe module becomes an edge.
``from package import name`` is an edge to the submodule ``package.name``
when that is a module, else to the package's ``__init__``.  The implicit
import of a parent package (``skmoe.gating`` before ``skmoe.gating._softmax``)
is an edge only from outside that package: Python runs a package's
``__init__`` before any of its submodules, but from inside the package that
``__init__`` is already running.  So a submodule importing its sibling is no
cycle, a submodule importing its own package's ``__init__`` (which imports
the submodule back) is, and so is ``skmoe._base`` importing
``skmoe.sequence._features`` while ``skmoe.sequence``'s ``__init__`` imports a
module that imports ``skmoe._base``.  Imports under ``if TYPE_CHECKING:``
never run and are not edges.

The contract (design.md section 2: the data flows one way):

- ``skmoe._kernels`` imports nothing of skmoe outside ``_kernels``;
- ``skmoe._validation`` (when it exists) imports no estimator: only
  ``_kernels`` and ``exceptions``;
- ``import skmoe`` never imports torch;
- no module imports itself back through any chain of imports.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import skmoe

ROOT = Path(skmoe.__file__).parent


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
PACKAGES = {name for name, p in MODULES.items() if p.name == "__init__.py"}


def _is_type_checking(node):
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree):
    """Every Import / ImportFrom node, at any depth, except under TYPE_CHECKING."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name):
    """The skmoe module a dotted name refers to (the longest existing prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module):
    """``{imported skmoe module: first line}`` for one module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if module in PACKAGES else module.rpartition(".")[0]
    found = {}
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # from package import submodule -> the submodule; else the base.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for target in targets:
            if target.split(".")[0] != "skmoe":
                continue
            resolved = _resolve(target)
            if resolved is None:
                continue
            # Python runs every package __init__ above the target that is not
            # already being imported above this module.
            for target_module in (_ancestors(resolved) - _ancestors(module)) | {resolved}:
                if target_module != module:
                    found[target_module] = min(found.get(target_module, node.lineno), node.lineno)
    return found


def _ancestors(module):
    """The packages Python imports before ``module``: ``a.b.c`` -> ``{a, a.b}``."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


GRAPH = {module: _imports(module) for module in MODULES}


def _strongly_connected_components(graph):
    """Tarjan's algorithm (iterative), components in a deterministic order."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_cycle_through(graph, start, members):
    """A shortest import chain start -> ... -> start inside one component."""
    previous, frontier = {start: None}, [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    chain = [node]
                    while previous[chain[-1]] is not None:
                        chain.append(previous[chain[-1]])
                    return [start] + chain[::-1][1:] + [start] if node != start else [start, start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return None


def import_cycles(graph=GRAPH):
    """One shortest cycle per module that lies on a cycle, without repeats."""
    cycles = []
    for component in _strongly_connected_components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        seen = set()
        for start in component:
            cycle = _shortest_cycle_through(graph, start, members)
            key = frozenset(zip(cycle, cycle[1:], strict=False))
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


def _describe(cycle):
    steps = [
        f"{a} -> {b} (line {GRAPH[a][b]} of {MODULES[a].relative_to(ROOT.parent)})"
        for a, b in zip(cycle, cycle[1:], strict=False)
    ]
    return "\n    ".join(steps)


def test_graph_is_parsed():
    # The parser sees the imports we know of: a broken parser passes the
    # contract vacuously.
    assert "skmoe._regressor" in GRAPH["skmoe"]
    assert "skmoe.gating" in GRAPH["skmoe"]
    assert any(m.startswith("skmoe._kernels") for m in GRAPH["skmoe.experts._linear"])
    assert "skmoe.gating._softmax" in GRAPH["skmoe.gating"]


def test_kernels_import_only_kernels():
    bad = {
        module: sorted(t for t in targets if not t.startswith("skmoe._kernels"))
        for module, targets in GRAPH.items()
        if module.startswith("skmoe._kernels")
    }
    bad = {module: targets for module, targets in bad.items() if targets}
    assert not bad, f"_kernels must not know estimators exist: {bad}"


def test_validation_imports_no_estimator():
    assert "skmoe._validation" in GRAPH, "skmoe/_validation.py is missing"
    allowed = ("skmoe._kernels", "skmoe.exceptions", "skmoe._frame")
    bad = sorted(t for t in GRAPH["skmoe._validation"] if not t.startswith(allowed))
    assert not bad, f"skmoe._validation imports {bad}; it may import only {allowed}"


def test_import_skmoe_does_not_import_torch():
    code = (
        "import sys; import skmoe, skmoe.experts, skmoe.gating, skmoe.sequence, "
        "skmoe.neural, skmoe.datasets, skmoe.model_selection, skmoe.inspection; "
        "loaded = [m for m in ('torch',) if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles between skmoe modules:\n  " + "\n  ".join(
        _describe(cycle) for cycle in cycles
    )


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}, "e": {}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b": 1}, "b": {}}) == []


# Modules that ``import skmoe`` must not import: optional dependencies, the
# compiler (Numba is imported by the first kernel call, see skmoe._kernels)
# and the scikit-learn subpackages skmoe uses only in a fit (skmoe._lazy).
HEAVY = (
    "torch",
    "dask",
    "distributed",
    "matplotlib",
    "numba",
    "llvmlite",
    "sklearn.cluster",
    "sklearn.mixture",
    "scipy.stats",
    "pandas",
)


def test_import_skmoe_imports_nothing_heavy():
    # In a subprocess: after ``import sklearn``, ``import skmoe`` adds none of
    # HEAVY (scikit-learn may import scipy.stats or pandas itself: then they
    # are loaded before, and skmoe is not charged for them).
    code = (
        "import json, sys; import sklearn; before = set(sys.modules); import skmoe; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=120, capture_output=True, text=True
    )
    added = json.loads(out.stdout.strip().splitlines()[-1])
    bad = sorted(m for m in added if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert not bad, f"import skmoe imported {bad}"
    # And alone: none of the optional dependencies, no Numba.
    code = (
        "import sys; import skmoe; "
        "loaded = [m for m in ('torch', 'dask', 'matplotlib', 'numba') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_kernel_forwarders_name_real_kernels():
    # Every name skmoe._kernels forwards is defined by the module it names,
    # and the forwarder calls it (here: the first call imports the module).
    import importlib

    import numpy as np

    from skmoe import _kernels

    for name, module in _kernels._KERNEL_MODULES.items():
        defined = getattr(importlib.import_module(f"skmoe._kernels.{module}"), name, None)
        assert callable(defined), f"skmoe._kernels.{module} defines no {name}"
        assert _kernels.kernel(name) is defined
    w, A = np.array([1.0, 2.0]), np.array([[1.0, 3.0], [2.0, 5.0]])
    np.testing.assert_array_equal(_kernels.weighted_column_sums(w, A), [5.0, 13.0])
