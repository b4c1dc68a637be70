"""Crash safety: ``dispo run`` killed with SIGKILL while it writes its outputs (SPEC section 7:
"a failed run never leaves a half-written file in place of a good one"; reports/atomic.py).

Two ways to land the kill in the write phase:

- deterministic: a small driver runs the real CLI in a subprocess with a hook that sends the
  process SIGKILL at a chosen point of the OutputSet protocol — while files are being staged
  (before the commit point), right after the journal (before any rename), between two renames,
  before the manifest's rename;
- from outside: a larger input, ``--log-format json``, and SIGKILL once the 'evaluate' stage has
  reported and the staging directory exists (wherever in the write phase that lands).

After the kill, every output file is byte-identical to either the previous run's or the killed
run's staged file — never anything else; :func:`verify` reports a pending staging directory and
any mix; :func:`recover` (or the next run, which recovers first) leaves a complete, consistent set:
the previous one when the kill came before the commit point, the new one after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dispo.reports import read_manifest, recover, verify
from dispo.reports.atomic import JOURNAL_NAME, MANIFEST_NAME, STAGING_PREFIX
from testkit import GOLDEN

DRIVER = r'''
import os, signal, sys
from pathlib import Path

point, n = sys.argv[1], int(sys.argv[2])
args = sys.argv[3:]
import dispo.reports.atomic as atomic

calls = {"n": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "staging":  # the n-th staged file has been written and fsync'ed: no journal yet
    real_fsync = atomic._fsync_file
    def fsync(path):
        real_fsync(path)
        if Path(path).parent.name.startswith(atomic.STAGING_PREFIX) and Path(path).name != atomic.JOURNAL_NAME:
            calls["n"] += 1
            if calls["n"] == n:
                die()
    atomic._fsync_file = fsync
else:  # "renames": n renames from the staging directory done (the journal's is the last)
    real_replace = os.replace
    def replace(src, dst):
        if Path(src).parent.name.startswith(atomic.STAGING_PREFIX):
            if calls["n"] == n:
                die()
            calls["n"] += 1
        return real_replace(src, dst)
    os.replace = replace

sys.argv = ["dispo", *args]
from dispo.cli import main
main()
'''


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dispo(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True, timeout=900, **kw)


def pipeline(work: Path) -> Path:
    p = work / "p.toml"
    p.write_text('[pipeline]\nname = "crash"\ninputs = ["cases.csv"]\noutput_dir = "out"\nas_of = "2026-11-22"\n'
                 "[assumptions]\nlender_discount_rate = 0.0\n")
    return p


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A directory with a pipeline and the complete output set of a first run."""
    work = tmp_path_factory.mktemp("baseline")
    shutil.copy(GOLDEN / "cases.csv", work / "cases.csv")
    proc = dispo("run", str(pipeline(work)), "-q")
    assert proc.returncode == 0, proc.stderr
    assert verify(work / "out") == []
    return work


def fresh_copy(baseline: Path, dest: Path) -> Path:
    shutil.copytree(baseline, dest, symlinks=True)
    return dest


def snapshot(out: Path) -> dict[str, str]:
    """sha256 of every file of the committed set (manifest included)."""
    manifest = read_manifest(out)
    assert manifest is not None
    return {**{name: sha(out / name) for name in manifest["files"]}, MANIFEST_NAME: sha(out / MANIFEST_NAME)}


def staged_journal(out: Path) -> dict | None:
    """The killed run's journal, if it reached the commit point."""
    for d in out.glob(STAGING_PREFIX + "*"):
        if (d / JOURNAL_NAME).is_file():
            return json.loads((d / JOURNAL_NAME).read_text("utf-8"))
    return None


def assert_no_half_written_file(out: Path, old: dict[str, str], journal: dict | None) -> None:
    """Each output in place is the previous run's file or the killed run's complete one."""
    new = {name: meta["sha256"] for name, meta in (journal or {}).get("files", {}).items()}
    for name, old_sha in old.items():
        if name == MANIFEST_NAME:
            continue
        assert (out / name).is_file(), f"{name} vanished"
        assert sha(out / name) in {old_sha, new.get(name)}, f"{name} is neither the old nor the new file"


def assert_consistent(out: Path) -> dict:
    assert verify(out) == []
    assert not list(out.glob(STAGING_PREFIX + "*"))
    return read_manifest(out)


KILL_POINTS = [("staging", 3), ("renames", 0), ("renames", 5), ("renames", -1)]


