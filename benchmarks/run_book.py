"""Run every chapter of the book in fresh kernels and print what each costs and achieves.

For each chapter in ``_toc.yml`` and each seed, the chapter is converted with jupytext
and executed top to bottom in a new kernel with ``DLBOOK_PROFILE``, ``DLBOOK_SEED`` and
``DLBOOK_REPORT`` set. Its hidden self-check decides pass or fail; its recorded headline
numbers and the wall time go into the report file and the printed table. The exit code
is non-zero if any chapter fails or exceeds its budget (quick 30 s, full 180 s).

    python benchmarks/run_book.py --profile quick
    python benchmarks/run_book.py --profile full --seeds 0 1 2 --report reports/full-cpu.jsonl
    python benchmarks/run_book.py --compare reports/full-cpu.jsonl reports/full-gpu.jsonl
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conftest import is_chapter, toc_chapters  # noqa: E402
from dlbook import report, runtime  # noqa: E402

BUDGET_SECONDS = {"quick": 30, "full": 180}


def run_chapter(path: Path, profile: str, seed: int, report_path: Path) -> dict:
    """Execute one chapter in a fresh kernel; return its ``run`` row."""
    env = {"DLBOOK_PROFILE": profile, "DLBOOK_SEED": str(seed), "DLBOOK_PROGRESS": "0"}
    env["DLBOOK_REPORT"] = str(report_path)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    notebook = jupytext.read(path)
    error = None
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            client = NotebookClient(
                notebook,
                timeout=1200,
                kernel_name="python3",
                resources={"metadata": {"path": workdir}},
            )
            client.execute()
    except CellExecutionError as failure:
        error = str(failure).strip().splitlines()[-1][:300]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    return {
        "kind": "run",
        "chapter": path.stem,
        "profile": profile,
        "seed": seed,
        "device": str(runtime.device()),
        "machine": report.machine(),
        "torch": torch.__version__,
        "seconds": round(seconds, 1),
        "passed": error is None,
        "error": error,
        "date": datetime.date.today().isoformat(),
    }


def run(args) -> int:
    chapters = [p for p in toc_chapters() if is_chapter(p)]
    if args.chapters:
        chapters = [p for p in chapters if any(name in p.stem for name in args.chapters)]
    report_path = Path(args.report or tempfile.mkstemp(suffix=".jsonl")[1]).resolve()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.unlink(missing_ok=True)
    budget = BUDGET_SECONDS[args.profile]
    problems = []
    for path in chapters:
        for seed in args.seeds:
            row = run_chapter(path, args.profile, seed, report_path)
            with open(report_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            verdict = "pass" if row["passed"] else f"FAIL: {row['error']}"
            if row["seconds"] > budget:
                verdict += f" (over the {budget} s budget)"
                problems.append(f"{path.stem} seed {seed}: {row['seconds']} s > {budget} s")
            if not row["passed"]:
                problems.append(f"{path.stem} seed {seed}: {row['error']}")
            print(f"{path.stem:32} seed {seed}  {row['seconds']:7.1f} s  {verdict}", flush=True)
    print_table(report.read(report_path), f"profile {args.profile}, seeds {args.seeds}")
    print(f"\nreport: {report_path}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0


def print_table(rows: list[dict], title: str) -> None:
    table = report.table(rows)
    runs = [r for r in rows if r.get("kind") == "run"]
    print(f"\n{title} | {runs[0]['machine']} | {runs[0]['date']}" if runs else title)
    print(table.to_string(index=False))
    print(f"total: {table['seconds'].sum():.0f} s (median seed per chapter)")


def compare(a: Path, b: Path) -> int:
    ta, tb = report.table(report.read(a)), report.table(report.read(b))
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
    parser.add_argument("--report", help="write the JSON-lines report here (default: a temp file)")
    parser.add_argument("--chapters", nargs="*", help="only chapters whose name contains these")
    parser.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), type=Path, help="compare two reports"
    )
    args = parser.parse_args()
    return compare(*args.compare) if args.compare else run(args)


if __name__ == "__main__":
    sys.exit(main())
