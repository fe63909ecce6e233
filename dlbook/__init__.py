"""dlbook: the small helper package behind the interactive deep-learning book.

Importing it changes no state that a chapter can see: no downloads, no seeding, no
renderer changes. One thing it does set, because it must happen before torch starts
its OpenMP threads: ``OMP_WAIT_POLICY=PASSIVE`` (unless you set it yourself), so that
idle threads sleep instead of spinning. On a CPU shared with other work, spinning
threads make training 15-25 times slower (``benchmarks/shared_cpu.py``).

A chapter calls :func:`setup` once to seed, pick the device, profile and threads, and
make plotly figures survive the HTML build.
"""

import os
import platform
from dataclasses import dataclass

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads OpenMP

import torch  # noqa: E402

from dlbook._version import __version__  # noqa: E402
from dlbook.runtime import (  # noqa: E402
    cpu_threads,
    device,
    pick,
    profile,
    progress,
    seed_everything,
)

__all__ = ["Settings", "__version__", "device", "pick", "profile", "progress", "setup"]
__all__ += ["seed_everything"]


@dataclass(frozen=True)
class Settings:
    """What :func:`setup` chose, printed at the top of every chapter."""

    device: torch.device
    profile: str
    seed: int
    threads: int
    version: str = __version__

    def __str__(self) -> str:
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
    from dlbook import plot, report

    threads = cpu_threads()
    torch.set_num_threads(threads)
    settings = Settings(device(), profile(), seed_everything(seed), threads)
    plot.use_book_renderer()
    report.start(chapter, settings)
    print(settings)
    return settings
