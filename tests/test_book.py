"""The book's own rules: every chapter is in the table of contents, keeps the chapter
contract, and types no measured number into its prose."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from dlbook import book

PAGES = sorted((ROOT / "book").rglob("*.md"))
CHAPTERS = [p for p in PAGES if book.is_chapter(p, ROOT)]
TYPED_NUMBERS = ROOT / "tests" / "typed_numbers.json"
MAX_TYPED_NUMBERS = 40
# A result-like number: a percentage, a decimal, or a ratio ("3x", "50 times").
RESULT = re.compile(r"(?<![\w.$-])(?:\d+(?:\.\d+)?\s?%|\d*\.\d+|\d+(?:\.\d+)?\s?(?:×|x\b|times\b))")

API = ROOT / "book" / "appendix" / "api.md"
FACADE = {"setup", "seed_everything", "pick", "profile", "device", "progress"}
HIDDEN = re.compile(r"```\{code-cell\}[^\n]*\n:tags: \[[^\]]*remove-cell[^\]]*\]\n.*?```", re.S)


def mentions(text: str, target: str) -> bool:
    """Whether a chapter's text uses ``dlbook.<module>.<name>`` (as ``module.name``, as
    ``dlbook.name`` for the settings, imported by name, or by including its source)."""
    module, name = target.split(".")[-2:]
    if module == "dlbook" or (module == "runtime" and name in FACADE):
        return re.search(rf"\bdlbook\.{name}\(", text) is not None
    used = re.search(rf"\b{module}\.{name}\b", text)
    imported = re.search(rf"^from dlbook\.{module} import [^\n]*\b{name}\b", text, re.M)
    shown = re.search(rf"\.\./dlbook/{module}\.py\n:pyobject: {name}\n", text)
    return bool(used or imported or shown)


def where_taught(target: str, chapters: list[Path]) -> tuple[str, bool]:
    """The first chapter that uses ``target`` where readers see it (its prose, a shown
    cell), and True; else the first whose hidden self-check does, and False."""
    for visible in (True, False):
        for chapter in chapters:
            text = chapter.read_text(encoding="utf-8")
            if mentions(HIDDEN.sub("", text) if visible else text, target):
                return chapter.stem, visible
    raise LookupError(f"no chapter uses {target}")


def prose(text: str) -> str:
    """A page without front matter, code, math, inline code, roles and link targets."""
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", "", text)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def typed_numbers(path: Path) -> list[str]:
    return RESULT.findall(prose(path.read_text(encoding="utf-8")))


def test_every_page_is_in_the_toc_and_every_toc_entry_exists():
    listed = book.toc_pages(ROOT)
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


@pytest.mark.parametrize("which, script", [("build", ".ci/build"), ("test", ".ci/run")])
def test_ci_runs_the_readme_commands(which, script):
    readme = (ROOT / "README.md").read_text()
    pattern = rf"<!-- {which}-command -->\s*```bash\n(.+?)\n```"
    command = re.search(pattern, readme, re.S).group(1).strip()
    assert command in (ROOT / script).read_text(), f"{script} must run the README's {which} command"
    assert "bash .ci/build" in (ROOT / ".ci" / "run").read_text(), ".ci/run must build first"
    assert shlex.split(command)[:3] == ["pip", "install", "-r"]  # it installs, then runs


def test_every_workflow_that_builds_uses_ci_build():
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        assert "jupyter-book build" not in text, f"{path.name}: build through .ci/build or .ci/run"
        assert "pip install -r requirements.txt -c constraints.txt" not in text, path.name


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


def test_typed_numbers_are_the_listed_ones():
    """Numbers a run produces reach the prose by glue or the {report} role; the few typed
    ones (settings, history, numbers the prose derives) are listed in typed_numbers.json,
    so that typing another is a conscious decision."""
    listed = json.loads(TYPED_NUMBERS.read_text())
    found = {p.stem: typed_numbers(p) for p in CHAPTERS}
    changed = {k: v for k, v in found.items() if v != listed.get(k, [])}
    assert not changed, (
        f"typed numbers changed: {changed}. Glue a measured number ({{glue:text}}), quote "
        "the run report ({report}), or list the number in tests/typed_numbers.json."
    )
    total = sum(map(len, found.values()))
    assert total <= MAX_TYPED_NUMBERS, f"{total} typed numbers; at most {MAX_TYPED_NUMBERS}"


def test_the_api_reference_names_the_chapter_that_teaches_each_helper():
    """Each helper on the API page: the first chapter that uses it where readers see it
    (or, if none, whose hidden self-check uses it); the rest are what a helper returns."""
    text = API.read_text(encoding="utf-8")
    entries = re.findall(
        r"^\.\. auto(?:function|class):: (\S+)\n(?:   :.*\n)*\n   (.*)$", text, re.M
    )
    assert len(entries) > 30
    chapters = book.chapters(ROOT)
    for target, line in entries:
        if line.startswith("Returned by") or line.startswith("A :class:"):
            continue
        stem, visible = where_taught(target, chapters)
        link = f":doc:`chapter {int(stem[:2])} <../{stem}>`"
        where = f"Taught in {link}." if visible else f"Used by the hidden self-check of {link}."
        assert line == where, f"{target}: the page says {line!r}, the chapters say {where!r}"
