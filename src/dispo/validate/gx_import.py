"""Importing Great Expectations without the parts dispo never uses (issue 17: a 1,000-row run
in 3 s, where GX's import was 2.5 s of it).

GX imports, at import time, modules that only some expectations use inside their functions:
``scipy.stats`` (KL divergence, KS tests) and ``altair`` (those expectations' charts), ~40 % of
GX's import time measured with ``python -X importtime`` (bench/README.md). dispo's suite uses
neither, so while GX is imported they are given to it as lazy modules (the standard library's
:class:`importlib.util.LazyLoader`): each is loaded, unchanged, the first time one of its
attributes is read, if ever.

GX also imports PySpark when it is installed (``great_expectations.compatibility.pyspark``, with
``pyspark.ml``), for its Spark back end; dispo gives GX pandas frames only (dispo's Spark engine
validates without GX), so during GX's import ``pyspark`` reads as not installed, the way GX
handles a machine without it. Only the importing thread is affected, and only for modules not
imported yet: PySpark stays importable by the rest of the process (dispo.spark).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from typing import Iterator, Sequence

#: Imported lazily while GX is imported: GX uses them only inside functions dispo never calls.
DEFERRED = ("scipy.stats", "altair")
#: Reads as not installed while GX is imported (GX's optional Spark back end).
SKIPPED = ("pyspark",)


class _LeanFinder(importlib.abc.MetaPathFinder):
    """A finder consulted first, in one thread only, while GX is imported."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def find_spec(self, name: str, path: Sequence[str] | None, target: object = None):
        if threading.get_ident() != self.thread:
            return None
        if name.partition(".")[0] in SKIPPED:
            raise ModuleNotFoundError(f"No module named {name!r} (not used by dispo's validation)", name=name)
        if name not in DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextlib.contextmanager
def lean_gx_import() -> Iterator[None]:
    """While the ``with`` block imports GX (in this thread), the modules above are deferred or
    skipped."""
    finder = _LeanFinder(threading.get_ident())
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
