"""Sphinx extension for the book: plotly figures that render offline.

Figures rendered by :class:`dlbook.plot.BookRenderer` carry plotly's JSON mime
type (for Jupyter) beside an HTML div (for the book). :class:`PlotlyJsonMime`
tells MyST-NB that the JSON needs no rendering of its own, so the div is used
without a warning, and :func:`setup` serves plotly.js once per page from the
plotly package, with no CDN, before any require.js.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly

from dlbook import __version__

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class PlotlyJsonMime:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``)."""

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        return [] if data.mime_type == "application/vnd.plotly.v1+json" else None


def _copy_plotly(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PLOTLY_JS, static / PLOTLY_JS.name)


def setup(app):
    app.add_js_file(PLOTLY_JS.name, priority=100)
    app.connect("build-finished", _copy_plotly)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
