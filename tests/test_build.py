"""The book's build on a two-page book of its own: outputs keyed by configuration, and a
failed claim that is shown, listed and fatal at the end, but not for the other pages.

Each test builds a tiny book in a temporary folder with the real ``_config.yml`` (and
so with :mod:`dlbook.sphinx`), using ``jupyter-book build`` as readers do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

FRONT = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
PROBE = (
    FRONT
    + """
# Probe

This page ran in the {glue:text}`profile` profile.

```{code-cell} ipython3
import dlbook
from dlbook import report

settings = dlbook.setup("probe")
report.glue("profile", dlbook.profile())
```
"""
)
FAILING = (
    FRONT
    + """
# Failing

```{code-cell} ipython3
accuracy = 0.91
```

```{code-cell} ipython3
:tags: [remove-cell]
assert accuracy >= 0.95, f"accuracy {accuracy:.1%}"
```

```{code-cell} ipython3
print("the cell after the failed check ran")
```
"""
)


def make_book(folder: Path, pages: dict[str, str]) -> Path:
    (folder / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", folder)
    shutil.copy(ROOT / "book" / "references.bib", folder / "book")
    (folder / "book" / "intro.md").write_text("# A tiny book\n\nFor the build's tests.\n")
    for name, text in pages.items():
        (folder / "book" / f"{name}.md").write_text(text)
    chapters = "".join(f"  - file: book/{name}\n" for name in pages)
    (folder / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{chapters}")
    if (ROOT / "node_modules").is_dir():
        (folder / "node_modules").symlink_to(ROOT / "node_modules")
    return folder


def build(folder: Path, **env) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "jupyter_book", "build", ".", "-n", "--keep-going"]
    environment = {**os.environ, "DLBOOK_PROGRESS": "0", **env}
    if shutil.which("jupyter-book"):
        command = ["jupyter-book", "build", ".", "-n", "--keep-going"]
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True)


def executed(result: subprocess.CompletedProcess) -> bool:
    """Whether a build executed a page: side by side (dlbook.execution) or by MyST-NB."""
    log = result.stdout + result.stderr
    return "[dlbook] executing" in log or "Executing notebook" in log


def text_of(page: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.read_text()))


def test_a_build_executes_only_what_its_configuration_lacks(tmp_path):
    """Three builds of one page, which quotes the run report: a second profile is executed,
    not served from the first; back in the first, the page comes from that profile's
    cache; and a new run report re-reads the page without executing it."""
    page = PROBE + "\nOver seeds the probe measured {report}`half:.0%` ({report-seeds}`half`).\n"
    page = page.replace(
        'report.glue("profile"', 'report.record("half", 0.5)\nreport.glue("profile"'
    )
    book = make_book(tmp_path, {"probe": page})
    (book / "reports").mkdir()
    row = '{{"kind": "metric", "chapter": "probe", "metric": "half", "seed": {}, "value": {}}}\n'
    report = book / "reports" / "full-cpu.jsonl"
    report.write_text(row.format(0, 0.5) + row.format(1, 0.52))
    html = book / "_build" / "html" / "book" / "probe.html"
    quick = build(book, DLBOOK_PROFILE="quick")
    assert quick.returncode == 0, quick.stdout[-3000:] + quick.stderr[-3000:]
    assert "ran in the quick profile" in text_of(html) and executed(quick)
    assert "measured 50–52% (seeds 0 and 1)" in text_of(html)
    full = build(book, DLBOOK_PROFILE="full")
    assert full.returncode == 0, full.stdout[-3000:] + full.stderr[-3000:]
    assert "ran in the full profile" in text_of(html) and executed(full)
    caches = sorted(p.name for p in (book / "_build" / ".jupyter_cache").iterdir())
    assert [c.split("-")[0] for c in caches] == ["full", "quick"], caches
    report.write_text(row.format(0, 0.5) + row.format(1, 0.6))
    again = build(book, DLBOOK_PROFILE="quick")  # back to quick, with a new report
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert not executed(again)  # from its own cache...
    assert "ran in the quick profile" in text_of(html)
    assert "measured 50–60% (seeds 0 and 1)" in text_of(html)  # ...with the new report


def test_a_failed_claim_is_shown_listed_and_fatal_but_the_build_goes_on(tmp_path):
    book = make_book(tmp_path, {"failing": FAILING, "probe": PROBE})
    result = build(book, DLBOOK_PROFILE="quick")
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    assert "1 page(s) failed their checks: book/failing" in log
    html = book / "_build" / "html"
    failing = text_of(html / "book" / "failing.html")
    assert "This page failed its own checks in this build" in failing
    assert "assert accuracy &gt;= 0.95" in failing and "this run measured accuracy 91.0%" in failing
    assert "the cell after the failed check ran" in failing  # execution went on
    assert "ran in the quick profile" in text_of(html / "book" / "probe.html")  # and the build
    assert not (html / "reports").exists()  # no build internals in the site
