"""Atomic writing of a *set* of output files (docs/spec.md section 7: "a failed run never leaves a
half-written file in place of a good one").

Protocol, all inside ``output_dir`` so every rename stays on one filesystem:

1. ``__enter__`` creates ``output_dir`` if needed, takes an exclusive lock on it (``flock`` on the
   directory itself, so no lock file is left behind), then *recovers*: a staging directory left by
   a killed earlier run is rolled forward if that run had reached its commit point, else deleted.
   Only entries named ``.staging-*`` are ever removed; nothing else in ``output_dir`` is touched.
2. Every file is written into ``output_dir/.staging-<run_id>/`` and fsync'ed.
3. On normal exit of the ``with`` block: pre-flight checks (no target is a directory), then the
   journal ``.staging-<run_id>/.commit.json`` (run id, files, sizes, sha256) is written and fsync'ed
   together with the staging directory. **That is the commit point.**
4. Each file is moved into place with one ``os.replace``; the journal goes last and becomes
   ``output_dir/.dispo-manifest.json``; ``output_dir`` is fsync'ed; the staging directory is removed.

On an exception inside the ``with`` block (or before the commit point) the staging directory is
removed and the previous outputs stay byte-identical. A process killed *between* two renames of
step 4 leaves a mix of new and old files for a moment; the journal survives in the staging
directory, so the next ``OutputSet`` on that directory (or :func:`recover`) finishes the renames
(roll forward, as a redo log does). Until then :func:`verify` reports the mix, because the visible
manifest is still the previous set's. Files are all-or-nothing per file always, and per set after
recovery.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl

from dispo.reports.csv_safe import write_safe_csv

try:  # POSIX only; elsewhere runs are not serialised (documented).
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("dispo.reports")

STAGING_PREFIX = ".staging-"
JOURNAL_NAME = ".commit.json"
MANIFEST_NAME = ".dispo-manifest.json"
MANIFEST_FORMAT = "dispo-output-set/1"
#: Outputs that the Spark engine writes as a directory of Parquet parts under the same name
#: (docs/scale-out.md): a later set may replace such a directory with its file, and a Spark run's
#: directory replaces the file. Any other directory in place of an output is refused.
PARTS_DIRECTORIES = frozenset({"results.parquet"})
#: What a directory of parts may hold besides Parquet files: Spark's markers and checksums.
_PART_MARKERS = ("_SUCCESS", ".crc")


class OutputError(RuntimeError):
    """Writing the output set failed; previous outputs are untouched unless said otherwise."""


class OutputDirBusy(OutputError):
    """Another run holds the lock on the output directory."""


class CommitInterrupted(OutputError):
    """A rename failed after the commit point: the new set is staged and journaled, and the next
    ``OutputSet`` on the directory (or :func:`recover`) completes it."""


# --- small filesystem helpers -------------------------------------------------------------------

def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """fsync a directory so renames in it are durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_and_hash(path: Path) -> str:
    _fsync_file(path)
    return _sha256(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_json(obj: Any) -> str:
    """The JSON text of an output file: UTF-8, indented, no NaN/Infinity (invalid JSON)."""
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False, default=_json_default) + "\n"


def _check_name(name: str) -> None:
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
           or os.sep in name or (os.altsep and os.altsep in name)
           or name.startswith(STAGING_PREFIX) or name in (MANIFEST_NAME, JOURNAL_NAME))
    if bad:
        raise ValueError(f"not a valid output file name: {name!r}")


