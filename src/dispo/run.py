"""The pipeline runner: config → ingest → validate → engine → reports, one way.

It only calls the stages, times them and tells a reporter what happened; the CLI decides how to
show it and which exit code to return.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import polars as pl

from dispo import engine, store
from dispo.config import PipelineConfig
from dispo.errors import DispoError
from dispo.outcome import (  # noqa: F401 - re-exported: the runner's vocabulary (dispo.outcome)
    EXIT_ERROR, EXIT_GATE, EXIT_OK, FAILED_DIR, Reporter, RunOutcome, SilentReporter, gate_failed,
    set_directory, timed,
)

#: Inputs of more rows than this are validated in DuckDB, not in memory; every run is evaluated in
#: batches of at most this many rows (and BATCH_ROWS) and its outputs streamed to disk (the outputs
#: are the same whatever the sizes). Measured at 1M rows (bench/README.md): 400k instead of 1M took the
#: peak from 3.4 to 2.9 GB at the same CPU time. Environment variable DISPO_CHUNK_ROWS, or
#: run_pipeline(chunk_rows=...), overrides it.
CHUNK_ROWS = 250_000
#: DuckDB's memory limit in a run (its default, 80 % of RAM, lets its buffer pool keep gigabytes of
#: a big input's tables): the input's working tables spill to its temp directory past it.
DUCKDB_MEMORY_LIMIT = "2GB"
#: DuckDB's memory limit in a chunked run once validation is done (the rows are only read out).
DUCKDB_STREAMING_MEMORY_LIMIT = "512MB"
#: ... and while the engine runs: the accepted rows are read a batch at a time (the rest of the
#: typed table spills), which makes room for the batch of results written in a thread meanwhile
#: (1M rows: evaluate's peak 2.8-3.0 GB with the writer thread at 256 MB, as without it at 512 MB).
DUCKDB_EVALUATE_MEMORY_LIMIT = "256MB"


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
#: wide frame holds ~300 columns (~2.4 GB a million rows), and a batch of results waits for the
#: writer thread while the next is evaluated. Measured at 1M rows (Parquet input, bench/README.md):
#: batches of 250,000 peaked at 3,097 MB in evaluate, 200,000 at 2,746 MB, same evaluate time.
BATCH_ROWS = 200_000


def batch_rows(chunk_rows: int) -> int:
    """The batch of a chunked run: BATCH_ROWS, or ``chunk_rows`` when that is smaller (tests)."""
    return min(BATCH_ROWS, chunk_rows)


def _connect(cfg: PipelineConfig) -> duckdb.DuckDBPyConnection:
    """The pipeline's database, read-write for the whole run (:func:`dispo.store.connect`)."""
    return store.connect(cfg.database_path, cfg.output_dir)


#: Files a run writes into output_dir besides reports.OUTPUT_FILES (the atomic set's other members);
#: reports.LEGACY_FILES are removed by a run's commit, so an input must not be named like them either.
_OTHER_OUTPUTS = ("diff.csv", "report.html", "report.xlsx")


def check_inputs_are_not_outputs(cfg: PipelineConfig) -> None:
    """An input file where the run writes an output (e.g. ``--out`` the input's own directory with
    the input named ``holdings.csv``) would be replaced by it: refuse before anything is written."""
    from dispo.reports import LEGACY_FILES, OUTPUT_FILES
    from dispo.validate.data_docs import DATA_DOCS_DIR

    out = cfg.output_dir.resolve()
    sets = (out, out / FAILED_DIR)
    written = {d / name for d in sets for name in (*OUTPUT_FILES, *LEGACY_FILES, *_OTHER_OUTPUTS)} | {cfg.database_path.resolve()}
    for p in cfg.inputs:
        rp = Path(p).resolve()
        if rp in written or any(d / DATA_DOCS_DIR in rp.parents for d in sets):
            raise DispoError(f"{rp}: this input would be overwritten by the run's outputs in {out}; "
                             "move it or choose another output_dir")


def _quietly(fn: Callable[[], Any]) -> Callable[[], None]:
    def call() -> None:
        try:
            fn()
        except BaseException:  # noqa: BLE001 - the caller's own call of fn() reports it
            pass
    return call


#: Modules the evaluate and write stages import on first use (~0.3 s): imported while GX's worker
#: process validates, when the run has one (the run waits for it then anyway).
_OUTPUT_MODULES = ("dispo.engine", "dispo.reports.readable", "dispo.reports.html", "dispo.reports.xlsx",
                   "xlsxwriter", "pyarrow.compute")


