import pytest
import torch

from dlbook import checkpoints, data, files, train


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
    monkeypatch.setattr(checkpoints, "WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m dlbook checkpoint train mnist-judge"):
        checkpoints.load("mnist-judge")
    original = (
        checkpoints.Path(checkpoints.__file__).resolve().parent / "weights" / "mnist-judge.pt"
    )
    corrupt = bytearray(original.read_bytes())
    corrupt[-100] ^= 0xFF
    (tmp_path / "mnist-judge.pt").write_bytes(bytes(corrupt))
    with pytest.raises(files.CorruptFileError, match="does not match its recorded sha256"):
        checkpoints.load("mnist-judge")


def test_checkpoints_are_plain_tensors():
    # weights_only=True loading: the file holds a state dict of tensors and nothing executable
    state = torch.load(checkpoints.path("mnist-judge"), map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
