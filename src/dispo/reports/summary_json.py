"""summary.json (docs/spec.md section 7): counts, reasons, totals, as_of, timings, versions, config digest.

``summary(...)`` returns a plain JSON-serialisable dict. Money totals are rounded to cents with the
CSV rule (half away from zero, ``csv_safe.round_money``); a total over a column that is absent is
left out, and a total over a column whose values are all null is ``null`` (never 0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import platform
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any, Mapping

import polars as pl

from dispo import schema
from dispo.reports.csv_safe import round_money

SUMMARY_FORMAT = 1

#: Money columns of ``results`` summed in ``totals`` (when present).
TOTAL_COLUMNS: tuple[str, ...] = (
    "market_value", "debt", "payoff", "equity", "negative_equity", "claim",
    "lender_savings_vs_foreclosure", "sell_advantage_pv",
) + tuple(f"{d}_{q}" for q in ("cod_taxable", "tax", "borrower_net") for d in schema.DISPOSITIONS)
#: Boolean columns of ``results`` counted (true values) in ``counts``.
COUNT_TRUE_COLUMNS: tuple[str, ...] = (
    "underwater", "loss_mit_candidate", "urgent", "offer_acceptable", "sec121_eligible", "dil_eligible",
    "fc_referral_allowed",
)
#: Text columns of ``results`` whose values are counted in ``counts``.
COUNT_VALUE_COLUMNS: tuple[str, ...] = ("hold_recommendation", "lender_best_option", "borrower_best_option",
                                        "occupancy")
#: Every column of ``results`` the summary reads.
SUMMARY_COLUMNS: tuple[str, ...] = (*TOTAL_COLUMNS, *COUNT_TRUE_COLUMNS, *COUNT_VALUE_COLUMNS)
#: A reason reads ``column: what is wrong: 'raw value'``; its kind drops the raw value.
_REASON_VALUE_RE = r"(?s)^(.*?): '.*'$"


# --- config digest ----------------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    """A JSON-ready canonical form: mappings with string keys, sequences as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _canonical({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "_asdict"):
        return _canonical(value._asdict())
    return str(value)


def canonical_json(config: Any) -> str:
    """The canonical text of a pipeline config: sorted keys, no whitespace, UTF-8."""
    return json.dumps(_canonical(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_digest(config: Any) -> str:
    """``sha256:<hex>`` of :func:`canonical_json` of ``config`` (a mapping, dataclass, …)."""
    return "sha256:" + hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


# --- versions ---------------------------------------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions of dispo, Python and the data libraries (great_expectations only if it is loaded)."""
    import duckdb
    import pyarrow

    import dispo

    out = {"dispo": dispo.__version__, "python": platform.python_version(), "polars": pl.__version__,
           "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}
    gx = sys.modules.get("great_expectations")
    if gx is not None:
        out["great_expectations"] = getattr(gx, "__version__", "unknown")
    return out


# --- pieces -----------------------------------------------------------------------------------------

def _frame(frame: pl.DataFrame | pl.LazyFrame | None, columns: tuple[str, ...] | None = None) -> pl.DataFrame | None:
    """A LazyFrame collected; with ``columns``, only those of them it has (the results of a huge
    run are a scan of results.parquet: summing a few columns must not load the others)."""
    if not isinstance(frame, pl.LazyFrame):
        return frame
    if columns is not None:
        names = frame.collect_schema().names()
        frame = frame.select([c for c in names if c in columns] or names[:1])
    return frame.collect()


def reason_counts(rejects: pl.DataFrame | None) -> dict[str, Any]:
    """Reasons counted over all rejects: ``by_reason`` keys drop the raw value
    (``market_value: not a number``), ``by_column`` the part before the first ``:``. Most frequent
    first, ties by name."""
    empty: dict[str, Any] = {"total": 0, "by_column": {}, "by_reason": {}}
    if rejects is None or "reasons" not in rejects.columns or rejects.height == 0:
        return empty
    reasons = rejects.select(pl.col("reasons").explode().drop_nulls().alias("reason"))
    if reasons.height == 0:
        return empty
    kinds = reasons.select(
        pl.col("reason").str.replace(_REASON_VALUE_RE, "$1").alias("kind"),
        pl.col("reason").str.split_exact(":", 1).struct.field("field_0").str.strip_chars().alias("column"),
    )

    def counted(col: str) -> dict[str, int]:
        g = kinds.group_by(col).len().sort(["len", col], descending=[True, False])
        return dict(zip(g[col].to_list(), g["len"].to_list()))

    return {"total": reasons.height, "by_column": counted("column"), "by_reason": counted("kind")}


#: Scale of the exact sum of a money total: a float sum depends on the order and chunking of its
#: rows (a run processed whole, in batches or on Spark partitions), and a total that lands on half
#: a cent rounded one way or the other; each row as a decimal of this scale sums exactly, in any order.
TOTAL_SUM_SCALE = 6


def _money_total(df: pl.DataFrame, column: str) -> float | None:
    values = pl.col(column).filter(pl.col(column).is_not_null())
    finite, count = df.select(values.is_finite().all().alias("finite"), values.len().alias("count")).row(0)
    if count == 0 or not finite:
        return None
    exact = values.cast(pl.Decimal(38, TOTAL_SUM_SCALE)).sum().cast(pl.Float64)
    return df.select(round_money(exact)).item()


def totals(results: pl.DataFrame | None) -> dict[str, Any]:
    """Money totals and counts over results, for the columns that are present."""
    if results is None:
        return {"money": {}, "counts": {}}
    money = {c: _money_total(results, c) for c in TOTAL_COLUMNS if c in results.columns}
    counts: dict[str, Any] = {"rows": results.height}
    for c in COUNT_TRUE_COLUMNS:
        if c in results.columns:
            counts[c] = int(results.select(pl.col(c).fill_null(False).sum()).item())
    for c in COUNT_VALUE_COLUMNS:
        if c in results.columns:
            g = results.group_by(c).len().sort(c, nulls_last=True)
            counts[c] = {("null" if k is None else str(k)): int(n) for k, n in zip(g[c].to_list(), g["len"].to_list())}
    if "hold_recommendation" in results.columns:
        counts["sell_recommendations"] = int(results.select((pl.col("hold_recommendation") == "sell").fill_null(False)
                                                            .sum()).item())
    return {"money": money, "counts": counts}


# --- the summary ------------------------------------------------------------------------------------

def summary(
    *,
    rows_read: int,
    results: pl.DataFrame | pl.LazyFrame | None,
    rejects: pl.DataFrame | pl.LazyFrame | None,
    as_of: date,
    config: Any = None,
    max_reject_fraction: float = 0.05,
    timings: Mapping[str, float] | None = None,
    exit_code: int | None = None,
    pipeline: str | None = None,
    inputs: list[str] | None = None,
    run_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of summary.json.

    ``rows_read``: data rows read from all inputs (ingest's count, independent of the split);
    ``results``/``rejects``: the accepted and quarantined rows; ``config``: the canonical pipeline
    config (anything :func:`config_digest` accepts), digested and not copied; ``timings``: seconds per
    stage; ``exit_code``: the run's exit code when the caller already knows it, else derived from
    the reject gate (0, or 3 when rejects exceed ``max_reject_fraction`` of rows read).
    """
    res, rej = _frame(results, SUMMARY_COLUMNS), _frame(rejects)
    accepted = 0 if res is None else res.height
    rejected = 0 if rej is None else rej.height
    fraction = rejected / rows_read if rows_read else 0.0
    gate_passed = fraction <= max_reject_fraction
    out: dict[str, Any] = {
        "format": SUMMARY_FORMAT,
        "pipeline": pipeline,
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "inputs": list(inputs) if inputs is not None else None,
        "rows": {
            "read": rows_read,
            "accepted": accepted,
            "rejected": rejected,
            "conservation_ok": rows_read == accepted + rejected,
        },
        "gate": {
            "reject_fraction": fraction,
            "max_reject_fraction": max_reject_fraction,
            "passed": gate_passed,
        },
        "exit_code": exit_code if exit_code is not None else (0 if gate_passed else 3),
        "reasons": reason_counts(rej),
        "totals": totals(res),
        "timings_seconds": {k: round(float(v), 6) for k, v in (timings or {}).items()},
        "versions": versions(),
        "config_digest": config_digest(config) if config is not None else None,
    }
    if extra:
        out.update({k: _canonical(v) for k, v in extra.items()})
    return out
