"""Validation (ARCHITECTURE step 4): the schema's Great Expectations suite over the typed rows,
every failure turned into a reason, rows split into accepted and rejected.

``validate(ingested, as_of=...)``:

1. rows whose CSV record could not be split (reason ``row: ...``) are not checked further: their
   values are not reliable, the row reason says it all;
2. every other row goes to GX as a pandas frame (from Arrow) whose index is the row's position in
   ``ingested.typed``: GX returns, per expectation, the index of every failing row
   (``result_format="COMPLETE"``), which maps straight back to the row. Cross rules are evaluated
   first in DuckDB (their SQL, with ``$as_of``; nulls pass) into boolean columns ``rule__<name>``
   that GX expects to be true;
3. a cell that failed to parse is NULL, so it passes every check but "required": a required cell
   whose parse failed keeps only its parse reason (one reason per problem, never two per cell);
4. reasons read ``column: what is wrong: 'raw value'`` with the cell's raw text from the ``raw``
   table: ``market_value: must be > 0: '-5'``, ``property_id: required value missing: ''``,
   ``property_id: duplicate id (3 rows): 'P1'``, ``purchase_date: after as_of 2026-11-22: '2027-01-01'``,
   ``occupancy: not one of primary, rental, second_home: 'owner'``. Reasons of a row are listed by
   column (schema order), then by check (parse, required, bounds, set, unique, cross rule).

``reasons_counted`` counts reasons by kind, the reason without its quoted value
(``market_value: must be > 0``); the duplicate count and a ragged row's field counts are left out of
the kind (``property_id: duplicate id``, ``row: has N fields, header has M``).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterator

import duckdb
import numpy as np
import polars as pl

from dispo import schema
from dispo.ingest import TYPED_TABLE, IngestResult
from dispo.ingest.parse import SQL_TYPES, ident
from dispo.validate.gx_graph import configurations_built_once
from dispo.validate.worker import check_remotely
from dispo.validate.suite import (
    ALLOWED, BOUNDS, CHECK_ORDER, PARSE, REQUIRED, RULE, SUITE_NAME, UNIQUE, ephemeral_context, expectations,
    import_gx, rule_column, validation_suite,
)

__all__ = ["ValidationResult", "StreamedValidation", "RowConservationError", "validate", "validate_streamed",
           "validation_suite", "validate_frame", "Validated", "ROW", "gx_frame", "parse_reasons",
           "column_position", "bound_message", "allowed_message", "rule_message"]

#: Column holding a row's position in the checked frame. It, :func:`gx_frame`, :func:`parse_reasons`,
#: :func:`column_position` and the ``*_message`` wordings are public: the Spark engine
#: (dispo.spark.checks) builds the same reasons from them instead of a second copy that would drift.
ROW = "__dispo_row"
_SRC, _RN = schema.LINEAGE_COLUMNS
_MANY_VALUES = 8  # allowed sets longer than this are not spelled out in a reason


class RowConservationError(RuntimeError):
    """Internal error: rows read != accepted + rejected (a bug, never a data problem)."""


@dataclass(frozen=True)
class ValidationResult:
    """``accepted``: source_file, row_number, typed schema columns, extras (input order).
    ``rejects``: source_file, row_number, reasons (list[str]), the raw text of every input column
    (ordered by source_file, row_number). ``gx_result`` is GX's validation result (for Data Docs)."""

    accepted: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    reasons_counted: dict[str, int]
    gx_result: Any = field(default=None, repr=False)

    @property
    def rows_accepted(self) -> int:
        return self.accepted.height

    @property
    def rows_rejected(self) -> int:
        return self.rejects.height

    def accepted_batches(self, rows: int) -> Iterator[pl.DataFrame]:
        """``accepted`` in batches of ``rows`` rows, as :meth:`StreamedValidation.accepted_batches`
        gives them (a last batch of fewer than MIN_BATCH_ROWS rows joins the one before)."""
        n = self.accepted.height
        starts = list(range(0, n, rows))
        if len(starts) > 1 and n - starts[-1] < MIN_BATCH_ROWS:
            starts.pop()
        for start, end in zip(starts, [*starts[1:], n]):
            yield self.accepted.slice(start, end - start)

    def empty_batch(self) -> pl.DataFrame:
        """No rows, the accepted rows' columns and types."""
        return self.accepted.head(0)

    def non_null_counts(self, columns: list[str]) -> dict[str, int]:
        """Non-null values of each of ``columns`` over the accepted rows (null counts: metadata)."""
        return {c: self.accepted.height - self.accepted[c].null_count() for c in columns}


