"""The engine's wiring: each column is made by a function named after it, and the functions'
signatures order them (the Hamilton idea, in one small module).

How to add a rule
-----------------
1. In a rule module of ``dispo.engine`` (``shared``, ``tax``, ``lender``, ``hold`` or a new one:
   every module of the package except those in ``NOT_RULE_MODULES``), write a public function
   named after the column it produces, whose parameters are named after what it reads, returning
   a ``pl.Expr``; the docstring starts with the rule id and says the units::

       def claim(first_lien_balance: pl.Expr, arrears: pl.Expr) -> pl.Expr:
           \"\"\"L1: first_lien_balance + arrears, what the first lien is owed ($).\"\"\"
           return first_lien_balance + arrears

   Nothing else: ``build()`` finds it (module discovery), reads its signature and schedules it
   after the producers of its inputs, in one ``with_columns`` per layer. A parameter name is
   resolved, in this order, to a column of the wide frame (an input column after defaults, a
   per-row assumption column, a joined state fact or tax parameter, another rule's output), then
   ``as_of`` (the run's date), then an assumption of ``data/assumptions.toml`` (a float).
2. One formula for several columns (per disposition ``<d>_``, per lender option ``lender_loss_<x>``,
   per time ``v_<t>``/``a_<t>``, a rule reused with other inputs) is declared once, in the
   module's ``WIRING`` list, with ``node`` (one output, some parameters bound to other names) or
   ``family`` (one output per member). A function the module's ``WIRING`` uses is a template: it
   is not also a column of its own name (declare that ``node`` too if it should be).
3. A public function returning ``pl.Expr`` that makes no column (a helper of several rules, or of
   a search) goes in the module's ``HELPERS``.
4. ``tests/engine/test_graph.py`` checks the whole: every output column of the schema has exactly
   one producer, every parameter of every producer is used in its body, no cycle.

``dispo explain`` asks ``producer(column)`` which function made a column: its docstring is the
rule and the formula shown. An iterative algorithm (H9's root search) is a ``Step``: a frame
function with declared reads and writes, scheduled like a node.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import polars as pl

#: Modules of dispo.engine that hold no rules (helpers, the defaults stage, this wiring).
NOT_RULE_MODULES = frozenset({"graph", "dates", "numerics", "defaults"})
#: The scalar every rule may read besides columns and assumptions.
AS_OF = "as_of"

#: What a parameter reads: a name (column, ``as_of`` or assumption) or a constant expression.
Source = str | pl.Expr


@dataclass(frozen=True, eq=False)
class Node:
    """One output column: ``fn`` called with each parameter's source (``bind``; a parameter not in
    ``bind`` reads its own name). ``rule``: a rule id put before the function's own in ``dispo explain`` (``H6`` → ``H6/T4``)."""

    output: str
    fn: Callable[..., pl.Expr]
    bind: Mapping[str, Source] = field(default_factory=dict)
    rule: str = ""

    def __post_init__(self) -> None:  # the signature read once (inspect is slow, the plan asks often)
        sources = {p: self.bind.get(p, p) for p in inspect.signature(self.fn).parameters}
        reads = tuple(dict.fromkeys(s for s in sources.values() if isinstance(s, str)))
        object.__setattr__(self, "_sources", sources)
        object.__setattr__(self, "_reads", reads)

    def params(self) -> tuple[str, ...]:
        return tuple(self._sources)

    def sources(self) -> dict[str, Source]:
        """Parameter → what it reads."""
        return dict(self._sources)

    def reads(self) -> tuple[str, ...]:
        return self._reads

    def expr(self, columns: Collection[str] | None, scalars: Mapping[str, Any]) -> pl.Expr:
        """The column's expression: each parameter a ``pl.col`` when it names a column (in
        ``columns``; None: every name is one), else the scalar of that name."""
        args = {p: _argument(s, columns, scalars, self.output) for p, s in self._sources.items()}
        return self.fn(**args).alias(self.output)


def _argument(source: Source, columns: Collection[str] | None, scalars: Mapping[str, Any], output: str) -> Any:
    if not isinstance(source, str):
        return source
    if columns is None or source in columns:
        return pl.col(source)
    if source in scalars:
        return scalars[source]
    raise KeyError(f"{output} reads '{source}': no column, assumption or scalar of that name")


