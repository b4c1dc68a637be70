"""Great Expectations Data Docs of a run's validation (dispo.validate.data_docs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from dispo.ingest import ingest
from dispo.validate import validate
from dispo.validate.data_docs import DATA_DOCS_DIR, build_data_docs, staged_data_docs, trimmed_result

AS_OF = date(2026, 11, 22)
MESSY = Path(__file__).parents[1] / "data" / "messy" / "portfolio.csv"


@pytest.fixture(scope="module")
def gx_result():
    con = duckdb.connect()
    try:
        return validate(ingest([MESSY], con, as_of=AS_OF), as_of=AS_OF).gx_result
    finally:
        con.close()


def test_trimmed_copy_caps_lists_and_keeps_counts(gx_result):
    trimmed = trimmed_result(gx_result, max_listed=1)
    assert len(trimmed.results) == len(gx_result.results)
    assert trimmed.success == gx_result.success is False
    for before, after in zip(gx_result.results, trimmed.results):
        for key in ("unexpected_index_list", "partial_unexpected_list", "unexpected_list"):
            if isinstance((before.result or {}).get(key), list):
                assert len(after.result[key]) == min(1, len(before.result[key]))
        assert (after.result or {}).get("unexpected_count") == (before.result or {}).get("unexpected_count")
        assert "unexpected_index_query" not in (after.result or {})
    assert any(len((r.result or {}).get("unexpected_index_list") or []) > 1 for r in gx_result.results)


def test_site_is_built(gx_result, tmp_path):
    index = build_data_docs(gx_result, tmp_path / "site", run_name="t")
    assert index == tmp_path / "site" / "index.html" and index.is_file()
    pages = list((tmp_path / "site" / "validations").rglob("*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert "dispo_input" in text
    for column in ("market_value", "remaining_term_months", "property_id"):  # failing expectations shown
        assert column in text
    assert (tmp_path / "site" / "expectations" / "dispo_input.html").is_file()


def test_staged_site_swaps_in_on_success_only(gx_result, tmp_path):
    out = tmp_path / "out"
    with staged_data_docs(out, gx_result, run_name="first") as docs:
        assert docs.href == f"{DATA_DOCS_DIR}/index.html"
        assert not (out / DATA_DOCS_DIR).exists()  # not before the outputs commit
    first = sorted(p.name for p in (out / DATA_DOCS_DIR / "validations" / "dispo_input").iterdir())
    assert first == ["first"]
    with pytest.raises(RuntimeError):
        with staged_data_docs(out, gx_result, run_name="second"):
            raise RuntimeError("the output set failed")
    assert sorted(p.name for p in (out / DATA_DOCS_DIR / "validations" / "dispo_input").iterdir()) == first
    assert [p.name for p in out.iterdir()] == [DATA_DOCS_DIR]  # nothing left behind
    with staged_data_docs(out, gx_result, run_name="third"):
        pass
    assert [p.name for p in (out / DATA_DOCS_DIR / "validations" / "dispo_input").iterdir()] == ["third"]


def test_no_result_or_a_gx_failure_gives_no_link(tmp_path, caplog):
    with staged_data_docs(tmp_path / "a", None) as docs:
        assert docs.href is None
    assert not (tmp_path / "a" / DATA_DOCS_DIR).exists()
    with staged_data_docs(tmp_path / "b", object()) as docs:  # not a validation result: GX cannot render it
        assert docs.href is None
    assert "Data Docs not written" in caplog.text
    assert list((tmp_path / "b").iterdir()) == []


def test_leftovers_of_a_killed_run_are_removed(gx_result, tmp_path):
    (tmp_path / ".data_docs-new-dead").mkdir(parents=True)
    (tmp_path / ".data_docs-old-dead").mkdir()
    with staged_data_docs(tmp_path, None):
        pass
    assert list(tmp_path.iterdir()) == []
