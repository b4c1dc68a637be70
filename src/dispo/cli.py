"""The ``dispo`` command line: parse arguments, call the stages, print, choose the exit code.

Exit codes a scheduler can act on: 0 ok, 1 error (bad config, missing file or column, empty
file…), 3 the data-quality gate failed (too many rejected rows; outputs are still written).
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network calls from Great Expectations, ever

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape as _escape_markup  # noqa: E402
from rich.table import Table  # noqa: E402

from dispo.errors import DispoError  # noqa: E402

#: Characters of user text (file contents, names) a terminal would act on: C0/C1 controls, among
#: them ESC, which starts escape sequences that recolour, retitle or rewrite the screen, and the
#: bidi overrides that make text read differently from what it is.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """User text safe to print: the characters above spelt as escapes (``\\x1b``, ``\\n``)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def escape(text: object) -> str:
    """User text for rich markup: printable, and its ``[`` not taken for markup."""
    return _escape_markup(printable(text))


app = typer.Typer(
    name="dispo",
    help=(
        "Evaluate property portfolios: for every row, what a lender recovers from a short sale, a "
        "deed-in-lieu or a foreclosure; whether an owner should sell now or hold; and the borrower's "
        "federal tax outcome of each way out.\n\n"
        "Start with `dispo run pipelines/lender_loss_mitigation.toml`. "
        "Exit codes: 0 ok, 1 error, 3 data-quality gate failed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
# Off a terminal (cron logs, pipes) rich would cut tables at 80 columns: give it room instead.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)

PipelineArg = Annotated[Path, typer.Argument(help="Pipeline file (TOML), e.g. pipelines/investor_nightly.toml.",
                                             show_default=False)]
InputOpt = Annotated[Optional[list[str]], typer.Option(
    "--input", "-i", help="Input file or glob, instead of the pipeline's `inputs` (repeatable).")]
OutOpt = Annotated[Optional[str], typer.Option("--out", "-o", help="Output directory, instead of `output_dir`.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Evaluation date YYYY-MM-DD, instead of `as_of`.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the final line.")]


class LogFormat(str, Enum):
    human = "human"
    json = "json"


LogOpt = Annotated[LogFormat, typer.Option(
    "--log-format", help="human: progress for people; json: one JSON object per stage on stderr, for schedulers.")]


class Engine(str, Enum):
    local = "local"
    spark = "spark"


EngineOpt = Annotated[Optional[Engine], typer.Option(
    "--engine", help="local: this process (DuckDB + Polars); spark: Spark, for inputs too big for one machine "
                     "(needs `pip install 'dispo[spark]'` and Java 17+; docs/scale-out.md). Instead of `engine`.",
    show_default=False)]
SparkMasterOpt = Annotated[Optional[str], typer.Option(
    "--spark-master", help="The Spark master URL (local[4], spark://host:7077, yarn …) for --engine spark "
                           "(implied), instead of $DISPO_SPARK_MASTER (default local[*]).", show_default=False)]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Also show Spark's own log (JVM, log4j) on stderr; by default it goes to "
                            "output_dir/spark.log.")]


def _spark_options(spark_master: Optional[str], verbose: bool) -> None:
    """--spark-master and -v reach dispo.spark.session as the environment variables it reads
    (DISPO_SPARK_MASTER, DISPO_SPARK_VERBOSE), which a scheduler may also set."""
    if spark_master:
        os.environ["DISPO_SPARK_MASTER"] = spark_master
    if verbose:
        os.environ["DISPO_SPARK_VERBOSE"] = "1"


