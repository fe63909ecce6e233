"""The run report: the headline numbers chapters assert, as JSON lines.

Set ``DLBOOK_REPORT=path.jsonl`` and every :func:`record` call appends one line
with the chapter, metric, value, profile, seed, device, machine, torch version and
the seconds since :func:`dlbook.setup`. Unset, recording costs nothing.
``benchmarks/run_book.py`` adds one ``run`` line per chapter execution (wall time,
pass or fail), and :func:`table` turns a report into one row per chapter.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

_run: dict = {}


def machine() -> str:
    """A short description of the hardware: CPU architecture and count, and the GPU."""
    text = f"{platform.machine()}, {os.cpu_count()} CPUs"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text


def start(chapter: str | None, settings) -> None:
    """Remember which chapter is running and with what settings (called by ``setup``)."""
    _run.clear()
    _run.update(
        chapter=chapter or "unnamed",
        profile=settings.profile,
        seed=settings.seed,
        device=str(settings.device),
        machine=machine(),
        torch=torch.__version__,
        started=time.perf_counter(),
    )


def record(metric: str, value: float) -> float:
    """Report ``value`` under ``metric`` (when ``DLBOOK_REPORT`` is set) and return it."""
    path = os.environ.get("DLBOOK_REPORT")
    if path:
        row = {"kind": "metric", **{k: v for k, v in _run.items() if k != "started"}}
        row.update(metric=metric, value=float(value))
        row["seconds"] = round(time.perf_counter() - _run.get("started", time.perf_counter()), 3)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return value


def read(path: str | Path) -> list[dict]:
    """All rows of a report file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _spread(values: list[float], digits: int) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}g}" if low == high else f"{low:.{digits}g} – {high:.{digits}g}"


def table(rows: list[dict]):
    """One row per chapter: seconds (median and range over seeds), device, self-check, and
    each recorded metric (its value, or its range over seeds).

    Returns a pandas DataFrame; chapters keep the order in which they ran.
    """
    import pandas as pd

    runs = [r for r in rows if r.get("kind") == "run"]
    metrics = [r for r in rows if r.get("kind") == "metric"]
    chapters = list(dict.fromkeys(r["chapter"] for r in runs))
    out = []
    for chapter in chapters:
        mine = [r for r in runs if r["chapter"] == chapter]
        seconds = sorted(r["seconds"] for r in mine)
        row = {
            "chapter": chapter,
            "seconds": seconds[len(seconds) // 2],
            "seconds (range)": _spread(seconds, 3),
            "seeds": " ".join(str(r["seed"]) for r in mine),
            "device": mine[0]["device"],
            "self-check": "pass" if all(r["passed"] for r in mine) else "FAIL",
        }
        values: dict[str, list[float]] = {}
        for m in metrics:
            if m["chapter"] == chapter:
                values.setdefault(m["metric"], []).append(m["value"])
        row["headline metrics"] = "; ".join(f"{k} {_spread(v, 4)}" for k, v in values.items())
        out.append(row)
    return pd.DataFrame(out)
