"""report.html: content, escaping of user text, self-containment, the run's wiring (report.html,
report.xlsx and Data Docs in output_dir) and a real headless Chromium load when one is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

import dispo
from dispo.reports import html, worklists
from testkit import AS_OF, row, run_golden, typed_frame

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden_reports")
    run_golden(out)
    return out


@pytest.fixture(scope="module")
def hostile():
    """Results and rejects whose user text tries to break out of the page."""
    results = dispo.evaluate(typed_frame([
        row(property_id="X<b>1</b>", address=XSS, months_delinquent=3, first_lien_balance=320000.0),
        row(property_id="P2", address="2 Elm & Co \"quoted\"", months_delinquent=1, occupancy="rental"),
    ]), as_of=AS_OF)
    rejects = pl.DataFrame({
        "source_file": ["<img src=x onerror=alert(2)>.csv"], "row_number": [4],
        "reasons": [[f"address: bad: '{XSS}'"]], "property_id": ["<i>R</i>"], "address": [XSS],
    })
    summary = {"pipeline": "<b>p</b>", "as_of": "2026-11-22", "inputs": [XSS],
               "reasons": {"by_reason": {f"state: {XSS}": 1}},
               "assumptions_changed": {"reo_discount": 0.3}, "defaults": {"filing_status": "mfj"}}
    return results, rejects, summary


def test_user_text_is_escaped_never_raw(hostile):
    page = html.render_html(*hostile)
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for raw in ("<b>p</b>", "<img src=x", "<i>R</i>", "X<b>1</b>"):
        assert raw not in page
    assert "X&lt;b&gt;1&lt;/b&gt;" in page
    # the one executable script is ours (allowed by its hash); the worklists' data is JSON that no
    # "<" can break out of
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert [body for attrs, body in scripts if "application/json" not in attrs] == [html.SCRIPT]
    assert f"script-src '{html.SCRIPT_HASH}'" in page
    data = [body for attrs, body in scripts if "application/json" in attrs]
    assert len(data) == 2 and not any(c in body for body in data for c in "<>&")
    assert any(cell == "X<b>1</b>" for body in data for row in json.loads(body)["rows"] for cell in row)


def test_page_is_self_contained(hostile):
    page = html.render_html(*hostile, files=("report.xlsx", "investor_worklist.csv"), data_docs_href="data_docs/index.html")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # every URL the page references is a fragment, a data: URL or a relative link to the run's files
    urls = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert urls
    for url in urls:
        assert url.startswith(("#", "data:")) or not re.match(r"^[a-z][a-z0-9+.-]*:", url), url
    assert "<svg" in page and "http://www.w3.org/2000/svg" in page  # the SVG namespace is not a fetch
    assert 'href="data_docs/index.html"' in page
    assert 'href="report.xlsx"' in page and 'href="rejects.csv"' not in page


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []

    VOID = {"meta", "link", "br", "img", "input", "hr", "rect", "line", "path", "circle"}

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def test_markup_is_balanced(hostile):
    checker = _Checker()
    checker.feed(html.render_html(*hostile))
    assert checker.errors == [] and checker.stack == []


def test_sections_and_numbers(hostile):
    results, rejects, summary = hostile
    page = html.render_html(results, rejects, summary)
    for anchor in ('id="summary"', 'id="lender"', 'id="investor"', 'id="tax"', 'id="rejects"'):
        assert anchor in page
    assert "reo_discount" in page and "0.27" in page  # changed assumption and its default
    assert "filing_status" in page
    top = worklists.ranked(results, worklists.LENDER)["property_id"][0]
    assert f"<td>{top}</td>" in page.replace("&lt;", "<").replace("&gt;", ">")
    claim_total = results.filter(pl.col("loss_mit_candidate"))["lender_savings_vs_foreclosure"].sum()
    assert html.fmt_money(round(claim_total, 2)) in page


@pytest.mark.parametrize(("purpose", "shown", "hidden"), [
    ("lender", 'id="lender"', 'id="investor"'), ("investor", 'id="investor"', 'id="lender"')])
def test_purpose_selects_the_sections(hostile, purpose, shown, hidden):
    """docs/spec.md section 7: a landlord's page has no lender section, a servicer's no investor one."""
    page = html.render_html(*hostile, purpose=purpose)
    assert shown in page and hidden not in page and 'id="tax"' in page


def test_money_formatting():
    assert html.fmt_money(1234.5) == "$1,234.50"
    assert html.fmt_money(-0.5) == "\u2212$0.50"
    assert html.fmt_money(None) == ""
    assert html.fmt_rate(0.279221) == "27.92 %"
    assert html.fmt_money_short(2_500_000) == "$2.5M"


def test_empty_run_renders(hostile):
    _, rejects, summary = hostile
    empty = dispo.evaluate(typed_frame([row()]), as_of=AS_OF).head(0)
    page = html.render_html(empty, rejects.head(0), {})
    assert "No row was rejected" in page and "no data" in page


def test_histogram_bins_clip_outliers():
    lf = pl.LazyFrame({"x": [*map(float, range(100)), 10_000.0, None, float("nan")]})
    h = html.histogram_bins(lf, "x", bins=10)
    assert sum(n for _, _, n in h["bins"]) == h["n"] == 101
    assert h["nulls"] == 2 and h["clipped"] >= 1 and h["open_ends"][1]


# --- the run ------------------------------------------------------------------------------------

def test_run_writes_html_xlsx_and_data_docs(golden_run):
    out = golden_run
    for name in ("report.html", "report.xlsx", "data_docs/index.html"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / ".dispo-manifest.json").read_text())
    assert {"report.html", "report.xlsx"} <= set(manifest["files"])
    assert not list(out.glob(".data_docs-*")) and not list(out.glob(".staging-*"))
    page = (out / "report.html").read_text(encoding="utf-8")
    top = pl.read_csv(out / "lender_worklist.csv")["property_id"][0]
    assert top in page
    assert 'href="data_docs/index.html"' in page
    docs = list((out / "data_docs" / "validations").rglob("*.html"))
    assert docs and "dispo_input" in docs[0].read_text(encoding="utf-8")


def test_rerun_replaces_data_docs(golden_run, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(golden_run, out)
    before = {p.name for p in (out / "data_docs" / "validations").rglob("*.html")}
    run_golden(out)
    runs = list((out / "data_docs" / "validations" / "dispo_input").iterdir())
    assert len(runs) == 1 and before  # the old site was replaced, not merged
    assert not list(out.glob(".data_docs-*"))


# --- a real browser ---------------------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(path).exists():
            return path
    return None


CONSOLE = re.compile(r"CONSOLE|Uncaught|Refused to|net::ERR_", re.I)


def test_headless_chromium_renders_without_console_errors(golden_run, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (looked for chromium, chromium-browser, google-chrome on PATH and "
                    "/usr/bin): the headless render check needs one; install it with your OS packages")
    page = golden_run / "report.html"
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--window-size=1280,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    problems = [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]
    assert problems == [], "\n".join(problems[:20])
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # something was painted
