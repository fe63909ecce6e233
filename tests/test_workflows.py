"""The GitHub workflows, executed here before they reach GitHub.

For each workflow job that can run on this machine, a clean clone of the repository
runs the job's steps in order, with the workflow's, job's and step's ``env`` and the
``${{ ... }}`` expressions GitHub would fill in. The few ``uses:`` steps are mapped to
local equivalents (below); the jobs run on this Debian host rather than in the
``python:3.11-bookworm`` container they name (same Debian, same Python minor).

Where a job builds the book, the clone's ``_toc.yml`` lists one chapter (:data:`TOC`):
a build of one chapter goes through every step a build of seventeen does (installs,
execution, assets, ``-W``), so it catches a missing install step, and
:func:`test_a_job_that_lacks_an_install_step_fails` shows that it does. The builds run
in the quick profile here (deploy and gpu use the full one on GitHub), with the
execution cache of the outer build restored, as actions/cache would.

``ci.yml``'s job is ``bash .ci/run``, which is this very CI run: it is checked to run
that and nothing else, not run a second time.

What cannot run here, and stays untested:
- ``deploy.yml``'s ``deploy`` job (actions/deploy-pages publishes to GitHub Pages);
- ``colab.yml``'s last step (the force-push of the notebooks branch);
- ``gpu.yml`` on a GPU: its steps run on the CPU, its ``nvidia-smi`` check cannot;
- ``weekly.yml``: it installs the newest releases over the pinned environment, and its
  audit and Jupyter Book 2 canary need the network beyond the package registries.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
JOBS = {  # (workflow, job): what changes here, and why
    ("colab.yml", "notebooks"): {},
    ("deploy.yml", "build"): {"DLBOOK_PROFILE": "quick"},  # full takes an hour on 2 CPUs
    ("gpu.yml", "full-profile"): {"DLBOOK_PROFILE": "quick"},  # no GPU: the CPU, quick
}
# The table of contents of the clones: the intro and the quickest chapter with figures
# and an explorable (its quick execution is in the outer build's cache).
TOC = """format: jb-book
root: book/intro
chapters:
  - file: book/04_backpropagation
