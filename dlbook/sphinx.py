"""Sphinx extension for the book: plotly figures that render offline, and a cache that
knows about dlbook.

Figures rendered by :class:`dlbook.plot.BookRenderer` carry plotly's JSON mime
type (for Jupyter) beside an HTML div (for the book). :class:`PlotlyJsonMime`
tells MyST-NB that the JSON needs no rendering of its own, so the div is used
without a warning, and plotly.js is served once per page from the plotly package,
with no CDN, before any require.js.

MathJax, require.js and the ipywidgets HTML manager (which shows a live widget's
default state on the static page) are served from ``node_modules`` (``npm ci``,
versions pinned in ``package.json``) instead of a CDN, so the book works offline.

Jupyter-cache re-executes a chapter only when its code cells change. A chapter's
results also depend on dlbook and on the committed run reports, so when their
fingerprint changes the execution cache is cleared and every page is re-read.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

import plotly
from sphinx.util import logging

from dlbook import __version__

logger = logging.getLogger(__name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PACKAGE = Path(__file__).resolve().parent
VENDOR = "vendor"
WIDGETS = "@jupyter-widgets/html-manager/dist/"  # the CDN layout the widget manager expects
ASSETS = {  # node_modules/<source, a file, folder or glob> -> _static/vendor/<target>
    "requirejs/require.js": "require.js",
    WIDGETS + "embed-amd.js": WIDGETS + "embed-amd.js",
    WIDGETS + "*.woff2": WIDGETS,  # icon fonts, loaded relative to data-jupyter-widgets-cdn
    WIDGETS + "*.woff": WIDGETS,
    WIDGETS + "*.ttf": WIDGETS,
    "mathjax/es5/tex-chtml.js": "mathjax/tex-chtml.js",
    "mathjax/es5/output/chtml/fonts/woff-v2": "mathjax/output/chtml/fonts/woff-v2",
    "mathjax/es5/input/tex/extensions": "mathjax/input/tex/extensions",
    "mathjax/es5/ui": "mathjax/ui",
    "mathjax/es5/a11y": "mathjax/a11y",
}


class PlotlyJsonMime:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``)."""

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        return [] if data.mime_type == "application/vnd.plotly.v1+json" else None


def fingerprint(srcdir: Path) -> str:
    """Hash of what every chapter's outputs depend on beyond its own code cells."""
    digest = hashlib.sha256(__version__.encode())
    files = sorted(PACKAGE.glob("*.py")) + sorted((srcdir / "reports").glob("*.jsonl"))
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _invalidate_when_dlbook_changes(app, env, added, changed, removed):
    cache = app.env.mystnb_config.execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    stamp = Path(cache) / "dlbook-fingerprint"
    current = fingerprint(Path(app.srcdir))
    if stamp.exists() and stamp.read_text() == current:
        return []
    shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return sorted(env.found_docs - added)


def _node_modules(app) -> Path:
    return Path(app.srcdir) / "node_modules"


def _use_local_assets(app, config) -> None:
    missing = [src for src in ASSETS if not list(_node_modules(app).glob(src))]
    if missing:
        logger.warning(
            "MathJax and the widget manager will load from a CDN (offline readers lose them): "
            f"{', '.join(missing)} not found in {_node_modules(app)}; run `npm ci` first."
        )
        return
    config.mathjax_path = f"{VENDOR}/mathjax/tex-chtml.js"
    config.nb_ipywidgets_js = {f"{VENDOR}/require.js": {}, f"{VENDOR}/{WIDGETS}embed-amd.js": {}}


def _theme_defaults(app, config) -> None:
    """A light default (figures use plotly's white template); an empty mode is a console error."""
    config.html_context = {"default_mode": "light", **(config.html_context or {})}


# Run before the ipywidgets HTML manager. It finds its fonts next to the module URI that
# require.js gives it (so baseUrl must point at our vendored copy, relative to the page),
# and it typesets labels with the MathJax 2 API while the book loads MathJax 3.
WIDGETS_SETUP = """require.config({baseUrl: "%s"});
document.addEventListener("DOMContentLoaded", () => {
  if (window.MathJax && !window.MathJax.Hub) {
    window.MathJax.Hub = {Queue: (job) => window.MathJax.typesetPromise?.([job[2]])};
  }
});"""


def _fix_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts; set up the widget manager to run from our own copy.

    Inline scripts added after the builder started (sphinx-thebe, togglebutton) appear
    twice, once from the registry and once from the builder, and a repeated ``const`` is
    a console error.
    """
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or None, script.attributes.get("body"))  # None and "" both occur
        if key in seen:
            continue
        seen.add(key)
        if str(script.filename).endswith(WIDGETS + "embed-amd.js"):
            body = WIDGETS_SETUP % context["pathto"](f"_static/{VENDOR}/", 1)
            scripts.append(type(script)(None, priority=script.priority, body=body))
        scripts.append(script)
    context["script_files"][:] = scripts


def _fix_header_links(app, pagename, templatename, context, doctree) -> None:
    """Colab opens the generated notebook on the ``notebooks`` branch (it cannot open MyST
    markdown); "open issue" opens the page-problem form with the page filled in."""
    repo = app.config.html_theme_options.get("repository_url", "").rstrip("/")

    def fix(buttons) -> None:
        for button in buttons:
            fix(button.get("buttons", []))
            url = button.get("url", "")
            if url.startswith("https://colab.research.google.com/github/"):
                button["url"] = re.sub(r"/blob/[^/]+/(.+)\.md$", r"/blob/notebooks/\1.ipynb", url)
            elif repo and url.startswith(f"{repo}/issues/new"):
                query = {
                    "template": "page_problem.yml",
                    "title": f"[page] {pagename}",
                    "page": pagename,
                }
                button["url"] = f"{repo}/issues/new?{urlencode(query)}"

    fix(context.get("header_buttons", []))


def _copy_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLOTLY_JS, static / PLOTLY_JS.name)
    for pattern, target in ASSETS.items():
        for source in _node_modules(app).glob(pattern):
            destination = static / VENDOR / target
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True)
            else:
                if target.endswith("/"):
                    destination = destination / source.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)


def setup(app):
    app.add_js_file(PLOTLY_JS.name, priority=100)
    app.connect("env-get-outdated", _invalidate_when_dlbook_changes)
    app.connect("config-inited", _use_local_assets)
    app.connect("config-inited", _theme_defaults)
    # after MyST-NB adds a page's widget scripts (priority 500)
    app.connect("html-page-context", _fix_page_scripts, priority=900)
    app.connect("html-page-context", _fix_header_links, priority=900)  # after the theme's buttons
    app.connect("build-finished", _copy_assets)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
