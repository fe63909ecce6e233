"""A course's JupyterHub, for real: the nbgitpuller link the book documents lands a
reader in a chapter, as a notebook, whose live explorable draws.

The test starts a local JupyterHub (the ``jupyterhub`` package, the
``configurable-http-proxy`` from ``npm ci``, a dummy authenticator and a local process
spawner) on localhost, serves a clone of this repository over a ``file://`` git URL,
and opens ``{hub}/hub/user-redirect/git-pull?repo=...&urlpath=lab/tree/...`` in
headless Chromium, the link sphinx-book-theme's JupyterHub launch button makes from
``launch_buttons.jupyterhub_url`` (``book/appendix/setup.md``). What it cannot show
here: a real authenticator, a batch spawner on compute nodes, and TLS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import ROOT
from tests import jupyter_client as jc

PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
CHAPTER = "book/03_gradient_descent.md"

HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {environment!r}
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.pid_file = {state!r} + "/jupyterhub.pid"
"""


def git_pull_link(hub: str, repo_url: str, repo_name: str, path: str, branch: str) -> str:
    """The link of sphinx-book-theme's JupyterHub button (header_buttons/launch.py)."""
    params = urlencode(
        {"repo": repo_url, "urlpath": f"lab/tree/{repo_name}/{path}", "branch": branch},
        safe="/",
    )
    return f"{hub}/hub/user-redirect/git-pull?{params}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    pytest.importorskip("jupyterhub", reason="pip install jupyterhub (requirements.txt has it)")
    pytest.importorskip("nbgitpuller", reason="pip install nbgitpuller (requirements.txt has it)")
    if not PROXY.exists():
        pytest.skip(f"{PROXY} is missing: run `npm ci` (package.json installs the proxy)")
    folder = tmp_path_factory.mktemp("hub")
    repo = folder / "dlbook"  # the clone the hub pulls: this working tree, committed as is
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns("_build", "node_modules", ".git"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "book"]):
        subprocess.run([*git, *command], cwd=repo, check=True)
    config_dir = folder / "jupyter-config"
    env = jc.jupyter_config(config_dir)  # the user's JupyterLab: jupytext's viewer, as Binder
    (folder / "homes").mkdir()
    environment = {
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "DLBOOK_DATA": os.environ.get("DLBOOK_DATA", ""),
        "DLBOOK_PROFILE": "quick",
        "DLBOOK_PROGRESS": "0",
        "PATH": os.environ["PATH"],
    }
    port, hub_port, proxy_port = jc.free_port(), jc.free_port(), jc.free_port()
    (folder / "jupyterhub_config.py").write_text(
        HUB_CONFIG.format(
            port=port,
            hub_port=hub_port,
            proxy_port=proxy_port,
            proxy=str(PROXY),
            homes=str(folder / "homes"),
            environment=environment,
            state=str(folder),
        )
    )
    log = open(folder / "hub.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        jc.wait_for_http(f"{url}/hub/api", seconds=60)
        yield url, repo, folder
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        subprocess.run(["pkill", "-f", str(folder / "homes")], check=False)


def test_the_nbgitpuller_link_opens_a_chapter_whose_explorable_draws(hub, browser):
    url, repo, folder = hub
    link = git_pull_link(url, f"file://{repo}", repo.name, CHAPTER, "main")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(link)
    page.fill("input[name=username]", "reader")
    page.fill("input[name=password]", "any")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=180_000)  # spawn, pull, open
    pulled = folder / "homes" / "reader" / repo.name / CHAPTER
    assert pulled.exists(), "nbgitpuller did not clone the book into the reader's home"
    assert page.url.rstrip("/").endswith(f"lab/tree/{repo.name}/{CHAPTER}"), page.url
    jc.run_all(page)
    page.screenshot(path=str(ROOT / "_build" / "jupyterhub-chapter.png"), full_page=False)
    assert jc.tracebacks(page) == []
    boxes = jc.explorables(page)
    assert boxes.count() >= 1, "the chapter's live explorable drew no figure on the hub"
    redraw = jc.move_slider(page, boxes.first)
    print(f"on the hub: the figure changed {redraw:.2f} s after the slider moved")
    page.screenshot(path=str(Path(ROOT / "_build" / "jupyterhub-chapter.png")))
    page.close()
