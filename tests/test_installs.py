"""Clean installs, as readers get them: Colab and Binder, each in a fresh virtual environment.

- **Colab**: an environment with what Colab ships (torch, numpy, pandas, plotly, ...)
  runs the install cell that ``dlbook.book.colab_notebook`` puts first in each chapter
  that imports something Colab lacks (``DLBOOK_INSTALL=1``, and ``DLBOOK_WHEEL`` a wheel
  of dlbook built here with ``pip wheel --no-deps``), then imports every module the
  chapter imports.
- **Binder**: ``pip install -r binder/requirements.txt`` from the repository root, as
  repo2docker runs it, then ``binder/postBuild``, then ``jupyter lab`` from that
  environment opens ``book/03_gradient_descent.md`` in headless Chromium, runs all
  cells, checks that the kernel runs in the Binder environment, and that the live
  explorable draws a figure.

**PyTorch's CPU-only index cannot be reached here.** pip skips an index it cannot reach
(it warns while retrying, then logs "Could not fetch URL ... - skipping" at debug level)
and takes every package from the indexes it can reach, so torch comes from PyPI: its
CUDA build, larger, same API. Then ``PIP_RETRIES=0`` makes pip give up on that index at
once instead of retrying it for every package (about 10 s each, minutes in all). The
test checks which build it got: ``+cpu`` where the index is reachable (mybinder.org,
GitHub's runners), PyPI's where it is not.

**Cost, bounded.** torch is the only large install (about 2.7 GB of wheels, 5.4 GB on disk
here, no pip cache on this machine): it is installed once, in a base environment made
by ``pip install`` of the torch and torchvision lines of ``pyproject.toml`` with Binder's
index line, and each environment above starts as a hard-linked copy of it (seconds,
no extra disk). This changes nothing that is tested: torch and torchvision are what
dlbook requires first, so a clean install of ``binder/requirements.txt`` installs the
same two packages with the same resolver inputs, and Colab ships them preinstalled.
Everything else comes from the install under test. The two environments' first
installs (Colab's own packages, ``binder/requirements.txt``) run at the same time: pip
mostly waits on the network and the disk. Environments are deleted afterwards.

Skipped, saying why, when the base environment cannot be built (no network, no package
index, under 12 GB of free disk) or without Chromium and playwright. Once the base is
built, a failing install is a failure: the index was reachable.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import ROOT
from dlbook import book, datasets
from tests import fake_data
from tests import jupyter_client as jc

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
FREE_BYTES_NEEDED = 12e9
# Colab's own packages, by the module names chapters import (dlbook.book.COLAB_SHIPS).
COLAB_PACKAGES = {
    "IPython": "ipython",
    "PIL": "pillow",
    "ipykernel": "ipykernel",
    "ipywidgets": "ipywidgets",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "plotly": "plotly",
    "scipy": "scipy",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "statsmodels": "statsmodels",
    "torch": "torch",
    "torchvision": "torchvision",
    "tqdm": "tqdm",
    "yaml": "pyyaml",
}


def run(command: list, log: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``, its output appended to ``log``; returns the finished process."""
    start = time.monotonic()
    with open(log, "a") as out:
        out.write(f"$ {' '.join(map(str, command))}\n")
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, text=True, **kwargs)
        out.write(f"(exit {done.returncode} after {time.monotonic() - start:.0f} s)\n")
    return done


def cpu_index_reachable() -> bool:
    try:
        socket.create_connection(("download.pytorch.org", 443), timeout=10).close()
        return True
    except OSError:
        return False


