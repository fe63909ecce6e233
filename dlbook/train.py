"""The training loop the book teaches, made reusable: ``fit``, ``evaluate``, ``History``.

:func:`train_epoch` is the hand-written loop of the gradient-descent chapters (forward,
loss, backward, step), and nothing else. :func:`fit` runs it once per epoch with what a
reader wants around it: checked inputs, a progress bar, a per-epoch history,
validation, an optional learning-rate schedule, and Ctrl-C that stops the loop (and
"Run All") while the model keeps what it learned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from dlbook.data import Batches
from dlbook.runtime import progress_enabled

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
        if not self.rows:
            raise IndexError("this history is empty: no epoch finished.")
        return self[key][-1]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for row in self.rows for k in row))

    def extend(self, later: History) -> History:
        """Append the epochs of a later ``fit`` call, numbering them on from this one's."""
        offset = len(self.rows)
        self.rows += [{**row, "epoch": offset + i} for i, row in enumerate(later.rows, 1)]
        self.interrupted = later.interrupted
        return self


def _check_positive(name: str, value, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}; {hint}")


def _check_epochs(epochs) -> None:
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}; try epochs=5.")


def _check_batch(out: torch.Tensor, y: torch.Tensor) -> None:
    """The mistakes a first batch shows: other devices, other lengths, labels out of range."""
    if out.device != y.device:
        raise ValueError(
            f"the model's output is on {out.device} but the targets are on {y.device}; "
            "move both to one device, e.g. model.to(dlbook.device()) and y.to(dlbook.device())."
        )
    if out.shape[0] != y.shape[0]:
        raise ValueError(
            f"the model returned {out.shape[0]} outputs for a batch of {y.shape[0]} targets "
            f"(output shape {tuple(out.shape)}); check that the model keeps the batch dimension."
        )
    if not y.is_floating_point() and out.dim() == 2 and y.dim() == 1:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= out.shape[1]:
            raise ValueError(
                f"the model's output of shape {tuple(out.shape)} has {out.shape[1]} classes but "
                f"the labels run from {low} to {high}. Check that the last layer has one output "
                "per class and that class labels are int64 indices from 0."
            )


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The model's outputs for all of ``x``, in evaluation mode, batch by batch."""
    if len(x) == 0:
        raise ValueError("predict got no examples (x is empty).")
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
    x, y = _pair(data, "data")
    out = predict(model, x, batch_size)
    _check_batch(out, y)
    result = {"loss": loss_fn(out, y).item()}
    if metric is not None:
        result[metric_name(metric)] = metric(out, y)
    return result


def metric_name(metric: Callable) -> str:
    """The key a metric gets in a history: its function's name (``accuracy``), also through
    ``functools.partial``; ``metric`` for a lambda or a callable object."""
    while isinstance(metric, functools.partial):
        metric = metric.func
    name = getattr(metric, "__name__", "<lambda>")
    return "metric" if name == "<lambda>" else name


