"""The built book in a real browser: headless Chromium, offline, one test per page.

Serves ``_build/html`` on localhost as GitHub Pages serves it (text compressed with
gzip) and blocks every other request. For each page in ``_toc.yml``, on a first visit
(an empty cache):

- no console errors and no request leaves localhost;
- every plotly figure is drawn and every formula rendered; no dead widget is on the page;
- what the page weighs: what a reader downloads on a first visit is at most 3 MB for a
  chapter and 1.5 MB for any other page, and no page without figures loads plotly.js;
  the HTML file itself is at most 1 MB (printed, with the uncompressed bytes, and written
  to ``_build/page-weights.jsonl``);
- axe-core finds no serious or critical accessibility violation;
- each explorable's slider moves its figure by mouse and by keyboard;
- the figures follow the theme: dark mode after one click on the theme button;
- at 390 px (a phone) nothing scrolls sideways, figures fit the column, their titles
  fit the figure and no legend squeezes its plot from the right;
- no two panel titles of a figure overlap, at 1280 px or at 390 px;
- no cell shows a stray value (a bare number or an object's default repr).

Every figure is screenshotted at 1280 px, light and dark, and at 390 px into
``_build/screenshots``. Runs after ``jupyter-book build .`` (``.ci/run`` builds first);
skipped, saying why, when there is no build or no Chromium.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import json
import threading
from urllib.parse import urlparse

import pytest

from conftest import ROOT
from dlbook import book

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
WEIGHTS = ROOT / "_build" / "page-weights.jsonl"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in book.toc_pages(ROOT)]
MAX_BYTES = {"chapter": 3_000_000, "other": 1_500_000}  # downloaded on a first visit
MAX_HTML_BYTES = 1_000_000  # the page's own HTML file, uncompressed
PHONE = 390
STRAY_VALUES = r"/^[-+]?[\d.]+(e[-+]?\d+)?$|^None$| object at 0x[0-9a-f]+>/"


class PagesLikeHandler(http.server.SimpleHTTPRequestHandler):
    """Files as GitHub Pages serves them: text gzip-compressed for a browser that accepts
    it (fonts and images as they are), so a page's weight is what a reader downloads."""

    TEXT = (".html", ".css", ".js", ".json", ".svg", ".txt", ".xml")

    def do_GET(self):
        path = self.translate_path(self.path)
        if not path.endswith(self.TEXT) or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().do_GET()
        try:
            body = gzip.compress(open(path, "rb").read(), compresslevel=6)
        except OSError:
            return self.send_error(404, "File not found")
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.skip(f"no built book in {HTML}: run `jupyter-book build .` first (.ci/run does)")
    handler = functools.partial(PagesLikeHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    WEIGHTS.unlink(missing_ok=True)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def plot_states(page) -> list[str]:
    """A fingerprint of what each plotly figure shows now."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd =>
               JSON.stringify(gd.data.map(t => [t.y, t.z, t.source])) + (gd.layout.title?.text ?? ''))"""
    )


def open_page(browser, site, path, width, problems, blocked):
    page = browser.new_page(viewport={"width": width, "height": 900})  # a new, empty cache
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
    page.wait_for_function(  # plotly has drawn every figure, and dlbook.js has run
        "() => !document.querySelector('.plotly-graph-div:not(.js-plotly-plot)') &&"
        " [...document.querySelectorAll('.js-plotly-plot')].every(gd =>"
        " gd.querySelector('.main-svg') && gd.closest('[role=figure]'))"
    )
    figures = page.locator(".js-plotly-plot").count()
    formulas = page.locator(".math").count()  # rendered by KaTeX when the book was built
    assert page.locator(".math .katex").count() >= formulas, "a formula was not rendered"
    return page, figures


def page_weight(page) -> tuple[int, int, list[str]]:
    """Bytes this first visit downloaded (the page and every resource), the same
    uncompressed, and the URLs."""
    return page.evaluate(
        """() => {
            const entries = [...performance.getEntriesByType('navigation'),
                             ...performance.getEntriesByType('resource')];
            return [entries.reduce((sum, e) => sum + (e.encodedBodySize || 0), 0),
                    entries.reduce((sum, e) => sum + (e.decodedBodySize || 0), 0),
                    entries.map(e => e.name)];
        }"""
    )


