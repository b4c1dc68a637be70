"""dispo benchmarks: the I/O floor, `dispo run` end to end, the engine alone, peak memory.

    make bench                                   # 1k, 100k, 1M rows; CSV and Parquet inputs
    .venv/bin/python bench/run.py --big          # the same plus 10M rows
    .venv/bin/python bench/run.py --sizes 10000000 --formats parquet
    .venv/bin/python bench/run.py --sizes 100000 --repeat 3 --no-engine

Portfolios are made once with ``dispo generate`` into ``bench/data/`` (gitignored) and reused.
Every measurement runs in its own process, started with ``subprocess`` and reaped with
``os.wait4``, whose rusage gives that process's CPU time (user + system, all threads) and peak
resident memory (``ru_maxrss``):

- **floor**: DuckDB reads the same input file and writes it to Parquet, no computation
  (``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)``): the least any tool can do with it;
- **e2e**: ``dispo run`` on a temporary pipeline file pointing at the input, ``--out`` a temporary
  directory (removed afterwards); per-stage timings come from its ``summary.json``;
- **output floor** (``out floor s``): Polars writes the CSV and Parquet files that run wrote,
  from frames already in memory (loaded untimed): what writing docs/spec.md section 7's output bytes costs,
  with no computation and no sort (report.html/.xlsx and the run history not counted);
- **engine**: ``dispo.engine.evaluate_wide(frame, ..., columns=OUTPUT_COLUMNS).collect()``, the
  call ``dispo run`` makes (every column its outputs read), on a typed frame already in
  memory (the generated Parquet read with Polars), timed around that call only, best of
  ``--engine-repeat``; inputs above ``--engine-chunk`` rows are evaluated in slices of that size
  (the wide frame of 10M rows, ~300 columns, would not fit in memory), the times summed.

Wall time depends on what else the machine runs (``load`` columns: 1-minute load average before
and after); CPU seconds are the steadier figure. With ``--repeat N`` each measurement is made N
times and the fastest (wall) run is kept. Results: a table on stdout and ``bench/results.json``
(machine, versions, every run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
BIG = 10_000_000
AS_OF = "2026-11-22"
SEED = 1

#: The output floor: Polars (the faster writer of the two: 3.9 s against DuckDB's 8.5 s for a 1.1 GB
#: CSV of 1M rows) writes the data files a ``dispo run`` wrote (its CSVs and Parquets, the
#: bytes docs/spec.md section 7 asks for) from frames already in memory: no computation, no sort, no
#: rounding or neutralising. Loading them (untimed; a CSV from its Parquet twin) comes first.
OUTPUT_FLOOR_SCRIPT = """
import json, sys, time
from pathlib import Path
import polars as pl
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
files = sorted(p for p in src.iterdir() if p.suffix in ('.csv', '.parquet') and p.stat().st_size)
def load(p):
    twin = p.with_suffix('.parquet')  # a CSV's values as the run had them: its Parquet twin's
    if p.suffix == '.csv' and twin.exists():
        frame = pl.read_parquet(twin)
        if not any(t.is_nested() for t in frame.dtypes):
            return frame
    return pl.read_parquet(p) if p.suffix == '.parquet' else pl.read_csv(p, infer_schema_length=None)
per_file = {}
for p in files:
    frame = load(p)
    t0 = time.perf_counter()
    (frame.write_parquet if p.suffix == '.parquet' else frame.write_csv)(dst / p.name)
    per_file[p.name] = round(time.perf_counter() - t0, 3)
    del frame
print(json.dumps({"seconds": round(sum(per_file.values()), 3), "files": per_file,
                  "mb": round(sum(f.stat().st_size for f in dst.iterdir()) / 2**20, 1)}))
"""

FLOOR_SCRIPT = """
import json, sys, time, duckdb
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
con = duckdb.connect()
files = sorted(p for p in src.iterdir() if p.suffix in ('.csv', '.parquet') and p.stat().st_size)
tables = []
for i, p in enumerate(files):
    reader = f"read_parquet('{p}')" if p.suffix == '.parquet' else f"read_csv('{p}', header=true, all_varchar=true)"
    con.execute(f"CREATE TABLE t{i} AS SELECT * FROM {reader}")
    tables.append((i, p))
per_file = {}
for i, p in tables:
    fmt = 'parquet' if p.suffix == '.parquet' else 'csv'
    t0 = time.perf_counter()
    con.execute(f"COPY t{i} TO '{dst / p.name}' (FORMAT {fmt})")
    per_file[p.name] = round(time.perf_counter() - t0, 3)
