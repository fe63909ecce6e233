"""The chapters in the clients readers use, with a kernel: JupyterLab and Notebook 7.

Each test starts a real Jupyter server on localhost (jupytext's default viewer set as
Binder sets it), opens a chapter from its ``.md``, runs all cells in headless Chromium
and looks at the live explorables: each must show a figure at its default value, and
moving a slider must change the figure. Skipped, saying why, without Chromium.
"""

from __future__ import annotations

import shutil

import pytest

from conftest import ROOT
from dlbook import book
from tests import jupyter_client as jc

LIVE_CHAPTERS = [p for p in book.chapters(ROOT) if "explore.explorable(" in p.read_text()]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if jc.chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        yield p.chromium.launch(executable_path=jc.chromium(), args=jc.CHROMIUM_FLAGS)


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


def open_chapter(browser, server, path: str, app: str = "lab"):
    url, token = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    prefix = "lab/tree" if app == "lab" else "tree"
    page.goto(f"{url}/{prefix}/{path}?token={token}")
    return page


@pytest.mark.parametrize(
    "chapter", ["book/03_gradient_descent.md", "book/06_deep_networks.md"], ids=["lr", "depth"]
)
def test_moving_a_live_slider_redraws_its_figure(browser, lab, chapter):
    page = open_chapter(browser, lab, chapter)
    seconds = jc.run_all(page)
    assert jc.tracebacks(page) == [], jc.tracebacks(page)
    boxes = jc.explorables(page)
    assert boxes.count() >= 1, "no live explorable drew a figure"
    redraw = jc.move_slider(page, boxes.first)
    print(f"{chapter}: ran in {seconds:.0f} s; the figure changed {redraw:.2f} s after the slider")
    page.screenshot(path=ROOT / "_build" / f"lab-{chapter.split('/')[-1]}.png")
    assert redraw < 5, f"redrawing took {redraw:.1f} s"
    page.close()