def _guard(fn: Callable[[], int]) -> None:
    """Runs a command: a data or config mistake is one line on stderr and exit 1, never a traceback."""
    try:
        code = fn()
    except DispoError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]: previous outputs were left in place")
        raise typer.Exit(130) from None
    except Exception as e:  # a bug of ours: still one line unless asked for the traceback
        if os.environ.get("DISPO_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {type(e).__name__}: {escape(str(e))} (set DISPO_DEBUG=1 for the traceback)",
                  soft_wrap=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


class StageReporter:
    """Rich progress per stage with row counts."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._status = None

    def started(self, stage: str, detail: str) -> None:
        if not self.quiet:
            self._status = out.status(f"[bold]{stage}[/] {detail} …")
            self._status.start()

    def finished(self, stage: str, detail: str, seconds: float) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if not self.quiet:
            out.print(f"[green]✓[/] [bold]{stage:<9}[/] {detail} [dim]({seconds:.2f} s)[/]")


class JsonReporter:
    """One JSON object per finished stage on stderr (for cron, systemd, Airflow …)."""

    def __init__(self, pipeline: str):
        self.pipeline = pipeline

    def emit(self, **fields) -> None:
        import json
        import time

        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pipeline": self.pipeline, **fields}
        sys.stderr.write(json.dumps(record, default=str) + "\n")
        sys.stderr.flush()

    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, detail: str, seconds: float) -> None:
        self.emit(event="stage", stage=stage, detail=detail, seconds=round(seconds, 4),
                  peak_rss_mb=_peak_rss_mb())


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (MB), for memory alerts on big runs."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def _load(pipeline: Path, inputs, out_dir, as_of, engine=None):
    from dispo import config

    return config.load(pipeline, inputs=inputs, output_dir=out_dir, as_of=as_of,
                       engine=engine.value if engine is not None else None)


def _print_rejects(outcome, limit: int = 10) -> None:
    rejects = outcome.rejects
    if rejects is None or rejects.height == 0:
        return
    table = Table(title=f"{rejects.height:,} rejected rows (first {min(limit, rejects.height)})", title_justify="left")
    for c in ("file", "row", "reasons"):
        table.add_column(c, overflow="fold")
    for r in rejects.head(limit).iter_rows(named=True):
        table.add_row(escape(str(r["source_file"])), str(r["row_number"]), escape("; ".join(r["reasons"])))
    err.print(table)


@app.command()
def run(pipeline: PipelineArg, input: InputOpt = None, out_dir: OutOpt = None, as_of: AsOfOpt = None,
        quiet: QuietOpt = False, log_format: LogOpt = LogFormat.human, engine: EngineOpt = None,
        spark_master: SparkMasterOpt = None, verbose: VerboseOpt = False) -> None:
    """Run a pipeline: load the inputs into DuckDB, validate them, evaluate every row, write the reports.

    Outputs (in the pipeline's output_dir, replaced atomically; docs/spec.md section 7): report.xlsx and the
    worklists (lender_worklist, investor_worklist .csv/.parquet, as the pipeline's purpose asks),
    results.parquet, tax_outcomes.parquet, rejects.csv/.parquet, summary.json, diff.csv (changes since
    the previous run), report.html. Rows that fail a rule go to rejects with every reason; if they
    exceed max_reject_fraction the run writes its set to output_dir/failed/, leaves the last good
    outputs in place and exits 3. Each run is kept in the pipeline's DuckDB database (`dispo history`, `dispo diff`); a
    rerun for the same as_of replaces that run.
    """
    as_json = log_format == LogFormat.json
    _spark_options(spark_master, verbose)
    if spark_master and engine is None:  # a master only means something to the Spark engine
        engine = Engine.spark

    def go() -> int:
        from dispo.run import run_pipeline

        cfg = _load(pipeline, input, out_dir, as_of, engine)
        reporter = JsonReporter(cfg.name) if as_json else StageReporter(quiet)
        if not quiet and not as_json:
            out.print(f"[bold]dispo run[/] {escape(cfg.name)} · as of {cfg.as_of} · {len(cfg.inputs)} input file(s)")
        outcome = run_pipeline(cfg, reporter=reporter)
        if as_json:
            reporter.emit(event="run", status="gate_failed" if outcome.gate_failed else "ok",
                          exit_code=outcome.exit_code, rows_read=outcome.rows_read, rows_accepted=outcome.rows_accepted,
                          rows_rejected=outcome.rows_rejected, output_dir=str(outcome.written_to or outcome.output_dir),
                          run_id=outcome.summary.get("run_id"))
            return outcome.exit_code
        line = (f"{outcome.rows_read:,} rows read: {outcome.rows_accepted:,} evaluated, "
                f"{outcome.rows_rejected:,} rejected → {escape(str(outcome.written_to or outcome.output_dir))}")
        if outcome.gate_failed:
            _print_rejects(outcome)
            err.print(f"[bold yellow]data-quality gate failed:[/] {outcome.reject_fraction:.1%} of rows rejected "
                      f"(max {cfg.max_reject_fraction:.1%}); this run's outputs are in "
                      f"{escape(str(outcome.written_to))}, the previous outputs in "
                      f"{escape(str(outcome.output_dir))} are unchanged. {line}")
        else:
            out.print(f"[bold green]done[/] {line}")
        return outcome.exit_code

    _guard(go)


@app.command()
def validate(pipeline: PipelineArg, input: InputOpt = None, out_dir: OutOpt = None, as_of: AsOfOpt = None,
             quiet: QuietOpt = False) -> None:
    """Check a pipeline's inputs without evaluating them: exit 0 when every row is valid, 3 if any row
    would be rejected (the reasons are printed), 1 for a file or config error."""
    def go() -> int:
        from dispo.run import validate_only

        cfg = _load(pipeline, input, out_dir, as_of)
        outcome = validate_only(cfg, reporter=StageReporter(quiet))
        _print_rejects(outcome, limit=20)
        verdict = "[bold green]valid[/]" if outcome.exit_code == 0 else "[bold yellow]rejects found[/]"
        out.print(f"{verdict}: {outcome.rows_read:,} rows, {outcome.rows_accepted:,} valid, "
                  f"{outcome.rows_rejected:,} rejected")
        return outcome.exit_code

    _guard(go)


class Kind(str, Enum):
    lender = "lender"
    investor = "investor"


@app.command()
def generate(
    kind: Annotated[Kind, typer.Option(help="lender: loans to screen for loss mitigation; investor: holdings.")],
    rows: Annotated[int, typer.Option(min=1, help="Number of rows.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same portfolio.")] = 42,
    as_of: AsOfOpt = None,
) -> None:
    """Make a realistic, seeded synthetic portfolio (for demos, tests and benchmarks)."""
    def go() -> int:
        from dispo.generate import generate_to_path

        if out_path.suffix.lower() not in (".csv", ".parquet"):
            raise DispoError(f"{out_path}: --out must end in .csv or .parquet")
        day = date.fromisoformat(as_of) if as_of else date.today()
        n = generate_to_path(kind.value, rows, seed, day, out_path)
        out.print(f"wrote {n:,} {kind.value} rows to {out_path}")
        return 0

    _guard(go)


@app.command("schema")
def schema_cmd(markdown: Annotated[bool, typer.Option(help="Print the input table as Markdown.")] = True) -> None:
    """Print the input columns: type, required, default, rule (the README table comes from here)."""
    from dispo import schema

    print(schema.markdown_table())


@app.command()
def explain(
    property_id: Annotated[str, typer.Argument(help="The property_id to explain (exact, case-sensitive).",
                                               show_default=False)],
    pipeline: Annotated[Optional[Path], typer.Option(
        "--pipeline", "-p", help="Pipeline file: read its inputs again and evaluate this row.")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(
        "--run", help="Output directory of a finished run: re-evaluate its results.parquet row instead.")] = None,
    input: InputOpt = None,
    as_of: AsOfOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Show every intermediate value of one property in SPEC order (inputs after defaults, section 3,
    D1, S2/S3, T1–T12 per disposition, B1, L1–L9, H0–H9), each with its rule id and formula in words.

    Give `--pipeline` (re-reads and validates the inputs) or `--run` (a finished run's outputs). An
    unknown id, or a row that was rejected, is an error (exit 1) that says why.
    """
    def go() -> int:
        import json as _json

        from rich.text import Text

        from dispo import explain as ex

        if (pipeline is None) == (run_dir is None):
            raise DispoError("explain: give exactly one of --pipeline or --run")
        if run_dir is not None:
            if input or as_of:
                raise DispoError("explain: --input and --as-of go with --pipeline, not --run")
            result = ex.explain_from_run(property_id, run_dir)
        else:
            result = ex.explain_from_pipeline(property_id, pipeline, as_of=as_of, inputs=input)
        if as_json:
            print(_json.dumps(result.to_json(), indent=2, ensure_ascii=False, allow_nan=False))
            return 0
        where = f"{result.source_file} row {result.row_number}" if result.source_file else "?"
        out.print(Text.assemble(("explain ", "bold"), (printable(result.property_id), "bold"),
                                printable(f" · {where} · as of {result.as_of.isoformat()}"
                                          f" · pipeline {result.pipeline or '?'} · from the {result.source}")))
        if result.assumptions_changed:
            out.print(Text("assumptions changed: " + ", ".join(f"{k} = {v:g}" for k, v in
                                                                 result.assumptions_changed.items())))
        if result.mismatches:
            err.print(Text(f"warning: results.parquet differs from the recomputation in {len(result.mismatches)} "
                           f"column(s) ({', '.join(result.mismatches[:6])}…): the engine changed since that run",
                           style="yellow"))
        for section in result.sections:
            table = Table(title=section.title, title_justify="left", title_style="bold", expand=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("column", no_wrap=True)
            table.add_column("value", justify="right", no_wrap=True)
            table.add_column("formula", overflow="fold", ratio=1)
            for st in section.steps:
                value = ex.format_value(st.column, st.value, st.formula) + (f" ({st.note})" if st.note else "")
                table.add_row(Text(st.rule), Text(st.column), Text(printable(value)), Text(st.formula, style="dim"))
            out.print(table)
        return 0

    _guard(go)


PipelineOpt = Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline file whose run history to read.")]


def _history_db(pipeline: Path):
    import duckdb

    cfg = _load(pipeline, None, None, None)
    path = cfg.database_path
    if not path.exists():
        raise DispoError(f"{path}: no run history yet (run `dispo run {pipeline}` first)")
    try:
        return cfg, duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        if "lock" in str(e).lower():
            raise DispoError(f"{path}: a run is in progress; try again when it finishes") from None
        raise DispoError(f"{path}: cannot open the run database: {e}") from None


@app.command()
def history(pipeline: PipelineOpt) -> None:
    """List a pipeline's runs: when, for which as_of, status and row counts."""
    def go() -> int:
        from dispo import store

        cfg, con = _history_db(pipeline)
        with con:
            runs = store.history(con, cfg.name)
        table = Table(title=f"runs of {escape(cfg.name)}", title_justify="left")
        for c in ("run_id", "as_of", "status", "exit", "read", "accepted", "rejected", "finished"):
            table.add_column(c, justify="right" if c in ("exit", "read", "accepted", "rejected") else "left")
        for r in runs.iter_rows(named=True):
            table.add_row(r["run_id"], str(r["as_of"]), r["status"], *(str(r[k]) if r[k] is not None else ""
                          for k in ("exit_code", "rows_read", "rows_accepted", "rows_rejected")),
                          str(r["finished"] or ""))
        out.print(table)
        return 0

    _guard(go)


@app.command()
def diff(
    pipeline: PipelineOpt,
    from_run: Annotated[Optional[str], typer.Option("--from", help="Run id or as_of date (default: the run before --to).")] = None,
    to_run: Annotated[Optional[str], typer.Option("--to", help="Run id or as_of date (default: the latest run).")] = None,
    top: Annotated[int, typer.Option(min=1, help="How many of the biggest moves to show per value.")] = 20,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Also write the diff to this CSV file (not one of a run's outputs).")] = None,
) -> None:
    """What changed between two runs: properties added and removed, recommendation changes (hold/sell,
    lender_best_option), and the biggest moves in sell_advantage_pv and lender savings. Read-only: it
    changes no output of any run (each run's own diff.csv is written by the run)."""
    def go() -> int:
        from dispo import store
        from dispo.reports.readable import write_standalone_csv

        cfg, con = _history_db(pipeline)
        with con:
            d = store.diff(con, cfg.name, from_run, to_run, top=top)
        c = d.counts()
        out.print(f"[bold]diff[/] {d.from_run} → {d.to_run}: {c['added']} added, {c['removed']} removed, "
                  f"{c['recommendation_changes']} recommendation changes")
        for title, frame in (("added", d.added), ("removed", d.removed), ("recommendation changes", d.changes),
                             ("biggest moves", d.moves)):
            if frame.height:
                table = Table(title=title, title_justify="left")
                for col in frame.columns:
                    table.add_column(col)
                for r in frame.head(50).iter_rows():
                    table.add_row(*(escape(f"{v:,.2f}" if isinstance(v, float) else str(v)) for v in r))
                out.print(table)
        if csv_out is not None:
            write_standalone_csv(csv_out, d.table())
            out.print(f"wrote {escape(str(csv_out))}")
        return 0

    _guard(go)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
