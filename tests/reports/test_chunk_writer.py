"""issue 17: a run's batches are written in a background thread while the next batch is evaluated
(``reports.streamed.ChunkWriter``). The overlap must not change what a run writes or how it fails:
every accepted row lands in results.parquet once, in input order; an error of the writing thread
reaches the user as one line (a full disk) and leaves the previous outputs in place."""

from __future__ import annotations

import errno
import shutil
from datetime import date

import polars as pl
import pyarrow.parquet as pq
import pytest

from dispo.config import from_mapping
from dispo.errors import DispoError
from dispo.generate import generate_to_path
from dispo.run import run_pipeline

ROWS = 1200
CHUNK = 250  # five batches, so writes overlap evaluations


def _cfg(work):
    return from_mapping({"pipeline": {"name": "bg", "inputs": [str(work / "in.csv")], "output_dir": str(work / "out"),
                                      "as_of": "2026-11-22", "max_reject_fraction": 1.0}}, base=work)


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    work = tmp_path_factory.mktemp("bg")
    generate_to_path("lender", ROWS, 3, date(2026, 11, 22), work / "in.csv")
    return work


def _snapshot(directory):
    return {f.name: f.read_bytes() for f in directory.iterdir() if f.is_file() and f.name != "dispo.duckdb"}


def test_every_accepted_row_is_written_once_in_input_order(portfolio, tmp_path):
    shutil.copy(portfolio / "in.csv", tmp_path / "in.csv")
    outcome = run_pipeline(_cfg(tmp_path), chunk_rows=CHUNK)
    results = pl.read_parquet(tmp_path / "out" / "results.parquet")
    source = pl.read_csv(tmp_path / "in.csv", infer_schema=False)
    rejected = set(outcome.rejects["property_id"].to_list())
    expected = [p for p in source["property_id"].to_list() if p not in rejected]
    assert outcome.rows_read == ROWS == outcome.rows_accepted + outcome.rows_rejected
    assert results["property_id"].to_list() == expected
    assert results["row_number"].to_list() == sorted(results["row_number"].to_list())
    tax = pl.read_parquet(tmp_path / "out" / "tax_outcomes.parquet")
    assert tax.height == 4 * results.height
    assert set(tax["property_id"].to_list()) == set(expected)


@pytest.mark.parametrize("error, failing", [(OSError(errno.ENOSPC, "No space left on device"), "third"),
                                            (OSError(errno.EDQUOT, "Disk quota exceeded"), "third"),
                                            (OSError(errno.ENOSPC, "No space left on device"), "last")])
def test_a_failed_background_write_is_one_line_and_keeps_the_previous_outputs(portfolio, tmp_path, monkeypatch,
                                                                                error, failing):
    shutil.copy(portfolio / "in.csv", tmp_path / "in.csv")
    cfg = _cfg(tmp_path)
    written = []
    real_write = pq.ParquetWriter.write_table

    def counted(self, table, *args, **kwargs):
        written.append(table.num_rows)
        return real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", counted)
    run_pipeline(cfg, chunk_rows=CHUNK)
    batches, fail_at = len(written), 3 if failing == "third" else len(written)
    assert batches >= 4
    before = _snapshot(tmp_path / "out")
    written.clear()

    def one_batch_fails(self, table, *args, **kwargs):
        written.append(table.num_rows)
        if len(written) == fail_at:  # the last batch's error is raised by ChunkWriter.close
            raise error
        return real_write(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", one_batch_fails)
    with pytest.raises(DispoError) as caught:
        run_pipeline(cfg, chunk_rows=CHUNK)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'out'}: the disk is full")
    assert "previous outputs are in place" in message
    assert len(written) == fail_at  # the run stopped at the failed batch
    assert _snapshot(tmp_path / "out") == before
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith((".staging", ".dispo-chunks"))]


def test_an_engine_error_waits_for_the_writer_and_leaves_no_scratch(portfolio, tmp_path, monkeypatch):
    from dispo import engine

    shutil.copy(portfolio / "in.csv", tmp_path / "in.csv")
    cfg = _cfg(tmp_path)
    run_pipeline(cfg, chunk_rows=CHUNK)
    before = _snapshot(tmp_path / "out")
    real = engine.results_frame
    calls = []

    def second_batch_fails(wide, batch, *rest):
        calls.append(batch.height)
        if len(calls) == 2:
            raise RuntimeError("engine broke")
        return real(wide, batch, *rest)

    monkeypatch.setattr(engine, "results_frame", second_batch_fails)
    with pytest.raises(RuntimeError, match="engine broke"):
        run_pipeline(cfg, chunk_rows=CHUNK)
    assert _snapshot(tmp_path / "out") == before
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith((".staging", ".dispo-chunks"))]
