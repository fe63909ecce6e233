"""Training on a CPU that another process keeps busy: torch's defaults against dlbook's.

A chapter-like training loop (an MLP and a LeNet-5 on MNIST-sized batches) runs in a
fresh process, once on a quiet machine and once beside a CPU-bound neighbour (a pure
Python busy loop), with

- torch's defaults: as many threads as cores, OpenMP's default (spinning) wait policy;
- dlbook's choice: ``OMP_WAIT_POLICY=PASSIVE`` (set by ``import dlbook``, before torch
  starts OpenMP) and one thread per CPU this process may use (``dlbook.runtime.cpu_threads``).

Each setting is measured in interleaved rounds and the table gives medians; the ratios
are what to read: loaded / quiet for each setting, and default / dlbook side by side.

    python benchmarks/shared_cpu.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKER = r"""
import json, os, sys, time
if sys.argv[1] == "dlbook":
    import dlbook  # sets OMP_WAIT_POLICY=PASSIVE before torch loads OpenMP
    import torch
    torch.set_num_threads(dlbook.runtime.cpu_threads())
else:
    import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
models = {
    "mlp": (nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                          nn.ReLU(), nn.Linear(256, 10)), 300),
    "lenet": (nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 10)), 60),
}
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
out = {"threads": torch.get_num_threads(), "wait_policy": os.environ.get("OMP_WAIT_POLICY")}
for name, (model, steps) in models.items():
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for i in range(steps + 10):
        if i == 10:
            start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out[name] = (time.perf_counter() - start) / steps * 1000
print(json.dumps(out))
"""

SETTINGS = ("torch-default", "dlbook")


def measure(setting: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "DLBOOK_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", WORKER, setting], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def busy_neighbour() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.rounds} interleaved rounds; ms per training step")
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for load in ("quiet", "busy neighbour"):
            neighbour = busy_neighbour() if load != "quiet" else None
            try:
                time.sleep(0.5 if neighbour else 0)
                for setting in SETTINGS:
                    runs.setdefault((setting, load), []).append(measure(setting))
            finally:
                if neighbour:
                    neighbour.kill()
                    neighbour.wait()
    med = {
        (s, load, m): statistics.median(r[m] for r in rows)
        for (s, load), rows in runs.items()
        for m in ("mlp", "lenet")
    }
    first = {s: runs[(s, "quiet")][0] for s in SETTINGS}
    print(
        f"{'setting':14} {'threads':>7} {'wait policy':>12}  model  {'quiet':>7} {'busy':>7} "
        f"{'busy/quiet':>10}"
    )
    for s in SETTINGS:
        for m in ("mlp", "lenet"):
            quiet, busy = med[(s, "quiet", m)], med[(s, "busy neighbour", m)]
            print(
                f"{s:14} {first[s]['threads']:>7} {str(first[s]['wait_policy']):>12}  {m:5}  "
                f"{quiet:7.2f} {busy:7.2f} {busy / quiet:10.2f}"
            )
    for m in ("mlp", "lenet"):
        for load in ("quiet", "busy neighbour"):
            ratio = med[("torch-default", load, m)] / med[("dlbook", load, m)]
            print(f"torch-default / dlbook, {m:5}, {load:14}: {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
