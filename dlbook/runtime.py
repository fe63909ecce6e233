"""The settings every chapter depends on, read from the environment.

CI, a GPU runner and a reader's laptop run the same chapter with different values:

- ``DLBOOK_DEVICE``: ``cuda``, ``mps`` or ``cpu`` (default: the best available).
- ``DLBOOK_SEED``: an integer (default 0).
- ``DLBOOK_PROFILE``: ``quick`` (CI-sized) or ``full`` (reader-sized, default).
- ``DLBOOK_THREADS``: CPU threads for torch (default: half the CPUs it may use).
- ``DLBOOK_PROGRESS``: ``0`` turns progress bars into one-line summaries.
- ``DLBOOK_REPORT``: the run report a run appends to (:func:`report_path`).
- ``DLBOOK_DATA``: the dataset cache (read by :func:`dlbook.datasets.data_root`).

It is also the one home of the environment a chapter's kernel needs
(:func:`kernel_environment`) and of the time budgets (:data:`BUDGET_SECONDS`).
``binder/start`` and ``.ci/run`` are shell, and set the same environment.

This module imports nothing else from dlbook, and torch only when a function needs it
(``import dlbook`` calls :func:`quiet_openmp` before torch loads OpenMP).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import torch

PROFILES = ("quick", "full")
# What a chapter may take on a 2-core CPU, in seconds (benchmarks/run_book.py enforces it)
BUDGET_SECONDS = {"quick": 30, "full": 180}
# Idle OpenMP threads sleep instead of spinning beside other work (benchmarks/shared_cpu.py)
OMP_WAIT_POLICY = "PASSIVE"
T = TypeVar("T")


def device() -> torch.device:
    """The device chapters compute on: ``DLBOOK_DEVICE`` or the best available."""
    import torch

    wanted = os.environ.get("DLBOOK_DEVICE", "").strip().lower()
    if not wanted:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = wanted.partition(":")
    counts = {
        "cpu": 1,
        "cuda": torch.cuda.device_count(),
        "mps": int(torch.backends.mps.is_available()),
    }
    if kind not in counts:
        raise ValueError(f"DLBOOK_DEVICE={wanted!r} is not a device; use cpu, cuda or mps.")
    if not counts[kind]:
        raise RuntimeError(
            f"DLBOOK_DEVICE={wanted!r} but no {kind} device is available here; "
            "unset DLBOOK_DEVICE to use the best available device."
        )
    if index and (not index.isdigit() or int(index) >= counts[kind]):
        raise RuntimeError(
            f"DLBOOK_DEVICE={wanted!r} names a device this machine does not have "
            f"({counts[kind]} {kind} device(s)); use {kind} or {kind}:0."
        )
    return torch.device(wanted)


def profile() -> str:
    """The run profile: ``quick`` (CI, seconds) or ``full`` (readers, the default)."""
    value = os.environ.get("DLBOOK_PROFILE", "full").strip().lower()
    if value not in PROFILES:
        raise ValueError(f"DLBOOK_PROFILE={value!r} is not a profile; use 'quick' or 'full'.")
    return value


def pick(quick: T, full: T) -> T:
    """Return ``quick`` in the quick profile and ``full`` otherwise.

    The one knob chapters use to size work: ``epochs = dlbook.pick(quick=1, full=8)``.
    """
    return quick if profile() == "quick" else full


def seed_from_env() -> int:
    """``DLBOOK_SEED`` as an int (default 0)."""
    raw = os.environ.get("DLBOOK_SEED", "0").strip()
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"DLBOOK_SEED={raw!r} is not an integer; use e.g. DLBOOK_SEED=0."
        ) from None


def seed_everything(seed: int | None = None) -> int:
    """Seed python, numpy and torch, and ask torch for deterministic kernels."""
    import numpy as np
    import torch

    seed = seed_from_env() if seed is None else int(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    return seed


def report_path() -> Path | None:
    """The run report this run appends to: ``DLBOOK_REPORT``, or None when none is kept."""
    value = os.environ.get("DLBOOK_REPORT", "").strip()
    return Path(value) if value else None


def quiet_openmp() -> None:
    """``OMP_WAIT_POLICY=PASSIVE`` unless it is set: read once, when torch loads OpenMP."""
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)


def kernel_environment(data: str | None = None) -> dict[str, str]:
    """The environment a chapter's kernel needs before it starts: the OpenMP wait policy
    (:func:`quiet_openmp`) and, given ``data``, ``DLBOOK_DATA`` made absolute, because
    chapters run in ``book/`` or a temporary folder, not where the command was typed."""
    env = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", OMP_WAIT_POLICY)}
    if data and data.strip():
        env["DLBOOK_DATA"] = str(Path(data.strip()).expanduser().resolve())
    return env


def prepare_kernels() -> None:
    """Give the kernels this process starts (the build's, the tests') their environment,
    :func:`kernel_environment` with this process's ``DLBOOK_DATA``."""
    os.environ.update(kernel_environment(os.environ.get("DLBOOK_DATA")))


def cpu_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPUs a cgroup quota grants this process (Binder, Kubernetes), or None if unlimited."""
    try:  # cgroup v2: "max 100000" or "150000 100000"
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def cpu_threads() -> int:
    """Threads for torch: ``DLBOOK_THREADS``, else half the CPUs this process may use.

    The CPUs it may use are those it is pinned to (``taskset``, Slurm's
    ``--cpus-per-task``), capped by a cgroup CPU quota, which containers (Binder,
    Kubernetes JupyterHubs) show as more cores than they may use. Half of them leaves
    room for a neighbour: two threads beside a busy process on two CPUs ran a training
    step 2 to 80 times slower, one thread at most 1.4 times (``benchmarks/shared_cpu.py``).
    """
    raw = os.environ.get("DLBOOK_THREADS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"DLBOOK_THREADS={raw!r} must be a positive integer, e.g. 1.")
        return int(raw)
    return max(1, usable_cpus() // 2)


def usable_cpus() -> int:
    """The CPUs this process may use: those it is pinned to, capped by a cgroup quota."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cpu_quota()
    if quota is not None:
        usable = min(usable, max(1, math.floor(quota)))
    return usable or 1


def progress_enabled() -> bool:
    """Progress bars are on unless ``DLBOOK_PROGRESS=0`` (the book's build sets it)."""
    return os.environ.get("DLBOOK_PROGRESS", "1").strip().lower() not in ("0", "false", "off")


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None) -> Iterator[T]:
    """A tqdm progress bar over ``iterable``, or, with bars off, one summary line at the end.

    ``for step in dlbook.progress(range(steps), "training"): ...``
    """
    if progress_enabled():
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc or None, total=total)
        return
    count = 0
    try:
        for item in iterable:
            count += 1
            yield item
    finally:
        print(f"{desc or 'progress'}: {count} iterations")
