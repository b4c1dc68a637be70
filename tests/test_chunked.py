"""Chunked execution (dispo.run.CHUNK_ROWS): a run evaluated in chunks, its outputs streamed, writes
the same outputs as the same run in one piece (the issue "speed and scale on one machine").

A few thousand generated rows with bad rows mixed in (bad values, duplicate ids, a ragged row,
rows failing a cross rule) are run twice: in one piece, and in chunks of a few hundred rows; every
CSV is compared byte for byte, every Parquet file value for value and type for type, summary.json
but for the run id and timings, report.html but for its start time.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dispo.config import from_mapping
from dispo.generate import generate_to_path
from dispo.ingest import ingest
from dispo.run import run_pipeline
from dispo.validate import MIN_BATCH_ROWS, validate, validate_streamed

AS_OF = date(2026, 11, 22)
ROWS = 3000
CHUNK = 450  # several chunks, the last one short
TABLES = ("lender_worklist", "investor_worklist", "tax_outcomes", "rejects")


def _spoil(src: Path, dst: Path) -> None:
    """Copies the generated CSV with some rows broken in ways validation rejects."""
    with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
        rows = csv.reader(f)
        out = csv.writer(g, lineterminator="\n")
        header = next(rows)
        out.writerow(header)
        at = {c: i for i, c in enumerate(header)}
        previous = None
        for n, row in enumerate(rows, 1):
            if n % 97 == 0:
                row[at["market_value"]] = "-5"
            if n % 151 == 0 and previous:
                row[at["property_id"]] = previous[at["property_id"]]  # a duplicate id
            if n % 203 == 0:
                row[at["state"]] = "XX"
            if n % 250 == 0:
                row[at["purchase_date"]] = "2027-01-01"  # after as_of
            if n % 271 == 0:
                row[at["interest_rate"]] = "abc"
            if n % 331 == 0:
                row[at["hold_months"]] = "12.5"
            if n % 401 == 0:
                row = row[:5]  # ragged
            out.writerow(row)
            previous = row


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("chunked")
    generate_to_path("lender", ROWS, 11, AS_OF, d / "clean.csv")
    _spoil(d / "clean.csv", d / "portfolio.csv")
    return d / "portfolio.csv"


def _run(portfolio: Path, out: Path, chunk_rows: int, **pipeline):
    pipeline = {"csv_outputs": "all", **pipeline}
    cfg = from_mapping({"pipeline": {"name": "chunked", "inputs": [str(portfolio)], "output_dir": str(out),
                                     "as_of": AS_OF.isoformat(), "max_reject_fraction": 1.0, **pipeline}},
                       base=out.parent)
    return run_pipeline(cfg, chunk_rows=chunk_rows)


@pytest.fixture(scope="module")
def runs(portfolio, tmp_path_factory):
    whole_dir, chunked_dir = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("chunks")
    whole = _run(portfolio, whole_dir, chunk_rows=10 * ROWS)
    chunked = _run(portfolio, chunked_dir, chunk_rows=CHUNK)
    return (whole, whole_dir), (chunked, chunked_dir)


def test_the_chunked_run_was_chunked(runs):
    (whole, _), (chunked, _) = runs
    assert whole.results is None and chunked.results is None  # one run path: results stay on disk
    assert whole.rows_read == chunked.rows_read == ROWS
    assert 0 < whole.rows_rejected == chunked.rows_rejected < ROWS // 10
    assert whole.rows_accepted == chunked.rows_accepted > 4 * CHUNK
    assert sorted(f.name for f in whole.files) == sorted(f.name for f in chunked.files)


@pytest.mark.parametrize("table", ("results", *TABLES))
def test_csv_identical(runs, table):
    (_, a), (_, b) = runs
    assert (a / f"{table}.csv").read_bytes() == (b / f"{table}.csv").read_bytes()


@pytest.mark.parametrize("table", ("results", *TABLES))
def test_parquet_identical(runs, table):
    (_, a), (_, b) = runs
    x, y = pl.read_parquet(a / f"{table}.parquet"), pl.read_parquet(b / f"{table}.parquet")
    assert x.schema == y.schema
    assert x.equals(y)  # NaN and null compared as values; every float to the last bit


def test_summary_identical(runs):
    (_, a), (_, b) = runs
    x, y = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    for s in (x, y):
        for key in ("run_id", "timings_seconds", "started"):
            s.pop(key)
        s["outputs"].pop("directory")
    assert x == y


def test_report_html_identical(runs):
    (_, a), (_, b) = runs
    x, y = (re.sub(r"run started [^ <]+", "", (d / "report.html").read_text()) for d in (a, b))
    assert x == y


def test_no_scratch_left_and_history_recorded(runs):
    (_, a), (chunked, b) = runs
    assert not [p.name for p in b.iterdir() if p.name.startswith(".dispo-chunks-")]
    con = duckdb.connect(str(b / "dispo.duckdb"), read_only=True)
    try:
        n, accepted = con.execute("SELECT count(*), max(rows_accepted) FROM runs").fetchone()
        stored = con.execute("SELECT count(*) FROM history_results").fetchone()[0]
    finally:
        con.close()
    assert n == 1 and accepted == stored == chunked.rows_accepted


def test_streamed_validation_is_validation(portfolio):
    """validate_streamed (typed rows left in DuckDB, GX a column at a time) finds what validate
    finds, down to GX's own result for every expectation."""
    con = duckdb.connect()
    ingested = ingest([portfolio], con, as_of=AS_OF, load_typed=False)
    streamed = validate_streamed(ingested, as_of=AS_OF)
    whole = validate(ingested.with_typed(), as_of=AS_OF)
    batches = list(streamed.accepted_batches(CHUNK))
    assert all(b.height >= MIN_BATCH_ROWS for b in batches)
    assert pl.concat(batches).equals(whole.accepted)
    assert streamed.rejects.equals(whole.rejects)
    assert streamed.reasons_counted == whole.reasons_counted

    def plain(result):
        out = result.to_json_dict()
        out["expectation_config"].pop("id", None)  # a fresh uuid per suite
        return out

    assert [plain(r) for r in streamed.gx_result.results] == [plain(r) for r in whole.gx_result.results]
    assert streamed.gx_result.statistics == whole.gx_result.statistics
    assert streamed.gx_result.success is whole.gx_result.success is False


