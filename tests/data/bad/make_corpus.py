"""Writes the hostile-input corpus of tests/data/bad (see cases.toml for what each file must do).

    python tests/data/bad/make_corpus.py            # (re)writes the small committed files
    python tests/data/bad/make_corpus.py --big DIR  # also the big ones (generated = true) into DIR

The committed files are small and deterministic; the big ones (a 20 MB line, 100 KB cells) are
written by the tests into a temporary directory with :func:`write_big`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance,address,interest_rate"
OK1 = "P1,TX,rental,300000,250000,2015-01-01,200000,1 Main St,0.05"
OK2 = "P2,CA,primary,500000,400000,2016-06-01,450000,2 Oak Ave,6%"
OK3 = "P3,FL,second_home,200000,180000,2019-03-03,0,,"


def row(pid: str, *, market_value: str = "300000", purchase_price: str = "250000",
        purchase_date: str = "2015-01-01", first_lien_balance: str = "200000", address: str = "",
        interest_rate: str = "", state: str = "TX", occupancy: str = "rental") -> str:
    return ",".join([pid, state, occupancy, market_value, purchase_price, purchase_date, first_lien_balance,
                     address, interest_rate])


def csv_text(*rows: str, header: str = HEADER, eol: str = "\n") -> str:
    return eol.join([header, *rows]) + eol


def small_files() -> dict[str, bytes]:
    """name -> content of every committed corpus file."""
    t: dict[str, str | bytes] = {}
    ok = csv_text(OK1, OK2, OK3)
    # --- file-level problems (exit 1) ---
    t["semicolon.csv"] = ok.replace(",", ";")
    t["tab_separated.csv"] = ok.replace(",", "\t")
    t["duplicate_header.csv"] = csv_text(OK1, header=HEADER.replace("address", "state"))
    t["case_duplicate_header.csv"] = csv_text(OK1 + ",1", header=HEADER + ",Market_Value")
    t["missing_required.csv"] = ("property_id,state,occupancy,market_value,purchase_price,first_lien_balance\n"
                                 "P1,TX,rental,300000,250000,200000\n")
    t["header_trailing_comma.csv"] = csv_text(OK1 + ",", header=HEADER + ",")
    t["empty.csv"] = ""
    t["blank_lines_only.csv"] = "\n\n\r\n"
    t["header_only.csv"] = HEADER + "\n"
    rng = random.Random(20261122)
    t["binary.csv"] = bytes(rng.randrange(256) for _ in range(4096))
    t["binary.parquet"] = bytes(rng.randrange(256) for _ in range(4096))
    t["not_gzip.csv.gz"] = ok
    t["utf16.csv"] = ok.encode("utf-16")
    t["reserved_output_name.csv"] = csv_text(OK1 + ",1", header=HEADER + ",fv_hold")
    t["internal_name.csv"] = csv_text(OK1 + ",batch-7", header=HEADER + ",run_id")
    t["neutralised_header_clash.csv"] = csv_text(OK1 + ",1,2", header=HEADER + ",=total,'=total")
    t["portfolio.xlsx"] = b"PK\x03\x04 not really a workbook"
    # --- files read whole (exit 0) ---
    t["bom.csv"] = "\ufeff" + ok
    t["crlf.csv"] = csv_text(OK1, OK2, OK3, eol="\r\n")
    t["cr_only.csv"] = csv_text(OK1, OK2, OK3, eol="\r")
    t["mixed_line_ends.csv"] = (HEADER + "\r\n" + OK1 + "\r\n" + OK2 + "\n" + OK3 + "\r\n\r\n"
                                + row("P5", address='"quoted\r\nCRLF and\nLF"') + "\n")
    t["extra_columns.csv"] = csv_text(OK1 + ",north,=1+1", OK2 + ",west,", header=HEADER + ",portfolio,note")
    t["sql_words_as_columns.csv"] = csv_text(OK1 + ",7,a,b", OK2 + ",8,c,d", header=HEADER + ",rowid,select,from")
    t["unicode_ids.csv"] = csv_text(
        row("Ünïcødé-1", address="Straße 5"),
        row("東京-2", address="東京都千代田区"),
        row("🏠3"),
        row("e\u0301"),          # e + combining acute (NFD) ...
        row("\u00e9"),           # ... and é (NFC): two different ids, byte for byte
        row("P\u200b1"),         # a zero-width space inside
        row("P1"),
        row("\u202eevil", address="\u202etxt.exe"),  # right-to-left override
    )
    t["nul_byte.csv"] = csv_text(OK1, row("P2", address="a\x00b"), OK3)
    # --- rows quarantined (exit 3: more than 5 % rejected) ---
    t["quoted_newlines.csv"] = csv_text(
        OK1,
        row("P2", address='"2 Oak Ave\nApt 3\r\nBack door"'),
        OK3,
        row("P4", market_value="-1", address='"x\ny"'),
        row("P5", address='"last\nrow"'),
    )
    t["lone_cr.csv"] = csv_text(row("P1", address="x\ry"), OK2, OK3)  # a CR in an unquoted value ends the record
    t["ragged.csv"] = csv_text(OK1, "P2,CA,primary,500000", OK3, row("P4") + ",extra,more", "", row("P6"))
    t["malformed_quotes.csv"] = csv_text(OK1, 'P2,"TX"x,rental,300000,250000,2015-01-01,200000,,', OK3,
                                         'P4,TX,rental,300000,250000,2015-01-01,200000,"never closed,',
                                         row("P5"))
    t["huge_numbers.csv"] = csv_text(
        row("P1", market_value="1e308"),
        row("P2", market_value="inf"),
        row("P3", market_value="NaN"),
        row("P4", purchase_price="-Infinity"),
        row("P5", first_lien_balance="1e400"),
        row("P6", market_value="1000000000000"),                   # exactly 1e12: allowed
        row("P7", market_value="1000000000000.01"),
        row("P8", interest_rate="1e308%"),
        row("P9", interest_rate="1e-400"),                         # underflows to 0: allowed
        row("P10", first_lien_balance="9" * 41),
        row("P11", market_value='"$999,999,999,999.99"', first_lien_balance="999999999999"),
    )
    t["negative_and_zero.csv"] = csv_text(
        row("P1", market_value="0"),
        row("P2", market_value="-300000"),
        row("P3", first_lien_balance="0", interest_rate="0"),
        row("P4", first_lien_balance="-0", interest_rate="-0"),
        row("P5", market_value="-0"),
        row("P6", first_lien_balance="-1", interest_rate="-0.01"),
        row("P7", purchase_price="0.0"),
        row("P8", market_value="0.01", purchase_price="0.01", first_lien_balance="0"),
    )
    t["impossible_dates.csv"] = csv_text(
        row("P1", purchase_date="2026-02-30"),
        row("P2", purchase_date="2025-02-29"),
        row("P3", purchase_date="2024-02-29"),
        row("P4", purchase_date="2026-13-01"),
        row("P5", purchase_date="2026-1-5"),
        row("P6", purchase_date="01/02/2020"),
        row("P7", purchase_date="20200102"),
        row("P8", purchase_date="2020-01-02T00:00:00"),
        row("P9", purchase_date="0000-01-01"),
        row("P10", purchase_date="9999-12-31"),
        row("P11", purchase_date=" 2020-01-02 "),
        row("P12", purchase_date="2020-01-00"),
        row("P13", purchase_date="-2020-01-01"),
        row("P14", purchase_date="0001-01-01"),
    )
    t["money_formats.csv"] = csv_text(
        row("P1", market_value='"$1,200"'),
        row("P2", market_value='"$1,200.50"'),
        row("P3", market_value='"1.200,50"'),
        row("P4", market_value="(1200)"),
        row("P5", market_value="1 200"),
        row("P6", market_value="€1200"),
        row("P7", market_value='"1,20"'),
        row("P8", market_value="-$5"),
        row("P9", market_value="1200$"),
        row("P10", market_value="USD 1200"),
        row("P11", market_value='"$ 1,200"'),
        row("P12", market_value="1_200"),
        row("P13", market_value="0x10"),
        row("P14", market_value="+1200"),
        row("P15", market_value='"1,200,000.5"'),
        row("P16", market_value="１２００"),
        row("P17", market_value="1200."),
        row("P18", market_value=".5e6"),
        row("P19", market_value="$$1200"),
        row("P20", market_value="٣٠٠٠٠٠"),
        row("P21", market_value="1.2.3"),
        row("P22", market_value="1e3"),
    )
    t["percent.csv"] = csv_text(
        row("P1", interest_rate="6%"),
        row("P2", interest_rate="12.5%"),
        row("P3", market_value="12.5%"),
        row("P4", interest_rate="6 %"),
        row("P5", interest_rate="%6"),
        row("P6", interest_rate="6%%"),
        row("P7", interest_rate="$6%"),
        row("P8", interest_rate="31%"),
        row("P9", interest_rate="6"),
        row("P10", interest_rate="-1%"),
        row("P11", interest_rate="0.06"),
    )
    t["whitespace.csv"] = csv_text(
        "  P1  , tx ,  Rental ,  300000 , 250000 , 2015-01-01 , 200000 ,  padded  , 0.05 ",
        "\tP2\t,\tCA\t,primary,\t500000\t,400000,2016-06-01,450000,,6% ",
        "\u00a0P3\u00a0,FL,second_home,\u00a0200000,180000,2019-03-03,0,,",
        row("   "),
        row("P5", market_value="\u2003300000"),
        row("P6", state="T X"),
    )
    t["duplicate_ids.csv"] = csv_text(
        OK1, OK2, OK1, OK3,
        " P2 ,CA,primary,500000,400000,2016-06-01,450000,,",
        row("p1"),
    )
    t["invalid_utf8_row.csv"] = (
        csv_text(OK1, "", OK3).encode()
        + row("P4", address="Caf\xe9 Street").encode("latin-1") + b"\n\n"
        + row("P6").encode() + b"\n"
    )
    t["undefined_cp1252_row.csv"] = (  # 0x81 is neither UTF-8 nor defined in cp1252
        csv_text(OK1, "", OK3).encode()
        + row("P4", address="Caf\xe9 Street").encode("latin-1").replace(b"\xe9", b"\x81") + b"\n\n"
        + row("P6").encode() + b"\n"
    )
    t.update(parquet_files())
    return {k: (v.encode("utf-8") if isinstance(v, str) else v) for k, v in t.items()}


def parquet_files() -> dict[str, bytes]:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    def as_bytes(table: pa.Table) -> bytes:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return buf.getvalue()

    wrong = pa.table({
        "property_id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),             # ints as ids: fine
        "state": ["TX"] * 6,
        "occupancy": ["rental"] * 6,
        "market_value": pa.array(["300000", "abc", "$1,200", None, "1e308", "300000"]),  # text money
        "purchase_price": pa.array([250000] * 6, pa.int32()),
        "purchase_date": pa.array(["2015-01-01", "2015-01-01", "2015-01-01", "2015-01-01", "2015-01-01",
                                   "20150101"]),
        "first_lien_balance": pa.array([200000.0, 200000.0, 200000.0, 200000.0, 200000.0, 200000.0]),
        "recourse": pa.array([True, False, True, None, True, False]),
        "months_delinquent": pa.array([1.0, 2.5, float("nan"), float("inf"), -1.0, 3.0]),  # floats as int
        "interest_rate": pa.array([0.05] * 6, pa.float32()),
        "tags": pa.array([[1, 2], [3], [], None, [5], [6]]),                 # nested extras
        "meta": pa.array([{"a": 1}, {"a": 2}, None, {"a": 3}, {"a": 4}, {"a": 5}]),
        "blob": pa.array([b"\x00\x01", b"", None, b"x", b"=1+1", b"y"]),
    })
    bools = pa.table({
        "property_id": ["B1", "B2", "B3"], "state": ["TX"] * 3, "occupancy": ["rental"] * 3,
        "market_value": [300000.0] * 3, "purchase_price": [250000.0] * 3,
        "purchase_date": pa.array([dt.date(2015, 1, 1)] * 3),
        "first_lien_balance": pa.array([True, False, True]),                 # booleans as money
        "recourse": pa.array([1.5, 1.0, 0.0]),                              # floats as booleans
        "rental_start_date": pa.array([dt.datetime(2015, 2, 1), dt.datetime(2015, 2, 1, 13, 5),
                                       dt.datetime(2015, 3, 1)]),
    })
    good = as_bytes(bools)
    return {
        "wrong_types.parquet": as_bytes(wrong),
        "wrong_types_2.parquet": good,
        "empty.parquet": as_bytes(bools.slice(0, 0)),
        "truncated.parquet": good[: len(good) // 2],
    }


# --- big files, generated by the tests (not committed) ----------------------------------------

def write_big(name: str, directory: Path) -> Path:
    path = directory / name
    if name == "huge_cell.csv":  # one 20 MB cell: over DuckDB's 2 MB line limit
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(HEADER + "\n" + OK1 + "\n")
            f.write(row("P2", address="A" * 20_000_000) + "\n")
            f.write(OK3 + "\n")
    elif name == "long_cells.csv":  # 100 KB cells: under the line limit, over DuckDB's 10,000-character reject text
        path.write_text(csv_text(
            OK1,
            row("P2", address="=" + "B" * 100_000),              # accepted, formula-looking, long
            row("P3", market_value="-1", address="C" * 50_000),  # rejected, raw value kept whole
            row("P4", address="D" * 30_000) + ",one too many",   # ragged, raw values kept whole
            OK3.replace("P3", "P5"),
        ), encoding="utf-8")
    elif name == "huge_cell.csv.gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
            f.write(HEADER + "\n" + OK1 + "\n" + row("P2", address="A" * 3_000_000) + "\n" + OK3 + "\n")
    else:
        raise KeyError(name)
    return path


def main(argv: list[str]) -> None:
    for name, data in small_files().items():
        (HERE / name).write_bytes(data)
    if len(argv) == 2 and argv[0] == "--big":
        for name in ("huge_cell.csv", "long_cells.csv", "huge_cell.csv.gz"):
            write_big(name, Path(argv[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
