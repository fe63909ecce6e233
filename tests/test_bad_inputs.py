"""Bad inputs to dlbook's public API: each gets an exception that says what is wrong and
names the fix (the ``match`` below is the fix, not just the complaint).

More live beside the behaviour they guard: the explorable's knobs in
test_plot_explore.py, the data cache's file-system errors in test_datasets.py, the
command line in test_cli.py, Ctrl-C and errors of the loss in test_train.py.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest
import torch
from torch import nn

from conftest import ROOT
from dlbook import checkpoints, data, datasets, judge, models, plot, report, runtime, text, train


def blobs(n=64):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    return torch.randn(n, 2, generator=g) + y[:, None] * 3, y


X, Y = blobs()


class NoParameters(nn.Module):
    def forward(self, x):
        return x


def fit(*args, **kwargs):
    """``train.fit`` with a small default model and one epoch of SGD."""
    kwargs.setdefault("epochs", 1)
    if "optimizer" not in kwargs:
        kwargs.setdefault("lr", 0.1)
    return functools.partial(train.fit, *args, **kwargs)


CASES = {
    # datasets and data
    "unknown dataset": (
        lambda: datasets.dataset("cifar10"),
        KeyError,
        "choose one of: mnist, fashion-mnist, tinyshakespeare",
    ),
    "text loaded as images": (
        lambda: data.load("tinyshakespeare"),
        ValueError,
        r"use dlbook\.data\.text\('tinyshakespeare'\)",
    ),
    "images loaded as text": (lambda: data.text("mnist"), ValueError, r"use dlbook\.data\.load"),
    "train is not a bool": (
        lambda: data.load("mnist", train="test"),
        TypeError,
        "train must be True or False",
    ),
    "Batches of nothing": (
        lambda: data.Batches(batch_size=2),
        ValueError,
        r"e\.g\. Batches\(x, y, batch_size=64\)",
    ),
    "Batches of unequal lengths": (
        lambda: data.Batches(torch.zeros(5, 2), torch.zeros(4), batch_size=2),
        ValueError,
        "pass inputs and labels of the same examples",
    ),
    "Batches of size 0": (
        lambda: data.Batches(torch.zeros(5), batch_size=0),
        ValueError,
        "batch_size must be a positive integer",
    ),
    "character outside the vocabulary": (
        lambda: text.CharVocab("abc").encode("abz"),
        ValueError,
        "'z' is not in the vocabulary",
    ),
    "windows of 2-D ids": (
        lambda: text.windows(torch.zeros(2, 5, dtype=torch.long), 2, 2),
        ValueError,
        "must be a 1-D tensor of token ids",
    ),
    "windows longer than the text": (
        lambda: text.windows(torch.arange(10), 10, 2),
        ValueError,
        r"block_size must be between 1 and len\(ids\) - 1 = 9",
    ),
    "windows of no batch": (
        lambda: text.windows(torch.arange(10), 3, 0),
        ValueError,
        "batch_size must be a positive integer",
    ),
    # train
    "fit([x, y]), a list": (
        fit(models.mlp([2, 2]), [X, Y]),
        TypeError,
        r"train=\(x_train, y_train\)",
    ),
    "fit((x, y, z)), a 3-tuple": (
        fit(models.mlp([2, 2]), (X, Y, Y)),
        TypeError,
        r"tuple \(x, y\) of two tensors, got a tuple of 3",
    ),
    "a model without parameters": (
        fit(NoParameters(), (X, Y)),
        ValueError,
        "has no parameters to train; did you forget a layer",
    ),
    "lr and optimizer both": (
        fit(
            models.mlp([2, 2]),
            (X, Y),
            lr=0.1,
            optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters()),
        ),
        ValueError,
        "give exactly one of lr=",
    ),
    "a negative lr": (fit(models.mlp([2, 2]), (X, Y), lr=-1), ValueError, "try lr=0.1"),
    "zero epochs": (fit(models.mlp([2, 2]), (X, Y), epochs=0), ValueError, "try epochs=5"),
    "a schedule every batch": (
        fit(models.mlp([2, 2]), (X, Y), schedule_every="batch"),
        ValueError,
        "must be 'epoch' or 'step'",
    ),
    "val as a list": (
        fit(models.mlp([2, 2]), (X, Y), val=[X, Y]),
        TypeError,
        r"val=\(x_val, y_val\)",
    ),
    "outputs not per example": (
        fit(nn.Sequential(nn.Flatten(0), nn.Linear(128, 2)), [(X, Y)]),
        ValueError,
        "check that the model keeps the batch dimension",
    ),
    "fewer outputs than classes": (
        fit(models.mlp([2, 1]), (X, Y)),
        ValueError,
        "one output per class and that class labels are int64 indices from 0",
    ),
    "History.last on an empty history": (
        lambda: train.History().last("val_accuracy"),
        IndexError,
        "no epoch finished",
    ),
    "a key the history lacks": (
        lambda: train.History([{"epoch": 1, "train_loss": 0.5}])["val_loss"],
        KeyError,
        r"this history has \['epoch', 'train_loss'\]",
    ),
    "predict on nothing": (
        lambda: train.predict(models.mlp([2, 2]), torch.zeros(0, 2)),
        ValueError,
        "x is empty",
    ),
    "evaluate on a list": (
        lambda: train.evaluate(models.mlp([2, 2]), [X, Y]),
        TypeError,
        r"data=\(x_data, y_data\)",
    ),
    "one-cycle without a learning rate": (
        lambda: train.fit_one_cycle(models.mlp([2, 2]), (X, Y), epochs=1, max_lr=0),
        ValueError,
        "try max_lr=3e-3",
    ),
    "EMA decay above 1": (
        lambda: train.ema_update(models.mlp([2, 2]), models.mlp([2, 2]), decay=1.5),
        ValueError,
        "e.g. 0.999",
    ),
    "EMA of another network": (
        lambda: train.ema_update(models.mlp([2, 2]), models.mlp([2, 3, 2]), decay=0.9),
        ValueError,
        r"average = copy\.deepcopy\(model\)",
    ),
    # models
    "mlp of one width": (lambda: models.mlp([784]), ValueError, r"e\.g\. mlp\(\[784, 256, 10\]\)"),
    "mlp of a zero width": (lambda: models.mlp([784, 0, 10]), ValueError, "widths >= 1"),
    "mlp with an activation instance": (
        lambda: models.mlp([2, 4, 2], activation=nn.ReLU()),
        TypeError,
        r"such as nn\.ReLU \(not an instance like nn\.ReLU\(\)\)",
    ),
    "mlp with dropout 1.5": (
        lambda: models.mlp([2, 2], dropout=1.5),
        ValueError,
        r"probability in \[0, 1\)",
    ),
    "LeNet5 of one class": (lambda: models.LeNet5(num_classes=1), ValueError, "integer >= 2"),
    # checkpoints and the judge
    "unknown checkpoint": (
        lambda: checkpoints.load("imagenet-resnet"),
        KeyError,
        "choose one of: fashion-lenet, mnist-judge",
    ),
    "judge of flat images": (
        lambda: judge.read(torch.rand(2, 28, 28)),
        ValueError,
        r"reads \(N, 1, 28, 28\) image tensors",
    ),
    "judge of images in [-1, 1]": (
        lambda: judge.read(torch.rand(2, 1, 28, 28) * 2 - 1),
        ValueError,
        r"map images in \[-1, 1\] back with \(x \+ 1\) / 2",
    ),
    "judge rate with too few labels": (
        lambda: judge.rate(torch.rand(3, 1, 28, 28), torch.zeros(2, dtype=torch.long)),
        ValueError,
        r"3 images but labels of shape \(2,\)",
    ),
    # report and plot
    "glue of a list": (lambda: report.glue("x", [1, 2]), TypeError, "take a number or a string"),
    "images of the wrong shape": (
        lambda: plot.tile(torch.zeros(2, 3, 4, 4)),
        ValueError,
        r"tile takes \(N, H, W\) or \(N, 1, H, W\)",
    ),
}
ENVIRONMENT = {  # settings a reader types wrong: variable, value, reader, fix
    "DLBOOK_THREADS=0": ("DLBOOK_THREADS", "0", runtime.cpu_threads, "positive integer, e.g. 1"),
    "DLBOOK_THREADS=two": ("DLBOOK_THREADS", "two", runtime.cpu_threads, "positive integer"),
    "DLBOOK_SEED=three": ("DLBOOK_SEED", "three", runtime.seed_from_env, "e.g. DLBOOK_SEED=0"),
    "DLBOOK_PROFILE=fast": ("DLBOOK_PROFILE", "fast", runtime.profile, "use 'quick' or 'full'"),
    "DLBOOK_DEVICE=tpu": ("DLBOOK_DEVICE", "tpu", runtime.device, "use cpu, cuda or mps"),
    "DLBOOK_DEVICE=cuda:7": (
        "DLBOOK_DEVICE",
        "cuda:7",
        runtime.device,
        # no GPU here: unset it; a GPU machine with fewer than 8: name one it has
        "unset DLBOOK_DEVICE|use cuda or cuda:0",
    ),
    "DLBOOK_DATA relative, nowhere": (
        "DLBOOK_DATA",
        "data/nowhere",
        datasets.data_root,
        r'export DLBOOK_DATA="\$\(realpath data/nowhere\)"',
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_fix(case):
    call, error, fix = CASES[case]
    with pytest.raises(error, match=fix):
        call()


@pytest.mark.parametrize("case", ENVIRONMENT)
def test_bad_setting_names_the_fix(case, monkeypatch, tmp_path):
    variable, value, read, fix = ENVIRONMENT[case]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises((ValueError, RuntimeError), match=fix) as error:
        read()
    assert f"{variable}={value!r}" in str(error.value)  # the message names the setting


def test_record_before_setup_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "_run", {})  # as in a fresh kernel
    monkeypatch.setenv("DLBOOK_REPORT", str(tmp_path / "report.jsonl"))
    with pytest.raises(RuntimeError, match=r"call dlbook\.setup\('<chapter>'\) first"):
        report.record("accuracy", 0.9)
    assert not (tmp_path / "report.jsonl").exists()  # no row without its chapter


def test_confusion_matrix_with_too_few_class_names():
    with pytest.raises(ValueError, match="one name per class"):
        plot.confusion_matrix([0, 1, 2], [0, 1, 2], class_names=["a", "b"])


def test_run_book_with_chapters_that_match_nothing():
    run = subprocess.run(
        [sys.executable, "benchmarks/run_book.py", "--chapters", "nomatch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "no chapter matches ['nomatch']" in run.stderr
