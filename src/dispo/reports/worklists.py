"""The worklists of docs/spec.md section 7: the few columns a person acts on, ranked, with a ``reason``.

Declared once here (the column lists are docs/spec.md section 7's, in its order): the lender worklist
(rows with ``loss_mit_candidate``, ranked by ``lender_savings_vs_foreclosure`` desc, nulls last,
then ``property_id``) and the investor worklist (every row, ranked by ``sell_advantage_pv`` desc,
then ``property_id``). The pipeline's ``worklist_columns`` (extra input columns) are appended.

``reason`` is one plain-English sentence built from the row's own numbers: text formatting only,
as vectorized Polars string expressions (no per-row Python); it computes no money: every amount it
names is an engine output (e.g. ``mod_npv_gain`` for "worth $X more than not modifying").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import polars as pl

from dispo.errors import DispoError

Frame = pl.DataFrame | pl.LazyFrame

#: docs/spec.md section 7, "Lender worklist columns", in order.
LENDER_WORKLIST_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "address", "state", "occupancy", "investor_type", "months_delinquent",
    "days_to_foreclosure_sale", "urgent", "fc_referral_allowed", "market_value", "claim", "ltv",
    "lender_best_option", "lender_savings_vs_foreclosure", "pv_modification", "pv_no_modification",
    "pv_short_sale", "pv_deed_in_lieu", "pv_foreclosure", "mod_monthly_pi", "mod_payment_reduction",
    "p_redefault", "short_sale_offer", "min_acceptable_offer", "offer_status", "counter_offer",
    "borrower_best_option", "reason",
)
#: docs/spec.md section 7, "Investor worklist columns", in order.
INVESTOR_WORKLIST_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "address", "state", "occupancy", "market_value", "payoff", "equity",
    "hold_recommendation", "sell_advantage_pv", "equity_after_tax_now", "tax_sale_now", "fv_sell",
    "fv_hold", "breakeven_appreciation_rate", "breakeven_months", "monthly_burn",
    "cost_of_doing_nothing_annual", "reason",
)
#: Columns the reasons read besides the worklist's own.
LENDER_REASON_READS: tuple[str, ...] = ("mod_npv_gain",)
INVESTOR_REASON_READS: tuple[str, ...] = ("hold_months",)

PURPOSES = ("lender", "investor", "both")
MINUS = "\u2212"


@dataclass(frozen=True)
class Worklist:
    """One worklist: its file stem, columns, ranking key, row filter and the purpose it serves."""

    name: str
    purpose: str
    columns: tuple[str, ...]
    rank_by: str
    where: str | None
    reads: tuple[str, ...]

    def source_columns(self, extra: Sequence[str] = ()) -> list[str]:
        """The results columns this worklist is built from (no ``rank``/``reason``)."""
        wanted = (*self.columns, *self.reads, *extra, self.rank_by, *((self.where,) if self.where else ()))
        return [c for c in dict.fromkeys(wanted) if c not in ("rank", "reason")]

    def output_columns(self, extra: Sequence[str] = ()) -> list[str]:
        return list(dict.fromkeys((*self.columns, *extra)))


LENDER = Worklist("lender_worklist", "lender", LENDER_WORKLIST_COLUMNS, "lender_savings_vs_foreclosure",
                  "loss_mit_candidate", LENDER_REASON_READS)
INVESTOR = Worklist("investor_worklist", "investor", INVESTOR_WORKLIST_COLUMNS, "sell_advantage_pv", None,
                    INVESTOR_REASON_READS)
WORKLISTS: tuple[Worklist, ...] = (LENDER, INVESTOR)


def for_purpose(purpose: str) -> tuple[Worklist, ...]:
    """The worklists a run of ``purpose`` (lender | investor | both) writes (docs/spec.md section 7)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    return tuple(w for w in WORKLISTS if purpose in ("both", w.purpose))


# --- text pieces (vectorized) ----------------------------------------------------------------------

def _grouped(digits: pl.Expr) -> pl.Expr:
    """``1234567`` (text of a non-negative integer) as ``1,234,567``."""
    return digits.str.reverse().str.replace_all(r"(\d{3})", "${1},").str.reverse().str.strip_chars_start(",")


def _finite(expr: pl.Expr) -> pl.Expr:
    """``expr`` with NaN and infinities as null (a clause without its number is left out)."""
    value = expr.cast(pl.Float64)
    return pl.when(value.is_finite()).then(value)


