"""The output writers of docs/spec.md section 7.

- ``atomic``: :class:`OutputSet`, a set of files that lands in ``output_dir`` all together or not
  at all (staging directory, fsync, journal, one ``os.replace`` per file, roll-forward recovery).
- ``csv_safe``: the one place where CSV cells are rounded to cents and neutralised against
  formula injection.
- ``tables``: tax_outcomes, rejects (pure frame functions); ``worklists``: the lender and investor
  worklists (docs/spec.md section 7's columns, ranked, with ``reason``).
- ``summary_json``: summary.json's content, config digest, versions.

:func:`write_outputs` writes the whole section 7 set (except report.html, which its writer adds
through ``extra_writers`` to join the same atomic set).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import polars as pl

from dispo.reports import tables, worklists
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
from dispo.reports.tables import tax_outcomes

__all__ = [
    "CSV_FILES", "MANIFEST_NAME", "OUTPUT_FILES", "CommitInterrupted", "OutputDirBusy", "OutputError", "OutputSet",
    "config_digest", "format_money", "neutralise", "output_files", "output_set",
    "read_manifest", "recover", "round_money", "safe_csv_frame", "summary", "tax_outcomes", "verify",
    "write_outputs", "write_table",
]

log = logging.getLogger("dispo.reports")

#: Every table file a run may write (docs/spec.md section 7), in write order; which of them a run writes
#: depends on its ``purpose`` and ``csv_outputs`` (:func:`output_files`).
OUTPUT_FILES: tuple[str, ...] = (
    "results.parquet", "results.csv",
    "tax_outcomes.parquet", "tax_outcomes.csv",
    *(f"{w.name}.{ext}" for w in worklists.WORKLISTS for ext in ("csv", "parquet")),
    "rejects.csv", "rejects.parquet",
    "summary.json",
)
#: The CSV twins among OUTPUT_FILES.
CSV_FILES: tuple[str, ...] = tuple(n for n in OUTPUT_FILES if n.endswith(".csv"))
#: Files of earlier versions' output sets (full-width ranked tables), removed by the next commit.
LEGACY_FILES: tuple[str, ...] = ("holdings.csv", "holdings.parquet", "lender_candidates.csv",
                                 "lender_candidates.parquet")


def output_files(*, purpose: str = "both", csv_outputs: str = "worklists") -> tuple[str, ...]:
    """The table files of a run of ``purpose`` with ``csv_outputs`` (docs/spec.md section 7): results and
    tax_outcomes Parquet always, their CSVs with "all"; the purpose's worklists and the rejects as
    Parquet, with CSV twins unless "none"; summary.json."""
    names = {"results", "tax_outcomes", "rejects", *(w.name for w in worklists.for_purpose(purpose))}
    csv_for = {"all": names, "worklists": names - {"results", "tax_outcomes"}, "none": set()}[csv_outputs]

    def wanted(file: str) -> bool:
        stem, _, ext = file.rpartition(".")
        return file == "summary.json" or stem in names and (ext == "parquet" or stem in csv_for)

    return tuple(f for f in OUTPUT_FILES if wanted(f))


def output_set(output_dir: str | os.PathLike[str], *, run_id: str | None = None, purpose: str = "both",
               csv_outputs: str = "worklists") -> OutputSet:
    """An :class:`OutputSet` for docs/spec.md section 7's files. The table files this run does not write
    (another purpose's worklist, CSV twins it leaves out, earlier versions' tables) are retired:
    removed when the set is committed, so no stale table is left beside today's."""
    out = OutputSet(output_dir, run_id=run_id)
    kept = set(output_files(purpose=purpose, csv_outputs=csv_outputs))
    for name in (*OUTPUT_FILES, *LEGACY_FILES):
        if name not in kept:
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
    purpose: str = "both",
    csv_outputs: str = "worklists",
    worklist_columns: Sequence[str] = (),
    with_results: bool = True,
) -> list[Path]:
    """The docs/spec.md section 7 set from frames in memory (the Spark engine's driver, tests): results,
    tax_outcomes, the ``purpose``'s worklists, rejects and summary.json in ``output_dir`` as one
    atomic set; returns the paths written. A local run streams the same set
    (:func:`dispo.reports.streamed.write_run_outputs`).

    Give either ``wide`` (the engine's wide frame, from which the tax_outcomes table is reshaped) or
    ``tax_outcomes`` (the long table already built). ``extra_writers`` are called with the open
    :class:`OutputSet` (report.html, report.xlsx) so their files join the same set. Any exception
    leaves the previous outputs untouched. ``with_results=False``: no results file (Spark's
    results/ parts stand for it).
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
    files = output_files(purpose=purpose, csv_outputs=csv_outputs)
    worklists.check_extra_columns(res.columns, worklist_columns)
    built = {
        **({"results": res} if with_results else {}),
        "tax_outcomes": tax_table.select(tables.TAX_OUTCOME_COLUMNS),
        **{w.name: worklists.ranked(res, w, worklist_columns) for w in worklists.for_purpose(purpose)},
        "rejects": tables.rejects(rejects),
    }
    with output_set(output_dir, run_id=run_id, purpose=purpose, csv_outputs=csv_outputs) as out:
        for name, frame in built.items():
            write_table(out, name, frame, csv=f"{name}.csv" in files)
        out.write_json("summary.json", dict(summary))
        for writer in extra_writers:
            writer(out)
    return [out.output_dir / name for name in out.committed]
