"""Run history in the pipeline's DuckDB database: every run, its decisions and rejects; diffs.

A run's ``history_results`` rows hold ``HISTORY_COLUMNS`` only (lineage, the worklist columns, the
decision columns; docs/spec.md section 7), not every output: what a diff and a reader of past nights need,
at a fraction of the bytes (results.parquet of the run holds the rest).

One database per pipeline (``[pipeline] database``, default ``output_dir/dispo.duckdb``). The
runner holds its read-write connection for the whole run, so DuckDB's own file lock refuses a
second run on the same database. A run is recorded as ``running`` when it starts and replaced by
the finished record, with its results and rejects, in one transaction at the end: a killed run
leaves at most a stale ``running`` row, which the next run marks ``killed``. Re-running a pipeline
for the same as_of replaces that run's rows (idempotent).

Identifiers come from the schema and our own table names only; every value is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl

from dispo.errors import DispoError

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    pipeline VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    started TIMESTAMP NOT NULL,
    finished TIMESTAMP,
    status VARCHAR NOT NULL,          -- running | ok | gate_failed | failed | killed
    exit_code INTEGER,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_rejected BIGINT,
    config_digest VARCHAR,
    versions VARCHAR,                 -- JSON
    error VARCHAR
)
"""
HISTORY_TABLES = ("history_results", "history_rejects")

#: What a diff compares (docs/spec.md section 6 H8 and 5 L7): recommendations that can flip, values that move.
DIFF_CHANGES = ("hold_recommendation", "lender_best_option")
DIFF_MOVES = ("sell_advantage_pv", "lender_savings_vs_foreclosure")
#: Decisions kept besides the worklists' columns (L7-L9, M7, H8).
DECISION_COLUMNS = ("loss_mit_candidate", "offer_acceptable", "mod_eligible", "keeps_home", "lender_best_option",
                    "hold_recommendation", "borrower_best_option")


def history_columns(result_columns: Sequence[str]) -> list[str]:
    """The columns of a run's results kept in ``history_results``: lineage, the worklists' columns
    (without rank and reason, which a reader rebuilds), the decision columns, and the extra input
    columns named in ``worklist_columns``; those the results have, in the results' order."""
    from dispo.reports.worklists import WORKLISTS

    wanted = {"source_file", "row_number", *DECISION_COLUMNS, *DIFF_CHANGES, *DIFF_MOVES,
              *(c for w in WORKLISTS for c in w.columns)} - {"rank", "reason"}
    return [c for c in result_columns if c in wanted]


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> pl.DataFrame:
    """A parameterised query's whole result as Polars, handed over through Arrow."""
    return con.sql(query, params=params).pl()


def new_run_id(as_of: dt.date) -> str:
    """Sortable and unique: the wall-clock start plus a short random suffix."""
    return f"{dt.datetime.now():%Y%m%dT%H%M%S}-{as_of:%Y%m%d}-{secrets.token_hex(2)}"


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Creates the runs table on first use (a read-only connection to a new database sees none)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'").fetchall()[0][0]:
        con.execute(RUNS_DDL)


def mark_stale_runs(con: duckdb.DuckDBPyConnection, pipeline: str) -> int:
    """A ``running`` row while we hold the database's lock belongs to a run that was killed."""
    n = con.execute("SELECT count(*) FROM runs WHERE pipeline = ? AND status = 'running'", [pipeline]).fetchall()[0][0]
    if n:
        con.execute("UPDATE runs SET status = 'killed', finished = now() WHERE pipeline = ? AND status = 'running'",
                    [pipeline])
    return n


