"""One source of dependencies: pyproject.toml's groups.

``requirements.txt`` (everything) and ``binder/requirements.txt`` (reading the book)
install dlbook with groups and add nothing of their own; every module a chapter imports
comes from dlbook's dependencies, its ``[book]`` group or the standard library; the
Colab install cells (``dlbook.book.COLAB_EXTRAS``) cover what Colab lacks, at the
versions of ``[book]``; and ``constraints.txt`` pins everything the groups name.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys

import pytest
from packaging.requirements import Requirement

from conftest import ROOT
from dlbook import book

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def group(name: str) -> dict[str, Requirement]:
    """A dependency group (``core`` for dlbook's own dependencies) by distribution name."""
    lines = (
        project()["dependencies"] if name == "core" else project()["optional-dependencies"][name]
    )
    return {canonical(Requirement(line).name): Requirement(line) for line in lines}


def lines(path) -> list[str]:
    return [
        line.split(" #")[0].strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def editable_extras(line: str) -> set[str]:
    match = re.fullmatch(r"-e \.\[([a-z,]+)\]", line)
    assert match, f"expected `-e .[group,...]`, got {line!r}"
    return set(match.group(1).split(","))


@functools.cache
def chapter_imports() -> dict[str, set[str]]:
    """Third-party top-level modules each notebook page imports."""
    found = {}
    for page in book.notebook_pages(ROOT):
        modules = book.imported_modules(book.to_notebook(page))
        found[page.stem] = {m for m in modules if m not in sys.stdlib_module_names} - {"dlbook"}
    return found


def test_requirements_txt_installs_every_group_and_nothing_else():
    assert lines(ROOT / "requirements.txt") == [lines(ROOT / "requirements.txt")[0]]
    assert editable_extras(lines(ROOT / "requirements.txt")[0]) == set(
        project()["optional-dependencies"]
    )


def test_binder_installs_the_book_and_lab_groups_with_cpu_torch():
    binder = lines(ROOT / "binder" / "requirements.txt")
    assert binder[0] == CPU_INDEX and len(binder) == 2
    assert editable_extras(binder[1]) == {"book", "lab"}


def test_a_package_in_several_groups_has_one_range():
    seen: dict[str, tuple[str, str]] = {}
    for name in ["core", *project()["optional-dependencies"]]:
        for dist, requirement in group(name).items():
            if dist in seen:
                assert str(requirement) == seen[dist][1], f"{dist}: {seen[dist][0]} vs {name}"
            seen[dist] = (name, str(requirement))


def test_every_chapter_import_comes_from_the_book_group():
    provides = importlib.metadata.packages_distributions()
    declared = {**group("core"), **group("book")}
    missing = []
    for chapter, modules in chapter_imports().items():
        for module in sorted(modules):
            dists = {canonical(d) for d in provides.get(module, [])}
            if not dists:
                missing.append(f"{chapter}: {module} (not installed here: which package is it?)")
            elif not dists & set(declared):
                missing.append(f"{chapter}: {module} (from {', '.join(sorted(dists))})")
    assert not missing, "add these to pyproject.toml's [book] group:\n" + "\n".join(missing)


def test_colab_install_cells_cover_what_colab_lacks():
    lacking = {
        f"{chapter}: {module}"
        for chapter, modules in chapter_imports().items()
        for module in modules - book.COLAB_SHIPS
        if module not in book.COLAB_EXTRAS
    }
    assert not lacking, f"add to dlbook.book.COLAB_EXTRAS: {sorted(lacking)}"
    book_group = {str(r) for r in group("book").values()}
    for module, requirement in book.COLAB_EXTRAS.items():
        assert str(Requirement(requirement)) in book_group, f"{module}: {requirement} not in [book]"
    used = set().union(*chapter_imports().values())
    assert set(book.COLAB_EXTRAS) <= used, "COLAB_EXTRAS names modules no chapter imports"


def test_a_colab_notebook_installs_what_its_chapter_imports():
    page = ROOT / "book" / "16_lightning.md"
    notebook = book.colab_notebook(page, "dlbook @ git+https://example.invalid/book@abc")
    cell = notebook.cells[0]
    assert cell.metadata["tags"] == ["colab-setup"]
    compile(cell.source, "install cell", "exec")
    assert "'dlbook @ git+https://example.invalid/book@abc', 'lightning>=2.2'" in cell.source
    chapter = book.to_notebook(page).cells  # the chapter itself follows, unchanged
    assert [c.source for c in notebook.cells[1:]] == [c.source for c in chapter]


def test_constraints_pin_everything_the_groups_name():
    pinned = {
        canonical(Requirement(line).name)
        for line in lines(ROOT / "constraints.txt")
        if "==" in line
    }
    named = set(group("core"))
    for name in project()["optional-dependencies"]:
        named |= set(group(name))
    assert sorted(named - pinned) == []