def column_position(column: str) -> int:
    """Schema position of ``column`` (reasons sort by it); -1 for a column outside the schema."""
    return schema.NAMES.index(column) if column in schema.BY_NAME else -1


def _gx_columns() -> list[str]:
    """Schema columns some expectation looks at."""
    return [c.name for c in schema.COLUMNS
            if c.required or c.has_bounds or c.allowed or c.name == schema.UNIQUE_COLUMN]


def gx_frame(typed: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The rows GX checks: ROW, the checked schema columns (absent ones as typed nulls) and one
    boolean per cross rule (true when the rule holds; a null rule input passes)."""
    present = set(typed.columns)
    fill = ", ".join(f"CAST(NULL AS {SQL_TYPES[c.dtype]}) AS {ident(c.name)}"
                     for c in schema.COLUMNS if c.name not in present)
    cols = ", ".join(ident(c) for c in _gx_columns())
    rules = ", ".join(f"coalesce(({r.sql}), true) AS {ident(rule_column(r))}" for r in schema.CROSS_RULES)
    con = duckdb.connect()
    try:
        con.register("typed_rows", typed.select([ROW, *(c for c in schema.NAMES if c in present)]))
        return con.sql(
            f"SELECT {ident(ROW)}, {cols}{', ' + rules if rules else ''} "
            f"FROM (SELECT *{', ' + fill if fill else ''} FROM typed_rows)",
            params={"as_of": as_of},
        ).pl()
    finally:
        con.close()


#: Cells (rows × columns) GX gets in one batch. GX filters the whole batch frame once per
#: expectation (``df[df[column].notnull()]``), so a wide frame costs expectations × columns: a
#: small input is one batch (the whole suite at once), a large one is checked a few columns at a
#: time. Each batch also costs GX a fixed ~0.1 s (suite, validator, metric graph): at 1M rows, 6M
#: cells (6 columns, 14 batches) took 5.4 s CPU where 2M (2 columns, 42 batches) took 5.9-6.4 s
#: and 20M 9.7 s (bench/README.md, issue 17).
GX_BATCH_CELLS = 6_000_000


def gx_groups() -> list[tuple[str, list[Any]]]:
    """The suite's expectations grouped by the frame column they check, in the order GX reports
    results (by column, in order of first appearance; suite order within a column)."""
    groups: dict[str, list[Any]] = {}
    for e in expectations():
        groups.setdefault(e.column, []).append(e)
    return list(groups.items())


#: Up to this many rows, GX gets text columns as Python strings (object dtype) rather than
#: pandas' Arrow-backed strings: GX filters the whole frame once per expectation, and an Arrow
#: column's ``take`` costs a call into Arrow each time (a third of a 1,000-row validation). The
#: values and GX's results are the same (tests/validate/test_gx_graph.py); above, Arrow's compact
#: strings keep the memory down.
OBJECT_STRINGS_ROWS = 50_000


def _small_strings_as_objects(pdf: Any) -> Any:
    import pandas as pd

    if len(pdf) <= OBJECT_STRINGS_ROWS:
        strings = [c for c in pdf.columns if isinstance(pdf[c].dtype, pd.StringDtype)]
        if strings:
            pdf[strings] = pdf[strings].astype(object)
    return pdf


def _batches(groups: list[tuple[str, list[Any]]], rows: int) -> list[list[tuple[str, list[Any]]]]:
    """Consecutive column groups packed into batches of at most GX_BATCH_CELLS cells (one group
    at least)."""
    per_batch = max(1, GX_BATCH_CELLS // max(rows, 1))
    return [groups[i:i + per_batch] for i in range(0, len(groups), per_batch)]


def _key(config: Any) -> tuple[str, str, str]:
    meta = config.meta or {}
    return meta.get("dispo_check"), meta.get("dispo_column"), meta.get("dispo_rule")


def _run_gx(columns: Callable[[list[str]], pl.DataFrame], rows: int) -> tuple[Any, dict[tuple, pl.DataFrame]]:
    """Runs the whole suite with GX over ``rows`` rows whose columns ``columns(names)`` gives (a
    frame of ROW and those columns), a batch of columns at a time (GX_BATCH_CELLS).

    Returns GX's result for the whole suite (every expectation evaluated once over every row; the
    batches' results in GX's order, statistics over all of them) and, per failing expectation
    (key: dispo_check, dispo_column, dispo_rule), the failing rows' values: ROW and the column.
    """
    gx = import_gx()
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.validator.v1_validator import Validator

    context = ephemeral_context()
    datasource = context.data_sources.add_pandas("dispo")
    batch_definition = datasource.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all")
    results: list[Any] = []
    failing: dict[tuple, pl.DataFrame] = {}
    first: Any = None
    batches = _batches(gx_groups(), rows)
    for k, batch_groups in enumerate(batches):
        names = [name for name, _ in batch_groups]
        frame = columns(names)
        pdf = _small_strings_as_objects(frame.to_pandas())
        pdf.index = pdf.pop(ROW).to_numpy()
        name = SUITE_NAME if len(batches) == 1 else f"{SUITE_NAME}.{k}"
        suite = context.suites.add(gx.ExpectationSuite(
            name=name, expectations=[e for _, group in batch_groups for e in group]))
        # GX's Validator builds the batch once (Batch.validate would build it a second time, and
        # fingerprint the whole frame twice: ~1.2 s a million rows each).
        validator = Validator(batch_definition=batch_definition, batch_parameters={"dataframe": pdf},
                              result_format={"result_format": "COMPLETE"})
        with configurations_built_once():
            result = validator.validate_expectation_suite(suite)
        del pdf, validator
        # The pandas engine caches every metric it computed (a row-sized mask per expectation)
        # under the batch id, which all batches share: dropped after each, for memory and so that
        # no batch reads a table metric of another.
        cache = getattr(datasource.get_execution_engine(), "_metric_cache", None)
        if isinstance(cache, dict):
            cache.clear()
        if first is None:
            first = result
        results.extend(result.results)
        for res in result.results:
            index = (res.result or {}).get("unexpected_index_list") or []
            if index:
                column = res.expectation_config.kwargs["column"]
                rows_failed = pl.Series(ROW, np.asarray(index, dtype=np.int64)).cast(pl.UInt32)
                failing[_key(res.expectation_config)] = (
                    frame.select(ROW, column).filter(pl.col(ROW).is_in(rows_failed.implode())))
    if len(batches) == 1:
        return first, failing
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    stats = calc_validation_statistics(results)
    merged = ExpectationSuiteValidationResult(
        success=stats.success, results=results, suite_name=SUITE_NAME,
        statistics={"evaluated_expectations": stats.evaluated_expectations,
                    "successful_expectations": stats.successful_expectations,
                    "unsuccessful_expectations": stats.unsuccessful_expectations,
                    "success_percent": stats.success_percent},
        meta=dict(first.meta or {}), batch_id=getattr(first, "batch_id", None))
    return merged, failing


def _raised(exception_info: Any) -> str | None:
    """GX's exception message, if an expectation could not be evaluated."""
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for v in exception_info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message"))
    return None


