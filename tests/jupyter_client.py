"""Drive a real Jupyter frontend (JupyterLab or Notebook 7) in headless Chromium.

Shared by the live-client tests: start a server on localhost with jupytext's default
viewer set as ``binder/postBuild`` sets it, open a chapter's ``.md`` as a reader does,
run all cells, and read or move the live explorables in it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# jupytext's default viewer (what binder/postBuild writes), no news pop-up, no autosave
# (a saved notebook would rewrite the chapter's .md).
SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}
FIGURE_STATE = """els => els.map(gd => JSON.stringify((gd.data || []).map(t => [t.x, t.y, t.z]))
    + (gd.layout && gd.layout.title ? JSON.stringify(gd.layout.title) : ''))"""


def chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def jupyter_config(folder: Path) -> dict:
    """A private Jupyter config folder with Binder's jupytext viewer; the env to use it."""
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(folder)}
    subprocess.run(
        [sys.executable, "-m", "jupytext_config", "set-default-viewer", "markdown", "myst"],
        env=env,
        check=True,
        capture_output=True,
    )
    overrides = folder / "labconfig" / "default_setting_overrides.json"
    merged = json.loads(overrides.read_text())
    for plugin, values in SETTINGS.items():
        merged.setdefault(plugin, {}).update(values)
    overrides.write_text(json.dumps(merged, indent=2))
    return env


@contextmanager
def jupyter_server(app: str, root: Path, config: Path, log: Path):
    """``jupyter lab`` or ``jupyter notebook`` serving ``root`` on localhost; yields its URL."""
    env = jupyter_config(config)
    port, token = free_port(), "dlbook-test"
    command = [
        sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api?token={token}")
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        server.wait(timeout=30)


# The kernels of the notebook open in the page: [id, execution state] for each session
# whose path the page's URL ends with (the server's REST API, as the frontend calls it).
SESSIONS = """async () => {
    const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
    const headers = config.token ? {Authorization: 'token ' + config.token} : {};
    const response = await fetch(config.baseUrl + 'api/sessions', {headers});
    const here = decodeURIComponent(location.pathname);
    return (await response.json()).filter(s => s.kernel && here.endsWith('/' + s.path))
        .map(s => [s.kernel.id, s.kernel.execution_state]);
}"""
STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def steady_kernel(page, timeout_s: float = 120, steady_s: float = 2) -> str:
    """Wait until the notebook has one kernel, idle and the same for ``steady_s``, as a
    reader waits for the kernel indicator to settle: a frontend may start a kernel and
    replace it a moment later, and cells sent to the first one never run. Its id."""
    deadline, since, last = time.monotonic() + timeout_s, None, None
    while time.monotonic() < deadline:
        kernels = page.evaluate(SESSIONS)
        if len(kernels) == 1 and kernels[0][1] == "idle" and kernels == last:
            if time.monotonic() - since >= steady_s:
                return kernels[0][0]
        else:
            since, last = time.monotonic(), kernels
        page.wait_for_timeout(250)
    raise AssertionError(f"no steady, idle kernel within {timeout_s:.0f} s: {last}")


def run_all(page, timeout_s: float = 300, start_s: float = 60) -> float:
    """Run every cell of the open notebook once its kernel is steady, and wait until the
    kernel is idle; seconds taken. Fails within ``start_s`` if no cell starts."""
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    kernel = steady_kernel(page)
    start = time.monotonic()
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.evaluate("() => document.querySelector('.jp-Notebook').focus()")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function(STARTED, timeout=start_s * 1000, polling=250)
    except Exception as error:  # playwright's TimeoutError, not importable at module level
        raise AssertionError(
            f"Run All started no cell within {start_s:.0f} s (kernel {kernel} was steady "
            f"and idle before; the notebook's kernels now: {page.evaluate(SESSIONS)})"
        ) from error
    page.wait_for_function(  # every code cell has run (its prompt shows a number), or failed
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const done = prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            const idle = document.querySelector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']");
            const failed = [...document.querySelectorAll(
                "[data-mime-type='application/vnd.jupyter.stderr']")]
                .some(e => e.textContent.includes('Traceback'));
            return done || (idle && failed);
        }""",
        timeout=timeout_s * 1000,
        polling=500,
    )
    return time.monotonic() - start


def tracebacks(page) -> list[str]:
    """Error outputs shown in the notebook (IPython tracebacks)."""
    texts = page.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return [t for t in texts if "Traceback" in t]


EXPLORABLE = ".jupyter-widgets.widget-vbox:has(.widget-slider):has(.js-plotly-plot)"


def explorables(page):
    """The live explorables on the page: widget boxes that hold sliders and a plotly figure."""
    return page.locator(EXPLORABLE)


def figure_state(box) -> list[str]:
    """Each figure's traces (x, y, z) and title as JSON: a trace-less figure shows '[]'."""
    return box.locator(".js-plotly-plot").evaluate_all(FIGURE_STATE)


def move_slider(page, box, key: str = "End") -> float:
    """Press ``key`` on the explorable's first slider; seconds until its figure changes."""
    before = figure_state(box)
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    start = time.monotonic()
    page.keyboard.press(key)
    deadline = start + 30
    while figure_state(box) == before:
        if time.monotonic() > deadline:
            raise AssertionError("the figure did not change within 30 s of moving its slider")
        page.wait_for_timeout(50)
    return time.monotonic() - start
