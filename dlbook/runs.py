"""Run reports read back: by the book's build, the benchmarks and the chapters.

A run report is a JSON-lines file that :mod:`dlbook.report` writes (its schema is
:data:`dlbook.report.KINDS`). :data:`COMMITTED` is the cross-seed, full-profile report
the prose quotes (``{report}`` roles, :mod:`dlbook.sphinx.quotes`); a chapter's
self-check compares itself with another chapter's committed number through
:func:`committed`, which says aloud when it has none to compare with.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository, in a checkout
COMMITTED = Path("reports") / "full-cpu.jsonl"  # relative to the repository


def committed(chapter: str, metric: str, path: Path | None = None) -> dict[int, float]:
    """``metric`` of ``chapter`` by seed, from the committed report (``path``: another one).

    Returns ``{}`` when the report or the metric is missing (Colab and Binder have no
    report; a renamed metric has none), and then prints that the comparison is skipped,
    naming the chapter, the metric and the report, so a skipped check is never a quiet one.
    """
    path = ROOT / COMMITTED if path is None else Path(path)
    skipped = f"skipped: the comparison with {chapter}'s {metric!r}:"
    if not path.exists():
        print(f"{skipped} {path} does not exist")
        return {}
    by_seed = values(read(path), chapter, metric)
    if not by_seed:
        print(
            f"{skipped} {path} has none; if the metric was renamed, re-run "
            f"benchmarks/run_book.py --profile full --seeds 0 1 2 --report {COMMITTED}"
        )
    return by_seed


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