def test_gx_in_column_batches_is_gx_in_one(portfolio, monkeypatch):
    """GX over the rows a few columns at a time (large inputs) gives the result of one batch."""
    import dispo.validate as v

    con = duckdb.connect()
    ingested = ingest([portfolio], con, as_of=AS_OF)
    one = validate(ingested, as_of=AS_OF)
    monkeypatch.setattr(v, "GX_BATCH_CELLS", 1)  # one column per batch
    split = validate(ingested, as_of=AS_OF)
    assert split.rejects.equals(one.rejects) and split.accepted.equals(one.accepted)
    assert [r.to_json_dict()["result"] for r in split.gx_result.results] == \
        [r.to_json_dict()["result"] for r in one.gx_result.results]
    assert split.gx_result.statistics == one.gx_result.statistics


def test_chunk_size_floor(portfolio, tmp_path):
    from dispo.errors import DispoError

    with pytest.raises(DispoError, match="at least"):
        _run(portfolio, tmp_path / "out", chunk_rows=MIN_BATCH_ROWS - 1)


@pytest.mark.parametrize("chunk_rows", [10 * ROWS, CHUNK], ids=["whole", "chunked"])
def test_csv_outputs_none_writes_parquet_only_and_retires_old_csvs(portfolio, runs, tmp_path, chunk_rows):
    """SPEC 7 csv_outputs = "none": the Parquet files as ever, no CSV twins, and the CSVs of the
    run before (same output_dir, csv_outputs "all") removed in the same commit, not left stale."""
    (_, whole_dir), _ = runs
    out = tmp_path / "out"
    _run(portfolio, out, chunk_rows=chunk_rows)
    assert {p.name for p in out.glob("*.csv")} == {f"{t}.csv" for t in ("results", *TABLES)} | {"diff.csv"}
    outcome = _run(portfolio, out, chunk_rows=chunk_rows, csv_outputs="none")
    assert not [p.name for p in out.glob("*.csv") if p.name != "diff.csv"]
    assert not [f.name for f in outcome.files if f.name.endswith(".csv") and f.name != "diff.csv"]
    for table in ("results", *TABLES):
        assert pl.read_parquet(out / f"{table}.parquet").equals(pl.read_parquet(whole_dir / f"{table}.parquet"))
    manifest = json.loads((out / ".dispo-manifest.json").read_text())
    assert {f"{t}.csv" for t in ("results", *TABLES)} <= set(manifest["retired"])
    assert not any(name.endswith(".csv") and name != "diff.csv" for name in manifest["files"])


