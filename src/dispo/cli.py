"""The ``dispo`` command line: parse arguments, call the stages, print, choose the exit code.

Exit codes a scheduler can act on: 0 ok, 1 error (bad config, missing file or column, empty
file…), 2 usage error (unknown option, missing argument), 3 the data-quality gate failed (too many
rejected rows; outputs are still written).
"""

from __future__ import annotations

import time

#: When the command started (before its imports): the ``seconds`` of the JSON ``run`` object.
_STARTED = time.monotonic()

import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

from dispo import prefork  # noqa: E402 - `dispo run` forks GX's worker before any library or thread loads
prefork.start_for_command(sys.argv, as_program=__name__ == "__main__")
from datetime import date  # noqa: E402
from enum import Enum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Callable, Optional  # noqa: E402

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
        "Exit codes: 0 ok, 1 error, 2 usage error, 3 data-quality gate failed."
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


def _guard(fn: Callable[[], int], on_error: Callable[[int, str], None] | None = None) -> None:
    """Runs a command: a data or config mistake is one line on stderr and exit 1, never a traceback.
    ``on_error(exit_code, message)``, when given, reports the error instead (``--log-format json``)."""
    def fail(code: int, label: str, message: str) -> None:
        if on_error is not None:
            on_error(code, message)
        else:
            err.print(f"[bold red]{label}[/] {escape(message)}", soft_wrap=True)
        raise typer.Exit(code) from None

    try:
        code = fn()
    except DispoError as e:
        fail(1, "error:", str(e))
    except KeyboardInterrupt:
        fail(130, "interrupted:", "previous outputs were left in place")
    except Exception as e:  # a bug of ours: still one line unless asked for the traceback
        if os.environ.get("DISPO_DEBUG"):
            raise
        fail(1, "internal error:", f"{type(e).__name__}: {e} (set DISPO_DEBUG=1 for the traceback)")
    raise typer.Exit(code)


def _seconds() -> float:
    """Wall seconds since the command started, its imports included."""
    return round(time.monotonic() - _STARTED, 3)


