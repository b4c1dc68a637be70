"""OutputSet: all files of a run land together or not at all; foreign files are never touched."""

from __future__ import annotations

import json
import os

import polars as pl
import pytest

from dispo.reports import atomic
from dispo.reports.atomic import MANIFEST_NAME, STAGING_PREFIX, OutputSet


def _snapshot(d) -> dict[str, bytes]:
    """Every file under d (recursively) with its bytes."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _write_set(out_dir, tag: str, **kw) -> OutputSet:
    frame = pl.DataFrame({"property_id": [tag], "gain": [1.005]})
    with OutputSet(out_dir, **kw) as out:
        out.write_parquet("results.parquet", frame)
        out.write_csv("holdings.csv", frame)
        out.write_json("summary.json", {"tag": tag})
        out.write_text("report.html", f"<p>{tag}</p>")
    return out


@pytest.fixture
def previous(tmp_path):
    """An output dir holding a complete earlier set plus files that are not ours."""
    d = tmp_path / "out"
    _write_set(d, "old")
    (d / "notes.txt").write_text("mine, not dispo's")
    (d / "staging-not-ours").mkdir()
    (d / "staging-not-ours" / "x").write_text("x")
    return d


def test_normal_exit_moves_everything_into_place(tmp_path):
    d = tmp_path / "deep" / "out"
    out = _write_set(d, "new")
    assert sorted(out.committed) == ["holdings.csv", "report.html", "results.parquet", "summary.json"]
    assert sorted(os.listdir(d)) == sorted([MANIFEST_NAME, *out.committed])
    assert json.loads((d / "summary.json").read_text()) == {"tag": "new"}
    assert pl.read_parquet(d / "results.parquet")["gain"].to_list() == [1.005]  # full precision
    assert (d / "holdings.csv").read_text() == "property_id,gain\nnew,1.00\n"  # cents in CSV
    manifest = atomic.read_manifest(d)
    assert manifest["run_id"] == out.run_id and set(manifest["files"]) == set(out.committed)
    assert atomic.verify(d) == []


def test_exception_inside_with_leaves_previous_outputs_byte_identical(previous):
    before = _snapshot(previous)
    with pytest.raises(RuntimeError, match="boom"):
        with OutputSet(previous) as out:
            out.write_csv("holdings.csv", pl.DataFrame({"a": ["new"]}))
            out.write_json("summary.json", {"tag": "new"})
            out.write_text("brand_new.txt", "never visible")
            raise RuntimeError("boom")
    assert _snapshot(previous) == before
    assert not list(previous.glob(STAGING_PREFIX + "*"))
    assert atomic.verify(previous) == []


def test_second_set_replaces_first_and_leaves_foreign_files(previous):
    _write_set(previous, "new")
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "new"}
    assert (previous / "notes.txt").read_text() == "mine, not dispo's"
    assert (previous / "staging-not-ours" / "x").exists()
    assert not list(previous.glob(STAGING_PREFIX + "*"))


def test_stale_staging_without_journal_is_removed_at_next_start(previous):
    stale = previous / f"{STAGING_PREFIX}deadbeef"
    stale.mkdir()
    (stale / "summary.json").write_text('{"tag": "half-writ')
    before = _snapshot(previous)
    with OutputSet(previous):
        assert not stale.exists()  # cleaned at start, before anything is written
    after = _snapshot(previous)
    assert after == {k: v for k, v in before.items() if not k.startswith(STAGING_PREFIX)}
    assert atomic.verify(previous) == []


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs as planned."""


def test_crash_between_two_moves_is_rolled_forward_by_next_run(previous, monkeypatch):
    old = _snapshot(previous)
    real_replace = os.replace
    calls = []

    def dying_replace(src, dst):
        calls.append(os.path.basename(dst))
        if len(calls) == 3:
            raise Killed
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", dying_replace)
    with pytest.raises(Killed):
        _write_set(previous, "new")
    monkeypatch.setattr(atomic.os, "replace", real_replace)

    # Half committed: two new files, the rest old, old manifest; verify() says so.
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "old"}
    assert (previous / "holdings.csv").read_text().startswith("property_id,gain\nnew")
    assert atomic.read_manifest(previous) == json.loads(old[MANIFEST_NAME])
    problems = atomic.verify(previous)
    assert any("pending staging" in p for p in problems) and any("holdings.csv" in p for p in problems)

    # The next run (here: an explicit recover; OutputSet.__enter__ does the same) finishes the set.
    actions = atomic.recover(previous)
    assert actions and actions[0].startswith("rolled forward")
    assert atomic.verify(previous) == []
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "new"}
    assert (previous / "report.html").read_text() == "<p>new</p>"
    assert not list(previous.glob(STAGING_PREFIX + "*"))
    assert (previous / "notes.txt").exists()


