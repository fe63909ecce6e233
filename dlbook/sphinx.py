"""The book's Sphinx extension: honest outputs, a build that survives a failed claim,
figures that render offline.

- **Execution cache per configuration.** jupyter-cache re-executes a chapter only when
  its code changes. Its outputs also depend on the profile, seed, device, dlbook's
  source and the versions of torch and Python, so each such configuration gets its
  own cache folder (:mod:`dlbook.execution`): a full build never serves quick outputs.
  The chapters missing from it are executed side by side before Sphinx reads them.
- **Failed claims.** Chapters execute with errors allowed, so one failing self-check
  does not stop the build. Every error output is found after the page executes and
  shown at the top of the page in an admonition (what was claimed, what was
  measured); at the end the build lists them and exits non-zero.
- **Numbers from the run report.** ``{report}`metric:.1%``` renders a metric's range
  over seeds from ``reports/full-cpu.jsonl`` and ``{report-seeds}`metric``` the seeds.
- **Offline figures.** :class:`PlotlyJsonMime` tells MyST-NB that plotly's JSON needs
  no rendering of its own (the HTML div beside it is used). plotly.js (its cartesian
  bundle: every trace the book draws) and KaTeX's fonts come from ``node_modules``
  (``npm ci``), only on the pages that use them; formulas are rendered at build time.
- **Progress.** Each executing page is announced with its number and the time so far,
  and a long one says every minute that it is still running.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from dlbook._version import __version__
from dlbook.execution import cache_folder, cached_execution, execute_into_cache, execution_key
from dlbook.runs import COMMITTED as REPORT

logger = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
VENDOR = "vendor"
PLOTLY = "plotly.js-cartesian-dist-min/plotly-cartesian.min.js"  # every trace the book draws
ASSETS = {  # node_modules/<source, a file, folder or glob> -> _static/vendor/<target>
    PLOTLY: "plotly.min.js",
    "katex/dist/katex.min.css": "katex/katex.min.css",  # formulas are rendered at build time
    "katex/dist/fonts/*.woff2": "katex/fonts/",
}
KEEP_CACHES = 3  # execution caches kept in _build/.jupyter_cache, the most recent first
HEARTBEAT_SECONDS = 60


class PlotlyJsonMime:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``)."""

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline):
        return [] if data.mime_type == "application/vnd.plotly.v1+json" else None


# -- the execution cache ------------------------------------------------------------


