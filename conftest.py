"""Test setup: the quick profile, and every notebook page collected as a test.

A chapter executes once per profile and seed. When the book has been built in this
configuration (``.ci/run`` builds first), a chapter's test reads the build's execution,
the very notebook its HTML page shows: it fails if any cell there failed, a self-check
included (:func:`dlbook.sphinx.claims.failures`). Otherwise, or with
``--execute-chapters`` or ``DLBOOK_REPORT``, nbval executes it: nbval collects only
``.ipynb`` files, and chapters are MyST markdown, so each page is converted
(:func:`dlbook.book.to_notebook`) into a temporary folder and handed to nbval
(``--nbval-lax``: cells must run; the chapter's own hidden self-checks assert its
results). ``pytest book/03_gradient_descent.md`` tests one chapter.

With ``DLBOOK_REPORT=report.jsonl`` the chapters record their headline numbers there,
and this file adds one ``run`` row per chapter (wall time, pass or fail): the run
report is written by the very executions that assert its numbers
(``benchmarks/run_book.py`` drives this over profiles and seeds).
"""

from __future__ import annotations

import datetime
import functools
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from dlbook import book, runtime

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("DLBOOK_PROFILE", "quick")
os.environ.setdefault("DLBOOK_PROGRESS", "0")
if not os.environ.get("DLBOOK_DATA") and (ROOT.parent / "shared" / "datasets").is_dir():
    os.environ["DLBOOK_DATA"] = str(ROOT.parent / "shared" / "datasets")
runtime.prepare_kernels()  # the kernels run in a temporary folder, and load torch

_converted = Path(tempfile.mkdtemp(prefix="dlbook-chapters-"))
_chapter_seconds: dict[str, float] = defaultdict(float)
_chapter_failed: set[str] = set()
_chapter_built: set[str] = set()  # read from the build's execution, not run here
# The phases of a CI run that are test modules (set up, run and torn down); the rest of
# tests/ is "unit tests" and book/ is "chapters". With DLBOOK_CI_TIMES=<file>, each
# phase's seconds are appended there ("phase<TAB>seconds"): .ci/run prints them all.
PHASES = {
    "tests/test_browser.py": "browser",
    "tests/test_live_clients.py": "live clients",
    "tests/test_jupyterhub.py": "live clients",
    "tests/test_installs.py": "installs",
    "tests/test_workflows.py": "workflows",
}
_phase_seconds: dict[str, float] = defaultdict(float)


def pytest_addoption(parser):
    parser.addoption(
        "--execute-chapters",
        action="store_true",
        help="execute every chapter with nbval, even one the build has executed already",
    )


def pytest_collect_file(file_path: Path, parent):
    if not (file_path.is_relative_to(ROOT / "book") and book.is_notebook(file_path)):
        return None
    execute = parent.config.getoption("execute_chapters") or runtime.report_path()
    built = None if execute else _built_execution(file_path)
    if built is not None:
        return BuiltChapter.from_parent(parent, path=file_path, execution=built)
    return chapter_notebook_class().from_parent(parent, path=file_path)


def _built_execution(page: Path):
    from dlbook import execution

    return execution.built_execution(page, ROOT / "_build")


class BuiltChapter(pytest.File):
    """A chapter that the build executed in this configuration: one test, which reads that
    execution instead of running the chapter again."""

    def __init__(self, *, execution, **kwargs):
        super().__init__(**kwargs)
        self.execution = execution

    def collect(self):
        yield BuiltExecution.from_parent(self, name="executed by the build")


class BuiltExecution(pytest.Item):
    def runtest(self):
        from dlbook.sphinx import claims

        notebook, seconds = self.parent.execution
        self.user_properties.append(("chapter_seconds", seconds or 0.0))
        failed = [claims.describe(f) for f in claims.failures(notebook)]
        if failed:
            raise ChapterFailed(failed)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ChapterFailed):
            lines = "\n".join(f"- {text}" for text in excinfo.value.args[0])
            return f"the build's execution of this chapter failed:\n{lines}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: executed by the build"


class ChapterFailed(Exception):
    """Cells of a chapter failed in the build's execution."""


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


def _phase_of(nodeid: str) -> str:
    path = nodeid.split("::")[0]
    return "chapters" if path.startswith("book/") else PHASES.get(path, "unit tests")


def pytest_runtest_logreport(report):
    _phase_seconds[_phase_of(report.nodeid)] += report.duration
    chapter = _chapter_of(report.nodeid)
    if chapter:
        built = dict(report.user_properties).get("chapter_seconds")
        if built is None:
            _chapter_seconds[chapter] += report.duration
        elif report.when == "call":
            _chapter_seconds[chapter] += built
            _chapter_built.add(chapter)
        if report.failed:
            _chapter_failed.add(chapter)


def pytest_terminal_summary(terminalreporter):
    if os.environ.get("DLBOOK_CI_TIMES") and _phase_seconds:
        with open(os.environ["DLBOOK_CI_TIMES"], "a", encoding="utf-8") as f:
            for phase, seconds in _phase_seconds.items():
                f.write(f"{phase}\t{seconds:.0f}\n")
    if not _chapter_seconds:
        return
    profile = os.environ.get("DLBOOK_PROFILE")
    terminalreporter.section(f"chapter run times (profile {profile})")
    for chapter, seconds in _chapter_seconds.items():
        verdict = "FAILED" if chapter in _chapter_failed else "ok"
        if chapter in _chapter_built:
            verdict += " (executed by the build)"
        terminalreporter.write_line(f"{chapter:32} {seconds:7.1f} s  {verdict}")
    terminalreporter.write_line(f"{'all chapters':32} {sum(_chapter_seconds.values()):7.1f} s")


def _write_run_rows() -> None:
    """One ``run`` row per chapter executed in this session, beside its metric rows."""
    from dlbook import report

    today = datetime.date.today().isoformat()
    for chapter, seconds in _chapter_seconds.items():
        passed = chapter not in _chapter_failed
        run = report.run_fields(chapter)
        report.append("run", run, seconds=round(seconds, 1), passed=passed, date=today)


def pytest_sessionfinish(session):
    if runtime.report_path() is not None and _chapter_seconds:
        _write_run_rows()
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