def _head_start(cfg: PipelineConfig, typed: pl.DataFrame) -> None:
    """What the run does while GX's worker process validates: imports the later stages' modules
    and evaluates no rows (the engine's parameter tables parsed and cached, ~0.1 s)."""
    import importlib

    for name in _OUTPUT_MODULES:
        importlib.import_module(name)
    engine.evaluate_wide(typed.head(0).drop("parse_reasons", strict=False), as_of=cfg.as_of,
                         assumptions=cfg.assumptions, cfg_defaults=cfg.defaults,
                         columns=engine.OUTPUT_COLUMNS).collect()


def ingest_and_validate(cfg: PipelineConfig, con: duckdb.DuckDBPyConnection, reporter: Reporter,
                        timings: dict[str, float], *, chunk_rows: int | None = None):
    """Ingest then validate. Up to ``chunk_rows`` rows (default: no limit), the typed rows are
    loaded and validated in memory (a ``ValidationResult``); above, they stay in DuckDB and are
    validated there (a ``StreamedValidation``, whose accepted rows are read back in batches)."""
    from dispo.ingest import ingest
    from dispo.validate import validate, validate_streamed
    from dispo.validate import worker as gx_worker
    from dispo.validate.suite import import_gx

    # Great Expectations takes seconds to import (Python bytecode, one core): a small run of the
    # command line validates in GX's worker process, which imported it on the other core meanwhile
    # (dispo.validate.worker); otherwise it is imported in a thread while DuckDB ingests (native,
    # the GIL released). A failed import here is retried, and reported, by validate.
    worker = gx_worker.claim(cfg.inputs)
    if worker is None:
        threading.Thread(target=_quietly(import_gx), name="dispo-import-gx", daemon=True).start()
    n_files = len(cfg.inputs)
    with timed(timings, reporter, "ingest", f"{n_files} file{'s' * (n_files != 1)}") as note:
        ingested = ingest(cfg.inputs, con, as_of=cfg.as_of, load_typed=False, options=cfg.input_options)
        streamed = chunk_rows is not None and ingested.rows_read > chunk_rows
        if not streamed:
            ingested = ingested.with_typed()
            if worker is not None:
                worker.meanwhile = lambda: _head_start(cfg, ingested.typed)
        note["detail"] = f"{ingested.rows_read:,} rows from {n_files} file{'s' * (n_files != 1)}"
    with timed(timings, reporter, "validate", f"{ingested.rows_read:,} rows") as note:
        validated = (validate_streamed(ingested, as_of=cfg.as_of) if streamed
                     else validate(ingested, as_of=cfg.as_of, worker=worker))
        note["detail"] = f"{validated.rows_accepted:,} accepted, {validated.rejects.height:,} rejected"
    return ingested, validated


def _engine_batches(validated: Any, rows: int) -> Iterator[pl.DataFrame]:
    """The accepted rows in batches of ``rows``; with none, one empty batch (the engine's output
    types for an empty set)."""
    empty = True
    for batch in validated.accepted_batches(rows):
        empty = False
        yield batch
    if empty:
        yield validated.empty_batch()


def evaluate_batches(cfg: PipelineConfig, validated: Any, scratch: Path, rows: int):
    """The engine over the accepted rows ``rows`` at a time, each batch's results and tax outcomes
    written to ``scratch`` (``reports.streamed.ChunkWriter``): a run of any size takes this path."""
    from dispo.reports.streamed import ChunkWriter

    # SPEC 5.5: the per-row assumption columns without a row value, decided once for the run
    given = engine.row_value_columns(validated.empty_batch().columns)
    without = engine.without_row_value(validated.non_null_counts(given), validated.rows_accepted, cfg.defaults)
    chunks = ChunkWriter(scratch)  # writes batch i in a thread while batch i + 1 is evaluated
    try:
        for batch in _engine_batches(validated, rows):
            wide = engine.evaluate_wide(batch, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                        cfg_defaults=cfg.defaults, columns=engine.OUTPUT_COLUMNS).collect()
            chunks.add(engine.results_frame(wide, batch, without), wide)
            del wide, batch
    except BaseException:
        chunks.abandon()
        raise
    chunks.close()
    return chunks


def run_pipeline(cfg: PipelineConfig, *, reporter: Reporter | None = None, chunk_rows: int | None = None) -> RunOutcome:
    """Runs a pipeline end to end on its engine (``ENGINE_RUNNERS``) and writes its outputs
    atomically (docs/spec.md section 7)."""
    runner = ENGINE_RUNNERS.get(cfg.engine)
    if runner is None:
        raise DispoError(f"unknown engine {cfg.engine!r} (one of {', '.join(ENGINE_RUNNERS)})")
    return runner(cfg, reporter or SilentReporter(), chunk_rows)