@pytest.mark.parametrize(("purpose", "csv_outputs", "tables", "csvs"), [
    ("both", "worklists", {"results", "tax_outcomes", "lender_worklist", "investor_worklist", "rejects"},
     {"lender_worklist", "investor_worklist", "rejects"}),
    ("lender", "worklists", {"results", "tax_outcomes", "lender_worklist", "rejects"}, {"lender_worklist", "rejects"}),
    ("investor", "all", {"results", "tax_outcomes", "investor_worklist", "rejects"},
     {"results", "tax_outcomes", "investor_worklist", "rejects"}),
])
def test_purpose_and_csv_outputs_select_the_files(portfolio, tmp_path, purpose, csv_outputs, tables, csvs):
    """SPEC 7: ``purpose`` selects the worklists (and sheets); ``csv_outputs`` the CSV twins."""
    out = tmp_path / "out"
    outcome = _run(portfolio, out, chunk_rows=10 * ROWS, purpose=purpose, csv_outputs=csv_outputs)
    names = {f.name for f in outcome.files}
    expected = ({f"{t}.parquet" for t in tables} | {f"{t}.csv" for t in csvs}
                | {"summary.json", "diff.csv", "report.html", "report.xlsx"})
    assert names == expected
    assert {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")} == expected | {"dispo.duckdb"}


def test_csv_outputs_must_be_a_mode(tmp_path):
    from dispo.config import ConfigError

    with pytest.raises(ConfigError, match="csv_outputs must be one of worklists, all, none"):
        from_mapping({"pipeline": {"inputs": ["x.csv"], "output_dir": "out", "csv_outputs": "no"}}, base=tmp_path)
    with pytest.raises(ConfigError, match="purpose must be one of lender, investor, both"):
        from_mapping({"pipeline": {"inputs": ["x.csv"], "output_dir": "out", "purpose": "landlord"}}, base=tmp_path)


def test_5_5_a_row_value_only_in_a_later_batch_gives_the_whole_runs_results(tmp_path):
    # SPEC 5.5 / 5.4: whether a per-row assumption column is given is decided once per run, not per
    # batch. The generated file carries every assumption column, empty; here only rows after the
    # first batch hold an investor_type (fha: junior_lien_payoff_cap 2,500) and a reo_discount.
    generate_to_path("lender", 1200, 5, AS_OF, tmp_path / "clean.csv")
    clean = pl.read_csv(tmp_path / "clean.csv", infer_schema=False)
    late = pl.int_range(pl.len()) >= 700
    clean.with_columns(pl.when(late).then(pl.lit("fha")).alias("investor_type"),
                       pl.when(late).then(pl.lit("0.31")).alias("reo_discount")).write_csv(tmp_path / "late.csv")
    whole_dir, chunked_dir = tmp_path / "whole", tmp_path / "chunks"
    whole = _run(tmp_path / "late.csv", whole_dir, chunk_rows=10_000, purpose="lender")
    chunked = _run(tmp_path / "late.csv", chunked_dir, chunk_rows=300, purpose="lender")
    assert whole.rows_accepted == chunked.rows_accepted > 1000
    x, y = (pl.read_parquet(d / "results.parquet") for d in (whole_dir, chunked_dir))
    assert x.schema == y.schema
    assert x.equals(y)  # every float to the last bit
    early = x.filter(pl.col("row_number") <= 700)
    assert early["reo_discount"].unique().to_list() == [0.27]              # the built-in default
    assert early["junior_lien_payoff_cap"].unique().to_list() == [6000.0]  # no investor: the pipeline's
    later = x.filter(pl.col("row_number") > 700)
    assert later["reo_discount"].unique().to_list() == [0.31]
    assert later["junior_lien_payoff_cap"].unique().to_list() == [2500.0]  # investor_rules.csv, fha
    assert "mod_rate" not in x.columns and "building_share" not in x.columns  # no row value anywhere
    for table in ("lender_worklist", "tax_outcomes"):
        assert (whole_dir / f"{table}.csv").read_bytes() == (chunked_dir / f"{table}.csv").read_bytes()


@pytest.mark.parametrize("piece", ["tax_outcomes", "worklists", "report.xlsx"])
def test_a_failing_writer_thread_fails_the_run_and_keeps_the_previous_outputs(portfolio, tmp_path, monkeypatch, piece):
    """tax_outcomes (a thread beside the worklists), the worklists (the runner's thread, while
    tax_outcomes is written) and report.xlsx (a thread of its own) fail a run alike: their error
    reaches the caller, the previous set stays byte for byte, no staging or scratch is left."""
    import dispo.reports.streamed as streamed
    import dispo.reports.xlsx as xlsx

    out = tmp_path / "out"
    _run(portfolio, out, chunk_rows=CHUNK, csv_outputs="worklists")
    files = lambda: {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix != ".duckdb"}  # noqa: E731
    before = files()

    def fail(*args, **kwargs):
        raise RuntimeError(f"{piece} failed")

    module, name = {"tax_outcomes": (streamed, "_write_tax_outcomes"), "worklists": (streamed, "_write_worklists"),
                    "report.xlsx": (xlsx, "write_xlsx")}[piece]
    monkeypatch.setattr(module, name, fail)
    with pytest.raises(RuntimeError, match=f"^{piece} failed$"):
        _run(portfolio, out, chunk_rows=CHUNK, csv_outputs="all")
    assert files() == before
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["data_docs"]
