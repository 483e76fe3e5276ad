"""The shape of the code: no import circles, and no imports hidden inside functions.

The one-way rule between apps (alignment > funnel > scoring > leads > core) is import-linter's `layers`
contract in pyproject.toml, run by `lint-imports` in CI. import-linter has no contract for circles, so this
file builds the same graph with grimp (import-linter's own graph library) and looks for them itself.
These tests read source files only; they need no database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

APPS = ("core", "leads", "scoring", "funnel", "alignment")
ROOT = Path(__file__).resolve().parent.parent


def is_migration(module: str) -> bool:
    return ".migrations" in f"{module}."


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (and every module that imports itself), each
    sorted, migrations left out: a migration is a frozen snapshot that Django loads on its own."""
    modules = sorted(m for m in graph.modules if not is_migration(m))
    known = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & known) for m in modules}

    # Tarjan's algorithm, iterative so that a long chain of imports cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
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
                if len(component) > 1 or node in edges[node]:
                    cycles.append(sorted(component))
    return sorted(cycles)


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    members = set(component)
    lines = []
    for importer in component:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"l.{d['line_number']}" for d in details)
            lines.append(f"    {importer} -> {imported} ({where})")
    return "\n".join([f"  circle of {len(component)}: {', '.join(component)}", *lines])


def test_no_module_of_ours_imports_itself_round_a_circle():
    graph = grimp.build_graph(*APPS, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(describe(graph, c) for c in cycles)


def application_modules() -> list[Path]:
    """Every module of the apps except migrations (tests and bench live outside the apps)."""
    return sorted(
        path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts
    )


def first_party(node: ast.Import | ast.ImportFrom) -> str | None:
    """The import as written, when it names one of our apps (a relative import always does)."""
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        if node.level or module.split(".")[0] in APPS:
            return f"from {module} import {', '.join(alias.name for alias in node.names)}"
        return None
    ours = [alias.name for alias in node.names if alias.name.split(".")[0] in APPS]
    return f"import {', '.join(ours)}" if ours else None


def function_level_imports(path: Path, root: Path = ROOT) -> list[str]:
    """`path:line in function(): statement` for each first-party import inside a function body, except in
    an AppConfig's ready() in apps.py, the one place Django asks for late imports (signal receivers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []

    def visit(node: ast.AST, function: str | None, allowed: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                child_allowed = allowed or (
                    path.name == "apps.py" and child.name == "ready" and isinstance(node, ast.ClassDef)
                )
                visit(child, child.name if function is None else f"{function}.{child.name}", child_allowed)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                statement = first_party(child)
                if statement and function is not None and not allowed:
                    found.append(f"{path.relative_to(root)}:{child.lineno} in {function}(): {statement}")
            else:
                visit(child, function, allowed)

    visit(tree, None, False)
    return found


def test_first_party_imports_sit_at_module_level():
    """An import placed inside a function to dodge a circle is a sign the code is in the wrong room."""
    assert len(application_modules()) > 50  # the walk found the apps
    found = [line for path in application_modules() for line in function_level_imports(path)]
    assert not found, "imports inside functions:\n  " + "\n  ".join(found)


def test_the_checks_themselves_catch_what_they_look_for(tmp_path):
    """A guard against a check that silently passes: each one finds a planted violation."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}

    class Graph:
        modules = set(edges) | {"a.migrations.0001_x"}

        def find_modules_directly_imported_by(self, module):
            return edges.get(module, {"a"})

    assert import_cycles(Graph()) == [["a", "b", "c"], ["e"]]

    planted = tmp_path / "leads" / "apps.py"
    planted.parent.mkdir()
    planted.write_text(
        "import leads.models\n"
        "class LeadsConfig:\n"
        "    def ready(self):\n"
        "        import leads.receivers\n"
        "def helper():\n"
        "    from funnel import routing\n"
        "    import json\n"
        "    def inner():\n"
        "        from . import models\n"
    )
    assert function_level_imports(planted, root=tmp_path) == [
        "leads/apps.py:6 in helper(): from funnel import routing",
        "leads/apps.py:9 in helper.inner(): from . import models",
    ]
