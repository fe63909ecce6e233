"""When the reader first sees a chapter's text: two builds of the book side by side.

Serves each built site (``_build/html`` folders) on localhost and opens the same page in
headless Chromium with an empty cache, in interleaved rounds, and reads

- first contentful paint (FCP): the first text or image on screen;
- the load event: every script, plotly.js included, has run;
- when the last figure is drawn (plotly has drawn every figure div).

The table gives medians; read the ratios (this machine is noisy, the ratio is not).

    python benchmarks/first_paint.py /tmp/html_before _build/html \\
        --page book/15_diffusion_models.html --rounds 7
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import jupyter_client as jc  # noqa: E402  (Chromium's path and flags)

TIMINGS = """() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime,
    load: performance.getEntriesByType('navigation')[0].loadEventEnd,
    figures: window.dlbookFiguresDrawn,
})"""
FIGURES_DRAWN = """() => {
    const pending = document.querySelectorAll('.plotly-graph-div:not(.js-plotly-plot)');
    if (pending.length === 0 && window.dlbookFiguresDrawn === undefined) {
        window.dlbookFiguresDrawn = performance.now();
    }
    return window.dlbookFiguresDrawn !== undefined;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> str:
    if not (folder / "index.html").exists():
        raise SystemExit(f"{folder} is not a built book (no index.html): build it first")
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def visit(browser, url: str) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # an empty cache
    page.goto(url, wait_until="load")
    page.wait_for_function(FIGURES_DRAWN, polling=10, timeout=60_000)
    timings = page.evaluate(TIMINGS)
    page.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="one build's html folder")
    parser.add_argument("after", type=Path, help="the other build's html folder")
    parser.add_argument("--page", default="book/15_diffusion_models.html")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sites = {"before": serve(args.before), "after": serve(args.after)}
    runs = {name: [] for name in sites}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=jc.chromium(), args=jc.CHROMIUM_FLAGS)
        for _ in range(args.rounds):
            for name, site in sites.items():
                runs[name].append(visit(browser, f"{site}/{args.page}"))
        browser.close()
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("fcp", "load", "figures")}
        for name, rs in runs.items()
    }
    print(f"{args.page}, {args.rounds} rounds, medians in ms (Chromium, localhost)")
    print(f"{'':>8} {'first paint':>12} {'load':>8} {'figures drawn':>14}")
    for name, m in medians.items():
        print(f"{name:>8} {m['fcp']:12.0f} {m['load']:8.0f} {m['figures']:14.0f}")
    ratio = {k: medians["after"][k] / medians["before"][k] for k in ("fcp", "load", "figures")}
    print(f"{'ratio':>8} {ratio['fcp']:12.2f} {ratio['load']:8.2f} {ratio['figures']:14.2f}")
    print("(ratio: after / before)")


if __name__ == "__main__":
    main()
