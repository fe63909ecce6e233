"""dlbook: the small helper package behind the interactive deep-learning book.

Importing it changes no state that a chapter can see: no downloads, no seeding, no
renderer changes, and not even torch is imported until a function needs it. One thing
it does set, because it must happen before torch starts its OpenMP threads:
``OMP_WAIT_POLICY=PASSIVE`` (unless you set it yourself), so that idle threads sleep
instead of spinning beside other work (``benchmarks/shared_cpu.py``).

A chapter calls :func:`setup` once to seed, pick the device, profile and threads, and
make plotly figures survive the HTML build.
"""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass
from typing import Any

from dlbook import runtime  # imports no torch
from dlbook._version import __version__

runtime.quiet_openmp()  # before torch loads OpenMP, which reads it once

RUNTIME = ("cpu_threads", "device", "pick", "profile", "progress", "seed_everything")
MODULES = (
    "book", "checkpoints", "cli", "data", "datasets", "explore", "files", "judge",
    "margins", "models", "plot", "report", "runtime", "text", "train",
)  # fmt: skip
__all__ = ["Settings", "__version__", "setup", *RUNTIME]


def __getattr__(name: str) -> Any:
    """``dlbook.pick`` and ``dlbook.data`` import their module on first use."""
    if name in RUNTIME:
        return getattr(importlib.import_module("dlbook.runtime"), name)
    if name in MODULES:
        return importlib.import_module(f"dlbook.{name}")
    raise AttributeError(f"module 'dlbook' has no attribute {name!r}")


@dataclass(frozen=True)
class Settings:
    """What :func:`setup` chose, printed at the top of every chapter."""

    device: Any  # a torch.device
    profile: str
    seed: int
    threads: int
    version: str = __version__

    def __str__(self) -> str:
        import torch

        return (
            f"dlbook {self.version}, torch {torch.__version__}, "
            f"python {platform.python_version()}\n"
            f"device {self.device} | profile {self.profile} | seed {self.seed} | "
            f"{self.threads} CPU thread{'s' * (self.threads != 1)}"
        )


def setup(chapter: str | None = None, seed: int | None = None) -> Settings:
    """Prepare a chapter: seed, device, profile, CPU threads, plot renderer; print them.

    ``chapter`` names the chapter in the run report (see :mod:`dlbook.report`).
    """
    import torch

    from dlbook import margins, plot, report

    threads = runtime.cpu_threads()
    torch.set_num_threads(threads)
    settings = Settings(runtime.device(), runtime.profile(), runtime.seed_everything(seed), threads)
    plot.use_book_renderer()
    report.start(chapter, settings)
    margins.install()  # with a run report: how close each self-check comes to failing
    print(settings)
    return settings
