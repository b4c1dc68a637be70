"""User-facing errors: one clear line, no traceback, exit code 1 (a data or config mistake)."""

from __future__ import annotations


class DispoError(Exception):
    """A mistake in the user's data or configuration, reported as one line (exit 1)."""


class DataQualityGateFailed(DispoError):
    """Rejects exceeded max_reject_fraction: outputs are written, the run exits 3."""
