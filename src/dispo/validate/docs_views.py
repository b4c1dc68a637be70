"""Great Expectations' Data Docs views with Jinja's bytecode cache (issue 17).

GX builds a new Jinja environment for each page kind and compiles its ~50 templates on every
build: a third of a Data Docs build of a 1,000-row run. These views are GX's own
(``DefaultJinjaPageView``, ``DefaultJinjaIndexPageView``: the same templates, the same pages) with
Jinja's :class:`jinja2.FileSystemBytecodeCache`, so the templates are compiled once per machine
and user (Jinja keeps them in its per-user directory under the system temporary directory,
checks their source checksum, and recompiles a template whose source changed). The site builder
is told to use them by :func:`dispo.validate.data_docs.site_config`; where Jinja cannot make its
cache directory, the views compile as GX's do.

Imported only by GX's site builder (after GX itself).
"""

from __future__ import annotations

import functools
import logging

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

log = logging.getLogger("dispo.validate")


@functools.cache
def template_cache() -> jinja2.BytecodeCache | None:
    """Jinja's file bytecode cache in its default per-user directory, or None when unusable."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError) as e:  # no private temporary directory for it: compile each time
        log.debug("Jinja bytecode cache not available: %s", e)
        return None


class CachedPageView(DefaultJinjaPageView):
    """GX's page view (suite and validation pages), its compiled templates cached."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = template_cache()


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view, its compiled templates cached."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = template_cache()
