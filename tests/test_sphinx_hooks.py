"""The build's wing (dlbook.sphinx) at work in tiny Sphinx projects, a second or so each:
each module is loaded on its own, as ``dlbook.sphinx`` loads them all."""

from __future__ import annotations

import json
import os
import re
import textwrap
from io import StringIO
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

pytest.importorskip("sphinx.testing.util")
from sphinx.testing.util import SphinxTestApp  # noqa: E402

from dlbook.sphinx import assets, cache, claims  # noqa: E402


def build(srcdir: Path, extensions: list[str], pages: dict[str, str], **conf) -> SphinxTestApp:
    """Write a project of reStructuredText ``pages`` (``index`` lists the others) and
    build it as HTML; the app keeps its status and warning output."""
    others = [name for name in pages if name != "index"]
    toctree = "\n\n.. toctree::\n\n" + "".join(f"   {n}\n" for n in others) if others else ""
    for name, text in pages.items():
        body = textwrap.dedent(text) + (toctree if name == "index" else "")
        (srcdir / f"{name}.rst").write_text(f"{name.title()}\n{'=' * len(name)}\n\n{body}")
    (srcdir / "conf.py").write_text(f"extensions = {extensions!r}\n")
    app = SphinxTestApp(
        srcdir=srcdir, confoverrides=conf, status=StringIO(), warning=StringIO(), freshenv=True
    )
    try:
        app.build()
    finally:
        app.cleanup()
    return app


def html(app: SphinxTestApp, page: str = "index") -> str:
    return (Path(app.outdir) / f"{page}.html").read_text(encoding="utf-8")


