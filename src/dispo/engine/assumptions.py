"""Per-row assumptions, SPEC 5.4 (investor rules) and 5.5 (an assumption as an input column).

Precedence, for each row: the row's own column > the investor's value (``data/investor_rules.csv``
for the row's ``investor_type``; a blank cell defers) > the pipeline's ``[assumptions]`` > the
built-in default (``data/assumptions.toml``). The last two are already merged in
:class:`~dispo.params.Assumptions`.

Cheap by construction: an assumption becomes a column of the wide frame only when the input has its
column or an investor value can apply (``investor_type`` given in the input or the pipeline's
``[defaults]``); every other assumption stays a float, and ``engine/graph.py`` passes a rule the
column when there is one, else the float (a parameter is resolved to a column first).
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

import polars as pl

from dispo import params, schema
from dispo.params import Assumptions

#: Where an assumption's value came from (SPEC 5.5), as ``dispo explain`` says it.
ROW, INVESTOR, PIPELINE, DEFAULT = "row", "investor", "pipeline", "default"


def per_row_names(given: Collection[str], cfg: Mapping[str, Any]) -> frozenset[str]:
    """The assumptions that need a column: those given as input columns, and the investor's four
    when an investor_type may apply."""
    names = {c.name for c in schema.ASSUMPTION_COLUMNS if c.name in given}
    if "investor_type" in given or cfg.get("investor_type") is not None:
        names |= set(params.INVESTOR_ASSUMPTIONS)
    return frozenset(names)


def row_value_columns(columns: Collection[str]) -> list[str]:
    """The columns of ``columns`` whose values decide which per-row assumption columns a run's
    results carry (:func:`without_row_value`): the per-row assumption columns and investor_type."""
    return [c for c in columns if c in schema.ASSUMPTION_NAMES or c == "investor_type"]


def without_row_value(counts: Mapping[str, int], rows: int, cfg: Mapping[str, Any]) -> frozenset[str]:
    """SPEC 5.5, decided once per run: the per-row assumption columns its results leave out. An
    input column (a generated or template file carries every schema column) with no value in any
    accepted row gives no row value: left out, unless it holds an investor's value (SPEC 5.4:
    investor_type has a value in some row, or the pipeline's ``[defaults]`` sets it). ``counts``:
    non-null values of each :func:`row_value_columns` column over the run's ``rows`` accepted rows
    (one aggregate: a local run's over its validated table, a Spark run's on the driver), so the
    decision is the same whether the run is evaluated whole, in batches or in partitions; the
    values computed do not depend on it (a null cell resolves to the investor's or the pipeline's
    value). No rows: nothing is left out (the empty results keep their columns)."""
    if rows == 0:
        return frozenset()
    valued = {c for c, n in counts.items() if n}
    investor = "investor_type" in valued or cfg.get("investor_type") is not None
    return frozenset(c for c in counts if c in schema.ASSUMPTION_NAMES and c not in valued
                     and not (investor and c in params.INVESTOR_ASSUMPTIONS))


def investor_value(name: str, investor_type: pl.Expr) -> pl.Expr:
    """SPEC 5.4: the investor_rules.csv value of ``name`` for the row's investor_type; null for no
    investor_type, an unknown one (rejected before the engine) or a blank cell."""
    table = params.investor_rules()
    index = investor_type.replace_strict(table["investor_type"], pl.int_range(table.height, dtype=pl.UInt32,
                                                                               eager=True),
                                         default=None, return_dtype=pl.UInt32)
    return pl.lit(table[name]).gather(index)


def resolved(name: str, assumptions: Assumptions, given: Collection[str], investor: bool,
             cfg: Mapping[str, Any]) -> pl.Expr:
    """SPEC 5.5: coalesce(row column, investor value, pipeline/default value) for one assumption
    (Float64; a switch as 1.0/0.0, as ``params.Assumptions`` holds it)."""
    dtype = pl.Float64
    levels = []
    if name in given:
        levels.append(pl.col(name).cast(dtype))
    if investor and name in params.INVESTOR_ASSUMPTIONS:
        investor_type = pl.col("investor_type").fill_null(pl.lit(cfg.get("investor_type"), dtype=pl.String))
        levels.append(investor_value(name, investor_type).cast(dtype))
    levels.append(pl.lit(assumptions[name], dtype=dtype))
    return pl.coalesce(levels).alias(name)


def resolve(frame: pl.LazyFrame, assumptions: Assumptions, *, given: Collection[str],
            cfg: Mapping[str, Any]) -> pl.LazyFrame:
    """The frame with each per-row assumption's resolved column (replacing the input column of that
    name). ``given``: the input's columns. The other assumptions get no column."""
    names = per_row_names(given, cfg)
    if not names:
        return frame
    investor = "investor_type" in given or cfg.get("investor_type") is not None
    return frame.with_columns(resolved(n, assumptions, given, investor, cfg) for n in sorted(names))


def assumption_sources(row: Mapping[str, Any], assumptions: Assumptions) -> dict[str, str]:
    """SPEC 5.5 for ``dispo explain``: for each assumption, the level that supplied this row's
    value (row, investor <type>, pipeline or default), for the per-row assumptions (5.5). ``row``:
    the input row (investor_type after defaults); a value equal to the investor's is the
    investor's (after a run, results hold each row's resolved value)."""
    rules = {r["investor_type"]: r for r in params.investor_rules().to_dicts()}
    investor = rules.get(row.get("investor_type") or "")
    changed = assumptions.overrides()
    out = {}
    for name in params.assumption_specs():
        if name in schema.NOT_PER_ROW_ASSUMPTIONS:
            continue
        own = row.get(name)
        from_investor = investor.get(name) if investor is not None else None
        if own is not None and own != from_investor:
            out[name] = ROW
        elif from_investor is not None:
            out[name] = f"{INVESTOR} {row['investor_type']}"
        elif name in changed:
            out[name] = PIPELINE
        else:
            out[name] = DEFAULT
    return out


HELPERS = (investor_value, resolved)
