"""issue 17: a full disk while a run writes is one line naming the output directory and the space
the set needs; the previous outputs stay in place (the atomic set)."""

from __future__ import annotations

import errno
import shutil

import pytest

from dispo.config import from_mapping
from dispo.errors import DispoError
from dispo.reports.atomic import OutputSet
from dispo.run import run_pipeline
from testkit import GOLDEN


def _cfg(work):
    return from_mapping({"pipeline": {"name": "full", "inputs": [str(work / "cases.csv")], "output_dir": str(work / "out"),
                                      "as_of": "2026-11-22"}}, base=work)


def _snapshot(directory):
    return {f.name: f.read_bytes() for f in directory.iterdir() if f.is_file() and f.name != "dispo.duckdb"}


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   RuntimeError("parquet: File out of specification: No space left on device")])
def test_full_disk_is_one_line_and_keeps_the_previous_outputs(tmp_path, monkeypatch, error):
    shutil.copy(GOLDEN / "cases.csv", tmp_path / "cases.csv")
    cfg = _cfg(tmp_path)
    run_pipeline(cfg)
    before = _snapshot(tmp_path / "out")

    def full(self, name, obj):
        raise error

    monkeypatch.setattr(OutputSet, "write_json", full)
    with pytest.raises(DispoError) as caught:
        run_pipeline(cfg)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'out'}: the disk is full")
    assert " MB while written" in message and "previous outputs are in place" in message
    assert _snapshot(tmp_path / "out") == before
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith((".staging", ".dispo-chunks"))]
