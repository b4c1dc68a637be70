"""The Spark engine's partition functions on plain pyarrow batches (no Spark, no Java needed):
row numbering across file splits, and reasons and results identical to the local engine's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from arrowsim import evaluate_csv, reasons_of, records, text_lines
from dispo import engine, schema
from dispo.ingest import ingest
from dispo.ingest.reader import read_source
from dispo.spark import checks
from dispo.spark import partition as P
from dispo.validate import validate

AS_OF = date(2026, 11, 22)
DATA = Path(__file__).parents[1] / "data"
MESSY = DATA / "messy" / "portfolio.csv"
HEADER = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance"
GOOD = "P{},TX,rental,200000,150000,2020-01-01,100000"


def assert_same_results(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Equal to far better than a cent. Not bit for bit: Polars folds ``x * 0.05 / 12`` into
    ``x * (0.05 / 12)`` for a frame of several rows but not for a one-row frame, so a float may
    differ in its last bit with the rows evaluated together (a chunk of one row here)."""
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def local(paths: list[Path]):
    ingested = ingest(paths, duckdb.connect(), as_of=AS_OF)
    return ingested, validate(ingested, as_of=AS_OF)


def spark_like(paths: list[Path], splits: int = 1, chunk_rows: int = 7, keep_blank: bool = False):
    sources = [read_source(p, p.name) for p in paths]
    return evaluate_csv(paths, [s.columns for s in sources], [s.name for s in sources], as_of=AS_OF, splits=splits,
                        chunk_rows=chunk_rows, keep_blank=keep_blank)


@pytest.fixture(scope="module")
def messy_local():
    return local([MESSY])


@pytest.mark.parametrize("splits", [1, 3, 8])
def test_messy_reasons_identical_except_duplicates(messy_local, splits):
    ingested, validated = messy_local
    out, counted = spark_like([MESSY], splits)
    assert sorted(out["row_number"].to_list()) == ingested.typed["row_number"].to_list()
    assert counted[P.norm_uri(MESSY.resolve().as_uri())].records == ingested.rows_read
    expected = {(f, n): r for f, n, r in validated.rejects.select("source_file", "row_number", "reasons").iter_rows()}
    duplicate = {k: v for k, v in expected.items() if any("duplicate id" in x for x in v)}
    assert duplicate  # the messy file has them: the Spark engine adds them after a groupBy
    got = reasons_of(out)
    assert got == {k: v for k, v in expected.items() if k not in duplicate}
    # every copy of a duplicated id takes part in the duplicate check, with its trimmed id
    pids = dict(zip(out["row_number"], out[P.PID]))
    assert {pids[n] for _, n in duplicate} == {"D01"}


def test_raw_values_of_rejects_identical(messy_local):
    ingested, validated = messy_local
    out, _ = spark_like([MESSY], 2)
    # __dispo_raw holds the input columns in input order (the rejects lead with spreadsheet_line
    # and property_id, then reasons, then the other input columns: picked by name)
    cols = ["source_file", "row_number", *ingested.input_columns]
    mine = (out.filter(pl.col(P.REASONS).list.len() > 0)
            .select("source_file", "row_number",
                    *[pl.col(P.RAW).list.get(i).alias(c) for i, c in enumerate(ingested.input_columns)])
            .sort("row_number"))
    theirs = validated.rejects.select(cols).filter(pl.col("row_number").is_in(mine["row_number"].implode()))
    assert_frame_equal(mine, theirs.sort("row_number"))


def test_results_identical_to_the_local_engine(messy_local):
    _, validated = messy_local
    out, _ = spark_like([MESSY], 3)
    acc = validated.accepted
    expected = engine.results_frame(engine.evaluate_wide(acc, as_of=AS_OF).collect(), acc)
    got = out.filter(pl.col("row_number").is_in(acc["row_number"].implode())).select(expected.columns)
    assert_same_results(got.sort("row_number"), expected.sort("row_number"))


def write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


EDGE_LINES = [
    HEADER,
    GOOD.format(1),
    "",                                                      # blank: no row, keeps its number
    'P3,TX,rental,200000,150000,2020-01-01,"1\n0"',          # a quoted newline: one row
    "P4,TX",                                                 # too few fields
    "",
    GOOD.format(6),
    GOOD.format(7) + ",extra",                               # too many fields
    'P8,TX,"rental\n\nstill rental",1,1,2020-01-01,0',        # a blank line inside a quoted value
    'P9,TX,"rental"x,1,1,2020-01-01,0',                      # malformed quoting
    'P10,TX, "rental" ,200000,150000,2020-01-01,100000',     # spaces around a quoted value
    "   ",                                                   # whitespace only: a 1-field row
    GOOD.format(13),
    'P14,TX,rental,"200,000",150000,2020-01-01,"1\n2\n3\n4"',
    GOOD.format(15),
    "", "",
]


