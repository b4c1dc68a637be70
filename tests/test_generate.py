"""The seeded portfolio generator (dispo.generate), the sample data and the sample pipelines.

Validity checks are derived from the schema declaration (dispo.schema.COLUMNS and CROSS_RULES),
never restated here.
"""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from dispo import params, schema
from dispo.reports.atomic import MANIFEST_NAME
from dispo.generate import (
    BLOCK_ROWS,
    POLARS_TYPES,
    SAMPLE_AS_OF,
    generate_portfolio,
    generate_to_path,
    lender_sample,
    write_portfolio,
    write_samples,
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 22)
N = 20_000


@pytest.fixture(scope="module")
def lender() -> pl.DataFrame:
    return generate_portfolio("lender", N, 7, AS_OF)


@pytest.fixture(scope="module")
def investor() -> pl.DataFrame:
    return generate_portfolio("investor", N, 7, AS_OF)


def violations(frame: pl.DataFrame, as_of: date) -> dict[str, int]:
    """Rows breaking each rule of the schema: types, required, allowed sets, bounds, cross rules, ids."""
    out: dict[str, int] = {}
    assert frame.columns == list(schema.NAMES)
    for c in schema.COLUMNS:
        assert frame.schema[c.name] == POLARS_TYPES[c.dtype], c.name
        col = pl.col(c.name)
        checks: dict[str, pl.Expr] = {}
        if c.required:
            checks["missing"] = col.is_null()
            if c.dtype == "string":
                checks["blank"] = col.str.strip_chars() == ""
        if c.allowed is not None:
            checks["not allowed"] = ~col.is_in(list(c.allowed))
        if c.min is not None:
            checks["below min"] = (col <= c.min) if c.min_exclusive else (col < c.min)
        if c.max is not None:
            checks["above max"] = (col >= c.max) if c.max_exclusive else (col > c.max)
        if c.dtype == "float":
            checks["not finite"] = ~col.is_finite()
        for what, expr in checks.items():
            bad = frame.select(expr.fill_null(False).sum()).item()
            if bad:
                out[f"{c.name}: {what}"] = bad
    con = duckdb.connect()
    con.register("t", frame.to_arrow())
    for rule in schema.CROSS_RULES:
        sql = rule.sql.replace("$as_of", "$as_of::DATE")
        args = {"as_of": as_of} if "$as_of" in rule.sql else {}
        bad = con.execute(f"SELECT count(*) FROM t WHERE NOT coalesce(({sql}), true)", args).fetchone()[0]
        if bad:
            out[rule.name] = bad
    dups = frame.height - frame.get_column(schema.UNIQUE_COLUMN).n_unique()
    if dups:
        out["duplicate property_id"] = dups
    return out


def test_deterministic_and_seed_sensitive():
    a = generate_portfolio("lender", 3000, 42, AS_OF)
    b = generate_portfolio("lender", 3000, 42, AS_OF)
    c = generate_portfolio("lender", 3000, 43, AS_OF)
    assert a.equals(b)
    assert not a.drop("property_id").equals(c.drop("property_id"))
    assert not a.equals(generate_portfolio("investor", 3000, 42, AS_OF))


def test_row_count_ids_and_prefix_stability():
    assert generate_portfolio("lender", 0, 1, AS_OF).height == 0
    small = generate_portfolio("investor", 5, 1, AS_OF)
    assert small.height == 5
    assert small.get_column("property_id").to_list() == [f"H{k:06d}" for k in range(1, 6)]
    big = generate_portfolio("investor", BLOCK_ROWS + 10, 1, AS_OF)
    assert big.height == BLOCK_ROWS + 10
    assert big.get_column("property_id").n_unique() == big.height
    assert big.head(5).equals(small)  # rows do not depend on how many follow
    assert generate_portfolio("lender", 3, 1, AS_OF).get_column("property_id").to_list() == [
        "L0000001", "L0000002", "L0000003"]


@pytest.mark.parametrize("kind", ["lender", "investor"])
def test_every_value_satisfies_the_schema(kind, lender, investor):
    frame = lender if kind == "lender" else investor
    assert violations(frame, AS_OF) == {}
    assert frame.get_column("address").null_count() == 0
    assert set(frame.get_column("state").unique()) == set(params.state_codes())


def test_valid_for_other_as_of_dates():
    for as_of in (date(2021, 3, 1), date(2035, 12, 31)):
        for kind in ("lender", "investor"):
            assert violations(generate_portfolio(kind, 4000, 3, as_of), as_of) == {}


