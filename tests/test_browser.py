"""The built book in a real browser: headless Chromium, offline, one test per page.

Serves ``_build/html`` on localhost and blocks every other request. For each page in
``_toc.yml``: no console errors and no blocked request; every plotly figure drawn;
formulas typeset; live widgets show their default state; and dragging each static
explorable's slider changes its figure. Screenshots go to ``_build/screenshots``.
Runs after ``jupyter-book build .`` (``.ci/run`` builds first); skipped, saying why,
when there is no build or no Chromium.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from urllib.parse import urlparse

import pytest

from conftest import ROOT
from dlbook import book

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in book.toc_pages(ROOT)]


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.skip(f"no built book in {HTML}: run `jupyter-book build .` first (.ci/run does)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    chromium = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        yield p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)


def plot_states(page) -> list[str]:
    """A fingerprint of what each plotly figure shows now."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd =>
               JSON.stringify(gd.data.map(t => [t.y, t.z])) + (gd.layout.title?.text ?? ''))"""
    )


@pytest.mark.parametrize("path", PAGES)
def test_page_in_a_browser(site, browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, blocked = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    def only_localhost(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_localhost)
    page.goto(f"{site}/{path}", wait_until="networkidle")

    figures = page.locator("div.plotly-graph-div").count()
    if figures:
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}"
        )
    if page.locator(".math").count():
        # "attached": the first formula may sit in a folded dropdown, typeset but not visible
        page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        assert page.locator("mjx-container").count() >= page.locator(".math").count()
    if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        page.wait_for_selector(".jupyter-widgets", timeout=15_000)

    explorables = page.locator(".js-plotly-plot:has(.slider-rail-rect)")
    for i in range(explorables.count()):
        figure = explorables.nth(i)
        figure.scroll_into_view_if_needed()
        before = plot_states(page)
        active, steps = figure.evaluate(
            "gd => [gd.layout.sliders[0].active || 0, gd.layout.sliders[0].steps.length]"
        )
        rail = figure.locator(".slider-rail-rect").first.bounding_box()
        x = rail["x"] + (rail["width"] - 3 if active < steps / 2 else 3)  # the far end
        page.mouse.click(x, rail["y"] + rail["height"] / 2)
        page.wait_for_timeout(300)
        assert plot_states(page) != before, f"moving explorable {i}'s slider did not change it"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / (path.replace("/", "_") + ".png"), full_page=True)
    page.close()
    assert not blocked, f"requests outside localhost: {blocked}"
    assert not problems, f"console errors: {problems}"
