"""The code's layout rules, checked on the source (no imports executed).

* no import cycles between the project's modules, counting imports inside functions (lazy imports
  are still dependencies: they only hide the cycle from Python's import machinery);
* no library module over 700 lines (a bigger one mixes jobs: split it by reason to change);
* the core (``gymdata``) imports no edge package (``importers``, ``exporters``, ``annotators``,
  ``baselines``), not even lazily: it reaches them through :mod:`gymdata.registry`;
* ``baselines`` reads training data through the core, never through an exporter module.

Items that other work in progress still fixes are listed as strict xfails below: each one turns the
test red the moment it is fixed, so the list is shortened (never silently outlived).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = "gymdata"
EDGES = ("importers", "exporters", "annotators", "baselines")
PACKAGES = (CORE, *EDGES)
MAX_LINES = 700

# Known violations still being fixed on other branches (issue 17). Remove an entry once its fix is
# merged: the strict xfail then fails, which is the reminder.
# A cycle is "known" while it contains one of these pairs.
KNOWN_CYCLES: dict[str, frozenset[str]] = {
}
KNOWN_LARGE: dict[str, str] = {}
KNOWN_CORE_EDGE_IMPORTS: dict[str, str] = {}
KNOWN_BASELINE_EXPORTER_IMPORTS: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the five packages."""
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module that ``name`` (a module or an attribute of one) lives in, if any."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, source_text: str | None = None, is_package: bool | None = None) -> set[str]:
    """Project modules imported by ``module`` anywhere in its source (top level or inside functions)."""
    path = MODULES.get(module)
    if source_text is None:
        source_text = path.read_text(encoding="utf-8")
    if is_package is None:
        is_package = path is not None and path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(source_text)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import mod` depends on the submodule, `from mod import name` on the module.
            targets = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target)
            if resolved and resolved != module:
                found.add(resolved)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        sccs.append(frozenset(component))
    return sccs


def _known(component: frozenset[str]) -> bool:
    return any(pair <= component for pair in KNOWN_CYCLES.values())


def _describe(component: frozenset[str]) -> str:
    """The component's modules and the imports that close it."""
    links = [f"{a} -> {b}" for a in sorted(component) for b in sorted(GRAPH[a] & component)]
    return "; ".join(links)


def test_the_import_scan_sees_every_kind_of_import():
    """Lazy, relative, `from pkg import mod` and attribute imports all count (else the rules are void)."""
    source = (
        "import gymdata.store\n"
        "from . import schema\n"
        "from .errors import GymdataError\n"
        "def f():\n"
        "    from exporters import torch_arrays\n"
        "    import baselines.counting as c\n"
        "    from importers.flex import command\n"
        "    import numpy\n"
    )
    assert _imports("gymdata.x", source, is_package=False) == {
        "gymdata.store", "gymdata.schema", "gymdata.errors", "exporters.torch_arrays", "baselines.counting",
        "importers.flex"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert len(MODULES) > 50 and "gymdata.store" in GRAPH["gymdata.cli"]


def test_no_import_cycles():
    unknown = [c for c in _cycles(GRAPH) if not _known(c)]
    assert not unknown, "import cycles:\n" + "\n".join(_describe(c) for c in unknown)


@pytest.mark.parametrize("name", sorted(KNOWN_CYCLES))
@pytest.mark.xfail(strict=True, reason="cycle still being removed on another branch")
def test_known_cycle_is_gone(name):
    pair = KNOWN_CYCLES[name]
    assert not any(pair <= c for c in _cycles(GRAPH)), _describe(next(c for c in _cycles(GRAPH) if pair <= c))


def _large() -> dict[str, int]:
    sizes = {}
    for path in MODULES.values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            sizes[path.relative_to(ROOT).as_posix()] = n
    return sizes


def test_no_module_over_700_lines():
    unknown = {p: n for p, n in _large().items() if p not in KNOWN_LARGE}
    assert not unknown, f"modules over {MAX_LINES} lines (split them by reason to change): {unknown}"


@pytest.mark.parametrize("path", sorted(KNOWN_LARGE))
@pytest.mark.xfail(strict=True, reason="module still being split on another branch")
def test_known_large_module_is_split(path):
    assert path not in _large(), f"{path}: {len((ROOT / path).read_text().splitlines())} lines"


def _imports_across(source: str, targets: tuple[str, ...]) -> dict[str, list[str]]:
    """Modules of package ``source`` that import modules of the ``targets`` packages, with those."""
    found = {m: sorted(t for t in GRAPH[m] if t.split(".")[0] in targets)
             for m in MODULES if m.split(".")[0] == source}
    return {m: t for m, t in found.items() if t}


# (rule, package, forbidden packages, known violations still being fixed)
LAYERING = {
    "the core imports no edge package (reach them through gymdata.registry)": (CORE, EDGES, KNOWN_CORE_EDGE_IMPORTS),
    "baselines import no exporter module (read training data through the core)":
        ("baselines", ("exporters",), KNOWN_BASELINE_EXPORTER_IMPORTS),
}


@pytest.mark.parametrize("rule", sorted(LAYERING))
def test_layering(rule):
    source, targets, known = LAYERING[rule]
    bad = {m: t for m, t in _imports_across(source, targets).items() if m not in known}
    assert not bad, f"{rule}: {bad}"


@pytest.mark.parametrize("rule,module", sorted((r, m) for r, (_, _, known) in LAYERING.items() for m in known))
@pytest.mark.xfail(strict=True, reason="import still being moved on another branch")
def test_known_layering_violation_is_gone(rule, module):
    source, targets, _ = LAYERING[rule]
    assert module not in _imports_across(source, targets)