def _run_spark(cfg: PipelineConfig, reporter: Reporter, chunk_rows: int | None) -> RunOutcome:
    """Scale-out (docs/scale-out.md); pyspark is imported only in dispo.spark."""
    from dispo.spark import run_pipeline_spark
    from dispo.validate import worker as gx_worker

    gx_worker.discard()  # Spark validates without Great Expectations' worker process

    return run_pipeline_spark(cfg, reporter)


def _diff_with_previous(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str,
                        results_path: Path) -> store.Diff | None:
    previous = store.previous_run(con, cfg.name, cfg.as_of)
    if previous is None:
        return None
    now = pl.scan_parquet(results_path, glob=False).select(store.DIFF_COLUMNS).collect()
    return store.diff_frames(store.load_results(con, previous), now, from_run=previous, to_run=run_id)


#: Bytes a run's output set takes per accepted row, about (measured on the sample portfolios:
#: results.parquet, tax_outcomes.parquet, worklists, report.xlsx), plus the CSVs of csv_outputs
#: "all"; the scratch files and the sort's buckets need as much again while the set is written.
SET_BYTES_PER_ROW = {"none": 1_200, "worklists": 1_700, "all": 4_000}


def _disk_full(e: BaseException) -> bool:
    """An error of a full disk (or quota), however the writing library wrapped it (Polars' Parquet
    writer says "File out of specification")."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "no space left" in str(seen).lower() or "disk quota exceeded" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def _disk_full_is_one_line(cfg: PipelineConfig, rows: Callable[[], int]) -> Iterator[None]:
    """A full disk while a run writes becomes one line naming the output directory and the space
    the set needs (the atomic set leaves the previous outputs in place)."""
    try:
        yield
    except Exception as e:
        if not _disk_full(e) and not (type(e).__name__ == "ComputeError" and "out of specification" in str(e)):
            raise
        needed = 2 * rows() * SET_BYTES_PER_ROW[cfg.csv_outputs]
        free = shutil.disk_usage(cfg.output_dir).free if cfg.output_dir.exists() else 0
        raise DispoError(f"{cfg.output_dir}: the disk is full: this run's outputs need about "
                         f"{needed / 1e6:,.0f} MB while written ({free / 1e6:,.0f} MB free); "
                         "the previous outputs are in place") from None


def _run_local(cfg: PipelineConfig, reporter: Reporter, chunk_rows: int | None) -> RunOutcome:
    """This process's run: ingest, validate (in memory up to ``chunk_rows`` rows, in DuckDB
    above), the engine a batch at a time, one streamed writer (``reports.streamed``): the same code
    whatever the size. A gate-failed run writes its set to output_dir/failed."""
    from dispo import reports
    from dispo.ingest import WORK_DATABASE
    from dispo.reports.streamed import scratch_dir
    from dispo.validate import worker as gx_worker
    from dispo.validate.data_docs import staged_data_docs

    chunk_rows = chunk_rows_setting(chunk_rows)
    timings: dict[str, float] = {}
    started = time.time()
    check_inputs_are_not_outputs(cfg)
    con = _connect(cfg)
    run_id = store.new_run_id(cfg.as_of)
    scratch = scratch_dir(cfg.output_dir, run_id)
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        store.start_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                        config_digest=reports.config_digest(cfg.canonical()))
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings, chunk_rows=chunk_rows)
        rejects = validated.rejects
        failed = gate_failed(ingested.rows_read, rejects.height, cfg.max_reject_fraction)
        exit_code = EXIT_GATE if failed else EXIT_OK
        written_to = set_directory(cfg.output_dir, failed)
        # Data Docs are staged from here (rendered meanwhile where GX's worker process holds the
        # result) and swapped in once the set has committed; an error before leaves the old ones.
        with staged_data_docs(written_to, validated.gx_result, run_name=cfg.name) as docs:
            full_disk = _disk_full_is_one_line(cfg, lambda: validated.rows_accepted)
            with full_disk, timed(timings, reporter, "evaluate", f"{validated.rows_accepted:,} rows") as note:
                # From here DuckDB only streams the accepted rows out: its buffer pool gives the
                # engine's batches the memory it held for validation (the rest spills to disk).
                con.execute(f"SET memory_limit = '{DUCKDB_EVALUATE_MEMORY_LIMIT}'")
                chunks = evaluate_batches(cfg, validated, scratch, batch_rows(chunk_rows))
                con.execute(f"DETACH DATABASE IF EXISTS {WORK_DATABASE}")  # its memory goes to the sorts
                con.execute(f"SET memory_limit = '{DUCKDB_STREAMING_MEMORY_LIMIT}'")
                n_columns = len(chunks.results().collect_schema())
                note["detail"] = f"{chunks.rows:,} rows × {n_columns} columns"
            changes = _diff_with_previous(con, cfg, run_id, chunks.results_path)
            with _disk_full_is_one_line(cfg, lambda: chunks.rows), timed(timings, reporter, "write", str(written_to)) as note:
                summary = _summary(cfg, ingested.rows_read, chunks, rejects, timings, exit_code, run_id, started,
                                   changes, written_to)
                summary.update(ingested.summary_notes())  # blank_rows, encodings (docs/spec.md section 2)
                if getattr(validated.gx_result, "gx_version", None):  # GX ran in its worker process
                    summary["versions"].setdefault("great_expectations", validated.gx_result.gx_version)
                files = _write_set(cfg, written_to, chunks, rejects, summary, docs, changes, chunk_rows)
                note["detail"] = f"{len(files)} files"
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        store.finish_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                         status="gate_failed" if failed else "ok", exit_code=exit_code, rows_read=ingested.rows_read,
                         results=written_to / "results.parquet", rows_accepted=chunks.rows, rejects=rejects,
                         versions=summary.get("versions", {}), extra_columns=cfg.worklist_columns)
    except BaseException as e:
        store.fail_run(con, run_id, f"{type(e).__name__}: {e}")
        raise
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
        gx_worker.close_claimed()
    return RunOutcome(
        exit_code=exit_code, output_dir=cfg.output_dir, rows_read=ingested.rows_read, rows_accepted=chunks.rows,
        rows_rejected=rejects.height, gate_failed=failed, summary=summary, rejects=rejects, files=files,
        written_to=written_to,
    )


def _summary(cfg: PipelineConfig, rows_read: int, chunks: Any, rejects: pl.DataFrame, timings: dict[str, float],
             exit_code: int, run_id: str, started: float, changes: store.Diff | None, written_to: Path) -> dict:
    """summary.json of a local run; a gate-failed run's says where its set went and that the
    previous outputs stay (docs/spec.md section 7)."""
    from dispo import reports

    outputs: dict[str, Any] = {"directory": str(written_to), "purpose": cfg.purpose, "csv_outputs": cfg.csv_outputs,
                               "worklist_columns": list(cfg.worklist_columns)}
    if written_to != cfg.output_dir:
        outputs["note"] = (f"the data-quality gate failed: this run's outputs are in {written_to}; "
                           f"the previous good outputs in {cfg.output_dir} are unchanged")
    return reports.summary(
        rows_read=rows_read, results=chunks.results(), rejects=rejects, as_of=cfg.as_of,
        config=cfg.canonical(), max_reject_fraction=cfg.max_reject_fraction, timings=timings,
        exit_code=exit_code, pipeline=cfg.name, inputs=[str(p) for p in cfg.inputs], run_id=run_id,
        extra={"assumptions_changed": cfg.assumptions.overrides(), "defaults": dict(cfg.defaults),
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
               "diff": changes.counts() if changes else None, "outputs": outputs},
    )


def _write_set(cfg: PipelineConfig, written_to: Path, chunks: Any, rejects: pl.DataFrame, summary: dict,
               docs: Any, changes: store.Diff | None, chunk_rows: int) -> list[Path]:
    """The run's whole set into ``written_to``, atomically; the staged Data Docs (``docs``) swap
    in once it committed."""
    from dispo import reports
    from dispo.reports.readable import readable_writers
    from dispo.reports.streamed import write_run_outputs

    readable = readable_writers(
        purpose=cfg.purpose, worklist_columns=cfg.worklist_columns, rejects=rejects, summary=summary, data_docs_href=docs.href,
        files=reports.output_files(purpose=cfg.purpose, csv_outputs=cfg.csv_outputs),
        diff=changes.table() if changes else store.EMPTY_DIFF)
    return write_run_outputs(written_to, chunks=chunks, rejects=rejects, summary=summary,
                             extra_writers=readable, bucket_rows=max(1, batch_rows(chunk_rows) // 2),
                             purpose=cfg.purpose, csv_outputs=cfg.csv_outputs,
                             worklist_columns=cfg.worklist_columns)


#: The engines a pipeline may name (``[pipeline] engine``, ``--engine``), each with its runner.
ENGINE_RUNNERS: dict[str, Callable[[PipelineConfig, Reporter, int | None], RunOutcome]] = {
    "local": _run_local,
    "spark": _run_spark,
}


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