"""
NOT_HERE = {
    "nvidia-smi": "no GPU on this machine",
    "git push": "pushing to GitHub",
}


def expand(text: str, context: dict[str, str]) -> str:
    """Fill in ``${{ name }}`` from ``context``; anything else is an error."""

    def value(match):
        name = match.group(1).strip()
        if name not in context:
            raise KeyError(f"no local value for the expression {name!r}")
        return context[name]

    return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))


def restore_cache(step: dict, clone: Path) -> None:
    """actions/cache: restore what this machine already has (a cache hit)."""
    for path in step["with"]["path"].split():
        if path == ".data" and os.environ.get("DLBOOK_DATA"):
            (clone / ".data").symlink_to(os.environ["DLBOOK_DATA"])
        elif path == "_build/.jupyter_cache" and (ROOT / path).is_dir():
            shutil.copytree(ROOT / path, clone / path, symlinks=True)


def run_job(workflow: str, job_name: str, overrides: dict, tmp: Path, edit=None) -> list[str]:
    """Run one job's steps in a clean clone with :data:`TOC` (and ``edit(clone)`` applied
    after the checkout, if given); return what was not reproduced."""
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    job = spec["jobs"][job_name]
    clone = tmp / "clone"
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    context = {
        "github.workspace": str(clone),
        "runner.temp": str(tmp / "runner-temp"),
        "github.sha": sha,
        "github.server_url": "https://github.com",
        "github.repository": "dlbook/dlbook",
    }
    (tmp / "runner-temp").mkdir()
    outer = {k: v for k, v in os.environ.items() if k != "DLBOOK_CI_TIMES"}  # not this run's
    env = {**outer, **{k: expand(v, context) for k, v in spec.get("env", {}).items()}}
    env.update({k: expand(v, context) for k, v in job.get("env", {}).items()})
    env.update(overrides)
    skipped = []
    for step in job["steps"]:
        uses = step.get("uses", "").split("@")[0]
        if uses == "actions/checkout":
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            (clone / "_toc.yml").write_text(TOC)
            if edit:
                edit(clone)
        elif uses in ("actions/setup-python", "actions/setup-node"):
            continue  # this machine's Python 3.11 and Node 20 (tests check the versions)
        elif uses == "actions/cache":
            restore_cache(step, clone)
        elif uses in ("actions/upload-artifact", "actions/upload-pages-artifact"):
            path = clone / expand(step["with"]["path"], context)
            if step["with"].get("if-no-files-found") != "ignore":
                assert path.exists(), f"{workflow}: nothing to upload at {path}"
        elif uses:
            skipped.append(f"{workflow} {job_name}: {uses}")
        else:
            script = expand(step["run"], context)
            reason = next((why for what, why in NOT_HERE.items() if what in script), None)
            if reason:
                skipped.append(f"{workflow} {job_name}: {step.get('name', script)} ({reason})")
                continue
            step_env = {**env, **{k: expand(v, context) for k, v in step.get("env", {}).items()}}
            code, stdout, stderr = run_step(script, clone, step_env)
            assert code == 0, (
                f"{workflow} {job_name}, step {step.get('name', script)!r} failed:\n"
                f"{stdout[-4000:]}\n{stderr[-4000:]}"
            )
    return skipped


def run_step(script: str, cwd: Path, env: dict) -> tuple[int, str, str]:
    """Run a ``run:`` step as GitHub does; its exit code, stdout and stderr. Output goes to
    files, not pipes, and the step's process group is killed when it ends: a process it
    left behind (a server) cannot keep the test waiting."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        step = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        code = step.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(step.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


@pytest.fixture
def editable_install():
    """Steps that `pip install -e .` point dlbook at their clone: point it back after."""
    yield
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)],
        check=True,
    )


def test_this_machine_matches_the_workflows_toolchain():
    versions = {
        str(s.get("with", {}).get("python-version")) for s in _steps("actions/setup-python")
    }
    assert versions <= {f"{sys.version_info.major}.{sys.version_info.minor}"}, versions
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    assert all(
        node.startswith(f"v{s['with']['node-version']}.") for s in _steps("actions/setup-node")
    )


def _steps(action: str) -> list[dict]:
    steps = []
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            steps += [s for s in job.get("steps", []) if s.get("uses", "").startswith(action)]
    return steps


@pytest.mark.parametrize("workflow, job", list(JOBS), ids=lambda v: str(v))
def test_workflow_job_runs_here(workflow, job, tmp_path, editable_install):
    skipped = run_job(workflow, job, JOBS[workflow, job], tmp_path)
    print(f"{workflow} {job}: ran; not reproduced here: {skipped or 'nothing'}")


def test_a_job_that_lacks_an_install_step_fails(tmp_path, editable_install):
    """deploy.yml once built without ``npm ci``: the one-chapter build must catch that."""

    def drop_npm_ci(clone: Path) -> None:
        build = clone / ".ci" / "build"
        text = build.read_text()
        assert " && npm ci" in text
        build.write_text(text.replace(" && npm ci", ""))

    with pytest.raises(AssertionError, match="run `npm ci` first"):
        run_job("deploy.yml", "build", JOBS["deploy.yml", "build"], tmp_path, drop_npm_ci)


def test_ci_yml_runs_ci_run_which_is_this_run():
    """ci.yml's job is `.ci/run`, the very run these tests are part of: not run again."""
    job = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())["jobs"]["test"]
    scripts = [step["run"].strip() for step in job["steps"] if "run" in step]
    assert scripts == ["bash .ci/run"], scripts
    assert ("ci.yml", "test") not in JOBS