def bound_message(col: schema.Column, side: str) -> str:
    """``must be > 0`` (low side) or ``must be ≤ 1e12`` (high side), from the schema's wording."""
    one_sided = dataclasses.replace(col, max=None) if side == "low" else dataclasses.replace(col, min=None)
    return f"must be {one_sided.bounds_text()}"


def allowed_message(col: schema.Column) -> str:
    """``not one of a, b, c`` (or the count of allowed values when the set is long)."""
    allowed = col.allowed or ()
    if len(allowed) > _MANY_VALUES:
        return f"not one of the {len(allowed)} allowed values"
    return "not one of " + ", ".join(allowed)


def rule_message(rule: schema.CrossRule, as_of: date) -> str:
    """A cross rule's message with the evaluation date spelled out (``after as_of 2026-11-22``)."""
    return re.sub(r"\bas_of\b", f"as_of {as_of.isoformat()}", rule.message)


_FAILURE_SCHEMA = {ROW: pl.UInt32, "column": pl.String, "message": pl.String, "kind": pl.String,
                   "rank": pl.Int64, "sub": pl.Int64}


def _failures(gx_result: Any, failing: dict[tuple, pl.DataFrame], parse_failed: pl.DataFrame,
              as_of: date) -> pl.DataFrame:
    """One row per failed check of a row: ROW, column, message, kind, rank, sub (sort keys).

    ``failing`` holds, per failing expectation, the failing rows' values (from ``_run_gx``)."""
    parts: list[pl.DataFrame] = []
    rules = {r.name: (i, r) for i, r in enumerate(schema.CROSS_RULES)}
    for res in gx_result.results:
        config = res.expectation_config
        meta = config.meta or {}
        problem = _raised(res.exception_info)
        if problem:
            raise RuntimeError(f"GX could not evaluate {config.type} on {config.kwargs.get('column')}: {problem}")
        index = (res.result or {}).get("unexpected_index_list") or []
        if not index:
            continue
        rows = pl.DataFrame({ROW: np.asarray(index, dtype=np.int64)}).with_columns(pl.col(ROW).cast(pl.UInt32))
        check, column = meta["dispo_check"], meta["dispo_column"]
        rank, sub = column_position(column) * 10 + CHECK_ORDER[check], 0
        col = schema.BY_NAME[column]
        values = failing.get(_key(config))
        if check == REQUIRED:
            rows = rows.join(parse_failed.filter(pl.col("column") == column), on=ROW, how="anti")
            frame = rows.with_columns(message=pl.lit("required value missing"))
        elif check == BOUNDS:
            low = (pl.col("value") < col.min) | ((pl.col("value") == col.min) & col.min_exclusive) \
                if col.min is not None else pl.lit(False)
            frame = (rows.join(values.select(ROW, pl.col(column).cast(pl.Float64).alias("value")), on=ROW)
                     .with_columns(message=pl.when(low).then(pl.lit(bound_message(col, "low")))
                                   .otherwise(pl.lit(bound_message(col, "high")))).drop("value"))
        elif check == ALLOWED:
            frame = rows.with_columns(message=pl.lit(allowed_message(col)))
        elif check == UNIQUE:
            # GX fails every copy of a repeated value (nulls are not checked), so the failing rows
            # hold all the copies: their count per value is the number of rows sharing it.
            copies = values.filter(pl.col(column).is_not_null()).group_by(column).len("copies")
            frame = (rows.join(values, on=ROW).join(copies, on=column)
                     .with_columns(message=pl.format("duplicate id ({} rows)", "copies"),
                                   kind=pl.lit(f"{column}: duplicate id")).select(ROW, "message", "kind"))
        elif check == RULE:
            sub, rule = rules[meta["dispo_rule"]]
            frame = rows.with_columns(message=pl.lit(rule_message(rule, as_of)))
        else:  # pragma: no cover
            raise RuntimeError(f"unknown check {check!r}")
        if "kind" not in frame.columns:
            frame = frame.with_columns(kind=pl.lit(column + ": ") + pl.col("message"))
        parts.append(frame.select(ROW, column=pl.lit(column), message="message", kind="kind",
                                  rank=pl.lit(rank, pl.Int64), sub=pl.lit(sub, pl.Int64)))
    if not parts:
        return pl.DataFrame(schema=_FAILURE_SCHEMA)
    return pl.concat(parts).cast(_FAILURE_SCHEMA)


