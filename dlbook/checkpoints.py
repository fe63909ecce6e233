"""Small pretrained networks the book ships with: their registry and verified loading.

Both are :class:`dlbook.models.LeNet5` (62 thousand parameters, about 250 KB):

- ``fashion-lenet``: trained on Fashion-MNIST; the starting point for transfer learning;
- ``mnist-judge``: an MNIST classifier; it judges whether generated digits look right.

``python -m dlbook checkpoint train NAME`` (:func:`dlbook.cli.train_checkpoint`) retrains
one (seeded) and writes it atomically into ``dlbook/weights/``; its SHA-256 is recorded
in :data:`CHECKPOINTS`. :func:`load`
verifies that checksum and reads the file with ``weights_only=True``, so a checkpoint can
never run code. Retraining on other hardware or another torch version reproduces the
accuracy, not necessarily the bytes: record the new checksum it prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dlbook import models, runtime
from dlbook.files import CorruptFileError, sha256

WEIGHTS = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    dataset: str
    epochs: int
    sha256: str
    description: str
    max_lr: float = 5e-3


CHECKPOINTS = {
    "fashion-lenet": Checkpoint(
        "fashion-lenet",
        "fashion-mnist",
        8,
        "5c71e76ae210d5d9b3e80e7b019584c352b92d0097404b523c0435cdb355ca3d",
        "LeNet-5 trained on Fashion-MNIST (pretrained features for transfer learning)",
    ),
    "mnist-judge": Checkpoint(
        "mnist-judge",
        "mnist",
        4,
        "d8c477ce6339c6dd96f014e3101080c69c639ad98d00426b1a18ca01411991c9",
        "LeNet-5 trained on MNIST (the judge of generated digits)",
    ),
}


def checkpoint(name: str) -> Checkpoint:
    if name not in CHECKPOINTS:
        raise KeyError(f"Unknown checkpoint {name!r}; choose one of: {', '.join(CHECKPOINTS)}.")
    return CHECKPOINTS[name]


def path(name: str) -> Path:
    return WEIGHTS / f"{checkpoint(name).name}.pt"


def load(name: str, device: torch.device | str | None = None) -> torch.nn.Module:
    """A shipped checkpoint as a ready model in evaluation mode, after verifying its checksum."""
    spec, file = checkpoint(name), path(name)
    fix = f"python -m dlbook checkpoint train {spec.name}"
    if not file.exists():
        raise FileNotFoundError(
            f"Checkpoint {spec.name!r} is missing from {file}; recreate it: {fix}"
        )
    if sha256(file) != spec.sha256:
        raise CorruptFileError(
            f"Checkpoint {file} does not match its recorded sha256 {spec.sha256}. Restore it "
            f"from the repository (git checkout -- '{file}') or retrain it ({fix}) and record "
            "the checksum it prints in dlbook/checkpoints.py."
        )
    model = models.LeNet5()
    model.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    return model.to(device or runtime.device()).eval()
