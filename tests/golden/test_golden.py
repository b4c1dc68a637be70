"""Every worked case of the shared golden set, reproduced through the real CLI (SPEC section 8):
``dispo run tests/data/golden/pipeline.toml --out <tmp>``; money to the cent, rates to 1e-6."""

from __future__ import annotations

import json

import polars as pl
import pytest

from testkit import GOLDEN, golden_pending, run_golden

EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
CASES = [(pid, key, value) for pid, case in EXPECTED["cases"].items()
         for key, value in case.items() if not key.startswith("_")]

@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    return out, run_golden(out)


@pytest.fixture(scope="module")
def results(golden_run):
    return pl.read_parquet(golden_run[0] / "results.parquet")


def test_every_case_is_evaluated_and_none_rejected(golden_run, results):
    out, _ = golden_run
    assert sorted(results["property_id"].to_list()) == sorted(EXPECTED["cases"])
    assert pl.read_parquet(out / "rejects.parquet").height == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["as_of"] == EXPECTED["as_of"]


@pytest.mark.parametrize("pid,key,expected", CASES, ids=[f"{p}-{k}" for p, k, _ in CASES])
def test_golden_value(results, pid, key, expected):
    if reason := golden_pending(pid, key):
        pytest.skip(reason)
    row = results.filter(pl.col("property_id") == pid)
    assert row.height == 1
    assert key in row.columns, f"{key} is not a results column"
    got = row[key][0]
    if isinstance(expected, (bool, str)) or expected is None:
        assert got == expected
    else:
        is_rate = key.endswith("_rate") or key.startswith("lender_severity") or key == "ltv"
        tol = EXPECTED["tolerance"]["rate"] if is_rate else EXPECTED["tolerance"]["money"]
        assert got is not None and abs(got - expected) <= tol + 1e-9, f"{pid} {key}: expected {expected}, got {got}"


def test_tax_outcomes_long_table_matches_results(golden_run, results):
    """T12: 4 rows per property in SPEC order; ltcg + stcg + unrecaptured_1250 = recognized gain."""
    long = pl.read_parquet(golden_run[0] / "tax_outcomes.parquet")
    assert long.height == 4 * results.height
    assert long["disposition"].head(4).to_list() == ["sale", "short_sale", "deed_in_lieu", "foreclosure"]
    assert long["property_id"].to_list() == sorted(long["property_id"].to_list())
    for r in long.iter_rows(named=True):
        res = results.filter(pl.col("property_id") == r["property_id"]).row(0, named=True)
        d = r["disposition"]
        for q in ("amount_realized", "gain", "excluded_gain", "cod_taxable", "tax", "borrower_net"):
            assert r[q] == pytest.approx(res[f"{d}_{q}"])
        recognized = max(0.0, r["gain"]) - r["excluded_gain"] if r["gain"] >= 0 else 0.0
        assert r["ltcg"] + r["stcg"] + r["unrecaptured_1250"] == pytest.approx(recognized, abs=1e-6)