@pytest.fixture(scope="module", params=["\n", "\r\n"], ids=["lf", "crlf"])
def edge(request, tmp_path_factory):
    path = write(tmp_path_factory.mktemp("edge") / "edge.csv", "\n".join(EDGE_LINES) + "\n", request.param)
    return path, *local([path])


@pytest.mark.parametrize("splits", [1, 2, 3, 5, 9])
def test_row_numbers_and_reasons_across_splits(edge, splits):
    path, ingested, validated = edge
    marked, counted = spark_like([path], splits, keep_blank=True)
    out = marked.filter(~pl.col(P.BLANK))
    assert sorted(out["row_number"].to_list()) == ingested.typed["row_number"].to_list()
    expected = {(f, n): r for f, n, r in validated.rejects.select("source_file", "row_number", "reasons").iter_rows()}
    assert reasons_of(out) == expected
    # the whitespace-only record is a record of blank cells: skipped (not rejected), as locally
    blank_cells = marked.filter(pl.col(P.BLANK))["row_number"].to_list()
    assert len(blank_cells) == 1
    raw = pl.from_arrow(records(text_lines(path, splits))[0])
    assert raw.height == ingested.rows_read + len(blank_cells)
    # summary.json's blank_rows: blank lines + records of blank cells, the local count
    assert counted[P.norm_uri(path.resolve().as_uri())].blank_rows + len(blank_cells) == ingested.summary_notes()["blank_rows"]


@pytest.mark.parametrize("lines, blank_rows", [
    ([HEADER, GOOD.format(1), GOOD.format(2), "", "", ""], 0),            # only at the end: the file's end
    ([HEADER, GOOD.format(1), ",,,,,,", " , ,\t,,,,", GOOD.format(4), ""], 2),  # records of blank cells
    ([HEADER, GOOD.format(1), "", ",,,,,,", GOOD.format(4), "", ""], 4),      # a blank line inside: all count
])
@pytest.mark.parametrize("splits", [1, 4])
def test_blank_rows_skipped_and_counted_as_locally(tmp_path, lines, blank_rows, splits):
    path = write(tmp_path / "blank.csv", "\n".join(lines) + "\n")
    ingested, validated = local([path])
    assert ingested.summary_notes()["blank_rows"] == blank_rows  # the hand count
    marked, counted = spark_like([path], splits, keep_blank=True)
    out = marked.filter(~pl.col(P.BLANK))
    assert sorted(out["row_number"].to_list()) == ingested.typed["row_number"].to_list()
    assert reasons_of(out) == {(f, n): r for f, n, r in
                               validated.rejects.select("source_file", "row_number", "reasons").iter_rows()}
    skipped = marked[P.BLANK].sum()
    assert counted[P.norm_uri(path.resolve().as_uri())].blank_rows + skipped == blank_rows


def test_bom_and_unterminated_quote(tmp_path):
    text = "\ufeff" + "\n".join([HEADER, GOOD.format(1), "", GOOD.format(3), 'P4,TX,"rental,1,1,2020-01-01,0',
                                 GOOD.format(5)]) + "\n"
    path = write(tmp_path / "q.csv", text)
    ingested, validated = local([path])
    out, _ = spark_like([path], 2)
    assert sorted(out["row_number"].to_list()) == ingested.typed["row_number"].to_list()
    expected = {(f, n): r for f, n, r in validated.rejects.select("source_file", "row_number", "reasons").iter_rows()}
    assert reasons_of(out) == expected


def test_many_bad_rows_numbered_exactly(tmp_path):
    lines = [HEADER] + [f"P{n},TX" if n % 7 == 0 or n % 11 == 0 else GOOD.format(n) for n in range(1, 801)]
    path = write(tmp_path / "many.csv", "\n".join(lines) + "\n")
    out, _ = spark_like([path], 6, chunk_rows=400)
    assert sorted(out["row_number"].to_list()) == list(range(1, 801))
    ok = out.filter(pl.col(P.REASONS).list.len() == 0)
    assert ok["property_id"].to_list() == [f"P{n}" for n in ok["row_number"]]


