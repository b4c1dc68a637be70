"""What every engine's runner shares (the local one in :mod:`dispo.run`, Spark's in
:mod:`dispo.spark.runner`): exit codes, the reporter a runner tells its stages to, the outcome it
returns, stage timing and the data-quality gate. It sits below both, so neither imports the other.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol

import polars as pl

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_GATE = 0, 1, 2, 3
#: Where a gate-failed run (exit 3) writes its set, inside output_dir (docs/spec.md section 7).
FAILED_DIR = "failed"


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
    """What a run did. ``written_to`` is where its set went: output_dir, or output_dir/failed for
    a gate-failed run (the previous good outputs stay in output_dir)."""

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
    written_to: Path | None = None

    @property
    def reject_fraction(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0


@contextmanager
def timed(timings: dict[str, float], reporter: Reporter, stage: str, detail: str) -> Iterator[dict[str, str]]:
    """Times ``stage`` into ``timings`` and tells ``reporter``; the block may set ``note["detail"]``."""
    note = {"detail": ""}
    reporter.started(stage, detail)
    t0 = time.perf_counter()
    yield note
    timings[stage] = round(time.perf_counter() - t0, 4)
    reporter.finished(stage, note["detail"], timings[stage])


def gate_failed(rows_read: int, rows_rejected: int, max_reject_fraction: float) -> bool:
    """docs/spec.md section 1: rejects exceeding max_reject_fraction of input rows fail the data-quality gate."""
    return rows_read > 0 and rows_rejected / rows_read > max_reject_fraction


def set_directory(output_dir: Path, failed: bool) -> Path:
    """Where a run's output set goes: ``output_dir``, or ``output_dir/failed`` when the gate failed."""
    return output_dir / FAILED_DIR if failed else output_dir