def _use_keyed_cache(app, config) -> None:
    if config.nb_execution_cache_path:  # the reader chose a folder: respect it
        return
    folder = cache_folder(Path(app.outdir).parent, execution_key())
    folder.mkdir(parents=True, exist_ok=True)
    folder.touch()  # most recently used
    others = sorted(
        (p for p in folder.parent.iterdir() if p.is_dir() and p != folder),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[KEEP_CACHES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(folder)
    logger.info(f"execution cache for this configuration: {folder}")


def _execution_cache(config) -> Path | None:
    """MyST-NB's execution cache folder, when pages are executed through one."""
    if config.nb_execution_mode == "cache" and config.nb_execution_cache_path:
        return Path(config.nb_execution_cache_path)
    return None


def _execute_side_by_side(app, env, docnames) -> None:
    """Before Sphinx reads the pages: execute the notebook pages it is about to read that
    the cache lacks, several at a time, so that MyST-NB finds each in the cache."""
    from dlbook import book

    cache = _execution_cache(app.config)
    if cache is None:
        return
    pages = [Path(env.doc2path(name)) for name in sorted(docnames)]
    pages = [p for p in pages if book.is_notebook(p)]
    execute_into_cache(
        cache,
        pages,
        timeout=app.config.nb_execution_timeout,
        allow_errors=app.config.nb_execution_allow_errors,
        log=lambda text: logger.info(f"[dlbook] {text}"),
    )


def _kernel_environment(app, config) -> None:
    """What every chapter's kernel inherits from the build."""
    from dlbook import runtime

    os.environ["DLBOOK_PROGRESS"] = "0"  # one summary line per loop, not a bar, on the page
    runtime.prepare_kernels()  # chapters execute in book/, and load torch


# -- failed claims ------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failures(notebook) -> list[dict]:
    """Every unexpected error output of an executed notebook: cell, claim and measurement.

    Cells tagged ``raises-exception`` show an error on purpose and are skipped. For a
    failed ``assert``, the claim is the assert line and the measurement its message.
    """
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "raises-exception" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
            line = re.findall(r"^-+> *\d+ (.*)$", trace, re.M)
            found.append(
                {
                    "cell": index,
                    "error": output.get("ename", "Error"),
                    "claim": line[-1].strip() if line else "",
                    "measured": output.get("evalue", ""),
                }
            )
    return found


def describe(failure: dict) -> str:
    if failure["error"] == "AssertionError":
        measured = failure["measured"] or "(the assert has no message)"
        return f"self-check failed: {failure['claim']} -- this run measured {measured}"
    return f"{failure['error']} in cell {failure['cell']}: {failure['measured']}"


def _flag_failures(app, doctree) -> None:
    """After a page executes: an admonition at its top for each failure, kept in the env."""
    env = app.env
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{env.docname}.ipynb"
    if not (env.docname in getattr(env, "nb_metadata", {}) and executed.exists()):
        return
    import nbformat

    # On a cache hit MyST-NB renders the cached outputs but writes the notebook without
    # them: read the cache, and write the executed notebook as an execution would.
    cache = _execution_cache(app.config)
    cached = cached_execution(cache, Path(env.doc2path(env.docname))) if cache else None
    if cached is not None:
        nbformat.write(cached[0], executed)
    found = failures(nbformat.read(executed, as_version=4))
    if not hasattr(env, "dlbook_failures"):
        env.dlbook_failures = {}
    env.dlbook_failures[env.docname] = [describe(f) for f in found]
    if not found:
        return
    box = nodes.admonition(classes=["error", "dlbook-failed-claim"])
    box += nodes.title(text="This page failed its own checks in this build")
    items = nodes.bullet_list()
    for text in env.dlbook_failures[env.docname]:
        items += nodes.list_item("", nodes.paragraph(text=text))
    box += nodes.paragraph(text="What the text claims below was not what this execution measured:")
    box += items
    section = next(iter(doctree.findall(nodes.section)), None)
    parent = section if section is not None else doctree
    parent.insert(1 if section is not None else 0, box)


def _purge(app, env, docname) -> None:
    getattr(env, "dlbook_failures", {}).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    env.dlbook_failures = {
        **getattr(env, "dlbook_failures", {}),
        **getattr(other, "dlbook_failures", {}),
    }


def _report_failures(app, exception) -> None:
    """End of the build: list every failed page, make the exit status non-zero."""
    failed = {d: f for d, f in getattr(app.env, "dlbook_failures", {}).items() if f}
    for docname, texts in sorted(failed.items()):
        for text in texts:
            logger.warning(f"{docname}: {text}", type="dlbook", subtype="claim")
    if failed:
        app.statuscode = 1
        logger.error(f"{len(failed)} page(s) failed their checks: {', '.join(sorted(failed))}")
    _strip_widgets(Path(app.outdir) / "_sources")
    reports = Path(app.outdir) / "reports"  # MyST-NB's tracebacks: build internals, not pages
    if reports.is_dir():
        target = Path(app.outdir).parent / "reports"
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(reports), str(target))
        logger.warning(f"execution tracebacks moved out of the site, to {target}")


def _strip_widgets(folder: Path) -> None:
    """Downloadable notebooks keep every output but the live widgets, dead without a kernel."""
    import nbformat

    view = "application/vnd.jupyter.widget-view+json"
    for path in folder.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata.pop("widgets", None)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                output.get("data", {}).pop(view, None)
        nbformat.write(notebook, path)


# -- progress -----------------------------------------------------------------------


class _Progress:
    """Announces each page as it is read (executing, for a notebook) and beats every minute."""

    def __init__(self):
        self.start = time.monotonic()
        self.total, self.count, self.current, self.since = 0, 0, None, 0.0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.start)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def begin(self, app, env, docnames) -> None:
        self.total = len(docnames)
        if self.total:
            threading.Thread(target=self._beat, daemon=True).start()

    def read(self, app, docname, source) -> None:
        with self.lock:
            self.finish()
            self.count += 1
            self.current, self.since = docname, time.monotonic()
        logger.info(
            f"[dlbook] page {self.count}/{self.total}: {docname} ({self.elapsed()} elapsed)"
        )

    def finish(self, *args) -> None:
        if self.current:
            took = time.monotonic() - self.since
            logger.info(f"[dlbook] {self.current} done in {took:.0f} s ({self.elapsed()} elapsed)")
            self.current = None

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            with self.lock:
                if self.current and time.monotonic() - self.since >= HEARTBEAT_SECONDS:
                    minutes = (time.monotonic() - self.since) / 60
                    print(  # from this thread, plain print: Sphinx's logging is not thread-safe
                        f"[dlbook] still executing {self.current}: {minutes:.0f} min so far "
                        f"({self.elapsed()} elapsed)",
                        flush=True,
                    )

    def done(self, app, env) -> None:
        with self.lock:
            self.finish()
        self.stop.set()


