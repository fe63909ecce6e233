"""Numbers quoted from the run report, in the prose and in the appendix.

``{report}`metric:.1%``` renders a metric's range over seeds from the committed report
(``dlbook_report``, by default :data:`dlbook.runs.COMMITTED`), ``{report-seeds}`metric```
the seeds, and ``chapter/metric`` quotes another chapter. ``{run-report}`` renders every
report in ``reports/`` as tables and a chart of the time per page against the budgets
(:data:`dlbook.runtime.BUDGET_SECONDS`). All of it is read through :mod:`dlbook.runs`.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from dlbook import runs
from dlbook.runs import COMMITTED
from dlbook.runtime import BUDGET_SECONDS

logger = logging.getLogger(__name__)


def _report_rows(app, path: Path) -> list[dict]:
    """The rows of the report at ``path``, read once per version of the file."""
    cache = getattr(app, "_dlbook_report", None)
    if cache is None or cache[0] != (path, path.stat().st_mtime_ns):
        app._dlbook_report = ((path, path.stat().st_mtime_ns), runs.read(path))
    return app._dlbook_report[1]


def report_role(kind: str):
    """``{report}`metric:.1%``` (the range over seeds) or ``{report-seeds}`metric```."""

    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        env = inliner.document.settings.env
        report = env.config.dlbook_report
        chapter = Path(env.docname).name
        metric, _, fmt = text.partition(":")
        if "/" in metric:
            chapter, metric = metric.split("/", 1)
        path = Path(env.app.srcdir) / report
        if not path.exists():
            msg = inliner.reporter.warning(f"{report} is missing; {rawtext} cannot be shown")
            return [nodes.problematic(rawtext, rawtext)], [msg]
        env.note_dependency(str(path))
        by_seed = runs.values(_report_rows(env.app, path), chapter, metric)
        if not by_seed:
            msg = inliner.reporter.warning(
                f"{report} has no {metric!r} for {chapter}: record it in the chapter's "
                "self-check and re-run benchmarks/run_book.py --profile full"
            )
            return [nodes.problematic(rawtext, rawtext)], [msg]
        if kind == "seeds":
            text = runs.seeds_phrase(by_seed)
        else:
            text = runs.spread(by_seed.values(), fmt)
        title = f"{metric}: full profile, {runs.seeds_phrase(by_seed)}, {report}"
        return [nodes.inline(rawtext, text, classes=["dlbook-report"], reftitle=title)], []

    return role


class RunReport(SphinxDirective):
    """``{run-report}``: every committed report in ``reports/`` as tables and a chart.

    Rendered at build time from the files, so a new report needs no re-execution, and
    the page is re-read whenever a report changes.
    """

    def run(self):
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
            section += docutils_table(table)
            margins = runs.closest_margins(rows)
            if len(margins):
                section += nodes.paragraph(
                    text="The self-checks that came closest to failing: how far the "
                    "measured value was from the claimed bound, as a fraction of the "
                    "larger side, at its worst over the seeds and thread counts run."
                )
                section += docutils_table(margins)
            out.append(section)
            times[label] = table
        if times:
            out.append(nodes.raw("", time_chart(times), format="html"))
        return out


def docutils_table(frame) -> nodes.table:
    """A pandas DataFrame as a docutils table, with its columns as the header."""
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


def time_chart(tables) -> str:
    """Seconds per page of each report, against the full and quick budgets, as HTML."""
    import plotly.graph_objects as go

    from dlbook import plot

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


def setup(app):
    app.add_config_value("dlbook_report", str(COMMITTED), "env")
    app.add_role("report", report_role("range"))
    app.add_role("report-seeds", report_role("seeds"))
    app.add_directive("run-report", RunReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
