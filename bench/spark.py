"""The Spark engine under ``local[2]`` against the local engine, on the same lender portfolio.

    .venv/bin/python bench/spark.py                        # 1M rows, Parquet, local[2]
    .venv/bin/python bench/spark.py --rows 100000 --format csv --master 'local[2]'

The portfolio is ``bench/run.py``'s (``dispo generate``, seed 1, into ``bench/data/``, reused).
Each engine runs ``dispo run`` once, in its own process, on the same pipeline file (as
``bench/run.py``'s e2e: ``csv_outputs = "worklists"``, ``max_reject_fraction = 1.0``), with
``--log-format json`` for the stage timings. Measured per run:

- **wall**: start to exit of ``dispo run`` (a Spark run includes starting and stopping the JVM);
- **CPU**: user + system seconds of every process the run started, all threads (this process
  is made a child subreaper, so the JVM and Spark's Python workers are reaped here when their
  parents do not reap them: ``getrusage(RUSAGE_CHILDREN)`` before and after);
- **driver peak RSS**: the ``dispo run`` Python process's own peak (``VmHWM``, sampled every
  0.2 s, and ``ru_maxrss``), and for Spark the JVM's (its heap is capped by
  ``DISPO_SPARK_DRIVER_MEMORY``, default 4g) and the peak of the Python workers' total;
- **load**: the 1-minute load average when the run started and ended (the machine may be shared:
  wall time depends on it, CPU seconds much less).

Prints a table, the Spark / local ratios, and writes ``bench/results_spark.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
PR_SET_CHILD_SUBREAPER = 36


def _bench_run():
    """bench/run.py as a module (its inputs: the same generated portfolios)."""
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _become_subreaper() -> None:
    """Orphaned descendants (Spark's JVM, its Python workers) are reparented to this process, so
    their CPU time reaches RUSAGE_CHILDREN once reaped here."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _tree(root: int) -> dict[int, tuple[str, str]]:
    """Every live descendant of ``root`` (and root): pid -> (command name, command line)."""
    children: dict[int, list[int]] = {}
    names: dict[int, tuple[str, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid = int(entry.name)
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(pid)
        names[pid] = (stat[stat.index("(") + 1:stat.rindex(")")], cmdline)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in names:
            found[pid] = names[pid]
        todo += children.get(pid, [])
    return found


def _kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak RSS of the driver's Python, the JVM and the Spark Python workers, every 0.2 s."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.done = root, threading.Event()
        self.driver_kb = self.jvm_kb = self.workers_kb = self.tree_kb = 0

    def run(self) -> None:
        while not self.done.wait(0.2):
            workers = tree = 0
            for pid, (name, cmdline) in _tree(self.root).items():
                rss = _kb(pid, "VmRSS")
                tree += rss
                if pid == self.root:
                    self.driver_kb = max(self.driver_kb, _kb(pid, "VmHWM"))
                elif name == "java":
                    self.jvm_kb = max(self.jvm_kb, _kb(pid, "VmHWM"))
                elif "pyspark" in cmdline:
                    workers += rss
            self.workers_kb, self.tree_kb = max(self.workers_kb, workers), max(self.tree_kb, tree)


def _reap_orphans(timeout: float) -> None:
    """Waits for descendants reparented here (a JVM still shutting down), up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)


def measure(cmd: list[str], env: dict[str, str], timeout: float) -> dict:
    """Runs ``cmd``; wall, CPU of the whole process tree, peak RSS by process kind, load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **env})
    sampler = Sampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[bench] killed after {timeout} s"
    wall = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    _reap_orphans(60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stages = {}
    for line in err.splitlines():
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "stage":
                stages[event["stage"]] = event.get("seconds")
    return {"cmd": cmd, "exit": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "driver_peak_rss_mb": round(sampler.driver_kb / 1024), "jvm_peak_rss_mb": round(sampler.jvm_kb / 1024),
            "workers_peak_rss_mb": round(sampler.workers_kb / 1024), "tree_peak_rss_mb": round(sampler.tree_kb / 1024),
            "stages": stages, "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "stderr": err[-3000:] if proc.returncode else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--engines", default="spark,local", help="which engines, in this order")
    args = parser.parse_args(argv)

    bench_run = _bench_run()
    src = bench_run.ensure_input("lender", args.rows, args.format)
    _become_subreaper()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="dispo-spark-bench-", dir=bench_run.DATA) as d:
        pipeline = Path(d) / "bench.toml"
        pipeline.write_text(
            '[pipeline]\nname = "bench"\n'
            f"inputs = [{json.dumps(str(src))}]\noutput_dir = {json.dumps(str(Path(d) / 'out'))}\n"
            f'as_of = "{bench_run.AS_OF}"\ncsv_outputs = "worklists"\nmax_reject_fraction = 1.0\n', encoding="utf-8")
        for engine in args.engines.split(","):
            out = Path(d) / engine
            print(f"{engine}: dispo run on {src.name} …", flush=True)
            runs[engine] = measure([str(BIN / "dispo"), "run", str(pipeline), "--engine", engine, "--out", str(out),
                                    "--log-format", "json"],
                                   {"DISPO_SPARK_MASTER": args.master}, args.timeout)
            if runs[engine]["exit"] not in (0, 3):
                print(runs[engine]["stderr"], file=sys.stderr)
    print(f"\n{args.rows:,} rows, {args.format}; Spark master {args.master}; {os.cpu_count()} cores\n")
    print(f"{'engine':8} {'wall s':>8} {'CPU s':>8} {'driver Python MB':>17} {'JVM MB':>8} {'workers MB':>11} "
          f"{'load':>12}  stages (s)")
    for engine, r in runs.items():
        stages = ", ".join(f"{k} {v}" for k, v in r["stages"].items())
        print(f"{engine:8} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['driver_peak_rss_mb']:17,} "
              f"{r['jvm_peak_rss_mb']:8,} {r['workers_peak_rss_mb']:11,} "
              f"{r['load_before']:5.1f} → {r['load_after']:4.1f}  {stages}")
    if {"spark", "local"} <= set(runs):
        s, loc = runs["spark"], runs["local"]
        print(f"\nSpark / local: wall {s['wall_s'] / loc['wall_s']:.2f}, CPU {s['cpu_s'] / loc['cpu_s']:.2f}; "
              f"driver Python per million candidates: {s['driver_peak_rss_mb'] / 1024 * 1e6 / args.rows:.1f} GB")
    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": args.rows,
              "format": args.format, "master": args.master, "cores": os.cpu_count(),
              "machine": platform.platform(), "commit": _commit(), "runs": runs}
    (HERE / "results_spark.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["exit"] in (0, 3) for r in runs.values()) else 1


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
