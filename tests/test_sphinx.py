"""dlbook.sphinx's pure parts, in milliseconds: cache keys, failed-claim detection,
and the header links; and the rule that chapters never reach the build's wing. Its
hooks run in tiny Sphinx projects in tests/test_sphinx_hooks.py, the whole extension in
tests/test_build.py (tiny books) and the browser test (the real book)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from dlbook import execution
from dlbook.sphinx import assets, claims


def key(**changes) -> dict[str, str]:
    base = {
        "profile": "quick",
        "seed": "0",
        "device": "cpu",
        "dlbook": "0.2.0+abc",
        "torch": "2.15.0",
        "numpy": "2.4.6",
        "python": "3.11.7",
    }
    return {**base, **changes}


def test_every_setting_that_changes_outputs_changes_the_cache_folder(tmp_path):
    folders = {execution.cache_folder(tmp_path, key())}
    for name, value in [
        ("profile", "full"),
        ("seed", "1"),
        ("device", "cuda"),
        ("dlbook", "0.2.0+def"),
        ("torch", "2.16.0"),
        ("numpy", "2.5.0"),
        ("python", "3.12.1"),
    ]:
        folders.add(execution.cache_folder(tmp_path, key(**{name: value})))
    assert len(folders) == 8
    assert execution.cache_folder(tmp_path, key()).name.startswith("quick-seed0-cpu-")


def test_execution_key_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DLBOOK_PROFILE", "full")
    monkeypatch.setenv("DLBOOK_SEED", "3")
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    assert {
        "profile": "full",
        "seed": "3",
        "device": "cpu",
    }.items() <= execution.execution_key().items()


def error(ename: str, evalue: str, line: str):
    trace = [
        "\x1b[0;31m---------------------------------------------------------------------------",
        f"\x1b[0;31m{ename}\x1b[0m  Traceback (most recent call last)",
        f"Cell In[7], line 3\n      1 x = 1\n      2 y = 2\n\x1b[0;32m----> 3\x1b[0m {line}\n",
        f"\x1b[0;31m{ename}\x1b[0m: {evalue}",
    ]
    return new_output("error", ename=ename, evalue=evalue, traceback=trace)


def test_failures_name_the_claim_and_what_was_measured():
    nb = new_notebook(
        cells=[
            new_code_cell("ok", outputs=[new_output("stream", name="stdout", text="fine")]),
            new_code_cell(
                "x", outputs=[error("AssertionError", "0.912", "assert acc > 0.95, acc")]
            ),
            new_code_cell("y", outputs=[error("ValueError", "bad shape", "model(x)")]),
            new_code_cell("z", outputs=[error("KeyError", "'a'", "d['a']")]),
        ]
    )
    nb.cells[3].metadata["tags"] = ["raises-exception"]  # shown on purpose
    found = claims.failures(nb)
    assert [f["cell"] for f in found] == [1, 2]
    assert found[0]["claim"] == "assert acc > 0.95, acc" and found[0]["measured"] == "0.912"
    assert claims.describe(found[0]) == (
        "self-check failed: assert acc > 0.95, acc -- this run measured 0.912"
    )
    assert claims.describe(found[1]) == "ValueError in cell 2: bad shape"


def test_a_chapter_test_that_reads_the_build_fails_on_its_failed_claims():
    """conftest's item for a chapter the build executed: it lists what failed there."""
    import conftest

    nb = new_notebook(
        cells=[new_code_cell("x", outputs=[error("AssertionError", "0.912", "assert acc > 0.95")])]
    )
    item = SimpleNamespace(parent=SimpleNamespace(execution=(nb, 12.5)), user_properties=[])
    with pytest.raises(conftest.ChapterFailed) as failed:
        conftest.BuiltExecution.runtest(item)
    assert failed.value.args[0] == [
        "self-check failed: assert acc > 0.95 -- this run measured 0.912"
    ]
    assert item.user_properties == [("chapter_seconds", 12.5)]
    item.parent.execution = (new_notebook(cells=[new_code_cell("1 + 1")]), 3.0)
    conftest.BuiltExecution.runtest(item)  # a clean execution passes


def test_a_clean_notebook_has_no_failures():
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("1 + 1")])
    assert claims.failures(nb) == []


def test_header_links_open_colab_notebooks_and_the_page_problem_form():
    class Config:
        html_theme_options = {"repository_url": "https://github.com/dlbook/dlbook"}

    class App:
        config = Config()

    buttons = [
        {
            "buttons": [
                {
                    "url": "https://colab.research.google.com/github/dlbook/dlbook/blob/main/book/x.md"
                },
                {"url": "https://github.com/dlbook/dlbook/issues/new?title=x"},
            ]
        }
    ]
    assets._fix_header_links(App(), "book/x", None, {"header_buttons": buttons}, None)
    colab, issue = buttons[0]["buttons"]
    assert colab["url"].endswith("/blob/notebooks/book/x.ipynb")
    assert "template=page_problem.yml" in issue["url"] and "page=book%2Fx" in issue["url"]


def test_the_plotly_json_is_dropped_and_nothing_else():
    class Mime:
        def __init__(self, mime_type):
            self.mime_type = mime_type

    assert (
        assets.PlotlyJsonMime.handle_mime(None, Mime("application/vnd.plotly.v1+json"), False) == []
    )
    assert assets.PlotlyJsonMime.handle_mime(None, Mime("text/html"), False) is None


@pytest.mark.parametrize("threads, jobs", [("1", 8), ("2", 4), ("3", 2), ("8", 1), ("16", 1)])
def test_the_build_runs_as_many_chapters_at_once_as_their_threads_fit(monkeypatch, threads, jobs):
    from dlbook import runtime

    monkeypatch.setattr(runtime, "usable_cpus", lambda: 8)
    monkeypatch.setenv("DLBOOK_THREADS", threads)
    assert execution.parallel_jobs() == jobs


def test_nothing_a_chapter_imports_reaches_the_build():
    """The reader's modules (all of dlbook/*.py) and the chapters never import the wing."""
    root = Path(__file__).resolve().parents[1]
    reaching = []
    for path in sorted((root / "dlbook").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n.startswith("dlbook.sphinx") for n in names):
                reaching.append(path.name)
    reaching += [p.name for p in (root / "book").rglob("*.md") if "dlbook.sphinx" in p.read_text()]
    assert not reaching, f"these import the build's modules: {reaching}"


def test_a_change_to_the_build_wing_changes_the_execution_key(monkeypatch, tmp_path):
    """As when it was one file, dlbook.sphinx's source is part of the key."""
    package = tmp_path / "dlbook"
    (package / "sphinx").mkdir(parents=True)
    (package / "train.py").write_text("x = 1\n")
    (package / "sphinx" / "cache.py").write_text("KEEP = 3\n")
    monkeypatch.setattr(execution, "PACKAGE", package)
    before = execution.execution_key()["dlbook"]
    (package / "sphinx" / "cache.py").write_text("KEEP = 4\n")
    assert execution.execution_key()["dlbook"] != before