def test_optional_columns_often_null_and_sometimes_given(lender, investor):
    from dispo.generate.model import LEFT_EMPTY

    for c in schema.COLUMNS:
        if c.required or c.name == "address":
            continue
        if c.name in LEFT_EMPTY:  # T13's rates come from the state table, never drawn
            assert lender[c.name].null_count() == lender.height and investor[c.name].null_count() == investor.height
            continue
        assert lender.get_column(c.name).null_count() > 0 and investor.get_column(c.name).null_count() > 0, c.name
        given = lender.height - lender.get_column(c.name).null_count() + investor.height - investor.get_column(
            c.name).null_count()
        assert given > 0, c.name


def test_lender_portfolio_is_distressed(lender):
    payoff = (pl.col("first_lien_balance") + pl.col("second_lien_balance").fill_null(0)
              + pl.col("arrears").fill_null(0))
    sc = pl.col("selling_cost_rate").fill_null(schema.BY_NAME["selling_cost_rate"].default)
    md = pl.col("months_delinquent").fill_null(0)
    days = (pl.col("foreclosure_sale_date") - pl.lit(AS_OF)).dt.total_days()
    s = lender.select(
        underwater=(pl.col("market_value") * (1 - sc) < payoff).mean(),
        delinquent=(md >= 1).mean(),
        delinquent_1_12=md.is_between(1, 12).mean(),
        current_with_hardship=((md == 0) & pl.col("hardship").is_not_null()).mean(),
        current_arrears=pl.when(md == 0).then(pl.col("arrears").fill_null(0)).otherwise(0).max(),
        arrears_when_delinquent=pl.when(md > 0).then(pl.col("arrears") > 0).all(),
        scheduled=pl.col("foreclosure_sale_date").is_not_null().mean(),
        within_60=days.is_between(0, 60).fill_null(False).mean(),
        offers=pl.col("short_sale_offer").is_not_null().mean(),
        second=(pl.col("second_lien_balance").fill_null(0) > 0).mean(),
        primary=(pl.col("occupancy") == "primary").mean(),
        median_value=pl.col("market_value").median(),
        tax_share=(pl.col("property_tax_annual") / pl.col("market_value")).median(),
        ins_share=(pl.col("insurance_annual") / pl.col("market_value")).median(),
    ).row(0, named=True)
    assert 0.25 <= s["underwater"] <= 0.35
    assert 0.85 <= s["delinquent"] <= 0.97
    assert s["delinquent_1_12"] >= 0.75
    assert 0.03 <= s["current_with_hardship"] <= 0.15
    assert s["current_arrears"] == 0 and s["arrears_when_delinquent"]
    assert 0.05 <= s["scheduled"] <= 0.30 and 0.005 <= s["within_60"] <= 0.06
    assert 0.05 <= s["offers"] <= 0.20
    assert 0.10 <= s["second"] <= 0.20
    assert s["primary"] >= 0.75
    assert 280_000 <= s["median_value"] <= 420_000
    assert 0.005 <= s["tax_share"] <= 0.02 and 0.002 <= s["ins_share"] <= 0.008


def test_investor_portfolio_is_mostly_rentals(investor):
    rental = pl.col("occupancy") == "rental"
    s = investor.select(
        rentals=rental.mean(),
        rent_share=(pl.col("rent_monthly") / pl.col("market_value")).filter(rental),
        rental_rent_given=pl.col("rent_monthly").filter(rental).is_not_null().all(),
        depreciation=pl.col("depreciation_taken").filter(rental).is_not_null().mean(),
        converted=pl.col("fmv_at_conversion").filter(rental).is_not_null().mean(),
        late_start=(pl.col("rental_start_date") > pl.col("purchase_date")).mean(),
        suspended=pl.col("suspended_passive_losses").filter(rental).is_not_null().mean(),
        statuses=pl.col("filing_status").drop_nulls().n_unique(),
        earlier_tax_year=(pl.col("tax_year") < AS_OF.year).fill_null(False).mean(),
    ).select(pl.all().first(), rent_lo=pl.col("rent_share").min(), rent_hi=pl.col("rent_share").max()
             ).row(0, named=True)
    assert 0.65 <= s["rentals"] <= 0.75
    assert s["rental_rent_given"] and 0.0055 <= s["rent_lo"] and s["rent_hi"] <= 0.0095
    assert s["depreciation"] > 0.5 and 0.1 <= s["converted"] <= 0.4 and s["late_start"] > 0.05
    assert 0.1 <= s["suspended"] <= 0.4
    assert s["statuses"] == 4 and 0.02 <= s["earlier_tax_year"] <= 0.15
    assert investor.get_column("fmv_at_conversion").drop_nulls().min() > 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_portfolio_round_trip(tmp_path, suffix):
    frame = generate_portfolio("lender", 2000, 5, AS_OF)
    path = tmp_path / f"p{suffix}"
    write_portfolio(frame, path)
    if suffix == ".csv":
        back = pl.read_csv(path, schema={c.name: POLARS_TYPES[c.dtype] for c in schema.COLUMNS})
    else:
        back = pl.read_parquet(path)
    assert back.equals(frame)
    # no temporary file left behind: only the file and the reports' atomic writer's manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, MANIFEST_NAME])
    with pytest.raises(ValueError):
        write_portfolio(frame, tmp_path / "p.xlsx")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generate_to_path_chunks(tmp_path, suffix):
    rows = 2 * 700 + 123
    path = tmp_path / f"g{suffix}"
    assert generate_to_path("investor", rows, 9, AS_OF, path, chunk_rows=700) == rows
    if suffix == ".parquet":
        back = pl.read_parquet(path)
        assert pq.ParquetFile(path).metadata.num_row_groups == 3
    else:
        back = pl.read_csv(path, schema={c.name: POLARS_TYPES[c.dtype] for c in schema.COLUMNS})
    assert back.height == rows
    assert back.equals(generate_portfolio("investor", rows, 9, AS_OF))  # chunking changes nothing
    assert generate_to_path("lender", 0, 9, AS_OF, tmp_path / f"empty{suffix}") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, f"empty{suffix}", MANIFEST_NAME])


