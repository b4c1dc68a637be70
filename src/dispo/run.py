"""The pipeline runner: config → ingest → validate → engine → reports, one way.

It only calls the stages, times them and tells a reporter what happened; the CLI decides how to
show it and which exit code to return.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

import duckdb
import polars as pl

from dispo import engine, store
from dispo.config import PipelineConfig
from dispo.errors import DispoError

EXIT_OK, EXIT_ERROR, EXIT_GATE = 0, 1, 3
DATABASE_NAME = "dispo.duckdb"


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
    """SPEC 1: rejects exceeding max_reject_fraction of input rows fail the data-quality gate."""
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


def ingest_and_validate(cfg: PipelineConfig, con: duckdb.DuckDBPyConnection, reporter: Reporter,
                        timings: dict[str, float]):
    from dispo.ingest import ingest
    from dispo.validate import validate

    n_files = len(cfg.inputs)
    with _timed(timings, reporter, "ingest", f"{n_files} file{'s' * (n_files != 1)}") as note:
        ingested = ingest(cfg.inputs, con, as_of=cfg.as_of)
        note["detail"] = f"{ingested.rows_read:,} rows from {n_files} file{'s' * (n_files != 1)}"
    with _timed(timings, reporter, "validate", f"{ingested.rows_read:,} rows") as note:
        validated = validate(ingested, as_of=cfg.as_of)
        note["detail"] = f"{validated.accepted.height:,} accepted, {validated.rejects.height:,} rejected"
    return ingested, validated


def run_pipeline(cfg: PipelineConfig, *, reporter: Reporter | None = None) -> RunOutcome:
    """Runs a pipeline end to end and writes its outputs atomically (SPEC section 7)."""
    if cfg.engine == "spark":  # scale-out (docs/scale-out.md); pyspark is imported only in dispo.spark
        from dispo.spark import run_pipeline_spark

        return run_pipeline_spark(cfg, reporter)
    from dispo import reports

    reporter = reporter or SilentReporter()
    timings: dict[str, float] = {}
    started = time.time()
    check_inputs_are_not_outputs(cfg)
    con = _connect(cfg)
    run_id = store.new_run_id(cfg.as_of)
    try:
        store.start_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                        config_digest=reports.config_digest(cfg.canonical()))
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings)
        accepted, rejects = validated.accepted, validated.rejects
        with _timed(timings, reporter, "evaluate", f"{accepted.height:,} rows") as note:
            wide = engine.evaluate_wide(accepted, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                        cfg_defaults=cfg.defaults).collect()
            results = engine.results_frame(wide, accepted)
            note["detail"] = f"{results.height:,} rows × {results.width} columns"
        failed = gate_failed(ingested.rows_read, rejects.height, cfg.max_reject_fraction)
        exit_code = EXIT_GATE if failed else EXIT_OK
        previous = store.previous_run(con, cfg.name, cfg.as_of)
        changes = (store.diff_frames(store.load_results(con, previous), results, from_run=previous, to_run=run_id)
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

            # report.xlsx and report.html join the atomic set; Data Docs swap in once it committed.
            with staged_data_docs(cfg.output_dir, validated.gx_result, run_name=cfg.name) as docs:
                readable = [
                    lambda out: out.write_csv("diff.csv", changes.table() if changes else store.EMPTY_DIFF),
                    xlsx_writer(results=results, rejects=rejects, summary=summary, wide=wide, max_rows=RUN_MAX_ROWS),
                    html_writer(results=results, rejects=rejects, summary=summary, data_docs_href=docs.href,
                                files=(*reports.OUTPUT_FILES, "report.xlsx")),
                ]
                files = reports.write_outputs(cfg.output_dir, results=results, wide=wide, rejects=rejects,
                                              summary=summary, extra_writers=readable)
            note["detail"] = f"{len(files)} files"
        store.finish_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                         status="gate_failed" if failed else "ok", exit_code=exit_code, rows_read=ingested.rows_read,
                         results=results, rejects=rejects, versions=summary.get("versions", {}))
    except BaseException as e:
        store.fail_run(con, run_id, f"{type(e).__name__}: {e}")
        raise
    finally:
        con.close()
    return RunOutcome(
        exit_code=exit_code, output_dir=cfg.output_dir, rows_read=ingested.rows_read,
        rows_accepted=results.height, rows_rejected=rejects.height, gate_failed=failed, summary=summary,
        results=results, rejects=rejects, files=files,
    )


def validate_only(cfg: PipelineConfig, *, reporter: Reporter | None = None) -> RunOutcome:
    """Ingest and validate without evaluating or writing reports (``dispo validate``)."""
    if cfg.input_uris:
        raise DispoError(f"dispo validate reads local files only; {cfg.input_uris[0]} is a URI (use dispo run --engine spark)")
    reporter = reporter or SilentReporter()
    timings: dict[str, float] = {}
    con = _connect(cfg)
    try:
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings)
    finally:
        con.close()
    rejected = validated.rejects.height
    return RunOutcome(
        exit_code=EXIT_GATE if rejected else EXIT_OK, output_dir=cfg.output_dir, rows_read=ingested.rows_read,
        rows_accepted=validated.accepted.height, rows_rejected=rejected,
        gate_failed=gate_failed(ingested.rows_read, rejected, cfg.max_reject_fraction),
        rejects=validated.rejects,
    )
