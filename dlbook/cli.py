"""``python -m dlbook``: fetch datasets, show what this machine has, install a kernel,
train or verify the shipped checkpoints."""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
from pathlib import Path

from dlbook import __version__, datasets, runtime
from dlbook.files import sha256, write_atomically


def fetch(names: list[str]) -> int:
    """Download and verify datasets into ``DLBOOK_DATA``; non-zero if any is unavailable."""
    failed = 0
    for name in names or list(datasets.DATASETS):
        try:
            root = datasets.ensure(name)
            print(f"{datasets.dataset(name).name}: verified in {root}")
        except (datasets.DataUnavailableError, datasets.CorruptFileError, KeyError) as error:
            print(f"error: {error.args[0]}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def info() -> int:
    """Versions, device, profile, seed and the state of every dataset in the cache."""
    import torch
    import torchvision

    print(
        f"dlbook {__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"python {platform.python_version()}"
    )
    for name, read in (
        ("device", runtime.device),
        ("profile", runtime.profile),
        ("seed", runtime.seed_from_env),
        ("CPU threads", runtime.cpu_threads),
    ):
        try:
            print(f"{name}: {read()}")
        except (ValueError, RuntimeError) as error:
            print(f"{name}: invalid ({error})")
    print(f"OpenMP wait policy: {os.environ.get('OMP_WAIT_POLICY', 'default (spinning)')}")
    try:
        root = datasets.data_root()
    except datasets.DataUnavailableError as error:
        print(f"data cache (DLBOOK_DATA): invalid ({error})")
        return 1
    print(f"data cache (DLBOOK_DATA): {root}")
    for name, ds in datasets.DATASETS.items():
        print(f"  {name:16} {datasets.status(name):10} {ds.description}")
    return 0


def kernel(name: str, display_name: str, data_dir: str | None, prefix: str | None) -> int:
    """Install a Jupyter kernel for this Python (e.g. for a JupyterHub user).

    Its environment is :func:`dlbook.runtime.kernel_environment`: the OpenMP wait
    policy, set before the kernel starts, and, with ``--data``, the absolute ``DLBOOK_DATA``.
    """
    from ipykernel.kernelspec import install

    env = runtime.kernel_environment(data_dir)
    path = install(
        user=prefix is None, prefix=prefix, kernel_name=name, display_name=display_name, env=env
    )
    print(f"Installed kernel {name!r} ({display_name}) in {path}")
    print("Reload JupyterLab and pick it from the kernel menu.")
    return 0


def train_checkpoint(name: str, seed: int = 0) -> tuple[Path, float, str]:
    """Train one shipped checkpoint on the CPU and save it atomically; return its path,
    test accuracy and SHA-256."""
    import torch

    from dlbook import checkpoints, data, models, train

    spec = checkpoints.checkpoint(name)
    runtime.seed_everything(seed)
    x, y = data.load(spec.dataset, device="cpu")
    test = data.load(spec.dataset, train=False, device="cpu")
    model = models.LeNet5()
    history = train.fit_one_cycle(model, (x, y), spec.epochs, val=test, max_lr=spec.max_lr)
    target = checkpoints.path(name)
    buffer = io.BytesIO()  # a file object gives the zip a fixed archive name: same bytes each time
    torch.save(model.state_dict(), buffer)
    write_atomically(target, lambda out: out.write(buffer.getvalue()), expected=None)
    return target, history.last("val_accuracy"), sha256(target)


def checkpoint(action: str, names: list[str], seed: int) -> int:
    """Train (``train``) or verify (``verify``) the book's shipped checkpoints."""
    from dlbook import checkpoints

    failed = 0
    for name in names or list(checkpoints.CHECKPOINTS):
        try:
            if action == "train":
                file, accuracy, digest = train_checkpoint(name, seed)
                print(f"{name}: test accuracy {accuracy:.2%}, saved {file}\n  sha256 {digest}")
                if digest != checkpoints.checkpoint(name).sha256:
                    print("  (a new file: record this sha256 in dlbook/checkpoints.py)")
            else:
                checkpoints.load(name, device="cpu")
                print(f"{name}: verified ({checkpoints.path(name)})")
        except (
            KeyError,
            FileNotFoundError,
            datasets.CorruptFileError,
            datasets.DataUnavailableError,
        ) as e:
            print(f"error: {e.args[0]}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlbook", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dlbook {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("fetch", help="download and verify datasets into DLBOOK_DATA")
    p.add_argument(
        "names", nargs="*", help=f"datasets (default: all): {', '.join(datasets.DATASETS)}"
    )
    commands.add_parser("info", help="versions, device, profile and cached datasets")
    p = commands.add_parser("kernel", help="install a Jupyter kernel for this environment")
    p.add_argument("--name", default="dlbook", help="kernel name (default: dlbook)")
    p.add_argument("--display-name", default="Python (dlbook)", help="name shown in Jupyter")
    p.add_argument("--data", dest="data_dir", help="set DLBOOK_DATA inside the kernel")
    p.add_argument("--prefix", help="install under this prefix instead of the user's folder")
    p = commands.add_parser("checkpoint", help="train or verify the shipped pretrained networks")
    p.add_argument("action", choices=["train", "verify"])
    p.add_argument("names", nargs="*", help="checkpoints (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed for training (default: 0)")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        return fetch(args.names)
    if args.command == "info":
        return info()
    if args.command == "checkpoint":
        return checkpoint(args.action, args.names, args.seed)
    return kernel(args.name, args.display_name, args.data_dir, args.prefix)
