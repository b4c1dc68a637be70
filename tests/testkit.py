"""Shared test helpers (import as `from testkit import ...`): typed frames built from the schema,
golden data paths and the golden run, what `dispo explain` says of a column, the imports of a source file (parsed with
ast, not imported)."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Iterator

import polars as pl

from dispo import schema
from dispo.engine.defaults import POLARS_TYPES

AS_OF = date(2026, 11, 22)
DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"


def typed_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows of schema columns as a typed frame (missing optional columns stay absent)."""
    names = [c for c in schema.NAMES if any(c in r for r in rows)]
    return pl.DataFrame(
        [{c: r.get(c) for c in names} for r in rows],
        schema={c: POLARS_TYPES[schema.BY_NAME[c].dtype] for c in names},
    )


BASE_ROW = {
    "property_id": "P1", "state": "TX", "occupancy": "primary", "market_value": 300000.0,
    "purchase_price": 250000.0, "purchase_date": date(2015, 1, 1), "first_lien_balance": 200000.0,
}


def row(**kw) -> dict:
    """BASE_ROW with overrides."""
    return {**BASE_ROW, **kw}


def run_golden(out: Path) -> subprocess.CompletedProcess[str]:
    """``dispo run tests/data/golden/pipeline.toml --out OUT --quiet`` through the real CLI, in a
    subprocess; asserts exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "dispo.cli", "run", str(GOLDEN / "pipeline.toml"), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


#: Golden keys pending an issue not yet built, each with its reason (issue 16, the lender's
#: decision, made all of its keys pass: none is pending now).
PENDING: dict[tuple[str, str | None], str] = {}


def golden_pending(pid: str, key: str) -> str | None:
    """The reason a golden key is pending, or None."""
    return PENDING.get((pid, key)) or PENDING.get((pid, None))


def assert_explained(column: str, rule: str, words: str) -> None:
    """``dispo explain`` shows ``column`` under ``rule`` with a formula (harvested from the engine's
    docstring) that contains ``words``."""
    from dispo.explain import rule_for

    r = rule_for(column)
    assert r.rule == rule, (column, r.rule, rule)
    assert words in r.formula, (column, r.formula, words)


def imports_of(path: Path, package: str) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every import statement in ``path``, anywhere in it
    (inside functions too), relative imports resolved against ``package`` (the package the file is
    in, or itself for an ``__init__.py``): ``import a.b`` gives ("a.b", None), ``from a import b``
    ("a", "b")."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                yield base, alias.name, node.lineno
