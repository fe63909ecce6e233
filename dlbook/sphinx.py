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
import shutil
from pathlib import Path

import plotly
from sphinx.util import logging

from dlbook import __version__

logger = logging.getLogger(__name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PACKAGE = Path(__file__).resolve().parent
VENDOR = "vendor"
ASSETS = {  # node_modules/<source> -> _static/vendor/<target>
    "requirejs/require.js": "require.js",
    "@jupyter-widgets/html-manager/dist/embed-amd.js": "embed-amd.js",
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
    missing = [src for src in ASSETS if not (_node_modules(app) / src).exists()]
    if missing:
        logger.warning(
            "MathJax and the widget manager will load from a CDN (offline readers lose them): "
            f"{', '.join(missing)} not found in {_node_modules(app)}; run `npm ci` first."
        )
        return
    config.mathjax_path = f"{VENDOR}/mathjax/tex-chtml.js"
    config.nb_ipywidgets_js = {f"{VENDOR}/require.js": {}, f"{VENDOR}/embed-amd.js": {}}


def _copy_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLOTLY_JS, static / PLOTLY_JS.name)
    for source, target in ASSETS.items():
        source, target = _node_modules(app) / source, static / VENDOR / target
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def setup(app):
    app.add_js_file(PLOTLY_JS.name, priority=100)
    app.connect("env-get-outdated", _invalidate_when_dlbook_changes)
    app.connect("config-inited", _use_local_assets)
    app.connect("build-finished", _copy_assets)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
