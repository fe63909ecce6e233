"""The training loop the book teaches, made reusable: ``fit``, ``evaluate``, ``History``.

``fit`` is the hand-written loop of the gradient-descent chapters (forward,
loss, backward, step) plus what a reader wants around it: a progress bar,
a per-epoch history, validation, and Ctrl-C that keeps what was learned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dlbook.data import Batches

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is at the true class."""
    return (logits.argmax(dim=1) == y).float().mean().item()


@dataclass
class History:
    """One row of metrics per epoch: ``history["val_accuracy"]`` is a list."""

    rows: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False

    def __getitem__(self, key: str) -> list[float]:
        if not any(key in row for row in self.rows):
            known = sorted({k for row in self.rows for k in row})
            raise KeyError(f"{key!r} was not recorded; this history has {known}.")
        return [row[key] for row in self.rows if key in row]

    def __len__(self) -> int:
        return len(self.rows)

    def last(self, key: str) -> float:
        return self[key][-1]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for row in self.rows for k in row))


def progress_enabled() -> bool:
    """Progress bars are on unless ``DLBOOK_PROGRESS=0``."""
    return os.environ.get("DLBOOK_PROGRESS", "1").strip() not in ("0", "false", "off")


def _check_positive(name: str, value, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}; {hint}")


def _check_epochs(epochs) -> None:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}; try epochs=5.")


def _loss(loss_fn: LossFn, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    try:
        return loss_fn(out, y)
    except (RuntimeError, ValueError, IndexError) as error:
        raise ValueError(
            f"the loss could not compare the model's output of shape {tuple(out.shape)} with "
            f"targets of shape {tuple(y.shape)} ({error}). Check that the last layer has one "
            "output per class and that class labels are int64 indices."
        ) from error


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The model's outputs for all of ``x``, in evaluation mode, batch by batch."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(xb) for (xb,) in Batches(x, batch_size=batch_size)])
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    loss_fn: LossFn = F.cross_entropy,
    metric: Callable | None = accuracy,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Loss (and ``metric``, accuracy by default) of ``model`` on ``data=(x, y)``."""
    x, y = data
    out = predict(model, x, batch_size)
    result = {"loss": _loss(loss_fn, out, y).item()}
    if metric is not None:
        result[metric.__name__] = metric(out, y)
    return result


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor] | Iterable,
    *,
    epochs: int,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: LossFn = F.cross_entropy,
    batch_size: int = 128,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    metric: Callable | None = accuracy,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: bool | None = None,
) -> History:
    """Train ``model`` and return its per-epoch :class:`History`.

    ``train`` is ``(x, y)`` (shuffled into batches of ``batch_size`` each epoch)
    or any iterable of ``(xb, yb)`` batches. Give ``lr`` for plain SGD or a
    ready ``optimizer``. ``val=(x, y)`` adds ``val_loss`` and ``val_<metric>``
    after each epoch. Ctrl-C stops early and returns the epochs completed.
    """
    _check_epochs(epochs)
    if (lr is None) == (optimizer is None):
        raise ValueError(
            "give exactly one of lr= (plain SGD) or optimizer= (e.g. torch.optim.Adam)."
        )
    if optimizer is None:
        _check_positive("lr", lr, "try lr=0.1 for SGD or use optimizer=torch.optim.Adam(...).")
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    if isinstance(train, tuple):
        model.to(train[0].device)
        batches = Batches(*train, batch_size=batch_size, shuffle=True)
    else:
        batches = train
    try:
        steps = len(batches)
    except TypeError:
        steps = None

    history = History()
    show = progress_enabled() if progress is None else progress
    bar = tqdm(total=steps and steps * epochs, disable=not show, unit="step", leave=True)
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            model.train()
            total, seen = torch.zeros((), device=next(model.parameters()).device), 0
            for xb, yb in batches:
                if augment is not None:
                    xb = augment(xb)
                loss = _loss(loss_fn, model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(yb)
                seen += len(yb)
                bar.update()
            row = {"epoch": epoch, "train_loss": (total / max(seen, 1)).item()}
            if val is not None:
                scores = evaluate(model, val, loss_fn, metric)
                row.update({f"val_{k}": v for k, v in scores.items()})
            history.rows.append(row)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "epoch"})
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted: returning the {len(history)} finished epoch(s).")
    finally:
        bar.close()
    return history


def fit_one_cycle(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    max_lr: float = 3e-3,
    batch_size: int = 128,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> History:
    """Adam with a one-cycle learning-rate schedule, stepped after every update.

    The rate warms up to ``max_lr`` and then anneals towards zero, which lets a few
    epochs go a long way. A hook on the optimizer steps the schedule, so :func:`fit`
    itself needs no changes.
    """
    _check_epochs(epochs)  # before OneCycleLR, whose own error would be cryptic
    _check_positive("max_lr", max_lr, "try max_lr=3e-3.")
    optimizer = torch.optim.Adam(model.parameters(), lr=max_lr)
    steps = epochs * len(Batches(*train, batch_size=batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    optimizer.register_step_post_hook(lambda *args: schedule.step())
    return fit(
        model,
        train,
        epochs=epochs,
        optimizer=optimizer,
        batch_size=batch_size,
        val=val,
        augment=augment,
    )
