"""report.html in a real browser (issue 17): headless Chromium loads the page of a run over the
2,001-row sample portfolio (purpose both), sorts a worklist by a money column, filters it by a
property id beyond the top 25, takes a screenshot, and sees no console error; the default columns
fit 1400 px without horizontal scroll; the top 25 are in the HTML without JavaScript."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from cdp import Browser, find_or_install_chromium

from dispo.config import from_mapping
from dispo.run import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "lender_portfolio.csv"


@pytest.fixture(scope="module")
def chromium() -> str:
    binary, why = find_or_install_chromium()
    if binary is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    return binary


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("browser")
    shutil.copy(SAMPLE, work / "portfolio.csv")
    cfg = from_mapping({"pipeline": {"name": "browser <b>&", "inputs": [str(work / "portfolio.csv")],
                                     "output_dir": str(work / "out"), "as_of": "2026-11-22", "purpose": "both",
                                     "max_reject_fraction": 1.0}}, base=work)
    run_pipeline(cfg)
    return work / "out"


@pytest.fixture(scope="module")
def page(chromium, report):
    browser = Browser(chromium, width=1400)
    try:
        browser.open((report / "report.html").as_uri())
        yield browser
    finally:
        browser.close()


def _column(page: Browser, table: str, name: str) -> list[str]:
    return page.js(f"""(() => {{
        const t = document.getElementById({table!r});
        const i = [...t.tHead.rows[0].cells].findIndex(th => th.textContent === {name!r});
        return [...t.tBodies[0].rows].map(r => r.cells[i].textContent);
    }})()""")


def _money(text: str) -> float:
    return float(text.replace("\u2212", "-").replace("$", "").replace(",", ""))


def test_top_25_without_javascript(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    body = html.split('id="lender_worklist-table"', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr>") == 1 + 25  # header + the top 25, in the HTML itself
    top = pl.read_csv(report / "lender_worklist.csv")["property_id"].head(25).to_list()
    assert re.findall(r"<td>(L\d+)</td>", body) == top


def test_loads_without_console_error_and_fits_1400px(page):
    assert page.js("document.querySelectorAll('table.worklist').length") == 2
    widths = page.js("""[...document.querySelectorAll('table.worklist')].map(t => {
        const box = t.parentElement; return [box.scrollWidth, box.clientWidth]; })""")
    assert all(scroll <= client for scroll, client in widths), widths
    assert page.js("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.errors == []


def test_sort_by_a_money_column(page, tmp_path):
    page.js("""[...document.getElementById('lender_worklist-table').tHead.rows[0].cells]
               .find(th => th.textContent === 'min_acceptable_offer').click()""")
    values = [_money(v) for v in _column(page, "lender_worklist-table", "min_acceptable_offer") if v]
    assert len(values) > 25 and values == sorted(values, reverse=True)  # money sorts as numbers, desc first
    page.js("""[...document.getElementById('lender_worklist-table').tHead.rows[0].cells]
               .find(th => th.textContent === 'min_acceptable_offer').click()""")
    again = [_money(v) for v in _column(page, "lender_worklist-table", "min_acceptable_offer") if v]
    assert again == sorted(again)
    page.screenshot(tmp_path / "sorted.png")
    assert (tmp_path / "sorted.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors == []


def test_filter_by_a_property_id(page, report, tmp_path):
    worklist = pl.read_csv(report / "lender_worklist.csv")
    wanted = worklist["property_id"][300]  # far below the top 25
    page.js(f"""(() => {{ const f = document.getElementById('lender_worklist-filter');
                f.value = {wanted!r}; f.dispatchEvent(new Event('input')); }})()""")
    assert _column(page, "lender_worklist-table", "property_id") == [wanted]
    reason = _column(page, "lender_worklist-table", "reason")[0]
    assert reason == worklist.filter(pl.col("property_id") == wanted)["reason"].item()
    assert f"1 of {min(2000, worklist.height)} rows" in page.js("document.getElementById('lender_worklist-status').textContent")
    page.screenshot(tmp_path / "filtered.png")
    assert (tmp_path / "filtered.png").stat().st_size > 10_000
    assert page.errors == []
