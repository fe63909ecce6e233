"""Run every chapter through the book's tests, per seed, and keep the run report.

A thin front end over ``python -m pytest --execute-chapters book/...`` (the chapter
tests, with nbval always executing rather than reading a build's execution): for each
seed it runs the chapters with ``DLBOOK_PROFILE``, ``DLBOOK_SEED`` and ``DLBOOK_REPORT``
set, so every number in the report comes from a run whose hidden
self-check asserted it, and ``conftest.py`` adds each chapter's wall time and verdict.
It then prints one row per chapter and the self-checks that came closest to failing
(:mod:`dlbook.margins`), and exits non-zero if a chapter failed or went over its budget
(quick 30 s, full 180 s, for a 2-core CPU; ``--over-budget warn`` only prints those, as on
a GPU runner). ``--threads 1 2`` runs each seed at both thread counts.

    python benchmarks/run_book.py --profile quick
    python benchmarks/run_book.py --profile full --seeds 0 1 2 --report reports/full-cpu.jsonl
    python benchmarks/run_book.py --profile quick --seeds 3 4 --threads 1 2
    python benchmarks/run_book.py --compare reports/full-cpu.jsonl reports/full-gpu.jsonl
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from dlbook.runtime import BUDGET_SECONDS

ROOT = Path(__file__).resolve().parents[1]


def run(args) -> int:
    from dlbook import book, runs

    pages = book.notebook_pages(ROOT)
    if args.chapters:
        pages = [p for p in pages if any(name in p.stem for name in args.chapters)]
        if not pages:
            print(f"no chapter matches {args.chapters}", file=sys.stderr)
            return 2
    path = Path(args.report or tempfile.mkstemp(suffix=".jsonl")[1]).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    for seed in args.seeds:
        for threads in args.threads or [None]:
            env = {
                **os.environ,
                "DLBOOK_PROFILE": args.profile,
                "DLBOOK_SEED": str(seed),
                "DLBOOK_REPORT": str(path),
            }
            if threads:
                env["DLBOOK_THREADS"] = str(threads)
            command = [
                *[sys.executable, "-m", "pytest", "-q", "--execute-chapters"],
                *map(str, pages),
                *args.pytest_args,
            ]
            label = f"seed {seed}" + (f", {threads} threads" if threads else "")
            print(f"{label}: {' '.join(command[2:4])} {len(pages)} pages", flush=True)
            subprocess.run(command, cwd=ROOT, env=env, check=False)
    rows = runs.read(path) if path.exists() else []
    done = [r for r in rows if r.get("kind") == "run"]
    if not done:
        print("no chapter ran", file=sys.stderr)
        return 1
    print_table(rows, f"profile {args.profile}, seeds {args.seeds}")
    margins = runs.closest_margins(rows, n=8)
    if len(margins):
        print("\nclosest margins (how near each self-check came to failing):")
        print(margins.to_string(index=False))
    print(f"\nreport: {path}")
    budget = BUDGET_SECONDS[args.profile]
    failed = [f"{r['chapter']} seed {r['seed']}: failed" for r in done if not r["passed"]]
    slow = [
        f"{r['chapter']} seed {r['seed']}: {r['seconds']} s > {budget} s"
        for r in done
        if r["passed"] and r["seconds"] > budget
    ]
    for problem in failed + slow:
        print(f"problem: {problem}")
    return 1 if failed or (slow and args.over_budget == "fail") else 0


def print_table(rows: list[dict], title: str) -> None:
    from dlbook import runs

    table = runs.table(rows)
    done = [r for r in rows if r.get("kind") == "run"]
    print(f"\n{title} | {done[0]['machine']} | {done[0]['date']}")
    print(table.to_string(index=False))
    print(f"total: {table['seconds'].sum():.0f} s (median seed per chapter)")


def compare(a: Path, b: Path) -> int:
    from dlbook import runs

    ta, tb = runs.table(runs.read(a)), runs.table(runs.read(b))
    merged = ta.merge(tb, on="chapter", how="outer", suffixes=(" A", " B"))
    merged["B / A time"] = (merged["seconds B"] / merged["seconds A"]).round(2)
    columns = ["chapter", "seconds A", "seconds B", "B / A time", "device A", "device B"]
    columns += ["headline metrics A", "headline metrics B"]
    print(f"A = {a}\nB = {b}")
    print(merged[columns].to_string(index=False))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(BUDGET_SECONDS), default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--threads", type=int, nargs="+", help="run each seed at these DLBOOK_THREADS"
    )
    parser.add_argument("--report", help="write the JSON-lines report here (default: a temp file)")
    parser.add_argument("--chapters", nargs="*", help="only pages whose name contains these")
    parser.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), type=Path, help="compare two reports"
    )
    parser.add_argument(
        "--over-budget",
        choices=["fail", "warn"],
        default="fail",
        help="a chapter over its 2-core-CPU budget fails the run, or is only printed",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args()
    return compare(*args.compare) if args.compare else run(args)


if __name__ == "__main__":
    sys.exit(main())
