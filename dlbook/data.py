"""Datasets as tensors, and the batching the training loops use.

:func:`load` and :func:`text` return whole datasets, read once per process from the
verified cache of :mod:`dlbook.datasets`; :class:`Batches` shuffles in-memory tensors
with no per-item Python work. What only language models use (:class:`CharVocab`,
:func:`windows`) is in :mod:`dlbook.text`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import torch

from dlbook.datasets import DataUnavailableError, dataset, ensure
from dlbook.runtime import device as default_device

__all__ = ["DataUnavailableError", "FASHION_CLASSES", "Batches", "load", "text"]

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@functools.cache
def _idx_tensors(root: str, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets as tv

    cls = tv.FashionMNIST if name == "fashion-mnist" else tv.MNIST
    ds = cls(root, train=train, download=False)
    return ds.data, ds.targets


def load(
    name: str, train: bool = True, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """An image dataset as ``(x, y)`` tensors on ``device``.

    ``x`` is float32 of shape ``(N, 1, 28, 28)`` scaled to [0, 1]; ``y`` is int64.
    The files are read once per process; each call returns fresh tensors.
    """
    spec = dataset(name)
    if spec.kind != "images":
        raise ValueError(
            f"{spec.name!r} is {spec.kind}, not images; use dlbook.data.text({spec.name!r})."
        )
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}.")
    images, labels = _idx_tensors(str(ensure(spec.name)), spec.name, train)
    target = torch.device(device) if device is not None else default_device()
    x = images.to(target).unsqueeze(1).float().div_(255)
    return x, labels.to(target, copy=True)


def text(name: str = "tinyshakespeare") -> str:
    """A text dataset as one string."""
    spec = dataset(name)
    if spec.kind != "text":
        raise ValueError(f"{spec.name!r} is an image dataset; use dlbook.data.load({spec.name!r}).")
    root = ensure(spec.name)
    return (root / spec.files[0].path).read_text(encoding="utf-8")


class Batches:
    """Mini-batches of aligned tensors, shuffled each pass with one ``randperm``.

    ``for xb, yb in Batches(x, y, batch_size=128, shuffle=True): ...``
    The tensors stay where they are (e.g. on the GPU); indexing is the only work.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ):
        if not tensors:
            raise ValueError(
                "Batches needs at least one tensor, e.g. Batches(x, y, batch_size=64)."
            )
        sizes = [len(t) for t in tensors]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(
                f"tensors must have the same length along dim 0, got shapes {shapes}; "
                "pass inputs and labels of the same examples."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.tensors, self.n = tensors, sizes[0]
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = generator

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
            order = order.to(self.tensors[0].device)
        for i in range(len(self)):
            start = i * self.batch_size
            if self.shuffle:
                index = order[start : start + self.batch_size]
                yield tuple(t[index] for t in self.tensors)
            else:
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
