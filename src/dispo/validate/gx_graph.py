"""One Great Expectations validation with each expectation's configuration built once (issue 17).

GX's ``Expectation.configuration`` is a property that builds a new ``ExpectationConfiguration``
from the expectation's pydantic model at every read, and GX's validation graph reads it ~160
times per expectation (its domain, success and runtime keyword arguments, metric by metric): for
the schema's ~90 expectations, ~14,000 pydantic ``dict()`` calls, a third of a 1,000-row
validation. :func:`configurations_built_once` makes the property build it once per expectation
object while one validation runs; the values read are the same (the expectations GX validates
are its own copies, made for that validation and not changed while it runs), the result the same
(``tests/validate/test_gx_graph.py``).

If a GX release no longer defines the property (so the shim cannot apply), nothing is changed.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

_LOCK = threading.Lock()


@contextlib.contextmanager
def configurations_built_once() -> Iterator[None]:
    """While the ``with`` block runs (one thread at a time), ``Expectation.configuration`` is
    built once per expectation object and then read from a cache."""
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__.get("configuration")
    if not isinstance(original, property) or original.fget is None:
        yield
        return
    build = original.fget
    built: dict[int, tuple[Any, Any]] = {}

    def configuration(self: Any) -> Any:
        entry = built.get(id(self))
        if entry is None or entry[0] is not self:  # an id reused by a newer object
            entry = built[id(self)] = (self, build(self))
        return entry[1]

    with _LOCK:
        Expectation.configuration = property(configuration, doc=original.__doc__)
        try:
            yield
        finally:
            Expectation.configuration = original
