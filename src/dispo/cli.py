"""The ``dispo`` command line: parse arguments, call the stages, print, choose the exit code.

Exit codes a scheduler can act on: 0 ok, 1 error (bad config, missing file or column, empty
file…), 3 the data-quality gate failed (too many rejected rows; outputs are still written).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no network calls from Great Expectations, ever

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from dispo.errors import DispoError  # noqa: E402

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
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

PipelineArg = Annotated[Path, typer.Argument(help="Pipeline file (TOML), e.g. pipelines/investor_nightly.toml.",
                                             show_default=False)]
InputOpt = Annotated[Optional[list[str]], typer.Option(
    "--input", "-i", help="Input file or glob, instead of the pipeline's `inputs` (repeatable).")]
OutOpt = Annotated[Optional[str], typer.Option("--out", "-o", help="Output directory, instead of `output_dir`.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Evaluation date YYYY-MM-DD, instead of `as_of`.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the final line.")]


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


def _load(pipeline: Path, inputs, out_dir, as_of):
    from dispo import config

    return config.load(pipeline, inputs=inputs, output_dir=out_dir, as_of=as_of)


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
        quiet: QuietOpt = False) -> None:
    """Run a pipeline: load the inputs into DuckDB, validate them, evaluate every row, write the reports.

    Outputs (in the pipeline's output_dir, replaced atomically): results.parquet, holdings.csv/.parquet,
    lender_candidates.csv/.parquet, tax_outcomes.csv/.parquet, rejects.csv/.parquet, summary.json.
    Rows that fail a rule go to rejects with every reason; if they exceed max_reject_fraction the run
    still writes everything and exits 3.
    """
    def go() -> int:
        from dispo.run import run_pipeline

        cfg = _load(pipeline, input, out_dir, as_of)
        if not quiet:
            out.print(f"[bold]dispo run[/] {escape(cfg.name)} · as of {cfg.as_of} · {len(cfg.inputs)} input file(s)")
        outcome = run_pipeline(cfg, reporter=StageReporter(quiet))
        line = (f"{outcome.rows_read:,} rows read: {outcome.rows_accepted:,} evaluated, "
                f"{outcome.rows_rejected:,} rejected → {escape(str(outcome.output_dir))}")
        if outcome.gate_failed:
            _print_rejects(outcome)
            err.print(f"[bold yellow]data-quality gate failed:[/] {outcome.reject_fraction:.1%} of rows rejected "
                      f"(max {cfg.max_reject_fraction:.1%}); outputs written. {line}")
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


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