def test_bad_arguments():
    for args in [("bank", 1, 1), ("lender", -1, 1), ("lender", 1, -1)]:
        with pytest.raises(ValueError):
            generate_portfolio(args[0], args[1], args[2], AS_OF)  # type: ignore[arg-type]


# --- sample data -----------------------------------------------------------------------------------

def test_sample_files_are_up_to_date(tmp_path):
    """sample_data/ is exactly what `dispo generate --sample sample_data/` writes."""
    written = write_samples(tmp_path)
    for p in written:
        assert (ROOT / "sample_data" / p.name).read_text(encoding="utf-8") == p.read_text(encoding="utf-8"), p.name


def test_lender_sample_rejects():
    text, injections = lender_sample()
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    rows = list(csv.reader(io.StringIO(text)))[1:]
    bad_rows = {j.row for j in injections if j.bad}
    assert 8 <= len(bad_rows) <= 15 and len(bad_rows) / len(rows) < 0.01
    assert sum(len(r) != len(header) for r in rows) == 1
    # every row not deliberately bad is valid once parsed as SPEC section 1 says
    good = [r for k, r in enumerate(rows, start=1) if k not in bad_rows]
    lenient = {j.row for j in injections if not j.bad}
    assert len(lenient) >= 8 and not lenient & bad_rows
    frame = pl.DataFrame(good, schema=header, orient="row").select(
        [_parse(c) for c in schema.COLUMNS])
    assert violations(frame, SAMPLE_AS_OF) == {}
    assert (ROOT / "sample_data" / "README.md").read_text().count("| `L") >= len(bad_rows) + len(lenient) - 1


def _parse(c: schema.Column) -> pl.Expr:
    """A small reference parser for the sample's lenient spellings (SPEC section 1, parsing)."""
    raw = pl.col(c.name).str.strip_chars()
    raw = pl.when(raw.str.to_uppercase().is_in(["", "NA", "N/A", "NULL", "NONE"])).then(None).otherwise(raw)
    if c.dtype in ("float", "int"):
        num = raw.str.replace_all(r"[$,]", "").str.replace(r"%$", "")
        value = num.cast(pl.Float64)
        if c.percent_ok:
            value = pl.when(raw.str.ends_with("%")).then(value / 100).otherwise(value)
        return value.cast(POLARS_TYPES[c.dtype]).alias(c.name)
    if c.dtype == "bool":
        low = raw.str.to_lowercase()
        return (pl.when(low.is_in(["true", "t", "1", "yes", "y"])).then(True)
                .when(low.is_in(["false", "f", "0", "no", "n"])).then(False)).alias(c.name)
    if c.dtype == "date":
        return raw.str.to_date("%Y-%m-%d").alias(c.name)
    if c.case == "upper":
        raw = raw.str.to_uppercase()
    elif c.case == "lower":
        raw = raw.str.to_lowercase()
    return raw.alias(c.name)


def test_investor_sample_is_clean():
    path = ROOT / "sample_data" / "investor_portfolio.csv"
    frame = pl.read_csv(path, schema={c.name: POLARS_TYPES[c.dtype] for c in schema.COLUMNS})
    assert frame.height == 500 and violations(frame, SAMPLE_AS_OF) == {}


