"""The pipeline runner: config → ingest → validate → engine → reports, one way.

It only calls the stages, times them and tells a reporter what happened; the CLI decides how to
show it and which exit code to return.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import duckdb
import polars as pl

from dispo import engine, store
from dispo.config import PipelineConfig
from dispo.errors import DispoError

EXIT_OK, EXIT_ERROR, EXIT_GATE = 0, 1, 3
#: Inputs of more rows than this are validated in DuckDB and evaluated in batches (BATCH_ROWS),
#: their outputs streamed to disk (memory bounded by a batch, whatever the input's size; the outputs
#: are the same). Environment variable DISPO_CHUNK_ROWS, or run_pipeline(chunk_rows=...), overrides it.
CHUNK_ROWS = 1_000_000
#: DuckDB's memory limit in a run (its default, 80 % of RAM, lets its buffer pool keep gigabytes of
#: a big input's tables): the input's working tables spill to its temp directory past it.
DUCKDB_MEMORY_LIMIT = "2GB"
#: DuckDB's memory limit in a chunked run once validation is done (the rows are only read out).
DUCKDB_STREAMING_MEMORY_LIMIT = "512MB"


def chunk_rows_setting(chunk_rows: int | None = None) -> int:
    """The chunk size of a run: ``chunk_rows``, else DISPO_CHUNK_ROWS, else CHUNK_ROWS."""
    if chunk_rows is None:
        env = os.environ.get("DISPO_CHUNK_ROWS", "").strip().replace("_", "")
        chunk_rows = int(env) if env else CHUNK_ROWS
    from dispo.validate import MIN_BATCH_ROWS

    if chunk_rows < MIN_BATCH_ROWS:
        raise DispoError(f"chunk size must be at least {MIN_BATCH_ROWS} rows, got {chunk_rows}")
    return chunk_rows


#: Rows evaluated at once in a chunked run, and rows per bucket of its external sort: the engine's
#: wide frame holds ~300 columns (~2.4 GB a million rows), so half a million keeps a 10M-row run
#: under 8 GB with DuckDB's share (bench/README.md).
BATCH_ROWS = 500_000


def batch_rows(chunk_rows: int) -> int:
    """The batch of a chunked run: BATCH_ROWS, or ``chunk_rows`` when that is smaller (tests)."""
    return min(BATCH_ROWS, chunk_rows)


class Reporter(Protocol):
    def started(self, stage: str, detail: str) -> None: ...
    def finished(self, stage: str, detail: str, seconds: float) -> None: ...


class SilentReporter:
    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, detail: str, seconds: float) -> None:
        pass


@dataclass
class RunOutcome:
    exit_code: int
    output_dir: Path
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    gate_failed: bool
    summary: dict[str, Any] = field(default_factory=dict)
    results: pl.DataFrame | None = None
    rejects: pl.DataFrame | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def reject_fraction(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0


@contextmanager
def _timed(timings: dict[str, float], reporter: Reporter, stage: str, detail: str) -> Iterator[dict[str, str]]:
    note = {"detail": ""}
    reporter.started(stage, detail)
    t0 = time.perf_counter()
    yield note
    timings[stage] = round(time.perf_counter() - t0, 4)
    reporter.finished(stage, note["detail"], timings[stage])


def gate_failed(rows_read: int, rows_rejected: int, max_reject_fraction: float) -> bool:
    """docs/spec.md section 1: rejects exceeding max_reject_fraction of input rows fail the data-quality gate."""
    return rows_read > 0 and rows_rejected / rows_read > max_reject_fraction


def _connect(cfg: PipelineConfig) -> duckdb.DuckDBPyConnection:
    """The pipeline's database, read-write for the whole run: DuckDB's file lock refuses a second
    run on the same database (issue: safe reruns)."""
    path = cfg.database_path
    for d, what in ((cfg.output_dir, "output directory"), (path.parent, "run database's directory")):
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


#: Files a run writes into output_dir besides reports.OUTPUT_FILES (the atomic set's other members).
_OTHER_OUTPUTS = ("diff.csv", "report.html", "report.xlsx")


def check_inputs_are_not_outputs(cfg: PipelineConfig) -> None:
    """An input file where the run writes an output (e.g. ``--out`` the input's own directory with
    the input named ``holdings.csv``) would be replaced by it: refuse before anything is written."""
    from dispo.reports import OUTPUT_FILES
    from dispo.validate.data_docs import DATA_DOCS_DIR

    out = cfg.output_dir.resolve()
    written = {out / name for name in (*OUTPUT_FILES, *_OTHER_OUTPUTS)} | {cfg.database_path.resolve()}
    for p in cfg.inputs:
        rp = Path(p).resolve()
        if rp in written or out / DATA_DOCS_DIR in rp.parents:
            raise DispoError(f"{rp}: this input would be overwritten by the run's outputs in {out}; "
                             "move it or choose another output_dir")


def _quietly(fn: Callable[[], Any]) -> Callable[[], None]:
    def call() -> None:
        try:
            fn()
        except BaseException:  # noqa: BLE001 - the caller's own call of fn() reports it
            pass
    return call


def ingest_and_validate(cfg: PipelineConfig, con: duckdb.DuckDBPyConnection, reporter: Reporter,
                        timings: dict[str, float], *, chunk_rows: int | None = None):
    """Ingest then validate. Up to ``chunk_rows`` rows (default: no limit), the typed rows are
    loaded and validated in memory (a ``ValidationResult``); above, they stay in DuckDB and are
    validated there (a ``StreamedValidation``, whose accepted rows are read back in batches)."""
    from dispo.ingest import ingest
    from dispo.validate import validate, validate_streamed
    from dispo.validate.suite import import_gx

    # Great Expectations takes seconds to import (Python bytecode, one core) while ingest is DuckDB
    # (native, the GIL released): importing it meanwhile takes it off the run's critical path. A
    # failed import here is retried, and reported, by validate.
    gx_loader = threading.Thread(target=_quietly(import_gx), name="dispo-import-gx", daemon=True)
    gx_loader.start()
    n_files = len(cfg.inputs)
    with _timed(timings, reporter, "ingest", f"{n_files} file{'s' * (n_files != 1)}") as note:
        ingested = ingest(cfg.inputs, con, as_of=cfg.as_of, load_typed=False)
        streamed = chunk_rows is not None and ingested.rows_read > chunk_rows
        if not streamed:
            ingested = ingested.with_typed()
        note["detail"] = f"{ingested.rows_read:,} rows from {n_files} file{'s' * (n_files != 1)}"
    gx_loader.join()
    with _timed(timings, reporter, "validate", f"{ingested.rows_read:,} rows") as note:
        validated = (validate_streamed if streamed else validate)(ingested, as_of=cfg.as_of)
        note["detail"] = f"{validated.rows_accepted:,} accepted, {validated.rejects.height:,} rejected"
    return ingested, validated


def _evaluate_in_chunks(cfg: PipelineConfig, validated: Any, scratch: Path, chunk_rows: int):
    """The engine over the accepted rows a chunk at a time, each chunk's results and tax outcomes
    written to ``scratch`` (``reports.streamed.ChunkWriter``)."""
    from dispo.ingest import TYPED_TABLE
    from dispo.reports.streamed import ChunkWriter

    chunks = ChunkWriter(scratch)
    empty = None
    for batch in validated.accepted_batches(chunk_rows):
        wide = engine.evaluate_wide(batch, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                    cfg_defaults=cfg.defaults, columns=engine.OUTPUT_COLUMNS).collect()
        chunks.add(engine.results_frame(wide, batch), wide)
        if empty is None:
            empty = (engine.results_frame(wide.head(0), batch.head(0)), wide.head(0))
        del wide, batch
    if empty is None:  # every row rejected: the engine's types from an empty batch
        batch = validated.ingested.con.sql(
            f"SELECT * EXCLUDE (parse_reasons) FROM {TYPED_TABLE} LIMIT 0").pl()
        wide = engine.evaluate_wide(batch, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                    cfg_defaults=cfg.defaults, columns=engine.OUTPUT_COLUMNS).collect()
        empty = (engine.results_frame(wide, batch), wide)
    chunks.close(*empty)
    return chunks


def run_pipeline(cfg: PipelineConfig, *, reporter: Reporter | None = None, chunk_rows: int | None = None) -> RunOutcome:
    """Runs a pipeline end to end and writes its outputs atomically (docs/spec.md section 7).

    Inputs of more than ``chunk_rows`` rows (see ``CHUNK_ROWS``) are validated and evaluated in
    chunks and their outputs streamed (``dispo.reports.streamed``): the same outputs, in bounded
    memory; ``RunOutcome.results`` is then None (the results are in results.parquet)."""
    if cfg.engine == "spark":  # scale-out (docs/scale-out.md); pyspark is imported only in dispo.spark
        from dispo.spark import run_pipeline_spark

        return run_pipeline_spark(cfg, reporter)
    from dispo import reports
    from dispo.validate import ValidationResult

    reporter = reporter or SilentReporter()
    chunk_rows = chunk_rows_setting(chunk_rows)
    timings: dict[str, float] = {}
    started = time.time()
    check_inputs_are_not_outputs(cfg)
    con = _connect(cfg)
    run_id = store.new_run_id(cfg.as_of)
    scratch: Path | None = None
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        store.start_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                        config_digest=reports.config_digest(cfg.canonical()))
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings, chunk_rows=chunk_rows)
        rejects = validated.rejects
        chunks = wide = None
        with _timed(timings, reporter, "evaluate", f"{validated.rows_accepted:,} rows") as note:
            if isinstance(validated, ValidationResult):
                accepted = validated.accepted
                wide = engine.evaluate_wide(accepted, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                            cfg_defaults=cfg.defaults, columns=engine.OUTPUT_COLUMNS).collect()
                results = engine.results_frame(wide, accepted)
                n_results, n_columns = results.height, results.width
            else:  # chunked: results.parquet and the tax outcomes written as the chunks go
                from dispo.ingest import WORK_DATABASE
                from dispo.reports.streamed import scratch_dir

                scratch = scratch_dir(cfg.output_dir, run_id)
                # From here DuckDB only streams the accepted rows out: its buffer pool gives the
                # engine's batches the memory it held for validation (the rest spills to disk).
                con.execute(f"SET memory_limit = '{DUCKDB_STREAMING_MEMORY_LIMIT}'")
                chunks = _evaluate_in_chunks(cfg, validated, scratch, batch_rows(chunk_rows))
                # The input's working tables are done with: their memory goes to the sorts below.
                con.execute(f"DETACH DATABASE IF EXISTS {WORK_DATABASE}")
                results = chunks.results()  # a LazyFrame: never loaded whole
                n_results, n_columns = chunks.rows, len(results.collect_schema())
            note["detail"] = f"{n_results:,} rows × {n_columns} columns"
        failed = gate_failed(ingested.rows_read, rejects.height, cfg.max_reject_fraction)
        exit_code = EXIT_GATE if failed else EXIT_OK
        previous = store.previous_run(con, cfg.name, cfg.as_of)
        changes = (store.diff_frames(store.load_results(con, previous),
                                     results.lazy().select(store.DIFF_COLUMNS).collect(),
                                     from_run=previous, to_run=run_id)
                   if previous else None)
        with _timed(timings, reporter, "write", str(cfg.output_dir)) as note:
            summary = reports.summary(
                rows_read=ingested.rows_read, results=results, rejects=rejects, as_of=cfg.as_of,
                config=cfg.canonical(), max_reject_fraction=cfg.max_reject_fraction, timings=timings,
                exit_code=exit_code, pipeline=cfg.name, inputs=[str(p) for p in cfg.inputs],
                run_id=run_id,
                extra={"assumptions_changed": cfg.assumptions.overrides(), "defaults": dict(cfg.defaults),
                       "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                       "diff": changes.counts() if changes else None},
            )
            from dispo.reports.html import html_writer
            from dispo.reports.xlsx import RUN_MAX_ROWS, xlsx_writer
            from dispo.validate.data_docs import staged_data_docs

            def staged(out: Any, name: str) -> pl.LazyFrame:  # a chunked run's big table, once staged
                return pl.scan_parquet(out.staging / name)

            # report.xlsx and report.html join the atomic set; Data Docs swap in once it committed.
            with staged_data_docs(cfg.output_dir, validated.gx_result, run_name=cfg.name) as docs:
                readable = [
                    lambda out: out.write_csv("diff.csv", changes.table() if changes else store.EMPTY_DIFF),
                    lambda out: xlsx_writer(
                        results=results if chunks is None else staged(out, "results.parquet"), rejects=rejects,
                        summary=summary, max_rows=RUN_MAX_ROWS,
                        **({"wide": wide} if chunks is None else {"tax_outcomes": staged(out, "tax_outcomes.parquet")}),
                    )(out),
                    lambda out: html_writer(
                        results=results if chunks is None else staged(out, "results.parquet"), rejects=rejects,
                        summary=summary, data_docs_href=docs.href,
                        files=(*reports.output_files(csv=cfg.csv_outputs), "report.xlsx"),
                    )(out),
                ]
                if chunks is None:
                    files = reports.write_outputs(cfg.output_dir, results=results, wide=wide, rejects=rejects,
                                                  summary=summary, extra_writers=readable, csv=cfg.csv_outputs)
                else:
                    from dispo.reports.streamed import write_outputs_streamed

                    files = write_outputs_streamed(cfg.output_dir, chunks=chunks, rejects=rejects,
                                                   summary=summary, extra_writers=readable,
                                                   bucket_rows=max(1, batch_rows(chunk_rows) // 2),
                                                   csv=cfg.csv_outputs)
            note["detail"] = f"{len(files)} files"
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")  # the history insert writes wide row groups
        store.finish_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                         status="gate_failed" if failed else "ok", exit_code=exit_code, rows_read=ingested.rows_read,
                         results=results if chunks is None else cfg.output_dir / "results.parquet",
                         rows_accepted=n_results, rejects=rejects, versions=summary.get("versions", {}))
    except BaseException as e:
        store.fail_run(con, run_id, f"{type(e).__name__}: {e}")
        raise
    finally:
        con.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return RunOutcome(
        exit_code=exit_code, output_dir=cfg.output_dir, rows_read=ingested.rows_read,
        rows_accepted=n_results, rows_rejected=rejects.height, gate_failed=failed, summary=summary,
        results=results if chunks is None else None, rejects=rejects, files=files,
    )


def validate_only(cfg: PipelineConfig, *, reporter: Reporter | None = None) -> RunOutcome:
    """Ingest and validate without evaluating or writing reports (``dispo validate``)."""
    if cfg.input_uris:
        raise DispoError(f"dispo validate reads local files only; {cfg.input_uris[0]} is a URI (use dispo run --engine spark)")
    reporter = reporter or SilentReporter()
    timings: dict[str, float] = {}
    con = _connect(cfg)
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings, chunk_rows=chunk_rows_setting())
    finally:
        con.close()
    rejected = validated.rejects.height
    return RunOutcome(
        exit_code=EXIT_GATE if rejected else EXIT_OK, output_dir=cfg.output_dir, rows_read=ingested.rows_read,
        rows_accepted=validated.rows_accepted, rows_rejected=rejected,
        gate_failed=gate_failed(ingested.rows_read, rejected, cfg.max_reject_fraction),
        rejects=validated.rejects,
    )
