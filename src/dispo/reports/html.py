"""report.html: one self-contained page a person reads (docs/spec.md section 7).

Self-contained: the CSS is inline, the charts are inline SVG (:mod:`dispo.reports.svg`), and one
small inline script (templates/worklist.js) sorts and filters the worklist tables; the page's
Content-Security-Policy allows that script by its hash and no other, and forbids any network
request. Without JavaScript the top rows of each worklist are plain HTML. Every string from the
data (ids, addresses, reasons, file names, states) goes through Jinja2 with autoescaping on, or,
for the script's data, JSON with ``<``, ``>``, ``&`` escaped, and the script writes cells with
``textContent``: ``<script>`` in an address is shown as text, never run.

Sections: run summary (rows, rejects by reason, as_of, the assumptions and ``[defaults]`` that
differ from the defaults, links to the other outputs and to the validation's Data Docs); lender
(top candidates, recovery by option, distribution of savings, candidates by state); investor
(holdings ranked, sell/hold split, distribution of break-even months, the sell advantage of the
strongest sells and holds); tax (cancelled debt and gain by disposition, taxable parts); rejects
with every reason.

Fast for big runs: every figure is an aggregate computed in Polars; tables show the top
``top_n`` rows of the worklists only (ranked as lender_worklist.csv and investor_worklist.csv are).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from pathlib import Path
from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

import dispo
from dispo import params, schema
from dispo.reports import svg, views, worklists
from dispo.reports.csv_safe import round_money

REPORT_NAME = "report.html"
TOP_N = 25
#: Worklist rows the page carries for its inline sort and filter (the first ones; every row is in
#: the worklist files): enough to find any property a person is working on in a night's list.
EMBEDDED_ROWS = 2_000
#: The inline script (sort and filter of the worklist tables), allowed by its hash in the page's
#: Content-Security-Policy: no other script can run, nothing is fetched.
SCRIPT = (Path(__file__).parent / "templates" / "worklist.js").read_text(encoding="utf-8")
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
REJECTS_SHOWN = 100
HISTOGRAM_BINS = 20

#: Columns of the lender worklist shown on the page (the decision's numbers: they fit 1400 px).
HTML_LENDER_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "state", "lender_best_option", "lender_savings_vs_foreclosure",
    "min_acceptable_offer", "offer_status", "days_to_foreclosure_sale", "reason",
)
HTML_INVESTOR_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "state", "occupancy", "hold_recommendation", "sell_advantage_pv",
    "equity_after_tax_now", "breakeven_appreciation_rate", "reason",
)
#: Other outputs of the run the page links to (relative links; shown when the file is listed).
LINKED_FILES: tuple[tuple[str, str], ...] = (
    ("report.xlsx", "start here: the worklists and rejects as a workbook"),
    ("lender_worklist.csv", "every loss-mitigation candidate, ranked, with its reason"),
    ("lender_worklist.parquet", "the lender worklist for programs"),
    ("investor_worklist.csv", "every holding, ranked, with its reason"),
    ("investor_worklist.parquet", "the investor worklist for programs"),
    ("rejects.csv", "every rejected row with its reasons and raw values"),
    ("results.parquet", "every accepted row with every output, full precision"),
    ("tax_outcomes.parquet", "4 rows per property: the tax outcome of each disposition"),
    ("results.csv", "results as CSV (money in cents)"),
    ("tax_outcomes.csv", "tax outcomes as CSV (money in cents)"),
    ("summary.json", "counts, totals, timings, versions, config digest"),
)


# --- formatting ---------------------------------------------------------------------------------

MINUS = "\u2212"


def fmt_money(v: float | None) -> str:
    """$1,234.56 (v already rounded to cents); −$12.00; empty for null."""
    if v is None:
        return ""
    if not math.isfinite(v):
        return str(v)
    return f"{MINUS if v < 0 else ''}${abs(v):,.2f}"


def fmt_money_short(v: float) -> str:
    """Axis/tooltip money: $1.2M, $35k, $950."""
    if not math.isfinite(v):
        return str(v)
    a, sign = abs(v), MINUS if v < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:.1f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e4:
        return f"{sign}${a / 1e3:.0f}k"
    return f"{sign}${a:,.0f}"


def fmt_rate(v: float | None) -> str:
    if v is None:
        return ""
    if not math.isfinite(v):
        return str(v)
    return f"{v * 100:.2f} %".replace("-", MINUS)


def fmt_number(v: float | int | None, decimals: int = 0) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:,.{decimals}f}".replace("-", MINUS)


def fmt_months(v: float | None) -> str:
    return fmt_number(v, 1)


def _fmt_cell(kind: views.Kind, v: Any) -> str:
    if v is None:
        return ""
    if kind == "money":
        return fmt_money(v)
    if kind == "rate":
        return fmt_rate(v)
    if kind == "months":
        return fmt_months(v)
    if kind in ("int", "float"):
        return fmt_number(v, 0 if kind == "int" else 2)
    if kind == "bool":
        return "yes" if v else "no"
    if kind == "date":
        return v.isoformat() if isinstance(v, (date, datetime)) else str(v)
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v if x is not None)
    return str(v)


def display_table(frame: pl.DataFrame) -> dict[str, Any]:
    """``{"columns": [...], "numeric": [...], "rows": [[text, ...], ...]}`` for the template: money
    rounded to cents (csv_safe.round_money) and formatted; text left as text (Jinja escapes it)."""
    kinds = [views.column_kind(n, t) for n, t in frame.schema.items()]
    rounded = frame.with_columns(round_money(pl.col(n)) for n, k in zip(frame.columns, kinds) if k == "money")
    columns = [rounded[c].to_list() for c in rounded.columns]
    rows = [[_fmt_cell(k, col[i]) for k, col in zip(kinds, columns)] for i in range(rounded.height)]
    numeric = [k in ("money", "rate", "months", "int", "float") for k in kinds]
    return {"columns": list(frame.columns), "numeric": numeric, "rows": rows}


# --- aggregates (all in Polars) -------------------------------------------------------------------

def _total(expr: pl.Expr) -> pl.Expr:
    """A money total, rounded to cents: summed exactly (as decimals of a millionth of a dollar), so
    it does not depend on how the rows are split into chunks (a float sum's order does); NaN and
    infinities are left out."""
    exact = expr.cast(pl.Float64).fill_nan(None).cast(pl.Decimal(38, 6), strict=False).sum()
    return round_money(exact.cast(pl.Float64))


def _money(value: float | None) -> float | None:
    """A money aggregate rounded to cents like every reported amount."""
    if value is None or not math.isfinite(value):
        return value
    return pl.select(round_money(pl.lit(value, dtype=pl.Float64))).item()


def histogram_bins(values: pl.LazyFrame, column: str, bins: int = HISTOGRAM_BINS,
                   clip: tuple[float, float] = (0.01, 0.99)) -> dict[str, Any]:
    """Equal-width bins between the ``clip`` quantiles of the finite values of ``column`` (values
    outside go to the end bins, which are then open-ended). Returns bins [(lo, hi, count)],
    open_ends, and the counts of values, nulls (or non-finite) and of values clipped."""
    col = pl.col(column)
    stats = values.select(
        n=col.is_finite().fill_null(False).sum(),
        nulls=(~col.is_finite().fill_null(False)).sum(),
        lo=col.filter(col.is_finite()).quantile(clip[0], "linear"),
        hi=col.filter(col.is_finite()).quantile(clip[1], "linear"),
        min=col.filter(col.is_finite()).min(),
        max=col.filter(col.is_finite()).max(),
    ).collect().row(0, named=True)
    out: dict[str, Any] = {"bins": [], "open_ends": (False, False), "n": int(stats["n"] or 0),
                           "nulls": int(stats["nulls"] or 0), "clipped": 0}
    if not out["n"]:
        return out
    lo, hi = float(stats["lo"]), float(stats["hi"])
    if hi <= lo:  # all (or nearly all) values equal
        lo, hi = float(stats["min"]), float(stats["max"])
    if hi <= lo:
        out["bins"] = [(lo, hi, out["n"])]
        return out
    width = (hi - lo) / bins
    counts = (
        values.select(col.filter(col.is_finite()).alias("v"))
        .select(((pl.col("v") - lo) / width).floor().clip(0, bins - 1).cast(pl.Int64).alias("b"))
        .group_by("b").len().collect()
    )
    by_bin = dict(zip(counts["b"].to_list(), counts["len"].to_list()))
    out["bins"] = [(lo + i * width, lo + (i + 1) * width, int(by_bin.get(i, 0))) for i in range(bins)]
    out["open_ends"] = (float(stats["min"]) < lo, float(stats["max"]) > hi)
    out["clipped"] = int(values.select(((col < lo) | (col > hi)).fill_null(False).sum()).collect().item())
    return out


def _names(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns


def _has(frame: pl.DataFrame | pl.LazyFrame, *columns: str) -> bool:
    names = _names(frame)
    return all(c in names for c in columns)


def _json_for_script(obj: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can close
    the element or start markup (they are written as \\u escapes, which JSON.parse reads back)."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def worklist_table(results: pl.DataFrame | pl.LazyFrame, worklist: worklists.Worklist, shown: tuple[str, ...],
                   extra: Sequence[str], top_n: int, embedded: int = EMBEDDED_ROWS,
                   built: Mapping[str, pl.LazyFrame] | None = None) -> dict[str, Any]:
    """A worklist on the page: its first ``top_n`` rows as HTML (read without JavaScript), and its
    first ``embedded`` rows as data for the inline script that sorts and filters them."""
    rows = worklists.top(results, worklist, extra, embedded, built).select(list(dict.fromkeys((*shown, *extra))))
    table = display_table(rows)
    kinds = [views.column_kind(n, t) for n, t in rows.schema.items()]
    keys = rows.with_columns(round_money(pl.col(n)) for n, k in zip(rows.columns, kinds) if k == "money")
    keys = keys.with_columns(pl.col(n).fill_nan(None) for n, t in keys.schema.items() if t.is_float())
    keys = keys.with_columns(pl.col(n).cast(pl.String) for n, t in keys.schema.items()
                             if not (t.is_numeric() or t == pl.String))
    classes = ["n" if numeric else ("wrap" if c == "reason" else "") for c, numeric in zip(table["columns"],
                                                                                       table["numeric"])]
    data = {"columns": table["columns"], "numeric": table["numeric"], "classes": classes,
            "rows": table["rows"], "keys": [list(r) for r in keys.iter_rows()]}
    return {"id": worklist.name, "columns": table["columns"], "classes": classes,
            "top": table["rows"][:top_n], "data": _json_for_script(data), "embedded": len(table["rows"]),
            "file": f"{worklist.name}.csv"}


def _lender_section(results: pl.DataFrame, top_n: int, extra: Sequence[str] = (),
                    built: Mapping[str, pl.LazyFrame] | None = None) -> dict[str, Any] | None:
    if not _has(results, "loss_mit_candidate", "lender_savings_vs_foreclosure", "property_id"):
        return None
    cand = results.lazy().filter(pl.col("loss_mit_candidate").fill_null(False))
    k = cand.select(
        n=pl.len(),
        urgent=pl.col("urgent").fill_null(False).sum() if "urgent" in _names(results) else pl.lit(0),
        acceptable=pl.col("offer_acceptable").fill_null(False).sum() if "offer_acceptable" in _names(results)
        else pl.lit(0),
        savings=_total(pl.col("lender_savings_vs_foreclosure")),
        claim=_total(pl.col("claim")) if "claim" in _names(results) else pl.lit(None),
    ).collect().row(0, named=True)
    section: dict[str, Any] = {"kpis": k, "charts": {}}
    section["worklist"] = worklist_table(results, worklists.LENDER, HTML_LENDER_COLUMNS, extra, top_n, built=built)
    section["top_id"] = section["worklist"]["top"][0][1] if section["worklist"]["top"] else None

    options = [("short_sale", "pv_short_sale", "lender_severity_short_sale"),
               ("deed_in_lieu", "pv_deed_in_lieu", "lender_severity_deed_in_lieu"),
               ("foreclosure", "pv_foreclosure", "lender_severity_foreclosure")]
    rows = []
    if k["n"]:
        for name, pv, sev in options:
            if not _has(results, pv):
                continue
            agg = cand.select(
                best=(pl.col("lender_best_option") == name).fill_null(False).sum()
                if "lender_best_option" in _names(results) else pl.lit(0),
                eligible=pl.col(pv).is_not_null().sum(),
                pv=_total(pl.col(pv)),
                claim=_total(pl.col("claim").filter(pl.col(pv).is_not_null()))
                if "claim" in _names(results) else pl.lit(None, dtype=pl.Float64),
                severity=pl.col(sev).mean() if sev in _names(results) else pl.lit(None, dtype=pl.Float64),
            ).collect().row(0, named=True)
            recovery = agg["pv"] / agg["claim"] if agg["claim"] else None
            rows.append({"option": name, **agg, "recovery": recovery})
    section["recovery"] = rows
    section["charts"]["recovery"] = svg.hbar_chart(
        [(r["option"], r["recovery"] or 0.0) for r in rows], fmt=fmt_rate,
        label="Recovery (present value / claim) by option, candidates where the option is available")
    section["charts"]["best"] = svg.split_bar([(r["option"], r["best"]) for r in rows],
                                              label="Lender's best option, candidates")
    hist = histogram_bins(cand, "lender_savings_vs_foreclosure")
    section["savings_hist"] = hist
    section["charts"]["savings"] = svg.histogram(hist["bins"], fmt=fmt_money_short, open_ends=hist["open_ends"],
                                                 label="Distribution of lender savings vs foreclosure")
    if _has(results, "state"):
        by_state = (cand.group_by("state").agg(n=pl.len(), savings=_total(pl.col("lender_savings_vs_foreclosure")))
                    .sort(["n", "state"], descending=[True, False]).collect())
        section["states"] = by_state.head(15).to_dicts()
        section["states_total"] = by_state.height
        section["charts"]["states"] = svg.hbar_chart(
            [(r["state"], float(r["n"])) for r in section["states"]], fmt=lambda v: f"{v:,.0f}",
            label="Loss-mitigation candidates by state (top 15)")
    return section


def _investor_section(results: pl.DataFrame, top_n: int, extra: Sequence[str] = (),
                      built: Mapping[str, pl.LazyFrame] | None = None) -> dict[str, Any] | None:
    if not _has(results, "sell_advantage_pv", "hold_recommendation", "property_id"):
        return None
    lf = results.lazy()
    k = lf.select(
        n=pl.len(),
        sell=(pl.col("hold_recommendation") == "sell").fill_null(False).sum(),
        hold=(pl.col("hold_recommendation") == "hold").fill_null(False).sum(),
        advantage_sell=_total(pl.col("sell_advantage_pv").filter(pl.col("sell_advantage_pv") > 0)),
        cost_nothing=_total(pl.col("cost_of_doing_nothing_annual").filter(
            pl.col("cost_of_doing_nothing_annual") > 0)) if "cost_of_doing_nothing_annual" in _names(results)
        else pl.lit(None, dtype=pl.Float64),
    ).collect().row(0, named=True)
    section: dict[str, Any] = {"kpis": k, "charts": {}}
    section["worklist"] = worklist_table(results, worklists.INVESTOR, HTML_INVESTOR_COLUMNS, extra, top_n, built=built)
    section["top_id"] = section["worklist"]["top"][0][1] if section["worklist"]["top"] else None
    section["charts"]["split"] = svg.split_bar([("sell", k["sell"]), ("hold", k["hold"])],
                                               label="Sell now vs hold")
    if _has(results, "occupancy"):
        section["by_occupancy"] = (lf.group_by("occupancy").agg(
            n=pl.len(), sell=(pl.col("hold_recommendation") == "sell").fill_null(False).sum(),
            advantage=_total(pl.col("sell_advantage_pv")))
            .sort("occupancy").collect().to_dicts())
    if _has(results, "breakeven_months"):
        # H3 gives 0 whenever a sale today loses nothing: counted apart, the bins show the others.
        counts = lf.select(zero=(pl.col("breakeven_months") == 0).fill_null(False).sum(),
                           null=pl.col("breakeven_months").is_null().sum()).collect().row(0, named=True)
        hist = histogram_bins(lf.filter(pl.col("breakeven_months") != 0), "breakeven_months")
        section["breakeven_hist"] = hist
        section["breakeven_zero"] = counts["zero"]
        section["breakeven_null"] = counts["null"]
        section["charts"]["breakeven"] = svg.histogram(hist["bins"], fmt=lambda v: f"{v:,.0f} mo",
                                                       open_ends=hist["open_ends"],
                                                       label="Distribution of break-even months (H3)")
    strongest = lf.select("property_id", "sell_advantage_pv").filter(pl.col("sell_advantage_pv").is_finite())
    sells = strongest.filter(pl.col("sell_advantage_pv") > 0).sort(
        ["sell_advantage_pv", "property_id"], descending=[True, False]).head(10).collect()
    holds = strongest.filter(pl.col("sell_advantage_pv") <= 0).sort(
        ["sell_advantage_pv", "property_id"], descending=[False, False]).head(10).collect()
    items = [(r[0], r[1]) for r in sells.iter_rows()] + [(r[0], r[1]) for r in reversed(list(holds.iter_rows()))]
    section["charts"]["advantage"] = svg.hbar_chart(
        items, fmt=fmt_money_short, color=svg.GREEN,
        label="Sell advantage in today's dollars: the 10 strongest sells and the 10 strongest holds")
    return section


def _tax_section(results: pl.DataFrame) -> dict[str, Any] | None:
    needed = [f"{d}_{q}" for d in schema.DISPOSITIONS for q in ("gain", "excluded_gain", "cod_income",
                                                                  "cod_excluded", "cod_taxable", "tax")]
    if not _has(results, *needed):
        return None
    lf = results.lazy()
    rows = []
    for d in schema.DISPOSITIONS:
        gain, excluded = pl.col(f"{d}_gain"), pl.col(f"{d}_excluded_gain")
        taxable_gain = pl.when(gain >= 0).then(gain - excluded).otherwise(0.0)
        agg = lf.select(
            with_cod=(pl.col(f"{d}_cod_income") > 0).fill_null(False).sum(),
            with_taxable_cod=(pl.col(f"{d}_cod_taxable") > 0).fill_null(False).sum(),
            cod_income=_total(pl.col(f"{d}_cod_income")),
            cod_excluded=_total(pl.col(f"{d}_cod_excluded")),
            cod_taxable=_total(pl.col(f"{d}_cod_taxable")),
            gain=_total(gain.clip(lower_bound=0)),
            excluded_gain=_total(excluded),
            taxable_gain=_total(taxable_gain),
            with_taxable_gain=(taxable_gain > 0).fill_null(False).sum(),
            tax=_total(pl.col(f"{d}_tax")),
        ).collect().row(0, named=True)
        rows.append({"disposition": d, **agg})
    chart = svg.grouped_bars(
        [r["disposition"] for r in rows],
        [("taxable cancelled debt", [r["cod_taxable"] or 0.0 for r in rows]),
         ("taxable gain", [r["taxable_gain"] or 0.0 for r in rows]),
         ("tax", [r["tax"] or 0.0 for r in rows])],
        fmt=fmt_money_short, label="Taxable cancelled debt, taxable gain and tax by disposition (totals)")
    best = None
    if _has(results, "borrower_best_option"):
        best = (lf.group_by("borrower_best_option").len().sort(["len", "borrower_best_option"],
                                                               descending=[True, False]).collect().to_dicts())
    return {"rows": rows, "chart": chart, "borrower_best": best}


def _rejects_section(rejects: pl.DataFrame, summary: Mapping[str, Any], shown: int) -> dict[str, Any]:
    rej = views.rejects_view(rejects) if rejects.height else rejects
    rows = []
    raw_cols = [c for c in ("property_id", "address") if c in rej.columns]
    for r in rej.head(shown).iter_rows(named=True):
        rows.append({"file": r.get("source_file"), "row": r.get("row_number"),
                     "reasons": [x for x in (r.get("reasons") or []) if x is not None],
                     **{c: r.get(c) for c in raw_cols}})
    reasons = (summary.get("reasons") or {}).get("by_reason") or {}
    return {"n": rejects.height, "rows": rows, "raw_cols": raw_cols, "reasons": list(reasons.items())[:30],
            "reason_kinds": len(reasons), "shown": min(shown, rejects.height)}


def _assumption_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    specs = params.assumption_specs()
    out = []
    for name, value in (summary.get("assumptions_changed") or {}).items():
        s = specs.get(name)
        out.append({"name": name, "value": value, "default": s.value if s else None,
                    "rule": s.rule if s else "", "doc": s.doc if s else ""})
    return out


def _default_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, value in (summary.get("defaults") or {}).items():
        c = schema.BY_NAME.get(name)
        builtin = c.default if c is not None else None
        if value != builtin:
            out.append({"name": name, "value": value, "default": builtin})
    return out


def build_context(results: pl.DataFrame | pl.LazyFrame, rejects: pl.DataFrame | pl.LazyFrame,
                  summary: Mapping[str, Any] | None = None, *, top_n: int = TOP_N,
                  rejects_shown: int = REJECTS_SHOWN, data_docs_href: str | None = None,
                  files: Sequence[str] = (), purpose: str = "both",
                  worklist_columns: Sequence[str] = (),
                  worklist_tables: Mapping[str, pl.LazyFrame] | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain values (aggregated, top-N); the lender and investor
    sections as ``purpose`` asks (docs/spec.md section 7). ``worklist_tables``: the worklists a run
    has written (ranked, with reasons), read instead of ranking ``results`` again."""
    shows = {w.purpose for w in worklists.for_purpose(purpose)}
    # A LazyFrame (a chunked run's results.parquet) stays lazy: each section reads only the
    # columns it aggregates, never every column of every row.
    res = results
    rej = rejects.collect() if isinstance(rejects, pl.LazyFrame) else rejects
    summary = dict(summary or {})
    if not summary.get("rows"):
        n = res.lazy().select(pl.len()).collect().item()
    rows = summary.get("rows") or {"read": n + rej.height, "accepted": n, "rejected": rej.height}
    money_totals = (summary.get("totals") or {}).get("money") or {}
    return {
        "title": f"dispo report · {summary.get('pipeline') or 'run'}",
        "pipeline": summary.get("pipeline"),
        "as_of": summary.get("as_of"),
        "started": summary.get("started"),
        "version": (summary.get("versions") or {}).get("dispo", dispo.__version__),
        "inputs": summary.get("inputs") or [],
        "rows": rows,
        "gate": summary.get("gate") or {},
        "exit_code": summary.get("exit_code"),
        "assumptions": _assumption_rows(summary),
        "defaults": _default_rows(summary),
        "totals": [(k, v) for k, v in money_totals.items()],
        "lender": _lender_section(res, top_n, worklist_columns, worklist_tables) if "lender" in shows else None,
        "investor": (_investor_section(res, top_n, worklist_columns, worklist_tables) if "investor" in shows
                     else None),
        "tax": _tax_section(res),
        "rejects": _rejects_section(rej, summary, rejects_shown),
        "data_docs_href": data_docs_href,
        "diff": summary.get("diff"),
        "files": [(name, what) for name, what in LINKED_FILES if name in files],
        "top_n": top_n,
        "script": Markup(SCRIPT),
        "script_hash": SCRIPT_HASH,
    }


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("dispo.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=lambda v: fmt_money(_money(v)), rate=fmt_rate, num=fmt_number, months=fmt_months)
    return env


def render_html(results: pl.DataFrame | pl.LazyFrame, rejects: pl.DataFrame | pl.LazyFrame,
                summary: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
    """The page as text (see :func:`build_context` for the options)."""
    context = build_context(results, rejects, summary, **kwargs)
    return _environment().get_template("report.html.j2").render(**context)


def write_html(path: str | os.PathLike[str], results: pl.DataFrame | pl.LazyFrame,
               rejects: pl.DataFrame | pl.LazyFrame, summary: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(render_html(results, rejects, summary, **kwargs))


def html_writer(*, results: pl.DataFrame | pl.LazyFrame, rejects: pl.DataFrame | pl.LazyFrame,
                summary: Mapping[str, Any] | None = None, name: str = REPORT_NAME,
                files: Sequence[str] | None = None, **kwargs: Any) -> Callable[[Any], None]:
    """An ``extra_writers`` entry for :func:`dispo.reports.write_outputs`: renders report.html into
    the open OutputSet. ``files``: the outputs of the set the page links to (default: those of
    ``write_outputs``)."""
    from dispo.reports import OUTPUT_FILES

    linked = tuple(OUTPUT_FILES if files is None else files)

    def write(out: Any) -> None:
        out.write_text(name, render_html(results, rejects, summary, files=linked, **kwargs))
    return write