def test_union_of_columns_over_files(tmp_path):
    a = write(tmp_path / "a.csv", f"{HEADER},hoa_monthly,color\n{GOOD.format(1)},10,red\n{GOOD.format(2)},x,blue\n")
    b = write(tmp_path / "b.csv", f"color,{HEADER}\ngreen,{GOOD.format(3)}\n")
    ingested, validated = local([a, b])
    sources = [read_source(p, n) for p, n in ((a, "a.csv"), (b, "b.csv"))]
    out, _ = evaluate_csv([a, b], [s.columns for s in sources], ["a.csv", "b.csv"], as_of=AS_OF)
    expected = {(f, n): r for f, n, r in validated.rejects.select("source_file", "row_number", "reasons").iter_rows()}
    assert reasons_of(out) == expected
    assert out.sort(P.FILE_INDEX, "row_number")["color"].to_list() == ["red", None, "green"]
    assert set(out[P.FILE_INDEX]) == {0, 1}


def test_parquet_rows_give_the_local_reasons(tmp_path, messy_local):
    """Parquet with proper types (floats, dates, booleans) and with text columns: the values go
    through the ingest's own DuckDB text casts, so reasons and results match the local run."""
    _, validated = messy_local
    frame = pl.read_csv(MESSY, infer_schema=False, truncate_ragged_lines=True).with_columns(
        pl.col("first_lien_balance").cast(pl.Float64, strict=False),
        pl.col("rental_start_date").str.to_date(strict=False),
        pl.col("recourse").str.strip_chars().str.to_lowercase().replace_strict(
            {"yes": True, "true": True}, default=None, return_dtype=pl.Boolean))
    path = tmp_path / "messy.parquet"
    frame.write_parquet(path)
    ingested, validated = local([path])
    table = pq.read_table(path)
    table = table.append_column(P.PQ_FILE, pa.array(["file:" + str(path)] * table.num_rows)) \
                 .append_column(P.PQ_ROW, pa.array(range(table.num_rows), pa.int64()))
    ctx = P.EvalContext(as_of=AS_OF, assumptions={}, defaults={}, columns=tuple(table.schema.names[:-2]),
                        files={P.norm_uri(path.as_uri()): P.FileRef("messy.parquet", 0, "parquet",
                                                                     tuple(table.schema.names[:-2]))},
                        chunk_rows=10)
    out = pl.concat([pl.from_arrow(pa.Table.from_batches([b]))
                     for b in P.evaluate_parquet_rows(iter(table.to_batches(max_chunksize=4)), ctx)])
    expected = {(f, n): r for f, n, r in validated.rejects.select("source_file", "row_number", "reasons").iter_rows()
                if not any("duplicate id" in x for x in r)}
    assert reasons_of(out) == expected
    acc = validated.accepted
    want = engine.results_frame(engine.evaluate_wide(acc, as_of=AS_OF).collect(), acc)
    got = out.filter(pl.col("row_number").is_in(acc["row_number"].implode())).select(want.columns)
    assert_same_results(got.sort("row_number"), want.sort("row_number"))


def test_duplicate_reason_wording_is_validations():
    # validate words it "duplicate id ({n} rows)"; the Spark engine builds it from this
    assert checks.duplicate_message(3) == "duplicate id (3 rows)"
    assert checks.unique_rank() == schema.NAMES.index(schema.UNIQUE_COLUMN) * 10 + 4


def test_output_schema_is_stable():
    ctx = P.EvalContext(as_of=AS_OF, assumptions={}, defaults={}, columns=("property_id", "state", "x"), files={})
    s = P.output_schema(ctx)
    assert list(s)[:5] == ["source_file", "row_number", P.FILE_INDEX, P.PID, P.REASONS]
    assert s[P.FILE_INDEX] == pl.Int32 and s[P.REASONS] == checks.REASONS_DTYPE
    assert s[P.RAW] == pl.List(pl.String)
    assert all(c in s for c in schema.RESULT_OUTPUTS) and "x" in s


def test_norm_uri():
    assert P.norm_uri("file:/a/b%20c.csv") == P.norm_uri("file:///a/b c.csv") == "file:///a/b c.csv"
    assert P.norm_uri("s3a://bucket/x/y.csv") == "s3a://bucket/x/y.csv"


def test_quotes_the_parity_cannot_split_stop_the_run(tmp_path):
    """``ren"tal,"x`` balances its quotes but opens a quoted value: DuckDB reads the following lines
    into the same record, which Spark numbered apart. The partition says so instead of misnumbering."""
    path = write(tmp_path / "amb.csv", "\n".join([HEADER, 'P1,TX,ren"tal,"x,1,2020-01-01,0', GOOD.format(2)]) + "\n")
    from dispo.errors import DispoError

    with pytest.raises(DispoError, match=r"amb.csv: row 1: a quote opens a value .* --engine local"):
        spark_like([path])
