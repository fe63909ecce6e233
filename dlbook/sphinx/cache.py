"""The execution cache, one folder per configuration, and the kernels' environment.

jupyter-cache re-executes a chapter only when its code changes. Its outputs also depend
on the profile, seed, device, dlbook's source and the versions of torch and Python, so
each such configuration gets its own cache folder (:mod:`dlbook.execution`): a full
build never serves quick outputs. The chapters missing from it are executed side by
side before Sphinx reads them. ``dlbook_keep_caches`` folders are kept, the most
recently used first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sphinx.util import logging

from dlbook.execution import cache_folder, execute_into_cache, execution_key

logger = logging.getLogger(__name__)


def use_keyed_cache(app, config) -> None:
    if config.nb_execution_cache_path:  # the reader chose a folder: respect it
        return
    folder = cache_folder(Path(app.outdir).parent, execution_key())
    folder.mkdir(parents=True, exist_ok=True)
    folder.touch()  # most recently used
    others = sorted(
        (p for p in folder.parent.iterdir() if p.is_dir() and p != folder),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[config.dlbook_keep_caches - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(folder)
    logger.info(f"execution cache for this configuration: {folder}")


def execution_cache(config) -> Path | None:
    """MyST-NB's execution cache folder, when pages are executed through one."""
    if config.nb_execution_mode == "cache" and config.nb_execution_cache_path:
        return Path(config.nb_execution_cache_path)
    return None


def execute_side_by_side(app, env, docnames) -> None:
    """Before Sphinx reads the pages: execute the notebook pages it is about to read that
    the cache lacks, several at a time, so that MyST-NB finds each in the cache."""
    from dlbook import book

    cache = execution_cache(app.config)
    if cache is None:
        return
    pages = [Path(env.doc2path(name)) for name in sorted(docnames)]
    pages = [p for p in pages if book.is_notebook(p)]
    execute_into_cache(
        cache,
        pages,
        timeout=app.config.nb_execution_timeout,
        allow_errors=app.config.nb_execution_allow_errors,
        log=lambda text: logger.info(f"[dlbook] {text}"),
    )


def kernel_environment(app, config) -> None:
    """What every chapter's kernel inherits from the build."""
    from dlbook import runtime

    os.environ["DLBOOK_PROGRESS"] = "0"  # one summary line per loop, not a bar, on the page
    runtime.prepare_kernels()  # chapters execute in book/, and load torch


def setup(app):
    app.add_config_value("dlbook_keep_caches", 3, "")
    app.connect("config-inited", use_keyed_cache)
    app.connect("config-inited", kernel_environment)
    app.connect("env-before-read-docs", execute_side_by_side)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
