"""The chapters in the clients readers use with a kernel: JupyterLab and Notebook 7.

A real Jupyter server on localhost (jupytext's default viewer set as Binder sets it)
serves a copy of ``book/``; headless Chromium opens a chapter from its ``.md`` as a
reader does, runs all cells, and moves a live slider: the figure must change (the
learning rate of chapter 3 in JupyterLab and Notebook 7, the depth of chapter 6).

Every other chapter's explorables must show a figure at their default value in
JupyterLab. A chapter runs once per profile and seed: where the book has been built in
this configuration, JupyterLab opens the build's execution of the chapter (its outputs
and the widget state its kernel left, the very run the HTML page shows) and draws every
explorable from that state; without a build, it runs the chapter. The JupyterHub path
is in ``test_jupyterhub.py``. Skipped, saying why, without Chromium.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from conftest import ROOT
from dlbook import book, execution
from tests import jupyter_client as jc

LIVE = [p for p in book.chapters(ROOT) if "explore.explorable(" in p.read_text()]
SHOTS = ROOT / "_build" / "screenshots" / "live"


def explorable_calls(path) -> int:
    """How many explorables a chapter displays (calls in cells a reader sees)."""
    cells = book.to_notebook(path).cells
    return sum(
        c.source.count("explore.explorable(")
        for c in cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    )


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory):
    """A copy of book/ to open: a frontend may write what it opens."""
    root = tmp_path_factory.mktemp("reader")
    shutil.copytree(ROOT / "book", root / "book")
    return root


@pytest.fixture(scope="module")
def lab(book_copy, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    with jc.jupyter_server("lab", book_copy, folder / "config", folder / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def notebook7(book_copy, tmp_path_factory):
    pytest.importorskip("notebook", reason="pip install notebook (requirements.txt has it)")
    folder = tmp_path_factory.mktemp("nb7")
    with jc.jupyter_server("notebook", book_copy, folder / "config", folder / "log") as server:
        yield server


def open_chapter(browser, server, path: str, app: str):
    url, token = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    route = "lab/tree" if app == "lab" else "notebooks"
    # ?reset: a fresh JupyterLab workspace, not one that restores the last test's tabs
    reset = "reset&" if app == "lab" else ""
    page.goto(f"{url}/{route}/{path}?{reset}token={token}")
    return page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize(
    "app, chapter",
    [
        ("lab", "book/03_gradient_descent.md"),  # the learning rate (a continuous slider)
        ("lab", "book/06_deep_networks.md"),  # the depth (precomputed trainings)
        ("notebook", "book/03_gradient_descent.md"),
    ],
    ids=["lab-learning-rate", "lab-depth", "notebook7-learning-rate"],
)
def test_moving_a_live_slider_redraws_its_figure(request, browser, app, chapter):
    server = request.getfixturevalue("lab" if app == "lab" else "notebook7")
    page = open_chapter(browser, server, chapter, app)
    try:  # a page left open keeps a busy JupyterLab and slows every later test
        seconds = jc.run_all(page)
        assert jc.tracebacks(page) == [], jc.tracebacks(page)
        boxes = jc.explorables(page)
        assert boxes.count() >= 1, "no live explorable drew a figure"
        redraw = jc.move_slider(page, boxes.first)
        print(f"{app} {chapter}: ran in {seconds:.0f} s; redrawn {redraw:.2f} s after the move")
        boxes.first.scroll_into_view_if_needed()
        shot(page, f"{app}-{chapter.split('/')[-1]}-moved")
        assert redraw < 5, f"redrawing took {redraw:.1f} s"
    finally:
        page.close()


def built_copy(chapter: Path, book_copy: Path) -> str | None:
    """The build's execution of ``chapter`` as a notebook in the reader's copy, if the
    book was built in this configuration; its path there."""
    built = execution.built_execution(chapter, ROOT / "_build")
    if built is None:
        return None
    path = chapter.relative_to(ROOT).with_suffix(".ipynb")
    notebook = built[0]
    NotebookNotary().sign(notebook)  # trusted, as the notebook a reader ran: widgets show
    nbformat.write(notebook, book_copy / path)
    return path.as_posix()


@pytest.mark.parametrize("chapter", LIVE, ids=lambda p: p.stem)
def test_every_live_explorable_draws_at_its_default(browser, lab, book_copy, chapter):
    executed = built_copy(chapter, book_copy)
    page = open_chapter(browser, lab, executed or chapter.relative_to(ROOT).as_posix(), "lab")
    try:
        expected = explorable_calls(chapter)
        if executed:  # the widget state of the build's kernel: no second run
            with contextlib.suppress(Exception):  # a timeout is the failure below
                page.wait_for_function(
                    f"() => document.querySelectorAll({jc.EXPLORABLE!r}).length >= {expected}",
                    timeout=60_000,
                )
        else:
            jc.run_all(page)
        assert jc.tracebacks(page) == [], jc.tracebacks(page)
        drawn = jc.explorables(page).count()
        if drawn:
            jc.explorables(page).first.scroll_into_view_if_needed()
            shot(page, chapter.stem)
        assert drawn == expected, f"{drawn} of {expected} live explorables drew a figure"
    finally:
        page.close()