def overlapping_subplot_titles(page) -> list[str]:
    """The figures (by title) in which two panel titles (make_subplots' annotations) overlap."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd => {
            const notes = gd.layout.annotations || [];
            const boxes = [...gd.querySelectorAll('.annotation')].filter(node => {
                const a = notes[Number(node.dataset.index)];
                return a && a.showarrow === false && a.xref === 'paper' &&
                       a.yanchor === 'bottom' && a.xanchor === 'center';
            }).map(node => node.getBoundingClientRect()).filter(r => r.width > 0);
            return boxes.some((a, i) => boxes.slice(i + 1).some(b =>
                a.left < b.right - 1 && b.left < a.right - 1 &&
                a.top < b.bottom - 1 && b.top < a.bottom - 1));
        }).map(gd => gd.layout.title?.text ?? '')"""
    )


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['nodes'][0]['target']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def shoot_figures(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    figures = page.locator(".js-plotly-plot")
    for i in range(figures.count()):
        figures.nth(i).screenshot(path=str(SHOTS / f"{name}-figure{i}.png"))


@pytest.mark.parametrize("path", PAGES)
def test_page_in_a_browser(site, browser, path):
    problems, blocked = [], []
    page, figures = open_page(browser, site, path, 1280, problems, blocked)
    name = path.replace("/", "_").removesuffix(".html")

    weight, unpacked, urls = page_weight(page)
    html_bytes = (HTML / path).stat().st_size
    kind = "chapter" if path.startswith("book/") and path[5:7].isdigit() else "other"
    print(
        f"{path}: {weight / 1e6:.2f} MB downloaded on a first visit ({unpacked / 1e6:.2f} MB "
        f"unpacked; the HTML {html_bytes / 1e6:.2f} MB), {figures} figures"
    )
    with open(WEIGHTS, "a") as f:
        record = {"page": path, "bytes": weight, "unpacked_bytes": unpacked}
        f.write(json.dumps({**record, "html_bytes": html_bytes, "figures": figures}) + "\n")
    assert weight <= MAX_BYTES[kind], f"{weight / 1e6:.2f} MB, over {MAX_BYTES[kind] / 1e6} MB"
    assert html_bytes <= MAX_HTML_BYTES, f"its HTML is {html_bytes / 1e6:.2f} MB, over 1 MB"
    stray = page.evaluate(
        "() => [...document.querySelectorAll('.cell_output .output.text_plain')]"
        f".map(e => e.textContent.trim()).filter(t => {STRAY_VALUES}.test(t))"
    )
    assert not stray, f"cells show stray values (end the cell with a statement): {stray}"
    if not figures:
        assert not [u for u in urls if "plotly" in u], "a page without figures loads plotly.js"
    assert not [u for u in urls if u.endswith("searchindex.js")], "only search.html needs it"
    assert not page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()

    if AXE.exists():
        violations = serious_violations(page)
        assert not violations, f"accessibility: {violations}"

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
        before = plot_states(page)
        keyboard = figure.locator("xpath=..").locator(".dlbook-range")
        keyboard.focus()
        page.keyboard.press("ArrowLeft" if active < steps / 2 else "ArrowRight")
        page.wait_for_timeout(300)
        assert plot_states(page) != before, f"the keyboard did not move explorable {i}"

    overlapping = overlapping_subplot_titles(page)
    assert not overlapping, f"panel titles overlap at 1280 px: {overlapping}"
    shoot_figures(page, f"{name}-1280")
    page.locator(".theme-switch-button").first.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark", "one click: dark"
    if figures:
        page.wait_for_timeout(300)
        backgrounds = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".map(gd => gd._fullLayout.plot_bgcolor)"
        )
        assert all(b != "white" for b in backgrounds), f"figures stayed light: {backgrounds}"
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".map(gd => getComputedStyle(gd.closest('.output') || gd).backgroundColor)"
        )
        assert set(boxes) == {"rgba(0, 0, 0, 0)"}, f"a light box behind a figure: {boxes}"
        shoot_figures(page, f"{name}-1280-dark")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-dark.png", full_page=True)
    page.close()

    phone, _ = open_page(browser, site, path, PHONE, problems, blocked)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE + 1, f"at {PHONE} px the page scrolls sideways ({width} px)"
    sticking_out = (
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd =>"
        " gd.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length"
    )
    # A refitted figure is redrawn: give it a moment (a timeout is then the failure below).
    with contextlib.suppress(Exception):
        phone.wait_for_function(f"({sticking_out})() === 0", timeout=3000)
    too_wide = phone.evaluate(sticking_out)
    assert too_wide == 0, f"{too_wide} figures stick out of a {PHONE} px screen"
    cut_titles = phone.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd => {"
        " const title = gd.querySelector('.gtitle');"
        " return title && title.getBBox().width > gd.clientWidth; })"
        ".map(gd => gd.layout.title.text)"
    )
    assert not cut_titles, f"figure titles wider than a {PHONE} px screen: {cut_titles}"
    squeezed = phone.evaluate(  # a legend right of the plot leaves it a strip on a phone
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd =>"
        " gd._fullLayout.showlegend && gd._fullLayout.legend.orientation === 'v'"
        " && gd._fullLayout.legend.x >= 1).map(gd => gd.layout.title?.text ?? '')"
    )
    assert not squeezed, f"legends right of the plot at {PHONE} px: {squeezed}"
    overlapping = overlapping_subplot_titles(phone)
    assert not overlapping, f"panel titles overlap at {PHONE} px: {overlapping}"
    shoot_figures(phone, f"{name}-{PHONE}")
    phone.close()

    assert not blocked, f"requests outside localhost: {blocked}"
    assert not problems, f"console errors: {problems}"


def test_the_search_page_finds_a_chapter(site, browser):
    """Chapter pages no longer load the search index: the search page loads it itself."""
    page = browser.new_page()
    page.goto(f"{site}/search.html?q=backpropagation", wait_until="networkidle")
    results = page.locator("#search-results li a")
    results.first.wait_for(timeout=20_000)
    pages = results.evaluate_all("links => links.map(a => a.href)")
    assert any("04_backpropagation" in href for href in pages), pages
    page.close()