# -- numbers from the run report -----------------------------------------------------


def _report_rows(app) -> list[dict]:
    from dlbook import runs

    path = Path(app.srcdir) / REPORT
    cache = getattr(app, "_dlbook_report", None)
    if cache is None or cache[0] != path.stat().st_mtime_ns:
        app._dlbook_report = (path.stat().st_mtime_ns, runs.read(path))
    return app._dlbook_report[1]


def _report_role(kind: str):
    """``{report}`metric:.1%``` (the range over seeds) or ``{report-seeds}`metric```."""

    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        from dlbook import runs

        env = inliner.document.settings.env
        chapter = Path(env.docname).name
        metric, _, fmt = text.partition(":")
        if "/" in metric:
            chapter, metric = metric.split("/", 1)
        path = Path(env.app.srcdir) / REPORT
        if not path.exists():
            msg = inliner.reporter.warning(f"{REPORT} is missing; {rawtext} cannot be shown")
            return [nodes.problematic(rawtext, rawtext)], [msg]
        env.note_dependency(str(path))
        by_seed = runs.values(_report_rows(env.app), chapter, metric)
        if not by_seed:
            msg = inliner.reporter.warning(
                f"{REPORT} has no {metric!r} for {chapter}: record it in the chapter's "
                "self-check and re-run benchmarks/run_book.py --profile full"
            )
            return [nodes.problematic(rawtext, rawtext)], [msg]
        if kind == "seeds":
            text = runs.seeds_phrase(by_seed)
        else:
            text = runs.spread(by_seed.values(), fmt)
        title = f"{metric}: full profile, {runs.seeds_phrase(by_seed)}, {REPORT}"
        return [nodes.inline(rawtext, text, classes=["dlbook-report"], reftitle=title)], []

    return role


class RunReport(SphinxDirective):
    """``{run-report}``: every committed report in ``reports/`` as tables and a chart.

    Rendered at build time from the files, so a new report needs no re-execution, and
    the page is re-read whenever a report changes.
    """

    def run(self):
        from dlbook import runs

        folder = Path(self.env.app.srcdir) / "reports"
        out: list[nodes.Node] = []
        times = {}
        for path in sorted(folder.glob("*.jsonl")):
            self.env.note_dependency(str(path))
            rows = runs.read(path)
            done = [r for r in rows if r.get("kind") == "run"]
            if not done:
                continue
            table = runs.table(rows)
            label = f"{done[0]['profile']} profile on {done[0]['device']}"
            failed = table[table["self-check"] != "pass"]["chapter"].tolist()
            if failed:
                logger.warning(f"{path.name}: chapters failed their self-check: {failed}")
            section = nodes.section(ids=[f"report-{path.stem}"])
            section += nodes.title(text=label)
            section += nodes.paragraph(
                text=f"Measured on {done[0]['date']} on {done[0]['machine']}, torch "
                f"{done[0]['torch']}, {done[0].get('threads', '?')} CPU thread(s), from "
                f"reports/{path.name}: {len(table)} pages, {table['seconds'].sum():.0f} s "
                "in all (median seed per page)."
            )
            section += _docutils_table(table)
            margins = runs.closest_margins(rows)
            if len(margins):
                section += nodes.paragraph(
                    text="The self-checks that came closest to failing: how far the "
                    "measured value was from the claimed bound, as a fraction of the "
                    "larger side, at its worst over the seeds and thread counts run."
                )
                section += _docutils_table(margins)
            out.append(section)
            times[label] = table
        if times:
            out.append(nodes.raw("", _time_chart(times), format="html"))
        return out