def start_run(con: duckdb.DuckDBPyConnection, *, run_id: str, pipeline: str, as_of: dt.date,
              config_digest: str) -> None:
    ensure(con)
    mark_stale_runs(con, pipeline)
    con.execute("INSERT INTO runs (run_id, pipeline, as_of, started, status, config_digest) "
                "VALUES (?, ?, ?, now(), 'running', ?)", [run_id, pipeline, as_of, config_digest])


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, rel: duckdb.DuckDBPyRelation) -> None:
    """Extra input columns differ between runs: widen the history table instead of failing."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
    for name, dtype in zip(rel.columns, rel.types):
        if name not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name.replace(chr(34), chr(34) * 2)}" {dtype}')


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _append(con: duckdb.DuckDBPyConnection, table: str, run_id: str, frame: pl.DataFrame | str | os.PathLike,
            columns: Sequence[str] | None = None) -> None:
    """Appends ``frame`` (or the Parquet file at that path: a run's results.parquet, read by DuckDB
    without loading it in Python) with its run_id; only ``columns`` when given."""
    if isinstance(frame, pl.DataFrame):
        kept = list(columns) if columns is not None else frame.columns
        data = frame.with_columns(pl.lit(run_id).alias("run_id")).select("run_id", *kept)
        con.register("_dispo_batch", data.to_arrow())
    else:
        def lit(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        picked = ", ".join(map(_quoted, columns)) if columns is not None else "*"
        con.execute(f"CREATE OR REPLACE TEMP VIEW _dispo_batch AS "
                    f"SELECT {lit(run_id)}::VARCHAR AS run_id, {picked} FROM read_parquet({lit(str(frame))})")
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchall()[0][0]
        if not exists:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _dispo_batch")
        else:
            _add_missing_columns(con, table, con.table("_dispo_batch").limit(0))
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _dispo_batch")
    finally:
        if isinstance(frame, pl.DataFrame):
            con.unregister("_dispo_batch")
        else:
            con.execute("DROP VIEW IF EXISTS _dispo_batch")


def finish_run(con: duckdb.DuckDBPyConnection, *, run_id: str, pipeline: str, as_of: dt.date, status: str,
               exit_code: int, rows_read: int, results: pl.DataFrame | str | os.PathLike, rejects: pl.DataFrame,
               versions: dict[str, Any], rows_accepted: int | None = None,
               extra_columns: Sequence[str] = ()) -> list[str]:
    """Records a finished run with its results (``history_columns`` of them, and the
    ``extra_columns`` of its worklists) and rejects, replacing earlier runs of the same pipeline and
    as_of, all in one transaction. Returns the run ids it replaced.

    ``results`` may be the path of a results.parquet, then ``rows_accepted`` its rows."""
    names = results.columns if isinstance(results, pl.DataFrame) else pl.read_parquet_schema(results).keys()
    kept = history_columns(list(names))
    kept += [c for c in extra_columns if c in names and c not in kept]
    con.execute("BEGIN TRANSACTION")
    try:
        replaced = [r[0] for r in con.execute(
            "SELECT run_id FROM runs WHERE pipeline = ? AND as_of = ? AND run_id <> ? AND status <> 'running'",
            [pipeline, as_of, run_id]).fetchall()]
        for table in HISTORY_TABLES:
            exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [table]).fetchall()[0][0]
            if exists and replaced:
                con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?))", [replaced])
        if replaced:
            con.execute("DELETE FROM runs WHERE run_id IN (SELECT unnest(?))", [replaced])
        _append(con, "history_results", run_id, results, kept)
        _append(con, "history_rejects", run_id, rejects.with_columns(pl.col("reasons").list.join("; ")))
        con.execute(
            "UPDATE runs SET finished = now(), status = ?, exit_code = ?, rows_read = ?, rows_accepted = ?, "
            "rows_rejected = ?, versions = ? WHERE run_id = ?",
            [status, exit_code, rows_read, results.height if isinstance(results, pl.DataFrame) else rows_accepted,
             rejects.height, json.dumps(versions), run_id])
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # a failed COMMIT has ended the transaction already; keep the first error
            pass
        raise
    return replaced


def fail_run(con: duckdb.DuckDBPyConnection, run_id: str, error: str) -> None:
    """Marks the run failed, as far as the database still can (a full disk, say, may refuse even
    that: the run's own error is the one to report, so this never raises; the next run marks a
    run left 'running' as killed)."""
    try:
        con.execute("UPDATE runs SET finished = now(), status = 'failed', exit_code = 1, error = ? WHERE run_id = ?",
                    [error[:2000], run_id])
    except duckdb.Error:
        pass


def history(con: duckdb.DuckDBPyConnection, pipeline: str | None = None) -> pl.DataFrame:
    ensure(con)
    where, args = ("WHERE pipeline = ?", [pipeline]) if pipeline else ("", [])
    return _frame(con, "SELECT run_id, pipeline, as_of, started, finished, status, exit_code, rows_read, "
                  f"rows_accepted, rows_rejected, config_digest FROM runs {where} ORDER BY started", args)


@dataclass
class Diff:
    from_run: str
    to_run: str
    added: pl.DataFrame
    removed: pl.DataFrame
    changes: pl.DataFrame
    moves: pl.DataFrame

    def counts(self) -> dict[str, Any]:
        return {"from_run": self.from_run, "to_run": self.to_run, "added": self.added.height,
                "removed": self.removed.height, "recommendation_changes": self.changes.height}

    def table(self) -> pl.DataFrame:
        """One flat table for diff.csv: change (added, removed, recommendation, move), property_id,
        field; before/after for a recommendation flip; value_before/value_after/delta for a move."""
        parts = [
            self.added.select(pl.lit("added").alias("change"), "property_id"),
            self.removed.select(pl.lit("removed").alias("change"), "property_id"),
            self.changes.select(pl.lit("recommendation").alias("change"), "property_id", "field",
                                pl.col("before").cast(pl.String), pl.col("after").cast(pl.String)),
            self.moves.select(pl.lit("move").alias("change"), "property_id", "field",
                              pl.col("before").alias("value_before"), pl.col("after").alias("value_after"), "delta"),
        ]
        out = pl.concat([EMPTY_DIFF.drop("from_run", "to_run"), *parts], how="diagonal_relaxed")
        return out.with_columns(pl.lit(self.from_run).alias("from_run"), pl.lit(self.to_run).alias("to_run"))


def _finished(con: duckdb.DuckDBPyConnection, pipeline: str) -> list[tuple[str, dt.date]]:
    """Finished runs (ok or gate_failed), newest as_of first."""
    return con.execute(
        "SELECT run_id, as_of FROM runs WHERE pipeline = ? AND status IN ('ok', 'gate_failed') "
        "ORDER BY as_of DESC, started DESC", [pipeline]).fetchall()


def _resolve(done: list[tuple[str, dt.date]], pipeline: str, ref: str) -> str:
    """A run id, or an as_of date YYYY-MM-DD naming that day's run."""
    for run_id, as_of in done:
        if ref in (run_id, as_of.isoformat()):
            return run_id
    raise DispoError(f"pipeline '{pipeline}': no finished run '{ref}' in history (see `dispo history`)")


