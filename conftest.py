"""Test setup: the quick profile, and every notebook page collected as an nbval notebook.

nbval collects only ``.ipynb`` files, and chapters are MyST markdown, so each page is
converted (:func:`dlbook.book.to_notebook`) into a temporary folder and handed to nbval
(``--nbval-lax``: cells must run; the chapter's own hidden self-checks assert its
results). ``pytest book/03_gradient_descent.md`` runs one chapter.

With ``DLBOOK_REPORT=report.jsonl`` the chapters record their headline numbers there,
and this file adds one ``run`` row per chapter (wall time, pass or fail): the run
report is written by the very executions that assert its numbers
(``benchmarks/run_book.py`` drives this over profiles and seeds).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from dlbook import book

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("DLBOOK_PROFILE", "quick")
os.environ.setdefault("DLBOOK_PROGRESS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # for the kernels, before they load torch
if not os.environ.get("DLBOOK_DATA") and (ROOT.parent / "shared" / "datasets").is_dir():
    os.environ["DLBOOK_DATA"] = str(ROOT.parent / "shared" / "datasets")
if os.environ.get("DLBOOK_DATA"):  # kernels run in a temporary folder: make it absolute
    os.environ["DLBOOK_DATA"] = str(Path(os.environ["DLBOOK_DATA"]).expanduser().resolve())

_converted = Path(tempfile.mkdtemp(prefix="dlbook-chapters-"))
_chapter_seconds: dict[str, float] = defaultdict(float)
_chapter_failed: set[str] = set()


def pytest_collection_modifyitems(config, items):
    """Inside the workflow harness's own run of .ci/run (tests/test_workflows.py), skip
    the tests that the outer run performs on this same machine."""
    if os.environ.get("DLBOOK_NESTED_CI") == "1":
        skip = pytest.mark.skip(reason="run once by the outer CI on this machine")
        for item in items:
            if item.get_closest_marker("outer_ci_only"):
                item.add_marker(skip)


def pytest_collect_file(file_path: Path, parent):
    if file_path.is_relative_to(ROOT / "book") and book.is_notebook(file_path):
        return chapter_notebook_class().from_parent(parent, path=file_path)
    return None


@functools.cache
def chapter_notebook_class():
    """nbval's notebook collector, reading the chapter's conversion.

    The node's path stays the ``.md`` chapter (so ``pytest book/x.md`` selects it);
    nbval reads and runs the converted ``.ipynb`` (``fspath``) in the temporary folder.
    """
    import jupytext
    import py
    from nbval.plugin import IPyNbFile

    class ChapterNotebook(IPyNbFile):
        @property
        def fspath(self):
            target = _converted / self.path.relative_to(ROOT / "book").with_suffix(".ipynb")
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                jupytext.write(book.to_notebook(self.path), target)
            return py.path.local(target)

    return ChapterNotebook


def _chapter_of(nodeid: str) -> str | None:
    path = nodeid.split("::")[0]
    return Path(path).stem if path.startswith("book/") and path.endswith(".md") else None


def pytest_runtest_logreport(report):
    chapter = _chapter_of(report.nodeid)
    if chapter:
        _chapter_seconds[chapter] += report.duration
        if report.failed:
            _chapter_failed.add(chapter)


def pytest_terminal_summary(terminalreporter):
    if not _chapter_seconds:
        return
    profile = os.environ.get("DLBOOK_PROFILE")
    terminalreporter.section(f"chapter run times (profile {profile})")
    for chapter, seconds in _chapter_seconds.items():
        verdict = "FAILED" if chapter in _chapter_failed else "ok"
        terminalreporter.write_line(f"{chapter:32} {seconds:7.1f} s  {verdict}")
    terminalreporter.write_line(f"{'all chapters':32} {sum(_chapter_seconds.values()):7.1f} s")


def _write_run_rows(path: str) -> None:
    """One ``run`` row per chapter executed in this session, beside its metric rows."""
    import torch

    from dlbook import report, runtime

    with open(path, "a", encoding="utf-8") as f:
        for chapter, seconds in _chapter_seconds.items():
            row = {
                "kind": "run",
                "chapter": chapter,
                "profile": runtime.profile(),
                "seed": runtime.seed_from_env(),
                "device": str(runtime.device()),
                "machine": report.machine(),
                "torch": torch.__version__,
                "threads": runtime.cpu_threads(),
                "seconds": round(seconds, 1),
                "passed": chapter not in _chapter_failed,
                "date": datetime.date.today().isoformat(),
            }
            f.write(json.dumps(row) + "\n")


def pytest_sessionfinish(session):
    if os.environ.get("DLBOOK_REPORT") and _chapter_seconds:
        _write_run_rows(os.environ["DLBOOK_REPORT"])
    shutil.rmtree(_converted, ignore_errors=True)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty, private DLBOOK_DATA for tests that exercise the cache."""
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through playwright, one per test module (the browser,
    live-client, JupyterHub and install tests); skipped, saying why, without them."""
    from tests import jupyter_client as jc

    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if jc.chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        yield p.chromium.launch(executable_path=jc.chromium(), args=jc.CHROMIUM_FLAGS)
