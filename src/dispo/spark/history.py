"""A Spark run in the pipeline's run history (``dispo.duckdb``, :mod:`dispo.store`), as a local run
is: started before the inputs are read (the database's lock keeps a second run out), compared with
the previous run for diff.csv, finished with its narrow history rows, or marked failed. ``dispo
history`` lists Spark runs and ``dispo diff`` compares any two runs, whichever engine ran them.
The driver holds what the history stores (the accepted rows' history columns and the rejects)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb
import polars as pl

from dispo import reports, store
from dispo.config import PipelineConfig


@contextmanager
def recorded_run(cfg: PipelineConfig, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The run database, with ``run_id`` started in it; an exception marks the run failed."""
    con = store.connect(cfg.database_path, cfg.output_dir)
    try:
        store.start_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                        config_digest=reports.config_digest(cfg.canonical()))
        yield con
    except BaseException as e:
        store.fail_run(con, run_id, f"{type(e).__name__}: {e}")
        raise
    finally:
        con.close()


def changes_since_previous(con: duckdb.DuckDBPyConnection, cfg: PipelineConfig, run_id: str,
                           results: pl.DataFrame) -> store.Diff | None:
    """What changed since the pipeline's previous run (any engine's), or None for its first run."""
    previous = store.previous_run(con, cfg.name, cfg.as_of)
    if previous is None:
        return None
    return store.diff_frames(store.load_results(con, previous), results.select(store.DIFF_COLUMNS),
                             from_run=previous, to_run=run_id)