def _pair(data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``data`` as ``(x, y)``, or an error that says how to pass it."""
    if not (isinstance(data, tuple) and len(data) == 2 and all(torch.is_tensor(t) for t in data)):
        kind = type(data).__name__
        size = f" of {len(data)}" if isinstance(data, tuple | list) else ""
        raise TypeError(
            f"{name} must be a tuple (x, y) of two tensors, got a {kind}{size}; "
            f"e.g. {name}=(x_{name}, y_{name})."
        )
    return data


def train_epoch(model, batches, loss_fn, optimizer, scheduler=None, augment=None):
    """One pass over ``batches`` of ``(xb, yb)``: forward, loss, backward, step.

    A ``scheduler`` steps after every batch. Returns the mean training loss.
    """
    model.train()
    total, seen = 0.0, 0
    for xb, yb in batches:
        if augment is not None:
            xb = augment(xb)
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total = total + loss.detach() * len(yb)
        seen += len(yb)
    return float(total / max(seen, 1))


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
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    schedule_every: str = "epoch",
    progress: bool | None = None,
) -> History:
    """Train ``model`` with :func:`train_epoch` and return its per-epoch :class:`History`.

    ``train`` is ``(x, y)`` (shuffled into batches of ``batch_size`` each epoch) or any
    iterable of ``(xb, yb)`` batches, such as a ``DataLoader``. Give ``lr`` for plain SGD
    or a ready ``optimizer``. ``val=(x, y)`` adds ``val_loss`` and ``val_<metric>`` after
    each epoch. A ``scheduler`` is stepped after every epoch, or after every batch with
    ``schedule_every="step"``. Ctrl-C stops training and is raised again (so "Run All"
    stops too); the model keeps its weights, and the exception's ``history`` attribute
    holds the finished epochs.
    """
    _check_epochs(epochs)
    if (lr is None) == (optimizer is None):
        raise ValueError(
            "give exactly one of lr= (plain SGD) or optimizer= (e.g. torch.optim.Adam)."
        )
    if schedule_every not in ("epoch", "step"):
        raise ValueError(f"schedule_every must be 'epoch' or 'step', got {schedule_every!r}.")
    parameters = list(model.parameters())
    if not parameters:
        raise ValueError("the model has no parameters to train; did you forget a layer?")
    if optimizer is None:
        _check_positive("lr", lr, "try lr=0.1 for SGD or use optimizer=torch.optim.Adam(...).")
        optimizer = torch.optim.SGD(parameters, lr=lr)
    if isinstance(train, list | tuple) and len(train) in (2, 3) and torch.is_tensor(train[0]):
        x, y = _pair(train, "train")
        model.to(x.device)
        batches = Batches(x, y, batch_size=batch_size, shuffle=True)
    else:
        batches = train
    if val is not None:
        _pair(val, "val")
    try:
        steps = len(batches)
    except TypeError:
        steps = None
    per_step = scheduler if schedule_every == "step" else None

    from tqdm.auto import tqdm

    history = History()
    show = progress_enabled() if progress is None else progress
    bar = tqdm(total=steps and steps * epochs, disable=not show, unit="step", leave=True)
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            checked = _first_batch_checked(loss_fn) if epoch == 1 else loss_fn
            train_loss = train_epoch(
                model, _counted(batches, bar), checked, optimizer, per_step, augment
            )
            if scheduler is not None and schedule_every == "epoch":
                scheduler.step()
            row = {"epoch": epoch, "train_loss": train_loss}
            if val is not None:
                scores = evaluate(model, val, loss_fn, metric)
                row.update({f"val_{k}": v for k, v in scores.items()})
            history.rows.append(row)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "epoch"})
    except KeyboardInterrupt as interrupt:
        history.interrupted = True
        interrupt.history = history
        print(f"Interrupted after {len(history)} finished epoch(s); the model keeps its weights.")
        raise
    finally:
        bar.close()
    if not show and history.rows:
        summary = ", ".join(f"{k} {v:.4g}" for k, v in history.rows[-1].items() if k != "epoch")
        print(f"fit: {len(history)} epochs, {summary}")
    return history


def _first_batch_checked(loss_fn: LossFn) -> LossFn:
    """``loss_fn``, which first checks the first batch's output (:func:`_check_batch`)."""
    checked = False

    def first_checked(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        nonlocal checked
        if not checked:
            _check_batch(out, y)
            checked = True
        return loss_fn(out, y)

    return first_checked


def _counted(batches: Iterable, bar) -> Iterable:
    """``batches``, moving the progress bar on after each step."""
    for batch in batches:
        yield batch
        bar.update()


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float) -> None:
    """Move each weight of ``average`` a step towards ``model``'s: an exponential moving
    average of the weights, which samples better than the last weights (GANs, diffusion).
    Buffers (batch-norm statistics) are copied as they are."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay is a fraction in [0, 1], e.g. 0.999; got {decay}.")
    shapes = [[tuple(t.shape) for t in m.state_dict().values()] for m in (average, model)]
    if shapes[0] != shapes[1]:
        raise ValueError(
            "average and model must be the same network; make the average a copy: "
            "average = copy.deepcopy(model)."
        )
    for p_avg, p in zip(average.parameters(), model.parameters(), strict=True):
        p_avg.lerp_(p, 1.0 - decay)
    for b_avg, b in zip(average.buffers(), model.buffers(), strict=True):
        b_avg.copy_(b)


def fit_one_cycle(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    max_lr: float = 3e-3,
    batch_size: int = 128,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> History:
    """Adam with a one-cycle learning-rate schedule (Smith and Topin 2019), stepped per batch.

    The rate warms up to ``max_lr`` and then anneals towards zero, which lets a few
    epochs go a long way.
    """
    _check_epochs(epochs)  # before OneCycleLR, whose own error would be cryptic
    _check_positive("max_lr", max_lr, "try max_lr=3e-3.")
    x, y = _pair(train, "train")
    optimizer = torch.optim.Adam(model.parameters(), lr=max_lr)
    steps = epochs * len(Batches(x, y, batch_size=batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    return fit(
        model,
        (x, y),
        epochs=epochs,
        optimizer=optimizer,
        batch_size=batch_size,
        val=val,
        augment=augment,
        scheduler=schedule,
        schedule_every="step",
    )
