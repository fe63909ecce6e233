"""The book's Sphinx extension (``extensions: dlbook.sphinx``): honest outputs, a build
that survives a failed claim, figures that render offline. One job per module:

- :mod:`~dlbook.sphinx.cache`: an execution cache per configuration, filled side by side;
- :mod:`~dlbook.sphinx.claims`: failed self-checks shown on their page and at the end;
- :mod:`~dlbook.sphinx.quotes`: numbers quoted from the run report (``{report}``);
- :mod:`~dlbook.sphinx.assets`: plotly.js and KaTeX served by the book, page fixes;
- :mod:`~dlbook.sphinx.katex`: formulas rendered at build time, patiently;
- :mod:`~dlbook.sphinx.progress`: each page announced, a long one every minute.

Its settings are Sphinx config values (``dlbook_report``, ``dlbook_keep_caches``,
``dlbook_heartbeat_seconds``). Chapters never import this package: it stands on
:mod:`dlbook.execution`, :mod:`dlbook.runs`, :mod:`dlbook.runtime` and :mod:`dlbook.plot`.
"""

from __future__ import annotations

from dlbook._version import __version__
from dlbook.sphinx.assets import PlotlyJsonMime

__all__ = ["PlotlyJsonMime", "setup"]

# In this order: the hooks of one event run in the order they were connected.
PARTS = ("katex", "quotes", "cache", "assets", "progress", "claims")


def setup(app):
    for part in PARTS:
        app.setup_extension(f"dlbook.sphinx.{part}")
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
