"""Great Expectations Data Docs for a run's validation, written next to its outputs.

``validate()`` runs the schema's suite in an ephemeral GX context and keeps GX's
``ExpectationSuiteValidationResult`` on ``ValidationResult.gx_result``. This module renders that
result with GX's own file-backed site builder into ``output_dir/data_docs/`` (``index.html``, the
suite page, the validation page, GX's static files), which report.html links to.

- The result is rendered from a trimmed copy: every list of failing values or row indices is cut
  to ``MAX_LISTED`` entries (``unexpected_index_query``, which spells out every failing index, is
  dropped), so a million-row run with many rejects renders in the same second as a small one. The
  counts and percentages are GX's own, untrimmed. Failing "indices" are row positions of the
  typed input (0-based); rejects.csv has every rejected row by file and row number.
- Pages are rendered by GX's own views with Jinja's bytecode cache (:mod:`dispo.validate.docs_views`);
  a run validated in GX's worker process (:mod:`dispo.validate.worker`) has its site rendered
  there, while the run evaluates and writes.
- Atomic per directory: the site is built into ``output_dir/.data_docs-new-<id>`` and only after the
  run's output set has committed is it swapped in for ``data_docs`` (two renames; the previous
  site is then removed). A failed run leaves the previous site in place; a failed docs build is
  logged and the run goes on without a site (report.html then has no link). Leftovers of a killed
  run (``.data_docs-new-*``, ``.data_docs-old-*``) are removed by the next one.
- GX's pages load Bootstrap, jQuery and fonts from public CDNs when opened (GX's design): offline
  they show unstyled but complete. report.html itself stays self-contained.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from dispo.validate.suite import SUITE_NAME, ephemeral_context, validation_suite

log = logging.getLogger("dispo.validate")

DATA_DOCS_DIR = "data_docs"
INDEX = "index.html"
SITE_NAME = "dispo"
#: Failing values/indices listed per expectation in the rendered docs.
MAX_LISTED = 20
_NEW, _OLD = ".data_docs-new-", ".data_docs-old-"
_LIST_KEYS = ("unexpected_list", "unexpected_index_list", "partial_unexpected_list",
              "partial_unexpected_index_list", "partial_unexpected_counts")
_DROP_KEYS = ("unexpected_index_query",)


def trimmed_result(gx_result: Any, max_listed: int = MAX_LISTED) -> Any:
    """A copy of an ``ExpectationSuiteValidationResult`` with every failing-value list cut to
    ``max_listed`` entries (counts untouched); the original is not modified."""
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    results = []
    for r in gx_result.results:
        result = dict(r.result or {})
        for key in _LIST_KEYS:
            if isinstance(result.get(key), list) and len(result[key]) > max_listed:
                result[key] = result[key][:max_listed]
        for key in _DROP_KEYS:
            result.pop(key, None)
        results.append(ExpectationValidationResult(
            success=r.success, expectation_config=r.expectation_config, result=result,
            meta=dict(r.meta or {}), exception_info=r.exception_info))
    return ExpectationSuiteValidationResult(
        success=gx_result.success, results=results, suite_name=gx_result.suite_name,
        suite_parameters=getattr(gx_result, "suite_parameters", None), statistics=gx_result.statistics,
        meta=dict(gx_result.meta or {}), batch_id=getattr(gx_result, "batch_id", None))


#: GX's page views with Jinja's bytecode cache (:mod:`dispo.validate.docs_views`).
_VIEWS = "dispo.validate.docs_views"


def site_config(target: Path) -> dict[str, Any]:
    """GX's default Data Docs site (suite and validation pages, index) into ``target``, its pages
    rendered by GX's views with compiled templates cached; no profiling section (dispo profiles
    nothing)."""
    page_view = {"module_name": _VIEWS, "class_name": "CachedPageView"}
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False,
                               "view": {"module_name": _VIEWS, "class_name": "CachedIndexPageView"}},
        "site_section_builders": {
            "expectations": {"view": page_view},
            "validations": {"view": page_view},
            "profiling": "None",
        },
    }


def build_data_docs(gx_result: Any, target_dir: str | os.PathLike[str], *, run_name: str = "dispo",
                    run_time: dt.datetime | None = None, max_listed: int = MAX_LISTED) -> Path:
    """Renders Data Docs for ``gx_result`` (the run's validation) into ``target_dir`` with GX's
    file-backed SiteBuilder; returns the site's ``index.html``."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier,
    )

    target = Path(target_dir)
    context = ephemeral_context()
    context.add_data_docs_site(site_name=SITE_NAME, site_config=site_config(target))
    suite = context.suites.add(validation_suite())  # the suite page, and the validation's link to it
    # GX makes the run name a directory name and refuses '/' or '\\' in it: the pipeline's name is
    # free text ("north/west"), so keep only safe characters.
    run_name = re.sub(r"[^\w.-]+", "_", run_name or "").strip("._") or "dispo"
    run_id = RunIdentifier(run_name=run_name,
                           run_time=run_time or dt.datetime.now(dt.timezone.utc))
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name or SUITE_NAME),
        run_id=run_id, batch_identifier=getattr(gx_result, "batch_id", None) or "rows")
    context.validation_results_store.set(key, trimmed_result(gx_result, max_listed))
    context.build_data_docs(site_names=[SITE_NAME])
    index = target / INDEX
    if not index.is_file():  # pragma: no cover - a GX change
        raise RuntimeError(f"Great Expectations built no {INDEX} in {target}")
    return index