def _version(value: bool) -> None:
    if value:
        from dispo import __version__

        print(f"dispo {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main_options(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """Evaluate property portfolios (see `dispo COMMAND --help`)."""


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
    """One JSON object per finished stage on stderr (for cron, systemd, Airflow …), and one final
    ``run`` object for every outcome, errors included: ``status`` (ok, gate_failed, error),
    ``exit_code``, ``error`` (null unless status is error) and ``seconds`` (wall, imports included).
    Every line is a JSON object: library warnings become ``warning`` objects."""

    def __init__(self, pipeline: str):
        self.pipeline = pipeline

    def emit(self, **fields) -> None:
        import json

        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pipeline": self.pipeline, **fields}
        sys.stderr.write(json.dumps(record, default=str) + "\n")
        sys.stderr.flush()

    def run_outcome(self, *, status: str, exit_code: int, error: str | None = None, **fields) -> None:
        self.emit(event="run", status=status, exit_code=exit_code, error=error, seconds=_seconds(), **fields)

    def capture_warnings(self) -> None:
        import warnings

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            self.emit(event="warning", category=category.__name__, message=str(message))

        warnings.showwarning = show

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
    """The first rejects (file, spreadsheet line, raw property_id, reasons), then the reasons
    counted, top 5, each with a hint when it is a common one."""
    rejects = outcome.rejects
    if rejects is None or rejects.height == 0:
        return
    table = Table(title=f"{rejects.height:,} rejected rows (first {min(limit, rejects.height)})", title_justify="left")
    for c in ("file", "line", "property_id", "reasons"):
        table.add_column(c, overflow="fold")
    has_line = "spreadsheet_line" in rejects.columns
    for r in rejects.head(limit).iter_rows(named=True):
        line = r["spreadsheet_line"] if has_line else r["row_number"] + 1
        table.add_row(escape(str(r["source_file"])), str(line), escape(r.get("property_id") or ""),
                      escape("; ".join(r["reasons"])))
    err.print(table)
    from dispo.reasons import count_reasons, reason_hint

    counted = (outcome.summary.get("reasons") or {}).get("by_reason") or count_reasons(rejects)
    top = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    if top:
        err.print(f"[bold]reasons[/] (top {len(top)} of {len(counted)}):")
        for kind, n in top:
            hint = reason_hint(kind)
            err.print(f"  {n:>7,}  {escape(kind)}" + (f"  [dim]→ {escape(hint)}[/]" if hint else ""), soft_wrap=True)


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
    json_log = JsonReporter(pipeline.stem) if as_json else None
    if json_log is not None:
        json_log.capture_warnings()

    def go() -> int:
        from dispo.run import run_pipeline

        cfg = _load(pipeline, input, out_dir, as_of, engine)
        if json_log is not None:
            json_log.pipeline = cfg.name
        reporter = json_log if json_log is not None else StageReporter(quiet)
        if not quiet and not as_json:
            out.print(f"[bold]dispo run[/] {escape(cfg.name)} · as of {cfg.as_of} · {len(cfg.inputs)} input file(s)")
        outcome = run_pipeline(cfg, reporter=reporter)
        if json_log is not None:
            json_log.run_outcome(status="gate_failed" if outcome.gate_failed else "ok", exit_code=outcome.exit_code,
                                 rows_read=outcome.rows_read, rows_accepted=outcome.rows_accepted,
                                 rows_rejected=outcome.rows_rejected, output_dir=str(outcome.written_to or outcome.output_dir),
                                 run_id=outcome.summary.get("run_id"),
                                 blank_rows=outcome.summary.get("blank_rows"))
            return outcome.exit_code
        line = (f"{outcome.rows_read:,} rows read: {outcome.rows_accepted:,} evaluated, "
                f"{outcome.rows_rejected:,} rejected → {escape(str(outcome.written_to or outcome.output_dir))}")
        blank = outcome.summary.get("blank_rows")
        if blank:
            line += f" ({blank:,} blank row{'s' * (blank != 1)} skipped)"
        for name, codec in (outcome.summary.get("encodings") or {}).items():
            err.print(f"[yellow]note:[/] {escape(name)} is not UTF-8: read as Windows-1252 ({codec})")
        if outcome.gate_failed:
            _print_rejects(outcome)
            err.print(f"[bold yellow]data-quality gate failed:[/] {outcome.reject_fraction:.1%} of rows rejected "
                      f"(max {cfg.max_reject_fraction:.1%}); this run's outputs are in "
                      f"{escape(str(outcome.written_to))}, the previous outputs in "
                      f"{escape(str(outcome.output_dir))} are unchanged. {line}")
        else:
            if outcome.rows_rejected and not quiet:
                _print_rejects(outcome)
            out.print(f"[bold green]done[/] {line}")
        return outcome.exit_code

    _guard(go, on_error=None if json_log is None else
           (lambda code, message: json_log.run_outcome(status="error", exit_code=code, error=message)))


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
    kind: Annotated[Optional[Kind], typer.Option(
        help="lender: loans to screen for loss mitigation; investor: holdings.", show_default=False)] = None,
    rows: Annotated[Optional[int], typer.Option(min=1, help="Number of rows.", show_default=False)] = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output file: .csv or .parquet.",
                                                     show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same portfolio.")] = 42,
    as_of: AsOfOpt = None,
    sample: Annotated[Optional[Path], typer.Option(
        "--sample", help="Write the sample data (lender and investor portfolios, README) into this directory "
                         "instead, as sample_data/ holds it.", show_default=False)] = None,
) -> None:
    """Make a realistic, seeded synthetic portfolio (for demos, tests and benchmarks): `--kind`,
    `--rows` and `--out`; or the sample data with `--sample DIR`."""
    def go() -> int:
        from dispo import generate as gen

        if sample is not None:
            if kind is not None or rows is not None or out_path is not None:
                raise DispoError("generate: --sample DIR writes the sample data; it takes no --kind, --rows or --out")
            day = date.fromisoformat(as_of) if as_of else gen.SAMPLE_AS_OF
            for p in gen.write_samples(sample, day):
                out.print(f"wrote {p}")
            return 0
        if kind is None or rows is None or out_path is None:
            raise DispoError("generate: give --kind, --rows and --out (or --sample DIR)")
        if out_path.suffix.lower() not in (".csv", ".parquet"):
            raise DispoError(f"{out_path}: --out must end in .csv or .parquet")
        day = date.fromisoformat(as_of) if as_of else date.today()
        n = gen.generate_to_path(kind.value, rows, seed, day, out_path)
        out.print(f"wrote {n:,} {kind.value} rows to {out_path}")
        return 0

    _guard(go)


@app.command("schema")
def schema_cmd(
    markdown: Annotated[bool, typer.Option(help="Print the input table as Markdown.")] = True,
    template: Annotated[Optional[Path], typer.Option(
        "--template", help="Write a blank input template here (.csv): a header row with every input column, "
                           "required ones first, to fill in a spreadsheet.", show_default=False)] = None,
) -> None:
    """Print the input columns: type, required, default, rule (the README table comes from here)."""
    from dispo import schema

    if template is None:
        print(schema.markdown_table())
        return

    def go() -> int:
        import csv

        if template.suffix.lower() != ".csv":
            raise DispoError(f"{template}: --template must end in .csv")
        names = [c.name for c in schema.COLUMNS if c.required] + [c.name for c in schema.COLUMNS if not c.required]
        try:
            with open(template, "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh, lineterminator="\n").writerow(names)
        except OSError as e:
            raise DispoError(f"{template}: cannot write: {e.strerror or e}") from None
        out.print(f"wrote {template}: {len(names)} columns ({len(schema.REQUIRED)} required first)")
        return 0

    _guard(go)


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
            out.print(Text("assumptions changed: " + ", ".join(f"{k} = {ex.format_value(k, v)}" for k, v in
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


PipelineOpt = Annotated[Optional[Path], typer.Option(
    "--pipeline", "-p", help="Pipeline file whose run history to read (its database, as `run` finds it).")]
HistoryOutOpt = Annotated[Optional[str], typer.Option(
    "--out", "-o", help="Output directory of the runs (as given to `run --out`): its dispo.duckdb.")]


def _history_db(pipeline: Path | None, out_dir: str | None):
    """The run database the way ``run`` finds it: the pipeline's ``database`` or its output_dir
    (``--out`` overriding it), or, with ``--out`` alone, ``DIR/dispo.duckdb``. Returns the pipeline
    name (None: every pipeline recorded there), the output directory and the connection."""
    import duckdb

    if pipeline is None and out_dir is None:
        raise DispoError("give --pipeline FILE (its run database), or --out DIR (the runs' output directory)")
    if pipeline is not None:
        cfg = _load(pipeline, None, out_dir, None)
        name, output_dir, path = cfg.name, cfg.output_dir, cfg.database_path
        hint = f"dispo run {pipeline}" + (f" --out {out_dir}" if out_dir else "")
    else:
        output_dir = Path(out_dir).expanduser().resolve()
        name, path, hint = None, output_dir / "dispo.duckdb", f"dispo run PIPELINE --out {out_dir}"
    if not path.exists():
        raise DispoError(f"{path}: no run history yet (run `{hint}` first)")
    try:
        return name, output_dir, duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        if "lock" in str(e).lower():
            raise DispoError(f"{path}: a run is in progress; try again when it finishes") from None
        raise DispoError(f"{path}: cannot open the run database: {e}") from None


def _one_pipeline(con, name: str | None) -> str:
    """The pipeline whose runs to diff: ``name``, or the only one recorded in the database."""
    if name is not None:
        return name
    from dispo import store

    names = sorted(set(store.history(con)["pipeline"].to_list()))
    if len(names) != 1:
        raise DispoError(f"the run database holds {len(names)} pipelines ({', '.join(names)}): give --pipeline")
    return names[0]


@app.command()
def history(pipeline: PipelineOpt = None, out_dir: HistoryOutOpt = None) -> None:
    """List a pipeline's runs: when, for which as_of, status and row counts. The run database is
    found as `run` finds it: `--pipeline FILE` (with `--out DIR` if the runs used one), or `--out DIR`."""
    def go() -> int:
        from dispo import store

        name, _, con = _history_db(pipeline, out_dir)
        with con:
            runs = store.history(con, name)
        table = Table(title=f"runs of {escape(name or 'every pipeline')}", title_justify="left")
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
    pipeline: PipelineOpt = None,
    out_dir: HistoryOutOpt = None,
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

        name, _, con = _history_db(pipeline, out_dir)
        with con:
            d = store.diff(con, _one_pipeline(con, name), from_run, to_run, top=top)
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


def _wants_json(argv: list[str]) -> bool:
    return "--log-format=json" in argv or any(a == "--log-format" and b == "json" for a, b in zip(argv, argv[1:]))


def main() -> None:
    """The ``dispo`` command. With ``--log-format json`` even a usage error (exit 2) ends in one JSON
    ``run`` object on stderr, so every line a scheduler logs parses."""
    from typer._click import exceptions as click_errors  # typer vendors click (no public path to its errors)

    argv = sys.argv[1:]
    if not _wants_json(argv):
        app()
        return
    try:
        code = app(standalone_mode=False)
    except click_errors.UsageError as e:
        JsonReporter(None).run_outcome(status="error", exit_code=2, error=e.format_message())
        sys.exit(2)
    except click_errors.Exit as e:
        sys.exit(e.exit_code)
    except click_errors.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
