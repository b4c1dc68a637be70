"""Great Expectations in a second process, for small runs (issue 17: a 1,000-row run in 3 s).

A small run's time was mostly Python holding one core: importing GX (~1.5 s), GX's validation
graph, rendering Data Docs, beside dispo's own imports. ``dispo run`` therefore forks a worker
first thing (:mod:`dispo.prefork`, before any library is loaded and before any thread exists,
so the fork is safe), which imports GX on the second core while the command imports its libraries,
reads the pipeline and ingests. Validation then sends the worker the frame GX checks; the worker
runs the same code an in-process validation runs (``dispo.validate.check_frame``: GX's
``Validator`` over the schema's suite, failures turned into reasons) and sends back the failed
checks. It keeps GX's result, and renders the run's Data Docs from it into the staging directory
the run names while the run evaluates and writes; the run commits that directory with its set,
atomically, as before (``dispo.validate.data_docs``).

What a user sees is unchanged: the same reasons, rejects and Data Docs. Only the command line's
``dispo run`` starts a worker, and only where ``fork`` exists (Linux, macOS), for inputs up to
``WORKER_MAX_BYTES`` (a bigger run validates in its own process, GX imported while DuckDB ingests;
there the worker would only copy the frame). ``DISPO_GX_WORKER=0`` turns it off. If the worker
fails to start or dies, the run validates in its own process; an error GX raises in the worker is
raised in the run as it would be in process.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Sequence

from dispo import prefork

#: Inputs (bytes on disk, all files) up to this size are validated in the worker.
WORKER_MAX_BYTES = 32 * 2**20

_claimed: "GXWorker | None" = None


class WorkerGone(RuntimeError):
    """The worker process ended or cannot be reached (the run validates in process instead)."""


class GXWorker:
    """The parent's end of a worker: one request at a time, answered in order."""

    def __init__(self, process: Any, conn: Any) -> None:
        self.process = process
        self._conn = conn
        self._lock = threading.Lock()
        self._answered = False  # until its first answer the worker may still be importing GX
        #: Called (in this thread) while the worker validates: the run's own work meanwhile.
        self.meanwhile: Callable[[], None] | None = None

    def call(self, kind: str, *args: Any, meanwhile: Callable[[], None] | None = None) -> Any:
        """Sends a request, calls ``meanwhile`` (errors ignored), waits for the answer; an error
        raised in the worker is raised here (RuntimeError with its message), a lost worker is
        :class:`WorkerGone`."""
        with self._lock:
            try:
                self._conn.send((kind, args))
                if meanwhile is not None:
                    try:
                        meanwhile()
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except BaseException:  # noqa: BLE001 - a head start only; the run does it again
                        pass
                status, value = self._conn.recv()
                self._answered = True
            except (EOFError, OSError, ValueError) as e:
                raise WorkerGone(f"Great Expectations' worker process ended ({type(e).__name__})") from None
        if status == "unavailable":
            raise WorkerGone(value)
        if status == "error":
            kind, message = value
            raise RuntimeError(message if kind == "RuntimeError" else f"{kind}: {message}")
        return value

    def close(self) -> None:
        """Asks the worker to end and reaps it: one that never answered (a run that stopped before
        validating) is terminated at once, one that does not end within a second too."""
        with self._lock:
            try:
                self._conn.send(None)
            except (OSError, ValueError):
                pass
            self._conn.close()
        if not self._answered:
            self.process.terminate()
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=1)


