"""Stage-by-stage measurement of one pipeline run in this process (a profiling aid for bench/).

    .venv/bin/python bench/stages.py bench/data/lender_1000000.csv [--out DIR]

For every stage (ingest, validate, evaluate, results, write, store) prints wall seconds, CPU
seconds (user + system of this process, all threads) and the process's resident memory after it
and at its peak so far (VmRSS / VmHWM from /proc). It mirrors ``dispo.run.run_pipeline`` step by
step; ``dispo run`` itself is what ``bench/run.py`` measures end to end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path


def _mem() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out.get("VmRSS", 0.0), out.get("VmHWM", 0.0)


@contextmanager
def stage(name: str, rows: list):
    t0, c0 = time.perf_counter(), os.times()
    yield
    t1, c1 = time.perf_counter(), os.times()
    rss, hwm = _mem()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    rows.append((name, t1 - t0, cpu, rss, hwm))
    print(f"{name:<10} wall {t1 - t0:7.2f} s  cpu {cpu:7.2f} s  rss {rss:7.0f} MB  peak {hwm:7.0f} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--as-of", default="2026-11-22")
    ap.add_argument("--skip-write", action="store_true")
    args = ap.parse_args(argv)

    import duckdb

    from dispo import engine
    from dispo.config import from_mapping

    out = args.out or Path(tempfile.mkdtemp(prefix="dispo-stages-"))
    cfg = from_mapping({"pipeline": {"name": "bench", "inputs": [str(args.input.resolve())],
                                     "output_dir": str(out), "as_of": args.as_of,
                                     "max_reject_fraction": 1.0}}, base=Path.cwd())
    rows: list = []
    as_of = date.fromisoformat(args.as_of)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(out / "dispo.duckdb"))
    from dispo.ingest import ingest
    from dispo.validate import validate

    with stage("import", rows):
        import dispo.validate.suite as suite

        suite.import_gx()
    with stage("ingest", rows):
        ingested = ingest(cfg.inputs, con, as_of=as_of)
    with stage("validate", rows):
        validated = validate(ingested, as_of=as_of)
    with stage("evaluate", rows):
        wide = engine.evaluate_wide(validated.accepted, as_of=as_of, assumptions=cfg.assumptions,
                                    cfg_defaults=cfg.defaults, columns=engine.OUTPUT_COLUMNS).collect()
    with stage("results", rows):
        results = engine.results_frame(wide, validated.accepted)
    if not args.skip_write:
        from dispo import reports

        with stage("write", rows):
            summary = {"rows": results.height}
            reports.write_outputs(out, results=results, wide=wide, rejects=validated.rejects, summary=summary)
    con.close()
    total = sum(r[1] for r in rows)
    print(f"{'total':<10} wall {total:7.2f} s  cpu {sum(r[2] for r in rows):7.2f} s  "
          f"peak {max(r[4] for r in rows):7.0f} MB  ({results.height:,} rows, out {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