@functools.cache
def pip_env() -> dict[str, str]:
    """The environment for pip: with no retries of an index that cannot be reached."""
    retries = {} if cpu_index_reachable() else {"PIP_RETRIES": "0"}
    return {**os.environ, **retries, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def tail(log: Path, lines: int = 25) -> str:
    return "\n".join(log.read_text().splitlines()[-lines:])


class Environments:
    """A base virtual environment with torch, and hard-linked copies of it."""

    def __init__(self, folder: Path):
        self.folder, self.log = folder, folder / "install.log"
        self._base: Path | None = None

    def base(self) -> Path:
        if self._base is None:
            base = self.folder / "base"
            torch_lines = [
                line
                for line in book_dependencies()
                if Requirement(line).name in ("torch", "torchvision")
            ]
            start = time.monotonic()
            made = run([sys.executable, "-m", "venv", base], self.log)
            if made.returncode == 0:
                pip = [base / "bin" / "python", "-m", "pip", "install", "--extra-index-url"]
                made = run([*pip, CPU_INDEX, *torch_lines], self.log, env=pip_env())
            if made.returncode != 0:
                pytest.skip(
                    "could not build a clean environment with torch (no network or no "
                    f"package index here?):\n{tail(self.log)}"
                )
            print(f"base environment with torch: {time.monotonic() - start:.0f} s")
            self._base = base
        return self._base

    def copy(self, name: str) -> Path:
        """A hard-linked copy of the base environment; returns its python."""
        target = self.folder / name
        subprocess.run(["cp", "-al", self.base(), target], check=True)
        return target / "bin" / "python"


def book_dependencies() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="module")
def environments(tmp_path_factory):
    folder = tmp_path_factory.mktemp("environments")
    free = shutil.disk_usage(folder).free
    if free < FREE_BYTES_NEEDED:
        pytest.skip(
            f"needs {FREE_BYTES_NEEDED / 1e9:.0f} GB free in {folder}, has {free / 1e9:.1f}"
        )
    pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    try:
        yield Environments(folder)
    finally:  # about 8 GB in 200,000 files: deleted in the background, not waited for
        subprocess.Popen(["rm", "-rf", folder], start_new_session=True)


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """A copy of the working tree (tracked and untracked files, not ignored ones): installs
    and frontends write into what they are given."""
    copy = tmp_path_factory.mktemp("repository")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def test_the_colab_packages_are_the_ones_colab_ships():
    assert set(COLAB_PACKAGES) == book.COLAB_SHIPS


class Install:
    """``pip install ARGS`` into a copy of the base environment, running in the background."""

    def __init__(self, environments: Environments, name: str, args: list, **kwargs):
        self.python = environments.copy(name)
        self.log, self.start = environments.folder / f"{name}.log", time.monotonic()
        with open(self.log, "a") as out:
            out.write(f"$ pip install {' '.join(map(str, args))}\n")
            out.flush()
            command = [self.python, "-m", "pip", "install", *args]
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)

    def wait(self) -> Path:
        """Its python, once the install has succeeded."""
        code = self.process.wait()
        with open(self.log, "a") as out:
            out.write(f"(exit {code} after {time.monotonic() - self.start:.0f} s)\n")
        assert code == 0, tail(self.log)
        print(
            f"{self.log.stem}: first install done {time.monotonic() - self.start:.0f} s after start"
        )
        return self.python


@pytest.fixture(scope="module")
def installs(environments, repository):
    """Each environment's first install, both started at once: pip mostly waits on the
    network and the disk, so the two overlap."""
    shipped = [p for m, p in COLAB_PACKAGES.items() if m not in ("torch", "torchvision")]
    started = {
        "colab": Install(environments, "colab", shipped, env=pip_env()),
        "binder": Install(  # as repo2docker runs it: `-e .` is the book's own package
            environments, "binder", ["-r", "binder/requirements.txt"], env=pip_env(), cwd=repository
        ),
    }
    yield started
    for install in started.values():
        if install.process.poll() is None:
            install.process.kill()
            install.process.wait()


def test_colab_install_cells_provide_what_their_chapters_import(environments, installs, repository):
    python = installs["colab"].wait()
    log = installs["colab"].log
    wheels = environments.folder / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, repository], log)
    assert built.returncode == 0, tail(log)
    (wheel,) = wheels.glob("dlbook-*.whl")
    chapters = [
        page
        for page in book.chapters(ROOT)
        if book.imported_modules(book.to_notebook(page)) & set(book.COLAB_EXTRAS)
    ]
    assert len(chapters) >= 3  # 12 (MiniLM), 16 (Lightning), 17 (gymnasium)
    for page in chapters:
        notebook = book.colab_notebook(page, "dlbook @ git+https://example.invalid/book@main")
        cell = notebook.cells[0].source
        env = {**pip_env(), "DLBOOK_INSTALL": "1", "DLBOOK_WHEEL": str(wheel)}
        installed = run([python, "-c", cell], log, env=env, cwd=environments.folder)
        assert installed.returncode == 0, f"{page.name}'s install cell failed:\n{tail(log)}"
        modules = sorted(book.imported_modules(notebook))
        code = f"import {', '.join(modules)}; print(dlbook.__file__)"
        imported = subprocess.run(
            [python, "-c", code], cwd=environments.folder, capture_output=True, text=True
        )
        assert imported.returncode == 0, f"{page.name}: {imported.stderr[-2000:]}"
        assert imported.stdout.startswith(str(environments.folder / "colab"))  # the wheel's