# --- sample pipelines ----------------------------------------------------------------------------

PIPELINE_KEYS = {"name", "inputs", "output_dir", "as_of", "max_reject_fraction", "purpose", "csv_outputs",
                 "worklist_columns"}


@pytest.mark.parametrize("name", ["lender_loss_mitigation.toml", "investor_nightly.toml"])
def test_sample_pipelines_follow_spec(name):
    path = ROOT / "pipelines" / name
    cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(cfg) <= {"pipeline", "defaults", "assumptions"}
    p = cfg["pipeline"]
    assert set(p) <= PIPELINE_KEYS and p["as_of"] == "2026-11-22" and p["max_reject_fraction"] == 0.05
    for pattern in p["inputs"]:
        assert list(path.parent.glob(pattern)), pattern
    assert p["output_dir"].startswith("../reports/")
    for key, value in cfg.get("defaults", {}).items():
        c = schema.BY_NAME[key]
        assert c.cfg, key
        frame = pl.DataFrame({key: [value]}, schema={key: POLARS_TYPES[c.dtype]})
        assert not [k for k in violations_of_column(frame, c)], key
    specs = params.assumption_specs()
    for key, value in cfg.get("assumptions", {}).items():
        assert key in specs and specs[key].min <= value <= specs[key].max, key


def violations_of_column(frame: pl.DataFrame, c: schema.Column) -> list[str]:
    v = frame.get_column(c.name)[0]
    bad = []
    if c.allowed is not None and v not in c.allowed:
        bad.append("allowed")
    if c.min is not None and (v <= c.min if c.min_exclusive else v < c.min):
        bad.append("min")
    if c.max is not None and (v >= c.max if c.max_exclusive else v > c.max):
        bad.append("max")
    return bad


# --- the package split (issue 14 item 4) and the revision-2 inputs -----------------------------------

#: SHA-256 of the CSV text of generate_portfolio(kind, 3000, 42, 2026-11-22) without the revision-2
#: columns, made by the single-module generator before the split (commit adaf486), whose hardship
#: weights had no job_change: the split must not move a value.
BEFORE_SPLIT = {"lender": "14684d384e17ea2451382b6d7d1921a39235b781a5af5d206a97db4bfee99bad",
                "investor": "d2de1a5d4c10157fa13a593fa6bff61e44618d36d6a9c281b6abd50ce196dc37"}


@pytest.mark.parametrize("kind", ["lender", "investor"])
def test_split_keeps_every_value(kind, monkeypatch):
    import hashlib

    from dispo.generate import market

    monkeypatch.setitem(market.HARDSHIP_WEIGHTS, "job_change", 0.0)
    monkeypatch.setitem(market.HARDSHIP_WEIGHTS, "other", 0.21)
    before_rev_2 = schema.NAMES[: schema.NAMES.index("hardship") + 1]  # the revision-1 columns, in order
    frame = generate_portfolio(kind, 3000, 42, AS_OF).select(before_rev_2)
    assert hashlib.sha256(frame.write_csv().encode()).hexdigest() == BEFORE_SPLIT[kind]


def test_revision_2_inputs_are_drawn(lender, investor):
    for frame in (lender, investor):
        assert (frame["hardship"] == "job_change").sum() > 0
        nqu = frame.filter(pl.col("nonqualified_use_months") > 0)
        assert nqu.height > 0 and (nqu["occupancy"] == "primary").all()
        held = nqu.select(months=(pl.lit(AS_OF) - pl.col("purchase_date")).dt.total_days() / 30.4375)
        assert (nqu["nonqualified_use_months"] <= held["months"]).all()
        entity = frame.filter(pl.col("borrower_is_entity").fill_null(False))
        assert entity.height > 0 and (entity["occupancy"] != "primary").all()
    assert investor["borrower_is_entity"].fill_null(False).mean() > lender["borrower_is_entity"].fill_null(False).mean()


def test_loan_servicing_inputs_are_drawn(lender, investor):
    assert set(lender["investor_type"].drop_nulls().unique()) == {"gse", "fha", "portfolio"}
    assert lender["investor_type"].null_count() < lender.height * 0.3
    gross = lender.filter(pl.col("monthly_gross_income").is_not_null() & pl.col("other_taxable_income").is_not_null())
    assert gross.height > 0 and (gross["monthly_gross_income"] * 12 > gross["other_taxable_income"]).all()
    assert lender["prior_modifications"].max() >= 1 and (lender["prior_modifications"].drop_nulls() <= 2).all()