print(json.dumps({"seconds": round(sum(per_file.values()), 3), "files": per_file,
                  "mb": round(sum(f.stat().st_size for f in dst.iterdir()) / 2**20, 1)}))
"""

FLOOR_SCRIPT = """
import sys, duckdb
src, dst = sys.argv[1], sys.argv[2]
con = duckdb.connect()
reader = f"read_parquet('{src}')" if src.endswith('.parquet') else f"read_csv('{src}', header=true)"
con.execute(f"COPY (SELECT * FROM {reader}) TO '{dst}' (FORMAT parquet)")
"""


# --- measuring one process ------------------------------------------------------------------------

_child_usage: dict[int, dict] = {}


class _Popen(subprocess.Popen):
    """A Popen that reaps its child with ``os.wait4`` to keep the child's own rusage."""

    def _try_wait(self, wait_flags):  # noqa: D401 - CPython's hook (Lib/subprocess.py)
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            _child_usage[pid] = {"cpu_s": round(ru.ru_utime + ru.ru_stime, 3), "user_s": round(ru.ru_utime, 3),
                                 "sys_s": round(ru.ru_stime, 3), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}
        return (pid, sts)


def measure(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float | None = None,
            capture: bool = True) -> dict:
    """Runs ``cmd`` in its own process; wall seconds, CPU seconds and peak RSS of that process."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = _Popen(cmd, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE,
                  env={**os.environ, **(env or {})}, cwd=ROOT, text=True)
    out, err = "", ""
    # communicate() reads the pipes while waiting (a full pipe would block the child); _Popen reaps
    # the child with wait4, which keeps this child's own rusage.
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[bench] killed after {timeout} s"
    wall = time.perf_counter() - t0
    usage = _child_usage.pop(proc.pid, None)
    return {"cmd": cmd, "exit": proc.returncode, "wall_s": round(wall, 3), **(usage or {}),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "stdout": out or "", "stderr": (err or "")[-4000:]}


# --- inputs ---------------------------------------------------------------------------------------

def input_path(kind: str, rows: int, fmt: str) -> Path:
    return DATA / f"{kind}_{rows}.{fmt}"


def ensure_input(kind: str, rows: int, fmt: str) -> Path:
    path = input_path(kind, rows, fmt)
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    print(f"generating {path.relative_to(ROOT)} …", flush=True)
    r = measure([str(BIN / "dispo"), "generate", "--kind", kind, "--rows", str(rows), "--seed", str(SEED),
                 "--out", str(tmp), "--as-of", AS_OF])
    if r["exit"] != 0:
        raise SystemExit(f"dispo generate failed:\n{r['stderr']}")
    os.replace(tmp, path)
    return path


# --- the three measurements -----------------------------------------------------------------------

def run_floor(src: Path, timeout: float | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="dispo-floor-", dir=DATA) as d:
        r = measure([sys.executable, "-c", FLOOR_SCRIPT, str(src), str(Path(d) / "copy.parquet")], timeout=timeout)
    if r["exit"] != 0:
        print(f"  floor failed: {r['stderr'][-800:]}", file=sys.stderr)
    return r


def _json_line(line: str) -> dict:
    try:
        return json.loads(line) if line.startswith("{") else {}
    except ValueError:
        return {}


def run_e2e(src: Path, timeout: float | None, keep: Path | None = None, csv_outputs: str = "worklists",
            output_floor: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="dispo-e2e-", dir=DATA) as d:
        out = Path(d) / "out"
        pipeline = Path(d) / "bench.toml"
        pipeline.write_text(
            "[pipeline]\n"
            'name = "bench"\n'
            f"inputs = [{json.dumps(str(src))}]\n"
            f"output_dir = {json.dumps(str(out))}\n"
            f'as_of = "{AS_OF}"\n'
            f"csv_outputs = {json.dumps(csv_outputs)}\n"
            "max_reject_fraction = 1.0\n", encoding="utf-8")
        r = measure([str(BIN / "dispo"), "run", str(pipeline), "--out", str(out), "--log-format", "json"],
                    timeout=timeout)
        # --log-format json: one object per stage with its seconds and the process's peak RSS so far
        stages = [_json_line(x) for x in r["stderr"].splitlines()]
        r["stages"] = {s["stage"]: {"seconds": s.get("seconds"), "peak_rss_mb": s.get("peak_rss_mb")}
                       for s in stages if s.get("event") == "stage"}
        r["csv_outputs"] = csv_outputs
        summary_path = out / "summary.json"
        if summary_path.exists():
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            r["timings"] = {k: v["seconds"] for k, v in r["stages"].items()} or summary.get("timings_seconds", {})
            r["rows_read"] = (summary.get("rows") or {}).get("read")
            r["output_mb"] = round(sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20, 1)
            if output_floor:
                floor_dir = Path(d) / "output-floor"
                floor_dir.mkdir()
                f = measure([sys.executable, "-c", OUTPUT_FLOOR_SCRIPT, str(out), str(floor_dir)], timeout=timeout)
                if f["exit"] == 0:
                    r["output_floor"] = json.loads(f["stdout"].strip().splitlines()[-1])
                shutil.rmtree(floor_dir, ignore_errors=True)
        if keep is not None and out.exists():
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(out, keep)
    if r["exit"] not in (0, 3):
        print(f"  dispo run failed (exit {r['exit']}): {r['stderr'][-800:]}", file=sys.stderr)
    return r


ENGINE_WORKER = """
import json, os, sys, time
from datetime import date
import polars as pl
import pyarrow.parquet as pq
from dispo import engine
path, rows, repeat, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
as_of = date.fromisoformat(sys.argv[5])
pf = pq.ParquetFile(path)
best_wall, best_cpu = None, None
for _ in range(repeat):
    wall = cpu = 0.0
    done = 0
    for batch in pf.iter_batches(batch_size=chunk):
        frame = pl.from_arrow(batch).rechunk()
        t0, c0 = time.perf_counter(), os.times()
        wide = engine.evaluate_wide(frame, as_of=as_of, columns=engine.OUTPUT_COLUMNS).collect()
        t1, c1 = time.perf_counter(), os.times()
        wall += t1 - t0
        cpu += (c1.user - c0.user) + (c1.system - c0.system)
        done += wide.height
        del wide, frame
    if best_wall is None or wall < best_wall:
        best_wall, best_cpu = wall, cpu