# --- locking --------------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(output_dir: Path, timeout: float) -> Iterator[None]:
    """Exclusive lock on the directory itself (no lock file to leave behind)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(output_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise OutputDirBusy(f"another run is writing to {output_dir}") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- recovery and verification ------------------------------------------------------------------

def _roll_forward(output_dir: Path, staging: Path, journal: dict[str, Any]) -> list[str]:
    """Move every journaled file still in ``staging`` into place, then the journal as manifest."""
    moved = []
    for name in journal["files"]:
        _check_name(name)
        src = staging / name
        if src.exists():
            target = output_dir / name
            if target.is_dir() and not target.is_symlink():  # a Spark run's parts (checked before
                os.replace(target, staging / f".replaced-{name}")  # the commit point); goes with staging
            os.replace(src, target)
            moved.append(name)
    for name in journal.get("retired", []):  # outputs of an earlier set that this set does not have
        _check_name(name)
        target = output_dir / name
        if target.is_file() and not target.is_symlink():
            target.unlink()
    os.replace(staging / JOURNAL_NAME, output_dir / MANIFEST_NAME)
    _fsync_dir(output_dir)
    return moved


def _is_parts_directory(path: Path) -> bool:
    """``path`` is a directory of Parquet parts that the Spark engine wrote for an output of
    ``PARTS_DIRECTORIES`` (only files: parts, markers, checksums)."""
    if path.name not in PARTS_DIRECTORIES:
        return False
    return all(entry.is_file() and not entry.is_symlink()
               and (entry.suffix == ".parquet" or entry.name.endswith(_PART_MARKERS))
               for entry in path.iterdir())


def _recover_unlocked(output_dir: Path) -> list[str]:
    actions = []
    for entry in sorted(output_dir.iterdir()):
        if not entry.name.startswith(STAGING_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        journal_path = entry / JOURNAL_NAME
        journal = None
        if journal_path.is_file():
            try:
                journal = json.loads(journal_path.read_text(encoding="utf-8"))
                if journal.get("format") != MANIFEST_FORMAT or not isinstance(journal.get("files"), dict):
                    journal = None
            except (OSError, ValueError):
                journal = None  # a torn journal means the commit point was never reached
        if journal is not None:
            moved = _roll_forward(output_dir, entry, journal)
            log.warning("completed the interrupted commit of run %s in %s (%d file(s) moved)",
                        journal.get("run_id"), output_dir, len(moved))
            actions.append(f"rolled forward {entry.name}")
        else:
            log.info("removed stale staging directory %s", entry)
            actions.append(f"removed {entry.name}")
        shutil.rmtree(entry, ignore_errors=True)
    return actions


def recover(output_dir: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> list[str]:
    """Bring ``output_dir`` to a complete set: roll forward committed staging directories of a
    killed run, remove abandoned ones. Returns what was done (empty when nothing was needed)."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    with _locked(output_dir, lock_timeout):
        return _recover_unlocked(output_dir)


