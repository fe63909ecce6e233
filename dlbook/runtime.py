"""Device, seed and profile: the three settings every chapter depends on.

Each one is read from an environment variable so that CI, a GPU runner and a
reader's laptop run the same chapter with different sizes:

- ``DLBOOK_DEVICE``: ``cuda``, ``mps`` or ``cpu`` (default: the best available).
- ``DLBOOK_SEED``: an integer (default 0).
- ``DLBOOK_PROFILE``: ``quick`` (CI-sized) or ``full`` (reader-sized, default).
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

PROFILES = ("quick", "full")
T = TypeVar("T")


def device() -> torch.device:
    """The device chapters compute on: ``DLBOOK_DEVICE`` or the best available."""
    wanted = os.environ.get("DLBOOK_DEVICE", "").strip().lower()
    if not wanted:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    kind = wanted.split(":")[0]
    if kind not in available:
        raise ValueError(f"DLBOOK_DEVICE={wanted!r} is not a device; use cpu, cuda or mps.")
    if not available[kind]:
        raise RuntimeError(
            f"DLBOOK_DEVICE={wanted!r} but no {kind} device is available here; "
            "unset DLBOOK_DEVICE to use the best available device."
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

    The one knob chapters use to size work: ``epochs = dlbook.pick(1, 8)``.
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
    seed = seed_from_env() if seed is None else int(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    return seed


@dataclass(frozen=True)
class Settings:
    """What :func:`setup` chose, printed at the top of every chapter."""

    version: str
    device: torch.device
    profile: str
    seed: int

    def __str__(self) -> str:
        return (
            f"dlbook {self.version}, torch {torch.__version__}, python {platform.python_version()}\n"
            f"device {self.device} | profile {self.profile} | seed {self.seed}"
        )


def setup(chapter: str | None = None, seed: int | None = None) -> Settings:
    """Prepare a chapter: seed, device, profile, plot renderer; print them.

    ``chapter`` names the chapter in the run report (see :mod:`dlbook.report`).
    """
    from dlbook import __version__, plot, report

    settings = Settings(__version__, device(), profile(), seed_everything(seed))
    plot.use_book_renderer()
    report.start(chapter, settings)
    print(settings)
    return settings
