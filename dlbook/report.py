"""Measured numbers: glued into the page that shows them, and written to the run report.

:func:`glue` hands a number to the prose of the same page: ``{glue:text}`name:.1%```
(MyST-NB) prints the value this very execution measured. :func:`record` does that and
also, when ``DLBOOK_REPORT=path.jsonl`` is set, appends a ``metric`` row to the run
report. The tests set it (``benchmarks/run_book.py``), so every reported number comes
from a run that asserted it.

This module is the report's one writer: :data:`KINDS` is its schema, and
:func:`append` writes every row, the ``margin`` rows of :mod:`dlbook.margins` and the
``run`` rows of ``conftest.py`` included. :mod:`dlbook.runs` reads reports back.
"""

from __future__ import annotations

import json
import os
import platform
import time
from numbers import Integral, Real

from dlbook import runtime

GLUE_PREFIX = "application/papermill.record/"  # MyST-NB's marker for glued, hidden values
# The run report's schema: every row has a ``kind``, the RUN_FIELDS of the run that wrote
# it, and the fields of its kind.
RUN_FIELDS = ("chapter", "profile", "seed", "device", "machine", "torch", "threads")
KINDS = {
    "metric": ("metric", "value", "seconds"),  # a number the chapter measured (record)
    "margin": ("check", "margin"),  # how close a self-check came to failing (margins)
    "run": ("seconds", "passed", "date"),  # one chapter's execution (conftest.py)
}
_run: dict = {}


def machine() -> str:
    """A short description of the hardware: CPU architecture and count, and the GPU."""
    import torch

    text = f"{platform.machine()}, {os.cpu_count()} CPUs"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text


def run_fields(chapter: str | None, settings=None) -> dict:
    """The :data:`RUN_FIELDS` of a run of ``chapter`` with ``settings`` (a
    :class:`dlbook.Settings`) or, without them, the settings the environment gives."""
    import torch

    if settings is None:
        profile, seed = runtime.profile(), runtime.seed_from_env()
        device, threads = runtime.device(), runtime.cpu_threads()
    else:
        profile, seed = settings.profile, settings.seed
        device, threads = settings.device, settings.threads
    return {
        "chapter": chapter or "unnamed",
        "profile": profile,
        "seed": seed,
        "device": str(device),
        "machine": machine(),
        "torch": torch.__version__,
        "threads": threads,
    }


def this_run() -> dict:
    """The :data:`RUN_FIELDS` of this kernel's run, as ``setup`` started it."""
    return {k: v for k, v in _run.items() if k != "started"}


def start(chapter: str | None, settings) -> None:
    """Remember which chapter is running and with what settings (called by ``setup``)."""
    _run.clear()
    _run.update(run_fields(chapter, settings), started=time.perf_counter())


def append(kind: str, run: dict, **fields) -> None:
    """Append one row of ``kind`` to the run report (``DLBOOK_REPORT``; nothing if unset):
    the ``run``'s fields (:func:`run_fields`, :func:`this_run`) and exactly the fields
    that :data:`KINDS` lists for its kind."""
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a kind of report row; use one of {', '.join(KINDS)}.")
    if set(fields) != set(KINDS[kind]):
        raise ValueError(
            f"a {kind!r} row has the fields {', '.join(KINDS[kind])}; got {', '.join(fields)}."
        )
    path = runtime.report_path()
    if path is None:
        return
    row = {"kind": kind, **run, **{name: fields[name] for name in KINDS[kind]}}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _plain(value):
    """A Python number or string (numpy and torch scalars become floats or ints)."""
    if isinstance(value, bool | str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    raise TypeError(f"glue and record take a number or a string, got {type(value).__name__}.")


def glue(name: str, value):
    """Give ``value`` to this page's prose as ``{glue:text}`name``` and return it.

    Nothing is shown in the notebook. Outside a Jupyter kernel this does nothing.
    """
    value = _plain(value)
    try:
        from IPython import get_ipython
    except ImportError:
        return value
    if get_ipython() is None:
        return value
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    return value


def record(metric: str, value):
    """Glue ``value`` as ``metric`` and add it to the run report (if one is set); return it."""
    value = glue(metric, value)
    if runtime.report_path() is not None:
        if not _run:
            raise RuntimeError(
                f"record({metric!r}) before dlbook.setup(): call dlbook.setup('<chapter>') "
                "first, so the report knows which chapter measured it."
            )
        seconds = round(time.perf_counter() - _run["started"], 3)
        append("metric", this_run(), metric=metric, value=value, seconds=seconds)
    return value
