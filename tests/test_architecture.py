"""The shape of the code: no import cycle, the exporter free of the simulator, short modules.

The graphs are read from the source with `ast`, so they see every module whether or not a test
imports it. The full graph holds every import: a cycle hidden behind `if TYPE_CHECKING:` or a
function-level import is still a cycle between the modules' designs. The import-time graph
holds only what runs when a module is imported: module level and class bodies, `try`/`if`
blocks included, but neither function bodies (lazy, as `--demo` is) nor `if TYPE_CHECKING:`
blocks. `from package import name` is an edge to the submodule `package.name` when there is
one, else to `package`, as Python resolves it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("exporter", "simulator")
MAX_LINES = 300
# Modules over the limit today, each with the length it may not grow past. Each is being split;
# an entry that is back under the limit fails the test below, so the list only ever shrinks.
OVERSIZED: dict[str, int] = {}

Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Map each module of the packages (the project's, unless named) to its file."""
    return {
        _module_name(path): path for package in packages for path in sorted((REPO / package).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Yield the statements that run on import: skip function bodies and TYPE_CHECKING blocks."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_time_nodes(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, [])
            yield from _import_time_nodes([child for child in children if isinstance(child, ast.stmt)])
            for handler in children:
                if isinstance(handler, ast.ExceptHandler):
                    yield from _import_time_nodes(handler.body)


def _all_nodes(tree: ast.Module) -> Iterator[ast.stmt]:
    """Yield every statement, in function bodies and TYPE_CHECKING blocks too."""
    return (node for node in ast.walk(tree) if isinstance(node, ast.stmt))


def _imported(node: ast.stmt, module: str, *, is_package: bool, known: set[str]) -> Iterator[str]:
    """Yield the project modules one import statement loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name in known)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolved against the importing module's package
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            target = f"{base}.{alias.name}"
            if target in known:
                yield target
            elif base in known:
                yield base


def import_graph(*, import_time_only: bool, packages: tuple[str, ...] = PACKAGES) -> Graph:
    """Map each module of the packages to the modules of theirs it imports (on import, or anywhere)."""
    sources = _sources(packages)
    known = set(sources)
    graph: Graph = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[module] = {
            target
            for node in (_import_time_nodes(tree.body) if import_time_only else _all_nodes(tree))
            for target in _imported(node, module, is_package=is_package, known=known)
            if target != module
        }
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """Return one import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start not in done and (cycle := _cycle_from(start, graph, done)):
            return cycle
    return None


def _cycle_from(start: str, graph: Graph, done: set[str]) -> list[str] | None:
    """Walk depth first from start (iteratively: no recursion limit); add finished modules to done."""
    path = [start]
    stack = [iter(sorted(graph[start]))]
    while stack:
        target = next(stack[-1], None)
        if target is None:
            done.add(path.pop())
            stack.pop()
        elif target in path:
            return [*path[path.index(target) :], target]
        elif target not in done:
            path.append(target)
            stack.append(iter(sorted(graph[target])))
    return None


class TestCycleFinder:
    """The cycle finder itself finds cycles, so a clean result below means something."""

    def test_finds_a_two_module_cycle(self) -> None:
        """A -> B -> A is reported, starting and ending at the same module."""
        assert find_cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]

    def test_finds_a_long_cycle_behind_an_acyclic_prefix(self) -> None:
        """Root -> a -> b -> c -> a is reported as the loop alone."""
        graph = {"root": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}
        assert find_cycle(graph) == ["a", "b", "c", "a"]

    def test_a_diamond_is_not_a_cycle(self) -> None:
        """Two paths to one module are fine."""
        assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None

    def test_type_checking_and_function_imports_are_not_edges(self) -> None:
        """Only imports that run on import count."""
        tree = ast.parse(
            "from typing import TYPE_CHECKING\nimport a\nif TYPE_CHECKING:\n    import b\n"
            "def f():\n    import c\ntry:\n    import d\nexcept ImportError:\n    import e\n"
        )
        found = {
            target
            for node in _import_time_nodes(tree.body)
            for target in _imported(node, "m", is_package=False, known={"a", "b", "c", "d", "e"})
        }
        assert found == {"a", "d", "e"}


class TestImportGraph:
    """The project's own modules."""

    def test_the_graph_covers_both_packages(self) -> None:
        """The graph sees the modules that wire each package together, with their edges."""
        graph = import_graph(import_time_only=True)
        assert "exporter.config" in graph["exporter.__main__"]
        assert "simulator.admin" in graph["simulator.core"]
        assert "simulator" in import_graph(import_time_only=False)["exporter.app"]  # --demo, lazily

    def test_no_import_cycle(self) -> None:
        """No chain of imports leads back to where it started, type-only and lazy imports included."""
        assert find_cycle(import_graph(import_time_only=False)) is None

    def test_the_exporter_never_imports_the_simulator_on_import(self) -> None:
        """Only the --demo path loads the simulator, lazily, inside a function."""
        graph = import_graph(import_time_only=True)
        offenders = {
            module: sorted(target for target in targets if target.split(".")[0] == "simulator")
            for module, targets in graph.items()
            if module.split(".")[0] == "exporter"
        }
        assert {module: targets for module, targets in offenders.items() if targets} == {}

    def test_the_simulator_never_imports_the_exporter(self) -> None:
        """The fake of the API stands alone: tests compare the exporter against an independent truth."""
        graph = import_graph(import_time_only=True)
        offenders = {
            module: sorted(target for target in targets if target.split(".")[0] == "exporter")
            for module, targets in graph.items()
            if module.split(".")[0] == "simulator"
        }
        assert {module: targets for module, targets in offenders.items() if targets} == {}

    def test_importing_every_exporter_module_loads_no_simulator_module(self) -> None:
        """A fresh interpreter that imports the whole exporter has no simulator module loaded."""
        modules = sorted(
            module for module in import_graph(import_time_only=True) if module.split(".")[0] == "exporter"
        )
        script = (
            "import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulator'))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
        )
        assert result.stdout.strip() == "[]"


def is_test_module(module: str) -> bool:
    """Say whether a module is one pytest collects: a file named test_*.py."""
    return module.rsplit(".", 1)[-1].startswith("test_")


def modules_importing_test_modules(graph: Graph) -> dict[str, list[str]]:
    """Map each module that imports a test module to those it imports."""
    found = {module: sorted(filter(is_test_module, targets)) for module, targets in graph.items()}
    return {module: targets for module, targets in found.items() if targets}


class TestTestModulesStandAlone:
    """No module of the tests imports a test module: shared helpers live in tests/support."""

    def test_the_rule_sees_absolute_relative_and_package_imports(self) -> None:
        """`from tests.test_a import x`, `from .test_a import x` and `from tests import test_a` all count."""
        known = {"tests", "tests.test_a", "tests.faults", "tests.faults.test_b", "tests.support.rig"}
        tree = ast.parse(
            "from tests.test_a import x\nfrom .test_b import y\nfrom tests import test_a\n"
            "from tests.support.rig import z\n"
        )
        found = {
            target
            for node in _all_nodes(tree)
            for target in _imported(node, "tests.faults.checks", is_package=False, known=known)
        }
        assert modules_importing_test_modules({"tests.faults.checks": found}) == {
            "tests.faults.checks": ["tests.faults.test_b", "tests.test_a"]
        }

    def test_no_module_of_the_tests_imports_a_test_module(self) -> None:
        """Every test module runs alone; a helper two test modules share moves to tests/support."""
        graph = import_graph(import_time_only=False, packages=("tests", "bench"))
        assert "tests.support.processes" in graph["tests.test_e2e_zerofirst"]
        assert modules_importing_test_modules(graph) == {}


class TestModuleLength:
    """No module in the packages is over 300 lines, bar the named ones being split."""

    def _lengths(self) -> dict[str, int]:
        return {
            str(path.relative_to(REPO)): len(path.read_text().splitlines()) for path in _sources().values()
        }

    def test_no_module_is_over_the_limit(self) -> None:
        """Every module outside the allow-list has at most 300 lines."""
        over = {path: n for path, n in self._lengths().items() if n > MAX_LINES and path not in OVERSIZED}
        assert over == {}, f"split these modules to {MAX_LINES} lines or fewer"

    def test_no_allowed_module_grows(self) -> None:
        """An allow-listed module stays at or under the length it had when it was listed."""
        lengths = self._lengths()
        grown = {path: lengths[path] for path, ceiling in OVERSIZED.items() if lengths.get(path, 0) > ceiling}
        assert grown == {}

    def test_the_allow_list_names_only_modules_still_over_the_limit(self) -> None:
        """Once a module is split below the limit (or gone), its entry must go too."""
        lengths = self._lengths()
        stale = sorted(path for path in OVERSIZED if lengths.get(path, 0) <= MAX_LINES)
        assert stale == [], "remove these from OVERSIZED"
