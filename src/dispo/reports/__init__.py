"""The output writers of docs/spec.md section 7.

- ``atomic``: :class:`OutputSet`, a set of files that lands in ``output_dir`` all together or not
  at all (staging directory, fsync, journal, one ``os.replace`` per file, roll-forward recovery).
- ``csv_safe``: the one place where CSV cells are rounded to cents and neutralised against
  formula injection.
- ``tables``: holdings, lender_candidates, tax_outcomes, rejects (pure frame functions).
- ``summary_json``: summary.json's content, config digest, versions.

:func:`write_outputs` writes the whole section 7 set (except report.html, which its writer adds
through ``extra_writers`` to join the same atomic set).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import polars as pl

from dispo.reports import tables
from dispo.reports.atomic import (
    MANIFEST_NAME,
    CommitInterrupted,
    OutputDirBusy,
    OutputError,
    OutputSet,
    read_manifest,
    recover,
    verify,
)
from dispo.reports.csv_safe import format_money, neutralise, round_money, safe_csv_frame
from dispo.reports.summary_json import config_digest, summary
from dispo.reports.tables import holdings, lender_candidates, tax_outcomes

__all__ = [
    "CSV_FILES", "MANIFEST_NAME", "OUTPUT_FILES", "CommitInterrupted", "OutputDirBusy", "OutputError", "OutputSet",
    "config_digest", "format_money", "holdings", "lender_candidates", "neutralise", "output_files", "output_set",
    "read_manifest", "recover", "round_money", "safe_csv_frame", "summary", "tax_outcomes", "verify",
    "write_outputs", "write_table",
]

log = logging.getLogger("dispo.reports")

#: The files write_outputs produces, in write order.
OUTPUT_FILES: tuple[str, ...] = (
    "results.parquet",
    "holdings.csv", "holdings.parquet",
    "lender_candidates.csv", "lender_candidates.parquet",
    "tax_outcomes.csv", "tax_outcomes.parquet",
    "rejects.csv", "rejects.parquet",
    "summary.json",
)


#: The CSV twins among OUTPUT_FILES (left out, and retired, with ``[pipeline] csv_outputs = false``).
CSV_FILES: tuple[str, ...] = tuple(n for n in OUTPUT_FILES if n.endswith(".csv"))


def output_files(*, csv: bool = True) -> tuple[str, ...]:
    """OUTPUT_FILES, without the CSV twins when ``csv`` is false (``[pipeline] csv_outputs``)."""
    return OUTPUT_FILES if csv else tuple(n for n in OUTPUT_FILES if n not in CSV_FILES)


def output_set(output_dir: str | os.PathLike[str], *, run_id: str | None = None, csv: bool = True) -> OutputSet:
    """An :class:`OutputSet` for docs/spec.md section 7's files. With ``csv`` false (``[pipeline]
    csv_outputs``) the CSV twins are not part of it, and an earlier set's are removed when it is
    committed (a run without CSVs must not leave yesterday's beside today's Parquet files)."""
    out = OutputSet(output_dir, run_id=run_id)
    for name in () if csv else CSV_FILES:
        out.retire(name)
    return out


def write_table(out: OutputSet, name: str, frame: pl.DataFrame, *, csv: bool = True) -> None:
    """Table ``name`` into ``out``: ``name``.csv (spreadsheet-safe; when ``csv``) and ``name``.parquet."""
    if csv:
        out.write_csv(f"{name}.csv", frame)
    out.write_parquet(f"{name}.parquet", frame)


def write_outputs(
    output_dir: str | os.PathLike[str],
    *,
    results: pl.DataFrame | pl.LazyFrame,
    rejects: pl.DataFrame | pl.LazyFrame,
    summary: Mapping[str, Any],
    wide: pl.DataFrame | pl.LazyFrame | None = None,
    tax_outcomes: pl.DataFrame | pl.LazyFrame | None = None,
    extra_writers: Iterable[Callable[[OutputSet], None]] = (),
    run_id: str | None = None,
    csv: bool = True,
) -> list[Path]:
    """Write results.parquet, holdings, lender_candidates, tax_outcomes, rejects (.csv and .parquet)
    and summary.json into ``output_dir`` as one atomic set; returns the paths written.

    Give either ``wide`` (the engine's wide frame, from which the tax_outcomes table is reshaped) or
    ``tax_outcomes`` (the long table already built). ``results`` is written in the order given (the
    input order). ``extra_writers`` are called with the open :class:`OutputSet` (e.g. the HTML
    report) so their files join the same set. Any exception leaves the previous outputs untouched.
    ``csv=False`` leaves out the CSV files (``output_files(csv=False)``).
    """
    if (wide is None) == (tax_outcomes is None):
        raise TypeError("write_outputs: give exactly one of wide= or tax_outcomes=")
    res = results.collect() if isinstance(results, pl.LazyFrame) else results
    # Build every table before anything is staged: a missing column fails fast.
    tax_table = tables.tax_outcomes(wide) if wide is not None else (
        tax_outcomes.collect() if isinstance(tax_outcomes, pl.LazyFrame) else tax_outcomes)
    missing = [c for c in tables.TAX_OUTCOME_COLUMNS if c not in tax_table.columns]
    if missing:
        raise KeyError(f"tax_outcomes: missing column(s) {', '.join(missing)}")
    built = {
        "holdings": tables.holdings(res),
        "lender_candidates": tables.lender_candidates(res),
        "tax_outcomes": tax_table.select(tables.TAX_OUTCOME_COLUMNS),
        "rejects": tables.rejects(rejects),
    }
    with output_set(output_dir, run_id=run_id, csv=csv) as out:
        out.write_parquet("results.parquet", res)
        for name, frame in built.items():
            write_table(out, name, frame, csv=csv)
        out.write_json("summary.json", dict(summary))
        for writer in extra_writers:
            writer(out)
    return [out.output_dir / name for name in out.committed]