def words(app: SphinxTestApp, page: str = "index") -> str:
    """The page's text, without its tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", html(app, page)).split())


def write_report(path: Path) -> None:
    rows = [
        {"kind": "metric", "chapter": "index", "metric": "m", "seed": 0, "value": 0.9833},
        {"kind": "metric", "chapter": "index", "metric": "m", "seed": 1, "value": 0.9847},
        {"kind": "metric", "chapter": "other", "metric": "n", "seed": 0, "value": 1.618},
    ]
    for seed, seconds in [(0, 12.0), (1, 14.0)]:
        rows.append(
            {"kind": "run", "chapter": "index", "profile": "full", "seed": seed, "device": "cpu",
             "machine": "x86_64, 2 CPUs", "torch": "2.9", "threads": 1, "seconds": seconds,
             "passed": True, "date": "2026-12-08"}
        )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_report_roles_quote_the_committed_report(tmp_path):
    write_report(tmp_path / "reports" / "full-cpu.jsonl")
    text = """
    Accuracy :report:`m:.1%` over :report-seeds:`m`; the other page :report:`other/n:.2f`.

    .. run-report::
    """
    app = build(tmp_path, ["dlbook.sphinx.quotes"], {"index": text})
    assert app._warning.getvalue() == ""
    page = words(app)
    assert "Accuracy 98.3–98.5% over seeds 0 and 1 ; the other page 1.62 ." in page
    assert "full profile on cpu" in page
    assert "reports/full-cpu.jsonl: 1 pages, 14 s" in page  # the median seed's time
    assert "Run time per page" in html(app)  # the chart against the budgets


def test_a_report_role_without_its_number_warns_naming_the_fix(tmp_path):
    write_report(tmp_path / "reports" / "full-cpu.jsonl")
    app = build(tmp_path, ["dlbook.sphinx.quotes"], {"index": "Lost :report:`renamed:.1%`."})
    warning = app._warning.getvalue()
    assert "reports/full-cpu.jsonl has no 'renamed' for index" in warning
    assert "re-run benchmarks/run_book.py --profile full" in warning


def test_the_report_is_a_config_value(tmp_path):
    write_report(tmp_path / "other.jsonl")
    app = build(
        tmp_path,
        ["dlbook.sphinx.quotes"],
        {"index": ":report:`m:.2f`"},
        dlbook_report="other.jsonl",
    )
    assert app._warning.getvalue() == "" and "0.98" in words(app)


def fake_node_modules(root: Path) -> None:
    for name in [assets.PLOTLY, "katex/dist/katex.min.css", "katex/dist/fonts/KaTeX_Main.woff2"]:
        (root / "node_modules" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "node_modules" / name).write_text(f"/* {name} */")


def test_pages_load_plotly_only_where_a_figure_is(tmp_path):
    fake_node_modules(tmp_path)
    figure = '.. raw:: html\n\n   <div class="plotly-graph-div"></div>\n'
    app = build(tmp_path, ["dlbook.sphinx.assets"], {"index": figure, "plain": "Words."})
    assert app._warning.getvalue() == ""
    static = Path(app.outdir) / "_static"
    for served in ["vendor/plotly.min.js", "vendor/katex/katex.min.css",
                   "vendor/katex/fonts/KaTeX_Main.woff2", "dlbook.js", "dlbook.css",
                   "dlbook-templates.js"]:  # fmt: skip
        assert (static / served).is_file(), served
    assert "_static/vendor/plotly.min.js" in html(app)
    assert "plotly.min.js" not in html(app, "plain") and "_static/dlbook.js" in html(app, "plain")


def test_without_npm_ci_the_build_says_what_to_run(tmp_path):
    app = build(tmp_path, ["dlbook.sphinx.assets"], {"index": "Words."})
    assert "run `npm ci` first" in app._warning.getvalue()


def test_failed_claims_are_listed_and_fail_the_build(tmp_path):
    app = build(tmp_path, ["dlbook.sphinx.claims"], {"index": "Words."})
    assert app.statuscode == 0
    app.env.dlbook_failures = {"index": ["self-check failed: assert a > 1 -- measured 0.5"]}
    claims.report_failures(app, None)
    assert app.statuscode == 1
    assert "index: self-check failed: assert a > 1" in app._warning.getvalue()


def test_downloadable_notebooks_lose_their_widgets_only(tmp_path):
    output = new_output(
        "display_data", data={claims.WIDGET_VIEW: {"model_id": "x"}, "text/plain": "slider"}
    )
    notebook = new_notebook(cells=[new_code_cell("s", outputs=[output])])
    notebook.metadata["widgets"] = {"state": {}}
    nbformat.write(notebook, tmp_path / "page.ipynb")
    claims.strip_widgets(tmp_path)
    stripped = nbformat.read(tmp_path / "page.ipynb", as_version=4)
    assert "widgets" not in stripped.metadata
    assert stripped.cells[0].outputs[0]["data"] == {"text/plain": "slider"}


def test_progress_announces_each_page(tmp_path):
    app = build(tmp_path, ["dlbook.sphinx.progress"], {"index": "A.", "second": "B."})
    status = app._status.getvalue()
    assert "[dlbook] page 1/2: index" in status and "[dlbook] page 2/2: second" in status
    assert "[dlbook] second done in" in status


def test_the_keyed_cache_keeps_the_most_recent_folders(tmp_path, monkeypatch):
    class Config:
        nb_execution_cache_path = ""
        dlbook_keep_caches = 3

    class App:
        outdir = str(tmp_path / "_build" / "html")

    caches = tmp_path / "_build" / ".jupyter_cache"
    for age, name in enumerate(["newest", "older", "oldest"]):
        (caches / name).mkdir(parents=True)
        os.utime(caches / name, (1e9 - age, 1e9 - age))
    config = Config()
    cache.use_keyed_cache(App(), config)
    chosen = Path(config.nb_execution_cache_path)
    assert chosen.parent == caches and chosen.is_dir()
    assert sorted(p.name for p in caches.iterdir()) == sorted([chosen.name, "newest", "older"])
    config.nb_execution_cache_path = "mine"  # a folder the reader chose is left alone
    cache.use_keyed_cache(App(), config)
    assert config.nb_execution_cache_path == "mine"


def test_the_whole_extension_loads_beside_myst_nb(tmp_path):
    fake_node_modules(tmp_path)
    app = build(tmp_path, ["myst_nb", "dlbook.sphinx"], {"index": "Words."})
    assert app._warning.getvalue() == "" and app.statuscode == 0
    assert app.config.dlbook_report == "reports/full-cpu.jsonl"
    assert Path(app.config.nb_execution_cache_path).parent.name == ".jupyter_cache"
