"""Failed claims: a build that survives a failed self-check, and says so.

Chapters execute with errors allowed, so one failing self-check does not stop the
build. Every error output is found after the page executes and shown at the top of the
page in an admonition (what was claimed, what was measured); at the end the build lists
them and exits non-zero. The tests read the same :func:`failures` from the build's
executions (``conftest.py``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

from dlbook.execution import cached_execution
from dlbook.sphinx.cache import execution_cache

logger = logging.getLogger(__name__)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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


def flag_failures(app, doctree) -> None:
    """After a page executes: an admonition at its top for each failure, kept in the env."""
    env = app.env
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{env.docname}.ipynb"
    if not (env.docname in getattr(env, "nb_metadata", {}) and executed.exists()):
        return
    import nbformat

    # On a cache hit MyST-NB renders the cached outputs but writes the notebook without
    # them: read the cache, and write the executed notebook as an execution would.
    cache = execution_cache(app.config)
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


def purge(app, env, docname) -> None:
    getattr(env, "dlbook_failures", {}).pop(docname, None)


def merge(app, env, docnames, other) -> None:
    env.dlbook_failures = {
        **getattr(env, "dlbook_failures", {}),
        **getattr(other, "dlbook_failures", {}),
    }


def report_failures(app, exception) -> None:
    """End of the build: list every failed page, make the exit status non-zero."""
    failed = {d: f for d, f in getattr(app.env, "dlbook_failures", {}).items() if f}
    for docname, texts in sorted(failed.items()):
        for text in texts:
            logger.warning(f"{docname}: {text}", type="dlbook", subtype="claim")
    if failed:
        app.statuscode = 1
        logger.error(f"{len(failed)} page(s) failed their checks: {', '.join(sorted(failed))}")
    strip_widgets(Path(app.outdir) / "_sources")
    reports = Path(app.outdir) / "reports"  # MyST-NB's tracebacks: build internals, not pages
    if reports.is_dir():
        target = Path(app.outdir).parent / "reports"
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(reports), str(target))
        logger.warning(f"execution tracebacks moved out of the site, to {target}")


def strip_widgets(folder: Path) -> None:
    """Downloadable notebooks keep every output but the live widgets, dead without a kernel."""
    import nbformat

    for path in folder.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata.pop("widgets", None)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                output.get("data", {}).pop(WIDGET_VIEW, None)
        nbformat.write(notebook, path)


def setup(app):
    app.connect("doctree-read", flag_failures)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("build-finished", report_failures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