OFFLINE = """\
import urllib.request

def _refuse(url, *args, **kwargs):
    raise urllib.request.URLError("no network in this test")

urllib.request.urlopen = _refuse
"""


def kernel_prefix(runtime: Path) -> str:
    """``sys.prefix`` inside the running kernel, asked through its connection file."""
    from jupyter_client import BlockingKernelClient

    (connection,) = runtime.glob("kernel-*.json")
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels()
    out = []
    try:
        client.execute_interactive(
            "import sys; print(sys.prefix)",
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
            timeout=60,
        )
    finally:
        client.stop_channels()
    return "".join(out).strip()


def post_build(venv: Path, repository: Path, home: Path) -> dict[str, str]:
    """Run ``binder/postBuild`` with ``venv`` first on the PATH and urllib refusing the
    network; return the environment Binder's JupyterLab then runs with."""
    offline = home / "offline"
    offline.mkdir(parents=True)
    (offline / "sitecustomize.py").write_text(OFFLINE)
    real = fake_data._real_state(tuple(datasets.DATASETS)) is None
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        # the shared copy when there is one (postBuild verifies it), else an empty folder
        "DLBOOK_DATA": os.environ["DLBOOK_DATA"] if real else str(home / "empty-data"),
        "DLBOOK_PROFILE": "quick",
        "DLBOOK_PROGRESS": "0",
        "PYTHONNOUSERSITE": "1",
    }
    post = subprocess.run(
        ["bash", "binder/postBuild"],
        cwd=repository,
        env={**env, "PYTHONPATH": str(offline)},
        capture_output=True,
        text=True,
    )
    assert post.returncode == 0, post.stdout + post.stderr
    if real:
        assert post.stdout.count(": verified in") == len(datasets.DATASETS), post.stdout
    else:
        assert "postBuild: some datasets were not fetched" in post.stdout, post.stdout
    settings = home / "config" / "labconfig" / "default_setting_overrides.json"
    overrides = json.loads(settings.read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"  # chapters open as notebooks
    for plugin, values in jc.SETTINGS.items():  # no news pop-up, no autosave into the copy
        overrides.setdefault(plugin, {}).update(values)
    settings.write_text(json.dumps(overrides))
    return env


def open_chapter(python: Path, repository: Path, home: Path, env: dict, browser, chapter: str):
    """Start JupyterLab with ``python``, open ``chapter`` and run all its cells; check that
    the kernel runs in ``python``'s environment and that the live explorable draws a figure
    (moving sliders is tests/test_live_clients.py's job). The screenshot and the server's
    log are kept in ``_build/screenshots``."""
    port, token = jc.free_port(), "dlbook-binder"
    command = [
        python, "-m", "jupyterlab", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={repository}",
    ]  # fmt: skip
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    name = f"binder-{Path(chapter).stem}"
    with open(shots / f"{name}-server.log", "w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        url = f"http://127.0.0.1:{port}"
        jc.wait_for_http(f"{url}/api?token={token}")
        page.goto(f"{url}/lab/tree/{chapter}?token={token}")
        seconds = jc.run_all(page, timeout_s=600)
        assert jc.tracebacks(page) == [], jc.tracebacks(page)
        prefix = kernel_prefix(home / "runtime")
        assert prefix == str(python.parent.parent), f"the kernel ran in {prefix}"
        boxes = jc.explorables(page)
        assert boxes.count() >= 1, "no live explorable drew a figure"
        figures = jc.figure_state(boxes.first)
        assert figures and all(f.startswith("[[") for f in figures), f"empty: {figures}"
        print(f"{chapter} ran in {seconds:.0f} s; its live explorable drew a figure")
    finally:
        page.screenshot(path=shots / f"{name}.png")
        page.close()
        server.terminate()
        server.wait(timeout=30)


def test_binder_installs_runs_postbuild_and_opens_a_chapter(
    environments, installs, repository, browser
):
    python = installs["binder"].wait()
    torch_version = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    if cpu_index_reachable():
        assert torch_version.endswith("+cpu"), torch_version
    else:  # pip skipped the index it could not reach and took torch from PyPI
        print(f"the CPU-only index was unreachable: torch {torch_version} from PyPI")
        assert torch_version and "+cpu" not in torch_version
    home = environments.folder / "binder-home"
    env = post_build(python.parent.parent, repository, home)
    open_chapter(python, repository, home, env, browser, "book/03_gradient_descent.md")
