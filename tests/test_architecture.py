"""Import structure of src/dispo (issue 14 item 2; BRIEF "Imports run one way"): parsed with ast, not
imported, so every import counts, including those inside functions.

A *unit* is ``dispo.<first component>`` (a module such as ``dispo.schema`` or a package such as
``dispo.engine``); the root package ``dispo`` is a unit of its own (the Python API facade). Layers,
top to bottom: cli -> run -> spark -> reports/store -> engine -> schema/params, with validate/ingest
beside the engine and errors/cells/frames at the bottom.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit import imports_of

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(SRC).with_suffix("").parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


MODULES = {_module_name(p): p for p in sorted((SRC / "dispo").rglob("*.py"))}


def unit(module: str) -> str:
    """``dispo.engine.tax`` -> ``dispo.engine``; ``dispo`` stays ``dispo``."""
    return ".".join(module.split(".")[:2])


def _imports(module: str, path: Path):
    """(imported module, imported name or None, line) of every import in ``path``."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for base, name, line in imports_of(path, package):
        submodule = f"{base}.{name}"
        # ``from dispo import schema`` imports the module dispo.schema, not the root package
        yield (submodule, None, line) if name is not None and submodule in MODULES else (base, name, line)


def import_edges(modules: dict[str, Path] = MODULES) -> list[tuple[str, str, str | None, str]]:
    """(importing module, imported module, imported name, "file:line") for imports across units."""
    edges = []
    for module, path in modules.items():
        for target, name, line in _imports(module, path):
            if target in modules and unit(target) != unit(module):
                where = path.relative_to(SRC.parent) if path.is_relative_to(SRC.parent) else path.name
                edges.append((module, target, name, f"{where}:{line}"))
    return edges


def unit_graph(edges) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for source, target, _, _ in edges:
        graph.setdefault(unit(source), set()).add(unit(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every unit that reaches itself, with the path (depth-first from each unit)."""
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(path + [start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


EDGES = import_edges()
GRAPH = unit_graph(EDGES)

#: What each lower unit may import (besides its own modules): the layering that holds today.
ALLOWED = {
    "dispo.errors": set(),
    "dispo.cells": set(),
    "dispo.frames": set(),
    "dispo.params": set(),
    "dispo.prefork": set(),
    "dispo.schema": {"dispo.params"},
    "dispo.engine": {"dispo.schema", "dispo.params", "dispo.errors"},
    "dispo.ingest": {"dispo.schema", "dispo.params", "dispo.errors", "dispo.cells"},
    "dispo.validate": {"dispo.schema", "dispo.params", "dispo.errors", "dispo.cells", "dispo.ingest",
                       "dispo.frames", "dispo.prefork"},
}
#: Units nothing inside dispo may import, per importer ("*": everyone).
FORBIDDEN = {
    "*": {"dispo.cli"},
    "dispo.reports": {"dispo.engine", "dispo.run", "dispo.spark", "dispo.store", "dispo.validate",
                      "dispo.api"},
    "dispo.spark": {"dispo.run", "dispo.api"},
    "dispo.store": {"dispo.run", "dispo.spark", "dispo.engine"},
}


def layer_violations(edges) -> list[str]:
    bad = []
    for source, target, _, where in edges:
        src, dst = unit(source), unit(target)
        if src in ALLOWED and dst not in ALLOWED[src]:
            bad.append(f"{where}: {source} imports {target} ({src} may import only {sorted(ALLOWED[src])})")
        if dst in FORBIDDEN["*"] | FORBIDDEN.get(src, set()):
            bad.append(f"{where}: {source} imports {target} (a higher layer)")
    return bad


def private_imports(edges) -> list[str]:
    return [f"{where}: {source} imports {name} from {target}" for source, target, name, where in edges
            if name and name.startswith("_") and not name.startswith("__")]


def test_the_walk_sees_the_known_structure():
    # the checks below are only as good as the parse: the engine reads schema, run reads validate
    assert {"dispo.schema", "dispo.params"} <= GRAPH["dispo.engine"]
    assert {"dispo.engine", "dispo.validate", "dispo.reports"} <= GRAPH["dispo.run"]
    assert "dispo.run" in GRAPH["dispo.cli"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"], ["b", "c", "a", "b"],
                                                          ["c", "a", "b", "c"]]


def test_no_import_cycle_between_units():
    assert cycles(GRAPH) == []


def test_no_unit_imports_another_units_private_name():
    assert private_imports(EDGES) == []


def test_imports_run_one_way_down_the_layers():
    assert layer_violations(EDGES) == []


@pytest.mark.parametrize("importer, source, message", [
    ("dispo.engine.tax", "from dispo.run import run_pipeline\n", "dispo.engine may import only"),
    ("dispo.schema", "import dispo.validate\n", "dispo.schema may import only"),
    ("dispo.reports.html", "from dispo.engine import evaluate\n", "a higher layer"),
    ("dispo.spark.runner", "from dispo import run\n", "a higher layer"),
    ("dispo.store", "from dispo.cli import app\n", "a higher layer"),
])
def test_a_bad_import_is_caught(tmp_path, importer, source, message):
    path = tmp_path / "bad.py"
    path.write_text(source)
    edges = [e for e in import_edges({**MODULES, importer: path}) if e[0] == importer]
    assert [v for v in layer_violations(edges) if message in v] != []


def test_a_private_import_and_a_cycle_are_caught(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from dispo.engine import _secret\nfrom dispo.cli import app\n")
    edges = import_edges({**MODULES, "dispo.schema": path})
    assert private_imports([e for e in edges if e[0] == "dispo.schema"]) == [
        "bad.py:1: dispo.schema imports _secret from dispo.engine"]
    # dispo.cli imports dispo.schema, so schema -> cli closes a circle
    assert [c for c in cycles(unit_graph(edges)) if c[0] == "dispo.schema" and c[1] == "dispo.cli"] != []