def parse_reasons(typed: pl.DataFrame) -> pl.DataFrame:
    """The ingest reasons, one per row: ROW, text, column, kind, rank, sub."""
    exploded = (typed.select(ROW, "parse_reasons").filter(pl.col("parse_reasons").list.len() > 0)
                .explode("parse_reasons").rename({"parse_reasons": "text"}))
    positions = pl.DataFrame({"column": list(schema.NAMES), "position": list(range(len(schema.NAMES)))})
    kind = (pl.col("text").str.extract(r"^(.*?): '", 1).fill_null(pl.col("text"))
            .str.replace(r"^row: has \d+ fields, header has \d+", "row: has N fields, header has M")
            .str.replace(r": ambiguous date, reads as .*$", ": ambiguous date"))
    return (exploded.with_columns(column=pl.col("text").str.extract(r"^([^:]*):", 1), kind=kind)
            .join(positions, on="column", how="left")
            .select(ROW, "text", "column", "kind",
                    rank=(pl.col("position").fill_null(-1) * 10 + CHECK_ORDER[PARSE]).cast(pl.Int64),
                    sub=pl.lit(0, pl.Int64)))


def _quarantine(ingested: IngestResult, parsed: pl.DataFrame, failed: pl.DataFrame,
                lineage: Callable[[pl.DataFrame], pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """The rejected rows (ROW, sorted), the rejects frame and the reasons counted, from the parse
    reasons and the failed checks. ``lineage(rows)`` gives ROW, source_file, row_number of the
    rows named in ``rows`` (a frame with ROW)."""
    rejected_rows = pl.concat([parsed.select(ROW), failed.select(ROW)]).unique().sort(ROW)
    keys = rejected_rows.join(lineage(rejected_rows), on=ROW, how="left")
    raw = ingested.raw_rows(keys.select(_SRC, _RN)).with_columns(keys[ROW])
    columns_failed = [c for c in failed["column"].unique().to_list() if c in raw.columns]
    raw_cells = (raw.select(ROW, *columns_failed)
                 .unpivot(index=ROW, on=columns_failed, variable_name="column", value_name="raw")
                 if columns_failed else pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String, "raw": pl.String}))
    failed_text = (failed.join(raw_cells, on=[ROW, "column"], how="left")
                   .with_columns(text=pl.format("{}: {}: '{}'", "column", "message", pl.col("raw").fill_null("")))
                   .select(ROW, "text", "column", "kind", "rank", "sub"))
    reasons = (pl.concat([parsed, failed_text]).unique(subset=[ROW, "text"], keep="first")
               .sort(ROW, "rank", "sub", "text"))
    per_row = reasons.group_by(ROW, maintain_order=True).agg(reasons=pl.col("text"))
    rejects = (raw.join(per_row, on=ROW, how="left")
               .select(_SRC, _RN, spreadsheet_line(ingested), "property_id", "reasons",
                       *(c for c in ingested.input_columns if c != "property_id"))
               .sort(_SRC, _RN))
    counted = reasons.group_by("kind").len("n").sort(["n", "kind"], descending=[True, False])
    reasons_counted = dict(zip(counted["kind"].to_list(), counted["n"].to_list()))
    return rejected_rows, rejects, reasons_counted