class RemoteGXResult:
    """GX's validation result, kept in the worker: what ``ValidationResult.gx_result`` holds for
    a run validated there. Data Docs are rendered from it by :meth:`start_docs`."""

    def __init__(self, worker: GXWorker, gx_version: str) -> None:
        self.worker = worker
        #: The worker's great_expectations version (summary.json's ``versions``).
        self.gx_version = gx_version

    def start_docs(self, target: Path, *, run_name: str, run_time: datetime | None) -> Callable[[], Path]:
        """Starts rendering the Data Docs into ``target`` in the worker; returns a function that
        waits for them and returns the site's index.html (or raises the worker's error)."""
        outcome: dict[str, Any] = {}

        def build() -> None:
            try:
                outcome["index"] = Path(self.worker.call("docs", str(target), run_name, run_time))
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits
                outcome["error"] = e

        waiter = threading.Thread(target=build, name="dispo-gx-docs", daemon=True)
        waiter.start()

        def wait() -> Path:
            waiter.join()
            if "error" in outcome:
                raise outcome["error"]
            return outcome["index"]
        return wait


#: The worker's function, as :mod:`dispo.prefork` starts it for ``dispo run``.
TARGET = prefork.GX_WORKER


def claim(inputs: Sequence[Any]) -> GXWorker | None:
    """The worker forked for this command (:mod:`dispo.prefork`), once, when ``inputs`` are small
    enough for it; None otherwise (a worker not wanted is ended). :func:`close_claimed` ends it
    after the run."""
    global _claimed
    started = prefork.take(TARGET)
    if started is None:
        return None
    worker = GXWorker(*started)
    try:
        size = sum(os.stat(p).st_size for p in inputs)
    except (OSError, TypeError):
        size = WORKER_MAX_BYTES + 1
    if size > WORKER_MAX_BYTES:
        worker.close()
        return None
    _claimed = worker
    return worker


def discard() -> None:
    """Ends a worker started for this command and not wanted (e.g. a Spark run)."""
    started = prefork.take(TARGET)
    if started is not None:
        GXWorker(*started).close()


def close_claimed() -> None:
    """Ends the worker :func:`claim` gave (its Data Docs are committed or discarded by now)."""
    global _claimed
    worker, _claimed = _claimed, None
    if worker is not None:
        worker.close()


def check_remotely(worker: GXWorker | None, frame: Any, parse_failed: Any, as_of: date) -> tuple[Any, Any] | None:
    """``dispo.validate.check_frame`` in the worker: (RemoteGXResult, failed checks), or None when
    there is no worker or it is gone (the caller then checks in process)."""
    if worker is None:
        return None
    try:
        failed, gx_version = worker.call("check", frame, parse_failed, as_of, meanwhile=worker.meanwhile)
    except WorkerGone:
        worker.close()
        return None
    return RemoteGXResult(worker, gx_version), failed


# --- the worker's side ----------------------------------------------------------------------------

def serve(conn: Any) -> None:
    """The worker: imports GX, then answers requests until the parent closes its end."""
    gx_result: Any = None
    # The imports create ~10^6 objects and hardly any garbage: the cyclic collector's passes over
    # them were ~10 % of the import time; afterwards they are moved out of its sight (gc.freeze).
    gc.disable()
    try:
        from dispo.validate import check_frame as check_in_process
        from dispo.validate.data_docs import build_data_docs
        from dispo.validate.suite import import_gx

        import_gx()
    except BaseException as e:  # noqa: BLE001 - reported at the first request
        failed_start: BaseException | None = e
    else:
        failed_start = None
    finally:
        gc.freeze()
        gc.enable()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request is None:
            break
        kind, args = request
        if failed_start is not None:
            conn.send(("unavailable", f"{type(failed_start).__name__}: {failed_start}"))
            continue
        try:
            if kind == "check":
                gx_result, failed = check_in_process(*args)
                answer = (failed, getattr(sys.modules.get("great_expectations"), "__version__", "unknown"))
            elif kind == "docs":
                target, run_name, run_time = args
                answer = str(build_data_docs(gx_result, target, run_name=run_name, run_time=run_time))
            else:
                raise ValueError(f"unknown request {kind!r}")
            conn.send(("ok", answer))
        except BaseException as e:  # noqa: BLE001 - the parent raises it
            conn.send(("error", (type(e).__name__, str(e))))
    conn.close()
    sys.exit(0)