def dollars(expr: pl.Expr) -> pl.Expr:
    """Money as whole dollars, ``$14,673`` / ``−$1,200`` (half away from zero); null stays null."""
    whole = _finite(expr).round(0, mode="half_away_from_zero")
    text = pl.concat_str(pl.lit("$"), _grouped(whole.abs().cast(pl.Int64).cast(pl.String)))
    return pl.when(whole < 0).then(pl.concat_str(pl.lit(MINUS), text)).otherwise(text)


def cents(expr: pl.Expr) -> pl.Expr:
    """Money to the cent, ``$1,578.83`` / ``−$3.10``; null stays null."""
    n = (_finite(expr) * 100).round(0, mode="half_away_from_zero")
    a = n.abs().cast(pl.Int64)
    text = pl.concat_str(pl.lit("$"), _grouped((a // 100).cast(pl.String)), pl.lit("."),
                         (a % 100).cast(pl.String).str.zfill(2))
    return pl.when(n < 0).then(pl.concat_str(pl.lit(MINUS), text)).otherwise(text)


def percent(expr: pl.Expr, decimals: int = 0) -> pl.Expr:
    """A decimal rate as ``27 %`` (``decimals`` places, ``−`` for negatives)."""
    pct = (_finite(expr) * 100).round(decimals, mode="half_away_from_zero")
    text = pct.abs().cast(pl.Decimal(38, decimals)).cast(pl.String) if decimals else \
        pct.abs().cast(pl.Int64).cast(pl.String)
    return pl.when(pct < 0).then(pl.concat_str(pl.lit(MINUS), text, pl.lit(" %"))) \
        .otherwise(pl.concat_str(text, pl.lit(" %")))


def _clauses(head: pl.Expr, *clauses: pl.Expr) -> pl.Expr:
    """``head: clause; clause`` with null clauses left out."""
    body = pl.concat_str(list(clauses), separator="; ", ignore_nulls=True)
    return pl.when(body.str.len_chars() > 0).then(pl.concat_str(head, pl.lit(": "), body)).otherwise(head)


def _text(*parts: pl.Expr | str) -> pl.Expr:
    """Concatenation that is null when any part is null (a clause needs all of its numbers)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


# --- the reasons --------------------------------------------------------------------------------------

_OPTION_WORDS = {"modification": "modify", "short_sale": "short sale", "payoff_sale": "payoff sale (not underwater)",
                 "deed_in_lieu": "deed-in-lieu", "foreclosure": "foreclose"}


def _offer_clause() -> pl.Expr:
    """L8: the offer in hand against the lender's minimum, or the minimum to ask for."""
    offer, minimum = pl.col("short_sale_offer"), pl.col("min_acceptable_offer")
    return (pl.when(pl.col("offer_status") == "accept")
            .then(_text("offer ", dollars(offer), " meets the minimum ", dollars(minimum)))
            .when(pl.col("offer_status") == "counter")
            .then(_text("counter at ", dollars(pl.col("counter_offer")), " (offer ", dollars(offer),
                        " is below the minimum ", dollars(minimum), ")"))
            .otherwise(_text("accept offers from ", dollars(minimum))))


def _deadline_clause() -> pl.Expr:
    days = pl.col("days_to_foreclosure_sale")
    return pl.when(pl.col("urgent").fill_null(False)).then(
        _text("foreclosure sale in ", days.cast(pl.Int64).cast(pl.String), " days"))


def lender_reason() -> pl.Expr:
    """``reason`` of a lender worklist row (docs/spec.md section 7), from L7's choice and its own numbers, e.g.
    "modify: worth $14,673 more than not modifying; payment −20 % to $1,578.83; 27 % redefault risk"."""
    best, savings = pl.col("lender_best_option"), pl.col("lender_savings_vs_foreclosure")
    change = -pl.col("mod_payment_reduction")  # M1: a positive reduction is a lower payment
    payment = pl.when(change > 0).then(pl.concat_str(pl.lit("+"), percent(change))).otherwise(percent(change))
    modify = _clauses(
        pl.lit("modify"),
        _text("worth ", dollars(pl.col("mod_npv_gain")), " more than not modifying"),
        _text("payment ", payment, " to ", cents(pl.col("mod_monthly_pi"))),
        _text(percent(pl.col("p_redefault")), " redefault risk"),
        _deadline_clause(),
    )
    liquidate = _clauses(
        best.replace_strict(_OPTION_WORDS, default=best, return_dtype=pl.String),
        _text(dollars(savings), " better than foreclosure"),
        pl.when(best == "short_sale").then(_offer_clause()),
        _deadline_clause(),
    )
    foreclose = _clauses(
        pl.lit("foreclose"),
        pl.when(savings.is_null()).then(pl.lit("no alternative is feasible or eligible"))
        .otherwise(_text("the best alternative is ", dollars(-savings), " worse")),
        pl.when(pl.col("fc_referral_allowed").not_()).then(pl.lit("not yet referable (Reg. X 120 days)")),
        _deadline_clause(),
    )
    return (pl.when(best == "modification").then(modify)
            .when(best == "foreclosure").then(foreclose)
            .when(best.is_not_null()).then(liquidate)
            .otherwise(pl.lit("no lender decision: no first lien")).alias("reason"))


def investor_reason() -> pl.Expr:
    """``reason`` of an investor worklist row (docs/spec.md section 7, H8/H9), e.g. "sell: $5,473 better than
    holding 60 months; holding needs 4.1 %/yr appreciation to break even"."""
    rec, advantage = pl.col("hold_recommendation"), pl.col("sell_advantage_pv")
    months = pl.col("hold_months").cast(pl.Int64).cast(pl.String)
    rate = _text(percent(pl.col("breakeven_appreciation_rate"), 1), "/yr appreciation")
    sell = _clauses(pl.lit("sell"), _text(dollars(advantage), " better than holding ", months, " months"),
                    _text("holding needs ", rate, " to break even"))
    hold = _clauses(pl.lit("hold"), _text(dollars(-advantage), " better than selling now, over ", months, " months"),
                    _text("holding breaks even down to ", rate))
    return (pl.when(rec == "sell").then(sell).when(rec == "hold").then(hold)
            .otherwise(pl.lit("no recommendation: missing figures")).alias("reason"))


REASONS = {LENDER.name: lender_reason, INVESTOR.name: investor_reason}


# --- building ------------------------------------------------------------------------------------------

def unranked(results: Frame, worklist: Worklist, extra: Sequence[str] = (), carry: Sequence[str] = ()) -> pl.LazyFrame:
    """The rows of ``worklist`` (its filter applied) with its columns and ``reason``, not yet
    ranked: what :func:`ranked` sorts; also what each batch of a run contributes (with ``carry``:
    columns kept after the worklist's, e.g. the row's output position)."""
    lf = results.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in worklist.source_columns(extra) if c not in names]
    if missing:
        raise KeyError(f"{worklist.name}: missing column(s) {', '.join(missing)}")
    lf = lf.select(*worklist.source_columns(extra), *carry)
    if worklist.where:
        lf = lf.filter(pl.col(worklist.where).fill_null(False))
    keep = [c for c in worklist.output_columns(extra) if c != "rank"]
    return lf.with_columns(REASONS[worklist.name]()).select(*keep, *carry)


def sort_key(schema: pl.Schema, by: str) -> pl.Expr:
    """The ranking key: ``by`` with NaN as null (nulls last in the sort)."""
    return pl.col(by).fill_nan(None) if schema[by].is_float() else pl.col(by)


def ranked(results: Frame, worklist: Worklist, extra: Sequence[str] = (), limit: int | None = None) -> pl.DataFrame:
    """``worklist`` of ``results``, ranked (``rank_by`` desc, nulls last, then property_id), with
    ``rank`` 1..n first; with ``limit`` only the first rows (a top-k sort)."""
    lf = unranked(results, worklist, extra)
    key = sort_key(lf.collect_schema(), worklist.rank_by)
    lf = lf.sort([key, pl.col("property_id")], descending=[True, False], nulls_last=True, maintain_order=True)
    if limit is not None:
        lf = lf.head(limit)
    out = lf.collect()
    return out.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"), pl.all())


def top(results: Frame, worklist: Worklist, extra: Sequence[str] = (), limit: int | None = None,
        built: Mapping[str, pl.LazyFrame] | None = None) -> pl.DataFrame:
    """:func:`ranked` with ``limit``, or, when ``built`` holds the worklist already written (a run's
    staged file, ranked, with its reasons), its first ``limit`` rows: nothing sorted twice."""
    if built is not None and worklist.name in built:
        lf = built[worklist.name]
        return (lf.head(limit) if limit is not None else lf).collect()
    return ranked(results, worklist, extra, limit=limit)


def check_extra_columns(results_columns: Iterable[str], extra: Sequence[str]) -> None:
    """``worklist_columns`` must name columns of the results (input columns after defaults)."""
    have = set(results_columns)
    missing = [c for c in extra if c not in have]
    if missing:
        raise DispoError(f"[pipeline] worklist_columns: no input column {', '.join(repr(c) for c in missing)}")
