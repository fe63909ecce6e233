"""One MNIST MLP epoch: dlbook's on-device tensors vs the seed courses' pipeline.

The seed courses' pipeline is ``torchvision.datasets.MNIST(transform=ToTensor())`` +
``DataLoader(batch_size=32, shuffle=True)``: every image is decoded to PIL and back,
one at a time, in Python. dlbook keeps the whole dataset as one tensor and shuffles
with one ``randperm`` per epoch. Both train the same MLP with the same optimizer; the
runs alternate (A B A B ...) so machine noise hits both, and the median of the
per-pair ratios is printed. A second table times the data path alone (no model).

    python benchmarks/data_pipeline.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from dlbook import data, models

N_TRAIN = 60_000


def train_epoch(batches) -> float:
    """Train a fresh 784-256-10 MLP for one pass over ``batches``; return seconds."""
    torch.manual_seed(0)
    model = models.mlp([784, 256, 10])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    start = time.perf_counter()
    for xb, yb in batches:
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def iterate(batches) -> float:
    """One pass over ``batches`` with no model: the data path alone; return seconds."""
    start = time.perf_counter()
    for _xb, _yb in batches:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    root = data.ensure("mnist")
    seed_course = datasets.MNIST(str(root), train=True, transform=transforms.ToTensor())
    x, y = data.load("mnist", device="cpu")  # loaded once, as a chapter does
    pipelines = {
        "seed courses: ToTensor + DataLoader(batch_size=32)": lambda: DataLoader(
            seed_course, batch_size=32, shuffle=True
        ),
        "dlbook tensors, batch_size=32": lambda: data.Batches(x, y, batch_size=32, shuffle=True),
        "dlbook tensors, batch_size=128 (fit's default)": lambda: data.Batches(
            x, y, batch_size=128, shuffle=True
        ),
    }
    print(
        f"MNIST, {N_TRAIN:,} training images, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, median of {args.repeats} interleaved runs"
    )
    for title, run in (("one MLP epoch (784-256-10, SGD)", train_epoch), ("data only", iterate)):
        seconds = {name: [] for name in pipelines}
        for _ in range(args.repeats):
            for name, make in pipelines.items():
                seconds[name].append(run(make()))
        baseline = list(pipelines)[0]
        print(f"\n{title:50} {'seconds':>8} {'samples/s':>10} {'ratio':>7}")
        for name, runs in seconds.items():
            ratios = [b / t for b, t in zip(seconds[baseline], runs, strict=True)]
            median = statistics.median(runs)
            rate = N_TRAIN / median
            print(f"{name:50} {median:8.3f} {rate:10,.0f} {statistics.median(ratios):6.1f}x")


if __name__ == "__main__":
    main()
