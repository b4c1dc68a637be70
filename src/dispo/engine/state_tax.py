"""State income tax of a disposition: rule T13 of docs/spec.md (an estimate at the state's marginal rates).

The rates of a row: its own ``state_tax_rate`` / ``state_ltcg_rate`` when given (each on its own),
else the rates of its state in ``data/state_tax.csv`` for its tax year (the table row with the
largest year <= tax_year, else the state's earliest; joined onto the wide frame as
``state_table_rate_ordinary``, ``state_table_rate_ltcg``, ``conforms_qpri`` and
``state_table_year`` by ``params.state_tax_frame``), or 0 when the assumption ``state_income_tax``
is false. The property's state stands for the taxing state (a resident of another state gets a
credit there); no local income taxes; the federal deduction of state tax (SALT) is not modelled.

Row-level columns here are graph nodes named after the function; the per-disposition quantities
(``cod_taxable_state``, ``state_ordinary``, ``state_tax``) are templates of ``tax.disposition``'s
family (``HELPERS`` here, so they are not also row columns of their own name). Rates are decimals,
money is in dollars.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dispo import params, schema
from dispo.engine import graph

#: The highest state rate a row can have (its own rates' bound or the table's highest): the most a
#: dollar of gain costs in state tax (H9 bounds the slope of the horizon sale's tax with it).
MAX_STATE_RATE: float = max(
    schema.BY_NAME["state_tax_rate"].max, schema.BY_NAME["state_ltcg_rate"].max,
    *(max(r["rate_ordinary"], r["rate_ltcg"]) for r in params.state_tax_rows()))
#: Where each rate of a row came from (``state_rate_source``).
FROM_ROW = "row"
SWITCHED_OFF = "off (state_income_tax = false)"


def _switched_on(state_income_tax: Any) -> pl.Expr:
    """The assumption as a boolean expression: a pipeline scalar (1.0 / 0.0) or a per-row column."""
    if isinstance(state_income_tax, pl.Expr):
        return state_income_tax.cast(pl.Boolean).fill_null(True)
    return pl.lit(bool(state_income_tax))


def state_rate_ordinary(state_tax_rate: pl.Expr, state_table_rate_ordinary: pl.Expr,
                        state_income_tax: Any) -> pl.Expr:
    """T13: the row's state_tax_rate if given, else its state's rate_ordinary in data/state_tax.csv
    for the tax year, or 0 when the assumption state_income_tax is false (rate)."""
    table = pl.when(_switched_on(state_income_tax)).then(state_table_rate_ordinary.fill_null(0.0)).otherwise(0.0)
    return state_tax_rate.fill_null(table)


def state_rate_ltcg(state_ltcg_rate: pl.Expr, state_table_rate_ltcg: pl.Expr, state_income_tax: Any) -> pl.Expr:
    """T13: the row's state_ltcg_rate if given, else its state's rate_ltcg in data/state_tax.csv for
    the tax year, or 0 when the assumption state_income_tax is false (rate)."""
    table = pl.when(_switched_on(state_income_tax)).then(state_table_rate_ltcg.fill_null(0.0)).otherwise(0.0)
    return state_ltcg_rate.fill_null(table)


def state_rate_source(state_tax_rate: pl.Expr, state_ltcg_rate: pl.Expr, state_income_tax: Any, state: pl.Expr,
                      state_table_year: pl.Expr) -> pl.Expr:
    """T13: where the two rates came from: ``row`` (the row's own state_tax_rate / state_ltcg_rate),
    ``data/state_tax.csv <state> <year>`` (the table row used) or ``off (state_income_tax = false)``;
    ``ordinary: …; ltcg: …`` when they differ (text)."""
    table = pl.format("data/state_tax.csv {} {}", state, state_table_year)
    default = pl.when(_switched_on(state_income_tax)).then(table).otherwise(pl.lit(SWITCHED_OFF))
    ordinary = pl.when(state_tax_rate.is_not_null()).then(pl.lit(FROM_ROW)).otherwise(default)
    ltcg = pl.when(state_ltcg_rate.is_not_null()).then(pl.lit(FROM_ROW)).otherwise(default)
    return pl.when(ordinary == ltcg).then(ordinary).otherwise(pl.format("ordinary: {}; ltcg: {}", ordinary, ltcg))


# --- per disposition (templates of tax.disposition's family) ----------------------------------------

def cod_taxable_state(cod_taxable: pl.Expr, cod_excluded_qpri: pl.Expr, conforms_qpri: pl.Expr) -> pl.Expr:
    """T13: the cancelled debt the state taxes: cod_taxable, plus cod_excluded_qpri where the state
    does not follow the federal QPRI exclusion (conforms_qpri false) ($)."""
    return pl.when(conforms_qpri.fill_null(True)).then(cod_taxable).otherwise(cod_taxable + cod_excluded_qpri)


def state_ordinary(other_taxable_income: pl.Expr, cod_taxable_state: pl.Expr, stcg: pl.Expr,
                   unrecaptured_1250: pl.Expr, deductible_loss: pl.Expr, released_passive_losses: pl.Expr) -> pl.Expr:
    """T13: max(−other_taxable_income, cod_taxable_state + stcg + u − deductible_loss − P): the
    disposition's income the state taxes at its ordinary rate (the §1250 gain included: states
    have no 25 % rate); a loss saves no more than the other income ($)."""
    return pl.max_horizontal(-other_taxable_income,
                             cod_taxable_state + stcg + unrecaptured_1250 - deductible_loss - released_passive_losses)


def state_tax(state_rate_ordinary: pl.Expr, state_ordinary: pl.Expr, state_rate_ltcg: pl.Expr,
              ltcg: pl.Expr) -> pl.Expr:
    """T13: rate_ordinary·state_ordinary + rate_ltcg·ltcg ($; negative when a loss saves state tax)."""
    return state_rate_ordinary * state_ordinary + state_rate_ltcg * ltcg


def disposition_state_rate(state_rate: pl.Expr) -> pl.Expr:
    """T12/T13: the row's state rate, carried beside each disposition's quantities for tax_outcomes
    (rate)."""
    return state_rate


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

HELPERS = (cod_taxable_state, state_ordinary, state_tax)

#: T12: tax_outcomes carries the row's rates beside each disposition's quantities (``<d>_`` columns).
WIRING = [
    graph.node(f"{d}_{rate}", disposition_state_rate, state_rate=rate)
    for d in schema.DISPOSITIONS for rate in ("state_rate_ordinary", "state_rate_ltcg")
]
