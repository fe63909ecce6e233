"""Test setup: the quick profile, and every chapter in book/ collected as an nbval notebook.

nbval collects only ``.ipynb`` files, and chapters are MyST markdown, so each
chapter listed in ``_toc.yml`` is converted with jupytext into a temporary folder
and handed to nbval (``--nbval-lax``: cells must run; the chapter's own hidden
self-checks assert its results). ``pytest book/04_softmax.md`` runs one chapter.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("DLBOOK_PROFILE", "quick")
os.environ.setdefault("DLBOOK_PROGRESS", "0")
if "DLBOOK_DATA" not in os.environ and (ROOT.parent / "shared" / "datasets").is_dir():
    os.environ["DLBOOK_DATA"] = str(ROOT.parent / "shared" / "datasets")

_converted = Path(tempfile.mkdtemp(prefix="dlbook-chapters-"))
_chapter_seconds: dict[str, float] = defaultdict(float)
_chapter_failed: set[str] = set()


def toc_chapters() -> list[Path]:
    """Chapter sources in the order of ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return [ROOT / f"{f}.md" for f in files]


def is_notebook(path: Path) -> bool:
    return path.suffix == ".md" and "kernelspec:" in path.read_text(encoding="utf-8")[:600]


def is_chapter(path: Path) -> bool:
    """A numbered chapter (``book/NN_name.md``), as opposed to the intro or an appendix page."""
    return path.parent == ROOT / "book" and path.name[:2].isdigit() and is_notebook(path)


def pytest_collect_file(file_path: Path, parent):
    if file_path.is_relative_to(ROOT / "book") and is_notebook(file_path):
        return chapter_notebook_class().from_parent(parent, path=file_path)
    return None


@functools.cache
def chapter_notebook_class():
    """nbval's notebook collector, reading the chapter's jupytext conversion.

    The node's path stays the ``.md`` chapter (so ``pytest book/x.md`` selects it);
    nbval reads and runs the converted ``.ipynb`` (``fspath``) in the temporary folder.
    """
    import py
    from nbval.plugin import IPyNbFile

    class ChapterNotebook(IPyNbFile):
        @property
        def fspath(self):
            target = _converted / f"{self.path.stem}.ipynb"
            if not target.exists():
                jupytext.write(jupytext.read(self.path), target)
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


def pytest_sessionfinish(session):
    shutil.rmtree(_converted, ignore_errors=True)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty, private DLBOOK_DATA for tests that exercise the cache."""
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    return tmp_path