@dataclass(frozen=True, eq=False)
class Step:
    """A frame function for what is not one expression per column (H9's iterated root search):
    ``apply(frame, keep)`` adds ``writes`` from ``reads``; ``keep`` is the set of columns the rest
    of the evaluation still needs (None: all). ``explains`` maps each written column to the
    function whose docstring explains it."""

    name: str
    apply: Callable[[pl.LazyFrame, Collection[str] | None], pl.LazyFrame]
    reads: tuple[str, ...]
    explains: Mapping[str, Callable[..., Any]]
    rule: str = ""

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(self.explains)


def node(output: str, fn: Callable[..., pl.Expr], *, rule: str = "", **bind: Source) -> Node:
    """One column made by ``fn`` with some parameters reading other names:
    ``node("sec121_max_at_horizon", shared.sec121_max, months_held="months_held_at_horizon")``."""
    unknown = set(bind) - set(inspect.signature(fn).parameters)
    if unknown:
        raise TypeError(f"{output}: {fn.__name__} has no parameter {sorted(unknown)}")
    return Node(output, fn, dict(bind), rule)


def family(prefix: str, fns: Iterable[Callable[..., pl.Expr] | tuple[Callable[..., pl.Expr], Mapping[str, str]]], *,
           inputs: Mapping[str, Source] | None = None, local: Iterable[str] = (), rule: str = "",
           name: Callable[[str, str], str] = lambda prefix, q: f"{prefix}_{q}") -> list[Node]:
    """The quantities ``fns`` of one member of a family (a disposition, a sale of the hold engine),
    as columns ``name(prefix, quantity)`` (default ``<prefix>_<quantity>``).

    A parameter reads, in this order: ``inputs[p]`` (the member's own inputs, e.g. its amount
    realized), the member's column of that quantity when ``p`` is one of ``fns`` or ``local``
    (a function's own name excepted: ``qpri_limit(qpri_limit, …)`` reads the row's limit), else
    the row's column ``p``. A ``(fn, rename)`` pair first renames parameters of that function
    (``{"o2": "ordinary_income_after"}``)."""
    pairs = [f if isinstance(f, tuple) else (f, {}) for f in fns]
    inputs = dict(inputs or {})
    locals_ = {f.__name__ for f, _ in pairs} | set(local) | set(inputs)
    nodes = []
    for fn, rename in pairs:
        bind: dict[str, Source] = {}
        for p in inspect.signature(fn).parameters:
            q = rename.get(p, p)
            if q in inputs:
                bind[p] = inputs[q]
            elif q in locals_ and q != fn.__name__:
                bind[p] = name(prefix, q)
            elif q != p:
                bind[p] = q
        nodes.append(Node(name(prefix, fn.__name__), fn, bind, rule))
    return nodes


# --- discovery ------------------------------------------------------------------------------------

def rule_modules() -> list[Any]:
    """Every rule module of dispo.engine, in name order."""
    import dispo.engine as package

    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in NOT_RULE_MODULES)
    return [importlib.import_module(f"dispo.engine.{n}") for n in names]


def module_nodes(module: Any) -> list[Node | Step]:
    """The nodes of one module: each public function returning ``pl.Expr`` defined there as the
    column of its name, except the ``HELPERS`` and the templates its ``WIRING`` uses; then the
    ``WIRING``."""
    wiring = list(getattr(module, "WIRING", ()))
    skip = {f.__name__ for f in getattr(module, "HELPERS", ())}
    skip |= {n.fn.__name__ for n in wiring if isinstance(n, Node) and n.fn.__module__ == module.__name__}
    found: list[Node | Step] = []
    for name, fn in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or name in skip or fn.__module__ != module.__name__:
            continue
        if inspect.signature(fn).return_annotation in (pl.Expr, "pl.Expr"):
            found.append(Node(name, fn))
    return found + wiring