def _docutils_table(frame) -> nodes.table:
    table = nodes.table(classes=["dlbook-report-table"])
    group = nodes.tgroup(cols=len(frame.columns))
    table += group
    for _ in frame.columns:
        group += nodes.colspec(colwidth=1)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body

    def row(cells) -> nodes.row:
        r = nodes.row()
        for cell in cells:
            r += nodes.entry("", nodes.paragraph(text=str(cell)))
        return r

    head += row(frame.columns)
    for values in frame.itertuples(index=False):
        body += row(values)
    return table


def _time_chart(tables) -> str:
    import plotly.graph_objects as go

    from dlbook import plot
    from dlbook.runtime import BUDGET_SECONDS

    fig = go.Figure()
    for label, table in tables.items():
        fig.add_bar(x=table["chapter"], y=table["seconds"], name=label)
    fig.add_hline(
        y=BUDGET_SECONDS["full"],
        line_dash="dot",
        annotation_text="full-profile budget (2-core CPU)",
    )
    fig.add_hline(
        y=BUDGET_SECONDS["quick"], line_dash="dot", annotation_text="quick-profile budget"
    )
    fig.update_layout(
        barmode="group",
        height=420,
        yaxis_title="seconds per page (median seed)",
        title="Run time per page",
        template=plot.template("light"),
    )
    return plot.to_mimebundle(fig)["text/html"]


# -- offline assets and page fixes ---------------------------------------------------


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
    config.html_static_path = [*config.html_static_path, str(PACKAGE / "static")]
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

    - plotly.js and the figure scripts only on pages with a figure;
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
        app.add_js_file(f"{VENDOR}/plotly.min.js", priority=100)
        app.add_js_file("dlbook-templates.js", priority=101)
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


def _patient_katex_server() -> None:
    """sphinxcontrib-katex connects to its node server as soon as the socket file exists,
    which can be before the server listens: on a busy machine that raised
    ConnectionRefusedError, failed the build and left node running (holding the build's
    output pipes open). Same start, but the connection is retried until the timeout."""
    import socket
    from subprocess import PIPE, Popen

    from sphinxcontrib import katex

    def start_server_process(cls, rundir, timeout):
        socket_path = rundir / "katex.sock"
        process = Popen(cls.build_command(socket=socket_path), stdin=PIPE, stdout=PIPE, cwd=rundir)
        deadline = time.monotonic() + timeout
        while True:
            if socket_path.is_socket():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(socket_path))
                    return process, sock
                except ConnectionRefusedError:
                    sock.close()
            if time.monotonic() > deadline:
                process.kill()
                raise cls.timeout_error(timeout)
            time.sleep(0.01)

    katex.KaTeXServer.start_server_process = classmethod(start_server_process)


def setup(app):
    _patient_katex_server()
    progress = _Progress()
    app.add_role("report", _report_role("range"))
    app.add_role("report-seeds", _report_role("seeds"))
    app.add_directive("run-report", RunReport)
    app.connect("config-inited", _use_keyed_cache)
    app.connect("config-inited", _kernel_environment)
    app.connect("config-inited", _use_local_assets)
    app.connect("config-inited", _theme_defaults)
    app.connect("env-before-read-docs", _execute_side_by_side)
    app.connect("env-before-read-docs", progress.begin)
    app.connect("source-read", progress.read)
    app.connect("env-updated", progress.done)
    app.connect("doctree-read", _flag_failures)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _fix_page_scripts, priority=900)
    app.connect("html-page-context", _fix_header_links, priority=900)  # after the theme's buttons
    app.connect("build-finished", _copy_assets)
    app.connect("build-finished", _report_failures)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
