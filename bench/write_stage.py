"""The write stage of a run alone, repeatable (a profiling aid for issue 17's write stage).

    .venv/bin/python bench/write_stage.py prepare bench/data/lender_1000000.csv /tmp/ws
    .venv/bin/python bench/write_stage.py write /tmp/ws [--profile FILE] [--repeat N]

``prepare`` runs ingest, validate and evaluate as ``dispo run`` does and keeps the evaluated
batches (results.parquet and the tax outcome parts) and the rejects in the directory. ``write``
then writes the run's whole output set from them (``dispo.run``'s write step: worklists,
tax_outcomes, rejects, summary.json, diff.csv, report.xlsx, report.html) and records the run in
a fresh history database (``store.finish_run``), and prints wall and CPU seconds of each
(this process's CPU plus its finished children's: a report written in a child process counts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

AS_OF = "2026-11-22"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _peak_mb() -> float:
    """This process's peak resident memory so far (VmHWM), MB."""
    with open("/proc/self/status") as fh:
        return next((int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM:")), 0.0)


@contextmanager
def stage(name: str):
    t0, c0 = time.perf_counter(), _cpu()
    yield
    print(f"{name:<12} wall {time.perf_counter() - t0:7.2f} s  cpu {_cpu() - c0:7.2f} s  "
          f"peak {_peak_mb():6.0f} MB  load {os.getloadavg()[0]:.1f}", flush=True)


def _config(input_path: Path, out: Path, purpose: str):
    from dispo.config import from_mapping

    return from_mapping({"pipeline": {"name": "bench", "inputs": [str(input_path.resolve())], "output_dir": str(out),
                                      "as_of": AS_OF, "max_reject_fraction": 1.0, "purpose": purpose}},
                        base=Path.cwd())


def prepare(input_path: Path, directory: Path, purpose: str) -> None:
    import duckdb

    from dispo import run

    directory.mkdir(parents=True, exist_ok=True)
    cfg = _config(input_path, directory / "out", purpose)
    con = duckdb.connect()
    timings: dict[str, float] = {}
    chunk_rows = run.chunk_rows_setting()
    _, validated = run.ingest_and_validate(cfg, con, run.SilentReporter(), timings, chunk_rows=chunk_rows)
    shutil.rmtree(directory / "chunks", ignore_errors=True)
    (directory / "chunks").mkdir()
    with stage("evaluate"):
        run.evaluate_batches(cfg, validated, directory / "chunks", run.batch_rows(chunk_rows))
    validated.rejects.write_parquet(directory / "rejects.parquet")
    (directory / "input").write_text(str(input_path.resolve()))


def write(directory: Path, purpose: str, profile: Path | None) -> None:
    import duckdb
    import polars as pl

    from dispo import run, store
    from dispo.reports.streamed import ChunkWriter, scratch_dir

    cfg = _config(Path((directory / "input").read_text()), directory / "out", purpose)
    shutil.rmtree(cfg.output_dir, ignore_errors=True)
    scratch = scratch_dir(cfg.output_dir, "bench")
    chunks = ChunkWriter(scratch)
    shutil.rmtree(chunks.tax_dir)
    shutil.copytree(directory / "chunks" / "tax_outcomes", chunks.tax_dir, copy_function=os.link)
    os.link(directory / "chunks" / "results.parquet", chunks.results_path)
    chunks.rows = pl.scan_parquet(chunks.results_path).select(pl.len()).collect().item()
    rejects = pl.read_parquet(directory / "rejects.parquet")

    class _Validated:
        gx_result = None

    timings = {"ingest": 0.0, "validate": 0.0, "evaluate": 0.0}
    summary = run._summary(cfg, chunks.rows + rejects.height, chunks, rejects, timings, 0, "bench", time.time(),
                           None, cfg.output_dir)
    prof = None
    if profile is not None:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    with stage("write set"):
        files = run._write_set(cfg, cfg.output_dir, chunks, rejects, summary, _Validated(), None,
                               run.chunk_rows_setting())
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    con = duckdb.connect(str(directory / "history.duckdb"))
    store.start_run(con, run_id="bench", pipeline="bench", as_of=date.fromisoformat(AS_OF), config_digest="x")
    with stage("history"):
        store.finish_run(con, run_id="bench", pipeline="bench", as_of=date.fromisoformat(AS_OF), status="ok",
                         exit_code=0, rows_read=chunks.rows, results=cfg.output_dir / "results.parquet",
                         rows_accepted=chunks.rows, rejects=rejects, versions={}, extra_columns=())
    con.close()
    (directory / "history.duckdb").unlink()
    shutil.rmtree(scratch, ignore_errors=True)
    for f in sorted(files):
        print(f"  {f.name:<28} {f.stat().st_size / 1e6:9.1f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("prepare", "write"))
    ap.add_argument("paths", type=Path, nargs="+")
    ap.add_argument("--purpose", default="both")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile stats of the write set into this file")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    if args.command == "prepare":
        prepare(args.paths[0], args.paths[1], args.purpose)
    else:
        for _ in range(args.repeat):
            write(args.paths[0], args.purpose, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