class Graph:
    """Producers by output column; ``plan`` orders the ones a set of columns needs."""

    def __init__(self, nodes: Iterable[Node | Step]):
        self._plans: dict[frozenset[str] | None, list[list[Node] | Step]] = {}
        self.producers: dict[str, Node | Step] = {}
        for n in nodes:
            for out in (n.writes if isinstance(n, Step) else (n.output,)):
                if out in self.producers:
                    raise ValueError(f"column {out} has two producers: {_label(self.producers[out])} "
                                     f"and {_label(n)}")
                self.producers[out] = n

    def producer(self, column: str) -> Node | Step | None:
        return self.producers.get(column)

    def nodes(self) -> list[Node | Step]:
        return list({id(n): n for n in self.producers.values()}.values())

    def needed(self, targets: Iterable[str] | None) -> list[Node | Step]:
        """The producers of ``targets`` (None: every column) and of everything they read."""
        if targets is None:
            return self.nodes()
        seen: dict[int, Node | Step] = {}
        stack = [self.producers[t] for t in targets if t in self.producers]
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen[id(n)] = n
            stack.extend(self.producers[r] for r in reads_of(n) if r in self.producers)
        return list(seen.values())

    def plan(self, targets: Iterable[str] | None = None) -> list[list[Node] | Step]:
        """Layers in order: a list of nodes (one ``with_columns``) or a step. A node's layer is one
        more than the deepest producer it reads; a step has a layer of its own, after the nodes of
        its level. Raises on a cycle. Plans are kept per set of targets."""
        key = None if targets is None else frozenset(targets)
        if key not in self._plans:
            self._plans[key] = self._plan(key)
        return list(self._plans[key])

    def _plan(self, targets: Collection[str] | None) -> list[list[Node] | Step]:
        chosen = self.needed(targets)
        level: dict[int, int] = {}
        visiting: set[int] = set()

        def depth(n: Node | Step) -> int:
            if id(n) in level:
                return level[id(n)]
            if id(n) in visiting:
                raise ValueError(f"cycle through {_label(n)}")
            visiting.add(id(n))
            level[id(n)] = 1 + max((depth(self.producers[r]) for r in reads_of(n) if r in self.producers),
                                   default=-1)
            visiting.discard(id(n))
            return level[id(n)]

        for n in chosen:
            depth(n)
        layers: list[list[Node] | Step] = []
        for lv in sorted(set(level[id(n)] for n in chosen)):
            at = [n for n in chosen if level[id(n)] == lv]
            exprs = [n for n in at if isinstance(n, Node)]
            if exprs:
                layers.append(exprs)
            layers.extend(n for n in at if isinstance(n, Step))
        return layers

    def apply(self, frame: pl.LazyFrame, *, as_of: date, assumptions: Mapping[str, Any] | Any,
              columns: Collection[str] | None = None) -> pl.LazyFrame:
        """Adds the producers' columns that ``columns`` need (None: every column), layer by layer."""
        scalars = {**_values(assumptions), AS_OF: as_of}
        layers = self.plan(columns)
        names = set(frame.collect_schema().names())
        for i, layer in enumerate(layers):
            if isinstance(layer, Step):
                keep = None if columns is None else set(columns) | _reads_after(layers[i + 1:])
                frame = layer.apply(frame, keep)
                names = set(frame.collect_schema().names())
                continue
            frame = frame.with_columns(n.expr(names, scalars) for n in layer)
            names |= {n.output for n in layer}
        return frame


def reads_of(n: Node | Step) -> tuple[str, ...]:
    """The names a node or step reads."""
    return n.reads if isinstance(n, Step) else n.reads()


def _reads_after(layers: list[list[Node] | Step]) -> set[str]:
    out: set[str] = set()
    for layer in layers:
        out |= set(layer.reads) if isinstance(layer, Step) else {r for n in layer for r in n.reads()}
    return out


def _values(assumptions: Any) -> Mapping[str, Any]:
    """The assumption values of a ``params.Assumptions`` or a plain mapping."""
    return assumptions if isinstance(assumptions, Mapping) else assumptions.values


def _label(n: Node | Step) -> str:
    if isinstance(n, Step):
        return f"step {n.name}"
    return f"{n.fn.__module__}.{n.fn.__name__}"


def stages(nodes: Iterable[Node]) -> list[dict[str, pl.Expr]]:
    """``nodes`` (a family outside the graph, e.g. the H9 search's trial sale; every name they read
    a column) as layers of expressions: apply each dict with one ``with_columns``."""
    return [{n.output: n.expr(None, {}) for n in layer} for layer in Graph(nodes).plan()
            if not isinstance(layer, Step)]


@cache
def build() -> Graph:
    """The engine's graph: every rule module's nodes."""
    return Graph(n for m in rule_modules() for n in module_nodes(m))


def producer(column: str) -> Node | Step | None:
    """The node (or step) that makes ``column`` of the wide frame; None for an input, a joined fact
    or parameter."""
    return build().producer(column)
