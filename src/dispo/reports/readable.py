"""The readable reports of a run's set, chosen here (not in the runner): diff.csv, report.xlsx and
report.html, as ``extra_writers`` of the set. Each reads the set's own staged results and tax
outcomes (written just before it), so a run hands over no frame of its rows."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import polars as pl

from dispo.errors import DispoError
from dispo.reports import worklists
from dispo.reports.atomic import OutputSet, read_manifest
from dispo.reports.csv_safe import write_safe_csv

Writer = Callable[[OutputSet], None]


def _staged(out: OutputSet, name: str) -> pl.LazyFrame:
    assert out.staging is not None
    return pl.scan_parquet(out.staging / name, glob=False)


def readable_writers(*, purpose: str, worklist_columns: Sequence[str], rejects: pl.DataFrame, summary: Mapping[str, Any], files: Sequence[str],
                     diff: pl.DataFrame, data_docs_href: str | None, results: pl.LazyFrame | None = None) -> list[Writer]:
    """diff.csv (the changes since the previous run), report.xlsx and report.html of a run of
    ``purpose``; ``files``: the set's table files (the page links to them). ``results``: the
    results when the set does not stage them (the Spark engine's results.parquet/ parts)."""
    from dispo.reports.html import html_writer
    from dispo.reports.xlsx import RUN_MAX_ROWS, xlsx_writer

    def staged_worklists(out: OutputSet) -> dict[str, pl.LazyFrame]:
        return {w.name: _staged(out, f"{w.name}.parquet") for w in worklists.for_purpose(purpose)}

    def write_xlsx(out: OutputSet) -> None:
        xlsx_writer(results=_staged(out, "results.parquet") if results is None else results, rejects=rejects, summary=summary,
                    max_rows=RUN_MAX_ROWS, purpose=purpose, worklist_columns=worklist_columns,
                    worklist_tables=staged_worklists(out))(out)

    def write_html(out: OutputSet) -> None:
        html_writer(results=_staged(out, "results.parquet") if results is None else results, rejects=rejects, summary=summary,
                    data_docs_href=data_docs_href, files=(*files, "report.xlsx"), purpose=purpose,
                    worklist_columns=worklist_columns, worklist_tables=staged_worklists(out))(out)

    return [lambda out: out.write_csv("diff.csv", diff), write_xlsx, write_html]


def write_standalone_csv(path: str | os.PathLike[str], frame: pl.DataFrame) -> None:
    """``frame`` as a spreadsheet-safe CSV at ``path`` (e.g. ``dispo diff --csv``), replaced
    atomically; never over a file of a run's output set (that set would no longer match its
    manifest)."""
    target = Path(path).resolve()
    manifest = read_manifest(target.parent) or {}
    if target.name in manifest.get("files", {}):
        raise DispoError(f"{target}: part of a run's outputs; write the diff to another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".dispo-", suffix=".csv", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_safe_csv(frame, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
