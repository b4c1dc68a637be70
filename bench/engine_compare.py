"""Compare the engine of two source trees: the same values, and engine rows/s measured in one run.

    .venv/bin/python bench/engine_compare.py --before main            # this tree against main
    .venv/bin/python bench/engine_compare.py --before adaf486 --rows 10000 --bench-rows 100000
    .venv/bin/python bench/engine_compare.py --before adaf486 --after 33c92af   # two revisions

``--before`` is a git revision (its ``src/`` is exported to a temporary directory); the "after"
side is this working tree's ``src/``, or ``--after`` another revision. Both evaluate the same generated portfolios (``dispo
generate``, seed 1, the lender and the investor kind, ``--rows`` each) with
``engine.evaluate_wide(..., columns=OUTPUT_COLUMNS)`` (the results frame and the tax_outcomes
sources, what a run writes), each in its own process. Every column the two share is compared:
bit for bit, or within ``--rtol`` (1e-9) relative; columns only one side has are listed. Then the
bench's engine measurement (``bench/run.py``'s engine worker: ``evaluate_wide(...).collect()`` on
a typed frame in memory, best of ``--repeat``) runs on ``--bench-rows`` rows, the two sides
alternating, so both numbers come from one run on the same machine load. Exit 1 when a value differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402 - bench/run.py: its generator and engine worker

EVALUATE = """
import sys
from datetime import date
import polars as pl
from dispo import engine
frame = pl.read_parquet(sys.argv[1])
columns = None if sys.argv[4] == "all" else engine.OUTPUT_COLUMNS
wide = engine.evaluate_wide(frame, as_of=date.fromisoformat(sys.argv[3]), columns=columns).collect()
wide.write_parquet(sys.argv[2])
"""


def export_src(revision: str, into: Path) -> Path:
    """``revision``'s src/ tree under ``into`` (git archive; nothing is checked out)."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_with(src: Path, args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)


def compare(before: Path, after: Path, rtol: float) -> dict:
    import polars as pl

    a, b = pl.read_parquet(before), pl.read_parquet(after)
    common = [c for c in a.columns if c in b.columns]
    report = {"rows": a.height, "columns": len(common), "bit_identical": 0, "within_rtol": [], "differ": [],
              "only_before": [c for c in a.columns if c not in b.columns],
              "only_after": [c for c in b.columns if c not in a.columns]}
    if a.height != b.height:
        report["differ"].append(f"row count {a.height} != {b.height}")
        return report
    for c in common:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            report["differ"].append(f"{c}: dtype {x.dtype} != {y.dtype}")
        elif x.equals(y, check_names=False) or (x.dtype.is_float() and _same_bits(x, y)):
            report["bit_identical"] += 1
        elif x.dtype.is_float() and _close(x, y, rtol):
            report["within_rtol"].append(c)
        else:
            report["differ"].append(c)
    return report


def _same_bits(x, y) -> bool:
    return x.cast(pl_float()).to_physical().equals(y.cast(pl_float()).to_physical())


def pl_float():
    import polars as pl

    return pl.Float64


def _close(x, y, rtol: float) -> bool:
    import polars as pl

    frame = pl.DataFrame({"x": x, "y": y})
    bad = frame.filter(
        (pl.col("x").is_null() != pl.col("y").is_null())
        | (pl.col("x").is_nan() != pl.col("y").is_nan())
        | ((pl.col("x") - pl.col("y")).abs() > rtol * pl.max_horizontal(pl.col("x").abs(), pl.col("y").abs()))
    )
    return bad.height == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="main", help="git revision of the 'before' engine (default main)")
    ap.add_argument("--after", default=None,
                    help="git revision (or a directory holding a src/ tree) of the 'after' engine (default: this tree)")
    ap.add_argument("--rows", type=int, default=10_000, help="rows per portfolio compared (default 10000)")
    ap.add_argument("--bench-rows", type=int, default=100_000, help="rows of the speed measurement (0: none)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating speed runs per side (best kept)")
    ap.add_argument("--rtol", type=float, default=1e-9)
    ap.add_argument("--all-columns", action="store_true", help="compare the whole wide frame (every intermediate)")
    args = ap.parse_args(argv)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        sides = {"before": export_src(args.before, tmp_path / "before"),
                 "after": ROOT / "src" if not args.after else Path(args.after) / "src"
                 if Path(args.after, "src").is_dir() else export_src(args.after, tmp_path / "after")}
        for kind in ("lender", "investor"):
            src = bench.ensure_input(kind, args.rows, "parquet")
            out = {}
            for side, tree in sides.items():
                out[side] = tmp_path / f"{kind}_{side}.parquet"
                r = run_with(tree, ["-c", EVALUATE, str(src), str(out[side]), bench.AS_OF,
                                    "all" if args.all_columns else "outputs"])
                if r.returncode:
                    print(f"{side} engine failed on {src.name}:\n{r.stderr[-2000:]}", file=sys.stderr)
                    return 1
            rep = compare(out["before"], out["after"], args.rtol)
            failed |= bool(rep["differ"])
            print(f"{kind} {rep['rows']:,} rows, {rep['columns']} columns compared: {rep['bit_identical']} bit-identical, "
                  f"{len(rep['within_rtol'])} within {args.rtol:g} relative, {len(rep['differ'])} differ")
            for key in ("within_rtol", "differ", "only_before", "only_after"):
                if rep[key]:
                    print(f"  {key}: {', '.join(rep[key])}")
        if args.bench_rows:
            src = bench.ensure_input("lender", args.bench_rows, "parquet")
            best: dict[str, dict] = {}
            for _ in range(args.repeat):
                for side, tree in sides.items():
                    r = run_with(tree, ["-c", bench.ENGINE_WORKER, str(src), str(args.bench_rows), "1",
                                        str(args.bench_rows), bench.AS_OF])
                    if r.returncode:
                        print(f"{side} bench failed:\n{r.stderr[-2000:]}", file=sys.stderr)
                        return 1
                    got = json.loads([x for x in r.stdout.splitlines() if x.startswith("{")][-1])
                    if side not in best or got["wall_s"] < best[side]["wall_s"]:
                        best[side] = got
            for side in sides:
                label = args.before if side == "before" else args.after or "this tree"
                print(f"engine {side:>6} ({label}): "
                      f"{best[side]['rows_per_s']:,} rows/s ({best[side]['wall_s']} s wall, "
                      f"{best[side]['cpu_s']} s cpu, {args.bench_rows:,} rows, best of {args.repeat})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
