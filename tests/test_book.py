"""The book's own rules: every chapter is in the table of contents and keeps the chapter contract."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, is_chapter, toc_chapters

PAGES = sorted((ROOT / "book").rglob("*.md"))
CHAPTERS = [p for p in PAGES if is_chapter(p)]


def test_every_page_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_chapters()
    missing = [str(p.relative_to(ROOT)) for p in PAGES if p not in listed]
    assert not missing, f"add these chapters to _toc.yml: {missing}"
    absent = [str(p.relative_to(ROOT)) for p in listed if not p.exists()]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


def test_no_notebooks_are_committed():
    assert not list((ROOT / "book").rglob("*.ipynb")), "chapters are MyST markdown only"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_keeps_the_contract(chapter: Path):
    text = chapter.read_text(encoding="utf-8")
    assert re.search(r"^kernelspec:", text, re.M), "front matter needs a kernelspec"
    assert "Learning objectives" in text, "start with learning objectives"
    assert f'dlbook.setup("{chapter.stem}")' in text, "call dlbook.setup(<file stem>) first"
    checks = re.findall(
        r"```\{code-cell\}[^\n]*\n:tags: \[[^\]]*remove-cell[^\]]*\]\n(.*?)```", text, re.S
    )
    assert any("assert" in c for c in checks), "a hidden (remove-cell) self-check must assert"
    assert "## Exercises" in text and "## References" in text
    assert "```{footbibliography}" in text and "{cite:" not in text, "cite with {footcite:p}"


@pytest.mark.parametrize("which", ["build", "test"])
def test_ci_runs_the_readme_commands(which):
    readme = (ROOT / "README.md").read_text()
    pattern = rf"<!-- {which}-command -->\s*```bash\n(.+?)\n```"
    command = re.search(pattern, readme, re.S).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci, f".ci/run must run the README's {which} command: {command}"
    assert shlex.split(command)  # a real shell command


def test_workflows_pass_actionlint():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (requirements.txt installs it on Linux)")
    result = subprocess.run([actionlint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_is_lint_clean_and_formatted():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (requirements.txt installs it)")
    paths = ["dlbook", "tests", "benchmarks", "conftest.py"]
    for command in ([ruff, "check", *paths], [ruff, "format", "--check", *paths]):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