def test_crash_while_writing_keeps_old_set(previous, monkeypatch):
    before = _snapshot(previous)
    real_write_csv = atomic.OutputSet.write_csv

    def dying_write_csv(self, name, frame):
        path = real_write_csv(self, name, frame)
        path.write_text("half")  # torn file in staging
        raise Killed

    monkeypatch.setattr(atomic.OutputSet, "write_csv", dying_write_csv)
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: None)  # a dead process cleans nothing
    with pytest.raises(Killed):
        _write_set(previous, "new")
    monkeypatch.undo()
    assert len(list(previous.glob(STAGING_PREFIX + "*"))) == 1
    assert {k: v for k, v in _snapshot(previous).items() if not k.startswith(STAGING_PREFIX)} == before
    assert atomic.recover(previous)[0].startswith("removed")
    assert _snapshot(previous) == before


def test_crash_after_journal_before_moves_rolls_forward(previous, monkeypatch):
    def dying_fsync_dir(path):
        raise Killed

    monkeypatch.setattr(atomic, "_fsync_dir", dying_fsync_dir)  # dies right after the journal
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: None)
    with pytest.raises(Killed):
        _write_set(previous, "new")
    monkeypatch.undo()
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "old"}
    # The journal names a complete set (every file was written and fsynced before it): the next
    # start rolls it forward whole.
    with OutputSet(previous):
        pass
    assert atomic.verify(previous) == []
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "new"}


def test_oserror_during_moves_keeps_journal_for_next_run(previous, monkeypatch):
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "I/O error")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(atomic.CommitInterrupted, match="next run"):
        _write_set(previous, "new")
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert len(list(previous.glob(STAGING_PREFIX + "*"))) == 1
    _write_set(previous, "newer")  # starts by completing "new", then commits "newer"
    assert json.loads((previous / "summary.json").read_text()) == {"tag": "newer"}
    assert atomic.verify(previous) == []


def test_target_that_is_a_directory_fails_before_anything_moves(previous):
    (previous / "report.html").unlink()
    (previous / "report.html").mkdir()
    before = _snapshot(previous)
    with pytest.raises(atomic.OutputError, match="is a directory"):
        _write_set(previous, "new")
    assert _snapshot(previous) == before
    assert not list(previous.glob(STAGING_PREFIX + "*"))


def test_spark_results_directory_is_replaced_by_a_local_runs_file(previous):
    """A Spark run leaves results.parquet as a directory of parts (docs/scale-out.md); the next
    local run on that directory replaces it with its file instead of stopping."""
    (previous / "results.parquet").unlink()
    parts = previous / "results.parquet"
    parts.mkdir()
    pl.DataFrame({"property_id": ["spark"]}).write_parquet(parts / "part-00000.parquet")
    (parts / "_SUCCESS").write_bytes(b"")
    (parts / ".part-00000.parquet.crc").write_bytes(b"x")
    _write_set(previous, "new")
    assert (previous / "results.parquet").is_file()
    assert pl.read_parquet(previous / "results.parquet")["property_id"].to_list() == ["new"]
    assert not list(previous.glob(STAGING_PREFIX + "*"))
    assert atomic.verify(previous) == []


def test_results_directory_with_foreign_content_is_refused(previous):
    (previous / "results.parquet").unlink()
    (previous / "results.parquet").mkdir()
    (previous / "results.parquet" / "notes.txt").write_text("mine")
    before = _snapshot(previous)
    with pytest.raises(atomic.OutputError, match="is a directory"):
        _write_set(previous, "new")
    assert _snapshot(previous) == before


def test_lock_refuses_a_concurrent_set(tmp_path):
    with OutputSet(tmp_path):
        with pytest.raises(atomic.OutputDirBusy):
            with OutputSet(tmp_path, lock_timeout=0):
                pass
    with OutputSet(tmp_path, lock_timeout=0):  # released afterwards
        pass


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", f"{STAGING_PREFIX}x", MANIFEST_NAME])
def test_bad_names_refused(tmp_path, name):
    with OutputSet(tmp_path) as out:
        with pytest.raises(ValueError):
            out.write_text(name, "x")


def test_a_name_is_written_once(tmp_path):
    with pytest.raises(ValueError, match="already"):
        with OutputSet(tmp_path) as out:
            out.write_text("a.txt", "1")
            out.write_text("a.txt", "2")
    assert not (tmp_path / "a.txt").exists()


def test_staged_path_for_external_writers(tmp_path):
    with OutputSet(tmp_path) as out:
        p = out.staged_path("book.xlsx")
        assert p.parent.name.startswith(STAGING_PREFIX)
        p.write_bytes(b"PK")
    assert (tmp_path / "book.xlsx").read_bytes() == b"PK"


def test_registered_but_unwritten_fails_cleanly(tmp_path):
    with pytest.raises(atomic.OutputError, match="never written"):
        with OutputSet(tmp_path) as out:
            out.staged_path("book.xlsx")
    assert os.listdir(tmp_path) == []


def test_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        with OutputSet(tmp_path) as out:
            out.write_json("summary.json", {"x": float("nan")})
    assert os.listdir(tmp_path) == []
