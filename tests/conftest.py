"""Test session set-up: no network from Great Expectations; shared helpers live in testkit.py."""

from __future__ import annotations

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
