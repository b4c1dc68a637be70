"""engine/graph.py: the wiring's structure (in the style of Tax-Calculator's calcfunctions tests):
one producer per output column, every parameter used, every read resolvable, no cycle."""

from __future__ import annotations

import ast
import inspect
import textwrap
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dispo import params, schema
from dispo.engine import graph
from testkit import imports_of

GRAPH = graph.build()
#: Columns of the wide frame before the graph runs: inputs after defaults, lineage, joined data.
SOURCES = (set(schema.NAMES) | set(schema.LINEAGE_COLUMNS) | set(params.state_frame().columns)
           | set(params.tax_param_frame().columns) | set(params.state_tax_frame().columns))
SCALARS = set(params.assumption_specs()) | {graph.AS_OF}


def _producers() -> list[graph.Node | graph.Step]:
    return GRAPH.nodes()


def test_graph_every_output_column_of_the_schema_has_exactly_one_producer():
    outputs = [c for c in (*schema.RESULT_OUTPUTS, *schema.TAX_OUTCOME_SOURCES) if c not in SOURCES]
    missing = [c for c in outputs if GRAPH.producer(c) is None]
    assert not missing
    made = [out for n in _producers() for out in (n.writes if isinstance(n, graph.Step) else (n.output,))]
    assert len(made) == len(set(made))
    assert not set(made) & SOURCES  # no rule overwrites an input, a joined fact or parameter


def test_graph_a_second_producer_of_a_column_is_refused():
    def debt(first_lien_balance: pl.Expr) -> pl.Expr:
        return first_lien_balance

    with pytest.raises(ValueError, match="column debt has two producers"):
        graph.Graph([*_producers(), graph.Node("debt", debt)])


def _used_names(fn) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    body = tree.body[0]
    return {n.id for stmt in body.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}


def test_graph_every_parameter_of_every_producer_is_used():
    functions = {id(n.fn): n.fn for n in _producers() if isinstance(n, graph.Node)}
    unused = {f"{fn.__module__}.{fn.__name__}": sorted(set(inspect.signature(fn).parameters) - _used_names(fn))
              for fn in functions.values()}
    assert {k: v for k, v in unused.items() if v} == {}


def test_graph_every_read_is_a_column_a_producer_or_a_scalar():
    unresolved = {}
    for n in _producers():
        reads = graph.reads_of(n)
        bad = [r for r in reads if GRAPH.producer(r) is None and r not in SOURCES and r not in SCALARS]
        if bad:
            unresolved[n.name if isinstance(n, graph.Step) else n.output] = bad
    assert unresolved == {}


def test_graph_has_no_cycle_and_orders_every_producer():
    layers = GRAPH.plan()
    placed = [n for layer in layers for n in (layer if isinstance(layer, list) else [layer])]
    assert len(placed) == len(_producers())
    seen: set[str] = set(SOURCES)
    for layer in layers:
        nodes = layer if isinstance(layer, list) else [layer]
        for n in nodes:  # each reads only what earlier layers (or the inputs) hold
            assert all(r in seen or r in SCALARS for r in graph.reads_of(n)), n
        for n in nodes:
            seen |= set(n.writes) if isinstance(n, graph.Step) else {n.output}


def test_graph_a_cycle_is_refused():
    def a(b: pl.Expr) -> pl.Expr:
        return b

    def b(a: pl.Expr) -> pl.Expr:
        return a

    with pytest.raises(ValueError, match="cycle"):
        graph.Graph([graph.Node("a", a), graph.Node("b", b)]).plan()


def test_graph_plan_prunes_to_the_producers_a_column_needs():
    needed = {n.output for layer in GRAPH.plan(["payoff"]) for n in layer}
    assert needed == {"payoff", "debt"}
    search = [layer for layer in GRAPH.plan(["breakeven_appreciation_rate"]) if isinstance(layer, graph.Step)]
    assert [s.name for s in search] == ["breakeven_search"]
    assert not any(isinstance(layer, graph.Step) for layer in GRAPH.plan(["lender_best_option"]))


def test_graph_a_parameter_reads_a_column_before_an_assumption():
    """SPEC 5.5: an assumption given per row is a column, and wins over the pipeline's scalar."""
    def relocation(occupancy: pl.Expr, relocation_assistance: pl.Expr | float) -> pl.Expr:
        return pl.when(occupancy == "primary").then(relocation_assistance).otherwise(0.0)

    frame = pl.LazyFrame({"occupancy": ["primary", "primary"], "relocation_assistance": [10.0, None]})
    g = graph.Graph([graph.Node("relocation", relocation)])
    as_column = g.apply(frame, as_of=date(2026, 1, 1), assumptions={"relocation_assistance": 3000.0}).collect()
    assert as_column["relocation"].to_list() == [10.0, None]
    as_scalar = g.apply(frame.drop("relocation_assistance"), as_of=date(2026, 1, 1),
                        assumptions={"relocation_assistance": 3000.0}).collect()
    assert as_scalar["relocation"].to_list() == [3000.0, 3000.0]


def test_graph_tax_does_not_import_lender():
    from dispo.engine import tax

    found = list(imports_of(Path(tax.__file__), "dispo.engine"))
    imported = {m for m, _, _ in found} | {f"{m}.{n}" for m, n, _ in found if n is not None}
    assert not {m for m in imported if m == "dispo.engine.lender" or m.startswith("dispo.engine.lender.")}
    assert "dispo.engine.shared" in imported  # the parse sees tax's own imports


def test_graph_families_are_declared_once():
    """v_/a_ of L1–L5, lender_loss_/lender_severity_ of L6, <d>_ of T4–T11: one function each."""
    fn_of = {c: GRAPH.producer(c).fn.__name__ for c in ("v_short_sale", "v_reo_sale", "a_dil", "lender_loss_foreclosure",
                                                       "sale_gain", "short_sale_gain", "horizon_sale_gain")}
    assert fn_of == {"v_short_sale": "discount_factor", "v_reo_sale": "discount_factor", "a_dil": "annuity_factor",
                     "lender_loss_foreclosure": "lender_loss", "sale_gain": "gain", "short_sale_gain": "gain",
                     "horizon_sale_gain": "gain"}
    # SPEC rev. 2: a deed-in-lieu's liens get FMV less the relocation, a foreclosure's FMV: each its own T3–T11
    assert GRAPH.producer("foreclosure_to_liens").bind["relocation"] is not None


def test_graph_h9_trial_sale_reads_only_columns():
    """H9's trial sale is built once (``graph.stages``), every name a column: an assumption it read
    as a scalar would have to be a column of the wide frame first (SPEC 5.5 per-row assumptions)."""
    from dispo.engine import hold

    made = {n.output for n in hold.BREAKEVEN_SALE_NODES}
    for n in hold.BREAKEVEN_SALE_NODES:
        assert all(r in made or r in SOURCES or GRAPH.producer(r) is not None for r in n.reads()), n.output
