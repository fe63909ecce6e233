"""The run report: headline numbers a chapter asserts, appended as JSON lines.

Set ``DLBOOK_REPORT=path.jsonl`` and every :func:`record` call adds one line
with the chapter, metric, value, profile, seed, device, torch version and the
seconds since :func:`dlbook.setup`. Unset, recording costs nothing.
"""

from __future__ import annotations

import json
import os
import time

import torch

_run: dict = {}


def start(chapter: str | None, settings) -> None:
    """Remember which chapter is running and with what settings (called by ``setup``)."""
    _run.clear()
    _run.update(
        chapter=chapter or "unnamed",
        profile=settings.profile,
        seed=settings.seed,
        device=str(settings.device),
        torch=torch.__version__,
        started=time.perf_counter(),
    )


def record(metric: str, value: float) -> float:
    """Report ``value`` under ``metric`` (when ``DLBOOK_REPORT`` is set) and return it."""
    path = os.environ.get("DLBOOK_REPORT")
    if path:
        row = {k: v for k, v in _run.items() if k != "started"}
        row.update(metric=metric, value=float(value))
        row["seconds"] = round(time.perf_counter() - _run.get("started", time.perf_counter()), 3)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return value
