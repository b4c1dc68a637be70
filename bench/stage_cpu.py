"""Wall and CPU seconds per stage of one ``dispo.run.run_pipeline`` call, in this process.

    PYTHONPATH=$PWD/src .venv/bin/python bench/stage_cpu.py bench/data/lender_1000000.csv

The run is the command's own path (``run_pipeline`` with a reporter that reads ``os.times`` at
each stage's start and end: CPU of every thread of this process, user + system). Prints one JSON
line: stages {name: [wall s, cpu s]}, total, peak RSS (ru_maxrss), rows, results.parquet's size,
load averages before and after. Unlike ``bench/stages.py`` it repeats none of the runner's steps.
Outputs go to a temporary directory (removed). Run one at a time: the machine has 2 cores.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class StageClock:
    """A run reporter that records each stage's wall and CPU seconds."""

    def __init__(self) -> None:
        self.started_at: dict[str, tuple[float, Any]] = {}
        self.stages: dict[str, list[float]] = {}

    def started(self, stage: str, detail: str) -> None:
        self.started_at[stage] = (time.perf_counter(), os.times())

    def finished(self, stage: str, detail: str, seconds: float) -> None:
        t0, c0 = self.started_at[stage]
        c1 = os.times()
        cpu = (c1.user - c0.user) + (c1.system - c0.system)
        self.stages[stage] = [round(time.perf_counter() - t0, 2), round(cpu, 2)]

    def __getattr__(self, name: str) -> Any:  # the reporter's other events are not timed
        return lambda *args, **kwargs: None


def main(argv: list[str]) -> int:
    from dispo.config import from_mapping
    from dispo.run import run_pipeline

    src = Path(argv[0]).resolve()
    out = Path(tempfile.mkdtemp(prefix="dispo-stage-cpu-"))
    cfg = from_mapping({"pipeline": {"name": "bench", "inputs": [str(src)], "output_dir": str(out),
                                     "as_of": "2026-11-22", "max_reject_fraction": 1.0}}, base=Path.cwd())
    clock, load = StageClock(), os.getloadavg()[0]
    c0, t0 = os.times(), time.perf_counter()
    try:
        outcome = run_pipeline(cfg, reporter=clock)
        c1 = os.times()
        print(json.dumps({
            "input": src.name, "load": [round(load, 1), round(os.getloadavg()[0], 1)], "stages": clock.stages,
            "total": [round(time.perf_counter() - t0, 2), round((c1.user - c0.user) + (c1.system - c0.system), 2)],
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rows": outcome.rows_accepted,
            "results_parquet_mb": round((out / "results.parquet").stat().st_size / 1e6, 1),
        }))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
