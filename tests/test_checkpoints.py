"""The shipped checkpoints: verified, loaded as plain tensors, accurate on the real test sets
(when they are cached), and retrained on tiny data without leaving a half-written file."""

import pytest
import torch

from dlbook import checkpoints, cli, data, files, judge, train
from tests import fake_data


@fake_data.needs_real_data("mnist", "fashion-mnist")
@pytest.mark.parametrize("name, dataset, floor", [("mnist-judge", "mnist", 0.99),
                                                   ("fashion-lenet", "fashion-mnist", 0.90)])  # fmt: skip
def test_shipped_checkpoint_loads_verified_and_accurate(name, dataset, floor):
    model = checkpoints.load(name, device="cpu")
    assert not model.training
    accuracy = train.evaluate(model, data.load(dataset, train=False, device="cpu"))["accuracy"]
    assert accuracy >= floor, f"{name}: {accuracy:.4f}"


def test_checkpoint_errors_name_the_fix(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="choose one of: fashion-lenet, mnist-judge"):
        checkpoints.load("imagenet-resnet")
    original = checkpoints.path("mnist-judge").read_bytes()
    monkeypatch.setattr(checkpoints, "WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m dlbook checkpoint train mnist-judge"):
        checkpoints.load("mnist-judge")
    corrupt = bytearray(original)
    corrupt[-100] ^= 0xFF
    (tmp_path / "mnist-judge.pt").write_bytes(bytes(corrupt))
    with pytest.raises(files.CorruptFileError, match="does not match its recorded sha256"):
        checkpoints.load("mnist-judge")


def test_checkpoints_are_plain_tensors():
    # weights_only=True loading: the file holds a state dict of tensors and nothing executable
    state = torch.load(checkpoints.path("mnist-judge"), map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_retraining_on_tiny_data_writes_a_loadable_file(tmp_path, monkeypatch):
    fake_data.install(monkeypatch, tmp_path / "cache")
    monkeypatch.setattr(checkpoints, "WEIGHTS", tmp_path / "weights")
    target, accuracy, digest = cli.train_checkpoint("mnist-judge", seed=0)
    assert target == tmp_path / "weights" / "mnist-judge.pt"
    assert files.sha256(target) == digest and fake_data.leftovers(tmp_path) == []
    state = torch.load(target, weights_only=True)
    assert set(state) == set(checkpoints.models.LeNet5().state_dict())
    model = checkpoints.models.LeNet5()
    model.load_state_dict(state)
    test = data.load("mnist", train=False, device="cpu")
    assert train.evaluate(model, test)["accuracy"] == pytest.approx(accuracy)  # of this file


def drawn_digits() -> torch.Tensor:
    """A 1 (a bar), a 0 (a ring) and a 7 (a bar and a stroke), drawn in pixels."""
    images = torch.zeros(3, 1, 28, 28)
    images[0, 0, 4:24, 13:16] = 1
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    radius = ((rows - 14) ** 2 / 81 + (cols - 14) ** 2 / 36).sqrt()
    images[1, 0] = ((radius > 0.75) & (radius < 1.05)).float()
    images[2, 0, 5:8, 8:20] = 1
    images[2, 0, 5:24, 17:20] = 1
    return images


def test_the_judge_reads_drawn_digits_with_the_shipped_checkpoint():
    images = drawn_digits()
    digit, confidence = judge.read(images)
    assert digit.tolist() == [1, 0, 7] and bool((confidence > 0.9).all()), confidence
    assert judge.class_histogram(images).tolist() == [1, 1, 0, 0, 0, 0, 0, 1, 0, 0]
    assert judge.rate(images, torch.tensor([1, 0, 7])) == 1.0
