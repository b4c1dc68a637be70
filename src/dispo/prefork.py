"""A helper process forked first thing, before any library is loaded (issue 17).

``dispo run`` forks one (:func:`start`) before it imports Polars, DuckDB or Great Expectations and
before any thread exists, so the fork is safe (a process with threads must not fork). The child
imports the module named and runs its function with its end of a pipe; the run later takes the
parent's end (:func:`take`) and talks to it. :mod:`dispo.validate.worker` is the one use: Great
Expectations imported and run on the second core.

Standard library only, and the function is named as text: this module sits below every layer.
Where ``fork`` does not exist (Windows) or ``DISPO_GX_WORKER=0``, nothing is started.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
from typing import Any

_started: dict[str, tuple[Any, Any]] = {}


def _enter(target: str, conn: Any, parents_end: Any) -> None:
    parents_end.close()
    # Nothing of the child reaches the parent's console, log or pipes (its answers travel over
    # ``conn``), and Ctrl-C is the parent's to handle (it closes the pipe, which ends the child).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    module, _, function = target.partition(":")
    getattr(importlib.import_module(module), function)(conn)


def start(target: str) -> None:
    """Forks a process running ``target`` ("package.module:function", called with the child's end
    of a pipe); kept for :func:`take`. Does nothing where fork is unavailable or turned off."""
    if target in _started or os.environ.get("DISPO_GX_WORKER", "1").strip() == "0" \
            or "fork" not in multiprocessing.get_all_start_methods():
        return
    try:
        ctx = multiprocessing.get_context("fork")
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=_enter, args=(target, theirs, ours), name="dispo-prefork", daemon=True)
        process.start()
        theirs.close()
    except OSError:
        return
    _started[target] = (process, ours)


#: The helper ``dispo run`` starts: Great Expectations' worker process.
GX_WORKER = "dispo.validate.worker:serve"


def start_for_command(argv: list[str], *, as_program: bool) -> None:
    """Starts GX's worker for a ``dispo run`` command line: the console script, or ``python -m
    dispo.cli`` (``as_program``); never when dispo.cli is imported by other code (tests, a notebook)."""
    if argv[1:2] == ["run"] and (as_program or os.path.basename(argv[0]) in ("dispo", "dispo.exe")):
        start(GX_WORKER)


def take(target: str) -> tuple[Any, Any] | None:
    """(process, parent's end of the pipe) of the process started for ``target``, once; None if
    none was started."""
    return _started.pop(target, None)