def spreadsheet_line(ingested: IngestResult) -> pl.Expr:
    """A reject's line as a spreadsheet shows it: its file's header line + its row_number (SPEC
    section 7; for a CSV whose values hold no line break, the line number in the file)."""
    lines = ingested.header_lines or {}
    header = pl.col(_SRC).replace_strict(lines, default=1, return_dtype=pl.Int64) if lines else pl.lit(1, pl.Int64)
    return (header + pl.col(_RN)).alias("spreadsheet_line")


def check_frame(frame: pl.DataFrame, parse_failed: pl.DataFrame, as_of: date) -> tuple[Any, pl.DataFrame]:
    """GX's result over ``frame`` (:func:`gx_frame`) and the failed checks (:func:`_failures`)."""
    gx_result, failing = _run_gx(lambda names: frame.select(ROW, *names), frame.height)
    return gx_result, _failures(gx_result, failing, parse_failed, as_of)


def validate(ingested: IngestResult, *, as_of: date, worker: Any = None) -> ValidationResult:
    """Checks every typed row against the schema's suite; splits accepted from rejected rows.
    ``worker``: a :class:`dispo.validate.worker.GXWorker` to run GX in (the same checks)."""
    typed = ingested.with_typed().typed.with_row_index(ROW)
    if typed.height != ingested.rows_read:
        raise RowConservationError(f"rows read {ingested.rows_read} != typed rows {typed.height}")
    parsed = parse_reasons(typed)
    parse_failed = parsed.select(ROW, "column").unique()
    ragged = parsed.filter(pl.col("column") == "row").select(ROW).unique()
    checked = typed.filter(~pl.col(ROW).is_in(ragged[ROW].implode()))

    frame = gx_frame(checked, as_of)
    gx_result, failed = check_remotely(worker, frame, parse_failed, as_of) or check_frame(frame, parse_failed, as_of)

    rejected_rows, rejects, reasons_counted = _quarantine(
        ingested, parsed, failed, lambda rows: typed.select(ROW, _SRC, _RN))
    accepted = typed.filter(~pl.col(ROW).is_in(rejected_rows[ROW].implode())).drop(ROW, "parse_reasons")

    read = ingested.rows_read
    if typed.height != read or accepted.height + rejects.height != read \
            or rejects.select(_SRC, _RN).is_duplicated().any():
        raise RowConservationError(
            f"rows read {read} != accepted {accepted.height} + rejected {rejects.height}")
    return ValidationResult(accepted=accepted, rejects=rejects, rows_read=read,
                            reasons_counted=reasons_counted, gx_result=gx_result)