@dataclass
class StagedDataDocs:
    """A Data Docs site built beside the outputs, waiting for the output set to commit."""

    output_dir: Path
    staged: Path | None
    #: Waits for a site being rendered elsewhere (GX's worker process) into ``staged``.
    pending: Callable[[], Path] | None = None

    def _settle(self) -> None:
        """Waits for a site still being rendered; a failed rendering leaves no site."""
        if self.pending is None:
            return
        wait, self.pending = self.pending, None
        try:
            wait()
        except Exception as e:  # Data Docs are a convenience: never fail the run for them
            _not_written(e, self.staged)
            self.staged = None

    @property
    def href(self) -> str | None:
        """The link report.html uses (relative to output_dir), or None when there is no site."""
        self._settle()
        return f"{DATA_DOCS_DIR}/{INDEX}" if self.staged is not None else None

    def commit(self) -> Path | None:
        """Swap the staged site in for ``output_dir/data_docs``; returns its index.html."""
        self._settle()
        if self.staged is None:
            return None
        final = self.output_dir / DATA_DOCS_DIR
        old = self.output_dir / f"{_OLD}{uuid.uuid4().hex}"
        if final.is_symlink() or final.is_file():
            final.unlink()
        elif final.exists():
            os.replace(final, old)
        os.replace(self.staged, final)
        self.staged = None
        shutil.rmtree(old, ignore_errors=True)
        return final / INDEX

    def discard(self) -> None:
        self._settle()
        if self.staged is not None:
            shutil.rmtree(self.staged, ignore_errors=True)
            self.staged = None


def _not_written(e: BaseException, staged: Path | None) -> None:
    log.warning("Data Docs not written: %s: %s", type(e).__name__, e)
    if staged is not None:
        shutil.rmtree(staged, ignore_errors=True)


def _remove_leftovers(output_dir: Path) -> None:
    for entry in output_dir.glob(".data_docs-*"):
        if entry.name.startswith((_NEW, _OLD)) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def staged_data_docs(output_dir: str | os.PathLike[str], gx_result: Any, *, run_name: str = "dispo",
                     run_time: dt.datetime | None = None) -> Iterator[StagedDataDocs]:
    """Builds the site into a staging directory of ``output_dir``; on normal exit of the ``with``
    block swaps it in as ``data_docs/``, on an exception removes it (the previous site stays).
    A result kept in GX's worker process (:class:`dispo.validate.worker.RemoteGXResult`) is rendered
    there while the block runs; ``href``, the commit and the discard wait for it.

    With no ``gx_result`` or when GX fails to render, yields a site whose ``href`` is None."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    docs = StagedDataDocs(out, None)
    if gx_result is not None:
        staged = out / f"{_NEW}{uuid.uuid4().hex}"
        start = getattr(gx_result, "start_docs", None)  # a result kept in GX's worker process
        try:
            if start is not None:
                docs.pending = start(staged, run_name=run_name, run_time=run_time)
            else:
                build_data_docs(gx_result, staged, run_name=run_name, run_time=run_time)
            docs.staged = staged
        except Exception as e:  # Data Docs are a convenience: never fail the run for them
            _not_written(e, staged)
    try:
        yield docs
    except BaseException:
        docs.discard()
        raise
    docs.commit()