print(json.dumps({"rows": done, "wall_s": round(best_wall, 3), "cpu_s": round(best_cpu, 3),
                  "rows_per_s": round(done / best_wall), "chunk_rows": chunk}))
"""


def run_engine(src_parquet: Path, rows: int, repeat: int, chunk: int, timeout: float | None) -> dict:
    r = measure([sys.executable, "-c", ENGINE_WORKER, str(src_parquet), str(rows), str(repeat), str(chunk), AS_OF],
                timeout=timeout)
    if r["exit"] != 0:
        print(f"  engine failed: {r['stderr'][-800:]}", file=sys.stderr)
        return r
    line = [x for x in r["stdout"].splitlines() if x.startswith("{")][-1]
    # wall_s/cpu_s of the process (import, read) move aside: the engine's own figures are the result.
    return {**r, "process_wall_s": r["wall_s"], "process_cpu_s": r.get("cpu_s"), **json.loads(line)}


def best(runs: list[dict]) -> dict:
    ok = [r for r in runs if r.get("exit") in (0, 3)] or runs
    return min(ok, key=lambda r: r.get("wall_s", float("inf")))


# --- report ---------------------------------------------------------------------------------------

def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {"hostname": platform.node(), "platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "mem_gb": mem_gb, "python": platform.python_version()}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("dispo", "polars", "duckdb", "pyarrow", "pandas", "great_expectations"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, cwd=ROOT).stdout.strip())
        out["git"] = commit + ("-dirty" if dirty else "")
    except OSError:
        pass
    return out


def _fmt(v, spec: str, missing: str = "—") -> str:
    return missing if v is None else format(v, spec)


def print_table(rows: list[dict]) -> None:
    head = (f"{'rows':>10} {'input':<8} {'floor s':>8} {'(cpu)':>7} {'e2e s':>8} {'(cpu)':>7} {'e2e/floor':>9} "
            f"{'cpu ratio':>9} {'out floor s':>11} {'engine rows/s':>14} {'peak MB':>8} {'load':>5}  stages (s)")
    print(head)
    print("-" * len(head))
    for r in rows:
        f, e = r.get("floor") or {}, r.get("e2e") or {}
        stages = " ".join(f"{k} {v:.1f}" for k, v in (e.get("timings") or {}).items())
        eng = r.get("engine") or {}
        print(f"{r['rows']:>10,} {r['format']:<8} {_fmt(f.get('wall_s'), '8.2f')} {_fmt(f.get('cpu_s'), '7.1f')} "
              f"{_fmt(e.get('wall_s'), '8.2f')} {_fmt(e.get('cpu_s'), '7.1f')} {_fmt(r.get('ratio'), '9.1f')} "
              f"{_fmt(r.get('cpu_ratio'), '9.1f')} {_fmt((e.get('output_floor') or {}).get('seconds'), '11.2f')} "
              f"{_fmt(eng.get('rows_per_s'), '14,.0f')} "
              f"{_fmt(e.get('peak_rss_mb'), '8,.0f')} {_fmt(e.get('load_before'), '5.1f')}  {stages}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="dispo benchmarks (see bench/README.md)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="row counts (default 1k 100k 1M)")
    ap.add_argument("--big", action="store_true", help="add 10M rows")
    ap.add_argument("--formats", nargs="+", choices=("csv", "parquet"), default=["csv", "parquet"])
    ap.add_argument("--kind", choices=("lender", "investor"), default="lender")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    ap.add_argument("--engine-repeat", type=int, default=3)
    ap.add_argument("--engine-chunk", type=int, default=1_000_000,
                    help="rows per engine call for the engine measurement (bigger inputs are sliced)")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--no-engine", action="store_true")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a run is killed")
    ap.add_argument("--keep-outputs", type=Path, default=None, help="copy the last e2e output set here")
    ap.add_argument("--csv-outputs", choices=("worklists", "all", "none"), default="worklists",
                    help="e2e with this [pipeline] csv_outputs (SPEC 7; default worklists, as a pipeline's)")
    ap.add_argument("--no-csv-outputs", action="store_const", const="none", dest="csv_outputs",
                    help="the same as --csv-outputs none")
    ap.add_argument("--results", type=Path, default=HERE / "results.json")
    args = ap.parse_args(argv)

    sizes = list(args.sizes or DEFAULT_SIZES)
    if args.big and BIG not in sizes:
        sizes.append(BIG)
    started = datetime.now(timezone.utc)
    report = {"started": started.isoformat(timespec="seconds"), "machine": machine_info(), "versions": versions(),
              "as_of": AS_OF, "kind": args.kind, "seed": SEED, "runs": []}
    print(f"dispo bench · {report['machine']['cores']} cores · {report['machine']['mem_gb']} GB · "
          f"{report['versions']}", flush=True)
    for rows in sizes:
        engine_result = None
        for fmt in args.formats:
            src = ensure_input(args.kind, rows, fmt)
            entry: dict = {"rows": rows, "format": fmt, "input": str(src.relative_to(ROOT)),
                           "input_mb": round(src.stat().st_size / 2**20, 1)}
            if not args.no_floor:
                entry["floor"] = best([run_floor(src, args.timeout) for _ in range(args.repeat)])
                print(f"{rows:>10,} {fmt:<8} floor {entry['floor']['wall_s']:.2f} s", flush=True)
            if not args.no_e2e:
                # The output floor loads every output file whole: past CHUNK_ROWS it would not fit.
                entry["e2e"] = best([run_e2e(src, args.timeout, args.keep_outputs, args.csv_outputs,
                                             output_floor=rows <= 1_000_000) for _ in range(args.repeat)])
                print(f"{rows:>10,} {fmt:<8} e2e   {entry['e2e']['wall_s']:.2f} s "
                      f"(exit {entry['e2e']['exit']}, peak {entry['e2e'].get('peak_rss_mb')} MB; "
                      f"output floor {(entry['e2e'].get('output_floor') or {}).get('seconds')} s)", flush=True)
            if not args.no_engine and engine_result is None:
                parquet = ensure_input(args.kind, rows, "parquet")
                engine_result = run_engine(parquet, rows, args.engine_repeat, args.engine_chunk, args.timeout)
                if "rows_per_s" in engine_result:
                    print(f"{rows:>10,} engine {engine_result['rows_per_s']:,} rows/s "
                          f"({engine_result['wall_s']} s, cpu {engine_result['cpu_s']} s)", flush=True)
            entry["engine"] = engine_result
            f, e = entry.get("floor"), entry.get("e2e")
            if f and e and f.get("exit") == 0 and e.get("exit") in (0, 3):
                entry["ratio"] = round(e["wall_s"] / f["wall_s"], 2)
                if f.get("cpu_s") and e.get("cpu_s"):
                    entry["cpu_ratio"] = round(e["cpu_s"] / f["cpu_s"], 2)
            for k in ("floor", "e2e", "engine"):
                if entry.get(k):
                    entry[k] = {kk: vv for kk, vv in entry[k].items() if kk not in ("stdout", "cmd")}
                    if entry[k].get("exit") in (0, 3):
                        entry[k].pop("stderr", None)
            report["runs"].append(entry)
            args.results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args.results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print_table(report["runs"])
    print(f"\nwrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