# --- the same validation, the typed rows left in DuckDB (inputs too big to hold at once) ----------

#: Fewest rows in a batch of accepted rows (but when there are fewer in all): Polars computes a few
#: float operations differently on a frame of a handful of rows (a division by a constant is a true
#: division on a 1-row chunk, a multiplication by the reciprocal on longer ones), so a row must
#: never be evaluated in a tiny batch, or a chunked run would differ from a whole one in the last bit.
MIN_BATCH_ROWS = 100

@dataclass(frozen=True)
class StreamedValidation:
    """What :func:`validate_streamed` found: ``rejects``, ``reasons_counted`` and ``gx_result`` as
    in :class:`ValidationResult`; the accepted rows are read back in batches, in input order, by
    :meth:`accepted_batches` (each batch as ``ValidationResult.accepted`` would hold those rows)."""

    ingested: IngestResult = field(repr=False)
    rejected_rows: pl.Series = field(repr=False)  # ROW of every rejected row (sorted)
    rejects: pl.DataFrame
    rows_read: int
    reasons_counted: dict[str, int]
    gx_result: Any = field(default=None, repr=False)

    @property
    def rows_rejected(self) -> int:
        return self.rejects.height

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rejects.height

    def accepted_batches(self, rows: int) -> Iterator[pl.DataFrame]:
        """The accepted rows in input order, in batches of ``rows`` rows (one chunk each); a last
        batch of fewer than MIN_BATCH_ROWS rows joins the one before. Reads through a cursor of
        its own: ``ingested.con`` stays usable meanwhile."""
        cursor = self.ingested.con.cursor()
        rejected = self.rejected_rows.implode()
        seen, held, buffer = 0, None, []
        try:
            reader = cursor.sql(
                f"SELECT rowid::UINTEGER AS {ident(ROW)}, * EXCLUDE (parse_reasons) FROM {TYPED_TABLE}"
            ).to_arrow_reader(rows)
            for batch in reader:
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                seen += frame.height
                buffer.append(frame.filter(~pl.col(ROW).is_in(rejected)).drop(ROW))
                while sum(f.height for f in buffer) >= rows:
                    whole = pl.concat(buffer, rechunk=True)
                    if held is not None:
                        yield held
                    held, buffer = whole.slice(0, rows), [whole.slice(rows)]
        finally:
            cursor.close()
        if seen != self.rows_read:  # pragma: no cover - an internal invariant
            raise RowConservationError(f"rows read {self.rows_read} != typed rows {seen}")
        tail = pl.concat(buffer, rechunk=True) if buffer else None
        if held is not None and tail is not None and tail.height < MIN_BATCH_ROWS:
            held, tail = pl.concat([held, tail], rechunk=True), None
        for frame in (held, tail):
            if frame is not None and frame.height:
                yield frame

    def empty_batch(self) -> pl.DataFrame:
        """No rows, the accepted rows' columns and types."""
        return self.ingested.con.sql(f"SELECT * EXCLUDE (parse_reasons) FROM {TYPED_TABLE} LIMIT 0").pl()

    def non_null_counts(self, columns: list[str]) -> dict[str, int]:
        """Non-null values of each of ``columns`` over the accepted rows: one DuckDB aggregate over
        the typed table, the rejected rows left out."""
        if not columns:
            return {}
        cursor = self.ingested.con.cursor()
        try:
            cursor.register("__dispo_rejected", pl.DataFrame({ROW: self.rejected_rows}))
            counts = ", ".join(f"count({ident(c)})" for c in columns)
            row = cursor.execute(f"SELECT {counts} FROM {TYPED_TABLE} WHERE rowid::UINTEGER NOT IN "
                             f"(SELECT {ident(ROW)} FROM __dispo_rejected)").fetchone()
        finally:
            cursor.close()
        return dict(zip(columns, row or [0] * len(columns)))