@pytest.fixture(scope="module")
def killed(baseline, tmp_path_factory):
    """The four deterministic kills, run side by side; each in its own copy of the baseline."""
    driver = tmp_path_factory.mktemp("driver") / "kill_driver.py"
    driver.write_text(DRIVER)
    n_files = len(read_manifest(baseline / "out")["files"])

    def go(point):
        kind, n = point
        n = n_files if n == -1 else n  # every file renamed, the manifest not yet
        work = fresh_copy(baseline, tmp_path_factory.mktemp(f"{kind}{n}") / "w")
        old = snapshot(work / "out")
        proc = subprocess.run([sys.executable, str(driver), kind, str(n), "run", str(work / "p.toml"), "-q",
                               "--as-of", "2026-11-23"], capture_output=True, text=True, timeout=900)
        return point, work, old, proc

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {p: rest for p, *rest in pool.map(go, KILL_POINTS)}


@pytest.mark.parametrize("point", KILL_POINTS, ids=[f"{k}-{n}" for k, n in KILL_POINTS])
def test_sigkill_in_the_write_phase(killed, point):
    work, old, proc = killed[point]
    out = work / "out"
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    journal = staged_journal(out)
    assert_no_half_written_file(out, old, journal)
    problems = verify(out)
    assert any(p.startswith("pending staging directory") for p in problems), problems
    if point[0] == "staging":  # before the commit point: the old set is in place, untouched
        assert journal is None
        assert [p for p in problems if not p.startswith("pending")] == []
        assert {n: sha(out / n) for n in old} == old
    else:  # after it: the journal says what the set will be; a mix shows in verify
        assert journal is not None
        renamed = point[1] if point[1] >= 0 else len(journal["files"])
        differing = [p for p in problems if "differs from the manifest" in p]
        assert len(differing) == sum(1 for name in list(journal["files"])[:renamed]
                                     if journal["files"][name]["sha256"] != old.get(name))

    # recover() on a copy: a complete, consistent set — the old one or the journaled new one.
    copy = fresh_copy(work, work.parent / "recovered")
    actions = recover(copy / "out")
    manifest = assert_consistent(copy / "out")
    if journal is None:
        assert actions and actions[0].startswith("removed")
        assert snapshot(copy / "out") == old
    else:
        assert actions and actions[0].startswith("rolled forward")
        assert manifest["run_id"] == journal["run_id"]
        assert {n: sha(copy / "out" / n) for n in journal["files"]} == {
            n: m["sha256"] for n, m in journal["files"].items()}


@pytest.mark.parametrize("point", [("staging", 3), ("renames", 5)], ids=["staging-3", "renames-5"])
def test_next_run_recovers_and_succeeds(killed, point):
    work, _, _ = killed[point]
    proc = dispo("run", str(work / "p.toml"), "-q", "--as-of", "2026-11-23")
    assert proc.returncode == 0, proc.stderr
    assert_consistent(work / "out")
    results = pl.read_parquet(work / "out" / "results.parquet")
    assert results.height == pl.read_csv(work / "cases.csv", infer_schema=False).height  # every golden row
    with duckdb.connect(str(work / "out" / "dispo.duckdb"), read_only=True) as con:
        statuses = [r[0] for r in con.sql("SELECT status FROM runs ORDER BY as_of, started").fetchall()]
    assert statuses == ["ok", "ok"]  # the killed run of 2026-11-23 was replaced by its rerun


def test_sigkill_from_outside_once_evaluate_has_finished(baseline, tmp_path):
    """A real kill from another process, timed by the JSON log: the write phase of a larger input."""
    work = fresh_copy(baseline, tmp_path / "w")
    out = work / "out"
    old = snapshot(out)
    cases = pl.read_csv(work / "cases.csv", infer_schema=False)
    big = pl.concat([cases.with_columns(pl.col("property_id") + f"-{k}") for k in range(2500)])  # 30,000 rows
    big.write_csv(work / "big.csv")
    proc = subprocess.Popen([sys.executable, "-m", "dispo.cli", "run", str(work / "p.toml"), "--log-format", "json",
                             "--input", str(work / "big.csv"), "--as-of", "2026-11-24"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # one JSON object per finished stage
            if line.startswith("{") and json.loads(line).get("stage") == "evaluate":
                break
        else:
            pytest.fail(f"the run ended before evaluate reported: {proc.wait()}")
        deadline = time.monotonic() + 120
        while not list(out.glob(STAGING_PREFIX + "*")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(0.2)  # somewhere in the write phase
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=120)
        proc.stderr.close()
        proc.stdout.close()
    if proc.returncode == 0:
        pytest.skip("the write phase finished before the kill landed (a very fast machine)")
    journal = staged_journal(out)
    assert_no_half_written_file(out, old, journal)
    actions = recover(out)
    manifest = assert_consistent(out)
    if journal is None:
        assert snapshot(out) == old
    else:
        assert manifest["run_id"] == journal["run_id"] and actions
    rerun = dispo("run", str(work / "p.toml"), "-q")
    assert rerun.returncode == 0, rerun.stderr
    assert_consistent(out)
