"""Per-step overhead of ``dlbook.train.fit`` against a hand-written PyTorch loop.

Both train the same MLP on the same MNIST tensors, with the same batches and
optimizer, for one epoch. ``fit`` adds its progress bar, history and checks; the
hand loop is the bare forward/backward/step. Runs alternate (A B A B ...) and the
median of the per-pair ratios is printed. Goal: at most 5% overhead.

    python benchmarks/train_overhead.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from contextlib import redirect_stderr

import torch
import torch.nn.functional as F

from dlbook import data, models, train


def fresh(x):
    torch.manual_seed(0)
    model = models.mlp([784, 256, 10]).to(x.device)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def hand_loop(x, y, batch_size: int) -> float:
    model, optimizer = fresh(x)
    start = time.perf_counter()
    for xb, yb in data.Batches(x, y, batch_size=batch_size, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def with_fit(x, y, batch_size: int, progress: bool) -> float:
    model, optimizer = fresh(x)
    start = time.perf_counter()
    with redirect_stderr(io.StringIO()):  # the bar is drawn, just not shown here
        train.fit(
            model, (x, y), epochs=1, optimizer=optimizer, batch_size=batch_size, progress=progress
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    x, y = data.load("mnist")
    runs = {"hand loop": [], "fit, progress bar on": [], "fit, progress bar off": []}
    hand_loop(x, y, args.batch_size)  # warm-up
    for _ in range(args.repeats):
        runs["hand loop"].append(hand_loop(x, y, args.batch_size))
        runs["fit, progress bar on"].append(with_fit(x, y, args.batch_size, True))
        runs["fit, progress bar off"].append(with_fit(x, y, args.batch_size, False))
    steps = len(data.Batches(x, y, batch_size=args.batch_size))
    print(
        f"MNIST MLP, 1 epoch = {steps} steps of batch {args.batch_size} on {x.device}, "
        f"median of {args.repeats} interleaved runs"
    )
    print(f"{'loop':24} {'seconds':>8} {'ms/step':>8} {'overhead vs hand loop':>22}")
    for name, seconds in runs.items():
        ratios = [t / h for t, h in zip(seconds, runs["hand loop"], strict=True)]
        median = statistics.median(seconds)
        overhead = (statistics.median(ratios) - 1) * 100
        print(f"{name:24} {median:8.2f} {1000 * median / steps:8.3f} {overhead:+21.1f}%")


if __name__ == "__main__":
    main()
