import functools

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from dlbook import data, models, train


def blobs(n=400, seed=0):
    """Two separable Gaussian blobs: a problem any working loop solves."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None] * 2 - 1) * 2.0
    return x, y


def test_fit_learns_and_records_history():
    torch.manual_seed(0)
    x, y = blobs()
    model = models.mlp([2, 16, 2])
    history = train.fit(model, (x, y), epochs=5, lr=0.1, batch_size=32, val=blobs(seed=1))
    assert len(history) == 5 and history["epoch"] == [1, 2, 3, 4, 5]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.last("val_accuracy") > 0.95
    assert train.evaluate(model, blobs(seed=2))["accuracy"] > 0.95


def test_fit_accepts_an_optimizer_and_any_batch_iterable():
    x, y = blobs()
    model = models.mlp([2, 2])
    batches = [(x[i : i + 50], y[i : i + 50]) for i in range(0, 400, 50)]
    history = train.fit(
        model, batches, epochs=2, optimizer=torch.optim.Adam(model.parameters(), 0.05)
    )
    assert history.keys() == ["epoch", "train_loss"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 2, "lr": 0.0}, "lr must be positive"),
        ({"epochs": 2, "lr": -0.1}, "lr must be positive"),
        ({"epochs": 0, "lr": 0.1}, "epochs must be a positive integer"),
        ({"epochs": 2.5, "lr": 0.1}, "epochs must be a positive integer"),
        ({"epochs": 2}, "give exactly one of lr= .* or optimizer="),
    ],
)
def test_fit_rejects_bad_settings_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train.fit(models.mlp([2, 2]), blobs(), **kwargs)


def test_fit_names_mismatched_shapes():
    x, y = blobs()
    with pytest.raises(ValueError, match="same length"):
        train.fit(models.mlp([2, 2]), (x, y[:-1]), epochs=1, lr=0.1)
    with pytest.raises(ValueError, match=r"output of shape \(128, 1\).*one output per class"):
        train.fit(models.mlp([2, 1]), (x, y), epochs=1, lr=0.1)


def test_ctrl_c_returns_the_finished_epochs():
    x, y = blobs()

    class StopsInEpochTwo(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.calls = models.mlp([2, 2]), 0

        def forward(self, xb):
            self.calls += 1
            if self.calls > len(x) // 100:  # first batch of epoch 2
                raise KeyboardInterrupt
            return self.net(xb)

    with pytest.raises(KeyboardInterrupt) as stop:  # raised again: "Run All" stops too
        train.fit(StopsInEpochTwo(), (x, y), epochs=5, lr=0.1, batch_size=100)
    assert stop.value.history.interrupted and len(stop.value.history) == 1


def test_history_names_what_it_has():
    history = train.History([{"epoch": 1, "train_loss": 0.5}])
    with pytest.raises(KeyError, match="'train_loss'"):
        history["val_loss"]


def test_mlp_shapes_and_validation():
    model = models.mlp([784, 32, 10], dropout=0.2)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(ValueError, match="at least input and output"):
        models.mlp([784])
    with pytest.raises(ValueError, match="probability"):
        models.mlp([2, 2], dropout=1.5)


def test_fit_one_cycle_warms_up_then_anneals():
    torch.manual_seed(0)
    model = models.mlp([2, 16, 2])
    rates = []
    record = register_optimizer_step_post_hook(
        lambda optimizer, args, kwargs: rates.append(optimizer.param_groups[0]["lr"])
    )
    try:
        history = train.fit_one_cycle(model, blobs(), epochs=3, val=blobs(seed=1), max_lr=0.05)
    finally:
        record.remove()
    assert len(rates) == 3 * 4  # 400 examples in batches of 128
    peak = rates.index(max(rates))
    assert (
        rates[0] < max(rates) / 2 and abs(max(rates) - 0.05) < 1e-2 and rates[-1] < max(rates) / 20
    )
    assert 0 < peak < len(rates) - 1 and history.last("val_accuracy") > 0.95
    with pytest.raises(ValueError, match="max_lr must be positive"):
        train.fit_one_cycle(model, blobs(), epochs=1, max_lr=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train.fit_one_cycle(model, blobs(), epochs=0)


def test_a_partial_metric_is_named_after_its_function():
    def top_k(logits, y, k):
        return (logits.topk(k, dim=1).indices == y[:, None]).any(dim=1).float().mean().item()

    x, y = blobs()
    history = train.fit(
        models.mlp([2, 2]),
        (x, y),
        epochs=1,
        lr=0.1,
        val=(x, y),
        metric=functools.partial(top_k, k=1),
    )
    assert history.keys() == ["epoch", "train_loss", "val_loss", "val_top_k"]
    scores = train.evaluate(models.mlp([2, 2]), (x, y), metric=lambda out, y: 0.5)
    assert scores["metric"] == 0.5
    assert set(train.evaluate(models.mlp([2, 2]), (x, y), metric=None)) == {"loss"}


def test_an_error_the_loss_raises_passes_through_unchanged():
    x, y = blobs()

    def loss_fn(out, yb):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(torch.OutOfMemoryError, match="^CUDA out of memory") as error:
        train.fit(models.mlp([2, 2]), (x, y), epochs=1, lr=0.1, loss_fn=loss_fn)
    assert "shape" not in str(error.value) and "one output per class" not in str(error.value)


def test_outputs_and_targets_on_different_devices_are_named():
    x, y = blobs()
    model = models.mlp([2, 2]).to("meta")  # a second device every machine has

    class OnMeta:  # batches that stay where they are: fit moves only (x, y) tuples' model
        def __iter__(self):
            yield x.to("meta"), y

    with pytest.raises(ValueError, match="output is on meta but the targets are on cpu"):
        train.fit(model, OnMeta(), epochs=1, lr=0.1)


def test_predict_restores_training_mode():
    model = models.mlp([2, 4, 2], dropout=0.5)
    model.train()
    assert train.predict(model, torch.zeros(3, 2)).shape == (3, 2) and model.training
    model.eval()
    train.predict(model, torch.zeros(3, 2))
    assert not model.training


def test_history_extend_numbers_later_epochs_on():
    first = train.History([{"epoch": 1, "train_loss": 0.9}])
    later = train.History([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.4}])
    assert first.extend(later)["epoch"] == [1, 2, 3] and first.last("train_loss") == 0.4


def test_fit_steps_a_scheduler_per_epoch_or_per_step():
    x, y = blobs()
    for every, steps in (("epoch", 2), ("step", 2 * 4)):
        model = models.mlp([2, 2])
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5**step)
        train.fit(model, (x, y), epochs=2, optimizer=optimizer, scheduler=schedule,
                  schedule_every=every)  # fmt: skip
        assert optimizer.param_groups[0]["lr"] == 0.5**steps


def test_fit_is_train_epoch_plus_bookkeeping():
    """Same seed, same batches: fit's weights and loss are those of train_epoch by hand."""
    x, y = blobs()
    weights, losses = [], []
    for by_hand in (False, True):
        torch.manual_seed(0)
        model = models.mlp([2, 16, 2])
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        if by_hand:
            batches = data.Batches(x, y, batch_size=32, shuffle=True)
            loss = train.train_epoch(model, batches, nn.functional.cross_entropy, optimizer)
        else:
            history = train.fit(model, (x, y), epochs=1, optimizer=optimizer, batch_size=32)
            loss = history.last("train_loss")
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
        losses.append(loss)
    assert torch.equal(weights[0], weights[1]) and losses[0] == losses[1]


def test_train_epoch_returns_the_mean_loss_over_examples():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no step moves the weight
    batches = [(torch.ones(3, 1), torch.full((3, 1), 2.0)), (torch.ones(1, 1), torch.zeros(1, 1))]
    loss = train.train_epoch(model, batches, nn.functional.mse_loss, optimizer)
    assert loss == pytest.approx((3 * 4.0 + 1 * 0.0) / 4)  # weighted by batch size


def test_ema_update_moves_each_weight_a_fraction_towards_the_model():
    average, model = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    with torch.no_grad():
        average.weight.fill_(1.0)
        model.weight.fill_(3.0)
        model.running_mean.fill_(5.0)
    train.ema_update(average, model, decay=0.75)
    assert torch.allclose(average.weight, torch.full((2,), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(average.running_mean, model.running_mean)  # buffers are copied
    train.ema_update(average, model, decay=1.0)
    assert torch.allclose(average.weight, torch.full((2,), 1.5))  # decay 1 keeps the average
    with pytest.raises(ValueError, match="e.g. 0.999"):
        train.ema_update(average, model, decay=1.5)
    with pytest.raises(ValueError, match="copy.deepcopy"):
        train.ema_update(average, nn.BatchNorm1d(3), decay=0.5)
