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

from dispo import engine
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
    cfg.output_dir.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(cfg.output_dir / DATABASE_NAME))
    except duckdb.Error as e:  # e.g. held by another process
        raise DispoError(f"{cfg.output_dir / DATABASE_NAME}: cannot open the run database: {e}") from None


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
    from dispo import reports

    reporter = reporter or SilentReporter()
    timings: dict[str, float] = {}
    started = time.time()
    con = _connect(cfg)
    try:
        ingested, validated = ingest_and_validate(cfg, con, reporter, timings)
        accepted, rejects = validated.accepted, validated.rejects
        with _timed(timings, reporter, "evaluate", f"{accepted.height:,} rows") as note:
            wide = engine.evaluate_wide(accepted, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                        cfg_defaults=cfg.defaults).collect()
            results = engine.results_frame(wide, accepted)
            note["detail"] = f"{results.height:,} rows × {results.width} columns"
        failed = gate_failed(ingested.rows_read, rejects.height, cfg.max_reject_fraction)
        exit_code = EXIT_GATE if failed else EXIT_OK
        with _timed(timings, reporter, "write", str(cfg.output_dir)) as note:
            summary = reports.summary(
                rows_read=ingested.rows_read, results=results, rejects=rejects, as_of=cfg.as_of,
                config=cfg.canonical(), max_reject_fraction=cfg.max_reject_fraction, timings=timings,
                exit_code=exit_code, pipeline=cfg.name, inputs=[str(p) for p in cfg.inputs],
                extra={"assumptions_changed": cfg.assumptions.overrides(), "defaults": dict(cfg.defaults),
                       "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started))},
            )
            files = reports.write_outputs(cfg.output_dir, results=results, wide=wide, rejects=rejects,
                                          summary=summary)
            note["detail"] = f"{len(files)} files"
    finally:
        con.close()
    return RunOutcome(
        exit_code=exit_code, output_dir=cfg.output_dir, rows_read=ingested.rows_read,
        rows_accepted=results.height, rows_rejected=rejects.height, gate_failed=failed, summary=summary,
        results=results, rejects=rejects, files=files,
    )


def validate_only(cfg: PipelineConfig, *, reporter: Reporter | None = None) -> RunOutcome:
    """Ingest and validate without evaluating or writing reports (``dispo validate``)."""
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
