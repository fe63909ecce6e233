"""Where a chapter's execution lives: the build's cache, one folder per configuration.

- :func:`execution_key` and :func:`cache_folder`: a chapter's outputs depend on the
  profile, seed, device, dlbook's source and the versions of torch, numpy and Python,
  so each such configuration gets its own jupyter-cache folder; within it, MyST-NB
  finds a chapter by the hash of its code cells.
- :func:`execute_into_cache`: the build executes the chapters it lacks side by side,
  :func:`parallel_jobs` at a time (each kernel uses ``runtime.cpu_threads()`` threads),
  before Sphinx reads them, so that MyST-NB then finds every one in the cache.
- :func:`built_execution`: the tests read the build's execution of a chapter, the very
  notebook its page shows, instead of running the chapter a second time.
"""

from __future__ import annotations

import hashlib
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from dlbook._version import __version__

PACKAGE = Path(__file__).resolve().parent


def execution_key() -> dict[str, str]:
    """Everything a chapter's outputs depend on beyond its own code cells."""
    import numpy
    import torch

    from dlbook import runtime

    source = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):  # the build's wing, dlbook/sphinx/, too
        source.update(path.relative_to(PACKAGE).as_posix().encode() + path.read_bytes())
    return {
        "profile": runtime.profile(),
        "seed": str(runtime.seed_from_env()),
        "device": runtime.device().type,
        "dlbook": f"{__version__}+{source.hexdigest()[:12]}",
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def cache_folder(build_dir: Path, key: dict[str, str]) -> Path:
    """``<build>/.jupyter_cache/<profile>-seed<seed>-<device>-<hash of the rest>``."""
    digest = hashlib.sha256(repr(sorted(key.items())).encode()).hexdigest()[:10]
    return (
        build_dir
        / ".jupyter_cache"
        / f"{key['profile']}-seed{key['seed']}-{key['device']}-{digest}"
    )


def built_execution(page: Path, build_dir: Path):
    """The build's execution of ``page`` in this process's configuration, or None.

    Returns ``(notebook, seconds)``: the executed notebook that the page's HTML shows
    and how long executing it took.
    """
    folder = cache_folder(build_dir, execution_key())
    return cached_execution(folder, page) if (folder / "global.db").exists() else None


def cached_execution(cache_path: Path, page: Path):
    """``(notebook, seconds)`` of ``page``'s execution in the cache at ``cache_path``,
    found exactly as MyST-NB finds it (by the hash of the code cells); None if absent."""
    from jupyter_cache import get_cache

    from dlbook import book

    notebook = book.to_notebook(page)
    cache = get_cache(cache_path)
    try:
        record = cache.match_cache_notebook(notebook)
    except KeyError:
        return None
    _, executed = cache.merge_match_into_notebook(notebook)
    return executed, record.data.get("execution_seconds")


def parallel_jobs() -> int:
    """How many chapters to execute at once: the usable CPUs over each kernel's threads."""
    from dlbook import runtime

    return max(1, runtime.usable_cpus() // runtime.cpu_threads())


def execute_into_cache(cache_path: Path, pages: list[Path], timeout: int, allow_errors: bool, log):
    """Execute the ``pages`` that the cache lacks, :func:`parallel_jobs` at a time, and
    cache each execution as MyST-NB would (with its errors, when ``allow_errors``). A
    page whose execution fails outright (a timeout, a dead kernel) is left out: MyST-NB
    then executes it itself and reports why. ``log(text)`` is told of each page."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from dlbook import book

    cache = get_cache(cache_path)
    missing = []
    for page in pages:
        try:
            cache.match_cache_notebook(book.to_notebook(page))
        except KeyError:
            missing.append(page)
    if not missing:
        return
    jobs = min(parallel_jobs(), len(missing))
    log(f"executing {len(missing)} page(s), {jobs} at a time")
    start = time.monotonic()
    # spawn, not fork: the parent is a Sphinx process with threads of its own
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_execute, p, timeout, allow_errors): p for p in missing}
        for future in as_completed(futures):
            page = futures[future]
            notebook, seconds, error = future.result()
            if error:
                log(f"{page.name} did not finish ({error}): it runs again as the page is read")
                continue
            bundle = CacheBundleIn(notebook, str(page), data={"execution_seconds": seconds})
            cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
            log(
                f"{page.name} executed in {seconds:.0f} s ({time.monotonic() - start:.0f} s in all)"
            )


def _execute(page: Path, timeout: int, allow_errors: bool):
    """In a worker process: run ``page`` in its folder, as MyST-NB runs it."""
    from jupyter_cache.executors.utils import single_nb_execution

    from dlbook import book

    try:
        result = single_nb_execution(
            book.to_notebook(page), cwd=str(page.parent), timeout=timeout, allow_errors=allow_errors
        )
    except Exception as error:  # a kernel that died or would not start
        return None, 0.0, f"{type(error).__name__}: {error}"
    error = f"{type(result.err).__name__}: {result.err}" if result.err else None
    return result.nb, result.time, error
