"""Measured numbers: glued into the page that shows them, and recorded in the run report.

:func:`glue` hands a number to the prose of the same page: ``{glue:text}`name:.1%```
(MyST-NB) prints the value this very execution measured. :func:`record` does that and
also, when ``DLBOOK_REPORT=path.jsonl`` is set, appends one line with the chapter, metric,
value, profile, seed, device, machine and torch version. The tests set it
(``benchmarks/run_book.py``), so every reported number comes from a run that asserted it.
:func:`table` turns a report into one row per chapter, and the book's ``{report}`` role
(:mod:`dlbook.sphinx`) quotes a metric's range over seeds in the prose.
"""

from __future__ import annotations

import json
import os
import platform
import time
from numbers import Integral, Real
from pathlib import Path

GLUE_PREFIX = "application/papermill.record/"  # MyST-NB's marker for glued, hidden values
_run: dict = {}


def machine() -> str:
    """A short description of the hardware: CPU architecture and count, and the GPU."""
    import torch

    text = f"{platform.machine()}, {os.cpu_count()} CPUs"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text


def start(chapter: str | None, settings) -> None:
    """Remember which chapter is running and with what settings (called by ``setup``)."""
    import torch

    _run.clear()
    _run.update(
        chapter=chapter or "unnamed",
        profile=settings.profile,
        seed=settings.seed,
        device=str(settings.device),
        machine=machine(),
        torch=torch.__version__,
        threads=settings.threads,
        started=time.perf_counter(),
    )


def run_fields() -> dict:
    """Chapter, profile, seed, device, machine, torch version and threads of this run."""
    return {k: v for k, v in _run.items() if k != "started"}


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
    path = os.environ.get("DLBOOK_REPORT")
    if path:
        if not _run:
            raise RuntimeError(
                f"record({metric!r}) before dlbook.setup(): call dlbook.setup('<chapter>') "
                "first, so the report knows which chapter measured it."
            )
        row = {"kind": "metric", **run_fields()}
        row.update(metric=metric, value=value)
        row["seconds"] = round(time.perf_counter() - _run["started"], 3)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    return value


def read(path: str | Path) -> list[dict]:
    """All rows of a report file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def values(rows: list[dict], chapter: str, metric: str) -> dict[int, float]:
    """One metric of one chapter, by seed."""
    return {
        r["seed"]: r["value"]
        for r in rows
        if r.get("kind") == "metric" and r["chapter"] == chapter and r["metric"] == metric
    }


def seeds_phrase(seeds) -> str:
    """``[0, 1, 2]`` -> ``seeds 0, 1 and 2``; ``[3]`` -> ``seed 3``."""
    seeds = sorted(seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return "seeds " + ", ".join(map(str, seeds[:-1])) + f" and {seeds[-1]}"


def spread(numbers, fmt: str = "") -> str:
    """``low–high`` of some numbers in a format spec, or one value if they all print alike."""
    low, high = format(min(numbers), fmt), format(max(numbers), fmt)
    if low == high:
        return low
    unit = "%" if low.endswith("%") and high.endswith("%") else ""
    return f"{low.removesuffix(unit)}–{high}"


def table(rows: list[dict]):
    """One row per chapter: seconds (median and range over seeds), device, self-check, and
    each recorded metric (its value, or its range over seeds).

    Returns a pandas DataFrame; chapters keep the order in which they ran.
    """
    import pandas as pd

    runs = [r for r in rows if r.get("kind") == "run"]
    chapters = list(dict.fromkeys(r["chapter"] for r in runs))
    out = []
    for chapter in chapters:
        mine = [r for r in runs if r["chapter"] == chapter]
        seconds = sorted(r["seconds"] for r in mine)
        row = {
            "chapter": chapter,
            "seconds": seconds[len(seconds) // 2],
            "seconds (range)": spread(seconds, ".3g"),
            "seeds": " ".join(str(r["seed"]) for r in mine),
            "device": mine[0]["device"],
            "self-check": "pass" if all(r["passed"] for r in mine) else "FAIL",
        }
        metrics = dict.fromkeys(
            r["metric"] for r in rows if r.get("kind") == "metric" and r["chapter"] == chapter
        )
        row["headline metrics"] = "; ".join(
            f"{m} {spread(values(rows, chapter, m).values(), '.4g')}" for m in metrics
        )
        out.append(row)
    return pd.DataFrame(out)


def closest_margins(rows: list[dict], n: int = 12):
    """The ``n`` self-checks that came closest to failing (:mod:`dlbook.margins`): each
    check's smallest margin over seeds and thread counts, as a pandas DataFrame.

    Checks met with equality (a margin of exactly 0, such as ``|sin| <= 1`` or an
    accuracy of exactly 3/4 where at most 3/4 is possible) are bounds of mathematics,
    not luck, and are left out."""
    import pandas as pd

    worst: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r.get("kind") == "margin" and r["margin"] != 0:
            key = (r["chapter"], r["check"])
            if key not in worst or r["margin"] < worst[key]["margin"]:
                worst[key] = r
    closest = sorted(worst.values(), key=lambda r: r["margin"])[:n]
    return pd.DataFrame(
        [
            {
                "chapter": r["chapter"],
                "self-check": r["check"],
                "margin": f"{r['margin']:.1%}",
                "at seed": r["seed"],
                "threads": r.get("threads", "?"),
            }
            for r in closest
        ]
    )