def _db_frame(con: duckdb.DuckDBPyConnection, query: str, **params: Any) -> pl.DataFrame:
    return con.sql(query, params=params or None).pl()


def validate_streamed(ingested: IngestResult, *, as_of: date) -> StreamedValidation:
    """:func:`validate` for typed rows left in DuckDB (``ingest(..., load_typed=False)``): the same
    GX suite over all the rows, a column at a time, the same reasons and rejects; nothing row-sized
    is held but one column. The accepted rows come back in batches (``accepted_batches``)."""
    con = ingested.con.cursor()
    try:
        row = f"rowid::UINTEGER AS {ident(ROW)}"
        read = ingested.rows_read
        typed_rows = _db_frame(con, f"SELECT count(*) AS n FROM {TYPED_TABLE}")["n"][0]
        if typed_rows != read:
            raise RowConservationError(f"rows read {read} != typed rows {typed_rows}")
        parsed = parse_reasons(_db_frame(
            con, f"SELECT {row}, parse_reasons FROM {TYPED_TABLE} WHERE len(parse_reasons) > 0"))
        parse_failed = parsed.select(ROW, "column").unique()
        ragged = parsed.filter(pl.col("column") == "row").select(ROW).unique()[ROW].implode()
        present = set(ingested.schema_columns)
        fill = ", ".join(f"CAST(NULL AS {SQL_TYPES[c.dtype]}) AS {ident(c.name)}"
                         for c in schema.COLUMNS if c.name not in present)
        rules = {rule_column(r): f"coalesce(({r.sql}), true)" for r in schema.CROSS_RULES}
        source = f"(SELECT {row}, *{', ' + fill if fill else ''} FROM {TYPED_TABLE})"

        def columns(names: list[str]) -> pl.DataFrame:
            exprs = ", ".join(f"{rules[n]} AS {ident(n)}" if n in rules else ident(n) for n in names)
            uses_as_of = any(n in rules and "$as_of" in rules[n] for n in names)
            frame = _db_frame(con, f"SELECT {ident(ROW)}, {exprs} FROM {source}",
                              **({"as_of": as_of} if uses_as_of else {}))
            return frame.filter(~pl.col(ROW).is_in(ragged))

        gx_result, failing = _run_gx(columns, read - ragged.list.len()[0])
        failed = _failures(gx_result, failing, parse_failed, as_of)

        def lineage(rows: pl.DataFrame) -> pl.DataFrame:
            con.register("__dispo_rows", rows.select(ROW))
            try:
                return _db_frame(con, f"SELECT {row}, {ident(_SRC)}, {ident(_RN)} FROM {TYPED_TABLE} "
                                      f"WHERE rowid IN (SELECT {ident(ROW)} FROM __dispo_rows)")
            finally:
                con.unregister("__dispo_rows")

        rejected_rows, rejects, reasons_counted = _quarantine(ingested, parsed, failed, lineage)
    finally:
        con.close()
    if rejects.height != rejected_rows.height or rejects.select(_SRC, _RN).is_duplicated().any():
        raise RowConservationError(f"rows read {read}: {rejected_rows.height} rows rejected, "
                                   f"{rejects.height} rejects")
    return StreamedValidation(ingested=ingested, rejected_rows=rejected_rows[ROW], rejects=rejects,
                              rows_read=read, reasons_counted=reasons_counted, gx_result=gx_result)


# The frame check of the Python API lives here, below dispo.api, so that calling the package needs
# no import from a higher layer (an upward import made a circle dispo.api <-> dispo.validate).
from dispo.validate.frame import Validated, validate_frame  # noqa: E402 - frame.py imports this module lazily


class _CallableModule(types.ModuleType):
    """``dispo.validate(df)`` is the Python API (:func:`dispo.validate.frame.validate_frame`), and
    ``dispo.validate`` is also this package: importing it makes it the ``validate`` attribute of
    ``dispo``, hiding the function. So the package itself is callable, and calls the function."""

    def __call__(self, frame: Any, **options: Any) -> Any:
        return validate_frame(frame, **options)


sys.modules[__name__].__class__ = _CallableModule