def read_manifest(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of the last committed set, or None when there is none."""
    path = Path(output_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def verify(output_dir: str | os.PathLike[str]) -> list[str]:
    """Problems that make ``output_dir`` not the complete set its manifest names (empty: consistent).

    Detects a half-committed set, a pending staging directory and files changed since.
    """
    output_dir = Path(output_dir)
    problems = [f"pending staging directory {p.name}" for p in sorted(output_dir.glob(STAGING_PREFIX + "*"))
                if p.is_dir() and not p.is_symlink()]  # what recovery acts on; anything else is not ours
    manifest = read_manifest(output_dir)
    if manifest is None:
        return problems + [f"no {MANIFEST_NAME}"]
    for name, meta in manifest["files"].items():
        path = output_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != meta["bytes"] or _sha256(path) != meta["sha256"]:
            problems.append(f"{name}: differs from the manifest of run {manifest.get('run_id')}")
    return problems


# --- the output set -------------------------------------------------------------------------------

class OutputSet:
    """A set of output files that appears in ``output_dir`` all together or not at all.

    >>> with OutputSet(out_dir) as out:
    ...     out.write_parquet("results.parquet", frame)
    ...     out.write_csv("holdings.csv", frame)
    ...     out.write_json("summary.json", obj)

    Writers: ``write_parquet``, ``write_csv`` (cents, formula neutralisation: see ``csv_safe``),
    ``write_json``, ``write_text``, ``write_bytes``, and ``staged_path`` for a writer that wants a
    path to write to itself (the file is fsync'ed at commit). A name may be written once per set.
    After a successful exit, ``committed`` lists the files moved into place and ``manifest`` holds
    the manifest written.
    """

    def __init__(self, output_dir: str | os.PathLike[str], *, run_id: str | None = None,
                 lock_timeout: float = 10.0) -> None:
        self.output_dir = Path(output_dir)
        self.run_id = run_id or uuid.uuid4().hex
        self.lock_timeout = lock_timeout
        self.staging: Path | None = None
        self.committed: list[str] = []
        self.manifest: dict[str, Any] | None = None
        self._names: list[str] = []
        self._retired: list[str] = []
        self._lock: contextlib.AbstractContextManager[None] | None = None
        # fsync and sha256 of each written file run in a thread while the next file is written
        # (both release the GIL): seconds saved on a set of gigabytes.
        self._sealer: ThreadPoolExecutor | None = None
        self._sealed: dict[str, Future[str]] = {}

    # -- context manager --

    def __enter__(self) -> "OutputSet":
        self.output_dir.mkdir(parents=True, exist_ok=True)
        lock = _locked(self.output_dir, self.lock_timeout)
        lock.__enter__()
        self._lock = lock
        try:
            _recover_unlocked(self.output_dir)
            staging = self.output_dir / f"{STAGING_PREFIX}{self.run_id}"
            staging.mkdir()
            self.staging = staging
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            if exc_type is None:
                self._commit()
        finally:
            try:
                if self._sealer is not None:
                    self._sealer.shutdown(wait=True, cancel_futures=True)
                    self._sealer = None
                if self.staging is not None and self.staging.exists() and not self._journaled():
                    shutil.rmtree(self.staging, ignore_errors=True)
            finally:
                self.staging = None
                self._release()
        return False

    def _release(self) -> None:
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.__exit__(None, None, None)

    def _journaled(self) -> bool:
        return self.staging is not None and (self.staging / JOURNAL_NAME).exists() and not self.committed

    # -- writers --

    def staged_path(self, name: str) -> Path:
        """The staging path of output ``name``, registered in the set; the caller writes it."""
        if self.staging is None:
            raise OutputError("OutputSet is not open (use it as a context manager)")
        _check_name(name)
        if name in self._names:
            raise ValueError(f"{name!r} is already part of this output set")
        self._names.append(name)
        return self.staging / name

    def _write(self, name: str, writer: Callable[[Path], None]) -> Path:
        path = self.staged_path(name)
        writer(path)
        self.seal(name)
        return path

    def seal(self, name: str) -> None:
        """Output ``name`` is written: fsync it and hash it for the manifest, in the background
        (for a file written through ``staged_path``; otherwise it is hashed at commit)."""
        assert self.staging is not None
        path = self.staging / name
        if self._sealer is None:
            self._sealer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispo-seal")
        self._sealed[name] = self._sealer.submit(_fsync_and_hash, path)

    def retire(self, name: str) -> None:
        """Output ``name`` is not part of this set: a file of that name left by an earlier set is
        removed when this one is committed (a run without CSV outputs must not leave yesterday's
        CSVs beside today's Parquet files)."""
        _check_name(name)
        if name in self._names:
            raise ValueError(f"{name!r} is part of this output set")
        if name not in self._retired:
            self._retired.append(name)

    def adopt(self, name: str, path: str | os.PathLike[str]) -> Path:
        """Moves a file already written elsewhere on the same filesystem (e.g. a run's scratch file
        inside ``output_dir``) into the set as ``name``; returns its staging path."""
        target = self.staged_path(name)
        os.replace(path, target)
        self.seal(name)
        return target

    def write_bytes(self, name: str, data: bytes) -> Path:
        return self._write(name, lambda p: p.write_bytes(data))

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj: Any) -> Path:
        """JSON (UTF-8, indented). NaN/Infinity are refused: they are not JSON."""
        return self.write_text(name, dumps_json(obj))

    def write_parquet(self, name: str, frame: pl.DataFrame | pl.LazyFrame) -> Path:
        """Parquet at full precision (no rounding), zstd-compressed."""
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        return self._write(name, lambda p: df.write_parquet(p, compression="zstd", statistics=True))

    def write_csv(self, name: str, frame: pl.DataFrame | pl.LazyFrame) -> Path:
        """CSV for a spreadsheet: money to cents, formulas neutralised, lists joined (``csv_safe``)."""
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        return self._write(name, lambda p: write_safe_csv(df, p))

    # -- commit --

    def _commit(self) -> None:
        assert self.staging is not None
        staging = self.staging
        if not self._names:  # an empty set changes nothing, not even the manifest
            return
        for name in self._names:  # pre-flight: failures here leave the previous set untouched
            if not (staging / name).is_file():
                raise OutputError(f"{name} was registered but never written")
            target = self.output_dir / name
            if target.is_dir() and not target.is_symlink() and not _is_parts_directory(target):
                raise OutputError(f"{target} is a directory; cannot replace it with an output file")
        # Files written through staged_path() by the caller (fsynced by it) are hashed here.
        digests = {name: self._sealed[name].result() if name in self._sealed else _sha256(staging / name)
                   for name in self._names}
        files = {name: {"bytes": (staging / name).stat().st_size, "sha256": digests[name]}
                 for name in self._names}
        manifest = {"format": MANIFEST_FORMAT, "run_id": self.run_id,
                    "committed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "files": files, **({"retired": list(self._retired)} if self._retired else {})}
        journal = staging / JOURNAL_NAME
        journal.write_text(dumps_json(manifest), encoding="utf-8")
        _fsync_file(journal)
        _fsync_dir(staging)
        # ---- commit point: from here on the set is completed, now or by the next recovery ----
        try:
            moved = _roll_forward(self.output_dir, staging, manifest)
        except OSError as e:
            raise CommitInterrupted(
                f"moving outputs into {self.output_dir} failed ({e}); the complete set is staged in "
                f"{staging.name} and the next run on this directory finishes it") from e
        self.committed = moved
        self.manifest = manifest
        shutil.rmtree(staging, ignore_errors=True)
        log.info("wrote %d output file(s) to %s", len(moved), self.output_dir)