def previous_run(con: duckdb.DuckDBPyConnection, pipeline: str, as_of: dt.date) -> str | None:
    """The latest finished run of an earlier as_of: what tonight's run is compared with."""
    ensure(con)
    return next((run_id for run_id, day in _finished(con, pipeline) if day < as_of), None)


DIFF_COLUMNS = ("property_id", *DIFF_CHANGES, *DIFF_MOVES)
#: diff.csv's columns; written empty when there is no earlier run to compare with.
EMPTY_DIFF = pl.DataFrame(schema={"change": pl.String, "property_id": pl.String, "field": pl.String,
                                  "before": pl.String, "after": pl.String, "value_before": pl.Float64,
                                  "value_after": pl.Float64, "delta": pl.Float64,
                                  "from_run": pl.String, "to_run": pl.String})


def load_results(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    return _frame(con, f"SELECT {', '.join(DIFF_COLUMNS)} FROM history_results WHERE run_id = ?", [run_id])


def diff_frames(a: pl.DataFrame, b: pl.DataFrame, *, from_run: str, to_run: str, top: int = 20) -> Diff:
    """What changed from results ``a`` to results ``b``: ids added and removed, recommendation
    flips (hold/sell, lender_best_option), the ``top`` biggest moves of each value."""
    a, b = a.select(DIFF_COLUMNS), b.select(DIFF_COLUMNS)
    added = b.join(a, on="property_id", how="anti").select("property_id").sort("property_id")
    removed = a.join(b, on="property_id", how="anti").select("property_id").sort("property_id")
    both = a.join(b, on="property_id", how="inner", suffix="_to")
    changes = pl.concat([
        both.filter(pl.col(f).ne_missing(pl.col(f"{f}_to"))).select(
            "property_id", pl.lit(f).alias("field"), pl.col(f).alias("before"), pl.col(f"{f}_to").alias("after"))
        for f in DIFF_CHANGES
    ]).sort("field", "property_id")
    moves = pl.concat([
        both.select("property_id", pl.lit(f).alias("field"), pl.col(f).alias("before"),
                    pl.col(f"{f}_to").alias("after"), (pl.col(f"{f}_to") - pl.col(f)).alias("delta"))
        .filter(pl.col("delta").is_not_null() & (pl.col("delta") != 0))
        .sort(pl.col("delta").abs(), "property_id", descending=[True, False]).head(top)
        for f in DIFF_MOVES
    ])
    return Diff(from_run, to_run, added, removed, changes, moves)


def diff(con: duckdb.DuckDBPyConnection, pipeline: str, from_ref: str | None = None, to_ref: str | None = None,
         top: int = 20) -> Diff:
    """The diff between two recorded runs; by default the latest and the one before it."""
    ensure(con)
    done = _finished(con, pipeline)
    to_run = _resolve(done, pipeline, to_ref) if to_ref else (done[0][0] if done else None)
    if to_run is None:
        raise DispoError(f"pipeline '{pipeline}': no finished run in history yet")
    if from_ref:
        from_run = _resolve(done, pipeline, from_ref)
    else:
        later = [r for r, _ in done]
        rest = later[later.index(to_run) + 1:]
        if not rest:
            raise DispoError(f"pipeline '{pipeline}': only one finished run in history; a diff needs two")
        from_run = rest[0]
    if from_run == to_run:
        raise DispoError(f"pipeline '{pipeline}': --from and --to name the same run {to_run}")
    return diff_frames(load_results(con, from_run), load_results(con, to_run), from_run=from_run, to_run=to_run,
                       top=top)


def runs_for(con: duckdb.DuckDBPyConnection, pipeline: str) -> Sequence[tuple]:
    return con.execute("SELECT run_id, status FROM runs WHERE pipeline = ? ORDER BY started", [pipeline]).fetchall()


def connect(path: Path, output_dir: Path) -> duckdb.DuckDBPyConnection:
    """A run's database at ``path``, read-write for the whole run (both engines' runners): DuckDB's
    file lock refuses a second run on the same database (issue: safe reruns). Creates
    ``output_dir`` and the database's directory; every problem is one line."""
    for d, what in ((output_dir, "output directory"), (path.parent, "run database's directory")):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a file in the way, no permission ...
            raise DispoError(f"{d}: cannot create the {what}: {e.strerror or e}") from None
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise DispoError(f"{path}: another dispo run is using this database (a run is in progress); "
                             "try again when it finishes") from None
        raise DispoError(f"{path}: cannot open the run database: {e}") from None
    except duckdb.Error as e:
        raise DispoError(f"{path}: cannot open the run database: {e}") from None
