"""Offline figures and formulas, and the page fixes they need.

:class:`PlotlyJsonMime` tells MyST-NB that plotly's JSON needs no rendering of its own
(the HTML div beside it is used). plotly.js (its cartesian bundle: every trace the book
draws) and KaTeX's stylesheet and fonts come from ``node_modules`` (``npm ci``), only on
the pages that use them; formulas are rendered at build time (:mod:`dlbook.sphinx.katex`).
The page scripts and styles of ``dlbook/static`` are added to every page, two of the
theme's templates lose a script no page uses, and the header's Colab and issue links
point where the book publishes notebooks and takes page reports.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"  # dlbook/static (package data)
VENDOR = "vendor"
PLOTLY = "plotly.js-cartesian-dist-min/plotly-cartesian.min.js"  # every trace the book draws
ASSETS = {  # node_modules/<source, a file, folder or glob> -> _static/vendor/<target>
    PLOTLY: "plotly.min.js",
    "katex/dist/katex.min.css": "katex/katex.min.css",  # formulas are rendered at build time
    "katex/dist/fonts/*.woff2": "katex/fonts/",
}


class PlotlyJsonMime:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``)."""

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        return [] if data.mime_type == "application/vnd.plotly.v1+json" else None


def _node_modules(app) -> Path:
    return Path(app.srcdir) / "node_modules"


def _use_local_assets(app, config) -> None:
    missing = [src for src in ASSETS if not list(_node_modules(app).glob(src))]
    if missing:
        logger.warning(
            "the book's own copies of plotly.js and KaTeX's fonts are missing "
            f"({', '.join(missing)} not found in {_node_modules(app)}): run `npm ci` first."
        )
        return
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    config.templates_path = [*config.templates_path, str(_lighter_theme_templates(app))]


def _lighter_theme_templates(app) -> Path:
    """Copies of two pydata-sphinx-theme templates, first on the template path, each
    without one script that every page loaded and no page uses:

    - ``static/webpack-macros.html`` without the 1.5 MB ``fontawesome.js``: the icons
      still show, drawn by the theme's stylesheet with Font Awesome's web fonts;
    - ``layout.html`` without ``searchindex.js`` (175 kB here), which the theme loads on
      every page for its search-as-you-type option; that option is off, and the search
      page loads the index itself.
    """
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    folder = Path(app.outdir).parent / "dlbook-templates"
    for source, target, dropped in [
        ("static/webpack-macros.html", "static/webpack-macros.html", "scripts/fontawesome.js"),
        ("layout.html", "pydata_sphinx_theme/layout.html", "'searchindex.js'"),
    ]:
        lines = (theme / source).read_text().splitlines()
        kept = [line for line in lines if dropped not in line]
        if len(kept) != len(lines) - 1:
            raise RuntimeError(f"pydata-sphinx-theme's {source} changed: {dropped} not found")
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        (folder / target).write_text("\n".join(kept) + "\n")
    return folder


def _write_templates(app) -> None:
    """``_static/dlbook-templates.js``: the figures' light and dark plotly templates."""
    import json

    from dlbook import plot

    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    layouts = {mode: plot.template(mode).layout.to_plotly_json() for mode in ("light", "dark")}
    (static / "dlbook-templates.js").write_text(
        "window.DLBOOK_TEMPLATES = " + json.dumps({m: {"layout": t} for m, t in layouts.items()})
    )


def _theme_defaults(app, config) -> None:
    """A light default (figures use plotly's white template); an empty mode is a console error."""
    config.html_context = {"default_mode": "light", **(config.html_context or {})}


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _fix_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Each page loads what it uses, once.

    - plotly.js and the figure scripts only on pages with a figure, deferred;
    - the icons from the theme's CSS and fonts, not its 1.5 MB script, and no search index
      outside the search page (:func:`_lighter_theme_templates`);
    - no widget state: the book shows every explorable's static view (``_config.yml``
      removes the widget view from the HTML), so the kernel's widget state is dead weight;
    - no repeated inline script: those added after the builder started (sphinx-thebe,
      togglebutton) appear twice, and a repeated ``const`` is a console error.
    """
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or None, script.attributes.get("body"))  # None and "" both occur
        if key in seen or script.attributes.get("type") == WIDGET_STATE:
            continue
        seen.add(key)
        scripts.append(script)
    context["script_files"][:] = scripts
    if "plotly-graph-div" in context.get("body", ""):
        # deferred: the text is shown first; each figure's script waits for plotly.js
        # (dlbook.plot.when_plotly_is_loaded)
        app.add_js_file(f"{VENDOR}/plotly.min.js", priority=100, loading_method="defer")
        app.add_js_file("dlbook-templates.js", priority=101, loading_method="defer")
    app.add_js_file("dlbook.js", priority=900)
    app.add_css_file("dlbook.css")


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
    _write_templates(app)
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
    app.connect("config-inited", _use_local_assets)
    app.connect("config-inited", _theme_defaults)
    app.connect("html-page-context", _fix_page_scripts, priority=900)
    app.connect("html-page-context", _fix_header_links, priority=900)  # after the theme's buttons
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
